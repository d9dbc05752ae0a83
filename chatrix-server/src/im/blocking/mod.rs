//! Blocking (XEP-0191) wired: the block lists in memory, the blocking iqs with their pushes
//! and presence consequences, and the check every stanza a local user sends goes through.
//!
//! The decisions are xmpp-core's (`xmpp_core::blocking`): what a request asks, which JIDs a
//! list blocks, what a blocked stanza gets. This module loads the lists, stores changes and
//! delivers what they call for.
//!
//! Block lists are cached like rosters (`im/cache.rs`; here `cache.rs`), with one difference: a stanza to a local
//! account needs the recipient's list whether or not the recipient is online, so lists of
//! accounts without sessions are cached too, at most [`MAX_IDLE`] of them (oldest dropped
//! first). Lists of accounts with sessions stay until the last session ends. A list changes
//! only through [`Im::handle_blocking_iq`], under the account's lock, which writes storage
//! first and then the cached copy; a load that raced with a change is not cached (a
//! generation counter tells), so the cache never holds a list older than storage for long.

mod cache;
mod iq;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::sync::Arc;

use xmpp_core::blocking::{BlockList, InboundBlock, inbound_decision, outbound_error};
use xmpp_core::{BareJid, FullJid, Jid, Stanza};

use super::{Im, Outbox, storage_error};
use crate::storage::StorageError;

pub(crate) use cache::BlockLists;

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
