//! XEP-0198 stream management and XEP-0352 client state indication on a client stream:
//! features, `<enable/>`, acks both ways (an `<a/>` only counts what the driver handled),
//! the bounded queue, resumption on a new connection, and when a session may be resumed.

mod support;

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use support::{Client, el};
use xmpp_core::jid::FullJid;
use xmpp_core::{Element, StreamCondition, StreamError, ns};
use xmpp_stream::c2s::{
    Event, ResumeError, Resumed, Resumption, SendError, SmConfig, SmState, State,
};

const SM: &str = "urn:xmpp:sm:3";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// A bound client that enabled stream management; returns the resumption, if granted.
fn enabled(enable: &str) -> (Client, FullJid, Option<Resumption>) {
    let (mut c, jid) = Client::bound();
    c.send(enable);
    let enabled = c.recv_element();
    assert!(enabled.is("enabled", SM), "{enabled:?}");
    let Event::SmEnabled { resume } = c.event() else {
        panic!("expected SmEnabled")
    };
    (c, jid, resume)
}

fn resumable() -> (Client, FullJid, Resumption) {
    let (c, jid, resume) = enabled("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    (c, jid, resume.expect("resumption granted"))
}

/// The `h` of the next element, which must be an `<a/>`.
fn recv_ack(c: &mut Client) -> u32 {
    let a = c.recv_element();
    assert!(a.is("a", SM), "expected <a/>, got {a:?}");
    a.attr("h").expect("h").parse().expect("a number")
}

/// The condition of the next element, which must be an SM `<failed/>`.
fn recv_failed(c: &mut Client) -> Element {
    let failed = c.recv_element();
    assert!(
        failed.is("failed", SM),
        "expected <failed/>, got {failed:?}"
    );
    failed
}

fn failed_condition(failed: &Element) -> String {
    let condition = failed.children().next().expect("a condition");
    assert_eq!(condition.ns(), STANZAS);
    condition.name().to_owned()
}

fn message(n: u32) -> Element {
    el(&format!(
        "<message xmlns='jabber:client' to='juliet@example.org/r' id='m{n}'><body>{n}</body></message>"
    ))
}

/// Sends `n` messages from the server; each is written and queued.
fn send_messages(c: &mut Client, range: std::ops::Range<u32>) {
    for n in range {
        c.conn.send_element(&message(n)).expect("sent");
        c.pump();
        assert_eq!(c.recv_element(), message(n));
    }
}

fn stanza_events(c: &mut Client) -> usize {
    let n = c
        .events
        .iter()
        .filter(|e| matches!(e, Event::Stanza(_)))
        .count();
    c.events.retain(|e| !matches!(e, Event::Stanza(_)));
    n
}

// --- Features ----------------------------------------------------------------------------

#[test]
fn features_advertise_sm_and_csi_after_authentication_only_when_configured() {
    let mut c = Client::plaintext();
    let (_, before_tls) = c.open();
    assert!(!before_tls.has_child("sm", SM));
    let before_auth = c.starttls();
    assert!(
        !before_auth.has_child("sm", SM),
        "XEP-0198 §2: not before authentication"
    );
    assert!(!before_auth.has_child("csi", ns::CSI));

    let features = Client::plaintext().login();
    assert!(features.has_child("sm", SM));
    assert!(features.has_child("csi", ns::CSI));
    assert!(features.has_child("bind", ns::BIND));

    let features = Client::new(support::config().with_stream_management(None), None).login();
    assert!(!features.has_child("sm", SM));
    assert!(features.has_child("csi", ns::CSI));

    let features = Client::new(support::config().with_csi(false), None).login();
    assert!(features.has_child("sm", SM));
    assert!(!features.has_child("csi", ns::CSI));
}

// --- Enabling ----------------------------------------------------------------------------

#[test]
fn enable_without_resume() {
    let (mut c, _) = Client::bound();
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    assert!(
        c.wire.ends_with("<enabled xmlns='urn:xmpp:sm:3'/>"),
        "{}",
        c.wire
    );
    assert_eq!(c.recv_element(), el("<enabled xmlns='urn:xmpp:sm:3'/>"));
    assert_eq!(c.event(), Event::SmEnabled { resume: None });
    assert!(!c.conn.is_resumable());
    let state = c.conn.sm_state().expect("on");
    assert_eq!((state.sent(), state.handled_inbound()), (0, 0));
}

#[test]
fn enable_with_resume_gives_an_id_and_the_shorter_timeout() {
    let (mut c, _) = Client::bound();
    c.send("<enable xmlns='urn:xmpp:sm:3' resume='true' max='60'/>");
    let answer = c.recv_element();
    let id = answer.attr("id").expect("an SM-ID").to_owned();
    assert_eq!(id.len(), 32, "128 random bits, hex: {id}");
    assert_eq!(answer.attr("resume"), Some("true"));
    assert_eq!(answer.attr("max"), Some("60"));
    assert_eq!(
        c.event(),
        Event::SmEnabled {
            resume: Some(Resumption {
                id: id.clone(),
                timeout: Duration::from_secs(60)
            })
        }
    );
    assert!(c.conn.is_resumable());
    assert_eq!(
        c.conn
            .sm_state()
            .and_then(SmState::resumption)
            .map(|r| &r.id),
        Some(&id)
    );

    // A client asking for more than the server keeps gets the server's maximum.
    let (_, _, resume) = enabled("<enable xmlns='urn:xmpp:sm:3' resume='1' max='86400'/>");
    assert_eq!(resume.map(|r| r.timeout), Some(Duration::from_secs(300)));
    let (_, _, resume) = enabled("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    assert_eq!(resume.map(|r| r.timeout), Some(Duration::from_secs(300)));
}

#[test]
fn resumption_can_be_turned_off() {
    let sm = SmConfig {
        resume: false,
        ..SmConfig::default()
    };
    let mut c = Client::new(support::config().with_stream_management(Some(sm)), None);
    let _ = c.login();
    let _ = c.bind(None);
    c.events.clear();
    c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    assert_eq!(c.recv_element(), el("<enabled xmlns='urn:xmpp:sm:3'/>"));
    assert_eq!(c.event(), Event::SmEnabled { resume: None });
}

#[test]
fn enable_before_bind_fails_and_the_stream_goes_on() {
    let mut c = Client::plaintext();
    let _ = c.login();
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    let failed = recv_failed(&mut c);
    assert_eq!(
        failed,
        el("<failed xmlns='urn:xmpp:sm:3'>\
            <unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
    );
    let result = c.bind(Some("phone"));
    assert_eq!(result.attr("type"), Some("result"));
    c.events.clear();
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    assert!(c.recv_element().is("enabled", SM));
}

#[test]
fn a_second_enable_fails() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    assert_eq!(failed_condition(&recv_failed(&mut c)), "unexpected-request");
    assert!(c.events.is_empty());
    assert!(!c.conn.is_closed());
    // Still on, still counting.
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(recv_ack(&mut c), 0);
}

#[test]
fn a_malformed_enable_fails_with_bad_request() {
    for enable in [
        "<enable xmlns='urn:xmpp:sm:3' resume='yes'/>",
        "<enable xmlns='urn:xmpp:sm:3' resume='true' max='0'/>",
        "<enable xmlns='urn:xmpp:sm:3' max='soon'/>",
    ] {
        let (mut c, _) = Client::bound();
        c.send(enable);
        assert_eq!(
            failed_condition(&recv_failed(&mut c)),
            "bad-request",
            "{enable}"
        );
        assert!(c.conn.sm_state().is_none());
        // Not used up: a correct one works.
        c.send("<enable xmlns='urn:xmpp:sm:3'/>");
        assert!(c.recv_element().is("enabled", SM));
    }
}

#[test]
fn enable_and_resume_before_authentication_fail_and_the_stream_goes_on() {
    let mut c = Client::direct_tls();
    let (_, features) = c.open();
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(failed_condition(&recv_failed(&mut c)), "unexpected-request");
    c.send("<resume xmlns='urn:xmpp:sm:3' previd='abc' h='0'/>");
    assert_eq!(failed_condition(&recv_failed(&mut c)), "unexpected-request");
    assert!(
        c.events.is_empty(),
        "nothing for the driver: {:?}",
        c.events
    );
    let success = c.authenticate(
        &features,
        xmpp_sasl::Mechanism::ScramSha256,
        support::USER,
        support::PASSWORD,
        xmpp_sasl::ClientChannelBinding::Unsupported,
    );
    assert!(success.is("success", support::SASL_NS));
}

#[test]
fn enable_before_tls_on_a_tls_required_listener_is_a_policy_violation() {
    let mut c = Client::plaintext();
    let _ = c.open();
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    c.expect_stream_error("policy-violation");
}

// --- Acks from the server ----------------------------------------------------------------

#[test]
fn an_ack_counts_only_stanzas_the_driver_handled() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(recv_ack(&mut c), 0, "nothing received yet");

    c.send("<message to='romeo@example.net' id='1'><body>hi</body></message>");
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(stanza_events(&mut c), 1);
    assert!(
        c.nothing_received(),
        "no <a/> while the stanza is in flight"
    );
    assert_eq!(c.conn.sm_state().map(SmState::received_inbound), Some(1));

    c.conn.stanza_handled();
    c.pump();
    assert_eq!(recv_ack(&mut c), 1, "answered once it is handled");
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(recv_ack(&mut c), 1);
    // Extra confirmations count nothing.
    c.conn.stanza_handled();
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(recv_ack(&mut c), 1);
}

#[test]
fn each_deferred_request_is_answered_with_the_count_it_waited_for() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.send(
        "<message id='1'/><r xmlns='urn:xmpp:sm:3'/><message id='2'/><presence/>\
         <r xmlns='urn:xmpp:sm:3'/>",
    );
    assert_eq!(stanza_events(&mut c), 3);
    assert!(c.nothing_received());
    c.conn.stanza_handled();
    c.pump();
    assert_eq!(recv_ack(&mut c), 1, "the first <r/> saw one stanza");
    c.conn.stanza_handled();
    c.pump();
    assert!(c.nothing_received(), "the second saw three");
    c.conn.stanza_handled();
    c.pump();
    assert_eq!(recv_ack(&mut c), 3);
    assert!(c.nothing_received());
}

#[test]
fn stanzas_from_before_enable_are_not_counted() {
    let (mut c, _) = Client::bound();
    c.send("<presence/><enable xmlns='urn:xmpp:sm:3'/><message id='1'/>");
    assert!(c.recv_element().is("enabled", SM));
    assert_eq!(stanza_events(&mut c), 2);
    // The driver confirms the presence (from before), then the message.
    c.conn.stanza_handled();
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert!(c.nothing_received(), "the message is still in flight");
    c.conn.stanza_handled();
    c.pump();
    assert_eq!(recv_ack(&mut c), 1);
}

#[test]
fn stanzas_the_connection_answers_itself_count_in_order() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.send(
        "<message id='1'/>\
         <iq type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>\
         <r xmlns='urn:xmpp:sm:3'/>",
    );
    assert_eq!(stanza_events(&mut c), 1);
    let session = c.recv_element();
    assert_eq!(session.attr("id"), Some("s"));
    assert!(
        c.nothing_received(),
        "the session IQ waits for the message before it"
    );
    c.conn.stanza_handled();
    c.pump();
    assert_eq!(recv_ack(&mut c), 2);
    // The session result went out counted.
    assert_eq!(c.conn.sm_state().map(SmState::sent), Some(1));
}

// --- Acks from the client ----------------------------------------------------------------

#[test]
fn client_acks_drop_the_queue_and_requests_are_not_repeated() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.conn.request_ack();
    c.pump();
    assert!(c.nothing_received(), "nothing to acknowledge");

    send_messages(&mut c, 0..3);
    c.conn.request_ack();
    c.conn.request_ack();
    c.pump();
    assert_eq!(c.recv_element(), el("<r xmlns='urn:xmpp:sm:3'/>"));
    assert!(c.nothing_received(), "one request at a time");
    let state = c.conn.sm_state().expect("on");
    assert_eq!(
        (state.sent(), state.acked(), state.unacked_count()),
        (3, 0, 3)
    );

    c.send("<a xmlns='urn:xmpp:sm:3' h='2'/>");
    let state = c.conn.sm_state().expect("on");
    assert_eq!((state.acked(), state.unacked_count()), (2, 1));
    let left: Vec<&Bytes> = state.unacked().collect();
    assert_eq!(left.len(), 1);
    assert!(
        std::str::from_utf8(left[0])
            .expect("UTF-8")
            .contains("id='m2'")
    );

    // The <a/> ended the request: a new one may go out.
    c.conn.request_ack();
    c.pump();
    assert!(c.recv_element().is("r", SM));
    c.send("<a xmlns='urn:xmpp:sm:3' h='3'/>");
    assert_eq!(c.conn.sm_state().map(SmState::unacked_count), Some(0));
    assert!(!c.conn.is_closed());
}

#[test]
fn an_ack_for_more_than_was_sent_closes_the_stream() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    send_messages(&mut c, 0..1);
    c.send("<a xmlns='urn:xmpp:sm:3' h='5'/>");
    let error = c.expect_stream_error("undefined-condition");
    let app = error.app_condition.expect("XEP-0198 §6 condition");
    assert_eq!(
        app,
        el("<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='1'/>")
    );
    assert!(!c.conn.is_resumable());
}

#[test]
fn an_ack_without_a_number_is_invalid_xml() {
    for a in [
        "<a xmlns='urn:xmpp:sm:3'/>",
        "<a xmlns='urn:xmpp:sm:3' h='one'/>",
        "<a xmlns='urn:xmpp:sm:3' h='-1'/>",
        "<a xmlns='urn:xmpp:sm:3' h='4294967296'/>",
    ] {
        let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
        c.send(a);
        c.expect_stream_error("invalid-xml");
    }
}

#[test]
fn a_full_queue_closes_the_stream_with_policy_violation() {
    let sm = SmConfig {
        max_unacked: 2,
        ..SmConfig::default()
    };
    let mut c = Client::new(support::config().with_stream_management(Some(sm)), None);
    let _ = c.login();
    let _ = c.bind(None);
    c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    let _ = c.recv_element();
    send_messages(&mut c, 0..2);
    let wire_before = c.wire.len();
    assert_eq!(c.conn.send_element(&message(2)), Err(SendError::Closed));
    c.pump();
    assert!(!c.wire[wire_before..].contains("id='m2'"), "not written");
    let error = c.expect_stream_error("policy-violation");
    assert_eq!(error.texts[0].text, "too many unacknowledged stanzas");
    assert!(!c.conn.is_resumable());
    // The two unacknowledged stanzas are the driver's to deal with.
    let state = c.conn.take_sm_state().expect("kept");
    assert_eq!(state.into_unacked().len(), 2);
    assert_eq!(
        c.conn.send_serialized(Bytes::from_static(b"<message/>")),
        Err(SendError::Closed)
    );
}

#[test]
fn serialized_stanzas_are_written_as_they_are_and_queued() {
    let (mut c, _) = Client::bound();
    let bytes =
        Bytes::from_static(b"<message from='romeo@example.net/o' id='x'><body>b</body></message>");
    c.conn.send_serialized(bytes.clone()).expect("bound");
    c.pump();
    assert!(
        c.wire
            .ends_with(std::str::from_utf8(&bytes).expect("UTF-8"))
    );
    assert!(c.conn.sm_state().is_none(), "not counted before <enable/>");

    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    let _ = c.recv_element();
    let _ = c.recv_element();
    c.conn.send_serialized(bytes.clone()).expect("bound");
    let state = c.conn.sm_state().expect("on");
    assert_eq!(state.sent(), 1);
    assert_eq!(state.unacked().next(), Some(&bytes));

    let mut unbound = Client::plaintext();
    let _ = unbound.login();
    assert_eq!(
        unbound.conn.send_serialized(bytes),
        Err(SendError::NotBound)
    );
}

#[test]
fn pings_are_counted_but_not_kept() {
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.advance(Duration::from_secs(300));
    let ping = c.recv_element();
    assert!(ping.has_child("ping", ns::PING), "{ping:?}");
    let state = c.conn.sm_state().expect("on");
    assert_eq!((state.sent(), state.unacked_count()), (1, 1));
    assert_eq!(state.unacked().count(), 0, "nothing to re-send or store");
    // Its reply counts inbound, handled by the connection.
    let id = ping.attr("id").expect("an id");
    c.send(&format!(
        "<iq type='result' id='{id}'/><r xmlns='urn:xmpp:sm:3'/>"
    ));
    assert_eq!(recv_ack(&mut c), 1);
    assert!(c.events.is_empty(), "{:?}", c.events);
    c.send("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    assert_eq!(c.conn.sm_state().map(SmState::unacked_count), Some(0));
}

// --- Resumption --------------------------------------------------------------------------

/// A session with three stanzas sent (the client acknowledged the first) and two received
/// and handled, whose connection was cut.
fn dropped_session() -> (FullJid, Resumption, SmState) {
    let (mut old, jid, resumption) = resumable();
    send_messages(&mut old, 0..3);
    old.send("<a xmlns='urn:xmpp:sm:3' h='1'/><message id='c1'/><message id='c2'/>");
    assert_eq!(stanza_events(&mut old), 2);
    old.conn.handle_peer_eof();
    old.pump();
    assert!(matches!(
        old.event(),
        Event::Closed {
            error: None,
            by_peer: true
        }
    ));
    // The driver finishes the stanzas it was given, then takes the state.
    old.conn.stanza_handled();
    old.conn.stanza_handled();
    assert!(old.conn.is_resumable());
    let state = old.conn.take_sm_state().expect("SM state");
    assert!(!old.conn.is_resumable(), "taken");
    assert_eq!(
        (state.sent(), state.acked(), state.handled_inbound()),
        (3, 1, 2)
    );
    (jid, resumption, state)
}

fn resume_request(c: &mut Client, previd: &str, h: u32) {
    let _ = c.login();
    c.events.clear();
    c.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{previd}' h='{h}'/><message id='after'/>"
    ));
    assert_eq!(
        c.event(),
        Event::ResumeRequest {
            previd: previd.to_owned(),
            h
        }
    );
    assert_eq!(c.conn.state(), State::AwaitingResume);
    assert!(c.conn.is_blocked());
    assert_eq!(
        c.unread, b"<message id='after'/>",
        "input waits for the driver"
    );
}

#[test]
fn resumption_on_a_new_connection_resends_what_was_not_acknowledged() {
    let (jid, resumption, state) = dropped_session();
    let mut c = Client::plaintext();
    // The client handled two of the three stanzas it was sent.
    resume_request(&mut c, &resumption.id, 2);
    c.conn.complete_resume(Ok(Resumed::new(jid.clone(), state)));
    c.pump();
    assert_eq!(
        c.recv_element(),
        el(&format!(
            "<resumed xmlns='urn:xmpp:sm:3' previd='{}' h='2'/>",
            resumption.id
        ))
    );
    assert_eq!(
        c.recv_element(),
        message(2),
        "the one stanza not acknowledged"
    );
    assert_eq!(c.event(), Event::Resumed { jid: jid.clone() });
    assert_eq!(c.conn.state(), State::Established);
    assert_eq!(c.conn.jid(), Some(&jid));
    assert!(c.conn.is_resumable());
    assert_eq!(
        c.conn.sm_state().and_then(SmState::resumption),
        Some(&resumption)
    );

    // The pipelined stanza is read now and counted after the old ones.
    c.feed();
    assert_eq!(stanza_events(&mut c), 1);
    c.conn.stanza_handled();
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(recv_ack(&mut c), 3);

    // Outbound numbering goes on: the re-sent stanza is number 3, the next one 4.
    send_messages(&mut c, 3..4);
    assert_eq!(c.conn.sm_state().map(SmState::sent), Some(4));
    c.send("<a xmlns='urn:xmpp:sm:3' h='4'/>");
    assert_eq!(c.conn.sm_state().map(SmState::unacked_count), Some(0));
    assert!(!c.conn.is_closed());

    // A resumed stream is bound: no second enable, bind or resume.
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(failed_condition(&recv_failed(&mut c)), "unexpected-request");
    c.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{}' h='4'/>",
        resumption.id
    ));
    assert_eq!(failed_condition(&recv_failed(&mut c)), "unexpected-request");
    // Pings run as after binding.
    assert!(c.conn.poll_timeout().is_some());
}

#[test]
fn a_failed_resumption_leaves_the_client_free_to_bind() {
    let mut c = Client::plaintext();
    resume_request(&mut c, "unknown", 0);
    c.conn.complete_resume(Err(ResumeError::NotFound));
    c.pump();
    assert_eq!(
        recv_failed(&mut c),
        el("<failed xmlns='urn:xmpp:sm:3'>\
            <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
    );
    assert_eq!(c.conn.state(), State::Binding);
    assert!(c.events.is_empty(), "{:?}", c.events);
    // The input the request held back is read now, as on an unbound stream: a stanza
    // before binding is not authorized.
    c.feed();
    c.expect_stream_error("not-authorized");

    let mut c = Client::plaintext();
    let _ = c.login();
    c.events.clear();
    c.send("<resume xmlns='urn:xmpp:sm:3' previd='old' h='7'/>");
    assert!(matches!(c.event(), Event::ResumeRequest { .. }));
    c.conn
        .complete_resume(Err(ResumeError::Expired { handled: 3 }));
    c.pump();
    let failed = recv_failed(&mut c);
    assert_eq!(failed.attr("h"), Some("3"));
    assert_eq!(failed_condition(&failed), "item-not-found");
    let result = c.bind(Some("again"));
    assert_eq!(result.attr("type"), Some("result"));
    assert_eq!(c.conn.state(), State::Established);
}

#[test]
fn resuming_another_accounts_session_closes_the_stream() {
    let (_, resumption, state) = dropped_session();
    let mut c = Client::plaintext();
    resume_request(&mut c, &resumption.id, 1);
    let romeo = FullJid::new("romeo@example.org/orchard").expect("JID");
    c.conn.complete_resume(Ok(Resumed::new(romeo, state)));
    c.pump();
    c.expect_stream_error("internal-server-error");
    assert!(!c.wire.contains("<resumed"), "{}", c.wire);
    // Nothing is lost: the state is the driver's again.
    let back = c.conn.take_sm_state().expect("kept");
    assert_eq!(back.unacked().count(), 2);
}

#[test]
fn resuming_with_a_state_for_another_id_closes_the_stream() {
    let (jid, _, state) = dropped_session();
    let mut c = Client::plaintext();
    resume_request(&mut c, "some-other-id", 1);
    c.conn.complete_resume(Ok(Resumed::new(jid, state)));
    c.pump();
    c.expect_stream_error("internal-server-error");
}

#[test]
fn resuming_with_h_too_high_closes_the_stream() {
    let (jid, resumption, state) = dropped_session();
    let mut c = Client::plaintext();
    resume_request(&mut c, &resumption.id, 9);
    c.conn.complete_resume(Ok(Resumed::new(jid, state)));
    c.pump();
    let error = c.expect_stream_error("undefined-condition");
    assert_eq!(
        error.app_condition,
        Some(el(
            "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='9' send-count='3'/>"
        ))
    );
    assert!(!c.conn.is_resumable());
    assert_eq!(c.conn.take_sm_state().map(|s| s.unacked().count()), Some(2));
}

#[test]
fn a_state_handed_to_a_connection_that_closed_meanwhile_is_kept() {
    let (jid, resumption, state) = dropped_session();
    let mut c = Client::plaintext();
    resume_request(&mut c, &resumption.id, 1);
    c.conn.handle_peer_eof();
    c.conn.complete_resume(Ok(Resumed::new(jid, state)));
    c.pump();
    assert!(!c.wire.contains("<resumed"));
    assert!(
        c.conn.is_resumable(),
        "the session waits for the next attempt"
    );
    assert_eq!(c.conn.take_sm_state().map(|s| s.sent()), Some(3));
}

#[test]
fn resume_requests_that_cannot_be_answered() {
    // Malformed.
    for resume in [
        "<resume xmlns='urn:xmpp:sm:3' h='1'/>",
        "<resume xmlns='urn:xmpp:sm:3' previd='' h='1'/>",
        "<resume xmlns='urn:xmpp:sm:3' previd='x'/>",
        "<resume xmlns='urn:xmpp:sm:3' previd='x' h='many'/>",
    ] {
        let mut c = Client::plaintext();
        let _ = c.login();
        c.send(resume);
        assert_eq!(
            failed_condition(&recv_failed(&mut c)),
            "bad-request",
            "{resume}"
        );
        assert_eq!(c.conn.state(), State::Binding);
    }
    // Resumption off.
    let sm = SmConfig {
        resume: false,
        ..SmConfig::default()
    };
    let mut c = Client::new(support::config().with_stream_management(Some(sm)), None);
    let _ = c.login();
    c.send("<resume xmlns='urn:xmpp:sm:3' previd='x' h='1'/>");
    assert_eq!(
        failed_condition(&recv_failed(&mut c)),
        "feature-not-implemented"
    );
    // After binding.
    let (mut c, _) = Client::bound();
    c.send("<resume xmlns='urn:xmpp:sm:3' previd='x' h='1'/>");
    assert_eq!(failed_condition(&recv_failed(&mut c)), "unexpected-request");
    assert!(c.events.is_empty());
}

#[test]
fn complete_resume_without_a_request_is_ignored() {
    let (mut c, _) = Client::bound();
    c.conn.complete_resume(Err(ResumeError::NotFound));
    c.pump();
    assert!(c.nothing_received());
    assert_eq!(c.conn.state(), State::Established);
}

// --- When a session may be resumed -------------------------------------------------------

#[test]
fn only_a_stream_that_was_cut_may_be_resumed() {
    // The socket's end.
    let (mut c, _, _) = resumable();
    c.conn.handle_peer_eof();
    assert!(c.conn.is_resumable());

    // An unanswered ping.
    let (mut c, _, _) = resumable();
    c.advance(Duration::from_secs(300));
    c.advance(Duration::from_secs(60));
    c.expect_stream_error("connection-timeout");
    assert!(c.conn.is_resumable());

    // The client's clean close (XEP-0198 §7).
    let (mut c, _, _) = resumable();
    c.send("</stream:stream>");
    assert!(c.conn.is_closed());
    assert!(!c.conn.is_resumable());

    // The client's stream error.
    let (mut c, _, _) = resumable();
    c.send(
        "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         </stream:error>",
    );
    assert!(c.conn.is_closed());
    assert!(!c.conn.is_resumable());

    // Any stream error of ours.
    for condition in [
        StreamCondition::Conflict,
        StreamCondition::SystemShutdown,
        StreamCondition::PolicyViolation,
    ] {
        let (mut c, _, _) = resumable();
        c.conn.close(StreamError::new(condition));
        assert!(!c.conn.is_resumable());
        assert!(c.conn.take_sm_state().is_some(), "kept for its stanzas");
    }

    // Without resumption, never.
    let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
    c.conn.handle_peer_eof();
    assert!(!c.conn.is_resumable());
    let (mut c, _) = Client::bound();
    c.conn.handle_peer_eof();
    assert!(!c.conn.is_resumable());
    assert!(c.conn.take_sm_state().is_none());
}

#[test]
fn taking_the_state_turns_stream_management_off() {
    let (mut c, _, _) = resumable();
    send_messages(&mut c, 0..1);
    let state = c.conn.take_sm_state().expect("on");
    assert_eq!(state.sent(), 1);
    assert!(!c.conn.is_resumable());
    send_messages(&mut c, 1..2);
    assert!(c.conn.sm_state().is_none(), "no longer counted");
    c.send("<r xmlns='urn:xmpp:sm:3'/>");
    c.expect_stream_error("unsupported-stanza-type");
}

#[test]
fn sm_state_is_send_and_cheap_to_clone() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<SmState>();
    assert_send::<Resumed>();
}

// --- Client state indication -------------------------------------------------------------

#[test]
fn csi_nonzas_become_events_once_bound() {
    let mut c = Client::plaintext();
    let _ = c.login();
    c.events.clear();
    c.send("<inactive xmlns='urn:xmpp:csi:0'/>");
    assert!(
        c.events.is_empty(),
        "ignored before binding: {:?}",
        c.events
    );
    assert!(!c.conn.is_closed());
    let _ = c.bind(None);
    c.events.clear();
    c.send("<inactive xmlns='urn:xmpp:csi:0'/><active xmlns='urn:xmpp:csi:0'/>");
    assert_eq!(c.event(), Event::ClientState { active: false });
    assert_eq!(c.event(), Event::ClientState { active: true });
    assert!(c.nothing_received(), "no reply (XEP-0352 §4)");
}

#[test]
fn csi_nonzas_are_unknown_when_csi_is_off() {
    let mut c = Client::new(support::config().with_csi(false), None);
    let _ = c.login();
    let _ = c.bind(None);
    c.send("<inactive xmlns='urn:xmpp:csi:0'/>");
    c.expect_stream_error("unsupported-stanza-type");
}

// --- Properties --------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    /// A stanza from the client.
    Stanza,
    /// The session IQ, answered by the connection itself.
    Session,
    /// `<r/>` from the client.
    Request,
    /// `<a h='…'/>` from the client, with an offset from what was sent.
    Ack(i8),
    /// A garbage `<a/>`.
    BadAck,
    /// The driver handled one stanza.
    Handled,
    /// A stanza to the client.
    Send,
    /// The driver asks for an ack.
    RequestAck,
    /// Time passes (pings).
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Stanza),
        1 => Just(Op::Session),
        3 => Just(Op::Request),
        2 => (-2i8..=1).prop_map(Op::Ack),
        1 => Just(Op::BadAck),
        4 => Just(Op::Handled),
        3 => Just(Op::Send),
        1 => Just(Op::RequestAck),
        1 => any::<u16>().prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random interleavings of stanzas, requests, acks and confirmations never panic; every
    /// `<a/>` the server sends counts no more than the client sent and no more than was
    /// handled, never goes backwards, and answers a request.
    #[test]
    fn acks_never_count_more_than_was_handled(ops in proptest::collection::vec(op(), 0..60)) {
        let (mut c, _, _) = enabled("<enable xmlns='urn:xmpp:sm:3'/>");
        let (mut sent_by_client, mut confirmed, mut requests, mut answers) = (0u32, 0u32, 0u32, 0u32);
        let mut in_flight = 0u32;
        let mut last_h = 0u32;
        let mut sent_by_server = 0u32;
        for op in ops {
            match op {
                Op::Stanza => {
                    sent_by_client += 1;
                    in_flight += 1;
                    c.send("<message id='x'/>");
                }
                Op::Session => {
                    sent_by_client += 1;
                    c.send("<iq type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
                }
                Op::Request => {
                    requests += 1;
                    c.send("<r xmlns='urn:xmpp:sm:3'/>");
                }
                Op::Ack(offset) => {
                    let h = sent_by_server.wrapping_add_signed(i32::from(offset));
                    c.send(&format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>"));
                }
                Op::BadAck => c.send("<a xmlns='urn:xmpp:sm:3' h='x'/>"),
                Op::Handled => {
                    if in_flight > 0 {
                        in_flight -= 1;
                        confirmed += 1;
                    }
                    c.conn.stanza_handled();
                    c.pump();
                }
                Op::Send => {
                    if c.conn.send_element(&message(0)).is_ok() {
                        sent_by_server += 1;
                    }
                    c.pump();
                }
                Op::RequestAck => {
                    c.conn.request_ack();
                    c.pump();
                }
                Op::Advance(s) => c.advance(Duration::from_secs(u64::from(s))),
            }
            stanza_events(&mut c);
            while !c.nothing_received() {
                match c.recv() {
                    xmpp_stream::FrameEvent::Element(e) if e.is("a", SM) => {
                        let h: u32 = e.attr("h").expect("h").parse().expect("a number");
                        answers += 1;
                        prop_assert!(h <= sent_by_client, "h {h} > received {sent_by_client}");
                        // Self-handled stanzas count without the driver.
                        prop_assert!(h <= sent_by_client - in_flight);
                        prop_assert!(h >= last_h);
                        last_h = h;
                    }
                    // Pings and session results: the connection's own stanzas count too.
                    xmpp_stream::FrameEvent::Element(e) if e.is("iq", ns::JABBER_CLIENT) => {
                        sent_by_server += 1;
                    }
                    _ => {}
                }
            }
            if c.conn.is_closed() {
                break;
            }
            prop_assert!(answers <= requests);
            let state = c.conn.sm_state().expect("on while open");
            prop_assert!(state.handled_inbound() <= state.received_inbound());
            prop_assert!(confirmed <= state.handled_inbound());
            prop_assert_eq!(state.sent(), sent_by_server);
        }
        if !c.conn.is_closed() {
            // Once everything is handled, every request has been answered.
            for _ in 0..in_flight {
                c.conn.stanza_handled();
            }
            c.pump();
            while !c.nothing_received() {
                if let xmpp_stream::FrameEvent::Element(e) = c.recv() && e.is("a", SM) {
                    answers += 1;
                }
            }
            // Only a flood of waiting requests is coalesced.
            if requests <= 16 {
                prop_assert_eq!(answers, requests);
            }
        }
    }
}
