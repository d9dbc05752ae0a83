//! A raw XMPP client for tests: tokio sockets, tokio-rustls trusting the server's generated
//! certificate, `xmpp_sasl::ClientSession` for SCRAM, and the server's output parsed with
//! `xmpp_stream::Framer`, so that tests compare parsed elements, not strings.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use xmpp_core::xml::Limits;
use xmpp_core::{Element, StanzaCondition, StanzaError, StreamCondition, StreamError, ns};
use xmpp_sasl::{ClientOptions, ClientSession, Mechanism, SystemRng, decode_sasl_payload};
use xmpp_stream::{FrameEvent, Framer, StreamHeader};

use super::TestServer;

/// How long any one read may wait before the test fails (the server answers in milliseconds).
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) const STARTTLS: &str = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

pub(crate) fn el(xml: &str) -> Element {
    xml.parse()
        .unwrap_or_else(|e| panic!("test XML {xml}: {e:?}"))
}

pub(crate) fn header_to(to: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0' xml:lang='en'>"
    )
}

/// A TLS client configuration that trusts exactly the server's generated certificate, with
/// ALPN `xmpp-client` when `alpn`.
pub(crate) fn tls_config(ca: &Path, alpn: bool) -> Arc<rustls::ClientConfig> {
    let protocols: &[&[u8]] = if alpn { &[b"xmpp-client"] } else { &[] };
    tls_config_alpn(ca, protocols)
}

/// A TLS client configuration that trusts exactly the certificate in `ca` (PEM), offering
/// these ALPN protocols (e.g. `http/1.1` for the web pages).
pub(crate) fn tls_config_alpn(ca: &Path, protocols: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let cert = CertificateDer::from_pem_file(ca).unwrap_or_else(|e| panic!("{e}"));
    roots.add(cert).unwrap_or_else(|e| panic!("{e}"));
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap_or_else(|e| panic!("{e}"))
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

pub(crate) async fn tls_handshake(tcp: TcpStream, ca: &Path, alpn: bool) -> TlsStream<TcpStream> {
    let name = ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    tokio_rustls::TlsConnector::from(tls_config(ca, alpn))
        .connect(name, tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS handshake: {e}"))
}

pub(crate) enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Taken,
}

/// One raw client connection.
pub(crate) struct Raw {
    pub(crate) io: Io,
    pub(crate) framer: Framer,
    /// Bytes read but not yet framed.
    pub(crate) pending: Vec<u8>,
    /// Set when the server closed the connection (EOF or a read error).
    pub(crate) eof: bool,
}

/// What the server sent on one stream, from its header to the end of the connection.
#[derive(Debug)]
pub(crate) enum Got {
    Event(FrameEvent),
    /// The connection ended.
    Closed,
}

impl Raw {
    pub(crate) async fn plain(addr: SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Self::over(Io::Plain(tcp))
    }

    pub(crate) async fn direct(addr: SocketAddr, ca: &Path) -> Self {
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Self::over(Io::Tls(Box::new(tls_handshake(tcp, ca, true).await)))
    }

    pub(crate) fn over(io: Io) -> Self {
        Self {
            io,
            framer: Framer::new(Limits::default()),
            pending: Vec::new(),
            eof: false,
        }
    }

    pub(crate) async fn send(&mut self, data: &str) {
        let result = match &mut self.io {
            Io::Plain(s) => s.write_all(data.as_bytes()).await,
            Io::Tls(s) => match s.write_all(data.as_bytes()).await {
                Ok(()) => s.flush().await,
                Err(e) => Err(e),
            },
            Io::Taken => unreachable!("no connection"),
        };
        result.unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// Reads more bytes; false when the connection is over.
    pub(crate) async fn read_more(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        let read = async {
            match &mut self.io {
                Io::Plain(s) => s.read(&mut buf).await,
                Io::Tls(s) => s.read(&mut buf).await,
                Io::Taken => unreachable!("no connection"),
            }
        };
        let n = tokio::time::timeout(READ_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| panic!("the server said nothing for {READ_TIMEOUT:?}"));
        match n {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// The next thing the server sent (whitespace keep-alives skipped).
    pub(crate) async fn next(&mut self) -> Got {
        loop {
            let mut slice = self.pending.as_slice();
            let event = self
                .framer
                .poll_event(&mut slice)
                .unwrap_or_else(|e| panic!("the server sent bad XML: {e}"));
            let consumed = self.pending.len() - slice.len();
            self.pending.drain(..consumed);
            match event {
                Some(FrameEvent::Whitespace) => {}
                Some(event) => return Got::Event(event),
                None => {
                    if self.eof || !self.read_more().await {
                        return Got::Closed;
                    }
                }
            }
        }
    }

    pub(crate) async fn recv(&mut self) -> Element {
        match self.next().await {
            Got::Event(FrameEvent::Element(e)) => e,
            other => panic!("expected an element, got {other:?}"),
        }
    }

    pub(crate) async fn recv_header(&mut self) -> StreamHeader {
        match self.next().await {
            Got::Event(FrameEvent::StreamOpen(h)) => h,
            other => panic!("expected a stream header, got {other:?}"),
        }
    }

    /// Sends a stream header to `to`; returns the server's header and features.
    pub(crate) async fn open(&mut self, to: &str) -> (StreamHeader, Element) {
        self.framer.restart();
        self.send(&header_to(to)).await;
        let header = self.recv_header().await;
        let features = self.recv().await;
        assert!(features.is("features", ns::STREAM), "{features:?}");
        (header, features)
    }

    /// `<starttls/>`, `<proceed/>`, the TLS handshake; returns the new stream's features.
    pub(crate) async fn starttls(&mut self, ca: &Path) -> Element {
        self.send(STARTTLS).await;
        let proceed = self.recv().await;
        assert!(proceed.is("proceed", ns::TLS), "{proceed:?}");
        assert!(self.pending.is_empty(), "bytes after <proceed/>");
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Taken) else {
            panic!("STARTTLS on a TLS stream")
        };
        self.io = Io::Tls(Box::new(tls_handshake(tcp, ca, false).await));
        self.open("localhost").await.1
    }

    /// The server ends the stream with exactly this condition: `<stream:error/>`, then
    /// `</stream:stream>`, then the connection closes. Returns the parsed error.
    pub(crate) async fn expect_stream_error(&mut self, condition: StreamCondition) -> StreamError {
        let element = self.recv().await;
        assert!(element.is("error", ns::STREAM), "{element:?}");
        let error = StreamError::from_element(&element).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(error.condition, condition, "{element:?}");
        self.expect_end().await;
        error
    }

    /// `</stream:stream>`, then the end of the connection, and nothing else.
    pub(crate) async fn expect_end(&mut self) {
        match self.next().await {
            Got::Event(FrameEvent::StreamClose) => {}
            other => panic!("expected </stream:stream>, got {other:?}"),
        }
        self.expect_closed().await;
    }

    /// The connection ends with nothing more from the server.
    pub(crate) async fn expect_closed(&mut self) {
        while !self.eof {
            self.read_more().await;
        }
        assert!(
            self.pending.is_empty(),
            "bytes after the end: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
    }

    /// SCRAM (GS2 flag `n`) or PLAIN; returns the server's last word (`<success/>` or
    /// `<failure/>`) and the challenges it sent.
    pub(crate) async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        user: &str,
        password: &str,
    ) -> (Element, Vec<Vec<u8>>, Vec<u8>) {
        let (session, auth, initial) = sasl_start(mechanism, user, password);
        self.send(&auth).await;
        let (reply, challenges) = self.sasl_finish(session).await;
        (reply, challenges, initial)
    }

    /// The rest of a SASL exchange whose `<auth/>` ([`sasl_start`]) went out already:
    /// answers challenges until `<success/>` (whose server signature is checked) or
    /// `<failure/>`, and returns it with the challenges.
    pub(crate) async fn sasl_finish(
        &mut self,
        mut session: ClientSession,
    ) -> (Element, Vec<Vec<u8>>) {
        let mut challenges = Vec::new();
        loop {
            let reply = self.recv().await;
            assert_eq!(reply.ns(), ns::SASL, "{reply:?}");
            let data = decode_sasl_payload(&reply.text()).unwrap_or_else(|e| panic!("{e}"));
            match reply.name() {
                "challenge" => {
                    let challenge = data.unwrap_or_default();
                    let response = session
                        .handle_challenge(&challenge)
                        .unwrap_or_else(|e| panic!("{e}"));
                    challenges.push(challenge);
                    self.send(&format!(
                        "<response xmlns='{}'>{}</response>",
                        ns::SASL,
                        xmpp_sasl::encode_base64(&response)
                    ))
                    .await;
                }
                "success" => {
                    session
                        .handle_success(data.as_deref())
                        .unwrap_or_else(|e| panic!("server signature: {e}"));
                    return (reply, challenges);
                }
                _ => return (reply, challenges),
            }
        }
    }

    /// Direct TLS, SCRAM-SHA-256, restart, bind `resource`.
    pub(crate) async fn login(
        server: &TestServer,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Self {
        let mut c = Self::direct(server.direct, &server.cert_path()).await;
        c.open("localhost").await;
        let (result, _, _) = c.authenticate(Mechanism::ScramSha256, user, password).await;
        assert!(result.is("success", ns::SASL), "{result:?}");
        let (_, features) = c.open("localhost").await;
        assert!(features.has_child("bind", ns::BIND), "{features:?}");
        c.send(&format!(
            "<iq type='set' id='bind'><bind xmlns='{}'><resource>{resource}</resource></bind></iq>",
            ns::BIND
        ))
        .await;
        let bound = c.recv().await;
        assert_eq!(bound.attr("type"), Some("result"), "{bound:?}");
        let jid = bound
            .get_child("bind", ns::BIND)
            .and_then(|b| b.child_text("jid", ns::BIND));
        assert_eq!(jid, Some(format!("{user}@localhost/{resource}")));
        c
    }

    /// An XEP-0199 ping to the server, answered: the stream is alive and in order.
    pub(crate) async fn ping(&mut self, id: &str) {
        self.send(&format!(
            "<iq type='get' id='{id}' to='localhost'><ping xmlns='{}'/></iq>",
            ns::PING
        ))
        .await;
        let pong = self.recv().await;
        assert!(pong.is("iq", ns::JABBER_CLIENT), "{pong:?}");
        assert_eq!(pong.attr("id"), Some(id), "{pong:?}");
        assert_eq!(pong.attr("type"), Some("result"), "{pong:?}");
    }
}

impl Raw {
    /// The next element if one arrives within `wait`, `None` otherwise. A read cut short by
    /// the timeout loses nothing: bytes are kept once read, and the framer is resumable.
    pub(crate) async fn recv_within(&mut self, wait: Duration) -> Option<Element> {
        tokio::time::timeout(wait, self.recv()).await.ok()
    }

    /// Panics if anything arrives within `wait`: for what another session might still send
    /// (its work runs asynchronously, so a ping on this stream cannot order it).
    pub(crate) async fn expect_nothing(&mut self, wait: Duration) {
        if let Some(e) = self.recv_within(wait).await {
            panic!("expected nothing, got {e:?}");
        }
    }

    /// Reads until an element satisfies `pred`; returns every element read, the match last.
    pub(crate) async fn recv_until(
        &mut self,
        mut pred: impl FnMut(&Element) -> bool,
    ) -> Vec<Element> {
        let mut got = Vec::new();
        loop {
            let e = self.recv().await;
            let done = pred(&e);
            got.push(e);
            if done {
                return got;
            }
        }
    }

    /// Sends a ping and returns everything the server sent before its answer, in order: what
    /// this session's own earlier stanzas produced (the server answers them in order).
    pub(crate) async fn until_pong(&mut self, id: &str) -> Vec<Element> {
        self.send(&format!(
            "<iq type='get' id='{id}' to='localhost'><ping xmlns='{}'/></iq>",
            ns::PING
        ))
        .await;
        let mut got = self
            .recv_until(|e| e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some(id))
            .await;
        let pong = got.pop().unwrap_or_else(|| unreachable!());
        assert_eq!(pong.attr("type"), Some("result"), "{pong:?}");
        got
    }

    /// Reads exactly `n` elements (each within [`READ_TIMEOUT`]).
    pub(crate) async fn recv_n(&mut self, n: usize) -> Vec<Element> {
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            got.push(self.recv().await);
        }
        got
    }
}

/// The parsed `<error/>` of an error reply.
/// A client SASL session for `user`, its `<auth/>` element and its initial response: what a
/// test sends itself (e.g. pipelined after another request) before [`Raw::sasl_finish`].
pub(crate) fn sasl_start(
    mechanism: Mechanism,
    user: &str,
    password: &str,
) -> (ClientSession, String, Vec<u8>) {
    let options = ClientOptions::new(user, password);
    let mut session = ClientSession::new(mechanism, &options, &mut SystemRng::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let initial = session.initial_response().unwrap_or_else(|e| panic!("{e}"));
    let auth = format!(
        "<auth xmlns='{}' mechanism='{}'>{}</auth>",
        ns::SASL,
        mechanism.as_str(),
        xmpp_sasl::encode_sasl_payload(&initial)
    );
    (session, auth, initial)
}

pub(crate) fn stanza_error(reply: &Element) -> StanzaError {
    let Some(error) = reply.get_child("error", ns::JABBER_CLIENT) else {
        panic!("no <error/> in {reply:?}")
    };
    StanzaError::from_element(error).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Asserts that `reply` is the error answer to the `<{name}/>` stanza with `id`, with
/// `condition`.
pub(crate) fn assert_error_reply(
    reply: &Element,
    name: &str,
    id: &str,
    condition: &StanzaCondition,
) {
    assert_eq!(
        (reply.name(), reply.attr("type"), reply.attr("id")),
        (name, Some("error"), Some(id)),
        "{reply:?}"
    );
    assert_eq!(&stanza_error(reply).condition, condition, "{reply:?}");
}
