//! The IM side of deleting an account: its contacts are told before its data goes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use xmpp_core::im::presence::subscription;
use xmpp_core::roster::SubscriptionType;
use xmpp_core::{BareJid, StreamCondition, StreamError};

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
        // First: a stream that authenticated already and binds while this runs is refused.
        self.deleted.insert(user);
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
        self.discard_blocklist(user);
        self.resumptions.forget_account(user);
        self.archive_prefs.forget(user);
        self.sessions.close_account(
            user,
            &StreamError::new(StreamCondition::NotAuthorized)
                .with_text(Some("en"), "this account was deleted"),
        );
        Ok(())
    }
}

/// How long a deletion is remembered: longer than any stream takes from SASL success to
/// binding (the negotiation timeout is a minute).
const REMEMBER_DELETION: Duration = Duration::from_secs(600);

/// Accounts deleted in the last [`REMEMBER_DELETION`]. A stream checks it when it binds, so
/// that a client that authenticated just before its account was deleted gets no session:
/// without it, that bind would succeed for an account that no longer exists. In memory, as
/// the streams it protects are.
#[derive(Debug, Default)]
pub(super) struct RecentlyDeleted(Mutex<HashMap<BareJid, Instant>>);

impl RecentlyDeleted {
    fn insert(&self, account: &BareJid) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        map.retain(|_, at| now.duration_since(*at) < REMEMBER_DELETION);
        map.insert(account.clone(), now);
    }

    fn contains(&self, account: &BareJid) -> bool {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(account)
            .is_some_and(|at| at.elapsed() < REMEMBER_DELETION)
    }

    fn remove(&self, account: &BareJid) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(account);
    }
}

impl Im {
    /// Whether `account` was deleted moments ago (a stream of it must not bind).
    pub(crate) fn was_deleted(&self, account: &BareJid) -> bool {
        self.deleted.contains(account)
    }

    /// The name was registered anew: its streams may bind again.
    pub(crate) fn forget_deletion(&self, account: &BareJid) {
        self.deleted.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_are_remembered_until_forgotten() {
        let deleted = RecentlyDeleted::default();
        let alice: BareJid = "alice@example.org".parse().expect("valid");
        assert!(!deleted.contains(&alice));
        deleted.insert(&alice);
        assert!(deleted.contains(&alice));
        deleted.remove(&alice);
        assert!(!deleted.contains(&alice));
    }
}
