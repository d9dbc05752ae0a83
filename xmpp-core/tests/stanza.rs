//! The stanza envelope from the outside: property tests over arbitrary elements, and the
//! lossless path from bytes to stanza and back.

use proptest::prelude::*;
use xmpp_core::{
    Element, ErrorParseError, IqType, Stanza, StanzaCondition, StanzaError, StanzaKind,
    StreamError, ns,
};

// --- strategies -----------------------------------------------------------------------------

/// Strings made of XML characters, so that what we write reads back the same.
fn xml_string() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x{FFFE}\\x{FFFF}]{0,12}")
        .expect("valid regex")
}

fn attr_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("juliet@example.com".to_owned()),
        Just("Juliet@Example.COM/Balcony".to_owned()),
        Just("example.org".to_owned()),
        Just("@example.org".to_owned()),
        Just("juliet@".to_owned()),
        Just(String::new()),
        Just("get".to_owned()),
        Just("set".to_owned()),
        Just("result".to_owned()),
        Just("error".to_owned()),
        Just("chat".to_owned()),
        Just("unavailable".to_owned()),
        Just("cancel".to_owned()),
        Just("modify".to_owned()),
        Just("xmpp:a@b".to_owned()),
        xml_string(),
    ]
}

fn element_name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("message"),
        Just("presence"),
        Just("iq"),
        Just("error"),
        Just("text"),
        Just("body"),
        Just("query"),
        Just("bad-request"),
        Just("gone"),
        Just("see-other-host"),
        Just("x"),
    ]
}

fn namespace() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(ns::JABBER_CLIENT),
        Just(ns::JABBER_SERVER),
        Just(ns::COMPONENT_ACCEPT),
        Just(ns::XMPP_STANZAS),
        Just(ns::XMPP_STREAMS),
        Just(ns::STREAM),
        Just("urn:example"),
    ]
}

fn attrs() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = prop_oneof![
        Just("from"),
        Just("to"),
        Just("type"),
        Just("id"),
        Just("by"),
        Just("code"),
        Just("custom"),
    ];
    proptest::collection::vec((name, attr_value()), 0..5)
}

fn leaf() -> impl Strategy<Value = Element> {
    (
        element_name(),
        namespace(),
        attrs(),
        proptest::option::of(xml_string()),
    )
        .prop_map(|(name, ns, attrs, text)| {
            let mut el = Element::new(name, ns);
            for (k, v) in attrs {
                el.set_attr(k, v);
            }
            if let Some(t) = text {
                el.append_text(t);
            }
            el
        })
}

fn element() -> impl Strategy<Value = Element> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        (leaf(), proptest::collection::vec(inner, 0..4)).prop_map(|(mut el, children)| {
            for c in children {
                el.append_child(c);
            }
            el
        })
    })
}

fn jid_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("juliet@example.com/balcony".to_owned()),
        2 => Just("Romeo@Example.NET".to_owned()),
        2 => Just("example.org".to_owned()),
        1 => Just("@example.org".to_owned()),
        1 => Just("juliet@".to_owned()),
        1 => xml_string(),
    ]
}

fn type_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("get"),
        Just("set"),
        Just("result"),
        Just("error"),
        Just("chat"),
        Just("groupchat"),
        Just("headline"),
        Just("normal"),
        Just("unavailable"),
        Just("subscribe"),
        Just("probe"),
        Just("bogus"),
    ]
    .prop_map(str::to_owned)
}

/// Mostly elements that look like stanzas, with plausible attributes and sometimes a valid
/// `<error/>`, so that most cases get past the first checks and every kind and type shows up.
fn stanza_like() -> impl Strategy<Value = Element> {
    let root = (
        prop_oneof![Just("message"), Just("presence"), Just("iq")],
        prop_oneof![
            Just(ns::JABBER_CLIENT),
            Just(ns::JABBER_SERVER),
            Just(ns::COMPONENT_ACCEPT)
        ],
        proptest::option::weighted(0.7, jid_value()),
        proptest::option::weighted(0.7, jid_value()),
        proptest::option::weighted(0.9, xml_string()),
        proptest::option::weighted(0.8, type_value()),
        proptest::collection::vec(element(), 0..3),
        proptest::option::of(any_error()),
    )
        .prop_map(|(name, ns, from, to, id, ty, children, error)| {
            let mut el = Element::new(name, ns);
            for (k, v) in [("from", from), ("to", to), ("id", id), ("type", ty)] {
                if let Some(v) = v {
                    el.set_attr(k, v);
                }
            }
            for c in children {
                el.append_child(c);
            }
            if let Some(error) = error {
                el.append_child(error.to_element(ns));
            }
            el
        });
    prop_oneof![4 => root, 1 => element()]
}

fn any_error() -> impl Strategy<Value = StanzaError> {
    (0..StanzaCondition::ALL.len()).prop_map(|i| {
        StanzaError::new(StanzaCondition::ALL[i].clone()).with_text(Some("en"), "nope")
    })
}

// --- properties -------------------------------------------------------------------------------

fn check_valid(stanza: &Stanza, error: StanzaError) {
    // Checking is idempotent: a stanza's element is a valid stanza, and the same one.
    let again = Stanza::from_element(stanza.element().clone()).expect("still valid");
    assert_eq!(&again, stanza);
    // And so is what we write of it, read back by our own reader.
    let reread: Element = stanza
        .to_string()
        .parse()
        .expect("we write well-formed XML");
    assert_eq!(Stanza::from_element(reread).as_ref(), Ok(stanza));

    let _ = stanza.error();
    let _ = stanza.iq_payload();
    match stanza.error_reply(error) {
        Some(reply) => {
            assert!(!stanza.is_error());
            assert!(reply.is_error());
            assert_eq!(reply.id(), stanza.id());
            assert_eq!(reply.to(), stanza.from());
            assert_eq!(reply.from(), stanza.to());
            assert!(reply.error().is_some_and(|e| e.is_ok()));
            let valid = Stanza::from_element(reply.clone().into_element()).expect("valid reply");
            assert_eq!(valid, reply);
        }
        None => assert!(stanza.is_error() || stanza.iq_type() == Some(IqType::Result)),
    }
    if let Some(result) = stanza.iq_result(Some(Element::new("r", "urn:example"))) {
        assert!(stanza.iq_type().is_some_and(IqType::is_request));
        Stanza::from_element(result.into_element()).expect("valid result");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn checking_never_panics_and_answers_are_valid(el in stanza_like(), error in any_error()) {
        match Stanza::from_element(el.clone()) {
            Ok(stanza) => check_valid(&stanza, error),
            Err(invalid) => {
                // Exactly one of the two worlds answers.
                prop_assert!(invalid.stanza_error().is_some() != invalid.stream_error().is_some());
                if let Some(reply) = invalid.error_reply() {
                    prop_assert!(invalid.stanza_error().is_some());
                    prop_assert_eq!(reply.kind().as_str(), el.name());
                    let valid = Stanza::from_element(reply.clone().into_element());
                    prop_assert_eq!(valid, Ok(reply));
                }
                prop_assert_eq!(invalid.element(), &el);
            }
        }
    }

    #[test]
    fn error_parsing_never_panics_and_round_trips(el in element()) {
        if let Ok(err) = StanzaError::from_element(&el) {
            let written = err.to_element(el.namespace().clone());
            prop_assert_eq!(StanzaError::from_element(&written), Ok(err));
        }
        if let Ok(err) = StreamError::from_element(&el) {
            prop_assert_eq!(StreamError::from_element(&err.to_element()), Ok(err));
        }
    }

    #[test]
    fn stanzas_from_arbitrary_text_never_panic(s in "\\PC{0,200}") {
        if let Ok(el) = s.parse::<Element>() {
            let _ = Stanza::from_element(el).map(|st| st.error_reply(StanzaError::new(StanzaCondition::BadRequest)));
        }
    }
}

// --- examples ---------------------------------------------------------------------------------

#[test]
fn unknown_attributes_and_children_survive_bytes_to_stanza_to_bytes() {
    let src = "<message xmlns='jabber:client' xmlns:x='urn:example:x' from='juliet@example.com/balcony' \
               to='romeo@example.net' id='ktx72v49' type='chat' xml:lang='en' x:trace='42' unknown='kept'>\
               <body>Art thou not Romeo, and a Montague?</body>\
               <body xml:lang='fr'>N&apos;es-tu pas Roméo ?</body>\
               <x:payload level='3'><x:inner>some &lt;text&gt; &amp; more</x:inner>tail</x:payload>\
               <thread parent='e0ffe42b28561960c6b12b944a092794b9683a38'>0e3141cd80894871a68e6fe6b1ec56fa</thread>\
               </message>";
    let original: Element = src.parse().expect("well-formed");
    let stanza = Stanza::from_element(original.clone()).expect("valid");
    assert_eq!(stanza.kind(), StanzaKind::Message);
    assert_eq!(stanza.payloads().count(), 4);
    let bytes = stanza.element().to_bytes();
    let reread: Element = std::str::from_utf8(&bytes)
        .expect("UTF-8")
        .parse()
        .expect("well-formed");
    assert_eq!(reread, original);
    assert_eq!(stanza.into_element(), original);
}

#[test]
fn a_server_answers_an_unsupported_iq() {
    let req: Element = "<iq xmlns='jabber:client' type='get' id='ver1' to='example.org' \
                        from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>"
        .parse()
        .expect("well-formed");
    let req = Stanza::from_element(req).expect("valid");
    let reply = req
        .error_reply(StanzaError::new(StanzaCondition::ServiceUnavailable))
        .expect("a get is answered");
    let text = reply.to_string();
    assert!(text.starts_with("<iq xmlns='jabber:client' "), "{text}");
    let reread: Element = text.parse().expect("well-formed");
    let reread = Stanza::from_element(reread).expect("valid");
    let err = reread.error().expect("error stanza").expect("valid error");
    assert_eq!(err.condition, StanzaCondition::ServiceUnavailable);
    assert_eq!(reread.id(), Some("ver1"));
    assert!(
        reread
            .iq_payload()
            .is_some_and(|p| p.is("query", "jabber:iq:version"))
    );
}

#[test]
fn a_malformed_error_is_reported_precisely() {
    let el: Element = "<message xmlns='jabber:server' type='error' from='a@example.org' to='b@example.net'>\
                       <error type='cancel'><not-a-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
                       </message>"
        .parse()
        .expect("well-formed");
    let stanza = Stanza::from_element(el).expect("the envelope is fine");
    assert_eq!(
        stanza.error(),
        Some(Err(ErrorParseError::UnknownCondition(
            "not-a-condition".into()
        )))
    );
    assert_eq!(
        stanza.error_reply(StanzaError::new(StanzaCondition::BadRequest)),
        None
    );
}
