//! The defined conditions of stream errors (RFC 6120 §4.9.3).

use core::fmt;
use core::str::FromStr;

use crate::element::Element;
use crate::ns;

use super::ErrorParseError;
use super::parse::condition_text;

/// A defined stream error condition (RFC 6120 §4.9.3), the element in
/// `urn:ietf:params:xml:ns:xmpp-streams` that says why a stream is being closed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamCondition {
    /// `bad-format`: XML that cannot be processed.
    BadFormat,
    /// `bad-namespace-prefix`: an unsupported namespace prefix, or none where one is needed.
    BadNamespacePrefix,
    /// `conflict`: a new stream for this entity replaces this one.
    Conflict,
    /// `connection-timeout`: the peer has not sent anything for too long.
    ConnectionTimeout,
    /// `host-gone`: the `to` of the stream header names a host that is no longer served here.
    HostGone,
    /// `host-unknown`: the `to` of the stream header names a host not served here.
    HostUnknown,
    /// `improper-addressing`: a stanza between servers lacks `to` or `from`, or they are
    /// invalid.
    ImproperAddressing,
    /// `internal-server-error`: misconfiguration or another internal error.
    InternalServerError,
    /// `invalid-from`: a `from` address does not match an authorised JID or domain.
    InvalidFrom,
    /// `invalid-namespace`: the stream or content namespace is not supported.
    InvalidNamespace,
    /// `invalid-xml`: invalid XML (for instance against a schema).
    InvalidXml,
    /// `not-authorized`: data sent before the stream was authenticated.
    NotAuthorized,
    /// `not-well-formed`: XML that is not well-formed.
    NotWellFormed,
    /// `policy-violation`: a local service policy was violated.
    PolicyViolation,
    /// `remote-connection-failed`: a server needed for authentication could not be reached.
    RemoteConnectionFailed,
    /// `reset`: the stream must be renegotiated (new keys, changed credentials).
    Reset,
    /// `resource-constraint`: the server lacks the resources to serve the stream.
    ResourceConstraint,
    /// `restricted-xml`: XML features RFC 6120 §11.1 forbids (comments, DTDs, processing
    /// instructions, entity references).
    RestrictedXml,
    /// `see-other-host`: connect to this host (a domain or IP address, with optional port)
    /// instead.
    SeeOtherHost(String),
    /// `system-shutdown`: the server is shutting down.
    SystemShutdown,
    /// `undefined-condition`: none of the above; meant to come with an application-specific
    /// condition.
    UndefinedCondition,
    /// `unsupported-encoding`: an encoding other than UTF-8.
    UnsupportedEncoding,
    /// `unsupported-feature`: a feature the receiver requires is not offered.
    UnsupportedFeature,
    /// `unsupported-stanza-type`: a first-level child of the stream that is not supported.
    UnsupportedStanzaType,
    /// `unsupported-version`: the stream `version` is not supported.
    UnsupportedVersion,
}

impl StreamCondition {
    /// Every defined condition, in the order of RFC 6120 §4.9.3 (`see-other-host` with an
    /// empty host).
    pub const ALL: [Self; 25] = [
        Self::BadFormat,
        Self::BadNamespacePrefix,
        Self::Conflict,
        Self::ConnectionTimeout,
        Self::HostGone,
        Self::HostUnknown,
        Self::ImproperAddressing,
        Self::InternalServerError,
        Self::InvalidFrom,
        Self::InvalidNamespace,
        Self::InvalidXml,
        Self::NotAuthorized,
        Self::NotWellFormed,
        Self::PolicyViolation,
        Self::RemoteConnectionFailed,
        Self::Reset,
        Self::ResourceConstraint,
        Self::RestrictedXml,
        Self::SeeOtherHost(String::new()),
        Self::SystemShutdown,
        Self::UndefinedCondition,
        Self::UnsupportedEncoding,
        Self::UnsupportedFeature,
        Self::UnsupportedStanzaType,
        Self::UnsupportedVersion,
    ];

    /// The element name of the condition.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BadFormat => "bad-format",
            Self::BadNamespacePrefix => "bad-namespace-prefix",
            Self::Conflict => "conflict",
            Self::ConnectionTimeout => "connection-timeout",
            Self::HostGone => "host-gone",
            Self::HostUnknown => "host-unknown",
            Self::ImproperAddressing => "improper-addressing",
            Self::InternalServerError => "internal-server-error",
            Self::InvalidFrom => "invalid-from",
            Self::InvalidNamespace => "invalid-namespace",
            Self::InvalidXml => "invalid-xml",
            Self::NotAuthorized => "not-authorized",
            Self::NotWellFormed => "not-well-formed",
            Self::PolicyViolation => "policy-violation",
            Self::RemoteConnectionFailed => "remote-connection-failed",
            Self::Reset => "reset",
            Self::ResourceConstraint => "resource-constraint",
            Self::RestrictedXml => "restricted-xml",
            Self::SeeOtherHost(_) => "see-other-host",
            Self::SystemShutdown => "system-shutdown",
            Self::UndefinedCondition => "undefined-condition",
            Self::UnsupportedEncoding => "unsupported-encoding",
            Self::UnsupportedFeature => "unsupported-feature",
            Self::UnsupportedStanzaType => "unsupported-stanza-type",
            Self::UnsupportedVersion => "unsupported-version",
        }
    }

    /// Reads a condition element; the caller has checked its namespace.
    pub(super) fn from_element(el: &Element) -> Result<Self, ErrorParseError> {
        let condition: Self = el.name().parse()?;
        let is_redirect = matches!(condition, Self::SeeOtherHost(_));
        let text = condition_text(el, condition.as_str(), is_redirect)?;
        if is_redirect {
            // RFC 6120 §4.9.3.19: the host MUST be given; without it the error is useless.
            return text
                .map(Self::SeeOtherHost)
                .ok_or(ErrorParseError::MissingHost);
        }
        Ok(condition)
    }

    /// Writes the condition element.
    pub(super) fn to_element(&self) -> Element {
        let el = Element::new(self.as_str(), ns::XMPP_STREAMS);
        match self {
            Self::SeeOtherHost(host) => el.with_text(host.as_str()),
            _ => el,
        }
    }
}

impl FromStr for StreamCondition {
    type Err = ErrorParseError;

    /// Parses an element name; `see-other-host` comes with an empty host, to be filled in.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "bad-format" => Self::BadFormat,
            "bad-namespace-prefix" => Self::BadNamespacePrefix,
            "conflict" => Self::Conflict,
            "connection-timeout" => Self::ConnectionTimeout,
            "host-gone" => Self::HostGone,
            "host-unknown" => Self::HostUnknown,
            "improper-addressing" => Self::ImproperAddressing,
            "internal-server-error" => Self::InternalServerError,
            "invalid-from" => Self::InvalidFrom,
            "invalid-namespace" => Self::InvalidNamespace,
            "invalid-xml" => Self::InvalidXml,
            "not-authorized" => Self::NotAuthorized,
            "not-well-formed" => Self::NotWellFormed,
            "policy-violation" => Self::PolicyViolation,
            "remote-connection-failed" => Self::RemoteConnectionFailed,
            "reset" => Self::Reset,
            "resource-constraint" => Self::ResourceConstraint,
            "restricted-xml" => Self::RestrictedXml,
            "see-other-host" => Self::SeeOtherHost(String::new()),
            "system-shutdown" => Self::SystemShutdown,
            "undefined-condition" => Self::UndefinedCondition,
            "unsupported-encoding" => Self::UnsupportedEncoding,
            "unsupported-feature" => Self::UnsupportedFeature,
            "unsupported-stanza-type" => Self::UnsupportedStanzaType,
            "unsupported-version" => Self::UnsupportedVersion,
            other => return Err(ErrorParseError::UnknownCondition(other.to_owned())),
        })
    }
}

impl fmt::Display for StreamCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SeeOtherHost(host) => write!(f, "see-other-host ({host})"),
            _ => f.write_str(self.as_str()),
        }
    }
}
