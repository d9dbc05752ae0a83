//! The stream header: what the peer said when it opened the stream, and how we open ours.

use bytes::{BufMut, BytesMut};
use xmpp_core::element::{Attribute, Namespace, XML_NS, write_escaped_attr};
use xmpp_core::ns;

/// The attributes of a stream header (RFC 6120 §4.7), whichever way it arrived: as
/// `<stream:stream>` over TCP or `<open/>` over WebSocket.
///
/// Values are as sent; checking them (is `to` a hosted domain, is `version` 1.0) is the
/// negotiation layer's job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamHeader {
    /// `to`: the domain the initiator wants.
    pub to: Option<String>,
    /// `from`: who the sender says it is.
    pub from: Option<String>,
    /// `id`: the stream id (set by the receiving entity).
    pub id: Option<String>,
    /// `version`: `1.0` for RFC 6120 streams.
    pub version: Option<String>,
    /// `xml:lang`: the default language of the stream.
    pub lang: Option<String>,
    /// The content namespace (the default namespace declared on the header): `jabber:client`,
    /// `jabber:server`, ... Empty over WebSocket, where every stanza declares its own.
    pub content_ns: String,
    /// Every other attribute, kept so that nothing the peer sent is lost.
    pub other: Vec<Attribute>,
}

impl StreamHeader {
    pub(super) fn from_parts(attrs: Vec<Attribute>, content_ns: &Namespace<'static>) -> Self {
        let mut header = StreamHeader {
            content_ns: content_ns.as_str().to_owned(),
            ..StreamHeader::default()
        };
        for a in attrs {
            let slot = match (a.ns.as_str(), a.name.as_str()) {
                ("", "to") => &mut header.to,
                ("", "from") => &mut header.from,
                ("", "id") => &mut header.id,
                ("", "version") => &mut header.version,
                (XML_NS, "lang") => &mut header.lang,
                _ => {
                    header.other.push(a);
                    continue;
                }
            };
            *slot = Some(a.value);
        }
        header
    }

    fn write_attrs(&self, out: &mut BytesMut) {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("id", &self.id),
            ("version", &self.version),
            ("xml:lang", &self.lang),
        ];
        for (name, value) in pairs {
            if let Some(v) = value {
                out.put_u8(b' ');
                out.put_slice(name.as_bytes());
                out.put_slice(b"='");
                write_escaped_attr(out, v);
                out.put_u8(b'\'');
            }
        }
    }

    /// Writes `<?xml version='1.0'?><stream:stream …>` (TCP): the default namespace is
    /// `content_ns` and the `stream` prefix is bound, so stanzas that follow need no `xmlns`.
    pub fn write_open(&self, out: &mut BytesMut) {
        out.put_slice(b"<?xml version='1.0'?><stream:stream xmlns='");
        write_escaped_attr(out, &self.content_ns);
        out.put_slice(b"' xmlns:stream='");
        out.put_slice(ns::STREAM.as_bytes());
        out.put_u8(b'\'');
        self.write_attrs(out);
        out.put_u8(b'>');
    }

    /// Writes the RFC 7395 `<open/>` element (WebSocket).
    pub fn write_ws_open(&self, out: &mut BytesMut) {
        out.put_slice(b"<open xmlns='");
        out.put_slice(ns::FRAMING.as_bytes());
        out.put_u8(b'\'');
        self.write_attrs(out);
        out.put_slice(b"/>");
    }
}

/// Writes `</stream:stream>`.
pub fn write_close(out: &mut BytesMut) {
    out.put_slice(b"</stream:stream>");
}

/// Writes the RFC 7395 `<close/>` element.
pub fn write_ws_close(out: &mut BytesMut) {
    out.put_slice(b"<close xmlns='");
    out.put_slice(ns::FRAMING.as_bytes());
    out.put_slice(b"'/>");
}
