//! Account deletion (issue 6, XEP-0077 §3.2) over real sockets: a user's `<remove/>` is
//! answered, then every session of the account ends with `not-authorized`; contacts see the
//! account go offline and its subscriptions cancelled both ways (RFC 6121 Appendix A: a `both`
//! item that receives `unsubscribe` then `unsubscribed` ends as `none`); the account's data is
//! gone; its name cannot be registered again until its tombstone ends.
//!
//! Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use support::im::{
    PASSWORD, account, add_user, bare, is_presence, is_roster_push, message, online, pushed_item,
    roster_get, subscribe_both,
};
use support::raw::{Got, Raw, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::roster::SubState;
use xmpp_core::{Element, StanzaCondition, StreamCondition, StreamError, ns};
use xmpp_sasl::Mechanism;
use xmpp_stream::FrameEvent;

const ALICE: &str = "alice@localhost";
const BOB: &str = "bob@localhost";
const CAROL: &str = "carol@localhost";
/// Strong enough for the default password policy (40 bits).
const NEW_PASSWORD: &str = "violet kettle marches upstream 42";
/// A day of tombstone; registration without CAPTCHA (the test is the only client).
const EXTRA: &str = "[registration]\ncaptcha = false\ntombstone_days = 1\nper_address = 10\n";
const TOMBSTONE_SECS: u64 = 24 * 3600;

fn remove_iq(id: &str) -> String {
    format!(
        "<iq type='set' id='{id}'><query xmlns='{}'><remove/></query></iq>",
        ns::REGISTER
    )
}

/// Reads what the server sends until its stream error, which must be `not-authorized` with the
/// deletion's text, followed by `</stream:stream>` and the end of the connection. Returns the
/// stanzas that came before the error.
async fn expect_deleted_close(c: &mut Raw, who: &str) -> Vec<Element> {
    let mut before = Vec::new();
    loop {
        match c.next().await {
            Got::Event(FrameEvent::Element(e)) if e.is("error", ns::STREAM) => {
                let error = StreamError::from_element(&e).unwrap_or_else(|e| panic!("{e:?}"));
                assert_eq!(
                    error.condition,
                    StreamCondition::NotAuthorized,
                    "{who}: {e:?}"
                );
                let texts: Vec<&str> = error.texts.iter().map(|t| t.text.as_str()).collect();
                assert_eq!(texts, ["this account was deleted"], "{who}: {e:?}");
                c.expect_end().await;
                return before;
            }
            Got::Event(FrameEvent::Element(e)) => before.push(e),
            other => panic!("{who}: expected the stream error, got {other:?} after {before:?}"),
        }
    }
}

/// Everything that arrives until nothing more comes for `quiet`.
async fn collect_until_quiet(c: &mut Raw, quiet: Duration) -> Vec<Element> {
    let mut got = Vec::new();
    while let Some(e) = c.recv_within(quiet).await {
        got.push(e);
    }
    got
}

/// SASL with `password` on a fresh Direct TLS connection: the server's last word.
async fn sasl(server: &TestServer, user: &str, password: &str) -> Element {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    c.open("localhost").await;
    c.authenticate(Mechanism::ScramSha256, user, password)
        .await
        .0
}

/// An in-band registration (XEP-0077 §3.1, the legacy fields; no CAPTCHA configured) on a
/// fresh Direct TLS connection: the server's answer.
async fn register(server: &TestServer, user: &str, password: &str) -> Element {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    let (_, features) = c.open("localhost").await;
    assert!(
        features.has_child("register", ns::REGISTER_FEATURE),
        "registration is not advertised: {features:?}"
    );
    c.send(&format!(
        "<iq type='set' id='reg'><query xmlns='{}'><username>{user}</username>\
         <password>{password}</password></query></iq>",
        ns::REGISTER
    ))
    .await;
    let reply = c.recv().await;
    assert!(reply.is("iq", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("reg"), "{reply:?}");
    reply
}

/// Alice and Bob are subscribed both ways and online, Bob with the roster asked for (so he
/// gets pushes), Alice with two resources. Alice's phone sends `<remove/>`: it gets the
/// result, then both of Alice's streams end with `not-authorized`; Bob gets `unavailable` from
/// each of Alice's resources, the `unsubscribe` and `unsubscribed` presences, and roster
/// pushes that end in `none` (RFC 6121 Appendix A.2.2 and A.3.2 from `both`), and nothing
/// available from Alice afterwards.
async fn deletion_tells_contacts_and_closes_every_session(server: Arc<TestServer>) {
    subscribe_both(&server, ALICE, BOB).await;
    let (mut bob, _) = online(&server, "bob", "laptop", None).await;
    roster_get(&mut bob, "roster").await;

    let (mut phone, _) = online(&server, "alice", "phone", None).await;
    bob.recv_until(|e| is_presence(e, "alice@localhost/phone", None))
        .await;
    let (mut tablet, _) = online(&server, "alice", "tablet", None).await;
    bob.recv_until(|e| is_presence(e, "alice@localhost/tablet", None))
        .await;
    // The phone sees the tablet come online; nothing else is pending for it.
    phone
        .recv_until(|e| is_presence(e, "alice@localhost/tablet", None))
        .await;
    phone.ping("settled").await;
    bob.ping("bob-settled").await;

    phone.send(&remove_iq("del")).await;
    let result = phone.recv().await;
    assert!(result.is("iq", ns::JABBER_CLIENT), "{result:?}");
    assert_eq!(result.attr("id"), Some("del"), "{result:?}");
    assert_eq!(result.attr("type"), Some("result"), "{result:?}");
    let phone_before = expect_deleted_close(&mut phone, "alice/phone").await;
    let tablet_before = expect_deleted_close(&mut tablet, "alice/tablet").await;
    // Whatever reached Alice's streams before the close can only be presence (Bob's
    // `unavailable`, which RFC 6121 §3.3.3 has Bob's server send on `unsubscribe`).
    for e in phone_before.iter().chain(&tablet_before) {
        assert!(
            e.is("presence", ns::JABBER_CLIENT),
            "only presence before the close: {phone_before:?} {tablet_before:?}"
        );
    }

    let got = collect_until_quiet(&mut bob, Duration::from_millis(500)).await;
    for resource in ["phone", "tablet"] {
        let from = format!("{ALICE}/{resource}");
        let n = got
            .iter()
            .filter(|e| is_presence(e, &from, Some("unavailable")))
            .count();
        assert_eq!(n, 1, "one unavailable from {from}: {got:#?}");
    }
    // The unavailables, then per presence its push and the presence itself (RFC 6121
    // §3.2.3, §3.3.3): nothing else.
    assert_eq!(got.len(), 6, "{got:#?}");
    assert!(is_presence(&got[3], ALICE, Some("unsubscribe")), "{got:#?}");
    assert!(
        is_presence(&got[5], ALICE, Some("unsubscribed")),
        "{got:#?}"
    );
    assert!(
        !got.iter()
            .any(|e| e.is("presence", ns::JABBER_CLIENT) && e.attr("type").is_none()),
        "available presence after the deletion: {got:#?}"
    );
    for ty in ["unsubscribe", "unsubscribed"] {
        assert!(
            got.iter().any(|e| is_presence(e, ALICE, Some(ty))),
            "no {ty} from {ALICE}: {got:#?}"
        );
    }
    let pushes: Vec<&Element> = got
        .iter()
        .filter(|e| is_roster_push(e))
        .map(pushed_item)
        .filter(|i| i.attr("jid") == Some(ALICE))
        .collect();
    let last = pushes
        .last()
        .unwrap_or_else(|| panic!("no roster push for {ALICE}: {got:#?}"));
    assert_eq!(
        last.attr("subscription").unwrap_or("none"),
        "none",
        "{got:#?}"
    );
    assert_eq!(last.attr("ask"), None, "{got:#?}");
    // Unsubscribe first (both → to), then unsubscribed (to → none).
    let states: Vec<Option<&str>> = pushes.iter().map(|i| i.attr("subscription")).collect();
    assert_eq!(states, [Some("to"), Some("none")], "{got:#?}");

    // The item stays in Bob's roster, with no subscription left, and his stream is fine.
    let item = server
        .ctx
        .storage
        .roster_item(&account(BOB), &bare(ALICE))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("Bob's item for Alice was removed"));
    assert_eq!(item.state().sub, SubState::None, "{item:?}");
    assert!(!item.ask, "{item:?}");
    bob.ping("after").await;
}

/// Alice has an offline message from Bob, both roster items, and a subscription request
/// waiting for Carol; after her `<remove/>` (from a session without presence, so the message
/// stays stored) the account, its roster and its offline messages are gone, Bob's item
/// remains with subscription `none`, the request to Carol is withdrawn, her password no
/// longer logs in, and a message to her is refused as to any missing account.
async fn deleted_data_is_gone(server: Arc<TestServer>) {
    subscribe_both(&server, ALICE, BOB).await;
    let mut bob = Raw::login(&server, "bob", PASSWORD, "laptop").await;
    bob.send(&message(ALICE, Some("chat"), "stored", "for later"))
        .await;
    bob.ping("stored").await;
    let storage = &server.ctx.storage;
    let alice = account(ALICE);
    assert_eq!(storage.offline_count(&alice).await.ok(), Some(1));

    let mut c = Raw::login(&server, "alice", PASSWORD, "phone").await;
    // A request to Carol, who is offline: it waits for her next login (RFC 6121 §3.1.3).
    c.send(&format!("<presence to='{CAROL}' type='subscribe'/>"))
        .await;
    c.ping("asked").await;
    let carol = account(CAROL);
    let pending = storage
        .roster_item(&carol, &bare(ALICE))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the request to Carol is not stored"));
    assert_eq!(pending.state().sub, SubState::NonePendingIn, "{pending:?}");

    c.send(&remove_iq("del")).await;
    let result = c.recv().await;
    assert_eq!(result.attr("type"), Some("result"), "{result:?}");
    let before = expect_deleted_close(&mut c, "alice").await;
    assert!(before.is_empty(), "{before:?}");

    assert_eq!(storage.account_exists(&alice).await.ok(), Some(false));
    let roster = storage
        .roster(&alice)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roster.items().count(), 0, "{roster:?}");
    match storage.offline_count(&alice).await {
        Ok(0) | Err(chatrix_server::StorageError::NotFound(_)) => {}
        other => panic!("offline messages left: {other:?}"),
    }
    match storage.offline_messages(&alice).await {
        Ok(m) if m.is_empty() => {}
        Err(chatrix_server::StorageError::NotFound(_)) => {}
        other => panic!("offline messages left: {other:?}"),
    }

    let answer = sasl(&server, "alice", PASSWORD).await;
    assert!(answer.is("failure", ns::SASL), "{answer:?}");
    assert!(answer.has_child("not-authorized", ns::SASL), "{answer:?}");

    // Bob's item stays, with nothing left of the subscription.
    let item = storage
        .roster_item(&account(BOB), &bare(ALICE))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("Bob's item for Alice was removed"));
    assert_eq!(item.state().sub, SubState::None, "{item:?}");
    // The request to Carol is withdrawn (`unsubscribe` on None + Pending In): she is not
    // asked on her next login by an account that no longer exists.
    let withdrawn = storage
        .roster_item(&carol, &bare(ALICE))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        withdrawn
            .as_ref()
            .is_none_or(|i| i.state().sub == SubState::None),
        "{withdrawn:?}"
    );
    let (_carol, got) = online(&server, "carol", "desk", None).await;
    assert!(
        !got.iter().any(|e| is_presence(e, ALICE, Some("subscribe"))),
        "a request from a deleted account: {got:?}"
    );

    bob.send(&message(ALICE, Some("chat"), "late", "too late"))
        .await;
    let reply = bob.recv().await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("late"), "{reply:?}");
    assert_eq!(
        stanza_error(&reply).condition,
        StanzaCondition::ServiceUnavailable,
        "{reply:?}"
    );
}

/// With `tombstone_days = 1`, registering the deleted name again in band is refused with
/// `conflict` and a text about a deleted account until the day has passed; then it succeeds,
/// the new account logs in with its own password and starts with an empty roster. Another
/// name is free all along. The new account does not inherit the old one's class.
async fn tombstone_holds_the_name_for_its_period(server: Arc<TestServer>) {
    subscribe_both(&server, ALICE, BOB).await;
    server
        .ctx
        .storage
        .set_account_class(&account(ALICE), Some("sponsor"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c = Raw::login(&server, "alice", PASSWORD, "phone").await;
    c.send(&remove_iq("del")).await;
    let result = c.recv().await;
    assert_eq!(result.attr("type"), Some("result"), "{result:?}");
    expect_deleted_close(&mut c, "alice").await;

    let reply = register(&server, "alice", NEW_PASSWORD).await;
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    let error = stanza_error(&reply);
    assert_eq!(error.condition, StanzaCondition::Conflict, "{reply:?}");
    assert!(
        error
            .texts
            .iter()
            .any(|t| t.text.contains("deleted account")),
        "{reply:?}"
    );
    // The name is compared in normalised form.
    let reply = register(&server, "ALICE", NEW_PASSWORD).await;
    assert_eq!(
        stanza_error(&reply).condition,
        StanzaCondition::Conflict,
        "{reply:?}"
    );
    // A name with no tombstone registers.
    let reply = register(&server, "erin", NEW_PASSWORD).await;
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");

    // Still held a second before the end.
    server
        .clock
        .advance(Duration::from_secs(TOMBSTONE_SECS - 2));
    let reply = register(&server, "alice", NEW_PASSWORD).await;
    assert_eq!(
        stanza_error(&reply).condition,
        StanzaCondition::Conflict,
        "{reply:?}"
    );

    server.clock.advance(Duration::from_secs(3));
    let reply = register(&server, "alice", NEW_PASSWORD).await;
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");
    assert_eq!(
        server
            .ctx
            .storage
            .account_exists(&account(ALICE))
            .await
            .ok(),
        Some(true)
    );
    // A new account: the old one's class is not inherited.
    let class = server
        .accounts
        .class_of(&account(ALICE))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(class, None);
    let old = sasl(&server, "alice", PASSWORD).await;
    assert!(old.is("failure", ns::SASL), "{old:?}");
    let mut alice = Raw::login(&server, "alice", NEW_PASSWORD, "phone").await;
    let roster = roster_get(&mut alice, "roster").await;
    assert_eq!(roster.children().count(), 0, "{roster:?}");
}

/// A stream that authenticated as Alice before her deletion but had not bound a resource yet
/// must not get a session for the deleted account afterwards: it is closed (`not-authorized`)
/// or its bind is refused, and it cannot send anything as Alice.
///
/// Written against a server where `SessionRegistry::close_account` closed only bound sessions
/// and `Session::bind` did not check that the account still existed: the bind succeeded and
/// the stream then sent presence, read an (empty) roster and stored a message for Bob from
/// `alice@localhost/late` after the account was gone.
async fn a_stream_authenticated_before_the_deletion_cannot_bind(server: Arc<TestServer>) {
    let mut late = Raw::direct(server.direct, &server.cert_path()).await;
    late.open("localhost").await;
    let (ok, _, _) = late
        .authenticate(Mechanism::ScramSha256, "alice", PASSWORD)
        .await;
    assert!(ok.is("success", ns::SASL), "{ok:?}");
    let (_, features) = late.open("localhost").await;
    assert!(features.has_child("bind", ns::BIND), "{features:?}");

    let mut c = Raw::login(&server, "alice", PASSWORD, "phone").await;
    c.send(&remove_iq("del")).await;
    let result = c.recv().await;
    assert_eq!(result.attr("type"), Some("result"), "{result:?}");
    expect_deleted_close(&mut c, "alice/phone").await;

    late.send(&format!(
        "<iq type='set' id='bind'><bind xmlns='{}'><resource>late</resource></bind></iq>",
        ns::BIND
    ))
    .await;
    match late.next().await {
        Got::Event(FrameEvent::Element(e)) if e.is("error", ns::STREAM) => {
            let error = StreamError::from_element(&e).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(error.condition, StreamCondition::NotAuthorized, "{e:?}");
        }
        Got::Event(FrameEvent::Element(e)) if e.attr("id") == Some("bind") => {
            assert_eq!(
                e.attr("type"),
                Some("error"),
                "a session was bound for the deleted account: {e:?}"
            );
            late.send(&message(BOB, Some("chat"), "ghost", "from the grave"))
                .await;
            let reply = late.recv().await;
            assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
        }
        Got::Closed => {}
        other @ Got::Event(_) => panic!("expected the bind to fail, got {other:?}"),
    }
    assert_eq!(
        server.ctx.storage.offline_count(&account(BOB)).await.ok(),
        Some(0)
    );
}

/// A server with Alice and Bob, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        add_user(&server, "alice").await;
        add_user(&server, "bob").await;
        add_user(&server, "carol").await;
        scenario(server).await;
    })
    .await;
}

on_both_backends!(
    deletion_tells_contacts_and_closes_every_session => EXTRA,
    deleted_data_is_gone => EXTRA,
    tombstone_holds_the_name_for_its_period => EXTRA,
);

/// [`a_stream_authenticated_before_the_deletion_cannot_bind`]: a stream that authenticated
/// just before its account was deleted gets no session.
mod late_bind {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        run(
            Backend::Sqlite,
            EXTRA,
            a_stream_authenticated_before_the_deletion_cannot_bind,
        )
        .await;
    }

    #[tokio::test]
    async fn postgres() {
        run(
            Backend::Postgres,
            EXTRA,
            a_stream_authenticated_before_the_deletion_cannot_bind,
        )
        .await;
    }
}
