//! Writing top-level elements into a stream.

use bytes::BytesMut;
use xmpp_core::Element;
use xmpp_core::ns;

pub use crate::framer::header::{write_close, write_ws_close};

/// Writes a top-level element into a TCP stream whose default namespace is `content_ns`:
/// stream-namespace elements get the `stream:` prefix bound by the header; stanzas in the
/// content namespace carry no `xmlns`.
pub fn write_element(out: &mut BytesMut, element: &Element, content_ns: &str) {
    if element.ns() == ns::STREAM {
        element.write_prefixed(out, "stream", false, content_ns);
    } else {
        element.write_in(out, content_ns);
    }
}

/// Writes a top-level element as one RFC 7395 WebSocket message: every element declares its
/// namespace, since there is no stream root to inherit it from.
pub fn write_ws_element(out: &mut BytesMut, element: &Element) {
    if element.ns() == ns::STREAM {
        element.write_prefixed(out, "stream", true, "");
    } else {
        element.write_to(out);
    }
}
