//! Stream headers: what is refused with which condition, what is accepted, and restarts that
//! try to change the host (security.md B.16, B.17).

mod support;

use support::{Client, DOMAIN, PASSWORD, SASL_NS, USER, header_to};
use xmpp_sasl::{ClientChannelBinding, Mechanism, encode_sasl_payload};
use xmpp_stream::c2s::State;

fn header(attrs: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
         {attrs}>"
    )
}

/// Sends `header` as the first thing and expects the stream to end with `condition`, after
/// the server's own header (RFC 6120 §4.9.1.2).
fn refused(header: &str, condition: &str) -> Client {
    let mut c = Client::plaintext();
    c.send(header);
    let ours = c.recv_header();
    assert!(ours.id.is_some());
    assert_eq!(ours.version.as_deref(), Some("1.0"));
    c.expect_stream_error(condition);
    c
}

#[test]
fn unhosted_domain_is_host_unknown() {
    let c = refused(&header_to("elsewhere.example"), "host-unknown");
    // Nothing is claimed about a domain the client did not ask for.
    assert!(!c.wire.contains("from="), "{}", c.wire);
}

#[test]
fn missing_to_is_host_unknown() {
    refused(
        &header("xmlns='jabber:client' version='1.0'"),
        "host-unknown",
    );
}

#[test]
fn a_jid_that_is_not_a_domain_is_host_unknown() {
    refused(&header_to("juliet@example.org"), "host-unknown");
    refused(&header_to("example.org/res"), "host-unknown");
    refused(&header_to(""), "host-unknown");
}

#[test]
fn wrong_version_is_unsupported_version() {
    for attrs in [
        "xmlns='jabber:client' to='example.org'",
        "xmlns='jabber:client' to='example.org' version='0.9'",
        "xmlns='jabber:client' to='example.org' version='one'",
    ] {
        refused(&header(attrs), "unsupported-version");
    }
}

#[test]
fn a_higher_version_is_answered_with_ours() {
    let mut c = Client::plaintext();
    c.send(&header(
        "xmlns='jabber:client' to='example.org' version='1.1'",
    ));
    assert_eq!(c.recv_header().version.as_deref(), Some("1.0"));
    let _ = c.recv_features();
    assert_eq!(c.conn.state(), State::Authenticating);
}

#[test]
fn wrong_content_namespace_is_invalid_namespace() {
    refused(
        &header("xmlns='jabber:server' to='example.org' version='1.0'"),
        "invalid-namespace",
    );
    refused(
        &header("to='example.org' version='1.0'"),
        "invalid-namespace",
    );
}

#[test]
fn wrong_stream_namespace_is_invalid_namespace() {
    refused(
        "<stream:stream xmlns:stream='urn:example:not-streams' xmlns='jabber:client' \
         to='example.org' version='1.0'>",
        "invalid-namespace",
    );
}

#[test]
fn huge_xml_lang_is_a_policy_violation() {
    let lang = "x".repeat(10 * 1024);
    refused(
        &header(&format!(
            "xmlns='jabber:client' to='example.org' version='1.0' xml:lang='{lang}'"
        )),
        "policy-violation",
    );
}

#[test]
fn domain_is_normalised() {
    let mut c = Client::plaintext();
    let (header, _) = c.open_to("EXAMPLE.org.");
    assert_eq!(header.from.as_deref(), Some(DOMAIN));
    assert_eq!(c.conn.domain(), Some(DOMAIN));
}

#[test]
fn restart_after_starttls_to_another_host_is_host_unknown() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    let _ = c.recv_element();
    c.conn.handle_tls_established(support::bindings(), c.now);
    c.send(&header_to(support::OTHER_DOMAIN));
    let _ = c.recv_header();
    c.expect_stream_error("host-unknown");
}

#[test]
fn restart_after_sasl_to_another_host_is_host_unknown() {
    // CVE-2018-10847: authenticated on one host, restarted onto another of the same server.
    for to in [support::OTHER_DOMAIN, "", "elsewhere.example"] {
        let mut c = Client::direct_tls();
        let (_, features) = c.open();
        let success = c.authenticate(
            &features,
            Mechanism::ScramSha256,
            USER,
            PASSWORD,
            ClientChannelBinding::Unsupported,
        );
        assert!(success.is("success", SASL_NS));
        c.send(&header_to(to));
        let header = c.recv_header();
        // Our header still names the host the client authenticated on.
        assert_eq!(header.from.as_deref(), Some(DOMAIN));
        c.expect_stream_error("host-unknown");
        assert_eq!(c.conn.jid(), None);
    }
}

#[test]
fn restart_without_to_is_host_unknown() {
    let mut c = Client::direct_tls();
    let _ = c.open();
    let plain = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
    c.send(&format!(
        "<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{plain}</auth>"
    ));
    assert!(c.recv_element().is("success", SASL_NS));
    c.send(&header("xmlns='jabber:client' version='1.0'"));
    let _ = c.recv_header();
    c.expect_stream_error("host-unknown");
}

#[test]
fn restart_to_the_same_host_spelled_differently_is_fine() {
    let mut c = Client::direct_tls();
    let (_, features) = c.open();
    let _ = c.authenticate(
        &features,
        Mechanism::ScramSha256,
        USER,
        PASSWORD,
        ClientChannelBinding::Unsupported,
    );
    let (header, _) = c.open_to("Example.ORG.");
    assert_eq!(header.from.as_deref(), Some(DOMAIN));
    assert_eq!(c.conn.state(), State::Binding);
}

#[test]
fn malformed_xml_is_not_well_formed() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></wrong>");
    c.expect_stream_error("not-well-formed");
}

#[test]
fn malformed_xml_before_any_header_still_gets_our_header_first() {
    let mut c = Client::plaintext();
    c.send("<<<");
    let _ = c.recv_header();
    c.expect_stream_error("not-well-formed");
}

#[test]
fn restricted_xml_is_refused() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send("<!-- a comment -->");
    c.expect_stream_error("restricted-xml");
}

#[test]
fn a_stream_inside_the_stream_is_bad_format() {
    let mut c = Client::plaintext();
    let _ = c.open();
    // Without the XML declaration, which mid-stream is a processing instruction.
    c.send(header_to(DOMAIN).trim_start_matches("<?xml version='1.0'?>"));
    c.expect_stream_error("bad-format");
}
