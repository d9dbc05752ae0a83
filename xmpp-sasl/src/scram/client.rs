//! The client side of a SCRAM exchange (RFC 5802 §5; XEP-0474 verification).

use std::num::NonZeroU32;

use subtle::ConstantTimeEq as _;

use super::hash::{DerivedKeys, ScramHash, xor};
use super::parse::{self, ParseError, ServerFinal};
use crate::client::{ClientChannelBinding, ClientOptions};
use crate::error::ClientError;
use crate::payload::{decode_strict, encode_base64};
use crate::rng::{Rng, is_valid_nonce};
use crate::saslprep::{escape_saslname, saslprep};
use crate::secret::{SecretBytes, wipe};
use crate::ssdp::Advertised;

const MAX_NONCE_LEN: usize = 1024;

pub(crate) struct ScramClient {
    hash: ScramHash,
    gs2_header: String,
    cb_data: Vec<u8>,
    bare: String,
    client_nonce: String,
    password: SecretBytes,
    min_iterations: u32,
    max_iterations: u32,
    advertised: Option<Advertised>,
    require_ssdp: bool,
    state: State,
}

enum State {
    Initial,
    SentFirst,
    SentFinal { server_signature: Vec<u8> },
    Verified,
    Done,
}

fn map_parse(e: ParseError) -> ClientError {
    match e {
        ParseError::Malformed(what) => ClientError::Malformed(what),
        ParseError::ExtensionNotSupported => ClientError::ExtensionNotSupported,
    }
}

impl ScramClient {
    pub(crate) fn new(
        hash: ScramHash,
        plus: bool,
        options: &ClientOptions,
        rng: &mut dyn Rng,
    ) -> Result<Self, ClientError> {
        let username =
            saslprep(options.username()).map_err(|_| ClientError::InvalidInput("username"))?;
        let password =
            saslprep(options.password()).map_err(|_| ClientError::InvalidInput("password"))?;
        let (flag, cb_data) = match (plus, options.channel_binding()) {
            (true, ClientChannelBinding::Bind(ty)) => {
                let data = options
                    .bindings()
                    .get(ty)
                    .ok_or(ClientError::InvalidOptions(
                        "no data for the chosen channel-binding type",
                    ))?;
                (format!("p={ty}"), data.to_vec())
            }
            (true, _) => {
                return Err(ClientError::InvalidOptions(
                    "a -PLUS mechanism needs a channel-binding type",
                ));
            }
            (false, ClientChannelBinding::Bind(_)) => {
                return Err(ClientError::InvalidOptions(
                    "channel binding needs a -PLUS mechanism",
                ));
            }
            (false, ClientChannelBinding::NotOffered) => ("y".to_owned(), Vec::new()),
            (false, ClientChannelBinding::Unsupported) => ("n".to_owned(), Vec::new()),
        };
        let authzid = match options.authzid() {
            Some(a) if a.contains('\0') => return Err(ClientError::InvalidInput("authzid")),
            Some(a) if !a.is_empty() => format!("a={}", escape_saslname(a)),
            _ => String::new(),
        };
        let client_nonce = rng.nonce()?;
        if !is_valid_nonce(&client_nonce, MAX_NONCE_LEN) {
            return Err(ClientError::InvalidOptions(
                "the random source gave an invalid nonce",
            ));
        }
        if options.requires_ssdp() && options.advertised().is_none() {
            return Err(ClientError::InvalidOptions(
                "SSDP required but no advertised lists given",
            ));
        }
        let (min_iterations, max_iterations) = options.iteration_bounds();
        Ok(Self {
            hash,
            gs2_header: format!("{flag},{authzid},"),
            cb_data,
            bare: format!("n={},r={}", escape_saslname(&username), client_nonce),
            client_nonce,
            password: SecretBytes::from(&*password),
            min_iterations,
            max_iterations,
            advertised: options.advertised().cloned(),
            require_ssdp: options.requires_ssdp(),
            state: State::Initial,
        })
    }

    pub(crate) fn initial_response(&mut self) -> Result<Vec<u8>, ClientError> {
        if !matches!(self.state, State::Initial) {
            return Err(ClientError::UnexpectedMessage);
        }
        self.state = State::SentFirst;
        Ok(format!("{}{}", self.gs2_header, self.bare).into_bytes())
    }

    pub(crate) fn handle_challenge(&mut self, msg: &[u8]) -> Result<Vec<u8>, ClientError> {
        let msg = std::str::from_utf8(msg).map_err(|_| ClientError::Malformed("not UTF-8"))?;
        match std::mem::replace(&mut self.state, State::Done) {
            State::SentFirst => self.handle_server_first(msg),
            // RFC 6120 §6.4.3 allows the server-final-message as a last challenge.
            State::SentFinal { server_signature } => {
                verify_server_final(&server_signature, msg)?;
                self.state = State::Verified;
                Ok(Vec::new())
            }
            State::Initial | State::Verified | State::Done => Err(ClientError::UnexpectedMessage),
        }
    }

    pub(crate) fn handle_success(&mut self, additional: Option<&[u8]>) -> Result<(), ClientError> {
        let additional = additional.filter(|a| !a.is_empty());
        match (std::mem::replace(&mut self.state, State::Done), additional) {
            (State::SentFinal { server_signature }, Some(data)) => {
                let msg =
                    std::str::from_utf8(data).map_err(|_| ClientError::Malformed("not UTF-8"))?;
                verify_server_final(&server_signature, msg)?;
                self.state = State::Verified;
                Ok(())
            }
            (State::SentFinal { .. }, None) => Err(ClientError::ServerSignatureMismatch),
            (State::Verified, None) => {
                self.state = State::Verified;
                Ok(())
            }
            _ => Err(ClientError::UnexpectedMessage),
        }
    }

    pub(crate) fn is_verified(&self) -> bool {
        matches!(self.state, State::Verified)
    }

    fn handle_server_first(&mut self, msg: &str) -> Result<Vec<u8>, ClientError> {
        let sf = parse::server_first(msg).map_err(map_parse)?;
        if sf.nonce.len() <= self.client_nonce.len() || !sf.nonce.starts_with(&self.client_nonce) {
            return Err(ClientError::NonceMismatch);
        }
        let salt = decode_strict(sf.salt_b64).map_err(|_| ClientError::InvalidBase64)?;
        if salt.is_empty() {
            return Err(ClientError::Malformed("empty salt"));
        }
        if !(self.min_iterations..=self.max_iterations).contains(&sf.iterations) {
            return Err(ClientError::IterationCountOutOfRange {
                iterations: sf.iterations,
                min: self.min_iterations,
                max: self.max_iterations,
            });
        }
        if let Some(adv) = &self.advertised {
            match sf.ssdp_b64 {
                Some(h) => {
                    let theirs = decode_strict(h).map_err(|_| ClientError::InvalidBase64)?;
                    let ours = adv.ssdp_hash(self.hash);
                    if !bool::from(ours.ct_eq(&theirs)) {
                        return Err(ClientError::DowngradeDetected);
                    }
                }
                None if self.require_ssdp => return Err(ClientError::SsdpMissing),
                None => {}
            }
        }

        let iterations = NonZeroU32::new(sf.iterations).unwrap_or(NonZeroU32::MIN);
        let mut salted = self.hash.hi(self.password.as_bytes(), &salt, iterations);
        let keys = DerivedKeys::from_salted_password(self.hash, &salted);
        wipe(&mut salted);

        let cb = [self.gs2_header.as_bytes(), &self.cb_data].concat();
        let without_proof = format!("c={},r={}", encode_base64(&cb), sf.nonce);
        let auth_message = [
            self.bare.as_bytes(),
            b",",
            msg.as_bytes(),
            b",",
            without_proof.as_bytes(),
        ]
        .concat();
        let client_signature = self.hash.hmac(&keys.stored_key, &[&auth_message]);
        let proof = xor(&keys.client_key, &client_signature);
        let server_signature = self.hash.hmac(&keys.server_key, &[&auth_message]);
        self.state = State::SentFinal { server_signature };
        Ok(format!("{without_proof},p={}", encode_base64(&proof)).into_bytes())
    }
}

fn verify_server_final(expected: &[u8], msg: &str) -> Result<(), ClientError> {
    match parse::server_final(msg).map_err(map_parse)? {
        ServerFinal::Error(e) => Err(ClientError::ServerError(e.to_owned())),
        ServerFinal::Verifier(v) => {
            let v = decode_strict(v).map_err(|_| ClientError::InvalidBase64)?;
            if bool::from(v.ct_eq(expected)) {
                Ok(())
            } else {
                Err(ClientError::ServerSignatureMismatch)
            }
        }
    }
}
