//! The server side of a SCRAM exchange (RFC 5802 §5, §6; RFC 7677; XEP-0474).

use subtle::{Choice, ConstantTimeEq as _};

use super::hash::{ScramHash, xor};
use super::parse::{self, CbFlag, ParseError};
use crate::channel_binding::ChannelBindingType;
use crate::config::ServerOffer;
use crate::credentials::StoredCredentials;
use crate::error::{Failure, FailureCondition, FailureReason};
use crate::payload::{decode_strict, encode_base64};
use crate::rng::{Rng, is_valid_nonce};
use crate::saslprep::{saslprep, unescape_saslname};
use crate::server::{ServerStep, check_authzid};

/// Longest client nonce accepted.
const MAX_NONCE_LEN: usize = 256;

/// A SCRAM server exchange.
pub(crate) struct ScramServer {
    hash: ScramHash,
    plus: bool,
    server_nonce: String,
    state: State,
}

enum State {
    Start,
    NeedCredentials(Box<First>),
    SentServerFirst(Box<Exchange>),
    Finished,
}

/// What the client-first-message established.
struct First {
    /// `gs2-header || cb-data`: what `c=` must decode to.
    expected_cb: Vec<u8>,
    cb_type: Option<ChannelBindingType>,
    bare: String,
    client_nonce: String,
    username: String,
    authzid: Option<String>,
}

struct Exchange {
    first: First,
    server_first: String,
    credentials: StoredCredentials,
    /// `Some(reason)` when the credentials are a fake (unknown user or unusable record).
    fake: Option<FailureReason>,
}

fn map_parse(e: ParseError) -> Failure {
    match e {
        ParseError::Malformed(what) => Failure::malformed(what),
        ParseError::ExtensionNotSupported => Failure::new(
            FailureCondition::MalformedRequest,
            FailureReason::ExtensionNotSupported,
        ),
    }
}

fn incorrect_encoding() -> Failure {
    Failure::new(
        FailureCondition::IncorrectEncoding,
        FailureReason::InvalidBase64,
    )
}

impl ScramServer {
    pub(crate) fn new(hash: ScramHash, plus: bool, rng: &mut dyn Rng) -> Result<Self, Failure> {
        let rng_failure = Failure::new(FailureCondition::TemporaryAuthFailure, FailureReason::Rng);
        let server_nonce = rng.nonce().map_err(|_| rng_failure)?;
        if !is_valid_nonce(&server_nonce, MAX_NONCE_LEN) {
            return Err(rng_failure);
        }
        Ok(Self {
            hash,
            plus,
            server_nonce,
            state: State::Start,
        })
    }

    pub(crate) fn channel_binding(&self) -> Option<ChannelBindingType> {
        match &self.state {
            State::NeedCredentials(f) => f.cb_type,
            State::SentServerFirst(e) => e.first.cb_type,
            State::Start | State::Finished => None,
        }
    }

    pub(crate) fn handle_message(
        &mut self,
        offer: &ServerOffer,
        msg: &str,
    ) -> Result<ServerStep, Failure> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => self.handle_client_first(offer, msg),
            State::SentServerFirst(ex) => self.handle_client_final(offer, *ex, msg),
            State::NeedCredentials(_) | State::Finished => Err(Failure::new(
                FailureCondition::MalformedRequest,
                FailureReason::UnexpectedMessage,
            )),
        }
    }

    fn handle_client_first(
        &mut self,
        offer: &ServerOffer,
        msg: &str,
    ) -> Result<ServerStep, Failure> {
        let cf = parse::client_first(msg).map_err(map_parse)?;

        // Channel binding: RFC 5802 §6, security.md §1.6.
        let mut expected_cb = cf.gs2_header.as_bytes().to_vec();
        let cb_type = match (self.plus, cf.cb_flag) {
            (true, CbFlag::Bind(name)) => {
                let ty = name
                    .parse::<ChannelBindingType>()
                    .ok()
                    .filter(|t| offer.channel_binding_types().contains(t));
                let data = ty.and_then(|t| offer.connection().channel_bindings().get(t));
                match (ty, data) {
                    (Some(ty), Some(data)) => {
                        expected_cb.extend_from_slice(data);
                        Some(ty)
                    }
                    _ => {
                        return Err(Failure::not_authorized(
                            FailureReason::UnsupportedChannelBindingType,
                        ));
                    }
                }
            }
            (true, CbFlag::No | CbFlag::Yes) | (false, CbFlag::Bind(_)) => {
                return Err(Failure::new(
                    FailureCondition::MalformedRequest,
                    FailureReason::ChannelBindingFlagMismatch,
                ));
            }
            (false, CbFlag::Yes) if offer.supports_channel_binding() => {
                return Err(Failure::not_authorized(
                    FailureReason::ChannelBindingDowngrade,
                ));
            }
            (false, CbFlag::Yes | CbFlag::No) => None,
        };

        let username =
            unescape_saslname(cf.username).map_err(|_| Failure::malformed("username escaping"))?;
        let username = saslprep(&username)
            .map_err(|_| {
                Failure::new(
                    FailureCondition::MalformedRequest,
                    FailureReason::InvalidUsername,
                )
            })?
            .into_owned();
        let authzid = match cf.authzid {
            Some(a) => Some(
                unescape_saslname(a)
                    .map_err(|_| Failure::malformed("authzid escaping"))?
                    .into_owned(),
            ),
            None => None,
        };
        if cf.nonce.len() > MAX_NONCE_LEN {
            return Err(Failure::malformed("nonce too long"));
        }

        self.state = State::NeedCredentials(Box::new(First {
            expected_cb,
            cb_type,
            bare: cf.bare.to_owned(),
            client_nonce: cf.nonce.to_owned(),
            username: username.clone(),
            authzid,
        }));
        Ok(ServerStep::NeedCredentials {
            username,
            hash: self.hash,
        })
    }

    /// The caller's answer to `NeedCredentials`: `None` for an unknown user.
    pub(crate) fn provide_credentials(
        &mut self,
        offer: &ServerOffer,
        credentials: Option<StoredCredentials>,
    ) -> Result<ServerStep, Failure> {
        let State::NeedCredentials(first) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(Failure::new(
                FailureCondition::TemporaryAuthFailure,
                FailureReason::UnexpectedCall,
            ));
        };
        let config = offer.config();
        let (min, max) = config.iteration_bounds();
        let (credentials, fake) = match credentials {
            Some(c) if c.hash() == self.hash && (min..=max).contains(&c.iterations()) => (c, None),
            other => {
                let reason = if other.is_some() {
                    FailureReason::CredentialsUnusable
                } else {
                    FailureReason::UnknownUser
                };
                let fake = StoredCredentials::fake(
                    self.hash,
                    config.secret(),
                    &first.username,
                    config.unknown_user_iterations(),
                    config.unknown_user_salt_len(),
                );
                (fake, Some(reason))
            }
        };

        let mut server_first = format!(
            "r={}{},s={},i={}",
            first.client_nonce,
            self.server_nonce,
            encode_base64(credentials.salt()),
            credentials.iterations()
        );
        if config.ssdp() {
            server_first.push_str(",h=");
            server_first.push_str(&encode_base64(&offer.ssdp_hash(self.hash)));
        }
        let challenge = server_first.clone().into_bytes();
        self.state = State::SentServerFirst(Box::new(Exchange {
            first: *first,
            server_first,
            credentials,
            fake,
        }));
        Ok(ServerStep::Challenge(challenge))
    }

    fn handle_client_final(
        &mut self,
        offer: &ServerOffer,
        ex: Exchange,
        msg: &str,
    ) -> Result<ServerStep, Failure> {
        let cf = parse::client_final(msg).map_err(map_parse)?;
        let cb = decode_strict(cf.channel_binding_b64).map_err(|_| incorrect_encoding())?;
        let proof = decode_strict(cf.proof_b64).map_err(|_| incorrect_encoding())?;

        let hash = self.hash;
        let nonce_ok = {
            let expected = [
                ex.first.client_nonce.as_bytes(),
                self.server_nonce.as_bytes(),
            ]
            .concat();
            expected.ct_eq(cf.nonce.as_bytes())
        };
        let cb_ok = cb.ct_eq(&ex.first.expected_cb);
        let len_ok = Choice::from(u8::from(proof.len() == hash.output_len()));

        let auth_message = [
            ex.first.bare.as_bytes(),
            b",",
            ex.server_first.as_bytes(),
            b",",
            cf.without_proof.as_bytes(),
        ]
        .concat();
        let stored_key = ex.credentials.stored_key();
        let client_signature = hash.hmac(stored_key, &[&auth_message]);
        let mut padded = vec![0u8; hash.output_len()];
        for (d, s) in padded.iter_mut().zip(&proof) {
            *d = *s;
        }
        let mut client_key = xor(&padded, &client_signature);
        let proof_ok = hash.digest(&client_key).ct_eq(stored_key);
        crate::secret::wipe(&mut client_key);
        let real = Choice::from(u8::from(ex.fake.is_none()));

        let ok = nonce_ok & cb_ok & len_ok & proof_ok & real;
        if !bool::from(ok) {
            let reason = if let Some(r) = ex.fake {
                r
            } else if !bool::from(nonce_ok) {
                FailureReason::NonceMismatch
            } else if !bool::from(cb_ok) {
                FailureReason::ChannelBindingMismatch
            } else {
                FailureReason::InvalidCredentials
            };
            return Err(Failure::not_authorized(reason));
        }

        let authzid = check_authzid(offer, &ex.first.username, ex.first.authzid.as_deref())?;
        let server_signature = hash.hmac(ex.credentials.server_key(), &[&auth_message]);
        let additional = format!("v={}", encode_base64(&server_signature));
        Ok(ServerStep::Success {
            additional_data: Some(additional.into_bytes()),
            authcid: ex.first.username,
            authzid,
        })
    }
}
