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

use super::accounts::{self, AccountJid, CredentialRow, NewAccount, sql};
use super::{StorageError, StorageOptions, duplicate_or_backend, unix_time};

/// The SQLite schema migrations (`migrations/sqlite/`).
pub(super) static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Accounts in a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
    /// One connection of its own for archive appends, the most frequent write. SQLite has one
    /// writer at a time anyway; what a connection of its own adds is a page cache that no
    /// other connection's commits invalidate, so an append does not read back the index pages
    /// it wrote a moment ago (the profile in `docs/performance.md`). An in-memory database is
    /// one connection's: there it is the same pool.
    archive_pool: SqlitePool,
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
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        // Opened after the migrations, so that it never sees the schema change under it.
        let archive_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        Ok(Self { pool, archive_pool })
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
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            archive_pool: pool.clone(),
            pool,
        })
    }

    /// Where archive appends run (see the field).
    pub(super) fn archive_pool(&self) -> &SqlitePool {
        &self.archive_pool
    }

    pub(super) async fn close(&self) {
        self.archive_pool.close().await;
        self.pool.close().await;
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
            Self::insert_credentials(&mut tx, account, c, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

super::shared::shared_account_queries!(SqliteStorage, SqlitePool, sqlx::Sqlite);
