//! Server configuration (long-lived), connection facts (per stream) and the resulting offer.

use std::fmt;
use std::sync::Arc;

use crate::channel_binding::{ChannelBindingType, ChannelBindings};
use crate::credentials::{DEFAULT_ITERATIONS, DEFAULT_SALT_LEN, MIN_ITERATIONS};
use crate::error::{ConfigError, Failure, FailureCondition, FailureReason};
use crate::mechanism::Mechanism;
use crate::rng::Rng;
use crate::scram::ScramHash;
use crate::secret::SecretBytes;
use crate::server::ServerSession;
use crate::ssdp::Advertised;

/// Default upper bound for iteration counts (stored on the server, or asked for by a server).
pub const DEFAULT_MAX_ITERATIONS: u32 = 100_000;

/// Default limit on the size of one client message, in bytes.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 4096;

/// Which authorisation identities (authzid) a session accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthzidPolicy {
    /// Accept an absent or empty authzid, or one that equals the authenticated identity exactly:
    /// the SASLprep'd username, or `username@domain` for the connection's
    /// [`ConnectionInfo::with_domain`]. Everything else is `invalid-authzid`. No case folding:
    /// `ALICE@example.org` is not `alice`.
    #[default]
    SelfOnly,
    /// Accept any authzid and report it in the success step; the caller decides (proxy
    /// authorisation) and fails the stream itself if it disagrees.
    CallerDecides,
}

/// Server-wide SASL settings, shared by all connections (wrap it in an [`Arc`]).
#[derive(Clone)]
pub struct ServerConfig {
    mechanisms: Vec<Mechanism>,
    channel_binding_types: Vec<ChannelBindingType>,
    secret: SecretBytes,
    unknown_user_iterations: u32,
    unknown_user_salt_len: usize,
    min_iterations: u32,
    max_iterations: u32,
    authzid_policy: AuthzidPolicy,
    ssdp: bool,
    max_message_len: usize,
    plain_hash: ScramHash,
}

impl ServerConfig {
    /// A configuration with every mechanism enabled (see [`Mechanism::ALL`] for the order), both
    /// channel-binding types, SSDP on, and the default bounds.
    ///
    /// `server_secret` (at least 16 bytes, from the server's persistent state) keys the fake salts
    /// shown for unknown users, so repeated probes see a stable salt: keep it stable across
    /// restarts.
    pub fn new(server_secret: &[u8]) -> Result<Self, ConfigError> {
        if server_secret.len() < 16 {
            return Err(ConfigError::SecretTooShort);
        }
        Ok(Self {
            mechanisms: Mechanism::ALL.to_vec(),
            channel_binding_types: ChannelBindingType::ALL.to_vec(),
            secret: SecretBytes::new(server_secret.to_vec()),
            unknown_user_iterations: DEFAULT_ITERATIONS,
            unknown_user_salt_len: DEFAULT_SALT_LEN,
            min_iterations: MIN_ITERATIONS,
            max_iterations: DEFAULT_MAX_ITERATIONS,
            authzid_policy: AuthzidPolicy::SelfOnly,
            ssdp: true,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            plain_hash: ScramHash::Sha256,
        })
    }

    /// Enable these mechanisms, in this advertisement order (duplicates are dropped).
    #[must_use]
    pub fn with_mechanisms(mut self, mechanisms: &[Mechanism]) -> Self {
        self.mechanisms.clear();
        for m in mechanisms {
            if !self.mechanisms.contains(m) {
                self.mechanisms.push(*m);
            }
        }
        self
    }

    /// Enable these channel-binding types (when the TLS layer provides their data).
    #[must_use]
    pub fn with_channel_binding_types(mut self, types: &[ChannelBindingType]) -> Self {
        self.channel_binding_types.clear();
        for t in types {
            if !self.channel_binding_types.contains(t) {
                self.channel_binding_types.push(*t);
            }
        }
        self
    }

    /// The iteration count and salt length shown to unknown users. Set them to what real
    /// accounts use, or the fake is recognisable.
    #[must_use]
    pub fn with_unknown_user_params(mut self, iterations: u32, salt_len: usize) -> Self {
        self.unknown_user_iterations = iterations.max(1);
        self.unknown_user_salt_len = salt_len.clamp(1, 64);
        self
    }

    /// Accept stored iteration counts in `[min, max]`; records outside are treated as if the user
    /// did not exist (and the failure reason says so).
    pub fn with_iteration_bounds(mut self, min: u32, max: u32) -> Result<Self, ConfigError> {
        if min == 0 || min > max {
            return Err(ConfigError::IterationBounds);
        }
        self.min_iterations = min;
        self.max_iterations = max;
        Ok(self)
    }

    /// The authzid policy.
    #[must_use]
    pub fn with_authzid_policy(mut self, policy: AuthzidPolicy) -> Self {
        self.authzid_policy = policy;
        self
    }

    /// Send the XEP-0474 `h=` attribute (default on).
    #[must_use]
    pub fn with_ssdp(mut self, on: bool) -> Self {
        self.ssdp = on;
        self
    }

    /// Limit the size of one client message (default [`DEFAULT_MAX_MESSAGE_LEN`]).
    #[must_use]
    pub fn with_max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Which stored record PLAIN verifies against (default SHA-256). Every account should have
    /// one; an account without it cannot use PLAIN. Unknown users are faked with the same hash,
    /// so PLAIN's PBKDF2 costs the same for them.
    #[must_use]
    pub fn with_plain_hash(mut self, hash: ScramHash) -> Self {
        self.plain_hash = hash;
        self
    }

    /// Enabled mechanisms, in advertisement order.
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }

    /// The iteration bounds for stored credentials.
    pub fn iteration_bounds(&self) -> (u32, u32) {
        (self.min_iterations, self.max_iterations)
    }

    pub(crate) fn plain_hash(&self) -> ScramHash {
        self.plain_hash
    }

    pub(crate) fn secret(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    pub(crate) fn unknown_user_iterations(&self) -> u32 {
        self.unknown_user_iterations
    }

    pub(crate) fn unknown_user_salt_len(&self) -> usize {
        self.unknown_user_salt_len
    }

    pub(crate) fn authzid_policy(&self) -> &AuthzidPolicy {
        &self.authzid_policy
    }

    pub(crate) fn ssdp(&self) -> bool {
        self.ssdp
    }

    pub(crate) fn max_message_len(&self) -> usize {
        self.max_message_len
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("mechanisms", &self.mechanisms)
            .field("channel_binding_types", &self.channel_binding_types)
            .field("secret", &self.secret)
            .field("unknown_user_iterations", &self.unknown_user_iterations)
            .field("unknown_user_salt_len", &self.unknown_user_salt_len)
            .field("min_iterations", &self.min_iterations)
            .field("max_iterations", &self.max_iterations)
            .field("authzid_policy", &self.authzid_policy)
            .field("ssdp", &self.ssdp)
            .field("max_message_len", &self.max_message_len)
            .field("plain_hash", &self.plain_hash)
            .finish()
    }
}

/// What the stream layer knows about one connection.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ConnectionInfo {
    encrypted: bool,
    channel_bindings: ChannelBindings,
    domain: Option<String>,
    external_identities: Vec<String>,
}

impl ConnectionInfo {
    /// An unencrypted stream: no PLAIN, no -PLUS, no EXTERNAL.
    pub fn plaintext() -> Self {
        Self::default()
    }

    /// A TLS-protected stream with the binding data its TLS layer could compute (possibly none).
    pub fn tls(channel_bindings: ChannelBindings) -> Self {
        Self {
            encrypted: true,
            channel_bindings,
            ..Self::default()
        }
    }

    /// The domain the stream is for (the `to` of the stream header), used by
    /// [`AuthzidPolicy::SelfOnly`] to accept `username@domain`.
    #[must_use]
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Identities the TLS layer **verified** from the peer's certificate (e.g. the domain for s2s
    /// per RFC 6120 §13.7.2, or an XmppAddr for XEP-0178 c2s). EXTERNAL is offered only when this
    /// is non-empty, and it authenticates exactly one of them. Pass normalised forms.
    #[must_use]
    pub fn with_external_identities(mut self, identities: Vec<String>) -> Self {
        self.external_identities = identities;
        self
    }

    /// Whether the stream is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The channel-binding data.
    pub fn channel_bindings(&self) -> &ChannelBindings {
        &self.channel_bindings
    }

    /// The stream's domain, if given.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The verified external identities.
    pub fn external_identities(&self) -> &[String] {
        &self.external_identities
    }
}

/// What the server offers on one connection: the mechanism list for `<mechanisms/>`, the
/// channel-binding types for XEP-0440, and the XEP-0474 hash over both. Sessions are started from
/// it, so what is checked is exactly what was advertised.
///
/// Rules:
/// * `-PLUS` mechanisms only on an encrypted stream whose TLS layer provides data for at least one
///   enabled channel-binding type.
/// * `PLAIN` only on an encrypted stream. A client that asks for it on a plaintext stream gets
///   `encryption-required`.
/// * `EXTERNAL` only when the connection carries verified external identities.
/// * The XEP-0440 list is empty (send no `<sasl-channel-binding/>`) when no -PLUS mechanism is
///   offered.
#[derive(Clone, Debug)]
pub struct ServerOffer {
    config: Arc<ServerConfig>,
    connection: ConnectionInfo,
    mechanisms: Vec<Mechanism>,
    channel_binding_types: Vec<ChannelBindingType>,
}

impl ServerOffer {
    /// Compute the offer for one connection.
    pub fn new(config: Arc<ServerConfig>, connection: ConnectionInfo) -> Self {
        let cb_types: Vec<ChannelBindingType> = if connection.encrypted {
            config
                .channel_binding_types
                .iter()
                .copied()
                .filter(|t| connection.channel_bindings.get(*t).is_some())
                .collect()
        } else {
            Vec::new()
        };
        let mechanisms: Vec<Mechanism> = config
            .mechanisms
            .iter()
            .copied()
            .filter(|m| match m {
                Mechanism::Plain => connection.encrypted,
                Mechanism::External => !connection.external_identities.is_empty(),
                m if m.is_plus() => !cb_types.is_empty(),
                _ => true,
            })
            .collect();
        let channel_binding_types = if mechanisms.iter().any(|m| m.is_plus()) {
            cb_types
        } else {
            Vec::new()
        };
        Self {
            config,
            connection,
            mechanisms,
            channel_binding_types,
        }
    }

    /// The mechanisms to advertise, in order.
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }

    /// The XEP-0440 channel-binding types to advertise in
    /// `<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>`; empty means: send no such element.
    pub fn channel_binding_types(&self) -> &[ChannelBindingType] {
        &self.channel_binding_types
    }

    /// Whether `mechanism` is offered.
    pub fn offers(&self, mechanism: Mechanism) -> bool {
        self.mechanisms.contains(&mechanism)
    }

    /// Whether any -PLUS mechanism is offered ("the server supports channel binding", RFC 5802
    /// §6: a client sending GS2 flag `y` then fails).
    pub fn supports_channel_binding(&self) -> bool {
        self.mechanisms.iter().any(|m| m.is_plus())
    }

    /// The advertised lists as strings (what an honest client sees).
    pub fn advertised(&self) -> Advertised {
        Advertised {
            mechanisms: self
                .mechanisms
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            channel_binding_types: (!self.channel_binding_types.is_empty()).then(|| {
                self.channel_binding_types
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect()
            }),
        }
    }

    /// The XEP-0474 hash of this offer for a SCRAM hash.
    pub fn ssdp_hash(&self, hash: ScramHash) -> Vec<u8> {
        self.advertised().ssdp_hash(hash)
    }

    /// The server configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The connection facts.
    pub fn connection(&self) -> &ConnectionInfo {
        &self.connection
    }

    /// Start a session for the mechanism named in `<auth mechanism='...'/>`.
    ///
    /// Unknown or not offered: `invalid-mechanism`; PLAIN on a plaintext stream:
    /// `encryption-required`.
    pub fn start(&self, mechanism: &str, rng: &mut dyn Rng) -> Result<ServerSession, Failure> {
        let m: Mechanism = mechanism.parse().map_err(|_| {
            Failure::new(
                FailureCondition::InvalidMechanism,
                FailureReason::MechanismNotOffered,
            )
        })?;
        ServerSession::new(self, m, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Arc<ServerConfig> {
        Arc::new(ServerConfig::new(&[7; 32]).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn offer_rules() {
        let plain = ServerOffer::new(config(), ConnectionInfo::plaintext());
        assert_eq!(
            plain.mechanisms(),
            &[
                Mechanism::ScramSha512,
                Mechanism::ScramSha256,
                Mechanism::ScramSha1
            ]
        );
        assert!(plain.channel_binding_types().is_empty());
        assert!(plain.advertised().channel_binding_types.is_none());

        let tls_no_cb = ServerOffer::new(config(), ConnectionInfo::tls(ChannelBindings::none()));
        assert!(tls_no_cb.offers(Mechanism::Plain));
        assert!(!tls_no_cb.supports_channel_binding());

        let cb = ChannelBindings {
            tls_exporter: Some(vec![1; 32]),
            tls_server_end_point: None,
        };
        let tls = ServerOffer::new(
            config(),
            ConnectionInfo::tls(cb).with_external_identities(vec!["example.net".into()]),
        );
        assert!(tls.offers(Mechanism::ScramSha256Plus));
        assert!(tls.offers(Mechanism::External));
        assert_eq!(
            tls.channel_binding_types(),
            &[ChannelBindingType::TlsExporter]
        );
    }

    #[test]
    fn secret_is_checked_and_redacted() {
        assert_eq!(
            ServerConfig::new(b"short").map(|_| ()),
            Err(ConfigError::SecretTooShort)
        );
        let dbg = format!("{:?}", config());
        assert!(dbg.contains("<redacted>"));
        assert!(!dbg.contains("7, 7"));
    }
}
