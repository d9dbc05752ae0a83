//! The stanza envelope: `<message/>`, `<presence/>` and `<iq/>` (RFC 6120 §8).
//!
//! A [`Stanza`] is an [`Element`] that has been checked once, with its addresses parsed and
//! its type decoded. The element stays the storage: payloads are never copied out, and
//! attributes and children nobody here understands pass through untouched
//! (ARCHITECTURE.md, principle 5).
//!
//! What is checked when a stanza is made ([`Stanza::from_element`]):
//! - it is `message`, `presence` or `iq` in `jabber:client`, `jabber:server` or
//!   `jabber:component:accept`;
//! - `from` and `to`, when present, are valid JIDs; they are normalised in the element too,
//!   so that what is routed and what is forwarded are the same address;
//! - the type is known (an unknown message type means `normal`, RFC 6121 §5.2.2; an unknown
//!   presence or iq type is a `bad-request`);
//! - RFC 6120 §8.2.3 for iq: an `id`, and exactly one child for `get`/`set`, at most one for
//!   `result`;
//! - a stanza of type `error` carries an `<error/>` child (§8.3.1). Its content is read
//!   only on demand ([`Stanza::error`]), so that a peer's odd error still reaches the entity
//!   that waits for it.
//!
//! A violation comes back as [`InvalidStanza`], which says how to answer it.

mod invalid;
mod kind;
mod namespace;
mod parse;
mod reply;
#[cfg(test)]
mod tests;

use core::fmt;

pub use invalid::{InvalidStanza, StanzaViolation};
pub use kind::{IqType, MessageType, PresenceType, StanzaKind, StanzaType};
pub use namespace::StanzaNs;

use crate::element::Element;
use crate::error::{ErrorParseError, StanzaError};
use crate::jid::Jid;

/// A checked `<message/>`, `<presence/>` or `<iq/>`.
///
/// ```
/// use xmpp_core::stanza::{IqType, Stanza, StanzaType};
///
/// let el = "<iq xmlns='jabber:client' type='get' id='p1' to='example.org'>\
///           <ping xmlns='urn:xmpp:ping'/></iq>".parse::<xmpp_core::Element>()?;
/// let iq = Stanza::from_element(el)?;
/// assert_eq!(iq.stanza_type(), StanzaType::Iq(IqType::Get));
/// assert_eq!(iq.to().map(|j| j.as_str()), Some("example.org"));
///
/// let pong = iq.iq_result(None).expect("a get is answered");
/// assert_eq!(pong.id(), Some("p1"));
/// assert_eq!(pong.from().map(|j| j.as_str()), Some("example.org"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    element: Element,
    ns: StanzaNs,
    ty: StanzaType,
    from: Option<Jid>,
    to: Option<Jid>,
}

impl Stanza {
    /// Checks an element and makes it a stanza; see the [module docs](self) for the rules.
    pub fn from_element(element: Element) -> Result<Self, InvalidStanza> {
        parse::check(element)
    }

    /// Message, presence or iq.
    pub fn kind(&self) -> StanzaKind {
        self.ty.kind()
    }

    /// The kind with its type.
    pub fn stanza_type(&self) -> StanzaType {
        self.ty
    }

    /// The type, if this is a message.
    pub fn message_type(&self) -> Option<MessageType> {
        match self.ty {
            StanzaType::Message(t) => Some(t),
            _ => None,
        }
    }

    /// The type, if this is a presence.
    pub fn presence_type(&self) -> Option<PresenceType> {
        match self.ty {
            StanzaType::Presence(t) => Some(t),
            _ => None,
        }
    }

    /// The type, if this is an iq.
    pub fn iq_type(&self) -> Option<IqType> {
        match self.ty {
            StanzaType::Iq(t) => Some(t),
            _ => None,
        }
    }

    /// Whether this is an error stanza.
    pub fn is_error(&self) -> bool {
        self.ty.is_error()
    }

    /// The namespace, that of the stream the stanza came from or goes to.
    pub fn ns(&self) -> StanzaNs {
        self.ns
    }

    /// The `id` attribute; always present on an iq.
    pub fn id(&self) -> Option<&str> {
        self.element.attr("id")
    }

    /// The sender, as given (or stamped).
    pub fn from(&self) -> Option<&Jid> {
        self.from.as_ref()
    }

    /// The recipient, as given.
    pub fn to(&self) -> Option<&Jid> {
        self.to.as_ref()
    }

    /// The `xml:lang` of the stanza element itself.
    pub fn lang(&self) -> Option<&str> {
        self.element.lang()
    }

    /// Every child element in document order, `<body/>` and `<error/>` included.
    pub fn payloads(&self) -> impl Iterator<Item = &Element> {
        self.element.children()
    }

    /// The payload of an iq: the request of a `get`/`set`, the optional answer of a
    /// `result`, and on an `error` the request the error echoes, if any. `None` for message
    /// and presence.
    pub fn iq_payload(&self) -> Option<&Element> {
        if self.kind() != StanzaKind::Iq {
            return None;
        }
        let ns = self.ns.as_str();
        self.element.children().find(|c| !c.is("error", ns))
    }

    /// The `<error/>` of an error stanza, read; `None` if this is not an error stanza.
    pub fn error(&self) -> Option<Result<StanzaError, ErrorParseError>> {
        if !self.is_error() {
            return None;
        }
        self.element
            .get_child("error", self.ns.as_str())
            .map(StanzaError::from_element)
    }

    /// The element.
    pub fn element(&self) -> &Element {
        &self.element
    }

    /// Takes the element out.
    pub fn into_element(self) -> Element {
        self.element
    }

    /// Sets or removes the sender: how a server stamps `from` on what a client sends
    /// (RFC 6120 §8.1.2.1).
    pub fn set_from(&mut self, from: Option<Jid>) {
        set_jid_attr(&mut self.element, "from", from.as_ref());
        self.from = from;
    }

    /// Sets or removes the recipient.
    pub fn set_to(&mut self, to: Option<Jid>) {
        set_jid_attr(&mut self.element, "to", to.as_ref());
        self.to = to;
    }

    /// Sets the `id`. There is no way to remove it: an iq must keep one.
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.element.set_attr("id", id);
    }

    /// Moves the stanza, and every descendant that shared its namespace, into another stanza
    /// namespace (for instance from a client stream to a server-to-server stream).
    pub fn set_ns(&mut self, ns: StanzaNs) {
        if ns != self.ns {
            self.element.set_ns_deep(&ns.namespace());
            self.ns = ns;
        }
    }

    /// Appends a child to a message or presence (a `<delay/>`, a `<stanza-id/>`).
    ///
    /// An iq carries exactly its payload, so it takes no more children: the element comes
    /// back as the error.
    pub fn append_payload(&mut self, payload: Element) -> Result<(), Element> {
        if self.kind() == StanzaKind::Iq {
            return Err(payload);
        }
        self.element.append_child(payload);
        Ok(())
    }

    /// Removes the children of a message or presence for which `keep` returns false (a forged
    /// `<stanza-id/>`, a carbon wrapper a client must not send).
    ///
    /// The `<error/>` of an error stanza is never offered to `keep`, and neither is anything
    /// in an iq: removing them would break the rules the stanza was checked against.
    pub fn retain_payloads(&mut self, mut keep: impl FnMut(&Element) -> bool) {
        if self.kind() == StanzaKind::Iq {
            return;
        }
        let protect_error = self.is_error();
        let ns = self.ns.as_str();
        self.element
            .retain_children(|c| (protect_error && c.is("error", ns)) || keep(c));
    }
}

fn set_jid_attr(element: &mut Element, name: &str, jid: Option<&Jid>) {
    match jid {
        Some(jid) => {
            element.set_attr(name, jid.as_str());
        }
        None => {
            element.remove_attr(name);
        }
    }
}

impl TryFrom<Element> for Stanza {
    type Error = InvalidStanza;

    fn try_from(element: Element) -> Result<Self, Self::Error> {
        Self::from_element(element)
    }
}

impl From<Stanza> for Element {
    fn from(stanza: Stanza) -> Self {
        stanza.element
    }
}

impl fmt::Display for Stanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.element, f)
    }
}
