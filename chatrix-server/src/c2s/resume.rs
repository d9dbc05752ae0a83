//! The life of a session beyond its connection (XEP-0198): the state that moves to a new
//! connection on resumption, the wait for that connection, and the end of a session that
//! will not be resumed, where nothing it was sent may be lost.
//!
//! A session's state lives in its task. When its connection drops and it may be resumed,
//! the task keeps the state and waits (holding what arrives meanwhile) for a takeover
//! request from a new connection of the same account, or for the resumption timeout. A
//! takeover hands the whole state over through a one-shot channel; if the taker has gone by
//! then, the state comes back and the wait goes on, so a failed resumption loses nothing.
//!
//! A session that ends for good sends its contacts `unavailable`, unbinds, and routes again
//! every message it was given but the client never acknowledged: to the account's other
//! resources, or offline. A message already in the account's archive is not stored offline
//! for a client that read the archive on this session: it will find it there (the rule
//! ejabberd follows), and it would otherwise see it twice.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use xmpp_core::{FullJid, Jid, Stanza};
use xmpp_stream::c2s::SmState;

use super::shared::Shared;
use crate::im::Outbox;
use crate::router::{Outbound, SessionHandle, Takeover, parse_queued};

/// Everything a bound session is, apart from its connection.
#[derive(Debug)]
pub(crate) struct SessionState {
    pub(super) jid: FullJid,
    pub(super) handle: SessionHandle,
    pub(super) inbox: mpsc::Receiver<Outbound>,
    pub(super) available: bool,
    pub(super) directed: HashSet<Jid>,
    /// The stream-management counters and unacknowledged stanzas, when SM was enabled.
    pub(super) sm: Option<SmState>,
    /// Stanzas that arrived while the session waited to be resumed, oldest first.
    pub(super) held: Vec<Bytes>,
    /// The resumption id and the channel takeover requests arrive on, when resumable.
    pub(super) resumption: Option<(String, mpsc::Receiver<Takeover<SessionState>>)>,
    /// Whether the client queried its archive on this session (see the module doc).
    pub(super) uses_mam: bool,
}

/// Waits for a new connection to resume `state`, holding what arrives meanwhile, for at most
/// `timeout`; then ends it for good. `max_held` bounds what is held: past it the session
/// ends early (its stanzas go offline rather than pile up in memory).
pub(super) async fn hibernate(
    shared: Arc<Shared>,
    mut state: SessionState,
    timeout: Duration,
    max_held: usize,
) {
    let Some((mut id, mut takeover)) = state.resumption.take() else {
        return finish(shared, state).await;
    };
    tracing::debug!(jid = %state.jid, "session waits to be resumed");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let reply = tokio::select! {
            biased;
            request = takeover.recv() => match request {
                Some(reply) => reply,
                None => break,
            },
            item = state.inbox.recv() => match item {
                Some(Outbound::Stanza(bytes, _)) => {
                    state.held.push(bytes);
                    if state.held.len() >= max_held {
                        tracing::debug!(jid = %state.jid, "too much held for a detached session; ending it");
                        break;
                    }
                    continue;
                }
                // Closed on purpose (account deleted, resource taken by a new login).
                Some(Outbound::Close(_)) | None => break,
            },
            () = tokio::time::sleep_until(deadline) => break,
        };
        state.resumption = Some((id, takeover));
        match reply.send(state) {
            Ok(()) => return,
            // The new connection went away first: the state is back, wait on.
            Err(back) => {
                state = back;
                let Some(r) = state.resumption.take() else {
                    return finish(shared, state).await;
                };
                (id, takeover) = r;
            }
        }
    }
    state.resumption = Some((id, takeover));
    finish(shared, state).await;
}

/// Ends a session for good (see the module doc). Callers box it: storage futures are large.
pub(super) async fn finish(shared: Arc<Shared>, mut state: SessionState) {
    let im = Arc::clone(&shared.im);
    if let Some((id, _)) = state.resumption.take() {
        im.resumptions.remove(&id);
    }
    let jid = state.jid.clone();
    // A session replaced by a newer login of the same resource says nothing: the resource
    // lives on in its replacement.
    if state.available && im.sessions.is_current(&jid, &state.handle) {
        let unavailable = xmpp_core::im::presence::unavailable_broadcast(&Jid::from(jid.clone()));
        let mut out = Outbox::detached();
        im.handle_broadcast(
            &jid,
            &state.handle,
            unavailable,
            None,
            true,
            &mut state.directed,
            &mut out,
        )
        .await;
    }
    im.sessions.unbind(&jid, &state.handle);
    im.forget_blocking(&jid);
    if !im.sessions.has_sessions(&jid.to_bare()) {
        im.forget_roster(&jid.to_bare()).await;
    }
    // What the client never acknowledged, then what it was never sent, in the order it
    // arrived.
    state.inbox.close();
    let mut queued: Vec<Bytes> = state
        .sm
        .take()
        .map(SmState::into_unacked)
        .unwrap_or_default();
    queued.append(&mut state.held);
    while let Ok(item) = state.inbox.try_recv() {
        if let Outbound::Stanza(bytes, _) = item {
            queued.push(bytes);
        }
    }
    let by = jid.bare_str().to_owned();
    let orphans: Vec<Stanza> = queued
        .iter()
        .filter_map(|b| parse_queued(b))
        .filter(|s| !(state.uses_mam && is_archived_for(s, &by)))
        .collect();
    if !orphans.is_empty() {
        tracing::debug!(%jid, count = orphans.len(), "routing again what the session was not acknowledged");
        im.reroute_orphans(orphans).await;
    }
}

/// Whether `stanza` carries the stanza-id of `account`'s archive: it was archived for the
/// account before it was delivered.
fn is_archived_for(stanza: &Stanza, account: &str) -> bool {
    stanza
        .payloads()
        .any(|p| xmpp_mam::rules::is_own_stanza_id(p, &[account]))
}
