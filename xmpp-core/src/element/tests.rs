use super::*;

fn parse(s: &str) -> Element {
    s.parse().expect("test input is well-formed")
}

#[test]
fn builder_and_accessors() {
    let el = Element::new("message", "jabber:client")
        .with_attr("to", "juliet@example.com")
        .with_attr_ns(XML_NS, "lang", "en")
        .with_child(Element::new("body", "jabber:client").with_text("hi"));
    assert_eq!(el.name(), "message");
    assert_eq!(el.ns(), "jabber:client");
    assert_eq!(el.attr("to"), Some("juliet@example.com"));
    assert_eq!(el.lang(), Some("en"));
    assert_eq!(
        el.child_text("body", "jabber:client").as_deref(),
        Some("hi")
    );
    assert!(el.get_child("body", "other").is_none());
}

#[test]
fn set_attr_replaces_and_remove_returns_value() {
    let mut el = Element::new("iq", "jabber:client");
    assert_eq!(el.set_attr("id", "a"), None);
    assert_eq!(el.set_attr("id", "b"), Some("a".to_owned()));
    assert_eq!(el.attrs().count(), 1);
    assert_eq!(el.remove_attr("id"), Some("b".to_owned()));
    assert_eq!(el.attr("id"), None);
}

#[test]
fn try_new_rejects_invalid_names() {
    assert!(Element::try_new("a b", "x").is_err());
    assert!(Element::try_new("1a", "x").is_err());
    assert!(Element::try_new("p:a", "x").is_err());
    assert!(Element::try_new("ok", "x").is_ok());
}

#[test]
fn adjacent_text_merges() {
    let mut el = Element::new("body", "jabber:client");
    el.append_text("a");
    el.append_text("");
    el.append_text("b");
    assert_eq!(el.nodes().len(), 1);
    assert_eq!(el.text(), "ab");
}

#[test]
fn serialises_namespaces_only_where_they_change() {
    let el = Element::new("message", "jabber:client")
        .with_child(Element::new("body", "jabber:client").with_text("x"))
        .with_child(Element::new(
            "active",
            "http://jabber.org/protocol/chatstates",
        ))
        .with_child(Element::new("plain", ""));
    assert_eq!(
        el.to_string(),
        "<message xmlns='jabber:client'><body>x</body>\
         <active xmlns='http://jabber.org/protocol/chatstates'/><plain xmlns=''/></message>"
    );
    let mut out = bytes::BytesMut::new();
    el.get_child("body", "jabber:client")
        .expect("body")
        .write_in(&mut out, "jabber:client");
    assert_eq!(&out[..], b"<body>x</body>");
}

#[test]
fn escapes_text_and_attributes() {
    let el = Element::new("a", "")
        .with_attr("v", "it's <&> \"q\"\t\n\r")
        .with_text("]]> & < \r");
    assert_eq!(
        el.to_string(),
        "<a v='it&apos;s &lt;&amp;&gt; \"q\"&#x9;&#xA;&#xD;'>]]&gt; &amp; &lt; &#xD;</a>"
    );
    assert_eq!(parse(&el.to_string()), el);
}

#[test]
fn characters_xml_forbids_become_replacement_characters() {
    let el = Element::new("a", "")
        .with_attr("v", "x\u{0}y")
        .with_text("\u{1}\u{FFFE}\u{FFFF}\u{FFFD}ok\u{EFFF}");
    let s = el.to_string();
    assert_eq!(
        s,
        "<a v='x\u{FFFD}y'>\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}ok\u{EFFF}</a>"
    );
    // The output is well-formed: it parses.
    parse(&s);
}

#[test]
fn namespaced_attributes_get_declared_prefixes() {
    let el = Element::new("x", "urn:a")
        .with_attr_ns("urn:attr", "one", "1")
        .with_attr_ns("urn:attr", "two", "2")
        .with_attr_ns("urn:other", "three", "3")
        .with_attr_ns(XML_NS, "lang", "de");
    let s = el.to_string();
    let back = parse(&s);
    assert_eq!(back, el, "{s}");
    assert_eq!(s.matches("xmlns:").count(), 2, "{s}");
}

#[test]
fn equality_ignores_attribute_order() {
    let a = parse("<x xmlns='u' a='1' b='2'/>");
    let b = parse("<x xmlns='u' b='2' a='1'/>");
    assert_eq!(a, b);
    assert_ne!(a, parse("<x xmlns='u' b='2' a='3'/>"));
    assert_ne!(a, parse("<x xmlns='u' b='2'/>"));
}

#[test]
fn prefixes_are_resolved_not_kept() {
    let a = parse("<s:x xmlns:s='urn:s'><s:y/><z xmlns='urn:s'/></s:x>");
    let b = parse("<x xmlns='urn:s'><y/><z/></x>");
    assert_eq!(a, b);
}

#[test]
fn set_ns_deep_moves_only_the_shared_namespace() {
    let mut el = parse(
        "<message xmlns='jabber:client'><body>x</body><x xmlns='urn:other'><body/></x></message>",
    );
    el.set_ns_deep(&Namespace::from_str("jabber:server"));
    assert_eq!(
        el.to_string(),
        "<message xmlns='jabber:server'><body>x</body><x xmlns='urn:other'><body/></x></message>"
    );
}

#[test]
fn take_and_retain_children() {
    let mut el = parse("<a xmlns='u'><b/>t<c/><b/></a>");
    assert!(el.take_child("b", "u").is_some());
    assert_eq!(el.children().count(), 2);
    el.retain_children(|c| c.name() != "b");
    assert_eq!(el.to_string(), "<a xmlns='u'>t<c/></a>");
}

#[test]
fn elements_in_the_xml_namespace_use_its_prefix() {
    // Regression: fuzz/artifacts/element_roundtrip/crash-8a11eac8….
    for input in ["<xml:J/>", "<a xmlns='u'><xml:b x='1'><c/></xml:b></a>"] {
        let el = parse(input);
        let out = el.to_string();
        assert_eq!(parse(&out), el, "{out}");
    }
    assert_eq!(parse("<xml:J/>").to_string(), "<xml:J/>");
}
