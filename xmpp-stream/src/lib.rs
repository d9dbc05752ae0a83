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
//! - [`c2s::Connection`]: the server side of a client stream on top of the framer: STARTTLS,
//!   SASL, XEP-0077 registration, resource binding, XEP-0198 stream management (acks that
//!   count only what the server has handled, the queue of unacknowledged stanzas, resumption
//!   on a new connection), XEP-0352 client state indication, and keep-alive pings.
//!
//! What it is not for: sockets, TLS or timers. The caller reads bytes from wherever it likes,
//! hands them over, and writes out what it is given; time is an input too.
#![warn(missing_docs)]

pub mod c2s;
pub mod framer;
pub mod write;

pub use c2s::{Connection, ConnectionConfig, Event, TlsPolicy};
pub use framer::{FrameError, FrameEvent, Framer, StreamHeader, WebSocketFramer};
pub use xmpp_core::xml::{Limit, Limits};
