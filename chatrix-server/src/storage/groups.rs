//! Shared roster groups, on both backends.
//!
//! `shared_groups` holds each group (per domain: its name, display name and whether everyone on
//! the domain is a member), `shared_group_members` its explicit members (`0002_im.sql`). The
//! server reads them all with [`Storage::shared_groups`] at every poll and works out the
//! changes itself, so the administrator's writes (the CLI is another process) need no
//! notification channel.

use super::{AccountJid, Storage, StorageError, dispatch};

/// A shared roster group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedGroup {
    /// The domain the group belongs to (normalised).
    pub domain: String,
    /// Its name, the key the administrator uses.
    pub name: String,
    /// The roster group its members appear in.
    pub display_name: String,
    /// Every account of `domain` is a member, besides the explicit `members`.
    pub everyone: bool,
    /// The explicit members, sorted.
    pub members: Vec<AccountJid>,
}

impl Storage {
    /// Creates a group without explicit members. `domain` is normalised by the caller (the
    /// configured host).
    ///
    /// [`StorageError::GroupExists`] when `domain` has a group of that name already.
    pub async fn create_shared_group(
        &self,
        domain: &str,
        name: &str,
        display_name: &str,
        everyone: bool,
    ) -> Result<(), StorageError> {
        dispatch!(self.create_shared_group(domain, name, display_name, everyone))
    }

    /// Deletes a group and its memberships.
    ///
    /// [`StorageError::GroupNotFound`] when there is no such group.
    pub async fn delete_shared_group(&self, domain: &str, name: &str) -> Result<(), StorageError> {
        dispatch!(self.delete_shared_group(domain, name))
    }

    /// Adds an explicit member, any local account (of any domain); `Ok(false)` when it is a
    /// member already.
    ///
    /// [`StorageError::GroupNotFound`] when there is no such group, [`StorageError::NotFound`]
    /// when the account does not exist.
    pub async fn add_group_member(
        &self,
        domain: &str,
        name: &str,
        member: &AccountJid,
    ) -> Result<bool, StorageError> {
        dispatch!(self.add_group_member(domain, name, member))
    }

    /// Removes an explicit member; `Ok(false)` when it was not one.
    ///
    /// [`StorageError::GroupNotFound`] when there is no such group.
    pub async fn remove_group_member(
        &self,
        domain: &str,
        name: &str,
        member: &AccountJid,
    ) -> Result<bool, StorageError> {
        dispatch!(self.remove_group_member(domain, name, member))
    }

    /// Every group of every domain with its explicit members, ordered by (domain, name) as
    /// bytes, the same on both backends. One statement, so one consistent snapshot.
    pub async fn shared_groups(&self) -> Result<Vec<SharedGroup>, StorageError> {
        dispatch!(self.shared_groups())
    }
}

fn group_not_found(domain: &str, name: &str) -> StorageError {
    StorageError::GroupNotFound {
        domain: domain.to_owned(),
        name: name.to_owned(),
    }
}

/// The shared-group SQL both backends run.
mod sql {
    pub(super) const INSERT_GROUP: &str = "INSERT INTO shared_groups \
         (domain, name, display_name, everyone) VALUES ($1, $2, $3, $4)";
    /// The memberships go with the group (`ON DELETE CASCADE`).
    pub(super) const DELETE_GROUP: &str =
        "DELETE FROM shared_groups WHERE domain = $1 AND name = $2";
    pub(super) const GROUP_EXISTS: &str =
        "SELECT 1 FROM shared_groups WHERE domain = $1 AND name = $2";
    pub(super) const INSERT_MEMBER: &str = "INSERT INTO shared_group_members \
         (domain, name, member_domain, member_localpart) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING";
    pub(super) const DELETE_MEMBER: &str = "DELETE FROM shared_group_members \
         WHERE domain = $1 AND name = $2 AND member_domain = $3 AND member_localpart = $4";
    pub(super) const SELECT_ALL: &str = "SELECT g.domain, g.name, g.display_name, g.everyone, \
         m.member_domain, m.member_localpart \
         FROM shared_groups g \
         LEFT JOIN shared_group_members m ON m.domain = g.domain AND m.name = g.name";
}

/// Adds the shared-group methods to `$storage`.
macro_rules! group_queries {
    ($storage:ty) => {
        impl $storage {
            pub(super) async fn create_shared_group(
                &self,
                domain: &str,
                name: &str,
                display_name: &str,
                everyone: bool,
            ) -> Result<(), StorageError> {
                sqlx::query(sql::INSERT_GROUP)
                    .bind(domain)
                    .bind(name)
                    .bind(display_name)
                    .bind(everyone)
                    .execute(self.pool())
                    .await
                    .map_err(|e| match &e {
                        sqlx::Error::Database(db) if db.is_unique_violation() => {
                            StorageError::GroupExists {
                                domain: domain.to_owned(),
                                name: name.to_owned(),
                            }
                        }
                        _ => StorageError::Backend(e),
                    })?;
                Ok(())
            }

            pub(super) async fn delete_shared_group(
                &self,
                domain: &str,
                name: &str,
            ) -> Result<(), StorageError> {
                let deleted = sqlx::query(sql::DELETE_GROUP)
                    .bind(domain)
                    .bind(name)
                    .execute(self.pool())
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    return Err(group_not_found(domain, name));
                }
                Ok(())
            }

            pub(super) async fn add_group_member(
                &self,
                domain: &str,
                name: &str,
                member: &AccountJid,
            ) -> Result<bool, StorageError> {
                let inserted = sqlx::query(sql::INSERT_MEMBER)
                    .bind(domain)
                    .bind(name)
                    .bind(member.domain())
                    .bind(member.localpart())
                    .execute(self.pool())
                    .await;
                match inserted {
                    Ok(done) => Ok(done.rows_affected() == 1),
                    // The group or the account is missing: say which (the group first).
                    Err(e) if is_foreign_key_violation(&e) => {
                        if self.group_exists(domain, name).await? {
                            Err(StorageError::NotFound(member.clone()))
                        } else {
                            Err(group_not_found(domain, name))
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }

            pub(super) async fn remove_group_member(
                &self,
                domain: &str,
                name: &str,
                member: &AccountJid,
            ) -> Result<bool, StorageError> {
                let deleted = sqlx::query(sql::DELETE_MEMBER)
                    .bind(domain)
                    .bind(name)
                    .bind(member.domain())
                    .bind(member.localpart())
                    .execute(self.pool())
                    .await?
                    .rows_affected();
                if deleted == 0 && !self.group_exists(domain, name).await? {
                    return Err(group_not_found(domain, name));
                }
                Ok(deleted == 1)
            }

            pub(super) async fn shared_groups(&self) -> Result<Vec<SharedGroup>, StorageError> {
                let rows = sqlx::query(sql::SELECT_ALL).fetch_all(self.pool()).await?;
                let mut groups: BTreeMap<(String, String), SharedGroup> = BTreeMap::new();
                for row in &rows {
                    let domain: String = row.try_get("domain")?;
                    let name: String = row.try_get("name")?;
                    let key = (domain.clone(), name.clone());
                    let group = match groups.entry(key) {
                        Entry::Occupied(entry) => entry.into_mut(),
                        Entry::Vacant(entry) => entry.insert(SharedGroup {
                            domain,
                            name,
                            display_name: row.try_get("display_name")?,
                            everyone: row.try_get("everyone")?,
                            members: Vec::new(),
                        }),
                    };
                    let member_domain: Option<String> = row.try_get("member_domain")?;
                    let member_localpart: Option<String> = row.try_get("member_localpart")?;
                    if let (Some(d), Some(l)) = (member_domain, member_localpart) {
                        let member = AccountJid::from_parts(&l, &d).map_err(|e| {
                            StorageError::Corrupt(format!(
                                "member `{l}@{d}` of shared group `{}` on {}: {e}",
                                group.name, group.domain
                            ))
                        })?;
                        group.members.push(member);
                    }
                }
                Ok(groups
                    .into_values()
                    .map(|mut g| {
                        g.members.sort();
                        g
                    })
                    .collect())
            }

            async fn group_exists(&self, domain: &str, name: &str) -> Result<bool, StorageError> {
                Ok(sqlx::query(sql::GROUP_EXISTS)
                    .bind(domain)
                    .bind(name)
                    .fetch_optional(self.pool())
                    .await?
                    .is_some())
            }
        }
    };
}

mod backends {
    use std::collections::BTreeMap;
    use std::collections::btree_map::Entry;

    use sqlx::Row as _;

    use super::super::{AccountJid, PostgresStorage, SqliteStorage, StorageError};
    use super::{SharedGroup, group_not_found, sql};
    use crate::storage::is_foreign_key_violation;

    group_queries!(SqliteStorage);
    group_queries!(PostgresStorage);
}
