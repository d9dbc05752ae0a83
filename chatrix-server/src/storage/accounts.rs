//! What both backends share: the account address type, the SQL (one dialect, `$N`
//! placeholders), and the conversion between rows and [`StoredCredentials`].

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use xmpp_core::jid::{BareJid, JidError};
use xmpp_sasl::{ScramHash, StoredCredentials};

use super::StorageError;

/// The address of a local account: a bare JID that has a localpart.
///
/// Both parts are normalised by xmpp-core's [`BareJid`] (PRECIS `UsernameCaseMapped` for the
/// localpart), so the same account always gives the same database key however it was typed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountJid(BareJid);

/// Why a string or JID is not an account address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountJidError {
    /// Not a valid JID.
    #[error("not a valid JID: {0}")]
    Jid(#[from] JidError),
    /// A domain JID, or a JID with a resourcepart.
    #[error("an account address is `user@domain`, without a resource")]
    NotAnAccount,
}

impl AccountJid {
    /// Parses `user@domain` (normalising it); a resource or a missing localpart is an error.
    pub fn parse(s: &str) -> Result<Self, AccountJidError> {
        if s.contains('/') {
            return Err(AccountJidError::NotAnAccount);
        }
        Self::try_from(BareJid::new(s)?)
    }

    /// Makes the address from a localpart (e.g. a SASL username) and a domain, normalising
    /// both.
    pub fn from_parts(localpart: &str, domain: &str) -> Result<Self, AccountJidError> {
        Self::try_from(BareJid::from_parts(Some(localpart), domain)?)
    }

    /// The normalised localpart.
    pub fn localpart(&self) -> &str {
        self.0.localpart().unwrap_or_default()
    }

    /// The normalised domain.
    pub fn domain(&self) -> &str {
        self.0.domain()
    }

    /// The bare JID.
    pub fn as_bare(&self) -> &BareJid {
        &self.0
    }

    /// `user@domain`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<BareJid> for AccountJid {
    type Error = AccountJidError;

    fn try_from(jid: BareJid) -> Result<Self, Self::Error> {
        if jid.localpart().is_some() {
            Ok(Self(jid))
        } else {
            Err(AccountJidError::NotAnAccount)
        }
    }
}

impl From<AccountJid> for BareJid {
    fn from(a: AccountJid) -> Self {
        a.0
    }
}

impl fmt::Display for AccountJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AccountJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountJid({})", self.as_str())
    }
}

impl std::str::FromStr for AccountJid {
    type Err = AccountJidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// What an account is made with, besides its address.
pub(super) struct NewAccount<'a> {
    /// Checked by the caller with [`check_credential_set`].
    pub(super) credentials: &'a [StoredCredentials],
    /// `None`: the configured default class.
    pub(super) class: Option<&'a str>,
    /// The address it was registered from, in the form [`super::ip_column`] gives.
    pub(super) registered_ip: Option<String>,
    /// Seconds since the Unix epoch.
    pub(super) created_at: i64,
}

/// One credential row, as both backends read it.
pub(super) struct CredentialRow {
    pub(super) hash: String,
    pub(super) salt: Vec<u8>,
    pub(super) iterations: i64,
    pub(super) stored_key: Vec<u8>,
    pub(super) server_key: Vec<u8>,
}

impl CredentialRow {
    /// Checks the row and rebuilds the record.
    pub(super) fn into_credentials(
        self,
        account: &AccountJid,
    ) -> Result<StoredCredentials, StorageError> {
        let corrupt =
            |what: &str| StorageError::Corrupt(format!("credentials of {account}: {what}"));
        let hash = hash_from_name(&self.hash).ok_or_else(|| corrupt("unknown hash"))?;
        let iterations =
            u32::try_from(self.iterations).map_err(|_| corrupt("iteration count out of range"))?;
        StoredCredentials::from_parts(
            hash,
            self.salt,
            iterations,
            self.stored_key,
            self.server_key,
        )
        .map_err(|e| corrupt(&e.to_string()))
    }
}

/// The name a hash is stored under: its SCRAM name (`SHA-1`, `SHA-256`, `SHA-512`).
pub(super) fn hash_name(hash: ScramHash) -> &'static str {
    hash.as_str()
}

/// The hash stored under `name`.
pub(super) fn hash_from_name(name: &str) -> Option<ScramHash> {
    ScramHash::ALL.into_iter().find(|h| h.as_str() == name)
}

/// Seconds since the Unix epoch, for `created_at` and `updated_at`.
pub(super) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The iteration count as the database stores it.
pub(super) fn iterations_column(c: &StoredCredentials) -> i64 {
    i64::from(c.iterations())
}

/// Checks a credential set before it is written: not empty, one record per hash.
pub(super) fn check_credential_set(credentials: &[StoredCredentials]) -> Result<(), StorageError> {
    if credentials.is_empty() {
        return Err(StorageError::InvalidCredentials(
            "no credential record given",
        ));
    }
    for (i, c) in credentials.iter().enumerate() {
        if credentials[..i].iter().any(|d| d.hash() == c.hash()) {
            return Err(StorageError::InvalidCredentials("two records for one hash"));
        }
    }
    Ok(())
}

/// The SQL both backends run. PostgreSQL and SQLite both accept `$N` placeholders.
pub(super) mod sql {
    /// `$4`: the class (NULL: the default), `$5`: the address it was registered from.
    pub(in crate::storage) const INSERT_ACCOUNT: &str = "INSERT INTO accounts \
         (domain, localpart, created_at, class, registered_ip) VALUES ($1, $2, $3, $4, $5)";
    pub(in crate::storage) const INSERT_CREDENTIALS: &str = "INSERT INTO credentials \
         (domain, localpart, hash, salt, iterations, stored_key, server_key, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub(in crate::storage) const DELETE_CREDENTIALS: &str =
        "DELETE FROM credentials WHERE domain = $1 AND localpart = $2";
    pub(in crate::storage) const DELETE_ACCOUNT: &str =
        "DELETE FROM accounts WHERE domain = $1 AND localpart = $2";
    pub(in crate::storage) const ACCOUNT_EXISTS: &str =
        "SELECT 1 FROM accounts WHERE domain = $1 AND localpart = $2";
    /// PostgreSQL only: lock the account row for the rest of the transaction.
    pub(in crate::storage) const LOCK_ACCOUNT: &str =
        "SELECT 1 FROM accounts WHERE domain = $1 AND localpart = $2 FOR UPDATE";
    pub(in crate::storage) const LIST_ACCOUNTS: &str =
        "SELECT localpart FROM accounts WHERE domain = $1 ORDER BY localpart";
    pub(in crate::storage) const SELECT_CLASS: &str =
        "SELECT class FROM accounts WHERE domain = $1 AND localpart = $2";
    pub(in crate::storage) const UPDATE_CLASS: &str =
        "UPDATE accounts SET class = $3 WHERE domain = $1 AND localpart = $2";
    pub(in crate::storage) const COUNT_REGISTERED_FROM: &str =
        "SELECT COUNT(*) AS n FROM accounts WHERE registered_ip = $1";
    /// Inserts the name's tombstone row, or locks the one there, and returns its `until`. A
    /// new row gets `until = $3` (now), so it reads as expired; the caller deletes it in the
    /// same transaction, and no one else ever sees it. What matters is the lock: a deletion
    /// writing a tombstone for the name at the same time waits for this transaction, or this
    /// one waits for it and then reads its `until` (PostgreSQL re-reads the latest committed
    /// row on conflict; SQLite takes its write lock here).
    pub(in crate::storage) const CLAIM_TOMBSTONE: &str = "INSERT INTO tombstones \
         (domain, localpart, until) VALUES ($1, $2, $3) \
         ON CONFLICT (domain, localpart) DO UPDATE SET until = tombstones.until \
         RETURNING until";
    pub(in crate::storage) const DELETE_TOMBSTONE: &str =
        "DELETE FROM tombstones WHERE domain = $1 AND localpart = $2";
    pub(in crate::storage) const UPSERT_TOMBSTONE: &str = "INSERT INTO tombstones \
         (domain, localpart, until) VALUES ($1, $2, $3) \
         ON CONFLICT (domain, localpart) DO UPDATE SET until = excluded.until";
    pub(in crate::storage) const SELECT_CREDENTIALS: &str = "SELECT hash, salt, iterations, stored_key, server_key \
         FROM credentials WHERE domain = $1 AND localpart = $2 AND hash = $3";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_jid_normalises_and_refuses_non_accounts() {
        let a = AccountJid::parse("Juliet@Example.ORG").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.localpart(), a.domain()), ("juliet", "example.org"));
        assert_eq!(a.to_string(), "juliet@example.org");
        assert_eq!(
            AccountJid::parse("example.org"),
            Err(AccountJidError::NotAnAccount)
        );
        assert_eq!(
            AccountJid::parse("a@example.org/r"),
            Err(AccountJidError::NotAnAccount)
        );
        assert!(matches!(
            AccountJid::parse("a@"),
            Err(AccountJidError::Jid(_))
        ));
        assert_eq!(
            AccountJid::from_parts("ＪＵＬＩＥＴ", "example.org").map(|a| a.to_string()),
            Ok("juliet@example.org".to_owned())
        );
    }

    #[test]
    fn hash_names_round_trip() {
        for h in ScramHash::ALL {
            assert_eq!(hash_from_name(hash_name(h)), Some(h));
        }
        assert_eq!(hash_from_name("MD5"), None);
    }
}
