//! Presence subscription states and the tables of RFC 6121 Appendix A, as pure functions.
//!
//! The "user" is the account whose roster this is, the "contact" the JID of one roster item.
//! [`outbound`] is table A.2: the user sent a subscription stanza to the contact, and the
//! user's server decides whether to route it and how the user's item changes. [`inbound`] is
//! table A.3: a subscription stanza from the contact arrived for the user, and the user's
//! server decides whether to deliver it to the user's resources and how the item changes.
//!
//! Beyond the tables:
//!
//! - Pre-approval (RFC 6121 §3.4): a `subscribed` the user sends in "None", "None + Pending
//!   Out" or "To" is not routed but remembered as `approved`; a later inbound `subscribe` in
//!   one of those states is then answered by the server ([`FollowUp::AutoSubscribed`]) instead
//!   of being delivered, and `approved` is spent. An `unsubscribed` from the user cancels a
//!   pre-approval (§3.4: the server removes it). `approved` is cleared whenever the contact
//!   gains a subscription to the user, where it no longer means anything (§2.1.2.1).
//! - Where the tables come from: the rows of A.3.1–A.3.4 and the state changes of A.2.3 and
//!   A.2.4 were checked against copies of the tables quoted in other XMPP implementations
//!   (the A.2.3/A.2.4 ones from RFC 3921, which has the same rows minus pre-approval). The
//!   rows of A.2.1 and A.2.2 ("route: yes" in every state, so that a contact whose server lost
//!   track resynchronises) and the three "pre-approved" rows of A.2.3 are from memory of RFC
//!   6121; the footnote texts of A.3.1 (auto-reply `subscribed`) and A.3.2 (here: send
//!   `unavailable`, from §3.3.3) likewise.
//! - A roster push (RFC 6121 §2.1.6) is needed exactly when what a client sees of the item
//!   changes: `subscription`, `ask` or `approved`. "Pending In" is the server's own memory
//!   (§3.1.3: the request is re-delivered at the next login) and is never shown in the roster.

use crate::stanza::PresenceType;

use super::item::Subscription;

/// The nine subscription states of RFC 6121 Appendix A.1.
///
/// "Pending Out" is the `ask='subscribe'` of the roster item; "Pending In" is an inbound request
/// the user has not answered yet. Combinations that cannot exist ("To + Pending Out",
/// "From + Pending In", anything with "Both") have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubState {
    /// "None": neither side is subscribed, nothing is pending.
    None,
    /// "None + Pending Out": the user asked for the contact's presence.
    NonePendingOut,
    /// "None + Pending In": the contact asked for the user's presence.
    NonePendingIn,
    /// "None + Pending Out/In": both asked, neither answered.
    NonePendingOutIn,
    /// "To": the user sees the contact's presence.
    To,
    /// "To + Pending In": and the contact asked for the user's.
    ToPendingIn,
    /// "From": the contact sees the user's presence.
    From,
    /// "From + Pending Out": and the user asked for the contact's.
    FromPendingOut,
    /// "Both": each sees the other's presence.
    Both,
}

impl SubState {
    /// Every state, in the order of RFC 6121 Appendix A.1.
    pub const ALL: [Self; 9] = [
        Self::None,
        Self::NonePendingOut,
        Self::NonePendingIn,
        Self::NonePendingOutIn,
        Self::To,
        Self::ToPendingIn,
        Self::From,
        Self::FromPendingOut,
        Self::Both,
    ];

    /// The state's name as RFC 6121 Appendix A writes it.
    pub fn rfc_name(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::NonePendingOut => "None + Pending Out",
            Self::NonePendingIn => "None + Pending In",
            Self::NonePendingOutIn => "None + Pending Out/In",
            Self::To => "To",
            Self::ToPendingIn => "To + Pending In",
            Self::From => "From",
            Self::FromPendingOut => "From + Pending Out",
            Self::Both => "Both",
        }
    }

    /// The state a roster item's fields describe. Flags that cannot go with the subscription
    /// are dropped (`ask` with `to` or `both`, a pending inbound request with `from` or
    /// `both`: the subscription already exists); `remove` reads as `none`.
    pub fn from_parts(subscription: Subscription, pending_out: bool, pending_in: bool) -> Self {
        match (subscription, pending_out, pending_in) {
            (Subscription::To, _, false) => Self::To,
            (Subscription::To, _, true) => Self::ToPendingIn,
            (Subscription::From, false, _) => Self::From,
            (Subscription::From, true, _) => Self::FromPendingOut,
            (Subscription::Both, _, _) => Self::Both,
            (_, false, false) => Self::None,
            (_, true, false) => Self::NonePendingOut,
            (_, false, true) => Self::NonePendingIn,
            (_, true, true) => Self::NonePendingOutIn,
        }
    }

    /// The roster's `subscription` value for this state.
    pub fn subscription(self) -> Subscription {
        match self {
            Self::None | Self::NonePendingOut | Self::NonePendingIn | Self::NonePendingOutIn => {
                Subscription::None
            }
            Self::To | Self::ToPendingIn => Subscription::To,
            Self::From | Self::FromPendingOut => Subscription::From,
            Self::Both => Subscription::Both,
        }
    }

    /// Whether the user's request is pending (`ask='subscribe'`).
    pub fn pending_out(self) -> bool {
        matches!(
            self,
            Self::NonePendingOut | Self::NonePendingOutIn | Self::FromPendingOut
        )
    }

    /// Whether the contact's request waits for the user's answer.
    pub fn pending_in(self) -> bool {
        matches!(
            self,
            Self::NonePendingIn | Self::NonePendingOutIn | Self::ToPendingIn
        )
    }

    /// Whether the user is subscribed to the contact's presence (`to` or `both`).
    pub fn user_subscribed(self) -> bool {
        matches!(self, Self::To | Self::ToPendingIn | Self::Both)
    }

    /// Whether the contact is subscribed to the user's presence (`from` or `both`).
    pub fn contact_subscribed(self) -> bool {
        matches!(self, Self::From | Self::FromPendingOut | Self::Both)
    }
}

/// A subscription state together with the pre-approval flag (RFC 6121 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    /// One of the nine states.
    pub sub: SubState,
    /// The user pre-approved a subscription request from the contact.
    pub approved: bool,
}

impl State {
    /// The state of a contact that is not in the roster.
    pub const NONE: Self = Self::new(SubState::None);

    /// A state without pre-approval.
    pub const fn new(sub: SubState) -> Self {
        Self {
            sub,
            approved: false,
        }
    }

    /// The same state with pre-approval.
    #[must_use]
    pub const fn approved(self) -> Self {
        Self {
            sub: self.sub,
            approved: true,
        }
    }

    /// Whether a client would see a difference between the two (a roster push is due).
    fn visible_change(self, other: Self) -> bool {
        self.sub.subscription() != other.sub.subscription()
            || self.sub.pending_out() != other.sub.pending_out()
            || self.approved != other.approved
    }
}

/// The four presence types that manage subscriptions (RFC 6121 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionType {
    /// `subscribe`: a request for the recipient's presence.
    Subscribe,
    /// `subscribed`: approval of a request (or, unrequested, a pre-approval).
    Subscribed,
    /// `unsubscribe`: the sender no longer wants the recipient's presence.
    Unsubscribe,
    /// `unsubscribed`: a denial of a request, or cancellation of the recipient's subscription.
    Unsubscribed,
}

impl SubscriptionType {
    /// Every type, in the order of RFC 6121 Appendix A.2.
    pub const ALL: [Self; 4] = [
        Self::Subscribe,
        Self::Unsubscribe,
        Self::Subscribed,
        Self::Unsubscribed,
    ];

    /// The subscription type of a presence, if it is one.
    pub fn from_presence(ty: PresenceType) -> Option<Self> {
        match ty {
            PresenceType::Subscribe => Some(Self::Subscribe),
            PresenceType::Subscribed => Some(Self::Subscribed),
            PresenceType::Unsubscribe => Some(Self::Unsubscribe),
            PresenceType::Unsubscribed => Some(Self::Unsubscribed),
            _ => None,
        }
    }

    /// The presence type.
    pub fn presence_type(self) -> PresenceType {
        match self {
            Self::Subscribe => PresenceType::Subscribe,
            Self::Subscribed => PresenceType::Subscribed,
            Self::Unsubscribe => PresenceType::Unsubscribe,
            Self::Unsubscribed => PresenceType::Unsubscribed,
        }
    }
}

/// Something the user's server does besides routing or delivering the stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FollowUp {
    /// Answer the contact with `subscribed` on the user's behalf (the contact is already
    /// subscribed, A.3.1's footnote, or the user pre-approved it, §3.4), then send the contact
    /// the user's current presence if the subscription is new.
    AutoSubscribed,
    /// Send the contact the user's current presence from each available resource: the user
    /// just approved the contact's subscription (RFC 6121 §3.1.5).
    SendPresence,
    /// Send the contact `unavailable` from each available resource of the user: the contact's
    /// subscription to the user ended (RFC 6121 §3.2.2 and §3.3.3).
    SendUnavailable,
}

/// What the user's server does with one subscription stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// The item's new state (unchanged where the table says "no state change").
    pub state: State,
    /// Whether the stanza goes on: routed to the contact ([`outbound`]) or delivered to the
    /// user's available resources ([`inbound`]). When false it is dropped silently.
    pub deliver: bool,
    /// Whether the changed item must be pushed to the user's interested resources.
    pub roster_push: bool,
    /// What else the server must send, if anything.
    pub follow_up: Option<FollowUp>,
}

impl Outcome {
    fn new(old: State, new: State, deliver: bool, follow_up: Option<FollowUp>) -> Self {
        Self {
            state: new,
            deliver,
            roster_push: old.visible_change(new),
            follow_up,
        }
    }
}

/// RFC 6121 Appendix A.2: the user sent `ty` to the contact, whose item is in `state`.
pub fn outbound(state: State, ty: SubscriptionType) -> Outcome {
    use SubState as S;
    let s = state.sub;
    match ty {
        // A.2.1: always routed (the contact's server decides what it means).
        SubscriptionType::Subscribe => {
            let sub = match s {
                S::None => S::NonePendingOut,
                S::NonePendingIn => S::NonePendingOutIn,
                S::From => S::FromPendingOut,
                other => other,
            };
            Outcome::new(state, State { sub, ..state }, true, None)
        }
        // A.2.2: always routed.
        SubscriptionType::Unsubscribe => {
            let sub = match s {
                S::NonePendingOut | S::To => S::None,
                S::NonePendingOutIn | S::ToPendingIn => S::NonePendingIn,
                S::FromPendingOut | S::Both => S::From,
                other => other,
            };
            Outcome::new(state, State { sub, ..state }, true, None)
        }
        // A.2.3: an approval is routed only when a request is pending; otherwise it is a
        // pre-approval (None, None + Pending Out, To) or meaningless (From, From + Pending
        // Out, Both: the contact is subscribed already).
        SubscriptionType::Subscribed => {
            let approved_sub = match s {
                S::NonePendingIn => Some(S::From),
                S::NonePendingOutIn => Some(S::FromPendingOut),
                S::ToPendingIn => Some(S::Both),
                _ => None,
            };
            match (approved_sub, s) {
                (Some(sub), _) => {
                    Outcome::new(state, State::new(sub), true, Some(FollowUp::SendPresence))
                }
                (None, S::None | S::NonePendingOut | S::To) => {
                    Outcome::new(state, state.approved(), false, None)
                }
                (None, _) => Outcome::new(state, state, false, None),
            }
        }
        // A.2.4: routed when there is something to deny or cancel; always cancels a
        // pre-approval (§3.4).
        SubscriptionType::Unsubscribed => {
            let (deliver, sub) = match s {
                S::NonePendingIn | S::From => (true, S::None),
                S::NonePendingOutIn | S::FromPendingOut => (true, S::NonePendingOut),
                S::ToPendingIn | S::Both => (true, S::To),
                other => (false, other),
            };
            let follow_up = s.contact_subscribed().then_some(FollowUp::SendUnavailable);
            Outcome::new(state, State::new(sub), deliver, follow_up)
        }
    }
}

/// RFC 6121 Appendix A.3: `ty` arrived from the contact for the user, whose item for the
/// contact is in `state` ([`State::NONE`] when the contact is not in the roster).
pub fn inbound(state: State, ty: SubscriptionType) -> Outcome {
    use SubState as S;
    let s = state.sub;
    match ty {
        // A.3.1, with pre-approval (§3.4) ahead of the table.
        SubscriptionType::Subscribe => {
            if state.approved {
                let auto = match s {
                    S::None => Some(S::From),
                    S::NonePendingOut => Some(S::FromPendingOut),
                    S::To => Some(S::Both),
                    _ => None,
                };
                if let Some(sub) = auto {
                    return Outcome::new(
                        state,
                        State::new(sub),
                        false,
                        Some(FollowUp::AutoSubscribed),
                    );
                }
            }
            match s {
                S::None => Outcome::new(
                    state,
                    State {
                        sub: S::NonePendingIn,
                        ..state
                    },
                    true,
                    None,
                ),
                S::NonePendingOut => Outcome::new(
                    state,
                    State {
                        sub: S::NonePendingOutIn,
                        ..state
                    },
                    true,
                    None,
                ),
                S::To => Outcome::new(
                    state,
                    State {
                        sub: S::ToPendingIn,
                        ..state
                    },
                    true,
                    None,
                ),
                // Already pending: the user was told once (and is told again at login).
                S::NonePendingIn | S::NonePendingOutIn | S::ToPendingIn => {
                    Outcome::new(state, state, false, None)
                }
                // Already subscribed: the footnote of A.3.1 has the server answer.
                S::From | S::FromPendingOut | S::Both => {
                    Outcome::new(state, state, false, Some(FollowUp::AutoSubscribed))
                }
            }
        }
        // A.3.2
        SubscriptionType::Unsubscribe => {
            let (deliver, sub) = match s {
                S::NonePendingIn | S::From => (true, S::None),
                S::NonePendingOutIn | S::FromPendingOut => (true, S::NonePendingOut),
                S::ToPendingIn | S::Both => (true, S::To),
                other => (false, other),
            };
            let follow_up = s.contact_subscribed().then_some(FollowUp::SendUnavailable);
            Outcome::new(state, State { sub, ..state }, deliver, follow_up)
        }
        // A.3.3
        SubscriptionType::Subscribed => {
            let (deliver, sub) = match s {
                S::NonePendingOut => (true, S::To),
                S::NonePendingOutIn => (true, S::ToPendingIn),
                S::FromPendingOut => (true, S::Both),
                other => (false, other),
            };
            Outcome::new(state, State { sub, ..state }, deliver, None)
        }
        // A.3.4
        SubscriptionType::Unsubscribed => {
            let (deliver, sub) = match s {
                S::NonePendingOut | S::To => (true, S::None),
                S::NonePendingOutIn | S::ToPendingIn => (true, S::NonePendingIn),
                S::FromPendingOut | S::Both => (true, S::From),
                other => (false, other),
            };
            Outcome::new(state, State { sub, ..state }, deliver, None)
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn from_parts_round_trips_every_state() {
        for s in SubState::ALL {
            assert_eq!(
                SubState::from_parts(s.subscription(), s.pending_out(), s.pending_in()),
                s,
                "{}",
                s.rfc_name()
            );
        }
    }

    #[test]
    fn impossible_flags_are_dropped() {
        assert_eq!(
            SubState::from_parts(Subscription::Both, true, true),
            SubState::Both
        );
        assert_eq!(
            SubState::from_parts(Subscription::To, true, false),
            SubState::To
        );
        assert_eq!(
            SubState::from_parts(Subscription::From, false, true),
            SubState::From
        );
        assert_eq!(
            SubState::from_parts(Subscription::Remove, true, false),
            SubState::NonePendingOut
        );
    }

    #[test]
    fn who_sees_whom() {
        for s in SubState::ALL {
            let sub = s.subscription();
            assert_eq!(
                s.user_subscribed(),
                matches!(sub, Subscription::To | Subscription::Both),
                "{}",
                s.rfc_name()
            );
            assert_eq!(
                s.contact_subscribed(),
                matches!(sub, Subscription::From | Subscription::Both),
                "{}",
                s.rfc_name()
            );
        }
    }

    #[test]
    fn presence_types_map() {
        for t in SubscriptionType::ALL {
            assert_eq!(SubscriptionType::from_presence(t.presence_type()), Some(t));
        }
        assert_eq!(SubscriptionType::from_presence(PresenceType::Probe), None);
        assert_eq!(
            SubscriptionType::from_presence(PresenceType::Available),
            None
        );
    }
}
