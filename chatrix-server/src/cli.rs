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
    /// Manage shared roster groups (members see each other in their rosters).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage addresses banned after failed logins.
    #[command(subcommand)]
    Ban(BanCommand),
}

/// `ban ...`: the addresses refused after too many failed logins. A running server notices a
/// removed ban at the address's next connection.
#[derive(Debug, Subcommand)]
pub enum BanCommand {
    /// List the bans in force, one per line: address, end (UTC), reason.
    List,
    /// Lift the ban of an address.
    Remove {
        /// The IP address, e.g. `192.0.2.7` or `2001:db8::7`.
        ip: std::net::IpAddr,
    },
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
    /// Put an account in a class (`[account_classes.NAME]`; `default` and `sponsor` always
    /// exist), which sets its limits (offline messages, upload quota).
    SetClass {
        /// The account, `user@domain`.
        jid: String,
        /// The class name.
        class: String,
    },
}

/// `group ...`: shared roster groups on the configured database. A running server picks the
/// changes up at its next poll.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group, without explicit members.
    Create {
        /// The group's name, its key on the domain.
        #[arg(value_parser = non_empty)]
        name: String,
        /// The host the group belongs to (default: the first configured host).
        #[arg(long, value_name = "D")]
        domain: Option<String>,
        /// The roster group members appear in (default: NAME).
        #[arg(long, value_name = "TEXT", value_parser = non_empty)]
        display_name: Option<String>,
        /// Every account of the domain is a member.
        #[arg(long)]
        everyone: bool,
    },
    /// Delete a group and its memberships.
    Delete {
        /// The group's name.
        name: String,
        /// The host the group belongs to (default: the first configured host).
        #[arg(long, value_name = "D")]
        domain: Option<String>,
    },
    /// Add an account (of any configured host) to a group.
    AddMember {
        /// The group's name.
        name: String,
        /// The account, `user@domain`.
        jid: String,
        /// The host the group belongs to (default: the first configured host).
        #[arg(long, value_name = "D")]
        domain: Option<String>,
    },
    /// Remove an account from a group.
    RemoveMember {
        /// The group's name.
        name: String,
        /// The account, `user@domain`.
        jid: String,
        /// The host the group belongs to (default: the first configured host).
        #[arg(long, value_name = "D")]
        domain: Option<String>,
    },
    /// List groups, one per line: name, host, display name, then `everyone` and/or the
    /// explicit members.
    List {
        /// Only this host's groups (default: every group).
        #[arg(long, value_name = "D")]
        domain: Option<String>,
    },
}

/// Refuses an empty (or all-blank) name: it would be invisible in rosters and in `group list`.
fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(s.to_owned())
    }
}
