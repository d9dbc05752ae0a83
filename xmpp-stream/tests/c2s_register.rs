//! XEP-0077 in-band registration before authentication: where the feature is advertised,
//! which IQs reach the driver, the wait for its answer, the bound on requests, registering
//! then logging in on one stream; and the bytes that refuse a connection outright.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use support::{Accounts, Client, DOMAIN, SASL_NS, TLS_NS, USER, config, el, mechanisms};
use xmpp_core::{Element, StreamCondition, StreamError, ns};
use xmpp_sasl::{ClientChannelBinding, Mechanism, encode_sasl_payload};
use xmpp_stream::c2s::{
    ConnectionConfig, DEFAULT_MAX_REGISTER_IQS, Event, State, TlsPolicy, refusal,
};
use xmpp_stream::{FrameEvent, Framer, Limits};

const REGISTER_NS: &str = xmpp_core::ns::REGISTER;
const FEATURE_NS: &str = "http://jabber.org/features/iq-register";
const STARTTLS: &str = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

fn get(id: &str) -> String {
    format!("<iq type='get' id='{id}'><query xmlns='{REGISTER_NS}'/></iq>")
}

fn set(id: &str, user: &str, password: &str) -> String {
    format!(
        "<iq type='set' id='{id}'><query xmlns='{REGISTER_NS}'>\
         <username>{user}</username><password>{password}</password></query></iq>"
    )
}

/// What an `<iq/>` the client sent looks like once read from its stream.
fn received(xml: &str) -> Element {
    el(&xml.replacen("<iq ", "<iq xmlns='jabber:client' ", 1))
}

fn form(id: &str) -> Element {
    el(&format!(
        "<iq xmlns='jabber:client' type='result' id='{id}'><query xmlns='{REGISTER_NS}'>\
         <instructions>Choose a username and password.</instructions>\
         <username/><password/></query></iq>"
    ))
}

fn result(id: &str) -> Element {
    el(&format!(
        "<iq xmlns='jabber:client' type='result' id='{id}'/>"
    ))
}

fn not_allowed(id: &str) -> Element {
    el(&format!(
        "<iq xmlns='jabber:client' type='error' id='{id}'><error type='cancel'>\
         <not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ))
}

fn plain(user: &str, password: &str) -> String {
    let payload = encode_sasl_payload(format!("\0{user}\0{password}").as_bytes());
    format!("<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{payload}</auth>")
}

/// A client on `config`, registration offered as given, before its header.
fn client(config: ConnectionConfig, tls: bool, offered: bool) -> Client {
    let mut c = Client::new(config, tls.then(support::bindings));
    c.conn.offer_registration(offered);
    assert_eq!(c.conn.registration_offered(), offered);
    c
}

/// Direct TLS with registration offered, header sent.
fn tls_client() -> Client {
    let mut c = client(config(), true, true);
    let _ = c.open();
    c
}

fn has_feature(features: &Element) -> bool {
    features.has_child("register", FEATURE_NS)
}

fn register_iqs(c: &Client) -> usize {
    c.events
        .iter()
        .filter(|e| matches!(e, Event::RegisterIq(_)))
        .count()
}

#[test]
fn the_feature_is_advertised_only_when_offered_and_only_beside_sasl() {
    // TLS required, plaintext: STARTTLS alone, then the feature with the mechanisms.
    let mut c = client(config(), false, true);
    let (_, features) = c.open();
    assert_eq!(
        features,
        el("<features xmlns='http://etherx.jabber.org/streams'>\
            <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></features>")
    );
    let features = c.starttls();
    assert!(has_feature(&features), "{features:?}");
    assert!(mechanisms(&features).contains(&"PLAIN".to_owned()));
    // Last, after the SASL part, which is what it would be without registration.
    assert_eq!(
        features.children().last().map(|f| (f.name(), f.ns())),
        Some(("register", FEATURE_NS))
    );
    assert_eq!(
        features.get_child("register", FEATURE_NS),
        Some(&el(
            "<register xmlns='http://jabber.org/features/iq-register'/>"
        ))
    );

    // Direct TLS: there from the first header; not when the driver does not offer it.
    for offered in [true, false] {
        let mut c = client(config(), true, offered);
        let (_, features) = c.open();
        assert_eq!(has_feature(&features), offered);
    }

    // A TLS-optional plaintext listener offers SASL, STARTTLS and registration together.
    let mut c = client(config().with_tls(TlsPolicy::Optional), false, true);
    let (_, features) = c.open();
    assert!(has_feature(&features));
    assert!(features.has_child("starttls", TLS_NS));

    // Never after authentication.
    let mut c = client(config(), false, true);
    let features = c.login();
    assert!(!has_feature(&features), "{features:?}");
    assert!(features.has_child("bind", ns::BIND));
}

#[test]
fn a_register_get_becomes_the_event_blocks_and_its_answer_is_written() {
    let mut c = tls_client();
    // The request and a pipelined SASL attempt in one read.
    c.send(&format!("{}{}", get("reg1"), plain(USER, "whatever")));
    assert_eq!(c.event(), Event::RegisterIq(received(&get("reg1"))));
    assert_eq!(c.conn.state(), State::AwaitingRegistration);
    assert!(c.conn.is_blocked());
    // Nothing after the request is read, nothing is written, until the driver answers.
    assert!(!c.unread.is_empty());
    assert!(c.nothing_received());
    c.feed();
    assert!(c.events.is_empty());
    assert!(c.nothing_received());

    c.conn.answer_register_iq(&form("reg1"));
    c.pump();
    assert_eq!(c.recv_element(), form("reg1"));
    assert_eq!(c.conn.state(), State::Authenticating);
    assert!(!c.conn.is_blocked());
    // The driver hands the rest in again: the pipelined PLAIN now runs (and fails).
    c.feed();
    assert!(c.unread.is_empty());
    let _ = c.find_event(|e| matches!(e, Event::AuthFailed { .. }));
}

#[test]
fn a_register_set_is_handed_over_even_when_registration_is_not_offered() {
    let mut c = client(config(), true, false);
    let (_, features) = c.open();
    assert!(!has_feature(&features));
    let request = set("reg2", "bill", "Calliope");
    c.send(&request);
    assert_eq!(c.event(), Event::RegisterIq(received(&request)));
    // Closed to this client: the driver refuses, and the stream goes on.
    c.conn.answer_register_iq(&not_allowed("reg2"));
    c.pump();
    assert_eq!(c.recv_element(), not_allowed("reg2"));
    assert_eq!(c.conn.state(), State::Authenticating);
}

#[test]
fn requests_addressed_to_the_domain_count_and_whitespace_does_not_matter() {
    let mut c = tls_client();
    let request =
        format!("<iq type='get' id='r' to='Example.ORG'>\n  <query xmlns='{REGISTER_NS}'/>\n</iq>");
    c.send(&request);
    let Event::RegisterIq(iq) = c.event() else {
        panic!("expected RegisterIq")
    };
    assert_eq!(
        iq.attr("to"),
        Some("Example.ORG"),
        "handed over as received"
    );
    assert_eq!(c.conn.domain(), Some(DOMAIN));
}

#[test]
fn other_iqs_and_stanzas_before_authentication_still_close_with_not_authorized() {
    for element in [
        "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>".to_owned(),
        "<iq type='get' id='a'><query xmlns='jabber:iq:auth'/></iq>".to_owned(),
        // Registration-shaped, but not a request the connection can hand over.
        format!("<iq type='get'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='result' id='x'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='error' id='x'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='get' id='x' to='other.example'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='set' id='x' to='romeo@example.net'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='get' id='x' to='example.org/r'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='get' id='x' to='not a jid@'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!(
            "<iq type='set' id='x'><query xmlns='{REGISTER_NS}'/>\
             <query xmlns='jabber:iq:roster'/></iq>"
        ),
        "<iq type='get' id='x'><register xmlns='http://jabber.org/features/iq-register'/></iq>"
            .to_owned(),
        format!("<message id='x'><query xmlns='{REGISTER_NS}'/></message>"),
        format!("<query xmlns='{REGISTER_NS}'/>"),
        "<message to='romeo@example.net'><body>hi</body></message>".to_owned(),
        "<presence/>".to_owned(),
    ] {
        let mut c = tls_client();
        c.send(&element);
        c.expect_stream_error("not-authorized");
        assert_eq!(register_iqs(&c), 0, "{element}");
        assert!(
            c.events.iter().all(|e| !matches!(e, Event::Stanza(_))),
            "{element}"
        );
    }
}

#[test]
fn a_register_iq_before_tls_on_a_tls_required_listener_is_a_policy_violation() {
    for offered in [true, false] {
        let mut c = client(config(), false, offered);
        let _ = c.open();
        c.send(&get("reg1"));
        let error = c.expect_stream_error("policy-violation");
        assert_eq!(error.texts[0].text, "STARTTLS is required");
        assert_eq!(register_iqs(&c), 0);
    }
}

#[test]
fn a_tls_optional_plaintext_stream_reads_requests_like_sasl() {
    let mut c = client(config().with_tls(TlsPolicy::Optional), false, true);
    let _ = c.open();
    c.send(&get("reg1"));
    assert!(matches!(c.event(), Event::RegisterIq(_)));
    assert!(!c.conn.is_encrypted());
}

#[test]
fn a_register_iq_in_the_middle_of_a_sasl_exchange_is_not_authorized() {
    let mut c = tls_client();
    // PLAIN without an initial response: an empty challenge is out, the exchange runs.
    c.send(&format!("<auth xmlns='{SASL_NS}' mechanism='PLAIN'/>"));
    assert!(c.recv_element().is("challenge", SASL_NS));
    c.send(&get("reg1"));
    c.expect_stream_error("not-authorized");
    assert_eq!(register_iqs(&c), 0);
}

#[test]
fn the_number_of_requests_per_connection_is_bounded() {
    assert_eq!(DEFAULT_MAX_REGISTER_IQS, 10);
    assert_eq!(config().max_register_iqs(), 10);
    assert_eq!(config().with_max_register_iqs(0).max_register_iqs(), 1);

    let mut c = client(config().with_max_register_iqs(3), true, true);
    let _ = c.open();
    for i in 0..3 {
        let id = format!("r{i}");
        c.send(&get(&id));
        assert!(matches!(c.event(), Event::RegisterIq(_)));
        c.conn.answer_register_iq(&form(&id));
        c.pump();
        assert_eq!(c.recv_element(), form(&id));
    }
    c.send(&get("r3"));
    let error = c.expect_stream_error("policy-violation");
    assert_eq!(error.texts[0].text, "too many registration requests");
    assert_eq!(register_iqs(&c), 0, "all were taken by the loop");

    // The default allows ten.
    let mut c = tls_client();
    for i in 0..DEFAULT_MAX_REGISTER_IQS {
        let id = format!("r{i}");
        c.send(&get(&id));
        c.conn.answer_register_iq(&not_allowed(&id));
        c.pump();
    }
    assert_eq!(register_iqs(&c), 10);
    assert_eq!(c.conn.state(), State::Authenticating);
    c.send(&get("one more"));
    c.expect_stream_error("policy-violation");
}

#[test]
fn a_reply_that_does_not_answer_the_request_is_not_written_and_closes_the_stream() {
    for reply in [
        result("another id"),
        el("<iq xmlns='jabber:client' type='result'/>"),
        el("<iq xmlns='jabber:client' type='set' id='reg1'/>"),
        el("<iq xmlns='jabber:client' type='get' id='reg1'/>"),
        el("<iq xmlns='jabber:server' type='result' id='reg1'/>"),
        el("<message xmlns='jabber:client' type='result' id='reg1'/>"),
        el("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
    ] {
        let mut c = tls_client();
        c.send(&get("reg1"));
        let wire = c.wire.clone();
        c.conn.answer_register_iq(&reply);
        c.pump();
        let error = c.expect_stream_error("internal-server-error");
        assert_eq!(error.texts[0].text, "invalid registration reply");
        let written = &c.wire[wire.len()..];
        assert!(!written.contains("reg1"), "{written}");
        assert!(!written.contains("success"), "{written}");
    }
}

#[test]
fn answers_nobody_waits_for_are_ignored() {
    // Before any request, after the answer, and after the close.
    let mut c = tls_client();
    c.conn.answer_register_iq(&result("reg1"));
    c.pump();
    assert!(c.nothing_received());
    assert_eq!(c.conn.state(), State::Authenticating);

    c.send(&get("reg1"));
    c.conn.answer_register_iq(&result("reg1"));
    c.conn.answer_register_iq(&result("reg1"));
    c.pump();
    assert_eq!(c.recv_element(), result("reg1"));
    assert!(c.nothing_received(), "a second answer is not written");
    assert_eq!(c.conn.state(), State::Authenticating);

    c.send(&get("reg2"));
    c.conn
        .close(StreamError::new(StreamCondition::SystemShutdown));
    c.pump();
    let wire = c.wire.clone();
    c.conn.answer_register_iq(&result("reg2"));
    c.pump();
    assert_eq!(c.wire, wire);
    assert_eq!(c.conn.state(), State::Closed);
}

#[test]
fn the_negotiation_deadline_runs_while_the_driver_is_asked() {
    let mut c = tls_client();
    c.send(&get("reg1"));
    assert_eq!(c.conn.state(), State::AwaitingRegistration);
    c.advance(Duration::from_secs(61));
    c.expect_stream_error("connection-timeout");
    c.conn.answer_register_iq(&result("reg1"));
    c.pump();
    assert!(c.nothing_received());
}

#[test]
fn register_then_plain_then_bind_on_one_stream() {
    let mut c = client(config(), false, true);
    c.accounts = Accounts::Nobody;
    let _ = c.open();
    let features = c.starttls();
    assert!(has_feature(&features));

    // The form, then the submission (XEP-0077 §3.1).
    c.send(&get("reg1"));
    assert_eq!(c.event(), Event::RegisterIq(received(&get("reg1"))));
    c.conn.answer_register_iq(&form("reg1"));
    c.pump();
    assert_eq!(c.recv_element(), form("reg1"));

    let submission = set("reg2", USER, "Calliope");
    c.send(&submission);
    let Event::RegisterIq(iq) = c.event() else {
        panic!("expected RegisterIq")
    };
    let query = iq.get_child("query", REGISTER_NS).expect("the query");
    assert_eq!(
        query.child_text("username", REGISTER_NS).as_deref(),
        Some(USER)
    );
    assert_eq!(c.conn.domain(), Some(DOMAIN));
    // The driver creates the account.
    c.accounts = Accounts::One(query.child_text("password", REGISTER_NS).expect("password"));
    c.conn.answer_register_iq(&result("reg2"));
    c.pump();
    assert_eq!(c.recv_element(), result("reg2"));

    // Then it logs in with the new account, on the same stream.
    let success = c.authenticate(
        &features,
        Mechanism::Plain,
        USER,
        "Calliope",
        ClientChannelBinding::Unsupported,
    );
    assert!(success.is("success", SASL_NS), "{success:?}");
    let Event::Authenticated { jid } = c.find_event(|e| matches!(e, Event::Authenticated { .. }))
    else {
        unreachable!()
    };
    assert_eq!(jid.as_str(), "juliet@example.org");
    let (_, features) = c.open();
    assert!(!has_feature(&features));
    let bound = c.bind(Some("balcony"));
    assert_eq!(bound.attr("type"), Some("result"), "{bound:?}");
    let Event::Bound { jid } = c.find_event(|e| matches!(e, Event::Bound { .. })) else {
        unreachable!()
    };
    assert_eq!(jid.as_str(), "juliet@example.org/balcony");
    assert_eq!(c.conn.state(), State::Established);
}

#[test]
fn after_authentication_registration_is_not_a_negotiation_step() {
    // Before binding: a stanza like any other, not-authorized.
    let mut c = client(config(), false, true);
    let features = c.login();
    assert!(features.has_child("bind", ns::BIND));
    c.send(&get("reg1"));
    c.expect_stream_error("not-authorized");
    assert_eq!(register_iqs(&c), 0);

    // Bound: a stanza for the router (a password change, a cancellation).
    let (mut c, _) = Client::bound();
    let change = set("change1", USER, "newpass");
    c.send(&change);
    assert_eq!(c.event(), Event::Stanza(received(&change)));
    assert_eq!(c.conn.state(), State::Established);
}

// --- Refusing a connection ------------------------------------------------------------------

/// An element as `rxml`'s own namespace-resolving parser reads it.
#[derive(Debug, Default)]
struct Node {
    ns: String,
    name: String,
    attrs: Vec<(String, String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, n, _)| ns.is_empty() && n == name)
            .map(|(_, _, v)| v.as_str())
    }
}

/// Parses a whole document with `rxml::Parser` (not this crate's reader), insisting that it
/// ends: one root, closed, nothing after it.
fn parse_document(mut doc: &[u8]) -> (bool, Node) {
    use rxml::Parse as _;
    let mut parser = rxml::Parser::new();
    let mut declaration = false;
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        match parser.parse(&mut doc, true) {
            Ok(Some(rxml::Event::XmlDeclaration(..))) => declaration = true,
            Ok(Some(rxml::Event::StartElement(_, (ns, name), attrs))) => {
                let attrs = attrs
                    .iter()
                    .map(|((ns, n), v)| (ns.to_string(), n.to_string(), v.clone()))
                    .collect();
                stack.push(Node {
                    ns: ns.to_string(),
                    name: name.to_string(),
                    attrs,
                    ..Node::default()
                });
            }
            Ok(Some(rxml::Event::Text(_, text))) => {
                stack.last_mut().expect("text in an element").text += text.as_str();
            }
            Ok(Some(rxml::Event::EndElement(_))) => {
                let node = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Ok(None) => break,
            Err(e) => panic!("rxml rejects the refusal: {e:?}"),
        }
    }
    assert!(doc.is_empty());
    (declaration, root.expect("a root element"))
}

#[test]
fn a_refusal_is_a_whole_document_an_independent_parser_reads() {
    let error = StreamError::new(StreamCondition::PolicyViolation)
        .with_text(Some("en"), "too many failed logins from your address <&>");
    let bytes = refusal(Some(DOMAIN), &error);
    let (declaration, stream) = parse_document(&bytes);
    assert!(declaration, "an XML declaration");
    assert_eq!(
        (stream.ns.as_str(), stream.name.as_str()),
        (ns::STREAM, "stream")
    );
    assert_eq!(stream.attr("from"), Some(DOMAIN));
    assert_eq!(stream.attr("version"), Some("1.0"));
    assert_eq!(stream.attr("id"), None);
    assert_eq!(stream.attr("to"), None);
    let [error_el] = &stream.children[..] else {
        panic!("one child: {stream:?}")
    };
    assert_eq!(
        (error_el.ns.as_str(), error_el.name.as_str()),
        (ns::STREAM, "error")
    );
    let [condition, text] = &error_el.children[..] else {
        panic!("a condition and a text: {error_el:?}")
    };
    assert_eq!(
        (condition.ns.as_str(), condition.name.as_str()),
        (ns::XMPP_STREAMS, "policy-violation")
    );
    assert_eq!(
        (text.ns.as_str(), text.name.as_str()),
        (ns::XMPP_STREAMS, "text")
    );
    assert_eq!(text.text, "too many failed logins from your address <&>");

    // Without a domain there is no `from`.
    let (_, stream) = parse_document(&refusal(
        None,
        &StreamError::new(StreamCondition::NotAuthorized),
    ));
    assert_eq!(stream.attr("from"), None);
    assert_eq!(stream.children[0].children[0].name, "not-authorized");
}

#[test]
fn a_refusal_reads_as_a_stream_error_to_a_client() {
    let error = StreamError::new(StreamCondition::PolicyViolation)
        .with_text(Some("en"), "too many failed logins");
    let bytes = refusal(Some(DOMAIN), &error);
    // A client's framer, fed everything at once (a refusal is one write).
    let mut framer = Framer::new(Limits::default());
    let mut buf = &bytes[..];
    let mut events = Vec::new();
    while let Some(ev) = framer.poll_event(&mut buf).expect("the client parses it") {
        events.push(ev);
    }
    assert!(buf.is_empty());
    let [
        FrameEvent::StreamOpen(header),
        FrameEvent::Element(e),
        FrameEvent::StreamClose,
    ] = &events[..]
    else {
        panic!("header, error, close: {events:?}")
    };
    assert_eq!(header.from.as_deref(), Some(DOMAIN));
    assert_eq!(header.content_ns, ns::JABBER_CLIENT);
    assert_eq!(StreamError::from_element(e).expect("a stream error"), error);
    // Fixed bytes: nothing random, the same refusal every time.
    assert_eq!(bytes, refusal(Some(DOMAIN), &error));
}

// --- Properties ------------------------------------------------------------------------------

/// Registration requests the connection hands over (where it reads them at all).
fn requests() -> Vec<String> {
    vec![
        get("g"),
        set("s", USER, "pw"),
        format!("<iq type='get' id='t' to='{DOMAIN}'><query xmlns='{REGISTER_NS}'/></iq>"),
    ]
}

/// Everything else an unauthenticated client might send.
fn snippets() -> Vec<String> {
    vec![
        support::header_to(DOMAIN),
        STARTTLS.to_owned(),
        format!("<iq type='get' id='o' to='other.example'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='result' id='g'><query xmlns='{REGISTER_NS}'/></iq>"),
        format!("<iq type='set'><query xmlns='{REGISTER_NS}'><remove/></query></iq>"),
        "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>".to_owned(),
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>".to_owned(),
        "<message to='romeo@example.net'><body>x</body></message>".to_owned(),
        "<presence/>".to_owned(),
        plain(USER, "pw"),
        plain(USER, "wrong"),
        format!("<auth xmlns='{SASL_NS}' mechanism='PLAIN'/>"),
        format!("<abort xmlns='{SASL_NS}'/>"),
        " ".to_owned(),
        "</stream:stream>".to_owned(),
        "<a".to_owned(),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Request(usize),
    Snippet(usize),
    Bytes(Vec<u8>),
    /// Answer the waiting request: with the form, success, an error, or a wrong reply.
    Answer(u8),
    Credentials,
    NoSuchUser,
    Tls,
    Advance(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..requests().len()).prop_map(Op::Request),
        2 => (0..snippets().len()).prop_map(Op::Snippet),
        1 => proptest::collection::vec(any::<u8>(), 0..32).prop_map(Op::Bytes),
        4 => prop_oneof![6 => 0u8..3, 1 => Just(3u8)].prop_map(Op::Answer),
        1 => Just(Op::Credentials),
        1 => Just(Op::NoSuchUser),
        1 => Just(Op::Tls),
        1 => (0u8..10).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Before authentication nothing is routed: whatever the client sends and however the
    /// driver answers, no `Stanza` event comes before `Bound`, registration requests only
    /// reach the driver where SASL would be allowed and within the bound, the connection
    /// waits while one is out, nothing panics and the output always parses (the harness
    /// checks that).
    #[test]
    fn random_pre_auth_sequences_never_route_and_never_panic(
        ops in proptest::collection::vec(op(), 0..40),
        kind in 0u8..3,
        offered in any::<bool>(),
        opened in proptest::bool::weighted(0.8),
    ) {
        let config = match kind {
            2 => config().with_tls(TlsPolicy::Optional),
            _ => config(),
        }
        .with_max_register_iqs(4);
        let mut c = client(config, kind == 1, offered);
        if opened {
            // Most random sequences end in the first few elements; start some past the
            // header (and TLS) so that the waits and the bound get exercised.
            let _ = c.open();
            if kind == 0 {
                let _ = c.starttls();
            }
        }
        c.auto = false;
        c.accounts = Accounts::Nobody;
        let request_xml = requests();
        let snippets = snippets();
        let mut seen = 0;
        let mut bound = false;
        let mut authenticated = false;
        let mut requests = 0;
        let mut waiting: Option<String> = None;
        for op in ops {
            let encrypted = c.conn.is_encrypted();
            match op {
                Op::Request(i) => c.send(&request_xml[i]),
                Op::Snippet(i) => c.send(&snippets[i]),
                Op::Bytes(b) => c.send_bytes(&b),
                Op::Answer(answer) => {
                    let id = waiting.clone().unwrap_or_else(|| "none".to_owned());
                    let reply = match answer {
                        0 => form(&id),
                        1 => result(&id),
                        2 => not_allowed(&id),
                        _ => result("not the id"),
                    };
                    c.conn.answer_register_iq(&reply);
                }
                Op::Credentials => c.conn.provide_credentials(support::records("pw")),
                Op::NoSuchUser => c.conn.provide_no_such_user(),
                Op::Tls => c.conn.handle_tls_established(support::bindings(), c.now),
                Op::Advance(s) => c.advance(Duration::from_secs(u64::from(s))),
            }
            c.pump();
            c.feed();
            for event in c.events.iter().skip(seen) {
                match event {
                    Event::Stanza(_) => prop_assert!(bound, "a stanza before binding"),
                    Event::Bound { .. } => bound = true,
                    Event::Authenticated { .. } => authenticated = true,
                    Event::RegisterIq(iq) => {
                        prop_assert!(!authenticated);
                        prop_assert!(kind == 2 || encrypted || c.conn.is_encrypted());
                        requests += 1;
                        prop_assert!(requests <= 4);
                        waiting = iq.attr("id").map(str::to_owned);
                    }
                    _ => {}
                }
            }
            seen = c.events.len();
            if c.conn.state() == State::AwaitingRegistration {
                prop_assert!(c.conn.is_blocked());
            } else {
                waiting = None;
            }
        }
        prop_assert!(!bound, "nothing here binds");
        let closed = c.events.iter().filter(|e| matches!(e, Event::Closed { .. })).count();
        prop_assert!(closed <= 1);
    }
}
