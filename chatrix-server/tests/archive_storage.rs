//! Archives (xmpp-mam's `ArchiveStore`) and block lists (xmpp-core's `BlockListStore`) on the
//! server's storage: the same scenarios, and xmpp-mam's conformance suite, on SQLite (a
//! temporary file) and on PostgreSQL (a fresh database per test, created through
//! `CHATRIX_TEST_PG_URL` and dropped afterwards; skipped with a notice when it is unset).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatrix_server::storage::{AccountJid, MAX_ARCHIVE_IDS, Storage, StorageError};
use xmpp_core::blocking::{BlockListStore, MemoryBlockListStore};
use xmpp_core::{BareJid, Element, Jid};
use xmpp_mam::{
    ArchiveStore, ArchivedMessage, Bounds, Cursor, DefaultPolicy, Fetched, Filter, NewEntry, Prefs,
};
use xmpp_sasl::{FixedRng, StoredCredentials};

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
    chatrix_server::testing::with_postgres_storage("archive storage", scenario).await;
}

fn account(s: &str) -> AccountJid {
    AccountJid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn bare(s: &str) -> BareJid {
    BareJid::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn jid(s: &str) -> Jid {
    Jid::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Creates the accounts (archives and block lists belong to accounts).
async fn create_accounts(s: &Storage, accounts: &[&str]) {
    for (seed, a) in (1..).zip(accounts) {
        let credentials = StoredCredentials::generate_all("pw", 4096, &mut FixedRng::new(seed))
            .unwrap_or_else(|e| panic!("{e}"));
        s.create_account(&account(a), &credentials)
            .await
            .unwrap_or_else(|e| panic!("create {a}: {e}"));
    }
}

/// A fixed instant plus `n` seconds and `n` microseconds (the archive keeps microseconds).
fn at(n: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + n) + Duration::from_micros(n)
}

/// One message of `owner`'s archive, with `with`, id `{prefix}{n}`, archived at `at(n)`.
fn message(owner: &BareJid, with: &str, prefix: &str, n: u64) -> ArchivedMessage {
    let with = jid(with);
    let id = format!("{prefix}{n}");
    let stanza = Element::new("message", xmpp_core::ns::JABBER_CLIENT)
        .with_attr("from", with.as_str())
        .with_attr("to", owner.as_str())
        .with_attr("type", "chat")
        .with_child(
            Element::new("body", xmpp_core::ns::JABBER_CLIENT)
                .with_text(format!("hello {n} <&> \u{1f600}")),
        )
        .with_child(
            Element::new("stanza-id", "urn:xmpp:sid:0")
                .with_attr("id", id.as_str())
                .with_attr("by", owner.as_str()),
        )
        .with_child(Element::new("x", "urn:example:unknown").with_attr("keep", "me"));
    ArchivedMessage {
        id,
        with,
        timestamp: at(n),
        stanza,
    }
}

fn entry<'a>(owner: &'a BareJid, m: &'a ArchivedMessage) -> NewEntry<'a> {
    NewEntry {
        owner,
        id: &m.id,
        with: &m.with,
        origin_id: None,
        timestamp: m.timestamp,
        stanza: &m.stanza,
    }
}

async fn append(s: &Storage, owner: &BareJid, messages: &[ArchivedMessage]) {
    for m in messages {
        s.append(&[entry(owner, m)])
            .await
            .unwrap_or_else(|e| panic!("append {}: {e}", m.id));
    }
}

async fn fetch(
    s: &Storage,
    owner: &BareJid,
    filter: &Filter,
    cursor: &Cursor,
    limit: usize,
) -> Fetched {
    s.fetch(owner, filter, cursor, limit)
        .await
        .unwrap_or_else(|e| panic!("fetch {cursor:?} {filter:?}: {e}"))
}

/// The ids a fetch returns, in order.
async fn ids(
    s: &Storage,
    owner: &BareJid,
    filter: &Filter,
    cursor: &Cursor,
    limit: usize,
) -> Vec<String> {
    match fetch(s, owner, filter, cursor, limit).await {
        Fetched::Messages(m) => m.into_iter().map(|m| m.id).collect(),
        Fetched::UnknownId => panic!("UnknownId for {cursor:?} {filter:?}"),
    }
}

fn names(prefix: &str, ns: impl IntoIterator<Item = u64>) -> Vec<String> {
    ns.into_iter().map(|n| format!("{prefix}{n}")).collect()
}

fn after(id: &str) -> Cursor {
    Cursor::After(id.to_owned())
}

fn before(id: &str) -> Cursor {
    Cursor::Before(id.to_owned())
}

/// With whom message `n` of the standard series is: a full JID, the same bare JID, another
/// contact, a domain, in turn.
fn series_with(n: u64) -> &'static str {
    [
        "bob@example.net/phone",
        "bob@example.net",
        "carol@example.com",
        "example.net",
    ][usize::try_from(n % 4).unwrap_or_default()]
}

/// Messages 0..n of `owner` with `series_with`, appended in order.
async fn series(s: &Storage, owner: &BareJid, prefix: &str, n: u64) -> Vec<ArchivedMessage> {
    let messages: Vec<ArchivedMessage> = (0..n)
        .map(|i| message(owner, series_with(i), prefix, i))
        .collect();
    append(s, owner, &messages).await;
    messages
}

/// The scenarios, each a function of a fresh, empty storage.
mod scenarios {
    use super::*;

    pub(crate) async fn messages_come_back_whole_in_archive_order(s: Storage) {
        create_accounts(&s, &["alice@example.org"]).await;
        let alice = bare("alice@example.org");
        let all = Filter::default();
        assert_eq!(
            fetch(&s, &alice, &all, &Cursor::First, 10).await,
            Fetched::Messages(Vec::new())
        );
        let stored = series(&s, &alice, "m", 5).await;
        // Everything that went in comes out: id, with (bare or full), time to the
        // microsecond, and the stanza with its unknown child.
        assert_eq!(
            fetch(&s, &alice, &all, &Cursor::First, 10).await,
            Fetched::Messages(stored.clone())
        );
        let mut newest_first = stored.clone();
        newest_first.reverse();
        assert_eq!(
            fetch(&s, &alice, &all, &Cursor::Last, 10).await,
            Fetched::Messages(newest_first)
        );
        assert_eq!(
            ids(&s, &alice, &all, &Cursor::First, 2).await,
            names("m", [0, 1])
        );
        assert_eq!(
            ids(&s, &alice, &all, &after("m1"), 2).await,
            names("m", [2, 3])
        );
        assert_eq!(
            ids(&s, &alice, &all, &after("m3"), 2).await,
            names("m", [4])
        );
        assert!(ids(&s, &alice, &all, &after("m4"), 2).await.is_empty());
        assert_eq!(
            ids(&s, &alice, &all, &Cursor::Last, 2).await,
            names("m", [4, 3])
        );
        assert_eq!(
            ids(&s, &alice, &all, &before("m3"), 2).await,
            names("m", [2, 1])
        );
        assert_eq!(
            ids(&s, &alice, &all, &before("m1"), 2).await,
            names("m", [0])
        );
        assert!(ids(&s, &alice, &all, &before("m0"), 2).await.is_empty());
        assert!(ids(&s, &alice, &all, &Cursor::First, 0).await.is_empty());
        // Archive order is append order: an earlier time appended later (the server's clock
        // stepped back) comes later, with the time of the message before it, so that times
        // never decrease along the archive.
        let late = message(&alice, "bob@example.net", "late", 0);
        append(&s, &alice, std::slice::from_ref(&late)).await;
        let Fetched::Messages(got) = fetch(&s, &alice, &all, &after("m4"), 5).await else {
            panic!("UnknownId");
        };
        assert_eq!(
            got,
            [ArchivedMessage {
                timestamp: at(4),
                ..late
            }]
        );
        let from_4 = Filter {
            start: Some(at(4)),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &from_4, &Cursor::First, 5).await,
            ["m4".to_owned(), "late0".to_owned()]
        );
        let to_3 = Filter {
            end: Some(at(3)),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &to_3, &Cursor::Last, 1).await,
            names("m", [3])
        );
    }

    pub(crate) async fn with_filters_bare_full_and_domain(s: Storage) {
        create_accounts(&s, &["alice@example.org"]).await;
        let alice = bare("alice@example.org");
        series(&s, &alice, "m", 8).await;
        let with = |w: &str| Filter {
            with: Some(jid(w)),
            ..Filter::default()
        };
        // Bare: any resource, and the bare JID itself.
        assert_eq!(
            ids(&s, &alice, &with("bob@example.net"), &Cursor::First, 10).await,
            names("m", [0, 1, 4, 5])
        );
        // Normalised like the stored JIDs.
        assert_eq!(
            ids(&s, &alice, &with("BOB@Example.NET"), &Cursor::First, 10).await,
            names("m", [0, 1, 4, 5])
        );
        // Full: only that full JID.
        assert_eq!(
            ids(
                &s,
                &alice,
                &with("bob@example.net/phone"),
                &Cursor::First,
                10
            )
            .await,
            names("m", [0, 4])
        );
        assert!(
            ids(
                &s,
                &alice,
                &with("bob@example.net/tablet"),
                &Cursor::First,
                10
            )
            .await
            .is_empty()
        );
        // A domain: messages with the domain itself, not with its users.
        assert_eq!(
            ids(&s, &alice, &with("example.net"), &Cursor::First, 10).await,
            names("m", [3, 7])
        );
        // Pages of a filtered archive, both ways, from cursors the filter excludes too.
        let bob = with("bob@example.net");
        assert_eq!(
            ids(&s, &alice, &bob, &after("m2"), 1).await,
            names("m", [4])
        );
        assert_eq!(
            ids(&s, &alice, &bob, &Cursor::Last, 3).await,
            names("m", [5, 4, 1])
        );
        assert_eq!(
            ids(&s, &alice, &bob, &before("m4"), 3).await,
            names("m", [1, 0])
        );
        // The message's `with` comes back as stored: full or bare.
        let Fetched::Messages(found) = fetch(&s, &alice, &bob, &Cursor::First, 2).await else {
            panic!("UnknownId");
        };
        assert_eq!(
            found.iter().map(|m| m.with.clone()).collect::<Vec<_>>(),
            [jid("bob@example.net/phone"), jid("bob@example.net")]
        );
    }

    pub(crate) async fn time_and_id_filters(s: Storage) {
        create_accounts(&s, &["alice@example.org"]).await;
        let alice = bare("alice@example.org");
        series(&s, &alice, "m", 10).await;
        let time = |start: Option<SystemTime>, end: Option<SystemTime>| Filter {
            start,
            end,
            ..Filter::default()
        };
        // Inclusive at both ends, to the microsecond.
        assert_eq!(
            ids(
                &s,
                &alice,
                &time(Some(at(3)), Some(at(6))),
                &Cursor::First,
                10
            )
            .await,
            names("m", 3..=6)
        );
        let just_after = |n| at(n) + Duration::from_nanos(1);
        assert_eq!(
            ids(
                &s,
                &alice,
                &time(Some(just_after(3)), Some(just_after(6))),
                &Cursor::First,
                10
            )
            .await,
            names("m", 4..=6)
        );
        let just_before = |n| at(n) - Duration::from_micros(1);
        assert_eq!(
            ids(
                &s,
                &alice,
                &time(Some(just_before(3)), Some(just_before(6))),
                &Cursor::First,
                10
            )
            .await,
            names("m", 3..=5)
        );
        assert_eq!(
            ids(&s, &alice, &time(Some(at(8)), None), &Cursor::Last, 10).await,
            names("m", [9, 8])
        );
        assert_eq!(
            ids(&s, &alice, &time(None, Some(at(1))), &Cursor::First, 10).await,
            names("m", [0, 1])
        );
        // after-id / before-id are exclusive, combine with cursors and other filters.
        let range = Filter {
            after_id: Some("m2".to_owned()),
            before_id: Some("m7".to_owned()),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &range, &Cursor::First, 10).await,
            names("m", 3..7)
        );
        assert_eq!(
            ids(&s, &alice, &range, &Cursor::Last, 2).await,
            names("m", [6, 5])
        );
        assert_eq!(
            ids(&s, &alice, &range, &after("m4"), 10).await,
            names("m", [5, 6])
        );
        assert_eq!(
            ids(&s, &alice, &range, &before("m4"), 10).await,
            names("m", [3])
        );
        assert!(ids(&s, &alice, &range, &after("m8"), 10).await.is_empty());
        let range_bob = Filter {
            with: Some(jid("bob@example.net")),
            ..range.clone()
        };
        assert_eq!(
            ids(&s, &alice, &range_bob, &Cursor::First, 10).await,
            names("m", [4, 5])
        );
        // ids: in archive order, however listed; with every other condition.
        let listed = Filter {
            ids: names("m", [8, 1, 5]),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &listed, &Cursor::First, 10).await,
            names("m", [1, 5, 8])
        );
        assert_eq!(
            ids(&s, &alice, &listed, &Cursor::Last, 2).await,
            names("m", [8, 5])
        );
        assert_eq!(
            ids(&s, &alice, &listed, &after("m1"), 10).await,
            names("m", [5, 8])
        );
        let listed_in_range = Filter {
            ids: names("m", [8, 1, 5, 6]),
            start: Some(at(2)),
            with: Some(jid("bob@example.net")),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &listed_in_range, &Cursor::First, 10).await,
            names("m", [5, 8])
        );
        // As many ids as allowed run; one more is refused.
        let many = Filter {
            ids: names("m", 0..10)
                .into_iter()
                .cycle()
                .take(MAX_ARCHIVE_IDS)
                .collect(),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &many, &Cursor::First, 20).await,
            names("m", 0..10)
        );
        let too_many = Filter {
            ids: names("m", 0..10)
                .into_iter()
                .cycle()
                .take(MAX_ARCHIVE_IDS + 1)
                .collect(),
            ..Filter::default()
        };
        let e = s.fetch(&alice, &too_many, &Cursor::First, 20).await;
        assert!(
            matches!(e, Err(StorageError::InvalidArchiveQuery(_))),
            "{e:?}"
        );
    }

    pub(crate) async fn unknown_ids_are_unknown_id(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        let all = Filter::default();
        assert_eq!(
            fetch(&s, &alice, &all, &after("nope"), 10).await,
            Fetched::UnknownId
        );
        series(&s, &alice, "m", 3).await;
        series(&s, &bob, "b", 3).await;
        for cursor in [after("nope"), before("nope"), after("b1"), before("b1")] {
            assert_eq!(
                fetch(&s, &alice, &all, &cursor, 10).await,
                Fetched::UnknownId,
                "{cursor:?}"
            );
        }
        for filter in [
            Filter {
                after_id: Some("nope".to_owned()),
                ..Filter::default()
            },
            Filter {
                before_id: Some("b0".to_owned()),
                ..Filter::default()
            },
            Filter {
                ids: vec!["m1".to_owned(), "nope".to_owned()],
                ..Filter::default()
            },
        ] {
            for cursor in [Cursor::First, Cursor::Last, after("m0")] {
                assert_eq!(
                    fetch(&s, &alice, &filter, &cursor, 10).await,
                    Fetched::UnknownId,
                    "{filter:?} {cursor:?}"
                );
            }
        }
        // Known ids the filter excludes are positions, not unknown.
        let carol_only = Filter {
            with: Some(jid("carol@example.com")),
            after_id: Some("m0".to_owned()),
            ..Filter::default()
        };
        assert_eq!(
            ids(&s, &alice, &carol_only, &after("m1"), 10).await,
            names("m", [2])
        );
        // Not an account: an error, not an empty archive.
        let e = s
            .fetch(&bare("example.org"), &all, &Cursor::First, 10)
            .await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
    }

    pub(crate) async fn append_is_atomic_and_checked(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        let to_bob = message(&alice, "bob@example.org", "x", 1);
        let from_alice = message(&bob, "alice@example.org", "y", 1);
        // Both parties' copies in one call.
        s.append(&[entry(&alice, &to_bob), entry(&bob, &from_alice)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ids(&s, &alice, &Filter::default(), &Cursor::First, 10).await,
            ["x1".to_owned()]
        );
        assert_eq!(
            ids(&s, &bob, &Filter::default(), &Cursor::First, 10).await,
            ["y1".to_owned()]
        );
        // An id twice in one append: nothing of it is stored, in either archive.
        let a2 = message(&alice, "bob@example.org", "x", 2);
        let b2 = message(&bob, "alice@example.org", "y", 2);
        let e = s
            .append(&[entry(&alice, &a2), entry(&bob, &b2), entry(&bob, &b2)])
            .await;
        assert!(
            matches!(&e, Err(StorageError::DuplicateArchiveId { owner, id })
                if owner.as_bare() == &bob && id == "y2"),
            "{e:?}"
        );
        // An id already archived.
        let e = s.append(&[entry(&bob, &b2), entry(&alice, &to_bob)]).await;
        assert!(
            matches!(&e, Err(StorageError::DuplicateArchiveId { id, .. }) if id == "x1"),
            "{e:?}"
        );
        // The same id in another archive is another message.
        let same_id = message(&bob, "alice@example.org", "x", 1);
        // An owner that is not an account, and an account that does not exist.
        let e = s
            .append(&[entry(&bob, &same_id), entry(&bare("example.org"), &a2)])
            .await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
        let ghost = bare("ghost@example.org");
        let e = s.append(&[entry(&bob, &same_id), entry(&ghost, &a2)]).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if a.as_bare() == &ghost),
            "{e:?}"
        );
        for (owner, id) in [(&alice, "x1"), (&bob, "y1")] {
            assert_eq!(
                ids(&s, owner, &Filter::default(), &Cursor::First, 10).await,
                [id.to_owned()],
                "{owner}"
            );
        }
        s.append(&[entry(&bob, &same_id)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ids(&s, &bob, &Filter::default(), &Cursor::First, 10).await,
            ["y1".to_owned(), "x1".to_owned()]
        );
        // Nothing to append is nothing done.
        s.append(&[]).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// One append the size of a large group commit: more rows than one statement writes
    /// (`ROWS_PER_INSERT`, 32), for three owners interleaved, with times that step back
    /// within the append. Each archive gets its rows in append order, with times that never
    /// decrease; and one bad row in such an append stores nothing of it.
    pub(crate) async fn a_large_group_append_keeps_order_and_times(s: Storage) {
        let names = ["alice@example.org", "bob@example.org", "carol@example.org"];
        create_accounts(&s, &names).await;
        let owners: Vec<BareJid> = names.iter().map(|n| bare(n)).collect();
        // Row i goes to owner i % 3, at a time that steps back every fourth row (to before
        // the owner's previous row).
        let messages: Vec<ArchivedMessage> = (0..100_u64)
            .map(|i| {
                let n = if i % 4 == 3 { i.saturating_sub(5) } else { i };
                ArchivedMessage {
                    id: format!("g{i}"),
                    ..message(&owners[(i % 3) as usize], "dave@example.net", "g", n)
                }
            })
            .collect();
        let entries: Vec<NewEntry<'_>> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| entry(&owners[i % 3], m))
            .collect();
        s.append(&entries).await.unwrap_or_else(|e| panic!("{e}"));
        for (k, owner) in owners.iter().enumerate() {
            let Fetched::Messages(got) =
                fetch(&s, owner, &Filter::default(), &Cursor::First, 100).await
            else {
                panic!("UnknownId");
            };
            let expected: Vec<String> = (0..100)
                .filter(|i| i % 3 == k)
                .map(|i| format!("g{i}"))
                .collect();
            assert_eq!(
                got.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
                expected,
                "{owner}"
            );
            for pair in got.windows(2) {
                assert!(pair[0].timestamp <= pair[1].timestamp, "{owner}: {pair:?}");
            }
            // A row whose own time was not stepped back keeps it exactly.
            let first = &got[0];
            assert_eq!(first.timestamp, at(k as u64), "{owner}");
        }
        // Seventy new rows, the last one for an account that does not exist.
        let more: Vec<ArchivedMessage> = (0..70_u64)
            .map(|i| message(&owners[0], "dave@example.net", "h", 200 + i))
            .collect();
        let ghost = bare("ghost@example.org");
        let mut entries: Vec<NewEntry<'_>> = more.iter().map(|m| entry(&owners[0], m)).collect();
        if let Some(last) = entries.last_mut() {
            last.owner = &ghost;
        }
        let e = s.append(&entries).await;
        assert!(
            matches!(&e, Err(StorageError::NotFound(a)) if a.as_bare() == &ghost),
            "{e:?}"
        );
        assert!(
            ids(&s, &owners[0], &Filter::default(), &after("g99"), 100)
                .await
                .is_empty(),
            "nothing of the failed append is stored"
        );
    }

    /// With the storage closed (the database gone), every archive operation is an error, an
    /// append of one message as much as one of several statements' worth.
    pub(crate) async fn an_outage_is_an_error(s: Storage) {
        create_accounts(&s, &["alice@example.org"]).await;
        let alice = bare("alice@example.org");
        let one = message(&alice, "bob@example.org", "o", 1);
        let many: Vec<ArchivedMessage> = (0..100)
            .map(|n| message(&alice, "bob@example.org", "p", n))
            .collect();
        s.close().await;
        let backend = |r: Result<(), StorageError>| {
            assert!(matches!(r, Err(StorageError::Backend(_))), "{r:?}");
        };
        backend(s.append(&[entry(&alice, &one)]).await);
        let entries: Vec<NewEntry<'_>> = many.iter().map(|m| entry(&alice, m)).collect();
        backend(s.append(&entries).await);
        let all = Filter::default();
        backend(s.fetch(&alice, &all, &Cursor::First, 10).await.map(drop));
        backend(s.fetch(&alice, &all, &after("o1"), 10).await.map(drop));
        backend(s.bounds(&alice).await.map(drop));
        backend(s.prefs(&alice).await.map(drop));
        backend(s.set_prefs(&alice, &Prefs::default()).await);
        backend(s.remove_older_than(at(5)).await.map(drop));
        backend(s.trim(&alice, 1).await.map(drop));
        backend(s.owners_over(1).await.map(drop));
    }

    pub(crate) async fn concurrent_appends_in_both_directions(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        // Copies for both parties in opposite orders at once: the owners are locked in one
        // order, so no append waits for another in a cycle (PostgreSQL would abort one).
        let mut tasks = Vec::new();
        for n in 0..40_u64 {
            let (s, alice, bob) = (s.clone(), alice.clone(), bob.clone());
            tasks.push(tokio::spawn(async move {
                let a = message(&alice, "bob@example.org", "a", n);
                let b = message(&bob, "alice@example.org", "b", n);
                let pair = if n % 2 == 0 {
                    [entry(&alice, &a), entry(&bob, &b)]
                } else {
                    [entry(&bob, &b), entry(&alice, &a)]
                };
                s.append(&pair).await
            }));
        }
        for task in tasks {
            task.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("append: {e}"));
        }
        for owner in [&alice, &bob] {
            let got = ids(&s, owner, &Filter::default(), &Cursor::First, 100).await;
            assert_eq!(got.len(), 40, "{owner}");
        }
    }

    pub(crate) async fn bounds_of_an_archive(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        assert_eq!(
            s.bounds(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            None
        );
        series(&s, &alice, "m", 1).await;
        let one = Some(Bounds {
            first: ("m0".to_owned(), at(0)),
            last: ("m0".to_owned(), at(0)),
        });
        assert_eq!(
            s.bounds(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            one
        );
        series(&s, &bob, "b", 9).await;
        append(&s, &alice, &[message(&alice, "a@b.c", "m", 3)]).await;
        append(&s, &alice, &[message(&alice, "a@b.c", "m", 2)]).await;
        assert_eq!(
            s.bounds(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            Some(Bounds {
                first: ("m0".to_owned(), at(0)),
                // The last appended, with the time of the one before (never earlier).
                last: ("m2".to_owned(), at(3)),
            })
        );
        assert_eq!(
            s.bounds(&bob).await.unwrap_or_else(|e| panic!("{e}")),
            Some(Bounds {
                first: ("b0".to_owned(), at(0)),
                last: ("b8".to_owned(), at(8)),
            })
        );
    }

    pub(crate) async fn archive_prefs_round_trip(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        assert_eq!(
            s.prefs(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            None
        );
        let first = Prefs {
            default: DefaultPolicy::Roster,
            always: vec![jid("romeo@montague.lit"), jid("nurse@capulet.lit/kitchen")],
            never: vec![jid("capulet.lit"), jid("tybalt@capulet.lit")],
        };
        s.set_prefs(&alice, &first)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.prefs(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            Some(first.clone())
        );
        assert_eq!(s.prefs(&bob).await.unwrap_or_else(|e| panic!("{e}")), None);
        let second = Prefs {
            default: DefaultPolicy::Never,
            always: vec![jid("nurse@capulet.lit/kitchen")],
            never: Vec::new(),
        };
        s.set_prefs(&alice, &second)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.prefs(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            Some(second)
        );
        let e = s.set_prefs(&bare("ghost@example.org"), &first).await;
        assert!(matches!(e, Err(StorageError::NotFound(_))), "{e:?}");
        let e = s.set_prefs(&bare("example.org"), &first).await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
        assert_eq!(
            s.prefs(&bare("ghost@example.org"))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            None
        );
    }

    pub(crate) async fn retention(s: Storage) {
        create_accounts(
            &s,
            &["alice@example.org", "bob@example.org", "carol@example.net"],
        )
        .await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        let carol = bare("carol@example.net");
        series(&s, &alice, "a", 6).await;
        series(&s, &bob, "b", 3).await;
        series(&s, &carol, "c", 10).await;
        let over = |keep| {
            let s = s.clone();
            async move { s.owners_over(keep).await.unwrap_or_else(|e| panic!("{e}")) }
        };
        assert_eq!(over(2).await, [alice.clone(), bob.clone(), carol.clone()]);
        assert_eq!(over(3).await, [alice.clone(), carol.clone()]);
        assert_eq!(over(6).await, std::slice::from_ref(&carol));
        assert!(over(10).await.is_empty());
        assert!(over(u64::MAX).await.is_empty());

        // Strictly older than the instant, in every archive.
        let removed = s
            .remove_older_than(at(2))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(removed, 6);
        let removed = s
            .remove_older_than(at(2) + Duration::from_nanos(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(removed, 3);
        assert_eq!(
            ids(&s, &alice, &Filter::default(), &Cursor::First, 10).await,
            names("a", 3..6)
        );

        // Trim keeps the newest.
        assert_eq!(
            s.trim(&carol, 10).await.unwrap_or_else(|e| panic!("{e}")),
            0
        );
        assert_eq!(s.trim(&carol, 4).await.unwrap_or_else(|e| panic!("{e}")), 3);
        assert_eq!(
            ids(&s, &carol, &Filter::default(), &Cursor::First, 10).await,
            names("c", 6..10)
        );
        assert_eq!(s.trim(&carol, 4).await.unwrap_or_else(|e| panic!("{e}")), 0);
        assert_eq!(
            s.trim(&carol, u64::MAX)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            0
        );
        assert_eq!(s.trim(&alice, 0).await.unwrap_or_else(|e| panic!("{e}")), 3);
        assert_eq!(
            s.bounds(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            None
        );
        assert_eq!(
            ids(&s, &carol, &Filter::default(), &Cursor::First, 10).await,
            names("c", 6..10),
            "another owner's trim leaves this archive alone"
        );
        assert_eq!(over(0).await, std::slice::from_ref(&carol));
        let e = s.trim(&bare("example.org"), 1).await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
    }

    pub(crate) async fn deleting_the_account_deletes_its_archive_and_list(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        series(&s, &alice, "a", 3).await;
        series(&s, &bob, "b", 2).await;
        let prefs = Prefs {
            default: DefaultPolicy::Roster,
            always: vec![jid("bob@example.org")],
            never: vec![jid("example.net")],
        };
        s.set_prefs(&alice, &prefs)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.set_prefs(&bob, &prefs)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.block(&alice, &[jid("spam@example.net")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.block(&bob, &[jid("spam@example.net")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.delete_account(&account("alice@example.org"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Made again under the same name: nothing of the old account is there.
        create_accounts(&s, &["alice@example.org"]).await;
        assert_eq!(
            s.bounds(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            None
        );
        assert_eq!(
            s.prefs(&alice).await.unwrap_or_else(|e| panic!("{e}")),
            None
        );
        assert!(
            s.blocklist(&alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );
        // The old ids are free again, and bob's data stayed.
        series(&s, &alice, "a", 1).await;
        assert_eq!(
            ids(&s, &bob, &Filter::default(), &Cursor::First, 10).await,
            names("b", 0..2)
        );
        assert_eq!(
            s.prefs(&bob).await.unwrap_or_else(|e| panic!("{e}")),
            Some(prefs)
        );
        assert_eq!(
            s.blocklist(&bob).await.unwrap_or_else(|e| panic!("{e}")),
            [jid("spam@example.net")]
        );
    }

    pub(crate) async fn block_lists(s: Storage) {
        create_accounts(&s, &["alice@example.org", "bob@example.org"]).await;
        let alice = bare("alice@example.org");
        let bob = bare("bob@example.org");
        let list = |owner: &BareJid| {
            let (s, owner) = (s.clone(), owner.clone());
            async move { s.blocklist(&owner).await.unwrap_or_else(|e| panic!("{e}")) }
        };
        assert!(list(&alice).await.is_empty());
        s.block(
            &alice,
            &[jid("z@example.net"), jid("example.com"), jid("a@x.org/res")],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // Once each, in the order blocked, normalised; a JID already there keeps its place.
        s.block(
            &alice,
            &[jid("Z@Example.NET"), jid("m@x.org"), jid("m@x.org")],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            list(&alice).await,
            [
                jid("z@example.net"),
                jid("example.com"),
                jid("a@x.org/res"),
                jid("m@x.org")
            ]
        );
        assert!(list(&bob).await.is_empty(), "lists are per owner");
        s.unblock(
            &alice,
            &[jid("example.com"), jid("never@blocked.org"), jid("a@x.org")],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            list(&alice).await,
            [jid("z@example.net"), jid("a@x.org/res"), jid("m@x.org")],
            "unblocking a bare JID leaves its full JID"
        );
        // Blocked again: at the end now.
        s.block(&alice, &[jid("example.com")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.block(&bob, &[jid("example.com")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            list(&alice).await,
            [
                jid("z@example.net"),
                jid("a@x.org/res"),
                jid("m@x.org"),
                jid("example.com")
            ]
        );
        s.unblock_all(&alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(list(&alice).await.is_empty());
        assert_eq!(list(&bob).await, [jid("example.com")]);
        s.unblock_all(&alice)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // No account, not an account.
        let e = s.block(&bare("ghost@example.org"), &[jid("x@y.z")]).await;
        assert!(matches!(e, Err(StorageError::NotFound(_))), "{e:?}");
        let e = s.blocklist(&bare("example.org")).await;
        assert!(matches!(e, Err(StorageError::NotAnAccount(_))), "{e:?}");
    }

    /// The same operations on the storage and on xmpp-core's in-memory store give the same
    /// lists after every step.
    pub(crate) async fn block_lists_agree_with_the_memory_store(s: Storage) {
        create_accounts(&s, &["alice@example.org"]).await;
        let alice = bare("alice@example.org");
        let memory = MemoryBlockListStore::default();
        let pool = [
            "a@x.org",
            "a@x.org/r",
            "x.org",
            "b@y.org",
            "y.org/r",
            "c@z.org",
        ]
        .map(jid);
        // A fixed pseudo-random walk (a linear congruential generator).
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).unwrap_or_default() % n
        };
        for step in 0..120 {
            let jids: Vec<Jid> = (0..next(4))
                .map(|_| pool[next(pool.len())].clone())
                .collect();
            match next(10) {
                0..=4 => {
                    s.block(&alice, &jids)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    memory
                        .block(&alice, &jids)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                5..=8 => {
                    s.unblock(&alice, &jids)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    memory
                        .unblock(&alice, &jids)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                _ => {
                    s.unblock_all(&alice)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    memory
                        .unblock_all(&alice)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
            assert_eq!(
                s.blocklist(&alice).await.unwrap_or_else(|e| panic!("{e}")),
                memory
                    .blocklist(&alice)
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                "step {step}"
            );
        }
    }
}

/// xmpp-mam's conformance suite, one property per test, on a storage whose three owners
/// exist as accounts.
mod conformance {
    use xmpp_mam::conformance::Owners;

    use super::*;

    pub(crate) async fn fresh(s: &Storage) -> Owners {
        let owners = Owners::example();
        create_accounts(
            s,
            &[
                owners.alice.as_str(),
                owners.bob.as_str(),
                owners.carol.as_str(),
            ],
        )
        .await;
        owners
    }
}

/// Generates one test per scenario and backend, and one per conformance property and backend.
macro_rules! tests {
    (scenarios: $($name:ident),* $(,)?; conformance: $($property:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_sqlite(super::scenarios::$name).await;
                }
            )*
            $(
                #[tokio::test]
                async fn $property() {
                    super::with_sqlite(|s| async move {
                        let owners = super::conformance::fresh(&s).await;
                        xmpp_mam::conformance::$property(&s, &owners).await;
                    })
                    .await;
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
            $(
                #[tokio::test]
                async fn $property() {
                    super::with_postgres(|s| async move {
                        let owners = super::conformance::fresh(&s).await;
                        xmpp_mam::conformance::$property(&s, &owners).await;
                    })
                    .await;
                }
            )*
        }
    };
}

tests!(
    scenarios:
    messages_come_back_whole_in_archive_order,
    with_filters_bare_full_and_domain,
    time_and_id_filters,
    unknown_ids_are_unknown_id,
    append_is_atomic_and_checked,
    a_large_group_append_keeps_order_and_times,
    an_outage_is_an_error,
    concurrent_appends_in_both_directions,
    bounds_of_an_archive,
    archive_prefs_round_trip,
    retention,
    deleting_the_account_deletes_its_archive_and_list,
    block_lists,
    block_lists_agree_with_the_memory_store;
    conformance:
    append_then_fetch,
    cursors,
    archives_are_separate,
    filter_with,
    filter_time,
    filter_ids,
    unknown_ids,
    bounds,
    prefs_round_trip,
    remove_older_than,
    trim,
    owners_over,
    append_is_atomic,
);
