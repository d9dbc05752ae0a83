//! Stored credentials (RFC 5802 §5) and the lookup trait the server implements over its storage.
//!
//! A server stores, per account and per hash, the salt, the iteration count, `StoredKey` and
//! `ServerKey`, derived **once** from the password at registration or password change. Neither a
//! plaintext password nor any other hash exists anywhere: PLAIN logins are verified against the
//! same record ([`StoredCredentials::verify_password`]).
//!
//! `StoredKey` cannot log a user in by itself, but together with an eavesdropped exchange it
//! reveals `ClientKey`, and `ServerKey` lets its holder impersonate the server: both are secrets.
//! `Debug` never shows them.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;

use subtle::ConstantTimeEq as _;

use crate::error::{CredentialError, LookupError};
use crate::rng::Rng;
use crate::saslprep::saslprep;
use crate::scram::ScramHash;
use crate::scram::hash::DerivedKeys;
use crate::secret::wipe;

/// The lowest iteration count accepted for new credentials (RFC 7677 §4: at least 4096).
pub const MIN_ITERATIONS: u32 = 4096;

/// The iteration count used for new credentials unless the caller asks for more.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The salt length of newly generated credentials, in bytes.
pub const DEFAULT_SALT_LEN: usize = 16;

/// One account's SCRAM record for one hash: salt, iteration count, StoredKey, ServerKey.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    hash: ScramHash,
    iterations: u32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl StoredCredentials {
    /// Derive the record from a password (SASLprep'd here), a salt and an iteration count.
    ///
    /// Accepts any non-zero iteration count so that published test vectors can be reproduced;
    /// for new accounts use [`generate`](Self::generate), which enforces [`MIN_ITERATIONS`].
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, CredentialError> {
        let n = NonZeroU32::new(iterations).ok_or(CredentialError::InvalidIterations(0))?;
        if salt.is_empty() {
            return Err(CredentialError::EmptySalt);
        }
        let prepared = saslprep(password).map_err(|_| CredentialError::InvalidPassword)?;
        let mut salted = hash.hi(prepared.as_bytes(), salt, n);
        let keys = DerivedKeys::from_salted_password(hash, &salted);
        wipe(&mut salted);
        Ok(Self {
            hash,
            iterations,
            salt: salt.to_vec(),
            stored_key: keys.stored_key.clone(),
            server_key: keys.server_key.clone(),
        })
    }

    /// New credentials for registration or a password change: a fresh random salt of
    /// [`DEFAULT_SALT_LEN`] bytes and `iterations` (at least [`MIN_ITERATIONS`]).
    pub fn generate(
        hash: ScramHash,
        password: &str,
        iterations: u32,
        rng: &mut dyn Rng,
    ) -> Result<Self, CredentialError> {
        if iterations < MIN_ITERATIONS {
            return Err(CredentialError::InvalidIterations(iterations));
        }
        let mut salt = [0u8; DEFAULT_SALT_LEN];
        rng.fill_bytes(&mut salt)?;
        Self::derive(hash, password, &salt, iterations)
    }

    /// One record per hash (SHA-1, SHA-256, SHA-512), each with its own salt: what to store at
    /// registration so that every SCRAM mechanism and PLAIN work.
    pub fn generate_all(
        password: &str,
        iterations: u32,
        rng: &mut dyn Rng,
    ) -> Result<Vec<Self>, CredentialError> {
        ScramHash::ALL
            .into_iter()
            .map(|h| Self::generate(h, password, iterations, rng))
            .collect()
    }

    /// Rebuild a record read from storage. Checks lengths; does not check the iteration count
    /// against any policy (the server session does).
    pub fn from_parts(
        hash: ScramHash,
        salt: Vec<u8>,
        iterations: u32,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    ) -> Result<Self, CredentialError> {
        if iterations == 0 {
            return Err(CredentialError::InvalidIterations(0));
        }
        if salt.is_empty() {
            return Err(CredentialError::EmptySalt);
        }
        if stored_key.len() != hash.output_len() || server_key.len() != hash.output_len() {
            return Err(CredentialError::KeyLength);
        }
        Ok(Self {
            hash,
            iterations,
            salt,
            stored_key,
            server_key,
        })
    }

    /// The hash this record is for.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// `StoredKey := H(ClientKey)`. Secret: store it, never log it.
    pub fn stored_key(&self) -> &[u8] {
        &self.stored_key
    }

    /// `ServerKey := HMAC(SaltedPassword, "Server Key")`. Secret: store it, never log it.
    pub fn server_key(&self) -> &[u8] {
        &self.server_key
    }

    /// Check a password against this record (PLAIN, web login): `H(ClientKey) == StoredKey`,
    /// compared in constant time. Costs one PBKDF2 at the stored iteration count.
    pub fn verify_password(&self, password: &str) -> bool {
        let Ok(prepared) = saslprep(password) else {
            return false;
        };
        self.verify_prepared(prepared.as_bytes())
    }

    /// [`verify_password`](Self::verify_password) for an already SASLprep'd password.
    pub(crate) fn verify_prepared(&self, prepared: &[u8]) -> bool {
        let n = NonZeroU32::new(self.iterations).unwrap_or(NonZeroU32::MIN);
        let mut salted = self.hash.hi(prepared, &self.salt, n);
        let keys = DerivedKeys::from_salted_password(self.hash, &salted);
        wipe(&mut salted);
        bool::from(keys.stored_key.ct_eq(&self.stored_key))
    }

    /// Plausible but useless credentials for a user that does not exist (or whose record cannot
    /// be used): salt and keys are HMACs of the server secret over the username, so repeated
    /// probes see the same salt, and nothing can match them.
    pub(crate) fn fake(
        hash: ScramHash,
        secret: &[u8],
        username: &str,
        iterations: u32,
        salt_len: usize,
    ) -> Self {
        let part = |label: &[u8], len: usize| {
            let mut v = ScramHash::Sha512.hmac(
                secret,
                &[
                    label,
                    b"\0",
                    hash.as_str().as_bytes(),
                    b"\0",
                    username.as_bytes(),
                ],
            );
            v.truncate(len);
            v
        };
        Self {
            hash,
            iterations: iterations.max(1),
            salt: part(b"xmpp-sasl unknown-user salt", salt_len.clamp(1, 64)),
            stored_key: part(b"xmpp-sasl unknown-user stored-key", hash.output_len()),
            server_key: part(b"xmpp-sasl unknown-user server-key", hash.output_len()),
        }
    }
}

impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .field("salt_len", &self.salt.len())
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

/// Credential lookup, implemented by the server over its storage.
///
/// The session state machine never calls this itself (it stays sans-IO: it returns
/// [`ServerStep::NeedCredentials`](crate::ServerStep::NeedCredentials) and the caller may fetch
/// from an async database). This synchronous trait serves in-memory stores, tests and the
/// convenience [`ServerSession::handle_client_message_with`](crate::ServerSession::handle_client_message_with).
pub trait CredentialLookup {
    /// The record of `username` (already SASLprep'd by the session) for `hash`; `Ok(None)` when
    /// the user, or a record for that hash, does not exist.
    fn lookup(
        &self,
        username: &str,
        hash: ScramHash,
    ) -> Result<Option<StoredCredentials>, LookupError>;
}

/// An in-memory [`CredentialLookup`] for tests and examples.
#[derive(Clone, Debug, Default)]
pub struct MemoryCredentials {
    users: HashMap<String, Vec<StoredCredentials>>,
}

impl MemoryCredentials {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a user: SASLprep the username, derive one record per hash.
    pub fn add_user(
        &mut self,
        username: &str,
        password: &str,
        iterations: u32,
        rng: &mut dyn Rng,
    ) -> Result<(), CredentialError> {
        let name = saslprep(username).map_err(|_| CredentialError::InvalidPassword)?;
        let records = StoredCredentials::generate_all(password, iterations, rng)?;
        self.users.insert(name.into_owned(), records);
        Ok(())
    }

    /// Store records as they are (the username must already be SASLprep'd).
    pub fn insert(&mut self, username: &str, records: Vec<StoredCredentials>) {
        self.users.insert(username.to_owned(), records);
    }
}

impl CredentialLookup for MemoryCredentials {
    fn lookup(
        &self,
        username: &str,
        hash: ScramHash,
    ) -> Result<Option<StoredCredentials>, LookupError> {
        Ok(self
            .users
            .get(username)
            .and_then(|records| records.iter().find(|r| r.hash == hash))
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::FixedRng;

    #[test]
    fn derive_and_verify() {
        let mut rng = FixedRng::new(1);
        let c = StoredCredentials::generate(ScramHash::Sha256, "pencil", 4096, &mut rng);
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert!(c.verify_password("pencil"));
        assert!(!c.verify_password("pencil2"));
        // SASLprep: soft hyphen is mapped to nothing.
        assert!(c.verify_password("pen\u{00AD}cil"));
        let dbg = format!("{c:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("pencil"));
        assert_eq!(
            StoredCredentials::generate(ScramHash::Sha1, "x", 4095, &mut rng),
            Err(CredentialError::InvalidIterations(4095))
        );
        assert_eq!(
            StoredCredentials::derive(ScramHash::Sha1, "\u{7}", b"s", 1),
            Err(CredentialError::InvalidPassword)
        );
    }

    #[test]
    fn from_parts_checks_lengths() {
        assert_eq!(
            StoredCredentials::from_parts(ScramHash::Sha1, vec![1], 1, vec![0; 32], vec![0; 20]),
            Err(CredentialError::KeyLength)
        );
        assert!(
            StoredCredentials::from_parts(ScramHash::Sha1, vec![1], 1, vec![0; 20], vec![0; 20])
                .is_ok()
        );
    }
}
