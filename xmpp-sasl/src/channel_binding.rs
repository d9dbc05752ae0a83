//! Channel-binding types and data (RFC 5056, RFC 9266, RFC 5929) and their XEP-0440
//! advertisement.
//!
//! This crate never sees a TLS connection. The TLS layer (in `xmpp-stream` / `chatrix-server`)
//! computes the binding data and fills a [`ChannelBindings`]:
//!
//! * `tls-exporter` (RFC 9266): 32 bytes of
//!   `export_keying_material(label = "EXPORTER-Channel-Binding", context = None)`. **TLS 1.3
//!   only** (RFC 9266 §3): leave it `None` on TLS 1.2.
//! * `tls-server-end-point` (RFC 5929 §4): the hash of the server's leaf certificate (DER) with
//!   the certificate signature's hash, MD5/SHA-1 replaced by SHA-256. Undefined for Ed25519: leave
//!   it `None` there.
//!
//! `tls-unique` is not supported: rustls does not expose it and it is undefined for TLS 1.3.

use std::fmt;
use std::str::FromStr;

/// The XEP-0440 namespace of the `<sasl-channel-binding/>` stream feature.
pub const SASL_CB_NAMESPACE: &str = "urn:xmpp:sasl-cb:0";

/// A channel-binding type this crate supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChannelBindingType {
    /// `tls-exporter` (RFC 9266). Preferred (XEP-0440).
    TlsExporter,
    /// `tls-server-end-point` (RFC 5929 §4).
    TlsServerEndPoint,
}

impl ChannelBindingType {
    /// Every supported type, most preferred first.
    pub const ALL: [Self; 2] = [Self::TlsExporter, Self::TlsServerEndPoint];

    /// The IANA "channel-binding unique prefix", used in GS2 `p=` and XEP-0440 `type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TlsExporter => "tls-exporter",
            Self::TlsServerEndPoint => "tls-server-end-point",
        }
    }
}

impl fmt::Display for ChannelBindingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not a channel-binding type this crate supports (e.g. `tls-unique`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported channel-binding type")]
pub struct UnknownChannelBindingType;

impl FromStr for ChannelBindingType {
    type Err = UnknownChannelBindingType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownChannelBindingType)
    }
}

/// The channel-binding data the TLS layer can provide for one connection. Both sides use it: the
/// server to check the client's `c=`, the client to build it.
///
/// `Debug` does not show the data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// `tls-exporter` data (RFC 9266; 32 bytes; TLS 1.3 only).
    pub tls_exporter: Option<Vec<u8>>,
    /// `tls-server-end-point` data (RFC 5929 §4; hash of the server certificate).
    pub tls_server_end_point: Option<Vec<u8>>,
}

impl ChannelBindings {
    /// No binding data (a plaintext connection, or a TLS layer that cannot provide any).
    pub fn none() -> Self {
        Self::default()
    }

    /// The data for one type, if available.
    pub fn get(&self, ty: ChannelBindingType) -> Option<&[u8]> {
        match ty {
            ChannelBindingType::TlsExporter => self.tls_exporter.as_deref(),
            ChannelBindingType::TlsServerEndPoint => self.tls_server_end_point.as_deref(),
        }
    }

    /// The types with data, most preferred first.
    pub fn available(&self) -> Vec<ChannelBindingType> {
        ChannelBindingType::ALL
            .into_iter()
            .filter(|t| self.get(*t).is_some())
            .collect()
    }

    /// Whether no binding data is available.
    pub fn is_empty(&self) -> bool {
        self.tls_exporter.is_none() && self.tls_server_end_point.is_none()
    }
}

impl fmt::Debug for ChannelBindings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBindings")
            .field(
                "tls_exporter",
                &self.tls_exporter.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "tls_server_end_point",
                &self.tls_server_end_point.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_data() {
        for t in ChannelBindingType::ALL {
            assert_eq!(t.as_str().parse(), Ok(t));
        }
        assert!("tls-unique".parse::<ChannelBindingType>().is_err());
        let cb = ChannelBindings {
            tls_exporter: None,
            tls_server_end_point: Some(vec![1, 2]),
        };
        assert_eq!(cb.available(), vec![ChannelBindingType::TlsServerEndPoint]);
        assert_eq!(
            cb.get(ChannelBindingType::TlsServerEndPoint),
            Some(&[1u8, 2][..])
        );
        assert!(!format!("{cb:?}").contains('1'));
        assert!(ChannelBindings::none().is_empty());
    }
}
