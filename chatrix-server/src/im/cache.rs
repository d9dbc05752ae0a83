//! What the IM core keeps in memory so that a login costs few queries: the stored rosters of
//! accounts with bound sessions, and which accounts hold offline messages.
//!
//! Both are written only under the account's lock (`locks.rs`), where the storage write
//! happens too, so they never disagree with the database for long: a roster is loaded into
//! the cache under the lock, and every later change of it goes through the IM core, which
//! updates the cached copy after the storage write. A roster changed behind the server's back
//! (another process writing the database) is seen once the account's last session ends. The
//! offline index is read from the database at start-up.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use xmpp_core::BareJid;
use xmpp_core::roster::{Roster, RosterItem, RosterVersion};

use super::Im;
use crate::storage::{AccountJid, StorageError};

/// Stored rosters of accounts with bound sessions.
#[derive(Debug, Default)]
pub(crate) struct RosterCache {
    rosters: Mutex<HashMap<BareJid, Arc<Roster>>>,
}

impl RosterCache {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<BareJid, Arc<Roster>>) -> T) -> T {
        f(&mut self.rosters.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn get(&self, owner: &BareJid) -> Option<Arc<Roster>> {
        self.with(|m| m.get(owner).cloned())
    }

    /// Replaces a cached roster by `f` of it, if it is cached.
    fn update(&self, owner: &BareJid, f: impl FnOnce(&Roster) -> Roster) {
        self.with(|m| {
            if let Some(r) = m.get_mut(owner) {
                *r = Arc::new(f(r));
            }
        });
    }
}

/// Accounts that hold offline messages.
#[derive(Debug, Default)]
pub(crate) struct OfflineIndex {
    accounts: Mutex<HashSet<BareJid>>,
}

impl OfflineIndex {
    fn with<T>(&self, f: impl FnOnce(&mut HashSet<BareJid>) -> T) -> T {
        f(&mut self.accounts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn contains(&self, account: &BareJid) -> bool {
        self.with(|s| s.contains(account))
    }

    pub(crate) fn insert(&self, account: &BareJid) {
        self.with(|s| s.insert(account.clone()));
    }

    pub(crate) fn remove(&self, account: &BareJid) {
        self.with(|s| s.remove(account));
    }
}

impl Im {
    /// Reads which accounts hold offline messages (once, at start-up).
    pub async fn load_offline_index(&self) -> Result<(), StorageError> {
        for account in self.storage.accounts_with_offline().await? {
            self.offline.insert(account.as_bare());
        }
        Ok(())
    }

    /// The stored roster of `owner`: from memory while the account has sessions.
    pub(crate) async fn stored_roster(
        &self,
        owner: &AccountJid,
    ) -> Result<Arc<Roster>, StorageError> {
        if let Some(r) = self.rosters.get(owner.as_bare()) {
            return Ok(r);
        }
        let _guard = self.locks.lock(owner.as_bare()).await;
        self.stored_roster_locked(owner).await
    }

    /// [`stored_roster`](Self::stored_roster) for a caller that holds the account's lock.
    pub(crate) async fn stored_roster_locked(
        &self,
        owner: &AccountJid,
    ) -> Result<Arc<Roster>, StorageError> {
        if let Some(r) = self.rosters.get(owner.as_bare()) {
            return Ok(r);
        }
        let roster = Arc::new(self.storage.roster(owner).await?);
        // Only for accounts that are online: the entry goes when the last session ends.
        if self.sessions.has_sessions(owner.as_bare()) {
            self.rosters
                .with(|m| m.insert(owner.as_bare().clone(), Arc::clone(&roster)));
        }
        Ok(roster)
    }

    /// Records a stored item in the cached roster (caller holds the account's lock).
    pub(crate) fn cache_put(&self, owner: &BareJid, item: &RosterItem, ver: RosterVersion) {
        self.rosters.update(owner, |r| {
            let items = r
                .items()
                .filter(|i| i.jid != item.jid)
                .cloned()
                .chain(std::iter::once(item.clone()));
            Roster::from_parts(ver, items)
        });
    }

    /// Records a removed item in the cached roster (caller holds the account's lock).
    pub(crate) fn cache_remove(&self, owner: &BareJid, jid: &BareJid, ver: RosterVersion) {
        self.rosters.update(owner, |r| {
            Roster::from_parts(ver, r.items().filter(|i| i.jid != *jid).cloned())
        });
    }

    /// Drops the cached roster even though sessions remain: the account was deleted, and
    /// its sessions, until they close, must see no contacts.
    pub(crate) async fn discard_roster(&self, owner: &BareJid) {
        let _guard = self.locks.lock(owner).await;
        self.rosters.with(|m| m.remove(owner));
    }

    /// Drops the cached roster once the account has no session left.
    pub(crate) async fn forget_roster(&self, owner: &BareJid) {
        let _guard = self.locks.lock(owner).await;
        if !self.sessions.has_sessions(owner) {
            self.rosters.with(|m| m.remove(owner));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> BareJid {
        s.parse().expect("valid")
    }

    #[test]
    fn update_touches_only_cached_rosters() {
        let cache = RosterCache::default();
        cache.update(&jid("a@example.org"), |_| panic!("not cached"));
        cache.with(|m| m.insert(jid("a@example.org"), Arc::new(Roster::new())));
        cache.update(&jid("a@example.org"), |r| {
            Roster::from_parts(
                RosterVersion::new(5),
                r.items()
                    .cloned()
                    .chain([RosterItem::new(jid("b@example.org"))]),
            )
        });
        let r = cache.get(&jid("a@example.org")).expect("cached");
        assert_eq!(r.version(), RosterVersion::new(5));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn offline_index_tracks_holders() {
        let index = OfflineIndex::default();
        assert!(!index.contains(&jid("a@example.org")));
        index.insert(&jid("a@example.org"));
        assert!(index.contains(&jid("a@example.org")));
        index.remove(&jid("a@example.org"));
        assert!(!index.contains(&jid("a@example.org")));
    }
}
