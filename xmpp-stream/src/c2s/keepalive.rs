//! The connection's clocks: the negotiation deadline before binding, XEP-0199 pings after.
//!
//! Time is an input (`now` comes from the driver), and the next deadline an output; nothing
//! here reads a clock.

use std::collections::VecDeque;
use std::time::Instant;

use xmpp_core::jid::FullJid;
use xmpp_core::{Element, ns};

use super::config::KeepaliveConfig;

/// What a timeout means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// Nothing is due yet.
    Nothing,
    /// The client has been quiet for the idle interval: ping it.
    Ping,
    /// Negotiation took too long, or a ping went unanswered: close with
    /// `connection-timeout`.
    TimedOut,
}

/// Unanswered pings whose replies are still recognised. A client answers in order, so a few
/// are plenty; the bound keeps a silent client from growing the list.
const REMEMBERED_PINGS: usize = 4;

#[derive(Debug)]
pub(super) struct Timers {
    negotiation_deadline: Option<Instant>,
    keepalive: Option<KeepaliveConfig>,
    /// Whether pings are running (after binding).
    bound: bool,
    last_input: Instant,
    /// When an outstanding ping times out; cleared by any input.
    reply_deadline: Option<Instant>,
    /// Ids of pings sent and not answered, oldest first.
    pings: VecDeque<String>,
}

impl Timers {
    pub(super) fn new(
        now: Instant,
        negotiation: std::time::Duration,
        keepalive: Option<KeepaliveConfig>,
    ) -> Self {
        Self {
            negotiation_deadline: now.checked_add(negotiation),
            keepalive,
            bound: false,
            last_input: now,
            reply_deadline: None,
            pings: VecDeque::new(),
        }
    }

    /// Bytes arrived. Any input proves the client alive, whatever it is.
    pub(super) fn note_input(&mut self, now: Instant) {
        self.last_input = self.last_input.max(now);
        self.reply_deadline = None;
    }

    /// The resource is bound: the negotiation deadline is met, pings start.
    pub(super) fn bound(&mut self) {
        self.negotiation_deadline = None;
        self.bound = true;
    }

    /// The next instant something is due.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        if !self.bound {
            return self.negotiation_deadline;
        }
        let keepalive = self.keepalive.as_ref()?;
        self.reply_deadline
            .or_else(|| self.last_input.checked_add(keepalive.idle))
    }

    /// What is due at `now`.
    pub(super) fn expiry(&self, now: Instant) -> Expiry {
        if !self.bound {
            return match self.negotiation_deadline {
                Some(deadline) if now >= deadline => Expiry::TimedOut,
                _ => Expiry::Nothing,
            };
        }
        let Some(keepalive) = &self.keepalive else {
            return Expiry::Nothing;
        };
        match self.reply_deadline {
            Some(deadline) if now >= deadline => Expiry::TimedOut,
            Some(_) => Expiry::Nothing,
            None => match self.last_input.checked_add(keepalive.idle) {
                Some(idle) if now >= idle => Expiry::Ping,
                _ => Expiry::Nothing,
            },
        }
    }

    /// A ping with `id` went out at `now`.
    pub(super) fn ping_sent(&mut self, id: String, now: Instant) {
        let timeout = self.keepalive.map(|k| k.reply_timeout).unwrap_or_default();
        self.reply_deadline = Some(now.checked_add(timeout).unwrap_or(now));
        if self.pings.len() == REMEMBERED_PINGS {
            self.pings.pop_front();
        }
        self.pings.push_back(id);
    }

    /// Whether `iq` answers one of our pings; if so, it is forgotten.
    pub(super) fn take_reply(&mut self, iq: &Element, domain: &str) -> bool {
        if !matches!(iq.attr("type"), Some("result" | "error")) {
            return false;
        }
        // The reply goes to the server: no `to`, or our domain.
        if iq
            .attr("to")
            .is_some_and(|to| !to.eq_ignore_ascii_case(domain))
        {
            return false;
        }
        let Some(id) = iq.attr("id") else {
            return false;
        };
        match self.pings.iter().position(|p| p == id) {
            Some(i) => {
                self.pings.remove(i);
                true
            }
            None => false,
        }
    }
}

/// `<iq type='get' id='…' from='domain' to='jid'><ping xmlns='urn:xmpp:ping'/></iq>`
/// (XEP-0199 §4.2, server to client).
pub(super) fn ping(id: &str, domain: &str, to: &FullJid) -> Element {
    Element::new("iq", ns::JABBER_CLIENT)
        .with_attr("type", "get")
        .with_attr("id", id)
        .with_attr("from", domain)
        .with_attr("to", to.as_str())
        .with_child(Element::new("ping", ns::PING))
}
