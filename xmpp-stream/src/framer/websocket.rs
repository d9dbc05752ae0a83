//! RFC 7395 framing: one element per WebSocket message, `<open/>` and `<close/>` instead of a
//! stream root.

use xmpp_core::ns;
use xmpp_core::xml::{Limits, TreeBuilder, XmlError, XmlReader};

use super::header::StreamHeader;
use super::{FrameError, FrameEvent};

/// The framer for XMPP over WebSocket.
///
/// Each text message is parsed on its own with a fresh reader (ARCHITECTURE.md "sharp edges":
/// a message is a complete document, so no parser state may leak from one to the next).
#[derive(Debug)]
pub struct WebSocketFramer {
    limits: Limits,
    opened: bool,
    closed: bool,
    error: Option<FrameError>,
}

impl WebSocketFramer {
    /// A framer awaiting `<open/>`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            opened: false,
            closed: false,
            error: None,
        }
    }

    /// Starts a new stream after SASL success (the client sends a new `<open/>`).
    pub fn restart(&mut self) {
        *self = Self::new(self.limits);
    }

    /// Whether the peer has sent `<close/>`.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Handles one complete WebSocket text message. Errors are sticky.
    pub fn handle_message(&mut self, message: &[u8]) -> Result<FrameEvent, FrameError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let result = self.handle_inner(message);
        if let Err(e) = result {
            self.error = Some(e);
        }
        result
    }

    fn handle_inner(&mut self, message: &[u8]) -> Result<FrameEvent, FrameError> {
        if message.len() > self.limits.max_element_bytes {
            return Err(XmlError::Limit(xmpp_core::xml::Limit::ElementBytes).into());
        }
        if message
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Ok(FrameEvent::Whitespace);
        }
        let mut reader = XmlReader::new(&self.limits, 0);
        let mut tree = TreeBuilder::new();
        let mut buf = message;
        let mut element = None;
        while let Some(event) = reader.read(&mut buf, true)? {
            if let Some(done) = tree.feed(event) {
                if element.is_some() {
                    return Err(FrameError::NotOneElement);
                }
                element = Some(done);
            }
        }
        let element = element.ok_or(FrameError::NotOneElement)?;

        if element.ns() == ns::FRAMING {
            match element.name() {
                "open" => {
                    self.opened = true;
                    let attrs = element.attributes().to_vec();
                    return Ok(FrameEvent::StreamOpen(StreamHeader::from_parts(
                        attrs,
                        &xmpp_core::element::Namespace::NONE,
                    )));
                }
                "close" => {
                    self.closed = true;
                    return Ok(FrameEvent::StreamClose);
                }
                _ => {}
            }
        }
        if !self.opened {
            return Err(FrameError::InvalidNamespace);
        }
        if element.is("stream", ns::STREAM) {
            return Err(FrameError::NestedStream);
        }
        Ok(FrameEvent::Element(element))
    }
}
