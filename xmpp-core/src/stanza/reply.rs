//! Answers: error replies (RFC 6120 §8.3.1) and iq results (§8.2.3).
//!
//! What an error reply carries of the original: for an iq, its payload, so the requester
//! sees which request failed (RFC 6120's examples do this, and the payload of a request is
//! small); for a message or presence, nothing. RFC 6120 lets the original XML be included,
//! but echoing a message body back doubles the traffic an abusive sender causes, returns
//! encrypted payloads to where they are useless, and clients match errors by `id` anyway.

use crate::element::Element;
use crate::error::StanzaError;
use crate::jid::Jid;

use super::{InvalidStanza, IqType, Stanza, StanzaKind, StanzaNs, StanzaType};

impl Stanza {
    /// The error reply to this stanza: `from` and `to` swapped, the same `id`, type `error`,
    /// the `<error/>` element and, for an iq, the original payload.
    ///
    /// `None` when the stanza must not be answered with an error: it is itself an error
    /// (errors are never answered with errors, RFC 6120 §8.3.1, which prevents loops), or an
    /// iq `result` (§8.2.3).
    ///
    /// A stanza without `to` (addressed to the sender's own account) gets a reply without
    /// `from`; the caller stamps one if its stream needs it.
    pub fn error_reply(&self, error: StanzaError) -> Option<Stanza> {
        if self.is_error() || self.iq_type() == Some(IqType::Result) {
            return None;
        }
        let payload = self.iq_payload().cloned();
        Some(build_error(
            self.kind(),
            self.ns,
            self.to.clone(),
            self.from.clone(),
            self.id(),
            payload,
            error,
        ))
    }

    /// The result of an iq `get` or `set`, with the given payload; `None` for any other
    /// stanza, which has nothing to answer.
    pub fn iq_result(&self, payload: Option<Element>) -> Option<Stanza> {
        if !self.iq_type().is_some_and(IqType::is_request) {
            return None;
        }
        let mut element = Element::new(StanzaKind::Iq.as_str(), self.ns.namespace());
        set_addresses(&mut element, self.to.as_ref(), self.from.as_ref());
        // An iq always has an id; the fallback only keeps this free of unwraps.
        element.set_attr("id", self.id().unwrap_or_default());
        element.set_attr("type", IqType::Result.as_str());
        if let Some(payload) = payload {
            element.append_child(payload);
        }
        Some(Stanza {
            element,
            ns: self.ns,
            ty: StanzaType::Iq(IqType::Result),
            from: self.to.clone(),
            to: self.from.clone(),
        })
    }
}

impl InvalidStanza {
    /// The error reply to an element that failed the stanza checks, when it is to be
    /// answered: [`InvalidStanza::stanza_error`] gives an error and the element is not
    /// itself an error or an iq result.
    ///
    /// The reply goes to the original `from`; its `from` is the original `to` when that was
    /// a valid address, and absent otherwise (the caller stamps its own). The `id` is kept;
    /// an iq without one gets an empty `id`, as RFC 6120 §8.2.3 prescribes. Nothing of the
    /// original payload is echoed: it is what was wrong.
    pub fn error_reply(&self) -> Option<Stanza> {
        let error = self.stanza_error()?;
        let element = self.element();
        let ns = StanzaNs::from_uri(element.ns())?;
        let kind = StanzaKind::from_name(element.name())?;
        let original_type = element.attr("type");
        if original_type == Some("error")
            || (kind == StanzaKind::Iq && original_type == Some("result"))
        {
            return None;
        }
        // `from` was checked before anything that gives a stanza error, so it parses; a
        // malformed `to` is left out rather than sent back.
        let reply_to = element.attr("from").map(Jid::new).transpose().ok()?;
        let reply_from = element.attr("to").and_then(|to| Jid::new(to).ok());
        let id = match (element.attr("id"), kind) {
            (Some(id), _) => Some(id),
            (None, StanzaKind::Iq) => Some(""),
            (None, _) => None,
        };
        Some(build_error(kind, ns, reply_from, reply_to, id, None, error))
    }
}

fn build_error(
    kind: StanzaKind,
    ns: StanzaNs,
    from: Option<Jid>,
    to: Option<Jid>,
    id: Option<&str>,
    payload: Option<Element>,
    error: StanzaError,
) -> Stanza {
    let mut element = Element::new(kind.as_str(), ns.namespace());
    set_addresses(&mut element, from.as_ref(), to.as_ref());
    if let Some(id) = id {
        element.set_attr("id", id);
    }
    element.set_attr("type", "error");
    if let Some(payload) = payload {
        element.append_child(payload);
    }
    element.append_child(error.into_element(ns));
    Stanza {
        element,
        ns,
        ty: StanzaType::error_of(kind),
        from,
        to,
    }
}

fn set_addresses(element: &mut Element, from: Option<&Jid>, to: Option<&Jid>) {
    if let Some(from) = from {
        element.set_attr("from", from.as_str());
    }
    if let Some(to) = to {
        element.set_attr("to", to.as_str());
    }
}
