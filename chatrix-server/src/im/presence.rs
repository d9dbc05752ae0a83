//! Presence broadcast, probes and directed presence (RFC 6121 §4).
//!
//! Presence goes only where the user's roster says it may (`from` or `both`, and shared-group
//! members), to the user's own available resources, and to JIDs the user sent directed
//! presence to: nowhere else (docs/im-core.md).
//!
//! Block lists (XEP-0191, `blocking.rs`) narrow that further, one resource at a time: no
//! presence goes to a contact's resource the user blocks, nor from the user to a contact
//! whose own list blocks the user's resource, and likewise for the contacts' presence the
//! user receives (probes at initial presence, pending requests, answers to probes).

use std::collections::HashSet;
use std::sync::Arc;

use xmpp_core::blocking::BlockList;
use xmpp_core::im::presence::{readdress, subscription, unavailable};
use xmpp_core::roster::{Roster, SubscriptionType};
use xmpp_core::{BareJid, FullJid, Jid, Stanza};

use super::{Im, Outbox, storage_error};
use crate::router::{Presence, SessionHandle};
use crate::storage::AccountJid;

/// The most JIDs one session remembers having sent directed presence to; beyond it the oldest
/// are still told at the end, newer ones are not remembered (the user chose to send them).
pub(crate) const MAX_DIRECTED: usize = 1000;

impl Im {
    /// The user's presence broadcast: `priority` is `Some` for available presence, `None` for
    /// unavailable. `was_available` says whether this session had sent available presence
    /// before (an initial presence triggers probes, stored requests and offline messages).
    /// `directed` is the session's set of directed-presence recipients, told and emptied on
    /// unavailable.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn handle_broadcast(
        &self,
        sender: &FullJid,
        handle: &SessionHandle,
        stanza: Stanza,
        priority: Option<i8>,
        was_available: bool,
        directed: &mut HashSet<Jid>,
        out: &mut Outbox,
    ) {
        let Ok(user) = AccountJid::try_from(sender.to_bare()) else {
            return;
        };
        let bare = user.as_bare();
        {
            // Under the account lock: an offline store for this account either finished
            // before (and its message is flushed below) or sees the session available.
            let _guard = self.locks.lock(bare).await;
            let presence = priority.map(|priority| Presence {
                priority,
                stanza: Arc::new(stanza.clone()),
            });
            self.sessions.set_presence(sender, handle, presence);
        }
        let stored = match self.stored_roster(&user).await {
            Ok(r) => r,
            Err(e) => {
                // Without the roster nobody may be told: tell no one rather than guess.
                storage_error(&e);
                return;
            }
        };
        let subscribers = self.presence_subscribers(bare, &stored);
        // Without the user's list, no contact is told (it might be one the user blocks).
        let mine = self.blocklist_or_log(bare).await;
        for contact in &subscribers {
            if contact != bare
                && let Some(mine) = &mine
            {
                self.broadcast_to_contact(sender, contact, &stanza, mine, out)
                    .await;
            }
        }
        // The account's own available resources (the sender included, §4.2.2, §4.4.2).
        for (jid, _) in self.sessions.available(bare) {
            let to = Jid::from(jid.clone());
            self.send(out, &jid, readdress(&stanza, &to));
        }
        if priority.is_none() {
            self.tell_directed_unavailable(sender, &stanza, &subscribers, directed, out);
            // The account's other resources learnt it above; the sender is no longer
            // available, so it is told here, as every resource of the account is (§4.5.2).
            out.to_sender
                .push(readdress(&stanza, &Jid::from(sender.clone())));
            return;
        }
        if !was_available && let Some(mine) = &mine {
            self.initial_presence_extras(sender, &user, &stored, mine, out)
                .await;
        }
        // Offline messages go to the first resource that takes messages: at its initial
        // presence, or when a negative priority becomes non-negative (XEP-0160 §3).
        if priority.is_some_and(|p| p >= 0) {
            self.flush_offline(&user, out).await;
        }
    }

    /// The contacts that may see `user`'s presence: roster items with a subscription `from`
    /// or `both`, and shared-group members, each once.
    /// The contacts whose presence `user` may see, each once and without the user: roster
    /// items it is subscribed to (`to`, `both`) and shared-group members. Also returns the
    /// shared-group members alone, which [`Self::grants_presence`] needs.
    pub(super) fn presence_sources(
        &self,
        user: &BareJid,
        stored: &Roster,
    ) -> (Vec<BareJid>, Vec<BareJid>) {
        let shared: Vec<BareJid> = self
            .shared
            .contacts_of(user)
            .into_iter()
            .map(|c| c.jid)
            .collect();
        let mut contacts: Vec<BareJid> = Vec::new();
        let candidates = stored
            .items()
            .filter(|i| i.state().sub.user_subscribed())
            .map(|i| &i.jid)
            .chain(&shared);
        for contact in candidates {
            if contact != user && !contacts.contains(contact) {
                contacts.push(contact.clone());
            }
        }
        (contacts, shared)
    }

    pub(super) fn presence_subscribers(&self, user: &BareJid, stored: &Roster) -> Vec<BareJid> {
        let mut subscribers: Vec<BareJid> = stored
            .items()
            .filter(|i| i.state().sub.contact_subscribed())
            .map(|i| i.jid.clone())
            .collect();
        for c in self.shared.contacts_of(user) {
            if !subscribers.contains(&c.jid) {
                subscribers.push(c.jid);
            }
        }
        subscribers
    }

    /// Sends the user's presence `stanza` to each available resource of `contact` that
    /// neither side's block list rules out.
    async fn broadcast_to_contact(
        &self,
        sender: &FullJid,
        contact: &BareJid,
        stanza: &Stanza,
        mine: &BlockList,
        out: &mut Outbox,
    ) {
        let resources = self.sessions.available(contact);
        if resources.is_empty() {
            return;
        }
        let Some(theirs) = self.blocklist_or_log(contact).await else {
            return;
        };
        if theirs.is_blocked(sender.as_jid()) {
            return;
        }
        let presence = readdress(stanza, &Jid::from(contact.clone()));
        for (jid, _) in resources {
            if !mine.is_blocked(jid.as_jid()) {
                self.send(out, &jid, presence.clone());
            }
        }
    }

    /// Whether `contact` lets `user` see its presence, from the contact's side: a
    /// shared-group member (in `shared`, the user's shared contacts) always does, a local
    /// account when its roster says `from` or `both` for the user. A roster out of step with
    /// the user's then never shows presence the contact did not grant.
    pub(super) async fn grants_presence(
        &self,
        contact: &BareJid,
        user: &BareJid,
        shared: &[BareJid],
    ) -> bool {
        if shared.contains(contact) {
            return true;
        }
        let Ok(account) = AccountJid::try_from(contact.clone()) else {
            return false;
        };
        match self.stored_roster(&account).await {
            Ok(theirs) => theirs
                .get(user)
                .is_some_and(|i| i.state().sub.contact_subscribed()),
            Err(e) => {
                storage_error(&e);
                false
            }
        }
    }

    /// What only an initial presence gets: the presence of the account's other resources and
    /// of every contact the user may see, and stored subscription requests; none from a JID
    /// `mine` (the user's block list) blocks.
    async fn initial_presence_extras(
        &self,
        sender: &FullJid,
        user: &AccountJid,
        stored: &Roster,
        mine: &BlockList,
        out: &mut Outbox,
    ) {
        let bare = user.as_bare();
        let me = Jid::from(sender.clone());
        for (jid, presence) in self.sessions.available(bare) {
            if jid != *sender {
                out.to_sender.push(readdress(&presence.stanza, &me));
            }
        }
        // Probes, answered locally. Candidates are the contacts the user's roster says it
        // sees (`to`, `both`) and shared-group members; only online ones have presence to
        // give, and each is checked from its own side (`grants_presence`, and its block list).
        let (contacts, shared) = self.presence_sources(bare, stored);
        for contact in contacts {
            let available = self.sessions.available(&contact);
            if available.is_empty() {
                continue;
            }
            if self.grants_presence(&contact, bare, &shared).await
                && let Some(theirs) = self.blocklist_or_log(&contact).await
                && !theirs.is_blocked(sender.as_jid())
            {
                for (jid, presence) in available {
                    if !mine.is_blocked(jid.as_jid()) {
                        out.to_sender.push(readdress(&presence.stanza, &me));
                    }
                }
            }
        }
        // §3.1.3: requests that wait for an answer are delivered again (XEP-0191 §3.3: not
        // those of a contact the user blocks since).
        for item in stored
            .items()
            .filter(|i| i.pending_in && !mine.is_blocked(i.jid.as_jid()))
        {
            let mut request = subscription(SubscriptionType::Subscribe, &item.jid, bare);
            request.set_to(Some(Jid::from(bare.clone())));
            out.to_sender.push(request);
        }
    }

    fn tell_directed_unavailable(
        &self,
        sender: &FullJid,
        stanza: &Stanza,
        subscribers: &[BareJid],
        directed: &mut HashSet<Jid>,
        out: &mut Outbox,
    ) {
        // Each session is told once, however many of its JIDs (bare and full) were sent
        // directed presence.
        let mut told: HashSet<FullJid> = HashSet::new();
        for to in directed.drain() {
            let bare = to.to_bare();
            if subscribers.contains(&bare) || bare.as_str() == sender.bare_str() {
                continue;
            }
            let targets: Vec<FullJid> = match FullJid::try_from(to.clone()) {
                Ok(full) => vec![full],
                Err(_) => self
                    .sessions
                    .view()
                    .available(&bare)
                    .into_iter()
                    .map(|(jid, _)| jid)
                    .collect(),
            };
            for target in targets {
                if told.insert(target.clone()) {
                    self.send(out, &target, readdress(stanza, &to));
                }
            }
        }
    }

    /// A probe from the user bound as `sender` for `contact`'s presence: answered with the
    /// contact's available resources only when the user may see them (§4.3.2), with
    /// `unavailable` when the user may but the contact is offline, and not at all otherwise.
    /// Resources the user blocks are left out, and a contact that blocks the user gives
    /// nothing (XEP-0191 §3.3; the session's blocking check stops most such probes before).
    pub(crate) async fn handle_probe(&self, sender: &FullJid, contact: &BareJid, out: &mut Outbox) {
        let user = sender.to_bare();
        let me = Jid::from(sender.clone());
        let allowed = if *contact == user
            || self
                .shared
                .contacts_of(&user)
                .iter()
                .any(|c| c.jid == *contact)
        {
            true
        } else {
            let Ok(account) = AccountJid::try_from(contact.clone()) else {
                return;
            };
            match self.storage.roster_item(&account, &user).await {
                Ok(item) => item.is_some_and(|i| i.state().sub.contact_subscribed()),
                Err(e) => {
                    storage_error(&e);
                    false
                }
            }
        };
        if !allowed {
            return;
        }
        let (Some(mine), Some(theirs)) = (
            self.blocklist_or_log(&user).await,
            self.blocklist_or_log(contact).await,
        ) else {
            return;
        };
        if theirs.is_blocked(sender.as_jid()) {
            return;
        }
        let available = self.sessions.available(contact);
        if available.is_empty() && !mine.is_blocked(contact.as_jid()) {
            out.to_sender
                .push(unavailable(&Jid::from(contact.clone()), &me));
        }
        for (jid, presence) in available {
            if jid != *sender && !mine.is_blocked(jid.as_jid()) {
                out.to_sender.push(readdress(&presence.stanza, &me));
            }
        }
    }
}

/// Remembers (or forgets) a directed-presence recipient of a session (RFC 6121 §4.6.3).
pub(crate) fn note_directed(directed: &mut HashSet<Jid>, to: Jid, available: bool) {
    if available {
        if directed.len() < MAX_DIRECTED {
            directed.insert(to);
        }
    } else {
        directed.remove(&to);
    }
}
