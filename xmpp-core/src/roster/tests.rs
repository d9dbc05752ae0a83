//! RFC 6121 Appendix A row by row, the §2.3.3 checks, XML round trips, versioning, the store
//! and the roster iqs.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use super::*;
use crate::element::Element;
use crate::error::{StanzaCondition, StanzaError};
use crate::jid::{BareJid, FullJid, Jid};
use crate::ns;

use SubState as S;
use SubscriptionType as T;

// --- Appendix A --------------------------------------------------------------------------

/// One row: existing state, whether the stanza is routed / delivered, new state.
type Row = (SubState, bool, SubState);

/// A.2.1, outbound `subscribe`.
const A_2_1: [Row; 9] = [
    (S::None, true, S::NonePendingOut),
    (S::NonePendingOut, true, S::NonePendingOut),
    (S::NonePendingIn, true, S::NonePendingOutIn),
    (S::NonePendingOutIn, true, S::NonePendingOutIn),
    (S::To, true, S::To),
    (S::ToPendingIn, true, S::ToPendingIn),
    (S::From, true, S::FromPendingOut),
    (S::FromPendingOut, true, S::FromPendingOut),
    (S::Both, true, S::Both),
];

/// A.2.2, outbound `unsubscribe`.
const A_2_2: [Row; 9] = [
    (S::None, true, S::None),
    (S::NonePendingOut, true, S::None),
    (S::NonePendingIn, true, S::NonePendingIn),
    (S::NonePendingOutIn, true, S::NonePendingIn),
    (S::To, true, S::None),
    (S::ToPendingIn, true, S::NonePendingIn),
    (S::From, true, S::From),
    (S::FromPendingOut, true, S::From),
    (S::Both, true, S::From),
];

/// A.2.3, outbound `subscribed` ("pre-approved" rows keep the state; checked separately).
const A_2_3: [Row; 9] = [
    (S::None, false, S::None),
    (S::NonePendingOut, false, S::NonePendingOut),
    (S::NonePendingIn, true, S::From),
    (S::NonePendingOutIn, true, S::FromPendingOut),
    (S::To, false, S::To),
    (S::ToPendingIn, true, S::Both),
    (S::From, false, S::From),
    (S::FromPendingOut, false, S::FromPendingOut),
    (S::Both, false, S::Both),
];

/// A.2.4, outbound `unsubscribed`.
const A_2_4: [Row; 9] = [
    (S::None, false, S::None),
    (S::NonePendingOut, false, S::NonePendingOut),
    (S::NonePendingIn, true, S::None),
    (S::NonePendingOutIn, true, S::NonePendingOut),
    (S::To, false, S::To),
    (S::ToPendingIn, true, S::To),
    (S::From, true, S::None),
    (S::FromPendingOut, true, S::NonePendingOut),
    (S::Both, true, S::To),
];

/// A.3.1, inbound `subscribe` (without pre-approval).
const A_3_1: [Row; 9] = [
    (S::None, true, S::NonePendingIn),
    (S::NonePendingOut, true, S::NonePendingOutIn),
    (S::NonePendingIn, false, S::NonePendingIn),
    (S::NonePendingOutIn, false, S::NonePendingOutIn),
    (S::To, true, S::ToPendingIn),
    (S::ToPendingIn, false, S::ToPendingIn),
    (S::From, false, S::From),
    (S::FromPendingOut, false, S::FromPendingOut),
    (S::Both, false, S::Both),
];

/// A.3.2, inbound `unsubscribe`.
const A_3_2: [Row; 9] = [
    (S::None, false, S::None),
    (S::NonePendingOut, false, S::NonePendingOut),
    (S::NonePendingIn, true, S::None),
    (S::NonePendingOutIn, true, S::NonePendingOut),
    (S::To, false, S::To),
    (S::ToPendingIn, true, S::To),
    (S::From, true, S::None),
    (S::FromPendingOut, true, S::NonePendingOut),
    (S::Both, true, S::To),
];

/// A.3.3, inbound `subscribed`.
const A_3_3: [Row; 9] = [
    (S::None, false, S::None),
    (S::NonePendingOut, true, S::To),
    (S::NonePendingIn, false, S::NonePendingIn),
    (S::NonePendingOutIn, true, S::ToPendingIn),
    (S::To, false, S::To),
    (S::ToPendingIn, false, S::ToPendingIn),
    (S::From, false, S::From),
    (S::FromPendingOut, true, S::Both),
    (S::Both, false, S::Both),
];

/// A.3.4, inbound `unsubscribed`.
const A_3_4: [Row; 9] = [
    (S::None, false, S::None),
    (S::NonePendingOut, true, S::None),
    (S::NonePendingIn, false, S::NonePendingIn),
    (S::NonePendingOutIn, true, S::NonePendingIn),
    (S::To, true, S::None),
    (S::ToPendingIn, true, S::NonePendingIn),
    (S::From, false, S::From),
    (S::FromPendingOut, true, S::From),
    (S::Both, true, S::From),
];

fn check_table(
    name: &str,
    table: &[Row; 9],
    f: fn(State, SubscriptionType) -> Outcome,
    ty: SubscriptionType,
) {
    // Every state appears once, in the RFC's order.
    let states: Vec<SubState> = table.iter().map(|r| r.0).collect();
    assert_eq!(states, SubState::ALL, "{name}: rows");
    for &(from, deliver, to) in table {
        let out = f(State::new(from), ty);
        let row = format!("{name} {ty:?} in \"{}\"", from.rfc_name());
        assert_eq!(out.deliver, deliver, "{row}: route/deliver");
        assert_eq!(out.state.sub, to, "{row}: new state");
        let visible =
            from.subscription() != to.subscription() || from.pending_out() != to.pending_out();
        // Pre-approval is the one visible change without a state change (A.2.3).
        let approval = out.state.approved;
        assert_eq!(out.roster_push, visible || approval, "{row}: roster push");
    }
}

#[test]
fn a_2_1_outbound_subscribe() {
    check_table("A.2.1", &A_2_1, outbound, T::Subscribe);
}

#[test]
fn a_2_2_outbound_unsubscribe() {
    check_table("A.2.2", &A_2_2, outbound, T::Unsubscribe);
}

#[test]
fn a_2_3_outbound_subscribed() {
    check_table("A.2.3", &A_2_3, outbound, T::Subscribed);
    for (from, _, _) in A_2_3 {
        let out = outbound(State::new(from), T::Subscribed);
        let pre_approves = matches!(from, S::None | S::NonePendingOut | S::To);
        assert_eq!(out.state.approved, pre_approves, "{}", from.rfc_name());
        assert_eq!(
            out.roster_push,
            pre_approves || out.deliver,
            "{}",
            from.rfc_name()
        );
        let follow = out.deliver.then_some(FollowUp::SendPresence);
        assert_eq!(out.follow_up, follow, "{}", from.rfc_name());
    }
}

#[test]
fn a_2_4_outbound_unsubscribed() {
    check_table("A.2.4", &A_2_4, outbound, T::Unsubscribed);
    for (from, _, _) in A_2_4 {
        let out = outbound(State::new(from), T::Unsubscribed);
        let follow = from
            .contact_subscribed()
            .then_some(FollowUp::SendUnavailable);
        assert_eq!(out.follow_up, follow, "{}", from.rfc_name());
    }
}

#[test]
fn a_3_1_inbound_subscribe() {
    check_table("A.3.1", &A_3_1, inbound, T::Subscribe);
    for (from, _, _) in A_3_1 {
        let out = inbound(State::new(from), T::Subscribe);
        let follow = from
            .contact_subscribed()
            .then_some(FollowUp::AutoSubscribed);
        assert_eq!(out.follow_up, follow, "{}", from.rfc_name());
        // "Pending In" is never shown: no push for any A.3.1 row.
        assert!(!out.roster_push, "{}", from.rfc_name());
    }
}

#[test]
fn a_3_2_inbound_unsubscribe() {
    check_table("A.3.2", &A_3_2, inbound, T::Unsubscribe);
    for (from, _, _) in A_3_2 {
        let out = inbound(State::new(from), T::Unsubscribe);
        let follow = from
            .contact_subscribed()
            .then_some(FollowUp::SendUnavailable);
        assert_eq!(out.follow_up, follow, "{}", from.rfc_name());
    }
}

#[test]
fn a_3_3_inbound_subscribed() {
    check_table("A.3.3", &A_3_3, inbound, T::Subscribed);
}

#[test]
fn a_3_4_inbound_unsubscribed() {
    check_table("A.3.4", &A_3_4, inbound, T::Unsubscribed);
}

#[test]
fn approved_only_where_it_means_something() {
    // Every state reachable from "None" by any sequence of stanzas either way: `approved`
    // appears only with "None", "None + Pending Out" and "To" (§2.1.2.1).
    let mut seen = vec![State::NONE];
    let mut todo = vec![State::NONE];
    while let Some(st) = todo.pop() {
        if st.approved {
            assert!(
                matches!(st.sub, S::None | S::NonePendingOut | S::To),
                "reached approved {}",
                st.sub.rfc_name()
            );
        }
        for t in SubscriptionType::ALL {
            for next in [outbound(st, t).state, inbound(st, t).state] {
                if !seen.contains(&next) {
                    seen.push(next);
                    todo.push(next);
                }
            }
        }
    }
    // All nine states are reachable, and the three pre-approved ones.
    assert_eq!(seen.len(), 12);
}

// --- Pre-approval (§3.4) ------------------------------------------------------------------

#[test]
fn pre_approval_then_subscribe_is_auto_approved() {
    for (before, after) in [
        (S::None, S::From),
        (S::NonePendingOut, S::FromPendingOut),
        (S::To, S::Both),
    ] {
        let pre = outbound(State::new(before), T::Subscribed);
        assert!(!pre.deliver);
        assert!(pre.roster_push, "the item shows approved='true'");
        assert_eq!(pre.state, State::new(before).approved());
        // Pre-approving twice changes nothing.
        let again = outbound(pre.state, T::Subscribed);
        assert_eq!(again.state, pre.state);
        assert!(!again.roster_push);

        let sub = inbound(pre.state, T::Subscribe);
        assert!(!sub.deliver, "the user is not asked again");
        assert_eq!(sub.state, State::new(after), "approved is spent");
        assert_eq!(sub.follow_up, Some(FollowUp::AutoSubscribed));
        assert!(sub.roster_push);
    }
}

#[test]
fn unsubscribed_cancels_pre_approval() {
    let pre = State::new(S::None).approved();
    let out = outbound(pre, T::Unsubscribed);
    assert!(!out.deliver);
    assert_eq!(out.state, State::new(S::None));
    assert!(out.roster_push, "approved='true' disappears from the item");
    let sub = inbound(out.state, T::Subscribe);
    assert!(sub.deliver);
    assert_eq!(sub.state.sub, S::NonePendingIn);
}

#[test]
fn pre_approval_survives_unrelated_stanzas() {
    let pre = State::new(S::NonePendingOut).approved();
    let out = inbound(pre, T::Subscribed);
    assert_eq!(out.state, State::new(S::To).approved());
    let out = outbound(pre, T::Unsubscribe);
    assert_eq!(out.state, State::new(S::None).approved());
}

#[test]
fn full_handshake_reaches_both() {
    // Romeo subscribes to Juliet; Juliet approves and subscribes back (RFC 6121 §3.1).
    let romeo = outbound(State::NONE, T::Subscribe).state;
    let juliet = inbound(State::NONE, T::Subscribe).state;
    assert_eq!(
        (romeo.sub, juliet.sub),
        (S::NonePendingOut, S::NonePendingIn)
    );
    let juliet = outbound(juliet, T::Subscribed).state;
    let romeo = inbound(romeo, T::Subscribed).state;
    assert_eq!((romeo.sub, juliet.sub), (S::To, S::From));
    let juliet = outbound(juliet, T::Subscribe).state;
    let romeo = inbound(romeo, T::Subscribe).state;
    assert_eq!((romeo.sub, juliet.sub), (S::ToPendingIn, S::FromPendingOut));
    let romeo = outbound(romeo, T::Subscribed).state;
    let juliet = inbound(juliet, T::Subscribed).state;
    assert_eq!((romeo.sub, juliet.sub), (S::Both, S::Both));
}

#[test]
fn item_state_round_trips() {
    let mut item = RosterItem::new(bare("juliet@example.com"));
    for s in SubState::ALL {
        for approved in [false, true] {
            let st = State { sub: s, approved };
            item.set_state(st);
            assert_eq!(item.state(), st);
        }
    }
}

// --- XML ----------------------------------------------------------------------------------

fn bare(s: &str) -> BareJid {
    match BareJid::new(s) {
        Ok(j) => j,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn parse(xml: &str) -> Element {
    match xml.parse::<Element>() {
        Ok(el) => el,
        Err(e) => panic!("{xml}: {e}"),
    }
}

fn full_item() -> RosterItem {
    let mut item = RosterItem::new(bare("nurse@example.com"));
    item.name = Some("Nurse".to_owned());
    item.groups = vec!["Servants".to_owned(), "Capulets <&>".to_owned()];
    item.subscription = Subscription::None;
    item.ask = true;
    item.approved = true;
    item
}

#[test]
fn item_xml_round_trip() {
    let item = full_item();
    let el = item.to_element();
    assert_eq!(el.attr("jid"), Some("nurse@example.com"));
    assert_eq!(el.attr("name"), Some("Nurse"));
    assert_eq!(el.attr("subscription"), Some("none"));
    assert_eq!(el.attr("ask"), Some("subscribe"));
    assert_eq!(el.attr("approved"), Some("true"));
    assert_eq!(RosterItem::from_element(&el), Ok(item.clone()));
    // Through text as well.
    let reparsed = parse(&el.to_string());
    assert_eq!(RosterItem::from_element(&reparsed), Ok(item));
}

#[test]
fn item_xml_minimal_and_every_subscription() {
    for sub in [
        Subscription::None,
        Subscription::To,
        Subscription::From,
        Subscription::Both,
    ] {
        let mut item = RosterItem::new(bare("romeo@example.net"));
        item.subscription = sub;
        let el = item.to_element();
        assert_eq!(el.attr("ask"), None);
        assert_eq!(el.attr("approved"), None);
        assert_eq!(el.attr("name"), None);
        assert_eq!(RosterItem::from_element(&el), Ok(item));
    }
    let el = parse("<item xmlns='jabber:iq:roster' jid='romeo@example.net'/>");
    assert_eq!(
        RosterItem::from_element(&el),
        Ok(RosterItem::new(bare("romeo@example.net")))
    );
}

#[test]
fn pending_in_is_not_in_the_xml() {
    let mut item = RosterItem::new(bare("romeo@example.net"));
    item.pending_in = true;
    let back = RosterItem::from_element(&item.to_element());
    assert_eq!(back.map(|i| i.pending_in), Ok(false));
}

#[test]
fn server_item_parse_errors() {
    for (xml, err) in [
        ("<item xmlns='jabber:iq:roster'/>", ItemError::MissingJid),
        (
            "<item xmlns='jabber:iq:roster' jid='a@b' subscription='maybe'/>",
            ItemError::UnknownSubscription("maybe".to_owned()),
        ),
        (
            "<item xmlns='jabber:iq:roster' jid='a@b' ask='unsubscribe'/>",
            ItemError::UnknownAsk("unsubscribe".to_owned()),
        ),
        (
            "<item xmlns='jabber:iq:roster' jid='a@b' approved='yes'/>",
            ItemError::InvalidApproved("yes".to_owned()),
        ),
        ("<item xmlns='urn:other' jid='a@b'/>", ItemError::NotAnItem),
    ] {
        assert_eq!(RosterItem::from_element(&parse(xml)), Err(err), "{xml}");
    }
}

// --- §2.3.3: client roster sets -----------------------------------------------------------

fn set_query(inner: &str) -> Element {
    parse(&format!("<query xmlns='jabber:iq:roster'>{inner}</query>"))
}

fn set_error(roster: &Roster, inner: &str, limits: &RosterLimits) -> StanzaCondition {
    match handle_roster_set(roster, &set_query(inner), limits) {
        Ok(change) => panic!("{inner} was accepted: {change:?}"),
        Err(e) => {
            let cond = e.condition();
            assert_eq!(StanzaError::from(e).condition, cond);
            cond
        }
    }
}

#[test]
fn set_needs_exactly_one_item() {
    let r = Roster::new();
    let l = RosterLimits::default();
    assert_eq!(set_error(&r, "", &l), StanzaCondition::BadRequest);
    assert_eq!(
        set_error(
            &r,
            "<item jid='a@example.com'/><item jid='b@example.com'/>",
            &l
        ),
        StanzaCondition::BadRequest
    );
}

#[test]
fn set_rejects_duplicate_groups_with_bad_request() {
    assert_eq!(
        set_error(
            &Roster::new(),
            "<item jid='a@example.com'><group>Friends</group><group>Friends</group></item>",
            &RosterLimits::default()
        ),
        StanzaCondition::BadRequest
    );
}

#[test]
fn set_rejects_empty_group_with_not_acceptable() {
    for inner in [
        "<item jid='a@example.com'><group/></item>",
        "<item jid='a@example.com'><group></group></item>",
    ] {
        assert_eq!(
            set_error(&Roster::new(), inner, &RosterLimits::default()),
            StanzaCondition::NotAcceptable
        );
    }
}

#[test]
fn set_enforces_length_limits_with_not_acceptable() {
    let l = RosterLimits::default();
    let long = "x".repeat(1024);
    let ok = "x".repeat(1023);
    let r = Roster::new();
    assert_eq!(
        set_error(
            &r,
            &format!("<item jid='a@example.com' name='{long}'/>"),
            &l
        ),
        StanzaCondition::NotAcceptable
    );
    assert_eq!(
        set_error(
            &r,
            &format!("<item jid='a@example.com'><group>{long}</group></item>"),
            &l
        ),
        StanzaCondition::NotAcceptable
    );
    let fine = format!("<item jid='a@example.com' name='{ok}'><group>{ok}</group></item>");
    assert!(handle_roster_set(&r, &set_query(&fine), &l).is_ok());
    // Bytes, not characters.
    let small = RosterLimits {
        max_name_bytes: 3,
        ..RosterLimits::default()
    };
    assert_eq!(
        set_error(&r, "<item jid='a@example.com' name='éé'/>", &small),
        StanzaCondition::NotAcceptable
    );
    let few = RosterLimits {
        max_groups: 1,
        ..RosterLimits::default()
    };
    assert_eq!(
        set_error(
            &r,
            "<item jid='a@example.com'><group>A</group><group>B</group></item>",
            &few
        ),
        StanzaCondition::NotAcceptable
    );
}

#[test]
fn set_jid_problems() {
    let r = Roster::new();
    let l = RosterLimits::default();
    assert_eq!(set_error(&r, "<item/>", &l), StanzaCondition::BadRequest);
    assert_eq!(
        set_error(&r, "<item jid='@example.com'/>", &l),
        StanzaCondition::JidMalformed
    );
    assert_eq!(
        set_error(&r, "<item jid='a@example.com/res'/>", &l),
        StanzaCondition::JidMalformed
    );
    assert_eq!(
        set_error(&r, "<item jid='a@example.com' subscription='bogus'/>", &l),
        StanzaCondition::BadRequest
    );
}

#[test]
fn set_ignores_subscription_ask_and_approved_from_clients() {
    // RFC 6121 §2.1.2.1, §2.1.2.2, §2.1.2.5: the server ignores them.
    let mut r = Roster::new();
    let mut item = RosterItem::new(bare("a@example.com"));
    item.set_state(State::new(S::FromPendingOut));
    r.put(item.clone());
    let q = set_query(
        "<item jid='a@example.com' subscription='both' ask='subscribe' approved='true' \
         name='A'><group>G</group></item>",
    );
    let Ok(RosterChange::Put(new)) = handle_roster_set(&r, &q, &RosterLimits::default()) else {
        panic!("not a put");
    };
    assert_eq!(new.state(), item.state());
    assert_eq!(new.name.as_deref(), Some("A"));
    assert_eq!(new.groups, ["G"]);
}

#[test]
fn set_of_a_new_item_has_no_subscription() {
    let q = set_query("<item jid='A@Example.com' name=''><group>x</group><group>y</group></item>");
    let change = handle_roster_set(&Roster::new(), &q, &RosterLimits::default());
    let mut expected = RosterItem::new(bare("a@example.com"));
    expected.groups = vec!["x".to_owned(), "y".to_owned()];
    assert_eq!(change, Ok(RosterChange::Put(expected)));
}

#[test]
fn set_allows_own_jid() {
    let q = set_query("<item jid='juliet@example.com'/>");
    assert!(handle_roster_set(&Roster::new(), &q, &RosterLimits::default()).is_ok());
}

#[test]
fn set_wrong_payload_is_bad_request() {
    let q = parse("<query xmlns='jabber:iq:private'><item jid='a@example.com'/></query>");
    assert_eq!(
        handle_roster_set(&Roster::new(), &q, &RosterLimits::default()).map_err(|e| e.condition()),
        Err(StanzaCondition::BadRequest)
    );
}

#[test]
fn remove_unknown_is_item_not_found() {
    assert_eq!(
        set_error(
            &Roster::new(),
            "<item jid='a@example.com' subscription='remove'/>",
            &RosterLimits::default()
        ),
        StanzaCondition::ItemNotFound
    );
}

#[test]
fn remove_sends_the_right_presence() {
    // (state, unsubscribe, unsubscribed), RFC 6121 §2.5.2 (pending requests are cancelled
    // too).
    for (s, unsubscribe, unsubscribed) in [
        (S::None, false, false),
        (S::NonePendingOut, true, false),
        (S::NonePendingIn, false, true),
        (S::NonePendingOutIn, true, true),
        (S::To, true, false),
        (S::ToPendingIn, true, true),
        (S::From, false, true),
        (S::FromPendingOut, true, true),
        (S::Both, true, true),
    ] {
        let mut r = Roster::new();
        let mut item = RosterItem::new(bare("a@example.com"));
        item.set_state(State::new(s));
        r.put(item.clone());
        let q = set_query("<item jid='a@example.com' subscription='remove'/>");
        assert_eq!(
            handle_roster_set(&r, &q, &RosterLimits::default()),
            Ok(RosterChange::Remove {
                removed: item,
                send_unsubscribe: unsubscribe,
                send_unsubscribed: unsubscribed,
            }),
            "{}",
            s.rfc_name()
        );
    }
}

#[test]
fn addressee_check() {
    let owner = bare("juliet@example.com");
    let j = |s: &str| match Jid::new(s) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    assert!(check_addressee(&owner, None).is_ok());
    assert!(check_addressee(&owner, Some(&j("juliet@example.com"))).is_ok());
    for other in [
        "romeo@example.com",
        "juliet@example.com/balcony",
        "example.com",
    ] {
        assert_eq!(
            check_addressee(&owner, Some(&j(other))).map_err(|e| e.condition()),
            Err(StanzaCondition::Forbidden),
            "{other}"
        );
    }
}

// --- Versioning and roster gets -----------------------------------------------------------

fn sample_roster() -> Roster {
    let mut r = Roster::new();
    r.put(full_item());
    let mut romeo = RosterItem::new(bare("romeo@example.net"));
    romeo.subscription = Subscription::Both;
    r.put(romeo);
    r
}

#[test]
fn versions_grow_with_every_change() {
    let mut r = Roster::new();
    assert_eq!(r.version(), RosterVersion::INITIAL);
    assert_eq!(
        r.put(RosterItem::new(bare("a@example.com"))),
        RosterVersion::new(1)
    );
    assert_eq!(
        r.put(RosterItem::new(bare("a@example.com"))),
        RosterVersion::new(2)
    );
    assert_eq!(
        r.remove(&bare("a@example.com")).map(|(_, v)| v),
        Some(RosterVersion::new(3))
    );
    assert_eq!(r.remove(&bare("a@example.com")), None);
    assert_eq!(r.version(), RosterVersion::new(3));
}

#[test]
fn get_without_ver_gives_full_roster_without_ver() {
    let r = sample_roster();
    let Some(q) = handle_roster_get(&r, None) else {
        panic!("empty")
    };
    assert!(q.is("query", ns::ROSTER));
    assert_eq!(q.attr("ver"), None);
    let items: Vec<RosterItem> = q
        .children()
        .filter_map(|c| RosterItem::from_element(c).ok())
        .collect();
    assert_eq!(items, r.items().cloned().collect::<Vec<_>>());
}

#[test]
fn get_with_current_ver_is_empty() {
    let r = sample_roster();
    assert_eq!(handle_roster_get(&r, Some("2")), None);
}

#[test]
fn get_with_stale_or_odd_ver_is_full_with_ver() {
    let r = sample_roster();
    for ver in ["", "1", "3", "abc", "0002"] {
        let q = handle_roster_get(&r, Some(ver));
        // "0002" is a number we could have meant, but not a string we wrote: full roster.
        let Some(q) = q else {
            panic!("{ver}: empty result")
        };
        assert_eq!(q.attr("ver"), Some("2"), "{ver}");
        assert_eq!(q.children().count(), 2, "{ver}");
    }
}

#[test]
fn get_of_empty_roster_with_ver() {
    let r = Roster::new();
    let Some(q) = handle_roster_get(&r, Some("")) else {
        panic!("empty")
    };
    assert_eq!(q.attr("ver"), Some("0"));
    assert_eq!(q.children().count(), 0);
    assert_eq!(handle_roster_get(&r, Some("0")), None);
    assert_eq!(requested_ver(&set_query("")), None);
    assert_eq!(
        requested_ver(&parse("<query xmlns='jabber:iq:roster' ver='7'/>")),
        Some("7")
    );
}

// --- Pushes -------------------------------------------------------------------------------

fn full(s: &str) -> FullJid {
    match FullJid::new(s) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn push_format() {
    let mut r = Roster::new();
    let q = set_query("<item jid='nurse@example.com' name='Nurse'><group>Servants</group></item>");
    let change = match handle_roster_set(&r, &q, &RosterLimits::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let ver = change.apply(&mut r);
    assert_eq!(change.jid(), &bare("nurse@example.com"));
    let push = change.push(Some(ver), "push1", &full("juliet@example.com/balcony"));
    let expected = parse(
        "<iq xmlns='jabber:client' type='set' id='push1' to='juliet@example.com/balcony'>\
         <query xmlns='jabber:iq:roster' ver='1'>\
         <item jid='nurse@example.com' name='Nurse' subscription='none'>\
         <group>Servants</group></item></query></iq>",
    );
    assert_eq!(push, expected);
    assert_eq!(push.attr("from"), None);
    let stanza = crate::Stanza::from_element(push);
    assert!(stanza.is_ok(), "{stanza:?}");
}

#[test]
fn remove_push_format() {
    let mut r = sample_roster();
    let q = set_query("<item jid='romeo@example.net' subscription='remove'/>");
    let change = match handle_roster_set(&r, &q, &RosterLimits::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let ver = change.apply(&mut r);
    assert_eq!(ver, RosterVersion::new(3));
    assert!(r.get(&bare("romeo@example.net")).is_none());
    let push = change.push(None, "p", &full("juliet@example.com/r"));
    let expected = parse(
        "<iq xmlns='jabber:client' type='set' id='p' to='juliet@example.com/r'>\
         <query xmlns='jabber:iq:roster'>\
         <item jid='romeo@example.net' subscription='remove'/></query></iq>",
    );
    assert_eq!(push, expected);
}

// --- Store --------------------------------------------------------------------------------

/// Runs a future that is ready at once or after a few polls, with no runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn ok<T>(r: Result<T, core::convert::Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

#[test]
fn memory_store() {
    let store = MemoryRosterStore::new();
    let juliet = bare("juliet@example.com");
    let romeo = bare("romeo@example.net");
    let empty = ok(block_on(store.get(&juliet)));
    assert!(empty.is_empty());
    assert_eq!(empty.version(), RosterVersion::INITIAL);

    let v1 = ok(block_on(
        store.put_item(&juliet, RosterItem::new(romeo.clone())),
    ));
    assert_eq!(v1, RosterVersion::new(1));
    let mut item = RosterItem::new(romeo.clone());
    item.name = Some("Romeo".to_owned());
    let v2 = ok(block_on(store.put_item(&juliet, item.clone())));
    assert_eq!(v2, RosterVersion::new(2));

    let roster = ok(block_on(store.get(&juliet)));
    assert_eq!(roster.version(), v2);
    assert_eq!(roster.get(&romeo), Some(&item));
    assert_eq!(roster.len(), 1);
    // Other accounts are separate.
    assert!(ok(block_on(store.get(&romeo))).is_empty());

    assert_eq!(
        ok(block_on(store.remove_item(&juliet, &romeo))),
        Some(RosterVersion::new(3))
    );
    assert_eq!(ok(block_on(store.remove_item(&juliet, &romeo))), None);
    assert_eq!(ok(block_on(store.remove_item(&romeo, &juliet))), None);
    assert_eq!(
        ok(block_on(store.get(&juliet))).version(),
        RosterVersion::new(3)
    );
}

#[test]
fn subscription_flow_through_the_store() {
    // The wiring to come: load, decide, store, push.
    let store = MemoryRosterStore::new();
    let juliet = bare("juliet@example.com");
    let romeo = bare("romeo@example.net");
    let roster = ok(block_on(store.get(&juliet)));
    let out = outbound(roster.state(&romeo), T::Subscribe);
    assert!(out.deliver && out.roster_push);
    let mut item = roster
        .get(&romeo)
        .cloned()
        .unwrap_or_else(|| RosterItem::new(romeo.clone()));
    item.set_state(out.state);
    let ver = ok(block_on(store.put_item(&juliet, item.clone())));
    let push = RosterChange::Put(item).push(Some(ver), "x", &full("juliet@example.com/a"));
    let pushed = push
        .get_child("query", ns::ROSTER)
        .and_then(|q| q.get_child("item", ns::ROSTER))
        .and_then(|i| i.attr("ask"));
    assert_eq!(pushed, Some("subscribe"));
}
