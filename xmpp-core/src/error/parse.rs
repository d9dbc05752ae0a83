//! Why an element is not a valid stanza or stream error, and the child walk both share.

use crate::element::{Element, Node};
use crate::jid::JidError;

use super::ErrorText;

/// Why an element could not be read as a [`StanzaError`](super::StanzaError) or
/// [`StreamError`](super::StreamError).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorParseError {
    /// The element is not an `<error/>` in the expected namespace.
    #[error("expected <error/> in {expected}, found <{name}/> in `{ns}`")]
    WrongElement {
        /// What was expected: a namespace, or a description of the allowed ones.
        expected: &'static str,
        /// The local name found.
        name: String,
        /// The namespace found.
        ns: String,
    },
    /// A stanza error has no `type` attribute (RFC 6120 §8.3.2 requires one).
    #[error("the error has no type")]
    MissingType,
    /// A stanza error's `type` is not one of `auth`, `cancel`, `continue`, `modify`, `wait`.
    #[error("unknown error type `{0}`")]
    UnknownType(String),
    /// No defined condition element.
    #[error("the error has no defined condition")]
    MissingCondition,
    /// An element in the conditions namespace that RFC 6120 does not define.
    #[error("unknown defined condition <{0}/>")]
    UnknownCondition(String),
    /// More than one defined condition; RFC 6120 allows exactly one.
    #[error("the error has more than one defined condition")]
    MultipleConditions,
    /// More than one application-specific condition; RFC 6120 allows at most one.
    #[error("the error has more than one application-specific condition")]
    MultipleApplicationConditions,
    /// `<see-other-host/>` without the host it must name (RFC 6120 §4.9.3.19).
    #[error("<see-other-host/> does not name a host")]
    MissingHost,
    /// The `by` attribute of a stanza error is not a JID.
    #[error("the `by` attribute is not a valid JID: {0}")]
    InvalidBy(JidError),
    /// Character data other than whitespace where none belongs: directly inside `<error/>`,
    /// or inside a condition that carries no data.
    #[error("unexpected text in <{0}/>")]
    UnexpectedText(&'static str),
    /// A child element inside a condition or `<text/>`, which carry text only.
    #[error("<{parent}/> cannot contain <{child}/>")]
    UnexpectedChild {
        /// The element that should have no children.
        parent: &'static str,
        /// The child found.
        child: String,
    },
}

/// The children of an `<error/>`, sorted by role.
pub(super) struct Parts<'a> {
    /// The one element in the conditions namespace that is not `<text/>`.
    pub(super) condition: &'a Element,
    pub(super) texts: Vec<ErrorText>,
    pub(super) app_condition: Option<Element>,
}

/// Sorts the children of an `<error/>` whose conditions live in `conditions_ns`, checking
/// the rules both error kinds share.
pub(super) fn split_children<'a>(
    el: &'a Element,
    conditions_ns: &str,
) -> Result<Parts<'a>, ErrorParseError> {
    let mut condition = None;
    let mut texts = Vec::new();
    let mut app_condition = None;
    for node in el.nodes() {
        let child = match node {
            Node::Element(child) => child,
            // Pretty-printed errors carry indentation; anything else is not ours to drop.
            Node::Text(t) if t.chars().all(char::is_whitespace) => continue,
            Node::Text(_) => return Err(ErrorParseError::UnexpectedText("error")),
        };
        if child.ns() != conditions_ns {
            if app_condition.replace(child.clone()).is_some() {
                return Err(ErrorParseError::MultipleApplicationConditions);
            }
        } else if child.name() == "text" {
            texts.push(ErrorText::from_element(child)?);
        } else if condition.replace(child).is_some() {
            return Err(ErrorParseError::MultipleConditions);
        }
    }
    Ok(Parts {
        condition: condition.ok_or(ErrorParseError::MissingCondition)?,
        texts,
        app_condition,
    })
}

/// The text of a condition element, which may carry character data but no children.
///
/// `carries_text` says whether this condition has data (`<gone/>`, `<redirect/>`,
/// `<see-other-host/>`); any other condition with text in it is refused rather than
/// silently losing that text. `parent` names the condition in the error.
pub(super) fn condition_text(
    el: &Element,
    parent: &'static str,
    carries_text: bool,
) -> Result<Option<String>, ErrorParseError> {
    if let Some(child) = el.children().next() {
        return Err(ErrorParseError::UnexpectedChild {
            parent,
            child: child.name().to_owned(),
        });
    }
    let text = el.text();
    if !carries_text {
        if text.chars().all(char::is_whitespace) {
            return Ok(None);
        }
        return Err(ErrorParseError::UnexpectedText(parent));
    }
    // An address has no spaces; whitespace around it is indentation.
    let trimmed = text.trim();
    Ok(if trimmed.is_empty() {
        None
    } else if trimmed.len() == text.len() {
        Some(text)
    } else {
        Some(trimmed.to_owned())
    })
}
