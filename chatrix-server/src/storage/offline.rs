//! Offline messages (XEP-0160), on both backends.
//!
//! One row per stored stanza in `offline_messages` (`0002_im.sql`), with an id that is never
//! used twice (SQLite `AUTOINCREMENT`, a PostgreSQL identity column): the server delivers
//! everything up to the last id it read, then deletes exactly that, so a message stored in
//! between is neither lost nor delivered twice.
//!
//! The per-account limit is checked by the write itself, never by a separate count the caller
//! makes first (see [`Storage::store_offline`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{AccountJid, Storage, StorageError, dispatch};

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineMessage {
    /// Its id: increasing in storage order, never reused; what
    /// [`Storage::delete_offline`] takes once the messages up to it are delivered.
    pub id: i64,
    /// When it was stored, to the microsecond (the `<delay/>` stamp).
    pub stored_at: SystemTime,
    /// The serialised stanza, as handed to [`Storage::store_offline`].
    pub stanza: String,
}

/// Whether [`Storage::store_offline`] stored the message: a full store must be answered
/// (`service-unavailable`), never ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum OfflineStored {
    /// Stored.
    Stored,
    /// The account holds its limit already; nothing was written.
    Full,
}

impl Storage {
    /// Stores the serialised stanza for `account`, unless it already holds `limit` messages
    /// (then [`OfflineStored::Full`], nothing written). `stored_at` is kept to the microsecond
    /// (truncated).
    ///
    /// The count and the insert are atomic, so concurrent stores never exceed the limit. On
    /// SQLite they are one statement, which runs under the database's single write lock. On
    /// PostgreSQL one statement would not do (under READ COMMITTED two inserts could both count
    /// `limit - 1`), so the insert runs in a transaction that first locks the account row
    /// (`FOR NO KEY UPDATE`): stores for one account queue behind each other, and each counts
    /// what the previous one committed. The server serialises stores per account as well.
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn store_offline(
        &self,
        account: &AccountJid,
        stanza: &str,
        stored_at: SystemTime,
        limit: u32,
    ) -> Result<OfflineStored, StorageError> {
        dispatch!(self.store_offline(account, stanza, micros(stored_at), i64::from(limit)))
    }

    /// All stored messages of the account, oldest first (by id).
    pub async fn offline_messages(
        &self,
        account: &AccountJid,
    ) -> Result<Vec<OfflineMessage>, StorageError> {
        dispatch!(self.offline_messages(account))
    }

    /// Deletes the account's messages with `id <= up_to` (those just delivered); returns how
    /// many.
    pub async fn delete_offline(
        &self,
        account: &AccountJid,
        up_to: i64,
    ) -> Result<u64, StorageError> {
        dispatch!(self.delete_offline(account, up_to))
    }

    /// How many messages the account holds.
    pub async fn offline_count(&self, account: &AccountJid) -> Result<u64, StorageError> {
        dispatch!(self.offline_count(account))
    }

    /// Every account that holds at least one message: the server reads it once at start-up
    /// so that a login of an account with nothing stored costs no query.
    pub async fn accounts_with_offline(&self) -> Result<Vec<AccountJid>, StorageError> {
        dispatch!(self.accounts_with_offline())
    }
}

/// Microseconds since the Unix epoch (negative before it), saturating.
fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// The time `micros` after the Unix epoch; `None` when the platform cannot represent it.
fn from_micros(micros: i64) -> Option<SystemTime> {
    let d = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// The offline SQL both backends run.
mod sql {
    /// Inserts only while the account holds fewer than `$5` messages.
    pub(super) const INSERT_BELOW_LIMIT: &str = "INSERT INTO offline_messages \
         (domain, localpart, stored_at, stanza) \
         SELECT $1, $2, $3, $4 \
         WHERE (SELECT COUNT(*) FROM offline_messages WHERE domain = $1 AND localpart = $2) < $5";
    pub(super) const SELECT: &str = "SELECT id, stored_at, stanza FROM offline_messages \
         WHERE domain = $1 AND localpart = $2 ORDER BY id";
    pub(super) const DELETE_UP_TO: &str =
        "DELETE FROM offline_messages WHERE domain = $1 AND localpart = $2 AND id <= $3";
    pub(super) const ACCOUNTS: &str =
        "SELECT DISTINCT domain, localpart FROM offline_messages ORDER BY domain, localpart";
    pub(super) const COUNT: &str =
        "SELECT COUNT(*) AS n FROM offline_messages WHERE domain = $1 AND localpart = $2";
    /// PostgreSQL only: serialises stores for one account (not a key update, so inserts that
    /// merely refer to the account, e.g. roster items, do not wait).
    pub(super) const LOCK_ACCOUNT: &str = "SELECT 1 FROM accounts \
         WHERE domain = $1 AND localpart = $2 FOR NO KEY UPDATE";
}

/// Adds the offline methods both backends share to `$storage`.
macro_rules! offline_queries {
    ($storage:ty) => {
        impl $storage {
            pub(super) async fn offline_messages(
                &self,
                account: &AccountJid,
            ) -> Result<Vec<OfflineMessage>, StorageError> {
                let rows = sqlx::query(sql::SELECT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .fetch_all(self.pool())
                    .await?;
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id")?;
                        let at: i64 = row.try_get("stored_at")?;
                        let stored_at = from_micros(at).ok_or_else(|| {
                            StorageError::Corrupt(format!(
                                "offline message {id} of {account}: time {at}"
                            ))
                        })?;
                        Ok(OfflineMessage {
                            id,
                            stored_at,
                            stanza: row.try_get("stanza")?,
                        })
                    })
                    .collect()
            }

            pub(super) async fn delete_offline(
                &self,
                account: &AccountJid,
                up_to: i64,
            ) -> Result<u64, StorageError> {
                Ok(sqlx::query(sql::DELETE_UP_TO)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(up_to)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }

            pub(super) async fn accounts_with_offline(
                &self,
            ) -> Result<Vec<AccountJid>, StorageError> {
                let rows = sqlx::query(sql::ACCOUNTS).fetch_all(self.pool()).await?;
                rows.iter()
                    .map(|row| {
                        let domain: String = row.try_get("domain")?;
                        let localpart: String = row.try_get("localpart")?;
                        AccountJid::from_parts(&localpart, &domain).map_err(|e| {
                            StorageError::Corrupt(format!(
                                "offline messages of `{localpart}@{domain}`: {e}"
                            ))
                        })
                    })
                    .collect()
            }

            pub(super) async fn offline_count(
                &self,
                account: &AccountJid,
            ) -> Result<u64, StorageError> {
                let n: i64 = sqlx::query(sql::COUNT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .fetch_one(self.pool())
                    .await?
                    .try_get("n")?;
                u64::try_from(n).map_err(|_| {
                    StorageError::Corrupt(format!("offline messages of {account}: count {n}"))
                })
            }
        }
    };
}

mod backends {
    use sqlx::Row as _;

    use super::super::{AccountJid, PostgresStorage, SqliteStorage, StorageError};
    use super::{OfflineMessage, OfflineStored, from_micros, sql};
    use crate::storage::is_foreign_key_violation;

    offline_queries!(SqliteStorage);
    offline_queries!(PostgresStorage);

    impl SqliteStorage {
        pub(super) async fn store_offline(
            &self,
            account: &AccountJid,
            stanza: &str,
            stored_at: i64,
            limit: i64,
        ) -> Result<OfflineStored, StorageError> {
            // One statement: SQLite takes the write lock before it counts, so no other store
            // can come in between.
            let inserted = sqlx::query(sql::INSERT_BELOW_LIMIT)
                .bind(account.domain())
                .bind(account.localpart())
                .bind(stored_at)
                .bind(stanza)
                .bind(limit)
                .execute(self.pool())
                .await
                .map_err(|e| {
                    if is_foreign_key_violation(&e) {
                        StorageError::NotFound(account.clone())
                    } else {
                        StorageError::Backend(e)
                    }
                })?
                .rows_affected();
            if inserted == 1 {
                Ok(OfflineStored::Stored)
            } else if self.account_exists(account).await? {
                Ok(OfflineStored::Full)
            } else {
                // Only with a limit of 0: otherwise the insert ran and the foreign key said so.
                Err(StorageError::NotFound(account.clone()))
            }
        }
    }

    impl PostgresStorage {
        pub(super) async fn store_offline(
            &self,
            account: &AccountJid,
            stanza: &str,
            stored_at: i64,
            limit: i64,
        ) -> Result<OfflineStored, StorageError> {
            let mut tx = self.pool().begin().await?;
            let exists = sqlx::query(sql::LOCK_ACCOUNT)
                .bind(account.domain())
                .bind(account.localpart())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !exists {
                tx.rollback().await?;
                return Err(StorageError::NotFound(account.clone()));
            }
            // A new statement, so (READ COMMITTED) it counts what the stores that held the
            // lock before this one committed.
            let inserted = sqlx::query(sql::INSERT_BELOW_LIMIT)
                .bind(account.domain())
                .bind(account.localpart())
                .bind(stored_at)
                .bind(stanza)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(if inserted == 1 {
                OfflineStored::Stored
            } else {
                OfflineStored::Full
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_truncate() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(micros(t), 1_700_000_000_123_456);
        assert_eq!(
            from_micros(micros(t)),
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000))
        );
        let before = UNIX_EPOCH - Duration::from_micros(5);
        assert_eq!(micros(before), -5);
        assert_eq!(from_micros(-5), Some(before));
    }
}
