//! Presence subscriptions (RFC 6121 §3) over real sockets: the full handshake between two
//! accounts, every state-changing row of Appendix A on both sides, pre-approval (§3.4), a
//! request that waits for the contact's next login (§3.1.3), and a request to an account that
//! does not exist. Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on
//! PostgreSQL.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chatrix_server::storage::AccountJid;
use support::raw::Raw;
use support::{Backend, TestServer, on_both_backends, with_accounts};
use xmpp_core::roster::{RosterItem, State, SubState};
use xmpp_core::{BareJid, Element, ns};

const PASSWORD: &str = "a password";

fn account(jid: &str) -> AccountJid {
    AccountJid::parse(jid).unwrap_or_else(|e| panic!("{jid}: {e}"))
}

fn bare(jid: &str) -> BareJid {
    jid.parse().unwrap_or_else(|e| panic!("{jid}: {e:?}"))
}

/// Logs in, asks for the roster (so that pushes come) and sends initial presence; returns the
/// client with everything the login produced read.
async fn online(server: &TestServer, user: &str, resource: &str) -> Raw {
    let mut c = Raw::login(server, user, PASSWORD, resource).await;
    c.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    let roster = c.recv().await;
    assert_eq!(roster.attr("id"), Some("roster"), "{roster:?}");
    c.send("<presence/>").await;
    // The reflected initial presence comes back to the sender.
    let own = c.recv().await;
    assert!(own.is("presence", ns::JABBER_CLIENT), "{own:?}");
    c
}

/// Reads until a ping answer: everything the server sent before it, in order.
async fn drain(c: &mut Raw, id: &str) -> Vec<Element> {
    c.send(&format!(
        "<iq type='get' id='{id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let mut got = Vec::new();
    loop {
        let e = c.recv().await;
        if e.name() == "iq" && e.attr("id") == Some(id) {
            return got;
        }
        got.push(e);
    }
}

/// Stanzas that arrive from another session's work within `wait`, up to `count` of them.
async fn collect(c: &mut Raw, count: usize, wait: Duration) -> Vec<Element> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while got.len() < count {
        match tokio::time::timeout_at(deadline, c.recv()).await {
            Ok(e) => got.push(e),
            Err(_) => break,
        }
    }
    got
}

fn is_presence(e: &Element, ty: Option<&str>, from: &str) -> bool {
    e.is("presence", ns::JABBER_CLIENT)
        && e.attr("type") == ty
        && e.attr("from")
            .is_some_and(|f| f == from || f.starts_with(&format!("{from}/")))
}

/// The item of a roster push, if `e` is one.
fn pushed_item(e: &Element) -> Option<&Element> {
    if e.name() != "iq" || e.attr("type") != Some("set") {
        return None;
    }
    e.get_child("query", ns::ROSTER)?
        .get_child("item", ns::ROSTER)
}

fn find_push<'a>(got: &'a [Element], jid: &str) -> &'a Element {
    got.iter()
        .filter_map(pushed_item)
        .find(|i| i.attr("jid") == Some(jid))
        .unwrap_or_else(|| panic!("no push for {jid} in {got:#?}"))
}

async fn stored_state(server: &TestServer, owner: &str, contact: &str) -> State {
    server
        .ctx
        .storage
        .roster_item(&account(owner), &bare(contact))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map_or(State::NONE, |i| i.state())
}

async fn set_state(server: &TestServer, owner: &str, contact: &str, state: State) {
    let mut item = RosterItem::new(bare(contact));
    item.set_state(state);
    server
        .ctx
        .storage
        .put_roster_item(&account(owner), &item)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// RFC 6121 §3.1 and §3.1.5, both directions: Alice asks, Bob approves, Bob asks back, Alice
/// approves. Each step checks the pushes and what the other side receives.
async fn full_handshake(server: Arc<TestServer>) {
    let mut alice = online(&server, "alice", "phone").await;
    let mut bob = online(&server, "bob", "laptop").await;

    alice
        .send("<presence to='bob@localhost' type='subscribe'/>")
        .await;
    let got = drain(&mut alice, "p1").await;
    let push = find_push(&got, "bob@localhost");
    assert_eq!(push.attr("subscription"), Some("none"));
    assert_eq!(push.attr("ask"), Some("subscribe"));
    let got = collect(&mut bob, 1, Duration::from_secs(5)).await;
    assert!(
        got.iter()
            .any(|e| is_presence(e, Some("subscribe"), "alice@localhost")),
        "{got:#?}"
    );
    // The request itself is not a roster item for Bob until he answers (§3.1.3).
    assert!(drain(&mut bob, "b1").await.is_empty());

    bob.send("<presence to='alice@localhost' type='subscribed'/>")
        .await;
    let got = drain(&mut bob, "b2").await;
    assert_eq!(
        find_push(&got, "alice@localhost").attr("subscription"),
        Some("from")
    );
    let got = collect(&mut alice, 3, Duration::from_secs(5)).await;
    assert_eq!(
        find_push(&got, "bob@localhost").attr("subscription"),
        Some("to")
    );
    assert!(find_push(&got, "bob@localhost").attr("ask").is_none());
    assert!(
        got.iter()
            .any(|e| is_presence(e, Some("subscribed"), "bob@localhost"))
    );
    // §3.1.5: Bob's server sends Bob's current presence right after the approval.
    assert!(
        got.iter().any(|e| is_presence(e, None, "bob@localhost")),
        "{got:#?}"
    );

    bob.send("<presence to='alice@localhost' type='subscribe'/>")
        .await;
    let got = drain(&mut bob, "b3").await;
    let push = find_push(&got, "alice@localhost");
    assert_eq!(
        (push.attr("subscription"), push.attr("ask")),
        (Some("from"), Some("subscribe"))
    );
    let got = collect(&mut alice, 1, Duration::from_secs(5)).await;
    assert!(
        got.iter()
            .any(|e| is_presence(e, Some("subscribe"), "bob@localhost"))
    );
    alice
        .send("<presence to='bob@localhost' type='subscribed'/>")
        .await;
    let got = drain(&mut alice, "p2").await;
    assert_eq!(
        find_push(&got, "bob@localhost").attr("subscription"),
        Some("both")
    );
    let got = collect(&mut bob, 3, Duration::from_secs(5)).await;
    assert_eq!(
        find_push(&got, "alice@localhost").attr("subscription"),
        Some("both")
    );
    assert!(got.iter().any(|e| is_presence(e, None, "alice@localhost")));

    assert_eq!(
        stored_state(&server, "alice@localhost", "bob@localhost").await,
        State::new(SubState::Both)
    );
    assert_eq!(
        stored_state(&server, "bob@localhost", "alice@localhost").await,
        State::new(SubState::Both)
    );
}

/// The state of the same relation seen from the contact's roster.
fn mirror(s: SubState) -> SubState {
    use SubState as S;
    match s {
        S::None => S::None,
        S::NonePendingOut => S::NonePendingIn,
        S::NonePendingIn => S::NonePendingOut,
        S::NonePendingOutIn => S::NonePendingOutIn,
        S::To => S::From,
        S::ToPendingIn => S::FromPendingOut,
        S::From => S::To,
        S::FromPendingOut => S::ToPendingIn,
        S::Both => S::Both,
    }
}

/// Every row of RFC 6121 Appendix A that changes a state: Alice's item for Bob starts in the
/// state given (and Bob's item for Alice in the matching state), Alice sends the stanza, and
/// both stored items end as tables A.2 (Alice's side) and A.3 (Bob's side) say.
async fn appendix_a_rows(server: Arc<TestServer>) {
    use SubState as S;
    let rows: &[(S, &str, S, S)] = &[
        // (Alice before, stanza, Alice after: A.2, Bob after: A.3)
        (S::None, "subscribe", S::NonePendingOut, S::NonePendingIn),
        (
            S::NonePendingIn,
            "subscribe",
            S::NonePendingOutIn,
            S::NonePendingOutIn,
        ),
        (S::From, "subscribe", S::FromPendingOut, S::ToPendingIn),
        (S::NonePendingOut, "unsubscribe", S::None, S::None),
        (
            S::NonePendingOutIn,
            "unsubscribe",
            S::NonePendingIn,
            S::NonePendingOut,
        ),
        (S::To, "unsubscribe", S::None, S::None),
        (
            S::ToPendingIn,
            "unsubscribe",
            S::NonePendingIn,
            S::NonePendingOut,
        ),
        (S::FromPendingOut, "unsubscribe", S::From, S::To),
        (S::Both, "unsubscribe", S::From, S::To),
        (S::NonePendingIn, "subscribed", S::From, S::To),
        (
            S::NonePendingOutIn,
            "subscribed",
            S::FromPendingOut,
            S::ToPendingIn,
        ),
        (S::ToPendingIn, "subscribed", S::Both, S::Both),
        (S::NonePendingIn, "unsubscribed", S::None, S::None),
        (
            S::NonePendingOutIn,
            "unsubscribed",
            S::NonePendingOut,
            S::NonePendingIn,
        ),
        (S::ToPendingIn, "unsubscribed", S::To, S::From),
        (S::From, "unsubscribed", S::None, S::None),
        (
            S::FromPendingOut,
            "unsubscribed",
            S::NonePendingOut,
            S::NonePendingIn,
        ),
        (S::Both, "unsubscribed", S::To, S::From),
    ];
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    for (i, &(before, stanza, alice_after, bob_after)) in rows.iter().enumerate() {
        set_state(
            &server,
            "alice@localhost",
            "bob@localhost",
            State::new(before),
        )
        .await;
        set_state(
            &server,
            "bob@localhost",
            "alice@localhost",
            State::new(mirror(before)),
        )
        .await;
        alice
            .send(&format!("<presence to='bob@localhost' type='{stanza}'/>"))
            .await;
        // The stanza (and Bob's side of it) is handled before the ping is answered.
        drain(&mut alice, &format!("row{i}")).await;
        let row = format!("{} + {stanza}", before.rfc_name());
        assert_eq!(
            stored_state(&server, "alice@localhost", "bob@localhost")
                .await
                .sub,
            alice_after,
            "A.2, {row}"
        );
        assert_eq!(
            stored_state(&server, "bob@localhost", "alice@localhost")
                .await
                .sub,
            bob_after,
            "A.3, {row}"
        );
    }
}

/// RFC 6121 §3.4: Alice approves Bob before he asks; his request is then answered by the
/// server, Alice's clients never see it, and the approval is spent.
async fn pre_approval(server: Arc<TestServer>) {
    let mut alice = online(&server, "alice", "phone").await;
    let mut bob = online(&server, "bob", "laptop").await;
    alice
        .send("<presence to='bob@localhost' type='subscribed'/>")
        .await;
    let got = drain(&mut alice, "p1").await;
    let push = find_push(&got, "bob@localhost");
    assert_eq!(push.attr("approved"), Some("true"), "{push:?}");
    assert_eq!(push.attr("subscription"), Some("none"));
    // Nothing reached Bob: a pre-approval is not routed.
    assert!(drain(&mut bob, "b0").await.is_empty());

    bob.send("<presence to='alice@localhost' type='subscribe'/>")
        .await;
    let got = collect(&mut bob, 4, Duration::from_secs(5)).await;
    assert!(
        got.iter()
            .any(|e| is_presence(e, Some("subscribed"), "alice@localhost")),
        "{got:#?}"
    );
    assert!(got.iter().any(|e| is_presence(e, None, "alice@localhost")));
    let got = drain(&mut alice, "p2").await;
    assert!(
        !got.iter()
            .any(|e| is_presence(e, Some("subscribe"), "bob@localhost")),
        "the request must not reach Alice: {got:#?}"
    );
    let push = find_push(&got, "bob@localhost");
    assert_eq!(push.attr("subscription"), Some("from"));
    assert!(push.attr("approved").is_none(), "approval spent: {push:?}");
    assert_eq!(
        stored_state(&server, "bob@localhost", "alice@localhost").await,
        State::new(SubState::To)
    );
}

/// RFC 6121 §3.1.3: a request for an offline account is kept and delivered at its next
/// initial presence, and again at the one after as long as it is not answered.
async fn pending_request_is_delivered_at_next_login(server: Arc<TestServer>) {
    let mut alice = online(&server, "alice", "phone").await;
    alice
        .send(
            "<presence to='bob@localhost' type='subscribe'><status>Alice here</status></presence>",
        )
        .await;
    drain(&mut alice, "p1").await;
    for round in 0..2 {
        let mut bob = Raw::login(&server, "bob", PASSWORD, "laptop").await;
        bob.send("<presence/>").await;
        let got = drain(&mut bob, &format!("b{round}")).await;
        assert!(
            got.iter()
                .any(|e| is_presence(e, Some("subscribe"), "alice@localhost")),
            "round {round}: {got:#?}"
        );
    }
    // Answered: no longer delivered.
    let mut bob = Raw::login(&server, "bob", PASSWORD, "laptop").await;
    bob.send("<presence/>").await;
    drain(&mut bob, "b-pre").await;
    bob.send("<presence to='alice@localhost' type='subscribed'/>")
        .await;
    drain(&mut bob, "b-answer").await;
    drop(bob);
    let mut bob = Raw::login(&server, "bob", PASSWORD, "tablet").await;
    bob.send("<presence/>").await;
    let got = drain(&mut bob, "b-after").await;
    assert!(
        !got.iter()
            .any(|e| is_presence(e, Some("subscribe"), "alice@localhost")),
        "{got:#?}"
    );
}

/// RFC 6121 §3.1.3: a request to an account that does not exist is answered with
/// `unsubscribed`, which clears the pending state.
async fn request_to_a_missing_account_is_unsubscribed(server: Arc<TestServer>) {
    let mut alice = online(&server, "alice", "phone").await;
    alice
        .send("<presence to='nobody@localhost' type='subscribe'/>")
        .await;
    let got = drain(&mut alice, "p1").await;
    assert!(
        got.iter()
            .any(|e| is_presence(e, Some("unsubscribed"), "nobody@localhost")),
        "{got:#?}"
    );
    assert_eq!(
        stored_state(&server, "alice@localhost", "nobody@localhost")
            .await
            .sub,
        SubState::None
    );
}

/// A server with Alice and Bob, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_accounts(backend, extra, &["alice", "bob"], PASSWORD, scenario).await;
}

on_both_backends!(
    full_handshake => "",
    appendix_a_rows => "",
    pre_approval => "",
    pending_request_is_delivered_at_next_login => "",
    request_to_a_missing_account_is_unsubscribed => "",
);
