//! Message carbons (XEP-0280) from the outside: the copies we build read back through bytes
//! and through an independent implementation (xmpp-parsers), its requests read with ours,
//! and properties of eligibility over generated messages.

use proptest::prelude::*;
use xmpp_core::im::Hints;
use xmpp_core::im::carbons::{
    self, CarbonsRequest, Direction, forged_copy_error, is_carbon_wrapper, is_eligible,
    received_copy, sent_copy, strip_private,
};
use xmpp_core::{BareJid, Element, FullJid, MessageType, Stanza, StanzaCondition, ns};
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

fn romeo() -> (BareJid, FullJid) {
    (
        BareJid::new("romeo@montague.example").expect("valid"),
        FullJid::new("romeo@montague.example/garden").expect("valid"),
    )
}

/// XEP-0280 Example "Romeo responds to Juliet", as his server routes it.
fn romeos_reply() -> Stanza {
    stanza(
        "<message xmlns='jabber:client' from='romeo@montague.example/home' \
         to='juliet@capulet.example/balcony' type='chat' id='r1'>\
         <body>Neither, fair saint, if either thee dislike.</body>\
         <thread>0e3141cd80894871a68e6fe6b1ec56fa</thread>\
         <origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>",
    )
}

#[test]
fn namespaces_agree() {
    assert_eq!(ns::CARBONS, xmpp_parsers::ns::CARBONS);
    assert_eq!(ns::FORWARD, xmpp_parsers::ns::FORWARD);
    assert_eq!(carbons::DISCO_FEATURE, "urn:xmpp:carbons:2");
}

#[test]
fn xmpp_parsers_reads_our_sent_copy() {
    let (account, to) = romeo();
    let copy = sent_copy(&romeos_reply(), &account, &to);
    let theirs = xmpp_parsers::message::Message::try_from(to_minidom(copy.element()))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects the copy: {e:?}"));
    assert_eq!(
        theirs.from.as_ref().map(ToString::to_string).as_deref(),
        Some("romeo@montague.example")
    );
    assert_eq!(
        theirs.to.as_ref().map(ToString::to_string).as_deref(),
        Some("romeo@montague.example/garden")
    );
    assert_eq!(theirs.type_, xmpp_parsers::message::MessageType::Chat);
    assert_eq!(theirs.payloads.len(), 1);
    let sent = xmpp_parsers::carbons::Sent::try_from(theirs.payloads[0].clone())
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects <sent/>: {e:?}"));
    let inner = sent.forwarded.message;
    assert_eq!(
        inner.from.as_ref().map(ToString::to_string).as_deref(),
        Some("romeo@montague.example/home")
    );
    assert_eq!(
        inner.bodies.get("").map(String::as_str),
        Some("Neither, fair saint, if either thee dislike.")
    );
    assert_eq!(
        inner.thread.as_ref().map(|t| t.id.as_str()),
        Some("0e3141cd80894871a68e6fe6b1ec56fa")
    );
    assert!(
        inner.payloads.iter().any(|p| p.is("origin-id", ns::SID)),
        "unknown payloads travel inside the copy"
    );
}

#[test]
fn xmpp_parsers_reads_our_received_copy() {
    let original = stanza(
        "<message xmlns='jabber:server' from='juliet@capulet.example/balcony' \
         to='romeo@montague.example' type='chat'><body>What man art thou</body></message>",
    );
    let (account, to) = romeo();
    let copy = received_copy(&original, &account, &to);
    let theirs = xmpp_parsers::message::Message::try_from(to_minidom(copy.element()))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects the copy: {e:?}"));
    let received = xmpp_parsers::carbons::Received::try_from(theirs.payloads[0].clone())
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects <received/>: {e:?}"));
    assert_eq!(
        received
            .forwarded
            .message
            .bodies
            .get("")
            .map(String::as_str),
        Some("What man art thou")
    );
    assert!(
        xmpp_parsers::carbons::Sent::try_from(theirs.payloads[0].clone()).is_err(),
        "a received copy is not a sent one"
    );
}

#[test]
fn we_read_xmpp_parsers_requests() {
    use xmpp_parsers::iq::Iq;
    for (payload, want) in [
        (
            minidom::Element::from(xmpp_parsers::carbons::Enable),
            CarbonsRequest::Enable,
        ),
        (
            minidom::Element::from(xmpp_parsers::carbons::Disable),
            CarbonsRequest::Disable,
        ),
    ] {
        let iq = Iq::Set {
            from: None,
            to: None,
            id: "c1".to_owned(),
            payload,
        };
        let ours =
            Stanza::from_element(from_minidom(&minidom::Element::from(iq))).expect("valid stanza");
        assert_eq!(CarbonsRequest::parse(&ours), Some(want));
    }
}

#[test]
fn xmpp_parsers_private_is_ours() {
    let private = minidom::Element::from(xmpp_parsers::carbons::Private);
    let msg = xmpp_parsers::message::Message::new(Some(
        "juliet@capulet.example/home"
            .parse::<xmpp_parsers::jid::Jid>()
            .expect("valid"),
    ))
    .with_body(
        xmpp_parsers::message::Lang(String::new()),
        "secret".to_owned(),
    )
    .with_payloads(vec![private]);
    let mut ours =
        Stanza::from_element(from_minidom(&minidom::Element::from(msg))).expect("valid stanza");
    assert!(carbons::is_private(&ours));
    assert!(!is_eligible(&ours, Direction::Sent));
    strip_private(&mut ours);
    assert!(!carbons::is_private(&ours));
}

#[test]
fn a_copy_survives_bytes_and_stays_a_copy() {
    let (account, to) = romeo();
    let copy = sent_copy(&romeos_reply(), &account, &to);
    let again = stanza(&copy.to_string());
    assert_eq!(again, copy);
    assert!(is_carbon_wrapper(&again));
    // A client that sends it back to the server is refused.
    let reply = forged_copy_error(&again).expect("answered");
    let error = reply.error().expect("error").expect("readable");
    assert_eq!(error.condition, StanzaCondition::NotAcceptable);
}

// --- properties ------------------------------------------------------------------------------

/// Children a message might carry, by (name, namespace).
fn payload() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("<body>hi</body>"),
        Just("<thread>t</thread>"),
        Just("<composing xmlns='http://jabber.org/protocol/chatstates'/>"),
        Just("<received xmlns='urn:xmpp:receipts' id='m'/>"),
        Just("<displayed xmlns='urn:xmpp:chat-markers:0' id='m'/>"),
        Just("<private xmlns='urn:xmpp:carbons:2'/>"),
        Just("<no-copy xmlns='urn:xmpp:hints'/>"),
        Just("<no-store xmlns='urn:xmpp:hints'/>"),
        Just("<x xmlns='http://jabber.org/protocol/muc#user'/>"),
        Just("<x xmlns='http://jabber.org/protocol/muc#user'><invite from='a@b'/></x>"),
        Just("<x xmlns='jabber:x:conference' jid='room@muc.example'/>"),
        Just("<event xmlns='http://jabber.org/protocol/pubsub#event'/>"),
        Just("<encrypted xmlns='urn:xmpp:omemo:2'/>"),
        Just(
            "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client'/></forwarded></sent>"
        ),
    ]
}

fn message_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(""),
        Just(" type='chat'"),
        Just(" type='normal'"),
        Just(" type='headline'"),
        Just(" type='groupchat'"),
    ]
}

prop_compose! {
    fn message()(ty in message_type(), payloads in proptest::collection::vec(payload(), 0..5))
        -> Stanza
    {
        stanza(&format!(
            "<message xmlns='jabber:client' from='romeo@montague.example/home' \
             to='juliet@capulet.example/balcony'{ty}>{}</message>",
            payloads.concat()
        ))
    }
}

proptest! {
    /// The opt-outs, groupchat and copies are never copied, whichever the direction.
    #[test]
    fn never_copied(m in message()) {
        let opted_out = carbons::is_private(&m) || Hints::of(&m).no_copy;
        let excluded = opted_out
            || m.message_type() == Some(MessageType::Groupchat)
            || is_carbon_wrapper(&m);
        if excluded {
            prop_assert!(!is_eligible(&m, Direction::Sent));
            prop_assert!(!is_eligible(&m, Direction::Received));
        }
    }

    /// A chat message that is not excluded is always copied when sent; direction only ever
    /// removes eligibility for received messages.
    #[test]
    fn direction_only_narrows(m in message()) {
        if is_eligible(&m, Direction::Received) {
            prop_assert!(is_eligible(&m, Direction::Sent));
        }
        let excluded = carbons::is_private(&m)
            || Hints::of(&m).no_copy
            || is_carbon_wrapper(&m);
        if m.message_type() == Some(MessageType::Chat) && !excluded {
            prop_assert!(is_eligible(&m, Direction::Sent));
        }
    }

    /// Every copy is a valid wrapper around exactly the original, never itself eligible, and
    /// reads back from its bytes.
    #[test]
    fn copies_wrap_the_original(m in message(), sent in any::<bool>()) {
        let (account, to) = romeo();
        let copy = if sent {
            sent_copy(&m, &account, &to)
        } else {
            received_copy(&m, &account, &to)
        };
        prop_assert!(is_carbon_wrapper(&copy));
        prop_assert!(!is_eligible(&copy, Direction::Sent));
        let kind = if sent { "sent" } else { "received" };
        let inner = copy
            .element()
            .get_child(kind, ns::CARBONS)
            .and_then(|w| w.get_child("forwarded", ns::FORWARD))
            .and_then(|f| f.get_child("message", ns::JABBER_CLIENT));
        prop_assert_eq!(inner, Some(m.element()));
        prop_assert_eq!(stanza(&copy.to_string()), copy);
    }
}
