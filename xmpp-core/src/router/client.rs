//! Stanzas from a local client: `from` checks, then the delivery rules of RFC 6121 §8.5 and
//! the presence rules of §4, as far as the session table alone decides them.

use std::time::SystemTime;

use crate::error::{StanzaCondition, StreamCondition, StreamError};
use crate::im::delivery::{BareDelivery, message_to_bare, presence_to_bare};
use crate::im::offline::is_storable;
use crate::im::presence::{ClientPresence, classify, priority};
use crate::jid::{BareJid, FullJid, Jid};
use crate::ns;
use crate::stanza::{IqType, MessageType, PresenceType, Stanza, StanzaKind};

use super::{
    Action, BoundResource, Router, ServerInfo, SessionTable, answer_iq, bounce, server_iq,
};

impl Router {
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
        let mut actions = Vec::new();
        if stanza.kind() == StanzaKind::Presence {
            self.presence_from_client(sender, stanza, sessions, now, &mut actions);
            return actions;
        }
        // RFC 6120 §10.3: no 'to' means the account itself.
        let to = match stanza.to() {
            Some(to) => to.clone(),
            None => Jid::from(sender.to_bare()),
        };
        if stanza.kind() == StanzaKind::Iq && is_own_roster_iq(sender, &to, &stanza) {
            actions.push(Action::RosterIq(stanza));
            return actions;
        }
        if stanza.kind() == StanzaKind::Iq && is_own_register_iq(sender, &to, &stanza) {
            actions.push(Action::RegisterIq(stanza));
            return actions;
        }
        if stanza.kind() == StanzaKind::Iq && self.is_own_account_iq(sender, &to, &stanza) {
            actions.push(Action::AccountIq(stanza));
            return actions;
        }
        self.route_to(sender, stanza, &to, sessions, now, &mut actions);
        actions
    }

    /// Routes a message that was queued for a session which ended before writing it: to the
    /// account's other resources, or offline. `from` is already stamped; nothing is bounced
    /// to `sender` that it was not already told.
    pub fn reroute_message(&self, stanza: Stanza, sessions: &impl SessionTable) -> Vec<Action> {
        let mut actions = Vec::new();
        let (Some(to), Some(Ok(from))) = (
            stanza.to().map(Jid::to_bare),
            stanza.from().map(|f| FullJid::try_from(f.clone())),
        ) else {
            return actions;
        };
        if stanza.kind() == StanzaKind::Message && to.localpart().is_some() {
            to_account(&self.info, &from, stanza, &to, sessions, &mut actions);
        }
        actions
    }

    fn presence_from_client(
        &self,
        sender: &FullJid,
        stanza: Stanza,
        sessions: &impl SessionTable,
        now: SystemTime,
        actions: &mut Vec<Action>,
    ) {
        match classify(&stanza) {
            ClientPresence::Broadcast { available } => {
                let priority = if available {
                    match priority(&stanza) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            if let Some(reply) = stanza.error_reply(e) {
                                actions.push(Action::Deliver {
                                    to: sender.clone(),
                                    stanza: reply,
                                });
                            }
                            return;
                        }
                    }
                } else {
                    None
                };
                actions.push(Action::BroadcastPresence { stanza, priority });
            }
            ClientPresence::Invalid => {
                bounce(sender, &stanza, StanzaCondition::BadRequest, actions);
            }
            ClientPresence::Subscription(kind) => {
                let Some(to) = stanza.to().cloned() else {
                    return bounce(sender, &stanza, StanzaCondition::BadRequest, actions);
                };
                if !self.is_hosted(to.domain()) {
                    return bounce(
                        sender,
                        &stanza,
                        StanzaCondition::RemoteServerNotFound,
                        actions,
                    );
                }
                if to.localpart().is_none() {
                    // A subscription to the server itself: nothing to subscribe to.
                    return;
                }
                actions.push(Action::Subscription {
                    contact: to.to_bare(),
                    kind,
                    stanza,
                });
            }
            ClientPresence::Probe => {
                let Some(to) = stanza.to() else { return };
                if to.localpart().is_none() {
                    return self.to_server(sender, &stanza, now, actions);
                }
                if self.is_hosted(to.domain()) {
                    actions.push(Action::Probe {
                        contact: to.to_bare(),
                    });
                }
            }
            ClientPresence::Directed { available } => {
                let Some(to) = stanza.to().cloned() else {
                    return;
                };
                self.route_to(sender, stanza, &to, sessions, now, actions);
                // Remember where available presence went, even when nobody took it now: the
                // contact may log in before the user logs out and must then be told.
                if to.localpart().is_some() && self.is_hosted(to.domain()) {
                    actions.push(Action::DirectedPresence { to, available });
                }
            }
            ClientPresence::Error => {
                let Some(to) = stanza.to().cloned() else {
                    return;
                };
                self.route_to(sender, stanza, &to, sessions, now, actions);
            }
            // `ClientPresence` may grow; what is not understood is not routed.
            #[allow(unreachable_patterns)]
            _ => {}
        }
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
            (Some(_), None) => {
                to_account(&self.info, sender, stanza, &to.to_bare(), sessions, actions);
            }
            (Some(_), Some(_)) => {
                let Ok(full) = FullJid::try_from(to.clone()) else {
                    return;
                };
                to_full(&self.info, sender, stanza, &full, sessions, actions);
            }
        }
    }

    /// A request to the sender's own account in a namespace the server registered.
    fn is_own_account_iq(&self, sender: &FullJid, to: &Jid, iq: &Stanza) -> bool {
        to.is_bare()
            && to.as_str() == sender.bare_str()
            && iq.iq_type().is_some_and(IqType::is_request)
            && iq
                .iq_payload()
                .is_some_and(|p| self.info.account_iqs.iter().any(|n| n == p.ns()))
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

    fn server_presence(&self, sender: &FullJid, to_server: &Stanza) -> Option<Stanza> {
        let domain = to_server.to()?.as_str();
        let presence = crate::Element::new("presence", to_server.ns().namespace())
            .with_attr("from", domain)
            .with_attr("to", sender.as_str())
            .with_child(self.info.caps_element());
        Stanza::from_element(presence).ok()
    }
}

/// A roster request: addressed to nobody or to the sender's own bare JID, with a
/// `jabber:iq:roster` query. Results and errors (answers to roster pushes) are not requests.
fn is_own_roster_iq(sender: &FullJid, to: &Jid, iq: &Stanza) -> bool {
    to.is_bare()
        && to.as_str() == sender.bare_str()
        && iq.iq_type().is_some_and(IqType::is_request)
        && iq.iq_payload().is_some_and(|p| p.ns() == ns::ROSTER)
}

/// An XEP-0077 request about the sender's own account: to its domain (the XEP's examples),
/// its bare JID, or nobody (RFC 6120 §10.3, which means the same account).
fn is_own_register_iq(sender: &FullJid, to: &Jid, iq: &Stanza) -> bool {
    to.is_bare()
        && (to.as_str() == sender.bare_str() || to.as_str() == sender.domain())
        && iq.iq_type().is_some_and(IqType::is_request)
        && iq.iq_payload().is_some_and(|p| p.is("query", ns::REGISTER))
}

fn to_account(
    info: &ServerInfo,
    sender: &FullJid,
    stanza: Stanza,
    account: &BareJid,
    sessions: &impl SessionTable,
    actions: &mut Vec<Action>,
) {
    match stanza.kind() {
        StanzaKind::Iq => {
            if stanza.iq_type().is_some_and(IqType::is_request) {
                let own = account.as_str() == sender.bare_str();
                let private = stanza
                    .iq_payload()
                    .is_some_and(|p| info.account_iqs.iter().any(|n| n == p.ns()));
                let answer = if private {
                    // Another account's archive, block list or carbons: only its owner may
                    // ask (XEP-0313 §10: `forbidden`).
                    Err(StanzaCondition::Forbidden)
                } else {
                    let features: &[String] = if own { &info.account_features } else { &[] };
                    server_iq::handle_account_iq(&stanza, features)
                };
                answer_iq(sender, &stanza, answer, actions);
            }
        }
        StanzaKind::Message => {
            let mut resources = Vec::new();
            sessions.resources_of(account, &mut resources);
            let availability: Vec<_> = resources.iter().map(|r| r.availability).collect();
            let ty = stanza.message_type().unwrap_or(MessageType::Normal);
            match message_to_bare(ty, &availability) {
                BareDelivery::Resources(chosen) => deliver_to(stanza, &resources, &chosen, actions),
                BareDelivery::Offline if is_storable(&stanza) => {
                    actions.push(Action::StoreOffline {
                        account: account.clone(),
                        stanza,
                    });
                }
                BareDelivery::Bounce(condition) => bounce(sender, &stanza, condition, actions),
                // `BareDelivery::Drop`, and whatever a later version adds.
                _ => {}
            }
        }
        StanzaKind::Presence => {
            let mut resources = Vec::new();
            sessions.resources_of(account, &mut resources);
            let availability: Vec<_> = resources.iter().map(|r| r.availability).collect();
            let chosen = presence_to_bare(&availability);
            deliver_to(stanza, &resources, &chosen, actions);
        }
    }
}

fn to_full(
    info: &ServerInfo,
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
            Some(MessageType::Chat | MessageType::Normal) | None => {
                to_account(info, sender, stanza, &to.to_bare(), sessions, actions);
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

/// Delivers `stanza` to the chosen resources: the last takes the stanza itself, the others
/// get clones.
fn deliver_to(
    stanza: Stanza,
    resources: &[BoundResource],
    chosen: &[usize],
    actions: &mut Vec<Action>,
) {
    let mut stanza = Some(stanza);
    for (n, &i) in chosen.iter().enumerate() {
        let Some(resource) = resources.get(i) else {
            continue;
        };
        let copy = if n + 1 == chosen.len() {
            stanza.take()
        } else {
            stanza.clone()
        };
        if let Some(s) = copy {
            actions.push(Action::Deliver {
                to: resource.jid.clone(),
                stanza: s,
            });
        }
    }
}
