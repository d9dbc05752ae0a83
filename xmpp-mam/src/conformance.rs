//! The conformance suite for [`ArchiveStore`] implementations (feature `conformance`).
//!
//! Each property is an `async fn` that takes an **empty** store and three owners, does its
//! work through the trait only, and panics with a message naming the property and what
//! differed when the store breaks the contract. [`run_all`] runs them all, each on a fresh
//! store from a factory. The in-memory store runs this suite in this crate's tests; a
//! database backend runs it from its own tests, once per backend:
//!
//! ```text
//! // In chatrix-server's tests, with a tokio runtime and the `conformance` feature:
//! #[tokio::test]
//! async fn sqlite_archive_conforms() {
//!     xmpp_mam::conformance::run_all(async || {
//!         let store = SqliteArchive::open_in_memory().await.unwrap();
//!         let owners = xmpp_mam::conformance::Owners::example();
//!         // create the three accounts here if the schema has foreign keys to accounts
//!         (store, owners)
//!     })
//!     .await;
//! }
//!
//! // Or one test per property, for sharper failure reports:
//! #[tokio::test]
//! async fn sqlite_archive_cursors() {
//!     let (store, owners) = fresh().await;
//!     xmpp_mam::conformance::cursors(&store, &owners).await;
//! }
//! ```
//!
//! What the suite assumes of a backend besides the trait's documentation: timestamps with
//! whole milliseconds come back exactly (the suite uses nothing finer), and a stored stanza
//! comes back equal as an [`Element`] (names, namespaces, attributes, text; prefixes and
//! attribute order do not count).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xmpp_core::{BareJid, Element, Jid};

use crate::prefs::{DefaultPolicy, Prefs};
use crate::store::{ArchiveStore, ArchivedMessage, Bounds, Cursor, Fetched, Filter, NewEntry};

/// The owners a property writes to. A backend whose archives belong to accounts creates
/// these three before handing the store over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners {
    /// The owner most properties use.
    pub alice: BareJid,
    /// A second owner, for separation between archives.
    pub bob: BareJid,
    /// A third owner, for retention across archives.
    pub carol: BareJid,
}

impl Owners {
    /// `alice@example.org`, `bob@example.org` and `carol@example.net`.
    pub fn example() -> Self {
        let bare = |s: &str| BareJid::new(s).expect("a constant JID is valid");
        Self {
            alice: bare("alice@example.org"),
            bob: bare("bob@example.org"),
            carol: bare("carol@example.net"),
        }
    }
}

/// Runs every property, each on a fresh store and owners from `fresh`.
pub async fn run_all<S: ArchiveStore>(mut fresh: impl AsyncFnMut() -> (S, Owners)) {
    let (s, o) = fresh().await;
    append_then_fetch(&s, &o).await;
    let (s, o) = fresh().await;
    cursors(&s, &o).await;
    let (s, o) = fresh().await;
    archives_are_separate(&s, &o).await;
    let (s, o) = fresh().await;
    filter_with(&s, &o).await;
    let (s, o) = fresh().await;
    filter_time(&s, &o).await;
    let (s, o) = fresh().await;
    filter_ids(&s, &o).await;
    let (s, o) = fresh().await;
    unknown_ids(&s, &o).await;
    let (s, o) = fresh().await;
    bounds(&s, &o).await;
    let (s, o) = fresh().await;
    prefs_round_trip(&s, &o).await;
    let (s, o) = fresh().await;
    remove_older_than(&s, &o).await;
    let (s, o) = fresh().await;
    trim(&s, &o).await;
    let (s, o) = fresh().await;
    owners_over(&s, &o).await;
    let (s, o) = fresh().await;
    append_is_atomic(&s, &o).await;
}

// --- helpers ---------------------------------------------------------------------------------

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("a constant JID is valid")
}

/// A fixed instant, plus `n` seconds and `n` × 7 milliseconds (whole milliseconds).
fn at(n: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + n) + Duration::from_millis((n * 7) % 1000)
}

/// The message to store: a chat with a body, `from` and `to` stamped, and its stanza-id.
fn stanza(owner: &BareJid, with: &Jid, id: &str, n: u64) -> Element {
    Element::new("message", xmpp_core::ns::JABBER_CLIENT)
        .with_attr("from", with.as_str())
        .with_attr("to", owner.as_str())
        .with_attr("type", "chat")
        .with_attr("id", format!("m{n}"))
        .with_child(
            Element::new("body", xmpp_core::ns::JABBER_CLIENT)
                .with_text(format!("message {n} <&>")),
        )
        .with_child(
            Element::new("stanza-id", crate::ns::SID)
                .with_attr("id", id)
                .with_attr("by", owner.as_str()),
        )
}

fn message(owner: &BareJid, with: &str, id: &str, n: u64) -> ArchivedMessage {
    let with = jid(with);
    ArchivedMessage {
        id: id.to_owned(),
        stanza: stanza(owner, &with, id, n),
        with,
        timestamp: at(n),
    }
}

async fn append_all<S: ArchiveStore>(store: &S, owner: &BareJid, messages: &[ArchivedMessage]) {
    for m in messages {
        let entry = NewEntry {
            owner,
            id: &m.id,
            with: &m.with,
            origin_id: None,
            timestamp: m.timestamp,
            stanza: &m.stanza,
        };
        store
            .append(&[entry])
            .await
            .unwrap_or_else(|e| panic!("append of {} to {owner} failed: {e}", m.id));
    }
}

/// Messages 0..n with alternating contacts, ids `{prefix}{i}`.
fn series(owner: &BareJid, prefix: &str, n: u64) -> Vec<ArchivedMessage> {
    (0..n)
        .map(|i| {
            let with = if i % 2 == 0 {
                "romeo@montague.lit/orchard"
            } else {
                "nurse@capulet.lit"
            };
            message(owner, with, &format!("{prefix}{i}"), i)
        })
        .collect()
}

async fn fetch<S: ArchiveStore>(
    store: &S,
    owner: &BareJid,
    filter: &Filter,
    cursor: &Cursor,
    limit: usize,
) -> Fetched {
    store
        .fetch(owner, filter, cursor, limit)
        .await
        .unwrap_or_else(|e| panic!("fetch {cursor:?} {filter:?} failed: {e}"))
}

/// The ids a fetch returned, in the order returned; panics on `UnknownId`.
async fn ids<S: ArchiveStore>(
    store: &S,
    owner: &BareJid,
    filter: &Filter,
    cursor: &Cursor,
    limit: usize,
    property: &str,
) -> Vec<String> {
    match fetch(store, owner, filter, cursor, limit).await {
        Fetched::Messages(m) => m.into_iter().map(|m| m.id).collect(),
        Fetched::UnknownId => {
            panic!("{property}: fetch {cursor:?} limit {limit} {filter:?} gave UnknownId")
        }
    }
}

fn names(range: impl IntoIterator<Item = u64>, prefix: &str) -> Vec<String> {
    range.into_iter().map(|i| format!("{prefix}{i}")).collect()
}

fn entry<'a>(owner: &'a BareJid, m: &'a ArchivedMessage) -> NewEntry<'a> {
    NewEntry {
        owner,
        id: &m.id,
        with: &m.with,
        origin_id: Some("origin-1"),
        timestamp: m.timestamp,
        stanza: &m.stanza,
    }
}

// --- properties ------------------------------------------------------------------------------

/// Appended messages come back whole (id, with, timestamp, stanza), oldest first from
/// [`Cursor::First`] and newest first from [`Cursor::Last`], at most `limit` of them.
pub async fn append_then_fetch<S: ArchiveStore>(store: &S, owners: &Owners) {
    let owner = &owners.alice;
    let all = Filter::default();
    assert_eq!(
        fetch(store, owner, &all, &Cursor::First, 10).await,
        Fetched::Messages(Vec::new()),
        "append_then_fetch: an empty archive fetches nothing"
    );
    let messages = series(owner, "a", 5);
    append_all(store, owner, &messages).await;
    assert_eq!(
        fetch(store, owner, &all, &Cursor::First, 10).await,
        Fetched::Messages(messages.clone()),
        "append_then_fetch: First returns every message whole, oldest first"
    );
    let mut newest_first = messages.clone();
    newest_first.reverse();
    assert_eq!(
        fetch(store, owner, &all, &Cursor::Last, 10).await,
        Fetched::Messages(newest_first),
        "append_then_fetch: Last returns every message whole, newest first"
    );
    let p = "append_then_fetch";
    assert_eq!(
        ids(store, owner, &all, &Cursor::First, 2, p).await,
        names(0..2, "a"),
        "{p}: First, limit 2"
    );
    assert_eq!(
        ids(store, owner, &all, &Cursor::Last, 2, p).await,
        names([4, 3], "a"),
        "{p}: Last, limit 2"
    );
    assert_eq!(
        ids(store, owner, &all, &Cursor::First, 5, p).await,
        names(0..5, "a"),
        "{p}: First, limit = size"
    );
}

/// `After(id)` continues forwards just after `id`, `Before(id)` backwards just before it,
/// both exclusive; walking a long archive page by page with either visits every message once.
pub async fn cursors<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "cursors";
    let owner = &owners.alice;
    let all = Filter::default();
    append_all(store, owner, &series(owner, "c", 5)).await;
    let after = |id: &str| Cursor::After(id.to_owned());
    let before = |id: &str| Cursor::Before(id.to_owned());
    assert_eq!(
        ids(store, owner, &all, &after("c2"), 10, p).await,
        names(3..5, "c"),
        "{p}: After(c2)"
    );
    assert_eq!(
        ids(store, owner, &all, &before("c2"), 10, p).await,
        names([1, 0], "c"),
        "{p}: Before(c2)"
    );
    assert_eq!(
        ids(store, owner, &all, &after("c0"), 1, p).await,
        names([1], "c"),
        "{p}: After(c0), limit 1"
    );
    assert_eq!(
        ids(store, owner, &all, &before("c4"), 1, p).await,
        names([3], "c"),
        "{p}: Before(c4), limit 1"
    );
    assert!(
        ids(store, owner, &all, &after("c4"), 10, p)
            .await
            .is_empty(),
        "{p}: nothing after the newest"
    );
    assert!(
        ids(store, owner, &all, &before("c0"), 10, p)
            .await
            .is_empty(),
        "{p}: nothing before the oldest"
    );

    // A longer archive, walked both ways in pages of 7.
    let long = &owners.bob;
    append_all(store, long, &series(long, "l", 100)).await;
    let mut seen = Vec::new();
    let mut cursor = Cursor::First;
    loop {
        let page = ids(store, long, &all, &cursor, 7, p).await;
        let Some(last) = page.last() else { break };
        cursor = Cursor::After(last.clone());
        seen.extend(page);
    }
    assert_eq!(
        seen,
        names(0..100, "l"),
        "{p}: paging forwards by After visits each message once, in order"
    );
    let mut seen = Vec::new();
    let mut cursor = Cursor::Last;
    loop {
        let page = ids(store, long, &all, &cursor, 7, p).await;
        let Some(first) = page.last() else { break };
        cursor = Cursor::Before(first.clone());
        seen.extend(page);
    }
    assert_eq!(
        seen,
        names((0..100).rev(), "l"),
        "{p}: paging backwards by Before visits each message once, newest first"
    );
}

/// One owner's fetches, bounds, trims and preferences never see another owner's archive, and
/// the same id may exist in two archives (ids are unique per owner).
pub async fn archives_are_separate<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "archives_are_separate";
    let all = Filter::default();
    append_all(store, &owners.alice, &series(&owners.alice, "x", 3)).await;
    append_all(store, &owners.bob, &series(&owners.bob, "x", 2)).await;
    assert_eq!(
        ids(store, &owners.alice, &all, &Cursor::First, 10, p).await,
        names(0..3, "x"),
        "{p}: alice"
    );
    assert_eq!(
        ids(store, &owners.bob, &all, &Cursor::First, 10, p).await,
        names(0..2, "x"),
        "{p}: bob"
    );
    assert!(
        ids(store, &owners.carol, &all, &Cursor::First, 10, p)
            .await
            .is_empty(),
        "{p}: carol has nothing"
    );
    assert_eq!(
        fetch(
            store,
            &owners.bob,
            &all,
            &Cursor::After("x2".to_owned()),
            10
        )
        .await,
        Fetched::UnknownId,
        "{p}: an id of alice's archive is unknown in bob's"
    );
}

/// `with`: a bare JID matches every resource, a full JID only itself, a domain JID only
/// messages with the domain itself (any resource), never accounts at that domain.
pub async fn filter_with<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "filter_with";
    let owner = &owners.alice;
    let messages = [
        message(owner, "romeo@montague.lit/orchard", "w0", 0),
        message(owner, "romeo@montague.lit", "w1", 1),
        message(owner, "romeo@montague.lit/balcony", "w2", 2),
        message(owner, "montague.lit", "w3", 3),
        message(owner, "montague.lit/bot", "w4", 4),
        message(owner, "nurse@capulet.lit/kitchen", "w5", 5),
        message(owner, owner.as_str(), "w6", 6),
    ];
    append_all(store, owner, &messages).await;
    let with = |j: &str| Filter {
        with: Some(jid(j)),
        ..Filter::default()
    };
    for (filter, expected, what) in [
        (
            "romeo@montague.lit",
            vec![0, 1, 2],
            "a bare JID matches every resource",
        ),
        (
            "romeo@montague.lit/balcony",
            vec![2],
            "a full JID matches only itself",
        ),
        (
            "romeo@montague.lit/nowhere",
            vec![],
            "a full JID nobody used matches nothing",
        ),
        (
            "montague.lit",
            vec![3, 4],
            "a domain matches itself, not its accounts",
        ),
        ("nurse@capulet.lit", vec![5], "a bare JID with one resource"),
        (
            owner.as_str(),
            vec![6],
            "the owner's own JID: notes to self",
        ),
    ] {
        assert_eq!(
            ids(store, owner, &with(filter), &Cursor::First, 10, p).await,
            names(expected.iter().copied(), "w"),
            "{p}: with {filter}: {what}"
        );
    }
    assert_eq!(
        ids(
            store,
            owner,
            &with("romeo@montague.lit"),
            &Cursor::Last,
            2,
            p
        )
        .await,
        names([2, 1], "w"),
        "{p}: with and Last, limit 2"
    );
}

/// `start` and `end` are inclusive, to the millisecond.
pub async fn filter_time<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "filter_time";
    let owner = &owners.alice;
    append_all(store, owner, &series(owner, "t", 6)).await;
    let range = |start: Option<u64>, end: Option<u64>| Filter {
        start: start.map(at),
        end: end.map(at),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &range(Some(2), None), &Cursor::First, 10, p).await,
        names(2..6, "t"),
        "{p}: start is inclusive"
    );
    assert_eq!(
        ids(store, owner, &range(None, Some(3)), &Cursor::First, 10, p).await,
        names(0..4, "t"),
        "{p}: end is inclusive"
    );
    assert_eq!(
        ids(store, owner, &range(Some(1), Some(3)), &Cursor::Last, 10, p).await,
        names([3, 2, 1], "t"),
        "{p}: start and end, backwards"
    );
    let just_after = Filter {
        start: Some(at(2) + Duration::from_millis(1)),
        end: Some(at(4) - Duration::from_millis(1)),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &just_after, &Cursor::First, 10, p).await,
        names([3], "t"),
        "{p}: one millisecond matters"
    );
    assert!(
        ids(
            store,
            owner,
            &range(Some(4), Some(1)),
            &Cursor::First,
            10,
            p
        )
        .await
        .is_empty(),
        "{p}: start after end matches nothing"
    );
}

/// `after_id` and `before_id` are exclusive positions that combine with the cursor and the
/// other conditions; `ids` selects exactly those messages, in archive order; a cursor may name
/// a message the filter excludes.
pub async fn filter_ids<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "filter_ids";
    let owner = &owners.alice;
    append_all(store, owner, &series(owner, "i", 10)).await;
    let range = Filter {
        after_id: Some("i2".to_owned()),
        before_id: Some("i7".to_owned()),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &range, &Cursor::First, 10, p).await,
        names(3..7, "i"),
        "{p}: after-id and before-id are exclusive"
    );
    assert_eq!(
        ids(store, owner, &range, &Cursor::Last, 2, p).await,
        names([6, 5], "i"),
        "{p}: the range from the end"
    );
    assert_eq!(
        ids(store, owner, &range, &Cursor::After("i4".to_owned()), 10, p).await,
        names(5..7, "i"),
        "{p}: the range after a cursor"
    );
    assert_eq!(
        ids(
            store,
            owner,
            &range,
            &Cursor::Before("i4".to_owned()),
            10,
            p
        )
        .await,
        names([3], "i"),
        "{p}: the range before a cursor"
    );
    assert!(
        ids(store, owner, &range, &Cursor::After("i8".to_owned()), 10, p)
            .await
            .is_empty(),
        "{p}: a cursor past the range"
    );
    let only_after = Filter {
        after_id: Some("i7".to_owned()),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &only_after, &Cursor::First, 10, p).await,
        names(8..10, "i"),
        "{p}: after-id alone"
    );
    let listed = Filter {
        ids: names([7, 1, 4], "i"),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &listed, &Cursor::First, 10, p).await,
        names([1, 4, 7], "i"),
        "{p}: ids, in archive order"
    );
    assert_eq!(
        ids(store, owner, &listed, &Cursor::Last, 2, p).await,
        names([7, 4], "i"),
        "{p}: ids from the end"
    );
    let odd_romeo = Filter {
        with: Some(jid("romeo@montague.lit")),
        ..Filter::default()
    };
    // i3 is with the nurse: the filter excludes it, yet it is a position.
    assert_eq!(
        ids(
            store,
            owner,
            &odd_romeo,
            &Cursor::After("i3".to_owned()),
            2,
            p
        )
        .await,
        names([4, 6], "i"),
        "{p}: a cursor on a message the filter excludes"
    );
    let mixed = Filter {
        with: Some(jid("romeo@montague.lit")),
        ids: names([1, 2, 3, 4], "i"),
        start: Some(at(3)),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &mixed, &Cursor::First, 10, p).await,
        names([4], "i"),
        "{p}: every condition must hold"
    );
}

/// An id that is not in the archive, in the cursor, `after_id`, `before_id` or `ids`, gives
/// [`Fetched::UnknownId`], also in an empty archive.
pub async fn unknown_ids<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "unknown_ids";
    let owner = &owners.alice;
    let all = Filter::default();
    assert_eq!(
        fetch(store, owner, &all, &Cursor::After("nope".to_owned()), 10).await,
        Fetched::UnknownId,
        "{p}: After in an empty archive"
    );
    append_all(store, owner, &series(owner, "u", 3)).await;
    assert_eq!(
        fetch(store, owner, &all, &Cursor::After("nope".to_owned()), 10).await,
        Fetched::UnknownId,
        "{p}: After"
    );
    assert_eq!(
        fetch(store, owner, &all, &Cursor::Before("nope".to_owned()), 10).await,
        Fetched::UnknownId,
        "{p}: Before"
    );
    for (filter, what) in [
        (
            Filter {
                after_id: Some("nope".to_owned()),
                ..Filter::default()
            },
            "after_id",
        ),
        (
            Filter {
                before_id: Some("nope".to_owned()),
                ..Filter::default()
            },
            "before_id",
        ),
        (
            Filter {
                ids: vec!["u1".to_owned(), "nope".to_owned()],
                ..Filter::default()
            },
            "ids",
        ),
    ] {
        for cursor in [Cursor::First, Cursor::Last] {
            assert_eq!(
                fetch(store, owner, &filter, &cursor, 10).await,
                Fetched::UnknownId,
                "{p}: {what} with {cursor:?}"
            );
        }
    }
    // An id the filter excludes is still known.
    let with_nurse = Filter {
        with: Some(jid("nurse@capulet.lit")),
        after_id: Some("u0".to_owned()),
        ..Filter::default()
    };
    assert_eq!(
        ids(store, owner, &with_nurse, &Cursor::First, 10, p).await,
        names([1], "u"),
        "{p}: after_id on an excluded message"
    );
}

/// The first and last message of an archive, or `None` when it is empty.
pub async fn bounds<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "bounds";
    let owner = &owners.alice;
    let got = |b: Result<Option<Bounds>, S::Error>| {
        b.unwrap_or_else(|e| panic!("{p}: bounds failed: {e}"))
    };
    assert_eq!(
        got(store.bounds(owner).await),
        None,
        "{p}: an empty archive has none"
    );
    append_all(store, owner, &series(owner, "b", 1)).await;
    let one = Some(Bounds {
        first: ("b0".to_owned(), at(0)),
        last: ("b0".to_owned(), at(0)),
    });
    assert_eq!(
        got(store.bounds(owner).await),
        one,
        "{p}: one message is first and last"
    );
    append_all(store, owner, &series(owner, "b", 4)[1..]).await;
    let four = Some(Bounds {
        first: ("b0".to_owned(), at(0)),
        last: ("b3".to_owned(), at(3)),
    });
    assert_eq!(got(store.bounds(owner).await), four, "{p}: four messages");
    assert_eq!(
        got(store.bounds(&owners.bob).await),
        None,
        "{p}: another owner's archive is empty"
    );
}

/// Preferences: none until set; a set replaces them whole; per owner.
pub async fn prefs_round_trip<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "prefs_round_trip";
    let got =
        |r: Result<Option<Prefs>, S::Error>| r.unwrap_or_else(|e| panic!("{p}: prefs failed: {e}"));
    assert_eq!(
        got(store.prefs(&owners.alice).await),
        None,
        "{p}: none before a set"
    );
    let first = Prefs {
        default: DefaultPolicy::Roster,
        always: vec![jid("romeo@montague.lit"), jid("nurse@capulet.lit/kitchen")],
        never: vec![jid("tybalt@capulet.lit"), jid("capulet.lit")],
    };
    store
        .set_prefs(&owners.alice, &first)
        .await
        .unwrap_or_else(|e| panic!("{p}: set failed: {e}"));
    assert_eq!(
        got(store.prefs(&owners.alice).await),
        Some(first),
        "{p}: what was set, lists in order"
    );
    assert_eq!(
        got(store.prefs(&owners.bob).await),
        None,
        "{p}: another owner has none"
    );
    let second = Prefs {
        default: DefaultPolicy::Never,
        always: Vec::new(),
        never: Vec::new(),
    };
    store
        .set_prefs(&owners.alice, &second)
        .await
        .unwrap_or_else(|e| panic!("{p}: set failed: {e}"));
    assert_eq!(
        got(store.prefs(&owners.alice).await),
        Some(second),
        "{p}: a set replaces, lists emptied"
    );
    let third = Prefs {
        default: DefaultPolicy::Always,
        ..Prefs::default()
    };
    store
        .set_prefs(&owners.bob, &third)
        .await
        .unwrap_or_else(|e| panic!("{p}: set failed: {e}"));
    assert_eq!(
        got(store.prefs(&owners.bob).await),
        Some(third),
        "{p}: bob's own"
    );
}

/// Removes every message archived strictly before the instant, in every archive, and counts
/// them.
pub async fn remove_older_than<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "remove_older_than";
    let all = Filter::default();
    append_all(store, &owners.alice, &series(&owners.alice, "r", 5)).await;
    append_all(store, &owners.carol, &series(&owners.carol, "r", 3)).await;
    let removed = store
        .remove_older_than(at(2))
        .await
        .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
    assert_eq!(
        removed, 4,
        "{p}: two of alice's and two of carol's are older than message 2"
    );
    assert_eq!(
        ids(store, &owners.alice, &all, &Cursor::First, 10, p).await,
        names(2..5, "r"),
        "{p}: alice keeps 2..5 (the instant itself stays)"
    );
    assert_eq!(
        ids(store, &owners.carol, &all, &Cursor::First, 10, p).await,
        names([2], "r"),
        "{p}: carol keeps 2"
    );
    let removed = store
        .remove_older_than(at(0))
        .await
        .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
    assert_eq!(removed, 0, "{p}: nothing older");
    let b = store
        .bounds(&owners.alice)
        .await
        .unwrap_or_else(|e| panic!("{p}: bounds failed: {e}"));
    assert_eq!(
        b.map(|b| b.first.0),
        Some("r2".to_owned()),
        "{p}: bounds follow"
    );
}

/// Keeps the newest `keep` messages of one archive and counts the rest.
pub async fn trim<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "trim";
    let all = Filter::default();
    append_all(store, &owners.alice, &series(&owners.alice, "k", 5)).await;
    append_all(store, &owners.bob, &series(&owners.bob, "k", 5)).await;
    let removed = store
        .trim(&owners.alice, 2)
        .await
        .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
    assert_eq!(removed, 3, "{p}: 5 trimmed to 2");
    assert_eq!(
        ids(store, &owners.alice, &all, &Cursor::First, 10, p).await,
        names(3..5, "k"),
        "{p}: the newest stay"
    );
    assert_eq!(
        ids(store, &owners.bob, &all, &Cursor::First, 10, p).await,
        names(0..5, "k"),
        "{p}: another archive is untouched"
    );
    let removed = store
        .trim(&owners.alice, 2)
        .await
        .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
    assert_eq!(removed, 0, "{p}: already small enough");
    let removed = store
        .trim(&owners.carol, 0)
        .await
        .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
    assert_eq!(removed, 0, "{p}: an empty archive");
    let removed = store
        .trim(&owners.bob, 0)
        .await
        .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
    assert_eq!(removed, 5, "{p}: keep nothing");
    assert!(
        ids(store, &owners.bob, &all, &Cursor::First, 10, p)
            .await
            .is_empty(),
        "{p}: bob's archive is empty"
    );
    // Ids of trimmed messages are unknown afterwards.
    assert_eq!(
        fetch(
            store,
            &owners.alice,
            &all,
            &Cursor::After("k0".to_owned()),
            10
        )
        .await,
        Fetched::UnknownId,
        "{p}: a trimmed id is gone"
    );
}

/// The owners with more than `keep` messages.
pub async fn owners_over<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "owners_over";
    append_all(store, &owners.alice, &series(&owners.alice, "o", 4)).await;
    append_all(store, &owners.bob, &series(&owners.bob, "o", 2)).await;
    append_all(store, &owners.carol, &series(&owners.carol, "o", 3)).await;
    let over = |keep: u64| async move {
        let mut v = store
            .owners_over(keep)
            .await
            .unwrap_or_else(|e| panic!("{p}: failed: {e}"));
        v.sort();
        v
    };
    let mut two = vec![owners.alice.clone(), owners.carol.clone()];
    two.sort();
    assert_eq!(
        over(2).await,
        two,
        "{p}: more than 2 (2 itself is not over)"
    );
    assert_eq!(
        over(3).await,
        vec![owners.alice.clone()],
        "{p}: more than 3"
    );
    assert!(over(4).await.is_empty(), "{p}: nobody over 4");
}

/// An append with an id already in the archive, or twice in the batch, fails and stores
/// nothing of the batch, in any archive.
pub async fn append_is_atomic<S: ArchiveStore>(store: &S, owners: &Owners) {
    let p = "append_is_atomic";
    let all = Filter::default();
    let existing = series(&owners.alice, "d", 2);
    append_all(store, &owners.alice, &existing).await;
    let bob_copy = message(&owners.bob, "alice@example.org/home", "n1", 10);
    let dup = message(&owners.alice, "romeo@montague.lit", "d1", 11);

    let result = store
        .append(&[entry(&owners.bob, &bob_copy), entry(&owners.alice, &dup)])
        .await;
    assert!(
        result.is_err(),
        "{p}: an id already in the archive is refused"
    );
    assert!(
        ids(store, &owners.bob, &all, &Cursor::First, 10, p)
            .await
            .is_empty(),
        "{p}: the other copy was not stored either"
    );
    assert_eq!(
        ids(store, &owners.alice, &all, &Cursor::First, 10, p).await,
        names(0..2, "d"),
        "{p}: the archive is unchanged"
    );
    let twice = message(&owners.carol, "romeo@montague.lit", "t1", 12);
    let result = store
        .append(&[entry(&owners.carol, &twice), entry(&owners.carol, &twice)])
        .await;
    assert!(result.is_err(), "{p}: an id twice in one batch is refused");
    assert!(
        ids(store, &owners.carol, &all, &Cursor::First, 10, p)
            .await
            .is_empty(),
        "{p}: nothing of that batch stored"
    );
    // Both parties' copies in one call, the same id in each archive.
    let a = message(&owners.alice, "bob@example.org/phone", "both", 13);
    let b = message(&owners.bob, "alice@example.org/home", "both", 13);
    store
        .append(&[entry(&owners.alice, &a), entry(&owners.bob, &b)])
        .await
        .unwrap_or_else(|e| panic!("{p}: a two-copy append failed: {e}"));
    assert_eq!(
        fetch(store, &owners.bob, &all, &Cursor::Last, 1).await,
        Fetched::Messages(vec![b]),
        "{p}: bob's copy"
    );
    assert_eq!(
        fetch(store, &owners.alice, &all, &Cursor::Last, 1).await,
        Fetched::Messages(vec![a]),
        "{p}: alice's copy"
    );
}
