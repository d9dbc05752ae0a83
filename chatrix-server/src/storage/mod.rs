//! Account storage on SQLite (the embedded default) or PostgreSQL (production), through sqlx:
//! accounts and credentials, rosters (`roster.rs`), offline messages (`offline.rs`) and shared
//! roster groups (`groups.rs`).
//!
//! [`Storage`] is an enum over the two backends, chosen by the database URL; both run the same
//! SQL (`$N` placeholders, runtime-checked queries, no offline cache) and the same conformance
//! tests (`tests/storage.rs`). Migrations live in `migrations/sqlite/` and
//! `migrations/postgres/` with the same version numbers and run when the storage is opened.
//!
//! Every operation returns a [`StorageError`] when the database fails: an outage is never a
//! panic and never a silent success. Cloning a `Storage` is cheap (the pools are reference
//! counted).

mod accounts;
mod groups;
mod offline;
mod postgres;
mod roster;
mod shared;
mod sqlite;
mod url;

use std::time::Duration;

use xmpp_sasl::{ScramHash, StoredCredentials};

pub use accounts::{AccountJid, AccountJidError};
pub use groups::SharedGroup;
pub use offline::{OfflineMessage, OfflineStored};
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;
pub use url::{DatabaseUrl, DatabaseUrlError};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The account already exists.
    #[error("account {0} already exists")]
    Duplicate(AccountJid),
    /// The account does not exist.
    #[error("account {0} does not exist")]
    NotFound(AccountJid),
    /// A JID given as an account (e.g. the owner of a roster, through xmpp-core's
    /// `RosterStore`) has no localpart, so no account can have it.
    #[error("`{0}` is not an account address")]
    NotAnAccount(xmpp_core::BareJid),
    /// The roster item handed in cannot be stored (a `remove` subscription is a request, not a
    /// state).
    #[error("invalid roster item: {0}")]
    InvalidRosterItem(&'static str),
    /// The shared roster group already exists.
    #[error("shared group `{name}` already exists on {domain}")]
    GroupExists {
        /// The group's domain.
        domain: String,
        /// The group's name.
        name: String,
    },
    /// The shared roster group does not exist.
    #[error("shared group `{name}` does not exist on {domain}")]
    GroupNotFound {
        /// The group's domain.
        domain: String,
        /// The group's name.
        name: String,
    },
    /// The credential set handed in cannot be stored (empty, or two records for one hash).
    #[error("invalid credentials: {0}")]
    InvalidCredentials(&'static str),
    /// A stored record cannot be read back (e.g. a key of the wrong length).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The database failed or cannot be reached.
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The SQLite file's directory could not be created.
    #[error("cannot create the directory of the database file: {0}")]
    Directory(#[source] std::io::Error),
}

/// Connection settings that do not belong in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageOptions {
    /// Pool size.
    pub max_connections: u32,
    /// How long an operation waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            max_connections: crate::config::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Which database a [`Storage`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The server's storage: accounts and credentials, rosters, offline messages, shared roster
/// groups (later issues add archives, ...).
#[derive(Debug, Clone)]
pub enum Storage {
    /// SQLite, a file in the data dir by default.
    Sqlite(SqliteStorage),
    /// PostgreSQL.
    Postgres(PostgresStorage),
}

/// Calls the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Storage::Sqlite(s) => s.$method($($arg),*).await,
            Storage::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

// For the feature modules (`roster.rs`, ...), which add their own `Storage` methods.
use dispatch;

impl Storage {
    /// Connects, creating a missing SQLite file, and runs the migrations.
    pub async fn open(url: &DatabaseUrl, options: &StorageOptions) -> Result<Self, StorageError> {
        let storage = match url {
            DatabaseUrl::Sqlite(path) => {
                Self::Sqlite(SqliteStorage::open_file(path, options).await?)
            }
            DatabaseUrl::SqliteMemory => Self::Sqlite(SqliteStorage::open_memory(options).await?),
            DatabaseUrl::Postgres(url) => {
                Self::Postgres(PostgresStorage::open(url, options).await?)
            }
        };
        tracing::debug!(
            backend = storage.backend().as_str(),
            "storage open, schema up to date"
        );
        Ok(storage)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Creates an account with its credentials (one record per hash), atomically.
    ///
    /// [`StorageError::Duplicate`] when it exists already.
    pub async fn create_account(
        &self,
        account: &AccountJid,
        credentials: &[StoredCredentials],
    ) -> Result<(), StorageError> {
        accounts::check_credential_set(credentials)?;
        dispatch!(self.create_account(account, credentials))
    }

    /// Replaces all credentials of an account (a password change), atomically: hashes not in
    /// `credentials` are removed.
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn set_credentials(
        &self,
        account: &AccountJid,
        credentials: &[StoredCredentials],
    ) -> Result<(), StorageError> {
        accounts::check_credential_set(credentials)?;
        dispatch!(self.set_credentials(account, credentials))
    }

    /// Deletes an account and everything stored for it, atomically: its roster, offline
    /// messages and shared-group memberships go through their tables' `ON DELETE CASCADE`
    /// foreign keys, so features that store per-account data need not extend this function.
    /// Other accounts' roster items naming this account stay (they are those accounts' data).
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn delete_account(&self, account: &AccountJid) -> Result<(), StorageError> {
        dispatch!(self.delete_account(account))
    }

    /// The accounts of `domain` (normalised), ordered by localpart.
    pub async fn list_accounts(&self, domain: &str) -> Result<Vec<AccountJid>, StorageError> {
        dispatch!(self.list_accounts(domain))
    }

    /// The account's record for `hash`, or `None` when the account or the record does not
    /// exist. For a SASL username use [`AccountJid::from_parts`]`(username, domain)` (a
    /// username that is not a valid localpart belongs to no account).
    pub async fn credentials(
        &self,
        account: &AccountJid,
        hash: ScramHash,
    ) -> Result<Option<StoredCredentials>, StorageError> {
        dispatch!(self.credentials(account, hash))
    }

    /// [`credentials`](Self::credentials) for a SASL username on `domain`: the username is
    /// normalised as a localpart, and one that is not a valid localpart belongs to no account
    /// (`Ok(None)`, so the caller runs the unknown-user exchange).
    pub async fn credentials_for_username(
        &self,
        username: &str,
        domain: &str,
        hash: ScramHash,
    ) -> Result<Option<StoredCredentials>, StorageError> {
        match AccountJid::from_parts(username, domain) {
            Ok(account) => self.credentials(&account, hash).await,
            Err(_) => Ok(None),
        }
    }

    /// Whether the account exists.
    pub async fn account_exists(&self, account: &AccountJid) -> Result<bool, StorageError> {
        dispatch!(self.account_exists(account))
    }

    /// Closes the pool: waits for connections in use to be returned, then closes them. Every
    /// later operation fails with [`StorageError::Backend`].
    pub async fn close(&self) {
        dispatch!(self.close());
    }
}

/// Maps a unique violation to [`StorageError::Duplicate`], everything else to `Backend`.
fn duplicate_or_backend(e: sqlx::Error, account: &AccountJid) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StorageError::Duplicate(account.clone())
        }
        _ => StorageError::Backend(e),
    }
}

/// Whether `e` is a foreign key violation: a row refers to an account (or group) that does not
/// exist, or no longer does.
fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migrations() {
        let versions = |m: &sqlx::migrate::Migrator| -> Vec<(i64, String)> {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect()
        };
        let sqlite = versions(&super::sqlite::MIGRATOR);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, versions(&super::postgres::MIGRATOR));
    }
}
