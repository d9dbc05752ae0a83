//! What every c2s connection task shares.

use std::sync::Arc;
use std::time::SystemTime;

use xmpp_core::roster::RosterLimits;
use xmpp_core::router::{Router, ServerInfo};
use xmpp_core::{Element, ns};
use xmpp_stream::c2s::{ConnectionConfig, TlsPolicy};

use crate::accounts::Accounts;
use crate::config::{ListenerConfig, ListenerKind, TlsMode};
use crate::im::{Im, ImLimits, OfflineLimits};
use crate::{ServerContext, ServerError};

/// State shared by all connections of a running server.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) ctx: ServerContext,
    /// Routing, the bound sessions, rosters, presence and offline storage.
    pub(crate) im: Arc<Im>,
    /// Registration, passwords, deletion and bans (shared with the web pages).
    pub(crate) accounts: Arc<Accounts>,
}

impl Shared {
    pub(crate) fn new(ctx: ServerContext) -> Self {
        let domains: Vec<String> = ctx.config.hosts.iter().map(|h| h.domain.clone()).collect();
        let info = ServerInfo::new("Chatrix", env!("CARGO_PKG_VERSION"), SystemTime::now())
            .with_feature(ns::MSGOFFLINE)
            // XEP-0077 §5: password change and removal work for every account, whether or
            // not registration is open.
            .with_feature(ns::REGISTER);
        let limits = ImLimits {
            max_roster_items: ctx.config.max_roster_items,
            roster: RosterLimits::default(),
            offline: OfflineLimits {
                default: ctx.config.default_class().max_offline_messages,
                by_class: ctx
                    .config
                    .account_classes
                    .iter()
                    .map(|(name, class)| (name.clone(), class.max_offline_messages))
                    .collect(),
            },
        };
        let im = Arc::new(Im::new(
            ctx.storage.clone(),
            Router::new(domains, info),
            limits,
        ));
        Self {
            accounts: Arc::new(Accounts::new(ctx.clone(), Arc::clone(&im))),
            im,
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
            .with_extra_features(vec![
                self.im.router.info().caps_element(),
                // RFC 6121 §2.6.1 roster versioning, §3.4 pre-approval.
                Element::new("ver", ns::ROSTER_VER_FEATURE),
                Element::new("sub", ns::PRE_APPROVAL_FEATURE),
            ]);
        Ok(Arc::new(config))
    }
}
