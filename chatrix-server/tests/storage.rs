//! Storage conformance: the same scenarios run on SQLite (a temporary file) and on PostgreSQL
//! (a fresh database per test, created through `CHATRIX_TEST_PG_URL` and dropped afterwards;
//! skipped with a notice when the variable is unset).

use std::future::Future;
use std::sync::Arc;

use chatrix_server::storage::{
    AccountJid, Backend, DatabaseUrl, Storage, StorageError, StorageOptions,
};
use xmpp_sasl::{FixedRng, ScramHash, StoredCredentials};

const PG_URL_VAR: &str = "CHATRIX_TEST_PG_URL";

fn account(s: &str) -> AccountJid {
    AccountJid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn credentials(password: &str, seed: u64) -> Vec<StoredCredentials> {
    StoredCredentials::generate_all(password, 4096, &mut FixedRng::new(seed))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a scenario on a fresh SQLite file.
async fn with_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(Storage) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = DatabaseUrl::Sqlite(dir.path().join("nested/dir/test.db"));
    let storage = Storage::open(&url, &StorageOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(storage.backend(), Backend::Sqlite);
    scenario(storage.clone()).await;
    storage.close().await;
}

/// Runs a scenario on a fresh PostgreSQL database, dropped afterwards even if the scenario
/// panics.
async fn with_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(Storage) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        eprintln!("skipping PostgreSQL storage tests: {PG_URL_VAR} is unset");
        return;
    };
    let db = pg::TestDatabase::create(&admin_url).await;
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

mod pg {
    pub(crate) use chatrix_server::testing::TestDatabase;
}

/// The scenarios, each a function of a fresh, empty storage.
mod scenarios {
    use super::*;

    pub(crate) async fn create_and_read_back(s: Storage) {
        let alice = account("alice@example.org");
        let records = credentials("pencil", 1);
        assert!(
            !s.account_exists(&alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
        s.create_account(&alice, &records)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            s.account_exists(&alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
        for want in &records {
            let got = s
                .credentials(&alice, want.hash())
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("no {:?} record", want.hash()));
            assert_eq!(&got, want);
            assert!(got.verify_password("pencil"));
            assert!(!got.verify_password("pencil!"));
        }
        // SASL usernames are normalised; one that is no localpart belongs to nobody.
        for (username, found) in [
            ("alice", true),
            ("ALICE", true),
            ("bob", false),
            ("a b", false),
            ("", false),
        ] {
            let got = s
                .credentials_for_username(username, "example.org", ScramHash::Sha256)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got.is_some(), found, "{username:?}");
        }
        // Same localpart on another domain, and another localpart: nothing.
        for other in ["alice@example.net", "bob@example.org"] {
            let other = account(other);
            assert!(
                !s.account_exists(&other)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            );
            let none = s.credentials(&other, ScramHash::Sha256).await;
            assert!(matches!(none, Ok(None)), "{none:?}");
        }
    }

    pub(crate) async fn duplicates_are_refused(s: Storage) {
        let alice = account("alice@example.org");
        s.create_account(&alice, &credentials("first", 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The same account however it is spelled (PRECIS normalisation).
        let again = account("ALICE@Example.ORG");
        let e = s.create_account(&again, &credentials("second", 2)).await;
        assert!(
            matches!(&e, Err(StorageError::Duplicate(a)) if *a == alice),
            "{e:?}"
        );
        let kept = s
            .credentials(&alice, ScramHash::Sha1)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("record"));
        assert!(kept.verify_password("first"));
        assert!(!kept.verify_password("second"));
    }

    pub(crate) async fn set_credentials_replaces_the_whole_set(s: Storage) {
        let alice = account("alice@example.org");
        s.create_account(&alice, &credentials("old", 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let new: Vec<StoredCredentials> = credentials("new", 2)
            .into_iter()
            .filter(|c| c.hash() != ScramHash::Sha1)
            .collect();
        s.set_credentials(&alice, &new)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let sha1 = s.credentials(&alice, ScramHash::Sha1).await;
        assert!(matches!(sha1, Ok(None)), "{sha1:?}");
        for hash in [ScramHash::Sha256, ScramHash::Sha512] {
            let c = s
                .credentials(&alice, hash)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("record"));
            assert!(c.verify_password("new") && !c.verify_password("old"));
        }
        let bob = account("bob@example.org");
        let e = s.set_credentials(&bob, &credentials("x", 3)).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if *a == bob),
            "{e:?}"
        );
        assert!(
            !s.account_exists(&bob)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
    }

    pub(crate) async fn delete_removes_everything(s: Storage) {
        let alice = account("alice@example.org");
        let bob = account("bob@example.org");
        s.create_account(&alice, &credentials("a", 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.create_account(&bob, &credentials("b", 2))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.delete_account(&alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !s.account_exists(&alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
        for hash in ScramHash::ALL {
            let c = s.credentials(&alice, hash).await;
            assert!(matches!(c, Ok(None)), "{c:?}");
        }
        let listed = s
            .list_accounts("example.org")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listed, vec![bob.clone()]);
        let e = s.delete_account(&alice).await;
        assert!(matches!(e, Err(StorageError::NotFound(_))), "{e:?}");
        // Nothing was left behind: the account can be made again, with a new password.
        s.create_account(&alice, &credentials("again", 3))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let c = s
            .credentials(&alice, ScramHash::Sha512)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("record"));
        assert!(c.verify_password("again"));
        // Bob was not touched.
        assert!(
            s.account_exists(&bob)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
    }

    pub(crate) async fn list_is_per_domain_and_sorted(s: Storage) {
        let records = credentials("pw", 1);
        for jid in [
            "carol@a.example",
            "alice@a.example",
            "bob@a.example",
            "zed@b.example",
        ] {
            s.create_account(&account(jid), &records)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let list = |domain: &'static str| {
            let s = s.clone();
            async move {
                s.list_accounts(domain)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .into_iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list("a.example").await,
            ["alice@a.example", "bob@a.example", "carol@a.example"]
        );
        assert_eq!(list("b.example").await, ["zed@b.example"]);
        assert!(list("c.example").await.is_empty());
    }

    pub(crate) async fn unusable_credential_sets_are_refused(s: Storage) {
        let alice = account("alice@example.org");
        let e = s.create_account(&alice, &[]).await;
        assert!(
            matches!(e, Err(StorageError::InvalidCredentials(_))),
            "{e:?}"
        );
        let mut twice = credentials("pw", 1);
        twice.push(twice[0].clone());
        let e = s.create_account(&alice, &twice).await;
        assert!(
            matches!(e, Err(StorageError::InvalidCredentials(_))),
            "{e:?}"
        );
        assert!(
            !s.account_exists(&alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
        s.create_account(&alice, &credentials("pw", 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let e = s.set_credentials(&alice, &[]).await;
        assert!(
            matches!(e, Err(StorageError::InvalidCredentials(_))),
            "{e:?}"
        );
        let kept = s.credentials(&alice, ScramHash::Sha256).await;
        assert!(matches!(kept, Ok(Some(_))), "{kept:?}");
    }

    pub(crate) async fn corrupt_rows_are_errors(s: Storage) {
        const SQL: &str = "UPDATE credentials SET stored_key = $1 WHERE hash = 'SHA-256'";
        let alice = account("alice@example.org");
        s.create_account(&alice, &credentials("pw", 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let short = vec![1u8; 3];
        let updated = match &s {
            Storage::Sqlite(b) => sqlx::query(SQL)
                .bind(short)
                .execute(b.pool())
                .await
                .map(|r| r.rows_affected()),
            Storage::Postgres(b) => sqlx::query(SQL)
                .bind(short)
                .execute(b.pool())
                .await
                .map(|r| r.rows_affected()),
        };
        assert_eq!(updated.ok(), Some(1));
        let e = s.credentials(&alice, ScramHash::Sha256).await;
        assert!(matches!(e, Err(StorageError::Corrupt(_))), "{e:?}");
        // The other records are still fine.
        let ok = s.credentials(&alice, ScramHash::Sha1).await;
        assert!(matches!(ok, Ok(Some(_))), "{ok:?}");
    }

    pub(crate) async fn concurrent_writers(s: Storage) {
        let records = Arc::new(credentials("pw", 1));
        // Ten tasks race to create the same account: exactly one wins.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (s, records) = (s.clone(), Arc::clone(&records));
            tasks.push(tokio::spawn(async move {
                s.create_account(&account("race@example.org"), &records)
                    .await
            }));
        }
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap_or_else(|e| panic!("{e}")) {
                Ok(()) => created += 1,
                Err(StorageError::Duplicate(_)) => {}
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        assert_eq!(created, 1);
        // Twenty different accounts at once: all made.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (s, records) = (s.clone(), Arc::clone(&records));
            tasks.push(tokio::spawn(async move {
                s.create_account(&account(&format!("user{i:02}@example.org")), &records)
                    .await
            }));
        }
        for t in tasks {
            t.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let n = s
            .list_accounts("example.org")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len();
        assert_eq!(n, 21);
    }

    pub(crate) async fn an_outage_is_an_error(s: Storage) {
        let alice = account("alice@example.org");
        s.create_account(&alice, &credentials("pw", 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.close().await;
        let backend = |r: &Result<_, StorageError>| matches!(r, Err(StorageError::Backend(_)));
        assert!(backend(&s.account_exists(&alice).await.map(|_| ())));
        assert!(backend(
            &s.credentials(&alice, ScramHash::Sha1).await.map(|_| ())
        ));
        assert!(backend(&s.list_accounts("example.org").await.map(|_| ())));
        assert!(backend(
            &s.create_account(&account("bob@example.org"), &credentials("pw", 2))
                .await
        ));
        assert!(backend(
            &s.set_credentials(&alice, &credentials("pw", 3)).await
        ));
        assert!(backend(&s.delete_account(&alice).await));
    }
}

/// Generates one test per scenario and backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_sqlite(super::scenarios::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_postgres(super::scenarios::$name).await;
                }
            )*
        }
    };
}

conformance!(
    create_and_read_back,
    duplicates_are_refused,
    set_credentials_replaces_the_whole_set,
    delete_removes_everything,
    list_is_per_domain_and_sorted,
    unusable_credential_sets_are_refused,
    corrupt_rows_are_errors,
    concurrent_writers,
    an_outage_is_an_error,
);

#[tokio::test]
async fn sqlite_data_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = DatabaseUrl::Sqlite(dir.path().join("c.db"));
    let alice = account("alice@example.org");
    let s = Storage::open(&url, &StorageOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.create_account(&alice, &credentials("pw", 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.close().await;
    // Opening again runs the (already applied) migrations and finds the account.
    let s = Storage::open(&url, &StorageOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        s.account_exists(&alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    s.close().await;
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    with_memory(scenarios::create_and_read_back).await;
}

async fn with_memory<F, Fut>(scenario: F)
where
    F: FnOnce(Storage) -> Fut,
    Fut: Future<Output = ()>,
{
    let s = Storage::open(&DatabaseUrl::SqliteMemory, &StorageOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    scenario(s).await;
}

#[tokio::test]
async fn unreachable_postgres_is_an_error_not_a_hang() {
    let options = StorageOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..StorageOptions::default()
    };
    // Port 1 on loopback: nothing listens there.
    let url = DatabaseUrl::Postgres("postgres://nobody:pw@127.0.0.1:1/none".to_owned());
    let e = Storage::open(&url, &options).await;
    assert!(matches!(e, Err(StorageError::Backend(_))), "{e:?}");
}
