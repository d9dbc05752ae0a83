//! The account web pages over plain HTTP(S) requests: the happy paths, and every way a
//! request is refused (CSRF, cross-site, CAPTCHA, rate limits, names, passwords, bans,
//! closed registration, sizes, methods).
//!
//! The test plays the person reading the CAPTCHA through `CaptchaStore::answer_of`.

mod support;
mod web_client;

use std::net::IpAddr;
use std::time::Duration;

use chatrix_server::storage::AccountJid;
use support::{Backend, TestServer, client, run_client, with_server};
use web_client::{Http, Reply};

/// Both web listeners, on loopback.
const WEB: &str = r#"
[[listeners]]
kind = "web-https"
address = "127.0.0.1"
port = 0

[[listeners]]
kind = "web-http"
address = "127.0.0.1"
port = 0
"#;

const STRONG: &str = "violet kettle marches upstream 42";
const STRONGER: &str = "seven quiet lanterns over harbour 17";

fn config(extra: &str) -> String {
    format!("{WEB}\n{extra}")
}

fn http(server: &TestServer) -> Http {
    Http::plain(
        server
            .web_http
            .unwrap_or_else(|| panic!("no web-http listener")),
    )
}

fn https(server: &TestServer) -> Http {
    Http::tls(
        server
            .web_https
            .unwrap_or_else(|| panic!("no web-https listener")),
        &server.cert_path(),
    )
}

fn jid(s: &str) -> AccountJid {
    AccountJid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

async fn exists(server: &TestServer, account: &str) -> bool {
    server
        .ctx
        .storage
        .account_exists(&jid(account))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The answer to the form's CAPTCHA, as the person reads it ("" when there is none).
fn answer(server: &TestServer, form: &Reply) -> (String, String) {
    match form.captcha_id() {
        Some(id) => {
            let text = server
                .accounts
                .captchas()
                .answer_of(&id)
                .unwrap_or_else(|| panic!("challenge {id} unknown"));
            (id, text)
        }
        None => (String::new(), String::new()),
    }
}

/// Opens `path`, fills its form with `fields` (plus the CSRF token and, when there is one,
/// the right CAPTCHA answer), and submits it.
async fn submit(server: &TestServer, web: &mut Http, path: &str, fields: &[(&str, &str)]) -> Reply {
    let form = web.get(path).await;
    assert_eq!(form.status, 200, "{form}");
    let csrf = form.csrf();
    let (id, text) = answer(server, &form);
    let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf), ("captcha_id", &id), ("captcha", &text)];
    all.extend_from_slice(fields);
    web.post_form(path, &all).await
}

async fn register(server: &TestServer, web: &mut Http, user: &str, password: &str) -> Reply {
    submit(
        server,
        web,
        "/register",
        &[
            ("username", user),
            ("password", password),
            ("password2", password),
        ],
    )
    .await
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

#[track_caller]
fn assert_security_headers(reply: &Reply) {
    let csp = reply.header("content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'none'",
        "img-src data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "CSP lacks {part}: {reply}");
    }
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// Register over HTTPS, then sign in over XMPP with the new account.
async fn register_over_https_then_log_in(backend: Backend) {
    with_server(backend, &config(""), |server| async move {
        let mut web = https(&server);
        let index = web.get("/").await;
        index.assert(200, "href=\"/register\"");
        assert_security_headers(&index);
        let form = web.get("/register").await;
        form.assert(200, "<html lang=\"en\">");
        assert_security_headers(&form);
        assert!(
            form.captcha_id().is_some(),
            "a CAPTCHA is asked by default:\n{form}"
        );
        assert!(
            form.body.contains("src=\"data:image/png;base64,iVBOR"),
            "{form}"
        );
        let cookie = form.header("set-cookie").unwrap_or_default();
        assert!(cookie.starts_with("__Host-chatrix-csrf="), "{cookie}");
        for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        let done = register(&server, &mut web, "alice", STRONG).await;
        done.assert(200, "alice@localhost");
        assert!(exists(&server, "alice@localhost").await);
        let ca = server.cert_path();
        let run = run_client(client(
            server.direct,
            "direct",
            "alice@localhost",
            STRONG,
            &ca,
        ))
        .await;
        run.assert_success();
    })
    .await;
}

#[tokio::test]
async fn register_over_https_then_log_in_sqlite() {
    register_over_https_then_log_in(Backend::Sqlite).await;
}

#[tokio::test]
async fn register_over_https_then_log_in_postgres() {
    register_over_https_then_log_in(Backend::Postgres).await;
}

/// Change the password (by localpart and by full address), then delete the account; its
/// name is then tombstoned.
#[tokio::test]
async fn change_password_then_delete() {
    let extra = config("[registration]\nweb_per_window = 10\n");
    with_server(Backend::Sqlite, &extra, |server| async move {
        server.add_account("bob@localhost", STRONG).await;
        let mut web = http(&server);
        let fields = [
            ("username", "bob"),
            ("password", STRONG),
            ("new_password", STRONGER),
            ("new_password2", STRONGER),
        ];
        submit(&server, &mut web, "/password", &fields)
            .await
            .assert(200, "password of bob@localhost is changed");
        let ip: IpAddr = [127, 0, 0, 1].into();
        let accounts = &server.accounts;
        assert!(
            accounts
                .verify_password(&jid("bob@localhost"), STRONGER, ip)
                .await
                .is_ok()
        );
        assert!(
            accounts
                .verify_password(&jid("bob@localhost"), STRONG, ip)
                .await
                .is_err()
        );
        // Deletion needs the confirmation typed.
        let fields = [
            ("username", "bob@localhost"),
            ("password", STRONGER),
            ("confirm", ""),
        ];
        submit(&server, &mut web, "/delete", &fields)
            .await
            .assert(400, "type DELETE");
        assert!(exists(&server, "bob@localhost").await);
        let fields = [
            ("username", "bob@localhost"),
            ("password", STRONGER),
            ("confirm", "delete"),
        ];
        submit(&server, &mut web, "/delete", &fields)
            .await
            .assert(200, "bob@localhost is deleted");
        assert!(!exists(&server, "bob@localhost").await);
        register(&server, &mut web, "bob", STRONG)
            .await
            .assert(409, "belonged to a deleted account");
    })
    .await;
}

/// No cookie, no token, a forged token, another form's token, an expired token: 403, with a
/// page that says what to do.
#[tokio::test]
async fn csrf_refusals() {
    with_server(Backend::Sqlite, &config(""), |server| async move {
        server.add_account("carol@localhost", STRONG).await;
        let fields = |csrf: &str| {
            vec![
                ("csrf".to_owned(), csrf.to_owned()),
                ("username".to_owned(), "carol".to_owned()),
                ("password".to_owned(), STRONG.to_owned()),
                ("confirm".to_owned(), "DELETE".to_owned()),
            ]
        };
        let mut web = http(&server);
        let form = web.get("/delete").await;
        let token = form.csrf();
        let owned = fields(&token);
        let f = pairs(&owned);

        // No cookie.
        let mut stranger = http(&server);
        stranger
            .post_form("/delete", &f)
            .await
            .assert(403, "did not send this site&#39;s cookie");
        // No token.
        web.post_form("/delete", &f[1..])
            .await
            .assert(403, "form is incomplete");
        // A forged token.
        let forged = fields("1700000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        web.post_form("/delete", &pairs(&forged))
            .await
            .assert(403, "has expired or was not issued");
        // The token of another form.
        let other = web.get("/password").await.csrf();
        web.post_form("/delete", &pairs(&fields(&other)))
            .await
            .assert(403, "has expired or was not issued");
        // Another browser's token with this cookie.
        let theirs = stranger.get("/delete").await.csrf();
        web.post_form("/delete", &pairs(&fields(&theirs)))
            .await
            .assert(403, "has expired or was not issued");
        // Expired: the form was left open for two hours.
        server.clock.advance(Duration::from_secs(2 * 3600));
        let refused = web.post_form("/delete", &f).await;
        refused.assert(403, "has expired");
        // The refusal is a fresh form the person can use.
        assert!(refused.hidden("csrf").is_some(), "{refused}");
        assert!(exists(&server, "carol@localhost").await);
    })
    .await;
}

/// A POST the browser says came from another site is refused whatever it carries.
#[tokio::test]
async fn cross_site_posts_are_refused() {
    with_server(
        Backend::Sqlite,
        &config("[registration]\ncaptcha = false\n"),
        |server| async move {
            let mut web = http(&server);
            let csrf = web.get("/register").await.csrf();
            let body = web_client::encode(&[
                ("csrf", &csrf),
                ("username", "mallory"),
                ("password", STRONG),
                ("password2", STRONG),
            ]);
            let form = ("content-type", "application/x-www-form-urlencoded");
            for headers in [
                vec![form, ("origin", "https://evil.example")],
                vec![form, ("origin", "null")],
                vec![form, ("sec-fetch-site", "cross-site")],
                vec![form, ("sec-fetch-site", "same-site")],
            ] {
                web.request("POST", "/register", &headers, body.clone())
                    .await
                    .assert(403, "sent from another site");
            }
            assert!(!exists(&server, "mallory@localhost").await);
            // The same form from the page's own origin goes through.
            let origin = web.origin();
            web.request("POST", "/register", &[form, ("origin", &origin)], body)
                .await
                .assert(200, "mallory@localhost is ready");
        },
    )
    .await;
}

/// A wrong answer, no answer, and an answer used twice.
#[tokio::test]
async fn captcha_wrong_missing_and_reused() {
    with_server(Backend::Sqlite, &config(""), |server| async move {
        let mut web = http(&server);
        let form = web.get("/register").await;
        let csrf = form.csrf();
        let (id, text) = answer(&server, &form);
        let user = [
            ("username", "dave"),
            ("password", STRONG),
            ("password2", STRONG),
        ];
        let mut wrong = vec![
            ("csrf", csrf.as_str()),
            ("captcha_id", id.as_str()),
            ("captcha", "nope"),
        ];
        wrong.extend_from_slice(&user);
        let refused = web.post_form("/register", &wrong).await;
        refused.assert(400, "CAPTCHA answer was wrong");
        // The form comes back with a new challenge and the name filled in.
        let new_id = refused.captcha_id().unwrap_or_else(|| panic!("{refused}"));
        assert_ne!(new_id, id);
        assert!(refused.body.contains("value=\"dave\""), "{refused}");
        // The right answer to the challenge the wrong one consumed is too late.
        let mut reused = vec![
            ("csrf", csrf.as_str()),
            ("captcha_id", id.as_str()),
            ("captcha", text.as_str()),
        ];
        reused.extend_from_slice(&user);
        web.post_form("/register", &reused)
            .await
            .assert(400, "CAPTCHA answer was wrong");
        let mut missing = vec![("csrf", csrf.as_str())];
        missing.extend_from_slice(&user);
        web.post_form("/register", &missing)
            .await
            .assert(400, "CAPTCHA was not answered");
        assert!(!exists(&server, "dave@localhost").await);
        // The password form checks its CAPTCHA too.
        server.add_account("dave@localhost", STRONG).await;
        let csrf = web.get("/password").await.csrf();
        let fields = [
            ("csrf", csrf.as_str()),
            ("captcha_id", "00000000000000000000000000000000"),
            ("captcha", "x"),
            ("username", "dave"),
            ("password", STRONG),
            ("new_password", STRONGER),
            ("new_password2", STRONGER),
        ];
        web.post_form("/password", &fields)
            .await
            .assert(400, "CAPTCHA answer was wrong");
    })
    .await;
}

/// Asking for CAPTCHAs too fast blocks the address for a while.
#[tokio::test]
async fn captcha_flood_is_refused_with_retry_after() {
    let extra = config(
        "[registration]\ncaptcha_per_address = 3\ncaptcha_flood_window_secs = 60\ncaptcha_block_secs = 120\n",
    );
    with_server(Backend::Sqlite, &extra, |server| async move {
        let mut web = http(&server);
        for _ in 0..3 {
            web.get("/register").await.assert(200, "captcha_id");
        }
        let refused = web.get("/register").await;
        refused.assert(429, "too many CAPTCHA requests");
        let after = refused.retry_after().unwrap_or_else(|| panic!("{refused}"));
        assert!((1..=120).contains(&after), "{refused}");
        // The other forms draw from the same limit.
        web.get("/password")
            .await
            .assert(429, "too many CAPTCHA requests");
        server.clock.advance(Duration::from_secs(121));
        web.get("/register").await.assert(200, "captcha_id");
    })
    .await;
}

/// One web registration per hour, whoever asks.
#[tokio::test]
async fn one_web_registration_per_hour() {
    with_server(Backend::Sqlite, &config(""), |server| async move {
        let mut web = http(&server);
        register(&server, &mut web, "erin", STRONG)
            .await
            .assert(200, "erin@localhost");
        let mut other = https(&server);
        let refused = register(&server, &mut other, "frank", STRONG).await;
        refused.assert(429, "too many registrations");
        let after = refused.retry_after().unwrap_or_else(|| panic!("{refused}"));
        assert!((3000..=3600).contains(&after), "{refused}");
        assert!(!exists(&server, "frank@localhost").await);
        server.clock.advance(Duration::from_secs(3601));
        register(&server, &mut other, "frank", STRONG)
            .await
            .assert(200, "frank@localhost");
    })
    .await;
}

/// Names that are taken, reserved or invalid, weak passwords, passwords that differ, and a
/// domain that is not ours.
#[tokio::test]
async fn names_and_passwords_are_checked() {
    let extra = config("[registration]\nweb_per_window = 100\ncaptcha_per_address = 100\n");
    with_server(Backend::Sqlite, &extra, |server| async move {
        server.add_account("grace@localhost", STRONG).await;
        let mut web = http(&server);
        register(&server, &mut web, "grace", STRONG)
            .await
            .assert(409, "this username is taken");
        register(&server, &mut web, "admin", STRONG)
            .await
            .assert(409, "reserved");
        register(&server, &mut web, "Postmaster", STRONG)
            .await
            .assert(409, "reserved");
        let weak = register(&server, &mut web, "heidi", "abc").await;
        assert_eq!(weak.status, 400, "{weak}");
        assert!(!exists(&server, "heidi@localhost").await);
        let bad = register(&server, &mut web, "no spaces@here", STRONG).await;
        assert_eq!(bad.status, 400, "{bad}");
        let differ = [
            ("username", "ivan"),
            ("password", STRONG),
            ("password2", STRONGER),
        ];
        submit(&server, &mut web, "/register", &differ)
            .await
            .assert(400, "two passwords are not the same");
        let foreign = [
            ("username", "ivan"),
            ("domain", "elsewhere.example"),
            ("password", STRONG),
            ("password2", STRONG),
        ];
        submit(&server, &mut web, "/register", &foreign)
            .await
            .assert(400, "does not host elsewhere.example");
        let missing = [("username", "ivan")];
        submit(&server, &mut web, "/register", &missing)
            .await
            .assert(400, "both a username and a password are needed");
        // Markup in a name comes back escaped.
        let html = register(&server, &mut web, "<b>x</b>", STRONG).await;
        assert!(!html.body.contains("<b>x</b>"), "{html}");
        // A weak new password is refused after the current one is checked.
        let weak_new = [
            ("username", "grace"),
            ("password", STRONG),
            ("new_password", "abc"),
            ("new_password2", "abc"),
        ];
        let refused = submit(&server, &mut web, "/password", &weak_new).await;
        assert_eq!(refused.status, 400, "{refused}");
        // A full address on a domain we do not host.
        let foreign = [
            ("username", "grace@elsewhere.example"),
            ("password", STRONG),
            ("new_password", STRONGER),
            ("new_password2", STRONGER),
        ];
        submit(&server, &mut web, "/password", &foreign)
            .await
            .assert(400, "does not host elsewhere.example");
    })
    .await;
}

const FAIL2BAN: &str = "[registration]\ncaptcha = false\n\n[fail2ban]\nmax_failures = 3\n";

/// Wrong current passwords (and unknown accounts) count as failed logins; when the address
/// is banned, every form refuses it, the right password included.
#[tokio::test]
async fn wrong_passwords_ban_the_address() {
    with_server(Backend::Sqlite, &config(FAIL2BAN), |server| async move {
        server.add_account("judy@localhost", STRONG).await;
        let mut web = http(&server);
        let wrong = |user: &'static str| {
            [
                ("username", user),
                ("password", "not the password"),
                ("new_password", STRONGER),
                ("new_password2", STRONGER),
            ]
        };
        submit(&server, &mut web, "/password", &wrong("judy"))
            .await
            .assert(401, "wrong username or password");
        submit(&server, &mut web, "/password", &wrong("nobody"))
            .await
            .assert(401, "wrong username or password");
        let third = submit(&server, &mut web, "/password", &wrong("judy")).await;
        // The failure that bans says both.
        third.assert(403, "wrong username or password");
        assert!(third.body.contains("too many failed logins"), "{third}");
        for path in ["/register", "/password", "/delete"] {
            let page = web.get(path).await;
            page.assert(403, "too many failed logins");
            assert!(page.retry_after().is_some_and(|s| s > 3600), "{page}");
        }
        // A POST with everything right is refused too.
        let fields = [
            ("username", "judy"),
            ("password", STRONG),
            ("confirm", "DELETE"),
        ];
        let mut f = vec![("csrf", "whatever")];
        f.extend_from_slice(&fields);
        web.post_form("/delete", &f)
            .await
            .assert(403, "too many failed logins");
        assert!(exists(&server, "judy@localhost").await);
        // The index page stays open.
        web.get("/").await.assert(200, "/register");
    })
    .await;
}

/// An allow-listed network is never banned.
#[tokio::test]
async fn allow_listed_network_is_never_banned() {
    let extra = config(&format!("{FAIL2BAN}allow = [\"127.0.0.0/8\"]\n"));
    with_server(Backend::Sqlite, &extra, |server| async move {
        server.add_account("kim@localhost", STRONG).await;
        let mut web = http(&server);
        for _ in 0..6 {
            let f = [
                ("username", "kim"),
                ("password", "not the password"),
                ("new_password", STRONGER),
                ("new_password2", STRONGER),
            ];
            submit(&server, &mut web, "/password", &f)
                .await
                .assert(401, "wrong username or password");
        }
        let f = [
            ("username", "kim"),
            ("password", STRONG),
            ("new_password", STRONGER),
            ("new_password2", STRONGER),
        ];
        submit(&server, &mut web, "/password", &f)
            .await
            .assert(200, "is changed");
    })
    .await;
}

/// Behind a trusted proxy, the address in `X-Forwarded-For` is the one counted and banned;
/// the proxy's other clients are not affected.
#[tokio::test]
async fn bans_follow_the_forwarded_address_behind_a_trusted_proxy() {
    let extra = config(&format!(
        "{FAIL2BAN}\n[web]\ntrusted_proxies = [\"127.0.0.1\"]\n"
    ));
    with_server(Backend::Sqlite, &extra, |server| async move {
        server.add_account("leo@localhost", STRONG).await;
        let mut web = http(&server);
        let origin = web.origin();
        for _ in 0..3 {
            let csrf = web.get("/password").await.csrf();
            let body = web_client::encode(&[
                ("csrf", &csrf),
                ("username", "leo"),
                ("password", "not the password"),
                ("new_password", STRONGER),
                ("new_password2", STRONGER),
            ]);
            let headers = [
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", origin.as_str()),
                ("x-forwarded-for", "198.51.100.7"),
            ];
            let reply = web.request("POST", "/password", &headers, body).await;
            assert!(matches!(reply.status, 401 | 403), "{reply}");
        }
        let banned: IpAddr = [198, 51, 100, 7].into();
        assert!(server.accounts.banned(banned).await.is_some());
        let proxy: IpAddr = [127, 0, 0, 1].into();
        assert!(server.accounts.banned(proxy).await.is_none());
        web.request(
            "GET",
            "/password",
            &[("x-forwarded-for", "198.51.100.7")],
            "",
        )
        .await
        .assert(403, "too many failed logins");
        web.request(
            "GET",
            "/password",
            &[("x-forwarded-for", "198.51.100.8")],
            "",
        )
        .await
        .assert(200, "csrf");
        // A client that forges the header itself gains nothing: the proxy appends the truth.
        web.request(
            "GET",
            "/password",
            &[("x-forwarded-for", "198.51.100.8, 198.51.100.7")],
            "",
        )
        .await
        .assert(403, "too many failed logins");
    })
    .await;
}

/// Closed registration: the registration page and its POST say so; the other pages work.
#[tokio::test]
async fn closed_registration() {
    let extra = config("[registration]\nmode = \"closed\"\n");
    with_server(Backend::Sqlite, &extra, |server| async move {
        let mut web = http(&server);
        web.get("/register")
            .await
            .assert(403, "registration is closed");
        let csrf = web.get("/password").await.assert(200, "captcha_id").csrf();
        let f = [
            ("csrf", csrf.as_str()),
            ("username", "mike"),
            ("password", STRONG),
            ("password2", STRONG),
        ];
        web.post_form("/register", &f)
            .await
            .assert(403, "registration is closed");
        assert!(!exists(&server, "mike@localhost").await);
    })
    .await;
}

/// Sizes, content types, methods and paths.
#[tokio::test]
async fn limits_methods_and_paths() {
    with_server(Backend::Sqlite, &config(""), |server| async move {
        let mut web = http(&server);
        let csrf = web.get("/register").await.csrf();
        let origin = web.origin();
        let big = format!("csrf={csrf}&username={}", "x".repeat(9000));
        web.request(
            "POST",
            "/register",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", &origin),
            ],
            big,
        )
        .await
        .assert(413, "too large");
        web.request(
            "POST",
            "/register",
            &[("content-type", "application/json"), ("origin", &origin)],
            "{}",
        )
        .await
        .assert(415, "application/x-www-form-urlencoded");
        web.request("POST", "/register", &[("origin", &origin)], "a=b")
            .await
            .assert(415, "application/x-www-form-urlencoded");
        let put = web.request("PUT", "/register", &[], "").await;
        put.assert(405, "Method not allowed");
        let allow = put.header("allow").unwrap_or_default();
        assert!(allow.contains("GET") && allow.contains("POST"), "{put}");
        assert_security_headers(&put);
        let missing = web.get("/admin").await;
        missing.assert(404, "no page at this address");
        assert_security_headers(&missing);
        web.request("DELETE", "/", &[], "")
            .await
            .assert(405, "Method not allowed");
        let head = web.request("HEAD", "/register", &[], "").await;
        assert_eq!(head.status, 200, "{head}");
    })
    .await;
}
