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
use tokio::sync::mpsc;
use xmpp_core::router::Action;
use xmpp_core::{FullJid, Jid, Stanza, StanzaCondition, StanzaError, StreamCondition, StreamError};
use xmpp_sasl::{ChannelBindings, SystemRng};
use xmpp_stream::c2s::{Connection, ConnectionConfig, Event};

use super::shared::Shared;
use super::tls;
use crate::im::{Outbox, note_directed};
use crate::router::{Outbound, RegistryView, SessionHandle};

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write to a client may block. A client that stops reading must not park its
/// session task forever (its keep-alive timer cannot fire while the task waits on a write).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

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
    let mut session = Session::new(shared, config, None, peer);
    match session.drive(&mut tcp).await {
        Ok(Exit::StartTls) => {}
        Ok(Exit::Done) | Err(_) => return Box::pin(session.finish()).await,
    }
    let domain = session.conn.domain().map(str::to_owned);
    let upgraded = tokio::time::timeout(
        TLS_HANDSHAKE_TIMEOUT,
        // Boxed: the handshake's state is large and needed only briefly; unboxed it would
        // enlarge every session's task for its whole life.
        Box::pin(tls::accept_starttls(
            &session.shared.ctx,
            tcp,
            domain.as_deref(),
        )),
    )
    .await;
    let Ok(Ok((mut stream, bindings))) = upgraded else {
        tracing::debug!(peer = %session.peer, "STARTTLS handshake failed");
        return Box::pin(session.finish()).await;
    };
    session
        .conn
        .handle_tls_established(bindings, Instant::now());
    let _ = session.drive(&mut stream).await;
    Box::pin(session.finish()).await;
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
    let accepted = tokio::time::timeout(
        TLS_HANDSHAKE_TIMEOUT,
        Box::pin(tls::accept_direct(&shared.ctx, tcp)),
    )
    .await;
    let Ok(Ok((mut stream, bindings))) = accepted else {
        tracing::debug!(%peer, "Direct TLS handshake failed");
        return;
    };
    let mut session = Session::new(shared, config, Some(bindings), peer);
    let _ = session.drive(&mut stream).await;
    Box::pin(session.finish()).await;
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
                item = self.inbox.recv() => match item {
                    // The connection's own output was flushed above, so order holds.
                    Some(Outbound::Stanza(bytes))
                        if self.conn.jid().is_some() && !self.conn.is_closed() =>
                    {
                        write_bytes(stream, &bytes).await?;
                    }
                    Some(Outbound::Close(error)) => self.conn.close(*error),
                    // A stanza for a session that is no longer bound, or no sender left.
                    Some(Outbound::Stanza(_)) | None => {}
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
                if let Some(refusal) = super::register::ban_error(&self.shared, self.peer).await {
                    self.conn.close(refusal);
                    return None;
                }
                let found = self
                    .shared
                    .ctx
                    .storage
                    .credentials_for_username(&username, jid.domain(), hash)
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
                    self.shared.accounts.auth_failed(self.peer.ip()).await;
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
            Event::Stanza(element) => self.route(element).await,
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
        // One view of the registry for routing and for finding the recipients' channels: the
        // read lock is taken once per stanza. Delivery only queues, so it never waits under it.
        let shared = Arc::clone(&self.shared);
        let mut deferred = Vec::new();
        {
            let view = shared.im.sessions.view();
            let actions =
                shared
                    .im
                    .router
                    .route_from_client(&sender, stanza, &view, SystemTime::now());
            for action in actions {
                match action {
                    Action::Deliver { to, stanza } => self.deliver(&view, &sender, &to, &stanza),
                    Action::CloseSender(error) => self.conn.close(error),
                    Action::DirectedPresence { to, available } => {
                        note_directed(&mut self.directed, to, available);
                    }
                    // What needs storage runs after the registry lock is released.
                    other => deferred.push(other),
                }
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

    /// Ends the session: the unavailable presence its contacts are owed (RFC 6121 §4.5.2),
    /// then unbinding, then messages that were queued for it and never written go elsewhere.
    /// Callers box it, for the same reason as the IM actions.
    async fn finish(mut self) {
        let Some(jid) = self.bound.take() else {
            return;
        };
        let im = Arc::clone(&self.shared.im);
        // A session replaced by a newer login of the same resource says nothing: the
        // resource lives on in its replacement.
        if self.available && im.sessions.is_current(&jid, &self.handle) {
            let unavailable =
                xmpp_core::im::presence::unavailable_broadcast(&Jid::from(jid.clone()));
            let mut out = Outbox::detached();
            im.handle_broadcast(
                &jid,
                &self.handle,
                unavailable,
                None,
                true,
                &mut self.directed,
                &mut out,
            )
            .await;
        }
        im.sessions.unbind(&jid, &self.handle);
        if !im.sessions.has_sessions(&jid.to_bare()) {
            im.forget_roster(&jid.to_bare()).await;
        }
        self.inbox.close();
        let mut orphans = Vec::new();
        while let Ok(item) = self.inbox.try_recv() {
            orphans.extend(item.to_stanza());
        }
        if !orphans.is_empty() {
            im.reroute_orphans(orphans).await;
        }
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
