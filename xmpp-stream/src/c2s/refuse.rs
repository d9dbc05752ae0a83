//! Refusing a connection before reading anything from it.

use bytes::{Bytes, BytesMut};
use xmpp_core::{StreamError, ns};

use crate::framer::StreamHeader;
use crate::write::{write_close, write_element};

/// The complete bytes a server writes to a client connection it refuses without reading from
/// it (an address banned for failed logins, a per-address connection cap), before closing the
/// socket: an XML declaration, a stream header, `error`, and `</stream:stream>`. For TCP, in
/// plaintext or over TLS; a WebSocket stream opens differently.
///
/// RFC 6120 §4.9.1.2: an error during stream setup still goes inside a stream, so the client
/// reads a stream error rather than a socket closed for no stated reason. The header is a
/// response header reduced to what carries the error:
/// - `from` is `domain` when given (§4.7.1; the listener's domain when it has one), and
///   absent otherwise rather than a guess at which hosted domain the client wanted;
/// - `version='1.0'`, so the client reads the error with RFC 6120's conditions (§4.7.5);
/// - no `id`: §4.7.3 wants a unique id for a stream the two sides go on to use; this one
///   ends with the error, so the client has no use for an id, and a fixed value would claim
///   a uniqueness it lacks (a random one would need a random source for nothing);
/// - no `xml:lang`: the error's texts carry their own.
///
/// ```
/// use xmpp_core::{StreamCondition, StreamError};
/// use xmpp_stream::c2s::refusal;
///
/// let banned = StreamError::new(StreamCondition::PolicyViolation)
///     .with_text(Some("en"), "too many failed logins; try again later");
/// let bytes = refusal(Some("example.org"), &banned);
/// assert!(bytes.starts_with(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client'"));
/// assert!(bytes.ends_with(b"</stream:error></stream:stream>"));
/// ```
pub fn refusal(domain: Option<&str>, error: &StreamError) -> Bytes {
    let header = StreamHeader {
        from: domain.map(str::to_owned),
        version: Some("1.0".to_owned()),
        content_ns: ns::JABBER_CLIENT.to_owned(),
        ..StreamHeader::default()
    };
    let mut out = BytesMut::new();
    header.write_open(&mut out);
    write_element(&mut out, &error.to_element(), ns::JABBER_CLIENT);
    write_close(&mut out);
    out.freeze()
}
