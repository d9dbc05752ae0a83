//! `tls-server-end-point` channel-binding data (RFC 5929 §4.1): a hash of the server's own leaf
//! certificate, with the hash function of the certificate's signature algorithm, except that
//! MD5 and SHA-1 become SHA-256. Undefined (`None`) for algorithms without a single hash, such
//! as Ed25519, and for hashes ring does not offer (SHA-224).
//!
//! rustls does not tell a server which certificate it presented, so the value is computed once
//! per certificate, when the TLS configuration is built, and handed out with it.

use ring::digest;

/// The `tls-server-end-point` data for a DER certificate, or `None` when RFC 5929 defines none
/// for its signature algorithm (or the DER cannot be read).
pub fn tls_server_end_point(certificate_der: &[u8]) -> Option<Vec<u8>> {
    let algorithm = digest_for(&signature_algorithm(certificate_der)?)?;
    Some(digest::digest(algorithm, certificate_der).as_ref().to_vec())
}

/// `1.2.840.113549.1.1.x`: PKCS #1 signature algorithms.
const PKCS1_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
/// `1.2.840.10045.4.x`: ECDSA signature algorithms.
const ECDSA_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04];
/// `1.2.840.10040.4.3`: dsa-with-sha1.
const DSA_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x03];
/// `2.16.840.1.101.3.4.x`: NIST algorithms (hashes under `.2`, DSA with SHA-2 under `.3`).
const NIST_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04];

/// The signatureAlgorithm of a certificate: its OID (content bytes) and its parameters (whole
/// TLV, if any).
struct AlgorithmIdentifier<'a> {
    oid: &'a [u8],
    parameters: Option<Tlv<'a>>,
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, ... }`.
fn signature_algorithm(der: &[u8]) -> Option<AlgorithmIdentifier<'_>> {
    let (certificate, _) = Tlv::read(der)?;
    if certificate.tag != SEQUENCE {
        return None;
    }
    let (_tbs, rest) = Tlv::read(certificate.value)?;
    let (algorithm, _) = Tlv::read(rest)?;
    algorithm_identifier(algorithm)
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`.
fn algorithm_identifier(tlv: Tlv<'_>) -> Option<AlgorithmIdentifier<'_>> {
    if tlv.tag != SEQUENCE {
        return None;
    }
    let (oid, rest) = Tlv::read(tlv.value)?;
    if oid.tag != OID {
        return None;
    }
    let parameters = if rest.is_empty() {
        None
    } else {
        Some(Tlv::read(rest)?.0)
    };
    Some(AlgorithmIdentifier {
        oid: oid.value,
        parameters,
    })
}

/// The digest RFC 5929 §4.1 prescribes for a signature algorithm.
fn digest_for(alg: &AlgorithmIdentifier<'_>) -> Option<&'static digest::Algorithm> {
    let oid = alg.oid;
    if let Some(&[n]) = oid.strip_prefix(PKCS1_PREFIX) {
        return match n {
            // md5WithRSAEncryption, sha1WithRSAEncryption, sha256WithRSAEncryption
            4 | 5 | 11 => Some(&digest::SHA256),
            12 => Some(&digest::SHA384),
            13 => Some(&digest::SHA512),
            // RSASSA-PSS: the hash is in the parameters.
            10 => pss_digest(alg.parameters.as_ref()),
            _ => None,
        };
    }
    if let Some(rest) = oid.strip_prefix(ECDSA_PREFIX) {
        return match rest {
            [0x01] | [0x03, 0x02] => Some(&digest::SHA256), // ecdsa-with-SHA1, -SHA256
            [0x03, 0x03] => Some(&digest::SHA384),
            [0x03, 0x04] => Some(&digest::SHA512),
            _ => None,
        };
    }
    if oid == DSA_SHA1 || oid.strip_prefix(NIST_PREFIX) == Some(&[0x03, 0x02]) {
        return Some(&digest::SHA256); // dsa-with-sha1, dsa-with-sha256
    }
    None
}

/// `RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }`.
fn pss_digest(parameters: Option<&Tlv<'_>>) -> Option<&'static digest::Algorithm> {
    let params = parameters?;
    if params.tag != SEQUENCE {
        return None;
    }
    let hash_oid = match Tlv::read(params.value) {
        Some((field, _)) if field.tag == CONTEXT_0 => {
            let (inner, _) = Tlv::read(field.value)?;
            algorithm_identifier(inner)?.oid
        }
        // hashAlgorithm absent: SHA-1, which RFC 5929 maps to SHA-256.
        _ => return Some(&digest::SHA256),
    };
    match hash_oid.strip_prefix(NIST_PREFIX)? {
        [0x02, 0x01] => Some(&digest::SHA256),
        [0x02, 0x02] => Some(&digest::SHA384),
        [0x02, 0x03] => Some(&digest::SHA512),
        _ => None,
    }
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xA0;

/// One DER tag-length-value (single-byte tags, definite lengths: all X.509 needs here).
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Reads one TLV from the front of `input`, returning it and what follows.
    fn read(input: &'a [u8]) -> Option<(Self, &'a [u8])> {
        let (&tag, rest) = input.split_first()?;
        if tag & 0x1F == 0x1F {
            return None; // multi-byte tag
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (bytes, after) = rest.split_at(n);
            rest = after;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (value, after) = rest.split_at(len);
        Some((Self { tag, value }, after))
    }
}

#[cfg(test)]
mod tests {
    use super::tls_server_end_point;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    fn check(der: &[u8], expected: Option<&str>) {
        assert_eq!(
            tls_server_end_point(der).map(|h| hex(&h)).as_deref(),
            expected
        );
    }

    // Expected values: Python hashlib over the DER files (see testdata/README.md).
    #[test]
    fn ecdsa_sha256_uses_sha256() {
        check(
            include_bytes!("testdata/ecdsa_p256_sha256.der"),
            Some("1100c4b1b0cdd59df90bbbe2978bb7b0e5f4397b5f1d5e50f06e764c216c2907"),
        );
    }

    #[test]
    fn ecdsa_sha384_uses_sha384() {
        check(
            include_bytes!("testdata/ecdsa_p384_sha384.der"),
            Some(
                "edf5ff8646a90d3d1698fbbc87eed4e3b5010b2d4926a74b177cad802fae593e\
                 a6b74e380e52acb1eee1dca36c606274",
            ),
        );
    }

    #[test]
    fn rsa_sha512_uses_sha512() {
        check(
            include_bytes!("testdata/rsa_sha512.der"),
            Some(
                "c019494be205f637568115bf6b993b10d61cbd54db261ef611d372aae347ab8d\
                 78bc55f0e49e79ed29b3fd3f4cc37e8bf9262d36de0149ba8b234d9d73da4b5b",
            ),
        );
    }

    #[test]
    fn rsa_sha1_is_upgraded_to_sha256() {
        check(
            include_bytes!("testdata/rsa_sha1.der"),
            Some("ab1ca9a9116d268dc5ef53f998dff881ed92ffe0058c69168fd7b55d01a8d55a"),
        );
    }

    #[test]
    fn rsa_pss_uses_the_hash_in_its_parameters() {
        check(
            include_bytes!("testdata/rsa_pss_sha384.der"),
            Some(
                "715431f06e4e61de969686540beb584e5aaf51a58fc37138400c715195ec8ce6\
                 ee26eb03377990b01294872ef8c4b69a",
            ),
        );
    }

    #[test]
    fn ed25519_has_none() {
        check(include_bytes!("testdata/ed25519.der"), None);
    }

    #[test]
    fn garbage_has_none() {
        check(b"", None);
        check(&[0x30, 0x82, 0xFF], None);
        check(&[0x30, 0x03, 0x30, 0x01, 0x00], None);
        let der = include_bytes!("testdata/rsa_sha512.der");
        for cut in [1, 10, 100, der.len() - 1] {
            let _ = tls_server_end_point(&der[..cut]);
        }
    }
}
