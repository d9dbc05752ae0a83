//! The Chatrix server: the thin layer that wires the protocol crates to sockets, files and
//! databases (see `ARCHITECTURE.md`, "The binary is thin").
//!
//! - [`config`]: the TOML configuration, checked and resolved ([`Config`]).
//! - [`storage`]: accounts and SCRAM credentials on SQLite or PostgreSQL ([`Storage`]).
//! - [`tls`]: rustls with ring, per-host configurations selected by SNI, channel-binding data
//!   ([`TlsConfigs`], [`TlsMaterial`]), the self-signed certificate of a fresh server.
//! - [`secret`]: the persistent server secret; [`data_dir`]: files in the data directory.
//! - [`context`]: [`ServerContext`], everything a running server shares.
//! - [`c2s`]: client connections (and the `web-*` listeners beside them).
//! - [`accounts`]: registration, password changes, deletion and bans, shared by in-band
//!   XEP-0077 and the web pages (`web`); built from [`abuse`] (rate limits, fail2ban,
//!   networks), [`captcha`] and the injected [`clock`].
//! - [`cli`] and [`commands`]: the command line (`run`, `check-config`, `user ...`).
//!
//! The binary (`src/main.rs`) only parses the command line, sets up logging and calls
//! [`commands::execute`]; tests start the server in-process the same way, or build a
//! [`ServerContext`] and call [`c2s::run`].
#![warn(missing_docs)]

pub mod abuse;
pub mod accounts;
pub mod c2s;
pub mod captcha;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
pub mod data_dir;
mod error;
pub mod im;
pub mod router;
pub mod secret;
pub mod storage;
pub mod testing;
pub mod tls;
pub mod web;

pub use config::Config;
pub use context::ServerContext;
pub use error::ServerError;
pub use storage::{AccountJid, Storage, StorageError};
pub use tls::{TlsConfigs, TlsMaterial};
