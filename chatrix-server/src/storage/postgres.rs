//! The PostgreSQL backend. The database must exist; the migrations create the tables. The
//! connection is made without TLS for now (a database on the same host or a private network).

use std::str::FromStr;

use sqlx::Row as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use xmpp_sasl::{ScramHash, StoredCredentials};

use super::accounts::{self, AccountJid, CredentialRow, NewAccount, sql};
use super::{StorageError, StorageOptions, duplicate_or_backend, unix_time};

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

    pub(super) async fn close(&self) {
        self.pool.close().await;
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
            Self::insert_credentials(&mut tx, account, c, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

super::shared::shared_account_queries!(PostgresStorage, PgPool, sqlx::Postgres);
