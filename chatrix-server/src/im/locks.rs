//! Per-account serialisation: one async lock per account, striped.
//!
//! Every read-modify-write of an account's roster, and every decision "deliver now or store
//! offline" for it, runs under the account's lock, so two stanzas about the same account never
//! interleave between their read and their write (docs/im-core.md). The locks are striped (a
//! fixed array indexed by a hash of the account) so that memory does not grow with the number
//! of accounts; two accounts may share a stripe, which only costs some waiting.
//!
//! Rule: hold at most one of these at a time. Two accounts on one stripe would otherwise
//! deadlock a task against itself.

use std::hash::{BuildHasher, RandomState};

use tokio::sync::{Mutex, MutexGuard};
use xmpp_core::BareJid;

/// How many stripes: enough that unrelated accounts rarely wait on each other.
const STRIPES: usize = 256;

/// The striped account locks.
#[derive(Debug)]
pub(crate) struct AccountLocks {
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
}

impl AccountLocks {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }

    /// Waits for the lock of `account`.
    pub(crate) async fn lock(&self, account: &BareJid) -> MutexGuard<'_, ()> {
        let stripe = usize::try_from(self.hasher.hash_one(account.as_str())).unwrap_or(0) % STRIPES;
        self.stripes[stripe].lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_account_waits_for_the_holder() {
        let locks = AccountLocks::new();
        let a: BareJid = "a@example.org".parse().expect("valid");
        let guard = locks.lock(&a).await;
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), locks.lock(&a));
        assert!(again.await.is_err(), "a second lock must wait");
        drop(guard);
        let _relocked = locks.lock(&a).await;
    }
}
