//! PLAIN (RFC 4616), verified against the stored SCRAM record.
//!
//! `message = [authzid] NUL authcid NUL passwd`. The server SASLpreps the authcid and the
//! password, asks the caller for the user's SCRAM record of the configured PLAIN hash
//! (SHA-256 unless configured otherwise), and checks
//! `H(HMAC(Hi(password, salt, i), "Client Key")) == StoredKey` in constant time. An unknown user
//! costs the same PBKDF2 against a fake record, so timing does not reveal account existence.
//!
//! PLAIN sends the password itself: it is offered only on encrypted streams, and XEP-0474 cannot
//! protect it against downgrades.

use crate::config::ServerOffer;
use crate::credentials::StoredCredentials;
use crate::error::{Failure, FailureCondition, FailureReason};
use crate::saslprep::saslprep;
use crate::secret::SecretBytes;
use crate::server::{ServerStep, check_authzid};

/// Longest authcid, authzid or password accepted (RFC 4616 requires at least 255 octets).
const MAX_FIELD_LEN: usize = 1024;

pub(crate) struct PlainServer {
    state: State,
}

enum State {
    Start,
    NeedCredentials {
        authzid: Option<String>,
        username: String,
        /// `None` when SASLprep rejected the password: it cannot match anything.
        password: Option<SecretBytes>,
    },
    Finished,
}

impl PlainServer {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Start,
        }
    }

    pub(crate) fn handle_message(
        &mut self,
        offer: &ServerOffer,
        msg: &str,
    ) -> Result<ServerStep, Failure> {
        if !matches!(
            std::mem::replace(&mut self.state, State::Finished),
            State::Start
        ) {
            return Err(Failure::new(
                FailureCondition::MalformedRequest,
                FailureReason::UnexpectedMessage,
            ));
        }
        let mut parts = msg.split('\0');
        let (Some(authzid), Some(authcid), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Failure::malformed("PLAIN needs exactly two NUL separators"));
        };
        if authcid.is_empty() || password.is_empty() {
            return Err(Failure::malformed("empty authcid or password"));
        }
        if authzid.len() > MAX_FIELD_LEN
            || authcid.len() > MAX_FIELD_LEN
            || password.len() > MAX_FIELD_LEN
        {
            return Err(Failure::new(
                FailureCondition::MalformedRequest,
                FailureReason::TooLong,
            ));
        }
        let username = saslprep(authcid)
            .map_err(|_| {
                Failure::new(
                    FailureCondition::MalformedRequest,
                    FailureReason::InvalidUsername,
                )
            })?
            .into_owned();
        let password = saslprep(password).ok().map(|p| SecretBytes::from(&*p));
        self.state = State::NeedCredentials {
            authzid: (!authzid.is_empty()).then(|| authzid.to_owned()),
            username: username.clone(),
            password,
        };
        Ok(ServerStep::NeedCredentials {
            username,
            hash: offer.config().plain_hash(),
        })
    }

    pub(crate) fn provide_credentials(
        &mut self,
        offer: &ServerOffer,
        credentials: Option<StoredCredentials>,
    ) -> Result<ServerStep, Failure> {
        let State::NeedCredentials {
            authzid,
            username,
            password,
        } = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(Failure::new(
                FailureCondition::TemporaryAuthFailure,
                FailureReason::UnexpectedCall,
            ));
        };
        let config = offer.config();
        let (min, max) = config.iteration_bounds();
        let (record, fake) = match credentials {
            Some(c) if c.hash() == config.plain_hash() && (min..=max).contains(&c.iterations()) => {
                (c, None)
            }
            other => {
                let reason = if other.is_some() {
                    FailureReason::CredentialsUnusable
                } else {
                    FailureReason::UnknownUser
                };
                let fake = StoredCredentials::fake(
                    config.plain_hash(),
                    config.secret(),
                    &username,
                    config.unknown_user_iterations(),
                    config.unknown_user_salt_len(),
                );
                (fake, Some(reason))
            }
        };
        // Always run the PBKDF2, even when the outcome is already known.
        let candidate = password.as_ref().map_or(&b"\0"[..], SecretBytes::as_bytes);
        let matches = record.verify_prepared(candidate);
        if let Some(reason) = fake {
            return Err(Failure::not_authorized(reason));
        }
        if !matches || password.is_none() {
            return Err(Failure::not_authorized(FailureReason::InvalidCredentials));
        }
        let authzid = check_authzid(offer, &username, authzid.as_deref())?;
        Ok(ServerStep::Success {
            additional_data: None,
            authcid: username,
            authzid,
        })
    }
}

/// The client's PLAIN message.
pub(crate) fn client_message(
    authzid: Option<&str>,
    username: &str,
    password: &str,
) -> Result<SecretBytes, crate::ClientError> {
    use crate::ClientError;
    let username = saslprep(username).map_err(|_| ClientError::InvalidInput("username"))?;
    let password = saslprep(password).map_err(|_| ClientError::InvalidInput("password"))?;
    let authzid = authzid.unwrap_or("");
    if authzid.contains('\0') {
        return Err(ClientError::InvalidInput("authzid"));
    }
    let mut msg = Vec::with_capacity(authzid.len() + username.len() + password.len() + 2);
    msg.extend_from_slice(authzid.as_bytes());
    msg.push(0);
    msg.extend_from_slice(username.as_bytes());
    msg.push(0);
    msg.extend_from_slice(password.as_bytes());
    Ok(SecretBytes::new(msg))
}
