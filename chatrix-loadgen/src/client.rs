//! One XMPP client: TCP, then STARTTLS or Direct TLS (or neither), SASL, resource binding and
//! initial presence; then a [`Session`] that sends stanzas, answers the server's IQs and closes
//! cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use xmpp_core::{Element, ns};
use xmpp_sasl::{
    ChannelBindingType, ClientChannelBinding, ClientOptions, ClientSession, Mechanism, SystemRng,
    decode_sasl_payload, encode_base64, encode_sasl_payload, select_mechanism,
};
use xmpp_stream::FrameEvent;

use crate::conn::{Transport, XmppConn, tls_handshake};
use crate::error::{Error, Phase};
use crate::proto;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TlsMode {
    /// Plain TCP, then `<starttls/>` (RFC 6120 §5), port 5222.
    Starttls,
    /// TLS from the first byte (XEP-0368), port 5223.
    Direct,
    /// No TLS at all (servers that allow it on loopback).
    None,
}

/// Which SASL mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MechanismChoice {
    /// The strongest the server offers (XEP-0440/0474 rules; never PLAIN).
    Auto,
    /// This one; the login fails if the server does not offer it.
    Fixed(Mechanism),
}

/// Everything a login needs besides the account; shared by every connection of a run.
#[derive(Debug, Clone)]
pub(crate) struct LoginConfig {
    pub(crate) domain: String,
    pub(crate) tls_mode: TlsMode,
    /// Present unless `tls_mode` is `None`.
    pub(crate) tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    pub(crate) mechanism: MechanismChoice,
    pub(crate) password: String,
    /// Time allowed for the whole login, and for a clean close.
    pub(crate) timeout: Duration,
}

/// A logged-in client with a bound resource that has sent initial presence.
#[derive(Debug)]
pub(crate) struct Session<S> {
    conn: XmppConn<S>,
    jid: String,
    mechanism: Mechanism,
    times: PhaseTimes,
}

/// Where a login's time went: wall time per phase, from TCP connect to reflected presence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseTimes {
    laps: [Duration; PhaseTimes::PHASES.len()],
    last: Instant,
}

impl PhaseTimes {
    /// The phases of a login, in order.
    pub(crate) const PHASES: [Phase; 6] = [
        Phase::Connect,
        Phase::Tls,
        Phase::Stream,
        Phase::Sasl,
        Phase::Bind,
        Phase::Presence,
    ];

    fn start() -> Self {
        Self {
            laps: [Duration::ZERO; Self::PHASES.len()],
            last: Instant::now(),
        }
    }

    /// Adds the time since the last lap to `phase`.
    fn lap(&mut self, phase: Phase) {
        let now = Instant::now();
        if let Some(i) = Self::PHASES.iter().position(|p| *p == phase) {
            self.laps[i] += now - self.last;
        }
        self.last = now;
    }

    /// (phase, time spent in it), in login order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Phase, Duration)> + '_ {
        Self::PHASES.into_iter().zip(self.laps)
    }
}

/// Opens a TCP connection (no Nagle: stanzas are small and latency is measured).
pub(crate) async fn connect_tcp(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, Error> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Timeout(Phase::Connect))?
        .map_err(|e| Error::io(Phase::Connect, e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| Error::io(Phase::Connect, e))?;
    Ok(stream)
}

/// Connects over TCP and logs `user` in with `resource`.
pub(crate) async fn connect_and_login(
    addr: SocketAddr,
    config: &LoginConfig,
    user: &str,
    resource: &str,
) -> Result<Session<TcpStream>, Error> {
    let mut times = PhaseTimes::start();
    let deadline = Instant::now() + config.timeout;
    let tcp = connect_tcp(addr, config.timeout).await?;
    times.lap(Phase::Connect);
    login_timed(tcp, config, user, resource, deadline, times).await
}

async fn within<T>(
    deadline: Instant,
    phase: Phase,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    timeout_at(deadline, fut)
        .await
        .map_err(|_| Error::Timeout(phase))?
}

/// The full login over an established byte stream (tests drive it over in-memory streams).
#[cfg(test)]
pub(crate) async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: &LoginConfig,
    user: &str,
    resource: &str,
    deadline: Instant,
) -> Result<Session<S>, Error> {
    login_timed(io, config, user, resource, deadline, PhaseTimes::start()).await
}

async fn login_timed<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: &LoginConfig,
    user: &str,
    resource: &str,
    deadline: Instant,
    mut times: PhaseTimes,
) -> Result<Session<S>, Error> {
    let mut conn = match (config.tls_mode, &config.tls) {
        (TlsMode::Direct, Some((tls, name))) => XmppConn::new(
            within(
                deadline,
                Phase::Tls,
                tls_handshake(io, tls.clone(), name.clone()),
            )
            .await?,
        ),
        (TlsMode::Direct, None) => return Err(Error::Protocol("Direct TLS without a TLS config")),
        _ => XmppConn::new(Transport::Plain(io)),
    };
    times.lap(Phase::Tls);
    let domain = config.domain.as_str();

    conn.open_stream(domain, Phase::Stream).await?;
    let mut features = within(
        deadline,
        Phase::Stream,
        read_features(&mut conn, Phase::Stream),
    )
    .await?;
    if config.tls_mode == TlsMode::Starttls {
        let Some((tls, name)) = &config.tls else {
            return Err(Error::Protocol("STARTTLS without a TLS config"));
        };
        if !features.has_child("starttls", ns::TLS) {
            return Err(Error::Protocol("STARTTLS not offered"));
        }
        conn.send(&proto::starttls(), Phase::Stream).await?;
        let answer = within(
            deadline,
            Phase::Stream,
            next_element(&mut conn, Phase::Stream),
        )
        .await?;
        if !answer.is("proceed", ns::TLS) {
            return Err(Error::Protocol("STARTTLS refused"));
        }
        times.lap(Phase::Stream);
        conn = within(
            deadline,
            Phase::Tls,
            conn.starttls(tls.clone(), name.clone()),
        )
        .await?;
        times.lap(Phase::Tls);
        conn.open_stream(domain, Phase::Stream).await?;
        features = within(
            deadline,
            Phase::Stream,
            read_features(&mut conn, Phase::Stream),
        )
        .await?;
    }

    times.lap(Phase::Stream);
    let mechanism = within(
        deadline,
        Phase::Sasl,
        authenticate(&mut conn, &features, config, user),
    )
    .await?;

    times.lap(Phase::Sasl);
    conn.open_stream(domain, Phase::Bind).await?;
    let features = within(deadline, Phase::Bind, read_features(&mut conn, Phase::Bind)).await?;
    if !features.has_child("bind", ns::BIND) {
        return Err(Error::Protocol("resource binding not offered"));
    }
    let jid = within(deadline, Phase::Bind, bind(&mut conn, resource)).await?;
    if proto::session_required(&features) {
        within(
            deadline,
            Phase::Bind,
            iq_roundtrip(&mut conn, &proto::session("sess"), "sess"),
        )
        .await?;
    }

    times.lap(Phase::Bind);
    let mut session = Session {
        conn,
        jid,
        mechanism,
        times,
    };
    within(deadline, Phase::Presence, session.initial_presence()).await?;
    session.times.lap(Phase::Presence);
    Ok(session)
}

/// Reads the server's stream header and its `<stream:features/>`.
async fn read_features<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut XmppConn<S>,
    phase: Phase,
) -> Result<Element, Error> {
    let mut header_seen = false;
    loop {
        match conn.next_event(phase).await? {
            FrameEvent::StreamOpen(_) => header_seen = true,
            FrameEvent::Element(e) if header_seen && e.is("features", ns::STREAM) => return Ok(e),
            FrameEvent::Element(e) if e.is("error", ns::STREAM) => {
                return Err(Error::Stream(proto::condition(&e)));
            }
            FrameEvent::Element(_) => return Err(Error::Protocol("expected stream features")),
            FrameEvent::StreamClose => return Err(Error::Closed(phase)),
            _ => {}
        }
    }
}

/// The next top-level element, skipping keep-alives.
async fn next_element<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut XmppConn<S>,
    phase: Phase,
) -> Result<Element, Error> {
    loop {
        match conn.next_event(phase).await? {
            FrameEvent::Element(e) if e.is("error", ns::STREAM) => {
                return Err(Error::Stream(proto::condition(&e)));
            }
            FrameEvent::Element(e) => return Ok(e),
            FrameEvent::StreamClose => return Err(Error::Closed(phase)),
            FrameEvent::StreamOpen(_) => return Err(Error::Protocol("unexpected stream header")),
            _ => {}
        }
    }
}

/// Picks the mechanism and GS2 flag for this connection.
fn choose_mechanism(
    choice: MechanismChoice,
    advertised: &xmpp_sasl::Advertised,
    bindings: &xmpp_sasl::ChannelBindings,
) -> Result<(Mechanism, ClientChannelBinding), Error> {
    match choice {
        MechanismChoice::Auto => select_mechanism(advertised, bindings, false)
            .ok_or(Error::Protocol("no usable SASL mechanism offered")),
        MechanismChoice::Fixed(m) => {
            let offered = |name: &str| advertised.mechanisms.iter().any(|s| s == name);
            if !offered(m.as_str()) {
                return Err(Error::Protocol("the chosen SASL mechanism is not offered"));
            }
            let flag = if m.is_plus() {
                if bindings.tls_exporter.is_none() {
                    return Err(Error::Protocol("-PLUS needs TLS 1.3 (tls-exporter)"));
                }
                ClientChannelBinding::Bind(ChannelBindingType::TlsExporter)
            } else if !bindings.is_empty()
                && !advertised.mechanisms.iter().any(|s| s.ends_with("-PLUS"))
            {
                // RFC 5802 §6: we could bind but the server offers no -PLUS.
                ClientChannelBinding::NotOffered
            } else {
                ClientChannelBinding::Unsupported
            };
            Ok((m, flag))
        }
    }
}

async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut XmppConn<S>,
    features: &Element,
    config: &LoginConfig,
    user: &str,
) -> Result<Mechanism, Error> {
    let advertised =
        proto::advertised(features).ok_or(Error::Protocol("no SASL mechanisms offered"))?;
    let bindings = conn.channel_bindings();
    let (mechanism, flag) = choose_mechanism(config.mechanism, &advertised, &bindings)?;
    let options = ClientOptions::new(user, &config.password)
        .with_channel_binding(flag, bindings)
        .with_advertised(advertised);
    let mut rng = SystemRng::new();
    let mut sasl = ClientSession::new(mechanism, &options, &mut rng)?;
    let initial = sasl.initial_response()?;
    conn.send(
        &proto::auth(mechanism.as_str(), encode_sasl_payload(&initial)),
        Phase::Sasl,
    )
    .await?;
    loop {
        let element = next_element(conn, Phase::Sasl).await?;
        if element.ns() != ns::SASL {
            return Err(Error::Protocol("unexpected element during SASL"));
        }
        let payload = || {
            decode_sasl_payload(&element.text())
                .map_err(|_| Error::Protocol("invalid base64 from the server"))
        };
        match element.name() {
            "challenge" => {
                let data = payload()?.unwrap_or_default();
                let answer = sasl.handle_challenge(&data)?;
                conn.send(&proto::response(encode_base64(&answer)), Phase::Sasl)
                    .await?;
            }
            "success" => {
                sasl.handle_success(payload()?.as_deref())?;
                return Ok(mechanism);
            }
            "failure" => return Err(Error::SaslFailure(proto::condition(&element))),
            _ => return Err(Error::Protocol("unexpected element during SASL")),
        }
    }
}

async fn bind<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut XmppConn<S>,
    resource: &str,
) -> Result<String, Error> {
    let result = iq_roundtrip(conn, &proto::bind("bind", resource), "bind").await?;
    result
        .get_child("bind", ns::BIND)
        .and_then(|b| b.child_text("jid", ns::BIND))
        .map(|j| j.trim().to_owned())
        .filter(|j| !j.is_empty())
        .ok_or(Error::Protocol("bind result without a JID"))
}

/// Sends an IQ and waits for its result, answering the server's own IQs meanwhile.
async fn iq_roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut XmppConn<S>,
    iq: &Element,
    id: &str,
) -> Result<Element, Error> {
    conn.send(iq, Phase::Bind).await?;
    loop {
        let element = next_element(conn, Phase::Bind).await?;
        if element.is("iq", ns::JABBER_CLIENT) && element.attr("id") == Some(id) {
            return match element.attr("type") {
                Some("result") => Ok(element),
                _ => Err(Error::Bind(proto::iq_error_condition(&element))),
            };
        }
        if let Some(answer) = proto::iq_answer(&element) {
            conn.send(&answer, Phase::Bind).await?;
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// Our full JID, as bound.
    pub(crate) fn jid(&self) -> &str {
        &self.jid
    }

    /// Where the login's time went.
    pub(crate) fn phase_times(&self) -> &PhaseTimes {
        &self.times
    }

    /// The SASL mechanism the login used.
    pub(crate) fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Sends initial presence and waits for the server to reflect it back to us (RFC 6121
    /// §4.2.2): then the server has done all the work of bringing the session online.
    async fn initial_presence(&mut self) -> Result<(), Error> {
        self.conn.send(&proto::presence(), Phase::Presence).await?;
        loop {
            let element = next_element(&mut self.conn, Phase::Presence).await?;
            if element.is("presence", ns::JABBER_CLIENT)
                && element.attr("from") == Some(self.jid.as_str())
            {
                return Ok(());
            }
            if let Some(answer) = proto::iq_answer(&element) {
                self.conn.send(&answer, Phase::Presence).await?;
            }
        }
    }

    /// The next stanza from the server. Cancel-safe (use it in `select!`); the caller passes
    /// every stanza to [`Session::answer_iq`] outside the `select!`.
    pub(crate) async fn recv(&mut self) -> Result<Element, Error> {
        next_element(&mut self.conn, Phase::Session).await
    }

    /// Answers `stanza` if it is an IQ get or set (pings get a result); returns whether it was.
    pub(crate) async fn answer_iq(&mut self, stanza: &Element) -> Result<bool, Error> {
        match proto::iq_answer(stanza) {
            Some(answer) => {
                self.conn.send(&answer, Phase::Session).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Sends a stanza.
    pub(crate) async fn send(&mut self, stanza: &Element) -> Result<(), Error> {
        self.conn.send(stanza, Phase::Session).await
    }

    /// Sends a whitespace keep-alive.
    pub(crate) async fn keepalive(&mut self) -> Result<(), Error> {
        self.conn.send_raw(b" ", Phase::Session).await
    }

    /// Frees parser scratch space while idle.
    pub(crate) fn release_temporaries(&mut self) {
        self.conn.release_temporaries();
    }

    /// Closes cleanly: `</stream:stream>`, wait for the server's (or EOF), then TLS
    /// `close_notify` and FIN.
    pub(crate) async fn close(mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let r = within(deadline, Phase::Close, async {
            self.conn.send_close().await?;
            loop {
                match self.conn.next_event(Phase::Close).await {
                    Ok(FrameEvent::StreamClose) | Err(Error::Closed(_)) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        // Best effort: the server may already have closed its side.
        let _ = within(deadline, Phase::Close, self.conn.shutdown()).await;
        r
    }

    /// Whether the stream is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }
}
