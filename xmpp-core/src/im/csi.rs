//! Client state indication (XEP-0352): what the server holds back while a client says it is
//! inactive, and the queue that holds it.
//!
//! A client that sends `<inactive xmlns='urn:xmpp:csi:0'/>` (its screen is off) does not need
//! every presence change and typing notification at once; each one wakes a phone's radio.
//! XEP-0352 leaves the optimisations to the server (§3.2). Chatrix's:
//!
//! - Stanzas the user is waiting for go out at once, and take everything held before them
//!   along, in order ([`CsiClass::Urgent`], see [`classify`]).
//! - Presence broadcasts are held, and only the newest from each sender is kept
//!   ([`CsiClass::Presence`]): the client would show only the last one anyway.
//! - Everything else is held without being dropped ([`CsiClass::Deferrable`]): chat states,
//!   receipts and markers without a body, PubSub events. Dropping chat states, which
//!   XEP-0352 allows, is not done: a held `<active/>` or `<paused/>` still corrects a
//!   stale "typing…" when the client wakes up, and the queue is flushed by the next message
//!   anyway.
//! - Held stanzas go out when the client says `<active/>` ([`CsiQueue::set_active`]), when
//!   an urgent stanza arrives, or when [`CsiQueue::max_held`] would be exceeded.
//!
//! The queue is generic over what it holds, so the server can queue pre-serialised bytes and
//! classify the stanza once before serialising it.
//!
//! The `<csi/>` stream feature and the `<active/>` / `<inactive/>` elements belong to the
//! stream: `xmpp-stream` offers the one and reports the others as
//! `Event::ClientState { active }`, which the server turns into [`CsiQueue::set_active`] and
//! [`CsiQueue::set_inactive`].
//!
//! What the server must do besides (it owns the stream and the clock):
//! - process `<active/>` before anything the client sent after it (§4.1, RFC 6120 §10.1):
//!   flush, then go on;
//! - when the session ends without being resumed, treat [`CsiQueue::flush`]'s items as
//!   stanzas that were never delivered (they were never sent), like unacknowledged ones;
//! - never reveal the state to other entities (§6).

use std::collections::{BTreeMap, HashMap};

use crate::element::Element;
use crate::jid::Jid;
use crate::ns;
use crate::stanza::{MessageType, PresenceType, Stanza, StanzaType};

/// How many stanzas a queue holds by default before it sends them all (Prosody's default
/// queue size): a day of presence churn in a large roster stays bounded per session.
pub const DEFAULT_MAX_HELD: usize = 256;

/// How a stanza for an inactive client is treated; see [`classify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsiClass {
    /// Send now, with everything held before it.
    Urgent,
    /// A presence broadcast (available or unavailable) from `from`: held, and replaced by a
    /// newer one from the same full JID.
    Presence {
        /// The sender, as the dedupe key.
        from: Jid,
    },
    /// Held until the next flush, never dropped.
    Deferrable,
}

/// Classifies a stanza on its way to a client.
///
/// [`CsiClass::Urgent`]:
/// - every iq (a request waits for its answer, and a client's own request for ours);
/// - every error;
/// - presence subscription requests and answers, and probes;
/// - a message with a `<body/>` (of any type: a room's messages included, since the server
///   cannot tell whether they mention the user);
/// - a message with an encrypted payload, which may hold a body: OMEMO (both namespaces),
///   `OpenPGP` (XEP-0373) and legacy `OpenPGP` (XEP-0027);
/// - a call: any Jingle message initiation element (XEP-0353: a `<propose/>` rings the
///   phone, a `<retract/>` or another device's `<accept/>` stops it);
/// - an invitation to a room, direct (XEP-0249) or mediated (XEP-0045);
/// - an archive result (XEP-0313), which a client is waiting for;
/// - a carbon copy (XEP-0280) of a message that would itself be urgent.
///
/// [`CsiClass::Presence`]: a presence of no type or type `unavailable` with a `from`.
///
/// [`CsiClass::Deferrable`]: every other message (chat states, receipts and markers without
/// a body, PubSub events, a room's subject) and a presence without `from`.
pub fn classify(stanza: &Stanza) -> CsiClass {
    match stanza.stanza_type() {
        StanzaType::Presence(PresenceType::Available | PresenceType::Unavailable) => {
            match stanza.from() {
                Some(from) => CsiClass::Presence { from: from.clone() },
                None => CsiClass::Deferrable,
            }
        }
        StanzaType::Message(ty)
            if ty != MessageType::Error
                && !urgent_message(stanza.element(), stanza.ns().as_str(), true) =>
        {
            CsiClass::Deferrable
        }
        // Iqs, errors, subscriptions, probes, and messages found urgent above.
        StanzaType::Iq(_) | StanzaType::Presence(_) | StanzaType::Message(_) => CsiClass::Urgent,
    }
}

/// Whether a message element carries something the user is waiting for. `copies`: look into
/// a carbon copy's forwarded message (one level only: a copy never wraps a copy).
fn urgent_message(message: &Element, stanza_ns: &str, copies: bool) -> bool {
    message.children().any(|p| {
        p.is("body", stanza_ns)
            || matches!(
                p.ns(),
                ns::OMEMO
                    | ns::OMEMO_LEGACY
                    | ns::OPENPGP
                    | ns::PGP_ENCRYPTED
                    | ns::JINGLE_MESSAGE
                    | ns::CONFERENCE
            )
            || (p.is("x", ns::MUC_USER) && p.has_child("invite", ns::MUC_USER))
            || (p.name() == "result" && p.ns().starts_with("urn:xmpp:mam:"))
            || (copies
                && p.ns() == ns::CARBONS
                && matches!(p.name(), "sent" | "received")
                && p.get_child("forwarded", ns::FORWARD)
                    .and_then(|f| f.get_child("message", ns::JABBER_CLIENT))
                    .is_some_and(|m| urgent_message(m, ns::JABBER_CLIENT, false)))
    })
}

/// What to do with an item given to [`CsiQueue::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push<T> {
    /// Send this item now; nothing was held.
    Pass(T),
    /// Send these now, in this order: everything that was held, then the item.
    Send(Vec<T>),
    /// The queue keeps the item; send nothing.
    Held,
}

/// The stanzas held back from one inactive client; see the [module docs](self).
///
/// Order: held items leave in the order they arrived. A presence that replaces an older one
/// from the same sender takes the newer one's place in that order (the older is removed, the
/// newer goes to the end), so everything the client receives is in the order the server
/// received it, minus superseded presence.
///
/// ```
/// use xmpp_core::im::csi::{CsiClass, CsiQueue, Push};
/// use xmpp_core::Jid;
///
/// let romeo: Jid = "romeo@example.net/orchard".parse()?;
/// let mut q = CsiQueue::new(10);
/// assert_eq!(q.push(CsiClass::Deferrable, "composing"), Push::Pass("composing"));
/// q.set_inactive();
/// assert_eq!(q.push(CsiClass::Presence { from: romeo.clone() }, "away"), Push::Held);
/// assert_eq!(q.push(CsiClass::Deferrable, "composing"), Push::Held);
/// assert_eq!(q.push(CsiClass::Presence { from: romeo }, "online"), Push::Held);
/// assert_eq!(q.len(), 2);
/// assert_eq!(q.push(CsiClass::Urgent, "body"), Push::Send(vec!["composing", "online", "body"]));
/// assert_eq!(q.set_active(), Vec::<&str>::new());
/// # Ok::<(), xmpp_core::JidError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsiQueue<T> {
    active: bool,
    max_held: usize,
    /// Arrival number of the next item; `held` is ordered by it.
    next: u64,
    held: BTreeMap<u64, T>,
    /// The arrival number of the held presence of each sender.
    presence: HashMap<Jid, u64>,
}

impl<T> CsiQueue<T> {
    /// An empty queue for a stream, which starts active (§5), that holds at most `max_held`
    /// items ([`DEFAULT_MAX_HELD`] is a sensible value; 0 holds nothing).
    pub fn new(max_held: usize) -> Self {
        Self {
            active: true,
            max_held,
            next: 0,
            held: BTreeMap::new(),
            presence: HashMap::new(),
        }
    }

    /// Whether the client is active (nothing is held then).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The client said `<inactive/>`: hold what can wait from now on.
    pub fn set_inactive(&mut self) {
        self.active = false;
    }

    /// The client said `<active/>`: returns everything held, in order, to send before
    /// anything else (§4.1), and holds nothing from now on.
    pub fn set_active(&mut self) -> Vec<T> {
        self.active = true;
        self.flush()
    }

    /// The most items held at once; one more flushes them all.
    pub fn max_held(&self) -> usize {
        self.max_held
    }

    /// How many items are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Takes everything held, in order, without changing the state: for a session that ends
    /// (its items were never sent) or any other reason to empty the queue.
    pub fn flush(&mut self) -> Vec<T> {
        self.presence.clear();
        std::mem::take(&mut self.held).into_values().collect()
    }

    /// Offers an item of the given class; see [`Push`] for the answers.
    ///
    /// While active, or for an [`CsiClass::Urgent`] item, the item goes out now (after the
    /// held ones). Otherwise it is held; a [`CsiClass::Presence`] replaces the one held from
    /// the same sender. An item that would make the queue hold more than
    /// [`max_held`](Self::max_held) sends everything instead.
    pub fn push(&mut self, class: CsiClass, item: T) -> Push<T> {
        if self.active || class == CsiClass::Urgent {
            return self.send_all(item);
        }
        let replaced = match &class {
            CsiClass::Presence { from } => self.presence.get(from).copied(),
            _ => None,
        };
        if replaced.is_none() && self.held.len() >= self.max_held {
            return self.send_all(item);
        }
        if let Some(old) = replaced {
            self.held.remove(&old);
        }
        let seq = self.next;
        if let CsiClass::Presence { from } = class {
            self.presence.insert(from, seq);
        }
        self.next += 1;
        self.held.insert(seq, item);
        Push::Held
    }

    fn send_all(&mut self, item: T) -> Push<T> {
        if self.held.is_empty() {
            return Push::Pass(item);
        }
        let mut out = self.flush();
        out.push(item);
        Push::Send(out)
    }
}

impl<T> Default for CsiQueue<T> {
    /// An active queue holding at most [`DEFAULT_MAX_HELD`] items.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_HELD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza(s: &str) -> Stanza {
        let el: Element = s.parse().expect("test input is well-formed");
        Stanza::from_element(el).expect("valid stanza")
    }

    fn message(attrs: &str, payload: &str) -> Stanza {
        stanza(&format!(
            "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
             to='juliet@example.com/balcony'{attrs}>{payload}</message>"
        ))
    }

    fn class_of(attrs: &str, payload: &str) -> CsiClass {
        classify(&message(attrs, payload))
    }

    fn jid(s: &str) -> Jid {
        s.parse().expect("valid JID")
    }

    #[test]
    fn messages_with_body_or_secrets_are_urgent() {
        for ty in ["", " type='chat'", " type='groupchat'", " type='headline'"] {
            assert_eq!(class_of(ty, "<body>hi</body>"), CsiClass::Urgent, "{ty}");
        }
        for payload in [
            "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>",
            "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>",
            "<openpgp xmlns='urn:xmpp:openpgp:0'>AAAA</openpgp>",
            "<x xmlns='jabber:x:encrypted'>AAAA</x>",
            "<propose xmlns='urn:xmpp:jingle-message:0' id='c1'/>",
            "<retract xmlns='urn:xmpp:jingle-message:0' id='c1'/>",
            "<x xmlns='jabber:x:conference' jid='room@muc.example.net'/>",
            "<x xmlns='http://jabber.org/protocol/muc#user'><invite from='a@b'/></x>",
            "<result xmlns='urn:xmpp:mam:2' id='1'><forwarded xmlns='urn:xmpp:forward:0'/></result>",
        ] {
            assert_eq!(
                class_of(" type='chat'", payload),
                CsiClass::Urgent,
                "{payload}"
            );
        }
        let error = message(
            " type='error'",
            "<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        assert_eq!(classify(&error), CsiClass::Urgent);
    }

    #[test]
    fn bodyless_messages_can_wait() {
        for payload in [
            "<composing xmlns='http://jabber.org/protocol/chatstates'/>",
            "<received xmlns='urn:xmpp:receipts' id='m1'/>",
            "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>",
            "<event xmlns='http://jabber.org/protocol/pubsub#event'/>",
            "<subject>Cauldron</subject>",
            "<body xmlns='urn:example'>not a body</body>",
            "<x xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x>",
            "",
        ] {
            assert_eq!(
                class_of(" type='chat'", payload),
                CsiClass::Deferrable,
                "{payload}"
            );
        }
    }

    #[test]
    fn xep0280_copies_are_as_urgent_as_what_they_carry() {
        let copy = |inner: &str| {
            format!(
                "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
                 <message xmlns='jabber:client' type='chat'>{inner}</message>\
                 </forwarded></sent>"
            )
        };
        assert_eq!(
            class_of(" type='chat'", &copy("<body>hi</body>")),
            CsiClass::Urgent
        );
        assert_eq!(
            class_of(
                " type='chat'",
                &copy("<active xmlns='http://jabber.org/protocol/chatstates'/>")
            ),
            CsiClass::Deferrable
        );
        // Only one level: a copy inside a copy's message is not looked into.
        let nested = copy(&copy("<body>deep</body>"));
        assert_eq!(class_of(" type='chat'", &nested), CsiClass::Deferrable);
    }

    #[test]
    fn iqs_subscriptions_and_errors_are_urgent_broadcasts_are_presence() {
        let iq = stanza("<iq xmlns='jabber:client' type='result' id='1' from='example.com'/>");
        assert_eq!(classify(&iq), CsiClass::Urgent);
        for ty in [
            "subscribe",
            "subscribed",
            "unsubscribe",
            "unsubscribed",
            "probe",
        ] {
            let p = stanza(&format!(
                "<presence xmlns='jabber:client' from='romeo@example.net' type='{ty}'/>"
            ));
            assert_eq!(classify(&p), CsiClass::Urgent, "{ty}");
        }
        let error = stanza(
            "<presence xmlns='jabber:client' from='romeo@example.net' type='error'>\
             <error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
             </presence>",
        );
        assert_eq!(classify(&error), CsiClass::Urgent);
        for ty in ["", " type='unavailable'"] {
            let p = stanza(&format!(
                "<presence xmlns='jabber:client' from='romeo@example.net/orchard'{ty}/>"
            ));
            assert_eq!(
                classify(&p),
                CsiClass::Presence {
                    from: jid("romeo@example.net/orchard")
                }
            );
        }
        let anonymous = stanza("<presence xmlns='jabber:client'/>");
        assert_eq!(classify(&anonymous), CsiClass::Deferrable);
    }

    fn presence(from: &str) -> CsiClass {
        CsiClass::Presence { from: jid(from) }
    }

    #[test]
    fn active_queue_passes_everything() {
        let mut q = CsiQueue::new(4);
        assert!(q.is_active());
        assert_eq!(q.push(presence("a@x/1"), 1), Push::Pass(1));
        assert_eq!(q.push(CsiClass::Deferrable, 2), Push::Pass(2));
        assert_eq!(q.push(CsiClass::Urgent, 3), Push::Pass(3));
        assert!(q.is_empty());
    }

    #[test]
    fn urgent_flushes_in_order() {
        let mut q = CsiQueue::new(10);
        q.set_inactive();
        assert_eq!(q.push(CsiClass::Urgent, 0), Push::Pass(0));
        assert_eq!(q.push(CsiClass::Deferrable, 1), Push::Held);
        assert_eq!(q.push(presence("a@x/1"), 2), Push::Held);
        assert_eq!(q.push(CsiClass::Deferrable, 3), Push::Held);
        assert_eq!(q.push(CsiClass::Urgent, 4), Push::Send(vec![1, 2, 3, 4]));
        assert!(q.is_empty());
        assert!(
            !q.is_active(),
            "an urgent stanza does not make the client active"
        );
    }

    #[test]
    fn newer_presence_replaces_older_and_moves_to_the_end() {
        let mut q = CsiQueue::new(10);
        q.set_inactive();
        assert_eq!(q.push(presence("a@x/1"), "a1"), Push::Held);
        assert_eq!(q.push(presence("b@x/1"), "b1"), Push::Held);
        assert_eq!(q.push(presence("a@x/2"), "a2 other resource"), Push::Held);
        assert_eq!(q.push(CsiClass::Deferrable, "chat state"), Push::Held);
        assert_eq!(q.push(presence("a@x/1"), "a1 newer"), Push::Held);
        assert_eq!(q.len(), 4);
        assert_eq!(
            q.set_active(),
            ["b1", "a2 other resource", "chat state", "a1 newer"]
        );
        assert!(q.is_active());
        // The index was cleared with the queue: a presence after a flush is new again.
        q.set_inactive();
        assert_eq!(q.push(presence("a@x/1"), "again"), Push::Held);
        assert_eq!(q.flush(), ["again"]);
    }

    #[test]
    fn bound_flushes_everything() {
        let mut q = CsiQueue::new(2);
        q.set_inactive();
        assert_eq!(q.push(CsiClass::Deferrable, 1), Push::Held);
        assert_eq!(q.push(presence("a@x/1"), 2), Push::Held);
        // A replacement does not grow the queue.
        assert_eq!(q.push(presence("a@x/1"), 3), Push::Held);
        assert_eq!(q.len(), 2);
        assert_eq!(q.push(presence("b@x/1"), 4), Push::Send(vec![1, 3, 4]));
        assert_eq!(q.push(CsiClass::Deferrable, 5), Push::Held);
        assert_eq!(q.push(CsiClass::Deferrable, 6), Push::Held);
        assert_eq!(q.push(CsiClass::Deferrable, 7), Push::Send(vec![5, 6, 7]));
    }

    #[test]
    fn zero_holds_nothing() {
        let mut q = CsiQueue::new(0);
        q.set_inactive();
        assert_eq!(q.push(CsiClass::Deferrable, 1), Push::Pass(1));
        assert_eq!(q.push(presence("a@x/1"), 2), Push::Pass(2));
        assert_eq!(q.push(presence("a@x/1"), 3), Push::Pass(3));
        assert!(q.is_empty());
    }

    #[test]
    fn default_is_active_with_default_bound() {
        let q: CsiQueue<u8> = CsiQueue::default();
        assert!(q.is_active());
        assert_eq!(q.max_held(), DEFAULT_MAX_HELD);
    }
}
