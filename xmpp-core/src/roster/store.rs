//! Where rosters are kept: the [`RosterStore`] trait and an in-memory implementation.
//!
//! The trait is asynchronous (`fn … -> impl Future + Send`, which is `async fn` in a trait with
//! the `Send` bound spelled out): the server's stores are sqlx-backed and await the database,
//! and a synchronous trait would force them to block a runtime thread or to keep a second
//! copy of every roster in memory. The trait stays sans-IO all the same: xmpp-core never
//! awaits it, the server does, and hands the plain [`Roster`] and [`RosterVersion`] it gets to
//! the pure functions of this module. The `Send` bound lets the server call a store from a
//! multi-threaded runtime; the in-memory store answers with ready futures, so tests drive it
//! with a few lines of `std` instead of a runtime.
//!
//! Three methods are enough for RFC 6121: load a roster, write one item, remove one item. A
//! write bumps the roster's version in the same transaction, so that the version a client
//! caches always names exactly one roster content.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::{Mutex, PoisonError};

use crate::jid::BareJid;

use super::item::{Roster, RosterItem};
use super::version::RosterVersion;

/// Storage for rosters, one per account.
pub trait RosterStore {
    /// What goes wrong in storage (the server answers the stanza with
    /// `internal-server-error` and stores nothing).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The roster of `owner`: empty at [`RosterVersion::INITIAL`] for an account without one.
    fn get(&self, owner: &BareJid) -> impl Future<Output = Result<Roster, Self::Error>> + Send;

    /// Adds or replaces the item for `item.jid`, bumping the version; returns the new version.
    fn put_item(
        &self,
        owner: &BareJid,
        item: RosterItem,
    ) -> impl Future<Output = Result<RosterVersion, Self::Error>> + Send;

    /// Removes the item for `jid`, bumping the version; returns the new version, or `None`
    /// (nothing changed) when there was no such item.
    fn remove_item(
        &self,
        owner: &BareJid,
        jid: &BareJid,
    ) -> impl Future<Output = Result<Option<RosterVersion>, Self::Error>> + Send;
}

/// Rosters in memory, for tests and examples. Never fails.
#[derive(Debug, Default)]
pub struct MemoryRosterStore {
    rosters: Mutex<HashMap<BareJid, Roster>>,
}

impl MemoryRosterStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<BareJid, Roster>) -> T) -> T {
        // A panic while the lock was held cannot leave a roster half-written (every change is
        // one map operation), so a poisoned lock is still good to use.
        let mut map = self.rosters.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut map)
    }
}

impl RosterStore for MemoryRosterStore {
    type Error = core::convert::Infallible;

    fn get(&self, owner: &BareJid) -> impl Future<Output = Result<Roster, Self::Error>> + Send {
        ready(Ok(self.with(|m| m.get(owner).cloned().unwrap_or_default())))
    }

    fn put_item(
        &self,
        owner: &BareJid,
        item: RosterItem,
    ) -> impl Future<Output = Result<RosterVersion, Self::Error>> + Send {
        ready(Ok(
            self.with(|m| m.entry(owner.clone()).or_default().put(item))
        ))
    }

    fn remove_item(
        &self,
        owner: &BareJid,
        jid: &BareJid,
    ) -> impl Future<Output = Result<Option<RosterVersion>, Self::Error>> + Send {
        ready(Ok(self.with(|m| {
            m.get_mut(owner).and_then(|r| r.remove(jid)).map(|(_, v)| v)
        })))
    }
}
