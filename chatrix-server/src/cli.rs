//! The command line (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The Chatrix XMPP server.
///
/// Without arguments it runs with built-in defaults: domain `localhost`, data in
/// `./chatrix-data` (SQLite database, self-signed certificate, server secret), c2s on 5222
/// (STARTTLS) and 5223 (Direct TLS).
#[derive(Debug, Parser)]
#[command(name = "chatrix-server", version, about, long_about)]
pub struct Cli {
    /// Configuration file (TOML). Without it, the built-in defaults are used.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Data directory; overrides `data_dir` in the configuration.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Run,
    /// Check the configuration and the certificate files, then exit.
    CheckConfig,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
}

/// `user ...`: account management on the configured database.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is asked for (without echo) unless --password-stdin.
    Add {
        /// The account, `user@domain`; the domain must be one of the configured hosts.
        jid: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        /// The account, `user@domain`.
        jid: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and everything stored for it.
    Delete {
        /// The account, `user@domain`.
        jid: String,
    },
    /// List accounts, one JID per line.
    List {
        /// Only this host (default: every configured host).
        domain: Option<String>,
    },
}
