//! XEP-0077 in-band registration before authentication: the stream feature, which IQs are
//! registration requests, and which replies may answer them.
//!
//! The connection only carries the exchange: whether registration is open, which fields it
//! asks for and whether an account is created are the driver's decisions. What the connection
//! guarantees is that a registration request is the only stanza an unauthenticated client can
//! get past it, only where SASL would be allowed (after TLS when TLS is required), one at a
//! time, a bounded number of times per connection, and that nothing but an answer to it is
//! written back.

use xmpp_core::jid::BareJid;
use xmpp_core::{Element, ns};

/// The id of a registration request when `el` is one the connection hands to the driver:
/// an `<iq/>` in `jabber:client` of type `get` or `set`, with an `id` (its answer is matched
/// by it), addressed to nobody or to the stream's `domain` (anything else would be routing
/// before authentication), whose one payload is `<query xmlns='jabber:iq:register'/>`.
///
/// `from` is not looked at: an unauthenticated client has no address, and the driver must
/// not take one from the request.
pub(super) fn request_id<'a>(el: &'a Element, domain: &str) -> Option<&'a str> {
    if !el.is("iq", ns::JABBER_CLIENT) || !matches!(el.attr("type"), Some("get" | "set")) {
        return None;
    }
    let id = el.attr("id")?;
    if let Some(to) = el.attr("to") {
        match BareJid::new(to) {
            Ok(jid) if jid.localpart().is_none() && jid.domain() == domain => {}
            _ => return None,
        }
    }
    let mut payload = el.children();
    match (payload.next(), payload.next()) {
        (Some(query), None) if query.is("query", ns::REGISTER) => Some(id),
        _ => None,
    }
}

/// Whether `reply` may answer the request with `id`: an `<iq/>` in `jabber:client` of type
/// `result` or `error` carrying the same id (RFC 6120 §8.2.3).
pub(super) fn is_reply_to(reply: &Element, id: &str) -> bool {
    reply.is("iq", ns::JABBER_CLIENT)
        && matches!(reply.attr("type"), Some("result" | "error"))
        && reply.attr("id") == Some(id)
}

#[cfg(test)]
mod tests {
    use super::{is_reply_to, request_id};
    use xmpp_core::Element;

    const QUERY: &str = "<query xmlns='jabber:iq:register'/>";

    /// `<{name} xmlns='{ns}' {attrs}>{payload}</{name}>`, parsed.
    fn el(name: &str, ns: &str, attrs: &str, payload: &str) -> Element {
        format!("<{name} xmlns='{ns}' {attrs}>{payload}</{name}>")
            .parse()
            .expect("test XML")
    }

    fn iq(attrs: &str, payload: &str) -> Element {
        el("iq", "jabber:client", attrs, payload)
    }

    #[test]
    fn requests() {
        let fields = "<query xmlns='jabber:iq:register'><username>u</username></query>";
        for (request, id) in [
            (iq("type='get' id='a'", QUERY), Some("a")),
            (iq("type='set' id='b' to='Example.ORG'", fields), Some("b")),
            // Whitespace between elements is not a second payload.
            (iq("type='get' id='c'", &format!("\n {QUERY}\n")), Some("c")),
            // No id, the wrong type, another address, two payloads, another payload.
            (iq("type='get'", QUERY), None),
            (iq("type='result' id='a'", QUERY), None),
            (iq("type='get' id='a' to='other.example'", QUERY), None),
            (iq("type='get' id='a' to='user@example.org'", QUERY), None),
            (iq("type='get' id='a' to='example.org/r'", QUERY), None),
            (iq("type='get' id='a'", &format!("{QUERY}{QUERY}")), None),
            (
                iq("type='get' id='a'", "<query xmlns='jabber:iq:auth'/>"),
                None,
            ),
            (iq("type='get' id='a'", ""), None),
            (el("iq", "jabber:server", "type='get' id='a'", QUERY), None),
            (
                el("message", "jabber:client", "type='get' id='a'", QUERY),
                None,
            ),
        ] {
            assert_eq!(request_id(&request, "example.org"), id, "{request:?}");
        }
    }

    #[test]
    fn replies() {
        assert!(is_reply_to(&iq("type='result' id='a'", QUERY), "a"));
        assert!(is_reply_to(&iq("type='error' id='a'", ""), "a"));
        for reply in [
            iq("type='result' id='b'", ""),
            iq("type='result'", ""),
            iq("type='set' id='a'", ""),
            el("iq", "jabber:server", "type='result' id='a'", ""),
            el("message", "jabber:client", "type='result' id='a'", ""),
        ] {
            assert!(!is_reply_to(&reply, "a"), "{reply:?}");
        }
    }
}
