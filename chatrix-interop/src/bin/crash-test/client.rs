//! A raw XMPP client connection over Direct TLS (XEP-0368): the TLS handshake trusting the
//! server's generated certificate, SCRAM-SHA-256 with `xmpp_sasl`'s client, resource binding,
//! and the server's output parsed with `xmpp_stream::Framer`. The same steps as the tests'
//! `support::raw`, but every failure is an error instead of a panic: a connection that dies
//! when the server is killed is expected here.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use xmpp_core::xml::Limits;
use xmpp_core::{Element, ns};
use xmpp_sasl::{ClientOptions, ClientSession, Mechanism, SystemRng, decode_sasl_payload};
use xmpp_stream::{FrameEvent, Framer};

/// Any failure of the test's client side, as text for the report.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long one read during login or a query may wait (the server answers in milliseconds).
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(15);

type Tls = TlsStream<TcpStream>;

/// The reading side: the framer and the bytes it has not consumed yet.
#[derive(Debug)]
pub(crate) struct Reader {
    io: ReadHalf<Tls>,
    framer: Framer,
    pending: Vec<u8>,
    eof: bool,
}

/// The writing side.
#[derive(Debug)]
pub(crate) struct Writer {
    io: WriteHalf<Tls>,
}

/// One client connection, logged in and bound.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) reader: Reader,
    pub(crate) writer: Writer,
}

/// What the server sent next.
#[derive(Debug)]
pub(crate) enum Got {
    /// A top-level element.
    Element(Element),
    /// `</stream:stream>`, EOF or a read error: the connection is over.
    Closed,
}

fn tls_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca)?)?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"xmpp-client".to_vec()];
    Ok(Arc::new(config))
}

fn header() -> &'static str {
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
     xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' xml:lang='en'>"
}

impl Reader {
    async fn read_more(&mut self) -> bool {
        // Read straight into `pending`: a buffer on the stack would make every future that
        // awaits a read large.
        self.pending.reserve(16 * 1024);
        match self.io.read_buf(&mut self.pending).await {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(_) => true,
        }
    }

    /// The next element, or [`Got::Closed`]; no timeout (the caller adds one where it waits
    /// for an answer). Bad XML from the server is an error.
    pub(crate) async fn next(&mut self) -> Result<Got, Error> {
        loop {
            let mut slice = self.pending.as_slice();
            let event = self
                .framer
                .poll_event(&mut slice)
                .map_err(|e| format!("the server sent bad XML: {e}"))?;
            let consumed = self.pending.len() - slice.len();
            self.pending.drain(..consumed);
            match event {
                Some(FrameEvent::Element(e)) => return Ok(Got::Element(e)),
                Some(FrameEvent::StreamClose) => return Ok(Got::Closed),
                Some(_) => {}
                None => {
                    if self.eof || !self.read_more().await {
                        return Ok(Got::Closed);
                    }
                }
            }
        }
    }

    /// The next element within [`READ_TIMEOUT`]; the end of the stream is an error.
    pub(crate) async fn recv(&mut self) -> Result<Element, Error> {
        match tokio::time::timeout(READ_TIMEOUT, self.next()).await {
            Err(_) => Err(format!("the server said nothing for {READ_TIMEOUT:?}").into()),
            Ok(Ok(Got::Element(e))) => Ok(e),
            Ok(Ok(Got::Closed)) => Err("the server closed the stream".into()),
            Ok(Err(e)) => Err(e),
        }
    }

    /// The server's stream header (and the features after it).
    async fn open(&mut self) -> Result<Element, Error> {
        self.framer.restart();
        loop {
            let mut slice = self.pending.as_slice();
            let event = self
                .framer
                .poll_event(&mut slice)
                .map_err(|e| format!("the server sent bad XML: {e}"))?;
            let consumed = self.pending.len() - slice.len();
            self.pending.drain(..consumed);
            match event {
                Some(FrameEvent::StreamOpen(_)) => break,
                Some(FrameEvent::Whitespace) => {}
                Some(other) => {
                    return Err(format!("expected a stream header, got {other:?}").into());
                }
                None => {
                    let more = tokio::time::timeout(READ_TIMEOUT, self.read_more())
                        .await
                        .map_err(|_| "no stream header")?;
                    if !more {
                        return Err("the server closed the connection before its header".into());
                    }
                }
            }
        }
        let features = self.recv().await?;
        if !features.is("features", ns::STREAM) {
            return Err(format!("expected stream features, got {features:?}").into());
        }
        Ok(features)
    }
}

impl Writer {
    /// Writes and flushes.
    pub(crate) async fn send(&mut self, data: &str) -> Result<(), Error> {
        self.io.write_all(data.as_bytes()).await?;
        self.io.flush().await?;
        Ok(())
    }
}

impl Conn {
    /// Direct TLS to `addr`, SCRAM-SHA-256 as `user`, bind `resource`.
    pub(crate) async fn login(
        addr: SocketAddr,
        ca: &Path,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Result<Self, Error> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost")?;
        let tls = tokio::time::timeout(
            READ_TIMEOUT,
            tokio_rustls::TlsConnector::from(tls_config(ca)?).connect(name, tcp),
        )
        .await
        .map_err(|_| "TLS handshake timed out")??;
        let (read, write) = tokio::io::split(tls);
        let mut conn = Self {
            reader: Reader {
                io: read,
                framer: Framer::new(Limits::default()),
                pending: Vec::new(),
                eof: false,
            },
            writer: Writer { io: write },
        };
        conn.writer.send(header()).await?;
        conn.reader.open().await?;
        conn.authenticate(user, password).await?;
        conn.writer.send(header()).await?;
        let features = conn.reader.open().await?;
        if !features.has_child("bind", ns::BIND) {
            return Err(format!("no <bind/> offered: {features:?}").into());
        }
        conn.writer
            .send(&format!(
                "<iq type='set' id='bind'><bind xmlns='{}'><resource>{resource}</resource></bind></iq>",
                ns::BIND
            ))
            .await?;
        let bound = conn.reader.recv().await?;
        if bound.attr("type") != Some("result") {
            return Err(format!("bind failed: {bound:?}").into());
        }
        Ok(conn)
    }

    async fn authenticate(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let mechanism = Mechanism::ScramSha256;
        let mut session = ClientSession::new(
            mechanism,
            &ClientOptions::new(user, password),
            &mut SystemRng::new(),
        )?;
        let initial = session.initial_response()?;
        self.writer
            .send(&format!(
                "<auth xmlns='{}' mechanism='{}'>{}</auth>",
                ns::SASL,
                mechanism.as_str(),
                xmpp_sasl::encode_sasl_payload(&initial)
            ))
            .await?;
        loop {
            let reply = self.reader.recv().await?;
            if reply.ns() != ns::SASL {
                return Err(format!("unexpected during SASL: {reply:?}").into());
            }
            let data = decode_sasl_payload(&reply.text())?;
            match reply.name() {
                "challenge" => {
                    let response = session.handle_challenge(&data.unwrap_or_default())?;
                    self.writer
                        .send(&format!(
                            "<response xmlns='{}'>{}</response>",
                            ns::SASL,
                            xmpp_sasl::encode_base64(&response)
                        ))
                        .await?;
                }
                "success" => {
                    session.handle_success(data.as_deref())?;
                    return Ok(());
                }
                _ => return Err(format!("authentication failed for {user}: {reply:?}").into()),
            }
        }
    }

    /// `<enable resume='true'/>` and its `<enabled/>`.
    pub(crate) async fn enable_sm(&mut self) -> Result<(), Error> {
        self.writer
            .send(&format!("<enable xmlns='{}' resume='true'/>", ns::SM))
            .await?;
        let enabled = self.reader.recv().await?;
        if !enabled.is("enabled", ns::SM) {
            return Err(format!("stream management refused: {enabled:?}").into());
        }
        Ok(())
    }

    /// Ends the stream politely and waits (briefly) for the server's close.
    pub(crate) async fn close(mut self) {
        if self.writer.send("</stream:stream>").await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Ok(Got::Element(_)) = self.reader.next().await {}
            })
            .await;
        }
    }
}
