//! Namespace names used across the workspace, and interning of the well-known ones.

use rxml::Namespace;

/// Client-to-server stanzas (RFC 6120).
pub const JABBER_CLIENT: &str = "jabber:client";
/// Server-to-server stanzas (RFC 6120).
pub const JABBER_SERVER: &str = "jabber:server";
/// External components (XEP-0114).
pub const COMPONENT_ACCEPT: &str = "jabber:component:accept";
/// The stream element and stream features (RFC 6120 §4).
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// Stream error conditions (RFC 6120 §4.9).
pub const XMPP_STREAMS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// Stanza error conditions (RFC 6120 §8.3).
pub const XMPP_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// STARTTLS (RFC 6120 §5).
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL (RFC 6120 §6).
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding (RFC 6120 §7).
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Legacy session establishment (RFC 3921, kept optional by RFC 6121).
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// WebSocket framing (RFC 7395).
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// Service discovery, info (XEP-0030).
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// Service discovery, items (XEP-0030).
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// Entity capabilities (XEP-0115).
pub const CAPS: &str = "http://jabber.org/protocol/caps";
/// Ping (XEP-0199).
pub const PING: &str = "urn:xmpp:ping";
/// Rosters (RFC 6121).
pub const ROSTER: &str = "jabber:iq:roster";
/// Delayed delivery (XEP-0203).
pub const DELAY: &str = "urn:xmpp:delay";
/// Stream management (XEP-0198).
pub const SM: &str = "urn:xmpp:sm:3";
/// Message carbons (XEP-0280).
pub const CARBONS: &str = "urn:xmpp:carbons:2";
/// Forwarding (XEP-0297).
pub const FORWARD: &str = "urn:xmpp:forward:0";
/// Message archive management (XEP-0313).
pub const MAM: &str = "urn:xmpp:mam:2";
/// Unique and stable stanza ids (XEP-0359).
pub const SID: &str = "urn:xmpp:sid:0";
/// Chat states (XEP-0085).
pub const CHATSTATES: &str = "http://jabber.org/protocol/chatstates";
/// Multi-user chat (XEP-0045).
pub const MUC: &str = "http://jabber.org/protocol/muc";
/// Multi-user chat, user namespace (XEP-0045).
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
/// Publish-subscribe (XEP-0060).
pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// Publish-subscribe events (XEP-0060).
pub const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
/// Data forms (XEP-0004).
pub const DATA_FORMS: &str = "jabber:x:data";
/// vCard avatar presence update (XEP-0153).
pub const VCARD_UPDATE: &str = "vcard-temp:x:update";
/// Client state indication (XEP-0352).
pub const CSI: &str = "urn:xmpp:csi:0";
/// Message receipts (XEP-0184).
pub const RECEIPTS: &str = "urn:xmpp:receipts";
/// Chat markers (XEP-0333).
pub const CHAT_MARKERS: &str = "urn:xmpp:chat-markers:0";
/// Message processing hints (XEP-0334).
pub const HINTS: &str = "urn:xmpp:hints";
/// Legacy OMEMO (XEP-0384, the `eu.siacs.conversations.axolotl` version clients still use).
pub const OMEMO_LEGACY: &str = "eu.siacs.conversations.axolotl";
/// OMEMO 2 (XEP-0384).
pub const OMEMO: &str = "urn:xmpp:omemo:2";
/// Result set management (XEP-0059).
pub const RSM: &str = "http://jabber.org/protocol/rsm";
/// Software version (XEP-0092).
pub const VERSION: &str = "jabber:iq:version";
/// Entity time (XEP-0202).
pub const TIME: &str = "urn:xmpp:time";
/// Last activity (XEP-0012).
pub const LAST: &str = "jabber:iq:last";
/// Blocking command (XEP-0191).
pub const BLOCKING: &str = "urn:xmpp:blocking";
/// Blocking command errors (XEP-0191): the `<blocked/>` application condition.
pub const BLOCKING_ERRORS: &str = "urn:xmpp:blocking:errors";
/// Direct MUC invitations (XEP-0249).
pub const CONFERENCE: &str = "jabber:x:conference";
/// Jingle message initiation (XEP-0353): call proposals and their answers.
pub const JINGLE_MESSAGE: &str = "urn:xmpp:jingle-message:0";
/// `OpenPGP` for XMPP (XEP-0373), the `<openpgp/>` element of an encrypted message.
pub const OPENPGP: &str = "urn:xmpp:openpgp:0";
/// Legacy `OpenPGP` (XEP-0027), the `<x/>` holding an encrypted message.
pub const PGP_ENCRYPTED: &str = "jabber:x:encrypted";
/// Roster versioning stream feature (RFC 6121 §2.6.1; the `ver` element of XEP-0237).
pub const ROSTER_VER_FEATURE: &str = "urn:xmpp:features:rosterver";
/// Subscription pre-approval stream feature (RFC 6121 §3.4; the `sub` element).
pub const PRE_APPROVAL_FEATURE: &str = "urn:xmpp:features:pre-approval";
/// Offline message storage, a service discovery feature rather than a namespace (XEP-0160).
pub const MSGOFFLINE: &str = "msgoffline";
/// Flexible offline message retrieval (XEP-0013); named for reference, not implemented.
pub const OFFLINE: &str = "http://jabber.org/protocol/offline";
/// User nickname (XEP-0172), which travels with a subscription request.
pub const NICK: &str = "http://jabber.org/protocol/nick";
/// In-band registration (XEP-0077).
pub const REGISTER: &str = "jabber:iq:register";
/// In-band registration as a stream feature (XEP-0077 §8).
pub const REGISTER_FEATURE: &str = "http://jabber.org/features/iq-register";
/// CAPTCHA forms (XEP-0158); also the `FORM_TYPE` of a CAPTCHA form.
pub const CAPTCHA: &str = "urn:xmpp:captcha";
/// Bits of binary (XEP-0231).
pub const BOB: &str = "urn:xmpp:bob";
/// Media element in data forms (XEP-0221).
pub const MEDIA_ELEMENT: &str = "urn:xmpp:media-element";
/// Out-of-band data (XEP-0066), the `x` form that points to a URL.
pub const OOB: &str = "jabber:x:oob";

/// Namespaces common enough in stanzas that sharing one static copy saves an allocation each
/// time a peer declares them. Ordered roughly by how often they occur.
const WELL_KNOWN: &[&str] = &[
    JABBER_CLIENT,
    JABBER_SERVER,
    STREAM,
    CHATSTATES,
    RECEIPTS,
    CHAT_MARKERS,
    SID,
    CAPS,
    DELAY,
    MAM,
    FORWARD,
    CARBONS,
    SM,
    HINTS,
    PING,
    DISCO_INFO,
    DISCO_ITEMS,
    ROSTER,
    MUC,
    MUC_USER,
    PUBSUB,
    PUBSUB_EVENT,
    DATA_FORMS,
    VCARD_UPDATE,
    OMEMO_LEGACY,
    OMEMO,
    RSM,
    XMPP_STANZAS,
    XMPP_STREAMS,
    SASL,
    TLS,
    BIND,
    SESSION,
    FRAMING,
    CSI,
    BLOCKING,
    VERSION,
    TIME,
    LAST,
    COMPONENT_ACCEPT,
];

/// A [`Namespace`] for `uri`: a static one for well-known names, a shared allocation otherwise.
pub fn intern(uri: String) -> Namespace<'static> {
    if uri.is_empty() {
        return Namespace::NONE;
    }
    for known in WELL_KNOWN {
        if *known == uri {
            return Namespace::from_str(known);
        }
    }
    Namespace::from(uri)
}
