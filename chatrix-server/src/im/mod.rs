//! The instant-messaging core, wired: rosters, subscriptions, presence, offline storage and
//! shared roster groups (RFC 6121, XEP-0160; docs/im-core.md has the rules).
//!
//! The decisions are xmpp-core's (`xmpp_core::roster`, `xmpp_core::im`, the router); this
//! module loads what they need from storage, takes the account lock around each
//! read-modify-write, stores the outcome and delivers the stanzas they call for. Stanzas for
//! the session being served go back to it in an `Outbox` so they are written in order on
//! its own connection; stanzas for other sessions are queued on theirs.

mod archive;
mod archive_expiry;
mod archive_writer;
mod blocking;
mod cache;
mod carbons;
mod locks;
mod offline;
mod presence;
mod removal;
mod roster_iq;
mod shared_groups;
mod subscription;

use std::sync::atomic::{AtomicU64, Ordering};

use xmpp_core::roster::{RosterLimits, RosterVersion, roster_push};
use xmpp_core::router::Router;
use xmpp_core::{BareJid, Element, FullJid, Stanza, StanzaCondition, StanzaError};

use crate::c2s::SessionState;
use crate::router::{Outbound, Resumptions, SessionRegistry};
use crate::storage::Storage;
pub use archive::ArchiveSettings;
pub use archive_expiry::Retention;
pub(crate) use blocking::Blocked;
use cache::{OfflineIndex, RosterCache};
pub(crate) use carbons::send_carbons;
use locks::AccountLocks;
pub(crate) use presence::note_directed;
pub(crate) use shared_groups::SharedGroups;

/// The limits of the IM core that come from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImLimits {
    /// The most items one roster may hold (a larger roster set gets `not-allowed`).
    pub max_roster_items: usize,
    /// Limits on names and groups of roster items.
    pub roster: RosterLimits,
    /// How many offline messages an account may hold, by its class.
    pub offline: OfflineLimits,
    /// The message archive.
    pub archive: ArchiveSettings,
}

/// One limit by account class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassLimits<T> {
    /// The limit of the default class (and of a class no longer configured).
    pub default: T,
    /// The limit of each configured class.
    pub by_class: std::collections::BTreeMap<String, T>,
}

impl<T: Copy> ClassLimits<T> {
    /// The limit for an account of `class` (`None`: the default class).
    pub fn of(&self, class: Option<&str>) -> T {
        class
            .and_then(|c| self.by_class.get(c))
            .copied()
            .unwrap_or(self.default)
    }
}

impl ClassLimits<Option<u64>> {
    /// The smallest cap of any class (`None`: no class has one).
    pub fn smallest(&self) -> Option<u64> {
        std::iter::once(self.default)
            .chain(self.by_class.values().copied())
            .flatten()
            .min()
    }
}

/// Offline message limits by account class.
pub type OfflineLimits = ClassLimits<u32>;

/// The IM core of a running server: routing, the bound sessions, storage and the account
/// locks.
#[derive(Debug)]
pub struct Im {
    pub(crate) storage: Storage,
    pub(crate) router: Router,
    pub(crate) sessions: SessionRegistry,
    locks: AccountLocks,
    limits: ImLimits,
    shared: SharedGroups,
    rosters: RosterCache,
    pub(crate) blocklists: blocking::BlockLists,
    offline: OfflineIndex,
    next_push_id: AtomicU64,
    /// Accounts deleted lately (see `removal.rs`): streams that authenticated before the
    /// deletion must not bind afterwards.
    deleted: removal::RecentlyDeleted,
    /// The message archive's settings, and its preferences cache.
    archive: ArchiveSettings,
    archive_prefs: archive::PrefsCache,
    /// Group commit of archive appends.
    archive_writer: archive_writer::ArchiveWriter,
    /// Stream-management resumption ids of the sessions that may be resumed.
    pub(crate) resumptions: Resumptions<SessionState>,
}

/// What handling one stanza sends back to the session that sent it, in order.
#[derive(Debug)]
pub(crate) struct Outbox {
    sender: Option<FullJid>,
    /// Stanzas for the sender's own connection.
    pub(crate) to_sender: Vec<Stanza>,
}

impl Outbox {
    /// An outbox for work done on behalf of the session bound as `sender`.
    pub(crate) fn for_sender(sender: &FullJid) -> Self {
        Self {
            sender: Some(sender.clone()),
            to_sender: Vec::new(),
        }
    }

    /// An outbox for work no session is waiting for (everything is queued on sessions).
    pub(crate) fn detached() -> Self {
        Self {
            sender: None,
            to_sender: Vec::new(),
        }
    }

    /// Answers `stanza` to the sender with an error (never an error to an error).
    pub(crate) fn reply_error(&mut self, stanza: &Stanza, error: StanzaError) {
        if let Some(reply) = stanza.error_reply(error) {
            self.to_sender.push(reply);
        }
    }
}

/// The error for a storage failure while handling a stanza: the sender learns the stanza was
/// not handled and may retry (RFC 6120 §8.3.3.6).
pub(crate) fn storage_error(e: &crate::StorageError) -> StanzaError {
    tracing::error!(error = %e, "storage failed while handling a stanza");
    StanzaError::new(StanzaCondition::InternalServerError)
        .with_text(Some("en"), "storage is unavailable, try again later")
}

impl Im {
    /// The IM core over `storage` for `router`'s domains.
    pub fn new(storage: Storage, router: Router, limits: ImLimits) -> Self {
        let archive = limits.archive;
        Self {
            storage,
            router,
            sessions: SessionRegistry::new(),
            locks: AccountLocks::new(),
            limits,
            shared: SharedGroups::default(),
            rosters: RosterCache::default(),
            blocklists: blocking::BlockLists::default(),
            offline: OfflineIndex::default(),
            next_push_id: AtomicU64::new(1),
            deleted: removal::RecentlyDeleted::default(),
            resumptions: Resumptions::default(),
            archive,
            archive_prefs: archive::PrefsCache::default(),
            archive_writer: archive_writer::ArchiveWriter::default(),
        }
    }

    /// The bound sessions.
    pub fn sessions(&self) -> &SessionRegistry {
        &self.sessions
    }

    /// Sends `stanza` to the session bound as `to`: through the outbox when it is the sender,
    /// queued on its connection otherwise. Returns whether it was taken.
    pub(crate) fn send(&self, out: &mut Outbox, to: &FullJid, stanza: Stanza) -> bool {
        if out.sender.as_ref() == Some(to) {
            out.to_sender.push(stanza);
            return true;
        }
        self.queue(to, &stanza)
    }

    /// Queues a serialised stanza on the session bound as `to`.
    pub(crate) fn queue(&self, to: &FullJid, stanza: &Stanza) -> bool {
        let Some(handle) = self.sessions.view().handle(to) else {
            return false;
        };
        let taken = handle.try_send(Outbound::stanza(stanza)).is_ok();
        if !taken {
            tracing::debug!(%to, "session queue full or closed; stanza not queued");
        }
        taken
    }

    /// Sends `stanza` (addressed to `account`'s bare JID) to each available resource of the
    /// account: how presence to a bare JID is delivered (RFC 6121 §8.5.2.1.2).
    pub(crate) fn send_to_available(&self, out: &mut Outbox, account: &BareJid, stanza: &Stanza) {
        let available = self.sessions.available(account);
        for (jid, _) in available {
            self.send(out, &jid, stanza.clone());
        }
    }

    /// Pushes one changed roster item to every interested resource of `owner` (§2.1.6).
    pub(crate) fn push_item(
        &self,
        out: &mut Outbox,
        owner: &BareJid,
        item: &Element,
        ver: RosterVersion,
    ) {
        let interested = self.sessions.interested(owner);
        for to in interested {
            let id = format!("push{}", self.next_push_id.fetch_add(1, Ordering::Relaxed));
            let push = roster_push(item.clone(), Some(ver), &id, &to);
            if let Ok(push) = Stanza::from_element(push) {
                self.send(out, &to, push);
            }
        }
    }
}
