//! The server secret: 32 random bytes made on first start and kept in the data dir
//! (`server-secret`, mode 0600). It keys the fake SASL salts shown for unknown users, so it must
//! stay the same across restarts, and it must never be logged.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use ring::rand::{SecureRandom as _, SystemRandom};

use crate::data_dir::{self, DataDirError};

/// Length of a generated secret, in bytes.
pub const SECRET_LEN: usize = 32;

/// The shortest secret accepted from the file (what xmpp-sasl requires).
const MIN_SECRET_LEN: usize = 16;

/// The server secret. Cheap to clone; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSecret(Arc<[u8]>);

/// Why the server secret is unavailable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Reading or writing the file failed.
    #[error(transparent)]
    File(#[from] DataDirError),
    /// The file is too short to be a secret.
    #[error(
        "{path}: the server secret is {len} bytes, at least {MIN_SECRET_LEN} are needed (delete the file to make a new one)"
    )]
    TooShort {
        /// The file.
        path: String,
        /// Its length.
        len: usize,
    },
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl ServerSecret {
    /// Reads the secret from `path`, or makes a new one and writes it there if the file does
    /// not exist. Returns whether it was made.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), SecretError> {
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() < MIN_SECRET_LEN => Err(SecretError::TooShort {
                path: path.display().to_string(),
                len: bytes.len(),
            }),
            Ok(bytes) => Ok((Self(bytes.into()), false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = Self::generate()?;
                data_dir::write_private(path, secret.as_bytes())?;
                Ok((secret, true))
            }
            Err(e) => Err(DataDirError::new("cannot read", path, e).into()),
        }
    }

    /// A fresh random secret of [`SECRET_LEN`] bytes from ring's `SystemRandom`.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = [0u8; SECRET_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SecretError::Random)?;
        Ok(Self(bytes.to_vec().into()))
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerSecret(<{} bytes, redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("server-secret");
        let (a, made) = ServerSecret::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(made);
        assert_eq!(a.as_bytes().len(), SECRET_LEN);
        let (b, made) = ServerSecret::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!made);
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), "ServerSecret(<32 bytes, redacted>)");
        std::fs::write(&path, b"short").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            ServerSecret::load_or_create(&path),
            Err(SecretError::TooShort { .. })
        ));
    }
}
