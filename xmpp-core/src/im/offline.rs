//! Offline messages: which ones are kept (XEP-0160, XEP-0085, XEP-0334) and the `<delay/>`
//! they carry when finally delivered (XEP-0203).
//!
//! Storage itself (durability, order, the per-account limit) belongs to the server; this
//! module only answers "is this message worth keeping?" and stamps it on the way out.

use std::time::SystemTime;

use crate::datetime;
use crate::element::Element;
use crate::jid::Jid;
use crate::ns;
use crate::stanza::{MessageType, Stanza, StanzaKind, StanzaNs};

use super::hints::Hints;

/// The text of the `<delay/>` on a message delivered from offline storage, as XEP-0160 §3
/// shows it; clients display it, and other servers use the same words.
pub const OFFLINE_REASON: &str = "Offline Storage";

/// Whether a message that found no available resource is worth storing.
///
/// The rules, in order:
/// 1. Only messages, and never one of type `error` (an error is not answered or kept).
/// 2. Never when it carries an XEP-0334 `<no-store/>` or `<no-permanent-store/>` hint
///    ([`Hints::forbids_storage`]): the sender said so. Offline storage is not an archive,
///    but a message its sender wants kept nowhere has no place on the recipient's disk
///    either, and when a message carries both a "no" hint and `<store/>`, the "no" wins.
/// 3. Always when it carries a `<store/>` hint (XEP-0334: any message but an error).
/// 4. Otherwise: type `chat` or `normal` (no type is `normal`), as XEP-0160 and RFC 6121
///    §8.5.2.2.1 have it; `groupchat` and `headline` are not stored. And not when it carries
///    nothing but chat states (XEP-0085, [`ns::CHATSTATES`]) and envelope metadata (a
///    `<thread/>`, `<delay/>`, hints, XEP-0359 ids): a "composing" that arrives hours later
///    is noise. This is ejabberd's `store_empty_body: unless_chat_state`; a message with no
///    payload at all is not stored either, for the same reason.
///
/// Receipts (XEP-0184), chat markers (XEP-0333), bodies, OMEMO payloads, invitations: stored,
/// with or without chat states next to them.
pub fn is_storable(stanza: &Stanza) -> bool {
    let Some(ty) = stanza.message_type() else {
        return false;
    };
    if ty == MessageType::Error {
        return false;
    }
    let hints = Hints::of(stanza);
    if hints.forbids_storage() {
        return false;
    }
    if hints.store {
        return true;
    }
    matches!(ty, MessageType::Chat | MessageType::Normal)
        && stanza
            .payloads()
            .any(|p| !is_envelope(p, stanza.ns()) && p.ns() != ns::CHATSTATES)
}

/// Children that say something about the message rather than being its content.
fn is_envelope(el: &Element, stanza_ns: StanzaNs) -> bool {
    matches!(el.ns(), ns::DELAY | ns::HINTS | ns::SID) || el.is("thread", stanza_ns.as_str())
}

/// Adds `<delay xmlns='urn:xmpp:delay' from='…' stamp='…'>reason</delay>` (XEP-0203) to a
/// message or presence, after removing any `<delay/>` whose `from` is `from`.
///
/// The removal is what makes the stamp trustworthy: a client could otherwise send a message
/// with a `<delay/>` claiming to be the server's, and the recipient would believe it. Delays
/// from other entities (a MUC service, a remote server that stored the message first) stay;
/// `from` values are compared as JIDs, so a case variant of the domain is caught too.
///
/// The stamp is UTC with milliseconds (XEP-0082 allows fractions): messages stored within the
/// same second keep their order for a client that sorts by stamp.
///
/// An iq is left untouched: it takes no extra payload, and is never stored.
pub fn stamp_delay(stanza: &mut Stanza, from: &str, at: SystemTime, reason: Option<&str>) {
    if stanza.kind() == StanzaKind::Iq {
        return;
    }
    let ours = Jid::new(from).ok();
    stanza.retain_payloads(|p| {
        !(p.is("delay", ns::DELAY)
            && p.attr("from")
                .is_some_and(|f| same_entity(f, from, ours.as_ref())))
    });
    let mut delay = Element::new("delay", ns::DELAY)
        .with_attr("from", from)
        .with_attr("stamp", datetime::format_utc(at, true));
    if let Some(reason) = reason {
        delay.append_text(reason);
    }
    // Only an iq refuses a payload, and it was turned away above.
    let _ = stanza.append_payload(delay);
}

/// Whether an attribute value names the entity `ours` (already parsed from `raw`).
fn same_entity(value: &str, raw: &str, ours: Option<&Jid>) -> bool {
    if value == raw {
        return true;
    }
    match (ours, Jid::new(value)) {
        (Some(ours), Ok(theirs)) => *ours == theirs,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn stanza(s: &str) -> Stanza {
        let el: Element = s.parse().expect("test input is well-formed");
        Stanza::from_element(el).expect("valid stanza")
    }

    fn message(ty: &str, payload: &str) -> Stanza {
        stanza(&format!(
            "<message xmlns='jabber:client' to='juliet@example.com'{ty}>{payload}</message>"
        ))
    }

    const BODY: &str = "<body>hi</body>";
    const COMPOSING: &str = "<composing xmlns='http://jabber.org/protocol/chatstates'/>";
    const ACTIVE: &str = "<active xmlns='http://jabber.org/protocol/chatstates'/>";

    #[test]
    fn xep0160_chat_and_normal_with_a_body_are_stored() {
        for ty in ["", " type='chat'", " type='normal'", " type='bogus'"] {
            assert!(is_storable(&message(ty, BODY)), "{ty}");
        }
    }

    #[test]
    fn xep0160_groupchat_headline_and_error_are_not_stored() {
        assert!(!is_storable(&message(" type='groupchat'", BODY)));
        assert!(!is_storable(&message(" type='headline'", BODY)));
        let error = message(
            " type='error'",
            "<error type='cancel'><service-unavailable \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        assert!(!is_storable(&error));
    }

    #[test]
    fn only_messages_are_stored() {
        assert!(!is_storable(&stanza(
            "<presence xmlns='jabber:client' to='juliet@example.com'/>"
        )));
        assert!(!is_storable(&stanza(
            "<iq xmlns='jabber:client' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>"
        )));
    }

    #[test]
    fn xep0085_a_chat_state_alone_is_not_stored() {
        assert!(!is_storable(&message(" type='chat'", COMPOSING)));
        // With envelope metadata it is still only a chat state (ejabberd's
        // `unless_chat_state`).
        let with_envelope = format!(
            "{COMPOSING}<thread>t1</thread><origin-id xmlns='urn:xmpp:sid:0' id='a'/>\
             <no-copy xmlns='urn:xmpp:hints'/>"
        );
        assert!(!is_storable(&message(" type='chat'", &with_envelope)));
        // A chat state next to a body travels with it.
        assert!(is_storable(&message(
            " type='chat'",
            &format!("{ACTIVE}{BODY}")
        )));
    }

    #[test]
    fn a_message_with_nothing_in_it_is_not_stored() {
        assert!(!is_storable(&message(" type='chat'", "")));
        assert!(!is_storable(&message("", "<thread>t1</thread>")));
    }

    #[test]
    fn xep0184_xep0333_receipts_and_markers_alone_are_stored() {
        let receipt = "<received xmlns='urn:xmpp:receipts' id='m1'/>";
        assert!(is_storable(&message("", receipt)));
        let marker = "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>";
        assert!(is_storable(&message(" type='chat'", marker)));
        assert!(is_storable(&message(
            " type='chat'",
            &format!("{marker}{ACTIVE}")
        )));
    }

    #[test]
    fn xep0384_omemo_without_body_is_stored() {
        let omemo = "<encrypted xmlns='eu.siacs.conversations.axolotl'>\
                     <header sid='1'><iv>AAAA</iv></header></encrypted>";
        assert!(is_storable(&message(" type='chat'", omemo)));
        let omemo2 = "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>";
        assert!(is_storable(&message(" type='chat'", omemo2)));
    }

    #[test]
    fn xep0334_no_store_and_no_permanent_store_are_never_stored() {
        for hint in ["no-store", "no-permanent-store"] {
            let payload = format!("{BODY}<{hint} xmlns='urn:xmpp:hints'/>");
            assert!(!is_storable(&message(" type='chat'", &payload)), "{hint}");
            // A "no" beats a `store` given at the same time.
            let both = format!("{payload}<store xmlns='urn:xmpp:hints'/>");
            assert!(!is_storable(&message(" type='chat'", &both)), "{hint}");
        }
        // Another namespace's `no-store` is not the hint.
        let foreign = format!("{BODY}<no-store xmlns='urn:example'/>");
        assert!(is_storable(&message(" type='chat'", &foreign)));
    }

    #[test]
    fn xep0334_store_hint_stores_anything_but_errors() {
        let store = "<store xmlns='urn:xmpp:hints'/>";
        assert!(is_storable(&message(
            " type='chat'",
            &format!("{COMPOSING}{store}")
        )));
        assert!(is_storable(&message(
            " type='headline'",
            &format!("{BODY}{store}")
        )));
        let error = message(
            " type='error'",
            &format!(
                "{store}<error type='cancel'><service-unavailable \
                 xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
            ),
        );
        assert!(!is_storable(&error));
    }

    fn delays(s: &Stanza) -> Vec<(Option<String>, Option<String>, String)> {
        s.payloads()
            .filter(|p| p.is("delay", ns::DELAY))
            .map(|p| {
                (
                    p.attr("from").map(str::to_owned),
                    p.attr("stamp").map(str::to_owned),
                    p.text(),
                )
            })
            .collect()
    }

    const AT: Duration = Duration::new(1_278_803_305, 123_456_789);

    #[test]
    fn xep0203_stamp_has_from_stamp_with_millis_and_reason() {
        let mut m = message(" type='chat'", BODY);
        stamp_delay(&mut m, "example.com", UNIX_EPOCH + AT, Some(OFFLINE_REASON));
        assert_eq!(
            delays(&m),
            [(
                Some("example.com".to_owned()),
                Some("2010-07-10T23:08:25.123Z".to_owned()),
                "Offline Storage".to_owned()
            )]
        );
        let stamp = m
            .payloads()
            .find(|p| p.is("delay", ns::DELAY))
            .and_then(|p| p.attr("stamp"))
            .map(datetime::parse);
        assert!(matches!(stamp, Some(Ok(_))), "the stamp parses back");
        assert!(m.payloads().any(|p| p.is("body", ns::JABBER_CLIENT)));
    }

    #[test]
    fn xep0203_no_reason_no_text() {
        let mut m = message("", BODY);
        stamp_delay(&mut m, "example.com", UNIX_EPOCH, None);
        assert_eq!(delays(&m)[0].2, "");
    }

    #[test]
    fn xep0203_a_forged_delay_with_our_from_is_replaced_a_foreign_one_stays() {
        let payload = format!(
            "{BODY}<delay xmlns='urn:xmpp:delay' from='example.com' \
             stamp='1999-01-01T00:00:00Z'>Offline Storage</delay>\
             <delay xmlns='urn:xmpp:delay' from='EXAMPLE.com' stamp='1999-01-01T00:00:00Z'/>\
             <delay xmlns='urn:xmpp:delay' from='chat.example.org' stamp='2001-01-01T00:00:00Z'/>\
             <delay xmlns='urn:xmpp:delay' stamp='2002-01-01T00:00:00Z'/>"
        );
        let mut m = message(" type='chat'", &payload);
        stamp_delay(&mut m, "example.com", UNIX_EPOCH + AT, Some(OFFLINE_REASON));
        let got = delays(&m);
        let froms: Vec<Option<&str>> = got.iter().map(|d| d.0.as_deref()).collect();
        assert_eq!(
            froms,
            [Some("chat.example.org"), None, Some("example.com")],
            "ours (in either case) removed, foreign and from-less kept, the new one last"
        );
        assert_eq!(got[2].1.as_deref(), Some("2010-07-10T23:08:25.123Z"));
    }

    #[test]
    fn xep0203_an_iq_is_left_alone() {
        let mut iq = stanza(
            "<iq xmlns='jabber:client' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>",
        );
        let before = iq.clone();
        stamp_delay(&mut iq, "example.com", UNIX_EPOCH, Some(OFFLINE_REASON));
        assert_eq!(iq, before);
    }

    #[test]
    fn xep0203_presence_can_be_stamped() {
        let mut p = stanza("<presence xmlns='jabber:client'/>");
        stamp_delay(&mut p, "example.com", UNIX_EPOCH, None);
        assert_eq!(delays(&p).len(), 1);
    }
}
