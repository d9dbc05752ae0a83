use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::Element;
use crate::error::StreamCondition;
use crate::stanza::PresenceType;

/// Bound sessions with their availability (`None`: no initial presence yet).
struct Sessions(Vec<(FullJid, Option<i8>)>);

impl SessionTable for Sessions {
    fn resources_of(&self, account: &BareJid, out: &mut Vec<BoundResource>) {
        out.extend(
            self.0
                .iter()
                .filter(|(j, _)| j.bare_str() == account.as_str())
                .map(|(jid, availability)| BoundResource {
                    jid: jid.clone(),
                    availability: *availability,
                }),
        );
    }
    fn is_bound(&self, jid: &FullJid) -> bool {
        self.0.iter().any(|(j, _)| j == jid)
    }
}

fn full(s: &str) -> FullJid {
    s.parse().expect("valid full JID")
}

fn stanza(xml: &str) -> Stanza {
    let el: Element = xml.parse().expect("well-formed");
    Stanza::from_element(el).expect("valid stanza")
}

fn router() -> Router {
    let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    Router::new(
        ["example.org".to_owned()],
        ServerInfo::new("Chatrix", "0.1.0", started),
    )
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_042)
}

fn online() -> Sessions {
    Sessions(vec![
        (full("alice@example.org/phone"), Some(0)),
        (full("bob@example.org/laptop"), Some(0)),
        (full("bob@example.org/phone"), Some(0)),
    ])
}

fn route(from: &str, xml: &str) -> Vec<Action> {
    router().route_from_client(&full(from), stanza(xml), &online(), now())
}

fn only_delivery(actions: &[Action]) -> (&FullJid, &Stanza) {
    match actions {
        [Action::Deliver { to, stanza }] => (to, stanza),
        other => panic!("expected one delivery, got {other:?}"),
    }
}

fn error_condition(s: &Stanza) -> StanzaCondition {
    s.error()
        .expect("an error stanza")
        .expect("a parsable error")
        .condition
}

#[test]
fn delivers_to_a_bound_full_jid_with_from_stamped() {
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' to='bob@example.org/laptop' type='chat' id='1'><body>hi</body></message>",
    );
    let (to, s) = only_delivery(&actions);
    assert_eq!(to.as_str(), "bob@example.org/laptop");
    assert_eq!(s.from().map(Jid::as_str), Some("alice@example.org/phone"));
    assert_eq!(s.id(), Some("1"));
}

#[test]
fn own_bare_jid_as_from_is_stamped_to_the_full_jid() {
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' from='alice@example.org' to='bob@example.org/laptop'/>",
    );
    let (_, s) = only_delivery(&actions);
    assert_eq!(s.from().map(Jid::as_str), Some("alice@example.org/phone"));
}

#[test]
fn a_spoofed_from_closes_the_sender_with_invalid_from() {
    for from in [
        "bob@example.org/laptop",
        "example.org",
        "alice@example.org/other",
        "mallory@evil.example",
    ] {
        let xml = format!(
            "<message xmlns='jabber:client' from='{from}' to='bob@example.org/laptop'><body>x</body></message>"
        );
        let actions = route("alice@example.org/phone", &xml);
        assert_eq!(actions.len(), 1, "{from}");
        let Action::CloseSender(e) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(e.condition, StreamCondition::InvalidFrom, "{from}");
    }
}

#[test]
fn unknown_iq_to_the_server_is_service_unavailable() {
    let actions = route(
        "alice@example.org/phone",
        "<iq xmlns='jabber:client' type='get' id='q1' to='example.org'><query xmlns='urn:unknown'/></iq>",
    );
    let (to, reply) = only_delivery(&actions);
    assert_eq!(to.as_str(), "alice@example.org/phone");
    assert_eq!(reply.id(), Some("q1"));
    assert_eq!(reply.from().map(Jid::as_str), Some("example.org"));
    assert_eq!(error_condition(reply), StanzaCondition::ServiceUnavailable);
}

#[test]
fn ping_version_time_last_and_disco_on_the_domain() {
    let cases = [
        ("<ping xmlns='urn:xmpp:ping'/>", None),
        (
            "<query xmlns='jabber:iq:version'/>",
            Some(
                "<query xmlns='jabber:iq:version'><name>Chatrix</name><version>0.1.0</version></query>",
            ),
        ),
        (
            "<time xmlns='urn:xmpp:time'/>",
            Some(
                "<time xmlns='urn:xmpp:time'><tzo>+00:00</tzo><utc>2023-11-14T22:14:02.000Z</utc></time>",
            ),
        ),
        (
            "<query xmlns='jabber:iq:last'/>",
            Some("<query xmlns='jabber:iq:last' seconds='42'/>"),
        ),
        (
            "<query xmlns='http://jabber.org/protocol/disco#items'/>",
            Some("<query xmlns='http://jabber.org/protocol/disco#items'/>"),
        ),
    ];
    for (payload, expected) in cases {
        let xml =
            format!("<iq xmlns='jabber:client' type='get' id='x' to='example.org'>{payload}</iq>");
        let actions = route("alice@example.org/phone", &xml);
        let (_, reply) = only_delivery(&actions);
        assert_eq!(reply.element().attr("type"), Some("result"), "{payload}");
        let got = reply.iq_payload().map(ToString::to_string);
        assert_eq!(got.as_deref(), expected, "{payload}");
    }
    let actions = route(
        "alice@example.org/phone",
        "<iq xmlns='jabber:client' type='get' id='d' to='example.org'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let (_, reply) = only_delivery(&actions);
    let query = reply.iq_payload().expect("a query");
    let features: Vec<_> = query.children().filter_map(|f| f.attr("var")).collect();
    assert!(features.contains(&"urn:xmpp:ping"), "{features:?}");
    assert!(
        query
            .children()
            .any(|i| i.attr("category") == Some("server") && i.attr("type") == Some("im"))
    );
}

#[test]
fn the_caps_node_is_answered_and_unknown_nodes_are_not() {
    let r = router();
    let caps = r.info().caps_element();
    let node = format!(
        "{}#{}",
        caps.attr("node").unwrap_or(""),
        caps.attr("ver").unwrap_or("")
    );
    let xml = format!(
        "<iq xmlns='jabber:client' type='get' id='d' to='example.org'><query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>"
    );
    let actions = r.route_from_client(
        &full("alice@example.org/phone"),
        stanza(&xml),
        &online(),
        now(),
    );
    let (_, reply) = only_delivery(&actions);
    assert_eq!(reply.element().attr("type"), Some("result"));
    // The answer for the node hashes to the advertised ver.
    let q = reply.iq_payload().expect("query");
    assert_eq!(q.attr("node"), Some(node.as_str()));

    let xml = "<iq xmlns='jabber:client' type='get' id='d' to='example.org'><query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>";
    let actions = r.route_from_client(
        &full("alice@example.org/phone"),
        stanza(xml),
        &online(),
        now(),
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::ItemNotFound
    );
}

#[test]
fn set_on_a_get_only_namespace_is_not_allowed() {
    let actions = route(
        "alice@example.org/phone",
        "<iq xmlns='jabber:client' type='set' id='x' to='example.org'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::NotAllowed
    );
}

#[test]
fn iq_without_to_is_answered_for_the_account() {
    let actions = route(
        "alice@example.org/phone",
        "<iq xmlns='jabber:client' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let (to, reply) = only_delivery(&actions);
    assert_eq!(to.as_str(), "alice@example.org/phone");
    let q = reply.iq_payload().expect("query");
    assert!(q.children().any(|i| i.attr("category") == Some("account")));
}

#[test]
fn remote_domains_are_not_found_until_s2s() {
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' to='romeo@montague.example' id='r'><body>x</body></message>",
    );
    let (to, reply) = only_delivery(&actions);
    assert_eq!(to.as_str(), "alice@example.org/phone");
    assert_eq!(
        reply.from().map(Jid::as_str),
        Some("romeo@montague.example")
    );
    assert_eq!(
        error_condition(reply),
        StanzaCondition::RemoteServerNotFound
    );
}

#[test]
fn errors_are_never_answered_with_errors() {
    for xml in [
        "<message xmlns='jabber:client' type='error' to='romeo@montague.example'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        "<iq xmlns='jabber:client' type='error' id='e' to='bob@example.org/gone'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<iq xmlns='jabber:client' type='result' id='e' to='bob@example.org/gone'/>",
        "<message xmlns='jabber:client' type='error' to='carol@example.org'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    ] {
        assert_eq!(route("alice@example.org/phone", xml), vec![], "{xml}");
    }
}

#[test]
fn iq_to_an_offline_full_jid_is_service_unavailable() {
    let actions = route(
        "alice@example.org/phone",
        "<iq xmlns='jabber:client' type='get' id='v' to='bob@example.org/gone'><query xmlns='jabber:iq:version'/></iq>",
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::ServiceUnavailable
    );
}

#[test]
fn chat_to_an_offline_resource_falls_back_to_the_bare_jid() {
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='chat' to='bob@example.org/gone'><body>x</body></message>",
    );
    let mut to: Vec<_> = actions
        .iter()
        .map(|a| match a {
            Action::Deliver { to, .. } => to.as_str().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    to.sort();
    assert_eq!(to, ["bob@example.org/laptop", "bob@example.org/phone"]);
    // Headlines to an offline resource are dropped; groupchat bounces.
    assert_eq!(
        route(
            "alice@example.org/phone",
            "<message xmlns='jabber:client' type='headline' to='bob@example.org/gone'/>"
        ),
        vec![]
    );
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='groupchat' to='bob@example.org/gone'/>",
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::ServiceUnavailable
    );
}

#[test]
fn a_message_for_an_account_with_no_session_goes_to_offline_storage() {
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='chat' to='carol@example.org' id='c'><body>x</body></message>",
    );
    let [Action::StoreOffline { account, stanza }] = actions.as_slice() else {
        panic!("{actions:?}");
    };
    assert_eq!(account.as_str(), "carol@example.org");
    assert_eq!(stanza.id(), Some("c"));
    assert_eq!(
        stanza.from().map(Jid::as_str),
        Some("alice@example.org/phone")
    );
    // A chat state alone is not worth storing: dropped, with no hint about the account.
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='chat' to='carol@example.org'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
    );
    assert_eq!(actions, vec![]);
}

#[test]
fn messages_to_the_server_are_bounced() {
    let actions = route(
        "alice@example.org/phone",
        "<message xmlns='jabber:client' to='example.org'><body>hello server</body></message>",
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::ServiceUnavailable
    );
}

#[test]
fn a_probe_to_the_server_is_answered_with_its_presence_and_caps() {
    let r = router();
    for xml in [
        "<presence xmlns='jabber:client' type='probe' to='example.org'/>",
        "<presence xmlns='jabber:client' to='example.org'/>",
    ] {
        let actions = r.route_from_client(
            &full("alice@example.org/phone"),
            stanza(xml),
            &online(),
            now(),
        );
        let (to, presence) = only_delivery(&actions);
        assert_eq!(to.as_str(), "alice@example.org/phone");
        assert_eq!(presence.from().map(Jid::as_str), Some("example.org"));
        assert_eq!(presence.presence_type(), Some(PresenceType::Available));
        let caps = presence.element().get_child("c", ns::CAPS).expect("caps");
        assert_eq!(caps, &r.info().caps_element());
    }
    // Unavailable presence to the server is just absorbed.
    let actions = r.route_from_client(
        &full("alice@example.org/phone"),
        stanza("<presence xmlns='jabber:client' type='unavailable' to='example.org'/>"),
        &online(),
        now(),
    );
    assert_eq!(actions, vec![]);
}

fn route_with(sessions: &Sessions, from: &str, xml: &str) -> Vec<Action> {
    router().route_from_client(&full(from), stanza(xml), sessions, now())
}

fn delivered_to(actions: &[Action]) -> Vec<&str> {
    let mut to: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Deliver { to, .. } => Some(to.as_str()),
            _ => None,
        })
        .collect();
    to.sort_unstable();
    to
}

/// RFC 6121 §8.5.2.1.1 with three resources at priorities 5, 5 and 1, one at -1 and one that
/// never sent presence.
fn bob_at_priorities() -> Sessions {
    Sessions(vec![
        (full("alice@example.org/phone"), Some(0)),
        (full("bob@example.org/a"), Some(5)),
        (full("bob@example.org/b"), Some(5)),
        (full("bob@example.org/c"), Some(1)),
        (full("bob@example.org/away"), Some(-1)),
        (full("bob@example.org/silent"), None),
    ])
}

#[test]
fn bare_chat_and_normal_go_to_the_highest_priority_resources() {
    let sessions = bob_at_priorities();
    for ty in ["chat", "normal"] {
        let xml = format!(
            "<message xmlns='jabber:client' type='{ty}' to='bob@example.org'><body>x</body></message>"
        );
        let actions = route_with(&sessions, "alice@example.org/phone", &xml);
        assert_eq!(
            delivered_to(&actions),
            ["bob@example.org/a", "bob@example.org/b"],
            "{ty}"
        );
    }
    // Headlines go to every non-negative available resource.
    let actions = route_with(
        &sessions,
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='headline' to='bob@example.org'><body>x</body></message>",
    );
    assert_eq!(
        delivered_to(&actions),
        [
            "bob@example.org/a",
            "bob@example.org/b",
            "bob@example.org/c"
        ]
    );
    // A full JID reaches any bound resource, even one that sent no presence.
    let actions = route_with(
        &sessions,
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='chat' to='bob@example.org/silent'><body>x</body></message>",
    );
    assert_eq!(delivered_to(&actions), ["bob@example.org/silent"]);
}

#[test]
fn only_negative_or_silent_resources_means_offline() {
    let sessions = Sessions(vec![
        (full("alice@example.org/phone"), Some(0)),
        (full("bob@example.org/away"), Some(-1)),
        (full("bob@example.org/silent"), None),
    ]);
    let actions = route_with(
        &sessions,
        "alice@example.org/phone",
        "<message xmlns='jabber:client' type='chat' to='bob@example.org'><body>x</body></message>",
    );
    assert!(
        matches!(actions.as_slice(), [Action::StoreOffline { account, .. }] if account.as_str() == "bob@example.org"),
        "{actions:?}"
    );
    // Presence to the bare JID still reaches every available resource, negative included.
    let actions = route_with(
        &sessions,
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' to='bob@example.org'/>",
    );
    assert_eq!(delivered_to(&actions), ["bob@example.org/away"]);
}

#[test]
fn presence_without_to_is_a_broadcast_with_its_priority() {
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client'><priority>7</priority></presence>",
    );
    let [Action::BroadcastPresence { stanza, priority }] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(*priority, Some(7));
    assert_eq!(
        stanza.from().map(Jid::as_str),
        Some("alice@example.org/phone")
    );
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' type='unavailable'/>",
    );
    assert!(matches!(
        actions.as_slice(),
        [Action::BroadcastPresence { priority: None, .. }]
    ));
    // A priority out of range is refused with bad-request and nothing is broadcast.
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client'><priority>200</priority></presence>",
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::BadRequest
    );
}

#[test]
fn subscriptions_probes_and_roster_iqs_come_back_as_actions() {
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' type='subscribe' to='bob@example.org/laptop'/>",
    );
    let [Action::Subscription { contact, kind, .. }] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    // §3.1.1: the contact is the bare JID, whatever the client wrote.
    assert_eq!(contact.as_str(), "bob@example.org");
    assert_eq!(*kind, crate::roster::SubscriptionType::Subscribe);
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' type='subscribe' to='romeo@montague.example'/>",
    );
    assert_eq!(
        error_condition(only_delivery(&actions).1),
        StanzaCondition::RemoteServerNotFound
    );
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' type='probe' to='bob@example.org'/>",
    );
    assert!(
        matches!(actions.as_slice(), [Action::Probe { contact }] if contact.as_str() == "bob@example.org")
    );
    for xml in [
        "<iq xmlns='jabber:client' type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>",
        "<iq xmlns='jabber:client' type='set' id='r' to='alice@example.org'><query xmlns='jabber:iq:roster'><item jid='x@example.org'/></query></iq>",
    ] {
        let actions = route("alice@example.org/phone", xml);
        assert!(
            matches!(actions.as_slice(), [Action::RosterIq(_)]),
            "{xml}: {actions:?}"
        );
    }
    // Someone else's roster is not the sender's to read.
    let actions = route(
        "alice@example.org/phone",
        "<iq xmlns='jabber:client' type='get' id='r' to='bob@example.org'><query xmlns='jabber:iq:roster'/></iq>",
    );
    assert!(
        !matches!(actions.as_slice(), [Action::RosterIq(_)]),
        "{actions:?}"
    );
}

#[test]
fn directed_presence_is_delivered_and_remembered() {
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' to='bob@example.org/laptop'/>",
    );
    assert_eq!(delivered_to(&actions), ["bob@example.org/laptop"]);
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::DirectedPresence { to, available: true } if to.as_str() == "bob@example.org/laptop"
    )));
    // Even to someone offline: they may come online before Alice leaves.
    let actions = route(
        "alice@example.org/phone",
        "<presence xmlns='jabber:client' to='carol@example.org'/>",
    );
    assert!(matches!(
        actions.as_slice(),
        [Action::DirectedPresence {
            available: true,
            ..
        }]
    ));
}

#[test]
fn own_register_requests_go_to_the_account_service() {
    for xml in [
        "<iq xmlns='jabber:client' type='get' id='r'><query xmlns='jabber:iq:register'/></iq>",
        "<iq xmlns='jabber:client' type='set' id='r' to='example.org'><query xmlns='jabber:iq:register'><remove/></query></iq>",
        "<iq xmlns='jabber:client' type='set' id='r' to='alice@example.org'><query xmlns='jabber:iq:register'><username>alice</username><password>x</password></query></iq>",
    ] {
        let actions = route("alice@example.org/phone", xml);
        assert!(
            matches!(actions.as_slice(), [Action::RegisterIq(_)]),
            "{xml}: {actions:?}"
        );
    }
    // Another account, another domain, a result: not a request about the sender's account.
    for xml in [
        "<iq xmlns='jabber:client' type='set' id='r' to='bob@example.org'><query xmlns='jabber:iq:register'><remove/></query></iq>",
        "<iq xmlns='jabber:client' type='get' id='r' to='other.example'><query xmlns='jabber:iq:register'/></iq>",
        "<iq xmlns='jabber:client' type='result' id='r'><query xmlns='jabber:iq:register'/></iq>",
    ] {
        let actions = route("alice@example.org/phone", xml);
        assert!(
            !actions.iter().any(|a| matches!(a, Action::RegisterIq(_))),
            "{xml}: {actions:?}"
        );
    }
}

fn router_with_archive() -> Router {
    let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let info = ServerInfo::new("Chatrix", "0.1.0", started)
        .with_account_iq("urn:xmpp:mam:2")
        .with_account_feature("urn:xmpp:mam:2");
    Router::new(["example.org".to_owned()], info)
}

#[test]
fn own_account_iqs_in_a_registered_namespace_go_to_the_server() {
    let router = router_with_archive();
    let alice = full("alice@example.org/phone");
    for xml in [
        "<iq xmlns='jabber:client' type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>",
        "<iq xmlns='jabber:client' type='get' id='q' to='alice@example.org'><metadata xmlns='urn:xmpp:mam:2'/></iq>",
    ] {
        let actions = router.route_from_client(&alice, stanza(xml), &online(), now());
        assert!(
            matches!(actions.as_slice(), [Action::AccountIq(s)] if s.from().is_some()),
            "{xml}: {actions:?}"
        );
    }
    // Another account's archive is not the sender's to read.
    let peek = "<iq xmlns='jabber:client' type='set' id='q' to='bob@example.org'><query xmlns='urn:xmpp:mam:2'/></iq>";
    let actions = router.route_from_client(&alice, stanza(peek), &online(), now());
    let (_, reply) = only_delivery(&actions);
    assert_eq!(error_condition(reply), StanzaCondition::Forbidden);
    // Another account's archive, a result, or an unregistered namespace: not for the server.
    for xml in [
        "<iq xmlns='jabber:client' type='set' id='q' to='bob@example.org'><query xmlns='urn:xmpp:mam:2'/></iq>",
        "<iq xmlns='jabber:client' type='result' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>",
        "<iq xmlns='jabber:client' type='get' id='q'><query xmlns='urn:example:other'/></iq>",
    ] {
        let actions = router.route_from_client(&alice, stanza(xml), &online(), now());
        assert!(
            !actions.iter().any(|a| matches!(a, Action::AccountIq(_))),
            "{xml}: {actions:?}"
        );
    }
}

#[test]
fn account_features_are_advertised_on_the_own_bare_jid_only() {
    let router = router_with_archive();
    let disco = |from: &str, to: &str| {
        let xml = format!(
            "<iq xmlns='jabber:client' type='get' id='d' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        );
        let actions = router.route_from_client(&full(from), stanza(&xml), &online(), now());
        let (_, reply) = only_delivery(&actions);
        let payload = reply.iq_payload().expect("a disco answer").clone();
        payload
            .children()
            .filter(|c| c.name() == "feature")
            .filter_map(|c| c.attr("var").map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(
        disco("alice@example.org/phone", "alice@example.org")
            .contains(&"urn:xmpp:mam:2".to_owned())
    );
    assert!(
        !disco("alice@example.org/phone", "bob@example.org").contains(&"urn:xmpp:mam:2".to_owned())
    );
}
