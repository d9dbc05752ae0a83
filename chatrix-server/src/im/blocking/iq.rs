//! The blocking IQs (XEP-0191 §3): the list, changes with their pushes, and what a change
//! means for presence.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use xmpp_core::blocking::{
    BlockList, BlockListStore, BlockingRequest, block_push, blocklist_result, unblock_push,
};
use xmpp_core::im::presence::{readdress, unavailable};
use xmpp_core::{FullJid, Jid, Stanza, StanzaCondition, StanzaError};

use super::{Im, Outbox, storage_error};
use crate::storage::AccountJid;

/// The most JIDs one block list may hold: a block request that would go beyond it gets
/// `not-allowed` (the list is kept in memory while the account is online).
pub(crate) const MAX_BLOCKED: usize = 10_000;

/// A change of a block list.
enum Change {
    Block(Vec<Jid>),
    Unblock(Vec<Jid>),
    UnblockAll,
}

impl Im {
    /// Answers a blocking iq the router identified (addressed to the sender's own account,
    /// payload in `urn:xmpp:blocking`): get the list, block, unblock, unblock all (§3.2–§3.5).
    pub(crate) async fn handle_blocking_iq(&self, sender: &FullJid, iq: &Stanza, out: &mut Outbox) {
        let Ok(user) = AccountJid::try_from(sender.to_bare()) else {
            return;
        };
        let request = match BlockingRequest::parse(iq) {
            Some(Ok(request)) => request,
            Some(Err(e)) => return out.reply_error(iq, e.into()),
            // Not a get or set with a blocking payload: nothing here answers it (a result or
            // an error gets no answer).
            None => {
                return out.reply_error(iq, StanzaError::new(StanzaCondition::ServiceUnavailable));
            }
        };
        let change = match request {
            BlockingRequest::Get => return self.answer_blocklist(sender, &user, iq, out).await,
            BlockingRequest::Block(jids) => Change::Block(jids),
            BlockingRequest::Unblock(jids) if jids.is_empty() => Change::UnblockAll,
            BlockingRequest::Unblock(jids) => Change::Unblock(jids),
        };
        self.change_blocklist(&user, iq, change, out).await;
    }

    /// §3.2: the list, and the session gets pushes from now on.
    async fn answer_blocklist(
        &self,
        sender: &FullJid,
        user: &AccountJid,
        iq: &Stanza,
        out: &mut Outbox,
    ) {
        // Under the lock, so that a change either comes before (and is in the answer) or
        // after (and is pushed, queued behind the answer).
        let _guard = self.locks.lock(user.as_bare()).await;
        match self.blocklist(user.as_bare()).await {
            Ok(list) => {
                self.blocklists.set_requested(sender);
                out.to_sender.extend(blocklist_result(iq, list.jids()));
            }
            Err(e) => out.reply_error(iq, storage_error(&e)),
        }
    }

    /// §3.3–§3.5: stores the change, answers, pushes it to the sessions that asked for the
    /// list, and tells contacts whose view of the user changes.
    async fn change_blocklist(
        &self,
        user: &AccountJid,
        iq: &Stanza,
        change: Change,
        out: &mut Outbox,
    ) {
        let bare = user.as_bare();
        let guard = self.locks.lock(bare).await;
        let old = match self.blocklist(bare).await {
            Ok(list) => list,
            Err(e) => return out.reply_error(iq, storage_error(&e)),
        };
        let mut new = BlockList::clone(&old);
        let stored = match &change {
            Change::Block(jids) => {
                new.block(jids);
                if new.len() > MAX_BLOCKED {
                    return out.reply_error(
                        iq,
                        StanzaError::new(StanzaCondition::NotAllowed)
                            .with_text(Some("en"), "the block list is full"),
                    );
                }
                BlockListStore::block(&self.storage, bare, jids).await
            }
            Change::Unblock(jids) => {
                new.unblock(jids);
                BlockListStore::unblock(&self.storage, bare, jids).await
            }
            Change::UnblockAll => {
                new.unblock_all();
                BlockListStore::unblock_all(&self.storage, bare).await
            }
        };
        if let Err(e) = stored {
            return out.reply_error(iq, storage_error(&e));
        }
        let new = Arc::new(new);
        self.blocklists
            .put(bare, Arc::clone(&new), self.sessions.has_sessions(bare));
        // Read under the lock, as the get that adds to it runs under it.
        let requested = self.blocklists.requested(bare);
        drop(guard);
        out.to_sender.extend(iq.iq_result(None));
        for to in requested {
            let id = format!("push{}", self.next_push_id.fetch_add(1, Ordering::Relaxed));
            let push = match &change {
                Change::Block(jids) => block_push(&to, &id, jids),
                Change::Unblock(jids) => unblock_push(&to, &id, jids),
                Change::UnblockAll => unblock_push(&to, &id, &[]),
            };
            self.send(out, &to, push);
        }
        self.blocking_presence(user, &old, &new, out).await;
    }

    /// The presence consequences of a change from `old` to `new`, for each resource of a
    /// contact whose blocked state changed: a contact that may see the user's presence gets
    /// `unavailable` from each of the user's available resources when blocked (§3.3) and
    /// their current presence when unblocked (§3.4); likewise the user's resources see a
    /// contact they may see go offline when blocked and come back when unblocked, since no
    /// presence of it reaches them in between. Available presence never goes where the
    /// receiving side's own list blocks the sender.
    async fn blocking_presence(
        &self,
        user: &AccountJid,
        old: &BlockList,
        new: &BlockList,
        out: &mut Outbox,
    ) {
        let bare = user.as_bare();
        let mine = self.sessions.available(bare);
        if mine.is_empty() {
            // Offline: nobody sees the user, and the user sees nobody.
            return;
        }
        let stored = match self.stored_roster(user).await {
            Ok(r) => r,
            Err(e) => {
                storage_error(&e);
                return;
            }
        };
        let changed = |jid: &FullJid| old.is_blocked(jid.as_jid()) != new.is_blocked(jid.as_jid());

        // The user's presence, to contacts allowed to see it.
        for contact in self.presence_subscribers(bare, &stored) {
            if contact == *bare {
                continue;
            }
            let resources: Vec<FullJid> = self
                .sessions
                .available(&contact)
                .into_iter()
                .map(|(jid, _)| jid)
                .filter(|jid| changed(jid))
                .collect();
            if resources.is_empty() {
                continue;
            }
            let Some(theirs) = self.blocklist_or_log(&contact).await else {
                continue;
            };
            let to = Jid::from(contact.clone());
            for resource in resources {
                let now_blocked = new.is_blocked(resource.as_jid());
                for (jid, presence) in &mine {
                    let stanza = if now_blocked {
                        unavailable(jid.as_jid(), &to)
                    } else if theirs.is_blocked(jid.as_jid()) {
                        continue;
                    } else {
                        readdress(&presence.stanza, &to)
                    };
                    self.send(out, &resource, stanza);
                }
            }
        }

        // The contacts' presence, to the user's resources, where the user may see it.
        let (contacts, shared) = self.presence_sources(bare, &stored);
        for contact in contacts {
            let resources: Vec<_> = self
                .sessions
                .available(&contact)
                .into_iter()
                .filter(|(jid, _)| changed(jid))
                .collect();
            if resources.is_empty() || !self.grants_presence(&contact, bare, &shared).await {
                continue;
            }
            let Some(theirs) = self.blocklist_or_log(&contact).await else {
                continue;
            };
            for (resource, presence) in resources {
                let now_blocked = new.is_blocked(resource.as_jid());
                for (jid, _) in &mine {
                    let me = Jid::from(jid.clone());
                    let stanza = if now_blocked {
                        unavailable(resource.as_jid(), &me)
                    } else if theirs.is_blocked(jid.as_jid()) {
                        continue;
                    } else {
                        readdress(&presence.stanza, &me)
                    };
                    self.send(out, jid, stanza);
                }
            }
        }
    }
}
