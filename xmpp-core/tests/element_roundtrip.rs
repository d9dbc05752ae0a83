//! Serialise → parse gives back the same tree, for generated trees with unknown attributes,
//! `xml:lang`, namespaced attributes, nested namespace changes and text that needs escaping.

use proptest::prelude::*;
use xmpp_core::Element;
use xmpp_core::element::XML_NS;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("message".to_owned()),
        Just("body".to_owned()),
        Just("x".to_owned()),
        "[a-zA-Z_][a-zA-Z0-9._-]{0,12}",
        // Non-ASCII name characters are allowed in XML names.
        "[a-zé][éàü0-9]{0,4}",
    ]
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("jabber:client".to_owned()),
        Just("urn:xmpp:test".to_owned()),
        Just(String::new()),
        "urn:[a-z]{1,8}(:[a-z0-9]{1,4}){0,2}",
        "http://example\\.org/[a-z#]{1,10}",
    ]
}

/// Text from the characters XML allows, weighted towards ones that need escaping.
fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => prop::char::range(' ', '~'),
        2 => prop::sample::select(vec!['<', '>', '&', '\'', '"', '\t', '\n', '\r', ']']),
        1 => prop::char::range('\u{a0}', '\u{d7ff}'),
        1 => prop::char::range('\u{e000}', '\u{fffd}'),
        1 => prop::char::range('\u{10000}', '\u{10ffff}'),
    ];
    prop::collection::vec(ch, 1..24).prop_map(|v| v.into_iter().collect())
}

#[derive(Debug, Clone)]
enum Attr {
    Plain(String, String),
    Lang(String),
    Namespaced(String, String, String),
}

fn attr() -> impl Strategy<Value = Attr> {
    prop_oneof![
        4 => (name(), text()).prop_map(|(n, v)| Attr::Plain(n, v)),
        1 => "[a-z]{2}(-[A-Z]{2})?".prop_map(Attr::Lang),
        1 => ("urn:attr:[a-z]{1,3}", name(), text())
            .prop_map(|(ns, n, v)| Attr::Namespaced(ns, n, v)),
    ]
}

fn leaf() -> impl Strategy<Value = Element> {
    (
        name(),
        namespace(),
        prop::collection::vec(attr(), 0..4),
        prop::option::of(text()),
    )
        .prop_map(|(name, ns, attrs, text)| {
            let mut el = Element::new(&name, ns);
            for a in attrs {
                match a {
                    // `xmlns` is a declaration, not an attribute.
                    Attr::Plain(n, _) if n == "xmlns" => {}
                    Attr::Plain(n, v) => {
                        el.set_attr(&n, v);
                    }
                    Attr::Lang(l) => {
                        el.set_attr_ns(XML_NS, "lang", l);
                    }
                    Attr::Namespaced(ns, n, v) => {
                        el.set_attr_ns(ns, &n, v);
                    }
                }
            }
            if let Some(t) = text {
                el.append_text(t);
            }
            el
        })
}

fn tree() -> impl Strategy<Value = Element> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        (
            leaf(),
            prop::collection::vec(prop_oneof![inner.prop_map(Ok), text().prop_map(Err)], 0..6),
        )
            .prop_map(|(mut parent, kids)| {
                for k in kids {
                    match k {
                        Ok(child) => {
                            parent.append_child(child);
                        }
                        Err(t) => parent.append_text(t),
                    }
                }
                parent
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialise_then_parse_is_identity(el in tree()) {
        let bytes = el.to_bytes();
        let text = std::str::from_utf8(&bytes).expect("the writer emits UTF-8");
        let back: Element = text
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(&back, &el);
        // Writing the parsed tree again gives the same bytes: the output is canonical.
        prop_assert_eq!(back.to_bytes(), bytes);
    }
}
