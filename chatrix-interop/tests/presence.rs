//! Presence (RFC 6121 §4) over real sockets, as docs/im-core.md ("Presence") states it. Alice
//! and Bob are subscribed to each other (through the storage API); Carol is nobody's contact.
//! Initial presence reaches subscribers and the account's own resources and brings back the
//! presence of contacts; updates and unavailable (sent, or a dropped connection) are
//! broadcast the same way; directed presence reaches Carol and is retracted at the end;
//! extensions are forwarded untouched; a bad `<priority/>` is refused. Carol never receives
//! what she is not owed.
//!
//! "Nothing arrives" is checked with marker messages (see `support::im::send_marker`), and,
//! where the presence comes from another session's asynchronous work (a dropped connection),
//! with a short bounded wait. Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL`
//! is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use support::im::{add_user, is_presence, marker, online, subscribe_both};
use support::raw::{Raw, el, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, StanzaCondition, ns};

const ALICE: &str = "alice@localhost";
const BOB: &str = "bob@localhost";
const CAROL: &str = "carol@localhost";

/// How long to wait for something that must not come from another session's work.
const QUIET: Duration = Duration::from_millis(300);

fn full(bare: &str, resource: &str) -> String {
    format!("{bare}/{resource}")
}

/// `e` is an available presence from `from`, addressed to the account `to` (its bare JID or
/// one of its full JIDs).
#[track_caller]
fn assert_available_from(e: &Element, from: &str, to: &str) {
    assert!(
        is_presence(e, from, None),
        "expected presence from {from}, got {e:?}"
    );
    let addressed = e.attr("to").unwrap_or_default();
    assert!(
        addressed == to || addressed.starts_with(&format!("{to}/")),
        "presence for {to} addressed to {addressed:?}: {e:?}"
    );
}

/// `e` is `unavailable` from `from`.
#[track_caller]
fn assert_unavailable_from(e: &Element, from: &str) {
    assert!(
        is_presence(e, from, Some("unavailable")),
        "expected unavailable from {from}, got {e:?}"
    );
}

/// The `from` of each presence in `got`, sorted (the order among contacts is not defined).
fn presence_senders(got: &[Element]) -> Vec<String> {
    let mut from: Vec<String> = got
        .iter()
        .map(|e| {
            assert!(e.is("presence", ns::JABBER_CLIENT), "not a presence: {e:?}");
            e.attr("from").unwrap_or_default().to_owned()
        })
        .collect();
    from.sort();
    from
}

/// Bob's two resources `b1` and `b2`, available, with `b1` drained of `b2`'s presence.
async fn bob_online(server: &TestServer) -> (Raw, Raw) {
    let (mut b1, got) = online(server, "bob", "b1", None).await;
    assert_eq!(got.len(), 1, "nobody else is online: {got:?}");
    let (b2, got) = online(server, "bob", "b2", None).await;
    assert_eq!(presence_senders(&got), [full(BOB, "b1"), full(BOB, "b2")]);
    assert_available_from(&b1.recv().await, &full(BOB, "b2"), BOB);
    (b1, b2)
}

/// Carol, available, having received nothing but her own presence.
async fn carol_online(server: &TestServer) -> Raw {
    let (carol, got) = online(server, "carol", "c1", None).await;
    assert_eq!(got.len(), 1, "Carol is nobody's contact: {got:?}");
    carol
}

/// Alice's initial presence reaches both of Bob's resources and her own resources (herself
/// included); her new resource receives the presence of Bob's resources and of her other
/// resource (the probe is answered by the server); Carol receives nothing at all.
async fn initial_presence_reaches_subscribers_and_own_resources(server: Arc<TestServer>) {
    let (mut b1, mut b2) = bob_online(&server).await;
    let mut carol = carol_online(&server).await;

    let (mut a1, got) = online(&server, "alice", "a1", None).await;
    assert_eq!(
        presence_senders(&got),
        [full(ALICE, "a1"), full(BOB, "b1"), full(BOB, "b2")],
        "{got:?}"
    );
    for p in &got[1..] {
        assert_eq!(p.attr("to"), Some(full(ALICE, "a1").as_str()), "{p:?}");
    }
    for b in [&mut b1, &mut b2] {
        assert_available_from(&b.recv().await, &full(ALICE, "a1"), BOB);
    }
    marker(&mut a1, &mut carol, &full(CAROL, "c1"), "after-a1").await;

    let (mut a2, got) = online(&server, "alice", "a2", None).await;
    assert_eq!(
        presence_senders(&got),
        [
            full(ALICE, "a1"),
            full(ALICE, "a2"),
            full(BOB, "b1"),
            full(BOB, "b2")
        ],
        "{got:?}"
    );
    assert_available_from(&a1.recv().await, &full(ALICE, "a2"), ALICE);
    for b in [&mut b1, &mut b2] {
        assert_available_from(&b.recv().await, &full(ALICE, "a2"), BOB);
    }
    marker(&mut a2, &mut carol, &full(CAROL, "c1"), "after-a2").await;
    // Nor did Bob's presence or anything else reach Carol on its own.
    carol.expect_nothing(QUIET).await;
    a1.ping("a1").await;
    a2.ping("a2").await;
}

/// An update (`<show/>`, `<status/>`) goes to Bob's resources and Alice's own, not to Carol,
/// and brings no probe answers back.
async fn presence_updates_are_broadcast(server: Arc<TestServer>) {
    let (mut b1, mut b2) = bob_online(&server).await;
    let mut carol = carol_online(&server).await;
    let (mut a1, _) = online(&server, "alice", "a1", None).await;
    for b in [&mut b1, &mut b2] {
        b.recv().await;
    }

    a1.send("<presence><show>away</show><status>lunch</status></presence>")
        .await;
    let got = a1.until_pong("update").await;
    assert_eq!(
        got.len(),
        1,
        "only the reflected update, no probes: {got:?}"
    );
    assert_available_from(&got[0], &full(ALICE, "a1"), ALICE);
    for b in [&mut b1, &mut b2] {
        let p = b.recv().await;
        assert_available_from(&p, &full(ALICE, "a1"), BOB);
        assert_eq!(
            p.child_text("show", ns::JABBER_CLIENT).as_deref(),
            Some("away")
        );
        assert_eq!(
            p.child_text("status", ns::JABBER_CLIENT).as_deref(),
            Some("lunch")
        );
    }
    marker(&mut a1, &mut carol, &full(CAROL, "c1"), "after-update").await;

    // Bob's update reaches Alice, not Carol.
    b1.send("<presence><show>dnd</show></presence>").await;
    let p = a1.recv().await;
    assert_available_from(&p, &full(BOB, "b1"), ALICE);
    assert_eq!(
        p.child_text("show", ns::JABBER_CLIENT).as_deref(),
        Some("dnd")
    );
    marker(&mut b1, &mut carol, &full(CAROL, "c1"), "after-bob-update").await;
    carol.expect_nothing(QUIET).await;
}

/// A connection dropped without `</stream:stream>`: Bob's resources and Alice's other resource
/// get `unavailable` from the lost resource; Carol does not. An explicit `unavailable` is
/// broadcast the same way, and the sender gets it too.
async fn unavailable_reaches_contacts_on_disconnect(server: Arc<TestServer>) {
    let (mut b1, mut b2) = bob_online(&server).await;
    let mut carol = carol_online(&server).await;
    let (a1, _) = online(&server, "alice", "a1", None).await;
    let (mut a2, _) = online(&server, "alice", "a2", None).await;
    for b in [&mut b1, &mut b2] {
        b.recv_n(2).await;
    }

    // The TCP connection goes away: no `</stream:stream>`, no TLS close_notify.
    drop(a1);
    for c in [&mut b1, &mut b2, &mut a2] {
        assert_unavailable_from(&c.recv().await, &full(ALICE, "a1"));
    }

    a2.send("<presence type='unavailable'/>").await;
    let got = a2.until_pong("gone").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_unavailable_from(&got[0], &full(ALICE, "a2"));
    for b in [&mut b1, &mut b2] {
        assert_unavailable_from(&b.recv().await, &full(ALICE, "a2"));
    }
    marker(&mut a2, &mut carol, &full(CAROL, "c1"), "after-unavailable").await;
    carol.expect_nothing(QUIET).await;
    b1.expect_nothing(QUIET).await;
}

/// Directed presence from Alice to Carol reaches Carol, to her bare JID from `a1` and to her
/// full JID from `a2`; Bob gets no copy, Carol's presence does not come back; when each of
/// Alice's connections drops, Carol gets `unavailable` from that resource, once, as Bob does.
async fn directed_presence_is_retracted_on_disconnect(server: Arc<TestServer>) {
    let (mut b1, mut b2) = bob_online(&server).await;
    let mut carol = carol_online(&server).await;
    let (mut a1, _) = online(&server, "alice", "a1", None).await;
    let (mut a2, _) = online(&server, "alice", "a2", None).await;
    a1.recv().await; // a2's presence
    for b in [&mut b1, &mut b2] {
        b.recv_n(2).await;
    }

    a1.send(&format!(
        "<presence to='{CAROL}'><status>hi Carol</status></presence>"
    ))
    .await;
    let p = carol.recv().await;
    assert_available_from(&p, &full(ALICE, "a1"), CAROL);
    assert_eq!(
        p.child_text("status", ns::JABBER_CLIENT).as_deref(),
        Some("hi Carol")
    );
    let carol_full = full(CAROL, "c1");
    a2.send(&format!("<presence to='{carol_full}'/>")).await;
    let p = carol.recv().await;
    assert_available_from(&p, &full(ALICE, "a2"), CAROL);
    assert_eq!(p.attr("to"), Some(carol_full.as_str()), "{p:?}");
    // Bob gets no copy of a directed presence, and Alice nothing back.
    marker(&mut a1, &mut b1, &full(BOB, "b1"), "b1-no-copy").await;
    marker(&mut a1, &mut b2, &full(BOB, "b2"), "b2-no-copy").await;
    a1.ping("nothing-back-1").await;
    a2.ping("nothing-back-2").await;

    for (c, resource) in [(a1, "a1"), (a2, "a2")] {
        drop(c);
        assert_unavailable_from(&carol.recv().await, &full(ALICE, resource));
        for b in [&mut b1, &mut b2] {
            assert_unavailable_from(&b.recv().await, &full(ALICE, resource));
        }
        carol.expect_nothing(QUIET).await;
    }
}

/// Presence extensions (XEP-0153 `vcard-temp:x:update`, XEP-0115 caps) arrive untouched: in
/// an update, in an initial presence, and in the probe answer a new resource of Bob gets.
async fn presence_extensions_are_forwarded_untouched(server: Arc<TestServer>) {
    let extensions = "<show>chat</show><status xml:lang='en'>around</status>\
        <priority>3</priority>\
        <x xmlns='vcard-temp:x:update'><photo>abc</photo></x>\
        <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' \
        node='https://example.org/client' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>";
    let sent = el(&format!(
        "<presence xmlns='jabber:client'>{extensions}</presence>"
    ));
    let children = |e: &Element| e.children().cloned().collect::<Vec<_>>();

    let (mut b1, _) = online(&server, "bob", "b1", None).await;
    // Initial presence with extensions.
    let mut a1 = Raw::login(&server, "alice", support::im::PASSWORD, "a1").await;
    a1.send(&format!("<presence>{extensions}</presence>")).await;
    let p = b1.recv().await;
    assert_available_from(&p, &full(ALICE, "a1"), BOB);
    assert_eq!(children(&p), children(&sent), "{p:?}");
    let got = a1.until_pong("initial").await;
    assert_eq!(
        children(&got[0]),
        children(&sent),
        "reflected: {:?}",
        got[0]
    );

    // The probe answer a new resource of Bob gets carries them too.
    let (_b2, got) = online(&server, "bob", "b2", None).await;
    let from_alice = got
        .iter()
        .find(|e| is_presence(e, &full(ALICE, "a1"), None))
        .unwrap_or_else(|| panic!("no presence from Alice: {got:?}"));
    assert_eq!(children(from_alice), children(&sent), "{from_alice:?}");
    b1.recv().await; // b2's presence

    // An update with a new photo hash.
    let updated = extensions.replace("<photo>abc</photo>", "<photo>def</photo>");
    a1.send(&format!("<presence>{updated}</presence>")).await;
    let p = b1.recv().await;
    let sent = el(&format!(
        "<presence xmlns='jabber:client'>{updated}</presence>"
    ));
    assert_eq!(children(&p), children(&sent), "{p:?}");
}

/// A probe from a client is answered as the server answers its own: Bob (subscribed) gets
/// Alice's presence, or `unavailable` from her bare JID when she is offline; Carol gets
/// nothing either way.
async fn probe_is_answered_only_for_subscribers(server: Arc<TestServer>) {
    let (mut b1, _b2) = bob_online(&server).await;
    let mut carol = carol_online(&server).await;
    let probe = format!("<presence type='probe' to='{ALICE}'/>");

    // Alice offline.
    b1.send(&probe).await;
    let got = b1.until_pong("probe-offline").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_unavailable_from(&got[0], ALICE);
    carol.send(&probe).await;
    let got = carol.until_pong("carol-probe-offline").await;
    assert!(
        got.is_empty(),
        "a probe from a stranger is not answered: {got:?}"
    );

    // Alice online.
    let (_a1, _) = online(&server, "alice", "a1", Some(2)).await;
    b1.recv().await; // her initial presence
    b1.send(&probe).await;
    let got = b1.until_pong("probe-online").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_available_from(&got[0], &full(ALICE, "a1"), BOB);
    assert_eq!(
        got[0].child_text("priority", ns::JABBER_CLIENT).as_deref(),
        Some("2")
    );
    carol.send(&probe).await;
    let got = carol.until_pong("carol-probe-online").await;
    assert!(
        got.is_empty(),
        "a probe from a stranger is not answered: {got:?}"
    );
    carol.expect_nothing(QUIET).await;
}

/// A `<priority/>` that is not an `xs:byte`, or two of them, is `bad-request`; the presence
/// is not broadcast, and the session does not become available.
async fn invalid_priority_is_bad_request(server: Arc<TestServer>) {
    let (mut b1, _) = online(&server, "bob", "b1", None).await;
    let mut a1 = Raw::login(&server, "alice", support::im::PASSWORD, "a1").await;
    for (id, payload) in [
        ("word", "<priority>high</priority>"),
        ("range", "<priority>128</priority>"),
        ("fraction", "<priority>1.5</priority>"),
        ("two", "<priority>1</priority><priority>2</priority>"),
    ] {
        a1.send(&format!("<presence id='{id}'>{payload}</presence>"))
            .await;
        let reply = a1.recv().await;
        assert!(reply.is("presence", ns::JABBER_CLIENT), "{reply:?}");
        assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
        assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
        assert_eq!(
            stanza_error(&reply).condition,
            StanzaCondition::BadRequest,
            "{reply:?}"
        );
        a1.ping(&format!("after-{id}")).await;
        marker(&mut a1, &mut b1, &full(BOB, "b1"), &format!("b1-{id}")).await;
    }
    // A valid one still works, at the extremes of the range.
    a1.send("<presence><priority>-128</priority></presence>")
        .await;
    assert_available_from(&b1.recv().await, &full(ALICE, "a1"), BOB);
    a1.send("<presence><priority> 127 </priority></presence>")
        .await;
    assert_available_from(&b1.recv().await, &full(ALICE, "a1"), BOB);
}

/// A server with Alice and Bob subscribed to each other and Carol, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        for user in ["alice", "bob", "carol"] {
            add_user(&server, user).await;
        }
        subscribe_both(&server, ALICE, BOB).await;
        scenario(server).await;
    })
    .await;
}

on_both_backends!(
    initial_presence_reaches_subscribers_and_own_resources => "",
    presence_updates_are_broadcast => "",
    unavailable_reaches_contacts_on_disconnect => "",
    directed_presence_is_retracted_on_disconnect => "",
    presence_extensions_are_forwarded_untouched => "",
    probe_is_answered_only_for_subscribers => "",
    invalid_priority_is_bad_request => "",
);
