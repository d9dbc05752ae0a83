//! `chatrix-server ban list|remove IP`: the addresses refused after failed logins.
//!
//! Bans live in the database, so these commands work while the server runs: a removed ban is
//! noticed at the address's next connection (the server checks a ban it holds in memory
//! against the database before enforcing it).

use std::time::SystemTime;

use crate::ServerError;
use crate::cli::BanCommand;
use crate::config::Config;

/// Runs one `ban` subcommand.
pub async fn execute(cmd: &BanCommand, config: &Config) -> Result<(), ServerError> {
    let storage = super::open_storage(config).await?;
    match cmd {
        BanCommand::List => {
            for ban in storage.bans(SystemTime::now()).await? {
                println!(
                    "{} until {} ({})",
                    ban.ip,
                    xmpp_core::datetime::format_utc(ban.until, false),
                    ban.reason
                );
            }
        }
        BanCommand::Remove { ip } => {
            if storage.remove_ban(*ip).await? {
                println!("lifted the ban of {ip}");
            } else {
                println!("{ip} is not banned");
            }
        }
    }
    Ok(())
}
