//! Where block lists are kept: the [`BlockListStore`] trait and an in-memory
//! implementation.
//!
//! Asynchronous in the same way as [`crate::roster::RosterStore`]: the server awaits it,
//! this crate never does.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::{Mutex, PoisonError};

use crate::jid::{BareJid, Jid};

/// Storage for block lists (XEP-0191), one per account.
pub trait BlockListStore {
    /// What goes wrong in storage (the server answers with `internal-server-error` and
    /// changes nothing).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The JIDs `owner` blocks, in the order they were blocked; empty when none.
    fn blocklist(
        &self,
        owner: &BareJid,
    ) -> impl Future<Output = Result<Vec<Jid>, Self::Error>> + Send;

    /// Adds `jids` to `owner`'s list (one already there stays once).
    fn block(
        &self,
        owner: &BareJid,
        jids: &[Jid],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes `jids` from `owner`'s list (one not there is ignored).
    fn unblock(
        &self,
        owner: &BareJid,
        jids: &[Jid],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Empties `owner`'s list.
    fn unblock_all(&self, owner: &BareJid) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Block lists in memory, for tests and examples. Never fails.
#[derive(Debug, Default)]
pub struct MemoryBlockListStore {
    lists: Mutex<HashMap<BareJid, Vec<Jid>>>,
}

impl MemoryBlockListStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<BareJid, Vec<Jid>>) -> T) -> T {
        // Every change is one map operation, so a panic while the lock was held cannot leave a
        // list half-written: a poisoned lock is still good to use.
        let mut map = self.lists.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut map)
    }
}

impl BlockListStore for MemoryBlockListStore {
    type Error = core::convert::Infallible;

    fn blocklist(
        &self,
        owner: &BareJid,
    ) -> impl Future<Output = Result<Vec<Jid>, Self::Error>> + Send {
        ready(Ok(self.with(|m| m.get(owner).cloned().unwrap_or_default())))
    }

    fn block(
        &self,
        owner: &BareJid,
        jids: &[Jid],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.with(|m| {
            let list = m.entry(owner.clone()).or_default();
            for jid in jids {
                if !list.contains(jid) {
                    list.push(jid.clone());
                }
            }
        });
        ready(Ok(()))
    }

    fn unblock(
        &self,
        owner: &BareJid,
        jids: &[Jid],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.with(|m| {
            if let Some(list) = m.get_mut(owner) {
                list.retain(|j| !jids.contains(j));
                if list.is_empty() {
                    m.remove(owner);
                }
            }
        });
        ready(Ok(()))
    }

    fn unblock_all(&self, owner: &BareJid) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.with(|m| m.remove(owner));
        ready(Ok(()))
    }
}
