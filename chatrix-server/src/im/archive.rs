//! The message archive, wired (XEP-0313, XEP-0359): the decisions are xmpp-mam's; this
//! module applies them to each message and query, with the account's preferences cached.
//!
//! Ack means durable: a message worth archiving is committed to both parties' archives (one
//! transaction) before it is routed, so that by the time the sender's `<r/>` counts it, it
//! survives a crash. When the commit fails the sender gets an error and the message goes
//! nowhere: never delivered but unrecorded, never silently dropped.
//!
//! A recipient's copy carries `<stanza-id by='recipient'/>` (its id in the recipient's
//! archive); ids that a sender put on the message claiming one of our archives are removed
//! first, since only the archive may say where a message is stored in it. Messages to
//! accounts that do not exist are not archived for anyone: they bounce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use xmpp_core::{BareJid, FullJid, Jid, Stanza, StanzaError, StanzaKind};
use xmpp_mam::page::{self, PageSizes};
use xmpp_mam::{ArchiveStore, DefaultPolicy, MamRequest, Prefs, results, rules};
use xmpp_sasl::{Rng, SystemRng};

use super::archive_writer::Entry;
use super::{Im, Outbox, storage_error};
use crate::storage::{AccountJid, StorageError};

/// How the archive is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveSettings {
    /// Whether messages are archived and queries answered at all.
    pub enabled: bool,
    /// The preference of an account that never set one.
    pub default_policy: DefaultPolicy,
    /// Page sizes for queries.
    pub pages: PageSizes,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            default_policy: DefaultPolicy::Always,
            pages: PageSizes::default(),
        }
    }
}

/// The most accounts whose preferences are kept in memory; past it the cache starts over
/// (a lookup costs one query, and a stranger must not make the map grow without bound).
const PREFS_CACHE_MAX: usize = 100_000;

/// Preferences of existing accounts, as stored (or the default for an account that never
/// set any). Only accounts known to exist are cached, so that an account registered after
/// a message to its name bounced is archived for from its first message on.
#[derive(Debug, Default)]
pub(super) struct PrefsCache(Mutex<HashMap<BareJid, Arc<Prefs>>>);

impl PrefsCache {
    fn get(&self, account: &BareJid) -> Option<Arc<Prefs>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)
            .cloned()
    }

    fn put(&self, account: &BareJid, prefs: Arc<Prefs>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PREFS_CACHE_MAX {
            map.clear();
        }
        map.insert(account.clone(), prefs);
    }

    pub(super) fn forget(&self, account: &BareJid) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(account);
    }
}

impl Im {
    /// Archives a message from `sender` (`from` stamped) for both parties, when it is worth
    /// archiving and their preferences say so; the stanza comes back with the recipient's
    /// stanza-id. `Err` is the error for the sender: the message must not be routed.
    pub(crate) async fn archive_message(
        &self,
        sender: &FullJid,
        stanza: &mut Stanza,
    ) -> Result<(), StanzaError> {
        if !self.archive.enabled
            || stanza.kind() != StanzaKind::Message
            || !rules::should_archive(stanza)
        {
            return Ok(());
        }
        match stanza.from() {
            None => stanza.set_from(Some(Jid::from(sender.clone()))),
            Some(from) if from == sender || from.as_str() == sender.bare_str() => {
                stanza.set_from(Some(Jid::from(sender.clone())));
            }
            // A forged `from`: the router closes the stream; nothing is archived.
            Some(_) => return Ok(()),
        }
        let Some(to) = stanza.to().cloned() else {
            return Ok(());
        };
        let sender_bare = sender.to_bare();
        let recipient =
            (to.localpart().is_some() && self.router.is_hosted(to.domain())).then(|| to.to_bare());
        {
            let mut ours: Vec<&str> = vec![sender_bare.as_str()];
            if let Some(r) = &recipient {
                ours.push(r.as_str());
            }
            stanza.retain_payloads(|p| !rules::is_own_stanza_id(p, &ours));
        }
        let Some(recipient) = recipient else {
            // Remote recipients arrive with server-to-server; nothing leaves yet.
            return Ok(());
        };
        let from = Jid::from(sender.clone());
        let keep_sent = self
            .archives_with(&sender_bare, &to)
            .await
            .map_err(|e| storage_error(&e))?;
        let keep_received = match self.prefs_of(&recipient).await {
            Ok(Some(prefs)) => self
                .decide(&recipient, &prefs, &from)
                .await
                .map_err(|e| storage_error(&e))?,
            // No such account: the router bounces the message; nobody archives it.
            Ok(None) => return Ok(()),
            Err(e) => return Err(storage_error(&e)),
        };
        if !keep_sent && !keep_received {
            return Ok(());
        }
        let id = new_id();
        let now = SystemTime::now();
        let sent_copy = keep_sent.then(|| stanza.element().clone());
        if keep_received {
            // Ignored when the stanza has no room for it (never: a message takes payloads).
            let _ = stanza.append_payload(rules::stanza_id_element(&id, &recipient));
        }
        let origin_id = rules::origin_id(stanza.element()).map(str::to_owned);
        let mut entries = Vec::with_capacity(2);
        if let Some(copy) = sent_copy {
            entries.push(Entry {
                owner: sender_bare,
                id: id.clone(),
                with: to,
                origin_id: origin_id.clone(),
                timestamp: now,
                stanza: copy,
            });
        }
        if keep_received {
            entries.push(Entry {
                owner: recipient,
                id,
                with: from,
                origin_id,
                timestamp: now,
                stanza: stanza.element().clone(),
            });
        }
        self.archive_writer
            .append(&self.storage, entries)
            .await
            .map_err(|e| storage_error(&e))
    }

    /// Answers an XEP-0313 request of `sender` about its own archive.
    pub(crate) async fn handle_mam_iq(&self, sender: &FullJid, iq: &Stanza, out: &mut Outbox) {
        let Some(request) = MamRequest::parse(iq) else {
            return;
        };
        let owner = sender.to_bare();
        let request = match request
            .and_then(|r| xmpp_mam::query::check_addressee(&owner, iq.to()).map(|()| r))
        {
            Ok(r) => r,
            Err(e) => return out.reply_error(iq, StanzaError::from(e)),
        };
        let answer = match request {
            MamRequest::Query(query) => {
                let plan = page::plan(&query, self.archive.pages);
                let fetched = self
                    .storage
                    .fetch(&owner, &plan.filter, &plan.cursor, plan.limit)
                    .await;
                match fetched.map(|f| page::finish(&plan, f)) {
                    Ok(Ok(page)) => {
                        out.to_sender.extend(results::result_messages(
                            iq,
                            query.query_id.as_deref(),
                            &page,
                        ));
                        results::fin_answer(iq, &page)
                    }
                    Ok(Err(e)) => iq.error_reply(StanzaError::from(e)),
                    Err(e) => iq.error_reply(storage_error(&e)),
                }
            }
            MamRequest::FormRequest => results::form_answer(iq),
            MamRequest::GetPrefs => match self.prefs_of(&owner).await {
                Ok(Some(prefs)) => results::prefs_answer(iq, &prefs),
                Ok(None) => {
                    iq.error_reply(StanzaError::new(xmpp_core::StanzaCondition::ItemNotFound))
                }
                Err(e) => iq.error_reply(storage_error(&e)),
            },
            MamRequest::SetPrefs(prefs) => match self.storage.set_prefs(&owner, &prefs).await {
                Ok(()) => {
                    let answer = results::prefs_answer(iq, &prefs);
                    self.archive_prefs.put(&owner, Arc::new(prefs));
                    answer
                }
                Err(e) => iq.error_reply(storage_error(&e)),
            },
            MamRequest::Metadata => match self.storage.bounds(&owner).await {
                Ok(bounds) => results::metadata_answer(iq, bounds.as_ref()),
                Err(e) => iq.error_reply(storage_error(&e)),
            },
            // `MamRequest` may grow; what is not understood is not implemented.
            _ => iq.error_reply(StanzaError::new(
                xmpp_core::StanzaCondition::FeatureNotImplemented,
            )),
        };
        out.to_sender.extend(answer);
    }

    /// Whether `owner`'s archive keeps a message with `with`.
    async fn archives_with(&self, owner: &BareJid, with: &Jid) -> Result<bool, StorageError> {
        match self.prefs_of(owner).await? {
            Some(prefs) => self.decide(owner, &prefs, with).await,
            None => Ok(false),
        }
    }

    async fn decide(
        &self,
        owner: &BareJid,
        prefs: &Prefs,
        with: &Jid,
    ) -> Result<bool, StorageError> {
        // The roster is read only when the answer depends on it.
        let in_roster = if prefs.default == DefaultPolicy::Roster {
            let account = AccountJid::try_from(owner.clone())
                .map_err(|_| StorageError::NotAnAccount(owner.clone()))?;
            self.storage
                .roster_item(&account, &with.to_bare())
                .await?
                .is_some()
        } else {
            false
        };
        Ok(prefs.decide(with, in_roster))
    }

    /// The preferences of `account`; `None` when there is no such account.
    async fn prefs_of(&self, account: &BareJid) -> Result<Option<Arc<Prefs>>, StorageError> {
        if let Some(prefs) = self.archive_prefs.get(account) {
            return Ok(Some(prefs));
        }
        let Ok(target) = AccountJid::try_from(account.clone()) else {
            return Ok(None);
        };
        if !self.storage.account_exists(&target).await? {
            return Ok(None);
        }
        let prefs = Arc::new(self.storage.prefs(account).await?.unwrap_or_else(|| Prefs {
            default: self.archive.default_policy,
            ..Prefs::default()
        }));
        self.archive_prefs.put(account, Arc::clone(&prefs));
        Ok(Some(prefs))
    }
}

/// A fresh archive id (XEP-0359: unique and unpredictable).
fn new_id() -> String {
    let mut random = [0u8; 16];
    if SystemRng::new().fill_bytes(&mut random).is_err() {
        // The system's random source failing is not something a peer can cause; a time-based
        // id is still unique for this archive.
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        random = nanos.to_le_bytes();
    }
    rules::new_archive_id(random)
}
