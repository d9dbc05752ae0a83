//! Message delivery (RFC 6121 §8.5) over real sockets, as docs/im-core.md ("Messages") states
//! it: Bob has resources at priorities 5, 5 and 1 (and, in some scenarios, one at a negative
//! priority and one that sent no presence); Alice sends every type of message to his bare JID,
//! to bound and unbound full JIDs, and to an account that does not exist.
//!
//! "Nothing arrives" is checked without sleeping: after the stanza under test Alice sends a
//! marker message to the resource's full JID, and that resource's next stanza must be the
//! marker (Alice's stanzas are routed in order, and one resource's queue is FIFO). Errors come
//! back on Alice's own stream, so a ping answer after them shows there is nothing more.
//! Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;

use support::im::{PASSWORD, is_message, marker, message, online, online_quiet};
use support::raw::{Raw, stanza_error};
use support::{Backend, TestServer, on_both_backends};
use xmpp_core::{Element, ErrorType, StanzaCondition, StanzaError, ns};

const ALICE_FULL: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";

/// Bob's three available resources: `b1` and `b2` at priority 5, `b3` at priority 1. Each
/// resource's queue is drained of the presence of the resources that came after it, so the
/// next stanza each gets is what the test sends.
struct Bob {
    b1: Raw,
    b2: Raw,
    b3: Raw,
}

impl Bob {
    async fn online(server: &TestServer) -> Self {
        let mut b1 = online_quiet(server, "bob", "b1", Some(5)).await;
        let mut b2 = online_quiet(server, "bob", "b2", Some(5)).await;
        let b3 = online_quiet(server, "bob", "b3", Some(1)).await;
        // Each resource's initial presence reaches the resources already available (§4.2.2).
        for (c, from) in [(1, "b2"), (1, "b3"), (2, "b3")] {
            let c = if c == 1 { &mut b1 } else { &mut b2 };
            let p = c.recv().await;
            assert!(
                p.is("presence", ns::JABBER_CLIENT)
                    && p.attr("from") == Some(&format!("{BOB}/{from}")),
                "expected the presence of {from}, got {p:?}"
            );
        }
        Self { b1, b2, b3 }
    }

    fn all(&mut self) -> [(&str, &mut Raw); 3] {
        [
            ("b1", &mut self.b1),
            ("b2", &mut self.b2),
            ("b3", &mut self.b3),
        ]
    }
}

/// Alice, logged in (no presence needed to send messages).
async fn alice(server: &TestServer) -> Raw {
    Raw::login(server, "alice", PASSWORD, "phone").await
}

/// `got` is the message Alice sent with `id`, from her full JID, addressed as she addressed it.
#[track_caller]
fn assert_delivered(got: &Element, id: &str, to: &str, ty: Option<&str>) {
    assert!(is_message(got, id), "expected message {id}, got {got:?}");
    assert_eq!(got.attr("from"), Some(ALICE_FULL), "{got:?}");
    assert_eq!(got.attr("to"), Some(to), "{got:?}");
    assert_eq!(got.attr("type"), ty, "{got:?}");
    assert_eq!(
        got.child_text("body", ns::JABBER_CLIENT).as_deref(),
        Some(id)
    );
}

/// Alice sends a message of type `ty` with id `id` to `to`; exactly the resources named in
/// `receivers` get it (once), the others get nothing, and Alice gets no error.
async fn expect_delivery(
    alice: &mut Raw,
    bob: &mut Bob,
    to: &str,
    ty: Option<&str>,
    id: &str,
    receivers: &[&str],
) {
    alice.send(&message(to, ty, id, id)).await;
    for (resource, c) in bob.all() {
        let full = format!("{BOB}/{resource}");
        if receivers.contains(&resource) {
            let got = c.recv().await;
            assert_delivered(&got, id, to, ty);
        }
        // Nothing else (no second copy, or no copy at all).
        marker(alice, c, &full, &format!("{id}-after-{resource}")).await;
    }
    alice.ping(&format!("{id}-no-error")).await;
}

/// Alice sends `stanza`; she gets it back as an error with `condition` (type `cancel`, no
/// text), from the address she sent it to, with her id; Bob's resources get nothing.
async fn expect_bounce(
    alice: &mut Raw,
    bob: &mut Bob,
    stanza: &str,
    id: &str,
    to: &str,
    condition: StanzaCondition,
) -> Element {
    alice.send(stanza).await;
    let reply = alice.recv().await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
    assert_eq!(reply.attr("from"), Some(to), "{reply:?}");
    assert_eq!(reply.attr("to"), Some(ALICE_FULL), "{reply:?}");
    let error = stanza_error(&reply);
    assert_eq!(error.condition, condition, "{reply:?}");
    assert_eq!(error.error_type, ErrorType::Cancel, "{reply:?}");
    assert!(error.texts.is_empty(), "{reply:?}");
    alice.ping(&format!("{id}-after-error")).await;
    for (resource, c) in bob.all() {
        marker(
            alice,
            c,
            &format!("{BOB}/{resource}"),
            &format!("{id}-{resource}"),
        )
        .await;
    }
    reply
}

// ---------------------------------------------------------------------------------------------
// To the bare JID (§8.5.2.1).

/// `chat` to the bare JID: the two resources at the highest priority, not the third.
async fn chat_to_bare_jid_reaches_the_highest_priority_resources(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    expect_delivery(&mut alice, &mut bob, BOB, Some("chat"), "c1", &["b1", "b2"]).await;
}

/// `normal` (explicit, and as the default type) likewise.
async fn normal_to_bare_jid_reaches_the_highest_priority_resources(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    expect_delivery(
        &mut alice,
        &mut bob,
        BOB,
        Some("normal"),
        "n1",
        &["b1", "b2"],
    )
    .await;
    expect_delivery(&mut alice, &mut bob, BOB, None, "n2", &["b1", "b2"]).await;
}

/// `headline`: every available resource with a non-negative priority.
async fn headline_to_bare_jid_reaches_every_resource(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    expect_delivery(
        &mut alice,
        &mut bob,
        BOB,
        Some("headline"),
        "h1",
        &["b1", "b2", "b3"],
    )
    .await;
}

/// `groupchat` to a bare JID: `service-unavailable`, and nobody gets it.
async fn groupchat_to_bare_jid_is_service_unavailable(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    expect_bounce(
        &mut alice,
        &mut bob,
        &message(BOB, Some("groupchat"), "g1", "g1"),
        "g1",
        BOB,
        StanzaCondition::ServiceUnavailable,
    )
    .await;
}

/// A resource at a negative priority and a bound resource that sent no presence never get
/// messages to the bare JID: with only those two, a chat is stored offline (Alice gets no
/// error) and a headline is dropped; once a resource at priority 0 is available, it alone gets
/// them. Both still get messages to their full JIDs.
async fn negative_priority_and_no_presence_get_no_bare_jid_messages(server: Arc<TestServer>) {
    let mut negative = online_quiet(&server, "bob", "negative", Some(-1)).await;
    let mut silent = Raw::login(&server, "bob", PASSWORD, "silent").await;
    let mut alice = alice(&server).await;

    alice
        .send(&message(BOB, Some("chat"), "stored", "stored"))
        .await;
    alice
        .send(&message(BOB, Some("headline"), "dropped", "dropped"))
        .await;
    alice
        .send(&message(
            BOB,
            Some("normal"),
            "stored-normal",
            "stored-normal",
        ))
        .await;
    alice.ping("no-error").await;
    marker(
        &mut alice,
        &mut negative,
        &format!("{BOB}/negative"),
        "m-neg-1",
    )
    .await;
    marker(
        &mut alice,
        &mut silent,
        &format!("{BOB}/silent"),
        "m-silent-1",
    )
    .await;

    // A resource at priority 0 comes online: the two stored messages come with its initial
    // presence (after the reflected presence and the presence of `negative`), the headline
    // does not.
    let (mut zero, got) = online(&server, "bob", "zero", Some(0)).await;
    let messages: Vec<&Element> = got
        .iter()
        .filter(|e| e.is("message", ns::JABBER_CLIENT))
        .collect();
    let ids: Vec<Option<&str>> = messages.iter().map(|m| m.attr("id")).collect();
    assert_eq!(ids, [Some("stored"), Some("stored-normal")], "{got:?}");
    for m in &messages {
        assert!(m.has_child("delay", ns::DELAY), "{m:?}");
    }
    // `negative` learns of `zero`'s presence; `silent` is not available and does not.
    let p = negative.recv().await;
    assert!(
        p.is("presence", ns::JABBER_CLIENT) && p.attr("from") == Some("bob@localhost/zero"),
        "{p:?}"
    );

    for (ty, id) in [
        (Some("chat"), "c"),
        (Some("normal"), "n"),
        (Some("headline"), "h"),
    ] {
        alice.send(&message(BOB, ty, id, id)).await;
        let got = zero.recv().await;
        assert_delivered(&got, id, BOB, ty);
        marker(
            &mut alice,
            &mut zero,
            &format!("{BOB}/zero"),
            &format!("{id}-zero"),
        )
        .await;
        marker(
            &mut alice,
            &mut negative,
            &format!("{BOB}/negative"),
            &format!("{id}-neg"),
        )
        .await;
        marker(
            &mut alice,
            &mut silent,
            &format!("{BOB}/silent"),
            &format!("{id}-silent"),
        )
        .await;
    }

    // Their full JIDs still work.
    for (c, resource) in [(&mut negative, "negative"), (&mut silent, "silent")] {
        let to = format!("{BOB}/{resource}");
        let id = format!("direct-{resource}");
        alice.send(&message(&to, Some("chat"), &id, &id)).await;
        let got = c.recv().await;
        assert_delivered(&got, &id, &to, Some("chat"));
    }
    alice.ping("end").await;
}

// ---------------------------------------------------------------------------------------------
// To a full JID (§8.5.3).

/// To a bound full JID: that resource only, whatever the type, even at the lowest priority.
async fn message_to_a_full_jid_reaches_only_that_resource(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    let to = format!("{BOB}/b3");
    for (ty, id) in [
        (Some("chat"), "f-chat"),
        (Some("normal"), "f-normal"),
        (None, "f-none"),
        (Some("headline"), "f-headline"),
        (Some("groupchat"), "f-groupchat"),
    ] {
        expect_delivery(&mut alice, &mut bob, &to, ty, id, &["b3"]).await;
    }
}

/// To a full JID that is not bound: `chat` and `normal` follow the bare-JID rules (the two
/// priority-5 resources); `headline` is dropped; `groupchat` gets `service-unavailable`.
async fn message_to_an_unbound_full_jid_follows_the_bare_rules(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    let to = format!("{BOB}/gone");
    expect_delivery(
        &mut alice,
        &mut bob,
        &to,
        Some("chat"),
        "u-chat",
        &["b1", "b2"],
    )
    .await;
    expect_delivery(
        &mut alice,
        &mut bob,
        &to,
        Some("normal"),
        "u-normal",
        &["b1", "b2"],
    )
    .await;
    expect_delivery(&mut alice, &mut bob, &to, None, "u-none", &["b1", "b2"]).await;
    expect_delivery(
        &mut alice,
        &mut bob,
        &to,
        Some("headline"),
        "u-headline",
        &[],
    )
    .await;
    expect_bounce(
        &mut alice,
        &mut bob,
        &message(&to, Some("groupchat"), "u-groupchat", "x"),
        "u-groupchat",
        &to,
        StanzaCondition::ServiceUnavailable,
    )
    .await;
}

/// An IQ request to a full JID that is not bound: `service-unavailable`.
async fn iq_to_an_unbound_full_jid_is_service_unavailable(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    let to = format!("{BOB}/gone");
    for ty in ["get", "set"] {
        let id = format!("iq-{ty}");
        expect_bounce(
            &mut alice,
            &mut bob,
            &format!("<iq type='{ty}' to='{to}' id='{id}'><query xmlns='jabber:iq:version'/></iq>"),
            &id,
            &to,
            StanzaCondition::ServiceUnavailable,
        )
        .await;
    }
    // A bound full JID gets the request itself.
    alice
        .send(&format!(
            "<iq type='get' to='{BOB}/b3' id='iq-bound'><query xmlns='jabber:iq:version'/></iq>"
        ))
        .await;
    let got = bob.b3.recv().await;
    assert!(got.is("iq", ns::JABBER_CLIENT), "{got:?}");
    assert_eq!(got.attr("id"), Some("iq-bound"), "{got:?}");
    assert_eq!(got.attr("from"), Some(ALICE_FULL), "{got:?}");
}

// ---------------------------------------------------------------------------------------------
// An account that does not exist.

/// `chat` and `normal` to an account that does not exist (bare, or a full JID of it):
/// `service-unavailable`, with exactly the `<error/>` an existing account's `groupchat`
/// refusal has (condition, type `cancel`, no text), so the reply does not tell that the
/// account is missing. A `headline` is dropped, as for an existing account without resources.
async fn message_to_a_missing_account_is_service_unavailable(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = alice(&server).await;
    let refused = expect_bounce(
        &mut alice,
        &mut bob,
        &message(BOB, Some("groupchat"), "existing", "x"),
        "existing",
        BOB,
        StanzaCondition::ServiceUnavailable,
    )
    .await;
    let reference = refused
        .get_child("error", ns::JABBER_CLIENT)
        .cloned()
        .unwrap_or_else(|| unreachable!());
    assert_eq!(
        stanza_error(&refused),
        StanzaError::new(StanzaCondition::ServiceUnavailable)
    );

    for (to, ty, id) in [
        ("nobody@localhost", Some("chat"), "missing-chat"),
        ("nobody@localhost", Some("normal"), "missing-normal"),
        ("nobody@localhost", None, "missing-none"),
        ("nobody@localhost/phone", Some("chat"), "missing-full"),
    ] {
        let reply = expect_bounce(
            &mut alice,
            &mut bob,
            &message(to, ty, id, "hello"),
            id,
            to,
            StanzaCondition::ServiceUnavailable,
        )
        .await;
        let error = reply
            .get_child("error", ns::JABBER_CLIENT)
            .unwrap_or_else(|| unreachable!());
        assert_eq!(*error, reference, "{reply:?}");
    }

    alice
        .send(&message(
            "nobody@localhost",
            Some("headline"),
            "missing-headline",
            "x",
        ))
        .await;
    alice.ping("headline-dropped").await;
}

/// A server with Alice and Bob, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    support::with_accounts(backend, extra, &["alice", "bob"], PASSWORD, scenario).await;
}

on_both_backends!(
    chat_to_bare_jid_reaches_the_highest_priority_resources => "",
    normal_to_bare_jid_reaches_the_highest_priority_resources => "",
    headline_to_bare_jid_reaches_every_resource => "",
    groupchat_to_bare_jid_is_service_unavailable => "",
    negative_priority_and_no_presence_get_no_bare_jid_messages => "",
    message_to_a_full_jid_reaches_only_that_resource => "",
    message_to_an_unbound_full_jid_follows_the_bare_rules => "",
    iq_to_an_unbound_full_jid_is_service_unavailable => "",
    message_to_a_missing_account_is_service_unavailable => "",
);
