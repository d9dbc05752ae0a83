//! The `<text/>` element both error kinds may carry.

use crate::element::{Element, XML_NS};

use super::ErrorParseError;

/// A human-readable description of an error, for people, not programs (RFC 6120 §4.9.2 and
/// §8.3.2): programs act on the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorText {
    /// The `xml:lang` of the text. RFC 6120 says it SHOULD be present; `None` keeps an error
    /// that lacks it as it was.
    pub lang: Option<String>,
    /// The text itself.
    pub text: String,
}

impl ErrorText {
    /// A text in the given language (`None` for no `xml:lang`).
    pub fn new(lang: Option<&str>, text: impl Into<String>) -> Self {
        Self {
            lang: lang.map(str::to_owned),
            text: text.into(),
        }
    }

    /// Reads a `<text/>` element; the caller has checked its name and namespace.
    pub(super) fn from_element(el: &Element) -> Result<Self, ErrorParseError> {
        if let Some(child) = el.children().next() {
            return Err(ErrorParseError::UnexpectedChild {
                parent: "text",
                child: child.name().to_owned(),
            });
        }
        Ok(Self {
            lang: el.lang().map(str::to_owned),
            text: el.text(),
        })
    }

    /// Writes a `<text/>` element in the condition namespace `ns`.
    pub(super) fn to_element(&self, ns: &'static str) -> Element {
        let mut el = Element::new("text", ns);
        if let Some(lang) = &self.lang {
            el.set_attr_ns(XML_NS, "lang", lang.as_str());
        }
        el.with_text(self.text.as_str())
    }
}
