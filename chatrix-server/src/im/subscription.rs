//! Subscription stanzas (RFC 6121 §3): the user's side (Appendix A.2) and, for a local
//! contact, the contact's side (A.3), with pre-approval (§3.4) and the follow-ups the tables
//! call for.

use std::future::Future;
use std::pin::Pin;

use xmpp_core::im::presence::{stamp_subscription, subscription, unavailable};
use xmpp_core::roster::{FollowUp, RosterItem, State, SubscriptionType, inbound, outbound};
use xmpp_core::{BareJid, FullJid, Jid, Stanza, StanzaCondition, StanzaError};

use super::{Im, Outbox, storage_error};
use crate::storage::AccountJid;

/// What a subscription stanza changed in one roster.
struct Applied {
    old: State,
    outcome: xmpp_core::roster::Outcome,
}

/// Why a subscription stanza could not be applied.
enum Refused {
    /// The roster is full and the stanza would add an item.
    RosterFull,
    /// Storage failed.
    Storage(crate::StorageError),
}

impl Im {
    /// A subscription stanza the user bound as `sender` sent to `contact`.
    pub(crate) async fn handle_subscription(
        &self,
        sender: &FullJid,
        contact: BareJid,
        kind: SubscriptionType,
        stanza: Stanza,
        out: &mut Outbox,
    ) {
        let Ok(user) = AccountJid::try_from(sender.to_bare()) else {
            return;
        };
        let applied = self
            .apply(&user, &contact, |state| outbound(state, kind), out)
            .await;
        let outcome = match applied {
            Ok(a) => a.outcome,
            Err(Refused::RosterFull) => {
                return out.reply_error(
                    &stanza,
                    StanzaError::new(StanzaCondition::NotAllowed)
                        .with_text(Some("en"), "the roster is full"),
                );
            }
            Err(Refused::Storage(e)) => return out.reply_error(&stanza, storage_error(&e)),
        };
        let user = user.as_bare();
        if outcome.deliver {
            let forwarded = stamp_subscription(&stanza, user, &contact);
            self.inbound_subscription(user, &contact, kind, forwarded, out)
                .await;
        }
        match outcome.follow_up {
            Some(FollowUp::SendPresence) => self.send_current_presence(user, &contact, out),
            Some(FollowUp::SendUnavailable) => self.send_unavailable(user, &contact, out),
            _ => {}
        }
    }

    /// A subscription stanza from `from` arrives for `owner` (A.3): applied to the owner's
    /// roster when the owner is a local account, delivered to its available resources when
    /// the table says so. Boxed: a pre-approved or already-granted request answers itself
    /// with `subscribed`, which arrives back at `from` through this same function.
    pub(crate) fn inbound_subscription<'a>(
        &'a self,
        from: &'a BareJid,
        owner: &'a BareJid,
        kind: SubscriptionType,
        stanza: Stanza,
        out: &'a mut Outbox,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if !self.router.is_hosted(owner.domain()) {
                // A remote contact: nothing to do until server-to-server exists.
                return;
            }
            let Ok(account) = AccountJid::try_from(owner.clone()) else {
                return;
            };
            let applied = match self
                .apply(&account, from, |state| inbound(state, kind), out)
                .await
            {
                Ok(a) => a,
                // §3.1.3: a request to an account that does not exist is answered with
                // `unsubscribed`, so the requester's pending state clears. (A request always
                // writes the item, which is where a missing account shows; other stanzas
                // change nothing for it and end here silently.)
                Err(Refused::Storage(crate::StorageError::NotFound(_))) => {
                    if kind == SubscriptionType::Subscribe {
                        let reply = subscription(SubscriptionType::Unsubscribed, owner, from);
                        self.inbound_subscription(
                            owner,
                            from,
                            SubscriptionType::Unsubscribed,
                            reply,
                            out,
                        )
                        .await;
                    }
                    return;
                }
                Err(Refused::RosterFull) => {
                    tracing::debug!(%owner, "roster full; subscription stanza refused");
                    return;
                }
                Err(Refused::Storage(e)) => {
                    storage_error(&e);
                    return;
                }
            };
            let outcome = applied.outcome;
            if outcome.deliver {
                self.send_to_available(out, owner, &stanza);
            }
            match outcome.follow_up {
                Some(FollowUp::AutoSubscribed) => {
                    let reply = subscription(SubscriptionType::Subscribed, owner, from);
                    self.inbound_subscription(
                        owner,
                        from,
                        SubscriptionType::Subscribed,
                        reply,
                        out,
                    )
                    .await;
                    if !applied.old.sub.contact_subscribed() {
                        self.send_current_presence(owner, from, out);
                    }
                }
                Some(FollowUp::SendUnavailable) => self.send_unavailable(owner, from, out),
                Some(FollowUp::SendPresence) => self.send_current_presence(owner, from, out),
                _ => {}
            }
        })
    }

    /// Applies a state change to `owner`'s item for `contact` under the owner's lock, storing
    /// and pushing it when it changed (a push to the session being served goes through `out`,
    /// so it is written before that session's next answer).
    async fn apply(
        &self,
        owner: &AccountJid,
        contact: &BareJid,
        decide: impl FnOnce(State) -> xmpp_core::roster::Outcome,
        out: &mut Outbox,
    ) -> Result<Applied, Refused> {
        let guard = self.locks.lock(owner.as_bare()).await;
        let item = self
            .storage
            .roster_item(owner, contact)
            .await
            .map_err(Refused::Storage)?;
        let old = item.as_ref().map_or(State::NONE, RosterItem::state);
        let outcome = decide(old);
        if outcome.state == old {
            return Ok(Applied { old, outcome });
        }
        if item.is_none() {
            let len = self
                .storage
                .roster_len(owner)
                .await
                .map_err(Refused::Storage)?;
            if len >= self.limits.max_roster_items {
                return Err(Refused::RosterFull);
            }
        }
        let mut item = item.unwrap_or_else(|| RosterItem::new(contact.clone()));
        item.set_state(outcome.state);
        let ver = self
            .storage
            .put_roster_item(owner, &item)
            .await
            .map_err(Refused::Storage)?;
        self.cache_put(owner.as_bare(), &item, ver);
        drop(guard);
        if outcome.roster_push {
            let change = xmpp_core::roster::RosterChange::Put(item);
            let (element, ver) = self.shared.visible_item(owner.as_bare(), &change, ver);
            self.push_item(out, owner.as_bare(), &element, ver);
        }
        Ok(Applied { old, outcome })
    }

    /// Sends `contact` the current presence of each available resource of `user` (a new
    /// subscription was approved, RFC 6121 §3.1.5).
    pub(crate) fn send_current_presence(
        &self,
        user: &BareJid,
        contact: &BareJid,
        out: &mut Outbox,
    ) {
        let to = Jid::from(contact.clone());
        for (_, presence) in self.sessions.available(user) {
            let stanza = xmpp_core::im::presence::readdress(&presence.stanza, &to);
            self.send_to_available(out, contact, &stanza);
        }
    }

    /// Sends `contact` `unavailable` from each available resource of `user`: the contact's
    /// subscription to the user ended (RFC 6121 §3.2.2, §3.3.3).
    pub(crate) fn send_unavailable(&self, user: &BareJid, contact: &BareJid, out: &mut Outbox) {
        let to = Jid::from(contact.clone());
        for (jid, _) in self.sessions.available(user) {
            let stanza = unavailable(&Jid::from(jid), &to);
            self.send_to_available(out, contact, &stanza);
        }
    }
}
