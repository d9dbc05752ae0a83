//! Everything a running server shares between connections.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::secret::ServerSecret;
use crate::storage::{Storage, StorageOptions};
use crate::tls::{SelfSignedStatus, TlsConfigs};
use crate::{ServerError, data_dir};

/// The server's shared state: configuration, storage, TLS material per host, the server secret
/// and the SASL settings derived from them. Cheap to clone (everything is reference counted).
#[derive(Debug, Clone)]
pub struct ServerContext {
    /// The configuration.
    pub config: Arc<Config>,
    /// Accounts and credentials.
    pub storage: Storage,
    /// TLS configurations and channel-binding data per host, selected by SNI.
    pub tls: Arc<TlsConfigs>,
    /// The persistent server secret.
    pub secret: ServerSecret,
    /// SASL settings for every connection: the configured mechanisms, the server secret for
    /// unknown-user salts, and unknown users shown the same iteration count as real ones.
    pub sasl: Arc<xmpp_sasl::ServerConfig>,
    /// The self-signed certificate in use, if any host has no configured certificate.
    pub self_signed: Option<SelfSignedStatus>,
    /// The time for every time-based rule of accounts (rate limits, CAPTCHAs, bans,
    /// tombstones): the system clock, or a test's manual one.
    pub clock: Arc<dyn Clock>,
}

impl ServerContext {
    /// Prepares a server: creates the data dir, opens the storage (running migrations), makes or
    /// reuses the self-signed certificate and the server secret, loads every certificate.
    /// Opens no socket.
    pub async fn build(config: Config) -> Result<Self, ServerError> {
        data_dir::ensure(&config.data_dir)?;
        let (secret, secret_made) = ServerSecret::load_or_create(&config.server_secret_path())?;
        if secret_made {
            tracing::info!(path = %config.server_secret_path().display(), "generated a new server secret");
        }
        let (tls, self_signed) = TlsConfigs::load(&config)?;
        if let Some(s) = &self_signed {
            tracing::info!(
                path = %s.certificate.display(),
                generated = s.generated,
                "self-signed certificate for {}",
                s.domains.join(", ")
            );
        }
        let sasl = sasl_config(&config, &secret)?;
        let url = config.database_url();
        let options = StorageOptions {
            max_connections: config.database.max_connections,
            ..StorageOptions::default()
        };
        let storage = Storage::open(&url, &options).await?;
        tracing::info!(database = %url, "storage ready");
        Ok(Self {
            config: Arc::new(config),
            storage,
            tls: Arc::new(tls),
            secret,
            sasl: Arc::new(sasl),
            self_signed,
            clock: Arc::new(SystemClock),
        })
    }
}

/// The xmpp-sasl settings for this configuration.
pub fn sasl_config(
    config: &Config,
    secret: &ServerSecret,
) -> Result<xmpp_sasl::ServerConfig, ServerError> {
    let mut sasl = xmpp_sasl::ServerConfig::new(secret.as_bytes())?
        .with_unknown_user_params(config.sasl.iterations, xmpp_sasl::DEFAULT_SALT_LEN);
    if let Some(mechanisms) = &config.sasl.mechanisms {
        sasl = sasl.with_mechanisms(mechanisms);
    }
    Ok(sasl)
}
