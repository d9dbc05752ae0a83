//! Why a string is not a JID.

use std::fmt;

/// Why a string is not a valid JID, or not the kind of JID that was asked for.
///
/// Every variant names the part at fault, so a server can answer with a precise
/// `<jid-malformed/>` text and a client can point at the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JidError {
    /// An `@` is present but nothing precedes it (`@example.com`), or `Some("")` was passed
    /// as the localpart.
    #[error("the localpart is empty")]
    EmptyLocalpart,
    /// There is no domainpart (`juliet@`, `/foobar`, the empty string), or it consists of
    /// nothing but the trailing dot.
    #[error("the domainpart is empty")]
    EmptyDomain,
    /// A `/` is present but nothing follows it (`juliet@example.com/`), or `""` was passed as
    /// the resourcepart.
    #[error("the resourcepart is empty")]
    EmptyResource,
    /// The localpart is longer than 1023 bytes once normalised (RFC 7622 §3.3).
    #[error("the localpart is longer than 1023 bytes")]
    LocalpartTooLong,
    /// The domainpart is longer than 1023 bytes once normalised (RFC 7622 §3.2).
    #[error("the domainpart is longer than 1023 bytes")]
    DomainTooLong,
    /// The resourcepart is longer than 1023 bytes once normalised (RFC 7622 §3.4).
    #[error("the resourcepart is longer than 1023 bytes")]
    ResourceTooLong,
    /// The localpart is refused by the PRECIS `UsernameCaseMapped` profile (RFC 8265 §3.3) or
    /// contains one of the characters RFC 7622 §3.3.1 adds to it (`" & ' / : < > @`).
    #[error("the localpart is not allowed: {0}")]
    LocalpartProhibited(ProfileViolation),
    /// The resourcepart is refused by the PRECIS `OpaqueString` profile (RFC 8265 §4.2).
    #[error("the resourcepart is not allowed: {0}")]
    ResourceProhibited(ProfileViolation),
    /// The domainpart is neither an IP literal nor a domain name that IDNA2008/UTS #46
    /// accepts, within DNS label limits.
    #[error("the domainpart is not valid: {0}")]
    DomainInvalid(DomainViolation),
    /// A full JID was asked for but the string has no resourcepart.
    #[error("a full JID needs a resourcepart")]
    ResourceMissing,
    /// A bare JID was asked for but the string has a resourcepart.
    #[error("a bare JID cannot have a resourcepart")]
    ResourcePresent,
}

/// What a PRECIS profile (or RFC 7622's extra localpart rule) found wrong in a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileViolation {
    /// The string class does not allow this code point: it is disallowed, unassigned, or
    /// (in a localpart) has a compatibility decomposition, such as `Ⅳ` or `ﬀ`.
    Codepoint(char),
    /// A code point that is only allowed in some contexts (RFC 5892 appendix A: zero-width
    /// joiners, middle dots, Arabic-Indic digits and so on) stands where it is not allowed.
    /// `None` when the profile could not say which one.
    Context(Option<char>),
    /// The localpart contains right-to-left characters but breaks the Bidi Rule (RFC 5893).
    Bidi,
    /// One of `" & ' / : < > @`, which RFC 7622 §3.3.1 forbids in a localpart even though
    /// the PRECIS `IdentifierClass` allows them. The character may be the result of width
    /// mapping (a full-width `＠` becomes `@`).
    JidSpecial(char),
    /// Applying the profile again kept changing the string. RFC 8264 §7 asks to reject a
    /// string that is not stable after a few rounds, so that a stored JID always parses to
    /// itself.
    Unstable,
}

impl fmt::Display for ProfileViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codepoint(c) => write!(f, "code point U+{:04X} is not allowed", u32::from(*c)),
            Self::Context(Some(c)) => write!(
                f,
                "code point U+{:04X} is not allowed in this context",
                u32::from(*c)
            ),
            Self::Context(None) => f.write_str("a contextual code point is not allowed here"),
            Self::Bidi => f.write_str("the Bidi Rule is not satisfied"),
            Self::JidSpecial(c) => write!(f, "{c:?} is not allowed in a localpart"),
            Self::Unstable => f.write_str("normalisation does not converge"),
        }
    }
}

/// What is wrong with a domainpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomainViolation {
    /// UTS #46 processing failed: a disallowed code point (anything but letters, digits and
    /// hyphens among ASCII), a hyphen at the start or end of a label, invalid Punycode, a
    /// broken Bidi or `ContextJ` rule.
    Idna,
    /// Two dots in a row, or a leading dot.
    EmptyLabel,
    /// A label is longer than 63 octets in its A-label (`xn--…`) form.
    LabelTooLong,
    /// A bracketed literal is not a valid IPv6 address.
    IpLiteral,
    /// The last label is all digits but the whole is not a dotted-quad IPv4 address
    /// (`999.1.1.1`, `example.123`): no top-level domain is numeric, and accepting these
    /// would let two spellings of one IPv4 address compare unequal.
    NumericTld,
}

impl fmt::Display for DomainViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Idna => "rejected by IDNA2008/UTS #46 processing",
            Self::EmptyLabel => "it has an empty label",
            Self::LabelTooLong => "a label is longer than 63 octets",
            Self::IpLiteral => "the bracketed literal is not an IPv6 address",
            Self::NumericTld => "the last label is numeric but the whole is not an IPv4 address",
        })
    }
}
