//! What the server writes at stream level reads back through the framer.

use bytes::BytesMut;
use xmpp_core::Element;
use xmpp_stream::write::{write_close, write_element};
use xmpp_stream::{FrameEvent, Framer, Limits, StreamHeader};

#[test]
fn header_features_stanza_close_round_trip() {
    let header = StreamHeader {
        from: Some("example.org".into()),
        to: Some("juliet@example.org".into()),
        id: Some("s'1".into()),
        version: Some("1.0".into()),
        lang: Some("en".into()),
        content_ns: "jabber:client".into(),
        ..StreamHeader::default()
    };
    let features = Element::new("features", "http://etherx.jabber.org/streams").with_child(
        Element::new("starttls", "urn:ietf:params:xml:ns:xmpp-tls")
            .with_child(Element::new("required", "urn:ietf:params:xml:ns:xmpp-tls")),
    );
    let message = Element::new("message", "jabber:client")
        .with_attr("to", "romeo@example.net")
        .with_child(Element::new("body", "jabber:client").with_text("<3"));

    let mut out = BytesMut::new();
    header.write_open(&mut out);
    write_element(&mut out, &features, "jabber:client");
    write_element(&mut out, &message, "jabber:client");
    write_close(&mut out);
    let text = String::from_utf8(out.to_vec()).expect("utf-8");
    assert!(text.contains("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"), "{text}");
    assert!(
        text.contains("<message to='romeo@example.net'><body>&lt;3</body></message>"),
        "{text}"
    );

    let mut framer = Framer::new(Limits::default());
    let mut buf = &out[..];
    let mut events = Vec::new();
    while let Some(ev) = framer.poll_event(&mut buf).expect("our own output parses") {
        events.push(ev);
    }
    let mut expected_header = header.clone();
    expected_header.other.clear();
    assert_eq!(
        events,
        vec![
            FrameEvent::StreamOpen(expected_header),
            FrameEvent::Element(features),
            FrameEvent::Element(message),
            FrameEvent::StreamClose,
        ]
    );
}
