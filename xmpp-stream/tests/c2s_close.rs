//! Ending a stream: by the peer (`</stream:stream>`, its own stream error, EOF), by us, and
//! what happens after (errors are sticky, inputs do nothing).

mod support;

use support::{Client, el};
use xmpp_core::{StreamCondition, StreamError};
use xmpp_stream::FrameEvent;
use xmpp_stream::c2s::{Event, SendError, State};

#[test]
fn peer_close_is_answered_with_ours() {
    let (mut c, _) = Client::bound();
    c.send("</stream:stream>");
    assert_eq!(c.recv(), FrameEvent::StreamClose);
    assert_eq!(
        c.event(),
        Event::Closed {
            error: None,
            by_peer: true
        }
    );
    assert!(c.wire.ends_with("</stream:stream>"));
    assert_eq!(c.conn.state(), State::Closed);
}

#[test]
fn peer_close_during_negotiation() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send("</stream:stream>");
    assert_eq!(c.recv(), FrameEvent::StreamClose);
    assert_eq!(
        c.event(),
        Event::Closed {
            error: None,
            by_peer: true
        }
    );
}

#[test]
fn a_stream_error_from_the_peer_is_reported() {
    let (mut c, _) = Client::bound();
    c.send(
        "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         </stream:error></stream:stream>",
    );
    assert_eq!(c.recv(), FrameEvent::StreamClose);
    assert_eq!(
        c.event(),
        Event::Closed {
            error: Some(StreamError::new(StreamCondition::SystemShutdown)),
            by_peer: true
        }
    );
}

#[test]
fn peer_eof_ends_without_output() {
    let (mut c, _) = Client::bound();
    let wire = c.wire.clone();
    c.conn.handle_peer_eof();
    c.pump();
    assert_eq!(
        c.event(),
        Event::Closed {
            error: None,
            by_peer: true
        }
    );
    assert_eq!(c.wire, wire);
    c.conn.handle_peer_eof();
    c.pump();
    assert!(c.events.is_empty(), "one Closed only");
}

#[test]
fn close_writes_the_error_and_the_end() {
    let (mut c, _) = Client::bound();
    c.conn
        .close(StreamError::new(StreamCondition::SystemShutdown));
    c.pump();
    assert!(
        c.wire.ends_with(
            "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             </stream:error></stream:stream>"
        ),
        "{}",
        c.wire
    );
    c.expect_stream_error("system-shutdown");
}

#[test]
fn close_before_any_header_sends_ours_first() {
    let mut c = Client::plaintext();
    c.conn
        .close(StreamError::new(StreamCondition::SystemShutdown));
    c.pump();
    assert!(
        c.wire.starts_with("<?xml version='1.0'?><stream:stream "),
        "{}",
        c.wire
    );
    let _ = c.recv_header();
    c.expect_stream_error("system-shutdown");
}

#[test]
fn errors_are_sticky_and_later_inputs_do_nothing() {
    let (mut c, _) = Client::bound();
    c.send("<bogus xmlns='urn:example'/>");
    c.expect_stream_error("unsupported-stanza-type");
    let wire = c.wire.clone();

    c.send("<presence/>");
    assert!(c.unread.is_empty(), "input after the close is dropped");
    c.advance(std::time::Duration::from_secs(3600));
    c.conn.close(StreamError::new(StreamCondition::Conflict));
    c.conn.handle_peer_eof();
    c.conn.provide_no_such_user();
    c.conn.handle_tls_established(support::bindings(), c.now);
    assert_eq!(
        c.conn.send_element(&el("<message xmlns='jabber:client'/>")),
        Err(SendError::Closed)
    );
    c.pump();
    assert_eq!(c.wire, wire, "nothing more is written");
    assert!(c.events.is_empty(), "{:?}", c.events);
    assert_eq!(c.conn.poll_timeout(), None);
}

#[test]
fn unknown_nonzas_after_bind_are_unsupported() {
    for element in [
        // Stream management acks before <enable/>, and an unknown CSI element.
        "<r xmlns='urn:xmpp:sm:3'/>",
        "<a xmlns='urn:xmpp:sm:3' h='0'/>",
        "<csi xmlns='urn:xmpp:csi:0'/>",
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AA==</auth>",
        "<iq xmlns='urn:example:not-a-stanza' type='get' id='x'/>",
    ] {
        let (mut c, _) = Client::bound();
        c.send(element);
        c.expect_stream_error("unsupported-stanza-type");
    }
}

#[test]
fn stanzas_in_another_stanza_namespace_are_invalid_namespace() {
    let (mut c, _) = Client::bound();
    c.send("<message xmlns='jabber:server' to='romeo@example.net'/>");
    c.expect_stream_error("invalid-namespace");
}

#[test]
fn framer_limits_become_policy_violation() {
    let mut c = Client::new(
        support::config().with_limits(xmpp_stream::Limits {
            max_element_bytes: 1024,
            ..xmpp_stream::Limits::default()
        }),
        None,
    );
    let _ = c.login();
    let _ = c.bind(None);
    c.send(&format!(
        "<message to='romeo@example.net'><body>{}</body></message>",
        "x".repeat(2048)
    ));
    c.expect_stream_error("policy-violation");
}
