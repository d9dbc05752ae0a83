//! What every c2s connection task shares.

use std::sync::Arc;
use std::time::SystemTime;

use xmpp_core::router::{Router, ServerInfo};
use xmpp_stream::c2s::{ConnectionConfig, TlsPolicy};

use crate::config::{ListenerConfig, ListenerKind, TlsMode};
use crate::router::SessionRegistry;
use crate::{ServerContext, ServerError};

/// State shared by all connections of a running server.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) ctx: ServerContext,
    pub(crate) router: Router,
    pub(crate) sessions: SessionRegistry,
}

impl Shared {
    pub(crate) fn new(ctx: ServerContext) -> Self {
        let domains: Vec<String> = ctx.config.hosts.iter().map(|h| h.domain.clone()).collect();
        let info = ServerInfo::new("Chatrix", env!("CARGO_PKG_VERSION"), SystemTime::now());
        Self {
            router: Router::new(domains, info),
            sessions: SessionRegistry::new(),
            ctx,
        }
    }

    /// The negotiation settings for connections accepted on `listener`.
    pub(crate) fn connection_config(
        &self,
        listener: &ListenerConfig,
    ) -> Result<Arc<ConnectionConfig>, ServerError> {
        let domains = self.ctx.config.hosts.iter().map(|h| h.domain.clone());
        let tls = match listener.tls {
            TlsMode::Required => TlsPolicy::Required,
            TlsMode::Optional => TlsPolicy::Optional,
        };
        let config = ConnectionConfig::new(domains, Arc::clone(&self.ctx.sasl))
            .map_err(|e| ServerError::Io {
                context: format!("c2s listener {}", listener.address),
                source: std::io::Error::other(e.to_string()),
            })?
            .with_tls(tls)
            .with_starttls(listener.kind == ListenerKind::C2sStarttls)
            .with_limits(self.ctx.config.limits)
            .with_extra_features(vec![self.router.info().caps_element()]);
        Ok(Arc::new(config))
    }
}
