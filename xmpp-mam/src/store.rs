//! Where archives are kept: the [`ArchiveStore`] trait and the types it speaks. The in-memory
//! implementation is [`crate::MemoryArchive`]; the conformance suite every implementation
//! must pass is `crate::conformance` (feature `conformance`).
//!
//! The store is deliberately dumb: it appends rows and fetches runs of rows in archive order
//! from a cursor, under a filter. Everything XEP-0313 and XEP-0059 add on top (page sizes,
//! `complete`, `flip-page`, `first`/`last`, which preference applies) is decided by the pure
//! functions of this crate, so that the SQL of each backend stays small and the rules are
//! written once.
//!
//! Archive order is the order of [`ArchiveStore::append`] calls within one owner's archive;
//! timestamps follow it (the server stamps with its clock when it appends), but the order, not
//! the timestamp, is what paging walks. A backend keeps a per-archive sequence for it and
//! indexes it so that fetching a page costs the same at the start and at the end of a
//! million-message archive (keyset paging, never `OFFSET`).
//!
//! The trait is asynchronous in the same way as `xmpp_core::roster::RosterStore`: `fn … ->
//! impl Future + Send`; the crate never awaits it, the server does.

use std::future::Future;
use std::time::SystemTime;

use xmpp_core::{BareJid, Element, Jid};

use crate::prefs::Prefs;

/// One message as one owner's archive holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedMessage {
    /// Its id in this archive: the XEP-0359 stanza-id the owner saw, and the RSM/MAM id.
    pub id: String,
    /// The other party, as it appeared on the message (bare, or full when the message was
    /// to or from a full JID).
    pub with: Jid,
    /// When it was archived.
    pub timestamp: SystemTime,
    /// The message as archived (`from` and `to` stamped, its own stanza-id included).
    pub stanza: Element,
}

/// One message to append to one owner's archive.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// Whose archive.
    pub owner: &'a BareJid,
    /// Its id in that archive (unique per owner; the caller generates it).
    pub id: &'a str,
    /// The other party.
    pub with: &'a Jid,
    /// The sender's XEP-0359 origin-id, if any (kept for lookups and de-duplication).
    pub origin_id: Option<&'a str>,
    /// When it is archived.
    pub timestamp: SystemTime,
    /// The message.
    pub stanza: &'a Element,
}

/// Which messages a query covers (XEP-0313 §4.1 form fields). Every condition must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// A bare JID matches every message with that bare JID (any resource); a full JID only
    /// messages with exactly that full JID; a domain JID every message with that domain's
    /// bare JID (`with` equal to the domain).
    pub with: Option<Jid>,
    /// Messages archived at or after this time.
    pub start: Option<SystemTime>,
    /// Messages archived at or before this time.
    pub end: Option<SystemTime>,
    /// Messages after the one with this id, exclusive (`urn:xmpp:mam:2#extended`).
    pub after_id: Option<String>,
    /// Messages before the one with this id, exclusive (`urn:xmpp:mam:2#extended`).
    pub before_id: Option<String>,
    /// When not empty, only the messages with these ids (`urn:xmpp:mam:2#extended`).
    pub ids: Vec<String>,
}

impl Filter {
    /// Whether `with` satisfies the `with` condition: a bare (or domain) JID in the filter
    /// matches the same bare JID with any resource, a full JID only itself (XEP-0313 §4.1.1).
    pub fn matches_with(&self, with: &Jid) -> bool {
        match &self.with {
            None => true,
            Some(filter) if filter.is_full() => filter == with,
            Some(filter) => filter.as_str() == with.bare_str(),
        }
    }

    /// Whether a message satisfies the conditions that do not depend on its place in the
    /// archive: `with`, `start`, `end` (both inclusive) and `ids`. `after_id` and `before_id`
    /// are positions, which only the archive knows.
    pub fn matches(&self, message: &ArchivedMessage) -> bool {
        self.matches_with(&message.with)
            && self.start.is_none_or(|start| message.timestamp >= start)
            && self.end.is_none_or(|end| message.timestamp <= end)
            && (self.ids.is_empty() || self.ids.contains(&message.id))
    }
}

/// Where a fetch starts (the RSM position, already resolved from `<before/>` / `<after/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// From the oldest matching message, forwards (oldest first).
    First,
    /// From the newest matching message, backwards (newest first).
    Last,
    /// Forwards from just after the message with this id (exclusive).
    After(String),
    /// Backwards from just before the message with this id (exclusive).
    Before(String),
}

/// What a fetch found.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Up to `limit` messages in the cursor's direction: oldest first for
    /// [`Cursor::First`]/[`Cursor::After`], newest first for [`Cursor::Last`]/[`Cursor::Before`].
    Messages(Vec<ArchivedMessage>),
    /// An id in the cursor, in `after_id`/`before_id` or in `ids` is not in this owner's
    /// archive: the query is answered with `item-not-found` (XEP-0313 §4.1.3 for the form's
    /// ids, §4.3.2 and XEP-0059 §2.6 for RSM's). Whether an id is in the archive does not
    /// depend on the rest of the filter: a cursor or an `after_id` may name a message the
    /// filter excludes, and then means its position in the archive.
    UnknownId,
}

/// The first and last message of an archive (`urn:xmpp:mam:2#extended` metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// The oldest message: its id and when it was archived.
    pub first: (String, SystemTime),
    /// The newest message.
    pub last: (String, SystemTime),
}

/// Storage for message archives, one per account.
pub trait ArchiveStore {
    /// What goes wrong in storage (the server answers with `internal-server-error`, or, when
    /// appending, refuses to acknowledge the message).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends every entry, in order, atomically: both parties' copies of one message are
    /// committed together or not at all. An id already in the owner's archive is an error.
    fn append(
        &self,
        entries: &[NewEntry<'_>],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Up to `limit` messages of `owner`'s archive that match `filter`, from `cursor`.
    fn fetch(
        &self,
        owner: &BareJid,
        filter: &Filter,
        cursor: &Cursor,
        limit: usize,
    ) -> impl Future<Output = Result<Fetched, Self::Error>> + Send;

    /// The oldest and newest message of `owner`'s archive; `None` when it is empty.
    fn bounds(
        &self,
        owner: &BareJid,
    ) -> impl Future<Output = Result<Option<Bounds>, Self::Error>> + Send;

    /// `owner`'s preferences; `None` when the owner never set any (the server's default
    /// applies).
    fn prefs(
        &self,
        owner: &BareJid,
    ) -> impl Future<Output = Result<Option<Prefs>, Self::Error>> + Send;

    /// Replaces `owner`'s preferences.
    fn set_prefs(
        &self,
        owner: &BareJid,
        prefs: &Prefs,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes every message archived before `before`, in every archive; returns how many.
    fn remove_older_than(
        &self,
        before: SystemTime,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Removes the oldest messages of `owner`'s archive until at most `keep` remain; returns
    /// how many were removed.
    fn trim(
        &self,
        owner: &BareJid,
        keep: u64,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// The owners whose archive holds more than `keep` messages.
    fn owners_over(
        &self,
        keep: u64,
    ) -> impl Future<Output = Result<Vec<BareJid>, Self::Error>> + Send;
}
