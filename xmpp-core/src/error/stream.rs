//! Stream errors (RFC 6120 §4.9): `<stream:error/>`, after which the stream is closed.

use crate::element::{Attribute, Element};
use crate::ns;

use super::parse::split_children;
use super::{ErrorParseError, ErrorText, StreamCondition};

/// A stream error (RFC 6120 §4.9): the last thing sent before `</stream:stream>`.
///
/// [`StreamError::to_element`] gives `<error xmlns='http://etherx.jabber.org/streams'/>`;
/// writing it with the conventional `stream:` prefix is the stream writer's business
/// ([`Element::write_prefixed`]).
///
/// ```
/// use xmpp_core::{StreamCondition, StreamError};
///
/// let err = StreamError::new(StreamCondition::HostUnknown).with_text(Some("en"), "not served here");
/// assert_eq!(StreamError::from_element(&err.to_element())?, err);
/// # Ok::<(), xmpp_core::ErrorParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream error: {condition}{}", first_text(.texts))]
pub struct StreamError {
    /// The defined condition.
    pub condition: StreamCondition,
    /// `<text/>` children, in document order.
    pub texts: Vec<ErrorText>,
    /// The application-specific condition element (any namespace but the conditions one).
    pub app_condition: Option<Element>,
    /// Attributes of `<stream:error/>` (none are defined), kept so that a parsed error writes
    /// back the same.
    pub other_attrs: Vec<Attribute>,
}

fn first_text(texts: &[ErrorText]) -> String {
    texts
        .first()
        .map_or_else(String::new, |t| format!(": {}", t.text))
}

impl StreamError {
    /// An error with only a condition.
    pub fn new(condition: StreamCondition) -> Self {
        Self {
            condition,
            texts: Vec::new(),
            app_condition: None,
            other_attrs: Vec::new(),
        }
    }

    /// Adds a human-readable text in the given language.
    #[must_use]
    pub fn with_text(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        self.texts.push(ErrorText::new(lang, text));
        self
    }

    /// Sets the application-specific condition.
    #[must_use]
    pub fn with_app_condition(mut self, condition: Element) -> Self {
        self.app_condition = Some(condition);
        self
    }

    /// Reads an `<error/>` element in `http://etherx.jabber.org/streams`.
    pub fn from_element(el: &Element) -> Result<Self, ErrorParseError> {
        if !el.is("error", ns::STREAM) {
            return Err(ErrorParseError::WrongElement {
                expected: ns::STREAM,
                name: el.name().to_owned(),
                ns: el.ns().to_owned(),
            });
        }
        let parts = split_children(el, ns::XMPP_STREAMS)?;
        Ok(Self {
            condition: StreamCondition::from_element(parts.condition)?,
            texts: parts.texts,
            app_condition: parts.app_condition,
            other_attrs: el.attributes().to_vec(),
        })
    }

    /// Writes the `<error/>` element in the streams namespace.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("error", ns::STREAM);
        for attr in &self.other_attrs {
            el.set_attr_ns(attr.ns.clone(), attr.name.as_str(), attr.value.as_str());
        }
        el.append_child(self.condition.to_element());
        for text in &self.texts {
            el.append_child(text.to_element(ns::XMPP_STREAMS));
        }
        if let Some(app) = &self.app_condition {
            el.append_child(app.clone());
        }
        el
    }
}

impl From<StreamCondition> for StreamError {
    fn from(condition: StreamCondition) -> Self {
        Self::new(condition)
    }
}
