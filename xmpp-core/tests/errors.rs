//! Stanza and stream errors through bytes, checked against an independent implementation
//! (xmpp-parsers) in both directions.

use std::collections::BTreeMap;

use xmpp_core::{
    Element, ErrorParseError, ErrorText, ErrorType, StanzaCondition, StanzaError, StreamCondition,
    StreamError, ns,
};
use xmpp_parsers::minidom;

const TYPES: [ErrorType; 5] = [
    ErrorType::Auth,
    ErrorType::Cancel,
    ErrorType::Continue,
    ErrorType::Modify,
    ErrorType::Wait,
];

fn to_minidom(el: &Element) -> minidom::Element {
    el.to_string()
        .parse()
        .unwrap_or_else(|e| panic!("minidom rejects our output {el}: {e}"))
}

fn from_minidom(el: &minidom::Element) -> Element {
    String::from(el)
        .parse()
        .unwrap_or_else(|e| panic!("we reject minidom's output: {e}"))
}

fn texts_map(texts: &[ErrorText]) -> BTreeMap<String, String> {
    texts
        .iter()
        .map(|t| (t.lang.clone().unwrap_or_default(), t.text.clone()))
        .collect()
}

fn their_texts<L: ToString>(texts: &BTreeMap<L, String>) -> BTreeMap<String, String> {
    texts
        .iter()
        .map(|(l, t)| (l.to_string(), t.clone()))
        .collect()
}

/// Our error, as xmpp-parsers reads it, must say the same.
fn check_stanza_error_against_oracle(ours: &StanzaError) {
    let el = ours.to_element(ns::JABBER_CLIENT);
    let theirs = xmpp_parsers::stanza_error::StanzaError::try_from(to_minidom(&el))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects {el}: {e:?}"));
    let their_el = minidom::Element::from(theirs.clone());
    assert_eq!(their_el.attr("type"), Some(ours.error_type.as_str()));
    let cond = minidom::Element::from(theirs.defined_condition.clone());
    assert_eq!(cond.name(), ours.condition.as_str());
    assert_eq!(cond.ns(), ns::XMPP_STANZAS);
    let their_addr = cond.text();
    assert_eq!(
        (!their_addr.is_empty()).then_some(their_addr.as_str()),
        ours.condition.address()
    );
    assert_eq!(their_texts(&theirs.texts), texts_map(&ours.texts));
    assert_eq!(
        theirs.by.map(|j| j.to_string()),
        ours.by.as_ref().map(|j| j.as_str().to_owned())
    );
    assert_eq!(
        theirs.other.as_ref().map(|o| (o.name().to_owned(), o.ns())),
        ours.app_condition
            .as_ref()
            .map(|o| (o.name().to_owned(), o.ns().to_owned()))
    );
    // And what they write, we read back to the same error.
    let back = StanzaError::from_element(&from_minidom(&their_el)).expect("we read theirs");
    assert_eq!(&back, ours);
}

#[test]
fn every_stanza_condition_and_type_agrees_with_xmpp_parsers() {
    for condition in StanzaCondition::ALL {
        for ty in TYPES {
            check_stanza_error_against_oracle(&StanzaError::new(condition.clone()).with_type(ty));
        }
        let full = StanzaError::new(match condition {
            StanzaCondition::Gone(_) => StanzaCondition::Gone(Some("xmpp:new@example.org".into())),
            StanzaCondition::Redirect(_) => {
                StanzaCondition::Redirect(Some("xmpp:room@muc.example.org?join".into()))
            }
            other => other,
        })
        .with_text(Some("en"), "Something <odd> & \"quoted\"")
        .with_text(Some("ru"), "Что-то пошло не так")
        .with_app_condition(Element::new(
            "closed-node",
            "http://jabber.org/protocol/pubsub#errors",
        ))
        .with_by("pubsub.example.org".parse().expect("valid JID"));
        check_stanza_error_against_oracle(&full);
    }
}

#[test]
fn every_stream_condition_agrees_with_xmpp_parsers() {
    for condition in StreamCondition::ALL {
        let condition = match condition {
            StreamCondition::SeeOtherHost(_) => {
                StreamCondition::SeeOtherHost("xmpp2.example.org:5222".into())
            }
            other => other,
        };
        let ours = StreamError::new(condition)
            .with_text(Some("en"), "Goodbye")
            .with_app_condition(Element::new("escape-your-data", "application-ns"));
        let el = ours.to_element();
        let theirs = xmpp_parsers::stream_error::StreamError::try_from(to_minidom(&el))
            .unwrap_or_else(|e| panic!("xmpp-parsers rejects {el}: {e:?}"));
        let cond = minidom::Element::from(theirs.condition.clone());
        assert_eq!(cond.name(), ours.condition.as_str());
        assert_eq!(cond.ns(), ns::XMPP_STREAMS);
        if let StreamCondition::SeeOtherHost(host) = &ours.condition {
            assert_eq!(&cond.text(), host);
        }
        assert_eq!(their_texts(&theirs.texts), texts_map(&ours.texts));
        assert_eq!(theirs.application_specific.len(), 1);

        let back = StreamError::from_element(&from_minidom(&minidom::Element::from(theirs)))
            .expect("we read theirs");
        assert_eq!(back, ours);
    }
}

#[test]
fn stanza_and_stream_errors_do_not_cross() {
    let stanza = StanzaError::new(StanzaCondition::Conflict).to_element(ns::JABBER_CLIENT);
    assert!(matches!(
        StreamError::from_element(&stanza),
        Err(ErrorParseError::WrongElement { .. })
    ));
    let stream = StreamError::new(StreamCondition::Conflict).to_element();
    assert!(matches!(
        StanzaError::from_element(&stream),
        Err(ErrorParseError::WrongElement { .. })
    ));
}

#[test]
fn errors_are_std_errors_with_useful_messages() {
    fn describe(e: &dyn std::error::Error) -> String {
        e.to_string()
    }
    let stanza = StanzaError::new(StanzaCondition::Redirect(Some("xmpp:x@y".into())))
        .with_text(Some("en"), "moved");
    assert_eq!(
        describe(&stanza),
        "modify error: redirect (xmpp:x@y): moved"
    );
    let stream = StreamError::new(StreamCondition::SystemShutdown);
    assert_eq!(describe(&stream), "stream error: system-shutdown");
    assert_eq!(
        describe(&ErrorParseError::UnknownCondition("x".into())),
        "unknown defined condition <x/>"
    );
}

#[test]
fn stream_error_written_with_the_stream_prefix_reads_back() {
    // What a stream writer does with it: `<stream:error>` inside a jabber:client stream.
    let err = StreamError::new(StreamCondition::NotWellFormed).with_text(Some("en"), "bad XML");
    let mut out = bytes::BytesMut::new();
    err.to_element()
        .write_prefixed(&mut out, "stream", true, ns::JABBER_CLIENT);
    let text = std::str::from_utf8(&out).expect("UTF-8");
    assert!(text.starts_with("<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"));
    let el: Element = text.parse().expect("well-formed");
    assert_eq!(StreamError::from_element(&el), Ok(err));
}
