//! XEP-0077 on client streams: registration before authentication, the password change and
//! `<remove/>` after it, and the refusal of a banned address. The forms are xmpp-core's
//! (`register`); the rules and their state are [`Accounts`]'.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use xmpp_core::register::{self, RegisterRequest};
use xmpp_core::{Element, FullJid, Stanza, StanzaError, StreamCondition, StreamError};

use super::shared::Shared;
use crate::accounts::{AccountError, Accounts, CaptchaAnswer, Channel, NewAccount};
use crate::storage::AccountJid;

/// What to tell a client in the registration form.
const INSTRUCTIONS: &str = "Choose a username and a password. \
     Fill in the form, including the CAPTCHA when one is shown.";
/// The question next to the CAPTCHA picture.
const CAPTCHA_LABEL: &str = "Enter the text you see";

/// The bytes that refuse a connection from a banned address, or `None` when it is not
/// banned.
pub(super) async fn refusal_if_banned(shared: &Shared, peer: SocketAddr) -> Option<Bytes> {
    let error = ban_error(shared, peer).await?;
    let domain = shared.ctx.config.hosts.first().map(|h| h.domain.as_str());
    Some(xmpp_stream::c2s::refusal(domain, &error))
}

/// The stream error for a banned address (`policy-violation`, saying when to try again), or
/// `None` when it is not banned.
pub(super) async fn ban_error(shared: &Shared, peer: SocketAddr) -> Option<StreamError> {
    let retry_after = shared.accounts.banned(peer.ip()).await?;
    let error = AccountError::Banned { retry_after };
    Some(
        StreamError::new(StreamCondition::PolicyViolation).with_text(Some("en"), error.to_string()),
    )
}

/// Answers a register IQ received before authentication (get: the form; set: register).
pub(super) async fn answer_unauthenticated(
    accounts: &Accounts,
    domain: &str,
    address: IpAddr,
    iq: &Element,
) -> Element {
    let Ok(stanza) = Stanza::from_element(iq.clone()) else {
        return register::error_answer(
            iq,
            &StanzaError::new(xmpp_core::StanzaCondition::BadRequest),
        );
    };
    match unauthenticated(accounts, domain, address, &stanza).await {
        Ok(payload) => reply(&stanza, Ok(payload)),
        Err(e) => reply(&stanza, Err(e.stanza_error())),
    }
}

async fn unauthenticated(
    accounts: &Accounts,
    domain: &str,
    address: IpAddr,
    iq: &Stanza,
) -> Result<Option<Element>, AccountError> {
    accounts.registration_open_to(address)?;
    let request = parse(iq)?;
    match request {
        RegisterRequest::FormRequest => {
            let captcha = if accounts.captcha_required() {
                let challenge = accounts.new_captcha(address).await?;
                Some(register::Captcha {
                    challenge_id: challenge.id.clone(),
                    png: challenge.png.to_vec(),
                    label: CAPTCHA_LABEL.to_owned(),
                    from: domain.to_owned(),
                    sid: iq.id().unwrap_or_default().to_owned(),
                    size: None,
                })
            } else {
                None
            };
            Ok(Some(register::registration_form(&register::FormSpec {
                captcha,
                ..register::FormSpec::new(INSTRUCTIONS)
            })))
        }
        RegisterRequest::Submit(submission) => {
            // XEP-0077 §3.1: a registration without both fields is `not-acceptable`.
            let (username, password) = submission
                .credentials()
                .map_err(|e| AccountError::Incomplete(e.to_string()))?;
            let captcha = submission.captcha_answer().map(|a| CaptchaAnswer {
                id: a.challenge,
                text: a.answer,
            });
            accounts
                .register(NewAccount {
                    username,
                    domain,
                    password,
                    captcha,
                    address,
                    channel: Channel::InBand,
                })
                .await?;
            Ok(None)
        }
        // Removing an account needs the account: log in first (XEP-0077 §3.2).
        _ => Err(AccountError::WrongCredentials),
    }
}

/// Answers a register IQ from a bound session about its own account: a get says it is
/// registered; a set with a username and password changes the password; `<remove/>` deletes
/// the account (its sessions, this one included, are then closed with `not-authorized`).
pub(super) async fn answer_account_iq(
    accounts: &Accounts,
    sender: &FullJid,
    iq: &Stanza,
) -> Option<Stanza> {
    let Ok(account) = AccountJid::try_from(sender.to_bare()) else {
        return None;
    };
    let answer = match parse(iq) {
        Ok(RegisterRequest::FormRequest) => {
            Ok(Some(register::registered_answer(account.localpart())))
        }
        Ok(RegisterRequest::Submit(submission)) => change_password(accounts, &account, &submission)
            .await
            .map(|()| None),
        Ok(RegisterRequest::Remove) => accounts.delete(&account).await.map(|()| None),
        Ok(_) => Err(AccountError::MissingField),
        Err(e) => Err(e),
    };
    iq_reply(iq, answer.map_err(|e| e.stanza_error()))
}

async fn change_password(
    accounts: &Accounts,
    account: &AccountJid,
    submission: &register::Submission,
) -> Result<(), AccountError> {
    // XEP-0077 §3.3: the username is the account's own (its localpart in any spelling that
    // normalises to it, or its bare JID as the XEP's form examples send); another name is
    // not this session's to change.
    if let Some(username) = submission.username() {
        let own = register::policy::check_username(username)
            .is_ok_and(|u| u == account.localpart())
            || AccountJid::parse(username).is_ok_and(|j| j == *account);
        if !own {
            return Err(AccountError::WrongCredentials);
        }
    }
    let password = submission.password().ok_or(AccountError::MissingField)?;
    accounts.change_password(account, password).await
}

fn parse(iq: &Stanza) -> Result<RegisterRequest, AccountError> {
    let (Some(iq_type), Some(query)) = (iq.iq_type(), iq.iq_payload()) else {
        return Err(AccountError::MissingField);
    };
    RegisterRequest::parse(iq_type, query).map_err(|e| AccountError::InvalidRequest(e.to_string()))
}

fn iq_reply(iq: &Stanza, answer: Result<Option<Element>, StanzaError>) -> Option<Stanza> {
    match answer {
        Ok(payload) => iq.iq_result(payload),
        Err(error) => Stanza::from_element(register::error_answer(iq.element(), &error)).ok(),
    }
}

fn reply(iq: &Stanza, answer: Result<Option<Element>, StanzaError>) -> Element {
    match iq_reply(iq, answer) {
        Some(reply) => reply.into_element(),
        None => register::error_answer(
            iq.element(),
            &StanzaError::new(xmpp_core::StanzaCondition::BadRequest),
        ),
    }
}
