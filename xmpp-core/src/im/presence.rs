//! Presence from a client: what it asks of the server (RFC 6121 §3, §4), its priority
//! (§4.7.2.3), and the presence stanzas the server itself builds or re-addresses.
//!
//! The broadcast targets (who is subscribed, who got directed presence) come from the roster
//! and the session; this module only reads and builds stanzas.

use crate::element::Element;
use crate::error::{StanzaCondition, StanzaError};
use crate::jid::{BareJid, Jid};
use crate::roster::SubscriptionType;
use crate::stanza::{PresenceType, Stanza, StanzaKind, StanzaNs};

/// What a presence stanza sent by a client asks of the server (RFC 6121 §4, §3). The caller
/// has already stamped `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientPresence {
    /// No `to`, type absent or unavailable: broadcast to subscribers (§4.2, §4.4, §4.5).
    Broadcast {
        /// Type absent (initial presence or an update) rather than `unavailable`.
        available: bool,
    },
    /// A `to` and type absent or unavailable: directed presence (§4.6).
    Directed {
        /// Type absent rather than `unavailable`; an available one is remembered, so that
        /// the recipient gets `unavailable` when the session ends (§4.6).
        available: bool,
    },
    /// subscribe / subscribed / unsubscribe / unsubscribed (with `to`; without `to` it is
    /// [`ClientPresence::Invalid`]).
    Subscription(SubscriptionType),
    /// type probe (with `to`): answered as the server's own probe would be (§4.3), which
    /// needs a subscription.
    Probe,
    /// type error: routed like directed presence but never remembered.
    Error,
    /// Not acceptable (subscription stanza or probe without `to`, or not a presence at all):
    /// the server answers bad-request.
    Invalid,
}

/// Classifies a presence a client sent; see [`ClientPresence`] for the cases.
///
/// A subscription stanza or probe needs a `to`: without one it would be addressed to the
/// user's own account, which has no meaning for either (§3.1.1, §4.3), so it is
/// [`ClientPresence::Invalid`]. A stanza that is not a presence is `Invalid` too.
pub fn classify(stanza: &Stanza) -> ClientPresence {
    let Some(ty) = stanza.presence_type() else {
        return ClientPresence::Invalid;
    };
    let addressed = stanza.to().is_some();
    match ty {
        PresenceType::Available | PresenceType::Unavailable => {
            let available = ty == PresenceType::Available;
            if addressed {
                ClientPresence::Directed { available }
            } else {
                ClientPresence::Broadcast { available }
            }
        }
        PresenceType::Error => ClientPresence::Error,
        PresenceType::Probe if addressed => ClientPresence::Probe,
        PresenceType::Subscribe
        | PresenceType::Subscribed
        | PresenceType::Unsubscribe
        | PresenceType::Unsubscribed
            if addressed =>
        {
            SubscriptionType::from_presence(ty)
                .map_or(ClientPresence::Invalid, ClientPresence::Subscription)
        }
        PresenceType::Probe
        | PresenceType::Subscribe
        | PresenceType::Subscribed
        | PresenceType::Unsubscribe
        | PresenceType::Unsubscribed => ClientPresence::Invalid,
    }
}

/// The `<priority/>` of a presence in its stanza namespace (RFC 6121 §4.7.2.3): 0 when absent.
///
/// The value is an `xs:byte`: an integer in -128..=127, optionally signed, with surrounding
/// whitespace allowed (the schema collapses it). Anything else, or two `<priority/>`
/// elements (§4.7.2.3 allows at most one), is a `bad-request` with a text saying why: a
/// guessed priority would send the user's messages to the wrong device.
#[allow(
    clippy::result_large_err,
    reason = "the error goes straight into `Stanza::error_reply`; the path is rare and cold"
)]
pub fn priority(stanza: &Stanza) -> Result<i8, StanzaError> {
    let ns = stanza.ns().as_str();
    let mut found = stanza.payloads().filter(|p| p.is("priority", ns));
    let Some(first) = found.next() else {
        return Ok(0);
    };
    if found.next().is_some() {
        return Err(bad_request("a presence carries at most one <priority/>"));
    }
    let text = first.text();
    let value = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    value.parse::<i8>().map_err(|_| {
        bad_request(format!(
            "<priority/> must be an integer from -128 to 127, not `{}`",
            truncate(value, 32)
        ))
    })
}

fn bad_request(text: impl Into<String>) -> StanzaError {
    StanzaError::new(StanzaCondition::BadRequest).with_text(Some("en"), text)
}

/// At most `max` bytes of `s`, cut at a character boundary: the peer's text is echoed in an
/// error, and an error need not carry a megabyte back.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `<presence type='unavailable' from=from to=to/>` in `jabber:client`: what a contact or a
/// directed-presence recipient gets when a session ends without saying so itself (§4.5.2,
/// §4.6), or when a subscription is cancelled (§3.2.2, §3.3.3).
pub fn unavailable(from: &Jid, to: &Jid) -> Stanza {
    build(PresenceType::Unavailable, from, Some(to))
}

/// `<presence type='unavailable' from=from/>` without `to`: the broadcast the server makes
/// for a session that ends without saying so (§4.5.2), readdressed to each recipient.
pub fn unavailable_broadcast(from: &Jid) -> Stanza {
    build(PresenceType::Unavailable, from, None)
}

/// A subscription stanza (`<presence type=… from=bare to=bare/>`) in `jabber:client`, e.g.
/// the `unsubscribed` a server sends for a missing account (§3.1.3) or the `subscribed` it
/// sends for a pre-approval (§3.4). Subscriptions are between accounts, so both addresses are
/// bare (§3.1.2).
pub fn subscription(ty: SubscriptionType, from: &BareJid, to: &BareJid) -> Stanza {
    build(ty.presence_type(), from.as_jid(), Some(to.as_jid()))
}

fn build(ty: PresenceType, from: &Jid, to: Option<&Jid>) -> Stanza {
    let mut el = Element::new(StanzaKind::Presence.as_str(), StanzaNs::Client.namespace())
        .with_attr("from", from.as_str());
    if let Some(to) = to {
        el.set_attr("to", to.as_str());
    }
    if let Some(ty) = ty.as_attr() {
        el.set_attr("type", ty);
    }
    // A presence in jabber:client with valid JIDs and a known type that is not `error`
    // passes every check of `Stanza::from_element`.
    Stanza::from_element(el).expect("a presence built from valid parts is a valid stanza")
}

/// The presence to forward for a subscription stanza the user sent: a copy with `from` = the
/// user's bare JID and `to` = the contact's bare JID (RFC 6121 §3.1.2, and likewise for the
/// other three types: the server stamps the bare JID, since a subscription belongs to the account, not a resource),
/// payloads kept (a `<status/>` or an XEP-0172 nick travels with a request).
pub fn stamp_subscription(stanza: &Stanza, user: &BareJid, contact: &BareJid) -> Stanza {
    let mut out = stanza.clone();
    out.set_from(Some(user.as_jid().clone()));
    out.set_to(Some(contact.as_jid().clone()));
    out
}

/// A stored presence re-addressed for one recipient: a copy with `to` set. The server sends
/// the last broadcast presence of each resource as it was, only addressed: in answer to a
/// probe (§4.3.2) and to the account's own new resources (§4.2.2).
pub fn readdress(presence: &Stanza, to: &Jid) -> Stanza {
    let mut out = presence.clone();
    out.set_to(Some(to.clone()));
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ns;

    fn stanza(s: &str) -> Stanza {
        let el: Element = s.parse().expect("test input is well-formed");
        Stanza::from_element(el).expect("valid stanza")
    }

    fn jid(s: &str) -> Jid {
        s.parse().expect("valid JID")
    }

    fn bare(s: &str) -> BareJid {
        BareJid::new(s).expect("valid bare JID")
    }

    fn presence(attrs: &str, payload: &str) -> Stanza {
        stanza(&format!(
            "<presence xmlns='jabber:client' from='romeo@example.net/orchard'{attrs}>{payload}</presence>"
        ))
    }

    const TO: &str = " to='juliet@example.com'";

    #[test]
    fn rfc6121_4_2_4_4_4_5_broadcast_without_to() {
        assert_eq!(
            classify(&presence("", "")),
            ClientPresence::Broadcast { available: true }
        );
        assert_eq!(
            classify(&presence(" type='unavailable'", "")),
            ClientPresence::Broadcast { available: false }
        );
    }

    #[test]
    fn rfc6121_4_6_directed_with_to() {
        assert_eq!(
            classify(&presence(TO, "")),
            ClientPresence::Directed { available: true }
        );
        assert_eq!(
            classify(&presence(&format!("{TO} type='unavailable'"), "")),
            ClientPresence::Directed { available: false }
        );
        // A full JID is directed presence too (to one resource, or a MUC occupant).
        assert_eq!(
            classify(&presence(" to='room@muc.example.com/romeo'", "")),
            ClientPresence::Directed { available: true }
        );
    }

    #[test]
    fn rfc6121_3_subscription_stanzas_with_to() {
        for t in SubscriptionType::ALL {
            let attr = t.presence_type().as_attr().unwrap_or_default();
            let p = presence(&format!("{TO} type='{attr}'"), "");
            assert_eq!(classify(&p), ClientPresence::Subscription(t), "{attr}");
        }
    }

    #[test]
    fn rfc6121_3_subscription_stanzas_without_to_are_invalid() {
        for t in SubscriptionType::ALL {
            let attr = t.presence_type().as_attr().unwrap_or_default();
            let p = presence(&format!(" type='{attr}'"), "");
            assert_eq!(classify(&p), ClientPresence::Invalid, "{attr}");
        }
    }

    #[test]
    fn rfc6121_4_3_probe_needs_a_to() {
        assert_eq!(
            classify(&presence(&format!("{TO} type='probe'"), "")),
            ClientPresence::Probe
        );
        assert_eq!(
            classify(&presence(" type='probe'", "")),
            ClientPresence::Invalid
        );
    }

    #[test]
    fn rfc6120_8_3_error_presence_with_or_without_to() {
        let error = "<error type='cancel'><remote-server-not-found \
                     xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
        assert_eq!(
            classify(&presence(&format!("{TO} type='error'"), error)),
            ClientPresence::Error
        );
        assert_eq!(
            classify(&presence(" type='error'", error)),
            ClientPresence::Error
        );
    }

    #[test]
    fn not_a_presence_is_invalid() {
        let m = stanza("<message xmlns='jabber:client' to='a@example.com'/>");
        assert_eq!(classify(&m), ClientPresence::Invalid);
    }

    #[test]
    fn rfc6121_4_7_2_3_priority_absent_is_zero() {
        assert_eq!(priority(&presence("", "<show>away</show>")), Ok(0));
    }

    #[test]
    fn rfc6121_4_7_2_3_priority_in_range() {
        for (text, want) in [
            ("0", 0),
            ("5", 5),
            ("-1", -1),
            ("-128", -128),
            ("127", 127),
            ("+7", 7),
            (" 12\n", 12),
            ("007", 7),
        ] {
            let p = presence("", &format!("<priority>{text}</priority>"));
            assert_eq!(priority(&p), Ok(want), "{text:?}");
        }
    }

    fn assert_bad_request(p: &Stanza, why: &str) {
        match priority(p) {
            Err(e) => {
                assert_eq!(e.condition, StanzaCondition::BadRequest, "{why}");
                assert_eq!(e.texts.len(), 1, "{why}: the error says why");
            }
            Ok(v) => panic!("{why}: accepted as {v}"),
        }
    }

    #[test]
    fn rfc6121_4_7_2_3_priority_out_of_range_or_not_a_number_is_bad_request() {
        for text in [
            "-129",
            "128",
            "abc",
            "",
            "1.5",
            "1e2",
            "99999999999999999999",
        ] {
            let p = presence("", &format!("<priority>{text}</priority>"));
            assert_bad_request(&p, text);
        }
    }

    #[test]
    fn rfc6121_4_7_2_3_priority_twice_is_bad_request() {
        let p = presence("", "<priority>1</priority><priority>1</priority>");
        assert_bad_request(&p, "duplicate");
    }

    #[test]
    fn priority_in_another_namespace_is_not_the_priority() {
        let p = presence("", "<priority xmlns='urn:example'>abc</priority>");
        assert_eq!(priority(&p), Ok(0));
    }

    #[test]
    fn priority_error_text_is_bounded() {
        let long = "x".repeat(10_000);
        let p = presence("", &format!("<priority>{long}</priority>"));
        let Err(e) = priority(&p) else {
            panic!("accepted")
        };
        assert!(e.texts.iter().all(|t| t.text.len() < 200));
    }

    #[test]
    fn priority_in_jabber_server() {
        let p = stanza("<presence xmlns='jabber:server'><priority>3</priority></presence>");
        assert_eq!(priority(&p), Ok(3));
    }

    #[test]
    fn rfc6121_4_5_unavailable_is_built() {
        let from = jid("romeo@example.net/orchard");
        let to = jid("juliet@example.com");
        let p = unavailable(&from, &to);
        assert_eq!(p.presence_type(), Some(PresenceType::Unavailable));
        assert_eq!(p.ns(), StanzaNs::Client);
        assert_eq!(p.from(), Some(&from));
        assert_eq!(p.to(), Some(&to));
        assert_eq!(p.element().attr("type"), Some("unavailable"));
        assert_eq!(p.payloads().count(), 0);
    }

    #[test]
    fn rfc6121_3_subscription_stanza_is_built_bare_to_bare() {
        let from = bare("juliet@example.com");
        let to = bare("romeo@example.net");
        for t in SubscriptionType::ALL {
            let p = subscription(t, &from, &to);
            assert_eq!(p.presence_type(), Some(t.presence_type()));
            assert_eq!(p.from(), Some(from.as_jid()));
            assert_eq!(p.to(), Some(to.as_jid()));
            assert_eq!(p.element().attr("type"), t.presence_type().as_attr());
            assert_eq!(classify(&p), ClientPresence::Subscription(t));
        }
    }

    #[test]
    fn rfc6121_3_1_2_stamp_subscription_keeps_payloads_and_bares_addresses() {
        let sent = presence(
            " to='juliet@example.com/balcony' type='subscribe' id='s1'",
            "<status>It's Romeo</status><nick xmlns='http://jabber.org/protocol/nick'>Romeo</nick>",
        );
        let user = bare("romeo@example.net");
        let contact = bare("juliet@example.com");
        let out = stamp_subscription(&sent, &user, &contact);
        assert_eq!(out.from(), Some(user.as_jid()));
        assert_eq!(out.to(), Some(contact.as_jid()));
        assert_eq!(out.element().attr("from"), Some("romeo@example.net"));
        assert_eq!(out.element().attr("to"), Some("juliet@example.com"));
        assert_eq!(out.id(), Some("s1"));
        assert_eq!(out.presence_type(), Some(PresenceType::Subscribe));
        assert_eq!(
            out.element().child_text("nick", ns::NICK).as_deref(),
            Some("Romeo")
        );
        assert_eq!(
            out.element()
                .child_text("status", ns::JABBER_CLIENT)
                .as_deref(),
            Some("It's Romeo")
        );
    }

    #[test]
    fn rfc6121_4_3_2_readdress_sets_to_and_keeps_the_rest() {
        let stored = presence(
            "",
            "<show>away</show><priority>5</priority>\
             <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>",
        );
        let to = jid("juliet@example.com/balcony");
        let out = readdress(&stored, &to);
        assert_eq!(out.to(), Some(&to));
        assert_eq!(out.element().attr("to"), Some("juliet@example.com/balcony"));
        assert_eq!(out.from(), stored.from());
        assert_eq!(
            out.payloads().collect::<Vec<_>>(),
            stored.payloads().collect::<Vec<_>>()
        );
        assert_eq!(stored.to(), None, "the stored presence is not changed");
    }

    proptest! {
        /// RFC 6121 §4.7.2.3: every value in range round-trips; every integer outside it is
        /// refused.
        #[test]
        fn priority_accepts_exactly_the_byte_range(n in -100_000i64..100_000) {
            let p = presence("", &format!("<priority>{n}</priority>"));
            match i8::try_from(n) {
                Ok(v) => prop_assert_eq!(priority(&p), Ok(v)),
                Err(_) => prop_assert!(priority(&p).is_err()),
            }
        }
    }

    #[test]
    fn the_unavailable_broadcast_has_no_addressee() {
        let from: Jid = "alice@example.org/phone".parse().expect("valid JID");
        let p = unavailable_broadcast(&from);
        assert_eq!(p.presence_type(), Some(PresenceType::Unavailable));
        assert_eq!(p.from(), Some(&from));
        assert_eq!(p.to(), None);
        assert_eq!(classify(&p), ClientPresence::Broadcast { available: false });
    }
}
