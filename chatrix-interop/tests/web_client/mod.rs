//! A small HTTP/1.1 client for the web pages' tests (hyper's connection API over TCP or
//! TLS), with the one cookie the pages set, and readers for the forms' hidden fields.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

/// Where to send requests, and the cookie the server set.
pub(crate) struct Http {
    addr: SocketAddr,
    /// The host name for `Host` and SNI.
    host: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// `name=value` of the last cookie the server set.
    pub(crate) cookie: Option<String>,
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The hidden input `name`'s value.
    pub(crate) fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }

    /// The CSRF token of the form.
    pub(crate) fn csrf(&self) -> String {
        self.hidden("csrf")
            .unwrap_or_else(|| panic!("no CSRF token in:\n{}", self.body))
    }

    /// The CAPTCHA challenge id of the form, if it has one.
    pub(crate) fn captcha_id(&self) -> Option<String> {
        self.hidden("captcha_id")
    }

    /// The `Retry-After` seconds.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.header("retry-after").and_then(|v| v.parse().ok())
    }

    /// Panics unless the status is `status` and the body contains `needle`.
    #[track_caller]
    pub(crate) fn assert(&self, status: u16, needle: &str) -> &Self {
        assert_eq!(self.status, status, "{self}");
        assert!(self.body.contains(needle), "`{needle}` not in:\n{self}");
        self
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (n, v) in &self.headers {
            writeln!(f, "{n}: {}", v.to_str().unwrap_or("?"))?;
        }
        write!(f, "\n{}", self.body)
    }
}

impl Http {
    /// Plain HTTP to `addr`.
    pub(crate) fn plain(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: addr.to_string(),
            tls: None,
            cookie: None,
        }
    }

    /// HTTPS to `addr` as `localhost`, trusting the certificate in `ca` (PEM), ALPN
    /// `http/1.1`.
    pub(crate) fn tls(addr: SocketAddr, ca: &Path) -> Self {
        Self {
            addr,
            host: format!("localhost:{}", addr.port()),
            tls: Some(crate::support::raw::tls_config_alpn(ca, &[b"http/1.1"])),
            cookie: None,
        }
    }

    /// The origin of the pages, as a browser names it.
    pub(crate) fn origin(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }

    /// GET `path` (keeping the cookie the server sets).
    pub(crate) async fn get(&mut self, path: &str) -> Reply {
        self.request("GET", path, &[], Bytes::new()).await
    }

    /// POST `fields` as a form to `path`, with the cookie, as a same-origin browser would.
    pub(crate) async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let origin = self.origin();
        let headers = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
        ];
        self.request("POST", path, &headers, encode(fields)).await
    }

    /// Any request. The cookie is sent when there is one, and replaced by the one the
    /// response sets.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if let Some(cookie) = &self.cookie {
            builder = builder.header("cookie", cookie);
        }
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        let request = builder
            .body(Full::new(body.into()))
            .unwrap_or_else(|e| panic!("{e}"));
        let tcp = TcpStream::connect(self.addr)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.addr));
        let response = match &self.tls {
            Some(config) => {
                let name = ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .unwrap_or_else(|e| panic!("TLS: {e}"));
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
                send(TokioIo::new(tls), request).await
            }
            None => send(TokioIo::new(tcp), request).await,
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("body: {e}"))
            .to_bytes();
        if let Some(set) = parts
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
        {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

async fn send<I>(
    io: I,
    request: hyper::Request<Full<Bytes>>,
) -> hyper::Response<hyper::body::Incoming>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}"));
    tokio::spawn(conn);
    sender
        .send_request(request)
        .await
        .unwrap_or_else(|e| panic!("request: {e}"))
}

/// `application/x-www-form-urlencoded`.
pub(crate) fn encode(fields: &[(&str, &str)]) -> Bytes {
    let mut out = String::new();
    for (i, (n, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent(n));
        out.push('=');
        out.push_str(&percent(v));
    }
    Bytes::from(out)
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
