//! `chatrix-loadgen`: a load generator that drives any XMPP server over TLS (or plaintext) and
//! reports what the server costs.
//!
//! # What it is for
//!
//! Measuring an XMPP server on one machine, over loopback, with the numbers the project tracks
//! in `docs/performance.md`:
//!
//! * `logins`: a login storm. N full logins (TCP, STARTTLS or Direct TLS, SCRAM-SHA-1/-256
//!   (+PLUS with `tls-exporter` on TLS 1.3), resource binding, initial presence reflected back),
//!   C at a time, each closed cleanly. Logins/s, latency p50/p99/max, errors by kind, and with
//!   `--server-pid` the server's CPU per login.
//! * `idle`: N sessions held open (answering pings); the server's RSS per session.
//! * `messages`: M pairs exchanging chat messages at a target rate (or as fast as possible);
//!   delivered/s, latency p50/p99/p99.9/max, lost messages, the server's CPU per message.
//! * `accounts`: the account JIDs a run needs, to create them beforehand.
//!
//! The client is built on the workspace's own sans-IO crates (`xmpp-stream`'s framer and
//! writer, `xmpp-core` elements, `xmpp-sasl`'s client session) plus tokio-rustls, so it is
//! cheap and does exactly what is written here. Server CPU and memory come from
//! `/proc/<pid>/stat` and `/proc/<pid>/status` (Linux).
//!
//! # What it is not for
//!
//! * Testing protocol conformance: it speaks just enough XMPP for the scenarios and answers IQs
//!   addressed to it with a ping result or `service-unavailable`.
//! * Load over a network or against servers one does not run: it connects only to `--server`,
//!   every scenario stops by itself, and there is no distributed mode.
//! * Creating accounts: the operator does that (see below).
//!
//! # Accounts
//!
//! `loadtest0@D` .. `loadtest<N-1>@D` with one password (`--users-prefix`, `--password`):
//!
//! ```sh
//! chatrix-loadgen accounts --count 10000 --domain localhost |
//!   while read jid; do echo loadtest | chatrix-server user add "$jid" --password-stdin; done
//! ```
//!
//! Other servers: `prosodyctl register loadtest$i localhost loadtest`,
//! `ejabberdctl register loadtest$i localhost loadtest`.
//!
//! # Examples
//!
//! Against Chatrix on its defaults (self-signed certificate in `chatrix-data/cert.pem`):
//!
//! ```sh
//! PID=$(pgrep -x chatrix-server)
//! CA="--ca-file chatrix-data/cert.pem --server-pid $PID"
//! chatrix-loadgen $CA logins --count 2000 --concurrency 50
//! ulimit -n 65536 && chatrix-loadgen $CA idle --count 10000 --hold 30
//! chatrix-loadgen $CA messages --pairs 100 --rate 2000 --duration 20
//! chatrix-loadgen $CA --tls direct --server 127.0.0.1:5223 --mechanism SCRAM-SHA-256 logins
//! chatrix-loadgen --insecure --json logins --count 100
//! ```
//!
//! `--ca-file` trusts the given PEM (the server's self-signed certificate or its CA).
//! `--insecure` skips certificate verification and is meant for benchmarks on loopback only.
//! `--tls none` needs a server that allows plaintext (Chatrix: `tls = "optional"` on a
//! `c2s-starttls` listener).
//!
//! Server CPU figures have the resolution of the kernel's clock tick (10 ms at 100 Hz): run
//! enough logins or messages that the total is well above it.
//!
//! # How it was tried
//!
//! Besides the tests (the client against a scripted in-memory server running xmpp-sasl's real
//! server side), every scenario was run over loopback against Prosody 0.12 from Debian (a
//! `localhost` `VirtualHost` with a self-signed certificate, `c2s_require_encryption = true`,
//! users made with `prosodyctl register`), over STARTTLS and Direct TLS, and against a debug
//! build of `chatrix-server` with SCRAM-SHA-1, -256, -256-PLUS and -512-PLUS.

mod cli;
mod client;
#[cfg(test)]
mod client_tests;
mod conn;
mod error;
mod proto;
mod scenario;
mod server_probe;
mod stats;
mod timestamp;
mod tls;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use serde::Serialize;

use crate::cli::{Cli, Command, Common};
use crate::client::{LoginConfig, TlsMode};
use crate::scenario::Ctx;
use crate::server_probe::Probe;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Accounts { count } = cli.command {
        for i in 0..count {
            println!("{}{i}@{}", cli.common.users_prefix, cli.common.domain);
        }
        return ExitCode::SUCCESS;
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.common.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = match runtime.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chatrix-loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatrix-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let ctx = Arc::new(context(&cli.common).await?);
    let common = &cli.common;
    let command_line: Vec<String> = std::env::args().collect();
    match cli.command {
        Command::Accounts { .. } => Ok(()),
        Command::Logins { count, duration } => {
            let report = scenario::login_storm::run(ctx, count, duration).await;
            emit(common.json, &command_line, &report)
        }
        Command::Idle {
            count,
            hold,
            settle,
            keepalive,
        } => {
            let options = scenario::idle::IdleOptions {
                count,
                hold,
                settle,
                keepalive,
            };
            let report = scenario::idle::run(ctx, options).await;
            emit(common.json, &command_line, &report)
        }
        Command::Messages {
            pairs,
            rate,
            duration,
            drain,
            window,
            body_bytes,
        } => {
            let options = scenario::messages::MessageOptions {
                pairs,
                rate,
                duration,
                drain,
                window,
                body_bytes,
            };
            let report = scenario::messages::run(ctx, options).await;
            emit(common.json, &command_line, &report)
        }
    }
}

/// Resolves the server address once and builds the shared login configuration.
async fn context(c: &Common) -> Result<Ctx, String> {
    let addr: SocketAddr = tokio::net::lookup_host(&c.server)
        .await
        .map_err(|e| format!("--server {}: {e}", c.server))?
        .next()
        .ok_or_else(|| format!("--server {}: no address", c.server))?;
    let tls = if c.tls == TlsMode::None {
        None
    } else {
        let trust = match (&c.ca_file, c.insecure) {
            (Some(_), true) => return Err("--ca-file and --insecure exclude each other".into()),
            (Some(path), false) => tls::Trust::CaFile(path),
            (None, true) => tls::Trust::Insecure,
            (None, false) => {
                return Err(
                    "TLS needs --ca-file PEM (the server's certificate or CA) or \
                            --insecure (benchmarks on loopback only)"
                        .into(),
                );
            }
        };
        let config = tls::client_config(&tls::TlsOptions {
            trust,
            alpn: c.tls == TlsMode::Direct,
            resume: c.tls_resume,
            tls13_only: c.tls13_only,
        })?;
        let name = tls::server_name(c.tls_name.as_deref().unwrap_or(&c.domain))?;
        Some((config, name))
    };
    let server = match c.server_pid {
        Some(pid) => Some(Probe::new(pid).map_err(|e| format!("--server-pid {pid}: {e}"))?),
        None => None,
    };
    Ok(Ctx {
        addr,
        login: LoginConfig {
            domain: c.domain.clone(),
            tls_mode: c.tls,
            tls,
            mechanism: c.mechanism,
            password: c.password.clone(),
            timeout: c.timeout,
        },
        users_prefix: c.users_prefix.clone(),
        accounts: c.accounts,
        concurrency: c.concurrency.max(1),
        server,
        this_process: Probe::current().ok(),
    })
}

#[derive(Serialize)]
struct Envelope<'a, R> {
    command: String,
    #[serde(flatten)]
    report: &'a R,
}

fn emit<R: Serialize + std::fmt::Display>(
    json: bool,
    command_line: &[String],
    report: &R,
) -> Result<(), String> {
    if json {
        let envelope = Envelope {
            command: command_line.join(" "),
            report,
        };
        let text = serde_json::to_string_pretty(&envelope).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        println!("$ {}", command_line.join(" "));
        print!("{report}");
    }
    Ok(())
}
