//! The XML side of SASL (RFC 6120 §6): `<auth/>`, `<response/>` and `<abort/>` in,
//! `<challenge/>`, `<success/>` and `<failure/>` out, around an `xmpp-sasl` session.
//!
//! The mechanisms themselves live in `xmpp-sasl`; this module decodes payloads, maps the
//! SASL username to an account of the stream's domain, counts failures and checks the
//! authorisation identity against the account.

use xmpp_core::jid::BareJid;
use xmpp_core::{Element, ns};
use xmpp_sasl::{
    Failure, FailureCondition, FailureReason, Mechanism, Rng, ScramHash, ServerOffer,
    ServerSession, ServerStep, StoredCredentials, decode_sasl_payload, encode_base64,
    encode_sasl_payload,
};

/// What the connection does after a SASL element or a credential answer.
#[derive(Debug)]
pub(super) enum Step {
    /// Send this `<challenge/>`; the exchange goes on.
    Challenge(Element),
    /// Ask the driver for the stored credentials of `jid`; read no input until it answers.
    NeedCredentials {
        username: String,
        jid: BareJid,
        hash: ScramHash,
        mechanism: Mechanism,
    },
    /// Send this `<success/>`, then restart the stream: `jid` is authenticated.
    Success { reply: Element, jid: BareJid },
    /// Send this `<failure/>`. When `exhausted`, the stream is closed after it.
    Failure {
        reply: Element,
        failure: Failure,
        username: Option<String>,
        exhausted: bool,
    },
}

/// One running exchange.
#[derive(Debug)]
struct Exchange {
    session: ServerSession,
    /// The username the mechanism named, once it did (for failure reports).
    username: Option<String>,
    /// Its account, when the name can be one.
    jid: Option<BareJid>,
    /// The record the session is waiting for, while the driver looks it up.
    awaiting: Option<ScramHash>,
}

/// SASL on one connection: the offer of the current stream, the running exchange, and the
/// failure count, which survives exchanges (but not the connection).
#[derive(Debug)]
pub(super) struct Negotiation {
    // Boxed: both are needed only until authentication, and inline they would take about
    // 490 bytes of every connection for its whole life.
    offer: Option<Box<ServerOffer>>,
    exchange: Option<Box<Exchange>>,
    failures: u32,
    max_failures: u32,
}

impl Negotiation {
    pub(super) fn new(max_failures: u32) -> Self {
        Self {
            offer: None,
            exchange: None,
            failures: 0,
            max_failures,
        }
    }

    /// The offer for a new (unauthenticated) stream. Any exchange of the old stream is gone
    /// with it.
    pub(super) fn set_offer(&mut self, offer: ServerOffer) {
        self.offer = Some(Box::new(offer));
        self.exchange = None;
    }

    /// Forgets the offer and any exchange (after success, or when TLS starts).
    pub(super) fn reset(&mut self) {
        self.offer = None;
        self.exchange = None;
    }

    /// Whether an exchange is under way (a challenge is out, or credentials are awaited).
    pub(super) fn in_progress(&self) -> bool {
        self.exchange.is_some()
    }

    pub(super) fn awaiting_credentials(&self) -> bool {
        self.exchange.as_ref().is_some_and(|e| e.awaiting.is_some())
    }

    /// `<auth mechanism='…'>initial response</auth>`.
    pub(super) fn handle_auth(&mut self, auth: &Element, domain: &str, rng: &mut dyn Rng) -> Step {
        if self.exchange.is_some() {
            // RFC 6120 has the client abort first; a second <auth/> mid-exchange would let a
            // client restart exchanges forever without ever failing one.
            return self.fail_exchange(Failure::new(
                FailureCondition::MalformedRequest,
                FailureReason::UnexpectedMessage,
            ));
        }
        let Some(offer) = &self.offer else {
            return self.fail(
                Failure::new(
                    FailureCondition::TemporaryAuthFailure,
                    FailureReason::UnexpectedCall,
                ),
                None,
            );
        };
        let Some(name) = auth.attr("mechanism") else {
            return self.fail(
                Failure::new(
                    FailureCondition::InvalidMechanism,
                    FailureReason::MechanismNotOffered,
                ),
                None,
            );
        };
        let session = match offer.start(name, rng) {
            Ok(s) => s,
            Err(f) => return self.fail(f, None),
        };
        // RFC 6120 §6.4.2: an empty element is "no initial response", `=` an empty one.
        let Ok(initial) = decode_sasl_payload(&auth.text()) else {
            return self.fail(incorrect_encoding(), None);
        };
        self.exchange = Some(Box::new(Exchange {
            session,
            username: None,
            jid: None,
            awaiting: None,
        }));
        match initial {
            Some(data) => self.feed(&data, domain),
            // The client waits for an empty challenge and sends its first message as a
            // <response/>, which the session then reads as the initial response.
            None => Step::Challenge(challenge(&[])),
        }
    }

    /// `<response>data</response>`.
    pub(super) fn handle_response(&mut self, response: &Element, domain: &str) -> Step {
        if self.exchange.is_none() {
            return self.fail(
                Failure::new(
                    FailureCondition::MalformedRequest,
                    FailureReason::UnexpectedMessage,
                ),
                None,
            );
        }
        match decode_sasl_payload(&response.text()) {
            // In a response, an empty element is simply empty data (RFC 6120 §6.4.3).
            Ok(data) => self.feed(&data.unwrap_or_default(), domain),
            Err(_) => self.fail_exchange(incorrect_encoding()),
        }
    }

    /// `<abort/>`: RFC 6120 §6.4.4, answered with `<failure><aborted/></failure>`. It counts
    /// as a failed attempt, so aborts cannot be used to retry forever.
    pub(super) fn handle_abort(&mut self) -> Step {
        self.fail_exchange(Failure::from_condition(FailureCondition::Aborted))
    }

    /// A `<failure/>` decided outside the exchange (`encryption-required` before TLS).
    pub(super) fn refuse(&mut self, failure: Failure) -> Step {
        self.fail(failure, None)
    }

    /// The driver's answer to [`Step::NeedCredentials`]: the account's records (any hashes;
    /// the one needed is picked), or none for an unknown user. `None` if nothing was asked.
    pub(super) fn provide_credentials(
        &mut self,
        records: Option<Vec<StoredCredentials>>,
        domain: &str,
    ) -> Option<Step> {
        let exchange = self.exchange.as_mut()?;
        let hash = exchange.awaiting.take()?;
        let record = records.into_iter().flatten().find(|r| r.hash() == hash);
        let result = match record {
            Some(record) => exchange.session.provide_credentials(record),
            None => exchange.session.user_not_found(),
        };
        Some(self.map_step(result, domain))
    }

    fn feed(&mut self, data: &[u8], domain: &str) -> Step {
        let Some(exchange) = self.exchange.as_mut() else {
            return self.fail(
                Failure::new(
                    FailureCondition::MalformedRequest,
                    FailureReason::UnexpectedMessage,
                ),
                None,
            );
        };
        let result = exchange.session.handle_client_message(data);
        self.map_step(result, domain)
    }

    fn map_step(&mut self, result: Result<ServerStep, Failure>, domain: &str) -> Step {
        let Some(exchange) = self.exchange.as_mut() else {
            return self.fail(
                Failure::new(
                    FailureCondition::TemporaryAuthFailure,
                    FailureReason::UnexpectedCall,
                ),
                None,
            );
        };
        match result {
            Ok(ServerStep::Challenge(data)) => Step::Challenge(challenge(&data)),
            Ok(ServerStep::NeedCredentials { username, hash }) => {
                let Ok(jid) = BareJid::from_parts(Some(&username), domain) else {
                    // SASLprep accepted the name, but no account can have it (a space, an
                    // `@`): run the exchange on as for an unknown user, so it ends in the same
                    // not-authorized, without asking storage.
                    exchange.username = Some(username);
                    let result = exchange.session.user_not_found();
                    return self.map_step(result, domain);
                };
                let local = jid.localpart().unwrap_or_default().to_owned();
                exchange.username = Some(local.clone());
                exchange.jid = Some(jid.clone());
                exchange.awaiting = Some(hash);
                Step::NeedCredentials {
                    username: local,
                    jid,
                    hash,
                    mechanism: exchange.session.mechanism(),
                }
            }
            Ok(ServerStep::Success {
                additional_data,
                authcid,
                authzid,
            }) => {
                let account = exchange.jid.clone();
                self.succeed(
                    account,
                    &authcid,
                    authzid.as_deref(),
                    additional_data,
                    domain,
                )
            }
            Ok(_) => self.fail_exchange(Failure::new(
                FailureCondition::TemporaryAuthFailure,
                FailureReason::UnexpectedCall,
            )),
            Err(failure) => self.fail_exchange(failure),
        }
    }

    fn succeed(
        &mut self,
        account: Option<BareJid>,
        authcid: &str,
        authzid: Option<&str>,
        additional_data: Option<Vec<u8>>,
        domain: &str,
    ) -> Step {
        let jid = match account {
            Some(jid) => jid,
            // Only mechanisms that never ask for credentials (EXTERNAL) get here, and a name
            // that cannot be an account, whose exchange cannot succeed.
            None => match BareJid::from_parts(Some(authcid), domain) {
                Ok(jid) => jid,
                Err(_) => {
                    return self.fail_exchange(Failure::new(
                        FailureCondition::NotAuthorized,
                        FailureReason::InvalidUsername,
                    ));
                }
            },
        };
        // The authorisation identity may only name the account itself (security.md §1.6,
        // ejabberd#2446): compared as normalised JIDs, so `Alice@Example.org` is alice.
        if let Some(authzid) = authzid
            && authzid != authcid
            && BareJid::new(authzid).ok().as_ref() != Some(&jid)
        {
            return self.fail_exchange(Failure::new(
                FailureCondition::InvalidAuthzid,
                FailureReason::AuthzidNotAllowed,
            ));
        }
        self.exchange = None;
        let mut reply = Element::new("success", ns::SASL);
        if let Some(data) = additional_data {
            reply.append_text(encode_sasl_payload(&data));
        }
        Step::Success { reply, jid }
    }

    /// Ends the running exchange (if any) with `failure`.
    fn fail_exchange(&mut self, failure: Failure) -> Step {
        let username = self.exchange.take().and_then(|e| e.username);
        self.fail(failure, username)
    }

    fn fail(&mut self, failure: Failure, username: Option<String>) -> Step {
        self.exchange = None;
        self.failures = self.failures.saturating_add(1);
        let reply = Element::new("failure", ns::SASL)
            .with_child(Element::new(failure.condition().as_str(), ns::SASL));
        Step::Failure {
            reply,
            failure,
            username,
            exhausted: self.failures >= self.max_failures,
        }
    }
}

fn challenge(data: &[u8]) -> Element {
    let el = Element::new("challenge", ns::SASL);
    if data.is_empty() {
        el
    } else {
        el.with_text(encode_base64(data))
    }
}

fn incorrect_encoding() -> Failure {
    Failure::new(
        FailureCondition::IncorrectEncoding,
        FailureReason::InvalidBase64,
    )
}
