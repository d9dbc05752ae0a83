//! Offline storage (XEP-0160) with `<delay/>` stamps (XEP-0203) over real sockets, as
//! docs/im-core.md ("Offline storage") states it: messages to an account without an available
//! resource survive a server restart, come with the next initial presence in order, each
//! stamped by the server, exactly once; chat states alone are not kept; a full store and a
//! missing account both answer `service-unavailable`; the server announces `msgoffline`.
//!
//! Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL; the
//! restart keeps the data dir and the database and starts a new server over them.

mod support;

use std::future::Future;
use std::time::{Duration, SystemTime};

use support::im::{PASSWORD, account, add_user, is_message, message, online};
use support::raw::{Raw, stanza_error};
use support::{Backend, Servers, TestServer, on_both_backends, with_restartable_server};
use xmpp_core::{Element, ErrorType, StanzaCondition, StanzaError, ns};

const ALICE_FULL: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";

async fn alice(server: &TestServer) -> Raw {
    Raw::login(server, "alice", PASSWORD, "phone").await
}

/// The messages among what an initial presence brought.
fn messages(got: &[Element]) -> Vec<&Element> {
    got.iter()
        .filter(|e| e.is("message", ns::JABBER_CLIENT))
        .collect()
}

/// `got` is Alice's chat `id` (body `id`), delivered from offline storage: unchanged but for
/// one `<delay xmlns='urn:xmpp:delay' from='localhost' stamp=…>Offline Storage</delay>` whose
/// stamp is UTC with milliseconds and lies in `window`. Returns the stamp.
#[track_caller]
fn assert_offline(got: &Element, id: &str, window: (SystemTime, SystemTime)) -> SystemTime {
    assert!(is_message(got, id), "expected message {id}, got {got:?}");
    assert_eq!(got.attr("from"), Some(ALICE_FULL), "{got:?}");
    assert_eq!(got.attr("to"), Some(BOB), "{got:?}");
    assert_eq!(got.attr("type"), Some("chat"), "{got:?}");
    assert_eq!(
        got.child_text("body", ns::JABBER_CLIENT).as_deref(),
        Some(id)
    );
    let delays: Vec<&Element> = got
        .children()
        .filter(|c| c.is("delay", ns::DELAY))
        .collect();
    assert_eq!(delays.len(), 1, "one <delay/>: {got:?}");
    let delay = delays[0];
    assert_eq!(delay.attr("from"), Some("localhost"), "{got:?}");
    assert_eq!(delay.text(), "Offline Storage", "{got:?}");
    let stamp = delay
        .attr("stamp")
        .unwrap_or_else(|| panic!("no stamp: {got:?}"));
    // XEP-0082 in UTC with milliseconds: CCYY-MM-DDThh:mm:ss.sssZ.
    let shape = stamp.len() == 24
        && stamp.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            23 => c == 'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(shape, "stamp {stamp:?} is not CCYY-MM-DDThh:mm:ss.sssZ");
    let at = xmpp_core::datetime::parse(stamp).unwrap_or_else(|_| panic!("stamp {stamp:?}"));
    // Millisecond precision: allow the truncation below the window's start.
    let (start, end) = window;
    assert!(
        at + Duration::from_millis(1) >= start && at <= end,
        "stamp {stamp} is outside the time the message was sent"
    );
    at
}

/// Alice sends three chats to Bob, who is offline; the server restarts; Bob's initial
/// presence brings them, in order, each with the server's `<delay/>`, right after his own
/// presence; a second login (and a login after another restart) gets none.
async fn offline_messages_survive_a_restart_and_arrive_once_in_order(servers: Servers) {
    let server = servers.current();
    let start = SystemTime::now();
    let mut a = alice(&server).await;
    for id in ["o1", "o2", "o3"] {
        a.send(&message(BOB, Some("chat"), id, id)).await;
    }
    // No error: all three were taken.
    a.ping("stored").await;
    let end = SystemTime::now();
    assert_eq!(
        server.ctx.storage.offline_count(&account(BOB)).await.ok(),
        Some(3)
    );
    drop(a);

    let server = servers.restart().await;
    let (bob, got) = online(&server, "bob", "laptop", None).await;
    let delivered = messages(&got);
    assert_eq!(delivered.len(), 3, "{got:?}");
    assert_eq!(
        got.len(),
        4,
        "the reflected presence, then the messages: {got:?}"
    );
    let mut previous = None;
    for (m, id) in delivered.iter().zip(["o1", "o2", "o3"]) {
        let at = assert_offline(m, id, (start, end));
        assert!(
            previous.is_none_or(|p| p <= at),
            "stamps out of order: {got:?}"
        );
        previous = Some(at);
    }
    // Exactly once: a second resource coming online gets nothing stored.
    let (other, got) = online(&server, "bob", "phone", None).await;
    assert!(messages(&got).is_empty(), "delivered twice: {got:?}");
    drop(bob);
    drop(other);

    // Deleted for good: not even after another restart.
    let server = servers.restart().await;
    let (_bob, got) = online(&server, "bob", "laptop", None).await;
    assert!(messages(&got).is_empty(), "delivered again: {got:?}");
    assert_eq!(
        server.ctx.storage.offline_count(&account(BOB)).await.ok(),
        Some(0)
    );
}

/// Only `chat` and `normal` messages with content are kept: a chat-state-only message, one
/// with a `no-store` hint and a `headline` are dropped silently (no error); a chat state next
/// to a body does not stop the body from being kept.
async fn only_messages_with_content_are_stored(servers: Servers) {
    let server = servers.current();
    let mut a = alice(&server).await;
    let composing = "<composing xmlns='http://jabber.org/protocol/chatstates'/>";
    a.send(&format!(
        "<message to='{BOB}' type='chat' id='state'>{composing}</message>"
    ))
    .await;
    a.send(&format!(
        "<message to='{BOB}' type='chat' id='with-body'><body>with-body</body>\
         <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
    ))
    .await;
    a.send(&format!(
        "<message to='{BOB}' type='chat' id='no-store'><body>no-store</body>\
         <no-store xmlns='urn:xmpp:hints'/></message>"
    ))
    .await;
    a.send(&message(BOB, Some("headline"), "headline", "headline"))
        .await;
    a.send(&message(BOB, Some("normal"), "normal", "normal"))
        .await;
    a.ping("none-refused").await;

    let (_bob, got) = online(&server, "bob", "laptop", None).await;
    let ids: Vec<Option<&str>> = messages(&got).iter().map(|m| m.attr("id")).collect();
    assert_eq!(ids, [Some("with-body"), Some("normal")], "{got:?}");
    for m in messages(&got) {
        assert!(m.has_child("delay", ns::DELAY), "{m:?}");
    }
}

/// With `max_offline_messages = 3`, the fourth message is refused with `service-unavailable`
/// and the text "offline storage is full"; the first three are still delivered. A message to
/// an account that does not exist is refused with the same condition and type, and no text.
async fn full_offline_storage_is_service_unavailable(servers: Servers) {
    let server = servers.current();
    let mut a = alice(&server).await;
    for id in ["f1", "f2", "f3"] {
        a.send(&message(BOB, Some("chat"), id, id)).await;
    }
    a.ping("three-stored").await;
    a.send(&message(BOB, Some("chat"), "f4", "f4")).await;
    let reply = a.recv().await;
    assert!(reply.is("message", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("f4"), "{reply:?}");
    assert_eq!(reply.attr("from"), Some(BOB), "{reply:?}");
    assert_eq!(reply.attr("to"), Some(ALICE_FULL), "{reply:?}");
    let full = stanza_error(&reply);
    assert_eq!(
        full.condition,
        StanzaCondition::ServiceUnavailable,
        "{reply:?}"
    );
    assert_eq!(full.error_type, ErrorType::Cancel, "{reply:?}");
    let texts: Vec<&str> = full.texts.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["offline storage is full"], "{reply:?}");
    a.ping("after-full").await;

    // A missing account: the same condition and type.
    a.send(&message("nobody@localhost", Some("chat"), "missing", "x"))
        .await;
    let reply = a.recv().await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("missing"), "{reply:?}");
    assert_eq!(reply.attr("from"), Some("nobody@localhost"), "{reply:?}");
    let missing = stanza_error(&reply);
    assert_eq!(
        missing,
        StanzaError::new(StanzaCondition::ServiceUnavailable),
        "{reply:?}"
    );
    assert_eq!(
        (missing.condition, missing.error_type),
        (full.condition, full.error_type)
    );
    a.ping("after-missing").await;

    let (_bob, got) = online(&server, "bob", "laptop", None).await;
    let ids: Vec<Option<&str>> = messages(&got).iter().map(|m| m.attr("id")).collect();
    assert_eq!(ids, [Some("f1"), Some("f2"), Some("f3")], "{got:?}");
}

/// disco#info on the server lists `msgoffline` (XEP-0160 §4).
async fn disco_info_lists_msgoffline(servers: Servers) {
    let server = servers.current();
    let mut a = alice(&server).await;
    a.send(&format!(
        "<iq type='get' to='localhost' id='disco'><query xmlns='{}'/></iq>",
        ns::DISCO_INFO
    ))
    .await;
    let reply = a.recv().await;
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("disco"), "{reply:?}");
    let query = reply
        .get_child("query", ns::DISCO_INFO)
        .unwrap_or_else(|| panic!("no query: {reply:?}"));
    let features: Vec<&str> = query
        .children()
        .filter(|f| f.is("feature", ns::DISCO_INFO))
        .filter_map(|f| f.attr("var"))
        .collect();
    assert!(features.contains(&"msgoffline"), "{features:?}");
}

/// A restartable server with Alice and Bob, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Servers) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_restartable_server(backend, extra, |servers| async move {
        let server = servers.current();
        add_user(&server, "alice").await;
        add_user(&server, "bob").await;
        drop(server);
        scenario(servers).await;
    })
    .await;
}

on_both_backends!(
    offline_messages_survive_a_restart_and_arrive_once_in_order => "",
    only_messages_with_content_are_stored => "",
    full_offline_storage_is_service_unavailable =>
        "[account_classes.default]\nmax_offline_messages = 3\n",
    disco_info_lists_msgoffline => "",
);
