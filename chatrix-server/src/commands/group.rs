//! `chatrix-server group create|delete|add-member|remove-member|list`.
//!
//! The commands write the database only: a running server notices the change at its next
//! shared-group poll (`docs/im-core.md`, "Shared roster groups") and pushes it to the online
//! members, so no server restart and no connection to the server are needed.
//!
//! Adding a member twice or removing a non-member changes nothing and says so, with success:
//! scripts can apply a membership list again. Unknown groups, unknown accounts and a group that
//! exists already are errors.

use crate::ServerError;
use crate::cli::GroupCommand;
use crate::commands::user::{UserError, account as local_account, host};
use crate::config::Config;
use crate::storage::{AccountJid, SharedGroup, StorageError};

/// Runs one `group` subcommand.
pub async fn execute(cmd: &GroupCommand, config: &Config) -> Result<(), ServerError> {
    match cmd {
        GroupCommand::Create {
            name,
            domain,
            display_name,
            everyone,
        } => {
            let domain = group_domain(config, domain.as_deref())?;
            let display_name = display_name.as_deref().unwrap_or(name);
            let storage = super::open_storage(config).await?;
            storage
                .create_shared_group(&domain, name, display_name, *everyone)
                .await?;
            println!("created shared group {name} on {domain}");
        }
        GroupCommand::Delete { name, domain } => {
            let domain = group_domain(config, domain.as_deref())?;
            let storage = super::open_storage(config).await?;
            storage.delete_shared_group(&domain, name).await?;
            println!("deleted shared group {name} on {domain}");
        }
        GroupCommand::AddMember { name, jid, domain } => {
            let domain = group_domain(config, domain.as_deref())?;
            let member = local_account(config, jid)?;
            let storage = super::open_storage(config).await?;
            if storage.add_group_member(&domain, name, &member).await? {
                println!("added {member} to shared group {name} on {domain}");
            } else {
                println!("{member} is already a member of shared group {name} on {domain}");
            }
        }
        GroupCommand::RemoveMember { name, jid, domain } => {
            let domain = group_domain(config, domain.as_deref())?;
            let member = local_account(config, jid)?;
            let storage = super::open_storage(config).await?;
            if storage.remove_group_member(&domain, name, &member).await? {
                println!("removed {member} from shared group {name} on {domain}");
            } else if storage.account_exists(&member).await? {
                println!("{member} is not a member of shared group {name} on {domain}");
            } else {
                return Err(StorageError::NotFound(member).into());
            }
        }
        GroupCommand::List { domain } => {
            let only = domain.as_deref().map(|d| host(config, d)).transpose()?;
            let storage = super::open_storage(config).await?;
            for group in storage.shared_groups().await? {
                if only.as_ref().is_none_or(|d| *d == group.domain) {
                    println!("{}", describe(&group));
                }
            }
        }
    }
    Ok(())
}

/// One line of `group list`: `NAME on DOMAIN "DISPLAY NAME": MEMBERS`.
fn describe(group: &SharedGroup) -> String {
    let mut members: Vec<&str> = Vec::new();
    if group.everyone {
        members.push("everyone");
    }
    members.extend(group.members.iter().map(AccountJid::as_str));
    let members = if members.is_empty() {
        "no members".to_owned()
    } else {
        members.join(", ")
    };
    format!(
        "{} on {} \"{}\": {members}",
        group.name, group.domain, group.display_name
    )
}

/// The group's domain: `--domain` normalised and checked, or the first configured host.
fn group_domain(config: &Config, domain: Option<&str>) -> Result<String, UserError> {
    match domain {
        Some(d) => host(config, d),
        // The configuration always has at least one host.
        None => config
            .hosts
            .first()
            .map(|h| h.domain.clone())
            .ok_or_else(|| UserError::UnknownHost(String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines() {
        let mut g = SharedGroup {
            domain: "example.org".to_owned(),
            name: "staff".to_owned(),
            display_name: "Staff ✓".to_owned(),
            everyone: false,
            members: Vec::new(),
        };
        assert_eq!(describe(&g), "staff on example.org \"Staff ✓\": no members");
        g.everyone = true;
        assert_eq!(describe(&g), "staff on example.org \"Staff ✓\": everyone");
        g.members = ["a@example.org", "b@example.net"]
            .iter()
            .map(|j| AccountJid::parse(j).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert_eq!(
            describe(&g),
            "staff on example.org \"Staff ✓\": everyone, a@example.org, b@example.net"
        );
    }
}
