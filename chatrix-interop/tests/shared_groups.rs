//! Shared roster groups over real sockets, as docs/im-core.md ("Shared roster groups") states
//! it: groups made through the storage API (as `chatrix-server group …` makes them) reach
//! online members at the next poll (`[shared_groups] poll_interval_ms = 100` here) as roster
//! pushes with subscription `both` in the group's display name, and presence flows between
//! members without any subscription stanza; removal pushes `remove` and `unavailable`; an
//! "everyone" group holds every account of the domain.
//!
//! Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::im::{
    PASSWORD, account, add_user, is_presence, is_roster_push, item_groups, marker, online,
    pushed_item, roster_get,
};
use support::raw::Raw;
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, ns};

const ALICE: &str = "alice@localhost";
const BOB: &str = "bob@localhost";
const CAROL: &str = "carol@localhost";

/// How long to wait for something that must not come from the poller.
const QUIET: Duration = Duration::from_millis(500);

fn full(bare: &str, resource: &str) -> String {
    format!("{bare}/{resource}")
}

/// The items of a roster `<query/>`, by JID.
fn items(query: &Element) -> Vec<(String, Element)> {
    let mut items: Vec<(String, Element)> = query
        .children()
        .filter(|i| i.is("item", ns::ROSTER))
        .map(|i| (i.attr("jid").unwrap_or_default().to_owned(), i.clone()))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

/// `item` is the shared-group view of `jid`: subscription `both`, no pending request, in
/// exactly `groups`.
#[track_caller]
fn assert_shared_item(item: &Element, jid: &str, groups: &[&str]) {
    assert_eq!(item.attr("jid"), Some(jid), "{item:?}");
    assert_eq!(item.attr("subscription"), Some("both"), "{item:?}");
    assert_eq!(item.attr("ask"), None, "{item:?}");
    assert_eq!(item_groups(item), groups, "{item:?}");
}

/// Logs in `user/resource`, asks for the roster (so that pushes come) and sends initial
/// presence; returns the client, the roster, and what the presence brought back.
async fn online_with_roster(
    server: &TestServer,
    user: &str,
    resource: &str,
) -> (Raw, Element, Vec<Element>) {
    let mut c = Raw::login(server, user, PASSWORD, resource).await;
    let roster = roster_get(&mut c, "roster").await;
    c.send("<presence/>").await;
    let got = c.until_pong("online").await;
    let me = full(&format!("{user}@localhost"), resource);
    assert!(
        got.first().is_some_and(|p| is_presence(p, &me, None)),
        "{me}: the reflected presence first, got {got:?}"
    );
    (c, roster, got)
}

/// Waits (up to 10 s) until the server's view of the shared groups gives `user` exactly the
/// contacts `expected` (bare JIDs, sorted), asking through a session of its own that is then
/// closed; pushes that session receives meanwhile are ignored. What tests do next starts
/// from a state the poller has already applied.
async fn wait_for_contacts(server: &TestServer, user: &str, expected: &[&str]) {
    let mut c = Raw::login(server, user, PASSWORD, "waiting").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        n += 1;
        let id = format!("wait{n}");
        c.send(&format!(
            "<iq type='get' id='{id}'><query xmlns='{}'/></iq>",
            ns::ROSTER
        ))
        .await;
        let got = c
            .recv_until(|e| e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some(&id))
            .await;
        let result = got.last().unwrap_or_else(|| unreachable!());
        let query = result
            .get_child("query", ns::ROSTER)
            .unwrap_or_else(|| panic!("{result:?}"));
        let jids: Vec<String> = items(query).into_iter().map(|(j, _)| j).collect();
        if jids == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{user}'s roster is {jids:?}, never {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two stanzas the poller sends one member when `contact` joins: the push of `contact` as a
/// shared item in `groups`, and the presence of `contact_resource` (in either order). Returns
/// the `ver` of the push.
async fn expect_joined(
    c: &mut Raw,
    contact: &str,
    contact_resource: &str,
    groups: &[&str],
) -> Option<String> {
    let got = c.recv_n(2).await;
    let push = got
        .iter()
        .find(|e| is_roster_push(e))
        .unwrap_or_else(|| panic!("no roster push: {got:?}"));
    assert_shared_item(pushed_item(push), contact, groups);
    let ver = push
        .get_child("query", ns::ROSTER)
        .and_then(|q| q.attr("ver"));
    assert!(ver.is_some(), "a push carries the roster version: {push:?}");
    assert!(
        got.iter()
            .any(|e| is_presence(e, &full(contact, contact_resource), None)),
        "no presence from {contact}/{contact_resource}: {got:?}"
    );
    ver.map(str::to_owned)
}

/// A roster get with `ver` (RFC 6121 §2.6): the items of the result (`None` when it has no
/// `<query/>`) and the `ver` of its `<query/>`.
async fn versioned_roster(
    c: &mut Raw,
    id: &str,
    ver: Option<&str>,
) -> (Option<Vec<(String, Element)>>, Option<String>) {
    let ver = ver.map(|v| format!(" ver='{v}'")).unwrap_or_default();
    c.send(&format!(
        "<iq type='get' id='{id}'><query xmlns='{}'{ver}/></iq>",
        ns::ROSTER
    ))
    .await;
    let result = c.recv().await;
    assert_eq!(result.attr("id"), Some(id), "{result:?}");
    assert_eq!(result.attr("type"), Some("result"), "{result:?}");
    let query = result.get_child("query", ns::ROSTER);
    (
        query.map(items),
        query.and_then(|q| q.attr("ver")).map(str::to_owned),
    )
}

/// Two stanzas the poller sends one member when `contact` leaves: the push of `remove` for
/// `contact` and `unavailable` from `contact_resource` (in either order).
async fn expect_left(c: &mut Raw, contact: &str, contact_resource: &str) {
    let got = c.recv_n(2).await;
    let push = got
        .iter()
        .find(|e| is_roster_push(e))
        .unwrap_or_else(|| panic!("no roster push: {got:?}"));
    let item = pushed_item(push);
    assert_eq!(item.attr("jid"), Some(contact), "{push:?}");
    assert_eq!(item.attr("subscription"), Some("remove"), "{push:?}");
    assert!(
        got.iter()
            .any(|e| is_presence(e, &full(contact, contact_resource), Some("unavailable"))),
        "no unavailable from {contact}/{contact_resource}: {got:?}"
    );
}

/// Adding Bob to Alice's group pushes each to the other (`both`, group "Team") with their
/// presence; the roster shows the item, and its `ver` is current; presence then flows both
/// ways without any subscription stanza, and a new resource gets the other's presence at
/// login. Carol, outside the group, gets nothing.
async fn adding_a_member_pushes_items_and_presence(server: Arc<TestServer>) {
    let storage = &server.ctx.storage;
    storage
        .create_shared_group("localhost", "team", "Team", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    storage
        .add_group_member("localhost", "team", &account(ALICE))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let (mut a1, roster, got) = online_with_roster(&server, "alice", "a1").await;
    assert!(items(&roster).is_empty(), "{roster:?}");
    assert_eq!(got.len(), 1, "{got:?}");
    // A client that caches the roster (XEP-0237: `ver=''` asks for versioning).
    let (listed, old_ver) = versioned_roster(&mut a1, "versioned", Some("")).await;
    assert_eq!(listed.map(|l| l.len()), Some(0));
    assert!(old_ver.is_some(), "a versioned get is answered with a ver");
    let (mut b1, _, got) = online_with_roster(&server, "bob", "b1").await;
    assert_eq!(got.len(), 1, "not yet in the group: {got:?}");
    let (mut carol, _) = online(&server, "carol", "c1", None).await;

    storage
        .add_group_member("localhost", "team", &account(BOB))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pushed_ver = expect_joined(&mut a1, BOB, "b1", &["Team"]).await;
    expect_joined(&mut b1, ALICE, "a1", &["Team"]).await;
    a1.expect_nothing(QUIET).await;
    b1.expect_nothing(QUIET).await;

    // The roster shows the item, with a new version (the one the push carried), which is
    // then current.
    let (listed, new_ver) = versioned_roster(&mut a1, "after-add", old_ver.as_deref()).await;
    let listed = listed.unwrap_or_else(|| panic!("an old ver gets the full roster"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_shared_item(&listed[0].1, BOB, &["Team"]);
    assert_ne!(new_ver, old_ver, "the version must change with the group");
    assert_eq!(new_ver, pushed_ver, "the push carried the current version");
    let (listed, _) = versioned_roster(&mut a1, "current", new_ver.as_deref()).await;
    assert!(
        listed.as_ref().is_none_or(Vec::is_empty),
        "a current ver gets an empty result: {listed:?}"
    );

    // Presence flows both ways, without any subscription stanza.
    a1.send("<presence><show>away</show></presence>").await;
    let p = b1.recv().await;
    assert!(is_presence(&p, &full(ALICE, "a1"), None), "{p:?}");
    assert_eq!(
        p.child_text("show", ns::JABBER_CLIENT).as_deref(),
        Some("away")
    );
    b1.send("<presence><show>dnd</show></presence>").await;
    let own = b1.until_pong("own").await;
    assert_eq!(own.len(), 1, "{own:?}");
    let got = a1
        .recv_until(|e| {
            e.is("presence", ns::JABBER_CLIENT) && e.attr("from") == Some(&full(BOB, "b1"))
        })
        .await;
    // Before it, only Alice's own reflected update.
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(is_presence(&got[0], &full(ALICE, "a1"), None), "{got:?}");
    assert_eq!(
        got[1].child_text("show", ns::JABBER_CLIENT).as_deref(),
        Some("dnd")
    );

    // A new resource of Bob gets Alice's presence with his own.
    let (_b2, _, got) = online_with_roster(&server, "bob", "b2").await;
    assert!(
        got.iter().any(|e| is_presence(e, &full(ALICE, "a1"), None)),
        "{got:?}"
    );
    assert!(
        got.iter()
            .all(|e| e.is("presence", ns::JABBER_CLIENT) && e.attr("type").is_none()),
        "no subscription stanza: {got:?}"
    );
    marker(&mut a1, &mut carol, &full(CAROL, "c1"), "carol-nothing").await;
    carol.expect_nothing(QUIET).await;
}

/// Removing Bob from the group pushes `remove` to each and `unavailable` from the other;
/// afterwards presence no longer flows and the rosters are empty.
async fn removing_a_member_pushes_remove_and_unavailable(server: Arc<TestServer>) {
    let storage = &server.ctx.storage;
    storage
        .create_shared_group("localhost", "team", "Team", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for member in [ALICE, BOB] {
        storage
            .add_group_member("localhost", "team", &account(member))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    wait_for_contacts(&server, "alice", &[BOB]).await;

    let (mut a1, roster, _) = online_with_roster(&server, "alice", "a1").await;
    let listed = items(&roster);
    assert_eq!(listed.len(), 1, "{roster:?}");
    assert_shared_item(&listed[0].1, BOB, &["Team"]);
    let (mut b1, roster, got) = online_with_roster(&server, "bob", "b1").await;
    assert_shared_item(&items(&roster)[0].1, ALICE, &["Team"]);
    // Bob's initial presence brings Alice's, and reaches her.
    assert!(
        got.iter().any(|e| is_presence(e, &full(ALICE, "a1"), None)),
        "{got:?}"
    );
    let p = a1.recv().await;
    assert!(is_presence(&p, &full(BOB, "b1"), None), "{p:?}");

    storage
        .remove_group_member("localhost", "team", &account(BOB))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_left(&mut a1, BOB, "b1").await;
    expect_left(&mut b1, ALICE, "a1").await;
    a1.expect_nothing(QUIET).await;
    b1.expect_nothing(QUIET).await;

    assert!(items(&roster_get(&mut a1, "after").await).is_empty());
    assert!(items(&roster_get(&mut b1, "after").await).is_empty());
    // Presence no longer flows (each sender gets only its own presence back).
    a1.send("<presence><show>away</show></presence>").await;
    assert_eq!(a1.until_pong("own-a1").await.len(), 1);
    marker(&mut a1, &mut b1, &full(BOB, "b1"), "no-presence").await;
    b1.send("<presence><show>away</show></presence>").await;
    assert_eq!(b1.until_pong("own-b1").await.len(), 1);
    marker(&mut b1, &mut a1, &full(ALICE, "a1"), "no-presence").await;
}

/// An "everyone" group puts every account of the domain in every other's roster, including
/// an account made later; presence flows between them.
async fn everyone_group_holds_every_account(server: Arc<TestServer>) {
    server
        .ctx
        .storage
        .create_shared_group("localhost", "all", "Everyone", true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for_contacts(&server, "alice", &[BOB, CAROL]).await;
    wait_for_contacts(&server, "carol", &[ALICE, BOB]).await;

    let (mut a1, roster, _) = online_with_roster(&server, "alice", "a1").await;
    let listed = items(&roster);
    assert_eq!(listed.len(), 2, "{roster:?}");
    assert_shared_item(&listed[0].1, BOB, &["Everyone"]);
    assert_shared_item(&listed[1].1, CAROL, &["Everyone"]);
    let (_b1, roster, got) = online_with_roster(&server, "bob", "b1").await;
    let listed = items(&roster);
    assert_eq!(listed.len(), 2, "{roster:?}");
    assert_shared_item(&listed[0].1, ALICE, &["Everyone"]);
    assert_shared_item(&listed[1].1, CAROL, &["Everyone"]);
    assert!(
        got.iter().any(|e| is_presence(e, &full(ALICE, "a1"), None)),
        "{got:?}"
    );
    let p = a1.recv().await;
    assert!(is_presence(&p, &full(BOB, "b1"), None), "{p:?}");

    // A new account joins everyone's roster at the next poll.
    add_user(&server, "dave").await;
    let push = a1.recv().await;
    assert_shared_item(pushed_item(&push), "dave@localhost", &["Everyone"]);
    let (_d1, roster, got) = online_with_roster(&server, "dave", "d1").await;
    assert_eq!(items(&roster).len(), 3, "{roster:?}");
    assert!(
        got.iter().any(|e| is_presence(e, &full(ALICE, "a1"), None))
            && got.iter().any(|e| is_presence(e, &full(BOB, "b1"), None)),
        "{got:?}"
    );
    let p = a1.recv().await;
    assert!(is_presence(&p, "dave@localhost/d1", None), "{p:?}");
}

/// A server with Alice, Bob and Carol (no roster items), polling groups every 100 ms.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        for user in ["alice", "bob", "carol"] {
            add_user(&server, user).await;
        }
        scenario(server).await;
    })
    .await;
}

const POLL: &str = "[shared_groups]\npoll_interval_ms = 100\n";

on_both_backends!(
    adding_a_member_pushes_items_and_presence => POLL,
    removing_a_member_pushes_remove_and_unavailable => POLL,
    everyone_group_holds_every_account => POLL,
);
