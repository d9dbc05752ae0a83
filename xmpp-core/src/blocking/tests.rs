//! XEP-0191 section by section: requests, answers and pushes, JID matching, the decisions for
//! blocked stanzas, and the in-memory store.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use super::*;
use crate::element::Element;
use crate::error::{ErrorType, StanzaCondition, StanzaError};
use crate::jid::{BareJid, FullJid, Jid};
use crate::ns;
use crate::stanza::{IqType, Stanza};

fn stanza(s: &str) -> Stanza {
    let el: Element = s.parse().expect("test input is well-formed");
    Stanza::from_element(el).expect("valid stanza")
}

fn jid(s: &str) -> Jid {
    s.parse().expect("valid JID")
}

fn jids(list: &[&str]) -> Vec<Jid> {
    list.iter().map(|s| jid(s)).collect()
}

fn iq(ty: &str, payload: &str) -> Stanza {
    stanza(&format!(
        "<iq xmlns='jabber:client' from='juliet@capulet.com/chamber' type='{ty}' id='b1'>\
         {payload}</iq>"
    ))
}

fn parse(ty: &str, payload: &str) -> Option<Result<BlockingRequest, StanzaCondition>> {
    BlockingRequest::parse(&iq(ty, payload)).map(|r| r.map_err(|e| e.condition()))
}

// --- §3.2–§3.5 requests ----------------------------------------------------------------------

#[test]
fn xep0191_3_2_get_blocklist() {
    assert_eq!(
        parse("get", "<blocklist xmlns='urn:xmpp:blocking'/>"),
        Some(Ok(BlockingRequest::Get))
    );
}

#[test]
fn xep0191_3_3_block_reads_items_normalised_and_once() {
    let got = parse(
        "set",
        "<block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/>\
         <item jid='Iago@Shakespeare.lit'/><item jid='ROMEO@montague.net'/>\
         <other xmlns='urn:xmpp:blocking'/><item xmlns='urn:example' jid='x@y'/></block>",
    );
    assert_eq!(
        got,
        Some(Ok(BlockingRequest::Block(jids(&[
            "romeo@montague.net",
            "iago@shakespeare.lit"
        ]))))
    );
}

#[test]
fn xep0191_3_3_empty_block_is_bad_request() {
    assert_eq!(
        parse("set", "<block xmlns='urn:xmpp:blocking'/>"),
        Some(Err(StanzaCondition::BadRequest))
    );
}

#[test]
fn xep0191_3_4_unblock_and_3_5_unblock_all() {
    assert_eq!(
        parse(
            "set",
            "<unblock xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></unblock>"
        ),
        Some(Ok(BlockingRequest::Unblock(jids(&["romeo@montague.net"]))))
    );
    assert_eq!(
        parse("set", "<unblock xmlns='urn:xmpp:blocking'/>"),
        Some(Ok(BlockingRequest::Unblock(Vec::new())))
    );
}

#[test]
fn malformed_items() {
    assert_eq!(
        parse(
            "set",
            "<block xmlns='urn:xmpp:blocking'><item jid='juliet@'/></block>"
        ),
        Some(Err(StanzaCondition::JidMalformed))
    );
    assert_eq!(
        parse(
            "set",
            "<unblock xmlns='urn:xmpp:blocking'><item jid='a@b/'/></unblock>"
        ),
        Some(Err(StanzaCondition::JidMalformed))
    );
    assert_eq!(
        parse("set", "<block xmlns='urn:xmpp:blocking'><item/></block>"),
        Some(Err(StanzaCondition::BadRequest))
    );
}

#[test]
fn errors_convert_with_condition_and_text() {
    let e = StanzaError::from(BlockingError::EmptyBlock);
    assert_eq!(
        (e.condition, e.error_type),
        (StanzaCondition::BadRequest, ErrorType::Modify)
    );
    assert!(!e.texts.is_empty());
    let Some(Err(malformed)) = BlockingRequest::parse(&iq(
        "set",
        "<block xmlns='urn:xmpp:blocking'><item jid='@x'/></block>",
    )) else {
        panic!("malformed");
    };
    let e = StanzaError::from(malformed);
    assert_eq!(e.condition, StanzaCondition::JidMalformed);
}

#[test]
fn wrong_type_for_the_element_is_bad_request() {
    for (ty, payload) in [
        ("set", "<blocklist xmlns='urn:xmpp:blocking'/>"),
        (
            "get",
            "<block xmlns='urn:xmpp:blocking'><item jid='a@b'/></block>",
        ),
        ("get", "<unblock xmlns='urn:xmpp:blocking'/>"),
        ("set", "<nonsense xmlns='urn:xmpp:blocking'/>"),
    ] {
        assert_eq!(
            parse(ty, payload),
            Some(Err(StanzaCondition::BadRequest)),
            "{ty} {payload}"
        );
    }
}

#[test]
fn not_a_blocking_request() {
    assert_eq!(parse("get", "<ping xmlns='urn:xmpp:ping'/>"), None);
    assert_eq!(
        parse("result", "<blocklist xmlns='urn:xmpp:blocking'/>"),
        None
    );
    let message =
        stanza("<message xmlns='jabber:client'><block xmlns='urn:xmpp:blocking'/></message>");
    assert_eq!(BlockingRequest::parse(&message), None);
}

// --- answers and pushes ----------------------------------------------------------------------

fn items_of(el: &Element) -> Vec<&str> {
    el.children()
        .filter(|c| c.is("item", ns::BLOCKING))
        .filter_map(|c| c.attr("jid"))
        .collect()
}

#[test]
fn xep0191_3_2_blocklist_result_lists_items_in_order() {
    let get = iq("get", "<blocklist xmlns='urn:xmpp:blocking'/>");
    let list = jids(&["romeo@montague.net", "iago@shakespeare.lit"]);
    let result = blocklist_result(&get, &list).expect("a get is answered");
    assert_eq!(result.iq_type(), Some(IqType::Result));
    assert_eq!(result.id(), Some("b1"));
    assert_eq!(
        result.to().map(Jid::as_str),
        Some("juliet@capulet.com/chamber")
    );
    let payload = result.iq_payload().expect("a blocklist");
    assert!(payload.is("blocklist", ns::BLOCKING));
    assert_eq!(
        items_of(payload),
        ["romeo@montague.net", "iago@shakespeare.lit"]
    );

    let empty = blocklist_result(&get, &[]).expect("answered");
    let payload = empty.iq_payload().expect("an empty blocklist, not nothing");
    assert!(payload.is("blocklist", ns::BLOCKING));
    assert_eq!(payload.children().count(), 0);

    let result_iq = iq("result", "");
    assert_eq!(blocklist_result(&result_iq, &list), None);
}

#[test]
fn xep0191_3_3_pushes_match_the_example() {
    let to = FullJid::new("juliet@capulet.com/chamber").expect("valid");
    let push = block_push(&to, "push1", &jids(&["romeo@montague.net"]));
    let want: Element = "<iq xmlns='jabber:client' type='set' id='push1' \
        to='juliet@capulet.com/chamber'><block xmlns='urn:xmpp:blocking'>\
        <item jid='romeo@montague.net'/></block></iq>"
        .parse()
        .expect("well-formed");
    assert_eq!(*push.element(), want);
    assert_eq!(push.from(), None);

    let push = unblock_push(&to, "push5", &[]);
    let payload = push.iq_payload().expect("unblock");
    assert!(payload.is("unblock", ns::BLOCKING));
    assert_eq!(
        payload.children().count(),
        0,
        "an empty unblock is unblock-all"
    );
    assert_eq!(push.id(), Some("push5"));
    assert_eq!(push.iq_type(), Some(IqType::Set));
}

// --- §6 matching -----------------------------------------------------------------------------

fn list(items: &[&str]) -> BlockList {
    jids(items).into_iter().collect()
}

#[test]
fn xep0191_6_full_jid_item_blocks_only_that_resource() {
    let l = list(&["romeo@montague.net/orchard"]);
    assert!(l.is_blocked(&jid("romeo@montague.net/orchard")));
    assert!(!l.is_blocked(&jid("romeo@montague.net/garden")));
    assert!(!l.is_blocked(&jid("romeo@montague.net")));
    assert!(!l.is_blocked(&jid("montague.net")));
}

#[test]
fn xep0191_6_bare_jid_item_blocks_every_resource() {
    let l = list(&["romeo@montague.net"]);
    assert!(l.is_blocked(&jid("romeo@montague.net")));
    assert!(l.is_blocked(&jid("romeo@montague.net/orchard")));
    assert!(
        l.is_blocked(&jid("Romeo@Montague.NET/orchard")),
        "normalised"
    );
    assert!(!l.is_blocked(&jid("benvolio@montague.net")));
    assert!(!l.is_blocked(&jid("montague.net")));
    assert!(!l.is_blocked(&jid("romeo@capulet.com")));
}

#[test]
fn xep0191_6_domain_resource_item_blocks_only_that_jid() {
    let l = list(&["montague.net/bot"]);
    assert!(l.is_blocked(&jid("montague.net/bot")));
    assert!(!l.is_blocked(&jid("montague.net")));
    assert!(!l.is_blocked(&jid("montague.net/other")));
    assert!(!l.is_blocked(&jid("romeo@montague.net/bot")));
}

#[test]
fn xep0191_6_domain_item_blocks_the_domain_its_users_and_subdomains() {
    let l = list(&["montague.net"]);
    for blocked in [
        "montague.net",
        "montague.net/bot",
        "romeo@montague.net",
        "romeo@montague.net/orchard",
        "muc.montague.net",
        "room@muc.montague.net/nick",
        "a.b.c.montague.net",
    ] {
        assert!(l.is_blocked(&jid(blocked)), "{blocked}");
    }
    for free in [
        "notmontague.net",
        "montague.network",
        "net",
        "romeo@capulet.com",
        "montague.net@capulet.com",
        "capulet.com/montague.net",
    ] {
        assert!(!l.is_blocked(&jid(free)), "{free}");
    }
}

#[test]
fn ip_literals_have_no_subdomains() {
    let l = list(&["192.0.2.1", "[2001:db8::1]"]);
    assert!(l.is_blocked(&jid("a@192.0.2.1/r")));
    assert!(l.is_blocked(&jid("a@[2001:db8::1]")));
    assert!(!l.is_blocked(&jid("a@192.0.2.10")));
}

#[test]
fn empty_list_blocks_nothing() {
    let l = BlockList::new();
    assert!(l.is_empty());
    assert!(!l.is_blocked(&jid("romeo@montague.net")));
}

#[test]
fn block_unblock_keep_order_and_report_changes() {
    let mut l = BlockList::new();
    assert_eq!(
        l.block(&jids(&["a@x", "b@x", "a@x"])),
        jids(&["a@x", "b@x"])
    );
    assert_eq!(l.block(&jids(&["b@x", "c@x"])), jids(&["c@x"]));
    assert_eq!(l.jids(), jids(&["a@x", "b@x", "c@x"]).as_slice());
    assert_eq!(l.unblock(&jids(&["b@x", "z@x"])), jids(&["b@x"]));
    assert_eq!(l.jids(), jids(&["a@x", "c@x"]).as_slice());
    assert!(l.contains(&jid("a@x")) && !l.contains(&jid("b@x")));
    // Unblocking a resource leaves the bare item, which still blocks it.
    assert!(l.unblock(&jids(&["a@x/r"])).is_empty());
    assert!(l.is_blocked(&jid("a@x/r")));
    assert_eq!(l.unblock_all(), jids(&["a@x", "c@x"]));
    assert!(l.is_empty() && !l.is_blocked(&jid("a@x")));
    assert_eq!(l, BlockList::new());
}

// --- §3.3 decisions --------------------------------------------------------------------------

const ROMEO: &str = "romeo@montague.net/orchard";
const JULIET: &str = "juliet@capulet.com/chamber";

fn from_romeo(kind_and_attrs: &str, payload: &str, close: &str) -> Stanza {
    stanza(&format!(
        "<{kind_and_attrs} xmlns='jabber:client' from='{ROMEO}' to='{JULIET}'>{payload}</{close}>"
    ))
}

const ERROR: &str = "<error type='cancel'><item-not-found \
                     xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";

#[test]
fn xep0191_3_3_presence_from_blocked_is_dropped_silently() {
    for ty in [
        "",
        " type='unavailable'",
        " type='subscribe'",
        " type='probe'",
        " type='unsubscribed'",
    ] {
        let p = from_romeo(&format!("presence{ty}"), "", "presence");
        assert_eq!(inbound_decision(&p), InboundBlock::DropSilently, "{ty}");
    }
    let error = from_romeo("presence type='error'", ERROR, "presence");
    assert_eq!(inbound_decision(&error), InboundBlock::DropSilently);
}

#[test]
fn xep0191_3_3_messages_from_blocked_get_service_unavailable() {
    for ty in [
        "",
        " type='chat'",
        " type='normal'",
        " type='headline'",
        " type='groupchat'",
    ] {
        let m = from_romeo(&format!("message{ty}"), "<body>hi</body>", "message");
        assert_eq!(
            inbound_decision(&m),
            InboundBlock::Error(StanzaError::new(StanzaCondition::ServiceUnavailable)),
            "{ty}"
        );
    }
    let error = from_romeo("message type='error'", ERROR, "message");
    assert_eq!(inbound_decision(&error), InboundBlock::DropSilently);
}

#[test]
fn xep0191_3_3_iq_requests_get_service_unavailable_answers_are_dropped() {
    for ty in ["get", "set"] {
        let q = from_romeo(
            &format!("iq type='{ty}' id='q1'"),
            "<query xmlns='jabber:iq:version'/>",
            "iq",
        );
        let InboundBlock::Error(e) = inbound_decision(&q) else {
            panic!("{ty} is answered");
        };
        assert_eq!(e.condition, StanzaCondition::ServiceUnavailable);
        assert_eq!(e.error_type, ErrorType::Cancel);
    }
    let result = from_romeo("iq type='result' id='q1'", "", "iq");
    assert_eq!(inbound_decision(&result), InboundBlock::DropSilently);
    let error = from_romeo("iq type='error' id='q1'", ERROR, "iq");
    assert_eq!(inbound_decision(&error), InboundBlock::DropSilently);
}

#[test]
fn check_inbound_uses_from() {
    let l = list(&["romeo@montague.net"]);
    let m = from_romeo("message type='chat'", "<body>hi</body>", "message");
    assert!(matches!(l.check_inbound(&m), Some(InboundBlock::Error(_))));
    let other = stanza(&format!(
        "<message xmlns='jabber:client' from='benvolio@montague.net' to='{JULIET}'/>"
    ));
    assert_eq!(l.check_inbound(&other), None);
    let no_from = stanza(&format!("<message xmlns='jabber:client' to='{JULIET}'/>"));
    assert_eq!(l.check_inbound(&no_from), None);
}

#[test]
fn xep0191_3_3_outbound_to_blocked_is_not_acceptable_with_blocked() {
    let l = list(&["romeo@montague.net"]);
    let m = stanza(
        "<message xmlns='jabber:client' from='juliet@capulet.com/chamber' \
         to='romeo@montague.net' id='m1'><body>Can you hear me now?</body></message>",
    );
    assert!(l.blocks_outbound(&m));
    let reply = outbound_error(&m).expect("a message is answered");
    assert_eq!(reply.from().map(Jid::as_str), Some("romeo@montague.net"));
    assert_eq!(
        reply.to().map(Jid::as_str),
        Some("juliet@capulet.com/chamber")
    );
    assert_eq!(reply.id(), Some("m1"));
    let error = reply.error().expect("an error").expect("readable");
    assert_eq!(error.condition, StanzaCondition::NotAcceptable);
    assert_eq!(error.error_type, ErrorType::Cancel);
    let app = error
        .app_condition
        .as_ref()
        .expect("an application condition");
    assert!(app.is("blocked", ns::BLOCKING_ERRORS));

    let no_to = stanza("<message xmlns='jabber:client'><body>x</body></message>");
    assert!(!l.blocks_outbound(&no_to));
    let result =
        stanza("<iq xmlns='jabber:client' to='romeo@montague.net/orchard' type='result' id='r'/>");
    assert!(l.blocks_outbound(&result));
    assert_eq!(outbound_error(&result), None, "a result is never answered");
}

// --- store -----------------------------------------------------------------------------------

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
fn memory_store_keeps_order_once_per_owner() {
    let store = MemoryBlockListStore::new();
    let juliet = BareJid::new("juliet@capulet.com").expect("valid");
    let nurse = BareJid::new("nurse@capulet.com").expect("valid");
    let get = |owner: &BareJid| ok(block_on(store.blocklist(owner)));
    assert!(get(&juliet).is_empty());
    ok(block_on(store.block(&juliet, &jids(&["a@x", "b@x"]))));
    ok(block_on(store.block(&juliet, &jids(&["b@x", "c@x"]))));
    ok(block_on(store.block(&nurse, &jids(&["z@x"]))));
    assert_eq!(get(&juliet), jids(&["a@x", "b@x", "c@x"]));
    ok(block_on(store.unblock(&juliet, &jids(&["b@x", "q@x"]))));
    assert_eq!(get(&juliet), jids(&["a@x", "c@x"]));
    ok(block_on(store.unblock_all(&juliet)));
    assert!(get(&juliet).is_empty());
    assert_eq!(get(&nurse), jids(&["z@x"]), "other owners untouched");
    // What the store returns makes the same list.
    assert_eq!(BlockList::from_jids(get(&nurse)), list(&["z@x"]));
}
