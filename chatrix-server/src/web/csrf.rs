//! Cross-site request forgery protection for the forms.
//!
//! Three independent checks, any of which stops a forged POST:
//!
//! 1. A random nonce in a cookie (`HttpOnly`, `SameSite=Strict`, and on HTTPS `Secure` with
//!    the `__Host-` prefix, so a sibling subdomain cannot plant it), and in a hidden field a
//!    token that is an HMAC of that nonce, the form's name and the time it was issued, keyed
//!    with a key derived from the server secret. A forger can neither read the victim's
//!    cookie nor make a token for it; a token is good for [`TOKEN_TTL`] by the injected clock.
//! 2. `Sec-Fetch-Site`, which browsers set and pages cannot: only `same-origin` and `none` (a
//!    URL the person typed) are accepted.
//! 3. `Origin`, when sent: it must name the host the request was sent to. Browsers send
//!    `Origin: null` for a form posted from a page with `Referrer-Policy: no-referrer` (ours),
//!    so `null` passes when `Sec-Fetch-Site` vouches for the same origin, and only then.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};

/// How long a form may be answered.
pub(super) const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// How far in the future a token's time may be (a clock stepped back).
const FUTURE_SLACK: Duration = Duration::from_secs(60);
/// Random bytes in a nonce.
const NONCE_LEN: usize = 16;
/// The cookie's name on HTTPS: the `__Host-` prefix makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`.
const COOKIE_SECURE: &str = "__Host-chatrix-csrf";
/// The cookie's name on plain HTTP (where `__Host-` cookies cannot be set).
const COOKIE_PLAIN: &str = "chatrix-csrf";

/// Why a POST was refused as possibly forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum CsrfError {
    /// No cookie came with the form.
    #[error(
        "your browser did not send this site's cookie with the form; allow cookies for this \
         site, reload the form and try again"
    )]
    NoCookie,
    /// The form had no token.
    #[error("the form is incomplete; reload it and try again")]
    NoToken,
    /// The token does not belong to this cookie and form, or has expired.
    #[error("this form has expired or was not issued for this page; reload it and try again")]
    BadToken,
    /// The browser says the form was sent from another site.
    #[error("this form was sent from another site; open this page directly and try again")]
    CrossSite,
}

/// The key that signs tokens, derived from the server secret so a token's MAC is never a
/// MAC of the secret's other uses.
pub(super) struct CsrfKey {
    key: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

/// A nonce (the cookie's value), as sent in the cookie: base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Nonce(String);

impl CsrfKey {
    pub(super) fn new(server_secret: &[u8]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, server_secret);
        let derived = hmac::sign(&master, b"chatrix web csrf key v1");
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            rng: SystemRandom::new(),
        }
    }

    /// A fresh nonce, or `None` if the system's random generator failed.
    pub(super) fn new_nonce(&self) -> Option<Nonce> {
        let mut bytes = [0u8; NONCE_LEN];
        self.rng.fill(&mut bytes).ok()?;
        Some(Nonce(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token for `form` (its path) under `nonce`, issued at `now`.
    pub(super) fn token(&self, nonce: &Nonce, form: &str, now: SystemTime) -> String {
        let issued = unix_secs(now);
        let tag = hmac::sign(&self.key, &message(nonce, form, issued));
        format!("{issued}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Checks a POST: the cookie's nonce and the form's token, then where the browser says it
    /// came from.
    pub(super) fn check(
        &self,
        cookie: Option<&Nonce>,
        token: Option<&str>,
        form: &str,
        now: SystemTime,
    ) -> Result<(), CsrfError> {
        let nonce = cookie.ok_or(CsrfError::NoCookie)?;
        let token = token.filter(|t| !t.is_empty()).ok_or(CsrfError::NoToken)?;
        let (issued, tag) = token.split_once('.').ok_or(CsrfError::BadToken)?;
        let issued: u64 = issued.parse().map_err(|_| CsrfError::BadToken)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| CsrfError::BadToken)?;
        hmac::verify(&self.key, &message(nonce, form, issued), &tag)
            .map_err(|_| CsrfError::BadToken)?;
        let now = unix_secs(now);
        let fresh = issued <= now.saturating_add(FUTURE_SLACK.as_secs())
            && now.saturating_sub(issued) <= TOKEN_TTL.as_secs();
        if fresh {
            Ok(())
        } else {
            Err(CsrfError::BadToken)
        }
    }
}

fn message(nonce: &Nonce, form: &str, issued: u64) -> Vec<u8> {
    format!("{}\n{form}\n{issued}", nonce.0).into_bytes()
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The cookie's name on this connection.
pub(super) fn cookie_name(secure: bool) -> &'static str {
    if secure { COOKIE_SECURE } else { COOKIE_PLAIN }
}

/// The nonce the request's cookie carries, if it carries a well-formed one.
pub(super) fn nonce_from_cookies(headers: &HeaderMap, secure: bool) -> Option<Nonce> {
    let name = cookie_name(secure);
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| {
            URL_SAFE_NO_PAD
                .decode(value)
                .is_ok_and(|b| b.len() == NONCE_LEN)
        })
        .map(|value| Nonce(value.to_owned()))
}

/// The `Set-Cookie` value for `nonce`. A session cookie: it goes when the browser closes.
pub(super) fn set_cookie(nonce: &Nonce, secure: bool) -> String {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
        nonce.0
    )
}

/// Whether the browser says this request comes from another site: `Sec-Fetch-Site` other than
/// `same-origin` or `none`, or an `Origin` that is not the `host` the request was sent to
/// (`host` as in the `Host` header, with or without a port), or `Origin: null` without
/// `Sec-Fetch-Site: same-origin`.
pub(super) fn cross_site(headers: &HeaderMap, host: Option<&str>) -> bool {
    let mut same_origin = false;
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site
            .to_str()
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match site.as_str() {
            "same-origin" => same_origin = true,
            "none" => {}
            _ => return true,
        }
    }
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    if origin.trim() == "null" {
        // Our own pages' posts under `Referrer-Policy: no-referrer`; also sandboxed and
        // file pages, which `Sec-Fetch-Site` does not call same-origin.
        return !same_origin;
    }
    let Some(origin) = authority_of_origin(origin.trim()) else {
        // `null` (a sandboxed or file page) and anything unreadable.
        return true;
    };
    let Some(host) = host else {
        return true;
    };
    let (host_name, host_port) = split_port(host);
    let (origin_name, origin_port) = (origin.0, origin.1);
    let host_port = host_port.or(Some(origin.2));
    !(host_name.eq_ignore_ascii_case(origin_name) && host_port == Some(origin_port))
}

/// `scheme://host[:port]` → (host, port, default port of the scheme).
fn authority_of_origin(origin: &str) -> Option<(&str, u16, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (name, port) = split_port(rest);
    Some((name, port.unwrap_or(default), default))
}

/// `host:port`, `[v6]:port`, `host` → (host, port).
fn split_port(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((v6, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (v6, port);
        }
        return (authority, None);
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (authority, None),
        },
        _ => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn key() -> CsrfKey {
        CsrfKey::new(b"0123456789abcdef0123456789abcdef")
    }

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn a_token_is_good_for_its_cookie_form_and_time_only() {
        let k = key();
        let nonce = k.new_nonce().unwrap_or_else(|| panic!("rng"));
        let other = k.new_nonce().unwrap_or_else(|| panic!("rng"));
        let token = k.token(&nonce, "/register", t0());
        assert_eq!(
            k.check(Some(&nonce), Some(&token), "/register", t0()),
            Ok(())
        );
        let later = t0() + TOKEN_TTL;
        assert_eq!(
            k.check(Some(&nonce), Some(&token), "/register", later),
            Ok(())
        );
        let expired = later + Duration::from_secs(1);
        assert_eq!(
            k.check(Some(&nonce), Some(&token), "/register", expired),
            Err(CsrfError::BadToken)
        );
        assert_eq!(
            k.check(Some(&other), Some(&token), "/register", t0()),
            Err(CsrfError::BadToken)
        );
        assert_eq!(
            k.check(Some(&nonce), Some(&token), "/delete", t0()),
            Err(CsrfError::BadToken)
        );
        assert_eq!(
            k.check(None, Some(&token), "/register", t0()),
            Err(CsrfError::NoCookie)
        );
        assert_eq!(
            k.check(Some(&nonce), None, "/register", t0()),
            Err(CsrfError::NoToken)
        );
        assert_eq!(
            k.check(Some(&nonce), Some(""), "/register", t0()),
            Err(CsrfError::NoToken)
        );
        // Another server's secret.
        let foreign = CsrfKey::new(b"another secret, just as long....");
        assert_eq!(
            foreign.check(Some(&nonce), Some(&token), "/register", t0()),
            Err(CsrfError::BadToken)
        );
        // A token from the future (beyond the slack) is refused.
        let future = k.token(&nonce, "/register", t0() + Duration::from_secs(3600));
        assert_eq!(
            k.check(Some(&nonce), Some(&future), "/register", t0()),
            Err(CsrfError::BadToken)
        );
    }

    #[test]
    fn the_time_cannot_be_changed_without_the_key() {
        let k = key();
        let nonce = k.new_nonce().unwrap_or_else(|| panic!("rng"));
        let token = k.token(&nonce, "/register", t0());
        let (_, tag) = token.split_once('.').unwrap_or_else(|| panic!("{token}"));
        let moved = format!("{}.{tag}", 1_700_000_000 + 7200);
        let later = t0() + Duration::from_secs(7200);
        assert_eq!(
            k.check(Some(&nonce), Some(&moved), "/register", later),
            Err(CsrfError::BadToken)
        );
    }

    #[test]
    fn cookies_are_read_by_name_and_shape() {
        let k = key();
        let nonce = k.new_nonce().unwrap_or_else(|| panic!("rng"));
        let mut h = HeaderMap::new();
        let cookie = format!("a=b; chatrix-csrf={}; c=d", nonce.0);
        h.insert(
            "cookie",
            HeaderValue::from_str(&cookie).unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(nonce_from_cookies(&h, false), Some(nonce.clone()));
        assert_eq!(nonce_from_cookies(&h, true), None);
        h.insert("cookie", HeaderValue::from_static("chatrix-csrf=short"));
        assert_eq!(nonce_from_cookies(&h, false), None);
        let set = set_cookie(&nonce, true);
        assert!(set.starts_with("__Host-chatrix-csrf="));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.contains("Secure") && set.contains("Path=/"));
        assert!(!set_cookie(&nonce, false).contains("Secure"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let host = Some("chat.example");
        assert!(!cross_site(&headers(&[]), host));
        assert!(!cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            host
        ));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "none")]), host));
        assert!(cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            host
        ));
        assert!(cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            host
        ));
        assert!(!cross_site(
            &headers(&[("origin", "https://chat.example")]),
            host
        ));
        assert!(!cross_site(
            &headers(&[("origin", "https://CHAT.example:443")]),
            host
        ));
        assert!(!cross_site(
            &headers(&[("origin", "https://chat.example:5443")]),
            Some("chat.example:5443")
        ));
        assert!(!cross_site(
            &headers(&[("origin", "http://127.0.0.1:5280")]),
            Some("127.0.0.1:5280")
        ));
        assert!(!cross_site(
            &headers(&[("origin", "http://[::1]:5280")]),
            Some("[::1]:5280")
        ));
        assert!(cross_site(
            &headers(&[("origin", "https://evil.example")]),
            host
        ));
        assert!(cross_site(
            &headers(&[("origin", "https://chat.example:8443")]),
            host
        ));
        assert!(cross_site(
            &headers(&[("origin", "https://chat.example.evil")]),
            host
        ));
        assert!(cross_site(&headers(&[("origin", "null")]), host));
        assert!(cross_site(
            &headers(&[("origin", "null"), ("sec-fetch-site", "none")]),
            host
        ));
        assert!(!cross_site(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            host
        ));
        assert!(cross_site(
            &headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            host
        ));
        assert!(cross_site(
            &headers(&[("origin", "https://chat.example")]),
            None
        ));
    }

    proptest! {
        #[test]
        fn checking_arbitrary_tokens_never_panics_nor_passes(token in "\\PC{0,80}") {
            let k = key();
            let nonce = k.new_nonce().unwrap_or_else(|| panic!("rng"));
            prop_assert!(k.check(Some(&nonce), Some(&token), "/register", t0()).is_err());
        }

        #[test]
        fn arbitrary_origins_never_panic(origin in "\\PC{0,40}", host in "\\PC{0,20}") {
            if let Ok(v) = HeaderValue::from_str(&origin) {
                let mut h = HeaderMap::new();
                h.insert("origin", v);
                let _ = cross_site(&h, Some(&host));
            }
        }
    }
}
