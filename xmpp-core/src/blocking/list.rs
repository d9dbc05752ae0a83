//! The block list of one account, and what a block means for a stanza (XEP-0191 §3.3, §6).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use crate::element::Element;
use crate::error::{ErrorType, StanzaCondition, StanzaError};
use crate::jid::Jid;
use crate::ns;
use crate::stanza::{IqType, Stanza, StanzaKind};

/// The JIDs one account blocks, in the order they were blocked, with the matching rules of
/// XEP-0191 §6 (those of XEP-0016):
///
/// | item | blocks |
/// |---|---|
/// | `user@domain/resource` | that full JID only |
/// | `user@domain` | the bare JID and every resource of it |
/// | `domain/resource` | that JID only |
/// | `domain` | the domain, every JID at it, and every JID at a subdomain of it |
///
/// The last row is XEP-0191's ("or address containing a subdomain"; XEP-0016 stops at the
/// domain): blocking `spam.example` blocks `bot@muc.spam.example` too. Subdomains are whole
/// labels (`notspam.example` is not a subdomain of `spam.example`); an IPv4 address has
/// none.
///
/// JIDs are compared normalised, so `Romeo@Montague.NET` is blocked by `romeo@montague.net`.
/// Looking up a JID allocates nothing, and an empty list answers at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockList {
    /// The items, in order.
    jids: Vec<Jid>,
    /// The same items' normalised strings, for lookups by string slices of the JID checked.
    index: HashSet<Box<str>>,
}

impl BlockList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The list as stored: each JID once, in the order given.
    pub fn from_jids(jids: impl IntoIterator<Item = Jid>) -> Self {
        let mut list = Self::new();
        for jid in jids {
            list.insert(jid);
        }
        list
    }

    /// The items, in the order they were blocked (for [`super::blocklist_result`]).
    pub fn jids(&self) -> &[Jid] {
        &self.jids
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.jids.len()
    }

    /// Whether nothing is blocked.
    pub fn is_empty(&self) -> bool {
        self.jids.is_empty()
    }

    /// Whether `jid` is an item of the list itself (not whether it is blocked: see
    /// [`is_blocked`](Self::is_blocked)).
    pub fn contains(&self, jid: &Jid) -> bool {
        self.index.contains(jid.as_str())
    }

    /// Whether the list blocks `jid`, by the table above.
    pub fn is_blocked(&self, jid: &Jid) -> bool {
        if self.index.is_empty() {
            return false;
        }
        // The JID itself: covers every full, bare, domain/resource and domain item.
        if self.index.contains(jid.as_str()) {
            return true;
        }
        // Its bare JID: a `user@domain` item blocks every resource (and for `domain/resource`
        // the bare JID is the domain, checked again below, which is harmless).
        if jid.resource().is_some() && self.index.contains(jid.bare_str()) {
            return true;
        }
        // Its domain and every domain it is a subdomain of.
        let mut domain = jid.domain();
        if domain.starts_with('[') || domain.parse::<Ipv4Addr>().is_ok() {
            return self.index.contains(domain);
        }
        loop {
            if self.index.contains(domain) {
                return true;
            }
            match domain.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => domain = parent,
                _ => return false,
            }
        }
    }

    /// Adds `jids` (those already there stay where they are); returns the ones that were new.
    pub fn block(&mut self, jids: &[Jid]) -> Vec<Jid> {
        jids.iter()
            .filter(|jid| self.insert((*jid).clone()))
            .cloned()
            .collect()
    }

    /// Removes `jids` (those not there are ignored); returns the ones that were there.
    ///
    /// An item is removed only when it is named exactly: unblocking `romeo@montague.net/orchard`
    /// does not remove a `romeo@montague.net` item, so Romeo stays blocked.
    pub fn unblock(&mut self, jids: &[Jid]) -> Vec<Jid> {
        let mut removed = Vec::new();
        for jid in jids {
            if self.index.remove(jid.as_str()) {
                removed.push(jid.clone());
            }
        }
        if !removed.is_empty() {
            self.jids.retain(|j| self.index.contains(j.as_str()));
        }
        removed
    }

    /// Empties the list (§3.5); returns what it held, in order.
    pub fn unblock_all(&mut self) -> Vec<Jid> {
        self.index.clear();
        std::mem::take(&mut self.jids)
    }

    /// What the server does with a stanza routed to the owner of the list: `None` to deliver
    /// it (no `from`, or a `from` that is not blocked), otherwise [`inbound_decision`].
    pub fn check_inbound(&self, stanza: &Stanza) -> Option<InboundBlock> {
        stanza
            .from()
            .filter(|from| self.is_blocked(from))
            .map(|_| inbound_decision(stanza))
    }

    /// Whether a stanza the owner sends is addressed to a JID they block: then it is not
    /// routed, and [`outbound_error`] is the answer (§3.3).
    pub fn blocks_outbound(&self, stanza: &Stanza) -> bool {
        stanza.to().is_some_and(|to| self.is_blocked(to))
    }

    fn insert(&mut self, jid: Jid) -> bool {
        if self.index.insert(jid.as_str().into()) {
            self.jids.push(jid);
            true
        } else {
            false
        }
    }
}

impl FromIterator<Jid> for BlockList {
    fn from_iter<I: IntoIterator<Item = Jid>>(iter: I) -> Self {
        Self::from_jids(iter)
    }
}

/// What happens to a stanza from a blocked entity to the user (§3.3): it is never
/// delivered, and the sender should see the user as offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundBlock {
    /// Drop it without a word.
    DropSilently,
    /// Drop it and answer the sender with this error
    /// ([`Stanza::error_reply`] builds the answer).
    Error(StanzaError),
}

/// What the server does with a stanza from a blocked entity to the user (§3.3):
///
/// - presence of any type (notifications, subscriptions, probes, errors): dropped silently,
///   the server "MUST NOT respond";
/// - a message: `service-unavailable` (the "SHOULD"; what an account without available
///   resources or storage answers, so the user looks offline), except a message of type
///   `error`, which is never answered and is dropped;
/// - an iq `get` or `set`: `service-unavailable` ("MUST"); a `result` or `error`: dropped.
pub fn inbound_decision(stanza: &Stanza) -> InboundBlock {
    let answer = match stanza.kind() {
        StanzaKind::Presence => false,
        StanzaKind::Message => !stanza.is_error(),
        StanzaKind::Iq => stanza.iq_type().is_some_and(IqType::is_request),
    };
    if answer {
        InboundBlock::Error(StanzaError::new(StanzaCondition::ServiceUnavailable))
    } else {
        InboundBlock::DropSilently
    }
}

/// The answer to a stanza the user sent to a JID they block (§3.3): `not-acceptable` of type
/// `cancel` with `<blocked xmlns='urn:xmpp:blocking:errors'/>`, from the blocked JID, as in
/// the XEP's example. `None` for a stanza that is never answered (an error, an iq result):
/// the caller drops it. Either way the stanza is not routed.
pub fn outbound_error(stanza: &Stanza) -> Option<Stanza> {
    let error = StanzaError::new(StanzaCondition::NotAcceptable)
        .with_type(ErrorType::Cancel)
        .with_app_condition(Element::new("blocked", ns::BLOCKING_ERRORS));
    stanza.error_reply(error)
}
