//! Client state indication (XEP-0352, `urn:xmpp:csi:0`) over real sockets: the `<csi/>`
//! feature after authentication; while Bob's `desk` says `<inactive/>`, Alice's presence
//! changes and chat states are held (only her latest presence is kept) and go out, in order,
//! before the next message with a body, or when Bob says `<active/>`; Bob's `laptop`, which
//! stays active, gets everything at once.
//!
//! Alice and Bob are subscribed to each other (through the storage API). Whether something
//! is held is seen without sleeping where the order of streams allows it (Alice's ping
//! answer shows her broadcasts were routed; a ping answer on Bob's stream shows his
//! `<inactive/>` was read before), and with a short bounded wait where only "nothing
//! arrives" can show it. Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is
//! set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use support::im::{PASSWORD, add_user, is_message, is_presence, marker, online, subscribe_both};
use support::raw::Raw;
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, ns};
use xmpp_sasl::Mechanism;

const ALICE: &str = "alice@localhost";
const ALICE_PHONE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";
const BOB_DESK: &str = "bob@localhost/desk";
const BOB_LAPTOP: &str = "bob@localhost/laptop";

/// How long to wait for what must not arrive (it would come from another session's work).
const QUIET: Duration = Duration::from_millis(300);

const INACTIVE: &str = "<inactive xmlns='urn:xmpp:csi:0'/>";
const ACTIVE: &str = "<active xmlns='urn:xmpp:csi:0'/>";

/// CSI off.
const DISABLED: &str = "[csi]\nenabled = false\n";

/// Alice's presence with `show` and `status`.
fn presence(show: &str, status: &str) -> String {
    format!("<presence><show>{show}</show><status>{status}</status></presence>")
}

/// `e` is Alice's available presence with this status.
#[track_caller]
fn assert_alice_presence(e: &Element, status: &str) {
    assert!(
        is_presence(e, ALICE_PHONE, None),
        "expected Alice's presence, got {e:?}"
    );
    assert_eq!(
        e.child_text("status", ns::JABBER_CLIENT).as_deref(),
        Some(status),
        "{e:?}"
    );
}

/// A chat state (`composing`, no body) from Alice to Bob's bare JID.
fn composing(id: &str) -> String {
    format!(
        "<message to='{BOB}' type='chat' id='{id}'><composing xmlns='{}'/></message>",
        ns::CHATSTATES
    )
}

/// Bob's `desk` and `laptop` and Alice's `phone`, available, subscribed to each other, every
/// queue drained.
async fn online_three(server: &TestServer) -> (Raw, Raw, Raw) {
    subscribe_both(server, ALICE, BOB).await;
    let (mut desk, got) = online(server, "bob", "desk", None).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let (mut laptop, _) = online(server, "bob", "laptop", None).await;
    let p = desk.recv().await;
    assert!(is_presence(&p, BOB_LAPTOP, None), "{p:?}");
    let (alice, got) = online(server, "alice", "phone", None).await;
    assert_eq!(got.len(), 3, "her own presence and Bob's two: {got:?}");
    for c in [&mut desk, &mut laptop] {
        let p = c.recv().await;
        assert!(is_presence(&p, ALICE_PHONE, None), "{p:?}");
    }
    (desk, laptop, alice)
}

/// `c` says it is inactive, and the server has read it (the ping answer comes after).
async fn go_inactive(c: &mut Raw) {
    c.send(INACTIVE).await;
    c.ping("inactive").await;
}

/// `<csi xmlns='urn:xmpp:csi:0'/>` is offered after authentication, not before.
async fn offered_after_authentication_only(server: Arc<TestServer>) {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    let (_, before) = c.open("localhost").await;
    assert!(!before.has_child("csi", ns::CSI), "{before:?}");
    let (result, _, _) = c
        .authenticate(Mechanism::ScramSha256, "alice", PASSWORD)
        .await;
    assert!(result.is("success", ns::SASL), "{result:?}");
    let (_, after) = c.open("localhost").await;
    assert!(after.has_child("csi", ns::CSI), "{after:?}");
}

/// `[csi] enabled = false`: no feature.
async fn disabled_is_not_offered(server: Arc<TestServer>) {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    c.open("localhost").await;
    let (result, _, _) = c
        .authenticate(Mechanism::ScramSha256, "alice", PASSWORD)
        .await;
    assert!(result.is("success", ns::SASL), "{result:?}");
    let (_, after) = c.open("localhost").await;
    assert!(!after.has_child("csi", ns::CSI), "{after:?}");
}

/// While `desk` is inactive, Alice changes her presence three times and starts typing:
/// `desk` receives nothing, `laptop` (active) receives all four at once. Then Alice sends a
/// message with a body: `desk` receives what was held first, in order, with only her latest
/// presence, then the message; and nothing more.
async fn inactive_holds_presence_and_chat_states_until_a_message(server: Arc<TestServer>) {
    let (mut desk, mut laptop, mut alice) = online_three(&server).await;
    go_inactive(&mut desk).await;

    for (show, status) in [("away", "one"), ("xa", "two"), ("dnd", "three")] {
        alice.send(&presence(show, status)).await;
    }
    alice.send(&composing("typing")).await;
    // Her own presence comes back to her three times; the ping answer after them shows the
    // broadcasts were routed.
    let own = alice.until_pong("sent").await;
    assert_eq!(own.len(), 3, "{own:?}");

    for status in ["one", "two", "three"] {
        assert_alice_presence(&laptop.recv().await, status);
    }
    let typing = laptop.recv().await;
    assert!(is_message(&typing, "typing"), "{typing:?}");
    desk.expect_nothing(QUIET).await;

    alice
        .send(&format!(
            "<message to='{BOB}' type='chat' id='hello'><body>hello</body></message>"
        ))
        .await;
    assert_alice_presence(&desk.recv().await, "three");
    let typing = desk.recv().await;
    assert!(is_message(&typing, "typing"), "{typing:?}");
    let hello = desk.recv().await;
    assert!(is_message(&hello, "hello"), "{hello:?}");
    assert_eq!(
        hello.child_text("body", ns::JABBER_CLIENT).as_deref(),
        Some("hello")
    );
    // Nothing else was held (the ping answer is never held).
    desk.ping("after-flush").await;
    // The laptop got the message too (same priority), after the typing.
    let hello = laptop.recv().await;
    assert!(is_message(&hello, "hello"), "{hello:?}");
}

/// `<active/>` sends what was held (Alice's latest presence, then her chat state), and
/// from then on nothing is held: her next presence arrives at once.
async fn active_flushes_what_is_held(server: Arc<TestServer>) {
    let (mut desk, _laptop, mut alice) = online_three(&server).await;
    go_inactive(&mut desk).await;
    alice.send(&presence("away", "one")).await;
    alice.send(&presence("dnd", "two")).await;
    alice.send(&composing("typing")).await;
    alice.until_pong("sent").await;
    desk.expect_nothing(QUIET).await;

    desk.send(ACTIVE).await;
    assert_alice_presence(&desk.recv().await, "two");
    let typing = desk.recv().await;
    assert!(is_message(&typing, "typing"), "{typing:?}");
    desk.ping("flushed").await;

    alice.send(&presence("chat", "three")).await;
    alice.until_pong("sent-again").await;
    assert_alice_presence(&desk.recv().await, "three");
    marker(&mut alice, &mut desk, BOB_DESK, "after-active").await;
}

/// Alice and Bob, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        for user in ["alice", "bob"] {
            add_user(&server, user).await;
        }
        scenario(server).await;
    })
    .await;
}

on_both_backends!(
    offered_after_authentication_only => "",
    disabled_is_not_offered => DISABLED,
    inactive_holds_presence_and_chat_states_until_a_message => "",
    active_flushes_what_is_held => "",
);
