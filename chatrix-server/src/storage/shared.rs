//! The account queries both backends run with the same SQL text.
//!
//! One definition, instantiated for each pool type by [`shared_account_queries!`]: sqlx's
//! generic bounds over `Database` would be longer than the queries themselves (style.md §3.2),
//! and the two copies could drift apart. What differs per backend (opening the pool, migrations,
//! how `set_credentials` locks the account) stays in `sqlite.rs` and `postgres.rs`.

/// Adds the shared account methods to `$storage`, whose `pool` field is a `$pool` of
/// database `$db`. The invoking module imports `sqlx::Row`, `StoredCredentials`, `ScramHash`,
/// `accounts::{self, AccountJid, CredentialRow, NewAccount, sql}`, `unix_time` and
/// `duplicate_or_backend`.
macro_rules! shared_account_queries {
    ($storage:ident, $pool:ty, $db:ty) => {
        impl $storage {
            pub(super) async fn create_account(
                &self,
                account: &AccountJid,
                credentials: &[StoredCredentials],
            ) -> Result<(), StorageError> {
                let mut tx = self.pool.begin().await?;
                let new = NewAccount {
                    credentials,
                    class: None,
                    registered_ip: None,
                    created_at: accounts::now_unix(),
                };
                Self::insert_account(&mut tx, account, &new).await?;
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn register_account(
                &self,
                account: &AccountJid,
                new: &NewAccount<'_>,
            ) -> Result<(), StorageError> {
                let now = new.created_at;
                let mut tx = self.pool.begin().await?;
                // The tombstone row first, written or locked: see `sql::CLAIM_TOMBSTONE`.
                let until: i64 = sqlx::query(sql::CLAIM_TOMBSTONE)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("until")?;
                if until > now {
                    tx.rollback().await?;
                    let until = unix_time::from_seconds(until).ok_or_else(|| {
                        StorageError::Corrupt(format!("tombstone of {account}: time {until}"))
                    })?;
                    return Err(StorageError::Tombstoned {
                        account: account.clone(),
                        until,
                    });
                }
                // Expired, or the row just claimed: either way it goes.
                sqlx::query(sql::DELETE_TOMBSTONE)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .execute(&mut *tx)
                    .await?;
                Self::insert_account(&mut tx, account, new).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Deletes the account; with `tombstone_until`, writes its name's tombstone in the
            /// same transaction.
            pub(super) async fn delete_account(
                &self,
                account: &AccountJid,
                tombstone_until: Option<i64>,
            ) -> Result<(), StorageError> {
                let mut tx = self.pool.begin().await?;
                if let Some(until) = tombstone_until {
                    // Before the account, in the same order as `register_account`, so the two
                    // serialise on the tombstone row and never wait for each other in a cycle.
                    sqlx::query(sql::UPSERT_TOMBSTONE)
                        .bind(account.domain())
                        .bind(account.localpart())
                        .bind(until)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(sql::DELETE_CREDENTIALS)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .execute(&mut *tx)
                    .await?;
                let deleted = sqlx::query(sql::DELETE_ACCOUNT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    // The tombstone goes too: there was no account to mourn.
                    tx.rollback().await?;
                    return Err(StorageError::NotFound(account.clone()));
                }
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn account_class(
                &self,
                account: &AccountJid,
            ) -> Result<Option<String>, StorageError> {
                let row = sqlx::query(sql::SELECT_CLASS)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| StorageError::NotFound(account.clone()))?;
                Ok(row.try_get("class")?)
            }

            pub(super) async fn set_account_class(
                &self,
                account: &AccountJid,
                class: Option<&str>,
            ) -> Result<(), StorageError> {
                let updated = sqlx::query(sql::UPDATE_CLASS)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(class)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                if updated == 0 {
                    return Err(StorageError::NotFound(account.clone()));
                }
                Ok(())
            }

            pub(super) async fn accounts_registered_from(
                &self,
                ip: &str,
            ) -> Result<u64, StorageError> {
                let n: i64 = sqlx::query(sql::COUNT_REGISTERED_FROM)
                    .bind(ip)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                u64::try_from(n).map_err(|_| {
                    StorageError::Corrupt(format!("accounts registered from {ip}: count {n}"))
                })
            }

            pub(super) async fn list_accounts(
                &self,
                domain: &str,
            ) -> Result<Vec<AccountJid>, StorageError> {
                let rows = sqlx::query(sql::LIST_ACCOUNTS)
                    .bind(domain)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let localpart: String = row.try_get("localpart")?;
                        AccountJid::from_parts(&localpart, domain).map_err(|e| {
                            StorageError::Corrupt(format!("account `{localpart}@{domain}`: {e}"))
                        })
                    })
                    .collect()
            }

            pub(super) async fn credentials(
                &self,
                account: &AccountJid,
                hash: ScramHash,
            ) -> Result<Option<StoredCredentials>, StorageError> {
                let row = sqlx::query(sql::SELECT_CREDENTIALS)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(accounts::hash_name(hash))
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                CredentialRow {
                    hash: row.try_get("hash")?,
                    salt: row.try_get("salt")?,
                    iterations: row.try_get("iterations")?,
                    stored_key: row.try_get("stored_key")?,
                    server_key: row.try_get("server_key")?,
                }
                .into_credentials(account)
                .map(Some)
            }

            pub(super) async fn account_exists(
                &self,
                account: &AccountJid,
            ) -> Result<bool, StorageError> {
                Ok(sqlx::query(sql::ACCOUNT_EXISTS)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .fetch_optional(&self.pool)
                    .await?
                    .is_some())
            }

            /// The connection pool, for features that add their own tables.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Inserts the account row and its credentials inside `tx`; `Duplicate` when the
            /// account exists.
            async fn insert_account(
                tx: &mut sqlx::Transaction<'_, $db>,
                account: &AccountJid,
                new: &NewAccount<'_>,
            ) -> Result<(), StorageError> {
                sqlx::query(sql::INSERT_ACCOUNT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(new.created_at)
                    .bind(new.class)
                    .bind(new.registered_ip.as_deref())
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| duplicate_or_backend(e, account))?;
                for c in new.credentials {
                    Self::insert_credentials(tx, account, c, new.created_at).await?;
                }
                Ok(())
            }

            async fn insert_credentials(
                tx: &mut sqlx::Transaction<'_, $db>,
                account: &AccountJid,
                c: &StoredCredentials,
                now: i64,
            ) -> Result<(), StorageError> {
                sqlx::query(sql::INSERT_CREDENTIALS)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(accounts::hash_name(c.hash()))
                    .bind(c.salt())
                    .bind(accounts::iterations_column(c))
                    .bind(c.stored_key())
                    .bind(c.server_key())
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(super) use shared_account_queries;
