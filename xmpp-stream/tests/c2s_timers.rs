//! Time: the negotiation deadline, and XEP-0199 keep-alive pings after binding, driven by a
//! virtual clock.

mod support;

use std::time::Duration;

use support::{Client, DOMAIN, header_to};
use xmpp_core::{Element, ns};
use xmpp_stream::c2s::{Event, KeepaliveConfig};

const IDLE: Duration = Duration::from_secs(300);
const REPLY: Duration = Duration::from_secs(60);

/// Lets the idle interval pass and returns the ping the server sent.
fn ping(c: &mut Client) -> Element {
    c.advance(IDLE);
    let ping = c.recv_element();
    assert!(ping.is("iq", ns::JABBER_CLIENT), "{ping:?}");
    ping
}

#[test]
fn a_quiet_client_is_pinged_and_its_reply_is_consumed() {
    let (mut c, jid) = Client::bound();
    let bound_at = c.now;
    assert_eq!(c.conn.poll_timeout(), Some(bound_at + IDLE));

    c.advance(Duration::from_secs(299));
    assert!(c.nothing_received());
    c.advance(Duration::from_secs(1));
    let ping = c.recv_element();
    assert_eq!(ping.attr("type"), Some("get"));
    assert_eq!(ping.attr("from"), Some(DOMAIN));
    assert_eq!(ping.attr("to"), Some(jid.as_str()));
    assert!(ping.has_child("ping", ns::PING));
    let id = ping.attr("id").expect("an id").to_owned();
    assert!(id.starts_with("ping-"), "{id}");
    assert_eq!(c.conn.poll_timeout(), Some(c.now + REPLY));

    c.advance(Duration::from_secs(10));
    c.send(&format!("<iq type='result' id='{id}' to='{DOMAIN}'/>"));
    assert!(
        c.events.is_empty(),
        "our ping's reply is not a stanza: {:?}",
        c.events
    );
    assert!(!c.conn.is_closed());
    assert_eq!(c.conn.poll_timeout(), Some(c.now + IDLE));
}

#[test]
fn an_unanswered_ping_closes_with_connection_timeout() {
    let (mut c, _) = Client::bound();
    let _ = ping(&mut c);
    c.advance(Duration::from_secs(59));
    assert!(!c.conn.is_closed());
    c.advance(Duration::from_secs(1));
    c.expect_stream_error("connection-timeout");
    assert_eq!(c.conn.poll_timeout(), None);
}

#[test]
fn any_input_counts_as_an_answer() {
    let (mut c, _) = Client::bound();
    let ping = ping(&mut c);
    // A whitespace keep-alive is enough to show the client is there.
    c.send(" ");
    c.advance(REPLY);
    assert!(!c.conn.is_closed());
    // The late reply is still recognised.
    c.send(&format!(
        "<iq type='result' id='{}'/>",
        ping.attr("id").unwrap_or_default()
    ));
    assert!(c.events.is_empty(), "{:?}", c.events);
}

#[test]
fn an_error_reply_to_a_ping_is_consumed_too() {
    let (mut c, _) = Client::bound();
    let ping = ping(&mut c);
    c.send(&format!(
        "<iq type='error' id='{}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        ping.attr("id").unwrap_or_default()
    ));
    assert!(c.events.is_empty(), "{:?}", c.events);
}

#[test]
fn replies_with_other_ids_are_stanzas() {
    let (mut c, _) = Client::bound();
    let _ = ping(&mut c);
    c.send("<iq type='result' id='ping-guess'/>");
    assert!(matches!(c.event(), Event::Stanza(_)));
}

#[test]
fn input_postpones_the_ping() {
    let (mut c, _) = Client::bound();
    c.advance(Duration::from_secs(200));
    c.send("<presence/>");
    c.events.clear();
    c.advance(Duration::from_secs(200));
    assert!(c.nothing_received(), "only 200 s since the presence");
    c.advance(Duration::from_secs(100));
    assert!(c.recv_element().has_child("ping", ns::PING));
}

#[test]
fn pings_can_be_turned_off() {
    let mut c = Client::new(support::config().with_keepalive(None), None);
    let _ = c.login();
    let _ = c.bind(None);
    assert!(c.conn.jid().is_some());
    assert_eq!(c.conn.poll_timeout(), None);
    c.advance(Duration::from_secs(86_400));
    assert!(c.nothing_received());
    assert!(!c.conn.is_closed());
}

#[test]
fn keepalive_intervals_are_configurable() {
    let keepalive = KeepaliveConfig {
        idle: Duration::from_secs(30),
        reply_timeout: Duration::from_secs(5),
    };
    let mut c = Client::new(support::config().with_keepalive(Some(keepalive)), None);
    let _ = c.login();
    let _ = c.bind(None);
    c.advance(Duration::from_secs(30));
    assert!(c.recv_element().has_child("ping", ns::PING));
    c.advance(Duration::from_secs(5));
    c.expect_stream_error("connection-timeout");
}

#[test]
fn negotiation_must_end_in_a_bound_resource_in_time() {
    let mut c = Client::plaintext();
    let started = c.now;
    assert_eq!(
        c.conn.poll_timeout(),
        Some(started + Duration::from_secs(60))
    );
    let _ = c.open();
    // Input does not extend the deadline: the client has 60 s to get bound, in total.
    c.advance(Duration::from_secs(59));
    c.send(" ");
    assert!(!c.conn.is_closed());
    c.advance(Duration::from_secs(1));
    c.expect_stream_error("connection-timeout");
}

#[test]
fn negotiation_timeout_after_auth_but_before_bind() {
    let mut c = Client::new(
        support::config().with_negotiation_timeout(Duration::from_secs(10)),
        None,
    );
    let _ = c.login();
    c.advance(Duration::from_secs(10));
    c.expect_stream_error("connection-timeout");
}

#[test]
fn a_silent_connection_gets_our_header_before_the_timeout_error() {
    let mut c = Client::plaintext();
    c.advance(Duration::from_secs(60));
    let header = c.recv_header();
    assert_eq!(header.from, None);
    c.expect_stream_error("connection-timeout");
}

#[test]
fn early_timer_calls_do_nothing() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.advance(Duration::ZERO);
    c.advance(Duration::from_secs(1));
    assert!(c.nothing_received());
    assert!(!c.conn.is_closed());
    c.send(&header_to(DOMAIN).replace("<?xml version='1.0'?>", ""));
    c.expect_stream_error("bad-format");
}
