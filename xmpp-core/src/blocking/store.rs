//! Where block lists are kept: the [`BlockListStore`] trait.
//!
//! Asynchronous in the same way as [`crate::roster::RosterStore`]: the server awaits it,
//! this crate never does.

use std::future::Future;

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
