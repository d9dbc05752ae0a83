//! The account web pages (issue 6): register, change password, delete an account.
//!
//! Plain HTML forms that work without JavaScript, served over HTTPS (`web-https` listeners,
//! the hosts' certificates chosen by SNI, ALPN `http/1.1`) or plain HTTP behind a
//! TLS-terminating reverse proxy (`web-http`, with `[web] trusted_proxies` naming the proxies
//! whose `X-Forwarded-For` is believed). The rules and counters are those of
//! [`Accounts`], the same as in band: the web door only adds what a browser needs, CSRF
//! protection (`csrf`) and the pages (`pages`).
//!
//! Behind a reverse proxy, the proxy must pass the `Host` the browser asked for (or set
//! `X-Forwarded-Host`), append the client to `X-Forwarded-For`, and set `X-Forwarded-Proto:
//! https` when it terminates TLS (the CSRF cookie is then `Secure`); those headers are only
//! believed from an address in `trusted_proxies`.
//!
//! Each connection is served by hyper's HTTP/1.1 server with axum's [`Router`] as the
//! service. A stranger cannot hold sockets: the number of connections is capped (in all and
//! per address), a TLS handshake and the headers of each request must arrive in time (which
//! also ends idle keep-alive connections), a request body must arrive in time, and no
//! connection lives longer than [`CONNECTION_LIFETIME`].

mod client_addr;
mod csrf;
mod forms;
mod handlers;
mod pages;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::LazyConfigAcceptor;
use tower_service::Service as _;

use crate::ServerContext;
use crate::abuse::{Networks, rate_key};
use crate::accounts::Accounts;
use crate::config::{ListenerConfig, ListenerKind};

/// Connections one listener serves at once; further ones wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 512;
/// Connections one address may hold at once (trusted proxies are not limited).
pub const MAX_CONNECTIONS_PER_ADDRESS: u32 = 16;
/// Time for a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for the headers of a request, counted from the end of the previous response: an idle
/// keep-alive connection is closed after this too.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// Time for a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest a connection lives, however busy.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
/// The largest request body (a form is far smaller).
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// The largest request head (request line and headers).
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most request headers.
const MAX_HEADERS: usize = 64;

/// Serves the account web pages on `socket`, the bound socket of `listener` (a `web-https`
/// or `web-http` listener), until the future is dropped.
pub(crate) async fn serve(
    accounts: Arc<Accounts>,
    ctx: ServerContext,
    listener: ListenerConfig,
    socket: TcpListener,
) {
    let https = listener.kind == ListenerKind::WebHttps;
    let state = Arc::new(WebState::new(accounts, ctx, https));
    let router = handlers::router(Arc::clone(&state));
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let per_address = Arc::new(PerAddress::default());
    loop {
        // Waiting for a slot before accepting leaves the excess in the kernel's backlog.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, address = %listener.address, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let trusted = state.trusted_proxies.contains(peer.ip());
        let Some(held) = PerAddress::admit(&per_address, peer.ip(), trusted) else {
            tracing::debug!(%peer, "web: too many connections from this address");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let state = Arc::clone(&state);
        let router = router.clone();
        tokio::spawn(async move {
            let _slot: OwnedSemaphorePermit = slot;
            let _held = held;
            connection(&state, router, tcp, peer).await;
        });
    }
}

/// What every request handler shares.
#[derive(Debug)]
struct WebState {
    accounts: Arc<Accounts>,
    ctx: ServerContext,
    /// Whether this listener speaks TLS itself.
    https: bool,
    trusted_proxies: Networks,
    csrf: csrf::CsrfKey,
}

impl WebState {
    fn new(accounts: Arc<Accounts>, ctx: ServerContext, https: bool) -> Self {
        // The configuration checked these already.
        let trusted_proxies =
            Networks::parse(ctx.config.web.trusted_proxies.iter()).unwrap_or_default();
        let csrf = csrf::CsrfKey::new(ctx.secret.as_bytes());
        Self {
            accounts,
            ctx,
            https,
            trusted_proxies,
            csrf,
        }
    }
}

/// The TCP peer of a request, put in its extensions.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

async fn connection(state: &WebState, router: Router, tcp: TcpStream, peer: SocketAddr) {
    if state.https {
        let handshake = async {
            let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
            let material = state.ctx.tls.select(start.client_hello().server_name());
            start.into_stream(Arc::clone(&material.config_web)).await
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(tls)) => http(router, tls, peer).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "web: TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "web: TLS handshake timed out"),
        }
    } else {
        http(router, tcp, peer).await;
    }
}

/// Serves HTTP/1.1 on one connection, for at most [`CONNECTION_LIFETIME`].
async fn http<S>(router: Router, io: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        let mut router = router.clone();
        async move {
            let response = match router.call(req.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(with_security_headers(response))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_HEADER_BYTES + MAX_BODY_BYTES)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "web: connection ended with an error");
            }
        }
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {
            // Finish the request in flight, if any, then close; a peer that does not read its
            // response loses the connection a little later.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(BODY_TIMEOUT, conn).await;
        }
    }
}

/// Headers on every response, the error pages included: no script, no framing, no caching,
/// no referrer, no sniffing.
fn with_security_headers(mut response: Response<Body>) -> Response<Body> {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Connections held per address (IPv6 per /64, as the other limits count).
#[derive(Debug, Default)]
struct PerAddress {
    held: Mutex<HashMap<IpAddr, u32>>,
}

/// One connection counted in [`PerAddress`], uncounted when dropped.
#[derive(Debug)]
struct Held {
    table: Arc<PerAddress>,
    key: Option<IpAddr>,
}

impl PerAddress {
    fn admit(table: &Arc<Self>, ip: IpAddr, unlimited: bool) -> Option<Held> {
        if unlimited {
            return Some(Held {
                table: Arc::clone(table),
                key: None,
            });
        }
        let key = rate_key(ip);
        let mut held = table.held.lock().unwrap_or_else(PoisonError::into_inner);
        let n = held.entry(key).or_insert(0);
        if *n >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Held {
            table: Arc::clone(table),
            key: Some(key),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut held = self
                .table
                .held
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(n) = held.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    held.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_limit_counts_and_releases() {
        let table = Arc::new(PerAddress::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}"));
        let held: Vec<Held> = (0..MAX_CONNECTIONS_PER_ADDRESS)
            .map(|_| PerAddress::admit(&table, ip, false).unwrap_or_else(|| panic!("room")))
            .collect();
        assert!(PerAddress::admit(&table, ip, false).is_none());
        // Another address, and a trusted proxy, are not affected.
        let other: IpAddr = "192.0.2.2".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(PerAddress::admit(&table, other, false).is_some());
        assert!(PerAddress::admit(&table, ip, true).is_some());
        drop(held);
        assert!(PerAddress::admit(&table, ip, false).is_some());
        assert!(
            table
                .held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len()
                <= 1
        );
    }
}
