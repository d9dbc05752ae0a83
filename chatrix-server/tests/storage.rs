//! Storage conformance: the same scenarios run on SQLite (a temporary file) and on PostgreSQL
//! (a fresh database per test, created through `CHATRIX_TEST_PG_URL` and dropped afterwards;
//! skipped with a notice when the variable is unset).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatrix_server::storage::{
    AccountJid, Ban, DatabaseUrl, OfflineStored, SharedGroup, Storage, StorageError, StorageOptions,
};
use xmpp_core::BareJid;
use xmpp_core::roster::{RosterItem, RosterStore, RosterVersion, Subscription};
use xmpp_sasl::{FixedRng, ScramHash, StoredCredentials};

fn account(s: &str) -> AccountJid {
    AccountJid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn bare(s: &str) -> BareJid {
    BareJid::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
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
    chatrix_server::testing::with_sqlite_storage(scenario).await;
}

/// Runs a scenario on a fresh PostgreSQL database (skipped with a notice without one).
async fn with_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(Storage) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    chatrix_server::testing::with_postgres_storage("storage", scenario).await;
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
        let romeo = bare("romeo@example.net");
        assert!(backend(&s.roster(&alice).await.map(|_| ())));
        assert!(backend(
            &s.put_roster_item(&alice, &RosterItem::new(romeo.clone()))
                .await
                .map(|_| ())
        ));
        assert!(backend(
            &s.remove_roster_item(&alice, &romeo).await.map(|_| ())
        ));
        assert!(backend(&s.presence_publishers(&romeo).await.map(|_| ())));
        assert!(backend(
            &s.store_offline(&alice, "<m/>", SystemTime::now(), &|_| 10)
                .await
                .map(|_| ())
        ));
        assert!(backend(&s.offline_messages(&alice).await.map(|_| ())));
        assert!(backend(&s.shared_groups().await.map(|_| ())));
        assert!(backend(
            &s.create_shared_group("example.org", "g", "G", false).await
        ));
        let bob = account("bob@example.org");
        let home = ip("192.0.2.1");
        assert!(backend(
            &s.register_account(&bob, &credentials("pw", 4), None, Some(home), t0())
                .await
        ));
        assert!(backend(&s.accounts_registered_from(home).await.map(|_| ())));
        assert!(backend(&s.account_class(&alice).await.map(|_| ())));
        assert!(backend(&s.set_account_class(&alice, Some("x")).await));
        assert!(backend(
            &s.delete_account_with_tombstone(&alice, Some(t0())).await
        ));
        assert!(backend(&s.tombstone(&alice).await.map(|_| ())));
        assert!(backend(&s.purge_tombstones(t0()).await.map(|_| ())));
        let ban = Ban {
            ip: home,
            until: t0(),
            reason: "test".to_owned(),
            created_at: t0(),
        };
        assert!(backend(&s.put_ban(&ban).await));
        assert!(backend(&s.ban(home).await.map(|_| ())));
        assert!(backend(&s.bans(t0()).await.map(|_| ())));
        assert!(backend(&s.remove_ban(home).await.map(|_| ())));
        assert!(backend(&s.purge_bans(t0()).await.map(|_| ())));
        assert!(backend(
            &s.store_offline(&alice, "<m/>", t0(), &|_| 10)
                .await
                .map(|_| ())
        ));
    }

    /// Makes accounts with one throwaway password.
    async fn accounts(s: &Storage, jids: &[&str]) -> Vec<AccountJid> {
        let records = credentials("pw", 1);
        let mut out = Vec::new();
        for jid in jids {
            let a = account(jid);
            s.create_account(&a, &records)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            out.push(a);
        }
        out
    }

    async fn put(s: &Storage, owner: &AccountJid, item: &RosterItem) -> RosterVersion {
        s.put_roster_item(owner, item)
            .await
            .unwrap_or_else(|e| panic!("put {}: {e}", item.jid))
    }

    async fn version(s: &Storage, owner: &AccountJid) -> RosterVersion {
        s.roster(owner)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .version()
    }

    /// Rows of `table` for the account alice@example.org, read with SQL (to see what
    /// cascades left behind, including rows no API returns).
    async fn alice_rows(s: &Storage, table: &str, domain: &str, localpart: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {domain} = $1 AND {localpart} = $2");
        let sql = sqlx::AssertSqlSafe(sql);
        let n: Result<(i64,), sqlx::Error> = match s {
            Storage::Sqlite(b) => {
                sqlx::query_as(sql)
                    .bind("example.org")
                    .bind("alice")
                    .fetch_one(b.pool())
                    .await
            }
            Storage::Postgres(b) => {
                sqlx::query_as(sql)
                    .bind("example.org")
                    .bind("alice")
                    .fetch_one(b.pool())
                    .await
            }
        };
        n.unwrap_or_else(|e| panic!("{table}: {e}")).0
    }

    pub(crate) async fn roster_items_round_trip(s: Storage) {
        let [alice, _] = &accounts(&s, &["alice@example.org", "bob@example.org"]).await[..] else {
            unreachable!()
        };
        let empty = s.roster(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(empty.is_empty());
        assert_eq!(empty.version(), RosterVersion::INITIAL);
        assert_eq!(s.roster_len(alice).await.ok(), Some(0));

        // Every field, unicode in the name and the groups, groups in the client's order.
        let mut romeo = RosterItem::new(bare("Romeo@Example.NET"));
        romeo.name = Some("Ромео 🌹 «Montague»".to_owned());
        romeo.groups = ["Друзья", "zeta", "Ａｌｐｈａ", "alpha", "家族"]
            .map(str::to_owned)
            .to_vec();
        romeo.subscription = Subscription::Both;
        romeo.ask = true;
        romeo.approved = true;
        romeo.pending_in = true;
        put(&s, alice, &romeo).await;
        // One item per subscription state, flags off.
        let mut others = Vec::new();
        for (jid, sub) in [
            ("none@example.net", Subscription::None),
            ("to@example.net", Subscription::To),
            ("from@example.net", Subscription::From),
            ("example.com", Subscription::Both),
        ] {
            let mut item = RosterItem::new(bare(jid));
            item.subscription = sub;
            put(&s, alice, &item).await;
            others.push(item);
        }

        // The contact is stored normalised: any spelling finds it.
        let got = s
            .roster_item(alice, &bare("romeo@example.net"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.as_ref(), Some(&romeo));
        let roster = s.roster(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(roster.len(), 5);
        assert_eq!(roster.get(&romeo.jid), Some(&romeo));
        for item in &others {
            assert_eq!(roster.get(&item.jid), Some(item));
            let one = s.roster_item(alice, &item.jid).await;
            assert_eq!(one.ok().flatten().as_ref(), Some(item));
        }
        assert_eq!(s.roster_len(alice).await.ok(), Some(5));

        // Replacing keeps nothing of the old item: fewer groups, no name, new flags.
        let mut replaced = RosterItem::new(bare("romeo@example.net"));
        replaced.groups = vec!["家族".to_owned()];
        replaced.subscription = Subscription::To;
        replaced.pending_in = true;
        put(&s, alice, &replaced).await;
        let got = s.roster_item(alice, &replaced.jid).await;
        assert_eq!(got.ok().flatten(), Some(replaced.clone()));
        assert_eq!(s.roster_len(alice).await.ok(), Some(5));

        // Nothing for another contact, or another owner.
        let none = s.roster_item(alice, &bare("juliet@example.net")).await;
        assert!(matches!(none, Ok(None)), "{none:?}");
        let bob = account("bob@example.org");
        let none = s.roster_item(&bob, &replaced.jid).await;
        assert!(matches!(none, Ok(None)), "{none:?}");
        assert_eq!(s.roster_len(&bob).await.ok(), Some(0));

        // `remove` is a request, not a state.
        let mut remove = RosterItem::new(bare("x@example.net"));
        remove.subscription = Subscription::Remove;
        let e = s.put_roster_item(alice, &remove).await;
        assert!(
            matches!(e, Err(StorageError::InvalidRosterItem(_))),
            "{e:?}"
        );
        assert_eq!(s.roster_len(alice).await.ok(), Some(5));
    }

    pub(crate) async fn roster_versions_strictly_increase(s: Storage) {
        let [alice, bob] = &accounts(&s, &["alice@example.org", "bob@example.org"]).await[..]
        else {
            unreachable!()
        };
        let romeo = RosterItem::new(bare("romeo@example.net"));
        let v1 = put(&s, alice, &romeo).await;
        assert!(v1 > RosterVersion::INITIAL);
        let v2 = put(&s, alice, &romeo).await;
        assert!(v2 > v1, "{v2} > {v1}");
        assert_eq!(version(&s, alice).await, v2);

        // Remove: a new version; a missing item: None, version untouched.
        let v3 = s
            .remove_roster_item(alice, &romeo.jid)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("removed"));
        assert!(v3 > v2);
        assert_eq!(s.roster_item(alice, &romeo.jid).await.ok(), Some(None));
        let none = s.remove_roster_item(alice, &romeo.jid).await;
        assert!(matches!(none, Ok(None)), "{none:?}");
        assert_eq!(version(&s, alice).await, v3);
        // Put after remove: still going up.
        let v4 = put(&s, alice, &romeo).await;
        assert!(v4 > v3);
        let roster = s.roster(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((roster.version(), roster.len()), (v4, 1));
        // The version survives the last item going.
        let v6 = s.remove_roster_item(alice, &romeo.jid).await.ok().flatten();
        let roster = s.roster(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(roster.is_empty());
        assert_eq!(Some(roster.version()), v6);
        assert!(roster.version() > v4);

        // Per account: Bob's roster has its own version, and his first item starts it.
        assert_eq!(version(&s, bob).await, RosterVersion::INITIAL);
        let b1 = put(&s, bob, &romeo).await;
        assert!(b1 > RosterVersion::INITIAL);
        assert_eq!(version(&s, bob).await, b1);
        assert_eq!(version(&s, alice).await, roster.version());

        // A missing account: NotFound, nothing written.
        let carol = account("carol@example.org");
        let e = s.put_roster_item(&carol, &romeo).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if *a == carol),
            "{e:?}"
        );
        let none = s.remove_roster_item(&carol, &romeo.jid).await;
        assert!(matches!(none, Ok(None)), "{none:?}");
        assert_eq!(version(&s, &carol).await, RosterVersion::INITIAL);

        // An account deleted and made again never repeats a version an old client cached.
        let last = version(&s, alice).await;
        s.delete_account(alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        accounts(&s, &["alice@example.org"]).await;
        assert_eq!(version(&s, alice).await, RosterVersion::INITIAL);
        let again = put(&s, alice, &romeo).await;
        assert!(again > last, "{again} > {last}");
    }

    pub(crate) async fn presence_publishers_are_from_and_both(s: Storage) {
        let all = accounts(
            &s,
            &[
                "from@example.org",
                "both@example.org",
                "to@example.org",
                "none@example.org",
                "other@example.org",
                "both@example.net",
            ],
        )
        .await;
        let romeo = bare("romeo@example.com");
        for (owner, sub) in all.iter().zip([
            Subscription::From,
            Subscription::Both,
            Subscription::To,
            Subscription::None,
        ]) {
            let mut item = RosterItem::new(romeo.clone());
            item.subscription = sub;
            // Flags do not matter, only the subscription.
            item.ask = true;
            item.pending_in = true;
            put(&s, owner, &item).await;
        }
        // `other` has a `both` item for another contact only.
        let mut item = RosterItem::new(bare("juliet@example.com"));
        item.subscription = Subscription::Both;
        put(&s, &all[4], &item).await;
        let mut item = RosterItem::new(romeo.clone());
        item.subscription = Subscription::Both;
        put(&s, &all[5], &item).await;

        let got = s
            .presence_publishers(&romeo)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut want = vec![all[0].clone(), all[1].clone(), all[5].clone()];
        want.sort();
        assert_eq!(got, want);
        let juliet = s.presence_publishers(&bare("juliet@example.com")).await;
        assert_eq!(juliet.ok(), Some(vec![all[4].clone()]));
        let nobody = s.presence_publishers(&bare("nobody@example.com")).await;
        assert_eq!(nobody.ok(), Some(Vec::new()));
        // A local account as the contact, and an item that goes away.
        let mut item = RosterItem::new(all[2].as_bare().clone());
        item.subscription = Subscription::From;
        put(&s, &all[3], &item).await;
        let got = s.presence_publishers(all[2].as_bare()).await;
        assert_eq!(got.ok(), Some(vec![all[3].clone()]));
        s.remove_roster_item(&all[1], &romeo)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut want = vec![all[0].clone(), all[5].clone()];
        want.sort();
        let got = s.presence_publishers(&romeo).await;
        assert_eq!(got.ok(), Some(want));
    }

    pub(crate) async fn concurrent_roster_writes(s: Storage) {
        let alice = accounts(&s, &["alice@example.org"]).await.remove(0);
        // Puts and removes of the same few contacts at once: none fails (no deadlock), and
        // every change gets its own version.
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (s, alice) = (s.clone(), alice.clone());
            tasks.push(tokio::spawn(async move {
                let contact = bare(&format!("c{}@example.net", i % 4));
                if i % 2 == 0 {
                    let mut item = RosterItem::new(contact);
                    item.groups = vec![format!("g{i}"), "x".to_owned()];
                    s.put_roster_item(&alice, &item).await.map(Some)
                } else {
                    s.remove_roster_item(&alice, &contact).await
                }
            }));
        }
        let mut versions = Vec::new();
        for t in tasks {
            if let Some(v) = t
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"))
            {
                versions.push(v);
            }
        }
        let n = versions.len();
        versions.sort();
        versions.dedup();
        assert_eq!(versions.len(), n, "a version was handed out twice");
        let roster = s.roster(&alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(roster.version()), versions.last().copied());
        for item in roster.items() {
            assert_eq!(item.groups.len(), 2, "{item:?}");
        }
    }

    pub(crate) async fn roster_store_trait(s: Storage) {
        accounts(&s, &["alice@example.org"]).await;
        let alice = bare("alice@example.org");
        let romeo = RosterItem::new(bare("romeo@example.net"));
        let v1 = RosterStore::put_item(&s, &alice, romeo.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let roster = RosterStore::get(&s, &alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(roster.version(), v1);
        assert_eq!(roster.get(&romeo.jid), Some(&romeo));
        let v2 = RosterStore::remove_item(&s, &alice, &romeo.jid).await;
        assert!(matches!(v2, Ok(Some(v)) if v > v1), "{v2:?}");
        let none = RosterStore::remove_item(&s, &alice, &romeo.jid).await;
        assert!(matches!(none, Ok(None)), "{none:?}");
        // A domain is nobody's roster owner.
        let domain = bare("example.org");
        let e = RosterStore::get(&s, &domain).await;
        assert!(
            matches!(&e, Err(StorageError::NotAnAccount(j)) if *j == domain),
            "{e:?}"
        );
        let e = RosterStore::put_item(&s, &domain, romeo.clone()).await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
        let e = RosterStore::remove_item(&s, &domain, &romeo.jid).await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
    }

    pub(crate) async fn offline_messages_in_order_and_limited(s: Storage) {
        let [alice, bob] = &accounts(&s, &["alice@example.org", "bob@example.org"]).await[..]
        else {
            unreachable!()
        };
        assert_eq!(s.offline_messages(alice).await.ok(), Some(Vec::new()));
        assert_eq!(s.offline_count(alice).await.ok(), Some(0));
        // Microseconds are kept, nanoseconds truncated.
        let base = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let stanzas = [
            "<message to='alice@example.org'><body>1 ✉️</body></message>",
            "<message to='alice@example.org'><body>2 «»</body></message>",
            "<message to='alice@example.org'><body>3</body></message>",
        ];
        for (i, stanza) in (0_u64..).zip(stanzas) {
            let at = base + Duration::from_micros(i);
            let r = s.store_offline(alice, stanza, at, &|_| 3).await;
            assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        }
        // Exactly `limit` stored, then Full, nothing written.
        let r = s.store_offline(alice, "<message/>", base, &|_| 3).await;
        assert!(matches!(r, Ok(OfflineStored::Full)), "{r:?}");
        assert_eq!(s.offline_count(alice).await.ok(), Some(3));
        // Bob's store is his own.
        let r = s.store_offline(bob, "<message/>", base, &|_| 1).await;
        assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        let r = s.store_offline(bob, "<message/>", base, &|_| 1).await;
        assert!(matches!(r, Ok(OfflineStored::Full)), "{r:?}");
        let r = s.store_offline(bob, "<message/>", base, &|_| 0).await;
        assert!(matches!(r, Ok(OfflineStored::Full)), "{r:?}");
        // Both now hold messages, each listed once.
        let holders = s
            .accounts_with_offline()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(holders, vec![alice.clone(), bob.clone()]);

        let got = s
            .offline_messages(alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let texts: Vec<&str> = got.iter().map(|m| m.stanza.as_str()).collect();
        assert_eq!(texts, stanzas);
        assert!(got.windows(2).all(|w| w[0].id < w[1].id));
        let truncated = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
        for (i, m) in (0_u64..).zip(&got) {
            assert_eq!(m.stored_at, truncated + Duration::from_micros(i));
        }
        // A time before the epoch survives too.
        let old = UNIX_EPOCH - Duration::from_micros(1_234_567);
        let r = s.store_offline(bob, "<old/>", old, &|_| 5).await;
        assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        let bobs = s
            .offline_messages(bob)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bobs.last().map(|m| m.stored_at), Some(old));

        // Delete up to an id: those and no more, and only the account's.
        let deleted = s.delete_offline(alice, got[1].id).await;
        assert_eq!(deleted.ok(), Some(2));
        let rest = s
            .offline_messages(alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rest, got[2..]);
        assert_eq!(s.delete_offline(alice, got[1].id).await.ok(), Some(0));
        assert_eq!(s.offline_count(bob).await.ok(), Some(2));
        let all = s.delete_offline(bob, i64::MAX).await;
        assert_eq!(all.ok(), Some(2));
        // Ids are never used again, even after everything was deleted.
        let max = got[2].id.max(bobs.iter().map(|m| m.id).max().unwrap_or(0));
        assert_eq!(s.delete_offline(alice, i64::MAX).await.ok(), Some(1));
        let r = s
            .store_offline(alice, "<new/>", SystemTime::now(), &|_| 3)
            .await;
        assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        let new = s
            .offline_messages(alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new.len(), 1);
        assert!(new[0].id > max, "{} > {max}", new[0].id);

        // A missing account: NotFound, whatever the limit.
        let carol = account("carol@example.org");
        for limit in [0, 10] {
            let e = s
                .store_offline(&carol, "<message/>", base, &|_| limit)
                .await;
            assert!(
                matches!(&e, Err(StorageError::NotFound(a)) if *a == carol),
                "{e:?}"
            );
        }
        assert_eq!(s.offline_count(&carol).await.ok(), Some(0));
        assert_eq!(s.offline_messages(&carol).await.ok(), Some(Vec::new()));
        assert_eq!(s.delete_offline(&carol, i64::MAX).await.ok(), Some(0));
    }

    pub(crate) async fn concurrent_offline_stores_respect_the_limit(s: Storage) {
        let alice = accounts(&s, &["alice@example.org"]).await.remove(0);
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (s, alice) = (s.clone(), alice.clone());
            tasks.push(tokio::spawn(async move {
                s.store_offline(&alice, &format!("<m n='{i}'/>"), SystemTime::now(), &|_| 10)
                    .await
            }));
        }
        let (mut stored, mut full) = (0, 0);
        for t in tasks {
            match t.await.unwrap_or_else(|e| panic!("{e}")) {
                Ok(OfflineStored::Stored) => stored += 1,
                Ok(OfflineStored::Full) => full += 1,
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        assert_eq!((stored, full), (10, 10));
        assert_eq!(s.offline_count(&alice).await.ok(), Some(10));
    }

    pub(crate) async fn deleting_an_account_cascades(s: Storage) {
        let [alice, bob] = &accounts(&s, &["alice@example.org", "bob@example.net"]).await[..]
        else {
            unreachable!()
        };
        let mut romeo = RosterItem::new(bare("romeo@example.com"));
        romeo.groups = vec!["a".to_owned(), "b".to_owned()];
        put(&s, alice, &romeo).await;
        put(&s, alice, &RosterItem::new(bob.as_bare().clone())).await;
        // Bob's roster names Alice: his data, it stays.
        let mut alice_item = RosterItem::new(alice.as_bare().clone());
        alice_item.subscription = Subscription::Both;
        put(&s, bob, &alice_item).await;
        for _ in 0..3 {
            let r = s
                .store_offline(alice, "<m/>", SystemTime::now(), &|_| 10)
                .await;
            assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        }
        let r = s
            .store_offline(bob, "<m/>", SystemTime::now(), &|_| 10)
            .await;
        assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        s.create_shared_group("example.org", "staff", "Staff", false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for m in [alice, bob] {
            assert_eq!(
                s.add_group_member("example.org", "staff", m).await.ok(),
                Some(true)
            );
        }
        assert_eq!(
            alice_rows(&s, "roster_groups", "domain", "localpart").await,
            2
        );

        s.delete_account(alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        for (table, domain, localpart) in [
            ("credentials", "domain", "localpart"),
            ("roster_versions", "domain", "localpart"),
            ("roster_items", "domain", "localpart"),
            ("roster_groups", "domain", "localpart"),
            ("offline_messages", "domain", "localpart"),
            ("shared_group_members", "member_domain", "member_localpart"),
        ] {
            assert_eq!(alice_rows(&s, table, domain, localpart).await, 0, "{table}");
        }
        let roster = s.roster(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(roster.is_empty());
        assert_eq!(roster.version(), RosterVersion::INITIAL);
        assert_eq!(s.offline_count(alice).await.ok(), Some(0));
        let groups = s.shared_groups().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(groups.len(), 1, "the group stays");
        assert_eq!(groups[0].members, vec![bob.clone()]);
        // Bob keeps everything.
        let kept = s.roster_item(bob, alice.as_bare()).await;
        assert_eq!(kept.ok().flatten(), Some(alice_item));
        assert_eq!(s.offline_count(bob).await.ok(), Some(1));
        assert_eq!(
            s.presence_publishers(alice.as_bare()).await.ok(),
            Some(vec![bob.clone()])
        );
        // Made again, Alice starts empty.
        accounts(&s, &["alice@example.org"]).await;
        assert_eq!(s.roster_len(alice).await.ok(), Some(0));
        assert_eq!(s.offline_count(alice).await.ok(), Some(0));
    }

    pub(crate) async fn shared_groups_and_members(s: Storage) {
        let [alice, bob, carol] = &accounts(
            &s,
            &["alice@example.org", "bob@example.net", "carol@example.org"],
        )
        .await[..] else {
            unreachable!()
        };
        assert_eq!(s.shared_groups().await.ok(), Some(Vec::new()));
        for (domain, name, display, everyone) in [
            ("example.org", "staff", "Staff ✓", false),
            ("example.org", "all", "Everyone at Example", true),
            ("example.net", "staff", "Net staff", false),
        ] {
            s.create_shared_group(domain, name, display, everyone)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let e = s
            .create_shared_group("example.org", "staff", "Other", true)
            .await;
        assert!(
            matches!(&e, Err(StorageError::GroupExists { domain, name })
                if domain == "example.org" && name == "staff"),
            "{e:?}"
        );

        // Members: any local account, any domain; twice is Ok(false).
        for m in [carol, bob, alice] {
            let added = s.add_group_member("example.org", "staff", m).await;
            assert_eq!(added.ok(), Some(true), "{m}");
        }
        assert_eq!(
            s.add_group_member("example.org", "staff", alice).await.ok(),
            Some(false)
        );
        let e = s.add_group_member("example.org", "nope", alice).await;
        assert!(
            matches!(&e, Err(StorageError::GroupNotFound { domain, name })
                if domain == "example.org" && name == "nope"),
            "{e:?}"
        );
        let dave = account("dave@example.org");
        let e = s.add_group_member("example.org", "staff", &dave).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if *a == dave),
            "{e:?}"
        );
        // Both missing: the group is named first.
        let e = s.add_group_member("example.org", "nope", &dave).await;
        assert!(
            matches!(e, Err(StorageError::GroupNotFound { .. })),
            "{e:?}"
        );

        let group = |domain: &str, name: &str, display: &str, everyone, members: &[&AccountJid]| {
            SharedGroup {
                domain: domain.to_owned(),
                name: name.to_owned(),
                display_name: display.to_owned(),
                everyone,
                members: members.iter().map(|m| (*m).clone()).collect(),
            }
        };
        let mut sorted = vec![alice, bob, carol];
        sorted.sort();
        let got = s.shared_groups().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got,
            [
                group("example.net", "staff", "Net staff", false, &[]),
                group("example.org", "all", "Everyone at Example", true, &[]),
                group("example.org", "staff", "Staff ✓", false, &sorted),
            ]
        );

        // Remove: true, then false; a missing group is an error.
        assert_eq!(
            s.remove_group_member("example.org", "staff", bob)
                .await
                .ok(),
            Some(true)
        );
        assert_eq!(
            s.remove_group_member("example.org", "staff", bob)
                .await
                .ok(),
            Some(false)
        );
        assert_eq!(
            s.remove_group_member("example.org", "staff", &dave)
                .await
                .ok(),
            Some(false)
        );
        let e = s.remove_group_member("example.com", "staff", alice).await;
        assert!(
            matches!(e, Err(StorageError::GroupNotFound { .. })),
            "{e:?}"
        );

        // Delete: the group and its memberships go; the accounts stay.
        s.delete_shared_group("example.org", "staff")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let e = s.delete_shared_group("example.org", "staff").await;
        assert!(
            matches!(&e, Err(StorageError::GroupNotFound { domain, name })
                if domain == "example.org" && name == "staff"),
            "{e:?}"
        );
        let names: Vec<(String, String)> = s
            .shared_groups()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|g| (g.domain, g.name))
            .collect();
        assert_eq!(
            names,
            [
                ("example.net".to_owned(), "staff".to_owned()),
                ("example.org".to_owned(), "all".to_owned())
            ]
        );
        assert_eq!(
            alice_rows(
                &s,
                "shared_group_members",
                "member_domain",
                "member_localpart"
            )
            .await,
            0
        );
        // A group of the same name can be made again, empty.
        s.create_shared_group("example.org", "staff", "Staff", false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let again = s.shared_groups().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(again.iter().all(|g| g.members.is_empty()));
        assert!(
            s.account_exists(alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );
    }

    /// A fixed "now" for the tests that inject the time: a whole second.
    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Runs a statement that returns one row of one column, with two text parameters.
    async fn raw_one<T>(s: &Storage, sql: &'static str, a: &str, b: &str) -> T
    where
        T: Send + Unpin,
        for<'r> T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        for<'r> T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let row: Result<(T,), sqlx::Error> = match s {
            Storage::Sqlite(b_) => {
                sqlx::query_as(sql)
                    .bind(a)
                    .bind(b)
                    .fetch_one(b_.pool())
                    .await
            }
            Storage::Postgres(b_) => {
                sqlx::query_as(sql)
                    .bind(a)
                    .bind(b)
                    .fetch_one(b_.pool())
                    .await
            }
        };
        row.unwrap_or_else(|e| panic!("{sql}: {e}")).0
    }

    /// Runs a statement without parameters (schema changes in the tests).
    async fn raw_execute(s: &Storage, sql: &'static str) {
        let done = match s {
            Storage::Sqlite(b) => sqlx::query(sql).execute(b.pool()).await.map(|_| ()),
            Storage::Postgres(b) => sqlx::query(sql).execute(b.pool()).await.map(|_| ()),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub(crate) async fn register_account_respects_tombstones(s: Storage) {
        let alice = account("alice@example.org");
        let now = t0();
        s.register_account(
            &alice,
            &credentials("pw", 1),
            Some("premium"),
            Some(ip("192.0.2.1")),
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let got = s.credentials(&alice, ScramHash::Sha256).await;
        assert!(
            matches!(&got, Ok(Some(c)) if c.verify_password("pw")),
            "{got:?}"
        );
        assert_eq!(
            s.account_class(&alice).await.ok(),
            Some(Some("premium".to_owned()))
        );
        // The injected clock is the creation time, not the system's.
        let created: i64 = raw_one(
            &s,
            "SELECT created_at FROM accounts WHERE domain = $1 AND localpart = $2",
            "example.org",
            "alice",
        )
        .await;
        assert_eq!(created, 1_700_000_000);
        // Registering it again, however spelled: Duplicate, nothing changed.
        let refused = s
            .register_account(
                &account("ALICE@example.org"),
                &credentials("x", 2),
                None,
                None,
                now,
            )
            .await;
        assert!(
            matches!(&refused, Err(StorageError::Duplicate(a)) if *a == alice),
            "{refused:?}"
        );
        let refused = s.register_account(&alice, &[], None, None, now).await;
        assert!(
            matches!(refused, Err(StorageError::InvalidCredentials(_))),
            "{refused:?}"
        );

        // Deleted with a tombstone: everything goes (the cascades are the same as without),
        // and the name is refused until the tombstone expires.
        put(&s, &alice, &RosterItem::new(bare("romeo@example.net"))).await;
        let stored = s.store_offline(&alice, "<m/>", now, &|_| 10).await;
        assert!(matches!(stored, Ok(OfflineStored::Stored)), "{stored:?}");
        let until = now + Duration::from_secs(1000);
        s.delete_account_with_tombstone(&alice, Some(until))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.account_exists(&alice).await.ok(), Some(false));
        for table in [
            "credentials",
            "roster_items",
            "roster_versions",
            "offline_messages",
        ] {
            assert_eq!(
                alice_rows(&s, table, "domain", "localpart").await,
                0,
                "{table}"
            );
        }
        assert_eq!(s.tombstone(&alice).await.ok(), Some(Some(until)));
        for (spelling, at) in [
            ("alice@example.org", now),
            ("Alice@EXAMPLE.org", now + Duration::from_secs(999)),
            ("alice@example.org", until - Duration::from_millis(1)),
        ] {
            let refused = s
                .register_account(&account(spelling), &credentials("pw", 3), None, None, at)
                .await;
            assert!(
                matches!(&refused, Err(StorageError::Tombstoned { account: a, until: u })
                    if *a == alice && *u == until),
                "{spelling} at {at:?}: {refused:?}"
            );
        }
        assert_eq!(s.account_exists(&alice).await.ok(), Some(false));
        assert_eq!(s.tombstone(&alice).await.ok(), Some(Some(until)));
        // Another domain's name of the same localpart is free.
        s.register_account(
            &account("alice@example.net"),
            &credentials("pw", 3),
            None,
            None,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // At `until` the name is free again, and registering it removes the tombstone.
        s.register_account(&alice, &credentials("new", 4), None, None, until)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.tombstone(&alice).await.ok(), Some(None));
        assert_eq!(s.account_class(&alice).await.ok(), Some(None));
        let got = s.credentials(&alice, ScramHash::Sha512).await;
        assert!(
            matches!(&got, Ok(Some(c)) if c.verify_password("new")),
            "{got:?}"
        );

        // A missing account: NotFound, and no tombstone is written.
        let carol = account("carol@example.org");
        let refused = s.delete_account_with_tombstone(&carol, Some(until)).await;
        assert!(
            matches!(&refused, Err(StorageError::NotFound(a)) if *a == carol),
            "{refused:?}"
        );
        assert_eq!(s.tombstone(&carol).await.ok(), Some(None));
        // Without a time: a plain delete, no tombstone.
        let bob = accounts(&s, &["bob@example.org"]).await.remove(0);
        s.delete_account_with_tombstone(&bob, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.tombstone(&bob).await.ok(), Some(None));
        s.register_account(&bob, &credentials("pw", 5), None, None, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A second tombstone replaces the first; stored to the whole second (floored).
        let later = until + Duration::from_millis(5_700);
        s.delete_account_with_tombstone(&bob, Some(until))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.create_account(&bob, &credentials("pw", 6))
            .await
            .unwrap_or_else(|e| panic!("the administrator ignores tombstones: {e}"));
        s.delete_account_with_tombstone(&bob, Some(later))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.tombstone(&bob).await.ok(),
            Some(Some(until + Duration::from_secs(5)))
        );
    }

    pub(crate) async fn tombstones_are_purged(s: Storage) {
        let names = [
            "a@example.org",
            "b@example.org",
            "c@example.org",
            "a@example.net",
        ];
        let all = accounts(&s, &names).await;
        for (a, secs) in all.iter().zip([10, 20, 30, 40]) {
            s.delete_account_with_tombstone(a, Some(t0() + Duration::from_secs(secs)))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(s.purge_tombstones(t0()).await.ok(), Some(0));
        // `until <= now` has expired.
        let now = t0() + Duration::from_secs(20);
        assert_eq!(s.purge_tombstones(now).await.ok(), Some(2));
        let left: Vec<bool> = {
            let mut v = Vec::new();
            for a in &all {
                v.push(
                    s.tombstone(a)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                        .is_some(),
                );
            }
            v
        };
        assert_eq!(left, [false, false, true, true]);
        // An expired tombstone no purge has removed yet refuses nothing.
        let r = s
            .register_account(
                &all[2],
                &credentials("pw", 1),
                None,
                None,
                t0() + Duration::from_secs(31),
            )
            .await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(
            s.purge_tombstones(t0() + Duration::from_secs(100))
                .await
                .ok(),
            Some(1)
        );
        assert_eq!(s.tombstone(&all[3]).await.ok(), Some(None));
    }

    pub(crate) async fn accounts_registered_from_an_address(s: Storage) {
        let v4 = ip("192.0.2.1");
        for (jid, from) in [
            ("a@example.org", v4),
            ("b@example.org", v4),
            // The same host through a dual-stack socket.
            ("c@example.net", ip("::ffff:192.0.2.1")),
            ("d@example.org", ip("2001:db8::1")),
        ] {
            s.register_account(&account(jid), &credentials("pw", 1), None, Some(from), t0())
                .await
                .unwrap_or_else(|e| panic!("{jid}: {e}"));
        }
        s.register_account(
            &account("e@example.org"),
            &credentials("pw", 1),
            None,
            None,
            t0(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        accounts(&s, &["admin@example.org"]).await;
        let count = |addr: &'static str| {
            let s = s.clone();
            async move {
                s.accounts_registered_from(ip(addr))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        };
        assert_eq!(count("192.0.2.1").await, 3);
        assert_eq!(count("::ffff:192.0.2.1").await, 3);
        assert_eq!(count("2001:db8::1").await, 1);
        assert_eq!(count("2001:0db8:0::0001").await, 1);
        assert_eq!(count("198.51.100.7").await, 0);
        // Stored in canonical text form.
        let stored: Option<String> = raw_one(
            &s,
            "SELECT registered_ip FROM accounts WHERE domain = $1 AND localpart = $2",
            "example.net",
            "c",
        )
        .await;
        assert_eq!(stored.as_deref(), Some("192.0.2.1"));
        let admin: Option<String> = raw_one(
            &s,
            "SELECT registered_ip FROM accounts WHERE domain = $1 AND localpart = $2",
            "example.org",
            "admin",
        )
        .await;
        assert_eq!(admin, None);
        // Deleted accounts no longer count.
        s.delete_account(&account("a@example.org"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count("192.0.2.1").await, 2);
    }

    pub(crate) async fn account_classes(s: Storage) {
        let alice = accounts(&s, &["alice@example.org"]).await.remove(0);
        assert_eq!(s.account_class(&alice).await.ok(), Some(None));
        s.set_account_class(&alice, Some("gold ✓"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.account_class(&alice).await.ok(),
            Some(Some("gold ✓".to_owned()))
        );
        s.set_account_class(&alice, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.account_class(&alice).await.ok(), Some(None));
        let bob = account("bob@example.org");
        let e = s.account_class(&bob).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if *a == bob),
            "{e:?}"
        );
        let e = s.set_account_class(&bob, Some("gold")).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if *a == bob),
            "{e:?}"
        );
        assert_eq!(s.account_exists(&bob).await.ok(), Some(false));
    }

    pub(crate) async fn bans_round_trip(s: Storage) {
        let now = t0();
        let ban = |addr: &str, until_secs: u64, reason: &str| Ban {
            ip: ip(addr),
            until: now + Duration::from_secs(until_secs),
            reason: reason.to_owned(),
            created_at: now - Duration::from_secs(5),
        };
        assert_eq!(s.bans(now).await.ok(), Some(Vec::new()));
        assert_eq!(s.ban(ip("192.0.2.1")).await.ok(), Some(None));
        for b in [
            ban("2001:db8::1", 60, "v6"),
            ban("10.0.0.1", 60, "ten"),
            ban("::1", 60, "loopback"),
            ban("9.0.0.1", 60, "nine"),
            // Stored as 192.0.2.1.
            ban("::ffff:192.0.2.1", 60, "mapped «5 failures»"),
            ban("198.51.100.1", 0, "ended"),
        ] {
            s.put_ban(&b).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let got = s
            .ban(ip("192.0.2.1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, Some(ban("192.0.2.1", 60, "mapped «5 failures»")));
        assert_eq!(s.ban(ip("::ffff:192.0.2.1")).await.ok(), Some(got.clone()));
        let stored: String = raw_one(
            &s,
            "SELECT ip FROM bans WHERE reason = $1 OR reason = $2",
            "mapped «5 failures»",
            "-",
        )
        .await;
        assert_eq!(stored, "192.0.2.1");
        assert!(got.is_some_and(|b| b.is_active(now)));
        // An ended ban is still read by address, but it is not active and not listed.
        let ended = s.ban(ip("198.51.100.1")).await.ok().flatten();
        assert_eq!(ended, Some(ban("198.51.100.1", 0, "ended")));
        assert!(ended.is_some_and(|b| !b.is_active(now)));
        // Listed by address, numerically, IPv4 first.
        let listed: Vec<String> = s
            .bans(now)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|b| b.ip.to_string())
            .collect();
        assert_eq!(
            listed,
            ["9.0.0.1", "10.0.0.1", "192.0.2.1", "::1", "2001:db8::1"]
        );
        // A ban ends at `until`: listed one second before, not at it.
        let end = now + Duration::from_secs(60);
        assert_eq!(
            s.bans(end - Duration::from_millis(1))
                .await
                .map(|b| b.len())
                .ok(),
            Some(5)
        );
        assert_eq!(s.bans(end).await.map(|b| b.len()).ok(), Some(0));
        // Put again: replaced, whatever the old one was; times are whole seconds (floored).
        let mut longer = ban("10.0.0.1", 600, "again");
        longer.until += Duration::from_millis(900);
        s.put_ban(&longer).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.ban(ip("10.0.0.1")).await.ok(),
            Some(Some(ban("10.0.0.1", 600, "again")))
        );
        s.put_ban(&ban("198.51.100.1", 30, "back"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.bans(now).await.map(|b| b.len()).ok(), Some(6));
        // Remove: true, then false; through the mapped form too.
        assert_eq!(s.remove_ban(ip("::ffff:192.0.2.1")).await.ok(), Some(true));
        assert_eq!(s.remove_ban(ip("192.0.2.1")).await.ok(), Some(false));
        assert_eq!(s.ban(ip("192.0.2.1")).await.ok(), Some(None));
        // Purge: the ended ones only.
        assert_eq!(s.purge_bans(now).await.ok(), Some(0));
        assert_eq!(s.purge_bans(end).await.ok(), Some(4));
        let left: Vec<IpAddr> = s
            .bans(now)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|b| b.ip)
            .collect();
        assert_eq!(left, [ip("10.0.0.1")]);
    }

    /// The class-dependent limit of the tests: 1 for the default class, 3 for `big`, 0 else.
    fn class_limit(class: Option<&str>) -> u32 {
        match class {
            None => 1,
            Some("big") => 3,
            Some(_) => 0,
        }
    }

    pub(crate) async fn offline_limit_per_class(s: Storage) {
        let [alice, bob] = &accounts(&s, &["alice@example.org", "bob@example.org"]).await[..]
        else {
            unreachable!()
        };
        s.set_account_class(bob, Some("big"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let seen = std::sync::Mutex::new(Vec::new());
        let limit_of = |class: Option<&str>| {
            seen.lock()
                .unwrap_or_else(|e| panic!("{e}"))
                .push(class.map(str::to_owned));
            class_limit(class)
        };
        let store = async |a: &AccountJid| s.store_offline(a, "<m/>", t0(), &limit_of).await;
        assert!(matches!(store(alice).await, Ok(OfflineStored::Stored)));
        assert!(matches!(store(alice).await, Ok(OfflineStored::Full)));
        for _ in 0..3 {
            assert!(matches!(store(bob).await, Ok(OfflineStored::Stored)));
        }
        assert!(matches!(store(bob).await, Ok(OfflineStored::Full)));
        assert_eq!(s.offline_count(alice).await.ok(), Some(1));
        assert_eq!(s.offline_count(bob).await.ok(), Some(3));
        {
            let seen = seen.lock().unwrap_or_else(|e| panic!("{e}"));
            let big = Some("big".to_owned());
            assert_eq!(
                *seen,
                [None, None, big.clone(), big.clone(), big.clone(), big]
            );
        }
        // The class is read at each store: a change applies to the next message.
        s.set_account_class(alice, Some("big"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(store(alice).await, Ok(OfflineStored::Stored)));
        s.set_account_class(bob, Some("none at all"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(store(bob).await, Ok(OfflineStored::Full)));
        // The fixed-limit store is unchanged, class or not.
        let r = s.store_offline(bob, "<m/>", t0(), &|_| 4).await;
        assert!(matches!(r, Ok(OfflineStored::Stored)), "{r:?}");
        // A missing account: NotFound, and the limit is not asked for.
        let carol = account("carol@example.org");
        let before = seen.lock().unwrap_or_else(|e| panic!("{e}")).len();
        let e = store(&carol).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if *a == carol),
            "{e:?}"
        );
        assert_eq!(seen.lock().unwrap_or_else(|e| panic!("{e}")).len(), before);
        let messages = s
            .offline_messages(alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(messages.len(), 2);
        assert!(messages.iter().all(|m| m.stored_at == t0()));
    }

    pub(crate) async fn concurrent_offline_stores_for_class_respect_the_limit(s: Storage) {
        let alice = accounts(&s, &["alice@example.org"]).await.remove(0);
        s.set_account_class(&alice, Some("big"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (s, alice) = (s.clone(), alice.clone());
            tasks.push(tokio::spawn(async move {
                s.store_offline(
                    &alice,
                    &format!("<m n='{i}'/>"),
                    SystemTime::now(),
                    &class_limit,
                )
                .await
            }));
        }
        let (mut stored, mut full) = (0, 0);
        for t in tasks {
            match t.await.unwrap_or_else(|e| panic!("{e}")) {
                Ok(OfflineStored::Stored) => stored += 1,
                Ok(OfflineStored::Full) => full += 1,
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        assert_eq!((stored, full), (3, 17));
        assert_eq!(s.offline_count(&alice).await.ok(), Some(3));
    }

    pub(crate) async fn registration_races(s: Storage) {
        // Ten registrations of one name at once: one wins, the others are Duplicate.
        let records = Arc::new(credentials("pw", 1));
        let mut tasks = Vec::new();
        for i in 0..10_u8 {
            let (s, records) = (s.clone(), Arc::clone(&records));
            tasks.push(tokio::spawn(async move {
                let from = IpAddr::from([192, 0, 2, i]);
                s.register_account(
                    &account("race@example.org"),
                    &records,
                    None,
                    Some(from),
                    t0(),
                )
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
        // A user deletes their account while someone registers the name: the registration
        // never wins (the account exists until the deletion commits, and the tombstone exists
        // from then on), so the name never has both an account and an active tombstone.
        let until = t0() + Duration::from_secs(3600);
        for round in 0..10 {
            let name = account(&format!("victim{round}@example.org"));
            accounts(&s, &[name.as_str()]).await;
            let deleter = {
                let (s, name) = (s.clone(), name.clone());
                tokio::spawn(
                    async move { s.delete_account_with_tombstone(&name, Some(until)).await },
                )
            };
            let registrar = {
                let (s, name, records) = (s.clone(), name.clone(), Arc::clone(&records));
                tokio::spawn(
                    async move { s.register_account(&name, &records, None, None, t0()).await },
                )
            };
            let deleted = deleter.await.unwrap_or_else(|e| panic!("{e}"));
            let registered = registrar.await.unwrap_or_else(|e| panic!("{e}"));
            assert!(deleted.is_ok(), "round {round}: {deleted:?}");
            assert!(
                matches!(
                    registered,
                    Err(StorageError::Duplicate(_) | StorageError::Tombstoned { .. })
                ),
                "round {round}: {registered:?}"
            );
            assert_eq!(s.account_exists(&name).await.ok(), Some(false));
            assert_eq!(s.tombstone(&name).await.ok(), Some(Some(until)));
        }
    }

    /// The foreign keys of the schema: (table, id) -> (parent table, columns, cascades).
    type ForeignKeys = BTreeMap<(String, i64), (String, BTreeSet<String>, bool)>;

    /// Whether deleting an account reaches `table`'s rows through cascades.
    fn cascades(
        table: &str,
        keys: &ForeignKeys,
        account_key: &BTreeSet<String>,
        depth: usize,
    ) -> bool {
        depth < 8
            && keys.iter().any(|((t, _), (parent, cols, cascade))| {
                t == table
                    && *cascade
                    && cols.is_superset(account_key)
                    && (parent == "accounts" || cascades(parent, keys, account_key, depth + 1))
            })
    }

    /// The tables holding an account's data that do not go with it: those with `domain` and
    /// `localpart` columns and no `ON DELETE CASCADE` foreign key leading to `accounts`
    /// (directly or through such a table), and every foreign key to `accounts` that does not
    /// cascade. Also returns the tables that passed, so the test sees the check ran.
    async fn account_tables_without_cascade(s: &Storage) -> (Vec<String>, Vec<String>) {
        const SQLITE_COLUMNS: &str = "SELECT m.name, c.name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) c WHERE m.type = 'table'";
        const SQLITE_FKS: &str = "SELECT m.name, f.id, f.\"table\", f.\"from\", f.on_delete \
             FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table'";
        const PG_COLUMNS: &str = "SELECT table_name::text, column_name::text \
             FROM information_schema.columns WHERE table_schema = current_schema()";
        const PG_FKS: &str = "SELECT t.relname::text, c.oid::bigint, p.relname::text, \
             a.attname::text, \
             CASE c.confdeltype WHEN 'c' THEN 'CASCADE' ELSE 'OTHER' END \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_class p ON p.oid = c.confrelid \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
             WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace";

        type Fk = (String, i64, String, String, String);
        type Rows<T> = Result<Vec<T>, sqlx::Error>;
        let (columns, fks): (Rows<(String, String)>, Rows<Fk>) = match s {
            Storage::Sqlite(b) => (
                sqlx::query_as(SQLITE_COLUMNS).fetch_all(b.pool()).await,
                sqlx::query_as(SQLITE_FKS).fetch_all(b.pool()).await,
            ),
            Storage::Postgres(b) => (
                sqlx::query_as(PG_COLUMNS).fetch_all(b.pool()).await,
                sqlx::query_as(PG_FKS).fetch_all(b.pool()).await,
            ),
        };
        let columns = columns.unwrap_or_else(|e| panic!("columns: {e}"));
        let fks = fks.unwrap_or_else(|e| panic!("foreign keys: {e}"));

        let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, column) in columns {
            tables.entry(table).or_default().insert(column);
        }
        // One entry per foreign key: (table, id) -> (parent, columns, cascades).
        let mut keys = ForeignKeys::new();
        for (table, id, parent, column, on_delete) in fks {
            let key = keys
                .entry((table, id))
                .or_insert_with(|| (parent, BTreeSet::new(), on_delete == "CASCADE"));
            key.1.insert(column);
        }
        let account_key: BTreeSet<String> = ["domain", "localpart"].map(str::to_owned).into();
        let mut bad = Vec::new();
        let mut good = Vec::new();
        for (table, cols) in &tables {
            if table == "accounts" || table == "tombstones" || !cols.is_superset(&account_key) {
                continue;
            }
            if cascades(table, &keys, &account_key, 0) {
                good.push(table.clone());
            } else {
                bad.push(table.clone());
            }
        }
        for ((table, _), (parent, _, cascade)) in &keys {
            if parent == "accounts" && !cascade && !bad.contains(table) {
                bad.push(table.clone());
            }
        }
        bad.sort();
        (bad, good)
    }

    pub(crate) async fn every_account_table_cascades(s: Storage) {
        let (bad, good) = account_tables_without_cascade(&s).await;
        assert_eq!(
            bad,
            Vec::<String>::new(),
            "tables that outlive their account"
        );
        for table in [
            "archive",
            "archive_prefs",
            "archive_prefs_jids",
            "blocklist",
            "credentials",
            "offline_messages",
            "roster_groups",
            "roster_items",
            "roster_versions",
        ] {
            assert!(
                good.iter().any(|t| t == table),
                "{table} not checked: {good:?}"
            );
        }
        // The check catches a table that forgets the foreign key, or its cascade.
        raw_execute(
            &s,
            "CREATE TABLE forgetful (domain TEXT NOT NULL, localpart TEXT NOT NULL, x TEXT)",
        )
        .await;
        raw_execute(
            &s,
            "CREATE TABLE stubborn (owner_domain TEXT NOT NULL, owner_localpart TEXT NOT NULL, \
             FOREIGN KEY (owner_domain, owner_localpart) REFERENCES accounts (domain, localpart))",
        )
        .await;
        let (bad, _) = account_tables_without_cascade(&s).await;
        assert_eq!(bad, ["forgetful", "stubborn"]);
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
    roster_items_round_trip,
    roster_versions_strictly_increase,
    presence_publishers_are_from_and_both,
    concurrent_roster_writes,
    roster_store_trait,
    offline_messages_in_order_and_limited,
    concurrent_offline_stores_respect_the_limit,
    deleting_an_account_cascades,
    shared_groups_and_members,
    register_account_respects_tombstones,
    tombstones_are_purged,
    accounts_registered_from_an_address,
    account_classes,
    bans_round_trip,
    offline_limit_per_class,
    concurrent_offline_stores_for_class_respect_the_limit,
    registration_races,
    every_account_table_cascades,
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
