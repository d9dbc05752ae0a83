//! The server-side session: one authentication attempt, driven step by step.

use crate::channel_binding::ChannelBindingType;
use crate::config::{AuthzidPolicy, ServerOffer};
use crate::credentials::{CredentialLookup, StoredCredentials};
use crate::error::{Failure, FailureCondition, FailureReason};
use crate::external;
use crate::mechanism::Mechanism;
use crate::plain::PlainServer;
use crate::rng::Rng;
use crate::scram::ScramHash;
use crate::scram::server::ScramServer;

/// What the server does next.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerStep {
    /// Send `<challenge/>` with this data, then feed the client's `<response/>` to
    /// [`ServerSession::handle_client_message`].
    Challenge(Vec<u8>),
    /// Look up the stored credentials of `username` (already unescaped and SASLprep'd) for
    /// `hash` and give them to [`ServerSession::provide_credentials`], or call
    /// [`ServerSession::user_not_found`] when the user or that record does not exist. For SCRAM
    /// `hash` is the mechanism's; for PLAIN it is [`ServerConfig::with_plain_hash`](crate::ServerConfig::with_plain_hash)
    /// (SHA-256 by default), so that unknown users cost the same PBKDF2 as known ones.
    ///
    /// Nothing is sent to the client at this point; the lookup may be asynchronous.
    NeedCredentials {
        /// The SASLprep'd username (authentication identity).
        username: String,
        /// The hash of the record needed.
        hash: ScramHash,
    },
    /// Authentication succeeded: send `<success/>` with `additional_data` (SCRAM's `v=`; use
    /// [`encode_sasl_payload`](crate::encode_sasl_payload)).
    Success {
        /// Additional data for `<success/>`, if any.
        additional_data: Option<Vec<u8>>,
        /// The authenticated identity (SCRAM/PLAIN: the SASLprep'd username; EXTERNAL: the
        /// certificate identity).
        authcid: String,
        /// The authorisation identity the client asked for, `None` when absent or empty. With
        /// [`AuthzidPolicy::SelfOnly`] it has been checked; with
        /// [`AuthzidPolicy::CallerDecides`] the caller must check it.
        authzid: Option<String>,
    },
}

impl std::fmt::Debug for ServerStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Challenge(c) => f.debug_tuple("Challenge").field(&c.len()).finish(),
            Self::NeedCredentials { username, hash } => f
                .debug_struct("NeedCredentials")
                .field("username", username)
                .field("hash", hash)
                .finish(),
            Self::Success {
                additional_data,
                authcid,
                authzid,
            } => f
                .debug_struct("Success")
                .field(
                    "additional_data_len",
                    &additional_data.as_ref().map(Vec::len),
                )
                .field("authcid", authcid)
                .field("authzid", authzid)
                .finish(),
        }
    }
}

enum Inner {
    Scram(ScramServer),
    Plain(PlainServer),
    External,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Running,
    Succeeded,
    Failed(Failure),
}

/// One server-side authentication attempt. Single use: after success or failure it answers every
/// further input with a failure (a failure is sticky and repeats itself).
///
/// The XMPP layer decodes `<auth/>`/`<response/>` payloads with
/// [`decode_sasl_payload`](crate::decode_sasl_payload). When `<auth/>` carries no initial
/// response (empty element), send an empty `<challenge/>` yourself and feed the next
/// `<response/>` as the first message.
pub struct ServerSession {
    offer: ServerOffer,
    mechanism: Mechanism,
    inner: Inner,
    outcome: Outcome,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("mechanism", &self.mechanism)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// Start a session for `mechanism` on the connection described by `offer`.
    ///
    /// `rng` supplies the server nonce (SCRAM). Fails with `invalid-mechanism` when the mechanism
    /// is not offered, `encryption-required` for PLAIN on a plaintext stream.
    pub fn new(
        offer: &ServerOffer,
        mechanism: Mechanism,
        rng: &mut dyn Rng,
    ) -> Result<Self, Failure> {
        if !offer.offers(mechanism) {
            let enabled = offer.config().mechanisms().contains(&mechanism);
            return Err(
                if mechanism == Mechanism::Plain && enabled && !offer.connection().is_encrypted() {
                    Failure::new(
                        FailureCondition::EncryptionRequired,
                        FailureReason::EncryptionRequired,
                    )
                } else {
                    Failure::new(
                        FailureCondition::InvalidMechanism,
                        FailureReason::MechanismNotOffered,
                    )
                },
            );
        }
        let inner = match mechanism.scram_hash() {
            Some(hash) => Inner::Scram(ScramServer::new(hash, mechanism.is_plus(), rng)?),
            None if mechanism == Mechanism::Plain => Inner::Plain(PlainServer::new()),
            None => Inner::External,
        };
        Ok(Self {
            offer: offer.clone(),
            mechanism,
            inner,
            outcome: Outcome::Running,
        })
    }

    /// The mechanism of this session.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The channel-binding type the client bound to (after its first message, -PLUS only).
    pub fn channel_binding(&self) -> Option<ChannelBindingType> {
        match &self.inner {
            Inner::Scram(s) => s.channel_binding(),
            Inner::Plain(_) | Inner::External => None,
        }
    }

    /// Whether the session has ended (success or failure).
    pub fn is_finished(&self) -> bool {
        self.outcome != Outcome::Running
    }

    /// Whether the session ended in success.
    pub fn is_authenticated(&self) -> bool {
        self.outcome == Outcome::Succeeded
    }

    /// Feed one client message (initial response or `<response/>` data, base64-decoded).
    pub fn handle_client_message(&mut self, message: &[u8]) -> Result<ServerStep, Failure> {
        if let Some(f) = self.ended() {
            return Err(f);
        }
        let result = self.dispatch_message(message);
        self.record(result)
    }

    /// Answer [`ServerStep::NeedCredentials`] with the user's stored record.
    ///
    /// A record for another hash, or with an iteration count outside the configured bounds, is
    /// treated like an unknown user.
    pub fn provide_credentials(
        &mut self,
        credentials: StoredCredentials,
    ) -> Result<ServerStep, Failure> {
        self.answer_lookup(Some(credentials))
    }

    /// Answer [`ServerStep::NeedCredentials`]: the user does not exist (or has no record for the
    /// hash). The exchange continues with a fake salt derived from the server secret and ends in
    /// `not-authorized`, looking exactly like a wrong password.
    pub fn user_not_found(&mut self) -> Result<ServerStep, Failure> {
        self.answer_lookup(None)
    }

    /// End the session with a condition of the caller's choosing (`aborted` when the client sent
    /// `<abort/>`, `account-disabled`, `temporary-auth-failure` when storage failed, ...).
    pub fn fail(&mut self, condition: FailureCondition) -> Failure {
        let f = Failure::from_condition(condition);
        if self.outcome == Outcome::Running {
            self.outcome = Outcome::Failed(f);
        }
        f
    }

    /// [`handle_client_message`](Self::handle_client_message), answering
    /// [`ServerStep::NeedCredentials`] from a synchronous store at once (never returns
    /// `NeedCredentials`). A store error becomes `temporary-auth-failure`.
    pub fn handle_client_message_with(
        &mut self,
        message: &[u8],
        store: &dyn CredentialLookup,
    ) -> Result<ServerStep, Failure> {
        match self.handle_client_message(message)? {
            ServerStep::NeedCredentials { username, hash } => match store.lookup(&username, hash) {
                Ok(Some(c)) => self.provide_credentials(c),
                Ok(None) => self.user_not_found(),
                Err(_) => {
                    let f = Failure::new(
                        FailureCondition::TemporaryAuthFailure,
                        FailureReason::LookupFailed,
                    );
                    self.outcome = Outcome::Failed(f);
                    Err(f)
                }
            },
            step => Ok(step),
        }
    }

    fn ended(&self) -> Option<Failure> {
        match self.outcome {
            Outcome::Running => None,
            Outcome::Failed(f) => Some(f),
            Outcome::Succeeded => Some(Failure::new(
                FailureCondition::MalformedRequest,
                FailureReason::UnexpectedMessage,
            )),
        }
    }

    fn dispatch_message(&mut self, message: &[u8]) -> Result<ServerStep, Failure> {
        if message.len() > self.offer.config().max_message_len() {
            return Err(Failure::new(
                FailureCondition::MalformedRequest,
                FailureReason::TooLong,
            ));
        }
        let text = std::str::from_utf8(message).map_err(|_| {
            Failure::new(FailureCondition::MalformedRequest, FailureReason::NotUtf8)
        })?;
        match &mut self.inner {
            Inner::Scram(s) => s.handle_message(&self.offer, text),
            Inner::Plain(p) => p.handle_message(&self.offer, text),
            Inner::External => external::handle_message(&self.offer, text),
        }
    }

    fn answer_lookup(
        &mut self,
        credentials: Option<StoredCredentials>,
    ) -> Result<ServerStep, Failure> {
        if self.outcome != Outcome::Running {
            return Err(Failure::new(
                FailureCondition::TemporaryAuthFailure,
                FailureReason::UnexpectedCall,
            ));
        }
        let result = match &mut self.inner {
            Inner::Scram(s) => s.provide_credentials(&self.offer, credentials),
            Inner::Plain(p) => p.provide_credentials(&self.offer, credentials),
            Inner::External => Err(Failure::new(
                FailureCondition::TemporaryAuthFailure,
                FailureReason::UnexpectedCall,
            )),
        };
        self.record(result)
    }

    fn record(&mut self, result: Result<ServerStep, Failure>) -> Result<ServerStep, Failure> {
        match &result {
            Err(f) => self.outcome = Outcome::Failed(*f),
            Ok(ServerStep::Success { .. }) => self.outcome = Outcome::Succeeded,
            Ok(_) => {}
        }
        result
    }
}

/// Apply the authzid policy. Returns the authzid to report (`None` when absent or empty).
pub(crate) fn check_authzid(
    offer: &ServerOffer,
    authcid: &str,
    authzid: Option<&str>,
) -> Result<Option<String>, Failure> {
    let Some(authzid) = authzid.filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let allowed = match offer.config().authzid_policy() {
        AuthzidPolicy::CallerDecides => true,
        AuthzidPolicy::SelfOnly => {
            authzid == authcid
                || offer.connection().domain().is_some_and(|d| {
                    authzid
                        .strip_suffix(d)
                        .and_then(|local| local.strip_suffix('@'))
                        == Some(authcid)
                })
        }
    };
    if allowed {
        Ok(Some(authzid.to_owned()))
    } else {
        Err(Failure::new(
            FailureCondition::InvalidAuthzid,
            FailureReason::AuthzidNotAllowed,
        ))
    }
}
