//! Message carbons (XEP-0280, `urn:xmpp:carbons:2`) over real sockets. Bob has three
//! available resources: `b1` (priority 5), `b2` (priority 1, which enables carbons) and `b3`
//! (priority 0, which does not). Messages Alice sends to Bob reach `b2` as `<received/>`
//! copies when `b2` did not get the original; messages `b1` sends reach `b2` as `<sent/>`
//! copies; `<private/>` and `<no-copy/>` opt out; disabling stops the copies; a client that
//! forges a copy is refused and nobody sees it.
//!
//! "Nothing arrives" is checked with markers (see `support::im::send_marker`) that carry
//! `<private/>` and `<no-copy/>`, so that the markers themselves are never copied. Every
//! scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;

use support::im::{PASSWORD, add_user, is_message, message, online_quiet};
use support::raw::{Raw, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, StanzaCondition, ns};

const ALICE_PHONE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";

fn full(resource: &str) -> String {
    format!("{BOB}/{resource}")
}

/// Bob's three resources, each drained of the presence of those that came after it.
struct Bob {
    b1: Raw,
    b2: Raw,
    b3: Raw,
}

impl Bob {
    async fn online(server: &TestServer) -> Self {
        let mut b1 = online_quiet(server, "bob", "b1", Some(5)).await;
        let mut b2 = online_quiet(server, "bob", "b2", Some(1)).await;
        let b3 = online_quiet(server, "bob", "b3", Some(0)).await;
        for from in ["b2", "b3"] {
            let p = b1.recv().await;
            assert!(
                p.is("presence", ns::JABBER_CLIENT) && p.attr("from") == Some(full(from).as_str()),
                "expected the presence of {from}, got {p:?}"
            );
        }
        let p = b2.recv().await;
        assert!(
            p.is("presence", ns::JABBER_CLIENT) && p.attr("from") == Some(full("b3").as_str()),
            "expected the presence of b3, got {p:?}"
        );
        Self { b1, b2, b3 }
    }
}

/// Enables (or disables) carbons on `c`: an empty result ("Enabling and disabling").
async fn carbons(c: &mut Raw, what: &str, id: &str) {
    c.send(&format!(
        "<iq type='set' id='{id}'><{what} xmlns='{}'/></iq>",
        ns::CARBONS
    ))
    .await;
    let reply = c.recv().await;
    assert!(reply.is("iq", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("result"), "{what}: {reply:?}");
}

/// A marker that is never copied: `recipient`'s next stanza must be it.
async fn marker(sender: &mut Raw, recipient: &mut Raw, to: &str, id: &str) {
    sender
        .send(&format!(
            "<message to='{to}' id='{id}'><body>marker</body><private xmlns='{}'/>\
             <no-copy xmlns='{}'/></message>",
            ns::CARBONS,
            ns::HINTS
        ))
        .await;
    let next = recipient.recv().await;
    assert!(is_message(&next, id), "expected marker {id}, got {next:?}");
}

/// `copy` is a `<kind/>` carbon (`sent` or `received`) for Bob's `to`: from Bob's bare JID,
/// holding the message; returns the forwarded message.
#[track_caller]
fn assert_copy<'a>(copy: &'a Element, kind: &str, to: &str) -> &'a Element {
    assert!(copy.is("message", ns::JABBER_CLIENT), "{copy:?}");
    assert_eq!(
        copy.attr("from"),
        Some(BOB),
        "a copy comes from the bare JID: {copy:?}"
    );
    assert_eq!(copy.attr("to"), Some(to), "{copy:?}");
    let wrappers: Vec<&Element> = copy.children().filter(|c| c.ns() == ns::CARBONS).collect();
    assert_eq!(wrappers.len(), 1, "{copy:?}");
    assert_eq!(wrappers[0].name(), kind, "{copy:?}");
    wrappers[0]
        .get_child("forwarded", ns::FORWARD)
        .and_then(|f| f.get_child("message", ns::JABBER_CLIENT))
        .unwrap_or_else(|| panic!("no forwarded message: {copy:?}"))
}

/// `m` is the chat `id` (body `id`) from `from` to `to`.
#[track_caller]
fn assert_chat(m: &Element, id: &str, from: &str, to: &str) {
    assert!(is_message(m, id), "expected message {id}, got {m:?}");
    assert_eq!(m.attr("from"), Some(from), "{m:?}");
    assert_eq!(m.attr("to"), Some(to), "{m:?}");
    assert_eq!(
        m.child_text("body", ns::JABBER_CLIENT).as_deref(),
        Some(id),
        "{m:?}"
    );
}

/// The server lists `urn:xmpp:carbons:2` ("Discovering support").
async fn disco_lists_carbons(server: Arc<TestServer>) {
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    alice
        .send(&format!(
            "<iq type='get' to='localhost' id='disco'><query xmlns='{}'/></iq>",
            ns::DISCO_INFO
        ))
        .await;
    let reply = alice.recv().await;
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
    assert!(features.contains(&ns::CARBONS), "{features:?}");
}

/// "Receiving messages": a chat to `b1`, a chat to the bare JID (which RFC 6121 gives `b1`, the
/// highest priority) and a chat state to `b1` each reach `b2` as one `<received/>` copy;
/// a chat to `b2` itself is not copied to it; `b3` (carbons off) gets nothing; an
/// independent library reads the copy.
async fn received_copies(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    carbons(&mut bob.b2, "enable", "on").await;

    for (id, to) in [("to-b1", full("b1")), ("to-bare", BOB.to_owned())] {
        alice.send(&message(&to, Some("chat"), id, id)).await;
        assert_chat(&bob.b1.recv().await, id, ALICE_PHONE, &to);
        let copy = bob.b2.recv().await;
        let inner = assert_copy(&copy, "received", &full("b2"));
        assert_chat(inner, id, ALICE_PHONE, &to);
        if id == "to-b1" {
            xmpp_parsers_reads_the_copy(&copy, id);
        }
    }
    alice
        .send(&format!(
            "<message to='{}' type='chat' id='typing'><composing xmlns='{}'/></message>",
            full("b1"),
            ns::CHATSTATES
        ))
        .await;
    let state = bob.b1.recv().await;
    assert!(is_message(&state, "typing"), "{state:?}");
    let copy = bob.b2.recv().await;
    let inner = assert_copy(&copy, "received", &full("b2"));
    assert!(inner.has_child("composing", ns::CHATSTATES), "{copy:?}");

    alice
        .send(&message(&full("b2"), Some("chat"), "to-b2", "to-b2"))
        .await;
    assert_chat(&bob.b2.recv().await, "to-b2", ALICE_PHONE, &full("b2"));

    // Nothing else anywhere: no second copy for b2, nothing for b1 or b3.
    marker(&mut alice, &mut bob.b2, &full("b2"), "end-b2").await;
    marker(&mut alice, &mut bob.b1, &full("b1"), "end-b1").await;
    marker(&mut alice, &mut bob.b3, &full("b3"), "end-b3").await;
}

/// The received copy as `xmpp-parsers` reads it.
fn xmpp_parsers_reads_the_copy(copy: &Element, id: &str) {
    use xmpp_parsers::carbons::Received;
    use xmpp_parsers::message::Message;
    let minidom: xmpp_parsers::minidom::Element = copy
        .to_string()
        .parse()
        .unwrap_or_else(|e| panic!("minidom refuses {copy}: {e}"));
    let mut message = Message::try_from(minidom).unwrap_or_else(|e| panic!("{e}: {copy}"));
    let received = message
        .extract_payload::<Received>()
        .unwrap_or_else(|e| panic!("{e:?}: {copy}"))
        .unwrap_or_else(|| panic!("no <received/>: {copy}"));
    let inner = received.forwarded.message;
    assert_eq!(inner.id.map(|i| i.0).as_deref(), Some(id));
    assert_eq!(
        inner.from.map(|f| f.to_string()).as_deref(),
        Some(ALICE_PHONE)
    );
}

/// "Sending messages": a chat `b1` sends reaches `b2` as a `<sent/>` copy (whether or not `b1`
/// enabled carbons); `b1` gets no copy of its own message, `b3` none; a chat `b2` sends is
/// not copied back to `b2`.
async fn sent_copies(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    carbons(&mut bob.b2, "enable", "on").await;

    bob.b1
        .send(&message(ALICE_PHONE, Some("chat"), "from-b1", "from-b1"))
        .await;
    assert_chat(&alice.recv().await, "from-b1", &full("b1"), ALICE_PHONE);
    let copy = bob.b2.recv().await;
    let inner = assert_copy(&copy, "sent", &full("b2"));
    assert_chat(inner, "from-b1", &full("b1"), ALICE_PHONE);

    bob.b2
        .send(&message(ALICE_PHONE, Some("chat"), "from-b2", "from-b2"))
        .await;
    assert_chat(&alice.recv().await, "from-b2", &full("b2"), ALICE_PHONE);

    marker(&mut alice, &mut bob.b2, &full("b2"), "end-b2").await;
    marker(&mut alice, &mut bob.b1, &full("b1"), "end-b1").await;
    marker(&mut alice, &mut bob.b3, &full("b3"), "end-b3").await;
}

/// "Avoiding Carbons for a single message": a message with `<private/>` and `<no-copy/>` is not
/// copied, either way; the recipient gets it without `<private/>` (the receiving server SHOULD
/// remove it).
async fn private_messages_are_not_copied(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    carbons(&mut bob.b2, "enable", "on").await;
    let private = |to: &str, id: &str| {
        format!(
            "<message to='{to}' type='chat' id='{id}'><body>{id}</body>\
             <private xmlns='{}'/><no-copy xmlns='{}'/></message>",
            ns::CARBONS,
            ns::HINTS
        )
    };
    alice.send(&private(&full("b1"), "in")).await;
    let m = bob.b1.recv().await;
    assert_chat(&m, "in", ALICE_PHONE, &full("b1"));
    assert!(!m.has_child("private", ns::CARBONS), "{m:?}");

    bob.b1.send(&private(ALICE_PHONE, "out")).await;
    let m = alice.recv().await;
    assert_chat(&m, "out", &full("b1"), ALICE_PHONE);
    assert!(!m.has_child("private", ns::CARBONS), "{m:?}");

    marker(&mut alice, &mut bob.b2, &full("b2"), "end-b2").await;
}

/// "Handling Multiple Enable/Disable Requests": enabling twice and disabling twice are no errors;
/// once disabled, `b2` gets no more copies.
async fn disable_stops_copies(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    carbons(&mut bob.b2, "enable", "on").await;
    carbons(&mut bob.b2, "enable", "on-again").await;
    alice
        .send(&message(&full("b1"), Some("chat"), "copied", "copied"))
        .await;
    assert_chat(&bob.b1.recv().await, "copied", ALICE_PHONE, &full("b1"));
    assert_copy(&bob.b2.recv().await, "received", &full("b2"));

    carbons(&mut bob.b2, "disable", "off").await;
    carbons(&mut bob.b2, "disable", "off-again").await;
    alice
        .send(&message(&full("b1"), Some("chat"), "not-copied", "x"))
        .await;
    assert!(is_message(&bob.b1.recv().await, "not-copied"));
    bob.b1
        .send(&message(ALICE_PHONE, Some("chat"), "not-copied-out", "x"))
        .await;
    assert!(is_message(&alice.recv().await, "not-copied-out"));
    marker(&mut alice, &mut bob.b2, &full("b2"), "end-b2").await;
}

/// A client may not make copies ("Security Considerations": only servers do): Alice sends Bob a
/// message holding a `<received/>` (then a `<sent/>`) wrapper of a message "from Carol"; she gets
/// `not-acceptable` back and none of Bob's resources (`b2` has carbons on) sees anything.
async fn forged_copies_are_refused(server: Arc<TestServer>) {
    let mut bob = Bob::online(&server).await;
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    carbons(&mut bob.b2, "enable", "on").await;
    for kind in ["received", "sent"] {
        let id = format!("forged-{kind}");
        alice
            .send(&format!(
                "<message to='{BOB}' type='chat' id='{id}'><{kind} xmlns='{}'>\
                 <forwarded xmlns='{}'><message xmlns='jabber:client' type='chat' \
                 from='carol@localhost/home' to='{BOB}'><body>I owe you money</body>\
                 </message></forwarded></{kind}></message>",
                ns::CARBONS,
                ns::FORWARD
            ))
            .await;
        let reply = alice.recv().await;
        assert!(reply.is("message", ns::JABBER_CLIENT), "{reply:?}");
        assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
        assert_eq!(reply.attr("id"), Some(id.as_str()), "{reply:?}");
        assert_eq!(
            stanza_error(&reply).condition,
            StanzaCondition::NotAcceptable,
            "{reply:?}"
        );
        for (resource, c) in [
            ("b1", &mut bob.b1),
            ("b2", &mut bob.b2),
            ("b3", &mut bob.b3),
        ] {
            marker(&mut alice, c, &full(resource), &format!("{id}-{resource}")).await;
        }
    }
}

/// Alice and Bob, and the scenario.
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
    disco_lists_carbons => "",
    received_copies => "",
    sent_copies => "",
    private_messages_are_not_copied => "",
    disable_stops_copies => "",
    forged_copies_are_refused => "",
);
