//! Blocking (XEP-0191) wired: the block lists in memory, the blocking iqs with their pushes
//! and presence consequences, and the check every stanza a local user sends goes through.
//!
//! The decisions are xmpp-core's (`xmpp_core::blocking`): what a request asks, which JIDs a
//! list blocks, what a blocked stanza gets. This module loads the lists, stores changes and
//! delivers what they call for.
//!
//! Block lists are cached like rosters (`cache.rs`), with one difference: a stanza to a local
//! account needs the recipient's list whether or not the recipient is online, so lists of
//! accounts without sessions are cached too, at most [`MAX_IDLE`] of them (oldest dropped
//! first). Lists of accounts with sessions stay until the last session ends. A list changes
//! only through [`Im::handle_blocking_iq`], under the account's lock, which writes storage
//! first and then the cached copy; a load that raced with a change is not cached (a
//! generation counter tells), so the cache never holds a list older than storage for long.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use xmpp_core::blocking::{
    BlockList, BlockListStore, BlockingRequest, InboundBlock, block_push, blocklist_result,
    inbound_decision, outbound_error, unblock_push,
};
use xmpp_core::im::presence::{readdress, unavailable};
use xmpp_core::{BareJid, FullJid, Jid, Stanza, StanzaCondition, StanzaError};

use super::{Im, Outbox, storage_error};
use crate::router::SessionRegistry;
use crate::storage::{AccountJid, StorageError};

/// How many block lists of accounts without sessions stay cached. Most are empty (a few dozen
/// bytes each); the bound keeps stanzas to many different offline or unknown accounts from
/// growing memory.
pub(crate) const MAX_IDLE: usize = 8192;

/// The most JIDs one block list may hold: a block request that would go beyond it gets
/// `not-allowed` (the list is kept in memory while the account is online).
pub(crate) const MAX_BLOCKED: usize = 10_000;

/// What the session does with a stanza its user sent, before routing it
/// ([`Im::check_blocking`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// Route it as usual.
    No,
    /// Neither route nor answer it.
    DropSilently,
    /// Do not route it; send this to the sender instead.
    Reply(Stanza),
}

/// The cached block lists, and which sessions asked for theirs (they get pushes, §3.3).
#[derive(Debug, Default)]
pub(crate) struct BlockLists {
    inner: Mutex<Inner>,
    /// Handed out for JIDs that cannot have a list (remote, or without a localpart).
    empty: Arc<BlockList>,
}

#[derive(Debug, Default)]
struct Inner {
    lists: HashMap<BareJid, Cached>,
    /// Accounts whose list was cached while they had no session, oldest first (with
    /// repeats): the candidates for eviction. Every unpinned entry appears here.
    idle: VecDeque<BareJid>,
    /// Bumped by every change of a cached list: a load that started before cannot be cached.
    generation: u64,
    /// The sessions that asked for their account's list.
    requested: HashMap<BareJid, Vec<FullJid>>,
}

#[derive(Debug)]
struct Cached {
    list: Arc<BlockList>,
    /// The account had sessions when the list was cached: kept until they end.
    pinned: bool,
}

impl Inner {
    fn insert(&mut self, account: &BareJid, list: Arc<BlockList>, online: bool) {
        let previous = self.lists.insert(
            account.clone(),
            Cached {
                list,
                pinned: online,
            },
        );
        // An unpinned entry that was there already has its place in the queue.
        if !online && previous.is_none_or(|p| p.pinned) {
            self.idle.push_back(account.clone());
            self.evict();
        }
    }

    fn evict(&mut self) {
        while self.idle.len() > MAX_IDLE {
            let Some(account) = self.idle.pop_front() else {
                return;
            };
            if self.lists.get(&account).is_some_and(|c| !c.pinned) {
                self.lists.remove(&account);
            }
        }
    }
}

impl BlockLists {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // Every change is a few map operations that cannot panic half-way in a way that
        // matters: a cache entry lost or kept only costs a load.
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The empty list, for JIDs that cannot block anyone here.
    pub(crate) fn empty(&self) -> Arc<BlockList> {
        Arc::clone(&self.empty)
    }

    /// The block list of `account`: from memory, or loaded from `storage` and cached (pinned
    /// while the account has sessions in `sessions`, bounded otherwise).
    pub(crate) async fn list<S>(
        &self,
        storage: &S,
        sessions: &SessionRegistry,
        account: &BareJid,
    ) -> Result<Arc<BlockList>, S::Error>
    where
        S: BlockListStore + Sync,
    {
        let generation = match self.cached(account) {
            Ok(list) => return Ok(list),
            Err(generation) => generation,
        };
        let list = Arc::new(BlockList::from_jids(storage.blocklist(account).await?));
        let online = sessions.has_sessions(account);
        self.insert_loaded(account, Arc::clone(&list), generation, online);
        Ok(list)
    }

    /// The cached list, or the generation to hand to [`insert_loaded`](Self::insert_loaded)
    /// after loading it.
    fn cached(&self, account: &BareJid) -> Result<Arc<BlockList>, u64> {
        self.with(|inner| match inner.lists.get(account) {
            Some(c) => Ok(Arc::clone(&c.list)),
            None => Err(inner.generation),
        })
    }

    /// Caches a list loaded from storage, unless a list changed since `generation` was
    /// read (the load may have read storage before that change was written). Returns
    /// whether it was cached.
    fn insert_loaded(
        &self,
        account: &BareJid,
        list: Arc<BlockList>,
        generation: u64,
        online: bool,
    ) -> bool {
        self.with(|inner| {
            if inner.generation != generation || inner.lists.contains_key(account) {
                return false;
            }
            inner.insert(account, list, online);
            true
        })
    }

    /// Replaces the cached list of `account` by `list`, just written to storage under the
    /// account's lock.
    pub(crate) fn put(&self, account: &BareJid, list: Arc<BlockList>, online: bool) {
        self.with(|inner| {
            inner.generation += 1;
            inner.insert(account, list, online);
        });
    }

    /// Forgets everything about `account` (it was deleted).
    pub(crate) fn discard(&self, account: &BareJid) {
        self.with(|inner| {
            inner.generation += 1;
            inner.lists.remove(account);
            inner.requested.remove(account);
        });
    }

    /// Remembers that the session bound as `jid` asked for its list.
    pub(crate) fn set_requested(&self, jid: &FullJid) {
        self.with(|inner| {
            let sessions = inner.requested.entry(jid.to_bare()).or_default();
            if !sessions.contains(jid) {
                sessions.push(jid.clone());
            }
        });
    }

    /// The sessions of `account` that asked for its list.
    pub(crate) fn requested(&self, account: &BareJid) -> Vec<FullJid> {
        self.with(|inner| inner.requested.get(account).cloned().unwrap_or_default())
    }

    /// The session bound as `jid` ended. `still_bound`: another session holds the same full
    /// JID now (it replaced this one); it keeps the flag, since telling the replacement too
    /// much is better than leaving it with a stale list. `account_online`: the account has
    /// other sessions; without any, its list becomes an ordinary, evictable entry.
    pub(crate) fn session_ended(&self, jid: &FullJid, still_bound: bool, account_online: bool) {
        let account = jid.to_bare();
        self.with(|inner| {
            if !still_bound && let Some(sessions) = inner.requested.get_mut(&account) {
                sessions.retain(|s| s != jid);
                if sessions.is_empty() {
                    inner.requested.remove(&account);
                }
            }
            if !account_online {
                inner.requested.remove(&account);
                if let Some(c) = inner.lists.get_mut(&account)
                    && c.pinned
                {
                    c.pinned = false;
                    inner.idle.push_back(account);
                    inner.evict();
                }
            }
        });
    }
}

/// A change of a block list.
enum Change {
    Block(Vec<Jid>),
    Unblock(Vec<Jid>),
    UnblockAll,
}

impl Im {
    /// The block list of `account`: empty for a JID that is not a local account (remote
    /// users' lists are their servers' business), cached otherwise.
    pub(crate) async fn blocklist(
        &self,
        account: &BareJid,
    ) -> Result<Arc<BlockList>, StorageError> {
        if account.localpart().is_none() || !self.router.is_hosted(account.domain()) {
            return Ok(self.blocklists.empty());
        }
        self.blocklists
            .list(&self.storage, &self.sessions, account)
            .await
    }

    /// Answers a blocking iq the router identified (addressed to the sender's own account,
    /// payload in `urn:xmpp:blocking`): get the list, block, unblock, unblock all (§3.2–§3.5).
    pub(crate) async fn handle_blocking_iq(&self, sender: &FullJid, iq: &Stanza, out: &mut Outbox) {
        let Ok(user) = AccountJid::try_from(sender.to_bare()) else {
            return;
        };
        let request = match BlockingRequest::parse(iq) {
            Some(Ok(request)) => request,
            Some(Err(e)) => return out.reply_error(iq, e.into()),
            // Not a get or set with a blocking payload: nothing here answers it (a result or
            // an error gets no answer).
            None => {
                return out.reply_error(iq, StanzaError::new(StanzaCondition::ServiceUnavailable));
            }
        };
        let change = match request {
            BlockingRequest::Get => return self.answer_blocklist(sender, &user, iq, out).await,
            BlockingRequest::Block(jids) => Change::Block(jids),
            BlockingRequest::Unblock(jids) if jids.is_empty() => Change::UnblockAll,
            BlockingRequest::Unblock(jids) => Change::Unblock(jids),
        };
        self.change_blocklist(&user, iq, change, out).await;
    }

    /// §3.2: the list, and the session gets pushes from now on.
    async fn answer_blocklist(
        &self,
        sender: &FullJid,
        user: &AccountJid,
        iq: &Stanza,
        out: &mut Outbox,
    ) {
        // Under the lock, so that a change either comes before (and is in the answer) or
        // after (and is pushed, queued behind the answer).
        let _guard = self.locks.lock(user.as_bare()).await;
        match self.blocklist(user.as_bare()).await {
            Ok(list) => {
                self.blocklists.set_requested(sender);
                out.to_sender.extend(blocklist_result(iq, list.jids()));
            }
            Err(e) => out.reply_error(iq, storage_error(&e)),
        }
    }

    /// §3.3–§3.5: stores the change, answers, pushes it to the sessions that asked for the
    /// list, and tells contacts whose view of the user changes.
    async fn change_blocklist(
        &self,
        user: &AccountJid,
        iq: &Stanza,
        change: Change,
        out: &mut Outbox,
    ) {
        let bare = user.as_bare();
        let guard = self.locks.lock(bare).await;
        let old = match self.blocklist(bare).await {
            Ok(list) => list,
            Err(e) => return out.reply_error(iq, storage_error(&e)),
        };
        let mut new = BlockList::clone(&old);
        let stored = match &change {
            Change::Block(jids) => {
                new.block(jids);
                if new.len() > MAX_BLOCKED {
                    return out.reply_error(
                        iq,
                        StanzaError::new(StanzaCondition::NotAllowed)
                            .with_text(Some("en"), "the block list is full"),
                    );
                }
                BlockListStore::block(&self.storage, bare, jids).await
            }
            Change::Unblock(jids) => {
                new.unblock(jids);
                BlockListStore::unblock(&self.storage, bare, jids).await
            }
            Change::UnblockAll => {
                new.unblock_all();
                BlockListStore::unblock_all(&self.storage, bare).await
            }
        };
        if let Err(e) = stored {
            return out.reply_error(iq, storage_error(&e));
        }
        let new = Arc::new(new);
        self.blocklists
            .put(bare, Arc::clone(&new), self.sessions.has_sessions(bare));
        // Read under the lock, as the get that adds to it runs under it.
        let requested = self.blocklists.requested(bare);
        drop(guard);
        out.to_sender.extend(iq.iq_result(None));
        for to in requested {
            let id = format!("push{}", self.next_push_id.fetch_add(1, Ordering::Relaxed));
            let push = match &change {
                Change::Block(jids) => block_push(&to, &id, jids),
                Change::Unblock(jids) => unblock_push(&to, &id, jids),
                Change::UnblockAll => unblock_push(&to, &id, &[]),
            };
            self.send(out, &to, push);
        }
        self.blocking_presence(user, &old, &new, out).await;
    }

    /// The presence consequences of a change from `old` to `new`, for each resource of a
    /// contact whose blocked state changed: a contact that may see the user's presence gets
    /// `unavailable` from each of the user's available resources when blocked (§3.3) and
    /// their current presence when unblocked (§3.4); likewise the user's resources see a
    /// contact they may see go offline when blocked and come back when unblocked, since no
    /// presence of it reaches them in between. Available presence never goes where the
    /// receiving side's own list blocks the sender.
    async fn blocking_presence(
        &self,
        user: &AccountJid,
        old: &BlockList,
        new: &BlockList,
        out: &mut Outbox,
    ) {
        let bare = user.as_bare();
        let mine = self.sessions.available(bare);
        if mine.is_empty() {
            // Offline: nobody sees the user, and the user sees nobody.
            return;
        }
        let stored = match self.stored_roster(user).await {
            Ok(r) => r,
            Err(e) => {
                storage_error(&e);
                return;
            }
        };
        let changed = |jid: &FullJid| old.is_blocked(jid.as_jid()) != new.is_blocked(jid.as_jid());

        // The user's presence, to contacts allowed to see it.
        for contact in self.presence_subscribers(bare, &stored) {
            if contact == *bare {
                continue;
            }
            let resources: Vec<FullJid> = self
                .sessions
                .available(&contact)
                .into_iter()
                .map(|(jid, _)| jid)
                .filter(|jid| changed(jid))
                .collect();
            if resources.is_empty() {
                continue;
            }
            let Some(theirs) = self.blocklist_or_log(&contact).await else {
                continue;
            };
            let to = Jid::from(contact.clone());
            for resource in resources {
                let now_blocked = new.is_blocked(resource.as_jid());
                for (jid, presence) in &mine {
                    let stanza = if now_blocked {
                        unavailable(jid.as_jid(), &to)
                    } else if theirs.is_blocked(jid.as_jid()) {
                        continue;
                    } else {
                        readdress(&presence.stanza, &to)
                    };
                    self.send(out, &resource, stanza);
                }
            }
        }

        // The contacts' presence, to the user's resources, where the user may see it.
        let (contacts, shared) = self.presence_sources(bare, &stored);
        for contact in contacts {
            let resources: Vec<_> = self
                .sessions
                .available(&contact)
                .into_iter()
                .filter(|(jid, _)| changed(jid))
                .collect();
            if resources.is_empty() || !self.grants_presence(&contact, bare, &shared).await {
                continue;
            }
            let Some(theirs) = self.blocklist_or_log(&contact).await else {
                continue;
            };
            for (resource, presence) in resources {
                let now_blocked = new.is_blocked(resource.as_jid());
                for (jid, _) in &mine {
                    let me = Jid::from(jid.clone());
                    let stanza = if now_blocked {
                        unavailable(resource.as_jid(), &me)
                    } else if theirs.is_blocked(jid.as_jid()) {
                        continue;
                    } else {
                        readdress(&presence.stanza, &me)
                    };
                    self.send(out, jid, stanza);
                }
            }
        }
    }

    /// The block list of `account`, or `None` after logging a storage failure: callers that
    /// would send presence send none (never show presence a list may forbid).
    pub(crate) async fn blocklist_or_log(&self, account: &BareJid) -> Option<Arc<BlockList>> {
        match self.blocklist(account).await {
            Ok(list) => Some(list),
            Err(e) => {
                storage_error(&e);
                None
            }
        }
    }

    /// Whether a stanza the user bound as `sender` sent may be routed, by the block lists
    /// (§3.3): not when the sender blocks its recipient (answered with `not-acceptable` and
    /// `<blocked/>`), nor when the recipient is a local account that blocks the sender
    /// (presence dropped, messages and iq requests answered with `service-unavailable`, as
    /// for an account that is offline). Called for every stanza a client sends, before it is
    /// routed; stanzas to the user's own account and to the server itself are never blocked.
    /// Both lists are cached after the first look, empty ones included.
    pub(crate) async fn check_blocking(&self, sender: &FullJid, stanza: &Stanza) -> Blocked {
        let Some(to) = stanza.to() else {
            return Blocked::No;
        };
        if to.bare_str() == sender.bare_str() {
            return Blocked::No;
        }
        let hosted = self.router.is_hosted(to.domain());
        if hosted && to.localpart().is_none() {
            return Blocked::No;
        }
        let mine = match self.blocklist(&sender.to_bare()).await {
            Ok(list) => list,
            Err(e) => return failed(sender, stanza, &e),
        };
        if let Some(blocked) = outbound(sender, stanza, &mine) {
            return blocked;
        }
        if !hosted {
            return Blocked::No;
        }
        match self.blocklist(&to.to_bare()).await {
            Ok(theirs) => inbound(sender, stanza, &theirs).unwrap_or(Blocked::No),
            Err(e) => failed(sender, stanza, &e),
        }
    }

    /// A session ended and was unbound: it no longer gets pushes, and once the account has
    /// no session its list may be evicted. Call after `SessionRegistry::unbind`.
    pub(crate) fn forget_blocking(&self, jid: &FullJid) {
        let still_bound = {
            use xmpp_core::router::SessionTable as _;
            self.sessions.view().is_bound(jid)
        };
        let account_online = self.sessions.has_sessions(&jid.to_bare());
        self.blocklists
            .session_ended(jid, still_bound, account_online);
    }

    /// Drops the cached list of a deleted account.
    pub(crate) fn discard_blocklist(&self, account: &BareJid) {
        self.blocklists.discard(account);
    }
}

/// A copy of `stanza` with `from` stamped as the router would: the session checks stanzas
/// before routing, and an answer needs the sender as its `to`.
fn stamped(stanza: &Stanza, sender: &FullJid) -> Stanza {
    let mut stanza = stanza.clone();
    stanza.set_from(Some(Jid::from(sender.clone())));
    stanza
}

/// §3.3: the sender blocks the recipient.
fn outbound(sender: &FullJid, stanza: &Stanza, mine: &BlockList) -> Option<Blocked> {
    mine.blocks_outbound(stanza).then(|| {
        outbound_error(&stamped(stanza, sender)).map_or(Blocked::DropSilently, Blocked::Reply)
    })
}

/// §3.3: the recipient blocks the sender.
fn inbound(sender: &FullJid, stanza: &Stanza, theirs: &BlockList) -> Option<Blocked> {
    theirs
        .is_blocked(sender.as_jid())
        .then(|| match inbound_decision(stanza) {
            InboundBlock::DropSilently => Blocked::DropSilently,
            InboundBlock::Error(error) => stamped(stanza, sender)
                .error_reply(error)
                .map_or(Blocked::DropSilently, Blocked::Reply),
        })
}

/// A list could not be read: the stanza is not routed (it might be one a list forbids), and
/// the sender learns it may try again.
fn failed(sender: &FullJid, stanza: &Stanza, e: &StorageError) -> Blocked {
    stamped(stanza, sender)
        .error_reply(storage_error(e))
        .map_or(Blocked::DropSilently, Blocked::Reply)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::SystemTime;

    use tokio::sync::mpsc;
    use xmpp_core::blocking::MemoryBlockListStore;
    use xmpp_core::roster::{RosterItem, RosterLimits, State, SubState};
    use xmpp_core::router::{Router, ServerInfo};
    use xmpp_core::{Element, StanzaKind, ns};

    use super::*;
    use crate::im::{ArchiveSettings, ImLimits, OfflineLimits};
    use crate::router::{Outbound, Presence, SessionHandle};
    use crate::storage::{DatabaseUrl, Storage, StorageOptions};

    fn bare(s: &str) -> BareJid {
        s.parse().unwrap()
    }

    fn full(s: &str) -> FullJid {
        s.parse().unwrap()
    }

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn stanza(xml: &str) -> Stanza {
        Stanza::from_element(xml.parse::<Element>().unwrap()).unwrap()
    }

    /// A store that counts its loads.
    #[derive(Default)]
    struct Counting {
        store: MemoryBlockListStore,
        loads: AtomicUsize,
    }

    impl BlockListStore for Counting {
        type Error = core::convert::Infallible;

        async fn blocklist(&self, owner: &BareJid) -> Result<Vec<Jid>, Self::Error> {
            self.loads.fetch_add(1, Ordering::Relaxed);
            self.store.blocklist(owner).await
        }

        async fn block(&self, owner: &BareJid, jids: &[Jid]) -> Result<(), Self::Error> {
            self.store.block(owner, jids).await
        }

        async fn unblock(&self, owner: &BareJid, jids: &[Jid]) -> Result<(), Self::Error> {
            self.store.unblock(owner, jids).await
        }

        async fn unblock_all(&self, owner: &BareJid) -> Result<(), Self::Error> {
            self.store.unblock_all(owner).await
        }
    }

    fn bind(sessions: &SessionRegistry, jid: &str) -> (SessionHandle, mpsc::Receiver<Outbound>) {
        let (handle, rx) = SessionHandle::new();
        sessions.bind(full(jid), handle.clone());
        (handle, rx)
    }

    #[tokio::test]
    async fn a_list_is_loaded_once_then_served_from_memory() {
        let store = Counting::default();
        store
            .store
            .block(&bare("a@example.org"), &[jid("spam.example")])
            .await
            .unwrap();
        let sessions = SessionRegistry::new();
        let lists = BlockLists::default();
        let a = bare("a@example.org");
        for _ in 0..3 {
            let list = lists.list(&store, &sessions, &a).await.unwrap();
            assert!(list.is_blocked(&jid("bot@muc.spam.example")));
        }
        // An empty list is cached as well: the common case costs no query either.
        let b = bare("b@example.org");
        for _ in 0..3 {
            assert!(lists.list(&store, &sessions, &b).await.unwrap().is_empty());
        }
        assert_eq!(store.loads.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_load_that_raced_with_a_change_is_not_cached() {
        let lists = BlockLists::default();
        let a = bare("a@example.org");
        let Err(generation) = lists.cached(&a) else {
            panic!("nothing cached yet");
        };
        // The change is written (storage, then cache) while the load was reading storage.
        let changed = Arc::new(BlockList::from_jids([jid("romeo@montague.net")]));
        lists.put(&a, Arc::clone(&changed), true);
        let stale = Arc::new(BlockList::new());
        assert!(!lists.insert_loaded(&a, stale, generation, true));
        assert_eq!(lists.cached(&a).ok(), Some(changed));
        // A load with the current generation is cached, for another account too.
        let Err(generation) = lists.cached(&bare("b@example.org")) else {
            panic!("not cached");
        };
        assert!(lists.insert_loaded(
            &bare("b@example.org"),
            Arc::new(BlockList::new()),
            generation,
            false
        ));
        assert!(lists.cached(&bare("b@example.org")).is_ok());
    }

    #[test]
    fn lists_of_offline_accounts_are_bounded_and_online_ones_stay() {
        let lists = BlockLists::default();
        let online = bare("online@example.org");
        lists.put(&online, Arc::new(BlockList::new()), true);
        for i in 0..MAX_IDLE + 100 {
            lists.put(
                &bare(&format!("u{i}@example.org")),
                Arc::new(BlockList::new()),
                false,
            );
        }
        let (count, idle) = lists.with(|inner| (inner.lists.len(), inner.idle.len()));
        assert_eq!(count, MAX_IDLE + 1);
        assert_eq!(idle, MAX_IDLE);
        assert!(lists.cached(&online).is_ok(), "pinned while online");
        // The oldest offline ones went first.
        assert!(lists.cached(&bare("u0@example.org")).is_err());
        assert!(
            lists
                .cached(&bare(&format!("u{}@example.org", MAX_IDLE + 99)))
                .is_ok()
        );
        // Once its last session ends, the online account's list is one of the idle ones.
        lists.session_ended(&full("online@example.org/r"), false, false);
        for i in 0..MAX_IDLE {
            lists.put(
                &bare(&format!("v{i}@example.org")),
                Arc::new(BlockList::new()),
                false,
            );
        }
        assert!(lists.cached(&online).is_err());
        assert_eq!(lists.with(|inner| inner.lists.len()), MAX_IDLE);
    }

    #[test]
    fn pushes_go_to_the_sessions_that_asked_until_they_end() {
        let lists = BlockLists::default();
        let a = bare("a@example.org");
        lists.set_requested(&full("a@example.org/one"));
        lists.set_requested(&full("a@example.org/one"));
        lists.set_requested(&full("a@example.org/two"));
        assert_eq!(
            lists.requested(&a),
            [full("a@example.org/one"), full("a@example.org/two")]
        );
        // Replaced by a new login of the same resource: the flag stays with the resource.
        lists.session_ended(&full("a@example.org/one"), true, true);
        assert_eq!(lists.requested(&a).len(), 2);
        lists.session_ended(&full("a@example.org/one"), false, true);
        assert_eq!(lists.requested(&a), [full("a@example.org/two")]);
        lists.session_ended(&full("a@example.org/two"), false, false);
        assert!(lists.requested(&a).is_empty());
        lists.set_requested(&full("a@example.org/three"));
        lists.discard(&a);
        assert!(lists.requested(&a).is_empty());
    }

    #[test]
    fn outbound_to_a_blocked_jid_is_answered_with_blocked() {
        let sender = full("juliet@capulet.com/balcony");
        let mine = BlockList::from_jids([jid("romeo@montague.net")]);
        let message = stanza(
            "<message xmlns='jabber:client' to='romeo@montague.net/orchard' id='m1'>\
             <body>Can you hear me now?</body></message>",
        );
        let Some(Blocked::Reply(reply)) = outbound(&sender, &message, &mine) else {
            panic!("answered");
        };
        assert!(reply.is_error());
        assert_eq!(reply.to(), Some(sender.as_jid()));
        assert_eq!(reply.from(), Some(&jid("romeo@montague.net/orchard")));
        let error = reply
            .element()
            .get_child("error", ns::JABBER_CLIENT)
            .unwrap();
        assert!(
            error
                .get_child("not-acceptable", ns::XMPP_STANZAS)
                .is_some()
        );
        assert!(error.get_child("blocked", ns::BLOCKING_ERRORS).is_some());
        // An error is never answered; a JID that is not blocked passes.
        let error = stanza(
            "<message xmlns='jabber:client' to='romeo@montague.net' type='error' id='m2'>\
             <error type='cancel'><item-not-found \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        );
        assert_eq!(
            outbound(&sender, &error, &mine),
            Some(Blocked::DropSilently)
        );
        let other = stanza("<message xmlns='jabber:client' to='nurse@capulet.com'/>");
        assert_eq!(outbound(&sender, &other, &mine), None);
    }

    #[test]
    fn inbound_from_a_blocked_sender_looks_offline() {
        let sender = full("romeo@montague.net/orchard");
        let theirs = BlockList::from_jids([jid("montague.net")]);
        let presence =
            stanza("<presence xmlns='jabber:client' to='juliet@capulet.com' type='subscribe'/>");
        assert_eq!(
            inbound(&sender, &presence, &theirs),
            Some(Blocked::DropSilently)
        );
        let iq = stanza(
            "<iq xmlns='jabber:client' to='juliet@capulet.com/balcony' type='get' id='v1'>\
             <query xmlns='jabber:iq:version'/></iq>",
        );
        let Some(Blocked::Reply(reply)) = inbound(&sender, &iq, &theirs) else {
            panic!("answered");
        };
        assert_eq!(reply.iq_type(), Some(xmpp_core::IqType::Error));
        assert_eq!(reply.to(), Some(sender.as_jid()));
        let result = stanza(
            "<iq xmlns='jabber:client' to='juliet@capulet.com/balcony' type='result' id='v2'/>",
        );
        assert_eq!(
            inbound(&sender, &result, &theirs),
            Some(Blocked::DropSilently)
        );
        assert_eq!(inbound(&full("nurse@capulet.com/r"), &iq, &theirs), None);
    }

    // The IM core over SQLite in memory, with two accounts.

    async fn im() -> Im {
        let storage = Storage::open(&DatabaseUrl::SqliteMemory, &StorageOptions::default())
            .await
            .unwrap();
        let credentials = xmpp_sasl::StoredCredentials::generate_all(
            "secret",
            4096,
            &mut xmpp_sasl::FixedRng::new(1),
        )
        .unwrap();
        for account in ["alice@example.org", "bob@example.org"] {
            let account = AccountJid::try_from(bare(account)).unwrap();
            storage
                .create_account(&account, &credentials)
                .await
                .unwrap();
        }
        let limits = ImLimits {
            max_roster_items: 100,
            roster: RosterLimits::default(),
            offline: OfflineLimits {
                default: 10,
                by_class: std::collections::BTreeMap::new(),
            },
            archive: ArchiveSettings::default(),
        };
        let info = ServerInfo::new("Chatrix", "test", SystemTime::now());
        Im::new(
            storage,
            Router::new(["example.org".to_owned()], info),
            limits,
        )
    }

    /// Binds `jid`, available with an empty presence.
    fn online(im: &Im, jid: &str) -> mpsc::Receiver<Outbound> {
        let (handle, rx) = bind(&im.sessions, jid);
        let presence = stanza(&format!("<presence xmlns='jabber:client' from='{jid}'/>"));
        im.sessions.set_presence(
            &full(jid),
            &handle,
            Some(Presence {
                priority: 0,
                stanza: Arc::new(presence),
            }),
        );
        rx
    }

    fn queued(rx: &mut mpsc::Receiver<Outbound>) -> Vec<Stanza> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|item| item.to_stanza())
            .collect()
    }

    async fn both_ways(im: &Im, a: &str, b: &str) {
        for (owner, contact) in [(a, b), (b, a)] {
            let mut item = RosterItem::new(bare(contact));
            item.set_state(State::new(SubState::Both));
            let owner = AccountJid::try_from(bare(owner)).unwrap();
            im.storage.put_roster_item(&owner, &item).await.unwrap();
        }
    }

    fn iq(payload: &str) -> Stanza {
        stanza(&format!(
            "<iq xmlns='jabber:client' type='set' id='b1'>{payload}</iq>"
        ))
    }

    #[tokio::test]
    async fn block_and_unblock_store_push_check_and_tell_presence() {
        let im = im().await;
        both_ways(&im, "alice@example.org", "bob@example.org").await;
        let alice = full("alice@example.org/home");
        let mut alice_rx = online(&im, "alice@example.org/home");
        let mut phone_rx = online(&im, "alice@example.org/phone");
        let mut bob_rx = online(&im, "bob@example.org/desk");
        let bob = full("bob@example.org/desk");

        // The phone asks for the list: it gets pushes; home never asked.
        let mut out = Outbox::for_sender(&full("alice@example.org/phone"));
        let get = stanza(
            "<iq xmlns='jabber:client' type='get' id='g1'>\
             <blocklist xmlns='urn:xmpp:blocking'/></iq>",
        );
        im.handle_blocking_iq(&full("alice@example.org/phone"), &get, &mut out)
            .await;
        let [result] = out.to_sender.as_slice() else {
            panic!("{:?}", out.to_sender);
        };
        let list = result.iq_payload().unwrap();
        assert!(list.is("blocklist", ns::BLOCKING) && list.children().next().is_none());

        let mut out = Outbox::for_sender(&alice);
        let block = iq("<block xmlns='urn:xmpp:blocking'><item jid='bob@example.org'/></block>");
        im.handle_blocking_iq(&alice, &block, &mut out).await;
        // The result, then bob's presence going away for alice's own session.
        assert_eq!(out.to_sender[0].iq_type(), Some(xmpp_core::IqType::Result));
        assert!(
            out.to_sender[1..]
                .iter()
                .all(|s| { s.kind() == StanzaKind::Presence && s.from() == Some(bob.as_jid()) })
        );
        assert_eq!(out.to_sender.len(), 2);
        let stored = BlockListStore::blocklist(&im.storage, &bare("alice@example.org"))
            .await
            .unwrap();
        assert_eq!(stored, [jid("bob@example.org")]);
        // The push went to the phone, which asked, with bob's presence gone.
        let phone = queued(&mut phone_rx);
        assert!(
            phone
                .iter()
                .any(|s| s.iq_payload().is_some_and(|p| p.is("block", ns::BLOCKING)))
        );
        assert!(queued(&mut alice_rx).is_empty());
        // Bob saw alice's two resources go offline.
        let seen = queued(&mut bob_rx);
        assert_eq!(seen.len(), 2);
        assert!(
            seen.iter()
                .all(|s| s.element().attr("type") == Some("unavailable"))
        );

        // Both directions are blocked now, and nothing is cached stale.
        let to_bob = stanza("<message xmlns='jabber:client' to='bob@example.org' id='1'/>");
        assert!(matches!(
            im.check_blocking(&alice, &to_bob).await,
            Blocked::Reply(r) if r.is_error()
        ));
        let to_alice = stanza("<message xmlns='jabber:client' to='alice@example.org' id='2'/>");
        assert!(matches!(
            im.check_blocking(&bob, &to_alice).await,
            Blocked::Reply(r) if r.is_error()
        ));
        let probe = stanza("<presence xmlns='jabber:client' to='alice@example.org' type='probe'/>");
        assert_eq!(im.check_blocking(&bob, &probe).await, Blocked::DropSilently);
        // Own account and the server itself are never blocked.
        let to_self = stanza("<message xmlns='jabber:client' to='alice@example.org/phone'/>");
        assert_eq!(im.check_blocking(&alice, &to_self).await, Blocked::No);

        // Unblock all: pushed empty, and presence comes back both ways.
        let mut out = Outbox::for_sender(&alice);
        im.handle_blocking_iq(
            &alice,
            &iq("<unblock xmlns='urn:xmpp:blocking'/>"),
            &mut out,
        )
        .await;
        assert_eq!(out.to_sender[0].iq_type(), Some(xmpp_core::IqType::Result));
        assert!(
            out.to_sender[1..]
                .iter()
                .any(|s| { s.from() == Some(bob.as_jid()) && s.element().attr("type").is_none() })
        );
        let phone = queued(&mut phone_rx);
        assert!(phone.iter().any(|s| {
            s.iq_payload()
                .is_some_and(|p| p.is("unblock", ns::BLOCKING) && p.children().next().is_none())
        }));
        let seen = queued(&mut bob_rx);
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|s| s.element().attr("type").is_none()));
        assert_eq!(im.check_blocking(&alice, &to_bob).await, Blocked::No);
        assert_eq!(im.check_blocking(&bob, &to_alice).await, Blocked::No);
        assert!(
            BlockListStore::blocklist(&im.storage, &bare("alice@example.org"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_blocked_contact_gets_no_broadcast_and_no_probe_answer() {
        let im = im().await;
        both_ways(&im, "alice@example.org", "bob@example.org").await;
        let mut bob_rx = online(&im, "bob@example.org/desk");
        let alice = full("alice@example.org/home");
        let (handle, _alice_rx) = bind(&im.sessions, "alice@example.org/home");
        let mut out = Outbox::for_sender(&alice);
        let block = iq("<block xmlns='urn:xmpp:blocking'><item jid='bob@example.org'/></block>");
        im.handle_blocking_iq(&alice, &block, &mut out).await;

        // Alice comes online: bob is not told, and alice does not see bob.
        let mut out = Outbox::for_sender(&alice);
        let mut directed = std::collections::HashSet::new();
        let presence = stanza("<presence xmlns='jabber:client'/>");
        im.handle_broadcast(
            &alice,
            &handle,
            presence,
            Some(0),
            false,
            &mut directed,
            &mut out,
        )
        .await;
        assert!(queued(&mut bob_rx).is_empty());
        assert!(
            out.to_sender
                .iter()
                .all(|s| s.from() != Some(full("bob@example.org/desk").as_jid())),
            "{:?}",
            out.to_sender
        );
        // Bob's probe for alice (past the session's check) gets nothing either.
        let mut out = Outbox::for_sender(&full("bob@example.org/desk"));
        im.handle_probe(
            &full("bob@example.org/desk"),
            &bare("alice@example.org"),
            &mut out,
        )
        .await;
        assert!(out.to_sender.is_empty());
    }

    #[tokio::test]
    async fn bad_requests_are_refused_and_change_nothing() {
        let im = im().await;
        let alice = full("alice@example.org/home");
        let _rx = online(&im, "alice@example.org/home");
        for payload in [
            "<block xmlns='urn:xmpp:blocking'/>",
            "<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>",
        ] {
            let mut out = Outbox::for_sender(&alice);
            im.handle_blocking_iq(&alice, &iq(payload), &mut out).await;
            let [reply] = out.to_sender.as_slice() else {
                panic!("one answer");
            };
            assert!(reply.is_error(), "{payload}");
        }
        assert!(
            im.blocklist(&bare("alice@example.org"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
