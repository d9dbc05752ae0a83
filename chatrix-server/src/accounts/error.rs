//! Why an account operation was refused, and how each refusal is told: as an XMPP stanza
//! error (in band) and as an HTTP status (the web pages), with the same text.

use std::time::Duration;

use xmpp_core::{StanzaCondition, StanzaError};

use crate::StorageError;
use crate::abuse::rate::Wait;

/// Why registration, a password change or a deletion was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Registration is closed on this server.
    #[error("registration is closed on this server")]
    RegistrationClosed,
    /// Registration is open only to some networks, and not to this address.
    #[error("registration is not open to your network")]
    NotFromThisNetwork,
    /// Too many registrations from this address (in band) or in total (web) lately.
    #[error("too many registrations; try again in {}", Wait(*retry_after))]
    RateLimited {
        /// When the next attempt may succeed.
        retry_after: Duration,
    },
    /// This address holds as many accounts as its class allows.
    #[error("too many accounts were registered from your address")]
    TooManyAccounts,
    /// The form did not answer the CAPTCHA.
    #[error("the CAPTCHA was not answered")]
    CaptchaMissing,
    /// The CAPTCHA answer was wrong, or the challenge expired or was used already.
    #[error("the CAPTCHA answer was wrong or has expired; ask for a new one")]
    CaptchaWrong,
    /// This address asked for too many CAPTCHAs.
    #[error("too many CAPTCHA requests; try again in {}", Wait(*retry_after))]
    CaptchaFlooded {
        /// When a CAPTCHA may be asked again.
        retry_after: Duration,
    },
    /// The request is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// No CAPTCHA could be made right now.
    #[error("no CAPTCHA can be made right now; try again later")]
    CaptchaUnavailable,
    /// A registration lacks its username or password (XEP-0077 §3.1: `not-acceptable`).
    #[error("{0}")]
    Incomplete(String),
    /// The username or password is missing from the request.
    #[error("both a username and a password are needed")]
    MissingField,
    /// The username is not acceptable.
    #[error("{0}")]
    InvalidUsername(String),
    /// The username is reserved by the operator.
    #[error("this username is reserved")]
    Reserved,
    /// The username is taken.
    #[error("this username is taken")]
    Taken,
    /// The username belonged to a deleted account and is not free yet.
    #[error("this username belonged to a deleted account and is not available yet")]
    Tombstoned,
    /// The password is too weak or otherwise unacceptable.
    #[error("{0}")]
    WeakPassword(String),
    /// Username or password wrong (web pages).
    #[error("wrong username or password")]
    WrongCredentials,
    /// The address is banned after failed logins.
    #[error("too many failed logins from your address; try again in {}", Wait(*retry_after))]
    Banned {
        /// When the ban ends.
        retry_after: Duration,
    },
    /// The account does not exist (any more).
    #[error("no such account")]
    NoSuchAccount,
    /// The database failed.
    #[error("the server could not complete this; try again later")]
    Storage(#[source] StorageError),
}

impl From<StorageError> for AccountError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Duplicate(_) => Self::Taken,
            StorageError::NotFound(_) => Self::NoSuchAccount,
            other => Self::Storage(other),
        }
    }
}

impl AccountError {
    /// The RFC 6120 condition for an in-band answer (XEP-0077 §3.1 and §8.3).
    pub fn condition(&self) -> StanzaCondition {
        match self {
            Self::RegistrationClosed | Self::NotFromThisNetwork => StanzaCondition::NotAllowed,
            Self::RateLimited { .. } | Self::CaptchaFlooded { .. } | Self::TooManyAccounts => {
                StanzaCondition::ResourceConstraint
            }
            Self::Banned { .. } => StanzaCondition::PolicyViolation,
            Self::CaptchaMissing | Self::MissingField | Self::InvalidRequest(_) => {
                StanzaCondition::BadRequest
            }
            Self::CaptchaWrong | Self::WrongCredentials => StanzaCondition::NotAuthorized,
            Self::InvalidUsername(_) | Self::WeakPassword(_) | Self::Incomplete(_) => {
                StanzaCondition::NotAcceptable
            }
            Self::Reserved | Self::Taken | Self::Tombstoned => StanzaCondition::Conflict,
            Self::NoSuchAccount => StanzaCondition::ItemNotFound,
            Self::Storage(_) | Self::CaptchaUnavailable => StanzaCondition::InternalServerError,
        }
    }

    /// The stanza error with this condition and the text above.
    pub fn stanza_error(&self) -> StanzaError {
        StanzaError::new(self.condition()).with_text(Some("en"), self.to_string())
    }

    /// The HTTP status for the web pages.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::RegistrationClosed | Self::NotFromThisNetwork | Self::Banned { .. } => 403,
            Self::RateLimited { .. } | Self::CaptchaFlooded { .. } | Self::TooManyAccounts => 429,
            Self::WrongCredentials => 401,
            Self::Reserved | Self::Taken | Self::Tombstoned => 409,
            Self::NoSuchAccount => 404,
            Self::Storage(_) | Self::CaptchaUnavailable => 503,
            Self::CaptchaMissing
            | Self::CaptchaWrong
            | Self::MissingField
            | Self::InvalidRequest(_)
            | Self::Incomplete(_)
            | Self::InvalidUsername(_)
            | Self::WeakPassword(_) => 400,
        }
    }

    /// When to try again, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after }
            | Self::CaptchaFlooded { retry_after }
            | Self::Banned { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_in_words_rounded_up() {
        let banned = |secs| {
            AccountError::Banned {
                retry_after: Duration::from_secs(secs),
            }
            .to_string()
        };
        assert!(
            banned(0).ends_with("try again in 0 seconds"),
            "{}",
            banned(0)
        );
        assert!(banned(89).ends_with("2 minutes"));
        assert!(banned(3600).ends_with("60 minutes"));
        assert!(banned(6 * 3600).ends_with("6 hours"));
    }

    #[test]
    fn every_refusal_has_a_condition_and_a_status() {
        let e = AccountError::RateLimited {
            retry_after: Duration::from_secs(3000),
        };
        assert_eq!(e.condition(), StanzaCondition::ResourceConstraint);
        assert_eq!(e.http_status(), 429);
        assert_eq!(
            e.to_string(),
            "too many registrations; try again in 50 minutes"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3000)));
        assert_eq!(AccountError::Taken.condition(), StanzaCondition::Conflict);
        assert_eq!(
            AccountError::RegistrationClosed.condition(),
            StanzaCondition::NotAllowed
        );
    }
}
