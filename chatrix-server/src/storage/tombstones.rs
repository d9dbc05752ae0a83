//! Tombstones of deleted account names, on both backends.
//!
//! `tombstones` (`0003_public_service.sql`) holds, per name, the time before which it cannot be
//! registered again, so that nobody takes over a name others still have in their rosters. The
//! rows are written by [`Storage::delete_account_with_tombstone`] and checked by
//! [`Storage::register_account`], each in its own transaction with the account (the SQL is in
//! `accounts.rs`, beside the other account statements); this module reads and purges them.

use std::time::SystemTime;

use super::{AccountJid, Storage, StorageError, dispatch, unix_time};

impl Storage {
    /// When the name `account` can be registered again, if it has a tombstone; an expired one
    /// (`until <= now`) is returned too until [`purge_tombstones`](Self::purge_tombstones)
    /// removes it or a registration of the name does.
    pub async fn tombstone(
        &self,
        account: &AccountJid,
    ) -> Result<Option<SystemTime>, StorageError> {
        dispatch!(self.tombstone(account))
    }

    /// Removes the tombstones that have expired (`until <= now`); returns how many.
    pub async fn purge_tombstones(&self, now: SystemTime) -> Result<u64, StorageError> {
        dispatch!(self.purge_tombstones(unix_time::seconds(now)))
    }
}

/// The tombstone SQL both backends run.
mod sql {
    pub(super) const SELECT: &str =
        "SELECT until FROM tombstones WHERE domain = $1 AND localpart = $2";
    pub(super) const PURGE: &str = "DELETE FROM tombstones WHERE until <= $1";
}

/// Adds the tombstone methods to `$storage`.
macro_rules! tombstone_queries {
    ($storage:ty) => {
        impl $storage {
            pub(super) async fn tombstone(
                &self,
                account: &AccountJid,
            ) -> Result<Option<SystemTime>, StorageError> {
                let Some(row) = sqlx::query(sql::SELECT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .fetch_optional(self.pool())
                    .await?
                else {
                    return Ok(None);
                };
                let until: i64 = row.try_get("until")?;
                unix_time::from_seconds(until).map(Some).ok_or_else(|| {
                    StorageError::Corrupt(format!("tombstone of {account}: time {until}"))
                })
            }

            pub(super) async fn purge_tombstones(&self, now: i64) -> Result<u64, StorageError> {
                Ok(sqlx::query(sql::PURGE)
                    .bind(now)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }
        }
    };
}

mod backends {
    use std::time::SystemTime;

    use sqlx::Row as _;

    use super::super::{AccountJid, PostgresStorage, SqliteStorage, StorageError, unix_time};
    use super::sql;

    tombstone_queries!(SqliteStorage);
    tombstone_queries!(PostgresStorage);
}
