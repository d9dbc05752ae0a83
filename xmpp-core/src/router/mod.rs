//! Where a stanza from a local client goes (RFC 6120 §8, §10; RFC 6121 §8.5), sans-IO.
//!
//! The router never touches a socket or a task: it is handed the sender's full JID, the stanza
//! and a view of the bound sessions ([`SessionTable`]), and returns [`Action`]s for the server to
//! carry out. That keeps every delivery rule testable in memory, and lets a later cluster
//! treat "a session on another node" as one more kind of route.
//!
//! What it does: checks and stamps `from`, answers the server's own IQs, applies the delivery
//! rules of RFC 6121 §8.5 to bound and available sessions, and returns the stanza error that
//! fits when nothing can take the stanza (never an error to an error). What needs stored state
//! (rosters, subscriptions, presence broadcast, offline storage) comes back as a typed
//! [`Action`] for the server to carry out with `crate::roster` and `crate::im`
//! (docs/im-core.md). Server-to-server arrives with a later issue and plugs in here.

mod client;
mod disco;
mod server_iq;

pub use disco::{DiscoInfo, Identity};

use std::collections::HashSet;
use std::time::SystemTime;

use crate::error::{StanzaCondition, StanzaError, StreamError};
use crate::im::delivery::Availability;
use crate::jid::{BareJid, FullJid, Jid};
use crate::ns;
use crate::roster::SubscriptionType;
use crate::stanza::Stanza;

/// What the server says about itself.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    disco: DiscoInfo,
    items: Vec<BareJid>,
    software_name: String,
    software_version: String,
    os: Option<String>,
    started: SystemTime,
    caps_node: String,
    caps_ver: String,
    /// Features of every account (advertised on a user's own bare JID, XEP-0030 §3).
    account_features: Vec<String>,
    /// Namespaces of IQs about the sender's own account that the server handles
    /// ([`Action::AccountIq`]).
    account_iqs: Vec<String>,
}

impl ServerInfo {
    /// A server identity with the features the router itself implements.
    pub fn new(software_name: &str, software_version: &str, started: SystemTime) -> Self {
        let mut disco = DiscoInfo {
            identities: vec![Identity::new("server", "im").with_name(software_name)],
            ..DiscoInfo::default()
        };
        for f in [
            ns::DISCO_INFO,
            ns::DISCO_ITEMS,
            ns::PING,
            ns::VERSION,
            ns::TIME,
            ns::LAST,
        ] {
            disco.add_feature(f);
        }
        let caps_ver = disco.caps_ver();
        Self {
            disco,
            items: Vec::new(),
            software_name: software_name.to_owned(),
            software_version: software_version.to_owned(),
            os: None,
            started,
            caps_node: "https://chatrix.one".to_owned(),
            caps_ver,
            account_features: Vec::new(),
            account_iqs: Vec::new(),
        }
    }

    /// Reveals the operating system in software version answers (hidden by default).
    #[must_use]
    pub fn with_os(mut self, os: &str) -> Self {
        self.os = Some(os.to_owned());
        self
    }

    /// Adds a feature that another part of the server implements, keeping the caps hash right.
    #[must_use]
    pub fn with_feature(mut self, var: &str) -> Self {
        self.disco.add_feature(var);
        self.caps_ver = self.disco.caps_ver();
        self
    }

    /// Adds a feature of every account, advertised when a user asks its own bare JID
    /// (how clients discover XEP-0313 archives, for instance).
    #[must_use]
    pub fn with_account_feature(mut self, var: &str) -> Self {
        if !self.account_features.iter().any(|f| f == var) {
            self.account_features.push(var.to_owned());
        }
        self
    }

    /// Hands IQ requests whose payload is in namespace `ns`, sent by a user to its own
    /// account (no `to`, or its bare JID), to the server as [`Action::AccountIq`].
    #[must_use]
    pub fn with_account_iq(mut self, ns: &str) -> Self {
        if !self.account_iqs.iter().any(|n| n == ns) {
            self.account_iqs.push(ns.to_owned());
        }
        self
    }

    /// The features every account advertises.
    pub fn account_features(&self) -> &[String] {
        &self.account_features
    }

    /// Lists a service (a component or subdomain) in `disco#items`.
    #[must_use]
    pub fn with_item(mut self, jid: BareJid) -> Self {
        self.items.push(jid);
        self
    }

    /// The server's `disco#info`.
    pub fn disco(&self) -> &DiscoInfo {
        &self.disco
    }

    /// The XEP-0115 `<c/>` element for stream features and the server's presence.
    pub fn caps_element(&self) -> crate::Element {
        crate::Element::new("c", ns::CAPS)
            .with_attr("hash", "sha-1")
            .with_attr("node", self.caps_node.as_str())
            .with_attr("ver", self.caps_ver.as_str())
    }

    fn caps_node_ver(&self) -> String {
        format!("{}#{}", self.caps_node, self.caps_ver)
    }
}

/// One bound session of an account, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundResource {
    /// Its full JID.
    pub jid: FullJid,
    /// Whether it sent initial presence, and with which priority.
    pub availability: Availability,
}

/// A view of the sessions bound on this server, implemented by whoever keeps them.
pub trait SessionTable {
    /// Appends the account's bound sessions to `out`.
    fn resources_of(&self, account: &BareJid, out: &mut Vec<BoundResource>);
    /// Whether this full JID is bound.
    fn is_bound(&self, jid: &FullJid) -> bool;
}

/// What the server must do with a routed stanza.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Write this stanza to the local session bound to `to` (replies to the sender included).
    Deliver {
        /// The recipient session.
        to: FullJid,
        /// The stanza, addressed and stamped.
        stanza: Stanza,
    },
    /// The sender broke the protocol: close its stream with this error.
    CloseSender(StreamError),
    /// A message for a local account that no available resource can take, worth storing
    /// (`crate::im::offline::is_storable`): store it, or bounce it when the account does not
    /// exist or its storage is full, with the same error either way.
    StoreOffline {
        /// The recipient account.
        account: BareJid,
        /// The message, `from` stamped.
        stanza: Stanza,
    },
    /// A roster get or set from the sender for its own roster (RFC 6121 §2).
    RosterIq(Stanza),
    /// An IQ request from the sender to its own account (no `to`, or its bare JID) in a
    /// namespace registered with [`ServerInfo::with_account_iq`] (archive queries, blocking,
    /// carbons): the server answers it.
    AccountIq(Stanza),
    /// An XEP-0077 request from the sender about its own account (get the registration,
    /// change the password, `<remove/>`), addressed to the sender's domain, its bare JID or
    /// nobody.
    RegisterIq(Stanza),
    /// The sender's presence broadcast (no `to`): available with its priority, or
    /// unavailable (RFC 6121 §4.2, §4.4, §4.5). The session table is not changed by the
    /// router: the server records the new availability.
    BroadcastPresence {
        /// The presence, `from` stamped, no `to`.
        stanza: Stanza,
        /// `Some(priority)` for available presence, `None` for unavailable.
        priority: Option<i8>,
    },
    /// The sender sent directed presence to `to` (RFC 6121 §4.6); the deliveries come as
    /// separate actions. The sender's session remembers an available one (and forgets it on
    /// an unavailable one) to send `unavailable` there when it goes offline.
    DirectedPresence {
        /// The recipient.
        to: Jid,
        /// Available (remember) or unavailable (forget).
        available: bool,
    },
    /// A subscription stanza from the sender to `contact` (RFC 6121 §3).
    Subscription {
        /// The contact, a local or remote bare JID with a localpart.
        contact: BareJid,
        /// What it asks.
        kind: SubscriptionType,
        /// The stanza, `from` stamped.
        stanza: Stanza,
    },
    /// A presence probe from the sender to a local `contact` (answered only when the sender
    /// may see the contact's presence).
    Probe {
        /// The contact probed.
        contact: BareJid,
    },
}

/// The routing configuration: hosted domains and the server's self-description.
#[derive(Debug, Clone)]
pub struct Router {
    domains: HashSet<String>,
    info: ServerInfo,
}

impl Router {
    /// A router for these (normalised) domains.
    pub fn new(domains: impl IntoIterator<Item = String>, info: ServerInfo) -> Self {
        Self {
            domains: domains.into_iter().collect(),
            info,
        }
    }

    /// Whether a domain is hosted here.
    pub fn is_hosted(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }

    /// The server's self-description.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }
}

/// Answers `stanza` with an error, unless it is an error itself (RFC 6120 §8.3.1).
fn bounce(
    sender: &FullJid,
    stanza: &Stanza,
    condition: StanzaCondition,
    actions: &mut Vec<Action>,
) {
    if let Some(reply) = stanza.error_reply(StanzaError::new(condition)) {
        actions.push(Action::Deliver {
            to: sender.clone(),
            stanza: reply,
        });
    }
}

fn answer_iq(sender: &FullJid, iq: &Stanza, answer: server_iq::Answer, actions: &mut Vec<Action>) {
    let reply = match answer {
        Ok(payload) => iq.iq_result(payload),
        Err(condition) => iq.error_reply(StanzaError::new(condition)),
    };
    if let Some(reply) = reply {
        actions.push(Action::Deliver {
            to: sender.clone(),
            stanza: reply,
        });
    }
}

#[cfg(test)]
mod tests;
