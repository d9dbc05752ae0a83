//! The PostgreSQL backend. The database must exist; the migrations create the tables. The
//! connection is made without TLS for now (a database on the same host or a private network).

use std::str::FromStr;

use sqlx::Row as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use xmpp_sasl::{ScramHash, StoredCredentials};

use super::accounts::{self, AccountJid, CredentialRow, sql};
use super::{StorageError, StorageOptions, duplicate_or_backend};

/// The PostgreSQL schema migrations (`migrations/postgres/`).
pub(super) static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Accounts in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pool: PgPool,
}

impl PostgresStorage {
    pub(super) async fn open(url: &str, options: &StorageOptions) -> Result<Self, StorageError> {
        let connect = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

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
            insert_credentials(&mut tx, account, c, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn set_credentials(
        &self,
        account: &AccountJid,
        credentials: &[StoredCredentials],
    ) -> Result<(), StorageError> {
        let now = accounts::now_unix();
        let mut tx = self.pool.begin().await?;
        // Lock the account row, so that a concurrent delete waits for this transaction.
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
        sqlx::query(sql::DELETE_CREDENTIALS)
            .bind(account.domain())
            .bind(account.localpart())
            .execute(&mut *tx)
            .await?;
        for c in credentials {
            insert_credentials(&mut tx, account, c, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_account(&self, account: &AccountJid) -> Result<(), StorageError> {
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

    pub(super) async fn account_exists(&self, account: &AccountJid) -> Result<bool, StorageError> {
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
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

async fn insert_credentials(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
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
