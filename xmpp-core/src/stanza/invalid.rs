//! Why an element is not a valid stanza, and what to answer.

use crate::element::Element;
use crate::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use crate::jid::JidError;

use super::{IqType, StanzaKind};

/// What is wrong with an element that was meant to be a stanza.
///
/// Each violation maps to the answer RFC 6120 prescribes: see
/// [`InvalidStanza::stanza_error`] and [`InvalidStanza::stream_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StanzaViolation {
    /// Not a `message`, `presence` or `iq` in a stanza namespace.
    #[error("<{name}/> in `{ns}` is not a stanza")]
    NotAStanza {
        /// The local name found.
        name: String,
        /// The namespace found.
        ns: String,
    },
    /// The `from` attribute is not a JID.
    #[error("the `from` address is malformed: {0}")]
    MalformedFrom(JidError),
    /// The `to` attribute is not a JID.
    #[error("the `to` address is malformed: {0}")]
    MalformedTo(JidError),
    /// An iq without a `type` (RFC 6120 §8.2.3 requires one).
    #[error("an iq needs a type")]
    MissingType,
    /// A presence or iq `type` RFC 6120/6121 do not define.
    #[error("unknown {kind} type `{value}`")]
    UnknownType {
        /// The stanza kind.
        kind: StanzaKind,
        /// The value found.
        value: String,
    },
    /// An iq without an `id` (RFC 6120 §8.2.3 requires one).
    #[error("an iq needs an id")]
    MissingId,
    /// An iq whose number of child elements breaks RFC 6120 §8.2.3: exactly one for `get`
    /// and `set`, at most one for `result`.
    #[error("an iq of type {iq_type} must carry {}, not {found}", expected_children(*.iq_type))]
    IqChildren {
        /// The iq's type.
        iq_type: IqType,
        /// How many child elements it has.
        found: usize,
    },
    /// A stanza of type `error` without an `<error/>` child (RFC 6120 §8.3.1).
    #[error("a stanza of type error must carry an <error/> child")]
    MissingError,
}

fn expected_children(iq_type: IqType) -> &'static str {
    if iq_type.is_request() {
        "exactly one child element"
    } else {
        "at most one child element"
    }
}

/// An element that is not a valid stanza, handed back with the reason.
///
/// The element comes back whole, so that a caller can log it, answer it
/// ([`InvalidStanza::error_reply`]) or, on a client stream, fix it and try again (for
/// instance drop a malformed `from` and stamp its own, RFC 6120 §8.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid stanza: {violation}")]
pub struct InvalidStanza {
    violation: StanzaViolation,
    // Boxed so that `Result<Stanza, InvalidStanza>` stays the size of a stanza.
    element: Box<Element>,
}

impl InvalidStanza {
    pub(super) fn new(element: Element, violation: StanzaViolation) -> Self {
        Self {
            violation,
            element: Box::new(element),
        }
    }

    /// What is wrong.
    pub fn violation(&self) -> &StanzaViolation {
        &self.violation
    }

    /// The element, as received.
    pub fn element(&self) -> &Element {
        &self.element
    }

    /// Takes the element back.
    pub fn into_element(self) -> Element {
        *self.element
    }

    /// The stanza error that answers this violation, if the stanza is to be answered rather
    /// than the stream closed.
    ///
    /// `None` for [`StanzaViolation::NotAStanza`] and [`StanzaViolation::MalformedFrom`]: the
    /// first is a stream matter, and for the second the caller decides between stamping a
    /// correct `from` (client streams) and closing the stream (see
    /// [`InvalidStanza::stream_error`]).
    pub fn stanza_error(&self) -> Option<StanzaError> {
        let condition = match &self.violation {
            StanzaViolation::NotAStanza { .. } | StanzaViolation::MalformedFrom(_) => return None,
            StanzaViolation::MalformedTo(_) => StanzaCondition::JidMalformed,
            StanzaViolation::MissingType
            | StanzaViolation::UnknownType { .. }
            | StanzaViolation::MissingId
            | StanzaViolation::IqChildren { .. }
            | StanzaViolation::MissingError => StanzaCondition::BadRequest,
        };
        Some(StanzaError::new(condition).with_text(Some("en"), self.violation.to_string()))
    }

    /// The stream error RFC 6120 prescribes when this violation ends the stream.
    ///
    /// [`StanzaViolation::NotAStanza`] gives `unsupported-stanza-type` (§4.9.3.24) and
    /// [`StanzaViolation::MalformedFrom`] gives `invalid-from` (§4.9.3.9); every other
    /// violation is answered with a stanza error and gives `None`.
    pub fn stream_error(&self) -> Option<StreamError> {
        let condition = match &self.violation {
            StanzaViolation::NotAStanza { .. } => StreamCondition::UnsupportedStanzaType,
            StanzaViolation::MalformedFrom(_) => StreamCondition::InvalidFrom,
            _ => return None,
        };
        Some(StreamError::new(condition).with_text(Some("en"), self.violation.to_string()))
    }
}
