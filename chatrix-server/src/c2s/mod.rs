//! Client-to-server connections: listeners, the per-connection driver, TLS.
//!
//! [`C2sServer::bind`] opens every configured c2s listener (so tests can ask for port 0 and
//! learn the real ports); [`C2sServer::serve`] accepts connections until the future is
//! dropped. Each connection runs in its own task (`session`), driving the sans-IO
//! `xmpp_stream::c2s::Connection`.

mod register;
mod resume;
mod session;
mod shared;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use xmpp_stream::c2s::ConnectionConfig;

use crate::accounts::Accounts;
use crate::config::{ListenerConfig, ListenerKind};
use crate::router::SessionRegistry;
use crate::{ServerContext, ServerError};
pub(crate) use resume::SessionState;
use shared::Shared;

/// The c2s side of a running server: bound listeners, ready to accept. It also serves the
/// account web pages on the `web-*` listeners, which share its account rules.
#[derive(Debug)]
pub struct C2sServer {
    shared: Arc<Shared>,
    /// Each listener with its negotiation settings (`None` for web listeners).
    listeners: Vec<(ListenerConfig, Option<Arc<ConnectionConfig>>, TcpListener)>,
}

impl C2sServer {
    /// Opens every c2s listener of the configuration.
    pub async fn bind(ctx: ServerContext) -> Result<Self, ServerError> {
        let shared = Arc::new(Shared::new(ctx));
        shared.im.load_offline_index().await?;
        shared.accounts.start().await?;
        let mut listeners = Vec::new();
        for listener in &shared.ctx.config.listeners {
            let socket = TcpListener::bind(listener.address)
                .await
                .map_err(|source| ServerError::Listen {
                    address: listener.address,
                    source,
                })?;
            let config = if listener.kind.is_c2s() {
                Some(shared.connection_config(listener)?)
            } else {
                None
            };
            listeners.push((listener.clone(), config, socket));
        }
        Ok(Self { shared, listeners })
    }

    /// The bound address of each listener, with its kind, in configuration order.
    pub fn local_addrs(&self) -> Vec<(ListenerKind, SocketAddr)> {
        self.listeners
            .iter()
            .filter_map(|(l, _, s)| s.local_addr().ok().map(|a| (l.kind, a)))
            .collect()
    }

    /// The sessions bound right now.
    pub fn sessions(&self) -> &SessionRegistry {
        self.shared.im.sessions()
    }

    /// The account rules (registration, passwords, deletion, bans) of this server.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.shared.accounts
    }

    /// Accepts connections on every listener until this future is dropped.
    pub async fn serve(self) {
        let mut tasks = tokio::task::JoinSet::new();
        // Shared roster groups: loaded now, then watched for changes.
        if let Err(e) = self.shared.im.refresh_shared_groups().await {
            tracing::warn!(error = %e, "shared roster groups: initial load failed");
        }
        tasks.spawn(
            Arc::clone(&self.shared.im)
                .poll_shared_groups(self.shared.ctx.config.shared_groups_poll),
        );
        let archive = &self.shared.ctx.config.archive;
        if archive.enabled {
            tasks.spawn(Arc::clone(&self.shared.im).run_archive_expiry(
                Arc::clone(&self.shared.ctx.clock),
                self.shared.archive_retention(),
                archive.expiry_interval,
            ));
        }
        for (listener, config, socket) in self.listeners {
            let shared = Arc::clone(&self.shared);
            match config {
                Some(config) => {
                    tasks.spawn(accept_loop(shared, listener, config, socket));
                }
                None => {
                    tasks.spawn(crate::web::serve(
                        Arc::clone(&shared.accounts),
                        shared.ctx.clone(),
                        listener,
                        socket,
                    ));
                }
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: ListenerConfig,
    config: Arc<ConnectionConfig>,
    socket: TcpListener,
) {
    loop {
        let (tcp, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(error = %e, address = %listener.address, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let config = Arc::clone(&config);
        match listener.kind {
            ListenerKind::C2sStarttls => {
                tokio::spawn(session::serve_starttls(shared, config, tcp, peer));
            }
            ListenerKind::C2sDirectTls => {
                tokio::spawn(session::serve_direct_tls(shared, config, tcp, peer));
            }
            // Web listeners are served by `web::serve`, never by this loop.
            ListenerKind::WebHttps | ListenerKind::WebHttp => {}
        }
    }
}

/// Runs the c2s listeners until the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn run(ctx: ServerContext) -> Result<(), ServerError> {
    let server = C2sServer::bind(ctx).await?;
    for (kind, addr) in server.local_addrs() {
        tracing::info!(listener = kind.as_str(), %addr, "listening");
    }
    tokio::select! {
        () = server.serve() => {}
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
