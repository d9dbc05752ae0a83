//! `chatrix-server user add|passwd|delete|list|set-class`.
//!
//! Passwords are read without echo (or from standard input with `--password-stdin`), turned
//! into SCRAM credentials for SHA-1, SHA-256 and SHA-512 at once, and forgotten. They are never
//! printed or logged.

use std::io::{BufRead as _, IsTerminal as _};
use std::time::SystemTime;

use xmpp_sasl::{CredentialError, StoredCredentials, SystemRng};

use crate::ServerError;
use crate::cli::UserCommand;
use crate::config::Config;
use crate::storage::{AccountJid, AccountJidError};

/// Why an account command failed (besides storage errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The JID is not an account address.
    #[error("`{jid}`: {source}")]
    InvalidJid {
        /// What was given.
        jid: String,
        /// Why it is not an account.
        #[source]
        source: AccountJidError,
    },
    /// The domain is not a configured host.
    #[error("`{0}` is not a host of this server (see `hosts` in the configuration)")]
    UnknownHost(String),
    /// The password could not be read.
    #[error("cannot read the password: {0}")]
    ReadPassword(#[source] std::io::Error),
    /// The password is empty.
    #[error("the password is empty")]
    EmptyPassword,
    /// The two passwords typed differ.
    #[error("the passwords do not match")]
    PasswordMismatch,
    /// No terminal to ask on.
    #[error("standard input is not a terminal: use --password-stdin to pipe the password")]
    NoTerminal,
    /// The credentials could not be derived (e.g. SASLprep refuses the password).
    #[error("cannot use this password: {0}")]
    Credentials(#[from] CredentialError),
    /// The class is not configured.
    #[error("no account class `{0}` (see `[account_classes.NAME]` in the configuration)")]
    UnknownClass(String),
}

/// Runs one `user` subcommand.
pub async fn execute(cmd: &UserCommand, config: &Config) -> Result<(), ServerError> {
    match cmd {
        UserCommand::Add {
            jid,
            password_stdin,
        } => {
            let account = account(config, jid)?;
            let storage = super::open_storage(config).await?;
            let credentials = credentials(config, *password_stdin)?;
            storage.create_account(&account, &credentials).await?;
            println!("created {account}");
        }
        UserCommand::Passwd {
            jid,
            password_stdin,
        } => {
            let account = account(config, jid)?;
            let storage = super::open_storage(config).await?;
            if !storage.account_exists(&account).await? {
                return Err(crate::storage::StorageError::NotFound(account).into());
            }
            let credentials = credentials(config, *password_stdin)?;
            storage.set_credentials(&account, &credentials).await?;
            println!("changed the password of {account}");
        }
        UserCommand::Delete { jid } => {
            let account = account(config, jid)?;
            let storage = super::open_storage(config).await?;
            // The name stays reserved as after a deletion by the user. Contacts are told only
            // by a running server's deletion (in band or on the web); this command works on
            // the database alone.
            let until = SystemTime::now() + config.registration.tombstone;
            storage
                .delete_account_with_tombstone(&account, Some(until))
                .await?;
            println!("deleted {account}");
        }
        UserCommand::SetClass { jid, class } => {
            let account = account(config, jid)?;
            if !config.account_classes.contains_key(class) {
                return Err(UserError::UnknownClass(class.clone()).into());
            }
            let storage = super::open_storage(config).await?;
            // The default class is stored as no class, so a renamed default still applies.
            let stored = (class != crate::config::DEFAULT_CLASS).then_some(class.as_str());
            storage.set_account_class(&account, stored).await?;
            println!("{account} is now in class {class}");
        }
        UserCommand::List { domain } => {
            let domains: Vec<String> = match domain {
                Some(d) => vec![host(config, d)?],
                None => config.hosts.iter().map(|h| h.domain.clone()).collect(),
            };
            let storage = super::open_storage(config).await?;
            for domain in domains {
                for account in storage.list_accounts(&domain).await? {
                    println!("{account}");
                }
            }
        }
    }
    Ok(())
}

/// Parses and normalises `jid`, and checks its domain is one of ours (whether the account
/// exists is the storage's answer).
pub(crate) fn account(config: &Config, jid: &str) -> Result<AccountJid, UserError> {
    let account = AccountJid::parse(jid).map_err(|source| UserError::InvalidJid {
        jid: jid.to_owned(),
        source,
    })?;
    if !config.is_host(account.domain()) {
        return Err(UserError::UnknownHost(account.domain().to_owned()));
    }
    Ok(account)
}

/// Normalises a domain given on the command line and checks it is one of ours.
pub(crate) fn host(config: &Config, domain: &str) -> Result<String, UserError> {
    let normalised = xmpp_core::jid::BareJid::from_domain(domain)
        .ok()
        .filter(|j| j.localpart().is_none())
        .map(|j| j.domain().to_owned())
        .ok_or_else(|| UserError::UnknownHost(domain.to_owned()))?;
    if config.is_host(&normalised) {
        Ok(normalised)
    } else {
        Err(UserError::UnknownHost(normalised))
    }
}

/// Reads a password and derives one record per hash.
fn credentials(config: &Config, from_stdin: bool) -> Result<Vec<StoredCredentials>, UserError> {
    let password = if from_stdin { read_stdin()? } else { prompt()? };
    if password.is_empty() {
        return Err(UserError::EmptyPassword);
    }
    let mut rng = SystemRng::new();
    Ok(StoredCredentials::generate_all(
        &password,
        config.sasl.iterations,
        &mut rng,
    )?)
}

/// The first line of standard input, without its line ending.
fn read_stdin() -> Result<String, UserError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(UserError::ReadPassword)?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(trimmed.to_owned())
}

/// Asks twice on the terminal, without echo.
fn prompt() -> Result<String, UserError> {
    if !std::io::stdin().is_terminal() {
        return Err(UserError::NoTerminal);
    }
    let first = rpassword::prompt_password("Password: ").map_err(UserError::ReadPassword)?;
    let second =
        rpassword::prompt_password("Repeat password: ").map_err(UserError::ReadPassword)?;
    if first == second {
        Ok(first)
    } else {
        Err(UserError::PasswordMismatch)
    }
}
