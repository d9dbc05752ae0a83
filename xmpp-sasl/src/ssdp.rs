//! XEP-0474 SASL SCRAM Downgrade Protection (SSDP), version 0.5.0.
//!
//! The server puts a hash of what it advertised (the SASL mechanism list and, if it sent the
//! XEP-0440 element, the channel-binding type list) into the SCRAM `h=` attribute of its
//! server-first-message. The client recomputes the hash from what *it* saw; a mismatch means an
//! active attacker edited the stream features. Because the server-first-message is part of the
//! SCRAM AuthMessage, the attacker cannot also rewrite `h=` without breaking the proofs.
//!
//! The hashed string S (XEP-0474 §5.1): mechanisms sorted by octet value joined by `0x1E`; then,
//! only if channel-binding types were advertised, `0x1F` and the sorted types joined by `0x1E`.
//! S is hashed with the SCRAM mechanism's hash and base64-encoded.

use crate::payload::encode_base64;
use crate::scram::ScramHash;

/// What a server advertised on one stream, as seen by either side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Advertised {
    /// The `<mechanism/>` names (SASL1 `<mechanisms/>` or SASL2 `<authentication/>`, whichever
    /// the client authenticates with), in any order.
    pub mechanisms: Vec<String>,
    /// The XEP-0440 `<channel-binding type=.../>` values, or `None` when the server sent no
    /// `<sasl-channel-binding/>` element.
    pub channel_binding_types: Option<Vec<String>>,
}

impl Advertised {
    /// The SSDP hash (raw bytes) with the given SCRAM hash.
    pub fn ssdp_hash(&self, hash: ScramHash) -> Vec<u8> {
        let mechs: Vec<&str> = self.mechanisms.iter().map(String::as_str).collect();
        let cbs: Option<Vec<&str>> = self
            .channel_binding_types
            .as_ref()
            .map(|v| v.iter().map(String::as_str).collect());
        ssdp_hash(hash, &mechs, cbs.as_deref())
    }

    /// The SSDP hash as it appears in `h=` (base64).
    pub fn ssdp_attribute(&self, hash: ScramHash) -> String {
        encode_base64(&self.ssdp_hash(hash))
    }
}

/// The XEP-0474 hash of a mechanism list and an optional channel-binding type list.
pub fn ssdp_hash(
    hash: ScramHash,
    mechanisms: &[&str],
    channel_binding_types: Option<&[&str]>,
) -> Vec<u8> {
    hash.digest(&ssdp_string(mechanisms, channel_binding_types))
}

fn ssdp_string(mechanisms: &[&str], channel_binding_types: Option<&[&str]>) -> Vec<u8> {
    fn join_sorted(out: &mut Vec<u8>, items: &[&str]) {
        let mut sorted: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
        sorted.sort_unstable();
        for (i, item) in sorted.into_iter().enumerate() {
            if i > 0 {
                out.push(0x1e);
            }
            out.extend_from_slice(item);
        }
    }
    let mut s = Vec::new();
    join_sorted(&mut s, mechanisms);
    if let Some(cbs) = channel_binding_types {
        s.push(0x1f);
        join_sorted(&mut s, cbs);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XEP-0474 §5.3 example: `h=G6k/rBLDqgOhRRaCuuatSDFkJ08=` is the SHA-1 of
    /// `SCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS\x1ftls-exporter\x1etls-server-end-point`.
    #[test]
    fn xep0474_example() {
        let adv = Advertised {
            mechanisms: vec!["SCRAM-SHA-1-PLUS".into(), "SCRAM-SHA-1".into()],
            channel_binding_types: Some(vec!["tls-server-end-point".into(), "tls-exporter".into()]),
        };
        assert_eq!(
            ssdp_string(
                &["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"],
                Some(&["tls-server-end-point", "tls-exporter"])
            ),
            b"SCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS\x1ftls-exporter\x1etls-server-end-point"
        );
        assert_eq!(
            adv.ssdp_attribute(ScramHash::Sha1),
            "G6k/rBLDqgOhRRaCuuatSDFkJ08="
        );
    }

    #[test]
    fn no_cb_element_means_no_separator() {
        assert_eq!(
            ssdp_string(&["PLAIN", "EXTERNAL"], None),
            b"EXTERNAL\x1ePLAIN"
        );
        assert_ne!(
            ssdp_hash(ScramHash::Sha256, &["PLAIN"], None),
            ssdp_hash(ScramHash::Sha256, &["PLAIN"], Some(&[]))
        );
    }
}
