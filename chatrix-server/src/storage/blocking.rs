//! Block lists (XEP-0191), on both backends: xmpp-core's [`BlockListStore`] for [`Storage`].
//!
//! `blocklist` (`0004_archive.sql`) holds one row per blocked JID (xmpp-core's normalised
//! string, unique per owner), with a global sequence `seq` that keeps the order they were
//! blocked in. Blocking a JID already on the list keeps its place.

use xmpp_core::blocking::BlockListStore;
use xmpp_core::{BareJid, Jid};

use super::roster::owner_account;
use super::{Storage, StorageError, dispatch};

/// xmpp-core's blocking logic runs on the server's storage directly. An owner without a
/// localpart is [`StorageError::NotAnAccount`]; blocking for an account that does not exist
/// is [`StorageError::NotFound`]. A call's changes are one transaction.
impl BlockListStore for Storage {
    type Error = StorageError;

    async fn blocklist(&self, owner: &BareJid) -> Result<Vec<Jid>, StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.blocklist(&owner))
    }

    async fn block(&self, owner: &BareJid, jids: &[Jid]) -> Result<(), StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.blocklist_add(&owner, jids))
    }

    async fn unblock(&self, owner: &BareJid, jids: &[Jid]) -> Result<(), StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.blocklist_remove(&owner, jids))
    }

    async fn unblock_all(&self, owner: &BareJid) -> Result<(), StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.blocklist_clear(&owner))
    }
}

/// The block-list SQL both backends run.
mod sql {
    pub(super) const SELECT: &str =
        "SELECT jid FROM blocklist WHERE domain = $1 AND localpart = $2 ORDER BY seq";
    pub(super) const INSERT: &str = "INSERT INTO blocklist (domain, localpart, jid) \
         VALUES ($1, $2, $3) ON CONFLICT (domain, localpart, jid) DO NOTHING";
    pub(super) const DELETE: &str =
        "DELETE FROM blocklist WHERE domain = $1 AND localpart = $2 AND jid = $3";
    pub(super) const DELETE_ALL: &str =
        "DELETE FROM blocklist WHERE domain = $1 AND localpart = $2";
}

/// Adds the block-list methods to `$storage`.
macro_rules! blocklist_queries {
    ($storage:ty) => {
        impl $storage {
            pub(super) async fn blocklist(
                &self,
                owner: &AccountJid,
            ) -> Result<Vec<Jid>, StorageError> {
                let rows = sqlx::query(sql::SELECT)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .fetch_all(self.pool())
                    .await?;
                rows.iter()
                    .map(|row| {
                        let jid: &str = row.try_get("jid")?;
                        Jid::new(jid).map_err(|e| {
                            StorageError::Corrupt(format!("blocked `{jid}` of {owner}: {e}"))
                        })
                    })
                    .collect()
            }

            pub(super) async fn blocklist_add(
                &self,
                owner: &AccountJid,
                jids: &[Jid],
            ) -> Result<(), StorageError> {
                let mut tx = self.pool().begin().await?;
                for jid in jids {
                    sqlx::query(sql::INSERT)
                        .bind(owner.domain())
                        .bind(owner.localpart())
                        .bind(jid.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            if is_foreign_key_violation(&e) {
                                StorageError::NotFound(owner.clone())
                            } else {
                                StorageError::Backend(e)
                            }
                        })?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn blocklist_remove(
                &self,
                owner: &AccountJid,
                jids: &[Jid],
            ) -> Result<(), StorageError> {
                let mut tx = self.pool().begin().await?;
                for jid in jids {
                    sqlx::query(sql::DELETE)
                        .bind(owner.domain())
                        .bind(owner.localpart())
                        .bind(jid.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn blocklist_clear(
                &self,
                owner: &AccountJid,
            ) -> Result<(), StorageError> {
                sqlx::query(sql::DELETE_ALL)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .execute(self.pool())
                    .await?;
                Ok(())
            }
        }
    };
}

mod backends {
    use sqlx::Row as _;
    use xmpp_core::Jid;

    use super::super::{
        AccountJid, PostgresStorage, SqliteStorage, StorageError, is_foreign_key_violation,
    };
    use super::sql;

    blocklist_queries!(SqliteStorage);
    blocklist_queries!(PostgresStorage);
}
