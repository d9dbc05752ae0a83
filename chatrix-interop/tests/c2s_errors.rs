//! Each kind of bad client input, sent over a real socket to a running Chatrix, and the exact
//! error it gets: a stream error (RFC 6120 §4.9.3) that ends the stream, a SASL `<failure/>`
//! (§6.5) that leaves it open, or a stanza error (§8.3) that answers one stanza.
//!
//! The client here is deliberately raw: tokio sockets, tokio-rustls trusting the server's
//! generated certificate, `xmpp_sasl::ClientSession` for SCRAM, and the server's output parsed
//! with `xmpp_stream::Framer`, so that the tests compare parsed elements, not strings. Every
//! scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::sync::Arc;

use support::raw::{Raw, STARTTLS, el, header_to, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, StanzaCondition, StreamCondition, ns};
use xmpp_sasl::Mechanism;

const ALICE: &str = "alice@localhost";
const ALICE_PASSWORD: &str = "alice's secret";
const BOB: &str = "bob@localhost";
const BOB_PASSWORD: &str = "bob's secret";

fn sasl_failure(condition: &str) -> Element {
    el(&format!(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><{condition}/></failure>"
    ))
}

/// SCRAM's `k=v,…` attributes.
fn scram_attributes(message: &[u8]) -> Vec<(char, String)> {
    let text = std::str::from_utf8(message).unwrap_or_else(|e| panic!("{e}"));
    text.split(',')
        .map(|part| {
            let mut chars = part.chars();
            let key = chars
                .next()
                .unwrap_or_else(|| panic!("empty attribute in {text}"));
            let rest = chars.as_str();
            let value = rest
                .strip_prefix('=')
                .unwrap_or_else(|| panic!("bad attribute {part:?} in {text}"));
            (key, value.to_owned())
        })
        .collect()
}

/// The `r=` of a client-first message (`n,,n=user,r=nonce`).
fn client_nonce(client_first: &[u8]) -> String {
    let bare = client_first
        .splitn(3, |&b| b == b',')
        .nth(2)
        .unwrap_or_else(|| panic!("no GS2 header"));
    scram_attributes(bare)
        .into_iter()
        .find_map(|(k, v)| (k == 'r').then_some(v))
        .unwrap_or_else(|| panic!("no nonce"))
}

// ---------------------------------------------------------------------------------------------
// Before authentication.

/// RFC 6120 §4.9.3.6: a stream to a domain the server does not host, on both listener kinds.
async fn unhosted_domain_is_host_unknown(server: Arc<TestServer>) {
    let mut plain = Raw::plain(server.starttls).await;
    plain.send(&header_to("example.net")).await;
    let header = plain.recv_header().await;
    assert_eq!(header.content_ns, ns::JABBER_CLIENT);
    let error = plain
        .expect_stream_error(StreamCondition::HostUnknown)
        .await;
    assert_eq!(error.app_condition, None);

    let mut direct = Raw::direct(server.direct, &server.cert_path()).await;
    direct.send(&header_to("example.net")).await;
    direct.recv_header().await;
    direct
        .expect_stream_error(StreamCondition::HostUnknown)
        .await;
}

/// RFC 6120 §5.3.1: `<auth/>` on a listener that requires TLS, before STARTTLS, fails with
/// `<encryption-required/>`; the stream stays open, and STARTTLS then works.
async fn sasl_before_starttls_is_encryption_required(server: Arc<TestServer>) {
    let mut c = Raw::plain(server.starttls).await;
    let (_, features) = c.open("localhost").await;
    let starttls = features
        .get_child("starttls", ns::TLS)
        .unwrap_or_else(|| panic!("no STARTTLS in {features:?}"));
    assert!(starttls.has_child("required", ns::TLS), "{features:?}");

    for mechanism in [Mechanism::ScramSha256, Mechanism::Plain] {
        let (failure, challenges, _) = c.authenticate(mechanism, "alice", ALICE_PASSWORD).await;
        assert_eq!(
            failure,
            sasl_failure("encryption-required"),
            "{mechanism:?}"
        );
        assert!(challenges.is_empty(), "no SCRAM exchange in plaintext");
    }
    let features = c.starttls(&server.cert_path()).await;
    assert!(
        features.has_child("mechanisms", ns::SASL),
        "after TLS: {features:?}"
    );
}

/// On a `tls = "optional"` listener PLAIN is not offered in plaintext, and using it anyway
/// fails with `<encryption-required/>` (RFC 6120 §6.4.2 would allow it; we never let a
/// password cross the wire in the clear).
async fn plain_without_tls_is_encryption_required(server: Arc<TestServer>) {
    let mut c = Raw::plain(server.optional).await;
    let (_, features) = c.open("localhost").await;
    let starttls = features
        .get_child("starttls", ns::TLS)
        .unwrap_or_else(|| panic!("no STARTTLS in {features:?}"));
    assert!(!starttls.has_child("required", ns::TLS), "{features:?}");
    let offered: Vec<String> = features
        .get_child("mechanisms", ns::SASL)
        .map(|m| m.children().map(Element::text).collect())
        .unwrap_or_default();
    assert!(!offered.iter().any(|m| m == "PLAIN"), "{offered:?}");

    let (failure, _, _) = c
        .authenticate(Mechanism::Plain, "alice", ALICE_PASSWORD)
        .await;
    assert_eq!(failure, sasl_failure("encryption-required"));
    // The stream is still usable: STARTTLS.
    c.starttls(&server.cert_path()).await;
}

/// CVE-2011-0411: bytes pipelined behind `<starttls/>` in plaintext. No `<proceed/>`, no TLS,
/// no answer to the injected stanza: a `policy-violation` stream error, and the connection
/// ends.
async fn bytes_pipelined_after_starttls_close_the_stream(server: Arc<TestServer>) {
    for injected in [
        "<iq type='get' id='inj' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHg=</auth>",
        STARTTLS,
    ] {
        let mut c = Raw::plain(server.starttls).await;
        c.open("localhost").await;
        c.send(&format!("{STARTTLS}{injected}")).await;
        let error = c
            .expect_stream_error(StreamCondition::PolicyViolation)
            .await;
        let texts: Vec<&str> = error.texts.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["data after <starttls/>"], "{injected}");
    }
}

/// The other timing of the same attack: plaintext sent after `<proceed/>`, where the TLS
/// `ClientHello` should be. The server's TLS layer refuses it with a TLS alert and the
/// connection ends; no XML comes back, and certainly no answer to the injected stanza.
async fn plaintext_after_proceed_ends_the_connection(server: Arc<TestServer>) {
    let mut c = Raw::plain(server.starttls).await;
    c.open("localhost").await;
    c.send(STARTTLS).await;
    let proceed = c.recv().await;
    assert!(proceed.is("proceed", ns::TLS), "{proceed:?}");
    c.send("<iq type='get' id='inj' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let mut raw = Vec::new();
    while c.read_more().await {}
    raw.append(&mut c.pending);
    // What reaches the wire is one fatal TLS alert record (rustls answers the non-TLS bytes
    // with `decode_error`: 21 3 3 0 2 2 50), then the end: no XML, no answer to the stanza.
    assert!(
        raw.len() == 7 && raw[0] == 21 && raw[3..5] == [0, 2] && raw[5] == 2,
        "after <proceed/> the server sent {raw:?} ({:?})",
        String::from_utf8_lossy(&raw)
    );
}

/// RFC 6120 §4.9.3.12: XML that is not well-formed, before TLS and after login.
async fn malformed_xml_is_not_well_formed(server: Arc<TestServer>) {
    let mut c = Raw::plain(server.starttls).await;
    c.open("localhost").await;
    c.send("<presence><show>away</presence>").await;
    let error = c.expect_stream_error(StreamCondition::NotWellFormed).await;
    assert!(error.texts.is_empty(), "{error:?}");

    let mut c = Raw::login(&server, "alice", ALICE_PASSWORD, "phone").await;
    c.send("<message to='bob@localhost'><body>a < b</body></message>")
        .await;
    c.expect_stream_error(StreamCondition::NotWellFormed).await;
}

// ---------------------------------------------------------------------------------------------
// SASL failures.

/// A wrong password and an account that does not exist get the same `<failure/>`, element for
/// element, and SCRAM challenges of the same shape; the stream stays open for a retry.
async fn wrong_password_and_unknown_user_fail_identically(server: Arc<TestServer>) {
    let ca = server.cert_path();
    let mut wrong = Raw::direct(server.direct, &ca).await;
    wrong.open("localhost").await;
    let (wrong_failure, wrong_challenges, _) = wrong
        .authenticate(Mechanism::ScramSha256, "alice", "not the password")
        .await;
    let mut unknown = Raw::direct(server.direct, &ca).await;
    unknown.open("localhost").await;
    let (unknown_failure, unknown_challenges, _) = unknown
        .authenticate(Mechanism::ScramSha256, "nobody", ALICE_PASSWORD)
        .await;

    assert_eq!(wrong_failure, sasl_failure("not-authorized"));
    assert_eq!(
        unknown_failure, wrong_failure,
        "no hint whether the account exists"
    );
    // Same server-first shape: attribute names, salt length, iteration count.
    assert_eq!(wrong_challenges.len(), 1);
    assert_eq!(unknown_challenges.len(), 1);
    let shape = |challenge: &[u8]| {
        scram_attributes(challenge)
            .into_iter()
            .map(|(k, v)| match k {
                's' => (
                    k,
                    xmpp_sasl::decode_sasl_payload(&v)
                        .ok()
                        .flatten()
                        .map_or(0, |s| s.len())
                        .to_string(),
                ),
                'i' => (k, v),
                _ => (k, String::new()),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&unknown_challenges[0]), shape(&wrong_challenges[0]));

    // PLAIN too.
    let (plain_wrong, _, _) = wrong
        .authenticate(Mechanism::Plain, "alice", "still wrong")
        .await;
    let (plain_unknown, _, _) = unknown
        .authenticate(Mechanism::Plain, "nobody", "whatever")
        .await;
    assert_eq!(plain_wrong, sasl_failure("not-authorized"));
    assert_eq!(plain_unknown, plain_wrong);

    // Both streams are still open: the right password works on the first.
    let (success, _, _) = wrong
        .authenticate(Mechanism::ScramSha256, "alice", ALICE_PASSWORD)
        .await;
    assert!(success.is("success", ns::SASL), "{success:?}");
}

/// The server-first message for an unknown user is well-formed SCRAM, and its salt is the same
/// on every attempt (derived from the server secret), so repeating the probe tells nothing;
/// another unknown name gets another salt, as real accounts do.
async fn unknown_user_gets_a_stable_well_formed_salt(server: Arc<TestServer>) {
    let ca = server.cert_path();
    let mut salts = Vec::new();
    for user in ["nobody", "nobody", "somebody-else"] {
        let mut c = Raw::direct(server.direct, &ca).await;
        c.open("localhost").await;
        let (failure, challenges, initial) =
            c.authenticate(Mechanism::ScramSha1, user, "guess").await;
        assert_eq!(failure, sasl_failure("not-authorized"));
        let [server_first] = challenges.as_slice() else {
            panic!("{challenges:?}")
        };
        let attributes = scram_attributes(server_first);
        let keys: Vec<char> = attributes.iter().map(|(k, _)| *k).collect();
        // RFC 5802 §5.1, then XEP-0474's `h=` (the hash of what was advertised), which real
        // accounts get too.
        assert_eq!(keys, ['r', 's', 'i', 'h'], "{attributes:?}");
        let nonce = &attributes[0].1;
        let ours = client_nonce(&initial);
        assert!(
            nonce.starts_with(&ours) && nonce.len() > ours.len(),
            "server nonce {nonce} does not extend {ours}"
        );
        let salt = xmpp_sasl::decode_sasl_payload(&attributes[1].1)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("salt is not base64: {attributes:?}"));
        assert_eq!(salt.len(), xmpp_sasl::DEFAULT_SALT_LEN);
        assert_eq!(attributes[2].1, "4096");
        salts.push(salt);
    }
    assert_eq!(salts[0], salts[1], "the salt of an unknown user changed");
    assert_ne!(salts[0], salts[2], "every unknown user gets the same salt");
}

// ---------------------------------------------------------------------------------------------
// After login.

/// RFC 6120 §4.9.3.10 (security.md §1.7): a `from` that is not the sender's own address closes
/// the sender's stream with `invalid-from`, and the stanza reaches nobody.
async fn spoofed_from_is_invalid_from(server: Arc<TestServer>) {
    let mut alice = Raw::login(&server, "alice", ALICE_PASSWORD, "phone").await;
    let mut bob = Raw::login(&server, "bob", BOB_PASSWORD, "laptop").await;
    alice
        .send(
            "<message from='bob@localhost/laptop' to='bob@localhost/laptop' type='chat' \
             id='spoof'><body>it is me, bob</body></message>",
        )
        .await;
    let error = alice
        .expect_stream_error(StreamCondition::InvalidFrom)
        .await;
    assert_eq!(
        error.texts.first().map(|t| t.text.as_str()),
        Some("'from' does not match the bound address")
    );
    // Bob's next stanza is the answer to his own ping, not the spoofed message.
    bob.ping("after-spoof").await;

    // A stanza sent in the name of the sender's own bare JID is fine.
    bob.send(&format!(
        "<message from='{BOB}' to='{BOB}/laptop' type='chat' id='own'><body>self</body></message>"
    ))
    .await;
    let own = bob.recv().await;
    assert_eq!(own.attr("id"), Some("own"), "{own:?}");
    assert_eq!(own.attr("from"), Some("bob@localhost/laptop"), "{own:?}");
}

/// RFC 6120 §8.4: an IQ the server does not understand gets `service-unavailable`, with the
/// same id, from the server, and the stream goes on.
async fn unknown_iq_to_the_server_is_service_unavailable(server: Arc<TestServer>) {
    let mut c = Raw::login(&server, "alice", ALICE_PASSWORD, "phone").await;
    c.send("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:nothing'/></iq>")
        .await;
    let reply = c.recv().await;
    assert!(reply.is("iq", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("u1"), "{reply:?}");
    assert_eq!(reply.attr("from"), Some("localhost"), "{reply:?}");
    assert_eq!(reply.attr("to"), Some("alice@localhost/phone"), "{reply:?}");
    let error = stanza_error(&reply);
    assert_eq!(error.condition, StanzaCondition::ServiceUnavailable);
    // Same for an IQ with no `to` at all (it goes to the account, which the server answers
    // for), then the stream is still fine.
    c.send("<iq type='get' id='u2'><query xmlns='urn:example:nothing'/></iq>")
        .await;
    let reply = c.recv().await;
    assert_eq!(reply.attr("id"), Some("u2"), "{reply:?}");
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    let error = stanza_error(&reply);
    assert_eq!(error.condition, StanzaCondition::ServiceUnavailable);
    c.ping("still-alive").await;
}

/// RFC 6120 §7.7.2.2: a second login with the same full JID replaces the first, which is
/// closed with `conflict`; stanzas to that JID then reach the new session.
async fn same_resource_login_replaces_the_old_session_with_conflict(server: Arc<TestServer>) {
    let mut first = Raw::login(&server, "alice", ALICE_PASSWORD, "phone").await;
    let mut second = Raw::login(&server, "alice", ALICE_PASSWORD, "phone").await;
    let error = first.expect_stream_error(StreamCondition::Conflict).await;
    assert_eq!(
        error.texts.first().map(|t| t.text.as_str()),
        Some("replaced by a new connection")
    );
    second.ping("new-session").await;

    let mut bob = Raw::login(&server, "bob", BOB_PASSWORD, "laptop").await;
    bob.send(
        "<message to='alice@localhost/phone' type='chat' id='to-new'><body>hi</body></message>",
    )
    .await;
    let got = second.recv().await;
    assert_eq!(got.attr("id"), Some("to-new"), "{got:?}");
    assert_eq!(got.attr("from"), Some("bob@localhost/laptop"), "{got:?}");
}

/// `[limits] max_stanza_bytes = 4096`: a bigger stanza ends the stream with
/// `policy-violation` while it is still being read, and is delivered to nobody.
async fn oversized_stanza_is_policy_violation(server: Arc<TestServer>) {
    let mut alice = Raw::login(&server, "alice", ALICE_PASSWORD, "phone").await;
    let mut bob = Raw::login(&server, "bob", BOB_PASSWORD, "laptop").await;
    // Just under the limit is fine.
    let fits = "x".repeat(3000);
    alice
        .send(&format!(
            "<message to='{BOB}/laptop' type='chat' id='fits'><body>{fits}</body></message>"
        ))
        .await;
    let delivered = bob.recv().await;
    assert_eq!(delivered.attr("id"), Some("fits"), "{delivered:?}");

    let big = "x".repeat(5000);
    alice
        .send(&format!(
            "<message to='{BOB}/laptop' type='chat' id='big'><body>{big}</body></message>"
        ))
        .await;
    let error = alice
        .expect_stream_error(StreamCondition::PolicyViolation)
        .await;
    assert!(error.texts.is_empty(), "{error:?}");
    bob.ping("after-big").await;
}

/// A server with Alice and Bob and the `extra` configuration, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        server.add_account(ALICE, ALICE_PASSWORD).await;
        server.add_account(BOB, BOB_PASSWORD).await;
        scenario(server).await;
    })
    .await;
}

on_both_backends!(
    unhosted_domain_is_host_unknown => "",
    sasl_before_starttls_is_encryption_required => "",
    plain_without_tls_is_encryption_required => "",
    bytes_pipelined_after_starttls_close_the_stream => "",
    plaintext_after_proceed_ends_the_connection => "",
    malformed_xml_is_not_well_formed => "",
    wrong_password_and_unknown_user_fail_identically => "",
    unknown_user_gets_a_stable_well_formed_salt => "",
    spoofed_from_is_invalid_from => "",
    unknown_iq_to_the_server_is_service_unavailable => "",
    same_resource_login_replaces_the_old_session_with_conflict => "",
    oversized_stanza_is_policy_violation => "[limits]\nmax_stanza_bytes = 4096\n",
);
