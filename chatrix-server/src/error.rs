//! The server's top-level error: everything that can stop a command or the server.

use crate::commands::user::UserError;
use crate::config::ConfigError;
use crate::data_dir::DataDirError;
use crate::secret::SecretError;
use crate::storage::StorageError;
use crate::tls::TlsError;

/// Why a command or the server stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Certificates or keys are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The server secret is unusable.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The SASL settings are refused by xmpp-sasl.
    #[error("SASL configuration: {0}")]
    Sasl(#[from] xmpp_sasl::ConfigError),
    /// An account command failed.
    #[error(transparent)]
    User(#[from] UserError),
    /// A listener could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Any other I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A part of the server that does not exist yet.
    #[error("{0} not implemented yet")]
    NotImplemented(&'static str),
}
