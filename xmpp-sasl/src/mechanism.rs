//! SASL mechanism names, as they appear on the wire.

use std::fmt;
use std::str::FromStr;

use crate::scram::ScramHash;

/// A SASL mechanism this crate implements. [`as_str`](Self::as_str) is the name that goes in
/// `<mechanism/>` and in `<auth mechanism='...'/>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `SCRAM-SHA-1` (RFC 5802).
    ScramSha1,
    /// `SCRAM-SHA-1-PLUS` (RFC 5802, with channel binding).
    ScramSha1Plus,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-256-PLUS` (RFC 7677, with channel binding).
    ScramSha256Plus,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `SCRAM-SHA-512-PLUS`.
    ScramSha512Plus,
    /// `PLAIN` (RFC 4616). Offered only on encrypted streams.
    Plain,
    /// `EXTERNAL` (RFC 4422 Appendix A): identity from the TLS client certificate.
    External,
}

impl Mechanism {
    /// Every mechanism, strongest first: the default preference order of a server's offer.
    pub const ALL: [Self; 8] = [
        Self::ScramSha512Plus,
        Self::ScramSha256Plus,
        Self::ScramSha1Plus,
        Self::ScramSha512,
        Self::ScramSha256,
        Self::ScramSha1,
        Self::External,
        Self::Plain,
    ];

    /// The SCRAM mechanism for a hash, with or without channel binding.
    pub const fn scram(hash: ScramHash, plus: bool) -> Self {
        match (hash, plus) {
            (ScramHash::Sha1, false) => Self::ScramSha1,
            (ScramHash::Sha1, true) => Self::ScramSha1Plus,
            (ScramHash::Sha256, false) => Self::ScramSha256,
            (ScramHash::Sha256, true) => Self::ScramSha256Plus,
            (ScramHash::Sha512, false) => Self::ScramSha512,
            (ScramHash::Sha512, true) => Self::ScramSha512Plus,
        }
    }

    /// The wire name, e.g. `"SCRAM-SHA-256-PLUS"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ScramSha1 => "SCRAM-SHA-1",
            Self::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::ScramSha512Plus => "SCRAM-SHA-512-PLUS",
            Self::Plain => "PLAIN",
            Self::External => "EXTERNAL",
        }
    }

    /// The SCRAM hash, or `None` for PLAIN and EXTERNAL.
    pub const fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Self::ScramSha1 | Self::ScramSha1Plus => Some(ScramHash::Sha1),
            Self::ScramSha256 | Self::ScramSha256Plus => Some(ScramHash::Sha256),
            Self::ScramSha512 | Self::ScramSha512Plus => Some(ScramHash::Sha512),
            Self::Plain | Self::External => None,
        }
    }

    /// Whether this is a channel-binding (`-PLUS`) mechanism.
    pub const fn is_plus(self) -> bool {
        matches!(
            self,
            Self::ScramSha1Plus | Self::ScramSha256Plus | Self::ScramSha512Plus
        )
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not a mechanism this crate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown SASL mechanism")]
pub struct UnknownMechanismError;

impl FromStr for Mechanism {
    type Err = UnknownMechanismError;

    /// Exact, case-sensitive match of the wire name (RFC 4422 §3.1: mechanism names are
    /// upper-case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(UnknownMechanismError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Mechanism::ALL {
            assert_eq!(m.as_str().parse::<Mechanism>(), Ok(m));
            if let Some(h) = m.scram_hash() {
                assert_eq!(Mechanism::scram(h, m.is_plus()), m);
            }
        }
        assert!("scram-sha-1".parse::<Mechanism>().is_err());
        assert!("DIGEST-MD5".parse::<Mechanism>().is_err());
    }
}
