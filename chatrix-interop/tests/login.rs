//! tokio-xmpp (crates.io), an XMPP client written without Chatrix in mind, logs in to a real
//! Chatrix over STARTTLS and Direct TLS, verifying the certificate the server generated.
//!
//! Each scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on a fresh PostgreSQL
//! database. The client is the `tokio-xmpp-client` binary of this crate, so that it can be
//! given `SSL_CERT_FILE` (see the crate docs); the server runs in-process, except in the tests
//! at the end, which run the built `chatrix-server` binary as an operator would.
//!
//! What tokio-xmpp 6 can negotiate (read from its source and confirmed here): on TLS 1.3 its
//! connectors hand `tls-exporter` data to SCRAM, which then only offers itself as
//! `SCRAM-SHA-256-PLUS` or `SCRAM-SHA-1-PLUS`; on TLS 1.2 it has no channel binding (no
//! `tls-server-end-point`) and uses plain `SCRAM-SHA-256` or `SCRAM-SHA-1` with the GS2 flag
//! `n`. So -PLUS is tested over TLS 1.3 with tokio-xmpp's own connectors, and plain SCRAM over
//! TLS 1.2 through the binary's TLS 1.2 connector (tokio-xmpp's connector with the version
//! pinned).

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use support::{Backend, Database, TestServer, client, run_client, with_server};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

const ALICE: &str = "alice@localhost";
const ALICE_PASSWORD: &str = "alice's secret";
const BOB: &str = "bob@localhost";
const BOB_PASSWORD: &str = "bob's secret";

fn mechanisms(list: &[&str]) -> String {
    let quoted: Vec<String> = list.iter().map(|m| format!("\"{m}\"")).collect();
    format!("[sasl]\nmechanisms = [{}]\n", quoted.join(", "))
}

/// Logs in as Alice over STARTTLS and over Direct TLS (at once), with `tls` (`default` or
/// `1.2`), and checks the mechanism and channel binding tokio-xmpp used.
async fn login_both_ways(server: &TestServer, tls: &str, mechanism: &str, channel_binding: &str) {
    let ca = server.cert_path();
    let run = |addr: SocketAddr, mode: &str| {
        let mut cmd = client(addr, mode, ALICE, ALICE_PASSWORD, &ca);
        cmd.args(["--tls", tls]);
        run_client(cmd)
    };
    let (starttls, direct) = tokio::join!(
        run(server.starttls, "starttls"),
        run(server.direct, "direct")
    );
    starttls.assert_logged_in(ALICE, mechanism, channel_binding);
    direct.assert_logged_in(ALICE, mechanism, channel_binding);
}

/// The server offers only `mechanism`; tokio-xmpp logs in with it over both transports.
async fn forced_mechanism(backend: Backend, mechanism: &'static str) {
    let (tls, channel_binding) = if mechanism.ends_with("-PLUS") {
        ("default", "tls-exporter")
    } else {
        ("1.2", "none")
    };
    with_server(
        backend,
        &mechanisms(&[mechanism]),
        move |server| async move {
            server.add_account(ALICE, ALICE_PASSWORD).await;
            login_both_ways(&server, tls, mechanism, channel_binding).await;
        },
    )
    .await;
}

async fn scram_sha_1(backend: Backend) {
    forced_mechanism(backend, "SCRAM-SHA-1").await;
}

async fn scram_sha_256(backend: Backend) {
    forced_mechanism(backend, "SCRAM-SHA-256").await;
}

async fn scram_sha_256_plus(backend: Backend) {
    forced_mechanism(backend, "SCRAM-SHA-256-PLUS").await;
}

async fn scram_sha_1_plus(backend: Backend) {
    forced_mechanism(backend, "SCRAM-SHA-1-PLUS").await;
}

/// With every mechanism offered, tokio-xmpp picks SCRAM-SHA-256-PLUS on TLS 1.3, and plain
/// SCRAM-SHA-256 on TLS 1.2, where the server still offers -PLUS (with
/// `tls-server-end-point`): the server accepts the client's `n` flag, since the client really
/// has no binding.
async fn default_mechanisms(backend: Backend) {
    with_server(backend, "", |server| async move {
        server.add_account(ALICE, ALICE_PASSWORD).await;
        login_both_ways(&server, "default", "SCRAM-SHA-256-PLUS", "tls-exporter").await;
        login_both_ways(&server, "1.2", "SCRAM-SHA-256", "none").await;
    })
    .await;
}

/// The limit of tokio-xmpp 6, pinned so that a release that lifts it is noticed: on TLS 1.3
/// it cannot use a plain SCRAM mechanism, so against a server that offers no -PLUS it finds
/// no mechanism at all.
async fn tokio_xmpp_has_no_plain_scram_on_tls13(backend: Backend) {
    with_server(
        backend,
        &mechanisms(&["SCRAM-SHA-256", "SCRAM-SHA-1"]),
        |server| async move {
            server.add_account(ALICE, ALICE_PASSWORD).await;
            let ca = server.cert_path();
            let run = run_client(client(server.direct, "direct", ALICE, ALICE_PASSWORD, &ca)).await;
            run.assert_failed_with("no matching SASL mechanism available");
        },
    )
    .await;
}

/// A wrong password and an unknown account: the same SASL failure.
async fn wrong_password(backend: Backend) {
    with_server(backend, "", |server| async move {
        server.add_account(ALICE, ALICE_PASSWORD).await;
        let ca = server.cert_path();
        let (wrong, unknown) = tokio::join!(
            run_client(client(server.starttls, "starttls", ALICE, "guess", &ca)),
            run_client(client(
                server.direct,
                "direct",
                "nobody@localhost",
                "guess",
                &ca
            )),
        );
        let expected = "authentication error: failure from the server: NotAuthorized";
        wrong.assert_failed_with(expected);
        unknown.assert_failed_with(expected);
    })
    .await;
}

/// Verification is really on: trusting another self-signed certificate for `localhost`, every
/// connector refuses the server's.
async fn an_untrusted_certificate_is_refused(backend: Backend) {
    with_server(backend, "", |server| async move {
        server.add_account(ALICE, ALICE_PASSWORD).await;
        let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let other_ca = other.path().join("other.pem");
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&other_ca, generated.cert.pem()).unwrap_or_else(|e| panic!("{e}"));

        for (addr, mode) in [(server.starttls, "starttls"), (server.direct, "direct")] {
            for tls in ["default", "1.2"] {
                let mut cmd = client(addr, mode, ALICE, ALICE_PASSWORD, &other_ca);
                cmd.args(["--tls", tls]);
                let run = run_client(cmd).await;
                run.assert_failed_with("invalid peer certificate: UnknownIssuer");
                assert_eq!(run.field("online"), None, "{run}");
            }
        }
        // And the right certificate works on the same server.
        let run = run_client(client(
            server.direct,
            "direct",
            ALICE,
            ALICE_PASSWORD,
            &server.cert_path(),
        ))
        .await;
        run.assert_logged_in(ALICE, "SCRAM-SHA-256-PLUS", "tls-exporter");
    })
    .await;
}

/// Two tokio-xmpp clients, one per transport, each bound to the resource it asked for,
/// exchange chat messages between their full JIDs.
async fn two_clients_exchange_messages(backend: Backend) {
    with_server(backend, "", |server| async move {
        server.add_account(ALICE, ALICE_PASSWORD).await;
        server.add_account(BOB, BOB_PASSWORD).await;
        let ca = server.cert_path();
        let alice = format!("{ALICE}/phone");
        let bob = format!("{BOB}/laptop");

        let mut bob_cmd = client(server.direct, "direct", &bob, BOB_PASSWORD, &ca);
        bob_cmd.args([
            "--expect-from",
            &alice,
            "--expect-body",
            "ping",
            "--reply",
            "pong",
        ]);
        let mut bob_child = bob_cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
        let mut bob_out =
            BufReader::new(bob_child.stdout.take().unwrap_or_else(|| panic!("stdout"))).lines();
        let mut bob_lines = Vec::new();
        // Alice writes only once Bob is bound.
        while let Some(line) = bob_out.next_line().await.unwrap_or_else(|e| panic!("{e}")) {
            bob_lines.push(line.clone());
            if line.starts_with("online: ") {
                break;
            }
        }
        assert_eq!(
            bob_lines.last().map(String::as_str),
            Some(format!("online: {bob}").as_str()),
            "{bob_lines:?}"
        );

        let mut alice_cmd = client(server.starttls, "starttls", &alice, ALICE_PASSWORD, &ca);
        alice_cmd.args(["--send-to", &bob, "--body", "ping"]);
        alice_cmd.args(["--expect-from", &bob, "--expect-body", "pong"]);
        let alice_run = run_client(alice_cmd).await;
        alice_run.assert_logged_in(ALICE, "SCRAM-SHA-256-PLUS", "tls-exporter");
        assert_eq!(
            alice_run.field("online"),
            Some(alice.as_str()),
            "{alice_run}"
        );
        assert_eq!(alice_run.field("sent"), Some(bob.as_str()), "{alice_run}");
        assert_eq!(
            alice_run.field("received"),
            Some(format!("{bob} pong").as_str()),
            "{alice_run}"
        );

        while let Some(line) = bob_out.next_line().await.unwrap_or_else(|e| panic!("{e}")) {
            bob_lines.push(line);
        }
        let status = bob_child.wait().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "bob: {status}: {bob_lines:?}");
        assert!(
            bob_lines.contains(&format!("received: {alice} ping")),
            "{bob_lines:?}"
        );
        assert!(
            bob_lines.contains(&format!("sent: {alice}")),
            "{bob_lines:?}"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The built `chatrix-server` binary.

/// The `chatrix-server` binary next to this test's directory (`target/<profile>/`), built
/// first if it is missing; `CHATRIX_SERVER_BIN` overrides. `cargo test --workspace` always
/// builds it (chatrix-server's own tests need it); under `cargo test -p chatrix-interop` an
/// existing one is used as it is.
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHATRIX_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    // target/<profile>/deps/login-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("no target dir above {}", exe.display()));
    let binary = profile_dir.join(format!("chatrix-server{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        return binary;
    }
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building {}", binary.display());
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", "chatrix-server", "--bin", "chatrix-server"])
        .args(["--profile", profile])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("cargo: {e}"));
    assert!(
        status.success() && binary.is_file(),
        "could not build {}",
        binary.display()
    );
    binary
}

fn server_command(dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(server_binary());
    cmd.current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `chatrix-server [ARGS] user add JID --password-stdin`, in `dir`.
async fn user_add(dir: &Path, args: &[&str], jid: &str, password: &str) {
    let mut cmd = server_command(dir);
    cmd.args(args)
        .args(["user", "add", jid, "--password-stdin"])
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
    let output = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "user add {jid}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running `chatrix-server` process and the addresses it logged.
struct ServerProcess {
    child: tokio::process::Child,
    starttls: SocketAddr,
    direct: SocketAddr,
    /// Everything it wrote to standard error so far (the rest is drained in the background).
    log: Arc<std::sync::Mutex<String>>,
}

/// Starts the server and waits for its two "listening" log lines; `Err` with its log if it
/// exits first.
async fn start_server(mut cmd: tokio::process::Command) -> Result<ServerProcess, String> {
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let (mut starttls, mut direct) = (None, None);
    let wait = async {
        while starttls.is_none() || direct.is_none() {
            let Ok(Some(line)) = lines.next_line().await else {
                return false;
            };
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
            if let Some(addr) = listening_addr(&line) {
                if line.contains("c2s-direct-tls") {
                    direct = Some(addr);
                } else if line.contains("c2s-starttls") {
                    starttls = Some(addr);
                }
            }
        }
        true
    };
    let started = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or(false);
    let (Some(starttls), Some(direct), true) = (starttls, direct, started) else {
        let _ = child.kill().await;
        let log = log.lock().map(|l| l.clone()).unwrap_or_default();
        return Err(log);
    };
    // Keep reading, so that the server never blocks on a full pipe.
    let sink = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut log) = sink.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
    Ok(ServerProcess {
        child,
        starttls,
        direct,
        log,
    })
}

/// The `addr=` of a tracing line that says "listening".
fn listening_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains("listening") {
        return None;
    }
    let rest = &line[line.find("addr=")? + "addr=".len()..];
    rest.split_whitespace()
        .next()?
        .trim_matches('"')
        .parse()
        .ok()
}

impl ServerProcess {
    async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// The README's way: `chatrix-server` with no arguments in an empty directory (the embedded
/// defaults: `localhost`, `./chatrix-data`, SQLite, a generated certificate, 5222 and 5223),
/// `chatrix-server user add` while it runs, and tokio-xmpp logs in on both ports. Skipped
/// when the default ports are taken on this machine.
#[tokio::test]
async fn binary_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = match start_server(server_command(dir.path())).await {
        Ok(s) => s,
        Err(log) if log.contains("Address already in use") || log.contains("address in use") => {
            eprintln!("skipping: the default ports 5222/5223 are in use here\n{log}");
            return;
        }
        Err(log) => panic!("chatrix-server did not start:\n{log}"),
    };
    assert_eq!(server.starttls.port(), 5222);
    assert_eq!(server.direct.port(), 5223);
    user_add(dir.path(), &[], ALICE, ALICE_PASSWORD).await;

    let ca = dir.path().join("chatrix-data").join("cert.pem");
    assert!(ca.is_file(), "no generated certificate at {}", ca.display());
    let loopback = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let (starttls, direct) = tokio::join!(
        run_client(client(
            loopback(5222),
            "starttls",
            ALICE,
            ALICE_PASSWORD,
            &ca
        )),
        run_client(client(loopback(5223), "direct", ALICE, ALICE_PASSWORD, &ca)),
    );
    let log = server.stop().await;
    starttls.assert_logged_in(ALICE, "SCRAM-SHA-256-PLUS", "tls-exporter");
    direct.assert_logged_in(ALICE, "SCRAM-SHA-256-PLUS", "tls-exporter");
    assert!(
        dir.path().join("chatrix-data/chatrix.db").is_file(),
        "{log}"
    );
}

/// The binary with a configuration file (loopback, port 0): accounts made with
/// `chatrix-server user add` before it starts, then both log in, one per transport.
async fn binary_with_config_file(backend: Backend) {
    let Some(database) = Database::create(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = format!(
        "data_dir = \"data\"\nlog_level = \"info\"\n\
         [[listeners]]\nkind = \"c2s-starttls\"\naddress = \"127.0.0.1\"\nport = 0\n\
         [[listeners]]\nkind = \"c2s-direct-tls\"\naddress = \"127.0.0.1\"\nport = 0\n{}",
        database.toml()
    );
    std::fs::write(dir.path().join("chatrix.toml"), config).unwrap_or_else(|e| panic!("{e}"));
    let args = ["--config", "chatrix.toml"];
    user_add(dir.path(), &args, ALICE, ALICE_PASSWORD).await;
    user_add(dir.path(), &args, BOB, BOB_PASSWORD).await;

    let mut cmd = server_command(dir.path());
    cmd.args(args);
    let server = start_server(cmd)
        .await
        .unwrap_or_else(|log| panic!("chatrix-server did not start:\n{log}"));
    let ca = dir.path().join("data").join("cert.pem");
    let (alice, bob, wrong) = tokio::join!(
        run_client(client(
            server.starttls,
            "starttls",
            ALICE,
            ALICE_PASSWORD,
            &ca
        )),
        run_client(client(server.direct, "direct", BOB, BOB_PASSWORD, &ca)),
        run_client(client(server.direct, "direct", BOB, ALICE_PASSWORD, &ca)),
    );
    let log = server.stop().await;
    database.drop().await;
    alice.assert_logged_in(ALICE, "SCRAM-SHA-256-PLUS", "tls-exporter");
    bob.assert_logged_in(BOB, "SCRAM-SHA-256-PLUS", "tls-exporter");
    wrong.assert_failed_with("NotAuthorized");
    assert!(log.contains("authentication failed"), "{log}");
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    scram_sha_1,
    scram_sha_256,
    scram_sha_256_plus,
    scram_sha_1_plus,
    default_mechanisms,
    tokio_xmpp_has_no_plain_scram_on_tls13,
    wrong_password,
    an_untrusted_certificate_is_refused,
    two_clients_exchange_messages,
    binary_with_config_file,
);
