//! Roster gets, roster sets and roster pushes (RFC 6121 §2.1.3, §2.1.5, §2.1.6, §2.3–§2.5).
//!
//! The server's flow for a set: [`check_addressee`], load the roster, [`handle_roster_set`],
//! store the [`RosterChange`] (put or remove), answer the iq with an empty result, send
//! [`RosterChange::push`] with the new version to every interested resource (those that
//! requested the roster in this session, §2.1.6), and for a removal send the presence
//! stanzas [`RosterChange`] names.

use crate::element::Element;
use crate::error::{StanzaCondition, StanzaError};
use crate::jid::{BareJid, FullJid, Jid};
use crate::ns;
use crate::stanza::IqType;

use super::item::{ItemError, Roster, RosterItem, RosterLimits, RosterSetItem, Subscription};
use super::version::{RosterVersion, VersionDecision};

/// Checks who a roster iq is addressed to: nobody (the sender's own account) or the sender's
/// own bare JID. Anything else touches another account's roster: `forbidden` (§2.1.5, §2.3.3).
pub fn check_addressee(owner: &BareJid, to: Option<&Jid>) -> Result<(), RosterSetError> {
    match to {
        None => Ok(()),
        Some(to) if to.is_bare() && to.as_str() == owner.as_str() => Ok(()),
        Some(_) => Err(RosterSetError::Forbidden),
    }
}

/// Why a roster set (or a roster iq addressed elsewhere) is refused. It converts into the
/// [`StanzaError`] to answer with; [`RosterSetError::condition`] is its condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RosterSetError {
    /// The query or its item breaks RFC 6121 §2.3.3.
    #[error(transparent)]
    Item(#[from] ItemError),
    /// A removal names a contact that is not in the roster (§2.5.3: `item-not-found`).
    #[error("the item to remove is not in the roster")]
    NotInRoster,
    /// The iq is addressed to another account's roster (`forbidden`).
    #[error("only the account itself may use its roster")]
    Forbidden,
}

impl RosterSetError {
    /// The stanza error condition to answer with.
    pub fn condition(&self) -> StanzaCondition {
        match self {
            Self::Item(e) => e.condition(),
            Self::NotInRoster => StanzaCondition::ItemNotFound,
            Self::Forbidden => StanzaCondition::Forbidden,
        }
    }
}

impl From<RosterSetError> for StanzaError {
    fn from(e: RosterSetError) -> Self {
        match e {
            RosterSetError::Item(e) => e.into(),
            other => StanzaError::new(other.condition()),
        }
    }
}

/// The `ver` a roster get carries, if any.
pub fn requested_ver(query: &Element) -> Option<&str> {
    query.attr("ver")
}

/// The payload of the result to a roster get (§2.1.3, §2.6.3): the full roster, with `ver`
/// when the client sent one; or `None`, an empty result, when the client's `ver` is current.
///
/// `None` fits [`crate::Stanza::iq_result`] directly: the empty result carries no `<query/>`.
pub fn handle_roster_get(roster: &Roster, requested_ver: Option<&str>) -> Option<Element> {
    match roster.version().decide(requested_ver) {
        VersionDecision::Unchanged => None,
        VersionDecision::FullWithoutVersion => Some(roster.to_query(false)),
        VersionDecision::Full => Some(roster.to_query(true)),
    }
}

/// What a valid roster set changes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RosterChange {
    /// Store this item (new, or with a new name and groups; its subscription state is the
    /// one it had).
    Put(RosterItem),
    /// Remove the item for this contact (§2.5.2).
    Remove {
        /// The item as it was.
        removed: RosterItem,
        /// Send `unsubscribe` to the contact: the user was subscribed to it (`to`, `both`) or
        /// had asked to be.
        send_unsubscribe: bool,
        /// Send `unsubscribed` to the contact: it was subscribed to the user (`from`, `both`)
        /// or had asked to be.
        send_unsubscribed: bool,
    },
}

impl RosterChange {
    /// The contact the change is about.
    pub fn jid(&self) -> &BareJid {
        match self {
            Self::Put(item) | Self::Remove { removed: item, .. } => &item.jid,
        }
    }

    /// The `<item/>` of the push: the stored item, or `subscription='remove'`.
    pub fn push_item(&self) -> Element {
        match self {
            Self::Put(item) => item.to_element(),
            Self::Remove { removed, .. } => Element::new("item", ns::ROSTER)
                .with_attr("jid", removed.jid.as_str())
                .with_attr("subscription", Subscription::Remove.as_str()),
        }
    }

    /// Applies the change to an in-memory roster; returns the new version (unchanged for the
    /// removal of an item already gone).
    pub fn apply(&self, roster: &mut Roster) -> RosterVersion {
        match self {
            Self::Put(item) => roster.put(item.clone()),
            Self::Remove { removed, .. } => roster
                .remove(&removed.jid)
                .map_or(roster.version(), |(_, v)| v),
        }
    }

    /// The roster push for one resource: see [`roster_push`].
    pub fn push(&self, ver: Option<RosterVersion>, id: &str, to: &FullJid) -> Element {
        roster_push(self.push_item(), ver, id, to)
    }
}

/// A roster push (§2.1.6): `<iq type='set' to=… id=…><query ver=…>` with the single item.
///
/// `from` is omitted, which a client reads as its own account (§2.1.6 allows the bare JID or
/// nothing); `ver` is the version after the change, for clients that asked for versioning.
pub fn roster_push(item: Element, ver: Option<RosterVersion>, id: &str, to: &FullJid) -> Element {
    let mut query = Element::new("query", ns::ROSTER);
    if let Some(ver) = ver {
        query.set_attr("ver", ver.to_string());
    }
    query.append_child(item);
    Element::new("iq", ns::JABBER_CLIENT)
        .with_attr("type", IqType::Set.as_str())
        .with_attr("id", id)
        .with_attr("to", to.as_str())
        .with_child(query)
}

/// Checks a roster set's `<query/>` against `roster` and says what it changes (§2.3, §2.5).
///
/// Errors, each with the condition ([`RosterSetError::condition`]) RFC 6121 prescribes: not exactly one item, a duplicate
/// group or an unknown `subscription`: `bad-request`; an empty group, a name or group over the
/// limits: `not-acceptable`; a `jid` that is not a bare JID: `jid-malformed`; removing an item
/// that is not in the roster: `item-not-found` (§2.5.3).
pub fn handle_roster_set(
    roster: &Roster,
    query: &Element,
    limits: &RosterLimits,
) -> Result<RosterChange, RosterSetError> {
    let set = RosterSetItem::from_query(query, limits)?;
    let existing = roster.get(&set.jid);
    if set.remove {
        let Some(removed) = existing else {
            return Err(RosterSetError::NotInRoster);
        };
        let sub = removed.state().sub;
        return Ok(RosterChange::Remove {
            send_unsubscribe: matches!(removed.subscription, Subscription::To | Subscription::Both)
                || sub.pending_out(),
            send_unsubscribed: sub.contact_subscribed() || sub.pending_in(),
            removed: removed.clone(),
        });
    }
    let mut item = existing
        .cloned()
        .unwrap_or_else(|| RosterItem::new(set.jid.clone()));
    item.name = set.name;
    item.groups = set.groups;
    Ok(RosterChange::Put(item))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn set_errors_convert() {
        use crate::error::ErrorType;
        let e = StanzaError::from(RosterSetError::NotInRoster);
        assert_eq!(
            (e.condition, e.error_type),
            (StanzaCondition::ItemNotFound, ErrorType::Cancel)
        );
        let e = StanzaError::from(RosterSetError::Forbidden);
        assert_eq!(
            (e.condition, e.error_type),
            (StanzaCondition::Forbidden, ErrorType::Auth)
        );
        let e = StanzaError::from(RosterSetError::from(ItemError::EmptyGroup));
        assert_eq!(
            (e.condition, e.error_type),
            (StanzaCondition::NotAcceptable, ErrorType::Modify)
        );
    }

    #[test]
    fn remove_of_missing_item_keeps_version() {
        let mut roster = Roster::new();
        let jid = match BareJid::new("a@example.com") {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        };
        let change = RosterChange::Remove {
            removed: RosterItem::new(jid),
            send_unsubscribe: false,
            send_unsubscribed: false,
        };
        assert_eq!(change.apply(&mut roster), RosterVersion::INITIAL);
    }
}
