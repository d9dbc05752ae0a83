//! Certificates and keys from PEM files, and whether a certificate is valid for a domain.

use std::net::IpAddr;
use std::path::Path;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::TlsError;

/// Reads a PEM certificate chain (leaf first). At least one certificate is required.
pub(crate) fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |e: rustls::pki_types::pem::Error| TlsError::Pem {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

/// Reads a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        e => TlsError::Pem {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })
}

/// The name a domain has in TLS (SNI and certificates): A-labels for an internationalised
/// domain, the address for an IP literal.
pub(crate) fn tls_name(domain: &str) -> Option<String> {
    let unbracketed = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .unwrap_or(domain);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    idna::domain_to_ascii(domain)
        .ok()
        .map(|d| d.to_ascii_lowercase())
}

/// Whether `leaf` is valid for `domain` (by its subject alternative names).
pub(crate) fn covers(leaf: &CertificateDer<'_>, domain: &str) -> bool {
    let Some(name) = tls_name(domain) else {
        return false;
    };
    let Ok(server_name) = ServerName::try_from(name) else {
        return false;
    };
    let Ok(cert) = webpki::EndEntityCert::try_from(leaf) else {
        return false;
    };
    cert.verify_is_valid_for_subject_name(&server_name).is_ok()
}
