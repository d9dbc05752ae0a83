//! A transcript harness for the c2s connection: the test plays the client, writes its bytes,
//! and reads the server's output back through a client-side `Framer`, like h2's test support
//! and quinn's in-memory pairs. No sockets, no clock: time moves when the test says so.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xmpp_core::jid::FullJid;
use xmpp_core::{Element, StreamError, ns};
use xmpp_sasl::{
    Advertised, ChannelBindingType, ChannelBindings, ClientChannelBinding, ClientOptions,
    ClientSession, FixedRng, Mechanism, ScramHash, ServerConfig, StoredCredentials,
    decode_sasl_payload, encode_base64, encode_sasl_payload,
};
use xmpp_stream::c2s::{Connection, ConnectionConfig, Event, State, TlsPolicy};
use xmpp_stream::{FrameEvent, Framer, Limits, StreamHeader};

pub const DOMAIN: &str = "example.org";
pub const OTHER_DOMAIN: &str = "other.example";
pub const USER: &str = "juliet";
pub const PASSWORD: &str = "r0m30myr0m30";
pub const SECRET: &[u8] = b"a stable server secret of some length";
/// Low so that debug builds stay fast; the SASL config's bounds are lowered to match.
pub const ITERATIONS: u32 = 128;

pub const TLS_NS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
pub const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

pub fn sasl_config() -> Arc<ServerConfig> {
    let config = ServerConfig::new(SECRET)
        .and_then(|c| c.with_iteration_bounds(ITERATIONS, 100_000))
        .map(|c| c.with_unknown_user_params(ITERATIONS, 16))
        .expect("SASL config");
    Arc::new(config)
}

/// Two hosted domains, TLS required, STARTTLS available, defaults otherwise.
pub fn config() -> ConnectionConfig {
    ConnectionConfig::new([DOMAIN, OTHER_DOMAIN], sasl_config()).expect("config")
}

/// What the fake TLS layer computes: TLS 1.3, both binding types.
pub fn bindings() -> ChannelBindings {
    ChannelBindings {
        tls_exporter: Some(vec![0xE7; 32]),
        tls_server_end_point: Some(vec![0x5E; 32]),
    }
}

/// The stored records of an account with `password`, one per hash.
pub fn records(password: &str) -> Vec<StoredCredentials> {
    ScramHash::ALL
        .into_iter()
        .map(|h| StoredCredentials::derive(h, password, b"salt of the earth", ITERATIONS))
        .collect::<Result<_, _>>()
        .expect("records")
}

pub fn header_to(to: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0' xml:lang='en'>"
    )
}

/// The element, parsed (for building client stanzas).
pub fn el(xml: &str) -> Element {
    xml.parse().expect("test XML")
}

/// How the test client answers the server's credential requests.
#[derive(Debug, Clone)]
pub enum Accounts {
    /// `USER` exists with this password; everybody else is unknown.
    One(String),
    /// Nobody exists.
    Nobody,
}

/// The client side of one connection.
pub struct Client {
    pub conn: Connection,
    pub now: Instant,
    /// Client bytes the connection has not read yet (it blocked).
    pub unread: Vec<u8>,
    /// Everything the server wrote, as text (for assertions on the wire format).
    pub wire: String,
    parser: Framer,
    out: Vec<u8>,
    received: VecDeque<FrameEvent>,
    pub events: VecDeque<Event>,
    pub accounts: Accounts,
    /// Answer `NeedCredentials` and `BindRequest` automatically.
    pub auto: bool,
    pub rng: FixedRng,
}

impl Client {
    pub fn new(config: ConnectionConfig, encrypted: Option<ChannelBindings>) -> Self {
        let now = Instant::now();
        Self {
            conn: Connection::new(Arc::new(config), encrypted, Box::new(FixedRng::new(7)), now),
            now,
            unread: Vec::new(),
            wire: String::new(),
            parser: Framer::new(Limits::default()),
            out: Vec::new(),
            received: VecDeque::new(),
            events: VecDeque::new(),
            accounts: Accounts::One(PASSWORD.to_owned()),
            auto: true,
            rng: FixedRng::new(42),
        }
    }

    /// A plaintext connection to the default listener.
    pub fn plaintext() -> Self {
        Self::new(config(), None)
    }

    /// A Direct TLS connection (XEP-0368) with both binding types.
    pub fn direct_tls() -> Self {
        Self::new(config(), Some(bindings()))
    }

    /// A plaintext connection to a TLS-optional listener.
    pub fn optional_tls() -> Self {
        Self::new(config().with_tls(TlsPolicy::Optional), None)
    }

    /// Writes `data` to the server and runs everything it causes.
    pub fn send(&mut self, data: &str) {
        self.send_bytes(data.as_bytes());
    }

    pub fn send_bytes(&mut self, data: &[u8]) {
        self.unread.extend_from_slice(data);
        self.feed();
    }

    /// Hands the unread bytes to the connection again (after answering it).
    pub fn feed(&mut self) {
        let mut buf = &self.unread[..];
        self.conn.handle_input(&mut buf, self.now);
        let consumed = self.unread.len() - buf.len();
        self.unread.drain(..consumed);
        self.pump();
    }

    /// Collects output and events, answering the connection's requests when `auto` is on.
    pub fn pump(&mut self) {
        loop {
            while let Some(bytes) = self.conn.poll_transmit() {
                self.wire
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8 output"));
                self.out.extend_from_slice(&bytes);
            }
            self.parse_output();
            let Some(event) = self.conn.poll_event() else {
                return;
            };
            let answered = self.auto && self.answer(&event);
            self.events.push_back(event);
            if answered {
                self.feed();
                return;
            }
        }
    }

    fn answer(&mut self, event: &Event) -> bool {
        match event {
            Event::NeedCredentials { username, .. } => {
                match &self.accounts {
                    Accounts::One(password) if username == USER => {
                        let records = records(password);
                        self.conn.provide_credentials(records);
                    }
                    _ => self.conn.provide_no_such_user(),
                }
                true
            }
            Event::BindRequest { requested_resource } => {
                let resource = match requested_resource {
                    Some(r) => r.clone(),
                    None => self.conn.generate_resource().expect("rng"),
                };
                let account = self.conn.account().expect("authenticated").clone();
                let jid = account.with_resource(&resource).expect("resource");
                self.conn.complete_bind(Ok(jid));
                true
            }
            _ => false,
        }
    }

    fn parse_output(&mut self) {
        let mut buf = &self.out[..];
        loop {
            match self.parser.poll_event(&mut buf) {
                Ok(Some(ev)) => {
                    // After <proceed/> and <success/> the server's next bytes open a new
                    // stream, as on a real client.
                    if let FrameEvent::Element(e) = &ev
                        && (e.is("proceed", TLS_NS) || e.is("success", SASL_NS))
                    {
                        self.parser.restart();
                    }
                    self.received.push_back(ev);
                }
                Ok(None) => break,
                Err(e) => panic!("server output does not parse: {e}\n{}", self.wire),
            }
        }
        let consumed = self.out.len() - buf.len();
        self.out.drain(..consumed);
    }

    /// Moves the clock and fires the connection's timer.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.pump();
    }

    // --- Reading what the server sent -------------------------------------------------------

    pub fn recv(&mut self) -> FrameEvent {
        self.received
            .pop_front()
            .unwrap_or_else(|| panic!("the server sent nothing more; wire so far:\n{}", self.wire))
    }

    pub fn nothing_received(&self) -> bool {
        self.received.is_empty()
    }

    pub fn recv_element(&mut self) -> Element {
        match self.recv() {
            FrameEvent::Element(e) => e,
            other => panic!("expected an element, got {other:?}"),
        }
    }

    pub fn recv_header(&mut self) -> StreamHeader {
        match self.recv() {
            FrameEvent::StreamOpen(h) => h,
            other => panic!("expected a stream header, got {other:?}"),
        }
    }

    pub fn recv_features(&mut self) -> Element {
        let f = self.recv_element();
        assert!(f.is("features", ns::STREAM), "expected features, got {f:?}");
        f
    }

    /// The next event, skipping none.
    pub fn event(&mut self) -> Event {
        self.events
            .pop_front()
            .unwrap_or_else(|| panic!("no event; wire so far:\n{}", self.wire))
    }

    /// Drops events until one matches.
    pub fn find_event(&mut self, pred: impl Fn(&Event) -> bool) -> Event {
        while let Some(e) = self.events.pop_front() {
            if pred(&e) {
                return e;
            }
        }
        panic!("no such event; wire so far:\n{}", self.wire)
    }

    /// The stream ends with `<stream:error><condition/></stream:error></stream:stream>`, and
    /// the connection reports the same error. Returns the error.
    pub fn expect_stream_error(&mut self, condition: &str) -> StreamError {
        let mut error = None;
        while let Some(ev) = self.received.pop_front() {
            match ev {
                FrameEvent::Element(e) if e.is("error", ns::STREAM) => {
                    error = Some(StreamError::from_element(&e).expect("a valid stream error"));
                }
                FrameEvent::StreamClose => break,
                _ => {}
            }
        }
        let error = error.unwrap_or_else(|| panic!("no stream error; wire:\n{}", self.wire));
        assert_eq!(error.condition.as_str(), condition, "wire:\n{}", self.wire);
        let closed = self.find_event(|e| matches!(e, Event::Closed { .. }));
        assert_eq!(
            closed,
            Event::Closed {
                error: Some(error.clone()),
                by_peer: false
            }
        );
        assert!(self.conn.is_closed());
        assert_eq!(self.conn.state(), State::Closed);
        error
    }

    // --- Steps of a negotiation -------------------------------------------------------------

    /// Sends a header for `DOMAIN`; returns the server's header and features.
    pub fn open(&mut self) -> (StreamHeader, Element) {
        self.open_to(DOMAIN)
    }

    pub fn open_to(&mut self, to: &str) -> (StreamHeader, Element) {
        self.send(&header_to(to));
        let header = self.recv_header();
        let features = self.recv_features();
        (header, features)
    }

    /// `<starttls/>` → `<proceed/>` → handshake (fake) → new header; returns the features.
    pub fn starttls(&mut self) -> Element {
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        let proceed = self.recv_element();
        assert!(proceed.is("proceed", TLS_NS), "{proceed:?}");
        assert_eq!(self.event(), Event::StartTls);
        assert_eq!(self.conn.state(), State::AwaitingTls);
        self.conn.handle_tls_established(bindings(), self.now);
        self.pump();
        assert!(self.conn.is_encrypted());
        self.open().1
    }

    /// Runs a SASL exchange with `xmpp_sasl::ClientSession`, as a real client would, against
    /// the `features` the server advertised. Returns the last SASL element from the server
    /// (`<success/>` or `<failure/>`).
    pub fn authenticate(
        &mut self,
        features: &Element,
        mechanism: Mechanism,
        user: &str,
        password: &str,
        binding: ClientChannelBinding,
    ) -> Element {
        let options = ClientOptions::new(user, password)
            .with_iteration_bounds(ITERATIONS, 100_000)
            .with_channel_binding(binding, bindings())
            .with_advertised(advertised(features))
            .require_ssdp(mechanism.scram_hash().is_some());
        let mut session =
            ClientSession::new(mechanism, &options, &mut self.rng).expect("client session");
        let initial = session.initial_response().expect("initial response");
        self.send(&format!(
            "<auth xmlns='{SASL_NS}' mechanism='{}'>{}</auth>",
            mechanism.as_str(),
            encode_sasl_payload(&initial)
        ));
        loop {
            let reply = self.recv_element();
            assert_eq!(reply.ns(), SASL_NS, "{reply:?}");
            let data = decode_sasl_payload(&reply.text()).expect("base64");
            match reply.name() {
                "challenge" => {
                    let response = session
                        .handle_challenge(&data.unwrap_or_default())
                        .expect("client accepts the challenge");
                    self.send(&format!(
                        "<response xmlns='{SASL_NS}'>{}</response>",
                        encode_base64(&response)
                    ));
                }
                "success" => {
                    session
                        .handle_success(data.as_deref())
                        .expect("the server proved it knows the credentials");
                    assert!(session.is_authenticated());
                    return reply;
                }
                _ => return reply,
            }
        }
    }

    /// STARTTLS, SCRAM-SHA-256 as `USER`, restart: returns the post-auth features.
    pub fn login(&mut self) -> Element {
        let _ = self.open();
        let features = self.starttls();
        let success = self.authenticate(
            &features,
            Mechanism::ScramSha256,
            USER,
            PASSWORD,
            ClientChannelBinding::Unsupported,
        );
        assert!(success.is("success", SASL_NS), "{success:?}");
        self.open().1
    }

    /// Sends a bind request and returns the server's answer.
    pub fn bind(&mut self, resource: Option<&str>) -> Element {
        let body = match resource {
            Some(r) => format!("<resource>{r}</resource>"),
            None => String::new(),
        };
        self.send(&format!(
            "<iq type='set' id='bind1'>\
             <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{body}</bind></iq>"
        ));
        self.recv_element()
    }

    /// Login and bind with a server-chosen resource; returns the full JID.
    pub fn bound() -> (Self, FullJid) {
        let mut client = Self::plaintext();
        let _ = client.login();
        let _ = client.bind(None);
        let Event::Bound { jid } = client.find_event(|e| matches!(e, Event::Bound { .. })) else {
            unreachable!()
        };
        client.events.clear();
        (client, jid)
    }
}

/// What the client saw advertised, for XEP-0474.
pub fn advertised(features: &Element) -> Advertised {
    let mechanisms = features
        .get_child("mechanisms", SASL_NS)
        .map(|m| m.children().map(Element::text).collect())
        .unwrap_or_default();
    let channel_binding_types = features
        .get_child("sasl-channel-binding", xmpp_sasl::SASL_CB_NAMESPACE)
        .map(|cb| {
            cb.children()
                .filter_map(|c| c.attr("type").map(str::to_owned))
                .collect()
        });
    Advertised {
        mechanisms,
        channel_binding_types,
    }
}

/// The mechanism names advertised.
pub fn mechanisms(features: &Element) -> Vec<String> {
    advertised(features).mechanisms
}

/// The channel-binding type `tls-exporter`, for the -PLUS tests.
pub const EXPORTER: ClientChannelBinding =
    ClientChannelBinding::Bind(ChannelBindingType::TlsExporter);
