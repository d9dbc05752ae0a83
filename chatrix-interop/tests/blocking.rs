//! Blocking (XEP-0191, `urn:xmpp:blocking`) over real sockets. Alice and Bob are subscribed
//! to each other (through the storage API); Bob has two resources, `b1` (which asks for the
//! block list, so it gets pushes) and `b2`. Bob blocks Alice: the result and a push to `b1`
//! only, `unavailable` from both his resources to Alice (and from her to both of them); then
//! her messages and iqs bounce with `service-unavailable`, her presence does not reach him,
//! his presence does not reach her, his messages to her are refused with `not-acceptable`
//! and `<blocked/>`, nothing she sent is archived for him or kept offline; unblocking
//! restores all, with the current presence sent both ways; "unblock all" empties the list;
//! malformed requests are refused.
//!
//! "Nothing arrives" is checked with markers from Carol (nobody's contact), sent after a ping
//! answer that shows the stanza under test was routed. Every scenario runs on SQLite and,
//! when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use support::im::{
    PASSWORD, account, add_user, is_message, is_presence, marker, message, online, subscribe_both,
};
use support::raw::{Raw, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, ErrorType, StanzaCondition, ns};

const ALICE: &str = "alice@localhost";
const ALICE_PHONE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";
const B1: &str = "bob@localhost/b1";
const B2: &str = "bob@localhost/b2";
const CAROL: &str = "carol@localhost";

/// How long to wait for what must not arrive (it would come from another session's work).
const QUIET: Duration = Duration::from_millis(300);

/// Everyone online: Bob's `b1` and `b2`, Alice's `phone` (Bob's contact), Carol's `home`
/// (nobody's); every queue drained.
struct People {
    b1: Raw,
    b2: Raw,
    alice: Raw,
    carol: Raw,
}

impl People {
    async fn online(server: &TestServer) -> Self {
        subscribe_both(server, ALICE, BOB).await;
        let (mut b1, _) = online(server, "bob", "b1", None).await;
        let (mut b2, _) = online(server, "bob", "b2", None).await;
        assert!(is_presence(&b1.recv().await, B2, None));
        let (alice, got) = online(server, "alice", "phone", None).await;
        assert_eq!(got.len(), 3, "her presence and Bob's two: {got:?}");
        for b in [&mut b1, &mut b2] {
            assert!(is_presence(&b.recv().await, ALICE_PHONE, None));
        }
        let (carol, _) = online(server, "carol", "home", None).await;
        Self {
            b1,
            b2,
            alice,
            carol,
        }
    }
}

/// Sends an iq with `payload` from `c`; returns the answer, which must carry `id`.
async fn iq(c: &mut Raw, id: &str, ty: &str, payload: &str) -> Element {
    c.send(&format!("<iq type='{ty}' id='{id}'>{payload}</iq>"))
        .await;
    let reply = c.recv().await;
    assert!(reply.is("iq", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
    reply
}

/// The JIDs of the block list ("User Retrieves Block List"), in order.
async fn blocklist(c: &mut Raw, id: &str) -> Vec<String> {
    let reply = iq(
        c,
        id,
        "get",
        &format!("<blocklist xmlns='{}'/>", ns::BLOCKING),
    )
    .await;
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");
    let list = reply
        .get_child("blocklist", ns::BLOCKING)
        .unwrap_or_else(|| panic!("no <blocklist/>: {reply:?}"));
    items(list)
}

fn items(el: &Element) -> Vec<String> {
    el.children()
        .filter(|i| i.is("item", ns::BLOCKING))
        .map(|i| i.attr("jid").unwrap_or_default().to_owned())
        .collect()
}

/// `<item jid='…'/>` for each JID.
fn item_list(jids: &[&str]) -> String {
    let mut out = String::new();
    for j in jids {
        let _ = write!(out, "<item jid='{j}'/>");
    }
    out
}

/// Sends a `<block/>` or `<unblock/>` (`what`) with `jids` from `c`: the answer is an empty
/// result and (`c` asked for the list) a push of the same items to `c`, in either order.
/// Returns the presence stanzas `c` received meanwhile, up to a ping answer after the
/// exchange (the blocked or unblocked contacts' presence, which the server sends the
/// user's resources at block and unblock time).
async fn change(c: &mut Raw, me: &str, what: &str, id: &str, jids: &[&str]) -> Vec<Element> {
    c.send(&format!(
        "<iq type='set' id='{id}'><{what} xmlns='{}'>{}</{what}></iq>",
        ns::BLOCKING,
        item_list(jids)
    ))
    .await;
    let (mut result, mut push) = (false, false);
    let mut presence = Vec::new();
    while !(result && push) {
        let e = c.recv().await;
        if e.is("presence", ns::JABBER_CLIENT) {
            presence.push(e);
        } else if e.attr("id") == Some(id) {
            assert_eq!(e.attr("type"), Some("result"), "{e:?}");
            assert!(!result, "two results: {e:?}");
            result = true;
        } else {
            assert_push(&e, me, what, jids);
            assert!(!push, "two pushes: {e:?}");
            push = true;
        }
    }
    for e in c.until_pong(&format!("{id}-done")).await {
        assert!(e.is("presence", ns::JABBER_CLIENT), "{e:?}");
        presence.push(e);
    }
    presence
}

/// `e` is a push ("User Blocks Contact", "User Unblocks Contact") of `what` with `jids` to `me`.
#[track_caller]
fn assert_push(e: &Element, me: &str, what: &str, jids: &[&str]) {
    assert!(e.is("iq", ns::JABBER_CLIENT), "expected a push, got {e:?}");
    assert_eq!(e.attr("type"), Some("set"), "{e:?}");
    assert_eq!(e.attr("to"), Some(me), "{e:?}");
    let payload = e
        .get_child(what, ns::BLOCKING)
        .unwrap_or_else(|| panic!("no <{what}/> in {e:?}"));
    let mut got = items(payload);
    got.sort();
    let mut want: Vec<String> = jids.iter().map(|j| (*j).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "{e:?}");
}

/// The `from`s of the presence stanzas in `got`, sorted, after checking they are of type
/// `ty`.
fn presence_from(got: &[Element], ty: Option<&str>) -> Vec<String> {
    let mut from: Vec<String> = got
        .iter()
        .map(|p| {
            assert!(p.is("presence", ns::JABBER_CLIENT), "{p:?}");
            assert_eq!(p.attr("type"), ty, "{p:?}");
            p.attr("from").unwrap_or_default().to_owned()
        })
        .collect();
    from.sort();
    from
}

/// The server lists `urn:xmpp:blocking` ("User Discovers Support").
async fn disco_lists_blocking(server: Arc<TestServer>) {
    let mut c = Raw::login(&server, "bob", PASSWORD, "b1").await;
    c.send(&format!(
        "<iq type='get' to='localhost' id='disco'><query xmlns='{}'/></iq>",
        ns::DISCO_INFO
    ))
    .await;
    let reply = c.recv().await;
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");
    let features: Vec<&str> = reply
        .get_child("query", ns::DISCO_INFO)
        .map(|q| {
            q.children()
                .filter(|f| f.is("feature", ns::DISCO_INFO))
                .filter_map(|f| f.attr("var"))
                .collect()
        })
        .unwrap_or_default();
    assert!(features.contains(&ns::BLOCKING), "{features:?}");
}

/// The whole story of one block: see the module docs.
async fn block_then_unblock(server: Arc<TestServer>) {
    let People {
        mut b1,
        mut b2,
        mut alice,
        mut carol,
    } = People::online(&server).await;

    // "User Retrieves Block List": an empty list.
    assert!(blocklist(&mut b1, "list1").await.is_empty());

    // "User Blocks Contact": the result and a push to b1, which asked for the list; none to b2.
    // XEP-0191 asks for `unavailable` to the contact; the server also tells Bob's resources
    // that Alice is gone, since nothing from her reaches them any more.
    let seen = change(&mut b1, B1, "block", "block1", &[ALICE]).await;
    assert_eq!(
        presence_from(&seen, Some("unavailable")),
        [ALICE_PHONE],
        "{seen:?}"
    );
    let gone = b2.recv().await;
    assert!(
        is_presence(&gone, ALICE_PHONE, Some("unavailable")),
        "{gone:?}"
    );
    b2.expect_nothing(QUIET).await;
    // Alice sees Bob go offline: unavailable from both his resources.
    let got = vec![alice.recv().await, alice.recv().await];
    assert_eq!(
        presence_from(&got, Some("unavailable")),
        [B1.to_owned(), B2.to_owned()]
    );
    assert_eq!(blocklist(&mut b2, "list2").await, [ALICE]);

    // Alice's message and iq bounce with service-unavailable; her presence goes nowhere.
    alice
        .send(&message(BOB, Some("chat"), "blocked-msg", "blocked"))
        .await;
    let reply = alice.recv().await;
    assert!(reply.is("message", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("blocked-msg"), "{reply:?}");
    assert_eq!(
        stanza_error(&reply).condition,
        StanzaCondition::ServiceUnavailable,
        "{reply:?}"
    );
    alice
        .send(&format!(
            "<iq type='get' to='{B1}' id='blocked-iq'><ping xmlns='{}'/></iq>",
            ns::PING
        ))
        .await;
    let reply = alice.recv().await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("blocked-iq"), "{reply:?}");
    assert_eq!(
        stanza_error(&reply).condition,
        StanzaCondition::ServiceUnavailable,
        "{reply:?}"
    );
    alice.send("<presence><show>away</show></presence>").await;
    let own = alice.until_pong("routed").await;
    assert_eq!(
        presence_from(&own, None),
        [ALICE_PHONE.to_owned()],
        "{own:?}"
    );
    for (c, to) in [(&mut b1, B1), (&mut b2, B2)] {
        marker(&mut carol, c, to, &format!("nothing-from-alice-{to}")).await;
    }

    // Bob's message to Alice is refused (not-acceptable, <blocked/>); his presence does not
    // reach her (his other resource sees it).
    b1.send(&message(ALICE_PHONE, Some("chat"), "to-blocked", "hi"))
        .await;
    let reply = b1.recv().await;
    assert!(reply.is("message", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("to-blocked"), "{reply:?}");
    assert_eq!(reply.attr("from"), Some(ALICE_PHONE), "{reply:?}");
    let error = stanza_error(&reply);
    assert_eq!(error.condition, StanzaCondition::NotAcceptable, "{reply:?}");
    assert_eq!(error.error_type, ErrorType::Cancel, "{reply:?}");
    assert!(
        error
            .app_condition
            .as_ref()
            .is_some_and(|a| a.is("blocked", ns::BLOCKING_ERRORS)),
        "{reply:?}"
    );
    b1.send("<presence><show>dnd</show></presence>").await;
    let own = b1.until_pong("b1-routed").await;
    assert_eq!(presence_from(&own, None), [B1.to_owned()], "{own:?}");
    assert!(is_presence(&b2.recv().await, B1, None));
    marker(&mut carol, &mut alice, ALICE_PHONE, "nothing-from-bob").await;

    // Nothing exchanged with Alice while she was blocked is in Bob's archive (XEP-0313,
    // "Storage and Retrieval Rules": only messages accepted for delivery).
    b1.send(&format!(
        "<iq type='set' id='mam'><query xmlns='{}'/></iq>",
        ns::MAM
    ))
    .await;
    let got = b1
        .recv_until(|e| e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some("mam"))
        .await;
    let with_alice: Vec<&Element> = got
        .iter()
        .filter_map(|r| {
            r.get_child("result", ns::MAM)?
                .get_child("forwarded", ns::FORWARD)?
                .get_child("message", ns::JABBER_CLIENT)
        })
        .filter(|m| {
            [m.attr("from"), m.attr("to")]
                .into_iter()
                .flatten()
                .any(|a| a.starts_with(ALICE))
        })
        .collect();
    assert!(
        with_alice.is_empty(),
        "archived while blocked: {with_alice:?}"
    );

    // "User Unblocks Contact". Both resources asked for the list by now: both get the push. Alice
    // gets Bob's current presence from both resources, and messages flow again.
    // Bob's resources get Alice's current presence back (she went `away` while blocked).
    let seen = change(&mut b1, B1, "unblock", "unblock1", &[ALICE]).await;
    assert_eq!(presence_from(&seen, None), [ALICE_PHONE], "{seen:?}");
    assert_eq!(
        seen[0].child_text("show", ns::JABBER_CLIENT).as_deref(),
        Some("away"),
        "{seen:?}"
    );
    let got = vec![b2.recv().await, b2.recv().await];
    let (pushes, presence): (Vec<Element>, Vec<Element>) =
        got.into_iter().partition(|e| e.is("iq", ns::JABBER_CLIENT));
    assert_eq!(pushes.len(), 1, "{pushes:?} {presence:?}");
    assert_push(&pushes[0], B2, "unblock", &[ALICE]);
    assert_eq!(presence_from(&presence, None), [ALICE_PHONE]);
    let got = vec![alice.recv().await, alice.recv().await];
    assert_eq!(presence_from(&got, None), [B1.to_owned(), B2.to_owned()]);
    let dnd = got
        .iter()
        .find(|p| p.attr("from") == Some(B1))
        .and_then(|p| p.child_text("show", ns::JABBER_CLIENT));
    assert_eq!(dnd.as_deref(), Some("dnd"), "his current presence: {got:?}");
    assert!(blocklist(&mut b1, "list3").await.is_empty());
    alice
        .send(&message(B1, Some("chat"), "after-unblock", "hello"))
        .await;
    assert!(is_message(&b1.recv().await, "after-unblock"));
    b1.send(&message(ALICE_PHONE, Some("chat"), "reply", "hello"))
        .await;
    assert!(is_message(&alice.recv().await, "reply"));
}

/// "User Unblocks All Contacts": Bob blocks Alice and Carol in one request (one push with both);
/// "unblock all" (an empty `<unblock/>`) empties the list with an empty push; then both reach him.
async fn unblock_all(server: Arc<TestServer>) {
    let People {
        mut b1,
        b2: _b2,
        mut alice,
        mut carol,
    } = People::online(&server).await;
    assert!(blocklist(&mut b1, "list1").await.is_empty());
    change(&mut b1, B1, "block", "block", &[ALICE, CAROL]).await;
    let mut list = blocklist(&mut b1, "list2").await;
    list.sort();
    assert_eq!(list, [ALICE, CAROL]);
    change(&mut b1, B1, "unblock", "all", &[]).await;
    assert!(blocklist(&mut b1, "list3").await.is_empty());
    carol
        .send(&message(B1, Some("chat"), "from-carol", "hi"))
        .await;
    assert!(is_message(&b1.recv().await, "from-carol"));
    alice
        .send(&message(B1, Some("chat"), "from-alice", "hi"))
        .await;
    let got = b1.recv().await;
    assert!(is_message(&got, "from-alice"), "{got:?}");
}

/// The block holds with no session of Bob's online, and across logins ("applies
/// across sessions"): Alice's message to offline Bob bounces and is not stored; Bob's next
/// session gets no offline message and finds Alice on the list.
async fn block_holds_offline_and_across_sessions(server: Arc<TestServer>) {
    let mut bob = Raw::login(&server, "bob", PASSWORD, "b1").await;
    bob.send(&format!(
        "<iq type='set' id='block'><block xmlns='{}'><item jid='{ALICE}'/></block></iq>",
        ns::BLOCKING
    ))
    .await;
    let reply = bob.recv().await;
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");
    drop(bob);

    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    alice
        .send(&message(BOB, Some("chat"), "to-offline", "hi"))
        .await;
    let reply = alice.recv().await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(
        stanza_error(&reply).condition,
        StanzaCondition::ServiceUnavailable,
        "{reply:?}"
    );
    assert_eq!(
        server.ctx.storage.offline_count(&account(BOB)).await.ok(),
        Some(0)
    );
    let (mut bob, got) = online(&server, "bob", "b2", None).await;
    assert!(
        !got.iter().any(|e| e.is("message", ns::JABBER_CLIENT)),
        "{got:?}"
    );
    assert_eq!(blocklist(&mut bob, "list").await, [ALICE]);
}

/// "User Blocks Contact": a `<block/>` without items is `bad-request`; an item that is no JID is
/// `jid-malformed`; neither changes the list.
async fn malformed_requests_are_refused(server: Arc<TestServer>) {
    let mut bob = Raw::login(&server, "bob", PASSWORD, "b1").await;
    for (id, payload, condition) in [
        (
            "empty",
            format!("<block xmlns='{}'/>", ns::BLOCKING),
            StanzaCondition::BadRequest,
        ),
        (
            "bad-jid",
            format!("<block xmlns='{}'><item jid='@@'/></block>", ns::BLOCKING),
            StanzaCondition::JidMalformed,
        ),
    ] {
        let reply = iq(&mut bob, id, "set", &payload).await;
        assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
        assert_eq!(stanza_error(&reply).condition, condition, "{reply:?}");
    }
    assert!(blocklist(&mut bob, "list").await.is_empty());
}

/// Alice, Bob and Carol, and the scenario.
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

on_both_backends!(
    disco_lists_blocking => "",
    block_then_unblock => "",
    unblock_all => "",
    block_holds_offline_and_across_sessions => "",
    malformed_requests_are_refused => "",
);
