//! The client against a scripted in-memory server (`tokio::io::duplex`): plaintext, STARTTLS
//! and Direct TLS, SCRAM with and without channel binding, a ping during login, a clean close,
//! and the failures a load test must tell apart.
//!
//! The script runs the real server side of SASL (`xmpp_sasl::ServerOffer`), so a successful
//! login proves the client's proofs, its channel-binding data (`tls-exporter`) and its XEP-0474
//! check are right.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use xmpp_core::{Element, ns};
use xmpp_sasl::{
    ChannelBindingType, ChannelBindings, ConnectionInfo, FixedRng, Mechanism, ServerConfig,
    ServerOffer, ServerStep, StoredCredentials, decode_sasl_payload, encode_base64,
    encode_sasl_payload,
};
use xmpp_stream::{FrameEvent, Framer, Limits};

use crate::client::{LoginConfig, MechanismChoice, TlsMode, login};
use crate::error::Error;
use crate::tls::{TlsOptions, Trust, client_config, server_name};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>";

/// The server's end of the script: a framer over any byte stream.
struct Peer<S> {
    io: S,
    framer: Framer,
    pending: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Peer<S> {
    fn new(io: S) -> Self {
        Self {
            io,
            framer: Framer::new(Limits::default()),
            pending: Vec::new(),
        }
    }

    async fn event(&mut self) -> FrameEvent {
        loop {
            if !self.pending.is_empty() {
                let mut unread = &self.pending[..];
                let event = self.framer.poll_event(&mut unread).expect("client XML");
                let used = self.pending.len() - unread.len();
                self.pending.drain(..used);
                if let Some(event) = event {
                    return event;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).await.expect("read");
            assert!(n > 0, "client went away");
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    async fn element(&mut self) -> Element {
        loop {
            match self.event().await {
                FrameEvent::Element(e) => return e,
                FrameEvent::Whitespace => {}
                other => panic!("expected an element, got {other:?}"),
            }
        }
    }

    /// Reads the client's (new) stream header.
    async fn stream_open(&mut self) {
        self.framer.restart();
        let event = self.event().await;
        let FrameEvent::StreamOpen(header) = event else {
            panic!("expected a stream header, got {event:?}");
        };
        assert_eq!(header.to.as_deref(), Some("localhost"));
        assert_eq!(header.version.as_deref(), Some("1.0"));
    }

    async fn send(&mut self, xml: &str) {
        self.io.write_all(xml.as_bytes()).await.expect("write");
        self.io.flush().await.expect("flush");
    }
}

/// How the scripted server misbehaves, if at all.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Honest,
    /// Pipelines `<stream:features/>` right behind `<proceed/>`.
    InjectAfterProceed,
}

const PASSWORD: &str = "pencil";

fn sasl_config() -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::new(b"a long, stable, secret server key")
            .expect("config")
            .with_mechanisms(&[
                Mechanism::ScramSha1,
                Mechanism::ScramSha1Plus,
                Mechanism::ScramSha256,
                Mechanism::ScramSha256Plus,
            ]),
    )
}

/// Plays the server; returns the mechanism the client used and the channel binding it bound to.
async fn serve(
    io: DuplexStream,
    tls: Option<(TlsAcceptor, TlsMode)>,
    script: Script,
) -> Option<(Mechanism, Option<ChannelBindingType>)> {
    match tls {
        None => negotiate(Peer::new(io), ChannelBindings::none(), false).await,
        Some((acceptor, TlsMode::Direct)) => {
            let stream = acceptor.accept(io).await.expect("TLS accept");
            let bindings = exporter(stream.get_ref().1);
            negotiate(Peer::new(stream), bindings, true).await
        }
        Some((acceptor, _)) => {
            let mut p = Peer::new(io);
            p.stream_open().await;
            p.send(&format!(
                "{HEADER}<stream:features><starttls xmlns='{}'><required/></starttls>\
                 </stream:features>",
                ns::TLS
            ))
            .await;
            let starttls = p.element().await;
            assert!(starttls.is("starttls", ns::TLS));
            if script == Script::InjectAfterProceed {
                p.send(&format!("<proceed xmlns='{}'/><stream:features/>", ns::TLS))
                    .await;
                return None;
            }
            p.send(&format!("<proceed xmlns='{}'/>", ns::TLS)).await;
            assert!(p.pending.is_empty());
            let stream = acceptor.accept(p.io).await.expect("TLS accept");
            let bindings = exporter(stream.get_ref().1);
            negotiate(Peer::new(stream), bindings, true).await
        }
    }
}

fn exporter(conn: &rustls::ServerConnection) -> ChannelBindings {
    ChannelBindings {
        tls_exporter: conn
            .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
            .ok()
            .map(|k| k.to_vec()),
        tls_server_end_point: None,
    }
}

async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    mut p: Peer<S>,
    bindings: ChannelBindings,
    encrypted: bool,
) -> Option<(Mechanism, Option<ChannelBindingType>)> {
    let connection = if encrypted {
        ConnectionInfo::tls(bindings)
    } else {
        ConnectionInfo::plaintext()
    };
    let offer = ServerOffer::new(sasl_config(), connection.with_domain("localhost"));
    let mut features = format!("{HEADER}<stream:features><mechanisms xmlns='{}'>", ns::SASL);
    for m in offer.mechanisms() {
        let _ = write!(features, "<mechanism>{}</mechanism>", m.as_str());
    }
    features.push_str("</mechanisms>");
    if !offer.channel_binding_types().is_empty() {
        features.push_str("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>");
        for t in offer.channel_binding_types() {
            let _ = write!(features, "<channel-binding type='{t}'/>");
        }
        features.push_str("</sasl-channel-binding>");
    }
    features.push_str("</stream:features>");

    p.stream_open().await;
    p.send(&features).await;
    let mut rng = FixedRng::new(3);
    let auth = p.element().await;
    assert!(auth.is("auth", ns::SASL));
    let mut server = offer
        .start(auth.attr("mechanism").expect("mechanism"), &mut rng)
        .expect("offered");
    let first = decode_sasl_payload(&auth.text())
        .expect("base64")
        .unwrap_or_default();
    let step = server.handle_client_message(&first).expect("client-first");
    let ServerStep::NeedCredentials { hash, .. } = step else {
        panic!("expected a credentials request");
    };
    let record = StoredCredentials::generate(hash, PASSWORD, 4096, &mut rng).expect("record");
    let ServerStep::Challenge(challenge) = server.provide_credentials(record).expect("creds")
    else {
        panic!("expected a challenge");
    };
    p.send(&format!(
        "<challenge xmlns='{}'>{}</challenge>",
        ns::SASL,
        encode_base64(&challenge)
    ))
    .await;
    // Read before the exchange ends: a finished session no longer reports it.
    let bound = server.channel_binding();
    let response = p.element().await;
    let data = decode_sasl_payload(&response.text())
        .expect("base64")
        .unwrap_or_default();
    match server.handle_client_message(&data) {
        Ok(ServerStep::Success {
            additional_data, ..
        }) => {
            p.send(&format!(
                "<success xmlns='{}'>{}</success>",
                ns::SASL,
                encode_sasl_payload(&additional_data.unwrap_or_default())
            ))
            .await;
        }
        Ok(_) => panic!("unexpected step"),
        Err(failure) => {
            p.send(&format!(
                "<failure xmlns='{}'><{}/></failure>",
                ns::SASL,
                failure.condition().as_str()
            ))
            .await;
            return None;
        }
    }
    let used = (server.mechanism(), bound);

    p.stream_open().await;
    p.send(&format!(
        "{HEADER}<stream:features><bind xmlns='{}'/></stream:features>",
        ns::BIND
    ))
    .await;
    let iq = p.element().await;
    let resource = iq
        .get_child("bind", ns::BIND)
        .and_then(|b| b.child_text("resource", ns::BIND))
        .expect("resource");
    let jid = format!("user@localhost/{resource}");
    p.send(&format!(
        "<iq type='result' id='{}'><bind xmlns='{}'><jid>{jid}</jid></bind></iq> ",
        iq.attr("id").expect("id"),
        ns::BIND
    ))
    .await;
    let presence = p.element().await;
    assert!(presence.is("presence", ns::JABBER_CLIENT));
    // A ping before the reflected presence: the client must answer it while it waits.
    p.send("<iq type='get' id='ping1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let pong = p.element().await;
    assert_eq!(pong.attr("type"), Some("result"));
    assert_eq!(pong.attr("id"), Some("ping1"));
    p.send(&format!("<presence from='{jid}'/>")).await;
    // The client closes; we close too.
    assert_eq!(p.event().await, FrameEvent::StreamClose);
    p.send("</stream:stream>").await;
    Some(used)
}

/// A TLS acceptor with a fresh self-signed certificate for `localhost`, and the PEM file a
/// client can trust it with.
fn tls_server() -> (TlsAcceptor, tempfile::NamedTempFile) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(ck.cert.der().to_vec())], key)
    .expect("server config");
    let mut pem = tempfile::NamedTempFile::new().expect("temp file");
    pem.write_all(ck.cert.pem().as_bytes()).expect("write pem");
    (TlsAcceptor::from(Arc::new(config)), pem)
}

fn login_config(
    mode: TlsMode,
    mechanism: MechanismChoice,
    ca: Option<&std::path::Path>,
) -> LoginConfig {
    let tls = ca.map(|path| {
        let config = client_config(&TlsOptions {
            trust: Trust::CaFile(path),
            alpn: mode == TlsMode::Direct,
            resume: false,
            tls13_only: false,
        })
        .expect("client config");
        (config, server_name("localhost").expect("name"))
    });
    LoginConfig {
        domain: "localhost".to_owned(),
        tls_mode: mode,
        tls,
        mechanism,
        password: PASSWORD.to_owned(),
        timeout: Duration::from_secs(10),
    }
}

async fn run(
    mode: TlsMode,
    mechanism: MechanismChoice,
    password: &str,
    script: Script,
) -> (
    Result<Mechanism, Error>,
    Option<(Mechanism, Option<ChannelBindingType>)>,
) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (acceptor, pem) = tls_server();
    let tls = (mode != TlsMode::None).then_some((acceptor, mode));
    let server = tokio::spawn(serve(server_io, tls, script));
    let mut config = login_config(
        mode,
        mechanism,
        (mode != TlsMode::None).then_some(pem.path()),
    );
    password.clone_into(&mut config.password);
    let deadline = Instant::now() + config.timeout;
    let result = match login(client_io, &config, "user", "lg0", deadline).await {
        Ok(session) => {
            assert_eq!(session.jid(), "user@localhost/lg0");
            assert_eq!(session.is_tls(), mode != TlsMode::None);
            let m = session.mechanism();
            session
                .close(Duration::from_secs(5))
                .await
                .expect("clean close");
            Ok(m)
        }
        Err(e) => Err(e),
    };
    (result, server.await.expect("server script"))
}

#[tokio::test]
async fn plaintext_login_picks_the_strongest_scram() {
    let (client, server) = run(
        TlsMode::None,
        MechanismChoice::Auto,
        PASSWORD,
        Script::Honest,
    )
    .await;
    assert_eq!(client.expect("login"), Mechanism::ScramSha256);
    assert_eq!(server, Some((Mechanism::ScramSha256, None)));
}

#[tokio::test]
async fn a_fixed_mechanism_is_used() {
    let (client, _) = run(
        TlsMode::None,
        MechanismChoice::Fixed(Mechanism::ScramSha1),
        PASSWORD,
        Script::Honest,
    )
    .await;
    assert_eq!(client.expect("login"), Mechanism::ScramSha1);
}

#[tokio::test]
async fn starttls_login_binds_to_the_tls_exporter() {
    let (client, server) = run(
        TlsMode::Starttls,
        MechanismChoice::Auto,
        PASSWORD,
        Script::Honest,
    )
    .await;
    assert_eq!(client.expect("login"), Mechanism::ScramSha256Plus);
    assert_eq!(
        server,
        Some((
            Mechanism::ScramSha256Plus,
            Some(ChannelBindingType::TlsExporter)
        ))
    );
}

#[tokio::test]
async fn starttls_without_binding_when_asked_for_plain_scram() {
    let (client, server) = run(
        TlsMode::Starttls,
        MechanismChoice::Fixed(Mechanism::ScramSha1),
        PASSWORD,
        Script::Honest,
    )
    .await;
    assert_eq!(client.expect("login"), Mechanism::ScramSha1);
    assert_eq!(server, Some((Mechanism::ScramSha1, None)));
}

#[tokio::test]
async fn direct_tls_login() {
    let (client, _) = run(
        TlsMode::Direct,
        MechanismChoice::Fixed(Mechanism::ScramSha1Plus),
        PASSWORD,
        Script::Honest,
    )
    .await;
    assert_eq!(client.expect("login"), Mechanism::ScramSha1Plus);
}

#[tokio::test]
async fn a_wrong_password_is_a_sasl_failure() {
    let (client, server) = run(
        TlsMode::Starttls,
        MechanismChoice::Auto,
        "wrong",
        Script::Honest,
    )
    .await;
    let err = client.expect_err("must fail");
    assert_eq!(err.kind(), "sasl-failure:not-authorized", "{err}");
    assert_eq!(server, None);
}

#[tokio::test]
async fn bytes_pipelined_behind_proceed_are_refused() {
    let (client, _) = run(
        TlsMode::Starttls,
        MechanismChoice::Auto,
        PASSWORD,
        Script::InjectAfterProceed,
    )
    .await;
    let err = client.expect_err("must fail");
    assert_eq!(err.kind(), "protocol:data after <proceed/>", "{err}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (acceptor, _pem) = tls_server();
    let (_, other_pem) = tls_server();
    let server = tokio::spawn(async move { acceptor.accept(server_io).await.is_ok() });
    let config = login_config(
        TlsMode::Direct,
        MechanismChoice::Auto,
        Some(other_pem.path()),
    );
    let deadline = Instant::now() + config.timeout;
    let err = login(client_io, &config, "user", "lg0", deadline)
        .await
        .expect_err("must fail");
    assert_eq!(err.kind(), "tls", "{err}");
    assert!(!server.await.expect("server task"));
}
