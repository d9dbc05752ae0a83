//! The account web pages in a real browser: Debian's chromium, headless, driven through
//! chromedriver (the W3C `WebDriver` protocol, spoken here over the tests' HTTP client).
//! Register, change the password, delete the account, as a person would, over HTTPS.
//!
//! Without chromium and chromedriver the test prints a notice and passes; CI installs them
//! (`.ci/run`), so CI always runs it.

mod support;
mod web_client;

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chatrix_server::storage::AccountJid;
use futures::FutureExt as _;
use serde_json::{Value, json};
use support::{Backend, TestServer, with_server};
use web_client::Http;

const WEB: &str = r#"
[[listeners]]
kind = "web-https"
address = "127.0.0.1"
port = 0
"#;

const PASSWORD: &str = "violet kettle marches upstream 42";
const NEW_PASSWORD: &str = "seven quiet lanterns over harbour 17";

/// The W3C name of an element reference in `WebDriver` answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The whole browser scenario's time limit: a hung browser fails the test, it does not hang
/// it.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A chromedriver process in a process group of its own, which the browsers it starts join;
/// the whole group is killed when this is dropped, so no browser outlives the test (a closed
/// session does not always take the browser with it at once, and a failed test closes none).
struct Driver {
    child: tokio::process::Child,
    addr: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The group's id is chromedriver's pid (`process_group(0)` below).
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Driver {
    async fn start(program: &Path) -> Self {
        // A free port: bound, noted, released (chromedriver binds it a moment later).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        let child = tokio::process::Command::new(program)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                let driver = Self { child, addr };
                let status = driver.call("GET", "/status", None).await;
                if status["value"]["ready"] == json!(true) {
                    return driver;
                }
                panic!("chromedriver is not ready: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start listening on {addr}");
    }

    /// One `WebDriver` command; panics on an error answer.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut http = Http::plain(self.addr);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers: &[(&str, &str)] = if body.is_empty() {
            &[]
        } else {
            &[("content-type", "application/json; charset=utf-8")]
        };
        let reply = http.request(method, path, headers, body).await;
        let value: Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{reply}"));
        assert_eq!(reply.status, 200, "{method} {path}:\n{reply}");
        value
    }

    async fn session(&self, chromium: &Path, profile: &Path) -> Session<'_> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The server's certificate is self-signed.
            "--ignore-certificate-errors",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "acceptInsecureCerts": true,
                    "timeouts": { "implicit": 5000, "pageLoad": 30000, "script": 5000 },
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": args,
                    },
                },
            },
        });
        let answer = self.call("POST", "/session", Some(caps)).await;
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id: {answer}"))
            .to_owned();
        Session { driver: self, id }
    }
}

/// A browser session.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.id);
        self.driver.call(method, &path, body).await
    }

    async fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// The element `css` selects (waiting for it up to the implicit timeout).
    async fn find(&self, css: &str) -> String {
        let answer = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        answer["value"][ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {answer}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn property(&self, css: &str, name: &str) -> String {
        let element = self.find(css).await;
        let answer = self
            .call("GET", &format!("/element/{element}/property/{name}"), None)
            .await;
        answer["value"].as_str().unwrap_or_default().to_owned()
    }

    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let answer = self
            .call("GET", &format!("/element/{element}/text"), None)
            .await;
        answer["value"].as_str().unwrap_or_default().to_owned()
    }

    async fn source(&self) -> String {
        let answer = self.call("GET", "/source", None).await;
        answer["value"].as_str().unwrap_or_default().to_owned()
    }

    /// Answers the page's CAPTCHA as a person reading the image would.
    async fn solve_captcha(&self, server: &TestServer) {
        let alt = self.property("fieldset img", "alt").await;
        assert!(!alt.is_empty(), "the CAPTCHA image has a text alternative");
        let id = self.property("input[name=captcha_id]", "value").await;
        let answer = server
            .accounts
            .captchas()
            .answer_of(&id)
            .unwrap_or_else(|| panic!("challenge {id:?} unknown"));
        self.type_into("#captcha", &answer).await;
    }

    /// Submits the form and returns the success message (or panics with the page).
    async fn submit(&self) -> String {
        self.click("button[type=submit]").await;
        // The next page has a message; the implicit wait covers its loading.
        self.find(".success, .error, .refusal").await;
        let source = self.source().await;
        assert!(
            source.contains("class=\"success\""),
            "no success:\n{source}"
        );
        self.text(".success").await
    }

    /// Ends the session (best effort: the driver's process group is killed anyway).
    async fn close(self) {
        let path = format!("/session/{}", self.id);
        let mut http = Http::plain(self.driver.addr);
        let request = AssertUnwindSafe(http.request("DELETE", &path, &[], "")).catch_unwind();
        let _ = tokio::time::timeout(Duration::from_secs(10), request).await;
    }
}

async fn exists(server: &TestServer, account: &str) -> bool {
    let account = AccountJid::parse(account).unwrap_or_else(|e| panic!("{e}"));
    server
        .ctx
        .storage
        .account_exists(&account)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn register_change_password_and_delete_in_chromium() {
    let (Some(chromium), Some(chromedriver)) =
        (find_program("chromium"), find_program("chromedriver"))
    else {
        eprintln!(
            "skipping the browser test: chromium and chromedriver are not installed \
             (apt-get install chromium chromium-driver)"
        );
        return;
    };
    with_server(Backend::Sqlite, WEB, move |server| async move {
        tokio::time::timeout(
            SCENARIO_TIMEOUT,
            scenario(&server, &chromium, &chromedriver),
        )
        .await
        .unwrap_or_else(|_| panic!("the browser scenario took over {SCENARIO_TIMEOUT:?}"));
    })
    .await;
}

async fn scenario(server: &TestServer, chromium: &Path, chromedriver: &Path) {
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = Driver::start(chromedriver).await;
    let browser = driver.session(chromium, profile.path()).await;
    let outcome = AssertUnwindSafe(steps(server, &browser))
        .catch_unwind()
        .await;
    browser.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// What a person does: register, change the password, delete the account.
async fn steps(server: &TestServer, browser: &Session<'_>) {
    let base = format!(
        "https://{}",
        server
            .web_https
            .unwrap_or_else(|| panic!("no web-https listener"))
    );
    browser.open(&format!("{base}/")).await;
    browser.click("a[href=\"/register\"]").await;
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", PASSWORD).await;
    browser.type_into("#password2", PASSWORD).await;
    browser.solve_captcha(server).await;
    let done = browser.submit().await;
    assert!(done.contains("alice@localhost is ready"), "{done}");
    assert!(exists(server, "alice@localhost").await);

    browser.open(&format!("{base}/password")).await;
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", PASSWORD).await;
    browser.type_into("#new_password", NEW_PASSWORD).await;
    browser.type_into("#new_password2", NEW_PASSWORD).await;
    browser.solve_captcha(server).await;
    let done = browser.submit().await;
    assert!(done.contains("is changed"), "{done}");

    browser.open(&format!("{base}/delete")).await;
    browser.type_into("#username", "alice@localhost").await;
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", "DELETE").await;
    browser.solve_captcha(server).await;
    let done = browser.submit().await;
    assert!(done.contains("alice@localhost is deleted"), "{done}");
    assert!(!exists(server, "alice@localhost").await);
}
