//! Bans of addresses after failed logins, on both backends.
//!
//! `bans` (`0003_public_service.sql`) has one row per address, keyed by its canonical text
//! (an IPv4-mapped IPv6 address is stored as the IPv4 one, so a host reaching a dual-stack
//! socket over IPv4 is the same key as over a plain IPv4 socket). They live in the database, not
//! in the server's memory: the admin CLI, another process, lists and lifts them while the
//! server runs, and a restart does not lift them. Times are whole seconds, floored.

use std::net::IpAddr;
use std::time::SystemTime;

use super::{Storage, StorageError, dispatch, ip_column, unix_time};

/// A ban of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// The address (read back in canonical form: IPv4 for an IPv4-mapped IPv6 address).
    pub ip: IpAddr,
    /// When the ban ends (stored as a whole second, floored).
    pub until: SystemTime,
    /// Why, for the administrator (e.g. how many failed logins).
    pub reason: String,
    /// When it was imposed (a whole second, floored).
    pub created_at: SystemTime,
}

impl Ban {
    /// Whether the ban still holds at `now` (`until > now`), as [`Storage::bans`] counts it.
    pub fn is_active(&self, now: SystemTime) -> bool {
        self.until > now
    }
}

impl Storage {
    /// Stores the ban, replacing any ban of the same address (whether active or not).
    pub async fn put_ban(&self, ban: &Ban) -> Result<(), StorageError> {
        let row = BanRow {
            ip: ip_column(ban.ip),
            until: unix_time::seconds(ban.until),
            reason: ban.reason.clone(),
            created_at: unix_time::seconds(ban.created_at),
        };
        dispatch!(self.put_ban(&row))
    }

    /// The ban of `ip` (canonicalised), expired or not: check [`Ban::is_active`].
    pub async fn ban(&self, ip: IpAddr) -> Result<Option<Ban>, StorageError> {
        dispatch!(self.ban(&ip_column(ip)))?
            .map(BanRow::into_ban)
            .transpose()
    }

    /// The bans active at `now` (`until > now`), ordered by address: IPv4 before IPv6, each
    /// numerically (the same on both backends, whatever the database's collation).
    pub async fn bans(&self, now: SystemTime) -> Result<Vec<Ban>, StorageError> {
        let mut bans = dispatch!(self.bans(unix_time::seconds(now)))?
            .into_iter()
            .map(BanRow::into_ban)
            .collect::<Result<Vec<_>, _>>()?;
        bans.sort_by_key(|b| b.ip);
        Ok(bans)
    }

    /// Lifts the ban of `ip` (canonicalised); `false` when there was none.
    pub async fn remove_ban(&self, ip: IpAddr) -> Result<bool, StorageError> {
        dispatch!(self.remove_ban(&ip_column(ip)))
    }

    /// Removes the bans that have ended (`until <= now`); returns how many.
    pub async fn purge_bans(&self, now: SystemTime) -> Result<u64, StorageError> {
        dispatch!(self.purge_bans(unix_time::seconds(now)))
    }
}

/// A row of `bans`, as stored.
struct BanRow {
    ip: String,
    until: i64,
    reason: String,
    created_at: i64,
}

impl BanRow {
    /// Checks the row and rebuilds the ban.
    fn into_ban(self) -> Result<Ban, StorageError> {
        let corrupt = |what: String| StorageError::Corrupt(format!("ban of `{}`: {what}", self.ip));
        let ip = self
            .ip
            .parse()
            .map_err(|e| corrupt(format!("address: {e}")))?;
        let time = |t: i64| unix_time::from_seconds(t).ok_or_else(|| corrupt(format!("time {t}")));
        Ok(Ban {
            ip,
            until: time(self.until)?,
            created_at: time(self.created_at)?,
            reason: self.reason,
        })
    }
}

/// The ban SQL both backends run.
mod sql {
    pub(super) const UPSERT: &str = "INSERT INTO bans (ip, until, reason, created_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ip) DO UPDATE SET until = excluded.until, reason = excluded.reason, \
         created_at = excluded.created_at";
    pub(super) const SELECT: &str = "SELECT ip, until, reason, created_at FROM bans WHERE ip = $1";
    pub(super) const ACTIVE: &str =
        "SELECT ip, until, reason, created_at FROM bans WHERE until > $1";
    pub(super) const DELETE: &str = "DELETE FROM bans WHERE ip = $1";
    pub(super) const PURGE: &str = "DELETE FROM bans WHERE until <= $1";
}

/// Adds the ban methods to `$storage`, whose `pool()` is a pool of `$db`.
macro_rules! ban_queries {
    ($storage:ty, $db:ty) => {
        impl $storage {
            pub(super) async fn put_ban(&self, ban: &BanRow) -> Result<(), StorageError> {
                sqlx::query(sql::UPSERT)
                    .bind(&ban.ip)
                    .bind(ban.until)
                    .bind(&ban.reason)
                    .bind(ban.created_at)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            pub(super) async fn ban(&self, ip: &str) -> Result<Option<BanRow>, StorageError> {
                let row = sqlx::query(sql::SELECT)
                    .bind(ip)
                    .fetch_optional(self.pool())
                    .await?;
                Ok(row.as_ref().map(Self::ban_row).transpose()?)
            }

            pub(super) async fn bans(&self, now: i64) -> Result<Vec<BanRow>, StorageError> {
                let rows = sqlx::query(sql::ACTIVE)
                    .bind(now)
                    .fetch_all(self.pool())
                    .await?;
                Ok(rows
                    .iter()
                    .map(Self::ban_row)
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            pub(super) async fn remove_ban(&self, ip: &str) -> Result<bool, StorageError> {
                Ok(sqlx::query(sql::DELETE)
                    .bind(ip)
                    .execute(self.pool())
                    .await?
                    .rows_affected()
                    > 0)
            }

            pub(super) async fn purge_bans(&self, now: i64) -> Result<u64, StorageError> {
                Ok(sqlx::query(sql::PURGE)
                    .bind(now)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }

            fn ban_row(row: &<$db as sqlx::Database>::Row) -> Result<BanRow, sqlx::Error> {
                Ok(BanRow {
                    ip: row.try_get("ip")?,
                    until: row.try_get("until")?,
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            }
        }
    };
}

mod backends {
    use sqlx::Row as _;

    use super::super::{PostgresStorage, SqliteStorage, StorageError};
    use super::{BanRow, sql};

    ban_queries!(SqliteStorage, sqlx::Sqlite);
    ban_queries!(PostgresStorage, sqlx::Postgres);
}
