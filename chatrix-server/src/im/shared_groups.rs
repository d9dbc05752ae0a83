//! Shared roster groups: the in-memory snapshot rosters are merged with, and the poller that
//! notices changes made through the CLI or the storage API and pushes them live.
//!
//! Why a poller: `chatrix-server group …` runs in another process, and a later cluster has
//! several server processes; the database is what they share. The check is one query (plus
//! the account list of "everyone" groups) per interval.
//!
//! Roster versions: what a client sees is its stored roster merged with its shared contacts,
//! so the `ver` it gets is `xmpp_core::im::shared::visible_version`, which changes for exactly
//! the accounts a membership change affects without writing to any roster.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use xmpp_core::im::shared::{SharedContact, merge, shared_contacts, visible_item, visible_version};
use xmpp_core::roster::{Roster, RosterChange, RosterVersion};
use xmpp_core::{BareJid, Element};

use super::{Im, Outbox};
use crate::storage::{AccountJid, StorageError};

/// One group as rosters see it: its display name and every member (an "everyone" group
/// expanded to the accounts of its domain).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    display: String,
    members: Vec<BareJid>,
}

/// The current shared groups.
#[derive(Debug, Default)]
pub(crate) struct SharedGroups {
    groups: RwLock<Arc<Vec<Group>>>,
}

impl SharedGroups {
    fn snapshot(&self) -> Arc<Vec<Group>> {
        Arc::clone(&self.groups.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The contacts the shared groups put into `owner`'s roster.
    pub(crate) fn contacts_of(&self, owner: &BareJid) -> Vec<SharedContact> {
        contacts_in(&self.snapshot(), owner)
    }

    /// The roster `owner`'s clients see: stored items merged with shared contacts, with the
    /// mixed version.
    pub(crate) fn visible_roster(&self, owner: &BareJid, stored: &Roster) -> Roster {
        let contacts = self.contacts_of(owner);
        if contacts.is_empty() {
            return stored.clone();
        }
        let merged = merge(stored, &contacts);
        Roster::from_parts(
            visible_version(stored.version(), &contacts),
            merged.items().cloned(),
        )
    }

    /// The pushed item and version for a change of `owner`'s stored roster at `stored_ver`.
    pub(crate) fn visible_item(
        &self,
        owner: &BareJid,
        change: &RosterChange,
        stored_ver: RosterVersion,
    ) -> (Element, RosterVersion) {
        let contacts = self.contacts_of(owner);
        let ver = visible_version(stored_ver, &contacts);
        let jid = change.jid();
        let personal = match change {
            RosterChange::Put(item) => Some(item.clone()),
            _ => None,
        };
        (visible_item(jid, personal, &contacts), ver)
    }
}

fn contacts_in(groups: &[Group], owner: &BareJid) -> Vec<SharedContact> {
    shared_contacts(
        owner,
        groups
            .iter()
            .map(|g| (g.display.as_str(), g.members.as_slice())),
    )
}

impl Im {
    /// Loads the groups and, when they changed, pushes the differences to the affected
    /// accounts that are online and sends the presence that now flows (or stops).
    pub(crate) async fn refresh_shared_groups(&self) -> Result<(), StorageError> {
        let mut groups = Vec::new();
        for g in self.storage.shared_groups().await? {
            // Explicit members count in an "everyone" group too (they may be on other
            // domains of this server).
            let mut members: Vec<BareJid> = g.members.iter().map(|a| a.as_bare().clone()).collect();
            if g.everyone {
                members.extend(
                    self.storage
                        .list_accounts(&g.domain)
                        .await?
                        .into_iter()
                        .map(|a| a.as_bare().clone()),
                );
                members.sort();
                members.dedup();
            }
            groups.push(Group {
                display: g.display_name,
                members,
            });
        }
        let old = self.shared.snapshot();
        if *old == groups {
            return Ok(());
        }
        let new = Arc::new(groups);
        *self
            .shared
            .groups
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::clone(&new);
        let mut affected: Vec<BareJid> = old
            .iter()
            .chain(new.iter())
            .flat_map(|g| g.members.iter().cloned())
            .collect();
        affected.sort();
        affected.dedup();
        let mut out = Outbox::detached();
        for owner in affected {
            let before = contacts_in(&old, &owner);
            let after = contacts_in(&new, &owner);
            if before != after {
                self.push_shared_change(&owner, &before, &after, &mut out)
                    .await?;
            }
        }
        Ok(())
    }

    async fn push_shared_change(
        &self,
        owner: &BareJid,
        before: &[SharedContact],
        after: &[SharedContact],
        out: &mut Outbox,
    ) -> Result<(), StorageError> {
        let online = {
            let view = self.sessions.view();
            !view.interested(owner).is_empty() || !view.available(owner).is_empty()
        };
        if !online {
            return Ok(());
        }
        let Ok(account) = AccountJid::try_from(owner.clone()) else {
            return Ok(());
        };
        let stored = self.storage.roster(&account).await?;
        let ver = visible_version(stored.version(), after);
        let mut changed: Vec<&BareJid> = before
            .iter()
            .chain(after)
            .map(|c| &c.jid)
            .filter(|jid| {
                before.iter().find(|c| c.jid == **jid) != after.iter().find(|c| c.jid == **jid)
            })
            .collect();
        changed.sort();
        changed.dedup();
        for jid in changed {
            let personal = stored.get(jid).cloned();
            let personally_subscribed = personal
                .as_ref()
                .is_some_and(|i| i.state().sub.contact_subscribed());
            let element = visible_item(jid, personal, after);
            self.push_item(out, owner, &element, ver);
            let now_shared = after.iter().any(|c| c.jid == *jid);
            let was_shared = before.iter().any(|c| c.jid == *jid);
            if now_shared && !was_shared {
                self.send_current_presence(owner, jid, out);
            } else if was_shared && !now_shared && !personally_subscribed {
                self.send_unavailable(owner, jid, out);
            }
        }
        Ok(())
    }

    /// Checks the shared groups every `interval` until the task is dropped.
    pub(crate) async fn poll_shared_groups(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = self.refresh_shared_groups().await {
                tracing::warn!(error = %e, "shared roster groups: refresh failed");
            }
        }
    }
}
