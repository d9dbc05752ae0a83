//! The self-signed certificate a fresh server starts with: ECDSA P-256 with SHA-256, valid for
//! each host without a configured certificate and its usual service subdomains, written as
//! `cert.pem` and `key.pem` (mode 0600) in the data dir and reused on later starts.
//!
//! Clients will not trust it without being told to (pinning, or accepting it once); it exists
//! so that a server runs, encrypted, the moment it is started. Configure real certificates per
//! host for public use.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};

use super::certs::{self, covers};
use super::{TlsError, TlsMaterial};
use crate::data_dir;

/// The service subdomains the self-signed certificate also covers (HTTP upload, MUC,
/// publish-subscribe, SOCKS5 proxy).
pub const SERVICE_SUBDOMAINS: [&str; 4] = ["upload", "conference", "pubsub", "proxy"];

/// How many years the generated certificate is valid.
const VALID_YEARS: i32 = 10;

/// The names a self-signed certificate for `domains` carries.
pub fn names_for(domains: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for domain in domains {
        let Some(name) = certs::tls_name(domain) else {
            continue;
        };
        let is_ip = name.parse::<std::net::IpAddr>().is_ok();
        names.push(name.clone());
        if !is_ip {
            names.extend(SERVICE_SUBDOMAINS.iter().map(|sub| format!("{sub}.{name}")));
        }
    }
    names
}

/// A new self-signed certificate and key for `domains`, as PEM: `(certificate, key)`.
pub fn generate(domains: &[String]) -> Result<(String, String), TlsError> {
    let names = names_for(domains);
    let mut params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        domains.first().map_or("chatrix", String::as_str),
    );
    dn.push(DnType::OrganizationName, "Chatrix self-signed");
    params.distinguished_name = dn;
    let year = current_year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + VALID_YEARS, 1, 1);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Makes sure `cert_path` and `key_path` hold a usable certificate for every domain in
/// `domains`: reuses the files when they load, match each other and cover all of them,
/// otherwise (re)generates both. Returns whether new files were written.
pub fn ensure(cert_path: &Path, key_path: &Path, domains: &[String]) -> Result<bool, TlsError> {
    if cert_path.exists() || key_path.exists() {
        match TlsMaterial::from_pem_files(cert_path, key_path) {
            Ok(material) if domains.iter().all(|d| covers(material.leaf(), d)) => return Ok(false),
            Ok(_) => {
                tracing::warn!(
                    path = %cert_path.display(),
                    "the self-signed certificate does not cover every host; making a new one"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "the self-signed certificate is unusable; making a new one");
            }
        }
    }
    let (cert_pem, key_pem) = generate(domains)?;
    data_dir::write_private(key_path, key_pem.as_bytes())?;
    data_dir::write_public(cert_path, cert_pem.as_bytes())?;
    Ok(true)
}

fn current_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Average Gregorian year; a day off around New Year does not matter for a validity window.
    let years = secs / 31_556_952;
    1970 + i32::try_from(years).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads_and_covers_the_domain_and_services() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let domains = vec!["localhost".to_owned()];
        assert!(ensure(&cert, &key, &domains).unwrap_or_else(|e| panic!("{e}")));
        let material = TlsMaterial::from_pem_files(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
        for name in [
            "localhost",
            "conference.localhost",
            "upload.localhost",
            "pubsub.localhost",
            "proxy.localhost",
        ] {
            assert!(covers(material.leaf(), name), "{name}");
        }
        assert!(!covers(material.leaf(), "example.org"));
        // ECDSA with SHA-256: a 32-byte tls-server-end-point.
        assert_eq!(
            material.tls_server_end_point.as_ref().map(Vec::len),
            Some(32)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }

        // Reused while it covers the hosts, replaced when a host is added.
        assert!(!ensure(&cert, &key, &domains).unwrap_or_else(|e| panic!("{e}")));
        let more = vec!["localhost".to_owned(), "example.org".to_owned()];
        assert!(ensure(&cert, &key, &more).unwrap_or_else(|e| panic!("{e}")));
        let material = TlsMaterial::from_pem_files(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
        assert!(covers(material.leaf(), "example.org") && covers(material.leaf(), "localhost"));
    }

    #[test]
    fn names_use_a_labels_and_skip_subdomains_of_addresses() {
        let names = names_for(&["bücher.example".to_owned(), "127.0.0.1".to_owned()]);
        assert!(names.contains(&"xn--bcher-kva.example".to_owned()));
        assert!(names.contains(&"conference.xn--bcher-kva.example".to_owned()));
        assert!(names.contains(&"127.0.0.1".to_owned()));
        assert!(!names.iter().any(|n| n.ends_with(".127.0.0.1")));
    }
}
