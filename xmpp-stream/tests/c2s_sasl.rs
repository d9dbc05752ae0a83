//! SASL on the wire: failures and their conditions, attempt limits, aborts, encodings,
//! authorisation identities, channel-binding downgrades, and stanzas before authentication
//! (security.md §1.6, B.13, C.19–C.23).

mod support;

use std::sync::Arc;

use support::{Client, PASSWORD, SASL_NS, USER, el, mechanisms};
use xmpp_core::Element;
use xmpp_sasl::{
    AuthzidPolicy, ChannelBindings, ClientChannelBinding, FailureCondition, FailureReason,
    Mechanism, ServerConfig, encode_sasl_payload,
};
use xmpp_stream::c2s::{Event, State};

fn failure(condition: &str) -> Element {
    el(&format!(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><{condition}/></failure>"
    ))
}

fn auth(mechanism: &str, payload: &str) -> String {
    format!("<auth xmlns='{SASL_NS}' mechanism='{mechanism}'>{payload}</auth>")
}

fn plain(user: &str, password: &str) -> String {
    auth(
        "PLAIN",
        &encode_sasl_payload(format!("\0{user}\0{password}").as_bytes()),
    )
}

/// Direct TLS, header sent; returns the client and the features.
fn tls_client() -> (Client, Element) {
    let mut c = Client::direct_tls();
    let (_, features) = c.open();
    (c, features)
}

fn scram(c: &mut Client, features: &Element, user: &str, password: &str) -> Element {
    c.authenticate(
        features,
        Mechanism::ScramSha256,
        user,
        password,
        ClientChannelBinding::Unsupported,
    )
}

#[test]
fn wrong_password_and_unknown_user_fail_the_same_way() {
    let (mut wrong, features) = tls_client();
    let wrong_failure = scram(&mut wrong, &features, USER, "not the password");
    let (mut unknown, features) = tls_client();
    let unknown_failure = scram(&mut unknown, &features, "nobody", PASSWORD);

    assert_eq!(wrong_failure, failure("not-authorized"));
    assert_eq!(
        unknown_failure, wrong_failure,
        "no hint whether the account exists"
    );

    let Event::AuthFailed {
        condition,
        username,
        ..
    } = wrong.find_event(|e| matches!(e, Event::AuthFailed { .. }))
    else {
        unreachable!()
    };
    assert_eq!(condition, FailureCondition::NotAuthorized);
    assert_eq!(username.as_deref(), Some(USER));
    let Event::AuthFailed {
        condition,
        username,
        ..
    } = unknown.find_event(|e| matches!(e, Event::AuthFailed { .. }))
    else {
        unreachable!()
    };
    assert_eq!(condition, FailureCondition::NotAuthorized);
    assert_eq!(username.as_deref(), Some("nobody"));
    // The stream stays open for a retry.
    assert_eq!(wrong.conn.state(), State::Authenticating);
    assert_eq!(unknown.conn.state(), State::Authenticating);
}

#[test]
fn plain_with_a_wrong_password_is_not_authorized() {
    let (mut c, _) = tls_client();
    c.send(&plain(USER, "nope"));
    assert_eq!(c.recv_element(), failure("not-authorized"));
    c.send(&plain("nobody", "nope"));
    assert_eq!(c.recv_element(), failure("not-authorized"));
}

#[test]
fn a_retry_after_a_failure_can_succeed() {
    let (mut c, features) = tls_client();
    assert_eq!(
        scram(&mut c, &features, USER, "typo"),
        failure("not-authorized")
    );
    assert!(scram(&mut c, &features, USER, PASSWORD).is("success", SASL_NS));
}

#[test]
fn too_many_failures_close_the_stream() {
    let (mut c, features) = tls_client();
    for _ in 0..2 {
        assert_eq!(
            scram(&mut c, &features, USER, "guess"),
            failure("not-authorized")
        );
    }
    // The third failure is still sent, then the stream ends.
    assert_eq!(
        scram(&mut c, &features, USER, "guess"),
        failure("not-authorized")
    );
    let failures = c
        .events
        .iter()
        .filter(|e| matches!(e, Event::AuthFailed { .. }))
        .count();
    assert_eq!(failures, 3, "one report per failure, for throttling");
    let error = c.expect_stream_error("policy-violation");
    assert_eq!(
        error.texts[0].text,
        "too many failed authentication attempts"
    );
}

#[test]
fn the_attempt_limit_is_configurable_and_counts_every_failure() {
    let mut c = Client::new(support::config().with_max_auth_attempts(2), None);
    let _ = c.open();
    // Before TLS: encryption-required counts too, so a client cannot loop on it forever.
    c.send(&plain(USER, PASSWORD));
    assert_eq!(c.recv_element(), failure("encryption-required"));
    c.send(&plain(USER, PASSWORD));
    assert_eq!(c.recv_element(), failure("encryption-required"));
    c.expect_stream_error("policy-violation");
}

#[test]
fn abort_is_answered_with_aborted() {
    let (mut c, _) = tls_client();
    c.send(&auth(
        "SCRAM-SHA-256",
        &encode_sasl_payload(b"n,,n=juliet,r=abcdefgh"),
    ));
    assert!(c.recv_element().is("challenge", SASL_NS));
    c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert_eq!(c.recv_element(), failure("aborted"));
    assert!(matches!(
        c.find_event(|e| matches!(e, Event::AuthFailed { .. })),
        Event::AuthFailed {
            condition: FailureCondition::Aborted,
            ..
        }
    ));
    // A <response/> now has no exchange to belong to.
    c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert_eq!(c.recv_element(), failure("malformed-request"));
}

#[test]
fn invalid_base64_is_incorrect_encoding() {
    let (mut c, _) = tls_client();
    for bad in ["not base64!", "biws ", "YQ="] {
        c.send(&auth("PLAIN", bad));
        assert_eq!(c.recv_element(), failure("incorrect-encoding"), "{bad}");
        assert!(matches!(
            c.find_event(|e| matches!(e, Event::AuthFailed { .. })),
            Event::AuthFailed {
                condition: FailureCondition::IncorrectEncoding,
                reason: FailureReason::InvalidBase64,
                ..
            }
        ));
        if c.conn.is_closed() {
            break;
        }
    }
}

#[test]
fn invalid_base64_in_a_response_is_incorrect_encoding() {
    let (mut c, _) = tls_client();
    c.send(&auth(
        "SCRAM-SHA-256",
        &encode_sasl_payload(b"n,,n=juliet,r=abcdefgh"),
    ));
    assert!(c.recv_element().is("challenge", SASL_NS));
    c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%%%</response>");
    assert_eq!(c.recv_element(), failure("incorrect-encoding"));
}

#[test]
fn equals_sign_is_an_empty_initial_response() {
    let (mut c, _) = tls_client();
    // "=" is present-but-empty data (RFC 6120 §6.4.2), which SCRAM cannot accept; an empty
    // element would instead have been answered with an empty challenge.
    c.send(&auth("SCRAM-SHA-256", "="));
    assert_eq!(c.recv_element(), failure("malformed-request"));
}

#[test]
fn unknown_or_missing_mechanism_is_invalid_mechanism() {
    let (mut c, _) = tls_client();
    c.send(&auth("DIGEST-MD5", ""));
    assert_eq!(c.recv_element(), failure("invalid-mechanism"));
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert_eq!(c.recv_element(), failure("invalid-mechanism"));
}

#[test]
fn a_second_auth_mid_exchange_is_malformed() {
    let (mut c, _) = tls_client();
    c.send(&auth(
        "SCRAM-SHA-256",
        &encode_sasl_payload(b"n,,n=juliet,r=abcdefgh"),
    ));
    assert!(c.recv_element().is("challenge", SASL_NS));
    c.send(&plain(USER, PASSWORD));
    assert_eq!(c.recv_element(), failure("malformed-request"));
    assert_eq!(c.conn.state(), State::Authenticating);
}

#[test]
fn stanzas_and_nonzas_before_auth_are_not_authorized() {
    // security.md B.13; nothing is routed.
    for element in [
        "<message to='romeo@example.net'><body>hi</body></message>",
        "<presence/>",
        "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>",
        // (<enable/> and <resume/> get an SM <failed/>: c2s_sm.rs.)
        "<r xmlns='urn:xmpp:sm:3'/>",
        "<active xmlns='urn:xmpp:csi:0'/>",
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        "<iq type='get' id='a'><query xmlns='jabber:iq:auth'/></iq>",
    ] {
        let (mut c, _) = tls_client();
        c.send(element);
        c.expect_stream_error("not-authorized");
        assert!(
            c.events.iter().all(|e| !matches!(e, Event::Stanza(_))),
            "{element}"
        );
    }
}

#[test]
fn authzid_of_someone_else_is_invalid_authzid() {
    for policy in [AuthzidPolicy::SelfOnly, AuthzidPolicy::CallerDecides] {
        let sasl = ServerConfig::clone(&support::sasl_config()).with_authzid_policy(policy);
        let config = xmpp_stream::c2s::ConnectionConfig::new([support::DOMAIN], Arc::new(sasl))
            .expect("config");
        let mut c = Client::new(config, Some(support::bindings()));
        let _ = c.open();
        let payload =
            encode_sasl_payload(format!("romeo@example.org\0{USER}\0{PASSWORD}").as_bytes());
        c.send(&auth("PLAIN", &payload));
        assert_eq!(c.recv_element(), failure("invalid-authzid"));
        assert!(c.conn.account().is_none());
    }
}

#[test]
fn authzid_of_oneself_is_accepted_and_normalised_when_the_caller_decides() {
    let sasl = ServerConfig::clone(&support::sasl_config())
        .with_authzid_policy(AuthzidPolicy::CallerDecides);
    let config =
        xmpp_stream::c2s::ConnectionConfig::new([support::DOMAIN], Arc::new(sasl)).expect("config");
    let mut c = Client::new(config, Some(support::bindings()));
    let _ = c.open();
    let payload = encode_sasl_payload(format!("Juliet@Example.ORG\0{USER}\0{PASSWORD}").as_bytes());
    c.send(&auth("PLAIN", &payload));
    assert!(c.recv_element().is("success", SASL_NS));
    assert_eq!(
        c.conn.account().map(xmpp_core::jid::BareJid::as_str),
        Some("juliet@example.org")
    );
}

#[test]
fn channel_binding_stripping_is_detected() {
    // C.19: the client supports channel binding but (a MITM made it) believe the server does
    // not: it sends GS2 flag `y` while the server advertises -PLUS.
    let (mut c, features) = tls_client();
    assert!(mechanisms(&features).contains(&"SCRAM-SHA-256-PLUS".to_owned()));
    let result = c.authenticate(
        &features,
        Mechanism::ScramSha256,
        USER,
        PASSWORD,
        ClientChannelBinding::NotOffered,
    );
    assert_eq!(result, failure("not-authorized"));
}

#[test]
fn channel_binding_to_another_tls_session_fails() {
    // C.20: the server's TLS session exports other data than the client's.
    let other = ChannelBindings {
        tls_exporter: Some(vec![0x01; 32]),
        tls_server_end_point: Some(vec![0x02; 32]),
    };
    let mut c = Client::new(support::config(), Some(other));
    let (_, features) = c.open();
    let result = c.authenticate(
        &features,
        Mechanism::ScramSha256Plus,
        USER,
        PASSWORD,
        support::EXPORTER,
    );
    assert_eq!(result, failure("not-authorized"));
}

#[test]
fn plus_is_not_offered_without_binding_data() {
    let mut c = Client::new(support::config(), Some(ChannelBindings::none()));
    let (_, features) = c.open();
    assert_eq!(
        mechanisms(&features),
        ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
    );
    assert!(
        features
            .get_child("sasl-channel-binding", "urn:xmpp:sasl-cb:0")
            .is_none()
    );
    c.send(&auth("SCRAM-SHA-256-PLUS", ""));
    assert_eq!(c.recv_element(), failure("invalid-mechanism"));
}

#[test]
fn a_name_no_account_can_have_fails_like_an_unknown_user_without_a_lookup() {
    let (mut c, features) = tls_client();
    // SASLprep keeps the space; a JID localpart cannot have one.
    let result = scram(&mut c, &features, "ju liet", PASSWORD);
    assert_eq!(result, failure("not-authorized"));
    assert!(
        !c.events
            .iter()
            .any(|e| matches!(e, Event::NeedCredentials { .. })),
        "{:?}",
        c.events
    );
}

#[test]
fn records_for_other_hashes_only_count_as_an_unknown_user() {
    let (mut c, _) = tls_client();
    c.auto = false;
    c.send(&plain(USER, PASSWORD));
    let Event::NeedCredentials { hash, .. } = c.event() else {
        panic!("expected NeedCredentials")
    };
    let others: Vec<_> = support::records(PASSWORD)
        .into_iter()
        .filter(|r| r.hash() != hash)
        .collect();
    c.conn.provide_credentials(others);
    c.pump();
    assert_eq!(c.recv_element(), failure("not-authorized"));
}

#[test]
fn credentials_nobody_asked_for_are_ignored() {
    let (mut c, _) = tls_client();
    c.conn.provide_credentials(support::records(PASSWORD));
    c.conn.provide_no_such_user();
    c.pump();
    assert!(c.nothing_received());
    assert!(c.events.is_empty());
    assert_eq!(c.conn.state(), State::Authenticating);
}
