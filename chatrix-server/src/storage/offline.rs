//! Offline messages (XEP-0160), on both backends.
//!
//! One row per stored stanza in `offline_messages` (`0002_im.sql`), with an id that is never
//! used twice (SQLite `AUTOINCREMENT`, a PostgreSQL identity column): the server delivers
//! everything up to the last id it read, then deletes exactly that, so a message stored in
//! between is neither lost nor delivered twice.
//!
//! The per-account limit is that of the account's class, read and checked by the write
//! itself, never by a separate count the caller makes first (see [`Storage::store_offline`]).

use std::time::SystemTime;

use super::unix_time::{from_micros, micros};
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
    /// Stores the serialised stanza for `account`, unless it already holds as many messages
    /// as its class allows: `limit_of(class)`, where `class` is the account's class column
    /// (`None`: the configured default class), read in the transaction that counts and
    /// inserts. Then [`OfflineStored::Full`], nothing written. `stored_at` is kept to the
    /// microsecond (truncated).
    ///
    /// The class read, the count and the insert are atomic, so concurrent stores never exceed
    /// the limit, and the limit applied is that of the class the account has when the message
    /// is stored. On SQLite they run in a transaction begun `IMMEDIATE` (the write lock from
    /// the start, so the class and the count are read under it and the insert cannot fail to
    /// upgrade a read snapshot). On PostgreSQL the transaction first locks the account row
    /// (`FOR NO KEY UPDATE`, which also returns the class): stores for one account queue
    /// behind each other, and each counts what the previous one committed (under READ
    /// COMMITTED one statement would not do). The server serialises stores per account as
    /// well.
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn store_offline(
        &self,
        account: &AccountJid,
        stanza: &str,
        stored_at: SystemTime,
        limit_of: &(dyn Fn(Option<&str>) -> u32 + Sync),
    ) -> Result<OfflineStored, StorageError> {
        dispatch!(self.store_offline(account, stanza, micros(stored_at), limit_of))
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
    /// PostgreSQL: serialises stores for one account (not a key update, so inserts that
    /// merely refer to the account, e.g. roster items, do not wait), and reads its class.
    pub(super) const LOCK_ACCOUNT: &str = "SELECT class FROM accounts \
         WHERE domain = $1 AND localpart = $2 FOR NO KEY UPDATE";
    /// SQLite, inside a transaction that holds the write lock already.
    pub(super) const CLASS: &str =
        "SELECT class FROM accounts WHERE domain = $1 AND localpart = $2";
}

/// Adds the offline methods both backends share to `$storage`, whose `pool()` is a pool of
/// `$db`.
macro_rules! offline_queries {
    ($storage:ty, $db:ty, $begin:ident($($begin_arg:expr)?), $class_sql:expr) => {
        impl $storage {
            pub(super) async fn store_offline(
                &self,
                account: &AccountJid,
                stanza: &str,
                stored_at: i64,
                limit_of: &(dyn Fn(Option<&str>) -> u32 + Sync),
            ) -> Result<OfflineStored, StorageError> {
                let mut tx = self.pool().$begin($($begin_arg)?).await?;
                let Some(row) = sqlx::query($class_sql)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    tx.rollback().await?;
                    return Err(StorageError::NotFound(account.clone()));
                };
                let class: Option<String> = row.try_get("class")?;
                let limit = i64::from(limit_of(class.as_deref()));
                // A new statement: on PostgreSQL (READ COMMITTED) it counts what the stores
                // that held the lock before this one committed.
                let stored =
                    Self::insert_below_limit(&mut *tx, account, stanza, stored_at, limit).await?;
                tx.commit().await?;
                Ok(stored)
            }

            /// Inserts the message unless the account holds `limit` messages already (one
            /// statement: the count and the insert see one state).
            async fn insert_below_limit<'e>(
                executor: impl sqlx::Executor<'e, Database = $db>,
                account: &AccountJid,
                stanza: &str,
                stored_at: i64,
                limit: i64,
            ) -> Result<OfflineStored, sqlx::Error> {
                let inserted = sqlx::query(sql::INSERT_BELOW_LIMIT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(stored_at)
                    .bind(stanza)
                    .bind(limit)
                    .execute(executor)
                    .await?
                    .rows_affected();
                Ok(if inserted == 1 {
                    OfflineStored::Stored
                } else {
                    OfflineStored::Full
                })
            }

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

    // SQLite: IMMEDIATE takes the write lock before the class is read, so nothing changes
    // between the read and the counted insert, and the insert need not upgrade a read
    // transaction (which fails at once in WAL mode when another writer came first).
    offline_queries!(
        SqliteStorage,
        sqlx::Sqlite,
        begin_with("BEGIN IMMEDIATE"),
        sql::CLASS
    );
    // PostgreSQL: the row lock serialises the stores for the account and returns its class.
    offline_queries!(PostgresStorage, sqlx::Postgres, begin(), sql::LOCK_ACCOUNT);
}
