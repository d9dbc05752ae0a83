//! The framer over a well-behaved stream: header, stanzas, keep-alives, close, restarts.

mod common;

use common::{HEADER, frame};
use xmpp_stream::{FrameError, FrameEvent, Framer, Limits};

#[test]
fn reads_header_stanzas_whitespace_and_close() {
    let input = format!(
        "{HEADER}<message to='a@example.org' id='1'><body>hi &amp; bye</body></message> \n\
         <iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>"
    );
    let (events, err) = frame(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 5, "{events:?}");
    let FrameEvent::StreamOpen(header) = &events[0] else {
        panic!("expected the header first: {events:?}");
    };
    assert_eq!(header.to.as_deref(), Some("example.org"));
    assert_eq!(header.version.as_deref(), Some("1.0"));
    assert_eq!(header.lang.as_deref(), Some("en"));
    assert_eq!(header.content_ns, "jabber:client");
    let FrameEvent::Element(msg) = &events[1] else {
        panic!("expected a stanza: {events:?}");
    };
    assert!(msg.is("message", "jabber:client"));
    assert_eq!(
        msg.child_text("body", "jabber:client").as_deref(),
        Some("hi & bye")
    );
    assert_eq!(events[2], FrameEvent::Whitespace);
    let FrameEvent::Element(iq) = &events[3] else {
        panic!("expected a stanza: {events:?}");
    };
    assert!(iq.get_child("ping", "urn:xmpp:ping").is_some());
    assert_eq!(events[4], FrameEvent::StreamClose);
}

#[test]
fn a_prefixed_stream_namespace_need_not_be_called_stream() {
    let input = "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:server'>\
                 <s:features/>";
    let (events, err) = frame(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 2);
    let FrameEvent::Element(features) = &events[1] else {
        panic!("{events:?}")
    };
    assert!(features.is("features", "http://etherx.jabber.org/streams"));
}

#[test]
fn stops_right_after_an_element_so_pipelined_bytes_stay_visible() {
    let input = format!(
        "{HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><iq type='set' id='inj'/>"
    );
    let mut framer = Framer::new(Limits::default());
    let mut buf = input.as_bytes();
    assert!(matches!(
        framer.poll_event(&mut buf),
        Ok(Some(FrameEvent::StreamOpen(_)))
    ));
    let Ok(Some(FrameEvent::Element(starttls))) = framer.poll_event(&mut buf) else {
        panic!("expected <starttls/>");
    };
    assert_eq!(starttls.name(), "starttls");
    assert_eq!(buf, b"<iq type='set' id='inj'/>");

    // The same with a non-empty end tag.
    let input = format!(
        "{HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>\x16\x03\x01"
    );
    let mut framer = Framer::new(Limits::default());
    let mut buf = input.as_bytes();
    framer
        .poll_event(&mut buf)
        .expect("header")
        .expect("an event");
    framer
        .poll_event(&mut buf)
        .expect("starttls")
        .expect("an event");
    assert_eq!(buf, b"\x16\x03\x01");
}

#[test]
fn restart_starts_a_fresh_stream() {
    let mut framer = Framer::new(Limits::default());
    let mut buf = HEADER.as_bytes();
    framer
        .poll_event(&mut buf)
        .expect("header")
        .expect("an event");
    framer.restart();
    // A second header is a new stream, not a nested one.
    let mut buf = HEADER.as_bytes();
    assert!(matches!(
        framer.poll_event(&mut buf),
        Ok(Some(FrameEvent::StreamOpen(_)))
    ));
}

#[test]
fn errors_are_sticky() {
    let input = format!("{HEADER}<a><b></a>");
    let mut framer = Framer::new(Limits::default());
    let mut buf = input.as_bytes();
    let first = loop {
        match framer.poll_event(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("mismatched tags must be an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(first.condition(), "not-well-formed");
    let mut valid: &[u8] = b"<message/>";
    assert_eq!(framer.poll_event(&mut valid), Err(first));
}

#[test]
fn a_keepalive_is_seen_when_it_arrives() {
    let mut framer = Framer::new(Limits::default());
    let mut buf = HEADER.as_bytes();
    framer
        .poll_event(&mut buf)
        .expect("header")
        .expect("an event");
    let mut buf: &[u8] = b" ";
    assert_eq!(
        framer.poll_event(&mut buf),
        Ok(Some(FrameEvent::Whitespace))
    );
}

#[test]
fn bytes_after_the_close_are_ignored() {
    let input = format!("{HEADER}</stream:stream><message/>");
    let (events, err) = frame(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.last(), Some(&FrameEvent::StreamClose));
}

#[test]
fn a_stream_that_does_not_start_with_a_header_is_refused() {
    let (_, err) = frame(b"<message xmlns='jabber:client'/>");
    assert_eq!(err, Some(FrameError::InvalidNamespace));
    let (_, err) = frame(b"<stream:stream xmlns:stream='urn:evil'>");
    assert_eq!(err.map(|e| e.condition()), Some("invalid-namespace"));
}
