//! Shared by the interop tests: Chatrix started in-process on port-0 loopback listeners over a
//! temporary data dir, on SQLite or on a fresh PostgreSQL database; accounts; the
//! `tokio-xmpp-client` binary.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use chatrix_server::c2s::C2sServer;
use chatrix_server::config::{ListenerKind, TlsMode};
use chatrix_server::storage::AccountJid;
use chatrix_server::{Config, ServerContext};
use xmpp_sasl::{StoredCredentials, SystemRng};

pub(crate) mod raw;

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
    let Some(database) = Database::create(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{LISTENERS}\n{}\n{extra}", database.toml());
    let config = Config::from_toml_str(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .with_data_dir(dir.path().join("data"));
    let ctx = ServerContext::build(config)
        .await
        .unwrap_or_else(|e| panic!("build: {e}"));
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
    let server = Arc::new(TestServer {
        starttls: listener(ListenerKind::C2sStarttls, TlsMode::Required),
        direct: listener(ListenerKind::C2sDirectTls, TlsMode::Required),
        optional: listener(ListenerKind::C2sStarttls, TlsMode::Optional),
        ctx: ctx.clone(),
    });
    let serving = tokio::spawn(c2s.serve());
    let outcome = tokio::spawn(scenario(server)).await;
    serving.abort();
    let _ = serving.await;
    ctx.storage.close().await;
    database.drop().await;
    drop(dir);
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("scenario: {e}");
    }
}

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
