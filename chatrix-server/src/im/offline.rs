//! Offline storage (XEP-0160) with `<delay/>` stamps (XEP-0203): store under the account lock,
//! flush at the next initial presence, in order, then delete.

use std::time::SystemTime;

use bytes::BytesMut;
use xmpp_core::im::offline::{OFFLINE_REASON, stamp_delay};
use xmpp_core::router::Action;
use xmpp_core::xml::{Limits, parse_element};
use xmpp_core::{BareJid, FullJid, Stanza, StanzaCondition, StanzaError};

use super::{Im, Outbox, storage_error};
use crate::storage::{AccountJid, OfflineStored, StorageError};

impl Im {
    /// Stores a message the router found no available resource for, or bounces it to the
    /// sender with the same error whether the account is missing or its storage is full (a
    /// stranger learns nothing about which accounts exist beyond what ejabberd tells).
    pub(crate) async fn store_offline(&self, account: &BareJid, stanza: Stanza, out: &mut Outbox) {
        let guard = self.locks.lock(account).await;
        if self.sessions.view().takes_messages(account) {
            // A resource became available since routing: deliver instead.
            drop(guard);
            let actions = self.router.reroute_message(stanza, &self.sessions.view());
            for action in actions {
                if let Action::Deliver { to, stanza } = action {
                    self.send(out, &to, stanza);
                }
            }
            return;
        }
        let Ok(target) = AccountJid::try_from(account.clone()) else {
            return;
        };
        let mut xml = BytesMut::with_capacity(512);
        // Stored with its namespace declared, so that it parses on its own.
        stanza.element().write_to(&mut xml);
        let xml = String::from_utf8_lossy(&xml);
        let limits = &self.limits.offline;
        let limit_of = |class: Option<&str>| limits.of(class);
        match self
            .storage
            .store_offline(&target, &xml, SystemTime::now(), &limit_of)
            .await
        {
            Ok(OfflineStored::Stored) => self.offline.insert(account),
            Ok(OfflineStored::Full) => {
                tracing::debug!(%account, "offline storage full; message bounced");
                out.reply_error(
                    &stanza,
                    StanzaError::new(StanzaCondition::ServiceUnavailable)
                        .with_text(Some("en"), "offline storage is full"),
                );
            }
            // No such account: the same condition as a full store, no text.
            Err(StorageError::NotFound(_)) => out.reply_error(
                &stanza,
                StanzaError::new(StanzaCondition::ServiceUnavailable),
            ),
            Err(e) => out.reply_error(&stanza, storage_error(&e)),
        }
    }

    /// Sends the account's stored messages to the session behind `out`, oldest first, each
    /// with its `<delay/>`, then deletes them. Under the account lock, so that two resources
    /// coming online at once do not both get them.
    pub(crate) async fn flush_offline(&self, account: &AccountJid, out: &mut Outbox) {
        // Safe without the lock: the caller made the session available under it first, so a
        // store that is not in the index yet will deliver directly instead.
        if !self.offline.contains(account.as_bare()) {
            return;
        }
        let _guard = self.locks.lock(account.as_bare()).await;
        let stored = match self.storage.offline_messages(account).await {
            Ok(m) => m,
            Err(e) => {
                storage_error(&e);
                return;
            }
        };
        let Some(last) = stored.last().map(|m| m.id) else {
            self.offline.remove(account.as_bare());
            return;
        };
        let domain = account.domain();
        for message in stored {
            let parsed = parse_element(
                message.stanza.as_bytes(),
                &Limits::default().for_own_output(),
            )
            .ok()
            .and_then(|e| Stanza::from_element(e).ok());
            let Some(mut stanza) = parsed else {
                tracing::error!(
                    id = message.id,
                    "a stored offline message does not parse; skipped"
                );
                continue;
            };
            stamp_delay(&mut stanza, domain, message.stored_at, Some(OFFLINE_REASON));
            out.to_sender.push(stanza);
        }
        match self.storage.delete_offline(account, last).await {
            Ok(_) => self.offline.remove(account.as_bare()),
            // They stay stored and come again next time: a duplicate, never a loss.
            Err(e) => {
                storage_error(&e);
            }
        }
    }

    /// Routes messages that were queued for a session which ended before writing them.
    pub(crate) async fn reroute_orphans(&self, orphans: Vec<Stanza>) {
        let mut out = Outbox::detached();
        for stanza in orphans {
            let actions = self.router.reroute_message(stanza, &self.sessions.view());
            for action in actions {
                match action {
                    Action::Deliver { to, stanza } => {
                        self.send(&mut out, &to, stanza);
                    }
                    Action::StoreOffline { account, stanza } => {
                        self.store_offline(&account, stanza, &mut out).await;
                    }
                    _ => {}
                }
            }
        }
        // Errors meant for a sender are queued on its session by address.
        for stanza in out.to_sender {
            if let Some(Ok(to)) = stanza.to().map(|t| FullJid::try_from(t.clone())) {
                self.queue(&to, &stanza);
            }
        }
    }
}
