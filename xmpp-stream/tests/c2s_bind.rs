//! Resource binding: invalid resources, refusals from the driver, stanzas before binding,
//! second binds, and a session replaced by a new login.

mod support;

use support::{Client, el};
use xmpp_core::{StanzaCondition, StanzaError, StreamCondition, StreamError, ns};
use xmpp_stream::c2s::{Event, SendError, State};

#[test]
fn an_invalid_resource_is_bad_request_and_the_client_may_retry() {
    // An unassigned code point (refused by OpaqueString), and a resource over 1023 bytes.
    for resource in ["\u{378}".to_owned(), "r".repeat(1024)] {
        let mut c = Client::plaintext();
        let _ = c.login();
        let answer = c.bind(Some(&resource));
        assert_bad_request(&answer);
        retry_succeeds(&mut c);
    }
}

fn assert_bad_request(answer: &xmpp_core::Element) {
    assert_eq!(answer.attr("type"), Some("error"), "{answer:?}");
    assert_eq!(answer.attr("id"), Some("bind1"));
    let error = StanzaError::from_element(
        answer
            .get_child("error", ns::JABBER_CLIENT)
            .expect("an <error/>"),
    )
    .expect("a valid stanza error");
    assert_eq!(error.condition, StanzaCondition::BadRequest);
}

fn retry_succeeds(c: &mut Client) {
    assert_eq!(c.conn.state(), State::Binding);
    assert!(
        !c.events
            .iter()
            .any(|e| matches!(e, Event::BindRequest { .. }))
    );
    let answer = c.bind(Some("good"));
    assert_eq!(answer.attr("type"), Some("result"));
}

#[test]
fn malformed_bind_requests_are_bad_request() {
    for request in [
        "<iq type='get' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
        "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>a</resource><resource>b</resource></bind></iq>",
        "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
         <extra xmlns='urn:example'/></iq>",
    ] {
        let mut c = Client::plaintext();
        let _ = c.login();
        c.send(request);
        assert_bad_request(&c.recv_element());
        assert_eq!(c.conn.state(), State::Binding, "{request}");
    }
}

#[test]
fn a_refused_bind_is_answered_with_the_drivers_error() {
    let mut c = Client::plaintext();
    let _ = c.login();
    c.auto = false;
    c.send(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>phone</resource></bind></iq><presence/>",
    );
    assert_eq!(
        c.find_event(|e| matches!(e, Event::BindRequest { .. })),
        Event::BindRequest {
            requested_resource: Some("phone".into())
        }
    );
    assert_eq!(c.conn.state(), State::AwaitingBind);
    assert_eq!(c.unread, b"<presence/>", "the rest waits for the driver");

    c.conn
        .complete_bind(Err(StanzaError::new(StanzaCondition::ResourceConstraint)));
    c.pump();
    let answer = c.recv_element();
    assert_eq!(answer.attr("type"), Some("error"));
    assert_eq!(answer.attr("id"), Some("b1"));
    assert!(answer.get_child("error", ns::JABBER_CLIENT).is_some());
    assert_eq!(c.conn.state(), State::Binding);
    // The stanza that waited is read now, and still not allowed before binding.
    c.feed();
    c.expect_stream_error("not-authorized");
}

#[test]
fn stanzas_before_bind_are_not_authorized() {
    for stanza in [
        "<message to='romeo@example.net'><body>hi</body></message>",
        "<presence/>",
        "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>",
    ] {
        let mut c = Client::plaintext();
        let _ = c.login();
        c.send(stanza);
        c.expect_stream_error("not-authorized");
        assert!(c.events.iter().all(|e| !matches!(e, Event::Stanza(_))));
    }
}

#[test]
fn unknown_elements_before_bind_are_unsupported() {
    let mut c = Client::plaintext();
    let _ = c.login();
    c.send("<frobnicate xmlns='urn:example:unknown'/>");
    c.expect_stream_error("unsupported-stanza-type");
}

#[test]
fn stream_management_elements_are_unknown_when_it_is_not_configured() {
    let mut c = Client::new(support::config().with_stream_management(None), None);
    let _ = c.login();
    c.send("<enable xmlns='urn:xmpp:sm:3'/>");
    c.expect_stream_error("unsupported-stanza-type");
}

#[test]
fn a_second_bind_is_not_allowed() {
    let (mut c, jid) = Client::bound();
    let answer = c.bind(Some("another"));
    assert_eq!(answer.attr("type"), Some("error"));
    let error = StanzaError::from_element(
        answer
            .get_child("error", ns::JABBER_CLIENT)
            .expect("an <error/>"),
    )
    .expect("a stanza error");
    assert_eq!(error.condition, StanzaCondition::NotAllowed);
    assert_eq!(c.conn.jid(), Some(&jid));
    assert!(c.events.is_empty());
}

#[test]
fn binding_to_another_account_is_refused_by_the_connection() {
    let mut c = Client::plaintext();
    let _ = c.login();
    c.auto = false;
    c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    let other = xmpp_core::jid::FullJid::new("romeo@example.org/x").expect("jid");
    c.conn.complete_bind(Ok(other));
    c.pump();
    c.expect_stream_error("internal-server-error");
    assert_eq!(c.conn.jid(), None);
}

#[test]
fn a_replaced_session_is_closed_with_conflict() {
    // The driver's half of "a second login with the same resource replaces the first".
    let (mut old, _) = Client::bound();
    let (mut new, _) = Client::bound();
    old.conn
        .close(StreamError::new(StreamCondition::Conflict).with_text(Some("en"), "replaced"));
    old.pump();
    let error = old.expect_stream_error("conflict");
    assert_eq!(error.texts[0].text, "replaced");
    assert_eq!(
        old.conn
            .send_element(&el("<message xmlns='jabber:client'/>")),
        Err(SendError::Closed)
    );
    // The new session is untouched.
    new.send("<presence/>");
    assert!(matches!(new.event(), Event::Stanza(_)));
}

#[test]
fn complete_bind_nobody_asked_for_is_ignored() {
    let mut c = Client::plaintext();
    let _ = c.login();
    let jid = xmpp_core::jid::FullJid::new("juliet@example.org/x").expect("jid");
    c.conn.complete_bind(Ok(jid));
    c.pump();
    assert_eq!(c.conn.state(), State::Binding);
    assert!(c.nothing_received());
}
