//! Roster items and rosters (RFC 6121 §2.1), and their XML in `jabber:iq:roster`.

use std::collections::BTreeMap;

use crate::element::Element;
use crate::error::{StanzaCondition, StanzaError};
use crate::jid::{BareJid, Jid, JidError};
use crate::ns;

use super::subscription::{State, SubState};
use super::version::RosterVersion;

/// The `subscription` attribute of a roster item (RFC 6121 §2.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Subscription {
    /// Neither side sees the other's presence.
    #[default]
    None,
    /// The user sees the contact's presence.
    To,
    /// The contact sees the user's presence.
    From,
    /// Both see each other's presence.
    Both,
    /// Only in roster sets and pushes: the item is (to be) removed.
    Remove,
}

impl Subscription {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::To => "to",
            Self::From => "from",
            Self::Both => "both",
            Self::Remove => "remove",
        }
    }

    /// The subscription an attribute value names, if any.
    pub fn from_attr(value: &str) -> Option<Self> {
        Some(match value {
            "none" => Self::None,
            "to" => Self::To,
            "from" => Self::From,
            "both" => Self::Both,
            "remove" => Self::Remove,
            _ => return None,
        })
    }
}

/// One contact in a user's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's bare JID; the key of the item.
    pub jid: BareJid,
    /// The user's name for the contact.
    pub name: Option<String>,
    /// The groups the item is in: unique, in the order the client gave them.
    pub groups: Vec<String>,
    /// The subscription state (never [`Subscription::Remove`] in a stored item).
    pub subscription: Subscription,
    /// The user's subscription request is pending (`ask='subscribe'`, "Pending Out").
    pub ask: bool,
    /// The user pre-approved a subscription request from the contact (RFC 6121 §3.4).
    pub approved: bool,
    /// A subscription request from the contact waits for the user's answer ("Pending In").
    /// Server memory only: not part of the item's XML (RFC 6121 §3.1.3 has the server deliver
    /// the request again at the user's next login).
    pub pending_in: bool,
}

impl RosterItem {
    /// A new item for `jid`: no name, no groups, no subscription.
    pub fn new(jid: BareJid) -> Self {
        Self {
            jid,
            name: None,
            groups: Vec::new(),
            subscription: Subscription::None,
            ask: false,
            approved: false,
            pending_in: false,
        }
    }

    /// The item's subscription state (RFC 6121 Appendix A.1) and pre-approval.
    pub fn state(&self) -> State {
        State {
            sub: SubState::from_parts(self.subscription, self.ask, self.pending_in),
            approved: self.approved,
        }
    }

    /// Sets `subscription`, `ask`, `pending_in` and `approved` from a state.
    pub fn set_state(&mut self, state: State) {
        self.subscription = state.sub.subscription();
        self.ask = state.sub.pending_out();
        self.pending_in = state.sub.pending_in();
        self.approved = state.approved;
    }

    /// Whether clients see the item. An item that exists only because the contact asked for
    /// a subscription the user has not answered ("None + Pending In", nothing the user set) is
    /// server memory: RFC 6121 §3.1.3 has the request delivered, not the contact added to the
    /// roster, until the user approves.
    pub fn is_shown(&self) -> bool {
        !(self.subscription == Subscription::None
            && !self.ask
            && !self.approved
            && self.pending_in
            && self.name.is_none()
            && self.groups.is_empty())
    }

    /// Adds a group unless the item is in it already; returns whether it was added.
    pub fn add_group(&mut self, group: &str) -> bool {
        if self.groups.iter().any(|g| g == group) {
            return false;
        }
        self.groups.push(group.to_owned());
        true
    }

    /// The `<item/>` as the server shows it to clients (roster results and pushes):
    /// `subscription` always, `ask='subscribe'` and `approved='true'` when set, the groups
    /// in order. `pending_in` stays out: it is not part of the protocol.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("item", ns::ROSTER).with_attr("jid", self.jid.as_str());
        if let Some(name) = &self.name {
            el.set_attr("name", name.as_str());
        }
        el.set_attr("subscription", self.subscription.as_str());
        if self.ask {
            el.set_attr("ask", "subscribe");
        }
        if self.approved {
            el.set_attr("approved", "true");
        }
        for group in &self.groups {
            el.append_child(Element::new("group", ns::ROSTER).with_text(group.as_str()));
        }
        el
    }

    /// Reads an `<item/>` as a server writes it (a roster result or push, or stored XML):
    /// every attribute is taken at its word, and `pending_in` is false. For what a client
    /// sends, use [`RosterSetItem::from_element`], which applies RFC 6121 §2.3.3.
    pub fn from_element(el: &Element) -> Result<Self, ItemError> {
        let jid = item_jid(el)?;
        let subscription = match el.attr("subscription") {
            None => Subscription::None,
            Some(v) => Subscription::from_attr(v)
                .ok_or_else(|| ItemError::UnknownSubscription(v.to_owned()))?,
        };
        let ask = match el.attr("ask") {
            None => false,
            Some("subscribe") => true,
            Some(v) => return Err(ItemError::UnknownAsk(v.to_owned())),
        };
        let approved = match el.attr("approved") {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(v) => return Err(ItemError::InvalidApproved(v.to_owned())),
        };
        let mut item = Self::new(jid);
        item.name = el.attr("name").filter(|n| !n.is_empty()).map(str::to_owned);
        item.subscription = subscription;
        item.ask = ask;
        item.approved = approved;
        item.groups = groups(el, &RosterLimits::UNLIMITED)?;
        Ok(item)
    }
}

/// Limits a server sets on what clients store in rosters (RFC 6121 §2.3.3 leaves them to the
/// server's configuration). Lengths are in bytes of UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosterLimits {
    /// The longest `name` attribute.
    pub max_name_bytes: usize,
    /// The longest group name.
    pub max_group_bytes: usize,
    /// The most groups on one item.
    pub max_groups: usize,
}

impl RosterLimits {
    /// No limits, for reading what the server wrote itself.
    pub const UNLIMITED: Self = Self {
        max_name_bytes: usize::MAX,
        max_group_bytes: usize::MAX,
        max_groups: usize::MAX,
    };
}

impl Default for RosterLimits {
    /// 1023 bytes for names and groups (the size of a JID part), 64 groups per item.
    fn default() -> Self {
        Self {
            max_name_bytes: 1023,
            max_group_bytes: 1023,
            max_groups: 64,
        }
    }
}

/// The one `<item/>` of a client's roster set, checked (RFC 6121 §2.3.3 and §2.5).
///
/// What the server ignores, as RFC 6121 says it must: a `subscription` other than `remove`
/// (§2.1.2.5), `ask` (§2.1.2.2) and `approved` (§2.1.2.1); subscriptions change only through
/// presence stanzas. A `subscription` value that is not one of the five defined ones is a
/// schema violation and gets `bad-request`.
///
/// The user's own bare JID is accepted as an item: RFC 6121 §2.3.3 and §2.5 list no error for
/// it, and clients use a self-item (for instance to name or group themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterSetItem {
    /// The contact.
    pub jid: BareJid,
    /// The new name (`None`: no name; an empty `name` counts as none).
    pub name: Option<String>,
    /// The new groups, unique, in order.
    pub groups: Vec<String>,
    /// `subscription='remove'`: delete the item.
    pub remove: bool,
}

impl RosterSetItem {
    /// Reads and checks the `<query/>` of a roster set: exactly one item, then that item.
    pub fn from_query(query: &Element, limits: &RosterLimits) -> Result<Self, ItemError> {
        if !query.is("query", ns::ROSTER) {
            return Err(ItemError::NotAQuery);
        }
        let mut items = query.children().filter(|c| c.is("item", ns::ROSTER));
        let (Some(item), None) = (items.next(), items.next()) else {
            let count = query
                .children()
                .filter(|c| c.is("item", ns::ROSTER))
                .count();
            return Err(ItemError::ItemCount(count));
        };
        Self::from_element(item, limits)
    }

    /// Reads and checks one `<item/>` of a roster set.
    pub fn from_element(el: &Element, limits: &RosterLimits) -> Result<Self, ItemError> {
        let jid = item_jid(el)?;
        let remove = match el.attr("subscription") {
            None => false,
            Some("remove") => true,
            Some(v) if Subscription::from_attr(v).is_some() => false,
            Some(v) => return Err(ItemError::UnknownSubscription(v.to_owned())),
        };
        let name = el.attr("name").filter(|n| !n.is_empty());
        if let Some(name) = name
            && name.len() > limits.max_name_bytes
        {
            return Err(ItemError::NameTooLong(name.len()));
        }
        Ok(Self {
            jid,
            name: name.map(str::to_owned),
            groups: groups(el, limits)?,
            remove,
        })
    }
}

fn item_jid(el: &Element) -> Result<BareJid, ItemError> {
    if !el.is("item", ns::ROSTER) {
        return Err(ItemError::NotAnItem);
    }
    let raw = el.attr("jid").ok_or(ItemError::MissingJid)?;
    let jid = Jid::new(raw).map_err(ItemError::InvalidJid)?;
    BareJid::try_from(jid).map_err(|_| ItemError::InvalidJid(JidError::ResourcePresent))
}

fn groups(el: &Element, limits: &RosterLimits) -> Result<Vec<String>, ItemError> {
    let mut out: Vec<String> = Vec::new();
    for group in el.children().filter(|c| c.is("group", ns::ROSTER)) {
        let name = group.text();
        if name.is_empty() {
            return Err(ItemError::EmptyGroup);
        }
        if name.len() > limits.max_group_bytes {
            return Err(ItemError::GroupTooLong(name.len()));
        }
        if out.contains(&name) {
            return Err(ItemError::DuplicateGroup(name));
        }
        if out.len() >= limits.max_groups {
            return Err(ItemError::TooManyGroups);
        }
        out.push(name);
    }
    Ok(out)
}

/// Why a roster `<query/>` or `<item/>` was refused; [`ItemError::condition`] is the stanza
/// error condition RFC 6121 §2.3.3 prescribes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// The payload is not `<query xmlns='jabber:iq:roster'/>`.
    #[error("not a jabber:iq:roster query")]
    NotAQuery,
    /// The element is not `<item xmlns='jabber:iq:roster'/>`.
    #[error("not a jabber:iq:roster item")]
    NotAnItem,
    /// A roster set must carry exactly one item (§2.3.3); it carried this many.
    #[error("a roster set carries exactly one item, not {0}")]
    ItemCount(usize),
    /// The item has no `jid`.
    #[error("the item has no jid")]
    MissingJid,
    /// The `jid` is not a JID, or not a bare one.
    #[error("the item's jid is not valid: {0}")]
    InvalidJid(JidError),
    /// The `subscription` is none of the defined values.
    #[error("unknown subscription `{0}`")]
    UnknownSubscription(String),
    /// The `ask` is not `subscribe`.
    #[error("unknown ask `{0}`")]
    UnknownAsk(String),
    /// The `approved` is not a boolean.
    #[error("approved is not a boolean: `{0}`")]
    InvalidApproved(String),
    /// The same group twice (§2.3.3: `bad-request`).
    #[error("the group `{0}` is given twice")]
    DuplicateGroup(String),
    /// A `<group/>` without text (§2.3.3: `not-acceptable`).
    #[error("a group name is empty")]
    EmptyGroup,
    /// The name is longer than the server allows (§2.3.3: `not-acceptable`).
    #[error("the name is too long ({0} bytes)")]
    NameTooLong(usize),
    /// A group name is longer than the server allows (§2.3.3: `not-acceptable`).
    #[error("a group name is too long ({0} bytes)")]
    GroupTooLong(usize),
    /// More groups than the server allows on one item.
    #[error("too many groups")]
    TooManyGroups,
}

impl ItemError {
    /// The stanza error condition for this refusal.
    pub fn condition(&self) -> StanzaCondition {
        match self {
            Self::InvalidJid(_) => StanzaCondition::JidMalformed,
            Self::EmptyGroup
            | Self::NameTooLong(_)
            | Self::GroupTooLong(_)
            | Self::TooManyGroups => StanzaCondition::NotAcceptable,
            Self::NotAQuery
            | Self::NotAnItem
            | Self::ItemCount(_)
            | Self::MissingJid
            | Self::UnknownSubscription(_)
            | Self::UnknownAsk(_)
            | Self::InvalidApproved(_)
            | Self::DuplicateGroup(_) => StanzaCondition::BadRequest,
        }
    }
}

impl From<ItemError> for StanzaError {
    fn from(e: ItemError) -> Self {
        StanzaError::new(e.condition()).with_text(Some("en"), e.to_string())
    }
}

/// One account's roster: its items by contact JID, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    version: RosterVersion,
    items: BTreeMap<BareJid, RosterItem>,
}

impl Roster {
    /// An empty roster at [`RosterVersion::INITIAL`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A roster as loaded from storage.
    pub fn from_parts(version: RosterVersion, items: impl IntoIterator<Item = RosterItem>) -> Self {
        Self {
            version,
            items: items.into_iter().map(|i| (i.jid.clone(), i)).collect(),
        }
    }

    /// The current version.
    pub fn version(&self) -> RosterVersion {
        self.version
    }

    /// The item for a contact.
    pub fn get(&self, jid: &BareJid) -> Option<&RosterItem> {
        self.items.get(jid)
    }

    /// The subscription state towards a contact; [`State::NONE`] when it is not in the roster.
    pub fn state(&self, jid: &BareJid) -> State {
        self.get(jid).map_or(State::NONE, RosterItem::state)
    }

    /// Every item, ordered by JID.
    pub fn items(&self) -> impl Iterator<Item = &RosterItem> {
        self.items.values()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the roster has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds or replaces an item; returns the new version.
    pub fn put(&mut self, item: RosterItem) -> RosterVersion {
        self.items.insert(item.jid.clone(), item);
        self.version = self.version.next();
        self.version
    }

    /// Removes an item; returns it and the new version, or `None` (version unchanged) when it
    /// was not there.
    pub fn remove(&mut self, jid: &BareJid) -> Option<(RosterItem, RosterVersion)> {
        let item = self.items.remove(jid)?;
        self.version = self.version.next();
        Some((item, self.version))
    }

    /// `<query xmlns='jabber:iq:roster'/>` with every item, and `ver` if asked.
    pub fn to_query(&self, with_version: bool) -> Element {
        let mut query = Element::new("query", ns::ROSTER);
        if with_version {
            query.set_attr("ver", self.version.to_string());
        }
        for item in self.items().filter(|i| i.is_shown()) {
            query.append_child(item.to_element());
        }
        query
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn bare(s: &str) -> BareJid {
        match BareJid::new(s) {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn subscription_attr_round_trip() {
        for s in [
            Subscription::None,
            Subscription::To,
            Subscription::From,
            Subscription::Both,
            Subscription::Remove,
        ] {
            assert_eq!(Subscription::from_attr(s.as_str()), Some(s));
        }
        assert_eq!(Subscription::from_attr("None"), None);
        assert_eq!(Subscription::default(), Subscription::None);
    }

    #[test]
    fn an_unanswered_request_alone_is_not_shown() {
        let mut item = RosterItem::new(bare("a@example.com"));
        item.pending_in = true;
        let mut roster = Roster::new();
        roster.put(item.clone());
        assert!(!item.is_shown());
        assert_eq!(roster.to_query(false).children().count(), 0);
        // Once the user named the contact, or any subscription exists, it is a roster item.
        item.name = Some("A".into());
        assert!(item.is_shown());
        item.name = None;
        item.subscription = Subscription::To;
        assert!(item.is_shown());
    }

    #[test]
    fn add_group_keeps_order_and_uniqueness() {
        let mut item = RosterItem::new(bare("a@example.com"));
        assert!(item.add_group("b"));
        assert!(item.add_group("a"));
        assert!(!item.add_group("b"));
        assert_eq!(item.groups, ["b", "a"]);
    }

    #[test]
    fn roster_from_parts_and_query() {
        let items = [
            RosterItem::new(bare("b@example.com")),
            RosterItem::new(bare("a@example.com")),
        ];
        let roster = Roster::from_parts(RosterVersion::new(9), items);
        assert_eq!(roster.len(), 2);
        assert_eq!(roster.version(), RosterVersion::new(9));
        let q = roster.to_query(true);
        assert_eq!(q.attr("ver"), Some("9"));
        let jids: Vec<&str> = q.children().filter_map(|c| c.attr("jid")).collect();
        assert_eq!(jids, ["a@example.com", "b@example.com"], "ordered by JID");
        assert_eq!(roster.to_query(false).attr("ver"), None);
        assert_eq!(roster.state(&bare("c@example.com")), State::NONE);
    }

    #[test]
    fn every_error_has_its_condition() {
        use StanzaCondition as C;
        for (e, c) in [
            (ItemError::NotAQuery, C::BadRequest),
            (ItemError::NotAnItem, C::BadRequest),
            (ItemError::ItemCount(2), C::BadRequest),
            (ItemError::MissingJid, C::BadRequest),
            (
                ItemError::InvalidJid(JidError::EmptyDomain),
                C::JidMalformed,
            ),
            (ItemError::UnknownSubscription("x".into()), C::BadRequest),
            (ItemError::UnknownAsk("x".into()), C::BadRequest),
            (ItemError::InvalidApproved("x".into()), C::BadRequest),
            (ItemError::DuplicateGroup("g".into()), C::BadRequest),
            (ItemError::EmptyGroup, C::NotAcceptable),
            (ItemError::NameTooLong(2000), C::NotAcceptable),
            (ItemError::GroupTooLong(2000), C::NotAcceptable),
            (ItemError::TooManyGroups, C::NotAcceptable),
        ] {
            assert_eq!(e.condition(), c, "{e}");
            let se = StanzaError::from(e);
            assert_eq!(se.condition, c);
            assert_eq!(se.texts.len(), 1);
        }
    }
}
