//! The server side of client-to-server stream negotiation (RFC 6120 §4–§7), sans-IO.
//!
//! A [`Connection`] is one client stream, from the first byte to the close: stream headers,
//! STARTTLS, SASL (through `xmpp-sasl`), resource binding, then stanzas, with a negotiation
//! deadline and keep-alive pings. It takes bytes, the time and the driver's answers, and gives
//! bytes to write, [`Event`]s and the next deadline. The driver (the server binary) owns the
//! socket, the TLS layer, storage and the session registry.
//!
//! A driver's loop, in outline:
//!
//! ```text
//! loop {
//!     read from the socket (or wait for the timer, or for a stanza to deliver)
//!     conn.handle_input(&mut unread, now)      // keep `unread` if the connection blocked
//!     while let Some(bytes) = conn.poll_transmit() { write them }
//!     while let Some(event) = conn.poll_event() {
//!         StartTls          => flush, run the TLS handshake, conn.handle_tls_established(..)
//!         NeedCredentials   => look up, conn.provide_credentials(..) / provide_no_such_user()
//!         BindRequest       => pick the resource, conn.complete_bind(..)
//!         Stanza(el)        => route it
//!         Closed { .. }     => flush, close the socket, stop
//!         ...
//!     }
//!     re-arm the timer with conn.poll_timeout(); on expiry conn.handle_timeout(now)
//! }
//! ```
//!
//! The security rules it enforces are in `dispatch.rs` and in security.md §1.4–§1.6: one
//! path through negotiation, no plaintext after `<starttls/>`, the same host across restarts,
//! nothing routed before authentication and binding, a bounded number of SASL attempts.

mod bind;
mod config;
mod connection;
mod dispatch;
mod event;
mod features;
mod header;
mod keepalive;
mod sasl;

pub use config::{
    ConfigError, ConnectionConfig, DEFAULT_MAX_AUTH_ATTEMPTS, DEFAULT_NEGOTIATION_TIMEOUT,
    KeepaliveConfig, TlsPolicy,
};
pub use connection::{Connection, SendError};
pub use event::{Event, State};
