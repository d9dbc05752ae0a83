//! Rosters (RFC 6121 §2) and their versions, on both backends.
//!
//! Tables (`0002_im.sql`): `roster_items` (one row per item, keyed by the contact's normalised
//! bare JID), `roster_groups` (the item's groups with their position, so the client's order
//! survives) and `roster_versions` (one counter per account). Every write to an account's items
//! bumps its counter in the same transaction, so a `ver` always names exactly one roster
//! content. The bump is an upsert on the account's version row, which also serialises
//! concurrent writers of one roster (the row lock on PostgreSQL, the database write lock on
//! SQLite).
//!
//! A roster read is one statement (versions joined with items and groups), so it sees one
//! snapshot on both backends without an explicit transaction.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::{SystemTime, UNIX_EPOCH};

use xmpp_core::BareJid;
use xmpp_core::roster::{Roster, RosterItem, RosterStore, RosterVersion, Subscription};

use super::{AccountJid, Storage, StorageError, dispatch};

impl Storage {
    /// The stored roster of `owner`, with its version: empty at [`RosterVersion::INITIAL`]
    /// for an account that never had an item (or does not exist).
    pub async fn roster(&self, owner: &AccountJid) -> Result<Roster, StorageError> {
        dispatch!(self.roster(owner))
    }

    /// One item of `owner`'s roster, without loading the rest (inbound subscription stanzas
    /// need only the contact's item).
    pub async fn roster_item(
        &self,
        owner: &AccountJid,
        contact: &BareJid,
    ) -> Result<Option<RosterItem>, StorageError> {
        dispatch!(self.roster_item(owner, contact))
    }

    /// Inserts or replaces the item for `item.jid` (every field: name, groups in order,
    /// subscription, ask, approved, `pending_in`) and bumps the owner's roster version in the
    /// same transaction; returns the new version.
    ///
    /// [`StorageError::NotFound`] when the account does not exist;
    /// [`StorageError::InvalidRosterItem`] for a [`Subscription::Remove`] item.
    pub async fn put_roster_item(
        &self,
        owner: &AccountJid,
        item: &RosterItem,
    ) -> Result<RosterVersion, StorageError> {
        let subscription = stored_subscription(item.subscription)?;
        dispatch!(self.put_roster_item(owner, item, subscription))
    }

    /// Removes the item for `contact`, bumping the version in the same transaction; returns
    /// the new version, or `None` (version untouched) when there was no such item.
    pub async fn remove_roster_item(
        &self,
        owner: &AccountJid,
        contact: &BareJid,
    ) -> Result<Option<RosterVersion>, StorageError> {
        dispatch!(self.remove_roster_item(owner, contact))
    }

    /// The number of items in `owner`'s roster, to enforce `max_roster_items` without loading
    /// the roster.
    pub async fn roster_len(&self, owner: &AccountJid) -> Result<usize, StorageError> {
        dispatch!(self.roster_len(owner))
    }

    /// The accounts whose roster holds `user` with subscription `from` or `both`: those whose
    /// presence `user` may see, so those a probe at `user`'s initial presence is answered for.
    /// Sorted; one query on the contact index.
    pub async fn presence_publishers(
        &self,
        user: &BareJid,
    ) -> Result<Vec<AccountJid>, StorageError> {
        let mut publishers = dispatch!(self.presence_publishers(user))?;
        publishers.sort();
        Ok(publishers)
    }
}

/// xmpp-core's roster logic runs on the server's storage directly. An owner without a
/// localpart is [`StorageError::NotAnAccount`].
impl RosterStore for Storage {
    type Error = StorageError;

    async fn get(&self, owner: &BareJid) -> Result<Roster, StorageError> {
        self.roster(&owner_account(owner)?).await
    }

    async fn put_item(
        &self,
        owner: &BareJid,
        item: RosterItem,
    ) -> Result<RosterVersion, StorageError> {
        self.put_roster_item(&owner_account(owner)?, &item).await
    }

    async fn remove_item(
        &self,
        owner: &BareJid,
        jid: &BareJid,
    ) -> Result<Option<RosterVersion>, StorageError> {
        self.remove_roster_item(&owner_account(owner)?, jid).await
    }
}

/// The account a roster (or archive, or block list) owner names.
pub(super) fn owner_account(owner: &BareJid) -> Result<AccountJid, StorageError> {
    AccountJid::try_from(owner.clone()).map_err(|_| StorageError::NotAnAccount(owner.clone()))
}

/// The `subscription` column value of a state; `remove` is not a state.
fn stored_subscription(s: Subscription) -> Result<&'static str, StorageError> {
    if s == Subscription::Remove {
        Err(StorageError::InvalidRosterItem(
            "`remove` is not a subscription state",
        ))
    } else {
        Ok(s.as_str())
    }
}

/// The version a roster starts at when its account first changes it: the current time in
/// microseconds. A counter starting at 1 would repeat the `ver` values of an account that was
/// deleted and made again, and a client that cached one would take a different roster for
/// current (xmpp-core's `roster::version` module explains the hazard). Later bumps add one.
fn first_version() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .max(1)
}

/// A stored version as xmpp-core's type.
fn version_from_column(owner: &AccountJid, v: i64) -> Result<RosterVersion, StorageError> {
    u64::try_from(v)
        .map(RosterVersion::new)
        .map_err(|_| StorageError::Corrupt(format!("roster version of {owner}: {v}")))
}

/// The columns of one item and one of its groups, as the roster queries return them (the
/// item columns are `None` for a version row without items).
pub(super) struct ItemRow {
    pub(super) contact: Option<String>,
    pub(super) name: Option<String>,
    pub(super) subscription: Option<String>,
    pub(super) ask: Option<bool>,
    pub(super) approved: Option<bool>,
    pub(super) pending_in: Option<bool>,
    pub(super) group: Option<String>,
}

/// Folds rows (ordered by contact, then group position) into items, checking each column.
pub(super) fn items_from_rows(
    owner: &AccountJid,
    rows: impl IntoIterator<Item = ItemRow>,
) -> Result<Vec<RosterItem>, StorageError> {
    let mut items: BTreeMap<String, RosterItem> = BTreeMap::new();
    for row in rows {
        let Some(contact) = row.contact else { continue };
        let corrupt =
            |what: &str| StorageError::Corrupt(format!("roster item {contact} of {owner}: {what}"));
        let item = match items.entry(contact.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let jid = BareJid::new(&contact).map_err(|e| corrupt(&e.to_string()))?;
                let subscription = row
                    .subscription
                    .as_deref()
                    .and_then(Subscription::from_attr)
                    .filter(|s| *s != Subscription::Remove)
                    .ok_or_else(|| corrupt("unknown subscription"))?;
                let flag = |v: Option<bool>| v.ok_or_else(|| corrupt("missing flag"));
                let mut item = RosterItem::new(jid);
                item.name = row.name;
                item.subscription = subscription;
                item.ask = flag(row.ask)?;
                item.approved = flag(row.approved)?;
                item.pending_in = flag(row.pending_in)?;
                entry.insert(item)
            }
        };
        if let Some(group) = row.group {
            item.groups.push(group);
        }
    }
    Ok(items.into_values().collect())
}

/// The roster SQL both backends run.
pub(super) mod sql {
    /// `$3`: the first version, for an account whose roster never changed.
    pub(in crate::storage) const BUMP_VERSION: &str = "INSERT INTO roster_versions \
         (domain, localpart, version) VALUES ($1, $2, $3) \
         ON CONFLICT (domain, localpart) DO UPDATE SET version = roster_versions.version + 1 \
         RETURNING version";
    pub(in crate::storage) const SELECT_ROSTER: &str = "SELECT v.version, \
         i.contact, i.name, i.subscription, i.ask, i.approved, i.pending_in, g.name AS grp \
         FROM roster_versions v \
         LEFT JOIN roster_items i ON i.domain = v.domain AND i.localpart = v.localpart \
         LEFT JOIN roster_groups g ON g.domain = i.domain AND g.localpart = i.localpart \
             AND g.contact = i.contact \
         WHERE v.domain = $1 AND v.localpart = $2 \
         ORDER BY i.contact, g.position";
    pub(in crate::storage) const SELECT_ITEM: &str = "SELECT \
         i.contact, i.name, i.subscription, i.ask, i.approved, i.pending_in, g.name AS grp \
         FROM roster_items i \
         LEFT JOIN roster_groups g ON g.domain = i.domain AND g.localpart = i.localpart \
             AND g.contact = i.contact \
         WHERE i.domain = $1 AND i.localpart = $2 AND i.contact = $3 \
         ORDER BY g.position";
    pub(in crate::storage) const UPSERT_ITEM: &str = "INSERT INTO roster_items \
         (domain, localpart, contact, name, subscription, ask, approved, pending_in) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (domain, localpart, contact) DO UPDATE SET \
         name = excluded.name, subscription = excluded.subscription, ask = excluded.ask, \
         approved = excluded.approved, pending_in = excluded.pending_in";
    pub(in crate::storage) const DELETE_GROUPS: &str =
        "DELETE FROM roster_groups WHERE domain = $1 AND localpart = $2 AND contact = $3";
    pub(in crate::storage) const INSERT_GROUP: &str = "INSERT INTO roster_groups \
         (domain, localpart, contact, position, name) VALUES ($1, $2, $3, $4, $5)";
    /// The groups go with the item (`ON DELETE CASCADE`).
    pub(in crate::storage) const DELETE_ITEM: &str =
        "DELETE FROM roster_items WHERE domain = $1 AND localpart = $2 AND contact = $3";
    pub(in crate::storage) const COUNT_ITEMS: &str =
        "SELECT COUNT(*) AS n FROM roster_items WHERE domain = $1 AND localpart = $2";
    pub(in crate::storage) const PUBLISHERS: &str = "SELECT domain, localpart \
         FROM roster_items WHERE contact = $1 AND subscription IN ('from', 'both')";
}

/// Adds the roster methods to a backend (`$storage`, whose `pool()` is a pool of `$db`).
macro_rules! roster_queries {
    ($storage:ty, $db:ty) => {
        impl $storage {
            pub(super) async fn roster(&self, owner: &AccountJid) -> Result<Roster, StorageError> {
                let rows = sqlx::query(sql::SELECT_ROSTER)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .fetch_all(self.pool())
                    .await?;
                let Some(first) = rows.first() else {
                    return Ok(Roster::new());
                };
                let version = version_from_column(owner, first.try_get("version")?)?;
                let rows = rows
                    .iter()
                    .map(Self::item_row)
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(Roster::from_parts(version, items_from_rows(owner, rows)?))
            }

            pub(super) async fn roster_item(
                &self,
                owner: &AccountJid,
                contact: &BareJid,
            ) -> Result<Option<RosterItem>, StorageError> {
                let rows = sqlx::query(sql::SELECT_ITEM)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(contact.as_str())
                    .fetch_all(self.pool())
                    .await?;
                let rows = rows
                    .iter()
                    .map(Self::item_row)
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(items_from_rows(owner, rows)?.pop())
            }

            pub(super) async fn put_roster_item(
                &self,
                owner: &AccountJid,
                item: &RosterItem,
                subscription: &'static str,
            ) -> Result<RosterVersion, StorageError> {
                let mut tx = self.pool().begin().await?;
                // First, so that a missing account fails before anything else is written and
                // the version row serialises writers of this roster.
                let version = Self::bump_version(&mut tx, owner).await?;
                sqlx::query(sql::UPSERT_ITEM)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(item.jid.as_str())
                    .bind(item.name.as_deref())
                    .bind(subscription)
                    .bind(item.ask)
                    .bind(item.approved)
                    .bind(item.pending_in)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql::DELETE_GROUPS)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(item.jid.as_str())
                    .execute(&mut *tx)
                    .await?;
                for (position, group) in (0_i64..).zip(&item.groups) {
                    sqlx::query(sql::INSERT_GROUP)
                        .bind(owner.domain())
                        .bind(owner.localpart())
                        .bind(item.jid.as_str())
                        .bind(position)
                        .bind(group.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(version)
            }

            pub(super) async fn remove_roster_item(
                &self,
                owner: &AccountJid,
                contact: &BareJid,
            ) -> Result<Option<RosterVersion>, StorageError> {
                let mut tx = self.pool().begin().await?;
                // The version first, as in a put: writers of one roster always lock the version
                // row before an item row, so a put and a remove never wait for each other in a
                // cycle (PostgreSQL would abort one as a deadlock). A rollback undoes the bump
                // when there is nothing to remove.
                let version = match Self::bump_version(&mut tx, owner).await {
                    Ok(version) => version,
                    // No account, so no item.
                    Err(StorageError::NotFound(_)) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let removed = sqlx::query(sql::DELETE_ITEM)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(contact.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if removed == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                tx.commit().await?;
                Ok(Some(version))
            }

            pub(super) async fn roster_len(
                &self,
                owner: &AccountJid,
            ) -> Result<usize, StorageError> {
                let n: i64 = sqlx::query(sql::COUNT_ITEMS)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .fetch_one(self.pool())
                    .await?
                    .try_get("n")?;
                usize::try_from(n)
                    .map_err(|_| StorageError::Corrupt(format!("roster of {owner}: {n} items")))
            }

            pub(super) async fn presence_publishers(
                &self,
                user: &BareJid,
            ) -> Result<Vec<AccountJid>, StorageError> {
                let rows = sqlx::query(sql::PUBLISHERS)
                    .bind(user.as_str())
                    .fetch_all(self.pool())
                    .await?;
                rows.iter()
                    .map(|row| {
                        let domain: String = row.try_get("domain")?;
                        let localpart: String = row.try_get("localpart")?;
                        AccountJid::from_parts(&localpart, &domain).map_err(|e| {
                            StorageError::Corrupt(format!("account `{localpart}@{domain}`: {e}"))
                        })
                    })
                    .collect()
            }

            /// Bumps (or starts) the owner's version inside `tx`; `NotFound` when the account
            /// does not exist.
            async fn bump_version(
                tx: &mut sqlx::Transaction<'_, $db>,
                owner: &AccountJid,
            ) -> Result<RosterVersion, StorageError> {
                let row = sqlx::query(sql::BUMP_VERSION)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(first_version())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(|e| {
                        if crate::storage::is_foreign_key_violation(&e) {
                            StorageError::NotFound(owner.clone())
                        } else {
                            StorageError::Backend(e)
                        }
                    })?;
                version_from_column(owner, row.try_get("version")?)
            }

            /// One row of a roster query.
            fn item_row(row: &<$db as sqlx::Database>::Row) -> Result<ItemRow, sqlx::Error> {
                Ok(ItemRow {
                    contact: row.try_get("contact")?,
                    name: row.try_get("name")?,
                    subscription: row.try_get("subscription")?,
                    ask: row.try_get("ask")?,
                    approved: row.try_get("approved")?,
                    pending_in: row.try_get("pending_in")?,
                    group: row.try_get("grp")?,
                })
            }
        }
    };
}

mod backends {
    use sqlx::Row as _;
    use xmpp_core::BareJid;
    use xmpp_core::roster::{Roster, RosterItem, RosterVersion};

    use super::super::{AccountJid, PostgresStorage, SqliteStorage, StorageError};
    use super::{ItemRow, first_version, items_from_rows, sql, version_from_column};

    roster_queries!(SqliteStorage, sqlx::Sqlite);
    roster_queries!(PostgresStorage, sqlx::Postgres);
}
