//! The one XML entry point: rxml's tokenizer with Chatrix's limits, and the builder that turns
//! its events into [`Element`] trees.
//!
//! Every place that reads XML (c2s and s2s streams, WebSocket messages, XML stored in a
//! database) goes through [`XmlReader`], so the restricted-XML rules of RFC 6120 §11 and the
//! size limits hold everywhere (security.md §1.1: the secondary parser is as exposed as the
//! first).

mod limits;
mod reader;
mod tree;

pub use limits::{Limit, Limits};
pub use reader::{XmlError, XmlEvent, XmlReader};
pub use tree::TreeBuilder;

use crate::Element;

/// Parses one complete document holding a single element, with the given limits.
///
/// This is for XML that arrives whole: stored stanzas, test fixtures, configuration snippets.
/// Streams use [`XmlReader`] directly.
pub fn parse_element(bytes: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    let mut reader = XmlReader::new(limits, 0);
    let mut tree = TreeBuilder::new();
    let mut buf = bytes;
    let mut root = None;
    while let Some(event) = reader.read(&mut buf, true)? {
        if let Some(done) = tree.feed(event) {
            root = Some(done);
        }
    }
    root.ok_or(XmlError::NoElement)
}

impl core::str::FromStr for Element {
    type Err = XmlError;

    /// Parses a single element with the default [`Limits`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_element(s.as_bytes(), &Limits::default())
    }
}
