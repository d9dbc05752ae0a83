//! One client connection: a task that drives `xmpp_stream::c2s::Connection` over a socket.
//!
//! The connection (sans-IO) decides everything about the protocol; this task only moves bytes,
//! fetches credentials from storage, binds the session in the registry, hands stanzas to the
//! router and carries out what the router says.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use xmpp_core::im::carbons;
use xmpp_core::im::csi::{CsiQueue, Push};
use xmpp_core::router::Action;
use xmpp_core::{FullJid, Jid, Stanza, StanzaCondition, StanzaError, StreamCondition, StreamError};
use xmpp_sasl::{ChannelBindings, SystemRng};
use xmpp_stream::c2s::{Connection, ConnectionConfig, Event, ResumeError, Resumed, Resumption};

use super::resume::{self, SessionState};
use super::shared::Shared;
use super::tls;
use crate::im::{Blocked, Outbox, note_directed};
use crate::router::{CsiKind, Outbound, RegistryView, SessionHandle, Takeover};

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write to a client may block. A client that stops reading must not park its
/// session task forever (its keep-alive timer cannot fire while the task waits on a write).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;
/// Queued stanzas written in one go before acknowledgements are requested and input is read
/// again: batching saves `<r/>` round trips, the bound keeps a busy queue from starving input.
const WRITE_BATCH: usize = 64;

thread_local! {
    /// One read buffer per worker thread instead of one per connection: an idle session then
    /// holds no buffer at all (the memory target is per idle session).
    static READ_BUF: std::cell::RefCell<Box<[u8; READ_CHUNK]>> =
        std::cell::RefCell::new(Box::new([0; READ_CHUNK]));
}

/// Reads what the socket has into a fresh `Bytes`, through the thread's shared buffer. The
/// buffer is borrowed only inside one poll, so a task moving between threads is fine.
async fn read_some<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Bytes> {
    std::future::poll_fn(|cx| {
        READ_BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            let mut read_buf = tokio::io::ReadBuf::new(&mut buf[..]);
            match std::pin::Pin::new(&mut *stream).poll_read(cx, &mut read_buf) {
                std::task::Poll::Ready(Ok(())) => {
                    std::task::Poll::Ready(Ok(Bytes::copy_from_slice(read_buf.filled())))
                }
                std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => std::task::Poll::Pending,
            }
        })
    })
    .await
}

/// Why the driver loop stopped.
enum Exit {
    /// `<proceed/>` went out: upgrade the socket to TLS.
    StartTls,
    /// The stream is over.
    Done,
    /// A new connection resumes this session (XEP-0198): hand the state over.
    Takeover(Takeover<SessionState>),
}

/// The state of one connection that outlives a STARTTLS upgrade.
struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    conn: Connection,
    /// Bytes read but not yet consumed (the connection stops reading while it waits for us).
    unread: BytesMut,
    handle: SessionHandle,
    inbox: mpsc::Receiver<Outbound>,
    bound: Option<FullJid>,
    /// Whether the session sent available presence (and not unavailable since).
    available: bool,
    /// Where the session sent directed available presence (RFC 6121 §4.6): told
    /// `unavailable` when the session goes unavailable. Allocated only when used.
    directed: HashSet<Jid>,
    /// Whether input arrived since the connection last released its temporaries.
    had_input: bool,
    /// The resumption id and the channel new connections ask for this session on, once the
    /// client enabled resumable stream management.
    resumption: Option<(String, mpsc::Receiver<Takeover<SessionState>>)>,
    /// Whether the client queried its archive on this session.
    uses_mam: bool,
    /// What is held back while the client says it is inactive (XEP-0352); `None` while it is
    /// active, so that an active session pays nothing for it.
    csi: Option<Box<CsiQueue<Bytes>>>,
    /// Queued stanzas the connection could not take; they go with the session's state.
    unsent: Vec<Bytes>,
}

/// Serves a connection on a STARTTLS listener: plaintext first, TLS after `<starttls/>`.
pub(crate) async fn serve_starttls(
    shared: Arc<Shared>,
    config: Arc<ConnectionConfig>,
    tcp: TcpStream,
    peer: SocketAddr,
) {
    let mut tcp = tcp;
    if let Some(refusal) = super::register::refusal_if_banned(&shared, peer).await {
        // Before TLS, as mod_fail2ban does: a banned address costs no handshake.
        let _ = write_bytes(&mut tcp, &refusal).await;
        let _ = tcp.shutdown().await;
        return;
    }
    // Boxed, as is the TLS stream: each lives in one allocation of its own size instead of
    // a room in every state of this task's future (docs/performance.md, idle sessions).
    let mut session = Box::new(Session::new(shared, config, None, peer));
    match session.drive(&mut tcp).await {
        Ok(Exit::StartTls) => {}
        Ok(exit) => return Box::pin((*session).end(exit)).await,
        Err(_) => return Box::pin((*session).end(Exit::Done)).await,
    }
    let domain = session.conn.domain().map(str::to_owned);
    // Matched in the statement that awaits it, not kept in a local that would hold its room
    // in the task for as long as the session lives.
    let Ok(Ok((mut stream, bindings))) = tokio::time::timeout(
        TLS_HANDSHAKE_TIMEOUT,
        // Boxed: the handshake's state is large and needed only briefly; unboxed it would
        // enlarge every session's task for its whole life.
        Box::pin(tls::accept_starttls(
            &session.shared.ctx,
            tcp,
            domain.as_deref(),
        )),
    )
    .await
    else {
        tracing::debug!(peer = %session.peer, "STARTTLS handshake failed");
        return Box::pin((*session).end(Exit::Done)).await;
    };
    session
        .conn
        .handle_tls_established(bindings, Instant::now());
    let exit = session.drive(&mut stream).await.unwrap_or(Exit::Done);
    Box::pin((*session).end(exit)).await;
}

/// Serves a connection on a Direct TLS listener (XEP-0368).
pub(crate) async fn serve_direct_tls(
    shared: Arc<Shared>,
    config: Arc<ConnectionConfig>,
    tcp: TcpStream,
    peer: SocketAddr,
) {
    if super::register::refusal_if_banned(&shared, peer)
        .await
        .is_some()
    {
        // Nothing can be said before the TLS handshake on this port, and a banned address
        // gets no handshake: the connection is closed.
        tracing::debug!(%peer, "banned address refused");
        return;
    }
    // Matched where it is awaited (see `serve_starttls`).
    let Ok(Ok((mut stream, bindings))) = tokio::time::timeout(
        TLS_HANDSHAKE_TIMEOUT,
        Box::pin(tls::accept_direct(&shared.ctx, tcp)),
    )
    .await
    else {
        tracing::debug!(%peer, "Direct TLS handshake failed");
        return;
    };
    let mut session = Box::new(Session::new(shared, config, Some(bindings), peer));
    let exit = session.drive(&mut stream).await.unwrap_or(Exit::Done);
    Box::pin((*session).end(exit)).await;
}

impl Session {
    fn new(
        shared: Arc<Shared>,
        config: Arc<ConnectionConfig>,
        encrypted: Option<ChannelBindings>,
        peer: SocketAddr,
    ) -> Self {
        let mut conn = Connection::new(
            config,
            encrypted,
            Box::new(SystemRng::new()),
            Instant::now(),
        );
        conn.offer_registration(shared.accounts.registration_open_to(peer.ip()).is_ok());
        let (handle, inbox) = SessionHandle::new();
        Self {
            shared,
            peer,
            conn,
            unread: BytesMut::new(),
            handle,
            inbox,
            bound: None,
            available: false,
            directed: HashSet::new(),
            had_input: false,
            resumption: None,
            uses_mam: false,
            csi: None,
            unsent: Vec::new(),
        }
    }

    /// Runs the connection over `stream` until it ends or asks for TLS.
    async fn drive<S>(&mut self, stream: &mut S) -> std::io::Result<Exit>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            // Everything the connection has to say, then everything it has to write.
            while let Some(event) = self.conn.poll_event() {
                if let Some(exit) = self.handle_event(event).await {
                    flush(&mut self.conn, stream).await?;
                    if matches!(exit, Exit::Done) {
                        let _ = stream.shutdown().await;
                    }
                    return Ok(exit);
                }
            }
            flush(&mut self.conn, stream).await?;
            if self.conn.is_closed() {
                let _ = stream.shutdown().await;
                return Ok(Exit::Done);
            }
            // Input the connection did not take yet, now that it may.
            if !self.unread.is_empty() && !self.conn.is_blocked() {
                let data = self.unread.split().freeze();
                self.feed(&data);
                continue;
            }

            if std::mem::take(&mut self.had_input) {
                // About to wait: an idle session keeps no buffers it does not need.
                self.conn.release_temporaries();
                if self.unread.is_empty() {
                    self.unread = BytesMut::new();
                }
            }
            let deadline = self.conn.poll_timeout();
            // Queued stanzas first: what other sessions sent before this client's next
            // request is written before the answer to it.
            tokio::select! {
                biased;
                request = recv_takeover(&mut self.resumption) => {
                    if let Some(reply) = request {
                        // The client is back on another connection: this one is over.
                        self.conn.close(
                            StreamError::new(StreamCondition::Conflict)
                                .with_text(Some("en"), "the session was resumed on another connection"),
                        );
                        let _ = flush(&mut self.conn, stream).await;
                        let _ = stream.shutdown().await;
                        return Ok(Exit::Takeover(reply));
                    }
                }
                item = self.inbox.recv() => {
                    // The connection's own output was flushed above, so order holds.
                    let mut item = item;
                    for _ in 0..WRITE_BATCH {
                        match item {
                            Some(Outbound::Stanza(bytes, kind)) => self.write_queued(bytes, kind),
                            Some(Outbound::Close(error)) => {
                                self.conn.close(*error);
                                break;
                            }
                            None => break,
                        }
                        item = self.inbox.try_recv().ok();
                    }
                    self.conn.request_ack();
                },
                read = read_some(stream) => {
                    match read {
                        Ok(data) if !data.is_empty() => self.feed(&data),
                        Ok(_) | Err(_) => self.conn.handle_peer_eof(),
                    }
                }
                () = sleep_until(deadline) => self.conn.handle_timeout(Instant::now()),
            }
        }
    }

    /// Writes a stanza another session queued, or holds it while the client is inactive
    /// (XEP-0352). Before bind there is nobody to write to.
    fn write_queued(&mut self, bytes: Bytes, kind: CsiKind) {
        let Some(csi) = self.csi.as_mut() else {
            return self.write_now(bytes);
        };
        match csi.push(kind.class(&bytes), bytes) {
            Push::Held => {}
            Push::Pass(bytes) => self.write_now(bytes),
            Push::Send(all) => {
                for bytes in all {
                    self.write_now(bytes);
                }
            }
        }
    }

    /// Writes a queued stanza; one the connection cannot take (closed, or its unacknowledged
    /// queue full) is kept and routed again when the session ends, never dropped.
    fn write_now(&mut self, bytes: Bytes) {
        if self.conn.send_serialized(bytes.clone()).is_err() {
            self.unsent.push(bytes);
        }
    }

    /// XEP-0352: an inactive client gets only what matters until it is active again.
    fn set_client_state(&mut self, active: bool) {
        if active {
            for bytes in self
                .csi
                .take()
                .map(|mut q| q.set_active())
                .unwrap_or_default()
            {
                self.write_now(bytes);
            }
            self.conn.request_ack();
        } else if self.csi.is_none() {
            let mut queue = CsiQueue::new(self.shared.ctx.config.csi.max_held);
            queue.set_inactive();
            self.csi = Some(Box::new(queue));
        }
    }

    fn feed(&mut self, data: &[u8]) {
        self.had_input = true;
        let mut rest = data;
        self.conn.handle_input(&mut rest, Instant::now());
        if !rest.is_empty() {
            self.unread.extend_from_slice(rest);
        }
    }

    /// Acts on one event; returns `Some` when the loop must stop.
    async fn handle_event(&mut self, event: Event) -> Option<Exit> {
        match event {
            Event::StartTls => return Some(Exit::StartTls),
            Event::NeedCredentials {
                username,
                jid,
                hash,
                ..
            } => {
                // A connection opened before its address was banned may not go on guessing.
                if let Some(refusal) =
                    Box::pin(super::register::ban_error(&self.shared, self.peer)).await
                {
                    self.conn.close(refusal);
                    return None;
                }
                let found = Box::pin(self.shared.ctx.storage.credentials_for_username(
                    &username,
                    jid.domain(),
                    hash,
                ))
                .await;
                match found {
                    Ok(Some(record)) => self.conn.provide_credentials(vec![record]),
                    Ok(None) => self.conn.provide_no_such_user(),
                    Err(e) => {
                        // A database outage is an error the client sees, never silence.
                        tracing::error!(error = %e, "credential lookup failed");
                        self.conn.close(
                            StreamError::new(StreamCondition::InternalServerError)
                                .with_text(Some("en"), "storage is unavailable, try again later"),
                        );
                    }
                }
            }
            Event::AuthFailed {
                condition, reason, ..
            } => {
                tracing::info!(peer = %self.peer, condition = condition.as_str(), ?reason, "authentication failed");
                if condition != xmpp_sasl::FailureCondition::Aborted {
                    Box::pin(self.shared.accounts.auth_failed(self.peer.ip())).await;
                }
            }
            Event::RegisterIq(iq) => {
                let domain = self.conn.domain().unwrap_or_default().to_owned();
                let reply = Box::pin(super::register::answer_unauthenticated(
                    &self.shared.accounts,
                    &domain,
                    self.peer.ip(),
                    &iq,
                ))
                .await;
                self.conn.answer_register_iq(&reply);
            }
            Event::Authenticated { jid } => {
                tracing::debug!(peer = %self.peer, %jid, "authenticated");
            }
            Event::BindRequest { requested_resource } => self.bind(requested_resource),
            Event::Bound { jid } => {
                tracing::debug!(peer = %self.peer, %jid, "bound");
            }
            Event::Stanza(element) => {
                // Boxed, like every await in this match: the future of `handle_event` is part
                // of every session's task for its whole life, idle or not, so what only one
                // event needs is allocated for that event (docs/performance.md).
                Box::pin(self.route(element)).await;
                // Only now may the client's `<r/>` count it: whatever it needed stored is
                // stored, or the client was told it failed (ack means durable).
                self.conn.stanza_handled();
            }
            Event::SmEnabled { resume } => self.enable_resumption(resume),
            Event::ResumeRequest { previd, .. } => Box::pin(self.resume(previd)).await,
            Event::ClientState { active } => self.set_client_state(active),
            Event::Resumed { jid } => {
                tracing::debug!(peer = %self.peer, %jid, "session resumed");
            }
            Event::Closed { error, by_peer } => {
                tracing::debug!(peer = %self.peer, ?error, by_peer, "stream closed");
                return Some(Exit::Done);
            }
            _ => {}
        }
        None
    }

    fn bind(&mut self, requested: Option<String>) {
        let Some(account) = self.conn.account().cloned() else {
            return self
                .conn
                .complete_bind(Err(StanzaError::new(StanzaCondition::NotAuthorized)));
        };
        let resource = match requested {
            Some(r) => r,
            None => match self.conn.generate_resource() {
                Ok(r) => r,
                Err(_) => {
                    return self.conn.complete_bind(Err(StanzaError::new(
                        StanzaCondition::InternalServerError,
                    )));
                }
            },
        };
        if self.shared.im.was_deleted(&account) {
            // Authenticated just before the account was deleted: no session for it.
            return self.conn.close(
                StreamError::new(StreamCondition::NotAuthorized)
                    .with_text(Some("en"), "this account was deleted"),
            );
        }
        let Ok(jid) = account.with_resource(&resource) else {
            return self
                .conn
                .complete_bind(Err(StanzaError::new(StanzaCondition::BadRequest)));
        };
        // RFC 6120 §7.7.2.2: the new login wins; the old session ends with `conflict`.
        if let Some(old) = self
            .shared
            .im
            .sessions
            .bind(jid.clone(), self.handle.clone())
        {
            let _ = old.try_send(Outbound::Close(Box::new(
                StreamError::new(StreamCondition::Conflict)
                    .with_text(Some("en"), "replaced by a new connection"),
            )));
        }
        self.bound = Some(jid.clone());
        self.conn.complete_bind(Ok(jid));
    }

    async fn route(&mut self, element: xmpp_core::Element) {
        let Some(sender) = self.bound.clone() else {
            return;
        };
        let stanza = match Stanza::from_element(element) {
            Ok(s) => s,
            Err(invalid) => {
                if let Some(e) = invalid.stream_error() {
                    self.conn.close(e);
                } else if let Some(reply) = invalid.error_reply() {
                    let _ = self.conn.send_stanza(&reply);
                }
                return;
            }
        };
        let mut stanza = stanza;
        let is_message = stanza.kind() == xmpp_core::StanzaKind::Message;
        if is_message && carbons::is_carbon_wrapper(&stanza) {
            // Only the server makes carbon copies (XEP-0280 §11): a client's would let it
            // put words in someone else's mouth.
            if let Some(reply) = carbons::forged_copy_error(&stanza) {
                let _ = self.conn.send_stanza(&reply);
            }
            return;
        }
        // XEP-0191: a stanza to or from a blocked JID is not routed (nor archived).
        match self.shared.im.check_blocking(&sender, &stanza).await {
            Blocked::No => {}
            Blocked::DropSilently => return,
            Blocked::Reply(reply) => {
                let _ = self.conn.send_stanza(&reply);
                return;
            }
        }
        let private = is_message && carbons::is_private(&stanza);
        if private {
            // §7: the recipient need not learn that the sender opted out of copies.
            carbons::strip_private(&mut stanza);
        }
        if let Err(error) = Box::pin(self.shared.im.archive_message(&sender, &mut stanza)).await {
            // Not stored, so not routed: the sender learns it and may send it again.
            if let Some(reply) = stanza.error_reply(error) {
                let _ = self.conn.send_stanza(&reply);
            }
            return;
        }
        // One view of the registry for routing and for finding the recipients' channels: the
        // read lock is taken once per stanza. Delivery only queues, so it never waits under it.
        let shared = Arc::clone(&self.shared);
        let mut deferred = Vec::new();
        {
            let view = shared.im.sessions.view();
            // The message as sent, for the copies; cloned only when some session of the
            // sender or the recipient enabled carbons, not on every message.
            let wants_copies = is_message
                && !private
                && (view.has_carbons(&sender.to_bare())
                    || stanza
                        .to()
                        .is_some_and(|to| view.has_carbons(&to.to_bare())));
            let original = wants_copies.then(|| {
                let mut s = stanza.clone();
                s.set_from(Some(Jid::from(sender.clone())));
                s
            });
            let mut delivered = Vec::new();
            let actions =
                shared
                    .im
                    .router
                    .route_from_client(&sender, stanza, &view, SystemTime::now());
            for action in actions {
                match action {
                    Action::Deliver { to, stanza } => {
                        if original.is_some() && to.bare_str() != sender.bare_str() {
                            delivered.push(to.clone());
                        }
                        self.deliver(&view, &sender, &to, &stanza);
                    }
                    Action::CloseSender(error) => self.conn.close(error),
                    Action::DirectedPresence { to, available } => {
                        note_directed(&mut self.directed, to, available);
                    }
                    // What needs storage runs after the registry lock is released.
                    other => deferred.push(other),
                }
            }
            if let Some(original) = &original {
                crate::im::send_carbons(&view, &sender, original, &delivered);
            }
        }
        for action in deferred {
            // Boxed: storage futures are large, and unboxed they would enlarge every
            // session's task for its whole life, idle or not (the memory target is per idle
            // session). The box lives only while the action runs.
            Box::pin(self.handle_im_action(&sender, action)).await;
        }
    }

    /// Carries out an action that needs rosters or storage.
    async fn handle_im_action(&mut self, sender: &FullJid, action: Action) {
        let im = Arc::clone(&self.shared.im);
        let mut out = Outbox::for_sender(sender);
        match action {
            Action::RosterIq(iq) => {
                im.handle_roster_iq(sender, &self.handle, iq, &mut out)
                    .await;
            }
            Action::BroadcastPresence { stanza, priority } => {
                let was_available = self.available;
                self.available = priority.is_some();
                im.handle_broadcast(
                    sender,
                    &self.handle,
                    stanza,
                    priority,
                    was_available,
                    &mut self.directed,
                    &mut out,
                )
                .await;
            }
            Action::Subscription {
                contact,
                kind,
                stanza,
            } => {
                im.handle_subscription(sender, contact, kind, stanza, &mut out)
                    .await;
            }
            Action::Probe { contact } => im.handle_probe(sender, &contact, &mut out).await,
            Action::StoreOffline { account, stanza } => {
                im.store_offline(&account, stanza, &mut out).await;
            }
            Action::AccountIq(iq) => {
                let payload_ns = iq.iq_payload().map(|p| p.ns().to_owned());
                if payload_ns.as_deref() == Some(xmpp_mam::ns::MAM) {
                    self.uses_mam = true;
                    im.handle_mam_iq(sender, &iq, &mut out).await;
                } else if payload_ns.as_deref() == Some(xmpp_core::ns::BLOCKING) {
                    im.handle_blocking_iq(sender, &iq, &mut out).await;
                } else if let Some(request) = carbons::CarbonsRequest::parse(&iq) {
                    let on = request == carbons::CarbonsRequest::Enable;
                    im.sessions.set_carbons(sender, &self.handle, on);
                    out.to_sender.extend(iq.iq_result(None));
                } else {
                    out.reply_error(&iq, StanzaError::new(StanzaCondition::ServiceUnavailable));
                }
            }
            Action::RegisterIq(iq) => {
                let reply =
                    super::register::answer_account_iq(&self.shared.accounts, sender, &iq).await;
                out.to_sender.extend(reply);
            }
            _ => {}
        }
        for stanza in out.to_sender {
            let _ = self.conn.send_stanza(&stanza);
        }
    }

    fn deliver(
        &mut self,
        view: &RegistryView<'_>,
        sender: &FullJid,
        to: &FullJid,
        stanza: &Stanza,
    ) {
        if to == sender {
            let _ = self.conn.send_stanza(stanza);
            return;
        }
        let delivered = view
            .handle(to)
            .is_some_and(|h| h.try_send(Outbound::stanza(stanza)).is_ok());
        if !delivered {
            // The recipient went away or stopped reading: tell the sender, never drop silently.
            let error = StanzaError::new(StanzaCondition::ResourceConstraint)
                .with_text(Some("en"), "the recipient cannot take more stanzas now");
            if let Some(reply) = stanza.error_reply(error) {
                let _ = self.conn.send_stanza(&reply);
            }
        }
    }

    /// Registers the resumption id the connection just gave the client.
    fn enable_resumption(&mut self, resume: Option<Resumption>) {
        let (Some(resumption), Some(account)) = (resume, self.conn.account().cloned()) else {
            return;
        };
        let rx = self
            .shared
            .im
            .resumptions
            .register(resumption.id.clone(), account);
        self.resumption = Some((resumption.id, rx));
    }

    /// Takes over the session `previd` names, when it is this account's: its state moves
    /// here, and the connection re-sends what the client had not acknowledged.
    async fn resume(&mut self, previd: String) {
        let Some(account) = self.conn.account().cloned() else {
            return self.conn.complete_resume(Err(ResumeError::NotFound));
        };
        let Some(takeover) = self.shared.im.resumptions.find(&previd, &account) else {
            return self.conn.complete_resume(Err(ResumeError::NotFound));
        };
        let (reply, answer) = oneshot::channel();
        // The old task answers as soon as it is between two steps; no timeout on purpose: a
        // reply dropped after it was sent would lose the session's queue.
        let state = match takeover.send(reply).await {
            Ok(()) => answer.await.ok(),
            Err(_) => None,
        };
        let Some(state) = state else {
            return self.conn.complete_resume(Err(ResumeError::NotFound));
        };
        self.adopt(state);
    }

    fn adopt(&mut self, state: SessionState) {
        let SessionState {
            jid,
            handle,
            inbox,
            available,
            directed,
            sm,
            held,
            resumption,
            uses_mam,
        } = state;
        // This connection's own, never bound, handle and queue are dropped.
        self.handle = handle;
        self.inbox = inbox;
        self.bound = Some(jid.clone());
        self.available = available;
        self.directed = directed;
        self.resumption = resumption;
        self.uses_mam = uses_mam;
        let Some(sm) = sm else {
            return self.conn.complete_resume(Err(ResumeError::NotFound));
        };
        self.conn.complete_resume(Ok(Resumed::new(jid, sm)));
        // A new connection starts active (XEP-0352 §5).
        for bytes in held {
            self.write_now(bytes);
        }
        self.conn.request_ack();
    }

    /// What becomes of the session once its connection is over.
    async fn end(mut self, exit: Exit) {
        let resumable = self.conn.is_resumable() && self.resumption.is_some();
        let Some(state) = self.take_state() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        match exit {
            Exit::Takeover(reply) => {
                if let Err(state) = reply.send(state) {
                    // The new connection went away meanwhile: this one is closed too, so the
                    // session waits for the next attempt.
                    wait_or_finish(shared, state, true).await;
                }
            }
            Exit::Done | Exit::StartTls => wait_or_finish(shared, state, resumable).await,
        }
    }

    /// The session's state without its connection; `None` when nothing was bound.
    fn take_state(&mut self) -> Option<SessionState> {
        let jid = self.bound.take()?;
        let (handle, inbox) = SessionHandle::new();
        Some(SessionState {
            jid,
            handle: std::mem::replace(&mut self.handle, handle),
            inbox: std::mem::replace(&mut self.inbox, inbox),
            available: self.available,
            directed: std::mem::take(&mut self.directed),
            sm: self.conn.take_sm_state(),
            // Never sent (the connection refused them, or the client was inactive): they go
            // with the session, in the order they arrived.
            held: {
                let mut held = std::mem::take(&mut self.unsent);
                held.extend(self.csi.take().map(|mut q| q.flush()).unwrap_or_default());
                held
            },
            resumption: self.resumption.take(),
            uses_mam: self.uses_mam,
        })
    }
}

/// Ends a session for good, or first waits for it to be resumed when it may be.
async fn wait_or_finish(shared: Arc<Shared>, state: SessionState, resumable: bool) {
    let sm = &shared.ctx.config.stream_management;
    let (timeout, max_held) = (sm.resume_timeout, sm.max_unacked);
    if resumable && !timeout.is_zero() {
        resume::hibernate(shared, state, timeout, max_held).await;
    } else {
        resume::finish(shared, state).await;
    }
}

/// The next takeover request, or never when the session is not resumable.
async fn recv_takeover(
    resumption: &mut Option<(String, mpsc::Receiver<Takeover<SessionState>>)>,
) -> Option<Takeover<SessionState>> {
    match resumption {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn flush<S: AsyncWrite + Unpin>(
    conn: &mut Connection,
    stream: &mut S,
) -> std::io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        write_bytes(stream, &bytes).await?;
    }
    Ok(())
}

/// Writes and flushes `bytes` (tokio-rustls encrypts on flush), within [`WRITE_TIMEOUT`].
async fn write_bytes<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
