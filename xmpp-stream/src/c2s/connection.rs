//! The connection object: its state, its inputs (`handle_*`), its outputs (`poll_*`) and its
//! getters. What each element means at each step is in `dispatch.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use xmpp_core::jid::{BareJid, FullJid};
use xmpp_core::stanza::{Stanza, StanzaNs};
use xmpp_core::{Element, StanzaError, StreamCondition, StreamError, ns};
use xmpp_sasl::{ChannelBindings, Rng, RngError, StoredCredentials};

use super::bind;
use super::config::ConnectionConfig;
use super::event::{Event, State};
use super::header;
use super::keepalive::{self, Expiry, Timers};
use super::register;
use super::sasl::Negotiation;
use super::sm::SmSession;
use crate::framer::Framer;
use crate::write::{write_close, write_element};

/// Where negotiation is. Sub-states (waiting for the driver, waiting for a header) are
/// derived from other fields; see [`Connection::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Before authentication (and, on a plaintext stream, possibly before TLS).
    Authenticating,
    /// `<proceed/>` sent; the driver runs the TLS handshake.
    AwaitingTls,
    /// Authenticated, no resource yet.
    Binding,
    /// Bound.
    Established,
    /// Over: inputs do nothing.
    Closed,
}

/// Why a stanza could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No resource is bound yet: a client may not receive stanzas before that.
    #[error("the stream has no bound resource yet")]
    NotBound,
    /// The stream is over; deliver the stanza some other way (offline storage, an error).
    #[error("the stream is closed")]
    Closed,
}

/// The server side of one client-to-server XMPP stream (RFC 6120), sans-IO: STARTTLS, SASL,
/// resource binding, then stanzas, with keep-alive pings and deadlines.
///
/// Shaped like `quinn-proto`'s `Connection`:
/// - **Inputs** (`handle_*`, plus the answers the driver owes): bytes from the socket
///   ([`handle_input`](Self::handle_input)), the end of a TLS handshake
///   ([`handle_tls_established`](Self::handle_tls_established)), stored credentials
///   ([`provide_credentials`](Self::provide_credentials)), the answer to a registration
///   request ([`answer_register_iq`](Self::answer_register_iq)), the bound JID
///   ([`complete_bind`](Self::complete_bind)), the answer to a resumption request
///   ([`complete_resume`](Self::complete_resume)), the time
///   ([`handle_timeout`](Self::handle_timeout)), stanzas to send
///   ([`send_stanza`](Self::send_stanza), [`send_element`](Self::send_element),
///   [`send_serialized`](Self::send_serialized)), the end of a batch of them
///   ([`request_ack`](Self::request_ack)), the confirmation that a received stanza was
///   handled ([`stanza_handled`](Self::stanza_handled)), and the end of the socket
///   ([`handle_peer_eof`](Self::handle_peer_eof)).
/// - **Outputs** (`poll_*`): after any input, drain [`poll_transmit`](Self::poll_transmit)
///   (bytes for the socket) and [`poll_event`](Self::poll_event) (what to act on), and re-arm
///   the timer with [`poll_timeout`](Self::poll_timeout).
///
/// - **Stream management** (XEP-0198, when configured): the client enables it after binding
///   ([`Event::SmEnabled`]) or resumes an old session instead of binding
///   ([`Event::ResumeRequest`], [`Event::Resumed`]). Stanzas are counted both ways; the
///   `h` the client sees counts only what the driver confirmed with
///   [`stanza_handled`](Self::stanza_handled) (ack means durable). What the client has not
///   acknowledged is kept, and when the stream ends the driver asks
///   [`is_resumable`](Self::is_resumable) and takes it with
///   [`take_sm_state`](Self::take_sm_state). XEP-0352 client state indication arrives as
///   [`Event::ClientState`].
///
/// Errors are sticky: once the stream is closed (by either side, or by a stream error), it
/// ends with [`Event::Closed`] and every later input does nothing. No input makes it panic.
pub struct Connection {
    pub(super) config: Arc<ConnectionConfig>,
    pub(super) rng: Box<dyn Rng + Send>,
    pub(super) framer: Framer,
    pub(super) stage: Stage,
    /// Whether the client's header of the current stream has arrived.
    pub(super) stream_open: bool,
    /// Whether our header of the current stream has been written.
    pub(super) header_sent: bool,
    /// The channel-binding data once the stream is encrypted.
    pub(super) tls: Option<ChannelBindings>,
    /// The hosted domain the first header asked for; restarts must ask for the same.
    pub(super) domain: Option<String>,
    pub(super) stream_id: Option<String>,
    pub(super) sasl: Negotiation,
    pub(super) account: Option<BareJid>,
    /// Whether the authentication features advertise XEP-0077 registration.
    pub(super) register_offered: bool,
    /// The id of the registration request waiting for [`Connection::answer_register_iq`].
    pub(super) pending_register: Option<String>,
    /// Registration requests handed to the driver on this connection.
    pub(super) register_iqs: u32,
    /// The bind request waiting for [`Connection::complete_bind`].
    pub(super) pending_bind: Option<Element>,
    pub(super) jid: Option<FullJid>,
    /// The `<resume/>` waiting for [`Connection::complete_resume`]: the id and the client's
    /// `h`.
    pub(super) pending_resume: Option<(String, u32)>,
    /// XEP-0198 state while stream management is on (or kept after a close, to be taken).
    // Boxed: 184 bytes that a connection without stream management would carry inline.
    pub(super) sm: Option<Box<SmSession>>,
    /// Whether stream management was enabled (or a stream resumed) on this stream: a second
    /// `<enable/>` is refused even after the state was taken.
    pub(super) sm_used: bool,
    /// [`Event::Stanza`]s emitted and not yet confirmed with
    /// [`Connection::stanza_handled`].
    pub(super) stanzas_out: u64,
    /// Whether the stream ended without a clean close: the socket's end, or an unanswered
    /// ping. Such a session may be resumed.
    pub(super) unclean_end: bool,
    pub(super) timers: Timers,
    pub(super) out: BytesMut,
    pub(super) events: VecDeque<Event>,
    /// Fallback ids if the random source ever fails, so a ping still goes out.
    pub(super) counter: u64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state())
            .field("domain", &self.domain)
            .field("stream_id", &self.stream_id)
            .field("encrypted", &self.tls.is_some())
            .field("account", &self.account)
            .field("jid", &self.jid)
            .field("sm", &self.sm.as_ref().map(|sm| &sm.state))
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection that has just been accepted, waiting for the client's stream header.
    ///
    /// `encrypted` is `Some` with the TLS layer's channel-binding data on a Direct TLS
    /// connection (XEP-0368), `None` on a plaintext socket. `rng` makes stream ids, ping ids
    /// and SCRAM nonces (`xmpp_sasl::SystemRng` in production). `now` starts the negotiation
    /// deadline.
    pub fn new(
        config: Arc<ConnectionConfig>,
        encrypted: Option<ChannelBindings>,
        rng: Box<dyn Rng + Send>,
        now: Instant,
    ) -> Self {
        Self {
            framer: Framer::new(*config.limits()),
            timers: Timers::new(
                now,
                config.negotiation_timeout(),
                config.keepalive().copied(),
            ),
            sasl: Negotiation::new(config.max_auth_attempts()),
            config,
            rng,
            stage: Stage::Authenticating,
            stream_open: false,
            header_sent: false,
            tls: encrypted,
            domain: None,
            stream_id: None,
            account: None,
            register_offered: false,
            pending_register: None,
            register_iqs: 0,
            pending_bind: None,
            jid: None,
            pending_resume: None,
            sm: None,
            sm_used: false,
            stanzas_out: 0,
            unclean_end: false,
            out: BytesMut::new(),
            events: VecDeque::new(),
            counter: 0,
        }
    }

    /// Whether to advertise XEP-0077 in-band registration
    /// (`<register xmlns='http://jabber.org/features/iq-register'/>`) with the SASL
    /// mechanisms; off by default. Call it right after [`new`](Self::new): the server decides
    /// per connection, by the peer's address, whether registration is open to it. Features
    /// already sent are not sent again.
    ///
    /// The feature is only advertised where registration requests are read: with SASL, so
    /// never before TLS on a listener that requires it. Requests arrive as
    /// [`Event::RegisterIq`] whether or not registration is offered (the driver answers
    /// `not-allowed` when it is closed), since a client may try without looking at features.
    pub fn offer_registration(&mut self, offer: bool) {
        self.register_offered = offer;
    }

    // --- Getters ---------------------------------------------------------------------------

    /// Where the connection is; the `Awaiting*` states wait for the driver.
    pub fn state(&self) -> State {
        match self.stage {
            Stage::Closed => State::Closed,
            Stage::AwaitingTls => State::AwaitingTls,
            _ if !self.stream_open => State::AwaitingStreamHeader,
            Stage::Authenticating if self.pending_register.is_some() => State::AwaitingRegistration,
            Stage::Authenticating if self.sasl.awaiting_credentials() => State::AwaitingCredentials,
            Stage::Authenticating => State::Authenticating,
            Stage::Binding if self.pending_bind.is_some() => State::AwaitingBind,
            Stage::Binding if self.pending_resume.is_some() => State::AwaitingResume,
            Stage::Binding => State::Binding,
            Stage::Established => State::Established,
        }
    }

    /// The bound address, once [`Event::Bound`] has been emitted.
    pub fn jid(&self) -> Option<&FullJid> {
        self.jid.as_ref()
    }

    /// The authenticated account, once [`Event::Authenticated`] has been emitted.
    pub fn account(&self) -> Option<&BareJid> {
        self.account.as_ref()
    }

    /// The hosted domain this stream is for, once the client's first header was accepted.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// Whether the stream is over.
    pub fn is_closed(&self) -> bool {
        self.stage == Stage::Closed
    }

    /// Whether registration is advertised, as set by
    /// [`offer_registration`](Self::offer_registration).
    pub fn registration_offered(&self) -> bool {
        self.register_offered
    }

    /// The id of the current stream (a new one after each restart).
    pub fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_deref()
    }

    /// Whether the stream runs over TLS (Direct TLS, or after STARTTLS).
    pub fn is_encrypted(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether the connection waits for the driver (credentials, a registration answer,
    /// bind, resumption, TLS) and reads no input meanwhile.
    pub fn is_blocked(&self) -> bool {
        matches!(
            self.state(),
            State::AwaitingCredentials
                | State::AwaitingRegistration
                | State::AwaitingBind
                | State::AwaitingResume
                | State::AwaitingTls
        )
    }

    // --- Inputs ----------------------------------------------------------------------------

    /// Bytes from the socket.
    ///
    /// Reads from `buf` until it is used up, or until the connection needs the driver
    /// ([`Event::NeedCredentials`], [`Event::RegisterIq`], [`Event::BindRequest`]): then it
    /// stops, leaving the unread rest in `buf`, to be handed in again after the driver's
    /// answer. After `<starttls/>` nothing may follow (security.md §1.4); after SASL success
    /// the rest belongs to the restarted stream and is read on. Once the stream is closed,
    /// `buf` is emptied unread.
    pub fn handle_input(&mut self, buf: &mut &[u8], now: Instant) {
        if self.stage == Stage::Closed {
            *buf = &[];
            return;
        }
        if buf.is_empty() || self.is_blocked_on_driver() {
            return;
        }
        if self.stage == Stage::AwaitingTls {
            // Plaintext after <proceed/>: a driver that read on, and bytes that could only be
            // an injection. The old stream ended with <proceed/>, and the new one has not
            // begun, so there is nothing to write: the connection just ends.
            self.finish(
                Some(
                    StreamError::new(StreamCondition::PolicyViolation)
                        .with_text(Some(self.config.lang()), "data before the TLS handshake"),
                ),
                false,
            );
            *buf = &[];
            return;
        }
        self.timers.note_input(now);
        while !buf.is_empty() && self.reads_input() {
            match self.framer.poll_event(buf) {
                Ok(Some(event)) => self.handle_frame(event, buf),
                Ok(None) => break,
                Err(e) => {
                    let condition = e
                        .condition()
                        .parse()
                        .unwrap_or(StreamCondition::NotWellFormed);
                    self.close(StreamError::new(condition));
                }
            }
        }
        if self.stage == Stage::Closed {
            *buf = &[];
        }
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded; `bindings` is what the TLS layer
    /// can provide for channel binding. The client now sends a new stream header. Ignored in
    /// any other state.
    pub fn handle_tls_established(&mut self, bindings: ChannelBindings, now: Instant) {
        if self.stage != Stage::AwaitingTls {
            return;
        }
        self.tls = Some(bindings);
        self.stage = Stage::Authenticating;
        self.restart_stream();
        self.timers.note_input(now);
    }

    /// The answer to [`Event::NeedCredentials`]: the account's stored records (any hashes;
    /// the one needed is picked, and a missing one counts as an unknown user). Ignored when
    /// nothing was asked.
    pub fn provide_credentials(&mut self, records: Vec<StoredCredentials>) {
        self.answer_credentials(Some(records));
    }

    /// The answer to [`Event::NeedCredentials`]: there is no such account. The exchange goes
    /// on with made-up data and fails exactly like a wrong password (RFC 6120 §13.11).
    pub fn provide_no_such_user(&mut self) {
        self.answer_credentials(None);
    }

    /// The answer to [`Event::RegisterIq`]: the reply the driver built, written as it is.
    /// The connection then reads input again (hand it the unread rest).
    ///
    /// `reply` must be an `<iq/>` in `jabber:client` of type `result` or `error` with the
    /// request's `id`. Anything else is a driver bug that would put an unrelated element, or
    /// a second answer, on an unauthenticated stream: it is not written, and the stream is
    /// closed with `internal-server-error` (the client may reconnect), rather than left
    /// waiting for an answer that would only come at the negotiation deadline. Ignored when
    /// no request waits (the stream closed meanwhile, or the request was answered).
    pub fn answer_register_iq(&mut self, reply: &Element) {
        if self.stage != Stage::Authenticating {
            return;
        }
        let Some(id) = self.pending_register.take() else {
            return;
        };
        if register::is_reply_to(reply, &id) {
            self.write(reply);
        } else {
            self.close(
                StreamError::new(StreamCondition::InternalServerError)
                    .with_text(Some(self.config.lang()), "invalid registration reply"),
            );
        }
    }

    /// The answer to [`Event::BindRequest`]: the full JID chosen for the session (its bare
    /// part must be the authenticated account), or the error for the client (`conflict`,
    /// `resource-constraint`, `not-allowed`, ...) after which it may try again. Ignored when
    /// nothing was asked.
    ///
    /// A second login that takes over a resource is decided by the driver: it closes the
    /// *old* connection with [`close`](Self::close) and `conflict`, and binds the new one.
    pub fn complete_bind(&mut self, result: Result<FullJid, StanzaError>) {
        if self.stage != Stage::Binding {
            return;
        }
        let Some(request) = self.pending_bind.take() else {
            return;
        };
        match result {
            Ok(jid) => {
                if Some(&jid.to_bare()) != self.account.as_ref() {
                    // A driver bug, but one that would hand the session another identity.
                    self.close(
                        StreamError::new(StreamCondition::InternalServerError)
                            .with_text(Some(self.config.lang()), "bound to another account"),
                    );
                    return;
                }
                self.write(&bind::result(&request, &jid));
                self.jid = Some(jid.clone());
                self.stage = Stage::Established;
                self.timers.bound();
                self.events.push_back(Event::Bound { jid });
            }
            Err(error) => self.write(&bind::error(&request, error)),
        }
    }

    /// The timer from [`poll_timeout`](Self::poll_timeout) fired (or any time: early calls
    /// do nothing). Closes with `connection-timeout` when negotiation took too long or a
    /// ping went unanswered, and sends a ping when the client has been quiet.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stage == Stage::Closed {
            return;
        }
        match self.timers.expiry(now) {
            Expiry::Nothing => {}
            Expiry::TimedOut => {
                // A client that stopped answering is gone, not done: its session may be
                // resumed (XEP-0198 §7).
                self.unclean_end = true;
                self.close(StreamError::new(StreamCondition::ConnectionTimeout));
            }
            Expiry::Ping => self.send_ping(now),
        }
    }

    /// The socket is gone without `</stream:stream>`: the peer closed it (EOF), or reading or
    /// writing failed. Nothing can be written any more. The stream did not end cleanly, so
    /// its session may be resumed ([`is_resumable`](Self::is_resumable)).
    pub fn handle_peer_eof(&mut self) {
        if self.stage != Stage::Closed {
            self.unclean_end = true;
            self.finish(None, true);
        }
    }

    /// Sends a stanza to the bound client, serialised in `jabber:client` (a stanza in that
    /// namespace carries no `xmlns`). With stream management on it is counted and kept
    /// until the client acknowledges it; past [`SmConfig::max_unacked`](super::SmConfig)
    /// it is not sent: the stream closes with `policy-violation` and this returns
    /// [`SendError::Closed`].
    pub fn send_element(&mut self, element: &Element) -> Result<(), SendError> {
        self.check_sendable()?;
        self.write_stanza(element)
    }

    /// Sends a stanza to the bound client; a stanza from another stream's namespace
    /// (`jabber:server`) is moved into `jabber:client` first.
    pub fn send_stanza(&mut self, stanza: &Stanza) -> Result<(), SendError> {
        if stanza.ns() == StanzaNs::Client {
            self.send_element(stanza.element())
        } else {
            let mut moved = stanza.clone();
            moved.set_ns(StanzaNs::Client);
            self.send_element(moved.element())
        }
    }

    /// Closes the stream with `error`: `<stream:error/>` and `</stream:stream>` (preceded by
    /// our header if none was sent yet, RFC 6120 §4.9.1.2), then [`Event::Closed`]. Used by
    /// the driver too, for instance with `conflict` on a session replaced by a new login, or
    /// `system-shutdown`. Does nothing on a closed stream.
    pub fn close(&mut self, error: StreamError) {
        if self.stage == Stage::Closed {
            return;
        }
        // Between <proceed/> and the TLS handshake there is no XML stream to write into.
        if self.stage != Stage::AwaitingTls {
            if !self.header_sent {
                let id = self.random_id();
                self.write_header(&id);
            }
            self.write(&error.to_element());
            write_close(&mut self.out);
        }
        self.finish(Some(error), false);
    }

    // --- Outputs ---------------------------------------------------------------------------

    /// Bytes to write to the socket, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due; `None` when no timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stage == Stage::Closed {
            None
        } else {
            self.timers.next_deadline()
        }
    }

    // --- Helpers for the driver ------------------------------------------------------------

    /// Gives back memory that only active streams need: the parser's scratch buffers and the
    /// spare capacity of the output buffer. For a driver about to wait on an idle socket; the
    /// buffers come back on the next input or output.
    pub fn release_temporaries(&mut self) {
        self.framer.release_temporaries();
        if self.out.is_empty() {
            // After `split()` the empty buffer still owns the spare capacity of the whole
            // allocation the written bytes came from; drop it rather than keep it while idle.
            self.out = BytesMut::new();
        }
    }

    /// A random resourcepart for a client that asked for none (RFC 6120 §7.6.2.1), from the
    /// connection's random source.
    pub fn generate_resource(&mut self) -> Result<String, RngError> {
        let mut bytes = [0u8; 8];
        self.rng.fill_bytes(&mut bytes)?;
        Ok(hex(&bytes))
    }

    // --- Internals shared with dispatch ----------------------------------------------------

    /// Whether a stanza may go to the client now.
    pub(super) fn check_sendable(&self) -> Result<(), SendError> {
        match self.stage {
            Stage::Established => Ok(()),
            Stage::Closed => Err(SendError::Closed),
            _ => Err(SendError::NotBound),
        }
    }

    fn is_blocked_on_driver(&self) -> bool {
        matches!(
            self.state(),
            State::AwaitingCredentials
                | State::AwaitingRegistration
                | State::AwaitingBind
                | State::AwaitingResume
        )
    }

    /// Whether the input loop goes on: the stream is open for reading and nobody waits.
    fn reads_input(&self) -> bool {
        matches!(
            self.stage,
            Stage::Authenticating | Stage::Binding | Stage::Established
        ) && !self.is_blocked_on_driver()
    }

    fn answer_credentials(&mut self, records: Option<Vec<StoredCredentials>>) {
        if self.stage != Stage::Authenticating {
            return;
        }
        let domain = self.domain.clone().unwrap_or_default();
        if let Some(step) = self.sasl.provide_credentials(records, &domain) {
            self.apply_sasl(step);
        }
    }

    /// A new stream on the same connection (after STARTTLS or SASL success): a fresh parser
    /// and a new header exchange. Nothing read before the restart survives it.
    pub(super) fn restart_stream(&mut self) {
        self.framer.restart();
        self.stream_open = false;
        self.header_sent = false;
    }

    /// Ends the connection: no more input, one [`Event::Closed`].
    pub(super) fn finish(&mut self, error: Option<StreamError>, by_peer: bool) {
        self.stage = Stage::Closed;
        self.pending_bind = None;
        self.pending_register = None;
        self.pending_resume = None;
        self.sasl.reset();
        self.events.push_back(Event::Closed { error, by_peer });
    }

    pub(super) fn write(&mut self, element: &Element) {
        write_element(&mut self.out, element, ns::JABBER_CLIENT);
    }

    /// Writes our stream header with `id`.
    pub(super) fn write_header(&mut self, id: &str) {
        header::response(self.domain.as_deref(), id, self.config.lang()).write_open(&mut self.out);
        self.header_sent = true;
        self.stream_id = Some(id.to_owned());
    }

    /// A random id (128 bits, hex); a counter if the random source fails, which no peer can
    /// cause.
    pub(super) fn random_id(&mut self) -> String {
        let mut bytes = [0u8; 16];
        if self.rng.fill_bytes(&mut bytes).is_ok() {
            hex(&bytes)
        } else {
            self.counter = self.counter.wrapping_add(1);
            format!("c{}", self.counter)
        }
    }

    fn send_ping(&mut self, now: Instant) {
        let (Some(jid), Some(domain)) = (self.jid.clone(), self.domain.clone()) else {
            return;
        };
        let id = format!("ping-{}", self.random_id());
        self.write_ping(&keepalive::ping(&id, &domain, &jid));
        self.timers.ping_sent(id, now);
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
