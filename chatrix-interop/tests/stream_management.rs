//! Stream management (XEP-0198, `urn:xmpp:sm:3`) over real sockets: the `<sm/>` feature
//! after authentication, `<enable/>`, acknowledgements both ways with `h` counting every
//! stanza, resumption after a connection drops mid-conversation with nothing lost and
//! nothing repeated, the refusals of resumption (another account, an unknown id, after a
//! password change, after the timeout, whose unacknowledged messages then come from offline
//! storage), and "ack means durable": a message the server acknowledged is in the archives.
//!
//! A dropped connection is a socket closed without `</stream:stream>`. The only waits are
//! for real timeouts (`resume_timeout_secs`), and they poll the storage rather than sleep a
//! guessed time. Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on
//! PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::im::{
    PASSWORD, account, add_user, is_message, is_presence, message, online, online_quiet,
};
use support::raw::{READ_TIMEOUT, Raw};
use support::sm::{
    ENABLE, ENABLE_RESUME, SmClient, assert_failed_item_not_found, authenticated, bind, h_of,
    is_request, resume, try_resume,
};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, StreamCondition, ns};

const ALICE: &str = "alice@localhost";
const ALICE_PHONE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";
const BOB_DESK: &str = "bob@localhost/desk";

/// A strong password for the password change (the policy refuses weak ones).
const NEW_PASSWORD: &str = "Tr0ub4dor and 3 more words";

/// Resumption for one second: for the timeout.
const ONE_SECOND: &str = "[stream_management]\nresume_timeout_secs = 1\n";
/// Resumption off; acknowledgements on.
const NO_RESUMPTION: &str = "[stream_management]\nresume_timeout_secs = 0\n";
/// No stream management at all.
const DISABLED: &str = "[stream_management]\nenabled = false\n";
/// At most ten unacknowledged stanzas.
const TEN_UNACKED: &str = "[stream_management]\nmax_unacked = 10\n";

/// `m` is Bob's chat `id` (body `id`) from his desk.
#[track_caller]
fn assert_from_bob(m: &Element, id: &str) {
    assert!(is_message(m, id), "expected message {id}, got {m:?}");
    assert_eq!(m.attr("from"), Some(BOB_DESK), "{m:?}");
    assert_eq!(
        m.child_text("body", ns::JABBER_CLIENT).as_deref(),
        Some(id),
        "{m:?}"
    );
}

/// Alice, resumable, with initial presence sent and everything it brought read (her own
/// presence reflected, and that of her other resources: she has no contacts). Returns her
/// and her resumption id.
async fn alice_resumable(server: &TestServer, resource: &str) -> (SmClient, String) {
    let (mut alice, id) = SmClient::login_resumable(server, "alice", PASSWORD, resource).await;
    alice.send_stanza("<presence/>").await;
    let got = alice.until_pong("online").await;
    let me = format!("{ALICE}/{resource}");
    assert!(
        got.first().is_some_and(|p| is_presence(p, &me, None)),
        "the reflected presence first: {got:?}"
    );
    assert!(
        got.iter().all(|p| p.is("presence", ns::JABBER_CLIENT)),
        "only presence: {got:?}"
    );
    (alice, id)
}

/// Waits (polling the storage, up to [`READ_TIMEOUT`]) until `jid` has `n` offline messages:
/// for what the server does when a resumption times out.
async fn wait_for_offline(server: &TestServer, jid: &str, n: u64) {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let count = server
            .ctx
            .storage
            .offline_count(&account(jid))
            .await
            .unwrap_or_else(|e| panic!("offline count: {e}"));
        if count == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{jid} has {count} offline messages, not {n}, after {READ_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `id`s of the messages in the archive of `c`'s account (one page, oldest first);
/// the server's `<r/>`s are skipped.
async fn archived_ids(c: &mut Raw, qid: &str) -> Vec<String> {
    c.send(&format!(
        "<iq type='set' id='{qid}'><query xmlns='{}' queryid='{qid}'/></iq>",
        ns::MAM
    ))
    .await;
    let mut ids = Vec::new();
    loop {
        let e = c.recv().await;
        if is_request(&e) {
            continue;
        }
        if e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some(qid) {
            assert_eq!(e.attr("type"), Some("result"), "{e:?}");
            return ids;
        }
        let inner = e
            .get_child("result", ns::MAM)
            .and_then(|r| r.get_child("forwarded", ns::FORWARD))
            .and_then(|f| f.get_child("message", ns::JABBER_CLIENT))
            .unwrap_or_else(|| panic!("not an archive result: {e:?}"));
        ids.push(inner.attr("id").unwrap_or_default().to_owned());
    }
}

// ---------------------------------------------------------------------------------------------
// The feature and <enable/>

/// `<sm xmlns='urn:xmpp:sm:3'/>` is offered after authentication, not before (XEP-0198 §2).
async fn offered_after_authentication_only(server: Arc<TestServer>) {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    let (_, before) = c.open("localhost").await;
    assert!(!before.has_child("sm", ns::SM), "{before:?}");
    drop(c);
    let (_, after) = authenticated(&server, "alice", PASSWORD).await;
    assert!(after.has_child("sm", ns::SM), "{after:?}");
}

/// `enabled = false`: no feature, and an `<enable/>` is a top-level element the server does
/// not support (RFC 6120 §4.9.3.24).
async fn disabled_is_not_offered(server: Arc<TestServer>) {
    let (mut c, features) = authenticated(&server, "alice", PASSWORD).await;
    assert!(!features.has_child("sm", ns::SM), "{features:?}");
    bind(&mut c, "alice", "phone").await;
    c.send(ENABLE).await;
    c.expect_stream_error(StreamCondition::UnsupportedStanzaType)
        .await;
}

/// `<enable resume='true'/>` → `<enabled id='…' resume='true' max='…'/>` with the configured
/// timeout (300 s by default) as `max`; a plain `<enable/>` → `<enabled/>` without an id; a
/// second `<enable/>` is refused with `<failed/>` and the stream goes on.
async fn enable_with_and_without_resumption(server: Arc<TestServer>) {
    let mut a = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    let enabled = a.enable(ENABLE_RESUME).await;
    assert_eq!(enabled.attr("resume"), Some("true"), "{enabled:?}");
    assert!(
        enabled.attr("id").is_some_and(|id| !id.is_empty()),
        "{enabled:?}"
    );
    assert_eq!(enabled.attr("max"), Some("300"), "{enabled:?}");
    a.send_nonza(ENABLE).await;
    let again = a.recv().await;
    assert!(again.is("failed", ns::SM), "a second <enable/>: {again:?}");
    a.ping("still-up").await;

    let mut b = SmClient::login(&server, "bob", PASSWORD, "desk").await;
    let enabled = b.enable(ENABLE).await;
    assert_eq!(enabled.attr("id"), None, "{enabled:?}");
    assert!(
        enabled
            .attr("resume")
            .is_none_or(|r| r == "false" || r == "0"),
        "{enabled:?}"
    );
    b.assert_all_handled().await;
}

/// `resume_timeout_secs = 0`: resumption is not granted (`<enabled/>` without id and
/// `resume`), acknowledgements still work.
async fn no_resumption_when_the_timeout_is_zero(server: Arc<TestServer>) {
    let mut a = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    let enabled = a.enable(ENABLE_RESUME).await;
    assert_eq!(enabled.attr("id"), None, "{enabled:?}");
    assert!(
        enabled
            .attr("resume")
            .is_none_or(|r| r == "false" || r == "0"),
        "{enabled:?}"
    );
    a.ping("p").await;
    a.assert_all_handled().await;
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements

/// `<r/>` → `<a h='N'/>`, N counting every stanza the client sent since `<enable/>` (a
/// presence, a ping, a message, a roster get), none from before.
async fn ack_counts_the_stanzas_the_client_sent(server: Arc<TestServer>) {
    let mut a = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    a.raw.ping("before-enable").await;
    a.enable(ENABLE).await;
    a.assert_all_handled().await;
    assert_eq!(a.outbound, 0);
    a.send_stanza("<presence/>").await;
    a.until_pong("p1").await;
    a.send_stanza(&message(BOB, Some("chat"), "m1", "m1")).await;
    a.send_stanza(&format!(
        "<iq type='get' id='roster'><query xmlns='{}'/></iq>",
        ns::ROSTER
    ))
    .await;
    let (h, before) = a.request_ack().await;
    assert_eq!(h, 4, "presence, ping, message, roster get");
    assert!(
        before
            .iter()
            .any(|e| e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some("roster")),
        "the roster result comes before the <a/> that counts its request: {before:?}"
    );
    // And again, with nothing new: the same count.
    a.assert_all_handled().await;
}

/// The server asks for an acknowledgement (`<r/>`) after sending a stanza, and accepts the
/// client's `<a/>`.
async fn server_requests_acks(server: Arc<TestServer>) {
    let mut a = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    a.enable(ENABLE).await;
    let mut bob = Raw::login(&server, "bob", PASSWORD, "desk").await;
    bob.send(&message(ALICE_PHONE, Some("chat"), "hello", "hello"))
        .await;
    let m = a.recv_any().await;
    assert_from_bob(&m, "hello");
    let r = a.recv_any().await;
    assert!(is_request(&r), "expected <r/> after the message, got {r:?}");
    a.ack_all().await;
    assert_eq!(a.inbound, 1);
    a.ping("after-ack").await;
}

/// A client `<a h/>` beyond what it was sent ends the stream: `undefined-condition` with
/// `<handled-count-too-high xmlns='urn:xmpp:sm:3'/>` (XEP-0198 §6).
async fn handled_count_too_high_is_a_stream_error(server: Arc<TestServer>) {
    let mut a = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    a.enable(ENABLE).await;
    a.ping("one").await;
    assert_eq!(a.inbound, 1);
    a.ack(2).await;
    let error = a
        .expect_stream_error(StreamCondition::UndefinedCondition)
        .await;
    let app = error
        .app_condition
        .unwrap_or_else(|| panic!("no application condition"));
    assert!(app.is("handled-count-too-high", ns::SM), "{app:?}");
}

/// With `max_unacked = 10`, a client that never acknowledges has its stream closed with
/// `policy-violation`; no message is lost: every message Bob sent (those it was sent
/// without acknowledging, and those after) comes from offline storage at its next login,
/// each once, with `<delay/>`. Bob gets no error.
async fn too_many_unacked_closes_the_stream_and_loses_nothing(server: Arc<TestServer>) {
    let mut bob = Raw::login(&server, "bob", PASSWORD, "desk").await;
    let mut a = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    a.enable(ENABLE).await;
    a.send_stanza("<presence/>").await;
    a.until_pong("online").await;
    let ids: Vec<String> = (1..=12).map(|i| format!("t{i}")).collect();
    for id in &ids {
        bob.send(&message(ALICE, Some("chat"), id, id)).await;
    }
    bob.ping("no-error").await;
    loop {
        let e = a.recv().await;
        if e.is("error", ns::STREAM) {
            let error =
                xmpp_core::StreamError::from_element(&e).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(error.condition, StreamCondition::PolicyViolation, "{e:?}");
            a.raw.expect_end().await;
            break;
        }
        assert!(e.is("message", ns::JABBER_CLIENT), "{e:?}");
    }
    wait_for_offline(&server, ALICE, 12).await;
    let (_alice, got) = online(&server, "alice", "laptop", None).await;
    let messages: Vec<&Element> = got
        .iter()
        .filter(|e| e.is("message", ns::JABBER_CLIENT))
        .collect();
    for m in &messages {
        assert!(m.has_child("delay", ns::DELAY), "{m:?}");
    }
    // XEP-0198 does not say in which order stanzas that were sent but unacknowledged and
    // stanzas that came after are stored: each once is what matters.
    let mut got_ids: Vec<String> = messages
        .iter()
        .map(|m| m.attr("id").unwrap_or_default().to_owned())
        .collect();
    got_ids.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(0));
    assert_eq!(got_ids, ids, "{got:?}");
}

// ---------------------------------------------------------------------------------------------
// Resumption

/// The main scenario: Alice (resumable) and Bob talk; Bob sends 1..3, Alice reads them and
/// acknowledges only 1; her connection drops; Bob sends 4..6 without an error; Alice comes
/// back on a new connection and resumes: `<resumed previd h/>` (h counting what she sent),
/// then exactly 2..6, once each, in order, and nothing else; the session goes on (Bob's
/// next message arrives, `<r/>` is answered).
async fn drop_mid_conversation_resume_no_loss_no_duplicate(server: Arc<TestServer>) {
    let mut bob = online_quiet(&server, "bob", "desk", None).await;
    let (mut alice, id) = alice_resumable(&server, "phone").await;
    for i in 1..=3 {
        let id = format!("m{i}");
        bob.send(&message(ALICE, Some("chat"), &id, &id)).await;
    }
    let mut h_first = 0;
    for i in 1..=3 {
        let m = alice.recv_stanza().await;
        assert_from_bob(&m, &format!("m{i}"));
        if i == 1 {
            h_first = alice.inbound;
        }
    }
    // Acknowledge only m1; the <a/> to our <r/> shows the server read the acknowledgement.
    alice.ack(h_first).await;
    alice.assert_all_handled().await;
    let (jid, outbound) = (alice.jid.clone(), alice.outbound);
    drop(alice);

    for i in 4..=6 {
        let id = format!("m{i}");
        bob.send(&message(ALICE, Some("chat"), &id, &id)).await;
    }
    bob.ping("no-error").await;

    let (mut alice, _) = resume(&server, "alice", PASSWORD, &id, &jid, outbound, h_first).await;
    for i in 2..=6 {
        let m = alice.recv_stanza().await;
        assert_from_bob(&m, &format!("m{i}"));
    }
    let rest = alice.until_pong("after-resume").await;
    assert!(rest.is_empty(), "after m6, nothing but the pong: {rest:?}");

    bob.send(&message(ALICE, Some("chat"), "m7", "m7")).await;
    assert_from_bob(&alice.recv_stanza().await, "m7");
    alice.assert_all_handled().await;
    alice.ack_all().await;
    alice.ping("acked").await;
    // Alice answers Bob on the resumed session, from the same full JID.
    alice
        .send_stanza(&message(BOB_DESK, Some("chat"), "reply", "reply"))
        .await;
    let reply = bob.recv().await;
    assert!(is_message(&reply, "reply"), "{reply:?}");
    assert_eq!(reply.attr("from"), Some(ALICE_PHONE), "{reply:?}");
}

/// A resumption on a new connection while the old one still looks alive to the server (a
/// phone that changed networks): the new stream gets the session, the old connection is
/// closed, and Bob's next message arrives on the new one only.
async fn resume_takes_over_a_connection_still_open(server: Arc<TestServer>) {
    let mut bob = online_quiet(&server, "bob", "desk", None).await;
    let (mut old, id) = alice_resumable(&server, "phone").await;
    old.assert_all_handled().await;
    let (jid, outbound, inbound) = (old.jid.clone(), old.outbound, old.inbound);
    let (mut alice, _) = resume(&server, "alice", PASSWORD, &id, &jid, outbound, inbound).await;
    alice.ping("resumed").await;
    // The old connection ends (with a stream error or without); nothing else comes on it.
    loop {
        match old.raw.next().await {
            support::raw::Got::Closed => break,
            support::raw::Got::Event(xmpp_stream::FrameEvent::Element(e)) => {
                assert!(
                    is_request(&e) || e.is("error", ns::STREAM),
                    "on the replaced connection: {e:?}"
                );
            }
            support::raw::Got::Event(_) => {}
        }
    }
    bob.send(&message(ALICE, Some("chat"), "after", "after"))
        .await;
    assert_from_bob(&alice.recv_stanza().await, "after");
}

/// Bob cannot resume Alice's session with her id: `<failed><item-not-found/></failed>`, and
/// he can bind normally on the same stream. Alice's session was not harmed: she resumes it.
async fn another_account_cannot_resume(server: Arc<TestServer>) {
    let (mut alice, id) = alice_resumable(&server, "phone").await;
    alice.assert_all_handled().await;
    let (jid, outbound, inbound) = (alice.jid.clone(), alice.outbound, alice.inbound);
    drop(alice);

    let (mut bob, answer) = try_resume(&server, "bob", PASSWORD, &id, 0).await;
    assert_failed_item_not_found(&answer);
    bind(&mut bob, "bob", "desk").await;
    bob.ping("bob-bound").await;

    let (mut alice, _) = resume(&server, "alice", PASSWORD, &id, &jid, outbound, inbound).await;
    alice.ping("alice-back").await;
}

/// An id the server never gave: `<failed><item-not-found/></failed>`; the client binds on
/// the same stream and enables stream management afresh.
async fn unknown_id_fails(server: Arc<TestServer>) {
    let (mut c, answer) = try_resume(
        &server,
        "alice",
        PASSWORD,
        "0123456789abcdef0123456789abcdef",
        0,
    )
    .await;
    assert_failed_item_not_found(&answer);
    bind(&mut c, "alice", "phone").await;
    let mut c = SmClient::over(c, ALICE_PHONE.to_owned());
    let enabled = c.enable(ENABLE_RESUME).await;
    assert!(enabled.attr("id").is_some(), "{enabled:?}");
    c.ping("bound").await;
    c.assert_all_handled().await;
}

/// After a password change, a session kept for resumption can no longer be resumed. Two
/// sessions drop; the first is resumed (so resumption works here), changes the password
/// (XEP-0077 §3.3); the second then fails, even with the new password.
async fn password_change_ends_resumption(server: Arc<TestServer>) {
    let (one, id1) = alice_resumable(&server, "one").await;
    let (two, id2) = alice_resumable(&server, "two").await;
    let (jid1, out1, in1) = (one.jid.clone(), one.outbound, one.inbound);
    drop(one);
    drop(two);

    let (mut one, _) = resume(&server, "alice", PASSWORD, &id1, &jid1, out1, in1).await;
    one.send_stanza(&format!(
        "<iq type='set' id='change' to='localhost'><query xmlns='{}'>\
         <username>alice</username><password>{NEW_PASSWORD}</password></query></iq>",
        ns::REGISTER
    ))
    .await;
    // The presence of `two` going away may come first.
    let reply = loop {
        let e = one.recv_stanza().await;
        if e.is("iq", ns::JABBER_CLIENT) {
            break e;
        }
    };
    assert_eq!(reply.attr("id"), Some("change"), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");

    let (_, answer) = try_resume(&server, "alice", NEW_PASSWORD, &id2, 0).await;
    assert_failed_item_not_found(&answer);
}

/// `resume_timeout_secs = 1`: Alice drops with two messages unacknowledged (one she was
/// sent, one that came after the drop). Once the timeout has passed (the server stores
/// them offline), her resumption fails, and a fresh login with initial presence brings
/// both from offline storage, with `<delay/>`, in order, exactly once.
async fn resumption_times_out_and_unacked_go_offline(server: Arc<TestServer>) {
    let mut bob = online_quiet(&server, "bob", "desk", None).await;
    let mut alice = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    let enabled = alice.enable(ENABLE_RESUME).await;
    assert_eq!(enabled.attr("max"), Some("1"), "{enabled:?}");
    let id = enabled.attr("id").unwrap_or_default().to_owned();
    alice.send_stanza("<presence/>").await;
    alice.until_pong("online").await;
    alice.ack_all().await;
    alice.assert_all_handled().await;
    let acked = alice.inbound;

    bob.send(&message(ALICE, Some("chat"), "t1", "t1")).await;
    assert_from_bob(&alice.recv_stanza().await, "t1");
    let outbound = alice.outbound;
    drop(alice);
    bob.send(&message(ALICE, Some("chat"), "t2", "t2")).await;
    bob.ping("no-error").await;

    wait_for_offline(&server, ALICE, 2).await;
    let (mut c, answer) = try_resume(&server, "alice", PASSWORD, &id, acked).await;
    assert_failed_item_not_found(&answer);
    if answer.attr("h").is_some() {
        assert_eq!(h_of(&answer), outbound, "{answer:?}");
    }
    bind(&mut c, "alice", "phone").await;
    c.send("<presence/>").await;
    let got = c.until_pong("fresh").await;
    let messages: Vec<&Element> = got
        .iter()
        .filter(|e| e.is("message", ns::JABBER_CLIENT))
        .collect();
    assert_eq!(messages.len(), 2, "{got:?}");
    for (m, id) in messages.iter().zip(["t1", "t2"]) {
        assert_from_bob(m, id);
        assert!(m.has_child("delay", ns::DELAY), "{m:?}");
    }
    let (_, got) = online(&server, "alice", "laptop", None).await;
    assert!(
        !got.iter().any(|e| e.is("message", ns::JABBER_CLIENT)),
        "delivered twice: {got:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Ack means durable

/// Alice sends Bob (offline) a message, then `<r/>`; once the server's `<a/>` counts it,
/// the message is in her archive and in Bob's (ARCHITECTURE.md principle 7), with no wait.
async fn acknowledged_message_is_archived(server: Arc<TestServer>) {
    let mut alice = SmClient::login(&server, "alice", PASSWORD, "phone").await;
    alice.enable(ENABLE).await;
    alice
        .send_stanza(&message(BOB, Some("chat"), "durable", "durable"))
        .await;
    alice.assert_all_handled().await;
    let mine = archived_ids(&mut alice.raw, "mam-alice").await;
    assert_eq!(mine, ["durable"]);
    let mut bob = Raw::login(&server, "bob", PASSWORD, "desk").await;
    let his = archived_ids(&mut bob, "mam-bob").await;
    assert_eq!(his, ["durable"]);
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
    offered_after_authentication_only => "",
    disabled_is_not_offered => DISABLED,
    enable_with_and_without_resumption => "",
    no_resumption_when_the_timeout_is_zero => NO_RESUMPTION,
    ack_counts_the_stanzas_the_client_sent => "",
    server_requests_acks => "",
    handled_count_too_high_is_a_stream_error => "",
    too_many_unacked_closes_the_stream_and_loses_nothing => TEN_UNACKED,
    drop_mid_conversation_resume_no_loss_no_duplicate => "",
    resume_takes_over_a_connection_still_open => "",
    another_account_cannot_resume => "",
    unknown_id_fails => "",
    password_change_ends_resumption => "",
    resumption_times_out_and_unacked_go_offline => ONE_SECOND,
    acknowledged_message_is_archived => "",
);
