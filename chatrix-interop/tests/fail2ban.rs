//! Bans after failed logins (issue 6, after ejabberd's `mod_fail2ban`) over real sockets: the
//! failure that brings an address to `max_failures` bans it; a banned address gets, on a
//! STARTTLS listener, a stream header and a `policy-violation` stream error saying when to
//! try again, before any TLS, and on the Direct TLS listener no handshake at all; other
//! addresses are unaffected; allow-listed networks are never banned; a ban ends after
//! `ban_secs`, survives a restart, and lifting it in the database (`chatrix-server ban
//! remove`) frees the address at its next connection; the web forms' password checks count
//! towards the same limit.
//!
//! Other addresses are reached by binding the client socket to another loopback address
//! (127.0.0.2, 127.0.0.3) before connecting. Every scenario runs on SQLite and, when
//! `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use chatrix_server::accounts::AccountError;
use chatrix_server::clock::Clock as _;
use support::im::{PASSWORD, account, add_user};
use support::raw::{Io, Raw, tls_handshake};
use support::{Backend, Servers, TestServer, on_both_backends, with_restartable_server};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpSocket, TcpStream};
use xmpp_core::{Element, StreamCondition, StreamError, ns};
use xmpp_sasl::Mechanism;

const BAN_SECS: u64 = 600;
const FAIL2BAN: &str = "[fail2ban]\nmax_failures = 3\nban_secs = 600\n";
const WINDOW: &str = "[fail2ban]\nmax_failures = 3\nban_secs = 600\nwindow_secs = 60\n";
const ALLOW: &str = "[fail2ban]\nmax_failures = 3\nban_secs = 600\nallow = [\"127.0.0.1/32\"]\n";

const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const THIRD: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

/// A TCP connection to `to` from the loopback address `from`.
async fn tcp_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind(SocketAddr::new(from, 0))
        .unwrap_or_else(|e| panic!("bind {from}: {e}"));
    socket
        .connect(to)
        .await
        .unwrap_or_else(|e| panic!("connect {to} from {from}: {e}"))
}

/// A plain connection from `from` (for the STARTTLS listeners).
async fn plain_from(from: IpAddr, to: SocketAddr) -> Raw {
    Raw::over(Io::Plain(tcp_from(from, to).await))
}

/// A Direct TLS connection from `from`, the stream opened.
async fn direct_from(server: &TestServer, from: IpAddr) -> Raw {
    let tcp = tcp_from(from, server.direct).await;
    let tls = tls_handshake(tcp, &server.cert_path(), true).await;
    let mut c = Raw::over(Io::Tls(Box::new(tls)));
    c.open("localhost").await;
    c
}

/// Logs `user` in from `from` (Direct TLS, SCRAM-SHA-256, bind) and checks the stream works.
async fn login_from(server: &TestServer, from: IpAddr, user: &str, password: &str) -> Raw {
    let mut c = direct_from(server, from).await;
    let (result, _, _) = c.authenticate(Mechanism::ScramSha256, user, password).await;
    assert!(result.is("success", ns::SASL), "{from}: {result:?}");
    let (_, features) = c.open("localhost").await;
    assert!(features.has_child("bind", ns::BIND), "{features:?}");
    c.send(&format!(
        "<iq type='set' id='bind'><bind xmlns='{}'/></iq>",
        ns::BIND
    ))
    .await;
    let bound = c.recv().await;
    assert_eq!(bound.attr("type"), Some("result"), "{bound:?}");
    c.ping("alive").await;
    c
}

/// One wrong password on `c`: the SASL `<failure/>` with `not-authorized`.
async fn wrong_password(c: &mut Raw) {
    let (result, _, _) = c
        .authenticate(Mechanism::ScramSha256, "alice", "not the password")
        .await;
    assert!(result.is("failure", ns::SASL), "{result:?}");
    assert!(result.has_child("not-authorized", ns::SASL), "{result:?}");
}

/// `n` wrong passwords from `from`, three per connection at most: the third on a connection
/// ends it with `policy-violation` (the stream's own limit, whatever fail2ban says).
async fn failed_logins(server: &TestServer, from: IpAddr, n: usize) {
    let mut left = n;
    while left > 0 {
        let mut c = direct_from(server, from).await;
        let here = left.min(3);
        for _ in 0..here {
            wrong_password(&mut c).await;
        }
        if here == 3 {
            let error = c
                .expect_stream_error(StreamCondition::PolicyViolation)
                .await;
            assert!(
                error
                    .texts
                    .iter()
                    .any(|t| t.text.contains("failed authentication")),
                "{error:?}"
            );
        }
        left -= here;
    }
}

/// The STARTTLS listener refuses a banned `from` before TLS: a stream header from the server,
/// a `policy-violation` stream error whose text says when to try again, the close. Returns the
/// text.
async fn expect_refused_before_tls(listener: SocketAddr, from: IpAddr) -> String {
    // Nothing is sent: the refusal comes first, and unread bytes would turn the close into a
    // reset.
    let mut c = plain_from(from, listener).await;
    let header = c.recv_header().await;
    assert_eq!(header.from.as_deref(), Some("localhost"), "{header:?}");
    assert_eq!(header.version.as_deref(), Some("1.0"), "{header:?}");
    assert_eq!(header.content_ns, ns::JABBER_CLIENT, "{header:?}");
    let error = c
        .expect_stream_error(StreamCondition::PolicyViolation)
        .await;
    let Some(text) = error.texts.first().map(|t| t.text.clone()) else {
        panic!("no text: {error:?}")
    };
    assert!(text.contains("try again in"), "{text}");
    text
}

/// The Direct TLS listener closes a banned `from`'s connection without a handshake: no byte
/// comes back, and a handshake attempt fails.
async fn expect_no_handshake(server: &TestServer, from: IpAddr) {
    let mut tcp = tcp_from(from, server.direct).await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(support::raw::READ_TIMEOUT, tcp.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("the server neither answered nor closed"));
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("the server sent {:?}", &buf[..n]),
    }
    let tcp = tcp_from(from, server.direct).await;
    let name =
        rustls::pki_types::ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    let handshake = tokio::time::timeout(
        support::raw::READ_TIMEOUT,
        tokio_rustls::TlsConnector::from(support::raw::tls_config(&server.cert_path(), true))
            .connect(name, tcp),
    )
    .await
    .unwrap_or_else(|_| panic!("the handshake neither failed nor succeeded"));
    assert!(
        handshake.is_err(),
        "a banned address completed a TLS handshake"
    );
}

/// The STARTTLS listener serves `from` normally: its stream features offer STARTTLS.
async fn expect_served(server: &TestServer, from: IpAddr) -> Element {
    let mut c = plain_from(from, server.starttls).await;
    let (_, features) = c.open("localhost").await;
    assert!(features.has_child("starttls", ns::TLS), "{features:?}");
    features
}

/// Three wrong passwords from 127.0.0.1 over two connections ban it (not two): then the
/// STARTTLS listeners refuse it before TLS with `policy-violation` and "try again in 10
/// minutes", the Direct TLS listener gives it no handshake, and the ban is stored. A client
/// from 127.0.0.2 logs in as usual.
async fn three_failures_ban_the_address(servers: Servers) {
    let server = servers.current();
    failed_logins(&server, HERE, 2).await;
    assert_eq!(server.accounts.banned(HERE).await, None);
    expect_served(&server, HERE).await;

    failed_logins(&server, HERE, 1).await;
    let left = server
        .accounts
        .banned(HERE)
        .await
        .unwrap_or_else(|| panic!("not banned after three failures"));
    assert!(left <= Duration::from_secs(BAN_SECS), "{left:?}");
    for listener in [server.starttls, server.optional] {
        let text = expect_refused_before_tls(listener, HERE).await;
        assert_eq!(
            text,
            "too many failed logins from your address; try again in 10 minutes"
        );
    }
    expect_no_handshake(&server, HERE).await;

    let ban = server
        .ctx
        .storage
        .ban(HERE)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the ban is not stored"));
    assert!(ban.is_active(now(&server)), "{ban:?}");
    assert!(!ban.reason.is_empty(), "{ban:?}");

    login_from(&server, OTHER, "alice", PASSWORD).await;
    expect_served(&server, OTHER).await;
    assert_eq!(server.accounts.banned(OTHER).await, None);
}

/// With 127.0.0.1 allow-listed, six wrong passwords from it ban nothing: it still connects
/// and logs in, and no ban is stored. 127.0.0.2, not in the list, is banned by three.
async fn allow_listed_address_is_never_banned(servers: Servers) {
    let server = servers.current();
    failed_logins(&server, HERE, 6).await;
    assert_eq!(server.accounts.banned(HERE).await, None);
    expect_served(&server, HERE).await;
    login_from(&server, HERE, "alice", PASSWORD).await;
    let stored = server
        .ctx
        .storage
        .bans(now(&server))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stored.is_empty(), "{stored:?}");

    failed_logins(&server, OTHER, 3).await;
    expect_refused_before_tls(server.starttls, OTHER).await;
    expect_served(&server, HERE).await;
}

/// A ban holds across a restart (it is stored and loaded again); removing it from the
/// database, as `chatrix-server ban remove` does, frees the address at its next connection
/// to the running server; a new ban ends after `ban_secs` on the server's clock, and the
/// failures are then counted afresh.
async fn ban_survives_a_restart_expires_and_can_be_lifted(servers: Servers) {
    let server = servers.current();
    failed_logins(&server, HERE, 3).await;
    expect_refused_before_tls(server.starttls, HERE).await;

    drop(server);
    let server = servers.restart().await;
    expect_refused_before_tls(server.starttls, HERE).await;
    expect_no_handshake(&server, HERE).await;
    assert!(server.accounts.banned(HERE).await.is_some());

    // Lifted in the database while the server runs.
    let removed = server
        .ctx
        .storage
        .remove_ban(HERE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(removed);
    expect_served(&server, HERE).await;
    login_from(&server, HERE, "alice", PASSWORD).await;
    assert_eq!(server.accounts.banned(HERE).await, None);

    // Banned again; refused a second before the end, free a second after.
    failed_logins(&server, HERE, 3).await;
    expect_refused_before_tls(server.starttls, HERE).await;
    server.clock.advance(Duration::from_secs(BAN_SECS - 1));
    let text = expect_refused_before_tls(server.starttls, HERE).await;
    assert!(text.ends_with("try again in 1 second"), "{text}");
    server.clock.advance(Duration::from_secs(2));
    expect_served(&server, HERE).await;
    login_from(&server, HERE, "alice", PASSWORD).await;

    // Counted from zero again: two failures do not ban.
    failed_logins(&server, HERE, 2).await;
    expect_served(&server, HERE).await;
    // And an expired ban is not loaded by a restart, which purges it from storage.
    assert!(
        matches!(server.ctx.storage.ban(HERE).await, Ok(Some(_))),
        "the expired ban is still stored before the restart"
    );
    drop(server);
    let server = servers.restart().await;
    expect_served(&server, HERE).await;
    assert!(matches!(server.ctx.storage.ban(HERE).await, Ok(None)));
}

/// The web pages' password check (`Accounts::verify_password`) counts as a failed login of
/// the same address: two SASL failures and one wrong web password ban 127.0.0.1; then even
/// the right web password is refused as banned. Three wrong web passwords alone ban
/// 127.0.0.3, which the STARTTLS listener then refuses.
async fn web_password_checks_share_the_counter(servers: Servers) {
    let server = servers.current();
    let alice = account("alice@localhost");
    failed_logins(&server, HERE, 2).await;
    let wrong = server
        .accounts
        .verify_password(&alice, "not the password", HERE)
        .await;
    assert!(
        matches!(wrong, Err(AccountError::WrongCredentials)),
        "{wrong:?}"
    );
    expect_refused_before_tls(server.starttls, HERE).await;
    let right = server
        .accounts
        .verify_password(&alice, PASSWORD, HERE)
        .await;
    assert!(
        matches!(right, Err(AccountError::Banned { .. })),
        "{right:?}"
    );

    for _ in 0..2 {
        let wrong = server
            .accounts
            .verify_password(&alice, "not the password", THIRD)
            .await;
        assert!(
            matches!(wrong, Err(AccountError::WrongCredentials)),
            "{wrong:?}"
        );
    }
    expect_served(&server, THIRD).await;
    let _ = server
        .accounts
        .verify_password(&alice, "not the password", THIRD)
        .await;
    expect_refused_before_tls(server.starttls, THIRD).await;
    // A right password from elsewhere is fine.
    assert!(
        server
            .accounts
            .verify_password(&alice, PASSWORD, OTHER)
            .await
            .is_ok()
    );
}

/// The server's (manual) clock.
fn now(server: &TestServer) -> SystemTime {
    server.clock.now()
}

/// `<abort/>` after the server's first SCRAM challenge: `<failure><aborted/></failure>`.
async fn abort(c: &mut Raw) {
    c.send(&format!(
        "<auth xmlns='{}' mechanism='SCRAM-SHA-256'>{}</auth>",
        ns::SASL,
        xmpp_sasl::encode_base64(b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL")
    ))
    .await;
    let challenge = c.recv().await;
    assert!(challenge.is("challenge", ns::SASL), "{challenge:?}");
    c.send(&format!("<abort xmlns='{}'/>", ns::SASL)).await;
    let failure = c.recv().await;
    assert!(failure.is("failure", ns::SASL), "{failure:?}");
    assert!(failure.has_child("aborted", ns::SASL), "{failure:?}");
}

/// An aborted exchange is not a failed login: six aborts ban nothing. A wrong password for an
/// account that does not exist counts like one for an account that does. Failures are
/// forgotten after `window_secs` without another: two, a window, two more do not ban; a
/// third within the window does.
async fn aborts_do_not_count_and_failures_are_forgotten(servers: Servers) {
    let server = servers.current();
    for _ in 0..3 {
        let mut c = direct_from(&server, HERE).await;
        abort(&mut c).await;
        abort(&mut c).await;
    }
    assert_eq!(server.accounts.banned(HERE).await, None);
    expect_served(&server, HERE).await;

    let mut c = direct_from(&server, HERE).await;
    wrong_password(&mut c).await;
    let (unknown, _, _) = c
        .authenticate(Mechanism::ScramSha256, "nobody", "not the password")
        .await;
    assert!(unknown.has_child("not-authorized", ns::SASL), "{unknown:?}");
    drop(c);
    assert_eq!(server.accounts.banned(HERE).await, None);

    server.clock.advance(Duration::from_secs(61));
    failed_logins(&server, HERE, 2).await;
    assert_eq!(server.accounts.banned(HERE).await, None);
    expect_served(&server, HERE).await;
    server.clock.advance(Duration::from_secs(59));
    failed_logins(&server, HERE, 1).await;
    expect_refused_before_tls(server.starttls, HERE).await;
}

/// A ban stops authentication on connections the address opened before it, not only new
/// connections: otherwise a guesser opens many connections first and keeps three guesses on
/// each (the stream's own limit) after the ban. After the ban, a held Direct TLS connection
/// and a held STARTTLS connection (upgraded after the ban) do not authenticate, even with the
/// right password: the server refuses the attempt (SASL failure) or ends the stream with
/// `policy-violation`.
///
/// Written against a server that checked the ban only when it accepted a connection
/// (`serve_starttls`, `serve_direct_tls`): both held connections authenticated then.
async fn connections_opened_before_the_ban_cannot_keep_guessing(servers: Servers) {
    let server = servers.current();
    let mut held = direct_from(&server, HERE).await;
    let mut held_plain = plain_from(HERE, server.starttls).await;
    held_plain.open("localhost").await;

    failed_logins(&server, HERE, 3).await;
    assert!(server.accounts.banned(HERE).await.is_some());

    let answer = attempt(&mut held).await;
    assert!(
        !answer.is("success", ns::SASL),
        "a connection held from before the ban authenticated: {answer:?}"
    );
    held_plain.send(support::raw::STARTTLS).await;
    match held_plain.next().await {
        support::raw::Got::Event(xmpp_stream::FrameEvent::Element(e))
            if e.is("proceed", ns::TLS) =>
        {
            let Io::Plain(tcp) = std::mem::replace(&mut held_plain.io, Io::Taken) else {
                unreachable!()
            };
            held_plain.io = Io::Tls(Box::new(
                tls_handshake(tcp, &server.cert_path(), false).await,
            ));
            held_plain.framer.restart();
            held_plain.send(&support::raw::header_to("localhost")).await;
            let _ = held_plain.recv_header().await;
            let next = held_plain.recv().await;
            if next.is("features", ns::STREAM) {
                let answer = attempt(&mut held_plain).await;
                assert!(
                    !answer.is("success", ns::SASL),
                    "a STARTTLS connection held from before the ban authenticated: {answer:?}"
                );
            } else {
                assert!(next.is("error", ns::STREAM), "{next:?}");
            }
        }
        // Refused before TLS: the stream error, or the end of the connection.
        _ => {}
    }
}

/// Alice's right password on a connection opened before the ban: the server's first answer,
/// which must refuse the attempt at once (a `policy-violation` stream error, or a SASL
/// `<failure/>`): a challenge would let the exchange go on to `<success/>`.
async fn attempt(c: &mut Raw) -> Element {
    let (_, auth, _) = support::raw::sasl_start(Mechanism::ScramSha256, "alice", PASSWORD);
    c.send(&auth).await;
    let answer = c.recv().await;
    assert!(
        answer.is("error", ns::STREAM) || answer.is("failure", ns::SASL),
        "the attempt of a banned address was not refused: {answer:?}"
    );
    if answer.is("error", ns::STREAM) {
        let error = StreamError::from_element(&answer).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            error.condition,
            StreamCondition::PolicyViolation,
            "{answer:?}"
        );
    }
    answer
}

/// A restartable server with Alice, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Servers) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_restartable_server(backend, extra, |servers| async move {
        add_user(&servers.current(), "alice").await;
        scenario(servers).await;
    })
    .await;
}

on_both_backends!(
    three_failures_ban_the_address => FAIL2BAN,
    allow_listed_address_is_never_banned => ALLOW,
    ban_survives_a_restart_expires_and_can_be_lifted => FAIL2BAN,
    web_password_checks_share_the_counter => FAIL2BAN,
    aborts_do_not_count_and_failures_are_forgotten => WINDOW,
);

/// [`connections_opened_before_the_ban_cannot_keep_guessing`]: the server checks the ban again
/// before each authentication, not only when it accepts a connection.
mod held_connections {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        run(
            Backend::Sqlite,
            FAIL2BAN,
            connections_opened_before_the_ban_cannot_keep_guessing,
        )
        .await;
    }

    #[tokio::test]
    async fn postgres() {
        run(
            Backend::Postgres,
            FAIL2BAN,
            connections_opened_before_the_ban_cannot_keep_guessing,
        )
        .await;
    }
}
