//! Message carbons (XEP-0280, `urn:xmpp:carbons:2`): which messages are copied to a user's
//! other resources, and the copies themselves.
//!
//! The server's flow, with the session table in hand:
//!
//! - An iq from a client: [`CarbonsRequest::parse`]. Enable or disable carbons for that
//!   session and answer with an empty result; enabling twice, or disabling twice, is not an
//!   error (§8.1). The iq is addressed to nobody or to the user's own bare JID; answering
//!   `not-allowed` for anything else is the caller's routing.
//! - A message a local client sends: first [`is_carbon_wrapper`] (see "Forged copies"
//!   below). Then, once it is routed, if [`is_eligible`] with [`Direction::Sent`]: a
//!   [`sent_copy`] to each carbons-enabled resource of the sender except the sending one
//!   (§5), whether or not the sending resource has carbons enabled.
//! - A message for a local user: if [`is_eligible`] with [`Direction::Received`], deliver
//!   it by the RFC 6121 rules, then a [`received_copy`] to each carbons-enabled resource of
//!   the recipient that did not get the original (§4). Before delivering the original to the
//!   recipient, [`strip_private`] (§7).
//!
//! A message between two local users goes through both: sent copies for the sender's other
//! resources, received copies for the recipient's.
//!
//! # Which messages are copied
//!
//! XEP-0280 leaves the rules to the server and suggests some (§6.1 in version 1.0); this
//! module follows them, with these readings:
//!
//! - Never: anything but a message; type `groupchat` (the room already sends it to every
//!   joined client); type `error` (the XEP allows an error that answers an eligible message,
//!   but that needs the server to remember what it copied, which the XEP itself calls
//!   "unlikely to be generally appropriate"); a message that is itself a carbon copy or a
//!   XEP-0313 archive result (each was made for one resource).
//! - Never when the sender opted out: `<private xmlns='urn:xmpp:carbons:2'/>`, or the
//!   XEP-0334 `<no-copy/>` hint. §7 asks clients to send both; either alone is taken as the
//!   same wish (as Prosody does), since copying what the sender asked not to copy is the
//!   worse mistake. XEP-0334 says `<no-copy/>` belongs on messages to full JIDs only and
//!   does not change RFC 6121 delivery to a bare JID; carbons are not that delivery, so the
//!   hint is honoured whatever the address.
//! - Always (after the exclusions above): invitations to a room, direct (XEP-0249) or
//!   mediated (XEP-0045 `<x xmlns='…muc#user'><invite/></x>`), so that the user sees them on
//!   every device.
//! - A message received with `<x xmlns='http://jabber.org/protocol/muc#user'/>` comes from
//!   a room or through one (a private message from an occupant): not copied, the room
//!   already sends it to every joined client. A private message the user *sends* to an
//!   occupant is copied like any chat message; XEP-0280 suggests limiting those copies to
//!   the resources joined with the same nick, which only the server's session table knows.
//!   A room that does not add the `<x/>` cannot be told apart from a contact here.
//! - Otherwise: type `chat`; type `normal` (or no type) with a `<body/>`; and any type
//!   (`headline` included, as the XEP words it) carrying chat states (XEP-0085), receipts
//!   (XEP-0184) or chat markers (XEP-0333), the "payload elements typically used in IM".
//!
//! # Forged copies
//!
//! A client that sends a message carrying `<sent/>` or `<received/>` in
//! `urn:xmpp:carbons:2` is forging a copy: only servers make them (§4, §5). §11 makes the
//! receiving client check that a copy comes from its own bare JID, but a server that lets a
//! client pick a bare `from` would pass that check, so the server never relays one: it
//! answers with [`forged_copy_error`] (`not-acceptable`) and routes nothing. A message that
//! wraps a copy one level deeper (a client forwarding a carbon with XEP-0297) is not a
//! copy and passes. Copies arriving from other servers are the recipient client's to
//! check, and are never copied again.

use crate::element::Element;
use crate::error::{ErrorType, StanzaCondition, StanzaError};
use crate::jid::{BareJid, FullJid};
use crate::ns;
use crate::stanza::{IqType, MessageType, Stanza, StanzaKind, StanzaNs};

use super::hints::Hints;

/// The service discovery feature of carbons (§3): the server lists it in its `disco#info`.
pub const DISCO_FEATURE: &str = ns::CARBONS;

/// What a carbons iq asks for (§4 and §5 of version 1.0, "Enabling" and "Disabling").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarbonsRequest {
    /// `<enable xmlns='urn:xmpp:carbons:2'/>`: send this session copies from now on.
    Enable,
    /// `<disable xmlns='urn:xmpp:carbons:2'/>`: stop.
    Disable,
}

impl CarbonsRequest {
    /// Reads an iq `set` whose payload is `<enable/>` or `<disable/>` in
    /// `urn:xmpp:carbons:2`; `None` for any other stanza (an iq `get` with such a payload
    /// included: it asks for nothing carbons defines, so the caller answers it as it answers
    /// any unknown request).
    ///
    /// Whom the iq is addressed to is not checked here: see the [module docs](self).
    ///
    /// ```
    /// use xmpp_core::im::carbons::CarbonsRequest;
    /// use xmpp_core::{Element, Stanza};
    ///
    /// let el: Element = "<iq xmlns='jabber:client' type='set' id='enable1'>\
    ///     <enable xmlns='urn:xmpp:carbons:2'/></iq>".parse()?;
    /// assert_eq!(CarbonsRequest::parse(&Stanza::from_element(el)?), Some(CarbonsRequest::Enable));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(stanza: &Stanza) -> Option<Self> {
        if stanza.iq_type() != Some(IqType::Set) {
            return None;
        }
        let payload = stanza.iq_payload()?;
        if payload.ns() != ns::CARBONS {
            return None;
        }
        match payload.name() {
            "enable" => Some(Self::Enable),
            "disable" => Some(Self::Disable),
            _ => None,
        }
    }
}

/// Which way a message goes, seen from the user whose resources get the copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by one of the user's clients: copies are [`sent_copy`].
    Sent,
    /// Addressed to the user: copies are [`received_copy`].
    Received,
}

/// Whether a message is copied to the user's other carbons-enabled resources; see the
/// [module docs](self) for the rules.
///
/// `direction` matters for messages related to a room only: a private message the user
/// sends to an occupant is copied, one received from an occupant is not.
pub fn is_eligible(stanza: &Stanza, direction: Direction) -> bool {
    let Some(ty) = stanza.message_type() else {
        return false;
    };
    if matches!(ty, MessageType::Groupchat | MessageType::Error) {
        return false;
    }
    if is_carbon_wrapper(stanza) || is_archive_result(stanza) {
        return false;
    }
    if is_private(stanza) || Hints::of(stanza).no_copy {
        return false;
    }
    if is_invitation(stanza) {
        return true;
    }
    if direction == Direction::Received && stanza.payloads().any(|p| p.is("x", ns::MUC_USER)) {
        return false;
    }
    match ty {
        MessageType::Chat => true,
        MessageType::Normal if has_body(stanza) => true,
        _ => stanza
            .payloads()
            .any(|p| matches!(p.ns(), ns::CHATSTATES | ns::RECEIPTS | ns::CHAT_MARKERS)),
    }
}

/// Whether a message carries a carbon copy: a `<sent/>` or `<received/>` in
/// `urn:xmpp:carbons:2` as a direct child. False for anything but a message.
///
/// From a local client this is a forgery; see the [module docs](self) and
/// [`forged_copy_error`].
pub fn is_carbon_wrapper(stanza: &Stanza) -> bool {
    stanza.kind() == StanzaKind::Message
        && stanza
            .payloads()
            .any(|p| p.ns() == ns::CARBONS && matches!(p.name(), "sent" | "received"))
}

/// The answer to a client that sent a carbon copy of its own ([`is_carbon_wrapper`]):
/// `not-acceptable` (type `modify`, with a text that says why). `None` when the stanza is
/// itself an error, which is never answered: the caller drops it. Either way the stanza is
/// not routed.
pub fn forged_copy_error(stanza: &Stanza) -> Option<Stanza> {
    let error = StanzaError::new(StanzaCondition::NotAcceptable)
        .with_type(ErrorType::Modify)
        .with_text(Some("en"), "Only the server makes carbon copies");
    stanza.error_reply(error)
}

/// Whether the sender asked for no copies with `<private xmlns='urn:xmpp:carbons:2'/>`.
pub fn is_private(stanza: &Stanza) -> bool {
    stanza.payloads().any(|p| p.is("private", ns::CARBONS))
}

/// Removes `<private xmlns='urn:xmpp:carbons:2'/>` from a message before it is delivered to
/// a local recipient (§7: the receiving server SHOULD).
///
/// Only on delivery: a message leaving for another server keeps it, since that server is the
/// one that must not copy it to the recipient's resources.
pub fn strip_private(stanza: &mut Stanza) {
    stanza.retain_payloads(|p| !p.is("private", ns::CARBONS));
}

/// The copy of a message one of the user's clients sent, for another of its resources (§5):
///
/// ```xml
/// <message xmlns='jabber:client' from='{account}' to='{to}' type='{original type}'>
///   <sent xmlns='urn:xmpp:carbons:2'>
///     <forwarded xmlns='urn:xmpp:forward:0'>
///       <message xmlns='jabber:client' …the original…/>
///     </forwarded>
///   </sent>
/// </message>
/// ```
///
/// `original` is the message as it was routed, with the `from` the server stamped; it is
/// copied whole (every attribute and child, the `id` included) and moved to `jabber:client`
/// if it came from another stream namespace (XEP-0297). The wrapper has no `id`; the caller
/// sets one if its stream needs it.
///
/// The wrapper keeps the original's type (§5 "SHOULD"), a missing type stays missing, and
/// an unknown one is written as `normal`, which is what it means (RFC 6121 §5.2.2). An
/// `error` original, which [`is_eligible`] never allows, gets a wrapper without type: a
/// wrapper of type `error` would need an `<error/>` of its own.
pub fn sent_copy(original: &Stanza, account: &BareJid, to: &FullJid) -> Stanza {
    wrap("sent", original, account, to)
}

/// The copy of a message addressed to the user, for a resource that did not get the
/// original (§4): like [`sent_copy`], with `<received/>` in place of `<sent/>`.
pub fn received_copy(original: &Stanza, account: &BareJid, to: &FullJid) -> Stanza {
    wrap("received", original, account, to)
}

fn wrap(kind: &str, original: &Stanza, account: &BareJid, to: &FullJid) -> Stanza {
    let mut inner = original.clone();
    inner.set_ns(StanzaNs::Client);
    let mut el = Element::new(StanzaKind::Message.as_str(), StanzaNs::Client.namespace())
        .with_attr("from", account.as_str())
        .with_attr("to", to.as_str());
    if original.element().attr("type").is_some()
        && let Some(ty) = original.message_type().filter(|t| *t != MessageType::Error)
    {
        el.set_attr("type", ty.as_str());
    }
    let forwarded = Element::new("forwarded", ns::FORWARD).with_child(inner.into_element());
    el.append_child(Element::new(kind, ns::CARBONS).with_child(forwarded));
    // A message in jabber:client with valid JIDs and a type that is not `error` passes every
    // check of `Stanza::from_element`.
    Stanza::from_element(el).expect("a carbon copy built from valid parts is a valid stanza")
}

/// A XEP-0313 archive result (`<result xmlns='urn:xmpp:mam:…'/>`), any version.
fn is_archive_result(stanza: &Stanza) -> bool {
    stanza
        .payloads()
        .any(|p| p.name() == "result" && p.ns().starts_with("urn:xmpp:mam:"))
}

/// A direct (XEP-0249) or mediated (XEP-0045 §7.8.2) invitation to a room.
fn is_invitation(stanza: &Stanza) -> bool {
    stanza.payloads().any(|p| {
        p.is("x", ns::CONFERENCE)
            || (p.is("x", ns::MUC_USER) && p.has_child("invite", ns::MUC_USER))
    })
}

fn has_body(stanza: &Stanza) -> bool {
    stanza
        .payloads()
        .any(|p| p.is("body", stanza.ns().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jid::Jid;

    fn stanza(s: &str) -> Stanza {
        let el: Element = s.parse().expect("test input is well-formed");
        Stanza::from_element(el).expect("valid stanza")
    }

    fn message(attrs: &str, payload: &str) -> Stanza {
        stanza(&format!(
            "<message xmlns='jabber:client' from='romeo@montague.example/home' \
             to='juliet@capulet.example/balcony'{attrs}>{payload}</message>"
        ))
    }

    fn both(s: &Stanza) -> (bool, bool) {
        (
            is_eligible(s, Direction::Sent),
            is_eligible(s, Direction::Received),
        )
    }

    const BODY: &str = "<body>Neither, fair saint</body>";

    #[test]
    fn xep0280_enable_and_disable_are_read() {
        let iq = |ty: &str, payload: &str| {
            stanza(&format!(
                "<iq xmlns='jabber:client' type='{ty}' id='c1'>{payload}</iq>"
            ))
        };
        assert_eq!(
            CarbonsRequest::parse(&iq("set", "<enable xmlns='urn:xmpp:carbons:2'/>")),
            Some(CarbonsRequest::Enable)
        );
        assert_eq!(
            CarbonsRequest::parse(&iq("set", "<disable xmlns='urn:xmpp:carbons:2'/>")),
            Some(CarbonsRequest::Disable)
        );
        // Wrong iq type, another namespace (carbons:1 is not this protocol), another name.
        assert_eq!(
            CarbonsRequest::parse(&iq("get", "<enable xmlns='urn:xmpp:carbons:2'/>")),
            None
        );
        assert_eq!(
            CarbonsRequest::parse(&iq("set", "<enable xmlns='urn:xmpp:carbons:1'/>")),
            None
        );
        assert_eq!(
            CarbonsRequest::parse(&iq("set", "<private xmlns='urn:xmpp:carbons:2'/>")),
            None
        );
        assert_eq!(CarbonsRequest::parse(&message("", BODY)), None);
    }

    #[test]
    fn xep0280_6_1_chat_is_copied_with_or_without_body() {
        assert_eq!(both(&message(" type='chat'", BODY)), (true, true));
        let composing = "<composing xmlns='http://jabber.org/protocol/chatstates'/>";
        assert_eq!(both(&message(" type='chat'", composing)), (true, true));
        assert_eq!(both(&message(" type='chat'", "")), (true, true));
    }

    #[test]
    fn xep0280_6_1_normal_needs_a_body() {
        assert_eq!(both(&message("", BODY)), (true, true));
        assert_eq!(both(&message(" type='normal'", BODY)), (true, true));
        // An unknown type is normal (RFC 6121 §5.2.2).
        assert_eq!(both(&message(" type='bogus'", BODY)), (true, true));
        assert_eq!(
            both(&message(" type='normal'", "<thread>t</thread>")),
            (false, false)
        );
        // A body in another namespace is not the message's body.
        assert_eq!(
            both(&message("", "<body xmlns='urn:example'>x</body>")),
            (false, false)
        );
    }

    #[test]
    fn xep0280_6_1_im_payloads_make_any_type_eligible() {
        for payload in [
            "<received xmlns='urn:xmpp:receipts' id='m1'/>",
            "<request xmlns='urn:xmpp:receipts'/>",
            "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>",
            "<markable xmlns='urn:xmpp:chat-markers:0'/>",
            "<active xmlns='http://jabber.org/protocol/chatstates'/>",
        ] {
            assert_eq!(both(&message("", payload)), (true, true), "{payload}");
            assert_eq!(
                both(&message(" type='headline'", payload)),
                (true, true),
                "{payload}"
            );
        }
        // A headline without them (a PubSub event, a news item) is not.
        let event = "<event xmlns='http://jabber.org/protocol/pubsub#event'/>";
        assert_eq!(both(&message(" type='headline'", event)), (false, false));
        assert_eq!(both(&message(" type='headline'", BODY)), (false, false));
    }

    #[test]
    fn xep0280_6_1_groupchat_and_error_are_never_copied() {
        assert_eq!(both(&message(" type='groupchat'", BODY)), (false, false));
        let error = message(
            " type='error'",
            "<error type='cancel'><service-unavailable \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        assert_eq!(both(&error), (false, false));
    }

    #[test]
    fn only_messages() {
        let presence = stanza("<presence xmlns='jabber:client'/>");
        assert_eq!(both(&presence), (false, false));
        assert!(!is_carbon_wrapper(&presence));
        let iq = stanza(
            "<iq xmlns='jabber:client' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>",
        );
        assert_eq!(both(&iq), (false, false));
    }

    #[test]
    fn xep0280_7_private_or_no_copy_opts_out() {
        let private = "<private xmlns='urn:xmpp:carbons:2'/>";
        let no_copy = "<no-copy xmlns='urn:xmpp:hints'/>";
        for payload in [
            format!("{BODY}{private}{no_copy}"),
            format!("{BODY}{private}"),
            format!("{BODY}{no_copy}"),
        ] {
            assert_eq!(
                both(&message(" type='chat'", &payload)),
                (false, false),
                "{payload}"
            );
        }
        // A private in another namespace is not the opt-out.
        let other = format!("{BODY}<private xmlns='urn:example'/>");
        assert_eq!(both(&message(" type='chat'", &other)), (true, true));
    }

    #[test]
    fn copies_and_archive_results_are_not_copied_again() {
        let copy = sent_copy(
            &message(" type='chat'", BODY),
            &BareJid::new("romeo@montague.example").expect("valid"),
            &FullJid::new("romeo@montague.example/garden").expect("valid"),
        );
        assert!(is_carbon_wrapper(&copy));
        assert_eq!(both(&copy), (false, false));
        let mam = message(
            " type='chat'",
            "<result xmlns='urn:xmpp:mam:2' queryid='q' id='1'>\
             <forwarded xmlns='urn:xmpp:forward:0'/></result>",
        );
        assert_eq!(both(&mam), (false, false));
    }

    #[test]
    fn xep0280_6_2_muc_private_messages_are_copied_when_sent_only() {
        let pm = message(
            " type='chat'",
            &format!("{BODY}<x xmlns='http://jabber.org/protocol/muc#user'/>"),
        );
        assert_eq!(both(&pm), (true, false));
    }

    #[test]
    fn xep0280_6_2_invitations_are_copied_both_ways() {
        let mediated = "<x xmlns='http://jabber.org/protocol/muc#user'>\
                        <invite from='crone1@shakespeare.lit/desktop'/></x>";
        assert_eq!(both(&message("", mediated)), (true, true));
        let direct = "<x xmlns='jabber:x:conference' jid='darkcave@macbeth.shakespeare.lit'/>";
        assert_eq!(both(&message("", direct)), (true, true));
        // Unless the sender opted out.
        let private = format!("{direct}<private xmlns='urn:xmpp:carbons:2'/>");
        assert_eq!(both(&message("", &private)), (false, false));
        // A muc#user x without an invitation received from a room is not copied.
        let decline = "<x xmlns='http://jabber.org/protocol/muc#user'><decline/></x>";
        assert_eq!(both(&message("", decline)), (false, false));
    }

    #[test]
    fn wrapper_detection() {
        for name in ["sent", "received"] {
            let m = message(
                " type='chat'",
                &format!(
                    "<{name} xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
                     <message xmlns='jabber:client'/></forwarded></{name}>"
                ),
            );
            assert!(is_carbon_wrapper(&m), "{name}");
        }
        // Forwarded one level deeper: a client forwarding a copy (XEP-0297).
        let deeper = message(
            " type='chat'",
            "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'>\
             <sent xmlns='urn:xmpp:carbons:2'/></message></forwarded>",
        );
        assert!(!is_carbon_wrapper(&deeper));
        // `private` and receipts' `received` are not wrappers.
        assert!(!is_carbon_wrapper(&message(
            "",
            "<private xmlns='urn:xmpp:carbons:2'/><received xmlns='urn:xmpp:receipts'/>"
        )));
    }

    #[test]
    fn forged_copy_is_answered_not_acceptable() {
        let forged = message(
            " type='chat' id='f1'",
            "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='juliet@capulet.example/balcony'/>\
             </forwarded></received>",
        );
        let reply = forged_copy_error(&forged).expect("a chat message is answered");
        assert_eq!(reply.id(), Some("f1"));
        assert_eq!(
            reply.to().map(Jid::as_str),
            Some("romeo@montague.example/home")
        );
        let error = reply.error().expect("an error").expect("readable");
        assert_eq!(error.condition, StanzaCondition::NotAcceptable);
        assert_eq!(error.error_type, ErrorType::Modify);
        // Nothing of the forgery is echoed back.
        assert!(!reply.payloads().any(|p| p.ns() == ns::CARBONS));

        let error_stanza = message(
            " type='error'",
            "<received xmlns='urn:xmpp:carbons:2'/><error type='cancel'>\
             <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        assert_eq!(forged_copy_error(&error_stanza), None);
    }

    #[test]
    fn xep0280_7_strip_private_removes_only_private() {
        let mut m = message(
            " type='chat'",
            &format!(
                "{BODY}<private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/>\
                 <private xmlns='urn:example'/>"
            ),
        );
        assert!(is_private(&m));
        strip_private(&mut m);
        assert!(!is_private(&m));
        let left: Vec<(&str, &str)> = m.payloads().map(|p| (p.name(), p.ns())).collect();
        assert_eq!(
            left,
            [
                ("body", ns::JABBER_CLIENT),
                ("no-copy", ns::HINTS),
                ("private", "urn:example")
            ]
        );
    }

    fn parts() -> (BareJid, FullJid) {
        (
            BareJid::new("romeo@montague.example").expect("valid"),
            FullJid::new("romeo@montague.example/garden").expect("valid"),
        )
    }

    fn inner(copy: &Stanza, kind: &str) -> Element {
        copy.element()
            .get_child(kind, ns::CARBONS)
            .and_then(|w| w.get_child("forwarded", ns::FORWARD))
            .and_then(|f| f.get_child("message", ns::JABBER_CLIENT))
            .cloned()
            .expect("wrapped message")
    }

    #[test]
    fn xep0280_5_sent_copy_matches_the_example() {
        let original = message(
            " type='chat' id='x1' xml:lang='en'",
            "<body>Neither, fair saint, if either thee dislike.</body>\
             <thread>0e3141cd80894871a68e6fe6b1ec56fa</thread><unknown xmlns='urn:example' a='1'/>",
        );
        let (account, to) = parts();
        let copy = sent_copy(&original, &account, &to);
        assert_eq!(copy.ns(), StanzaNs::Client);
        assert_eq!(copy.message_type(), Some(MessageType::Chat));
        assert_eq!(copy.from().map(Jid::as_str), Some("romeo@montague.example"));
        assert_eq!(
            copy.to().map(Jid::as_str),
            Some("romeo@montague.example/garden")
        );
        assert_eq!(copy.id(), None);
        assert_eq!(inner(&copy, "sent"), *original.element());
        assert_eq!(copy.payloads().count(), 1);
    }

    #[test]
    fn xep0280_4_received_copy_wraps_received() {
        let original = stanza(
            "<message xmlns='jabber:client' from='juliet@capulet.example/balcony' \
             to='romeo@montague.example/home' type='chat'><body>What man art thou</body></message>",
        );
        let (account, to) = parts();
        let copy = received_copy(&original, &account, &to);
        assert_eq!(inner(&copy, "received"), *original.element());
        assert!(copy.element().get_child("sent", ns::CARBONS).is_none());
    }

    #[test]
    fn xep0297_inner_message_moves_to_jabber_client() {
        let original = stanza(
            "<message xmlns='jabber:server' from='juliet@capulet.example/balcony' \
             to='romeo@montague.example' type='chat'><body>hi</body></message>",
        );
        let (account, to) = parts();
        let copy = received_copy(&original, &account, &to);
        let inner = inner(&copy, "received");
        assert_eq!(inner.ns(), ns::JABBER_CLIENT);
        assert!(inner.has_child("body", ns::JABBER_CLIENT));
        assert_eq!(inner.attr("from"), Some("juliet@capulet.example/balcony"));
    }

    #[test]
    fn wrapper_type_follows_the_original() {
        let (account, to) = parts();
        let ty = |attrs: &str| {
            sent_copy(&message(attrs, BODY), &account, &to)
                .element()
                .attr("type")
                .map(str::to_owned)
        };
        assert_eq!(ty(""), None);
        assert_eq!(ty(" type='normal'"), Some("normal".to_owned()));
        assert_eq!(ty(" type='bogus'"), Some("normal".to_owned()));
        assert_eq!(ty(" type='headline'"), Some("headline".to_owned()));
        // An error (never eligible) still makes a valid stanza.
        let error = message(
            " type='error'",
            "<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        let copy = sent_copy(&error, &account, &to);
        assert_eq!(copy.element().attr("type"), None);
        assert!(!copy.is_error());
    }
}
