//! RFC 7395 framing: `<open/>`, one element per message, `<close/>`.

use bytes::BytesMut;
use xmpp_core::Element;
use xmpp_stream::write::write_ws_element;
use xmpp_stream::{FrameError, FrameEvent, Limits, StreamHeader, WebSocketFramer};

const OPEN: &[u8] =
    b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>";

#[test]
fn open_stanza_close() {
    let mut ws = WebSocketFramer::new(Limits::default());
    let FrameEvent::StreamOpen(header) = ws.handle_message(OPEN).expect("open") else {
        panic!("expected open");
    };
    assert_eq!(header.to.as_deref(), Some("example.org"));
    let ev = ws
        .handle_message(
            b"<message xmlns='jabber:client' to='a@example.org'><body>x</body></message>",
        )
        .expect("stanza");
    let FrameEvent::Element(msg) = ev else {
        panic!("{ev:?}")
    };
    assert!(msg.is("message", "jabber:client"));
    assert_eq!(
        ws.handle_message(b" \n").expect("whitespace"),
        FrameEvent::Whitespace
    );
    assert_eq!(
        ws.handle_message(b"<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
            .expect("close"),
        FrameEvent::StreamClose
    );
    assert!(ws.is_closed());
}

#[test]
fn every_message_is_one_complete_element() {
    let mut ws = WebSocketFramer::new(Limits::default());
    ws.handle_message(OPEN).expect("open");
    assert_eq!(
        ws.handle_message(b"<a xmlns='u'/><b xmlns='u'/>")
            .map_err(|e| e.condition()),
        Err("not-well-formed")
    );

    let mut ws = WebSocketFramer::new(Limits::default());
    ws.handle_message(OPEN).expect("open");
    assert_eq!(
        ws.handle_message(b"<a xmlns='u'>")
            .map_err(|e| e.condition()),
        Err("not-well-formed")
    );
    // Sticky: a valid message after the error is refused too.
    assert!(ws.handle_message(b"<a xmlns='u'/>").is_err());
}

#[test]
fn stanzas_before_open_and_stream_headers_are_refused() {
    let mut ws = WebSocketFramer::new(Limits::default());
    assert_eq!(
        ws.handle_message(b"<message xmlns='jabber:client'/>"),
        Err(FrameError::InvalidNamespace)
    );
    let mut ws = WebSocketFramer::new(Limits::default());
    ws.handle_message(OPEN).expect("open");
    assert_eq!(
        ws.handle_message(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>"),
        Err(FrameError::NestedStream)
    );
}

#[test]
fn restricted_xml_and_limits_apply_to_messages() {
    let mut ws = WebSocketFramer::new(Limits::default());
    assert_eq!(
        ws.handle_message(
            b"<!DOCTYPE x [<!ENTITY a 'b'>]><open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
        )
        .map_err(|e| e.condition()),
        Err("restricted-xml")
    );
    let limits = Limits {
        max_element_bytes: 100,
        ..Limits::default()
    };
    let mut ws = WebSocketFramer::new(limits);
    let big = format!("<m xmlns='u'>{}</m>", "x".repeat(200));
    assert_eq!(
        ws.handle_message(big.as_bytes()).map_err(|e| e.condition()),
        Err("policy-violation")
    );
}

#[test]
fn server_side_serialisation() {
    let header = StreamHeader {
        from: Some("example.org".into()),
        id: Some("abc".into()),
        version: Some("1.0".into()),
        lang: Some("en".into()),
        ..StreamHeader::default()
    };
    let mut out = BytesMut::new();
    header.write_ws_open(&mut out);
    assert_eq!(
        &out[..],
        &b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' id='abc' version='1.0' xml:lang='en'/>"[..]
    );
    let features = Element::new("features", "http://etherx.jabber.org/streams")
        .with_child(Element::new("bind", "urn:ietf:params:xml:ns:xmpp-bind"));
    let mut out = BytesMut::new();
    write_ws_element(&mut out, &features);
    assert_eq!(
        &out[..],
        &b"<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"[..]
    );
    // What we write, our framer reads back.
    let mut ws = WebSocketFramer::new(Limits::default());
    ws.handle_message(OPEN).expect("open");
    assert_eq!(
        ws.handle_message(&out).expect("features"),
        FrameEvent::Element(features)
    );
}
