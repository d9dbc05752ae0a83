//! Blocking (XEP-0191) from the outside: our answers and pushes read by an independent
//! implementation (xmpp-parsers), its requests read by ours, and the JID matching checked
//! against a plain model of XEP-0191 §6 over generated lists.

use proptest::prelude::*;
use xmpp_core::blocking::{
    self, BlockList, BlockingRequest, InboundBlock, block_push, blocklist_result, outbound_error,
    unblock_push,
};
use xmpp_core::{Element, FullJid, Jid, Stanza, StanzaCondition, ns};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::minidom;

fn to_minidom(el: &Element) -> minidom::Element {
    el.to_string()
        .parse()
        .unwrap_or_else(|e| panic!("minidom rejects our output {el}: {e}"))
}

fn from_minidom(el: &minidom::Element) -> Element {
    String::from(el)
        .parse()
        .unwrap_or_else(|e| panic!("we reject minidom's output: {e}"))
}

fn stanza(s: &str) -> Stanza {
    let el: Element = s.parse().expect("test input is well-formed");
    Stanza::from_element(el).expect("valid stanza")
}

fn jid(s: &str) -> Jid {
    s.parse().expect("valid JID")
}

fn their_jid(s: &str) -> xmpp_parsers::jid::Jid {
    s.parse().expect("valid JID")
}

fn their_strings(items: &[xmpp_parsers::jid::Jid]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

const LIST: [&str; 4] = [
    "romeo@montague.net",
    "iago@shakespeare.lit/evil",
    "spam.example",
    "montague.net/bot",
];

fn list_jids() -> Vec<Jid> {
    LIST.iter().map(|s| jid(s)).collect()
}

#[test]
fn namespaces_agree() {
    assert_eq!(ns::BLOCKING, xmpp_parsers::ns::BLOCKING);
    assert_eq!(ns::BLOCKING_ERRORS, xmpp_parsers::ns::BLOCKING_ERRORS);
    assert_eq!(blocking::DISCO_FEATURE, "urn:xmpp:blocking");
}

fn ours(iq: Iq) -> Stanza {
    Stanza::from_element(from_minidom(&minidom::Element::from(iq))).expect("valid stanza")
}

#[test]
fn we_read_xmpp_parsers_requests() {
    let get = Iq::from_get("b1", xmpp_parsers::blocking::BlocklistRequest);
    assert_eq!(
        BlockingRequest::parse(&ours(get)),
        Some(Ok(BlockingRequest::Get))
    );

    let block = Iq::from_set(
        "b2",
        xmpp_parsers::blocking::Block {
            items: LIST.iter().map(|s| their_jid(s)).collect(),
        },
    );
    assert_eq!(
        BlockingRequest::parse(&ours(block)),
        Some(Ok(BlockingRequest::Block(list_jids())))
    );

    let unblock = Iq::from_set(
        "b3",
        xmpp_parsers::blocking::Unblock {
            items: vec![their_jid("romeo@montague.net")],
        },
    );
    assert_eq!(
        BlockingRequest::parse(&ours(unblock)),
        Some(Ok(BlockingRequest::Unblock(vec![jid(
            "romeo@montague.net"
        )])))
    );

    let unblock_all = Iq::from_set("b4", xmpp_parsers::blocking::Unblock { items: Vec::new() });
    assert_eq!(
        BlockingRequest::parse(&ours(unblock_all)),
        Some(Ok(BlockingRequest::Unblock(Vec::new())))
    );

    // xmpp-parsers lets an empty block through; XEP-0191 §3.3 says bad-request.
    let empty = Iq::from_set("b5", xmpp_parsers::blocking::Block { items: Vec::new() });
    let Some(Err(e)) = BlockingRequest::parse(&ours(empty)) else {
        panic!("an empty block is refused");
    };
    assert_eq!(e.condition(), StanzaCondition::BadRequest);
}

#[test]
fn xmpp_parsers_reads_our_blocklist_result() {
    let get = stanza(
        "<iq xmlns='jabber:client' from='juliet@capulet.com/chamber' type='get' id='bl1'>\
         <blocklist xmlns='urn:xmpp:blocking'/></iq>",
    );
    let result = blocklist_result(&get, &list_jids()).expect("answered");
    let theirs = Iq::try_from(to_minidom(result.element()))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects the result: {e:?}"));
    let Iq::Result {
        id,
        payload: Some(payload),
        ..
    } = theirs
    else {
        panic!("a result with a payload: {theirs:?}");
    };
    assert_eq!(id, "bl1");
    let list = xmpp_parsers::blocking::BlocklistResult::try_from(payload)
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects the blocklist: {e:?}"));
    assert_eq!(their_strings(&list.items), LIST);

    let empty = blocklist_result(&get, &[]).expect("answered");
    let Iq::Result {
        payload: Some(payload),
        ..
    } = Iq::try_from(to_minidom(empty.element())).expect("parses")
    else {
        panic!("an empty blocklist is still a payload");
    };
    let list = xmpp_parsers::blocking::BlocklistResult::try_from(payload).expect("parses");
    assert!(list.items.is_empty());
}

#[test]
fn xmpp_parsers_reads_our_pushes() {
    let to = FullJid::new("juliet@capulet.com/balcony").expect("valid");
    let push = block_push(&to, "push2", &list_jids());
    let Iq::Set {
        id,
        to: their_to,
        payload,
        ..
    } = Iq::try_from(to_minidom(push.element())).expect("parses")
    else {
        panic!("a set");
    };
    assert_eq!(id, "push2");
    assert_eq!(
        their_to.map(|j| j.to_string()).as_deref(),
        Some("juliet@capulet.com/balcony")
    );
    let block = xmpp_parsers::blocking::Block::try_from(payload).expect("a block");
    assert_eq!(their_strings(&block.items), LIST);

    for items in [vec![jid("romeo@montague.net")], Vec::new()] {
        let push = unblock_push(&to, "push6", &items);
        let Iq::Set { payload, .. } = Iq::try_from(to_minidom(push.element())).expect("parses")
        else {
            panic!("a set");
        };
        let unblock = xmpp_parsers::blocking::Unblock::try_from(payload).expect("an unblock");
        let want: Vec<String> = items.iter().map(|j| j.as_str().to_owned()).collect();
        assert_eq!(their_strings(&unblock.items), want);
    }
}

#[test]
fn xmpp_parsers_reads_our_blocked_error() {
    let sent = stanza(
        "<message xmlns='jabber:client' from='juliet@capulet.com/chamber' \
         to='romeo@montague.net' type='chat' id='m1'><body>Can you hear me now?</body></message>",
    );
    let list = BlockList::from_jids(list_jids());
    assert!(list.blocks_outbound(&sent));
    let reply = outbound_error(&sent).expect("answered");
    let theirs = xmpp_parsers::message::Message::try_from(to_minidom(reply.element()))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects the error: {e:?}"));
    assert_eq!(theirs.type_, xmpp_parsers::message::MessageType::Error);
    let error_el = theirs
        .payloads
        .iter()
        .find(|p| p.name() == "error")
        .cloned()
        .expect("an <error/>");
    let error = xmpp_parsers::stanza_error::StanzaError::try_from(error_el)
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects the <error/>: {e:?}"));
    assert_eq!(
        error.defined_condition,
        xmpp_parsers::stanza_error::DefinedCondition::NotAcceptable
    );
    assert_eq!(error.type_, xmpp_parsers::stanza_error::ErrorType::Cancel);
    let app = error.other.expect("the application condition");
    xmpp_parsers::blocking::Blocked::try_from(app).expect("<blocked/>");
}

#[test]
fn inbound_from_blocked_through_bytes() {
    let list = BlockList::from_jids(list_jids());
    let probe = stanza(
        "<presence xmlns='jabber:server' from='romeo@montague.net' to='juliet@capulet.com' \
         type='probe'/>",
    );
    assert_eq!(list.check_inbound(&probe), Some(InboundBlock::DropSilently));
    let from_spam = stanza(
        "<iq xmlns='jabber:server' from='bot@muc.spam.example/x' to='juliet@capulet.com/chamber' \
         type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>",
    );
    let Some(InboundBlock::Error(error)) = list.check_inbound(&from_spam) else {
        panic!("an iq get from a blocked subdomain is answered");
    };
    let reply = from_spam.error_reply(error).expect("a get is answered");
    assert_eq!(reply.to(), from_spam.from());
    let iago_elsewhere = stanza(
        "<message xmlns='jabber:server' from='iago@shakespeare.lit/good' \
         to='juliet@capulet.com'><body>hi</body></message>",
    );
    assert_eq!(list.check_inbound(&iago_elsewhere), None);
}

// --- §6 matching against a model ------------------------------------------------------------

/// XEP-0191 §6 as written, item by item.
fn model_matches(item: &Jid, q: &Jid) -> bool {
    match (item.localpart(), item.resource()) {
        (Some(_) | None, Some(_)) => item == q,
        (Some(_), None) => q.bare_str() == item.as_str(),
        (None, None) => {
            q.domain() == item.domain()
                || (item.domain().parse::<std::net::Ipv4Addr>().is_err()
                    && q.domain().ends_with(&format!(".{}", item.domain())))
        }
    }
}

fn gen_jid() -> impl Strategy<Value = Jid> {
    let local = proptest::option::of(prop_oneof![Just("romeo"), Just("iago"), Just("x")]);
    let domain = prop_oneof![
        Just("example"),
        Just("a.example"),
        Just("b.a.example"),
        Just("xa.example"),
        Just("a.example.org"),
        Just("192.0.2.1"),
    ];
    let resource = proptest::option::of(prop_oneof![Just("r"), Just("bot"), Just("a.example")]);
    (local, domain, resource)
        .prop_map(|(l, d, r)| Jid::from_parts(l, d, r).expect("the parts are valid"))
}

proptest! {
    #[test]
    fn is_blocked_is_the_model(
        items in proptest::collection::vec(gen_jid(), 0..6),
        queries in proptest::collection::vec(gen_jid(), 1..8),
    ) {
        let list = BlockList::from_jids(items.clone());
        for q in &queries {
            let want = items.iter().any(|i| model_matches(i, q));
            prop_assert_eq!(list.is_blocked(q), want, "{:?} in {:?}", q, items);
        }
    }

    /// An item always blocks itself; unblocking every item blocks nothing again; the list keeps
    /// each item once, in first-blocked order.
    #[test]
    fn block_and_unblock(
        first in proptest::collection::vec(gen_jid(), 0..6),
        second in proptest::collection::vec(gen_jid(), 0..6),
        q in gen_jid(),
    ) {
        let mut list = BlockList::new();
        list.block(&first);
        list.block(&second);
        let mut order: Vec<Jid> = Vec::new();
        for j in first.iter().chain(&second) {
            if !order.contains(j) {
                order.push(j.clone());
            }
            prop_assert!(list.is_blocked(j));
        }
        prop_assert_eq!(list.jids(), order.as_slice());
        let removed = list.unblock(&order);
        prop_assert_eq!(removed, order);
        prop_assert!(list.is_empty());
        prop_assert!(!list.is_blocked(&q));
    }

    /// Whatever the list, a blocked sender's stanza is never delivered and never answered when
    /// it is itself an answer.
    #[test]
    fn blocked_answers_are_never_answered(from in gen_jid(), kind in 0..4usize) {
        let list = BlockList::from_jids([from.clone()]);
        let s = match kind {
            0 => format!("<iq xmlns='jabber:client' from='{from}' type='result' id='1'/>"),
            1 => format!(
                "<iq xmlns='jabber:client' from='{from}' type='error' id='1'><error type='cancel'>\
                 <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            ),
            2 => format!(
                "<message xmlns='jabber:client' from='{from}' type='error'><error type='cancel'>\
                 <gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
            ),
            _ => format!("<presence xmlns='jabber:client' from='{from}'/>"),
        };
        prop_assert_eq!(list.check_inbound(&stanza(&s)), Some(InboundBlock::DropSilently));
    }
}
