//! Shared by the interop tests: Chatrix started in-process on port-0 loopback listeners over a
//! temporary data dir, on SQLite or on a fresh PostgreSQL database; accounts; the
//! `tokio-xmpp-client` binary.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use chatrix_server::accounts::Accounts;
use chatrix_server::c2s::C2sServer;
use chatrix_server::clock::ManualClock;
use chatrix_server::config::{ListenerKind, TlsMode};
use chatrix_server::storage::AccountJid;
use chatrix_server::{Config, ServerContext};
use xmpp_sasl::{StoredCredentials, SystemRng};

pub(crate) mod im;
pub(crate) mod raw;
pub(crate) mod sm;

/// The variable that names the PostgreSQL server for tests (an admin URL: each test creates
/// and drops its own database through it).
pub(crate) const PG_URL_VAR: &str = "CHATRIX_TEST_PG_URL";

/// The domain every test server hosts.
pub(crate) const DOMAIN: &str = "localhost";

/// The helper binary.
pub(crate) const CLIENT_BIN: &str = env!("CARGO_BIN_EXE_tokio-xmpp-client");

/// Which storage backend a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A SQLite file in the data dir (the embedded default).
    Sqlite,
    /// A fresh database on the server `CHATRIX_TEST_PG_URL` names.
    Postgres,
}

/// A running server, as scenarios see it.
#[derive(Debug)]
pub(crate) struct TestServer {
    /// Its shared state (storage, TLS, configuration).
    pub(crate) ctx: ServerContext,
    /// The `c2s-starttls` listener with TLS required.
    pub(crate) starttls: SocketAddr,
    /// The `c2s-direct-tls` listener.
    pub(crate) direct: SocketAddr,
    /// A `c2s-starttls` listener with `tls = "optional"`.
    pub(crate) optional: SocketAddr,
    /// The first `web-https` listener, when the test configured one.
    pub(crate) web_https: Option<SocketAddr>,
    /// The first `web-http` listener, when the test configured one.
    pub(crate) web_http: Option<SocketAddr>,
    /// The registration, password and ban rules of the running server.
    pub(crate) accounts: Arc<Accounts>,
    /// The server's clock for accounts rules: starts at the real time, moves only when the
    /// test moves it (the same clock across restarts).
    pub(crate) clock: Arc<ManualClock>,
}

impl TestServer {
    /// The self-signed certificate the server generated (PEM).
    pub(crate) fn cert_path(&self) -> PathBuf {
        self.ctx.config.self_signed_cert_path()
    }

    /// Creates an account (all three SCRAM hashes, 4096 iterations).
    pub(crate) async fn add_account(&self, jid: &str, password: &str) {
        add_account(&self.ctx, jid, password).await;
    }
}

/// Creates an account through the storage API, as `chatrix-server user add` does.
pub(crate) async fn add_account(ctx: &ServerContext, jid: &str, password: &str) {
    let account = AccountJid::parse(jid).unwrap_or_else(|e| panic!("{jid}: {e}"));
    let credentials = StoredCredentials::generate_all(password, 4096, &mut SystemRng::new())
        .unwrap_or_else(|e| panic!("{e}"));
    ctx.storage
        .create_account(&account, &credentials)
        .await
        .unwrap_or_else(|e| panic!("create {jid}: {e}"));
}

/// The listeners every test server has: loopback, port 0.
const LISTENERS: &str = r#"
[[listeners]]
kind = "c2s-starttls"
address = "127.0.0.1"
port = 0

[[listeners]]
kind = "c2s-direct-tls"
address = "127.0.0.1"
port = 0

[[listeners]]
kind = "c2s-starttls"
address = "127.0.0.1"
port = 0
tls = "optional"
"#;

/// Starts a server on `backend` with `extra` configuration (`[sasl]`, `[limits]`, …) added to
/// the listeners, runs `scenario` against it, then stops it and removes its data (the
/// PostgreSQL database too, even when the scenario panics). On PostgreSQL without
/// `CHATRIX_TEST_PG_URL`, prints a notice and returns.
pub(crate) async fn with_server<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_restartable_server(backend, extra, |servers| {
        let server = servers.current();
        let scenario = scenario(server);
        async move {
            scenario.await;
            // The handle lives until the scenario is over (it owns nothing the harness needs).
            drop(servers);
        }
    })
    .await;
}

/// [`with_server`] with these accounts (`user@localhost`, all with `password`) created first.
pub(crate) async fn with_accounts<F, Fut>(
    backend: Backend,
    extra: &str,
    users: &'static [&'static str],
    password: &'static str,
    scenario: F,
) where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, move |server| async move {
        for user in users {
            server
                .add_account(&format!("{user}@localhost"), password)
                .await;
        }
        scenario(server).await;
    })
    .await;
}

/// Like [`with_server`], but the scenario gets a [`Servers`] handle that can stop the server
/// and start a new one on the same data dir and database ([`Servers::restart`]): what a
/// message stored before a restart needs. The data (and the PostgreSQL database) are removed
/// after the scenario, even when it panics.
pub(crate) async fn with_restartable_server<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Servers) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = Database::create(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let setup = Setup {
        text: format!("{LISTENERS}\n{}\n{extra}", database.toml()),
        data_dir: dir.path().join("data"),
        clock: Arc::new(ManualClock::at(std::time::SystemTime::now())),
    };
    let running = Arc::new(tokio::sync::Mutex::new(Some(setup.start().await)));
    let servers = Servers {
        setup: Arc::new(setup),
        running: Arc::clone(&running),
    };
    let outcome = tokio::spawn(scenario(servers)).await;
    // Whatever runs now (the first server, or the last restart) is stopped here.
    if let Some(last) = running.lock().await.take() {
        last.stop().await;
    }
    database.drop().await;
    drop(dir);
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("scenario: {e}");
    }
}

/// What a scenario of [`with_restartable_server`] holds: the running server, and the way to
/// replace it by a new one over the same data.
#[derive(Clone)]
pub(crate) struct Servers {
    setup: Arc<Setup>,
    running: Arc<tokio::sync::Mutex<Option<Running>>>,
}

impl Servers {
    /// The server running now.
    pub(crate) fn current(&self) -> Arc<TestServer> {
        let running = self
            .running
            .try_lock()
            .unwrap_or_else(|_| panic!("a restart is in progress"));
        let Some(running) = running.as_ref() else {
            panic!("no server is running")
        };
        Arc::clone(&running.server)
    }

    /// Stops the running server (listeners, storage; sessions still open keep their TCP
    /// connections but the server behind them is gone, so close clients first), then starts a
    /// new one with the same configuration, data dir and database, on new ports. Returns it.
    pub(crate) async fn restart(&self) -> Arc<TestServer> {
        let mut running = self.running.lock().await;
        if let Some(old) = running.take() {
            old.stop().await;
        }
        let new = self.setup.start().await;
        let server = Arc::clone(&new.server);
        *running = Some(new);
        server
    }
}

/// Everything a server is started from; the same for every restart.
struct Setup {
    /// The configuration file.
    text: String,
    data_dir: PathBuf,
    clock: Arc<ManualClock>,
}

/// One started server.
struct Running {
    server: Arc<TestServer>,
    serving: tokio::task::JoinHandle<()>,
}

impl Setup {
    async fn start(&self) -> Running {
        let config = Config::from_toml_str(&self.text)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.text))
            .with_data_dir(self.data_dir.clone());
        let mut ctx = ServerContext::build(config)
            .await
            .unwrap_or_else(|e| panic!("build: {e}"));
        ctx.clock = self.clock.clone();
        let c2s = C2sServer::bind(ctx.clone())
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let listener = |kind: ListenerKind, tls: TlsMode| {
            let index = ctx
                .config
                .listeners
                .iter()
                .position(|l| l.kind == kind && l.tls == tls)
                .unwrap_or_else(|| panic!("no {kind:?} listener"));
            c2s.local_addrs()[index].1
        };
        let first = |kind: ListenerKind| {
            c2s.local_addrs()
                .into_iter()
                .find_map(|(k, a)| (k == kind).then_some(a))
        };
        let server = Arc::new(TestServer {
            starttls: listener(ListenerKind::C2sStarttls, TlsMode::Required),
            direct: listener(ListenerKind::C2sDirectTls, TlsMode::Required),
            optional: listener(ListenerKind::C2sStarttls, TlsMode::Optional),
            web_https: first(ListenerKind::WebHttps),
            web_http: first(ListenerKind::WebHttp),
            accounts: Arc::clone(c2s.accounts()),
            clock: Arc::clone(&self.clock),
            ctx,
        });
        let serving = tokio::spawn(c2s.serve());
        Running { server, serving }
    }
}

impl Running {
    /// Stops accepting connections and closes the storage.
    async fn stop(self) {
        self.serving.abort();
        let _ = self.serving.await;
        self.server.ctx.storage.close().await;
    }
}

/// Declares, for each `name => extra` pair, the tests `sqlite::name` and `postgres::name`,
/// which call `run(backend, extra, name)`: `run` and the scenario `name` are the invoking
/// file's (its `run` makes the accounts the scenarios expect, then calls [`with_server`] or
/// [`with_restartable_server`]); `extra` may name the file's constants. The PostgreSQL ones
/// only print a notice when `CHATRIX_TEST_PG_URL` is unset.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident => $extra:expr),* $(,)?) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    super::run($crate::support::Backend::Sqlite, $extra, super::$name).await;
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    super::run($crate::support::Backend::Postgres, $extra, super::$name).await;
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

/// The database of one test.
pub(crate) enum Database {
    /// SQLite in the data dir (nothing to configure or clean up).
    Sqlite,
    /// A PostgreSQL database made for this test.
    Postgres(pg::TestDatabase),
}

impl Database {
    /// A fresh database, or `None` (with the notice) for PostgreSQL without the variable.
    pub(crate) async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::Sqlite),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
                    eprintln!("skipping PostgreSQL: {PG_URL_VAR} is unset");
                    return None;
                };
                Some(Self::Postgres(pg::TestDatabase::create(&admin_url).await))
            }
        }
    }

    /// The `[database]` table for a configuration file.
    pub(crate) fn toml(&self) -> String {
        match self {
            Self::Sqlite => String::new(),
            Self::Postgres(db) => {
                format!("[database]\nurl = \"{}\"\nmax_connections = 4\n", db.url)
            }
        }
    }

    /// Drops the PostgreSQL database.
    pub(crate) async fn drop(self) {
        if let Self::Postgres(db) = self {
            db.drop_database().await;
        }
    }
}

/// Fresh PostgreSQL databases, as in `chatrix-server/tests/storage.rs`.
pub(crate) mod pg {
    pub(crate) use chatrix_server::testing::TestDatabase;
}

/// What one run of `tokio-xmpp-client` printed.
#[derive(Debug)]
pub(crate) struct ClientRun {
    /// Whether it exited with 0.
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl ClientRun {
    /// The value of the `key: value` line on standard output.
    pub(crate) fn field(&self, key: &str) -> Option<&str> {
        let prefix = format!("{key}: ");
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
    }

    /// Panics (with everything it printed) unless it succeeded.
    #[track_caller]
    pub(crate) fn assert_success(&self) -> &Self {
        assert!(self.success, "tokio-xmpp-client failed:\n{self}");
        self
    }

    /// Panics unless the client logged in with `mechanism` and `channel_binding` and was bound
    /// to a JID of `account`.
    #[track_caller]
    pub(crate) fn assert_logged_in(&self, account: &str, mechanism: &str, channel_binding: &str) {
        self.assert_success();
        assert_eq!(self.field("mechanism"), Some(mechanism), "{self}");
        assert_eq!(
            self.field("channel-binding"),
            Some(channel_binding),
            "{self}"
        );
        let online = self.field("online").unwrap_or_default();
        assert!(
            online.starts_with(&format!("{account}/")),
            "bound to {online:?}, not a resource of {account}:\n{self}"
        );
    }

    /// Panics unless it failed and its error contains `needle`.
    #[track_caller]
    pub(crate) fn assert_failed_with(&self, needle: &str) {
        assert!(!self.success, "tokio-xmpp-client succeeded:\n{self}");
        assert!(
            self.stderr.contains(needle),
            "`{needle}` not in the error:\n{self}"
        );
    }
}

impl std::fmt::Display for ClientRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "success: {}\n--- stdout\n{}--- stderr\n{}",
            self.success, self.stdout, self.stderr
        )
    }
}

/// `tokio-xmpp-client` logging in as `jid` to `server`, trusting exactly the certificates in
/// `ca` (through `SSL_CERT_FILE`).
pub(crate) fn client(
    server: SocketAddr,
    mode: &str,
    jid: &str,
    password: &str,
    ca: &Path,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(CLIENT_BIN);
    cmd.args(["--server", &server.to_string(), "--mode", mode])
        .args(["--jid", jid, "--password", password, "--timeout", "15"])
        .env("SSL_CERT_FILE", ca)
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs a client command to completion.
pub(crate) async fn run_client(mut cmd: tokio::process::Command) -> ClientRun {
    let output = cmd
        .output()
        .await
        .unwrap_or_else(|e| panic!("{CLIENT_BIN}: {e}"));
    ClientRun {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
