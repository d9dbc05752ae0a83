//! XMPP streams, sans-IO: bytes in, events out, with the limits a public server needs.
//!
//! What it is for:
//! - [`Framer`]: reads an RFC 6120 stream (over TCP or TLS) incrementally and returns the
//!   stream header, each top-level element, whitespace keep-alives and the stream's end. It
//!   enforces restricted XML (RFC 6120 §11) and the configured [`Limits`] while parsing, and its
//!   errors map to the stream error to close with.
//! - [`WebSocketFramer`]: the same for RFC 7395, one element per message.
//! - Writing what a server sends at stream level: the header, stream-namespace elements
//!   (`<stream:features>`, `<stream:error>`) and the close.
//!
//! What it is not for: sockets, TLS or timers. The caller reads bytes from wherever it likes,
//! hands them over, and writes out what it is given. Stream negotiation (STARTTLS, SASL,
//! resource binding) builds on the framer.
#![warn(missing_docs)]

pub mod c2s;
pub mod framer;
pub mod write;

pub use c2s::{Connection, ConnectionConfig, Event, TlsPolicy};
pub use framer::{FrameError, FrameEvent, Framer, StreamHeader, WebSocketFramer};
pub use xmpp_core::xml::{Limit, Limits};
