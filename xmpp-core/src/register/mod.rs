//! In-band registration (XEP-0077) with CAPTCHA forms (XEP-0158), sans-IO.
//!
//! - [`request`]: [`RegisterRequest::parse`] reads a client's `<query/>`: a request for the
//!   form, a submission (legacy fields and/or a data form), or a removal.
//! - [`form`]: the server's answers: [`registration_form`] (with or without a CAPTCHA),
//!   [`registered_answer`] and the [`register_feature`] of the stream.
//! - [`captcha`]: a [`Captcha`] the server drew, as XEP-0158 form fields, a XEP-0221 media
//!   element and XEP-0231 bits of binary.
//! - [`policy`]: [`check_username`] and [`check_password`], which the web pages use too.
//!
//! The server's flow for an unauthenticated `get`: make a challenge if CAPTCHAs are on, answer
//! with [`registration_form`]. For a `set`: [`RegisterRequest::parse`]; for a
//! [`RegisterRequest::Submit`], take [`Submission::credentials`], check
//! [`Submission::captcha_answer`] against the stored challenge, run [`check_username`],
//! [`is_reserved`] and [`check_password`], then create the account (`conflict` if the name is
//! taken). Every error here converts into the [`StanzaError`](crate::StanzaError) to answer
//! with.
//!
//! ```
//! use xmpp_core::register::{RegisterRequest, check_password, check_username};
//! use xmpp_core::IqType;
//!
//! let query = "<query xmlns='jabber:iq:register'>\
//!     <username>Bill</username><password>Calliope-1601</password></query>".parse()?;
//! let RegisterRequest::Submit(submission) = RegisterRequest::parse(IqType::Set, &query)? else {
//!     panic!("a submission");
//! };
//! let (username, password) = submission.credentials()?;
//! assert_eq!(check_username(username)?, "bill");
//! check_password(password, 40.0)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod captcha;
pub mod form;
pub mod policy;
pub mod request;

pub use captcha::{Captcha, bob_cid};
pub use form::{FormSpec, error_answer, register_feature, registered_answer, registration_form};
pub use policy::{
    MAX_PASSWORD_BYTES, PasswordError, UsernameError, check_password, check_username, is_reserved,
    password_entropy_bits,
};
pub use request::{CaptchaAnswer, RegisterError, RegisterRequest, Submission};

#[cfg(test)]
mod tests;
