//! Resource binding (RFC 6120 §7) and the legacy session IQ (RFC 3921 §3, optional per
//! RFC 6121 Appendix E): reading the requests, writing the answers.

use xmpp_core::jid::{BareJid, FullJid};
use xmpp_core::{Element, StanzaError, ns};

/// Whether `iq` is a request in the bind namespace (whatever its type: a `get` is answered
/// with an error, not passed on).
pub(super) fn is_bind(iq: &Element) -> bool {
    iq.is("iq", ns::JABBER_CLIENT) && iq.has_child("bind", ns::BIND)
}

/// Whether `iq` is the RFC 3921 session request.
pub(super) fn is_session(iq: &Element) -> bool {
    iq.is("iq", ns::JABBER_CLIENT)
        && iq.attr("type") == Some("set")
        && iq.has_child("session", ns::SESSION)
}

/// Reads a bind request: the resource the client asks for, normalised, or `None` when it
/// leaves the choice to the server.
///
/// RFC 6120 §7.6.2 and §7.7.2.1: a request that is not a `set` with an `id` and one `<bind/>`,
/// or a resource that is not a valid resourcepart, is a `bad-request` (the `Err` says why,
/// for its text); the client may try again.
pub(super) fn parse_request(
    iq: &Element,
    account: &BareJid,
) -> Result<Option<String>, &'static str> {
    let bad = |why: &'static str| why;
    if iq.attr("type") != Some("set") || iq.attr("id").is_none() {
        return Err(bad("a bind request is an iq of type set with an id"));
    }
    let mut children = iq.children();
    let (Some(bind), None) = (children.next(), children.next()) else {
        return Err(bad("a bind request carries exactly one <bind/>"));
    };
    let mut resources = bind.children().filter(|c| c.is("resource", ns::BIND));
    let resource = match (resources.next(), resources.next()) {
        (None, _) => return Ok(None),
        (Some(r), None) => r.text(),
        (Some(_), Some(_)) => return Err(bad("at most one <resource/>")),
    };
    // An empty <resource/> is a client asking for a server-chosen one, as if it had sent none.
    if resource.is_empty() {
        return Ok(None);
    }
    match account.with_resource(&resource) {
        Ok(full) => Ok(Some(full.resource().to_owned())),
        Err(_) => Err(bad("the resource is not a valid resourcepart")),
    }
}

/// The result of a successful bind: `<jid/>` with the full JID.
pub(super) fn result(iq: &Element, jid: &FullJid) -> Element {
    reply(iq, "result").with_child(
        Element::new("bind", ns::BIND)
            .with_child(Element::new("jid", ns::BIND).with_text(jid.as_str())),
    )
}

/// An error answer to a bind request (or to a request we refuse). The request's payload is
/// not echoed: it is what was wrong, and clients match answers by `id`.
pub(super) fn error(iq: &Element, error: StanzaError) -> Element {
    reply(iq, "error").with_child(error.into_element(ns::JABBER_CLIENT))
}

/// The empty result of the session request, from the server.
pub(super) fn session_result(iq: &Element, domain: &str) -> Element {
    reply(iq, "result").with_attr("from", domain)
}

fn reply(iq: &Element, ty: &str) -> Element {
    // RFC 6120 §8.2.3: an answer carries the request's id; one without gets an empty id.
    Element::new("iq", ns::JABBER_CLIENT)
        .with_attr("id", iq.attr("id").unwrap_or_default())
        .with_attr("type", ty)
}
