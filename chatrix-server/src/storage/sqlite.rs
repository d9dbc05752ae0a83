//! The SQLite backend: one file in the data dir, WAL, foreign keys, `synchronous = FULL` (a
//! committed write survives a power cut: "ack means durable").

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row as _;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use xmpp_sasl::{ScramHash, StoredCredentials};

use super::accounts::{self, AccountJid, CredentialRow, sql};
use super::{StorageError, StorageOptions, duplicate_or_backend};

/// The SQLite schema migrations (`migrations/sqlite/`).
pub(super) static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Accounts in a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    pub(super) async fn open_file(
        path: &Path,
        options: &StorageOptions,
    ) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StorageError::Directory)?;
        }
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        Self::migrate(pool).await
    }

    pub(super) async fn open_memory(options: &StorageOptions) -> Result<Self, StorageError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // The database lives as long as one connection does: keep one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        Self::migrate(pool).await
    }

    async fn migrate(pool: SqlitePool) -> Result<Self, StorageError> {
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
        // Write first: SQLite takes the write lock here, so the existence check below cannot
        // be invalidated by a concurrent delete.
        sqlx::query(sql::DELETE_CREDENTIALS)
            .bind(account.domain())
            .bind(account.localpart())
            .execute(&mut *tx)
            .await?;
        let exists = sqlx::query(sql::ACCOUNT_EXISTS)
            .bind(account.domain())
            .bind(account.localpart())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            tx.rollback().await?;
            return Err(StorageError::NotFound(account.clone()));
        }
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
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

async fn insert_credentials(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
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
