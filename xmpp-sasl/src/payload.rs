//! Strict base64 for SASL payloads in XMPP (RFC 6120 §6.4).
//!
//! The XMPP layer carries SASL data as base64 text inside `<auth/>`, `<challenge/>`,
//! `<response/>` and `<success/>`. These helpers are strict: standard alphabet, canonical padding,
//! no whitespace, no trailing bits (RFC 4648 §3.3, §3.5).
//!
//! Empty data needs care (RFC 6120 §6.4.2, §6.4.6): in `<auth/>` an **empty element** means
//! "no initial response" (the server answers with an empty challenge), while `=` means "an
//! initial response of zero length". The same `=` is used for zero-length additional data in
//! `<success/>`. In `<challenge/>` and `<response/>` zero-length data is simply an empty element.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::DecodeError;

/// Decode the text of an `<auth/>`, `<challenge/>`, `<response/>` or `<success/>` element.
///
/// * `""` → `Ok(None)`: no data (for `<auth/>`: no initial response).
/// * `"="` → `Ok(Some(vec![]))`: present, zero-length data.
/// * otherwise strict base64 → `Ok(Some(bytes))`.
///
/// Any whitespace, non-canonical padding or stray character is an error; the server answers
/// `incorrect-encoding`.
pub fn decode_sasl_payload(text: &str) -> Result<Option<Vec<u8>>, DecodeError> {
    match text {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        _ => STANDARD.decode(text).map(Some).map_err(|_| DecodeError),
    }
}

/// Encode data for an initial response (`<auth/>`) or for `<success/>` additional data:
/// zero-length data becomes `"="`.
///
/// For `<challenge/>` and `<response/>`, zero-length data is an empty element; use
/// [`encode_base64`] there.
pub fn encode_sasl_payload(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        STANDARD.encode(data)
    }
}

/// Plain standard base64 (empty in, empty out).
pub fn encode_base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Strict base64 decoding of an attribute value; empty decodes to empty.
pub(crate) fn decode_strict(text: &str) -> Result<Vec<u8>, DecodeError> {
    STANDARD.decode(text).map_err(|_| DecodeError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_rules() {
        assert_eq!(decode_sasl_payload(""), Ok(None));
        assert_eq!(decode_sasl_payload("="), Ok(Some(vec![])));
        assert_eq!(encode_sasl_payload(b""), "=");
        assert_eq!(encode_sasl_payload(b"n,,"), "biws");
        assert_eq!(decode_sasl_payload("biws"), Ok(Some(b"n,,".to_vec())));
    }

    #[test]
    fn strictness() {
        for bad in [
            "biws ", " biws", "bi\nws", "biw", "biw==", "YQ=", "YR==", "YQ===", "==", "Y Q==",
            "-_8=",
        ] {
            assert_eq!(decode_sasl_payload(bad), Err(DecodeError), "{bad:?}");
        }
        assert_eq!(decode_sasl_payload("YQ=="), Ok(Some(b"a".to_vec())));
    }
}
