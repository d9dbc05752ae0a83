//! Turning reader events into element trees.

use super::reader::XmlEvent;
use crate::element::Element;

/// Builds one element at a time from [`XmlEvent`]s.
///
/// Feed it the events of one element, from its start tag to its end tag; it returns the
/// element when the end tag arrives. Depth is already bounded by the reader's limits, so the
/// stack is too.
#[derive(Debug, Default)]
pub struct TreeBuilder {
    stack: Vec<Element>,
}

impl TreeBuilder {
    /// An idle builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether an element is under construction.
    pub fn is_building(&self) -> bool {
        !self.stack.is_empty()
    }

    /// Feeds one event; returns the element it completes, if any.
    ///
    /// Text and end tags arriving while nothing is under construction are ignored: deciding
    /// what they mean (whitespace between stanzas, the end of a stream) is the caller's job.
    pub fn feed(&mut self, event: XmlEvent) -> Option<Element> {
        match event {
            XmlEvent::Start { ns, name, attrs } => {
                self.stack.push(Element::from_parts(ns, name, attrs));
                None
            }
            XmlEvent::Text(text) => {
                if let Some(top) = self.stack.last_mut() {
                    top.append_text(text);
                }
                None
            }
            XmlEvent::End => {
                let done = self.stack.pop()?;
                match self.stack.last_mut() {
                    Some(parent) => {
                        parent.append_child(done);
                        None
                    }
                    None => Some(done),
                }
            }
            XmlEvent::Declaration => None,
        }
    }
}
