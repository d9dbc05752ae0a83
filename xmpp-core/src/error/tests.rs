use super::*;
use crate::element::{Element, XML_NS};
use crate::ns;

fn parse(s: &str) -> Element {
    s.parse().expect("test input is well-formed")
}

fn stanza_err(s: &str) -> Result<StanzaError, ErrorParseError> {
    StanzaError::from_element(&parse(s))
}

fn stream_err(s: &str) -> Result<StreamError, ErrorParseError> {
    StreamError::from_element(&parse(s))
}

/// Fails to compile when a condition is added without being listed in `ALL`'s length below.
fn stanza_condition_index(c: &StanzaCondition) -> usize {
    match c {
        StanzaCondition::BadRequest => 0,
        StanzaCondition::Conflict => 1,
        StanzaCondition::FeatureNotImplemented => 2,
        StanzaCondition::Forbidden => 3,
        StanzaCondition::Gone(_) => 4,
        StanzaCondition::InternalServerError => 5,
        StanzaCondition::ItemNotFound => 6,
        StanzaCondition::JidMalformed => 7,
        StanzaCondition::NotAcceptable => 8,
        StanzaCondition::NotAllowed => 9,
        StanzaCondition::NotAuthorized => 10,
        StanzaCondition::PolicyViolation => 11,
        StanzaCondition::RecipientUnavailable => 12,
        StanzaCondition::Redirect(_) => 13,
        StanzaCondition::RegistrationRequired => 14,
        StanzaCondition::RemoteServerNotFound => 15,
        StanzaCondition::RemoteServerTimeout => 16,
        StanzaCondition::ResourceConstraint => 17,
        StanzaCondition::ServiceUnavailable => 18,
        StanzaCondition::SubscriptionRequired => 19,
        StanzaCondition::UndefinedCondition => 20,
        StanzaCondition::UnexpectedRequest => 21,
    }
}

fn stream_condition_index(c: &StreamCondition) -> usize {
    match c {
        StreamCondition::BadFormat => 0,
        StreamCondition::BadNamespacePrefix => 1,
        StreamCondition::Conflict => 2,
        StreamCondition::ConnectionTimeout => 3,
        StreamCondition::HostGone => 4,
        StreamCondition::HostUnknown => 5,
        StreamCondition::ImproperAddressing => 6,
        StreamCondition::InternalServerError => 7,
        StreamCondition::InvalidFrom => 8,
        StreamCondition::InvalidNamespace => 9,
        StreamCondition::InvalidXml => 10,
        StreamCondition::NotAuthorized => 11,
        StreamCondition::NotWellFormed => 12,
        StreamCondition::PolicyViolation => 13,
        StreamCondition::RemoteConnectionFailed => 14,
        StreamCondition::Reset => 15,
        StreamCondition::ResourceConstraint => 16,
        StreamCondition::RestrictedXml => 17,
        StreamCondition::SeeOtherHost(_) => 18,
        StreamCondition::SystemShutdown => 19,
        StreamCondition::UndefinedCondition => 20,
        StreamCondition::UnsupportedEncoding => 21,
        StreamCondition::UnsupportedFeature => 22,
        StreamCondition::UnsupportedStanzaType => 23,
        StreamCondition::UnsupportedVersion => 24,
    }
}

#[test]
fn all_lists_every_condition_once_in_rfc_order() {
    for (i, c) in StanzaCondition::ALL.iter().enumerate() {
        assert_eq!(stanza_condition_index(c), i, "{c}");
    }
    for (i, c) in StreamCondition::ALL.iter().enumerate() {
        assert_eq!(stream_condition_index(c), i, "{c}");
    }
}

#[test]
fn condition_names_round_trip_through_from_str() {
    for c in StanzaCondition::ALL {
        assert_eq!(c.as_str().parse::<StanzaCondition>(), Ok(c.clone()));
    }
    for c in StreamCondition::ALL {
        assert_eq!(c.as_str().parse::<StreamCondition>(), Ok(c.clone()));
    }
    assert_eq!(
        "Bad-Request".parse::<StanzaCondition>(),
        Err(ErrorParseError::UnknownCondition("Bad-Request".into()))
    );
    assert!("host-unknow".parse::<StreamCondition>().is_err());
}

#[test]
fn default_types_follow_rfc_6120_8_3_3() {
    use ErrorType::{Auth, Cancel, Modify, Wait};
    let expected = [
        ("bad-request", Modify),
        ("conflict", Cancel),
        ("feature-not-implemented", Cancel),
        ("forbidden", Auth),
        ("gone", Cancel),
        ("internal-server-error", Cancel),
        ("item-not-found", Cancel),
        ("jid-malformed", Modify),
        ("not-acceptable", Modify),
        ("not-allowed", Cancel),
        ("not-authorized", Auth),
        ("policy-violation", Modify),
        ("recipient-unavailable", Wait),
        ("redirect", Modify),
        ("registration-required", Auth),
        ("remote-server-not-found", Cancel),
        ("remote-server-timeout", Wait),
        ("resource-constraint", Wait),
        ("service-unavailable", Cancel),
        ("subscription-required", Auth),
        ("undefined-condition", Cancel),
        ("unexpected-request", Wait),
    ];
    assert_eq!(expected.len(), StanzaCondition::ALL.len());
    for (name, ty) in expected {
        let c: StanzaCondition = name.parse().expect("defined");
        assert_eq!(c.default_type(), ty, "{name}");
        assert_eq!(StanzaError::new(c).error_type, ty, "{name}");
    }
}

#[test]
fn error_types_round_trip() {
    for t in [
        ErrorType::Auth,
        ErrorType::Cancel,
        ErrorType::Continue,
        ErrorType::Modify,
        ErrorType::Wait,
    ] {
        assert_eq!(t.as_str().parse::<ErrorType>(), Ok(t));
    }
    assert!("Cancel".parse::<ErrorType>().is_err());
}

#[test]
fn stanza_error_parses_rfc_example() {
    let err = stanza_err(
        "<error xmlns='jabber:client' type='modify' by='example.net'>\
           <undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
           <text xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Some special text</text>\
           <text xml:lang='de' xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Spezial</text>\
           <too-many-stanzas xmlns='http://jabber.org/protocol/pubsub#errors'/>\
         </error>",
    )
    .expect("valid");
    assert_eq!(err.error_type, ErrorType::Modify);
    assert_eq!(err.condition, StanzaCondition::UndefinedCondition);
    assert_eq!(
        err.by.as_ref().map(crate::jid::Jid::as_str),
        Some("example.net")
    );
    assert_eq!(
        err.texts,
        vec![
            ErrorText::new(Some("en"), "Some special text"),
            ErrorText::new(Some("de"), "Spezial"),
        ]
    );
    let app = err.app_condition.as_ref().expect("kept");
    assert!(app.is(
        "too-many-stanzas",
        "http://jabber.org/protocol/pubsub#errors"
    ));
    assert_eq!(
        err.to_string(),
        "modify error: undefined-condition: Some special text"
    );
}

#[test]
fn stanza_error_accepts_every_stanza_namespace() {
    for ns in [ns::JABBER_CLIENT, ns::JABBER_SERVER, ns::COMPONENT_ACCEPT] {
        let el = StanzaError::new(StanzaCondition::Forbidden).to_element(ns);
        assert_eq!(el.ns(), ns);
        assert!(StanzaError::from_element(&el).is_ok());
    }
    let err = stanza_err(
        "<error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' type='cancel'><conflict/></error>",
    )
    .expect_err("not a stanza namespace");
    assert!(matches!(err, ErrorParseError::WrongElement { .. }));
    assert!(matches!(
        stanza_err("<fault xmlns='jabber:client' type='cancel'/>"),
        Err(ErrorParseError::WrongElement { .. })
    ));
}

#[test]
fn stanza_error_round_trips_every_condition_with_every_extra() {
    let app = Element::new("resource-limit", "urn:example:app").with_attr("max", "3");
    for condition in StanzaCondition::ALL {
        let plain = StanzaError::new(condition.clone());
        let el = plain.to_element(ns::JABBER_CLIENT);
        assert_eq!(StanzaError::from_element(&el), Ok(plain.clone()), "{el}");
        // Through bytes as well: what we write must read back the same.
        let reparsed: Element = el.to_string().parse().expect("we write well-formed XML");
        assert_eq!(reparsed, el);

        let full = StanzaError::new(condition)
            .with_type(ErrorType::Wait)
            .with_text(Some("en"), "why & how <exactly>")
            .with_text(None, "no language")
            .with_app_condition(app.clone())
            .with_by("conference.example.org".parse().expect("valid JID"));
        let el = full.to_element(ns::JABBER_SERVER);
        assert_eq!(StanzaError::from_element(&el), Ok(full.clone()), "{el}");
        assert_eq!(full.clone().into_element(ns::JABBER_SERVER), el);
    }
}

#[test]
fn gone_and_redirect_keep_their_address() {
    let gone = stanza_err(
        "<error xmlns='jabber:client' type='cancel'>\
           <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:romeo@afterlife.example.net</gone>\
         </error>",
    )
    .expect("valid");
    assert_eq!(
        gone.condition,
        StanzaCondition::Gone(Some("xmpp:romeo@afterlife.example.net".into()))
    );
    assert_eq!(
        gone.condition.address(),
        Some("xmpp:romeo@afterlife.example.net")
    );

    let redirect = StanzaError::new(StanzaCondition::Redirect(Some(
        "xmpp:characters@conference.example.org".into(),
    )));
    let el = redirect.to_element(ns::JABBER_CLIENT);
    let cond = el.get_child("redirect", ns::XMPP_STANZAS).expect("written");
    assert_eq!(cond.text(), "xmpp:characters@conference.example.org");
    assert_eq!(StanzaError::from_element(&el), Ok(redirect));

    // Indentation around the address is not part of it; an empty one is no address.
    let indented = stanza_err(
        "<error xmlns='jabber:client' type='modify'>\
           <redirect xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>\n  xmpp:a@b.example\n</redirect>\
         </error>",
    )
    .expect("valid");
    assert_eq!(indented.condition.address(), Some("xmpp:a@b.example"));
    let empty = stanza_err(
        "<error xmlns='jabber:client' type='cancel'>\
           <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
    )
    .expect("valid");
    assert_eq!(empty.condition, StanzaCondition::Gone(None));
}

#[test]
fn stanza_error_keeps_legacy_code_and_other_attributes() {
    let src = "<error xmlns='jabber:client' code='404' type='cancel' xml:lang='en'>\
                 <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
    let el = parse(src);
    let err = StanzaError::from_element(&el).expect("valid");
    assert_eq!(err.other_attrs.len(), 2);
    assert_eq!(err.to_element(ns::JABBER_CLIENT), el);
    let written = err.to_element(ns::JABBER_CLIENT);
    assert_eq!(written.attr("code"), Some("404"));
    assert_eq!(written.attr_ns(XML_NS, "lang"), Some("en"));
}

#[test]
fn stanza_error_typed_fields_win_over_other_attrs() {
    let mut err = StanzaError::new(StanzaCondition::Conflict);
    err.other_attrs.push(crate::Attribute {
        ns: crate::element::Namespace::NONE,
        name: "type".try_into().expect("valid name"),
        value: "wait".into(),
    });
    let el = err.to_element(ns::JABBER_CLIENT);
    assert_eq!(el.attr("type"), Some("cancel"));
}

#[test]
fn stanza_error_tolerates_indentation() {
    let err = stanza_err(
        "<error xmlns='jabber:client' type='auth'>\n  \
           <forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'> </forbidden>\n\
         </error>",
    )
    .expect("whitespace is not content");
    assert_eq!(err.condition, StanzaCondition::Forbidden);
}

#[test]
fn stanza_error_parsing_is_strict() {
    let cases: &[(&str, ErrorParseError)] = &[
        (
            "<error xmlns='jabber:client'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            ErrorParseError::MissingType,
        ),
        (
            "<error xmlns='jabber:client' type='fatal'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            ErrorParseError::UnknownType("fatal".into()),
        ),
        (
            "<error xmlns='jabber:client' type='cancel'/>",
            ErrorParseError::MissingCondition,
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>only text</text></error>",
            ErrorParseError::MissingCondition,
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><out-of-cheese xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            ErrorParseError::UnknownCondition("out-of-cheese".into()),
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            ErrorParseError::MultipleConditions,
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><a xmlns='urn:x'/><b xmlns='urn:x'/></error>",
            ErrorParseError::MultipleApplicationConditions,
        ),
        (
            "<error xmlns='jabber:client' type='cancel'>oops<conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            ErrorParseError::UnexpectedText("error"),
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>why</conflict></error>",
            ErrorParseError::UnexpectedText("conflict"),
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'><x/></conflict></error>",
            ErrorParseError::UnexpectedChild {
                parent: "conflict",
                child: "x".into(),
            },
        ),
        (
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'><b/></text></error>",
            ErrorParseError::UnexpectedChild {
                parent: "text",
                child: "b".into(),
            },
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(stanza_err(src).as_ref(), Err(expected), "{src}");
    }
    assert!(matches!(
        stanza_err(
            "<error xmlns='jabber:client' type='cancel' by='@example.org'>\
               <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
        ),
        Err(ErrorParseError::InvalidBy(_))
    ));
}

#[test]
fn stream_error_round_trips_every_condition() {
    let app = Element::new("stanza-too-big", "urn:xmpp:errors");
    for condition in StreamCondition::ALL {
        let condition = match condition {
            StreamCondition::SeeOtherHost(_) => {
                StreamCondition::SeeOtherHost("[2001:db8::1]:5222".into())
            }
            other => other,
        };
        let plain = StreamError::new(condition.clone());
        let el = plain.to_element();
        assert!(el.is("error", ns::STREAM));
        assert_eq!(
            el.children().next().map(Element::ns),
            Some(ns::XMPP_STREAMS)
        );
        assert_eq!(StreamError::from_element(&el), Ok(plain), "{el}");
        let reparsed: Element = el.to_string().parse().expect("we write well-formed XML");
        assert_eq!(reparsed, el);

        let full = StreamError::new(condition)
            .with_text(Some("en"), "bye")
            .with_text(Some("fr"), "adieu")
            .with_app_condition(app.clone());
        assert_eq!(StreamError::from_element(&full.to_element()), Ok(full));
    }
}

#[test]
fn stream_error_parses_rfc_example_with_prefix() {
    let err = stream_err(
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>\
           <see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:41D0:1:A49b::1]:9222</see-other-host>\
         </stream:error>",
    )
    .expect("valid");
    assert_eq!(
        err.condition,
        StreamCondition::SeeOtherHost("[2001:41D0:1:A49b::1]:9222".into())
    );
    assert_eq!(
        err.to_string(),
        "stream error: see-other-host ([2001:41D0:1:A49b::1]:9222)"
    );
}

#[test]
fn stream_error_parsing_is_strict() {
    let cases: &[(&str, ErrorParseError)] = &[
        (
            "<error xmlns='http://etherx.jabber.org/streams'><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>",
            ErrorParseError::MissingHost,
        ),
        (
            "<error xmlns='http://etherx.jabber.org/streams'><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>  </see-other-host></error>",
            ErrorParseError::MissingHost,
        ),
        (
            "<error xmlns='http://etherx.jabber.org/streams'/>",
            ErrorParseError::MissingCondition,
        ),
        (
            "<error xmlns='http://etherx.jabber.org/streams'><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><reset xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>",
            ErrorParseError::MultipleConditions,
        ),
        (
            "<error xmlns='http://etherx.jabber.org/streams'><xml-not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>",
            ErrorParseError::UnknownCondition("xml-not-well-formed".into()),
        ),
        // A stanza error's condition namespace is an application condition here, so the
        // defined one is missing: the two worlds do not mix.
        (
            "<error xmlns='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            ErrorParseError::MissingCondition,
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(stream_err(src).as_ref(), Err(expected), "{src}");
    }
    assert!(matches!(
        stream_err(
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
        ),
        Err(ErrorParseError::WrongElement { .. })
    ));
    // And the other way round.
    assert!(matches!(
        stanza_err(
            "<error xmlns='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>"
        ),
        Err(ErrorParseError::WrongElement { .. })
    ));
}

#[test]
fn stream_error_keeps_attributes() {
    let el = parse(
        "<error xmlns='http://etherx.jabber.org/streams' xml:lang='en'>\
           <reset xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>",
    );
    let err = StreamError::from_element(&el).expect("valid");
    assert_eq!(err.to_element(), el);
}
