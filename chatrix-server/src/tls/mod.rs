//! TLS: rustls 0.23 with the ring provider, passed explicitly (never the process default, so a
//! crate that turns on aws-lc-rs elsewhere cannot change or break it).
//!
//! Each host has a [`TlsMaterial`]: one `ServerConfig` for STARTTLS, one for Direct TLS (ALPN
//! `xmpp-client`, XEP-0368), one for the account web pages (ALPN `http/1.1`), and the `tls-server-end-point` channel-binding data of its leaf
//! certificate, computed once. [`TlsConfigs::select`] picks the material from the SNI the
//! client sent, for use with `tokio_rustls::LazyConfigAcceptor`:
//!
//! ```no_run
//! # async fn accept(
//! #     ctx: chatrix_server::ServerContext,
//! #     tcp: tokio::net::TcpStream,
//! # ) -> std::io::Result<()> {
//! use tokio_rustls::LazyConfigAcceptor;
//!
//! let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
//! let material = ctx.tls.select(start.client_hello().server_name());
//! // SCRAM-*-PLUS: this, and tls-exporter from the connection once the handshake is done.
//! let end_point: Option<Vec<u8>> = material.tls_server_end_point.clone();
//! let tls = start.into_stream(material.config_direct.clone()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! TLS 1.2 and 1.3 are enabled.

mod certs;
pub mod end_point;
pub mod self_signed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;
use crate::data_dir::DataDirError;

pub use end_point::tls_server_end_point;

/// The ALPN protocol name of XMPP client connections over Direct TLS (XEP-0368).
pub const ALPN_XMPP_CLIENT: &[u8] = b"xmpp-client";

/// The ALPN protocol name of HTTP/1.1 (the web pages speak nothing else).
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{}: {message}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The certificate file holds no certificate.
    #[error("{}: no certificate found", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error("{}: no private key found", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the certificate and key (e.g. the key does not belong to the
    /// certificate).
    #[error("{} with key {}: {source}", certificate.display(), key.display())]
    Rustls {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },
    /// The certificate is not valid for a host it is configured for.
    #[error("{}: the certificate is not valid for `{domain}`", path.display())]
    NameMismatch {
        /// The certificate file.
        path: PathBuf,
        /// The host.
        domain: String,
    },
    /// The self-signed certificate could not be made.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The self-signed certificate could not be written.
    #[error(transparent)]
    File(#[from] DataDirError),
}

/// The ring crypto provider every configuration is built with.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What a connection to one host needs from TLS.
#[derive(Debug)]
pub struct TlsMaterial {
    /// For STARTTLS listeners (no ALPN).
    pub config_starttls: Arc<ServerConfig>,
    /// For Direct TLS listeners (ALPN `xmpp-client`).
    pub config_direct: Arc<ServerConfig>,
    /// For the `web-https` listeners (ALPN `http/1.1`).
    pub config_web: Arc<ServerConfig>,
    /// RFC 5929 `tls-server-end-point` data of the leaf certificate, or `None` when its
    /// signature algorithm defines none (Ed25519).
    pub tls_server_end_point: Option<Vec<u8>>,
    leaf: CertificateDer<'static>,
}

impl TlsMaterial {
    /// Builds the material from a certificate chain (leaf first) and its key.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let leaf = chain
            .first()
            .cloned()
            .ok_or(rustls::Error::NoCertificatesPresented)?;
        let config_starttls = server_config(chain.clone(), key.clone_key(), Vec::new())?;
        let config_direct = server_config(
            chain.clone(),
            key.clone_key(),
            vec![ALPN_XMPP_CLIENT.to_vec()],
        )?;
        let config_web = server_config(chain, key, vec![ALPN_HTTP_1_1.to_vec()])?;
        Ok(Self {
            config_starttls,
            config_direct,
            config_web,
            tls_server_end_point: tls_server_end_point(leaf.as_ref()),
            leaf,
        })
    }

    /// Loads PEM files: the chain (leaf first) and the private key.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = certs::load_chain(certificate)?;
        let private_key = certs::load_key(key)?;
        Self::new(chain, private_key).map_err(|source| TlsError::Rustls {
            certificate: certificate.to_path_buf(),
            key: key.to_path_buf(),
            source,
        })
    }

    /// The leaf certificate presented to clients.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        &self.leaf
    }

    /// Whether the leaf certificate is valid for `domain`.
    pub fn covers(&self, domain: &str) -> bool {
        certs::covers(&self.leaf, domain)
    }
}

/// A server configuration with the ring provider, TLS 1.3 and 1.2, no client certificates.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: Vec<Vec<u8>>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = alpn;
    Ok(Arc::new(config))
}

/// Every host's [`TlsMaterial`], selected by SNI.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    /// `(TLS name of the host, material)`, in configuration order; the first is the default.
    hosts: Vec<(String, Arc<TlsMaterial>)>,
}

/// What [`TlsConfigs::load`] did about the self-signed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfSignedStatus {
    /// The certificate file.
    pub certificate: PathBuf,
    /// The hosts it serves.
    pub domains: Vec<String>,
    /// Whether it was made now (rather than reused).
    pub generated: bool,
}

impl TlsConfigs {
    /// Loads every host's certificate, generating the self-signed one in the data dir for hosts
    /// without a configured certificate (or reusing it), and checks that each certificate is
    /// valid for its host.
    pub fn load(config: &Config) -> Result<(Self, Option<SelfSignedStatus>), TlsError> {
        let unconfigured: Vec<String> = config
            .hosts
            .iter()
            .filter(|h| h.certificate.is_none())
            .map(|h| h.domain.clone())
            .collect();
        let (self_signed, status) = if unconfigured.is_empty() {
            (None, None)
        } else {
            let (cert, key) = (
                config.self_signed_cert_path(),
                config.self_signed_key_path(),
            );
            let generated = self_signed::ensure(&cert, &key, &unconfigured)?;
            let material = Arc::new(TlsMaterial::from_pem_files(&cert, &key)?);
            let status = SelfSignedStatus {
                certificate: cert,
                domains: unconfigured,
                generated,
            };
            (Some(material), Some(status))
        };
        let mut hosts = Vec::with_capacity(config.hosts.len());
        for host in &config.hosts {
            let material = match (&host.certificate, &self_signed) {
                (Some(files), _) => {
                    let material = TlsMaterial::from_pem_files(&files.certificate, &files.key)?;
                    if !material.covers(&host.domain) {
                        return Err(TlsError::NameMismatch {
                            path: files.certificate.clone(),
                            domain: host.domain.clone(),
                        });
                    }
                    Arc::new(material)
                }
                (None, Some(material)) => Arc::clone(material),
                (None, None) => {
                    unreachable!("hosts without a certificate have the self-signed one")
                }
            };
            let name = certs::tls_name(&host.domain).unwrap_or_else(|| host.domain.clone());
            hosts.push((name, material));
        }
        Ok((Self { hosts }, status))
    }

    /// Checks the configured certificate files (load, key matches, valid for the host) without
    /// touching the data dir. The self-signed certificate is not checked.
    pub fn check_configured(config: &Config) -> Result<(), TlsError> {
        for host in &config.hosts {
            if let Some(files) = &host.certificate {
                let material = TlsMaterial::from_pem_files(&files.certificate, &files.key)?;
                if !material.covers(&host.domain) {
                    return Err(TlsError::NameMismatch {
                        path: files.certificate.clone(),
                        domain: host.domain.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Builds from ready material, first host first (the default). For tests and embedding.
    pub fn from_materials(hosts: Vec<(String, Arc<TlsMaterial>)>) -> Option<Self> {
        if hosts.is_empty() {
            return None;
        }
        let hosts = hosts
            .into_iter()
            .map(|(domain, m)| (certs::tls_name(&domain).unwrap_or(domain), m))
            .collect();
        Some(Self { hosts })
    }

    /// The material for the name a client asked for (SNI): the host of that name, else the
    /// host it is a subdomain of (`conference.example.org` → `example.org`), else the first
    /// host. Clients that send no SNI (or an IP address) get the first host.
    pub fn select(&self, sni: Option<&str>) -> &TlsMaterial {
        let default = || self.hosts.first().map(|(_, m)| m.as_ref());
        let chosen = sni.and_then(|sni| {
            let sni = sni.trim_end_matches('.').to_ascii_lowercase();
            self.hosts
                .iter()
                .find(|(name, _)| *name == sni)
                .or_else(|| {
                    self.hosts
                        .iter()
                        .filter(|(name, _)| {
                            sni.strip_suffix(name.as_str())
                                .is_some_and(|p| p.ends_with('.'))
                        })
                        .max_by_key(|(name, _)| name.len())
                })
                .map(|(_, m)| m.as_ref())
        });
        match chosen.or_else(default) {
            Some(m) => m,
            None => unreachable!("TlsConfigs always has at least one host"),
        }
    }

    /// The material of a host by its domain (normalised), if it is one of ours.
    pub fn for_domain(&self, domain: &str) -> Option<&TlsMaterial> {
        let name = certs::tls_name(domain)?;
        self.hosts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material(domains: &[&str]) -> Arc<TlsMaterial> {
        let domains: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
        let (cert, key) = self_signed::generate(&domains).unwrap_or_else(|e| panic!("{e}"));
        let chain =
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap_or_else(|e| panic!("{e}"))];
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        Arc::new(TlsMaterial::new(chain, key).unwrap_or_else(|e| panic!("{e}")))
    }

    use rustls::pki_types::pem::PemObject as _;

    #[test]
    fn select_by_sni() {
        let a = material(&["a.example"]);
        let b = material(&["b.example"]);
        let configs = TlsConfigs::from_materials(vec![
            ("a.example".into(), Arc::clone(&a)),
            ("b.example".into(), Arc::clone(&b)),
        ])
        .unwrap_or_else(|| panic!("two hosts"));
        let is = |m: &TlsMaterial, want: &Arc<TlsMaterial>| std::ptr::eq(m, want.as_ref());
        assert!(is(configs.select(None), &a));
        assert!(is(configs.select(Some("b.example")), &b));
        assert!(is(configs.select(Some("B.Example.")), &b));
        assert!(is(configs.select(Some("conference.b.example")), &b));
        assert!(is(configs.select(Some("xb.example")), &a));
        assert!(is(configs.select(Some("unknown.org")), &a));
        assert!(configs.for_domain("b.example").is_some_and(|m| is(m, &b)));
        assert!(configs.for_domain("c.example").is_none());
    }

    #[test]
    fn each_listener_kind_gets_its_alpn() {
        let m = material(&["localhost"]);
        assert_eq!(
            m.config_direct.alpn_protocols,
            vec![b"xmpp-client".to_vec()]
        );
        assert!(m.config_starttls.alpn_protocols.is_empty());
        assert_eq!(m.config_web.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(m.tls_server_end_point.is_some());
    }

    #[test]
    fn a_key_that_does_not_match_is_refused() {
        let (cert, _) =
            self_signed::generate(&["localhost".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        let (_, other_key) =
            self_signed::generate(&["localhost".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        let chain =
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap_or_else(|e| panic!("{e}"))];
        let key =
            PrivateKeyDer::from_pem_slice(other_key.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!(TlsMaterial::new(chain, key).is_err());
    }
}
