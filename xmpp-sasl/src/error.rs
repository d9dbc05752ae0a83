//! Failure conditions (RFC 6120 §6.5) and the error types of this crate.
//!
//! Two worlds, never mixed:
//!
//! * [`Failure`] is what a **server** session ends with. Its [`FailureCondition`] is what goes on
//!   the wire (`<failure><not-authorized/></failure>`); its [`FailureReason`] is for the server's
//!   own logs only and must never be sent to the peer (it would, for example, tell an attacker
//!   that a user does not exist).
//! * [`ClientError`] is what a **client** session ends with.
//!
//! Derivation, decoding and configuration have their own small error types.

use std::fmt;
use std::str::FromStr;

/// A SASL failure condition, as defined in RFC 6120 §6.5.
///
/// The element name inside `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>` is
/// [`as_str`](Self::as_str).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCondition {
    /// `<aborted/>`: the initiating entity aborted the exchange (RFC 6120 §6.5.1).
    Aborted,
    /// `<account-disabled/>`: the account is temporarily disabled (§6.5.2).
    AccountDisabled,
    /// `<credentials-expired/>`: the credentials have expired (§6.5.3).
    CredentialsExpired,
    /// `<encryption-required/>`: the mechanism needs an encrypted stream (§6.5.4).
    EncryptionRequired,
    /// `<incorrect-encoding/>`: the base64 data is incorrect (§6.5.5).
    IncorrectEncoding,
    /// `<invalid-authzid/>`: the authorisation identity is invalid or not permitted (§6.5.6).
    InvalidAuthzid,
    /// `<invalid-mechanism/>`: the mechanism is not supported or not offered (§6.5.7).
    InvalidMechanism,
    /// `<malformed-request/>`: the request is malformed (§6.5.8).
    MalformedRequest,
    /// `<mechanism-too-weak/>`: the mechanism is weaker than policy allows (§6.5.9).
    MechanismTooWeak,
    /// `<not-authorized/>`: the credentials are wrong, or the user is unknown (§6.5.10).
    NotAuthorized,
    /// `<temporary-auth-failure/>`: a temporary error inside the server (§6.5.11).
    TemporaryAuthFailure,
}

impl FailureCondition {
    /// Every condition, in RFC 6120 order.
    pub const ALL: [Self; 11] = [
        Self::Aborted,
        Self::AccountDisabled,
        Self::CredentialsExpired,
        Self::EncryptionRequired,
        Self::IncorrectEncoding,
        Self::InvalidAuthzid,
        Self::InvalidMechanism,
        Self::MalformedRequest,
        Self::MechanismTooWeak,
        Self::NotAuthorized,
        Self::TemporaryAuthFailure,
    ];

    /// The element name of this condition, e.g. `"not-authorized"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aborted => "aborted",
            Self::AccountDisabled => "account-disabled",
            Self::CredentialsExpired => "credentials-expired",
            Self::EncryptionRequired => "encryption-required",
            Self::IncorrectEncoding => "incorrect-encoding",
            Self::InvalidAuthzid => "invalid-authzid",
            Self::InvalidMechanism => "invalid-mechanism",
            Self::MalformedRequest => "malformed-request",
            Self::MechanismTooWeak => "mechanism-too-weak",
            Self::NotAuthorized => "not-authorized",
            Self::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }
}

impl fmt::Display for FailureCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string given to [`FailureCondition::from_str`] is not an RFC 6120 §6.5 condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown SASL failure condition")]
pub struct UnknownConditionError;

impl FromStr for FailureCondition {
    type Err = UnknownConditionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownConditionError)
    }
}

/// Why a server session failed. **For the server's logs only; never send it to the peer.**
///
/// Several reasons map to the same [`FailureCondition`] on purpose: an unknown user and a wrong
/// password both end as `not-authorized`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureReason {
    /// The message is larger than the configured limit.
    #[error("message too long")]
    TooLong,
    /// The message is not UTF-8, or contains a NUL where none is allowed.
    #[error("message is not valid UTF-8 text")]
    NotUtf8,
    /// An attribute that must be base64 is not strict, canonical base64.
    #[error("invalid base64 in an attribute")]
    InvalidBase64,
    /// The message does not follow the mechanism's grammar.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// The client sent the reserved SCRAM `m=` attribute (RFC 5802 §5.1).
    #[error("mandatory SCRAM extension not supported")]
    ExtensionNotSupported,
    /// The mechanism name is unknown or not offered on this connection.
    #[error("mechanism not offered")]
    MechanismNotOffered,
    /// The mechanism is only offered on an encrypted stream.
    #[error("mechanism needs an encrypted stream")]
    EncryptionRequired,
    /// The client sent GS2 flag `y` although the server offers channel binding (RFC 5802 §6).
    #[error("client claims the server does not support channel binding, but it does")]
    ChannelBindingDowngrade,
    /// GS2 flag and mechanism disagree (`p=` with a non-PLUS mechanism or `n`/`y` with -PLUS).
    #[error("GS2 channel-binding flag does not match the mechanism")]
    ChannelBindingFlagMismatch,
    /// The client asked for a channel-binding type the server did not offer.
    #[error("channel-binding type not offered")]
    UnsupportedChannelBindingType,
    /// The `c=` attribute does not match the GS2 header and the server's binding data.
    #[error("channel-binding data does not match")]
    ChannelBindingMismatch,
    /// The username is empty or SASLprep rejects it.
    #[error("username is invalid")]
    InvalidUsername,
    /// The client-final nonce is not the nonce of this exchange.
    #[error("nonce does not match this exchange")]
    NonceMismatch,
    /// The proof or password is wrong.
    #[error("invalid proof or password")]
    InvalidCredentials,
    /// The caller said the user does not exist.
    #[error("unknown user")]
    UnknownUser,
    /// The caller supplied credentials that cannot be used for this mechanism (wrong hash, or an
    /// iteration count outside the configured bounds); handled exactly like an unknown user.
    #[error("stored credentials unusable for this mechanism")]
    CredentialsUnusable,
    /// The authorisation identity is not permitted for the authenticated identity.
    #[error("authorization identity not permitted")]
    AuthzidNotAllowed,
    /// EXTERNAL: the connection carries no (or no unambiguous) external identity.
    #[error("no usable external identity")]
    NoExternalIdentity,
    /// A message arrived when none was expected (e.g. after the exchange completed).
    #[error("unexpected message")]
    UnexpectedMessage,
    /// The caller used the session API out of order (e.g. credentials when none were asked for).
    #[error("session API used out of order")]
    UnexpectedCall,
    /// The random-number source failed or gave an unusable nonce.
    #[error("random source failed")]
    Rng,
    /// The credential store failed.
    #[error("credential lookup failed")]
    LookupFailed,
    /// The caller ended the session with a condition of its own choosing.
    #[error("failed by the caller")]
    Caller,
}

/// A server session ended in failure: the condition for the peer, the reason for the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SASL failure <{condition}>: {reason}")]
pub struct Failure {
    condition: FailureCondition,
    reason: FailureReason,
}

impl Failure {
    /// A failure with the given condition and log reason.
    pub const fn new(condition: FailureCondition, reason: FailureReason) -> Self {
        Self { condition, reason }
    }

    /// A failure decided by the caller (e.g. `account-disabled`, `temporary-auth-failure` when
    /// the database is down, `aborted` when the client sent `<abort/>`).
    pub const fn from_condition(condition: FailureCondition) -> Self {
        Self::new(condition, FailureReason::Caller)
    }

    /// What to send to the peer.
    pub const fn condition(&self) -> FailureCondition {
        self.condition
    }

    /// Why, for the server's logs. Never send this to the peer.
    pub const fn reason(&self) -> FailureReason {
        self.reason
    }

    pub(crate) const fn malformed(what: &'static str) -> Self {
        Self::new(
            FailureCondition::MalformedRequest,
            FailureReason::Malformed(what),
        )
    }

    pub(crate) const fn not_authorized(reason: FailureReason) -> Self {
        Self::new(FailureCondition::NotAuthorized, reason)
    }
}

/// A client session failed. The client should abort the exchange (`<abort/>`) and, for
/// [`DowngradeDetected`](Self::DowngradeDetected) and
/// [`ServerSignatureMismatch`](Self::ServerSignatureMismatch), suspect an active attacker.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The username, password or authzid is rejected by SASLprep or is otherwise unusable.
    #[error("invalid {0}")]
    InvalidInput(&'static str),
    /// The options do not fit the mechanism (e.g. a -PLUS mechanism without binding data).
    #[error("invalid client options: {0}")]
    InvalidOptions(&'static str),
    /// The server's message does not follow the mechanism's grammar.
    #[error("malformed server message: {0}")]
    Malformed(&'static str),
    /// An attribute of the server's message is not strict base64.
    #[error("invalid base64 in a server message")]
    InvalidBase64,
    /// The server sent the reserved SCRAM `m=` attribute.
    #[error("server requires an unsupported SCRAM extension")]
    ExtensionNotSupported,
    /// The server's nonce does not extend the client's nonce.
    #[error("server nonce does not extend the client nonce")]
    NonceMismatch,
    /// The server's iteration count is outside the accepted bounds.
    #[error("server iteration count {iterations} outside [{min}, {max}]")]
    IterationCountOutOfRange {
        /// What the server asked for.
        iterations: u32,
        /// The lowest count accepted.
        min: u32,
        /// The highest count accepted.
        max: u32,
    },
    /// XEP-0474: the server's SSDP hash does not match the advertised lists: the mechanism or
    /// channel-binding list was tampered with.
    #[error("SASL downgrade detected (SSDP hash mismatch)")]
    DowngradeDetected,
    /// XEP-0474 protection was required but the server sent no SSDP hash.
    #[error("server sent no SSDP downgrade-protection hash")]
    SsdpMissing,
    /// The server's signature (`v=`) is wrong: the server does not know the credentials.
    #[error("server signature mismatch")]
    ServerSignatureMismatch,
    /// The server ended the SCRAM exchange with `e=`.
    #[error("server error: {0}")]
    ServerError(String),
    /// A message arrived when none was expected, or success arrived too early.
    #[error("unexpected server message")]
    UnexpectedMessage,
    /// The random-number source failed.
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// The random-number source failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("random-number source failed")]
pub struct RngError;

/// Deriving or constructing stored credentials failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// SASLprep rejects the password (or it is empty).
    #[error("password rejected by SASLprep")]
    InvalidPassword,
    /// The iteration count is zero, or below the minimum for new credentials.
    #[error("iteration count {0} not allowed")]
    InvalidIterations(u32),
    /// The salt is empty.
    #[error("empty salt")]
    EmptySalt,
    /// A key has the wrong length for the hash.
    #[error("key length does not match the hash")]
    KeyLength,
    /// The random-number source failed.
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// A SASL payload is not strict base64 (RFC 6120 §6.4.2, RFC 4648 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SASL payload is not strict base64")]
pub struct DecodeError;

/// The server configuration is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The server secret is shorter than 16 bytes.
    #[error("server secret must be at least 16 bytes")]
    SecretTooShort,
    /// The iteration bounds are empty or below 1.
    #[error("invalid iteration bounds")]
    IterationBounds,
}

/// The credential store could not answer (database down, ...). The session turns it into
/// `temporary-auth-failure`.
#[derive(Debug, thiserror::Error)]
#[error("credential lookup failed: {0}")]
pub struct LookupError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_round_trip() {
        for c in FailureCondition::ALL {
            assert_eq!(c.as_str().parse::<FailureCondition>(), Ok(c));
        }
        assert!("bad-request".parse::<FailureCondition>().is_err());
    }
}
