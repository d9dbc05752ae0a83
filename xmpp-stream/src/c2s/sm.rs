//! XEP-0198 stream management (`urn:xmpp:sm:3`) on the server side of a client stream:
//! counting stanzas both ways, answering and sending acks, keeping what the client has not
//! acknowledged, and resuming a session on a new connection.
//!
//! Counting follows "ack means durable" (ARCHITECTURE.md principle 7): a stanza from the
//! client counts as handled only when the driver says so with
//! [`Connection::stanza_handled`], after it has stored or answered it. An `<r/>` that arrives
//! while the driver still works on earlier stanzas is answered as soon as it has caught up
//! with the count the `<r/>` saw, never with a count that includes stanzas still in flight.
//!
//! Stanzas the connection answers itself (replies to its pings, the legacy session IQ, a
//! second bind) count too, in their place in the sequence: they are handled when every
//! stanza before them is.
//!
//! Counters are 64-bit inside, so they never wrap in practice; the wire carries them modulo
//! 2^32 as XEP-0198 §4 says, and acks from the client are read modulo 2^32 against the
//! window of unacknowledged stanzas.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use xmpp_core::jid::FullJid;
use xmpp_core::{Element, StanzaCondition, StreamCondition, StreamError, ns};

use super::connection::{Connection, SendError, Stage};
use super::event::Event;
use crate::write::write_element;

/// `<r/>`s waiting for the driver before their `<a/>` can go out. A client has no reason to
/// send more than one or two before an answer; past this many, the newest request replaces
/// the one before it (their answers would carry nearly the same count), so a flood of `<r/>`
/// costs no memory. The client then gets one `<a/>` fewer than it asked for.
const MAX_PENDING_ACKS: usize = 16;

/// What a client needs to resume a session: the id it names in `<resume previd='…'/>`, and
/// how long the server keeps the session for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumption {
    /// The SM-ID given to the client in `<enabled id='…'/>`: 128 random bits, hex. The driver
    /// registers it for the authenticated account, and only looks it up for that account
    /// (XEP-0198's security considerations: no resumption across accounts).
    pub id: String,
    /// How long the session may wait for a new connection (the `max` of `<enabled/>`).
    pub timeout: Duration,
}

/// The stream-management state of one session: counters both ways and the stanzas the
/// client has not acknowledged. It moves from a connection that dropped
/// ([`Connection::take_sm_state`]) to the one that resumes it
/// ([`Connection::complete_resume`]), possibly across tasks; it holds `Bytes`, so moving or
/// cloning it copies no stanza.
#[derive(Clone, PartialEq, Eq)]
pub struct SmState {
    /// Stanzas sent since SM was enabled.
    sent: u64,
    /// Sent and not acknowledged, oldest first: the last `unacked.len()` of `sent`. `None`
    /// marks one of the connection's own keep-alive pings: counted (the client counts it),
    /// but neither re-sent nor handed over.
    unacked: VecDeque<Option<Bytes>>,
    /// Stanzas from the client since SM was enabled.
    received: u64,
    /// Of those, the ones the driver (or the connection) has handled.
    handled: u64,
    resumption: Option<Resumption>,
}

impl std::fmt::Debug for SmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmState")
            .field("sent", &self.sent)
            .field("unacked", &self.unacked.len())
            .field("received", &self.received)
            .field("handled", &self.handled)
            .field("resumption", &self.resumption)
            .finish()
    }
}

impl SmState {
    fn new(resumption: Option<Resumption>) -> Self {
        Self {
            sent: 0,
            unacked: VecDeque::new(),
            received: 0,
            handled: 0,
            resumption,
        }
    }

    /// The stanzas the client has not acknowledged, oldest first, as they were written
    /// (`jabber:client` without `xmlns`). The connection's own keep-alive pings are left out.
    /// On resumption these are written again; when the session ends for good, the driver
    /// treats them as stanzas for an unavailable resource (XEP-0198 §4).
    pub fn unacked(&self) -> impl Iterator<Item = &Bytes> {
        self.unacked.iter().flatten()
    }

    /// The unacknowledged stanzas (as [`unacked`](Self::unacked)), taking them out.
    pub fn into_unacked(self) -> Vec<Bytes> {
        self.unacked.into_iter().flatten().collect()
    }

    /// How many stanzas are unacknowledged, the connection's own pings included.
    pub fn unacked_count(&self) -> usize {
        self.unacked.len()
    }

    /// Stanzas from the client the driver has handled: the `h` of the server's `<a/>` and
    /// `<resumed/>` (modulo 2^32).
    pub fn handled_inbound(&self) -> u32 {
        wire(self.handled)
    }

    /// Stanzas received from the client, handled or not (modulo 2^32).
    pub fn received_inbound(&self) -> u32 {
        wire(self.received)
    }

    /// Stanzas sent to the client, pings included (modulo 2^32).
    pub fn sent(&self) -> u32 {
        wire(self.sent)
    }

    /// Stanzas the client has acknowledged (modulo 2^32).
    pub fn acked(&self) -> u32 {
        wire(self.acked_count())
    }

    /// The id and timeout of resumption, when the client asked for it and it was granted.
    pub fn resumption(&self) -> Option<&Resumption> {
        self.resumption.as_ref()
    }

    fn acked_count(&self) -> u64 {
        // `unacked` only ever holds stanzas counted in `sent`.
        self.sent - self.unacked.len() as u64
    }

    /// The client's `h`: drops what it acknowledges. `h` is modulo 2^32 and must lie between
    /// what was acknowledged before and what was sent; anything else (higher than sent, or
    /// going backwards) is `Err`, with the send count to report.
    fn ack(&mut self, h: u32) -> Result<(), HandledCountTooHigh> {
        let newly = u64::from(h.wrapping_sub(wire(self.acked_count())));
        if newly > self.unacked.len() as u64 {
            return Err(HandledCountTooHigh {
                h,
                send_count: wire(self.sent),
            });
        }
        // `newly` is at most the queue's length, a usize.
        self.unacked
            .drain(..usize::try_from(newly).unwrap_or(usize::MAX));
        Ok(())
    }
}

/// The low 32 bits of a counter: the wire's `h` (XEP-0198 §4 wraps at 2^32).
#[allow(clippy::cast_possible_truncation)]
fn wire(count: u64) -> u32 {
    count as u32
}

/// A client's `h` beyond what it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HandledCountTooHigh {
    h: u32,
    send_count: u32,
}

impl HandledCountTooHigh {
    /// XEP-0198 §6: `undefined-condition` with `<handled-count-too-high/>`.
    pub(super) fn stream_error(self, lang: &str) -> StreamError {
        StreamError::new(StreamCondition::UndefinedCondition)
            .with_app_condition(
                Element::new("handled-count-too-high", ns::SM)
                    .with_attr("h", self.h.to_string())
                    .with_attr("send-count", self.send_count.to_string()),
            )
            .with_text(Some(lang), "acknowledged more stanzas than were sent")
    }
}

/// The driver's answer to [`Event::ResumeRequest`](super::Event::ResumeRequest) when it
/// resumes the session: the session's address and its state, taken from the connection it
/// had ([`Connection::take_sm_state`]).
#[derive(Debug, Clone)]
pub struct Resumed {
    /// The session's full JID; its bare part must be the account authenticated on this
    /// connection.
    pub jid: FullJid,
    /// The session's stream-management state.
    pub state: SmState,
}

impl Resumed {
    /// The answer for the session `jid` with `state`.
    pub fn new(jid: FullJid, state: SmState) -> Self {
        Self { jid, state }
    }
}

/// The driver's answer to [`Event::ResumeRequest`](super::Event::ResumeRequest) when it
/// cannot resume: the client gets `<failed/>` and may bind a resource on the same stream
/// (XEP-0198 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// No session of this account has that id (never had, already resumed elsewhere, or
    /// forgotten): `<failed><item-not-found/></failed>`.
    #[error("no session to resume")]
    NotFound,
    /// The session timed out, and how many of the client's stanzas it handled is still
    /// known: `<failed h='…'><item-not-found/></failed>`, so the client knows which of its
    /// stanzas arrived.
    #[error("the session timed out")]
    Expired {
        /// Stanzas from the client the old session handled (modulo 2^32).
        handled: u32,
    },
}

/// The stream-management side of an established connection: the state and what only
/// lives while a connection runs.
#[derive(Debug)]
pub(super) struct SmSession {
    pub(super) state: SmState,
    /// Driver stanzas ([`Event::Stanza`]) from before SM was enabled, still unconfirmed:
    /// their [`Connection::stanza_handled`] calls count for nothing here.
    uncounted: u64,
    /// Sequence numbers of stanzas the connection handled itself while the driver still had
    /// earlier ones; each is handled once everything before it is. Increasing; never holds
    /// `handled + 1` (that one is the driver's).
    self_handled: VecDeque<u64>,
    /// The received count each waiting `<r/>` saw, in order.
    pending_acks: VecDeque<u64>,
    /// Whether an `<r/>` of ours waits for the client's `<a/>`.
    ack_requested: bool,
    /// The most unacknowledged stanzas allowed.
    max_unacked: usize,
}

impl SmSession {
    fn new(state: SmState, uncounted: u64, max_unacked: usize) -> Self {
        Self {
            state,
            uncounted,
            self_handled: VecDeque::new(),
            pending_acks: VecDeque::new(),
            ack_requested: false,
            max_unacked,
        }
    }

    /// The `h` the connection sends.
    fn h(&self) -> u32 {
        wire(self.state.handled)
    }

    /// A stanza for the driver arrived.
    fn received_for_driver(&mut self) {
        self.state.received += 1;
    }

    /// A stanza the connection answers itself arrived; returns how many `<a/>` are due.
    fn received_self_handled(&mut self) -> usize {
        self.state.received += 1;
        if self.state.handled + 1 == self.state.received {
            self.state.handled += 1;
            self.acks_due()
        } else {
            self.self_handled.push_back(self.state.received);
            0
        }
    }

    /// The driver handled its oldest stanza; returns how many `<a/>` are due.
    fn driver_handled(&mut self) -> usize {
        if self.uncounted > 0 {
            self.uncounted -= 1;
            return 0;
        }
        if self.state.handled >= self.state.received {
            // More confirmations than stanzas: a driver bug, and h must never run ahead.
            return 0;
        }
        self.state.handled += 1;
        while self.self_handled.front() == Some(&(self.state.handled + 1)) {
            self.self_handled.pop_front();
            self.state.handled += 1;
        }
        self.acks_due()
    }

    /// An `<r/>` arrived: `true` when it can be answered now, else it waits.
    fn request(&mut self) -> bool {
        if self.state.handled >= self.state.received {
            return true;
        }
        if self.pending_acks.len() == MAX_PENDING_ACKS {
            // Coalesce: the newest count replaces the one before (see MAX_PENDING_ACKS).
            self.pending_acks.pop_back();
        }
        self.pending_acks.push_back(self.state.received);
        false
    }

    fn acks_due(&mut self) -> usize {
        let mut due = 0;
        while self
            .pending_acks
            .front()
            .is_some_and(|&target| target <= self.state.handled)
        {
            self.pending_acks.pop_front();
            due += 1;
        }
        due
    }

    /// An `<a/>` from the client.
    fn ack(&mut self, h: u32) -> Result<(), HandledCountTooHigh> {
        self.ack_requested = false;
        self.state.ack(h)
    }

    /// Whether one more stanza may be queued.
    fn has_room(&self) -> bool {
        self.state.unacked.len() < self.max_unacked
    }

    /// A stanza goes out (after [`has_room`](Self::has_room)).
    fn push(&mut self, stanza: Option<Bytes>) {
        self.state.sent += 1;
        self.state.unacked.push_back(stanza);
    }
}

/// What `<enable/>` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Enable {
    resume: bool,
    /// The client's preferred resumption time in seconds.
    max: Option<u64>,
}

/// Reads `<enable/>`: `resume` is an `xs:boolean`, `max` an `xs:positiveInteger` (the
/// XEP-0198 schema); anything else there is a `bad-request`.
fn parse_enable(el: &Element) -> Option<Enable> {
    let resume = match el.attr("resume") {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return None,
    };
    let max = match el.attr("max") {
        None => None,
        Some(s) if is_digits(s) => {
            // Larger than any u64 is still "a very long time": the configured maximum wins.
            let max = s.parse::<u64>().unwrap_or(u64::MAX);
            if max == 0 {
                return None;
            }
            Some(max)
        }
        Some(_) => return None,
    };
    Some(Enable { resume, max })
}

/// Reads an `h` attribute: an `xs:unsignedInt`, plain decimal digits.
fn parse_h(value: Option<&str>) -> Option<u32> {
    value.filter(|s| is_digits(s))?.parse().ok()
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `<failed xmlns='urn:xmpp:sm:3' [h='…']><condition/></failed>` (XEP-0198 §6: a stanza
/// error condition).
fn failed(condition: &StanzaCondition, h: Option<u32>) -> Element {
    let mut el = Element::new("failed", ns::SM)
        .with_child(Element::new(condition.as_str(), ns::XMPP_STANZAS));
    if let Some(h) = h {
        el.set_attr("h", h.to_string());
    }
    el
}

fn ack_element(h: u32) -> Element {
    Element::new("a", ns::SM).with_attr("h", h.to_string())
}

impl Connection {
    // --- Inputs from the driver ------------------------------------------------------------

    /// The driver has handled the oldest [`Event::Stanza`] it had not confirmed yet: routed
    /// it, stored what needed storing, or answered it with an error. Call it once per
    /// `Event::Stanza`, in order, whether or not stream management is on (stanzas from before
    /// `<enable/>` are told apart). Only handled stanzas count in the `h` the client sees
    /// (ack means durable), so an `<r/>` that arrived meanwhile is answered from here once
    /// its count is reached.
    ///
    /// Also counts on a closed connection (nothing is written then), so that a state taken
    /// afterwards ([`take_sm_state`](Self::take_sm_state)) carries the right count: handle
    /// every `Event::Stanza` before taking it. Extra calls do nothing.
    pub fn stanza_handled(&mut self) {
        if self.stanzas_out == 0 {
            return;
        }
        self.stanzas_out -= 1;
        let due = match &mut self.sm {
            Some(sm) => sm.driver_handled(),
            None => 0,
        };
        self.write_acks(due);
    }

    /// Asks the client to acknowledge what it was sent (`<r xmlns='urn:xmpp:sm:3'/>`), when
    /// stream management is on, something is unacknowledged and no request of ours is
    /// already waiting for its `<a/>`. Call it after writing a batch of stanzas.
    pub fn request_ack(&mut self) {
        if self.stage != Stage::Established {
            return;
        }
        let Some(sm) = &mut self.sm else {
            return;
        };
        if sm.state.unacked.is_empty() || sm.ack_requested {
            return;
        }
        sm.ack_requested = true;
        self.write(&Element::new("r", ns::SM));
    }

    /// The answer to [`Event::ResumeRequest`]. Ignored when no request waits, except that
    /// the state of an `Ok` is then kept for [`take_sm_state`](Self::take_sm_state) (the
    /// stream may have closed while the driver looked the session up; nothing it holds may
    /// be lost).
    ///
    /// - `Ok`: the session's bare JID must be the authenticated account and its state must
    ///   carry the requested id, or the stream closes with `internal-server-error` (a driver
    ///   bug that would hand the client another session). A client `h` beyond what the old
    ///   session sent closes it with `undefined-condition` and `<handled-count-too-high/>`
    ///   (XEP-0198 §6; `h` is read as on an `<a/>`, §5). Otherwise what the client
    ///   acknowledges is dropped, `<resumed previd='…' h='…'/>` goes out with the handled
    ///   count of the old session, then every stanza still unacknowledged is written again
    ///   (it stays queued under its old number), and the stream is established with
    ///   [`Event::Resumed`]: as after binding, with stream management on, the same
    ///   resumption id and timeout, and keep-alive pings.
    /// - `Err`: `<failed><item-not-found/></failed>` (with `h` for
    ///   [`ResumeError::Expired`]); the client may bind a resource instead.
    ///
    /// When the stream closes this way, the state stays in the connection for
    /// [`take_sm_state`](Self::take_sm_state), and its stanzas must be dealt with as for any
    /// session that ends.
    pub fn complete_resume(&mut self, result: Result<Resumed, ResumeError>) {
        let pending = if self.stage == Stage::Binding {
            self.pending_resume.take()
        } else {
            None
        };
        let Some((previd, h)) = pending else {
            if let Ok(resumed) = result
                && self.sm.is_none()
            {
                self.sm = Some(Box::new(self.sm_session(resumed.state, 0)));
            }
            return;
        };
        let Resumed { jid, state } = match result {
            Ok(resumed) => resumed,
            Err(error) => {
                let h = match error {
                    ResumeError::Expired { handled } => Some(handled),
                    ResumeError::NotFound => None,
                };
                self.write(&failed(&StanzaCondition::ItemNotFound, h));
                return;
            }
        };
        let right_id = state.resumption.as_ref().is_some_and(|r| r.id == previd);
        let mut session = self.sm_session(state, 0);
        // The resumed stream's inbound count goes on from what the old one handled: the
        // client re-sends what it had not seen acknowledged.
        session.state.received = session.state.handled;
        if Some(&jid.to_bare()) != self.account.as_ref() || !right_id {
            self.sm = Some(Box::new(session));
            self.close(
                StreamError::new(StreamCondition::InternalServerError)
                    .with_text(Some(self.config.lang()), "resumed another session"),
            );
            return;
        }
        let acked = session.ack(h);
        let h_out = session.h();
        self.sm = Some(Box::new(session));
        if let Err(too_high) = acked {
            self.close(too_high.stream_error(self.config.lang()));
            return;
        }
        self.sm_used = true;
        self.write(
            &Element::new("resumed", ns::SM)
                .with_attr("previd", previd)
                .with_attr("h", h_out.to_string()),
        );
        if let Some(sm) = &self.sm {
            for stanza in sm.state.unacked() {
                self.out.extend_from_slice(stanza);
            }
        }
        self.jid = Some(jid.clone());
        self.stage = Stage::Established;
        self.timers.bound();
        self.events.push_back(Event::Resumed { jid });
    }

    /// Sends a stanza that is already serialised for this stream: in `jabber:client`, without
    /// an `xmlns` of its own (as [`send_element`](Self::send_element) writes it), for
    /// stanzas serialised once and fanned out (ARCHITECTURE.md principle 6). Its bytes are
    /// copied into the output (so that a batch goes out in one write); with stream management
    /// on, the unacknowledged queue keeps `stanza` itself, not a copy.
    ///
    /// The bytes are written as they are: they must be one complete stanza the server built.
    pub fn send_serialized(&mut self, stanza: Bytes) -> Result<(), SendError> {
        self.check_sendable()?;
        self.make_room()?;
        self.out.extend_from_slice(&stanza);
        if let Some(sm) = &mut self.sm {
            sm.push(Some(stanza));
        }
        Ok(())
    }

    // --- Getters ---------------------------------------------------------------------------

    /// Whether the session may be resumed on another connection: stream management is on
    /// with resumption, and the stream has not ended cleanly. True while the stream is open,
    /// and after it was cut (the socket's end or error, [`handle_peer_eof`](Self::handle_peer_eof)),
    /// or closed with `connection-timeout` because a ping went unanswered. False after the
    /// client's `</stream:stream>` or stream error (it ended its session, XEP-0198 §7), after
    /// any other stream error the server sent (`conflict`, `policy-violation`,
    /// `system-shutdown`, ...), and once the state was taken.
    pub fn is_resumable(&self) -> bool {
        let has_resumption = self
            .sm
            .as_ref()
            .is_some_and(|sm| sm.state.resumption.is_some());
        has_resumption && (self.stage != Stage::Closed || self.unclean_end)
    }

    /// The stream-management state, while it is on (or kept after the stream closed).
    pub fn sm_state(&self) -> Option<&SmState> {
        self.sm.as_ref().map(|sm| &sm.state)
    }

    /// Moves the stream-management state out, to resume the session elsewhere or to deal
    /// with its unacknowledged stanzas. Usually after [`Event::Closed`]; at any time, stream
    /// management is off on this connection afterwards (stanzas are no longer counted, and
    /// `<r/>`/`<a/>` from the client are then unexpected).
    pub fn take_sm_state(&mut self) -> Option<SmState> {
        self.sm.take().map(|sm| sm.state)
    }

    // --- Inbound nonzas, from dispatch -----------------------------------------------------

    /// `<enable/>` on a bound stream.
    pub(super) fn handle_enable(&mut self, el: &Element) {
        let Some(config) = self.config.stream_management().copied() else {
            return self.unsupported(el);
        };
        if self.sm_used {
            // XEP-0198 §3 would allow a stream error; a `<failed/>` keeps the stream (§6:
            // stream management errors are recoverable), as ejabberd and Prosody do.
            self.write(&failed(&StanzaCondition::UnexpectedRequest, None));
            return;
        }
        let Some(enable) = parse_enable(el) else {
            self.write(&failed(&StanzaCondition::BadRequest, None));
            return;
        };
        let secs = config.max_resume.as_secs();
        let resumption = (enable.resume && config.resume && secs > 0).then(|| {
            let secs = enable.max.map_or(secs, |max| max.min(secs));
            Resumption {
                id: self.random_id(),
                timeout: Duration::from_secs(secs),
            }
        });
        let mut enabled = Element::new("enabled", ns::SM);
        if let Some(r) = &resumption {
            enabled.set_attr("id", r.id.clone());
            enabled.set_attr("resume", "true");
            enabled.set_attr("max", r.timeout.as_secs().to_string());
        }
        self.write(&enabled);
        let state = SmState::new(resumption.clone());
        self.sm = Some(Box::new(self.sm_session(state, self.stanzas_out)));
        self.sm_used = true;
        self.events
            .push_back(Event::SmEnabled { resume: resumption });
    }

    /// `<resume/>` after authentication, before binding.
    pub(super) fn handle_resume(&mut self, el: &Element) {
        let Some(config) = self.config.stream_management() else {
            return self.unsupported(el);
        };
        if !config.resume || config.max_resume.as_secs() == 0 {
            self.write(&failed(&StanzaCondition::FeatureNotImplemented, None));
            return;
        }
        let previd = el.attr("previd").filter(|id| !id.is_empty());
        let (Some(previd), Some(h)) = (previd, parse_h(el.attr("h"))) else {
            self.write(&failed(&StanzaCondition::BadRequest, None));
            return;
        };
        let previd = previd.to_owned();
        self.pending_resume = Some((previd.clone(), h));
        self.events.push_back(Event::ResumeRequest { previd, h });
    }

    /// `<enable/>` or `<resume/>` where neither may be (before authentication, `<enable/>`
    /// before binding, `<resume/>` after).
    pub(super) fn sm_unexpected(&mut self) {
        self.write(&failed(&StanzaCondition::UnexpectedRequest, None));
    }

    /// `<r/>` on a bound stream.
    pub(super) fn handle_ack_request(&mut self, el: &Element) {
        let Some(sm) = &mut self.sm else {
            return self.unsupported(el);
        };
        if sm.request() {
            let h = sm.h();
            self.write(&ack_element(h));
        }
    }

    /// `<a/>` on a bound stream.
    pub(super) fn handle_ack(&mut self, el: &Element) {
        let Some(sm) = &mut self.sm else {
            return self.unsupported(el);
        };
        let Some(h) = parse_h(el.attr("h")) else {
            // XEP-0198 §4: an <a/> MUST have an 'h'. Without a count the queue could never
            // shrink; the schema is violated, hence invalid-xml.
            self.close(
                StreamError::new(StreamCondition::InvalidXml)
                    .with_text(Some(self.config.lang()), "<a/> needs an unsignedInt 'h'"),
            );
            return;
        };
        if let Err(too_high) = sm.ack(h) {
            self.close(too_high.stream_error(self.config.lang()));
        }
    }

    // --- Counting, from connection and dispatch --------------------------------------------

    /// A stanza goes to the driver as [`Event::Stanza`].
    pub(super) fn count_stanza_for_driver(&mut self) {
        self.stanzas_out += 1;
        if let Some(sm) = &mut self.sm {
            sm.received_for_driver();
        }
    }

    /// A stanza from the client that the connection answers itself.
    pub(super) fn count_self_handled(&mut self) {
        let due = match &mut self.sm {
            Some(sm) => sm.received_self_handled(),
            None => 0,
        };
        self.write_acks(due);
    }

    /// Writes a stanza to the bound client, counted and queued when stream management is
    /// on. `Err` when the queue was full (the stream is then closed).
    pub(super) fn write_stanza(&mut self, element: &Element) -> Result<(), SendError> {
        self.make_room()?;
        let Some(sm) = &mut self.sm else {
            self.write(element);
            return Ok(());
        };
        let mut buf = BytesMut::new();
        write_element(&mut buf, element, ns::JABBER_CLIENT);
        let bytes = buf.freeze();
        self.out.extend_from_slice(&bytes);
        sm.push(Some(bytes));
        Ok(())
    }

    /// Writes one of the connection's own pings: counted, but not kept for re-sending.
    pub(super) fn write_ping(&mut self, element: &Element) {
        if self.make_room().is_err() {
            return;
        }
        if let Some(sm) = &mut self.sm {
            sm.push(None);
        }
        self.write(element);
    }

    /// Checks that one more stanza fits in the unacknowledged queue; when it does not, the
    /// stream closes with `policy-violation` and nothing more is sent.
    fn make_room(&mut self) -> Result<(), SendError> {
        if self.sm.as_deref().is_none_or(SmSession::has_room) {
            Ok(())
        } else {
            self.too_many_unacked();
            Err(SendError::Closed)
        }
    }

    fn write_acks(&mut self, due: usize) {
        if due == 0 || self.stage == Stage::Closed {
            return;
        }
        let Some(sm) = &self.sm else {
            return;
        };
        let a = ack_element(sm.h());
        for _ in 0..due {
            self.write(&a);
        }
    }

    fn too_many_unacked(&mut self) {
        self.close(
            StreamError::new(StreamCondition::PolicyViolation)
                .with_text(Some(self.config.lang()), "too many unacknowledged stanzas"),
        );
    }

    fn sm_session(&self, state: SmState, uncounted: u64) -> SmSession {
        let max_unacked = self
            .config
            .stream_management()
            .map_or(usize::MAX, |c| c.max_unacked);
        SmSession::new(state, uncounted, max_unacked)
    }
}

#[cfg(test)]
mod tests;
