//! The IM side of deleting an account: its contacts are told before its data goes.

use std::time::SystemTime;

use xmpp_core::im::presence::subscription;
use xmpp_core::roster::SubscriptionType;
use xmpp_core::{StreamCondition, StreamError};

use super::{Im, Outbox};
use crate::StorageError;
use crate::storage::AccountJid;

impl Im {
    /// Deletes `account` as RFC 6121 asks of a server whose user goes away for good: every
    /// contact that sees the account's presence gets `unavailable` from each available
    /// resource, every roster item gets `unsubscribe` and `unsubscribed` (so contacts' rosters
    /// show the subscription cancelled, both ways), then the account and everything stored
    /// for it are deleted in one transaction with a tombstone that keeps the name until
    /// `tombstone_until`, and finally its sessions are closed with `not-authorized`
    /// (XEP-0077 §3.2).
    ///
    /// The contacts are told first, while the account's roster still exists to say who they
    /// are. If storage fails half-way, the account still exists and the caller may retry:
    /// telling a contact twice is harmless (the Appendix A tables make the repeat a no-op).
    pub(crate) async fn remove_account(
        &self,
        account: &AccountJid,
        tombstone_until: SystemTime,
    ) -> Result<(), StorageError> {
        let user = account.as_bare();
        let roster = self.storage.roster(account).await?;
        let mut out = Outbox::detached();
        for item in roster.items() {
            if item.state().sub.contact_subscribed() {
                self.send_unavailable(user, &item.jid, &mut out);
            }
        }
        for item in roster.items() {
            for kind in [
                SubscriptionType::Unsubscribe,
                SubscriptionType::Unsubscribed,
            ] {
                let stanza = subscription(kind, user, &item.jid);
                self.inbound_subscription(user, &item.jid, kind, stanza, &mut out)
                    .await;
            }
        }
        self.storage
            .delete_account_with_tombstone(account, Some(tombstone_until))
            .await?;
        self.offline.remove(user);
        // The sessions still open must not act on the cached roster of an account that is
        // gone (their closing broadcast would reach former contacts again).
        self.discard_roster(user).await;
        self.sessions.close_account(
            user,
            &StreamError::new(StreamCondition::NotAuthorized)
                .with_text(Some("en"), "this account was deleted"),
        );
        Ok(())
    }
}
