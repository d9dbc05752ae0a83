//! STARTTLS and the TLS policy: what is allowed before TLS, and plaintext injection around
//! `<starttls/>` (security.md §1.4, B.10, B.12, B.14).

mod support;

use support::{Client, DOMAIN, PASSWORD, SASL_NS, TLS_NS, USER, el, header_to, mechanisms};
use xmpp_core::ns;
use xmpp_sasl::{FailureCondition, FailureReason, encode_sasl_payload};
use xmpp_stream::c2s::{Event, State, TlsPolicy};

const STARTTLS: &str = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

fn plain_auth() -> String {
    let payload = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
    format!("<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{payload}</auth>")
}

#[test]
fn sasl_before_starttls_is_encryption_required_and_the_stream_stays_open() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send(&plain_auth());
    assert_eq!(
        c.recv_element(),
        el("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>")
    );
    assert_eq!(
        c.event(),
        Event::AuthFailed {
            condition: FailureCondition::EncryptionRequired,
            reason: FailureReason::EncryptionRequired,
            username: None,
        }
    );
    assert_eq!(c.conn.state(), State::Authenticating);
    // No credentials were looked at, and STARTTLS still works.
    let features = c.starttls();
    assert!(mechanisms(&features).contains(&"PLAIN".to_owned()));
}

#[test]
fn stanzas_and_other_elements_before_tls_are_policy_violations() {
    for element in [
        "<message to='romeo@example.net'><body>hi</body></message>",
        "<presence/>",
        "<iq type='get' id='r'><query xmlns='jabber:iq:register'/></iq>",
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        "<compress xmlns='http://jabber.org/protocol/compress'><method>zlib</method></compress>",
    ] {
        let mut c = Client::plaintext();
        let _ = c.open();
        c.send(element);
        let error = c.expect_stream_error("policy-violation");
        assert_eq!(error.texts[0].text, "STARTTLS is required", "{element}");
        assert!(c.events.iter().all(|e| !matches!(e, Event::Stanza(_))));
    }
}

#[test]
fn bytes_pipelined_after_starttls_close_the_stream() {
    // The CVE-2011-0411 shape, with each payload an attacker would inject.
    for injected in [
        "<iq type='set' id='inj'><query xmlns='jabber:iq:register'/></iq>",
        plain_auth().as_str(),
        "</stream:stream>",
        STARTTLS,
        " ",
        "\u{16}\u{3}\u{1}",
    ] {
        let mut c = Client::plaintext();
        let _ = c.open();
        c.send(&format!("{STARTTLS}{injected}"));
        let error = c.expect_stream_error("policy-violation");
        assert_eq!(error.texts[0].text, "data after <starttls/>");
        assert!(!c.wire.contains("proceed"), "{}", c.wire);
        assert!(!c.events.iter().any(|e| matches!(e, Event::StartTls)));
        assert!(!c.wire.contains("inj"));
    }
}

#[test]
fn injection_split_across_reads_is_caught_too() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'");
    assert!(c.nothing_received());
    c.send("/><presence/>");
    c.expect_stream_error("policy-violation");
}

#[test]
fn plaintext_read_after_proceed_ends_the_connection_silently() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send(STARTTLS);
    assert!(c.recv_element().is("proceed", TLS_NS));
    assert_eq!(c.event(), Event::StartTls);
    let wire_before = c.wire.clone();
    // A driver that kept reading the plaintext socket hands the bytes in.
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AA==</auth>");
    let Event::Closed { error, by_peer } = c.event() else {
        panic!("expected Closed")
    };
    assert_eq!(
        error.map(|e| e.condition.as_str()),
        Some("policy-violation")
    );
    assert!(!by_peer);
    // Nothing is written: the XML stream ended with <proceed/> and TLS has not started.
    assert_eq!(c.wire, wire_before);
    assert!(c.conn.is_closed());
}

#[test]
fn starttls_restarts_the_stream_with_a_fresh_parser() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send(STARTTLS);
    let _ = c.recv_element();
    c.conn.handle_tls_established(support::bindings(), c.now);
    assert_eq!(c.conn.state(), State::AwaitingStreamHeader);
    // A stanza instead of a new header: the new stream has not begun.
    c.send("<presence/>");
    c.expect_stream_error("invalid-namespace");
}

#[test]
fn starttls_on_an_encrypted_stream_is_not_authorized() {
    let mut c = Client::direct_tls();
    let _ = c.open();
    c.send(STARTTLS);
    c.expect_stream_error("not-authorized");
}

#[test]
fn starttls_where_it_is_not_available_fails_and_closes() {
    let mut c = Client::new(
        support::config()
            .with_tls(TlsPolicy::Optional)
            .with_starttls(false),
        None,
    );
    let (_, features) = c.open();
    assert!(features.get_child("starttls", TLS_NS).is_none());
    c.send(STARTTLS);
    assert_eq!(
        c.recv_element(),
        el("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    );
    assert!(c.wire.ends_with("</stream:stream>"));
    assert_eq!(
        c.event(),
        Event::Closed {
            error: None,
            by_peer: false
        }
    );
}

#[test]
fn tls_required_without_starttls_on_a_plaintext_socket_is_a_server_error() {
    let mut c = Client::new(support::config().with_starttls(false), None);
    c.send(&header_to(DOMAIN));
    let _ = c.recv_header();
    c.expect_stream_error("internal-server-error");
}

#[test]
fn optional_listener_offers_starttls_and_sasl_without_plain() {
    let mut c = Client::optional_tls();
    let (_, features) = c.open();
    let starttls = features
        .get_child("starttls", TLS_NS)
        .expect("STARTTLS offered");
    assert!(!starttls.has_child("required", TLS_NS));
    assert_eq!(
        mechanisms(&features),
        ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"]
    );
    assert!(
        features
            .get_child("sasl-channel-binding", "urn:xmpp:sasl-cb:0")
            .is_none(),
        "no channel binding without TLS"
    );
}

#[test]
fn plain_without_tls_on_an_optional_listener_is_encryption_required() {
    let mut c = Client::optional_tls();
    let _ = c.open();
    c.send(&plain_auth());
    assert_eq!(
        c.recv_element(),
        el("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>")
    );
    assert!(matches!(
        c.event(),
        Event::AuthFailed {
            condition: FailureCondition::EncryptionRequired,
            ..
        }
    ));
    assert_eq!(c.conn.state(), State::Authenticating);
}

#[test]
fn scram_in_plaintext_on_an_optional_listener_works() {
    let mut c = Client::optional_tls();
    let (_, features) = c.open();
    let success = c.authenticate(
        &features,
        xmpp_sasl::Mechanism::ScramSha256,
        USER,
        PASSWORD,
        xmpp_sasl::ClientChannelBinding::Unsupported,
    );
    assert!(success.is("success", SASL_NS));
    let (_, features) = c.open();
    assert!(features.has_child("bind", ns::BIND));
    assert!(!c.conn.is_encrypted());
}

#[test]
fn tls_established_is_ignored_when_not_asked_for() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.conn.handle_tls_established(support::bindings(), c.now);
    assert!(!c.conn.is_encrypted());
    assert_eq!(c.conn.state(), State::Authenticating);
}
