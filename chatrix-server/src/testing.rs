//! Test support: a fresh PostgreSQL database per test, and storage scenarios run on a fresh
//! SQLite file or PostgreSQL database.
//!
//! For the crate's own tests and for other crates' integration tests (the interop suite) that
//! run the server against a real PostgreSQL, as `.ci/run` does through `CHATRIX_TEST_PG_URL`.
//! Not for production use: it creates and drops databases, and panics on failure.

use ring::rand::{SecureRandom as _, SystemRandom};
use sqlx::Connection as _;

/// A database made for one test: create it from an admin URL, use [`TestDatabase::url`],
/// drop it at the end (also after a failed test).
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl TestDatabase {
    /// Creates `chatrix_test_<random>` through `admin_url` (any database on the server).
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("chatrix_test_{}", random_suffix());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to the PostgreSQL admin URL: {e}"));
        // The name is ours: lowercase letters, digits and underscores only.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let _ = admin.close().await;
        Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    /// Drops the database, closing its connections first (`WITH (FORCE)`).
    pub async fn drop_database(self) {
        let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await else {
            eprintln!("could not drop test database {}", self.name);
            return;
        };
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
        {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
        let _ = admin.close().await;
    }
}

/// `postgres://user@host:port/db?x=y` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..path_start])
}

/// The variable that names the PostgreSQL server for tests (an admin URL).
pub const PG_URL_VAR: &str = "CHATRIX_TEST_PG_URL";

/// Runs `scenario` on the storage of a fresh SQLite file, then closes it.
pub async fn with_sqlite_storage<F, Fut>(scenario: F)
where
    F: FnOnce(crate::storage::Storage) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use crate::storage::{Backend, DatabaseUrl, Storage, StorageOptions};
    let dir = std::env::temp_dir().join(format!("chatrix-test-{}", random_suffix()));
    let url = DatabaseUrl::Sqlite(dir.join("test.db"));
    let storage = Storage::open(&url, &StorageOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(storage.backend(), Backend::Sqlite);
    scenario(storage.clone()).await;
    storage.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `scenario` on the storage of a fresh PostgreSQL database, dropped afterwards even if
/// the scenario panics; prints a notice and returns when [`PG_URL_VAR`] is unset.
pub async fn with_postgres_storage<F, Fut>(what: &str, scenario: F)
where
    F: FnOnce(crate::storage::Storage) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use crate::storage::{Backend, DatabaseUrl, Storage, StorageOptions};
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        eprintln!("skipping PostgreSQL {what} tests: {PG_URL_VAR} is unset");
        return;
    };
    let db = TestDatabase::create(&admin_url).await;
    let storage = Storage::open(
        &DatabaseUrl::Postgres(db.url.clone()),
        &StorageOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(storage.backend(), Backend::Postgres);
    let outcome = tokio::spawn(scenario(storage.clone())).await;
    storage.close().await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// 16 random hex digits, for names no other test run uses.
fn random_suffix() -> String {
    let mut random = [0u8; 8];
    SystemRandom::new()
        .fill(&mut random)
        .unwrap_or_else(|_| panic!("random"));
    random.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
