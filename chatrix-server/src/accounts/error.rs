//! Why an account operation was refused, and how each refusal is told: as an XMPP stanza
//! error (in band) and as an HTTP status (the web pages), with the same text.

use std::time::Duration;

use xmpp_core::{StanzaCondition, StanzaError};

use crate::StorageError;

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
    #[error("too many registrations; try again in {}", in_words(*retry_after))]
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
    #[error("too many CAPTCHA requests; try again in {}", in_words(*retry_after))]
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
    #[error("too many failed logins from your address; try again in {}", in_words(*retry_after))]
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

/// "42 minutes", "1 hour", "30 seconds": rounded up, so "try again in" is never too early.
pub(crate) fn in_words(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (n, unit) = if secs >= 5400 {
        (secs.div_ceil(3600), "hour")
    } else if secs >= 90 {
        (secs.div_ceil(60), "minute")
    } else {
        (secs.max(1), "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words_round_up() {
        assert_eq!(in_words(Duration::from_secs(0)), "1 second");
        assert_eq!(in_words(Duration::from_millis(30_200)), "31 seconds");
        assert_eq!(in_words(Duration::from_secs(89)), "89 seconds");
        assert_eq!(in_words(Duration::from_secs(90)), "2 minutes");
        assert_eq!(in_words(Duration::from_secs(2520)), "42 minutes");
        assert_eq!(in_words(Duration::from_secs(3600)), "60 minutes");
        assert_eq!(in_words(Duration::from_secs(6 * 3600)), "6 hours");
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
