//! Archives in memory: [`MemoryArchive`], for tests and examples.
//!
//! Every operation is a scan of one owner's messages under a lock, which is fine for the
//! thousands of messages a test holds and no model for a real backend (those page on an
//! index; see [`crate::store`]). It answers with ready futures, so tests drive it with
//! `std::task::Waker::noop()` instead of a runtime.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use xmpp_core::BareJid;

use crate::prefs::Prefs;
use crate::store::{ArchiveStore, ArchivedMessage, Bounds, Cursor, Fetched, Filter, NewEntry};

/// Archives and preferences in memory, in archive order per owner.
#[derive(Debug, Default)]
pub struct MemoryArchive {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    archives: HashMap<BareJid, Vec<Row>>,
    prefs: HashMap<BareJid, Prefs>,
}

#[derive(Debug)]
struct Row {
    message: ArchivedMessage,
    // Kept as a backend keeps it, though the trait offers no lookup by it yet.
    #[allow(dead_code)]
    origin_id: Option<String>,
}

/// What [`MemoryArchive`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryArchiveError {
    /// An appended id is already in the owner's archive (or twice in one append).
    #[error("id {id} is already in the archive of {owner}")]
    DuplicateId {
        /// Whose archive.
        owner: BareJid,
        /// The id.
        id: String,
    },
}

impl MemoryArchive {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages `owner`'s archive holds.
    pub fn len(&self, owner: &BareJid) -> usize {
        self.with(|s| s.archives.get(owner).map_or(0, Vec::len))
    }

    /// Whether `owner`'s archive is empty.
    pub fn is_empty(&self, owner: &BareJid) -> bool {
        self.len(owner) == 0
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // Every change is checked before anything is written, so a panic while the lock was
        // held cannot leave a half-applied append: a poisoned lock is still good to use.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    fn append_now(&self, entries: &[NewEntry<'_>]) -> Result<(), MemoryArchiveError> {
        self.with(|state| {
            for (i, entry) in entries.iter().enumerate() {
                let in_archive = state
                    .archives
                    .get(entry.owner)
                    .is_some_and(|rows| rows.iter().any(|r| r.message.id == entry.id));
                let in_batch = entries[..i]
                    .iter()
                    .any(|e| e.owner == entry.owner && e.id == entry.id);
                if in_archive || in_batch {
                    return Err(MemoryArchiveError::DuplicateId {
                        owner: entry.owner.clone(),
                        id: entry.id.to_owned(),
                    });
                }
            }
            for entry in entries {
                state
                    .archives
                    .entry(entry.owner.clone())
                    .or_default()
                    .push(Row {
                        message: ArchivedMessage {
                            id: entry.id.to_owned(),
                            with: entry.with.clone(),
                            timestamp: entry.timestamp,
                            stanza: entry.stanza.clone(),
                        },
                        origin_id: entry.origin_id.map(str::to_owned),
                    });
            }
            Ok(())
        })
    }

    fn fetch_now(
        &self,
        owner: &BareJid,
        filter: &Filter,
        cursor: &Cursor,
        limit: usize,
    ) -> Fetched {
        self.with(|state| {
            let rows: &[Row] = state.archives.get(owner).map_or(&[], Vec::as_slice);
            let position = |id: &str| rows.iter().position(|r| r.message.id == id);
            // Positions bound the scan: `lo` and `hi` are exclusive.
            let mut lo: Option<usize> = None;
            let mut hi = rows.len();
            let mut after = |id: &str| -> Option<()> {
                let p = position(id)?;
                lo = Some(lo.map_or(p, |l: usize| l.max(p)));
                Some(())
            };
            let cursor_after = match cursor {
                Cursor::After(id) => Some(id),
                _ => None,
            };
            for id in filter.after_id.iter().chain(cursor_after) {
                if after(id).is_none() {
                    return Fetched::UnknownId;
                }
            }
            for id in filter.before_id.iter().chain(match cursor {
                Cursor::Before(id) => Some(id),
                _ => None,
            }) {
                match position(id) {
                    Some(p) => hi = hi.min(p),
                    None => return Fetched::UnknownId,
                }
            }
            if filter.ids.iter().any(|id| position(id).is_none()) {
                return Fetched::UnknownId;
            }
            let start = lo.map_or(0, |l| l + 1);
            let window = rows.get(start..hi).unwrap_or(&[]);
            let matching = |r: &&Row| filter.matches(&r.message);
            let messages = match cursor {
                Cursor::First | Cursor::After(_) => window
                    .iter()
                    .filter(matching)
                    .take(limit)
                    .map(|r| r.message.clone())
                    .collect(),
                Cursor::Last | Cursor::Before(_) => window
                    .iter()
                    .rev()
                    .filter(matching)
                    .take(limit)
                    .map(|r| r.message.clone())
                    .collect(),
            };
            Fetched::Messages(messages)
        })
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl ArchiveStore for MemoryArchive {
    type Error = MemoryArchiveError;

    fn append(
        &self,
        entries: &[NewEntry<'_>],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        ready(self.append_now(entries))
    }

    fn fetch(
        &self,
        owner: &BareJid,
        filter: &Filter,
        cursor: &Cursor,
        limit: usize,
    ) -> impl Future<Output = Result<Fetched, Self::Error>> + Send {
        ready(Ok(self.fetch_now(owner, filter, cursor, limit)))
    }

    fn bounds(
        &self,
        owner: &BareJid,
    ) -> impl Future<Output = Result<Option<Bounds>, Self::Error>> + Send {
        ready(Ok(self.with(|s| {
            let rows = s.archives.get(owner)?;
            let (first, last) = (rows.first()?, rows.last()?);
            Some(Bounds {
                first: (first.message.id.clone(), first.message.timestamp),
                last: (last.message.id.clone(), last.message.timestamp),
            })
        })))
    }

    fn prefs(
        &self,
        owner: &BareJid,
    ) -> impl Future<Output = Result<Option<Prefs>, Self::Error>> + Send {
        ready(Ok(self.with(|s| s.prefs.get(owner).cloned())))
    }

    fn set_prefs(
        &self,
        owner: &BareJid,
        prefs: &Prefs,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.with(|s| s.prefs.insert(owner.clone(), prefs.clone()));
        ready(Ok(()))
    }

    fn remove_older_than(
        &self,
        before: SystemTime,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
        ready(Ok(self.with(|s| {
            let mut removed = 0;
            for rows in s.archives.values_mut() {
                let old = rows.len();
                rows.retain(|r| r.message.timestamp >= before);
                removed += count(old - rows.len());
            }
            removed
        })))
    }

    fn trim(
        &self,
        owner: &BareJid,
        keep: u64,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
        ready(Ok(self.with(|s| {
            let Some(rows) = s.archives.get_mut(owner) else {
                return 0;
            };
            let keep = usize::try_from(keep).unwrap_or(usize::MAX);
            let excess = rows.len().saturating_sub(keep);
            rows.drain(..excess);
            count(excess)
        })))
    }

    fn owners_over(
        &self,
        keep: u64,
    ) -> impl Future<Output = Result<Vec<BareJid>, Self::Error>> + Send {
        ready(Ok(self.with(|s| {
            let mut owners: Vec<BareJid> = s
                .archives
                .iter()
                .filter(|(_, rows)| count(rows.len()) > keep)
                .map(|(owner, _)| owner.clone())
                .collect();
            owners.sort();
            owners
        })))
    }
}

#[cfg(test)]
mod tests;
