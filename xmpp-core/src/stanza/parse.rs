//! The checks a stanza passes once, when it is made.

use crate::element::Element;
use crate::jid::{Jid, JidError};

use super::{
    InvalidStanza, IqType, MessageType, PresenceType, Stanza, StanzaKind, StanzaNs, StanzaType,
    StanzaViolation,
};

/// Checks `element` against RFC 6120 §8 and builds the stanza.
///
/// The order of the checks decides which violation a stanza with several gets: first what
/// it is, then `from` (a stream matter), then `to`, then type, id and children.
pub(super) fn check(mut element: Element) -> Result<Stanza, InvalidStanza> {
    let (Some(ns), Some(kind)) = (
        StanzaNs::from_uri(element.ns()),
        StanzaKind::from_name(element.name()),
    ) else {
        let violation = StanzaViolation::NotAStanza {
            name: element.name().to_owned(),
            ns: element.ns().to_owned(),
        };
        return Err(InvalidStanza::new(element, violation));
    };
    let from = match address(&element, "from") {
        Ok(jid) => jid,
        Err(e) => {
            return Err(InvalidStanza::new(
                element,
                StanzaViolation::MalformedFrom(e),
            ));
        }
    };
    let to = match address(&element, "to") {
        Ok(jid) => jid,
        Err(e) => return Err(InvalidStanza::new(element, StanzaViolation::MalformedTo(e))),
    };
    match rules(&element, ns, kind) {
        Ok(stanza_type) => {
            // Only now: an invalid stanza comes back exactly as it was received.
            normalise(&mut element, "from", from.as_ref());
            normalise(&mut element, "to", to.as_ref());
            Ok(Stanza {
                element,
                ns,
                ty: stanza_type,
                from,
                to,
            })
        }
        Err(violation) => Err(InvalidStanza::new(element, violation)),
    }
}

/// Parses an address attribute.
fn address(element: &Element, name: &str) -> Result<Option<Jid>, JidError> {
    element.attr(name).map(Jid::new).transpose()
}

/// Writes the normalised form of an address back when it differs from what was sent, so
/// that the address routed on and the address forwarded are the same.
fn normalise(element: &mut Element, name: &str, jid: Option<&Jid>) {
    if let Some(jid) = jid
        && element.attr(name) != Some(jid.as_str())
    {
        element.set_attr(name, jid.as_str());
    }
}

/// Type, id and children.
fn rules(element: &Element, ns: StanzaNs, kind: StanzaKind) -> Result<StanzaType, StanzaViolation> {
    let type_attr = element.attr("type");
    let stanza_type = match kind {
        StanzaKind::Message => StanzaType::Message(MessageType::from_attr(type_attr)),
        StanzaKind::Presence => StanzaType::Presence(PresenceType::from_attr(type_attr)?),
        StanzaKind::Iq => {
            let iq_type = IqType::from_attr(type_attr)?;
            iq_rules(element, iq_type)?;
            StanzaType::Iq(iq_type)
        }
    };
    if stanza_type.is_error() && !element.has_child("error", ns.as_str()) {
        return Err(StanzaViolation::MissingError);
    }
    Ok(stanza_type)
}

/// RFC 6120 §8.2.3: an id, and the number of children the type allows.
///
/// An `error` may echo the request next to its `<error/>`; its children are not counted, so
/// that an error that is odd in this respect still reaches the requester, who would
/// otherwise wait for an answer that never comes.
fn iq_rules(element: &Element, iq_type: IqType) -> Result<(), StanzaViolation> {
    if element.attr("id").is_none() {
        return Err(StanzaViolation::MissingId);
    }
    let found = element.children().count();
    let ok = match iq_type {
        IqType::Get | IqType::Set => found == 1,
        IqType::Result => found <= 1,
        IqType::Error => true,
    };
    if ok {
        Ok(())
    } else {
        Err(StanzaViolation::IqChildren { iq_type, found })
    }
}
