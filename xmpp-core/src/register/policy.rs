//! What the server accepts as a new account's username and password, shared by in-band
//! registration and the web pages.

use crate::error::{StanzaCondition, StanzaError};
use crate::jid::{BareJid, JidError, ProfileViolation};

/// The longest password accepted, in bytes. Passwords are hashed, so the limit only stops
/// someone from making the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The longest localpart RFC 7622 §3.3 allows, in bytes once normalised.
const MAX_USERNAME_BYTES: usize = 1023;

/// A syntactically valid domain to hang a localpart on: normalising a JID's localpart is the
/// only public way to run the localpart profile, and the domain plays no part in it.
const ANY_DOMAIN: &str = "localhost";

/// Why a username cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsernameError {
    /// Nothing was given.
    #[error("the username is empty")]
    Empty,
    /// Longer than 1023 bytes once normalised (RFC 7622 §3.3).
    #[error("the username is too long")]
    TooLong,
    /// Not a valid localpart: the PRECIS `UsernameCaseMapped` profile (RFC 8265 §3.3) or
    /// RFC 7622 §3.3.1 refuses a character, or the Bidi Rule fails.
    #[error("the username is not allowed: {0}")]
    NotAllowed(ProfileViolation),
    /// Valid today, but the older rules (RFC 3920 nodeprep) that other servers and clients
    /// still apply would turn it into another name, or refuse it: the account would answer
    /// to two spellings, or to none, depending on who asks.
    #[error("the username is written differently by older XMPP software; choose another")]
    Ambiguous,
}

impl UsernameError {
    /// The stanza error condition: `not-acceptable`, as XEP-0004 §3.5 asks for data the
    /// form-processing entity finds invalid and XEP-0077 §3.1 for a registration it will not
    /// accept. (`conflict`, for a name already taken, is the server's to decide.)
    pub fn condition(&self) -> StanzaCondition {
        StanzaCondition::NotAcceptable
    }
}

impl From<UsernameError> for StanzaError {
    fn from(e: UsernameError) -> Self {
        StanzaError::new(e.condition()).with_text(Some("en"), e.to_string())
    }
}

/// Checks a requested username and returns its normalised form, the localpart to store.
///
/// The name must be a valid RFC 7622 localpart, normalised with PRECIS `UsernameCaseMapped`,
/// and that normalised form must equal what RFC 3920's nodeprep makes of the same input (and
/// be left alone by nodeprep). The two profiles disagree on a few characters: `ß` and
/// final `ς` (nodeprep case-folds them to `ss` and `σ`, PRECIS keeps them), ligatures and
/// other compatibility characters such as `ﬁ` or mathematical letters (nodeprep folds them
/// with NFKC, PRECIS refuses them), soft hyphens and zero-width characters (nodeprep deletes
/// them, PRECIS refuses them), and code points Unicode 3.2 did not have (nodeprep refuses
/// them). Width-mapped forms (`ｊｕｌｉｅｔ`) and case differences map alike under both, so
/// they are accepted and stored in their one normal form.
///
/// ```
/// use xmpp_core::register::{UsernameError, check_username};
///
/// assert_eq!(check_username("Juliet").as_deref(), Ok("juliet"));
/// assert_eq!(check_username("straße"), Err(UsernameError::Ambiguous));
/// ```
pub fn check_username(localpart: &str) -> Result<String, UsernameError> {
    let precis = normalise(localpart)?;
    let old = stringprep::nodeprep(localpart).map_err(|_| UsernameError::Ambiguous)?;
    if old != precis {
        return Err(UsernameError::Ambiguous);
    }
    // Nodeprep is meant to be idempotent, but stringprep has known exceptions; a stored name
    // must be a fixed point of both profiles.
    match stringprep::nodeprep(&precis) {
        Ok(again) if again == precis => Ok(precis),
        _ => Err(UsernameError::Ambiguous),
    }
}

/// The localpart normalisation alone (PRECIS and RFC 7622), with this module's errors.
fn normalise(localpart: &str) -> Result<String, UsernameError> {
    if localpart.is_empty() {
        return Err(UsernameError::Empty);
    }
    let jid = BareJid::from_parts(Some(localpart), ANY_DOMAIN).map_err(|e| match e {
        JidError::EmptyLocalpart => UsernameError::Empty,
        JidError::LocalpartProhibited(v) => UsernameError::NotAllowed(v),
        // `LocalpartTooLong`, and nothing else can come from a valid constant domain.
        _ => UsernameError::TooLong,
    })?;
    let normalised = jid.localpart().unwrap_or_default();
    if normalised.len() > MAX_USERNAME_BYTES {
        return Err(UsernameError::TooLong);
    }
    Ok(normalised.to_owned())
}

/// Whether a username is one of the reserved names. Both sides are compared in their
/// normalised form, so `Admin` and `ＡＤＭＩＮ` both match a reserved `admin`; a reserved name
/// that is not a valid localpart is compared as written.
pub fn is_reserved(normalised: &str, reserved: &[String]) -> bool {
    let name = normalise(normalised).unwrap_or_else(|_| normalised.to_owned());
    reserved
        .iter()
        .any(|r| normalise(r).map_or_else(|_| *r == name, |r| r == name))
}

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Nothing was given.
    #[error("the password is empty")]
    Empty,
    /// Longer than [`MAX_PASSWORD_BYTES`].
    #[error("the password is too long")]
    TooLong,
    /// SASLprep (RFC 4013), which SASL applies to the password at every sign-in, refuses it
    /// (a control character, an unassigned code point, mixed-direction text) or maps it to
    /// nothing: the account could never be signed into.
    #[error("the password contains characters that cannot be used to sign in")]
    Unusable,
    /// Below the configured strength, by [`password_entropy_bits`].
    #[error(
        "the password is too weak (about {bits} bits, {min} needed): make it longer, or mix \
         letters, digits and symbols"
    )]
    TooWeak {
        /// The password's estimate, rounded down.
        bits: u32,
        /// The configured minimum, rounded up.
        min: u32,
    },
}

impl PasswordError {
    /// The stanza error condition: `not-acceptable` (XEP-0077 §3.1, XEP-0004 §3.5).
    pub fn condition(&self) -> StanzaCondition {
        StanzaCondition::NotAcceptable
    }
}

impl From<PasswordError> for StanzaError {
    fn from(e: PasswordError) -> Self {
        StanzaError::new(e.condition()).with_text(Some("en"), e.to_string())
    }
}

/// A rough strength estimate in bits: the length in characters times log2 of the size of the
/// character classes the password draws from (26 lowercase letters, 26 uppercase letters,
/// 10 digits, 33 other printable ASCII characters including space, and 128 for anything
/// outside ASCII), as ejabberd's `password_strength` option does.
///
/// Why this and nothing cleverer: it is a floor against the shortest and most uniform
/// passwords (`123456`, `password`), not a measure of real strength (a dictionary word with
/// a capital and a digit scores well). The server cannot know the alphabet of a script other
/// than Latin, so characters outside ASCII count generously, as drawn from 128: a stingier
/// guess would turn away people who write passwords in their own script, which costs them
/// more than it protects them.
pub fn password_entropy_bits(password: &str) -> f64 {
    let (mut lower, mut upper, mut digit, mut other, mut wide) =
        (false, false, false, false, false);
    let mut length: u32 = 0;
    for c in password.chars() {
        length = length.saturating_add(1);
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            ' '..='~' => other = true,
            _ => wide = true,
        }
    }
    let pool: u32 = [
        (lower, 26),
        (upper, 26),
        (digit, 10),
        (other, 33),
        (wide, 128),
    ]
    .into_iter()
    .filter_map(|(used, size)| used.then_some(size))
    .sum();
    if pool == 0 {
        return 0.0;
    }
    f64::from(length) * f64::from(pool).log2()
}

/// Checks a new password: not empty, at most [`MAX_PASSWORD_BYTES`], usable with SASL, and at
/// least `min_bits` by [`password_entropy_bits`] (0, or anything not above 0, turns the
/// strength check off).
pub fn check_password(password: &str, min_bits: f64) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    match stringprep::saslprep(password) {
        Ok(prepared) if !prepared.is_empty() => {}
        _ => return Err(PasswordError::Unusable),
    }
    let bits = password_entropy_bits(password);
    if min_bits > 0.0 && bits < min_bits {
        // Whole bits are precise enough for people; `as` saturates, and both values are
        // small and not negative here.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Err(PasswordError::TooWeak {
            bits: bits.floor() as u32,
            min: min_bits.ceil() as u32,
        });
    }
    Ok(())
}
