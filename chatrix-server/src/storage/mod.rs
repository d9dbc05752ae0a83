//! Account storage on SQLite (the embedded default) or PostgreSQL (production), through sqlx:
//! accounts and credentials, rosters (`roster.rs`), offline messages (`offline.rs`), shared
//! roster groups (`groups.rs`), tombstones of deleted account names (`tombstones.rs`), bans
//! of addresses (`bans.rs`), message archives and their preferences (`archive.rs`, xmpp-mam's
//! `ArchiveStore`) and block lists (`blocking.rs`, xmpp-core's `BlockListStore`).
//!
//! [`Storage`] is an enum over the two backends, chosen by the database URL; both run the same
//! SQL (`$N` placeholders, runtime-checked queries, no offline cache) and the same conformance
//! tests (`tests/storage.rs`). Migrations live in `migrations/sqlite/` and
//! `migrations/postgres/` with the same version numbers and run when the storage is opened.
//!
//! Every operation returns a [`StorageError`] when the database fails: an outage is never a
//! panic and never a silent success. Cloning a `Storage` is cheap (the pools are reference
//! counted).
//!
//! Operations that depend on the time (registration against tombstones, bans) take it as a
//! parameter: the server injects its clock, and storage never reads the system clock for them.

mod accounts;
mod archive;
mod bans;
mod blocking;
mod groups;
mod offline;
mod postgres;
mod roster;
mod shared;
mod sqlite;
mod tombstones;
mod unix_time;
mod url;

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use xmpp_sasl::{ScramHash, StoredCredentials};

pub use accounts::{AccountJid, AccountJidError};
pub use archive::MAX_ARCHIVE_IDS;
pub use bans::Ban;
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
    /// The account's name belonged to an account deleted recently; it cannot be registered
    /// again before `until` ([`Storage::register_account`]).
    #[error("the name {account} was given up recently and cannot be registered yet")]
    Tombstoned {
        /// The name asked for.
        account: AccountJid,
        /// When it can be registered again (a whole second).
        until: SystemTime,
    },
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
    /// An append to an archive (xmpp-mam's `ArchiveStore`) names an id the owner's archive
    /// already holds, or one id twice; nothing of that append was stored.
    #[error("the archive of {owner} already holds a message with id `{id}`")]
    DuplicateArchiveId {
        /// Whose archive.
        owner: AccountJid,
        /// The id.
        id: String,
    },
    /// The task that commits archive appends in groups is gone (the server is shutting down).
    #[error("the archive writer stopped")]
    WriterStopped,
    /// An archive query the storage does not run (e.g. more than [`MAX_ARCHIVE_IDS`] ids).
    #[error("invalid archive query: {0}")]
    InvalidArchiveQuery(&'static str),
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
/// groups, message archives, block lists (later issues add PEP, ...).
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

    /// Creates an account with its credentials (one record per hash), atomically, in the
    /// default class and with no registration address: the administrator's way, which ignores
    /// tombstones (the administrator may give a name back early). Registration by users is
    /// [`register_account`](Self::register_account).
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

    /// Registers an account for a user (in-band or on the web), atomically: refused with
    /// [`StorageError::Tombstoned`] while the name's tombstone has `until > now`, with
    /// [`StorageError::Duplicate`] when the account exists; otherwise made with its credentials,
    /// `class` (`None`: the configured default) and the address it was registered from
    /// (stored in canonical form, see [`accounts_registered_from`]), and an expired tombstone
    /// of the name is removed in the same transaction. `now` is also its creation time.
    ///
    /// A registration racing a [`delete_account_with_tombstone`] of the same name never ends
    /// with both the account and an active tombstone: both write the tombstone row first, so
    /// one waits for the other.
    ///
    /// [`accounts_registered_from`]: Self::accounts_registered_from
    /// [`delete_account_with_tombstone`]: Self::delete_account_with_tombstone
    pub async fn register_account(
        &self,
        account: &AccountJid,
        credentials: &[StoredCredentials],
        class: Option<&str>,
        registered_ip: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<(), StorageError> {
        accounts::check_credential_set(credentials)?;
        let new = accounts::NewAccount {
            credentials,
            class,
            registered_ip: registered_ip.map(ip_column),
            created_at: unix_time::seconds(now),
        };
        dispatch!(self.register_account(account, &new))
    }

    /// How many existing accounts were registered from `ip` (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address), to limit how many accounts one person registers. Accounts the
    /// administrator made count for no address. One indexed query.
    pub async fn accounts_registered_from(&self, ip: IpAddr) -> Result<u64, StorageError> {
        dispatch!(self.accounts_registered_from(&ip_column(ip)))
    }

    /// The account's class; `None` is the configured default class.
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn account_class(
        &self,
        account: &AccountJid,
    ) -> Result<Option<String>, StorageError> {
        dispatch!(self.account_class(account))
    }

    /// Sets the account's class; `None` puts it back in the configured default class.
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn set_account_class(
        &self,
        account: &AccountJid,
        class: Option<&str>,
    ) -> Result<(), StorageError> {
        dispatch!(self.set_account_class(account, class))
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

    /// Deletes an account and everything stored for it, atomically, leaving no tombstone (the
    /// administrator's `user delete`): its roster, offline messages, shared-group
    /// memberships, archive, archive preferences and block list go through their tables' `ON DELETE CASCADE` foreign keys, so features that
    /// store per-account data need not extend this function. Other accounts' roster items
    /// naming this account stay (they are those accounts' data).
    ///
    /// Every table that holds per-account data must therefore have a foreign key to `accounts`
    /// (directly, or through a table that has one) with `ON DELETE CASCADE`. The conformance
    /// test `every_account_table_cascades` (`tests/storage.rs`) reads the schema and fails for
    /// a table with `domain` and `localpart` columns that has none, and for any foreign key to
    /// `accounts` that does not cascade; `tombstones` is the one exception, by design.
    ///
    /// [`StorageError::NotFound`] when the account does not exist.
    pub async fn delete_account(&self, account: &AccountJid) -> Result<(), StorageError> {
        dispatch!(self.delete_account(account, None))
    }

    /// [`delete_account`](Self::delete_account) (the same code, the same cascades), and in the
    /// same transaction, with `tombstone_until`, the name's tombstone: it cannot be registered
    /// again before then (an existing tombstone is replaced). A user deleting their own account
    /// goes this way.
    ///
    /// [`StorageError::NotFound`] when the account does not exist; then no tombstone is
    /// written.
    pub async fn delete_account_with_tombstone(
        &self,
        account: &AccountJid,
        tombstone_until: Option<SystemTime>,
    ) -> Result<(), StorageError> {
        dispatch!(self.delete_account(account, tombstone_until.map(unix_time::seconds)))
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

/// The text an address is stored as: canonical, so an IPv4-mapped IPv6 address
/// (`::ffff:192.0.2.1`) is its IPv4 address and one host is always one key.
fn ip_column(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
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

    #[test]
    fn addresses_are_stored_canonical() {
        let ip = |s: &str| {
            s.parse::<std::net::IpAddr>()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(super::ip_column(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(super::ip_column(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(super::ip_column(ip("2001:DB8:0:0::1")), "2001:db8::1");
        // Not mapped: an IPv6 address of its own.
        assert_eq!(super::ip_column(ip("::192.0.2.1")), "::c000:201");
    }
}
