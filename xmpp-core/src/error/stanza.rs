//! Stanza errors (RFC 6120 §8.3): the `<error/>` child of a stanza of type `error`.

use core::fmt;
use core::str::FromStr;

use crate::element::{Attribute, Element, Namespace};
use crate::jid::Jid;
use crate::ns;

use super::parse::split_children;
use super::{ErrorParseError, ErrorText, StanzaCondition};

/// What the sender of the failed stanza may do about it (RFC 6120 §8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `auth`: retry after providing credentials.
    Auth,
    /// `cancel`: do not retry, the error cannot be remedied.
    Cancel,
    /// `continue`: proceed, the condition was only a warning.
    Continue,
    /// `modify`: retry after changing the data sent.
    Modify,
    /// `wait`: retry after waiting, the error is temporary.
    Wait,
}

impl ErrorType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Cancel => "cancel",
            Self::Continue => "continue",
            Self::Modify => "modify",
            Self::Wait => "wait",
        }
    }
}

impl FromStr for ErrorType {
    type Err = ErrorParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auth" => Self::Auth,
            "cancel" => Self::Cancel,
            "continue" => Self::Continue,
            "modify" => Self::Modify,
            "wait" => Self::Wait,
            other => return Err(ErrorParseError::UnknownType(other.to_owned())),
        })
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stanza error (RFC 6120 §8.3): it answers one stanza, and the stream goes on.
///
/// ```
/// use xmpp_core::{ErrorType, StanzaCondition, StanzaError};
///
/// let err = StanzaError::new(StanzaCondition::ItemNotFound).with_text(Some("en"), "no such node");
/// assert_eq!(err.error_type, ErrorType::Cancel);
/// let el = err.to_element(xmpp_core::ns::JABBER_CLIENT);
/// assert_eq!(StanzaError::from_element(&el)?, err);
/// # Ok::<(), xmpp_core::ErrorParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type} error: {condition}{}", first_text(.texts))]
pub struct StanzaError {
    /// The `type` attribute.
    pub error_type: ErrorType,
    /// The defined condition.
    pub condition: StanzaCondition,
    /// `<text/>` children, in document order; several may exist in different languages.
    pub texts: Vec<ErrorText>,
    /// The application-specific condition element (any namespace but the conditions one).
    pub app_condition: Option<Element>,
    /// The `by` attribute: the entity that generated the error.
    pub by: Option<Jid>,
    /// Other attributes of `<error/>`, such as the legacy `code` of XEP-0086, kept so that a
    /// parsed error writes back the same.
    pub other_attrs: Vec<Attribute>,
}

fn first_text(texts: &[ErrorText]) -> String {
    texts
        .first()
        .map_or_else(String::new, |t| format!(": {}", t.text))
}

/// The namespaces a stanza, and so its `<error/>`, can live in.
const STANZA_NAMESPACES: [&str; 3] = [ns::JABBER_CLIENT, ns::JABBER_SERVER, ns::COMPONENT_ACCEPT];

impl StanzaError {
    /// An error with the condition's default type (RFC 6120 §8.3.3) and nothing else.
    pub fn new(condition: StanzaCondition) -> Self {
        Self {
            error_type: condition.default_type(),
            condition,
            texts: Vec::new(),
            app_condition: None,
            by: None,
            other_attrs: Vec::new(),
        }
    }

    /// Sets the type, for conditions where RFC 6120 allows another than the default.
    #[must_use]
    pub fn with_type(mut self, error_type: ErrorType) -> Self {
        self.error_type = error_type;
        self
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

    /// Sets the `by` attribute.
    #[must_use]
    pub fn with_by(mut self, by: Jid) -> Self {
        self.by = Some(by);
        self
    }

    /// Reads an `<error/>` element in `jabber:client`, `jabber:server` or
    /// `jabber:component:accept`.
    pub fn from_element(el: &Element) -> Result<Self, ErrorParseError> {
        if el.name() != "error" || !STANZA_NAMESPACES.contains(&el.ns()) {
            return Err(ErrorParseError::WrongElement {
                expected: "a stanza namespace",
                name: el.name().to_owned(),
                ns: el.ns().to_owned(),
            });
        }
        let mut error_type = None;
        let mut by = None;
        let mut other_attrs = Vec::new();
        for attr in el.attributes() {
            match (attr.ns.is_none(), attr.name.as_str()) {
                (true, "type") => error_type = Some(attr.value.parse::<ErrorType>()?),
                (true, "by") => {
                    by = Some(Jid::new(&attr.value).map_err(ErrorParseError::InvalidBy)?);
                }
                _ => other_attrs.push(attr.clone()),
            }
        }
        let parts = split_children(el, ns::XMPP_STANZAS)?;
        Ok(Self {
            error_type: error_type.ok_or(ErrorParseError::MissingType)?,
            condition: StanzaCondition::from_element(parts.condition)?,
            texts: parts.texts,
            app_condition: parts.app_condition,
            by,
            other_attrs,
        })
    }

    /// Writes the `<error/>` element in the namespace of the stanza that will carry it.
    pub fn to_element(&self, stanza_ns: impl Into<Namespace<'static>>) -> Element {
        self.clone().into_element(stanza_ns)
    }

    /// [`StanzaError::to_element`], moving the texts and the application condition instead of
    /// copying them.
    pub fn into_element(self, stanza_ns: impl Into<Namespace<'static>>) -> Element {
        let mut el = Element::new("error", stanza_ns).with_attr("type", self.error_type.as_str());
        if let Some(by) = &self.by {
            el.set_attr("by", by.as_str());
        }
        for attr in self.other_attrs {
            // `type` and `by` come from the typed fields, whatever a caller left in here.
            if attr.ns.is_none() && matches!(attr.name.as_str(), "type" | "by") {
                continue;
            }
            el.set_attr_ns(attr.ns, attr.name.as_str(), attr.value);
        }
        el.append_child(self.condition.to_element());
        for text in &self.texts {
            el.append_child(text.to_element(ns::XMPP_STANZAS));
        }
        if let Some(app) = self.app_condition {
            el.append_child(app);
        }
        el
    }
}

impl From<StanzaCondition> for StanzaError {
    fn from(condition: StanzaCondition) -> Self {
        Self::new(condition)
    }
}
