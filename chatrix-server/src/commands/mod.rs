//! What each subcommand does, given a loaded configuration.

pub mod ban;
pub mod check_config;
pub mod group;
pub mod run;
pub mod user;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::storage::{Storage, StorageOptions};
use crate::{ServerError, data_dir};

/// Loads the configuration named on the command line (or the defaults) and applies
/// `--data-dir`.
pub fn load_config(cli: &Cli) -> Result<Config, ServerError> {
    let config = Config::load(cli.config.as_deref())?;
    Ok(match &cli.data_dir {
        Some(dir) => config.with_data_dir(dir),
        None => config,
    })
}

/// Runs the command of `cli` with `config`.
pub async fn execute(cli: &Cli, config: Config) -> Result<(), ServerError> {
    match &cli.command {
        None | Some(Command::Run) => run::run(config).await,
        Some(Command::CheckConfig) => check_config::check_config(&config, cli.config.as_deref()),
        Some(Command::User(cmd)) => user::execute(cmd, &config).await,
        Some(Command::Group(cmd)) => group::execute(cmd, &config).await,
        Some(Command::Ban(cmd)) => ban::execute(cmd, &config).await,
    }
}

/// Opens the configured storage (creating the data dir for a SQLite file in it).
pub(crate) async fn open_storage(config: &Config) -> Result<Storage, ServerError> {
    if uses_data_dir(config) {
        data_dir::ensure(&config.data_dir)?;
    }
    let options = StorageOptions {
        max_connections: config.database.max_connections,
        ..StorageOptions::default()
    };
    Ok(Storage::open(&config.database_url(), &options).await?)
}

fn uses_data_dir(config: &Config) -> bool {
    match config.database_url() {
        crate::storage::DatabaseUrl::Sqlite(path) => path.starts_with(&config.data_dir),
        _ => false,
    }
}

/// `path`, or a note that the defaults are in use.
pub(crate) fn describe_source(path: Option<&Path>) -> String {
    path.map_or_else(
        || "built-in defaults".to_owned(),
        |p| p.display().to_string(),
    )
}
