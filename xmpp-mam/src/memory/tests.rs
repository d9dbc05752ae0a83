//! The memory store against the conformance suite, and what is its own.

use xmpp_core::{BareJid, Element, Jid};

use super::*;
use crate::conformance::{self, Owners};
use crate::test_util::block_on;

#[test]
fn conforms() {
    block_on(conformance::run_all(async || {
        (MemoryArchive::new(), Owners::example())
    }));
}

#[test]
fn counts_per_owner() {
    let store = MemoryArchive::new();
    let owner = BareJid::new("a@example.org").expect("valid");
    let with = Jid::new("b@example.org").expect("valid");
    let stanza = Element::new("message", xmpp_core::ns::JABBER_CLIENT);
    assert!(store.is_empty(&owner));
    let entry = NewEntry {
        owner: &owner,
        id: "1",
        with: &with,
        origin_id: None,
        timestamp: SystemTime::UNIX_EPOCH,
        stanza: &stanza,
    };
    block_on(store.append(&[entry])).expect("appended");
    assert_eq!(store.len(&owner), 1);
    assert_eq!(
        block_on(store.append(&[entry])),
        Err(MemoryArchiveError::DuplicateId {
            owner: owner.clone(),
            id: "1".to_owned()
        })
    );
    assert_eq!(store.len(&owner), 1);
}

/// A store with one bug, to show the suite catches it.
#[derive(Debug, Default)]
struct Buggy {
    inner: MemoryArchive,
    bug: Bug,
}

#[derive(Debug, Default, Clone, Copy)]
enum Bug {
    #[default]
    None,
    /// `After(id)` includes the message `id` itself.
    InclusiveAfter,
    /// Unknown ids in `ids` are ignored instead of reported.
    LenientIds,
    /// `trim` removes the newest instead of the oldest.
    TrimNewest,
}

impl ArchiveStore for Buggy {
    type Error = MemoryArchiveError;

    async fn append(&self, entries: &[NewEntry<'_>]) -> Result<(), Self::Error> {
        self.inner.append(entries).await
    }

    async fn fetch(
        &self,
        owner: &BareJid,
        filter: &Filter,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<Fetched, Self::Error> {
        match (self.bug, cursor) {
            (Bug::InclusiveAfter, Cursor::After(id)) => {
                let mut ids = self.inner.fetch(owner, filter, cursor, limit).await?;
                let one = Filter {
                    ids: vec![id.clone()],
                    ..Filter::default()
                };
                if let (Fetched::Messages(ms), Fetched::Messages(mut me)) = (
                    &mut ids,
                    self.inner.fetch(owner, &one, &Cursor::First, 1).await?,
                ) {
                    me.append(ms);
                    me.truncate(limit);
                    *ms = me;
                }
                Ok(ids)
            }
            (Bug::LenientIds, _) if !filter.ids.is_empty() => {
                let mut known = filter.clone();
                let all = self
                    .inner
                    .fetch(owner, &Filter::default(), &Cursor::First, usize::MAX)
                    .await?;
                if let Fetched::Messages(all) = all {
                    known.ids.retain(|id| all.iter().any(|m| m.id == *id));
                }
                self.inner.fetch(owner, &known, cursor, limit).await
            }
            _ => self.inner.fetch(owner, filter, cursor, limit).await,
        }
    }

    async fn bounds(&self, owner: &BareJid) -> Result<Option<Bounds>, Self::Error> {
        self.inner.bounds(owner).await
    }

    async fn prefs(&self, owner: &BareJid) -> Result<Option<Prefs>, Self::Error> {
        self.inner.prefs(owner).await
    }

    async fn set_prefs(&self, owner: &BareJid, prefs: &Prefs) -> Result<(), Self::Error> {
        self.inner.set_prefs(owner, prefs).await
    }

    async fn remove_older_than(&self, before: SystemTime) -> Result<u64, Self::Error> {
        self.inner.remove_older_than(before).await
    }

    async fn trim(&self, owner: &BareJid, keep: u64) -> Result<u64, Self::Error> {
        if let Bug::TrimNewest = self.bug {
            let n = self.inner.with(|s| {
                let rows = s.archives.get_mut(owner)?;
                let keep = usize::try_from(keep).ok()?;
                let excess = rows.len().saturating_sub(keep);
                rows.truncate(keep);
                Some(count(excess))
            });
            return Ok(n.unwrap_or(0));
        }
        self.inner.trim(owner, keep).await
    }

    async fn owners_over(&self, keep: u64) -> Result<Vec<BareJid>, Self::Error> {
        self.inner.owners_over(keep).await
    }
}

fn fails(bug: Bug, property: impl AsyncFnOnce(&Buggy, &Owners)) -> bool {
    let store = Buggy {
        bug,
        ..Buggy::default()
    };
    let owners = Owners::example();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(property(&store, &owners));
    }))
    .is_err()
}

#[test]
fn the_suite_catches_broken_stores() {
    assert!(!fails(Bug::None, async |s, o| conformance::cursors(s, o).await));
    assert!(fails(Bug::InclusiveAfter, async |s, o| {
        conformance::cursors(s, o).await;
    }));
    assert!(!fails(Bug::None, async |s, o| conformance::unknown_ids(
        s, o
    )
    .await));
    assert!(fails(Bug::LenientIds, async |s, o| {
        conformance::unknown_ids(s, o).await;
    }));
    assert!(!fails(Bug::None, async |s, o| conformance::trim(s, o).await));
    assert!(fails(Bug::TrimNewest, async |s, o| {
        conformance::trim(s, o).await;
    }));
}
