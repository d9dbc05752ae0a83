//! Group commit for the archive: one writer per server takes every pending append from the
//! sessions and commits them in one transaction, then answers each session.
//!
//! Each session still routes its message only after the commit that holds it (ack means
//! durable, unchanged); what changes is that many sessions share one transaction and one
//! flush instead of each taking the database's write lock in turn (on SQLite, the losers of
//! that race sleep in the busy handler: the figures are in `docs/performance.md`). When a
//! batch fails, each request in it is retried alone, so one bad request (an account deleted
//! meanwhile) fails only its own sender.

use std::sync::OnceLock;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};
use xmpp_core::{BareJid, Element, Jid};
use xmpp_mam::{ArchiveStore, NewEntry};

use crate::storage::{Storage, StorageError};

/// Appends waiting for the writer; senders wait when it is full (back-pressure).
const QUEUE: usize = 4096;
/// The most requests in one transaction.
const MAX_BATCH: usize = 256;

/// One archive copy, owned, for the writer.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) owner: BareJid,
    pub(super) id: String,
    pub(super) with: Jid,
    pub(super) origin_id: Option<String>,
    pub(super) timestamp: SystemTime,
    pub(super) stanza: Element,
}

type Request = (Vec<Entry>, oneshot::Sender<Result<(), StorageError>>);

/// The handle sessions append through; the writer task starts on first use.
#[derive(Debug, Default)]
pub(super) struct ArchiveWriter {
    tx: OnceLock<mpsc::Sender<Request>>,
}

impl ArchiveWriter {
    /// Commits `entries` (one message's copies) together, in a transaction shared with
    /// whatever other sessions append meanwhile; returns once it is durable.
    pub(super) async fn append(
        &self,
        storage: &Storage,
        entries: Vec<Entry>,
    ) -> Result<(), StorageError> {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(storage.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        if tx.send((entries, done)).await.is_err() {
            return Err(StorageError::WriterStopped);
        }
        answer.await.unwrap_or(Err(StorageError::WriterStopped))
    }
}

async fn run(storage: Storage, mut rx: mpsc::Receiver<Request>) {
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let result = commit(&storage, batch.iter().flat_map(|(e, _)| e)).await;
        if batch.len() == 1 {
            if let Some((_, done)) = batch.pop() {
                let _ = done.send(result);
            }
            continue;
        }
        match result {
            Ok(()) => {
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Ok(()));
                }
            }
            // The batch failed: each request alone, so that only the bad ones fail.
            Err(_) => {
                for (entries, done) in batch.drain(..) {
                    let _ = done.send(commit(&storage, entries.iter()).await);
                }
            }
        }
    }
}

async fn commit<'a>(
    storage: &Storage,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), StorageError> {
    let borrowed: Vec<NewEntry<'_>> = entries
        .map(|e| NewEntry {
            owner: &e.owner,
            id: &e.id,
            with: &e.with,
            origin_id: e.origin_id.as_deref(),
            timestamp: e.timestamp,
            stanza: &e.stanza,
        })
        .collect();
    storage.append(&borrowed).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use xmpp_mam::{Cursor, Fetched, Filter};
    use xmpp_sasl::{FixedRng, StoredCredentials};

    use super::*;
    use crate::storage::AccountJid;

    fn entry(owner: &str, id: &str) -> Entry {
        Entry {
            owner: owner.parse().unwrap(),
            id: id.to_owned(),
            with: "peer@example.org".parse().unwrap(),
            origin_id: None,
            timestamp: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            stanza:
                "<message xmlns='jabber:client' to='peer@example.org'><body>hi</body></message>"
                    .parse()
                    .unwrap(),
        }
    }

    async fn ids(storage: &Storage, owner: &str) -> Vec<String> {
        let fetched = storage
            .fetch(
                &owner.parse().unwrap(),
                &Filter::default(),
                &Cursor::First,
                10,
            )
            .await
            .unwrap();
        match fetched {
            Fetched::Messages(m) => m.into_iter().map(|m| m.id).collect(),
            Fetched::UnknownId => panic!("no cursor id was given"),
        }
    }

    /// Requests that wait together share a transaction; one that cannot be stored (an
    /// account that does not exist) fails alone, and the others are committed.
    #[tokio::test]
    async fn a_bad_request_fails_alone_and_the_rest_of_its_batch_commits() {
        crate::testing::with_sqlite_storage(|storage| async move {
            let credentials =
                StoredCredentials::generate_all("pw", 4096, &mut FixedRng::new(1)).unwrap();
            storage
                .create_account(
                    &AccountJid::parse("alice@example.org").unwrap(),
                    &credentials,
                )
                .await
                .unwrap();
            let (tx, rx) = mpsc::channel(QUEUE);
            let mut answers = Vec::new();
            // Queued before the writer runs, so that its first batch holds all three.
            for (owner, id) in [
                ("alice@example.org", "a1"),
                ("nobody@example.org", "n1"),
                ("alice@example.org", "a2"),
            ] {
                let (done, answer) = oneshot::channel();
                tx.send((vec![entry(owner, id)], done)).await.unwrap();
                answers.push(answer);
            }
            drop(tx);
            run(storage.clone(), rx).await;
            let results: Vec<bool> = futures_ok(answers).await;
            assert_eq!(results, [true, false, true]);
            assert_eq!(ids(&storage, "alice@example.org").await, ["a1", "a2"]);
        })
        .await;
    }

    async fn futures_ok(answers: Vec<oneshot::Receiver<Result<(), StorageError>>>) -> Vec<bool> {
        let mut out = Vec::new();
        for answer in answers {
            out.push(answer.await.unwrap().is_ok());
        }
        out
    }
}
