//! The block lists in memory, and which sessions asked for theirs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use xmpp_core::blocking::{BlockList, BlockListStore};
use xmpp_core::{BareJid, FullJid};

use crate::router::SessionRegistry;

/// How many block lists of accounts without sessions stay cached. Most are empty (a few dozen
/// bytes each); the bound keeps stanzas to many different offline or unknown accounts from
/// growing memory.
pub(crate) const MAX_IDLE: usize = 8192;

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

    /// How many lists are cached, and how many of them belong to accounts without sessions.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize) {
        self.with(|inner| (inner.lists.len(), inner.idle.len()))
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
    pub(super) fn cached(&self, account: &BareJid) -> Result<Arc<BlockList>, u64> {
        self.with(|inner| match inner.lists.get(account) {
            Some(c) => Ok(Arc::clone(&c.list)),
            None => Err(inner.generation),
        })
    }

    /// Caches a list loaded from storage, unless a list changed since `generation` was
    /// read (the load may have read storage before that change was written). Returns
    /// whether it was cached.
    pub(super) fn insert_loaded(
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
