//! The client-side session (used by our tests and by outgoing s2s connections).

use std::fmt;

use crate::channel_binding::{ChannelBindingType, ChannelBindings};
use crate::config::DEFAULT_MAX_ITERATIONS;
use crate::credentials::MIN_ITERATIONS;
use crate::error::ClientError;
use crate::mechanism::Mechanism;
use crate::plain;
use crate::rng::Rng;
use crate::scram::ScramHash;
use crate::scram::client::ScramClient;
use crate::secret::SecretBytes;
use crate::ssdp::Advertised;

/// The client's GS2 channel-binding flag (RFC 5802 §6, §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientChannelBinding {
    /// `n`: the client does not support channel binding (or found no type in common with the
    /// server, XEP-0474 business rule 6).
    #[default]
    Unsupported,
    /// `y`: the client supports channel binding but believes the server does not. A server that
    /// does support it fails the exchange: this is what detects -PLUS stripping.
    NotOffered,
    /// `p=type`: bind to this type (only with a -PLUS mechanism); the data comes from
    /// [`ClientOptions::with_channel_binding`].
    Bind(ChannelBindingType),
}

/// Everything a client session needs besides the mechanism and randomness.
#[derive(Clone)]
pub struct ClientOptions {
    username: String,
    password: SecretBytes,
    authzid: Option<String>,
    channel_binding: ClientChannelBinding,
    bindings: ChannelBindings,
    advertised: Option<Advertised>,
    require_ssdp: bool,
    min_iterations: u32,
    max_iterations: u32,
}

impl ClientOptions {
    /// Username and password (SASLprep'd by the session), GS2 flag `n`, no SSDP check, iteration
    /// bounds `[4096, 100_000]`.
    pub fn new(username: &str, password: &str) -> Self {
        Self {
            username: username.to_owned(),
            password: SecretBytes::from(password),
            authzid: None,
            channel_binding: ClientChannelBinding::Unsupported,
            bindings: ChannelBindings::none(),
            advertised: None,
            require_ssdp: false,
            min_iterations: MIN_ITERATIONS,
            max_iterations: DEFAULT_MAX_ITERATIONS,
        }
    }

    /// Options for EXTERNAL: no username or password; set an authzid if needed.
    pub fn external() -> Self {
        Self::new("", "")
    }

    /// Ask for this authorisation identity.
    #[must_use]
    pub fn with_authzid(mut self, authzid: &str) -> Self {
        self.authzid = Some(authzid.to_owned());
        self
    }

    /// The GS2 flag and the client's own binding data (from its TLS layer).
    #[must_use]
    pub fn with_channel_binding(
        mut self,
        choice: ClientChannelBinding,
        bindings: ChannelBindings,
    ) -> Self {
        self.channel_binding = choice;
        self.bindings = bindings;
        self
    }

    /// What the server advertised on this stream: enables the XEP-0474 check of its `h=`.
    #[must_use]
    pub fn with_advertised(mut self, advertised: Advertised) -> Self {
        self.advertised = Some(advertised);
        self
    }

    /// Fail when the server sends no SSDP hash (needs [`with_advertised`](Self::with_advertised)).
    #[must_use]
    pub fn require_ssdp(mut self, on: bool) -> Self {
        self.require_ssdp = on;
        self
    }

    /// Accept server iteration counts in `[min, max]` (a low count makes a stolen exchange cheap
    /// to brute-force; a huge one is a denial of service on the client).
    #[must_use]
    pub fn with_iteration_bounds(mut self, min: u32, max: u32) -> Self {
        self.min_iterations = min.max(1);
        self.max_iterations = max;
        self
    }

    pub(crate) fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &str {
        std::str::from_utf8(self.password.as_bytes()).unwrap_or_default()
    }

    pub(crate) fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    pub(crate) fn channel_binding(&self) -> ClientChannelBinding {
        self.channel_binding
    }

    pub(crate) fn bindings(&self) -> &ChannelBindings {
        &self.bindings
    }

    pub(crate) fn advertised(&self) -> Option<&Advertised> {
        self.advertised.as_ref()
    }

    pub(crate) fn requires_ssdp(&self) -> bool {
        self.require_ssdp
    }

    pub(crate) fn iteration_bounds(&self) -> (u32, u32) {
        (self.min_iterations, self.max_iterations)
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("authzid", &self.authzid)
            .field("channel_binding", &self.channel_binding)
            .field("bindings", &self.bindings)
            .field("advertised", &self.advertised)
            .field("require_ssdp", &self.require_ssdp)
            .field("min_iterations", &self.min_iterations)
            .field("max_iterations", &self.max_iterations)
            .finish()
    }
}

/// Pick the best mechanism and GS2 flag from what the server advertised (XEP-0440, XEP-0474):
///
/// 1. the strongest `SCRAM-*-PLUS` when there is a channel-binding type in common (tls-exporter
///    preferred; when the server sent no XEP-0440 list, the client's own preference);
/// 2. else the strongest plain SCRAM, with flag `y` if the client has binding data and the server
///    offers no -PLUS at all, otherwise `n`;
/// 3. else PLAIN if `allow_plain` (only on TLS, and never after a SCRAM login was seen: pin it).
///
/// EXTERNAL is never chosen automatically.
pub fn select_mechanism(
    advertised: &Advertised,
    ours: &ChannelBindings,
    allow_plain: bool,
) -> Option<(Mechanism, ClientChannelBinding)> {
    let offered = |m: Mechanism| advertised.mechanisms.iter().any(|s| s == m.as_str());
    let mutual: Option<ChannelBindingType> = ours.available().into_iter().find(|t| {
        advertised
            .channel_binding_types
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s == t.as_str()))
    });
    let strongest_first = [ScramHash::Sha512, ScramHash::Sha256, ScramHash::Sha1];
    if let Some(ty) = mutual {
        for h in strongest_first {
            let m = Mechanism::scram(h, true);
            if offered(m) {
                return Some((m, ClientChannelBinding::Bind(ty)));
            }
        }
    }
    let server_plus = strongest_first
        .iter()
        .any(|h| offered(Mechanism::scram(*h, true)));
    for h in strongest_first {
        let m = Mechanism::scram(h, false);
        if offered(m) {
            let flag = if !ours.is_empty() && !server_plus {
                ClientChannelBinding::NotOffered
            } else {
                ClientChannelBinding::Unsupported
            };
            return Some((m, flag));
        }
    }
    (allow_plain && offered(Mechanism::Plain))
        .then_some((Mechanism::Plain, ClientChannelBinding::Unsupported))
}

enum Inner {
    Scram(Box<ScramClient>),
    Plain(Option<SecretBytes>),
    External(Option<String>),
}

/// One client-side authentication attempt.
///
/// ```text
/// initial_response()      -> bytes for <auth mechanism=...>
/// handle_challenge(data)  -> bytes for <response>   (SCRAM: once, maybe twice)
/// handle_success(data)    -> Ok once the server proved it knows the credentials
/// ```
///
/// Any error is final; abort the exchange.
pub struct ClientSession {
    mechanism: Mechanism,
    inner: Inner,
    failed: Option<ClientError>,
    done: bool,
}

impl fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSession")
            .field("mechanism", &self.mechanism)
            .field("failed", &self.failed)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// Start a session. `rng` supplies the client nonce (SCRAM).
    pub fn new(
        mechanism: Mechanism,
        options: &ClientOptions,
        rng: &mut dyn Rng,
    ) -> Result<Self, ClientError> {
        let inner = match mechanism {
            Mechanism::Plain => Inner::Plain(Some(plain::client_message(
                options.authzid(),
                options.username(),
                options.password(),
            )?)),
            Mechanism::External => {
                let authzid = options.authzid().unwrap_or("").to_owned();
                if authzid.contains('\0') {
                    return Err(ClientError::InvalidInput("authzid"));
                }
                Inner::External(Some(authzid))
            }
            m => {
                let hash = m
                    .scram_hash()
                    .ok_or(ClientError::InvalidOptions("unsupported mechanism"))?;
                Inner::Scram(Box::new(ScramClient::new(hash, m.is_plus(), options, rng)?))
            }
        };
        Ok(Self {
            mechanism,
            inner,
            failed: None,
            done: false,
        })
    }

    /// The mechanism of this session.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response to put in `<auth/>` (encode it with
    /// [`encode_sasl_payload`](crate::encode_sasl_payload): an empty EXTERNAL response is `=`).
    pub fn initial_response(&mut self) -> Result<Vec<u8>, ClientError> {
        self.guard(|inner| match inner {
            Inner::Scram(s) => s.initial_response(),
            Inner::Plain(msg) => msg
                .take()
                .map(|m| m.as_bytes().to_vec())
                .ok_or(ClientError::UnexpectedMessage),
            Inner::External(a) => a
                .take()
                .map(String::into_bytes)
                .ok_or(ClientError::UnexpectedMessage),
        })
    }

    /// Answer a `<challenge/>`.
    pub fn handle_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.guard(|inner| match inner {
            Inner::Scram(s) => s.handle_challenge(challenge),
            Inner::Plain(_) | Inner::External(_) => Err(ClientError::UnexpectedMessage),
        })
    }

    /// Handle `<success/>` and its additional data. For SCRAM this verifies the server signature
    /// (`v=`): only then is the server authenticated too.
    pub fn handle_success(&mut self, additional_data: Option<&[u8]>) -> Result<(), ClientError> {
        let r = self.guard(|inner| match inner {
            Inner::Scram(s) => s.handle_success(additional_data),
            Inner::Plain(m) if m.is_none() && additional_data.is_none_or(<[u8]>::is_empty) => {
                Ok(())
            }
            Inner::External(a) if a.is_none() && additional_data.is_none_or(<[u8]>::is_empty) => {
                Ok(())
            }
            Inner::Plain(_) | Inner::External(_) => Err(ClientError::UnexpectedMessage),
        });
        if r.is_ok() {
            self.done = true;
        }
        r
    }

    /// Whether `<success/>` was handled and (for SCRAM) the server signature verified.
    pub fn is_authenticated(&self) -> bool {
        self.done
            && self.failed.is_none()
            && match &self.inner {
                Inner::Scram(s) => s.is_verified(),
                Inner::Plain(_) | Inner::External(_) => true,
            }
    }

    fn guard<T>(
        &mut self,
        f: impl FnOnce(&mut Inner) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.done {
            return Err(ClientError::UnexpectedMessage);
        }
        let r = f(&mut self.inner);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adv(m: &[&str], cb: Option<&[&str]>) -> Advertised {
        Advertised {
            mechanisms: m.iter().map(|s| (*s).to_owned()).collect(),
            channel_binding_types: cb.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn selection() {
        let ours = ChannelBindings {
            tls_exporter: Some(vec![0; 32]),
            tls_server_end_point: Some(vec![1; 32]),
        };
        let a = adv(
            &[
                "SCRAM-SHA-1",
                "SCRAM-SHA-256",
                "SCRAM-SHA-256-PLUS",
                "PLAIN",
            ],
            Some(&["tls-server-end-point"]),
        );
        assert_eq!(
            select_mechanism(&a, &ours, false),
            Some((
                Mechanism::ScramSha256Plus,
                ClientChannelBinding::Bind(ChannelBindingType::TlsServerEndPoint)
            ))
        );
        // -PLUS stripped by an attacker: flag y.
        let stripped = adv(&["SCRAM-SHA-1", "SCRAM-SHA-256"], None);
        assert_eq!(
            select_mechanism(&stripped, &ours, false),
            Some((Mechanism::ScramSha256, ClientChannelBinding::NotOffered))
        );
        // -PLUS offered but no common type: n (XEP-0474 rule 6).
        let other = adv(
            &["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"],
            Some(&["tls-unique"]),
        );
        assert_eq!(
            select_mechanism(&other, &ours, false),
            Some((Mechanism::ScramSha256, ClientChannelBinding::Unsupported))
        );
        let only_plain = adv(&["PLAIN"], None);
        assert_eq!(select_mechanism(&only_plain, &ours, false), None);
        assert_eq!(
            select_mechanism(&only_plain, &ChannelBindings::none(), true),
            Some((Mechanism::Plain, ClientChannelBinding::Unsupported))
        );
    }

    #[test]
    fn options_debug_hides_password() {
        let o = ClientOptions::new("user", "correct horse");
        let d = format!("{o:?}");
        assert!(!d.contains("horse"));
    }
}
