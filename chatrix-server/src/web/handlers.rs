//! The routes: each form's page (GET) and submission (POST), the start page, and the pages
//! for unknown paths and methods.
//!
//! A submission is checked in this order: where the browser says it comes from, whether the
//! address is banned, the body (type, size), the CSRF token, the form's own consistency
//! (fields present, passwords typed twice alike, the deletion confirmed), the CAPTCHA, and
//! only then the account: a wrong password is counted towards a ban by
//! [`Accounts::verify_password`], as a failed login in band is.
//!
//! [`Accounts::verify_password`]: crate::accounts::Accounts::verify_password

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::client_addr::{self, BadForwardedFor};
use super::csrf::{self, CsrfError, Nonce};
use super::forms::{Form, FormError};
use super::pages::{self, DELETE_CONFIRMATION, FormKind, FormView, Tone, field};
use super::{Peer, WebState};
use crate::accounts::{AccountError, CaptchaAnswer, Channel, NewAccount};
use crate::captcha::{CaptchaError, Challenge};
use crate::storage::AccountJid;

type Shared = State<Arc<WebState>>;

/// The pages, for one listener.
pub(super) fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/register", get(register_page).post(register_submit))
        .route("/password", get(password_page).post(password_submit))
        .route("/delete", get(delete_page).post(delete_submit))
        .fallback(not_found)
        // After the routes: it applies to the routes present.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Why a request was refused: by the account rules, or by the web door itself.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Csrf(#[from] CsrfError),
    #[error(transparent)]
    Form(#[from] FormError),
    #[error(transparent)]
    Forwarded(#[from] BadForwardedFor),
    #[error("the two passwords are not the same")]
    PasswordsDiffer,
    #[error("type {DELETE_CONFIRMATION} in the confirmation field to delete the account")]
    NotConfirmed,
    #[error("this server does not host {0}")]
    NotOurDomain(String),
    #[error("the server could not complete this; try again later")]
    Unavailable,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::Account(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Csrf(_) => StatusCode::FORBIDDEN,
            Self::Form(e) => e.status(),
            Self::Forwarded(_)
            | Self::PasswordsDiffer
            | Self::NotConfirmed
            | Self::NotOurDomain(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Account(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// A page to send back.
struct Page {
    status: StatusCode,
    html: String,
    retry_after: Option<Duration>,
    set_cookie: Option<String>,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.html).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let Some(cookie) = self.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// What every form request needs to know about its client.
struct Visit {
    address: IpAddr,
    /// Whether the client uses HTTPS (directly, or to a trusted proxy): the cookie is then
    /// `Secure`.
    secure: bool,
    /// The CSRF nonce from the request's cookie, if it had a good one.
    nonce: Option<Nonce>,
    /// The host the client asked for (without the port), lowercase.
    host_name: Option<String>,
    /// The host with its port, as the `Origin` check compares it.
    host: Option<String>,
}

impl Visit {
    fn of(state: &WebState, peer: Peer, headers: &HeaderMap) -> Result<Self, Refusal> {
        let trusted = &state.trusted_proxies;
        let address = client_addr::client_address(peer.0, headers, trusted)?;
        let secure = state.https || client_addr::forwarded_https(peer.0, headers, trusted);
        let host = client_addr::request_host(peer.0, headers, trusted).map(str::to_owned);
        let host_name = host.as_deref().map(|h| {
            let name = match h.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(v6),
                None => h.rsplit_once(':').map_or(h, |(n, _)| n),
            };
            name.trim_end_matches('.').to_ascii_lowercase()
        });
        Ok(Self {
            address,
            secure,
            nonce: csrf::nonce_from_cookies(headers, secure),
            host_name,
            host,
        })
    }
}

impl WebState {
    fn site(&self) -> &str {
        self.ctx
            .config
            .hosts
            .first()
            .map_or("XMPP", |h| h.domain.as_str())
    }

    fn domains(&self) -> Vec<String> {
        self.ctx
            .config
            .hosts
            .iter()
            .map(|h| h.domain.clone())
            .collect()
    }

    /// The domain a bare username belongs to: the host the browser asked for, when it is one
    /// of ours, else the first host.
    fn default_domain(&self, visit: &Visit) -> String {
        visit
            .host_name
            .as_deref()
            .filter(|h| self.ctx.config.is_host(h))
            .map_or_else(|| self.site().to_owned(), str::to_owned)
    }

    fn refusal_page(&self, title: &str, refusal: &Refusal) -> Page {
        Page {
            status: refusal.status(),
            html: pages::message(self.site(), title, Tone::Refusal, &refusal.to_string()),
            retry_after: refusal.retry_after(),
            set_cookie: None,
        }
    }
}

async fn index(State(state): Shared) -> Page {
    Page {
        status: StatusCode::OK,
        html: pages::index(state.site(), &state.domains()),
        retry_after: None,
        set_cookie: None,
    }
}

async fn not_found(State(state): Shared) -> Page {
    Page {
        status: StatusCode::NOT_FOUND,
        html: pages::message(
            state.site(),
            "Not found",
            Tone::Refusal,
            "There is no page at this address.",
        ),
        retry_after: None,
        set_cookie: None,
    }
}

async fn method_not_allowed(State(state): Shared) -> Page {
    Page {
        status: StatusCode::METHOD_NOT_ALLOWED,
        html: pages::message(
            state.site(),
            "Method not allowed",
            Tone::Refusal,
            "This page can be opened (GET) or, for a form, submitted (POST), nothing else.",
        ),
        retry_after: None,
        set_cookie: None,
    }
}

async fn register_page(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Page {
    page(&state, FormKind::Register, peer, &headers).await
}

async fn password_page(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Page {
    page(&state, FormKind::Password, peer, &headers).await
}

async fn delete_page(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Page {
    page(&state, FormKind::Delete, peer, &headers).await
}

async fn page(state: &WebState, kind: FormKind, peer: Peer, headers: &HeaderMap) -> Page {
    match Visit::of(state, peer, headers) {
        Ok(visit) => {
            let domain = state.default_domain(&visit);
            show_form(state, kind, &visit, None, "", &domain).await
        }
        Err(refusal) => state.refusal_page(kind.title(), &refusal),
    }
}

/// The form, fresh or with the error of the last submission (and its status). When the form
/// cannot be shown at all (a ban, closed registration, too many CAPTCHAs), a page saying why,
/// after the error that led here.
async fn show_form(
    state: &WebState,
    kind: FormKind,
    visit: &Visit,
    error: Option<&Refusal>,
    username: &str,
    domain: &str,
) -> Page {
    let blocked = |refusal: Refusal| {
        let text = match error {
            Some(e) => format!("{e}. Moreover, {refusal}."),
            None => refusal.to_string(),
        };
        Page {
            status: refusal.status(),
            html: pages::message(state.site(), kind.title(), Tone::Refusal, &text),
            retry_after: refusal.retry_after(),
            set_cookie: None,
        }
    };
    let accounts = &state.accounts;
    if let Some(retry_after) = accounts.banned(visit.address).await {
        return blocked(AccountError::Banned { retry_after }.into());
    }
    if kind == FormKind::Register
        && let Err(e) = accounts.registration_open_to(visit.address)
    {
        return blocked(e.into());
    }
    let challenge = if accounts.captcha_required() {
        match new_challenge(state, kind, visit.address).await {
            Ok(c) => Some(c),
            Err(refusal) => return blocked(refusal),
        }
    } else {
        None
    };
    let (nonce, set_cookie) = match &visit.nonce {
        Some(n) => (n.clone(), None),
        None => match state.csrf.new_nonce() {
            Some(n) => {
                let cookie = csrf::set_cookie(&n, visit.secure);
                (n, Some(cookie))
            }
            None => return blocked(Refusal::Unavailable),
        },
    };
    let token = state.csrf.token(&nonce, kind.path(), state.ctx.clock.now());
    let domains = state.domains();
    let error_text = error.map(ToString::to_string);
    let html = pages::form(&FormView {
        kind,
        site: state.site(),
        csrf_token: &token,
        captcha: challenge.as_ref(),
        error: error_text.as_deref(),
        username,
        domains: &domains,
        domain,
    });
    Page {
        status: error.map_or(StatusCode::OK, Refusal::status),
        html,
        retry_after: error.and_then(Refusal::retry_after),
        set_cookie,
    }
}

/// A CAPTCHA for a form. Registration asks `Accounts::new_captcha` (which also refuses when
/// registration is closed); the password and deletion pages, which serve existing accounts
/// whatever the registration mode, ask the same store (and flood limit) directly.
async fn new_challenge(
    state: &WebState,
    kind: FormKind,
    address: IpAddr,
) -> Result<Challenge, Refusal> {
    if kind == FormKind::Register {
        return Ok(state.accounts.new_captcha(address).await?);
    }
    let now = state.ctx.clock.now();
    match state.accounts.captchas().issue_async(address, now).await {
        Ok(challenge) => Ok(challenge),
        Err(CaptchaError::Flooded { retry_after } | CaptchaError::Busy { retry_after }) => {
            Err(AccountError::CaptchaFlooded { retry_after }.into())
        }
        Err(_) => Err(AccountError::CaptchaUnavailable.into()),
    }
}

/// The parts of a submission every form shares, checked: origin, ban, body, CSRF token.
async fn submission(
    state: &WebState,
    kind: FormKind,
    visit: &Visit,
    headers: &HeaderMap,
    body: Body,
) -> Result<Form, Refusal> {
    if csrf::cross_site(headers, visit.host.as_deref()) {
        return Err(CsrfError::CrossSite.into());
    }
    if let Some(retry_after) = state.accounts.banned(visit.address).await {
        return Err(AccountError::Banned { retry_after }.into());
    }
    let form = Form::read(headers, body).await?;
    state.csrf.check(
        visit.nonce.as_ref(),
        form.raw(field::CSRF),
        kind.path(),
        state.ctx.clock.now(),
    )?;
    Ok(form)
}

/// The answer to a POST: the success page, or the form again with the error (a refusal that
/// the form cannot fix gets a page of its own).
async fn respond(
    state: &WebState,
    kind: FormKind,
    visit: &Visit,
    form: Option<&Form>,
    outcome: Result<String, Refusal>,
) -> Page {
    match outcome {
        Ok(text) => Page {
            status: StatusCode::OK,
            html: pages::message(state.site(), kind.title(), Tone::Success, &text),
            retry_after: None,
            set_cookie: None,
        },
        Err(refusal) => {
            tracing::debug!(address = %visit.address, form = kind.path(), reason = %refusal, "web form refused");
            let final_page = match &refusal {
                Refusal::Account(AccountError::Banned { .. })
                | Refusal::Form(_)
                | Refusal::Forwarded(_) => true,
                Refusal::Account(e) => matches!(
                    e,
                    AccountError::RegistrationClosed | AccountError::NotFromThisNetwork
                ),
                _ => false,
            };
            if final_page {
                return state.refusal_page(kind.title(), &refusal);
            }
            let username = form
                .and_then(|f| f.text(field::USERNAME))
                .unwrap_or_default();
            let domain = form
                .and_then(|f| f.text(field::DOMAIN))
                .filter(|d| state.ctx.config.is_host(d))
                .map_or_else(|| state.default_domain(visit), str::to_owned);
            // A CSRF refusal gets a fresh form (and a cookie, if the browser had none), with
            // the 403 of its error.
            show_form(state, kind, visit, Some(&refusal), username, &domain).await
        }
    }
}

async fn register_submit(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Page {
    post(&state, FormKind::Register, peer, &headers, body, register).await
}

async fn password_submit(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Page {
    post(
        &state,
        FormKind::Password,
        peer,
        &headers,
        body,
        change_password,
    )
    .await
}

async fn delete_submit(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Page {
    post(&state, FormKind::Delete, peer, &headers, body, delete).await
}

/// One POST: the shared checks, then `action`.
async fn post<A>(
    state: &WebState,
    kind: FormKind,
    peer: Peer,
    headers: &HeaderMap,
    body: Body,
    action: A,
) -> Page
where
    A: AsyncFnOnce(&WebState, &Visit, &Form) -> Result<String, Refusal>,
{
    let visit = match Visit::of(state, peer, headers) {
        Ok(visit) => visit,
        Err(refusal) => return state.refusal_page(kind.title(), &refusal),
    };
    match submission(state, kind, &visit, headers, body).await {
        Ok(form) => {
            let outcome = action(state, &visit, &form).await;
            respond(state, kind, &visit, Some(&form), outcome).await
        }
        Err(refusal) => respond(state, kind, &visit, None, Err(refusal)).await,
    }
}

async fn register(state: &WebState, visit: &Visit, form: &Form) -> Result<String, Refusal> {
    let (Some(username), Some(password)) = (form.text(field::USERNAME), form.raw(field::PASSWORD))
    else {
        return Err(AccountError::MissingField.into());
    };
    if form.raw(field::PASSWORD_AGAIN) != Some(password) {
        return Err(Refusal::PasswordsDiffer);
    }
    let domain = match form.text(field::DOMAIN) {
        Some(d) if state.ctx.config.is_host(&d.to_ascii_lowercase()) => d.to_ascii_lowercase(),
        Some(d) => return Err(Refusal::NotOurDomain(d.to_owned())),
        None => state.default_domain(visit),
    };
    let captcha = match (form.text(field::CAPTCHA_ID), form.text(field::CAPTCHA)) {
        (Some(id), Some(text)) => Some(CaptchaAnswer { id, text }),
        _ => None,
    };
    let account = state
        .accounts
        .register(NewAccount {
            username,
            domain: &domain,
            password,
            captcha,
            address: visit.address,
            channel: Channel::Web,
        })
        .await?;
    Ok(format!(
        "Your account {account} is ready. Sign in with any XMPP client using this address and \
         your password."
    ))
}

async fn change_password(state: &WebState, visit: &Visit, form: &Form) -> Result<String, Refusal> {
    let (Some(username), Some(password), Some(new)) = (
        form.text(field::USERNAME),
        form.raw(field::PASSWORD),
        form.raw(field::NEW_PASSWORD),
    ) else {
        return Err(AccountError::MissingField.into());
    };
    if form.raw(field::NEW_PASSWORD_AGAIN) != Some(new) {
        return Err(Refusal::PasswordsDiffer);
    }
    check_captcha(state, form)?;
    let account = authenticate(state, visit, username, password).await?;
    state.accounts.change_password(&account, new).await?;
    Ok(format!(
        "The password of {account} is changed. Clients that are signed in stay signed in; use \
         the new password from now on."
    ))
}

async fn delete(state: &WebState, visit: &Visit, form: &Form) -> Result<String, Refusal> {
    let (Some(username), Some(password)) = (form.text(field::USERNAME), form.raw(field::PASSWORD))
    else {
        return Err(AccountError::MissingField.into());
    };
    if !form
        .text(field::CONFIRM)
        .is_some_and(|c| c.eq_ignore_ascii_case(DELETE_CONFIRMATION))
    {
        return Err(Refusal::NotConfirmed);
    }
    check_captcha(state, form)?;
    let account = authenticate(state, visit, username, password).await?;
    state.accounts.delete(&account).await?;
    let days = state.ctx.config.registration.tombstone.as_secs() / 86_400;
    Ok(format!(
        "The account {account} is deleted. Its address can be registered again after {days} \
         days."
    ))
}

/// The CAPTCHA of the password and deletion forms (registration's is checked by
/// `Accounts::register`).
fn check_captcha(state: &WebState, form: &Form) -> Result<(), Refusal> {
    if !state.accounts.captcha_required() {
        return Ok(());
    }
    let (Some(id), Some(text)) = (form.text(field::CAPTCHA_ID), form.text(field::CAPTCHA)) else {
        return Err(AccountError::CaptchaMissing.into());
    };
    state
        .accounts
        .captchas()
        .verify(id, text, state.ctx.clock.now())
        .map_err(|_| AccountError::CaptchaWrong.into())
}

/// The account named by `username` (a full address on one of our hosts, or a localpart on
/// the host the browser asked for), if `password` is its password. Every failure counts as a
/// failed login of the client's address.
async fn authenticate(
    state: &WebState,
    visit: &Visit,
    username: &str,
    password: &str,
) -> Result<AccountJid, Refusal> {
    let accounts = &state.accounts;
    let parsed = if username.contains('@') {
        AccountJid::parse(username)
    } else {
        AccountJid::from_parts(username, &state.default_domain(visit))
    };
    let account = match parsed {
        Ok(account) if state.ctx.config.is_host(account.domain()) => account,
        Ok(account) => return Err(Refusal::NotOurDomain(account.domain().to_owned())),
        Err(_) => {
            accounts.auth_failed(visit.address).await;
            return Err(AccountError::WrongCredentials.into());
        }
    };
    match accounts
        .verify_password(&account, password, visit.address)
        .await
    {
        Ok(()) => Ok(account),
        // Unknown accounts look like wrong passwords, and count the same.
        Err(AccountError::NoSuchAccount) => {
            accounts.auth_failed(visit.address).await;
            Err(AccountError::WrongCredentials.into())
        }
        Err(e) => Err(e.into()),
    }
}
