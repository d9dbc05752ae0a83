//! Account classes (issue 6) over real sockets: the offline-message limit of an account is
//! its class's, read when each message is stored. With `[account_classes.default]
//! max_offline_messages = 3` a default account takes three and refuses the fourth with
//! `service-unavailable`; the built-in `sponsor` class takes ten times that; a configured
//! class takes what it says; putting an account back in the default class brings the default
//! limit back.
//!
//! Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::sync::Arc;

use support::im::{PASSWORD, account, add_user, message};
use support::raw::{Raw, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{ErrorType, StanzaCondition, ns};

const BOB: &str = "bob@localhost";
const CAROL: &str = "carol@localhost";
const DAVE: &str = "dave@localhost";

const CLASSES: &str = "[account_classes.default]\nmax_offline_messages = 3\n\n\
                       [account_classes.team]\nmax_offline_messages = 5\n";

/// Sends `count` chats to `to` (offline), numbered from `first`, and checks none was refused.
async fn send_stored(c: &mut Raw, to: &str, first: usize, count: usize) {
    for i in first..first + count {
        c.send(&message(to, Some("chat"), &format!("m{i}"), "hello"))
            .await;
    }
    let refused = c.until_pong(&format!("after-{to}-{first}")).await;
    assert!(refused.is_empty(), "refused before the limit: {refused:?}");
}

/// The next chat to `to` is refused as offline storage full.
async fn expect_full(c: &mut Raw, to: &str, id: &str) {
    c.send(&message(to, Some("chat"), id, "one too many")).await;
    let reply = c.recv().await;
    assert!(reply.is("message", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
    assert_eq!(reply.attr("from"), Some(to), "{reply:?}");
    let error = stanza_error(&reply);
    assert_eq!(
        error.condition,
        StanzaCondition::ServiceUnavailable,
        "{reply:?}"
    );
    assert_eq!(error.error_type, ErrorType::Cancel, "{reply:?}");
}

async fn stored(server: &TestServer, jid: &str) -> u64 {
    server
        .ctx
        .storage
        .offline_count(&account(jid))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Bob (default class) takes 3 and refuses the 4th; made a sponsor, he takes up to 30 and
/// refuses the 31st; Carol in the configured `team` class takes 5; Dave, still default,
/// takes 3. Back in the default class, Bob (holding 30) refuses again.
async fn offline_limit_follows_the_class(server: Arc<TestServer>) {
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    send_stored(&mut alice, BOB, 1, 3).await;
    expect_full(&mut alice, BOB, "m4").await;
    assert_eq!(stored(&server, BOB).await, 3);

    let storage = &server.ctx.storage;
    storage
        .set_account_class(&account(BOB), Some("sponsor"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        server
            .accounts
            .class_of(&account(BOB))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .as_deref(),
        Some("sponsor")
    );
    send_stored(&mut alice, BOB, 4, 27).await;
    expect_full(&mut alice, BOB, "m31").await;
    assert_eq!(stored(&server, BOB).await, 30);

    storage
        .set_account_class(&account(CAROL), Some("team"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    send_stored(&mut alice, CAROL, 1, 5).await;
    expect_full(&mut alice, CAROL, "m6").await;

    send_stored(&mut alice, DAVE, 1, 3).await;
    expect_full(&mut alice, DAVE, "m4").await;

    storage
        .set_account_class(&account(BOB), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_full(&mut alice, BOB, "back").await;
    assert_eq!(stored(&server, BOB).await, 30);

    // Bob gets all thirty when he comes online, in order.
    let mut bob = Raw::login(&server, "bob", PASSWORD, "laptop").await;
    bob.send("<presence/>").await;
    let got = bob.until_pong("online").await;
    let ids: Vec<&str> = got
        .iter()
        .filter(|e| e.is("message", ns::JABBER_CLIENT))
        .filter_map(|e| e.attr("id"))
        .collect();
    let expected: Vec<String> = (1..=30).map(|i| format!("m{i}")).collect();
    assert_eq!(ids, expected, "{got:?}");
}

/// A server with Alice, Bob, Carol and Dave, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        for user in ["alice", "bob", "carol", "dave"] {
            add_user(&server, user).await;
        }
        scenario(server).await;
    })
    .await;
}

on_both_backends!(
    offline_limit_follows_the_class => CLASSES,
);
