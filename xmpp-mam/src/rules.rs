//! Which 1:1 messages are archived (XEP-0313 §7.1.1, XEP-0334 hints), and the XEP-0359 ids
//! that tell a client where a message was archived.
//!
//! The server's flow for a message between two accounts, one of them local:
//!
//! 1. [`strip_stanza_ids`] with the addresses of every archive the message may land in: a
//!    client must not be able to plant a `<stanza-id/>` that claims to come from the
//!    recipient's (or its own) archive (XEP-0359 §4 business rule 3, XEP-0313 §8.3).
//! 2. [`should_archive`], then the owner's [`crate::Prefs::decide`] for [`counterpart`].
//! 3. For each archive: a [`new_archive_id`], [`add_stanza_id`] on that owner's copy,
//!    [`crate::ArchiveStore::append`] (both copies in one call), and only then delivery and
//!    the acknowledgement (ARCHITECTURE.md principle 7).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use xmpp_core::stanza::MessageType;
use xmpp_core::{BareJid, Element, Jid, Stanza};

use crate::ns;

/// Whether a 1:1 message belongs in the archives of its parties.
///
/// The rules, in order:
/// 1. Only messages of type `chat` or `normal` (a missing type is `normal`): never
///    `groupchat` (a room keeps its own archive), `headline` (alerts, XEP-0313 §7.1.1 advises
///    against) or `error`.
/// 2. Never with an XEP-0334 `<no-store/>` or `<no-permanent-store/>` hint: the sender said
///    so, and a "no" wins over a `<store/>` beside it.
/// 3. Archived when the message has content a client shows in a conversation: a `<body/>`,
///    an encrypted payload (OMEMO, both the `eu.siacs.conversations.axolotl` version clients
///    use and `urn:xmpp:omemo:2`), a retraction (XEP-0424), a correction (XEP-0308) or
///    reactions (XEP-0444). Retractions, corrections and reactions refer to archived messages,
///    and a client that catches up through the archive must see them too.
/// 4. Otherwise archived only with a `<store/>` hint. Chat states, receipts and markers are
///    not archived: they are state, not conversation.
pub fn should_archive(stanza: &Stanza) -> bool {
    if !matches!(
        stanza.message_type(),
        Some(MessageType::Chat | MessageType::Normal)
    ) {
        return false;
    }
    let hint = |name: &str| stanza.payloads().any(|p| p.is(name, ns::HINTS));
    if hint("no-store") || hint("no-permanent-store") {
        return false;
    }
    let body_ns = stanza.ns().as_str();
    let has_content = stanza.payloads().any(|p| {
        p.is("body", body_ns)
            || p.is("encrypted", ns::OMEMO_LEGACY)
            || p.is("encrypted", ns::OMEMO)
            || p.is("retract", ns::MESSAGE_RETRACT)
            || p.is("replace", ns::MESSAGE_CORRECT)
            || p.is("reactions", ns::REACTIONS)
    });
    has_content || hint("store")
}

/// The other party of a message in `owner`'s archive: the recipient (`to`) of a message the
/// owner sent, the sender (`from`) of one the owner received; the owner's own JID for a
/// message to itself. This is the `with` to store and the JID preferences decide on
/// (XEP-0441 §2.3.2, §2.3.3). `None` when that address is missing.
pub fn counterpart(stanza: &Stanza, owner: &BareJid) -> Option<Jid> {
    let outgoing = stanza
        .from()
        .is_some_and(|from| from.bare_str() == owner.as_str());
    if outgoing {
        stanza.to().cloned()
    } else {
        stanza.from().cloned()
    }
}

/// Whether `el` is a `<stanza-id xmlns='urn:xmpp:sid:0'/>` whose `by` names one of the
/// addresses in `ours` (compared normalised, so that `Juliet@Capulet.lit` is caught too).
pub fn is_own_stanza_id(el: &Element, ours: &[&str]) -> bool {
    if !el.is("stanza-id", ns::SID) {
        return false;
    }
    let Some(by) = el.attr("by") else {
        return false;
    };
    let normalised = Jid::new(by).ok();
    ours.iter().any(|our| {
        *our == by
            || normalised
                .as_ref()
                .is_some_and(|n| Jid::new(our).is_ok_and(|o| o == *n))
    })
}

/// Removes every `<stanza-id/>` child whose `by` is one of `ours`: only the archive named in
/// `by` may say where a message is stored in it, and a sender who could set it would make a
/// recipient's client believe a forged id (XEP-0359 §4, XEP-0313 §8.3). Ids by other
/// entities (a MUC service, another server) stay, as XEP-0359 requires of routing entities.
///
/// For a [`Stanza`], `stanza.retain_payloads(|p| !is_own_stanza_id(p, ours))` does the same.
pub fn strip_stanza_ids(stanza: &mut Element, ours: &[&str]) {
    stanza.retain_children(|c| !is_own_stanza_id(c, ours));
}

/// `<stanza-id xmlns='urn:xmpp:sid:0' id='…' by='…'/>`, by the archive's bare JID
/// (XEP-0313 §2.4: the account's bare JID for a user archive).
pub fn stanza_id_element(id: &str, by: &BareJid) -> Element {
    Element::new("stanza-id", ns::SID)
        .with_attr("id", id)
        .with_attr("by", by.as_str())
}

/// Adds the archive's `<stanza-id/>` to a message, replacing any already there with the same
/// `by` (XEP-0359 §4 rules 3 and 4: at most one per `by`, and ours wins).
pub fn add_stanza_id(stanza: &mut Element, id: &str, by: &BareJid) {
    stanza.retain_children(|c| !is_own_stanza_id(c, &[by.as_str()]));
    stanza.append_child(stanza_id_element(id, by));
}

/// The sender's XEP-0359 `<origin-id/>`, if the message has one with an `id`.
pub fn origin_id(stanza: &Element) -> Option<&str> {
    stanza
        .children()
        .find(|c| c.is("origin-id", ns::SID))
        .and_then(|c| c.attr("id"))
}

/// A new archive id from 16 random bytes the caller supplies (this crate reads no random
/// source): 22 characters of URL-safe base64 without padding, which fit in an XML attribute
/// and a URL as they are, and say nothing about the archive's size or order (XEP-0359 §5,
/// XEP-0313 §2: unpredictable).
pub fn new_archive_id(random: [u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

#[cfg(test)]
mod tests;
