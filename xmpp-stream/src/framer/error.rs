//! Why a framer stopped, and the stream error condition each reason maps to.

use xmpp_core::xml::{Limit, XmlError};

/// A reason the framer refuses a stream. Every one is fatal: the stream must be closed with the
/// condition from [`FrameError::condition`], and the framer keeps returning the same error.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The XML itself was refused (not well-formed, restricted, over a limit, bad encoding).
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The first element was not `<stream:stream>` (or `<open/>` on WebSocket) in its namespace.
    #[error("the stream does not start with a stream header in the streams namespace")]
    InvalidNamespace,
    /// Non-whitespace text between stanzas.
    #[error("text at stream level")]
    TextAtStreamLevel,
    /// A `<stream:stream>` inside the stream (the CVE-2022-20917 stanza-smuggling shape).
    #[error("a stream header inside the stream")]
    NestedStream,
    /// A WebSocket message that is not exactly one element.
    #[error("a WebSocket message must hold exactly one element")]
    NotOneElement,
}

impl FrameError {
    /// The RFC 6120 §4.9.3 defined condition to close the stream with.
    pub fn condition(&self) -> &'static str {
        match self {
            FrameError::Xml(XmlError::Limit(_)) => "policy-violation",
            FrameError::Xml(XmlError::Restricted(_)) => "restricted-xml",
            FrameError::Xml(XmlError::UnsupportedEncoding) => "unsupported-encoding",
            FrameError::InvalidNamespace => "invalid-namespace",
            FrameError::TextAtStreamLevel | FrameError::NestedStream => "bad-format",
            // Not well-formed, or a WebSocket message that was not one element.
            _ => "not-well-formed",
        }
    }

    /// The limit that was exceeded, if that is why.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            FrameError::Xml(XmlError::Limit(l)) => Some(*l),
            _ => None,
        }
    }
}
