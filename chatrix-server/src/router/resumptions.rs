//! Stream-management resumption ids (XEP-0198 §5): which session each id resumes, and the
//! channel through which a new connection takes that session over.
//!
//! An id is scoped to the account that enabled it: a lookup by another account finds
//! nothing, exactly as an unknown id (the client learns nothing either way). Ids are dropped
//! when their session ends for good, and all of an account's ids at once when its password
//! changes or it is deleted, so that a stolen id stops working with the old credentials.
//!
//! The session keeps its state; the registry only knows how to ask for it. A taker sends a
//! one-shot reply channel on the session's takeover channel, and the session (connected or
//! waiting to be resumed) closes its old connection and hands its state back. Generic over
//! what is handed over, so that this table does not depend on the c2s task's types.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use xmpp_core::BareJid;

/// A request to hand a session over: the reply channel for its state.
pub type Takeover<T> = oneshot::Sender<T>;

#[derive(Debug)]
struct Entry<T> {
    account: BareJid,
    takeover: mpsc::Sender<Takeover<T>>,
}

/// The resumable sessions, by resumption id.
#[derive(Debug)]
pub struct Resumptions<T> {
    ids: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> Default for Resumptions<T> {
    fn default() -> Self {
        Self {
            ids: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Resumptions<T> {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Entry<T>>) -> R) -> R {
        // Every change is one map operation: a poisoned lock holds nothing half-written.
        f(&mut self.ids.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Registers `id` for a session of `account`; returns the receiving end the session
    /// listens on for takeover requests.
    pub fn register(&self, id: String, account: BareJid) -> mpsc::Receiver<Takeover<T>> {
        // One request at a time: a second taker waits for the first to finish or fail.
        let (takeover, rx) = mpsc::channel(1);
        self.with(|ids| ids.insert(id, Entry { account, takeover }));
        rx
    }

    /// The takeover channel of `id`, when it belongs to `account`.
    pub fn find(&self, id: &str, account: &BareJid) -> Option<mpsc::Sender<Takeover<T>>> {
        self.with(|ids| {
            ids.get(id)
                .filter(|e| e.account == *account)
                .map(|e| e.takeover.clone())
        })
    }

    /// Forgets `id` (its session ended and will not be resumed).
    pub fn remove(&self, id: &str) {
        self.with(|ids| ids.remove(id));
    }

    /// Forgets every id of `account` (its password changed, or it was deleted). Returns how
    /// many there were.
    pub fn forget_account(&self, account: &BareJid) -> usize {
        self.with(|ids| {
            let before = ids.len();
            ids.retain(|_, e| e.account != *account);
            before - ids.len()
        })
    }

    /// How many ids are registered.
    pub fn len(&self) -> usize {
        self.with(|ids| ids.len())
    }

    /// Whether no id is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(s: &str) -> BareJid {
        s.parse().expect("valid")
    }

    #[test]
    fn an_id_is_found_only_by_its_own_account() {
        let table: Resumptions<u32> = Resumptions::default();
        let _rx = table.register("abc".into(), bare("alice@example.org"));
        assert!(table.find("abc", &bare("alice@example.org")).is_some());
        assert!(table.find("abc", &bare("mallory@example.org")).is_none());
        assert!(table.find("abd", &bare("alice@example.org")).is_none());
    }

    #[test]
    fn forgetting_an_account_drops_only_its_ids() {
        let table: Resumptions<u32> = Resumptions::default();
        let _a = table.register("a1".into(), bare("alice@example.org"));
        let _b = table.register("a2".into(), bare("alice@example.org"));
        let _c = table.register("b1".into(), bare("bob@example.org"));
        assert_eq!(table.forget_account(&bare("alice@example.org")), 2);
        assert_eq!(table.len(), 1);
        assert!(table.find("b1", &bare("bob@example.org")).is_some());
        table.remove("b1");
        assert!(table.is_empty());
    }

    #[tokio::test]
    async fn a_takeover_reaches_the_registered_session() {
        let table: Resumptions<u32> = Resumptions::default();
        let mut rx = table.register("id".into(), bare("alice@example.org"));
        let tx = table.find("id", &bare("alice@example.org")).expect("found");
        let (reply, answer) = oneshot::channel();
        tx.send(reply).await.expect("session listening");
        rx.recv()
            .await
            .expect("request")
            .send(7)
            .expect("taker waiting");
        assert_eq!(answer.await.expect("state"), 7);
    }
}
