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
