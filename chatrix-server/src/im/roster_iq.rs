//! Roster gets and sets (RFC 6121 §2.1.3, §2.3–§2.5), with pushes and versioning.

use xmpp_core::roster::{
    RosterChange, SubscriptionType, handle_roster_get, handle_roster_set, requested_ver,
};
use xmpp_core::{FullJid, IqType, Stanza, StanzaCondition, StanzaError};

use super::{Im, Outbox, storage_error};
use crate::router::SessionHandle;
use crate::storage::AccountJid;

impl Im {
    /// Answers a roster get or set the router identified (addressed to the sender's own
    /// account, `jabber:iq:roster` payload).
    pub(crate) async fn handle_roster_iq(
        &self,
        sender: &FullJid,
        handle: &SessionHandle,
        iq: Stanza,
        out: &mut Outbox,
    ) {
        let Ok(owner) = AccountJid::try_from(sender.to_bare()) else {
            return;
        };
        let Some(query) = iq.iq_payload().filter(|q| q.name() == "query") else {
            return out.reply_error(&iq, StanzaError::new(StanzaCondition::BadRequest));
        };
        match iq.iq_type() {
            Some(IqType::Get) => {
                // RFC 6121 §2.1.6: requesting the roster makes a resource interested.
                self.sessions.set_interested(sender, handle);
                match self.stored_roster(&owner).await {
                    Ok(stored) => {
                        let roster = self.shared.visible_roster(owner.as_bare(), &stored);
                        let payload = handle_roster_get(&roster, requested_ver(query));
                        if let Some(result) = iq.iq_result(payload) {
                            out.to_sender.push(result);
                        }
                    }
                    Err(e) => out.reply_error(&iq, storage_error(&e)),
                }
            }
            Some(IqType::Set) => self.roster_set(&owner, &iq, out).await,
            _ => {}
        }
    }

    async fn roster_set(&self, owner: &AccountJid, iq: &Stanza, out: &mut Outbox) {
        let Some(query) = iq.iq_payload() else {
            return;
        };
        let guard = self.locks.lock(owner.as_bare()).await;
        let stored = match self.stored_roster_locked(owner).await {
            Ok(r) => r,
            Err(e) => return out.reply_error(iq, storage_error(&e)),
        };
        let change = match handle_roster_set(&stored, query, &self.limits.roster) {
            Ok(c) => c,
            Err(e) => return out.reply_error(iq, e.into()),
        };
        let stored_ver = match &change {
            RosterChange::Put(item) => {
                if stored.get(&item.jid).is_none() && stored.len() >= self.limits.max_roster_items {
                    return out.reply_error(
                        iq,
                        StanzaError::new(StanzaCondition::NotAllowed)
                            .with_text(Some("en"), "the roster is full"),
                    );
                }
                let ver = self.storage.put_roster_item(owner, item).await;
                if let Ok(ver) = ver {
                    self.cache_put(owner.as_bare(), item, ver);
                }
                ver.map(Some)
            }
            RosterChange::Remove { removed, .. } => {
                let ver = self.storage.remove_roster_item(owner, &removed.jid).await;
                if let Ok(Some(ver)) = ver {
                    self.cache_remove(owner.as_bare(), &removed.jid, ver);
                }
                ver
            }
            _ => Ok(None),
        };
        drop(guard);
        let stored_ver = match stored_ver {
            Ok(v) => v,
            Err(e) => return out.reply_error(iq, storage_error(&e)),
        };
        if let Some(result) = iq.iq_result(None) {
            out.to_sender.push(result);
        }
        if let Some(ver) = stored_ver {
            let (item, ver) = self.shared.visible_item(owner.as_bare(), &change, ver);
            self.push_item(out, owner.as_bare(), &item, ver);
        }
        // §2.5.2: removing an item cancels the subscriptions both ways.
        if let RosterChange::Remove {
            removed,
            send_unsubscribe,
            send_unsubscribed,
        } = change
        {
            let user = owner.as_bare();
            if removed.state().sub.contact_subscribed() {
                self.send_unavailable(user, &removed.jid, out);
            }
            for (send, kind) in [
                (send_unsubscribe, SubscriptionType::Unsubscribe),
                (send_unsubscribed, SubscriptionType::Unsubscribed),
            ] {
                if send {
                    let stanza = xmpp_core::im::presence::subscription(kind, user, &removed.jid);
                    self.inbound_subscription(user, &removed.jid, kind, stanza, out)
                        .await;
                }
            }
        }
    }
}
