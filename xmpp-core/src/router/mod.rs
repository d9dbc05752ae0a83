//! Where a stanza from a local client goes (RFC 6120 §8, §10; RFC 6121 §8.5), sans-IO.
//!
//! The router never touches a socket or a task: it is handed the sender's full JID, the stanza
//! and a view of the bound sessions ([`SessionTable`]), and returns [`Action`]s for the server to
//! carry out. That keeps every delivery rule testable in memory, and lets a later cluster
//! treat "a session on another node" as one more kind of route.
//!
//! What it does now: checks and stamps `from`, answers the server's own IQs, delivers to bound
//! sessions, and returns the stanza error that fits when nothing can take the stanza (never an
//! error to an error). Rosters, presence broadcast, offline storage and s2s arrive with later
//! issues and plug in here.

mod disco;
mod server_iq;

pub use disco::{DiscoInfo, Identity};

use std::collections::HashSet;
use std::time::SystemTime;

use crate::error::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use crate::jid::{BareJid, FullJid, Jid};
use crate::ns;
use crate::stanza::{IqType, MessageType, PresenceType, Stanza, StanzaKind};

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

/// A view of the sessions bound on this server, implemented by whoever keeps them.
pub trait SessionTable {
    /// Appends the full JIDs of the account's bound sessions to `out`.
    fn resources_of(&self, account: &BareJid, out: &mut Vec<FullJid>);
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

    /// Routes a stanza that the client bound as `sender` sent.
    pub fn route_from_client(
        &self,
        sender: &FullJid,
        mut stanza: Stanza,
        sessions: &impl SessionTable,
        now: SystemTime,
    ) -> Vec<Action> {
        // RFC 6120 §8.1.2.1: the server stamps the full JID; a client may only name its own
        // full or bare JID (security.md §1.7).
        match stanza.from() {
            None => {}
            Some(from) if from == sender || from.as_str() == sender.bare_str() => {}
            Some(_) => {
                return vec![Action::CloseSender(
                    StreamError::new(StreamCondition::InvalidFrom)
                        .with_text(Some("en"), "'from' does not match the bound address"),
                )];
            }
        }
        stanza.set_from(Some(Jid::from(sender.clone())));
        // RFC 6120 §10.3: no 'to' means the account itself.
        let to = match stanza.to() {
            Some(to) => to.clone(),
            None => Jid::from(sender.to_bare()),
        };
        let mut actions = Vec::new();
        self.route_to(sender, stanza, &to, sessions, now, &mut actions);
        actions
    }

    fn route_to(
        &self,
        sender: &FullJid,
        stanza: Stanza,
        to: &Jid,
        sessions: &impl SessionTable,
        now: SystemTime,
        actions: &mut Vec<Action>,
    ) {
        if !self.is_hosted(to.domain()) {
            // Until server-to-server exists, every remote domain is out of reach.
            return bounce(
                sender,
                &stanza,
                StanzaCondition::RemoteServerNotFound,
                actions,
            );
        }
        match (to.localpart(), to.resource()) {
            (None, None) => self.to_server(sender, &stanza, now, actions),
            (None, Some(_)) => {
                if stanza.kind() != StanzaKind::Presence {
                    bounce(
                        sender,
                        &stanza,
                        StanzaCondition::ServiceUnavailable,
                        actions,
                    );
                }
            }
            (Some(_), None) => to_account(sender, stanza, &to.to_bare(), sessions, actions),
            (Some(_), Some(_)) => {
                let Ok(full) = FullJid::try_from(to.clone()) else {
                    return;
                };
                to_full(sender, stanza, &full, sessions, actions);
            }
        }
    }

    fn to_server(
        &self,
        sender: &FullJid,
        stanza: &Stanza,
        now: SystemTime,
        actions: &mut Vec<Action>,
    ) {
        match stanza.kind() {
            StanzaKind::Iq => {
                if !stanza.iq_type().is_some_and(IqType::is_request) {
                    // Results and errors addressed to the server end here.
                    return;
                }
                let answer = server_iq::handle_domain_iq(&self.info, stanza, now);
                answer_iq(sender, stanza, answer, actions);
            }
            StanzaKind::Message => {
                bounce(sender, stanza, StanzaCondition::ServiceUnavailable, actions);
            }
            // A probe or directed available presence to the domain learns the server's presence,
            // with its XEP-0115 caps, so clients can discover its features without a disco round
            // trip when the hash is cached.
            StanzaKind::Presence => {
                if matches!(
                    stanza.presence_type(),
                    Some(PresenceType::Available | PresenceType::Probe)
                ) && let Some(presence) = self.server_presence(sender, stanza)
                {
                    actions.push(Action::Deliver {
                        to: sender.clone(),
                        stanza: presence,
                    });
                }
            }
        }
    }
}

impl Router {
    fn server_presence(&self, sender: &FullJid, to_server: &Stanza) -> Option<Stanza> {
        let domain = to_server.to()?.as_str();
        let presence = crate::Element::new("presence", to_server.ns().namespace())
            .with_attr("from", domain)
            .with_attr("to", sender.as_str())
            .with_child(self.info.caps_element());
        Stanza::from_element(presence).ok()
    }
}

fn to_account(
    sender: &FullJid,
    stanza: Stanza,
    account: &BareJid,
    sessions: &impl SessionTable,
    actions: &mut Vec<Action>,
) {
    match stanza.kind() {
        StanzaKind::Iq => {
            if stanza.iq_type().is_some_and(IqType::is_request) {
                let answer = server_iq::handle_account_iq(account, &stanza);
                answer_iq(sender, &stanza, answer, actions);
            }
        }
        StanzaKind::Message | StanzaKind::Presence => {
            if stanza.presence_type() == Some(PresenceType::Probe) {
                return;
            }
            let mut resources = Vec::new();
            sessions.resources_of(account, &mut resources);
            if resources.is_empty() {
                if stanza.kind() == StanzaKind::Message {
                    // No offline storage yet (that arrives with the IM core): say so
                    // rather than drop it.
                    bounce(
                        sender,
                        &stanza,
                        StanzaCondition::ServiceUnavailable,
                        actions,
                    );
                }
                return;
            }
            deliver_all(stanza, resources, actions);
        }
    }
}

fn to_full(
    sender: &FullJid,
    stanza: Stanza,
    to: &FullJid,
    sessions: &impl SessionTable,
    actions: &mut Vec<Action>,
) {
    if sessions.is_bound(to) {
        actions.push(Action::Deliver {
            to: to.clone(),
            stanza,
        });
        return;
    }
    // RFC 6121 §8.5.3.2: no such resource.
    match stanza.kind() {
        StanzaKind::Message => match stanza.message_type() {
            Some(MessageType::Chat | MessageType::Normal) => {
                to_account(sender, stanza, &to.to_bare(), sessions, actions);
            }
            Some(MessageType::Groupchat) => {
                bounce(
                    sender,
                    &stanza,
                    StanzaCondition::ServiceUnavailable,
                    actions,
                );
            }
            // Headlines and errors are dropped silently.
            _ => {}
        },
        StanzaKind::Iq => {
            bounce(
                sender,
                &stanza,
                StanzaCondition::ServiceUnavailable,
                actions,
            );
        }
        StanzaKind::Presence => {}
    }
}

fn deliver_all(stanza: Stanza, resources: Vec<FullJid>, actions: &mut Vec<Action>) {
    let last = resources.len().saturating_sub(1);
    let mut stanza = Some(stanza);
    for (i, to) in resources.into_iter().enumerate() {
        // The last recipient takes the stanza itself; the others get clones.
        let copy = if i == last {
            stanza.take()
        } else {
            stanza.clone()
        };
        if let Some(s) = copy {
            actions.push(Action::Deliver { to, stanza: s });
        }
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
