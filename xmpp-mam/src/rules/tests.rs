//! Archiving rules, stanza ids and archive ids.

use proptest::prelude::*;
use xmpp_core::{BareJid, Element, Jid, Stanza};

use super::*;

fn message(attrs: &str, payload: &str) -> Stanza {
    let xml = format!(
        "<message xmlns='jabber:client' from='romeo@montague.lit/orchard' \
         to='juliet@capulet.lit' {attrs}>{payload}</message>"
    );
    Stanza::from_element(xml.parse().expect("well-formed")).expect("valid message")
}

fn bare(s: &str) -> BareJid {
    BareJid::new(s).expect("valid")
}

const BODY: &str = "<body>Wherefore art thou?</body>";

#[test]
fn archives_chat_and_normal_messages_with_a_body() {
    for attrs in [
        "type='chat'",
        "type='normal'",
        "",
        "type='unknown-means-normal'",
    ] {
        assert!(should_archive(&message(attrs, BODY)), "{attrs}");
    }
    let empty_body = message("type='chat'", "<body/>");
    assert!(should_archive(&empty_body));
}

#[test]
fn never_archives_groupchat_headline_or_errors() {
    for attrs in ["type='groupchat'", "type='headline'"] {
        assert!(!should_archive(&message(attrs, BODY)), "{attrs}");
        let stored = format!("{BODY}<store xmlns='urn:xmpp:hints'/>");
        assert!(
            !should_archive(&message(attrs, &stored)),
            "{attrs} with <store/>"
        );
    }
    let error = message(
        "type='error'",
        "<body>x</body><error type='cancel'>\
         <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
    );
    assert!(!should_archive(&error));
    let presence = Stanza::from_element(
        "<presence xmlns='jabber:client'/>"
            .parse()
            .expect("well-formed"),
    )
    .expect("valid");
    assert!(!should_archive(&presence));
}

#[test]
fn archives_content_without_a_body() {
    for payload in [
        "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>",
        "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>",
        "<retract xmlns='urn:xmpp:message-retract:1' id='abc'/>",
        "<replace xmlns='urn:xmpp:message-correct:0' id='abc'/>",
        "<reactions xmlns='urn:xmpp:reactions:0' id='abc'><reaction>👍</reaction></reactions>",
    ] {
        assert!(
            should_archive(&message("type='chat'", payload)),
            "{payload}"
        );
    }
}

#[test]
fn state_is_not_archived_unless_stored_by_hint() {
    for payload in [
        "",
        "<composing xmlns='http://jabber.org/protocol/chatstates'/>",
        "<received xmlns='urn:xmpp:receipts' id='x'/>",
        "<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/>",
        // A body in another namespace is not the message's body.
        "<body xmlns='urn:example'>x</body>",
    ] {
        assert!(
            !should_archive(&message("type='chat'", payload)),
            "{payload}"
        );
        let stored = format!("{payload}<store xmlns='urn:xmpp:hints'/>");
        assert!(
            should_archive(&message("type='chat'", &stored)),
            "{payload} with <store/>"
        );
    }
}

#[test]
fn no_store_hints_win() {
    for hint in ["no-store", "no-permanent-store"] {
        let payload =
            format!("{BODY}<{hint} xmlns='urn:xmpp:hints'/><store xmlns='urn:xmpp:hints'/>");
        assert!(!should_archive(&message("type='chat'", &payload)), "{hint}");
    }
    // Hints of other kinds change nothing.
    let no_copy = format!("{BODY}<no-copy xmlns='urn:xmpp:hints'/>");
    assert!(should_archive(&message("type='chat'", &no_copy)));
}

#[test]
fn counterpart_is_the_other_party() {
    let m = message("type='chat'", BODY);
    let juliet = bare("juliet@capulet.lit");
    let romeo = bare("romeo@montague.lit");
    assert_eq!(
        counterpart(&m, &juliet),
        Some(Jid::new("romeo@montague.lit/orchard").expect("valid"))
    );
    assert_eq!(
        counterpart(&m, &romeo),
        Some(Jid::new("juliet@capulet.lit").expect("valid"))
    );
    let to_self = Stanza::from_element(
        "<message xmlns='jabber:client' from='juliet@capulet.lit/a' to='juliet@capulet.lit'/>"
            .parse()
            .expect("well-formed"),
    )
    .expect("valid");
    assert_eq!(
        counterpart(&to_self, &juliet),
        Some(Jid::new("juliet@capulet.lit").expect("valid"))
    );
    let no_to = Stanza::from_element(
        "<message xmlns='jabber:client' from='juliet@capulet.lit/a'/>"
            .parse()
            .expect("xml"),
    )
    .expect("valid");
    assert_eq!(counterpart(&no_to, &juliet), None);
}

#[test]
fn strips_only_our_stanza_ids() {
    let mut el: Element = "<message xmlns='jabber:client'><body>x</body>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='forged1' by='juliet@capulet.lit'/>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='forged2' by='Juliet@Capulet.LIT'/>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='forged3' by='romeo@montague.lit'/>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='room' by='room@muc.example.org'/>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='noby'/>\
        <origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>"
        .parse()
        .expect("well-formed");
    strip_stanza_ids(&mut el, &["juliet@capulet.lit", "romeo@montague.lit"]);
    let left: Vec<&str> = el.children().filter_map(|c| c.attr("id")).collect();
    assert_eq!(left, ["room", "noby", "o1"]);
    assert_eq!(el.child_text("body", "jabber:client").as_deref(), Some("x"));
}

#[test]
fn adds_one_stanza_id_per_archive() {
    let juliet = bare("juliet@capulet.lit");
    let mut el: Element = "<message xmlns='jabber:client'><body>x</body>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='old' by='juliet@capulet.lit'/>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='room' by='room@muc.example.org'/></message>"
        .parse()
        .expect("well-formed");
    add_stanza_id(&mut el, "new", &juliet);
    let ids: Vec<(&str, &str)> = el
        .children()
        .filter(|c| c.is("stanza-id", crate::ns::SID))
        .filter_map(|c| Some((c.attr("id")?, c.attr("by")?)))
        .collect();
    assert_eq!(
        ids,
        [
            ("room", "room@muc.example.org"),
            ("new", "juliet@capulet.lit")
        ]
    );
    assert_eq!(
        stanza_id_element("i", &juliet),
        "<stanza-id xmlns='urn:xmpp:sid:0' id='i' by='juliet@capulet.lit'/>"
            .parse::<Element>()
            .expect("well-formed")
    );
}

#[test]
fn reads_the_origin_id() {
    let el: Element =
        "<message xmlns='jabber:client'><origin-id xmlns='urn:xmpp:sid:1' id='wrong'/>\
        <origin-id xmlns='urn:xmpp:sid:0' id='de305d54'/></message>"
            .parse()
            .expect("well-formed");
    assert_eq!(origin_id(&el), Some("de305d54"));
    let none: Element = "<message xmlns='jabber:client'/>"
        .parse()
        .expect("well-formed");
    assert_eq!(origin_id(&none), None);
}

#[test]
fn archive_ids_are_url_safe_base64() {
    assert_eq!(new_archive_id([0; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(new_archive_id([0xff; 16]), "_____________________w");
}

proptest! {
    #[test]
    fn archive_ids_are_22_safe_characters_and_distinct(a: [u8; 16], b: [u8; 16]) {
        let id = new_archive_id(a);
        prop_assert_eq!(id.len(), 22);
        prop_assert!(id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        prop_assert_eq!(id == new_archive_id(b), a == b);
    }
}
