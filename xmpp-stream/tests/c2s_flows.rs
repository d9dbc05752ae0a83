//! Whole negotiations that succeed: STARTTLS or Direct TLS, each SASL mechanism, both ways of
//! binding, and stanzas flowing in both directions afterwards.

mod support;

use support::{
    Client, DOMAIN, EXPORTER, PASSWORD, SASL_NS, TLS_NS, USER, el, header_to, mechanisms,
};
use xmpp_core::stanza::Stanza;
use xmpp_core::{Element, ns};
use xmpp_sasl::{ClientChannelBinding, Mechanism, ScramHash, encode_sasl_payload};
use xmpp_stream::c2s::{Event, SendError, State};

#[test]
fn starttls_scram_sha_256_bind_server_resource_and_stanzas_both_ways() {
    let mut c = Client::plaintext();
    assert_eq!(c.conn.state(), State::AwaitingStreamHeader);

    // Stream header, answered with ours and STARTTLS alone.
    let (header, features) = c.open();
    assert_eq!(header.from.as_deref(), Some(DOMAIN));
    assert_eq!(header.version.as_deref(), Some("1.0"));
    assert_eq!(header.lang.as_deref(), Some("en"));
    assert_eq!(header.content_ns, ns::JABBER_CLIENT);
    let first_id = header.id.clone().expect("a stream id");
    assert_eq!(c.conn.stream_id(), Some(first_id.as_str()));
    assert_eq!(
        features,
        el("<features xmlns='http://etherx.jabber.org/streams'>\
            <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></features>")
    );
    assert_eq!(c.conn.state(), State::Authenticating);
    assert!(!c.conn.is_encrypted());

    // TLS, then SASL with channel binding advertised (the fake TLS layer has both types).
    let features = c.starttls();
    assert_ne!(
        c.conn.stream_id(),
        Some(first_id.as_str()),
        "a new id per stream"
    );
    assert_eq!(
        mechanisms(&features),
        [
            "SCRAM-SHA-512-PLUS",
            "SCRAM-SHA-256-PLUS",
            "SCRAM-SHA-1-PLUS",
            "SCRAM-SHA-512",
            "SCRAM-SHA-256",
            "SCRAM-SHA-1",
            "PLAIN"
        ]
    );
    let cb = features
        .get_child("sasl-channel-binding", "urn:xmpp:sasl-cb:0")
        .expect("XEP-0440 advertisement");
    let types: Vec<_> = cb.children().filter_map(|c| c.attr("type")).collect();
    assert_eq!(types, ["tls-exporter", "tls-server-end-point"]);
    assert!(features.get_child("starttls", TLS_NS).is_none());

    let success = c.authenticate(
        &features,
        Mechanism::ScramSha256,
        USER,
        PASSWORD,
        ClientChannelBinding::Unsupported,
    );
    assert!(success.is("success", SASL_NS));
    let Event::NeedCredentials {
        username,
        jid,
        hash,
        mechanism,
    } = c.find_event(|e| matches!(e, Event::NeedCredentials { .. }))
    else {
        unreachable!()
    };
    assert_eq!(username, USER);
    assert_eq!(jid.as_str(), "juliet@example.org");
    assert_eq!(hash, ScramHash::Sha256);
    assert_eq!(mechanism, Mechanism::ScramSha256);
    let Event::Authenticated { jid } = c.event() else {
        panic!("expected Authenticated")
    };
    assert_eq!(jid.as_str(), "juliet@example.org");
    assert_eq!(c.conn.state(), State::AwaitingStreamHeader);

    // Restart: bind, session, stream management and client state indication.
    let (_, features) = c.open();
    assert_eq!(
        features,
        el("<features xmlns='http://etherx.jabber.org/streams'>\
            <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
            <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>\
            <sm xmlns='urn:xmpp:sm:3'/><csi xmlns='urn:xmpp:csi:0'/>\
            </features>")
    );
    assert_eq!(c.conn.state(), State::Binding);

    // The client leaves the resource to the server.
    let result = c.bind(None);
    assert_eq!(
        c.event(),
        Event::BindRequest {
            requested_resource: None
        }
    );
    let Event::Bound { jid } = c.event() else {
        panic!("expected Bound")
    };
    assert_eq!(jid.bare_str(), "juliet@example.org");
    assert_eq!(jid.resource().len(), 16, "a random resource: {jid:?}");
    assert_eq!(result.attr("type"), Some("result"));
    assert_eq!(result.attr("id"), Some("bind1"));
    let bound = result
        .get_child("bind", ns::BIND)
        .and_then(|b| b.child_text("jid", ns::BIND));
    assert_eq!(bound.as_deref(), Some(jid.as_str()));
    assert_eq!(c.conn.jid(), Some(&jid));
    assert_eq!(c.conn.state(), State::Established);

    // Client to server: a stanza comes out as an event, untouched.
    c.send("<message to='romeo@example.net' id='m1'><body>Wherefore art thou?</body></message>");
    let Event::Stanza(msg) = c.event() else {
        panic!("expected a stanza")
    };
    assert!(msg.is("message", ns::JABBER_CLIENT));
    assert_eq!(
        msg.child_text("body", ns::JABBER_CLIENT).as_deref(),
        Some("Wherefore art thou?")
    );

    // Server to client: serialised in jabber:client, without an xmlns of its own.
    let reply = Stanza::from_element(el(
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='juliet@example.org/balcony' id='m2'><body>Here &amp; now</body></message>",
    ))
    .expect("a stanza");
    c.conn.send_stanza(&reply).expect("bound");
    c.pump();
    assert!(
        c.wire.ends_with(
            "<message from='romeo@example.net/orchard' to='juliet@example.org/balcony' id='m2'>\
             <body>Here &amp; now</body></message>"
        ),
        "{}",
        c.wire
    );
    assert_eq!(c.recv_element(), reply.into_element());
}

#[test]
fn client_chosen_resource_is_normalised_and_bound() {
    let mut c = Client::plaintext();
    let _ = c.login();
    // A non-ASCII space becomes an ASCII one (OpaqueString, RFC 8265 §4.2).
    let result = c.bind(Some("balcony\u{2003}1"));
    assert_eq!(
        c.find_event(|e| matches!(e, Event::BindRequest { .. })),
        Event::BindRequest {
            requested_resource: Some("balcony 1".into())
        }
    );
    assert_eq!(result.attr("type"), Some("result"));
    assert_eq!(
        c.conn.jid().map(xmpp_core::jid::FullJid::as_str),
        Some("juliet@example.org/balcony 1")
    );
}

#[test]
fn direct_tls_scram_sha_256_plus_with_tls_exporter() {
    let mut c = Client::direct_tls();
    let (_, features) = c.open();
    assert!(
        features.get_child("starttls", TLS_NS).is_none(),
        "no STARTTLS on Direct TLS"
    );
    assert!(mechanisms(&features).contains(&"SCRAM-SHA-256-PLUS".to_owned()));
    // The client checks the server's XEP-0474 hash against the features it saw
    // (`require_ssdp`), and binds to the exporter value of the (fake) TLS session.
    let success = c.authenticate(
        &features,
        Mechanism::ScramSha256Plus,
        USER,
        PASSWORD,
        EXPORTER,
    );
    assert!(success.is("success", SASL_NS), "{success:?}");
    let Event::NeedCredentials { mechanism, .. } =
        c.find_event(|e| matches!(e, Event::NeedCredentials { .. }))
    else {
        unreachable!()
    };
    assert_eq!(mechanism, Mechanism::ScramSha256Plus);
    let (_, features) = c.open();
    assert!(features.has_child("bind", ns::BIND));
    let _ = c.bind(Some("phone"));
    assert_eq!(
        c.conn.jid().map(xmpp_core::jid::FullJid::as_str),
        Some("juliet@example.org/phone")
    );
}

#[test]
fn scram_sha_1() {
    let mut c = Client::plaintext();
    let _ = c.open();
    let features = c.starttls();
    let success = c.authenticate(
        &features,
        Mechanism::ScramSha1,
        USER,
        PASSWORD,
        ClientChannelBinding::Unsupported,
    );
    assert!(success.is("success", SASL_NS), "{success:?}");
    let Event::NeedCredentials { hash, .. } =
        c.find_event(|e| matches!(e, Event::NeedCredentials { .. }))
    else {
        unreachable!()
    };
    assert_eq!(hash, ScramHash::Sha1);
    assert!(c.conn.account().is_some());
}

#[test]
fn plain_inside_tls() {
    let mut c = Client::plaintext();
    let _ = c.open();
    let features = c.starttls();
    let success = c.authenticate(
        &features,
        Mechanism::Plain,
        USER,
        PASSWORD,
        ClientChannelBinding::Unsupported,
    );
    assert_eq!(
        success,
        el("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
    );
    assert!(
        c.wire
            .contains("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
    );
    assert!(matches!(
        c.find_event(|e| matches!(e, Event::Authenticated { .. })),
        Event::Authenticated { .. }
    ));
}

#[test]
fn username_is_normalised_like_a_jid_localpart() {
    let mut c = Client::direct_tls();
    let (_, features) = c.open();
    let success = c.authenticate(
        &features,
        Mechanism::Plain,
        "JULIET",
        PASSWORD,
        ClientChannelBinding::Unsupported,
    );
    assert!(success.is("success", SASL_NS), "{success:?}");
    let Event::Authenticated { jid } = c.find_event(|e| matches!(e, Event::Authenticated { .. }))
    else {
        unreachable!()
    };
    assert_eq!(jid.as_str(), "juliet@example.org");
}

#[test]
fn the_second_hosted_domain_is_its_own_realm() {
    let mut c = Client::direct_tls();
    let (header, features) = c.open_to("Other.Example.");
    assert_eq!(header.from.as_deref(), Some("other.example"));
    let _ = c.authenticate(
        &features,
        Mechanism::ScramSha256,
        USER,
        PASSWORD,
        ClientChannelBinding::Unsupported,
    );
    let Event::NeedCredentials { jid, .. } =
        c.find_event(|e| matches!(e, Event::NeedCredentials { .. }))
    else {
        unreachable!()
    };
    assert_eq!(jid.as_str(), "juliet@other.example");
}

#[test]
fn auth_without_initial_response_gets_an_empty_challenge() {
    let mut c = Client::direct_tls();
    let _ = c.open();
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>");
    assert_eq!(
        c.recv_element(),
        el("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
    );
    let plain = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
    c.send(&format!("<response xmlns='{SASL_NS}'>{plain}</response>"));
    assert!(c.recv_element().is("success", SASL_NS));
}

#[test]
fn bytes_pipelined_after_the_last_sasl_message_belong_to_the_new_stream() {
    let mut c = Client::direct_tls();
    let _ = c.open();
    let plain = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
    // XEP-0305 style: auth, restart and bind in one write.
    c.send(&format!(
        "<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{plain}</auth>{}\
         <iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>quick</resource></bind></iq><presence/>",
        header_to(DOMAIN)
    ));
    assert!(c.recv_element().is("success", SASL_NS));
    let _ = c.recv_header();
    let _ = c.recv_features();
    let result = c.recv_element();
    assert_eq!(result.attr("id"), Some("b"));
    assert_eq!(result.attr("type"), Some("result"));
    assert_eq!(
        c.conn.jid().map(xmpp_core::jid::FullJid::as_str),
        Some("juliet@example.org/quick")
    );
    // The presence waited in the caller's buffer while the bind was pending, and is read now.
    let Event::Stanza(presence) = c.find_event(|e| matches!(e, Event::Stanza(_))) else {
        unreachable!()
    };
    assert!(presence.is("presence", ns::JABBER_CLIENT));
    assert!(c.unread.is_empty());
}

#[test]
fn connection_waits_for_credentials_and_leaves_the_rest_unread() {
    let mut c = Client::direct_tls();
    c.auto = false;
    let _ = c.open();
    let plain = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
    let pipelined = "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    c.send(&format!(
        "<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{plain}</auth>{pipelined}"
    ));
    assert!(matches!(c.event(), Event::NeedCredentials { .. }));
    assert_eq!(c.conn.state(), State::AwaitingCredentials);
    assert!(c.conn.is_blocked());
    assert_eq!(c.unread, pipelined.as_bytes());
    // Feeding again while blocked reads nothing.
    c.feed();
    assert_eq!(c.unread, pipelined.as_bytes());
    assert!(c.nothing_received());

    c.conn.provide_credentials(support::records(PASSWORD));
    c.pump();
    assert!(c.recv_element().is("success", SASL_NS));
    // The restarted stream now reads the pipelined <abort/>, which is no stream header.
    c.feed();
    c.expect_stream_error("invalid-namespace");
}

#[test]
fn legacy_session_iq_is_answered_before_and_after_bind() {
    let mut c = Client::plaintext();
    let _ = c.login();
    let session =
        "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>";
    c.send(session);
    assert_eq!(
        c.recv_element(),
        el("<iq xmlns='jabber:client' id='s1' type='result' from='example.org'/>")
    );
    let _ = c.bind(Some("r"));
    c.events.clear();
    c.send(&session.replace("s1", "s2"));
    assert_eq!(
        c.recv_element(),
        el("<iq xmlns='jabber:client' id='s2' type='result' from='example.org'/>")
    );
    assert!(c.events.is_empty(), "answered, not routed: {:?}", c.events);
}

#[test]
fn extra_features_are_advertised_after_auth() {
    let caps = Element::new("c", ns::CAPS)
        .with_attr("hash", "sha-1")
        .with_attr("node", "https://chatrix.example")
        .with_attr("ver", "abc=");
    let mut c = Client::new(
        support::config().with_extra_features(vec![caps.clone()]),
        None,
    );
    let features = c.login();
    assert_eq!(features.children().last(), Some(&caps));
}

#[test]
fn sending_before_bind_is_refused() {
    let mut c = Client::plaintext();
    let _ = c.login();
    let msg = el("<message xmlns='jabber:client' to='juliet@example.org'/>");
    assert_eq!(c.conn.send_element(&msg), Err(SendError::NotBound));
}

#[test]
fn connection_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<xmpp_stream::c2s::Connection>();
}
