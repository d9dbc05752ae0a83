//! The table of bound c2s sessions: who is online, and how to reach them.
//!
//! Each session task owns its socket; everyone else reaches it through a bounded channel of
//! [`Outbound`] items. Stanzas travel already serialised (`jabber:client`, no `xmlns` of their
//! own), so a stanza sent to several resources is written once (ARCHITECTURE.md principle 6).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use bytes::Bytes;
use tokio::sync::mpsc;
use xmpp_core::im::csi::{CsiClass, classify};
use xmpp_core::router::{BoundResource, SessionTable};
use xmpp_core::{BareJid, FullJid, Stanza, StreamError};

/// What other tasks can ask a session to do.
#[derive(Debug)]
pub enum Outbound {
    /// Write these bytes: one serialised stanza, with what XEP-0352 makes of it (worked out
    /// once by the sender, so that an inactive client's session need not classify it).
    Stanza(Bytes, CsiKind),
    /// Close the stream with this error (e.g. `conflict` when another login took the resource).
    Close(Box<StreamError>),
}

/// xmpp-core's [`CsiClass`] without the presence sender: one byte, so that an item is 40 bytes
/// instead of 64. Every session's channel allocates its first block of 32 items when it is
/// made, so this is 768 bytes less for every session, idle or not. The sender of a presence
/// is read back from the stanza only by a session whose client is inactive, the one case that
/// needs it ([`CsiKind::class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsiKind {
    /// [`CsiClass::Urgent`].
    Urgent,
    /// [`CsiClass::Presence`].
    Presence,
    /// [`CsiClass::Deferrable`].
    Deferrable,
}

impl CsiKind {
    fn of(class: &CsiClass) -> Self {
        match class {
            CsiClass::Presence { .. } => Self::Presence,
            CsiClass::Deferrable => Self::Deferrable,
            CsiClass::Urgent => Self::Urgent,
        }
    }

    /// The full class of `bytes`, queued with this kind. A presence whose sender cannot be
    /// read back (never: we serialised it) is urgent, so it is sent rather than lost.
    pub fn class(self, bytes: &[u8]) -> CsiClass {
        match self {
            Self::Urgent => CsiClass::Urgent,
            Self::Deferrable => CsiClass::Deferrable,
            Self::Presence => parse_queued(bytes)
                .and_then(|s| s.from().cloned())
                .map_or(CsiClass::Urgent, |from| CsiClass::Presence { from }),
        }
    }
}

impl Outbound {
    /// A stanza for another session's queue, serialised once in `jabber:client` without its
    /// own `xmlns` (the recipient's stream declares it).
    pub fn stanza(stanza: &Stanza) -> Self {
        let mut bytes = bytes::BytesMut::with_capacity(256);
        stanza
            .element()
            .write_in(&mut bytes, xmpp_core::ns::JABBER_CLIENT);
        Self::Stanza(bytes.freeze(), CsiKind::of(&classify(stanza)))
    }

    /// The stanza back from its queued form, for the rare item a session could not write
    /// (it ended first) and that must be routed again. `None` for a close request.
    pub fn to_stanza(&self) -> Option<Stanza> {
        match self {
            Self::Stanza(bytes, _) => parse_queued(bytes),
            Self::Close(_) => None,
        }
    }
}

/// A stanza back from the serialised form sessions queue and write (`jabber:client`, no
/// `xmlns` of its own): for items that were never written, or written and never
/// acknowledged (XEP-0198), and must be routed again.
pub fn parse_queued(bytes: &[u8]) -> Option<Stanza> {
    // Parsed inside a wrapper that declares the namespace the serialised form omits.
    let mut wrapped = Vec::with_capacity(bytes.len() + 40);
    wrapped.extend_from_slice(b"<w xmlns='jabber:client'>");
    wrapped.extend_from_slice(bytes);
    wrapped.extend_from_slice(b"</w>");
    let limits = xmpp_core::xml::Limits::default().for_own_output();
    let wrapper = xmpp_core::xml::parse_element(&wrapped, &limits).ok()?;
    let element = wrapper.children().next()?.clone();
    Stanza::from_element(element).ok()
}

/// How many outbound items a session may have waiting before senders get an error. A client
/// that stops reading must not make the server buffer without bound (security.md §1.3).
pub const OUTBOUND_QUEUE: usize = 1024;

/// A way to reach one session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    id: u64,
    tx: mpsc::Sender<Outbound>,
}

impl SessionHandle {
    /// A new handle and the receiving end its session task reads from.
    pub fn new() -> (Self, mpsc::Receiver<Outbound>) {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        (Self { id, tx }, rx)
    }

    /// Queues an item without waiting. Fails when the session is gone or its queue is full.
    pub fn try_send(&self, item: Outbound) -> Result<(), Outbound> {
        self.tx.try_send(item).map_err(|e| match e {
            mpsc::error::TrySendError::Full(item) | mpsc::error::TrySendError::Closed(item) => item,
        })
    }
}

/// The presence a session broadcast last, kept for probes and for the account's new resources.
#[derive(Debug, Clone)]
pub struct Presence {
    /// Its priority (RFC 6121 §4.7.2.3).
    pub priority: i8,
    /// The stanza as broadcast: `from` the full JID, no `to`.
    pub stanza: Arc<Stanza>,
}

#[derive(Debug)]
struct Entry {
    jid: FullJid,
    handle: SessionHandle,
    /// `Some` while the session is available (sent initial presence, not yet unavailable).
    presence: Option<Presence>,
    /// The session asked for the roster: it gets roster pushes (RFC 6121 §2.1.6).
    interested: bool,
    /// The session enabled message carbons (XEP-0280).
    carbons: bool,
}

impl Entry {
    fn new(jid: FullJid, handle: SessionHandle) -> Self {
        Self {
            jid,
            handle,
            presence: None,
            interested: false,
            carbons: false,
        }
    }
}

/// All bound sessions, by account.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    accounts: RwLock<HashMap<BareJid, Vec<Entry>>>,
}

impl SessionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `jid` to `handle`. Returns the handle of a session that held the same full JID
    /// before: the caller closes it with `conflict` (RFC 6120 §7.7.2.2, "override").
    pub fn bind(&self, jid: FullJid, handle: SessionHandle) -> Option<SessionHandle> {
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let entries = accounts.entry(jid.to_bare()).or_default();
        if let Some(existing) = entries.iter_mut().find(|e| e.jid == jid) {
            // The replacement starts unavailable and uninterested, as any new session.
            let old = std::mem::replace(existing, Entry::new(jid, handle));
            return Some(old.handle);
        }
        entries.push(Entry::new(jid, handle));
        None
    }

    /// Records the session's availability: `Some` after available presence, `None` after
    /// unavailable. Ignored when `jid` is no longer bound to `handle`'s session.
    pub fn set_presence(&self, jid: &FullJid, handle: &SessionHandle, presence: Option<Presence>) {
        self.with_entry(jid, handle, |e| e.presence = presence);
    }

    /// Whether `jid` is still bound to `handle`'s session (not replaced by a newer login).
    pub fn is_current(&self, jid: &FullJid, handle: &SessionHandle) -> bool {
        self.view()
            .0
            .get(&jid.to_bare())
            .and_then(|entries| entries.iter().find(|e| e.jid == *jid))
            .is_some_and(|e| e.handle.id == handle.id)
    }

    /// The account's available sessions with their current presence. The registry lock is
    /// released before this returns, so callers may loop over the result and deliver (a
    /// read guard held across a delivery would take the lock twice, and a waiting writer
    /// would then deadlock the two).
    pub fn available(&self, account: &BareJid) -> Vec<(FullJid, Presence)> {
        self.view().available(account)
    }

    /// The account's sessions that asked for the roster, the lock released as in
    /// [`available`](Self::available).
    pub fn interested(&self, account: &BareJid) -> Vec<FullJid> {
        self.view().interested(account)
    }

    /// Whether the account has any bound session.
    pub fn has_sessions(&self, account: &BareJid) -> bool {
        self.view().0.contains_key(account)
    }

    /// Turns message carbons on or off for the session (XEP-0280).
    pub fn set_carbons(&self, jid: &FullJid, handle: &SessionHandle, on: bool) {
        self.with_entry(jid, handle, |e| e.carbons = on);
    }

    /// Marks the session as interested in roster pushes.
    pub fn set_interested(&self, jid: &FullJid, handle: &SessionHandle) {
        self.with_entry(jid, handle, |e| e.interested = true);
    }

    fn with_entry(&self, jid: &FullJid, handle: &SessionHandle, f: impl FnOnce(&mut Entry)) {
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = accounts
            .get_mut(&jid.to_bare())
            .and_then(|entries| entries.iter_mut().find(|e| e.jid == *jid))
            .filter(|e| e.handle.id == handle.id)
        {
            f(entry);
        }
    }

    /// Removes `jid` if it is still bound to the session `handle` belongs to (a session that
    /// was replaced must not unbind its replacement).
    pub fn unbind(&self, jid: &FullJid, handle: &SessionHandle) {
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let bare = jid.to_bare();
        if let Some(entries) = accounts.get_mut(&bare) {
            entries.retain(|e| !(e.jid == *jid && e.handle.id == handle.id));
            if entries.is_empty() {
                accounts.remove(&bare);
            }
        }
    }

    /// Asks every session of `account` to close its stream with `error` (the account was
    /// deleted). Returns how many were asked. Each session unbinds itself as it ends.
    pub fn close_account(&self, account: &BareJid, error: &StreamError) -> usize {
        // The handles are collected first: nothing is sent under the registry lock.
        let handles: Vec<SessionHandle> = self
            .view()
            .0
            .get(account)
            .map_or_else(Vec::new, |e| e.iter().map(|e| e.handle.clone()).collect());
        for handle in &handles {
            // A session whose queue is full misses the close, as a replaced session does
            // (known limit: the queue is the only channel to a session); it cannot log in
            // again, and it ends at its next keep-alive failure or disconnect.
            let _ = handle.try_send(Outbound::Close(Box::new(error.clone())));
        }
        handles.len()
    }

    /// A consistent view for routing one stanza.
    pub fn view(&self) -> RegistryView<'_> {
        RegistryView(self.accounts.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many sessions are bound.
    pub fn len(&self) -> usize {
        self.view().0.values().map(Vec::len).sum()
    }

    /// Whether no session is bound.
    pub fn is_empty(&self) -> bool {
        self.view().0.is_empty()
    }
}

/// A read-locked view of the registry. Hold it only while routing one stanza.
#[derive(Debug)]
pub struct RegistryView<'a>(RwLockReadGuard<'a, HashMap<BareJid, Vec<Entry>>>);

impl RegistryView<'_> {
    /// The handle of the session bound to `jid`.
    pub fn handle(&self, jid: &FullJid) -> Option<SessionHandle> {
        self.0
            .get(&jid.to_bare())?
            .iter()
            .find(|e| e.jid == *jid)
            .map(|e| e.handle.clone())
    }

    /// The account's available sessions with their current presence.
    pub fn available(&self, account: &BareJid) -> Vec<(FullJid, Presence)> {
        self.0.get(account).map_or_else(Vec::new, |entries| {
            entries
                .iter()
                .filter_map(|e| e.presence.clone().map(|p| (e.jid.clone(), p)))
                .collect()
        })
    }

    /// Whether any session of the account is available with a non-negative priority (one that
    /// takes messages to the bare JID, RFC 6121 §8.5.2.1.1).
    pub fn takes_messages(&self, account: &BareJid) -> bool {
        self.0.get(account).is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e.presence.as_ref().is_some_and(|p| p.priority >= 0))
        })
    }

    /// Whether any session of the account enabled carbons.
    pub fn has_carbons(&self, account: &BareJid) -> bool {
        self.0
            .get(account)
            .is_some_and(|entries| entries.iter().any(|e| e.carbons))
    }

    /// The account's sessions that enabled carbons, with their handles.
    pub fn carbon_copies(&self, account: &BareJid) -> Vec<(FullJid, SessionHandle)> {
        self.0.get(account).map_or_else(Vec::new, |entries| {
            entries
                .iter()
                .filter(|e| e.carbons)
                .map(|e| (e.jid.clone(), e.handle.clone()))
                .collect()
        })
    }

    /// The account's sessions that asked for the roster (they get roster pushes).
    pub fn interested(&self, account: &BareJid) -> Vec<FullJid> {
        self.0.get(account).map_or_else(Vec::new, |entries| {
            entries
                .iter()
                .filter(|e| e.interested)
                .map(|e| e.jid.clone())
                .collect()
        })
    }
}

impl SessionTable for RegistryView<'_> {
    fn resources_of(&self, account: &BareJid, out: &mut Vec<BoundResource>) {
        if let Some(entries) = self.0.get(account) {
            out.extend(entries.iter().map(|e| BoundResource {
                jid: e.jid.clone(),
                availability: e.presence.as_ref().map(|p| p.priority),
            }));
        }
    }

    fn is_bound(&self, jid: &FullJid) -> bool {
        self.0
            .get(&jid.to_bare())
            .is_some_and(|entries| entries.iter().any(|e| e.jid == *jid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> FullJid {
        s.parse().expect("valid")
    }

    #[test]
    fn bind_replace_and_unbind() {
        let reg = SessionRegistry::new();
        let (a, _rx_a) = SessionHandle::new();
        let (b, _rx_b) = SessionHandle::new();
        assert!(reg.bind(full("u@example.org/r"), a.clone()).is_none());
        assert_eq!(reg.len(), 1);
        // Same resource again: the old handle comes back for closing.
        let old = reg
            .bind(full("u@example.org/r"), b.clone())
            .expect("replaced");
        assert_eq!(old.id, a.id);
        // The replaced session's unbind leaves the replacement alone.
        reg.unbind(&full("u@example.org/r"), &a);
        assert!(reg.view().is_bound(&full("u@example.org/r")));
        reg.unbind(&full("u@example.org/r"), &b);
        assert!(reg.is_empty());
    }

    #[test]
    fn resources_of_lists_every_bound_resource() {
        let reg = SessionRegistry::new();
        for r in ["a", "b"] {
            let (h, _rx) = SessionHandle::new();
            reg.bind(full(&format!("u@example.org/{r}")), h);
        }
        let mut out = Vec::new();
        reg.view()
            .resources_of(&"u@example.org".parse().expect("valid"), &mut out);
        let mut jids: Vec<_> = out.into_iter().map(|r| r.jid).collect();
        jids.sort();
        assert_eq!(jids, vec![full("u@example.org/a"), full("u@example.org/b")]);
    }

    #[test]
    fn a_queued_stanza_reads_back_as_it_was() {
        let xml = "<message xmlns='jabber:client' from='a@example.org/r' to='b@example.org' \
                   type='chat' id='1'><body>x &lt; y ✓</body></message>";
        let element: xmpp_core::Element = xml.parse().expect("well-formed");
        let stanza = Stanza::from_element(element).expect("valid");
        let queued = Outbound::stanza(&stanza);
        let Outbound::Stanza(bytes, _) = &queued else {
            panic!("a stanza item")
        };
        // Serialised without its own namespace declaration.
        assert!(!String::from_utf8_lossy(bytes).contains("xmlns"));
        assert_eq!(queued.to_stanza(), Some(stanza));
        let close = Outbound::Close(Box::new(StreamError::new(
            xmpp_core::StreamCondition::Conflict,
        )));
        assert_eq!(close.to_stanza(), None);
    }

    /// The kind travels in one byte and gives back the whole class where it is needed: the
    /// presence sender is read from the queued bytes.
    #[test]
    fn csi_kind_gives_back_the_class() {
        assert_eq!(std::mem::size_of::<Outbound>(), 40);
        let stanza = |xml: &str| {
            let element = xml.parse().unwrap_or_else(|e| panic!("{e}"));
            Stanza::from_element(element).unwrap_or_else(|e| panic!("{e:?}"))
        };
        let presence = stanza(
            "<presence xmlns='jabber:client' from='juliet@example.com/balcony' \
             to='romeo@example.net'><show>away</show></presence>",
        );
        let chat_state = stanza(
            "<message xmlns='jabber:client' from='juliet@example.com/balcony' \
             to='romeo@example.net' type='chat'>\
             <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        let body = stanza(
            "<message xmlns='jabber:client' from='juliet@example.com/balcony' \
             to='romeo@example.net' type='chat'><body>hi</body></message>",
        );
        for s in [&presence, &chat_state, &body] {
            let Outbound::Stanza(bytes, kind) = Outbound::stanza(s) else {
                unreachable!("a stanza")
            };
            assert_eq!(kind.class(&bytes), classify(s), "{s:?}");
        }
        let Outbound::Stanza(_, kind) = Outbound::stanza(&presence) else {
            unreachable!("a stanza")
        };
        assert_eq!(kind, CsiKind::Presence);
        // Unreadable bytes: sent, not held.
        assert_eq!(CsiKind::Presence.class(b"<presence"), CsiClass::Urgent);
    }

    #[test]
    fn a_full_queue_refuses_instead_of_growing() {
        let (h, _rx) = SessionHandle::new();
        for _ in 0..OUTBOUND_QUEUE {
            assert!(
                h.try_send(Outbound::Stanza(
                    Bytes::from_static(b"<x/>"),
                    CsiKind::Urgent
                ))
                .is_ok()
            );
        }
        assert!(
            h.try_send(Outbound::Stanza(
                Bytes::from_static(b"<x/>"),
                CsiKind::Urgent
            ))
            .is_err()
        );
    }
}
