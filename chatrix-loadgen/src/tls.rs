//! The client's TLS configuration: rustls with the ring provider, verifying the server against a
//! PEM file (its self-signed certificate or a CA), or not at all with `--insecure`.

use std::path::Path;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How to check the server's certificate.
#[derive(Debug, Clone)]
pub(crate) enum Trust<'a> {
    /// Certificates from a PEM file are the trust anchors.
    CaFile(&'a Path),
    /// Accept any certificate (benchmarks on loopback only).
    Insecure,
}

/// Options that shape the TLS client configuration.
#[derive(Debug, Clone)]
pub(crate) struct TlsOptions<'a> {
    pub(crate) trust: Trust<'a>,
    /// Offer ALPN `xmpp-client` (XEP-0368, Direct TLS).
    pub(crate) alpn: bool,
    /// Keep TLS session tickets and resume (off by default: a login storm measures full
    /// handshakes).
    pub(crate) resume: bool,
    /// Offer TLS 1.3 only.
    pub(crate) tls13_only: bool,
}

/// Builds the client configuration, shared by every connection of a run.
pub(crate) fn client_config(options: &TlsOptions<'_>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls13_only {
        &[&rustls::version::TLS13]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?;
    let mut config = match &options.trust {
        Trust::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("{}: no certificate found", path.display()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    };
    if options.alpn {
        config.alpn_protocols = vec![b"xmpp-client".to_vec()];
    }
    if !options.resume {
        config.resumption = Resumption::disabled();
    }
    Ok(Arc::new(config))
}

/// The name to send in SNI and to check the certificate against.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.to_owned()).map_err(|e| format!("TLS server name {name:?}: {e}"))
}

/// `--insecure`: accepts any certificate, but still checks that the handshake was signed by the
/// key in the certificate presented (so the TLS work on both sides is the real one).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
