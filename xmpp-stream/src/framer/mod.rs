//! Bytes in, stream events out: the framer for XMPP over TCP (RFC 6120) and over WebSocket
//! (RFC 7395).
//!
//! The framer knows where stanzas begin and end and enforces the XML rules and limits; it knows
//! nothing about what stanzas mean. Negotiation (STARTTLS, SASL, bind) sits on top of it.

mod error;
pub(crate) mod header;
mod websocket;

pub use error::FrameError;
pub use header::StreamHeader;
pub use websocket::WebSocketFramer;

use xmpp_core::Element;
use xmpp_core::ns;
use xmpp_core::xml::{Limits, TreeBuilder, XmlEvent, XmlReader};

/// What the framer found in the input.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FrameEvent {
    /// The peer opened the stream (`<stream:stream …>`, or `<open/>` on WebSocket).
    StreamOpen(StreamHeader),
    /// One complete top-level element: a stanza or a nonza such as `<starttls/>` or `<r/>`.
    Element(Element),
    /// Whitespace between stanzas: a keep-alive.
    Whitespace,
    /// The peer closed the stream (`</stream:stream>`, or `<close/>` on WebSocket).
    StreamClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitingHeader,
    Open,
    Closed,
}

/// The framer for a TCP (or TLS) stream.
///
/// Feed it with [`Framer::poll_event`], which consumes bytes from the caller's buffer only up to
/// the end of the event it returns. That matters for STARTTLS: after `<starttls/>` the caller
/// can see exactly which bytes the peer pipelined behind it (RFC 6120 §5.4.3.3 and
/// security.md §1.4: those bytes must never reach the TLS layer or the next stream).
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    reader: XmlReader,
    tree: TreeBuilder,
    state: State,
    error: Option<FrameError>,
}

impl Framer {
    /// A framer awaiting a stream header.
    pub fn new(limits: Limits) -> Self {
        Self {
            reader: XmlReader::new(&limits, 1),
            limits,
            tree: TreeBuilder::new(),
            state: State::AwaitingHeader,
            error: None,
        }
    }

    /// Starts a new stream on the same connection, as after STARTTLS or SASL success (RFC 6120
    /// §4.3.3): a fresh parser, so nothing of the old stream's state survives.
    pub fn restart(&mut self) {
        *self = Self::new(self.limits);
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the peer has closed the stream.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the reader is between top-level elements (nothing half-read).
    pub fn is_idle(&self) -> bool {
        !self.tree.is_building()
    }

    /// Releases parser scratch buffers; for sessions expected to stay idle.
    pub fn release_temporaries(&mut self) {
        self.reader.release_temporaries();
    }

    /// Reads from `buf` until an event is complete or `buf` is used up (`Ok(None)`).
    ///
    /// Errors are sticky: once one is returned, every later call returns it again.
    pub fn poll_event(&mut self, buf: &mut &[u8]) -> Result<Option<FrameEvent>, FrameError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let result = self.poll_inner(buf);
        if let Err(e) = result {
            self.error = Some(e);
        }
        result
    }

    fn poll_inner(&mut self, buf: &mut &[u8]) -> Result<Option<FrameEvent>, FrameError> {
        loop {
            if self.state == State::Closed {
                // Anything after the close is not ours to read.
                *buf = &[];
                return Ok(None);
            }
            let Some(event) = self.reader.read(buf, false)? else {
                return Ok(None);
            };
            if let Some(frame) = self.handle_xml_event(event)? {
                return Ok(Some(frame));
            }
        }
    }

    fn handle_xml_event(&mut self, event: XmlEvent) -> Result<Option<FrameEvent>, FrameError> {
        let depth = self.reader.depth();
        match self.state {
            State::AwaitingHeader => match event {
                XmlEvent::Start { ns, name, attrs } => {
                    if ns.as_str() != ns::STREAM || name.as_str() != "stream" {
                        return Err(FrameError::InvalidNamespace);
                    }
                    self.state = State::Open;
                    let header = StreamHeader::from_parts(attrs, &self.reader.default_ns());
                    Ok(Some(FrameEvent::StreamOpen(header)))
                }
                // The declaration and whitespace before the header mean nothing; the reader
                // refuses an end tag before any start tag.
                _ => Ok(None),
            },
            State::Open => {
                if self.tree.is_building() {
                    return Ok(self.tree.feed(event).map(FrameEvent::Element));
                }
                match event {
                    XmlEvent::Start {
                        ref ns, ref name, ..
                    } => {
                        if ns.as_str() == ns::STREAM && name.as_str() == "stream" {
                            return Err(FrameError::NestedStream);
                        }
                        Ok(self.tree.feed(event).map(FrameEvent::Element))
                    }
                    XmlEvent::Text(text) => {
                        if text
                            .bytes()
                            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                        {
                            Ok(Some(FrameEvent::Whitespace))
                        } else {
                            Err(FrameError::TextAtStreamLevel)
                        }
                    }
                    XmlEvent::End if depth == 0 => {
                        self.state = State::Closed;
                        Ok(Some(FrameEvent::StreamClose))
                    }
                    _ => Ok(None),
                }
            }
            State::Closed => Ok(None),
        }
    }
}
