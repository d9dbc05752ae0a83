use super::*;
use crate::error::{ErrorType, StanzaCondition, StreamCondition};
use crate::ns;

fn el(s: &str) -> Element {
    s.parse().expect("test input is well-formed")
}

fn stanza(s: &str) -> Stanza {
    Stanza::from_element(el(s)).expect("valid stanza")
}

fn jid(s: &str) -> Jid {
    s.parse().expect("valid JID")
}

#[test]
fn kinds_and_types_in_every_namespace() {
    for uri in [ns::JABBER_CLIENT, ns::JABBER_SERVER, ns::COMPONENT_ACCEPT] {
        let m = stanza(&format!("<message xmlns='{uri}' type='chat'/>"));
        assert_eq!(m.stanza_type(), StanzaType::Message(MessageType::Chat));
        assert_eq!(m.ns().as_str(), uri);
        let p = stanza(&format!("<presence xmlns='{uri}'/>"));
        assert_eq!(p.presence_type(), Some(PresenceType::Available));
        let iq = stanza(&format!(
            "<iq xmlns='{uri}' type='set' id='1'><q xmlns='x'/></iq>"
        ));
        assert_eq!(iq.iq_type(), Some(IqType::Set));
        assert_eq!(iq.kind(), StanzaKind::Iq);
        assert_eq!(iq.message_type(), None);
    }
}

#[test]
fn every_type_value_is_recognised() {
    for (v, t) in [
        ("chat", MessageType::Chat),
        ("error", MessageType::Error),
        ("groupchat", MessageType::Groupchat),
        ("headline", MessageType::Headline),
        ("normal", MessageType::Normal),
    ] {
        assert_eq!(MessageType::from_attr(Some(v)), t);
        assert_eq!(t.as_str(), v);
    }
    for t in [
        PresenceType::Available,
        PresenceType::Unavailable,
        PresenceType::Subscribe,
        PresenceType::Subscribed,
        PresenceType::Unsubscribe,
        PresenceType::Unsubscribed,
        PresenceType::Probe,
        PresenceType::Error,
    ] {
        assert_eq!(PresenceType::from_attr(t.as_attr()), Ok(t));
    }
    for t in [IqType::Get, IqType::Set, IqType::Result, IqType::Error] {
        assert_eq!(IqType::from_attr(Some(t.as_str())), Ok(t));
    }
}

#[test]
fn not_a_stanza_is_a_stream_matter() {
    for src in [
        "<message xmlns='urn:example'/>",
        "<enable xmlns='jabber:client'/>",
        "<iq xmlns='http://etherx.jabber.org/streams' type='get' id='a'><x xmlns='y'/></iq>",
    ] {
        let err = Stanza::from_element(el(src)).expect_err(src);
        assert!(matches!(
            err.violation(),
            StanzaViolation::NotAStanza { .. }
        ));
        assert_eq!(err.stanza_error(), None);
        assert_eq!(err.error_reply(), None);
        assert_eq!(
            err.stream_error().map(|e| e.condition),
            Some(StreamCondition::UnsupportedStanzaType)
        );
        assert_eq!(err.into_element(), el(src));
    }
}

#[test]
fn malformed_from_is_left_to_the_caller() {
    let err = Stanza::from_element(el(
        "<message xmlns='jabber:client' from='@example.org' to='x@example.org'/>",
    ))
    .expect_err("bad from");
    assert!(matches!(
        err.violation(),
        StanzaViolation::MalformedFrom(crate::jid::JidError::EmptyLocalpart)
    ));
    assert_eq!(err.stanza_error(), None);
    assert_eq!(err.error_reply(), None);
    assert_eq!(
        err.stream_error().map(|e| e.condition),
        Some(StreamCondition::InvalidFrom)
    );
    // The c2s way out: drop the claim, parse, stamp the session's address.
    let mut element = err.into_element();
    element.remove_attr("from");
    let mut msg = Stanza::from_element(element).expect("valid without from");
    msg.set_from(Some(jid("juliet@example.org/balcony")));
    assert_eq!(
        msg.element().attr("from"),
        Some("juliet@example.org/balcony")
    );
}

#[test]
fn malformed_to_is_jid_malformed() {
    let err = Stanza::from_element(el(
        "<message xmlns='jabber:client' id='m1' from='juliet@example.org/b' to='romeo@'/>",
    ))
    .expect_err("bad to");
    assert!(matches!(err.violation(), StanzaViolation::MalformedTo(_)));
    let e = err.stanza_error().expect("answered");
    assert_eq!(e.condition, StanzaCondition::JidMalformed);
    assert_eq!(e.error_type, ErrorType::Modify);
    assert_eq!(err.stream_error(), None);
    let reply = err.error_reply().expect("answered");
    assert_eq!(reply.to(), Some(&jid("juliet@example.org/b")));
    assert_eq!(reply.from(), None, "a malformed address is not sent back");
    assert_eq!(reply.id(), Some("m1"));
    assert_eq!(reply.message_type(), Some(MessageType::Error));
}

#[test]
fn addresses_are_normalised_in_the_element_too() {
    let m = stanza(
        "<message xmlns='jabber:client' to='Juliet@Example.COM/Balcony' from='romeo@example.net'/>",
    );
    assert_eq!(m.to().map(Jid::as_str), Some("juliet@example.com/Balcony"));
    assert_eq!(m.element().attr("to"), Some("juliet@example.com/Balcony"));
    assert_eq!(m.element().attr("from"), Some("romeo@example.net"));
}

#[test]
fn unknown_message_type_means_normal_and_stays() {
    let m = stanza("<message xmlns='jabber:client' type='shout'><body>hi</body></message>");
    assert_eq!(m.message_type(), Some(MessageType::Normal));
    assert_eq!(m.element().attr("type"), Some("shout"));
    let m = stanza("<message xmlns='jabber:client'/>");
    assert_eq!(m.message_type(), Some(MessageType::Normal));
}

fn bad_request(src: &str) -> StanzaViolation {
    let err = Stanza::from_element(el(src)).expect_err(src);
    let e = err.stanza_error().expect("answered with a stanza error");
    assert_eq!(e.condition, StanzaCondition::BadRequest, "{src}");
    assert_eq!(e.error_type, ErrorType::Modify);
    assert!(!e.texts.is_empty());
    assert_eq!(err.stream_error(), None);
    err.violation().clone()
}

#[test]
fn unknown_presence_type_is_bad_request() {
    assert_eq!(
        bad_request("<presence xmlns='jabber:client' type='away'/>"),
        StanzaViolation::UnknownType {
            kind: StanzaKind::Presence,
            value: "away".into()
        }
    );
}

#[test]
fn iq_rules_of_rfc_6120_8_2_3() {
    let c = "xmlns='jabber:client'";
    assert_eq!(
        bad_request(&format!("<iq {c} id='1'><q xmlns='x'/></iq>")),
        StanzaViolation::MissingType
    );
    assert_eq!(
        bad_request(&format!("<iq {c} type='fetch' id='1'><q xmlns='x'/></iq>")),
        StanzaViolation::UnknownType {
            kind: StanzaKind::Iq,
            value: "fetch".into()
        }
    );
    assert_eq!(
        bad_request(&format!("<iq {c} type='get'><q xmlns='x'/></iq>")),
        StanzaViolation::MissingId
    );
    assert_eq!(
        bad_request(&format!("<iq {c} type='result'/>")),
        StanzaViolation::MissingId
    );
    for t in ["get", "set"] {
        let t = IqType::from_attr(Some(t)).expect("known");
        assert_eq!(
            bad_request(&format!("<iq {c} type='{t}' id='1'/>")),
            StanzaViolation::IqChildren {
                iq_type: t,
                found: 0
            }
        );
        assert_eq!(
            bad_request(&format!(
                "<iq {c} type='{t}' id='1'><a xmlns='x'/><b xmlns='x'/></iq>"
            )),
            StanzaViolation::IqChildren {
                iq_type: t,
                found: 2
            }
        );
        // Text is not a child element.
        stanza(&format!(
            "<iq {c} type='{t}' id='1'>\n <a xmlns='x'/>\n</iq>"
        ));
    }
    stanza(&format!("<iq {c} type='result' id='1'/>"));
    stanza(&format!("<iq {c} type='result' id='1'><a xmlns='x'/></iq>"));
    assert_eq!(
        bad_request(&format!(
            "<iq {c} type='result' id='1'><a xmlns='x'/><b xmlns='x'/></iq>"
        )),
        StanzaViolation::IqChildren {
            iq_type: IqType::Result,
            found: 2
        }
    );
    // An error needs its <error/> (in the stanza namespace), and may echo the request.
    assert_eq!(
        bad_request(&format!("<iq {c} type='error' id='1'><a xmlns='x'/></iq>")),
        StanzaViolation::MissingError
    );
    assert_eq!(
        bad_request(&format!(
            "<iq {c} type='error' id='1'><error xmlns='urn:x' type='cancel'/></iq>"
        )),
        StanzaViolation::MissingError
    );
    stanza(&format!(
        "<iq {c} type='error' id='1'><a xmlns='x'/><error type='cancel'>\
           <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    // An empty id is an id.
    stanza(&format!("<iq {c} type='result' id=''/>"));
}

#[test]
fn error_stanzas_of_every_kind_need_an_error_child() {
    for kind in ["message", "presence"] {
        assert_eq!(
            bad_request(&format!("<{kind} xmlns='jabber:client' type='error'/>")),
            StanzaViolation::MissingError
        );
    }
    // Yet an invalid error is never answered: that could loop.
    let err = Stanza::from_element(el(
        "<message xmlns='jabber:client' type='error' from='a@b'/>",
    ))
    .expect_err("no <error/>");
    assert!(err.stanza_error().is_some());
    assert_eq!(err.error_reply(), None);
}

#[test]
fn invalid_iq_reply_keeps_id_or_makes_it_empty() {
    let err = Stanza::from_element(el(
        "<iq xmlns='jabber:server' type='get' from='a@example.org/r' to='example.net'/>",
    ))
    .expect_err("no id, no child");
    let reply = err.error_reply().expect("answered");
    assert_eq!(reply.id(), Some(""));
    assert_eq!(reply.ns(), StanzaNs::Server);
    assert_eq!(reply.from(), Some(&jid("example.net")));
    assert_eq!(reply.to(), Some(&jid("a@example.org/r")));
    assert_eq!(reply.iq_payload(), None, "nothing echoed");
    assert_eq!(
        reply.error().expect("error stanza").map(|e| e.condition),
        Ok(StanzaCondition::BadRequest)
    );
    // The reply is itself a valid stanza.
    assert_eq!(
        Stanza::from_element(reply.clone().into_element()),
        Ok(reply)
    );

    let err = Stanza::from_element(el(
        "<iq xmlns='jabber:client' type='result' id='r' from='a@b'><x xmlns='y'/><z xmlns='y'/></iq>",
    ))
    .expect_err("two children");
    assert_eq!(err.error_reply(), None, "results are never answered");
}

#[test]
fn error_reply_swaps_addresses_and_keeps_id() {
    let iq = stanza(
        "<iq xmlns='jabber:client' type='get' id='v1' from='romeo@example.net/orchard' \
           to='example.org' xml:lang='en'><query xmlns='jabber:iq:version'/></iq>",
    );
    let err = StanzaError::new(StanzaCondition::ServiceUnavailable);
    let reply = iq.error_reply(err.clone()).expect("a get is answered");
    assert_eq!(reply.from(), Some(&jid("example.org")));
    assert_eq!(reply.to(), Some(&jid("romeo@example.net/orchard")));
    assert_eq!(reply.element().attr("from"), Some("example.org"));
    assert_eq!(
        reply.element().attr("to"),
        Some("romeo@example.net/orchard")
    );
    assert_eq!(reply.id(), Some("v1"));
    assert_eq!(reply.stanza_type(), StanzaType::Iq(IqType::Error));
    assert_eq!(reply.error(), Some(Ok(err.clone())));
    let echoed = reply.iq_payload().expect("the request is echoed");
    assert!(echoed.is("query", "jabber:iq:version"));
    assert_eq!(
        Stanza::from_element(reply.clone().into_element()),
        Ok(reply.clone())
    );

    // Errors are never answered with errors; results neither.
    assert_eq!(reply.error_reply(err.clone()), None);
    let result = iq.iq_result(None).expect("answered");
    assert_eq!(result.error_reply(err.clone()), None);

    let msg = stanza(
        "<message xmlns='jabber:client' type='chat' id='m' from='a@example.org/x' to='b@example.org'>\
           <body>secret</body></message>",
    );
    let reply = msg.error_reply(err.clone()).expect("answered");
    assert_eq!(reply.message_type(), Some(MessageType::Error));
    assert_eq!(reply.id(), Some("m"));
    assert_eq!(reply.payloads().count(), 1, "only the error, no echo");
    assert_eq!(reply.error_reply(err.clone()), None);

    let pres = stanza("<presence xmlns='jabber:client' type='subscribe' to='b@example.org'/>");
    let reply = pres.error_reply(err).expect("answered");
    assert_eq!(reply.presence_type(), Some(PresenceType::Error));
    assert_eq!(reply.id(), None);
    assert_eq!(reply.to(), None);
    assert_eq!(reply.from(), Some(&jid("b@example.org")));
}

#[test]
fn iq_result_answers_requests_only() {
    let iq = stanza(
        "<iq xmlns='jabber:component:accept' type='get' id='p' from='a@b/c' to='comp.b'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    let res = iq
        .iq_result(Some(Element::new("pong", "urn:example")))
        .expect("answered");
    assert_eq!(res.iq_type(), Some(IqType::Result));
    assert_eq!(res.id(), Some("p"));
    assert_eq!(res.ns(), StanzaNs::Component);
    assert_eq!(res.to(), Some(&jid("a@b/c")));
    assert_eq!(res.from(), Some(&jid("comp.b")));
    assert!(
        res.iq_payload()
            .is_some_and(|p| p.is("pong", "urn:example"))
    );
    assert_eq!(
        Stanza::from_element(res.clone().into_element()),
        Ok(res.clone())
    );
    assert_eq!(res.iq_result(None), None);
    assert_eq!(
        stanza("<message xmlns='jabber:client'/>").iq_result(None),
        None
    );
}

#[test]
fn setters_keep_element_and_typed_view_in_step() {
    let mut m = stanza("<message xmlns='jabber:client' from='a@b/c' to='d@e'/>");
    m.set_from(None);
    assert_eq!(m.from(), None);
    assert_eq!(m.element().attr("from"), None);
    m.set_to(Some(jid("x@y")));
    assert_eq!(m.element().attr("to"), Some("x@y"));
    m.set_id("new");
    assert_eq!(m.id(), Some("new"));
    assert_eq!(Stanza::from_element(m.clone().into_element()), Ok(m));
}

#[test]
fn set_ns_moves_the_stanza_and_its_own_children() {
    let mut m = stanza(
        "<message xmlns='jabber:client' type='error'><body>x</body>\
           <error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
           <active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    );
    m.set_ns(StanzaNs::Server);
    assert_eq!(m.ns(), StanzaNs::Server);
    assert_eq!(m.element().ns(), ns::JABBER_SERVER);
    assert!(m.element().has_child("body", ns::JABBER_SERVER));
    assert!(m.element().has_child("active", ns::CHATSTATES));
    assert!(m.error().is_some_and(|e| e.is_ok()));
    assert_eq!(Stanza::from_element(m.clone().into_element()), Ok(m));
}

#[test]
fn payload_editing_keeps_the_rules() {
    let mut m = stanza(
        "<message xmlns='jabber:client' type='error'><stanza-id xmlns='urn:xmpp:sid:0' id='f' by='me@x'/>\
           <error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    );
    m.retain_payloads(|_| false);
    assert_eq!(m.payloads().count(), 1, "the <error/> stays");
    assert!(m.append_payload(Element::new("delay", ns::DELAY)).is_ok());
    assert_eq!(m.payloads().count(), 2);

    let mut iq = stanza("<iq xmlns='jabber:client' type='get' id='1'><q xmlns='x'/></iq>");
    assert!(iq.append_payload(Element::new("more", "x")).is_err());
    iq.retain_payloads(|_| false);
    assert!(iq.iq_payload().is_some());
}

#[test]
fn unknown_attributes_and_children_survive() {
    let src = "<message xmlns='jabber:client' xmlns:e='urn:example:ext' to='b@example.org' \
               id='1' e:flag='yes' custom='v' xml:lang='de'>\
               <body>Hallo</body><e:thing a='1'><e:deep>text</e:deep></e:thing>tail</message>";
    let original = el(src);
    let m = Stanza::from_element(original.clone()).expect("valid");
    assert_eq!(m.lang(), Some("de"));
    assert_eq!(m.payloads().count(), 2);
    let back = m.into_element();
    assert_eq!(back, original);
    let reparsed: Element = back.to_string().parse().expect("well-formed");
    assert_eq!(reparsed, original);
}

#[test]
fn violation_messages_read_well() {
    assert_eq!(
        StanzaViolation::IqChildren {
            iq_type: IqType::Get,
            found: 2
        }
        .to_string(),
        "an iq of type get must carry exactly one child element, not 2"
    );
    let err =
        Stanza::from_element(el("<presence xmlns='jabber:client' type='x'/>")).expect_err("bad");
    assert_eq!(err.to_string(), "invalid stanza: unknown presence type `x`");
}
