//! What every c2s connection task shares.

use std::sync::Arc;
use std::time::SystemTime;

use xmpp_core::roster::RosterLimits;
use xmpp_core::router::{Router, ServerInfo};
use xmpp_core::{Element, ns};
use xmpp_stream::c2s::{ConnectionConfig, SmConfig, TlsPolicy};

use crate::accounts::Accounts;
use crate::config::{ListenerConfig, ListenerKind, TlsMode};
use xmpp_mam::page::PageSizes;

use crate::im::{ArchiveSettings, ClassLimits, Im, ImLimits, OfflineLimits, Retention};
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
            .with_feature(ns::REGISTER)
            .with_feature(ns::CARBONS)
            .with_account_iq(ns::CARBONS)
            .with_feature(ns::BLOCKING)
            .with_account_iq(ns::BLOCKING);
        let archive = &ctx.config.archive;
        let info = if archive.enabled {
            // XEP-0313 §7: clients look for the archive on their own bare JID.
            info.with_account_iq(xmpp_mam::ns::MAM)
                .with_account_feature(xmpp_mam::ns::MAM)
                .with_account_feature(xmpp_mam::ns::MAM_EXTENDED)
                .with_account_feature(xmpp_mam::ns::SID)
        } else {
            info
        };
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
            archive: ArchiveSettings {
                enabled: archive.enabled,
                default_policy: archive.default_policy,
                pages: PageSizes {
                    default: archive.default_page,
                    max: archive.max_page,
                },
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

    /// The archive's retention rules as configured.
    pub(crate) fn archive_retention(&self) -> Retention {
        let config = &self.ctx.config;
        Retention {
            max_age: config.archive.retention,
            caps: ClassLimits {
                default: config.default_class().max_archive_messages,
                by_class: config
                    .account_classes
                    .iter()
                    .map(|(name, class)| (name.clone(), class.max_archive_messages))
                    .collect(),
            },
        }
    }

    /// XEP-0198 as configured; `None` when it is off.
    fn stream_management(&self) -> Option<SmConfig> {
        let sm = &self.ctx.config.stream_management;
        sm.enabled.then(|| SmConfig {
            max_unacked: sm.max_unacked,
            resume: sm.resumable(),
            max_resume: sm.resume_timeout,
        })
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
            .with_stream_management(self.stream_management())
            .with_csi(self.ctx.config.csi.enabled)
            .with_extra_features(vec![
                self.im.router.info().caps_element(),
                // RFC 6121 §2.6.1 roster versioning, §3.4 pre-approval.
                Element::new("ver", ns::ROSTER_VER_FEATURE),
                Element::new("sub", ns::PRE_APPROVAL_FEATURE),
            ]);
        Ok(Arc::new(config))
    }
}
