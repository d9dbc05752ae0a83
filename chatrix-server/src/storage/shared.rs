//! The account queries both backends run with the same SQL text.
//!
//! One definition, instantiated for each pool type by [`shared_account_queries!`]: sqlx's
//! generic bounds over `Database` would be longer than the queries themselves (style.md §3.2),
//! and the two copies could drift apart. What differs per backend (opening the pool, migrations,
//! how `set_credentials` locks the account) stays in `sqlite.rs` and `postgres.rs`.

/// Adds the shared account methods to `$storage`, whose `pool` field is a `$pool` of
/// database `$db`. The invoking module imports `sqlx::Row`, `StoredCredentials`, `ScramHash`,
/// `accounts::{self, AccountJid, CredentialRow, sql}` and `duplicate_or_backend`.
macro_rules! shared_account_queries {
    ($storage:ident, $pool:ty, $db:ty) => {
        impl $storage {
            pub(super) async fn create_account(
                &self,
                account: &AccountJid,
                credentials: &[StoredCredentials],
            ) -> Result<(), StorageError> {
                let now = accounts::now_unix();
                let mut tx = self.pool.begin().await?;
                sqlx::query(sql::INSERT_ACCOUNT)
                    .bind(account.domain())
                    .bind(account.localpart())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| duplicate_or_backend(e, account))?;
                for c in credentials {
                    Self::insert_credentials(&mut tx, account, c, now).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn delete_account(
                &self,
                account: &AccountJid,
            ) -> Result<(), StorageError> {
                let mut tx = self.pool.begin().await?;
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
                    tx.rollback().await?;
                    return Err(StorageError::NotFound(account.clone()));
                }
                tx.commit().await?;
                Ok(())
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

            pub(super) async fn close(&self) {
                self.pool.close().await;
            }

            /// The connection pool, for features that add their own tables.
            pub fn pool(&self) -> &$pool {
                &self.pool
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
