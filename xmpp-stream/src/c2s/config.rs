//! Listener-wide settings for client streams, shared by every connection through an [`Arc`].

use std::sync::Arc;
use std::time::Duration;

use xmpp_core::Element;
use xmpp_core::jid::{BareJid, JidError};
use xmpp_core::xml::Limits;

/// Whether a stream must be encrypted before anything but STARTTLS happens on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// TLS first (RFC 6120 §5.3.1, "mandatory-to-negotiate"): on a plaintext stream the only
    /// feature is `<starttls><required/></starttls>`; `<auth/>` gets `<encryption-required/>`
    /// and anything else closes the stream with `policy-violation`.
    #[default]
    Required,
    /// TLS is welcome but not enforced: for a listener behind a TLS-terminating proxy, or
    /// loopback benchmarks. STARTTLS is offered when the listener has it, and SASL may run in
    /// plaintext; `xmpp-sasl` still refuses PLAIN there (`<encryption-required/>`).
    Optional,
}

/// When the server checks on a quiet, bound client (XEP-0199 pings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Silence from the client after which the server sends a ping.
    pub idle: Duration,
    /// How long the server then waits for any input before it gives up with
    /// `connection-timeout`.
    pub reply_timeout: Duration,
}

impl Default for KeepaliveConfig {
    /// Ping after five minutes of silence, give up a minute later. Mobile clients on
    /// push-friendly networks stay idle for long stretches; this is short enough to notice a
    /// dead TCP connection within a few minutes and long enough not to drain batteries.
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(300),
            reply_timeout: Duration::from_secs(60),
        }
    }
}

/// XEP-0198 stream management as a listener offers it.
///
/// ```
/// # use std::time::Duration;
/// use xmpp_stream::c2s::SmConfig;
///
/// let sm = SmConfig { max_resume: Duration::from_secs(600), ..SmConfig::default() };
/// assert_eq!((sm.max_unacked, sm.resume), (1000, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmConfig {
    /// Stanzas sent to the client and not yet acknowledged that one connection may hold
    /// (their bytes are kept for re-sending). One more closes the stream with
    /// `policy-violation`: a client that never acknowledges would otherwise grow the queue
    /// without bound. Taken as at least 1 and at most 2^31 (the counters are 32-bit and
    /// wrap).
    pub max_unacked: usize,
    /// Whether streams may be resumed (XEP-0198 §5). When `false`, `<enable resume='true'/>`
    /// gets an `<enabled/>` without an id, and `<resume/>` gets `<failed/>` with
    /// `feature-not-implemented`.
    pub resume: bool,
    /// The longest a session may wait to be resumed, whatever the client asks for with
    /// `max`; the `<enabled/>` carries the shorter of the two. Zero turns resumption off.
    pub max_resume: Duration,
}

impl Default for SmConfig {
    /// A thousand unacknowledged stanzas (a busy group chat after a few minutes offline),
    /// resumption on, five minutes to resume: what ejabberd and Prosody default to, long
    /// enough for a phone to change networks.
    fn default() -> Self {
        Self {
            max_unacked: 1000,
            resume: true,
            max_resume: Duration::from_secs(300),
        }
    }
}

/// A hosted domain that is not a valid JID domainpart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The domain does not parse as a domainpart (or has a localpart or resourcepart).
    #[error("hosted domain {domain:?} is not a valid domain: {source}")]
    InvalidDomain {
        /// The domain as configured.
        domain: String,
        /// Why it was refused.
        source: JidError,
    },
    /// `user@domain` or `domain/resource` was given where a bare domain belongs.
    #[error("hosted domain {0:?} must be a bare domain")]
    NotADomain(String),
    /// No hosted domain at all: every stream would end in `host-unknown`.
    #[error("no hosted domain configured")]
    NoDomains,
}

/// Settings shared by every client connection of a listener.
///
/// Built once, wrapped in an [`Arc`], and handed to each
/// [`Connection::new`](super::Connection::new).
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// use xmpp_stream::c2s::{ConnectionConfig, TlsPolicy};
///
/// let sasl = Arc::new(xmpp_sasl::ServerConfig::new(b"sixteen or more secret bytes")?);
/// let config = ConnectionConfig::new(["Example.ORG", "chat.example.org"], sasl)?
///     .with_tls(TlsPolicy::Required)
///     .with_starttls(true)
///     .with_negotiation_timeout(Duration::from_secs(30));
/// assert_eq!(config.domains(), ["example.org", "chat.example.org"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    domains: Vec<String>,
    tls: TlsPolicy,
    starttls: bool,
    sasl: Arc<xmpp_sasl::ServerConfig>,
    limits: Limits,
    max_auth_attempts: u32,
    max_register_iqs: u32,
    negotiation_timeout: Duration,
    keepalive: Option<KeepaliveConfig>,
    extra_features: Vec<Element>,
    stream_management: Option<SmConfig>,
    csi: bool,
    lang: String,
}

/// RFC 6120 §6.4.5: allow "a configurable but reasonable number of retries (at least 2 and no
/// more than 5)"; three attempts are the first try and two retries.
pub const DEFAULT_MAX_AUTH_ATTEMPTS: u32 = 3;

/// XEP-0077 requests an unauthenticated client may make on one connection: a form request
/// and a submission, with room for a few corrections (a name already taken, a field missing).
pub const DEFAULT_MAX_REGISTER_IQS: u32 = 10;

/// How long a client may take from connecting to having a bound resource.
pub const DEFAULT_NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(60);

impl ConnectionConfig {
    /// A configuration serving `domains` (normalised like JID domainparts, duplicates
    /// dropped), with TLS required, STARTTLS available, default [`Limits`], three SASL
    /// attempts, ten registration requests, a 60 s negotiation timeout, default keep-alives,
    /// stream management (XEP-0198) with the default [`SmConfig`], client state indication
    /// (XEP-0352), no extra features and `xml:lang='en'`.
    pub fn new<I, S>(domains: I, sasl: Arc<xmpp_sasl::ServerConfig>) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut normalised: Vec<String> = Vec::new();
        for domain in domains {
            let domain = domain.as_ref();
            let jid = BareJid::new(domain).map_err(|source| ConfigError::InvalidDomain {
                domain: domain.to_owned(),
                source,
            })?;
            if jid.localpart().is_some() {
                return Err(ConfigError::NotADomain(domain.to_owned()));
            }
            if !normalised.iter().any(|d| d == jid.domain()) {
                normalised.push(jid.domain().to_owned());
            }
        }
        if normalised.is_empty() {
            return Err(ConfigError::NoDomains);
        }
        Ok(Self {
            domains: normalised,
            tls: TlsPolicy::Required,
            starttls: true,
            sasl,
            limits: Limits::default(),
            max_auth_attempts: DEFAULT_MAX_AUTH_ATTEMPTS,
            max_register_iqs: DEFAULT_MAX_REGISTER_IQS,
            negotiation_timeout: DEFAULT_NEGOTIATION_TIMEOUT,
            keepalive: Some(KeepaliveConfig::default()),
            extra_features: Vec::new(),
            stream_management: Some(SmConfig::default()),
            csi: true,
            lang: "en".to_owned(),
        })
    }

    /// The TLS policy.
    #[must_use]
    pub fn with_tls(mut self, tls: TlsPolicy) -> Self {
        self.tls = tls;
        self
    }

    /// Whether this listener can upgrade a plaintext stream with STARTTLS (it has a
    /// certificate and a TLS acceptor). A Direct TLS listener sets this to `false`: its
    /// connections are encrypted from the start.
    #[must_use]
    pub fn with_starttls(mut self, available: bool) -> Self {
        self.starttls = available;
        self
    }

    /// Parser limits for every stream (a fresh parser per stream restart).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Failed SASL attempts (`<failure/>` answers, whatever the condition) before the stream
    /// is closed with `policy-violation`. At least 1.
    #[must_use]
    pub fn with_max_auth_attempts(mut self, attempts: u32) -> Self {
        self.max_auth_attempts = attempts.max(1);
        self
    }

    /// XEP-0077 registration requests (`<iq/>` with `<query xmlns='jabber:iq:register'/>`)
    /// an unauthenticated client may send on one connection, answered or not; one more closes
    /// the stream with `policy-violation`. At least 1: whether registration is open is the
    /// driver's answer (`not-allowed`), not this limit's.
    #[must_use]
    pub fn with_max_register_iqs(mut self, requests: u32) -> Self {
        self.max_register_iqs = requests.max(1);
        self
    }

    /// Time from the connection's start to a bound resource; after it, `connection-timeout`.
    #[must_use]
    pub fn with_negotiation_timeout(mut self, timeout: Duration) -> Self {
        self.negotiation_timeout = timeout;
        self
    }

    /// Keep-alive pings after binding; `None` turns them off (the driver may have TCP
    /// keep-alives, or a test wants silence).
    #[must_use]
    pub fn with_keepalive(mut self, keepalive: Option<KeepaliveConfig>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Stream features advertised after authentication besides `<bind/>` and `<session/>`
    /// (XEP-0115 `<c/>`, roster versioning, ...). They are advertised, nothing more: the
    /// modules that implement them handle the stanzas.
    #[must_use]
    pub fn with_extra_features(mut self, features: Vec<Element>) -> Self {
        self.extra_features = features;
        self
    }

    /// XEP-0198 stream management: advertised after authentication (`<sm xmlns='urn:xmpp:sm:3'/>`)
    /// and enabled by the client after binding. `None` does not offer it, and its elements
    /// are then unknown elements (`unsupported-stanza-type`).
    #[must_use]
    pub fn with_stream_management(mut self, sm: Option<SmConfig>) -> Self {
        self.stream_management = sm.map(|mut sm| {
            sm.max_unacked = sm.max_unacked.clamp(1, 1 << 31);
            sm
        });
        self
    }

    /// XEP-0352 client state indication: advertised after authentication
    /// (`<csi xmlns='urn:xmpp:csi:0'/>`), and `<active/>`/`<inactive/>` become
    /// [`Event::ClientState`](super::Event::ClientState). When off, they are unknown
    /// elements (`unsupported-stanza-type`).
    #[must_use]
    pub fn with_csi(mut self, csi: bool) -> Self {
        self.csi = csi;
        self
    }

    /// The `xml:lang` of the server's stream headers and error texts.
    #[must_use]
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = lang.into();
        self
    }

    /// The hosted domains, normalised, in configuration order.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Whether `domain` (already normalised) is hosted here.
    pub fn hosts(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d == domain)
    }

    /// The TLS policy.
    pub fn tls(&self) -> TlsPolicy {
        self.tls
    }

    /// Whether STARTTLS is available on this listener.
    pub fn starttls(&self) -> bool {
        self.starttls
    }

    /// The SASL configuration.
    pub fn sasl(&self) -> &Arc<xmpp_sasl::ServerConfig> {
        &self.sasl
    }

    /// The parser limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Failed SASL attempts allowed per stream.
    pub fn max_auth_attempts(&self) -> u32 {
        self.max_auth_attempts
    }

    /// Registration requests allowed per connection before authentication.
    pub fn max_register_iqs(&self) -> u32 {
        self.max_register_iqs
    }

    /// The negotiation timeout.
    pub fn negotiation_timeout(&self) -> Duration {
        self.negotiation_timeout
    }

    /// The keep-alive settings, if pings are on.
    pub fn keepalive(&self) -> Option<&KeepaliveConfig> {
        self.keepalive.as_ref()
    }

    /// The extra post-authentication features.
    pub fn extra_features(&self) -> &[Element] {
        &self.extra_features
    }

    /// The stream-management settings, if it is offered.
    pub fn stream_management(&self) -> Option<&SmConfig> {
        self.stream_management.as_ref()
    }

    /// Whether client state indication is offered.
    pub fn csi(&self) -> bool {
        self.csi
    }

    /// The `xml:lang` of the server's side.
    pub fn lang(&self) -> &str {
        &self.lang
    }
}
