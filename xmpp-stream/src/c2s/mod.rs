//! The server side of client-to-server stream negotiation (RFC 6120 §4–§7), sans-IO.
//!
//! A [`Connection`] is one client stream, from the first byte to the close: stream headers,
//! STARTTLS, SASL (through `xmpp-sasl`) with XEP-0077 in-band registration before it,
//! resource binding (or XEP-0198 resumption of an earlier session), then stanzas with
//! XEP-0198 stream management and XEP-0352 client state indication, with a negotiation
//! deadline and keep-alive pings. It takes bytes, the time and the driver's answers, and
//! gives bytes to write, [`Event`]s and the next deadline. The driver (the server binary)
//! owns the socket, the TLS layer, storage and the session registry (and so the sessions
//! waiting to be resumed).
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
//!         RegisterIq(iq)    => register (or refuse), conn.answer_register_iq(&reply)
//!         BindRequest       => pick the resource, conn.complete_bind(..)
//!         SmEnabled { resume } => register the resumption id for the account
//!         ResumeRequest { previd, .. } => find the old session, take its state,
//!                              conn.complete_resume(..)
//!         Stanza(el)        => route it (store what must be stored), conn.stanza_handled()
//!         ClientState { active } => adjust what the session sends
//!         Closed { .. }     => flush, close the socket; if conn.is_resumable(), keep
//!                              conn.take_sm_state() for a resumption, else deal with
//!                              its unacknowledged stanzas; stop
//!         ...
//!     }
//!     stanzas for the client: conn.send_serialized(..) or send_stanza(..), then
//!     conn.request_ack()
//!     re-arm the timer with conn.poll_timeout(); on expiry conn.handle_timeout(now)
//! }
//! ```
//!
//! A Direct TLS connection logging in with PLAIN, in memory:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use xmpp_sasl::{ChannelBindings, FixedRng, ScramHash, ServerConfig, StoredCredentials};
//! use xmpp_stream::c2s::{Connection, ConnectionConfig, Event, State};
//!
//! let sasl = Arc::new(ServerConfig::new(b"a long, stable, secret server key")?);
//! let config = Arc::new(ConnectionConfig::new(["example.org"], sasl)?);
//! let now = Instant::now();
//! // Direct TLS: encrypted from the start (a real TLS layer supplies binding data).
//! let rng = Box::new(FixedRng::new(1)); // SystemRng in production
//! let mut conn = Connection::new(config, Some(ChannelBindings::none()), rng, now);
//!
//! let mut input: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
//!     xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>\
//!     <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>\
//!     AGp1bGlldABwZW5jaWw=</auth>"; // \0juliet\0pencil
//! conn.handle_input(&mut input, now);
//! let header_and_features = conn.poll_transmit().expect("our header and features");
//! assert!(header_and_features.starts_with(b"<?xml version='1.0'?><stream:stream"));
//!
//! // The connection waits for storage.
//! let Some(Event::NeedCredentials { jid, hash, .. }) = conn.poll_event() else {
//!     unreachable!()
//! };
//! assert_eq!((jid.as_str(), hash), ("juliet@example.org", ScramHash::Sha256));
//! assert_eq!(conn.state(), State::AwaitingCredentials);
//! let record = StoredCredentials::derive(hash, "pencil", b"NaCl", 4096)?;
//! conn.provide_credentials(vec![record]);
//!
//! let success = conn.poll_transmit().expect("success");
//! assert_eq!(&success[..], b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
//! assert!(matches!(conn.poll_event(), Some(Event::Authenticated { .. })));
//! assert_eq!(conn.state(), State::AwaitingStreamHeader); // the client restarts the stream
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In-band registration (XEP-0077): [`Connection::offer_registration`], called right after
//! [`Connection::new`] with the driver's decision for this peer, adds `<register/>` to the
//! features that offer SASL. Whether offered or not, a registration request there (an IQ whose
//! payload is `<query xmlns='jabber:iq:register'/>`) is the one stanza an unauthenticated
//! client may send: it becomes [`Event::RegisterIq`], the connection waits in
//! [`State::AwaitingRegistration`] until [`Connection::answer_register_iq`], and the client
//! then authenticates with SASL on the same stream. A connection refused before anything is
//! read (a banned address) gets the bytes of [`refusal`].
//!
//! The security rules it enforces are in `dispatch.rs` and in security.md §1.4–§1.6: one
//! path through negotiation, no plaintext after `<starttls/>`, the same host across restarts,
//! nothing routed before authentication and binding (registration requests go to the driver,
//! never to the router, and only after TLS where TLS is required), a bounded number of SASL
//! attempts and of registration requests.

mod bind;
mod config;
mod connection;
mod dispatch;
mod event;
mod features;
mod header;
mod keepalive;
mod refuse;
mod register;
mod sasl;
mod sm;

pub use config::{
    ConfigError, ConnectionConfig, DEFAULT_MAX_AUTH_ATTEMPTS, DEFAULT_MAX_REGISTER_IQS,
    DEFAULT_NEGOTIATION_TIMEOUT, KeepaliveConfig, SmConfig, TlsPolicy,
};
pub use connection::{Connection, SendError};
pub use event::{Event, State};
pub use refuse::refusal;
pub use sm::{ResumeError, Resumed, Resumption, SmState};
