//! The answers, compared with the XEP's examples as trees.

use std::time::{Duration, UNIX_EPOCH};

use xmpp_core::{Element, Jid, Stanza};

use super::*;
use crate::prefs::DefaultPolicy;

fn el(s: &str) -> Element {
    s.parse().expect("test XML is well-formed")
}

fn iq(attrs: &str, payload: &str) -> Stanza {
    Stanza::from_element(el(&format!(
        "<iq xmlns='jabber:client' id='juliet1' from='juliet@capulet.lit/chamber' {attrs}>{payload}</iq>"
    )))
    .expect("valid iq")
}

fn archived(id: &str, secs: u64, millis: u64, ns: &str) -> ArchivedMessage {
    ArchivedMessage {
        id: id.to_owned(),
        with: Jid::new("romeo@montague.lit/orchard").expect("valid"),
        timestamp: UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis),
        stanza: el(&format!(
            "<message xmlns='{ns}' to='juliet@capulet.lit/balcony' \
             from='romeo@montague.lit/orchard' type='chat'><body>Call me but love</body></message>"
        )),
    }
}

#[test]
fn result_messages_follow_the_xep() {
    let query = iq(
        "type='set'",
        "<query xmlns='urn:xmpp:mam:2' queryid='f27'/>",
    );
    let message = archived("28482-98726-73623", 1_278_803_305, 0, "jabber:client");
    let result = result_message(&query, Some("f27"), &message);
    assert_eq!(
        result.into_element(),
        el(
            "<message xmlns='jabber:client' to='juliet@capulet.lit/chamber'>\
              <result xmlns='urn:xmpp:mam:2' queryid='f27' id='28482-98726-73623'>\
                <forwarded xmlns='urn:xmpp:forward:0'>\
                  <delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/>\
                  <message xmlns='jabber:client' to='juliet@capulet.lit/balcony' \
                    from='romeo@montague.lit/orchard' type='chat'>\
                    <body>Call me but love</body></message>\
                </forwarded></result></message>"
        )
    );
}

#[test]
fn results_come_from_the_queried_address_in_the_client_namespace() {
    let query = iq(
        "type='set' to='juliet@capulet.lit'",
        "<query xmlns='urn:xmpp:mam:2'/>",
    );
    let message = archived("x", 1_278_803_305, 250, "jabber:server");
    let result = result_message(&query, None, &message).into_element();
    assert_eq!(result.attr("from"), Some("juliet@capulet.lit"));
    assert_eq!(result.attr("to"), Some("juliet@capulet.lit/chamber"));
    let r = result.get_child("result", crate::ns::MAM).expect("result");
    assert_eq!(r.attr("queryid"), None);
    let forwarded = r
        .get_child("forwarded", crate::ns::FORWARD)
        .expect("forwarded");
    let delay = forwarded
        .get_child("delay", crate::ns::DELAY)
        .expect("delay");
    assert_eq!(delay.attr("stamp"), Some("2010-07-10T23:08:25.250Z"));
    let inner = forwarded
        .get_child("message", "jabber:client")
        .expect("moved to jabber:client");
    assert_eq!(
        inner.child_text("body", "jabber:client").as_deref(),
        Some("Call me but love")
    );
}

#[test]
fn result_messages_of_a_page_in_its_order() {
    let query = iq("type='set'", "<query xmlns='urn:xmpp:mam:2' queryid='q'/>");
    let page = Page {
        messages: vec![
            archived("b", 2, 0, "jabber:client"),
            archived("a", 1, 0, "jabber:client"),
        ],
        first: Some("a".to_owned()),
        last: Some("b".to_owned()),
        complete: false,
    };
    let ids: Vec<String> = result_messages(&query, Some("q"), &page)
        .map(|m| {
            m.element()
                .get_child("result", crate::ns::MAM)
                .and_then(|r| r.attr("id"))
                .expect("an id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["b", "a"]);
}

#[test]
fn fin_with_and_without_results() {
    let query = iq("type='set'", "<query xmlns='urn:xmpp:mam:2'/>");
    let page = Page {
        messages: Vec::new(),
        first: Some("28482-98726-73623".to_owned()),
        last: Some("09af3-cc343-b409f".to_owned()),
        complete: false,
    };
    assert_eq!(
        fin_answer(&query, &page)
            .expect("a set is answered")
            .into_element(),
        el(
            "<iq xmlns='jabber:client' type='result' id='juliet1' to='juliet@capulet.lit/chamber'>\
              <fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>\
                <first>28482-98726-73623</first><last>09af3-cc343-b409f</last>\
              </set></fin></iq>"
        )
    );
    let empty = Page {
        messages: Vec::new(),
        first: None,
        last: None,
        complete: true,
    };
    assert_eq!(
        fin_element(&empty),
        el("<fin xmlns='urn:xmpp:mam:2' complete='true'>\
              <set xmlns='http://jabber.org/protocol/rsm'/></fin>")
    );
    let result = iq("type='result'", "");
    assert!(
        fin_answer(&result, &empty).is_none(),
        "a result is not answered"
    );
}

#[test]
fn the_form_lists_what_queries_may_use() {
    let request = iq("type='get'", "<query xmlns='urn:xmpp:mam:2'/>");
    let answer = form_answer(&request)
        .expect("a get is answered")
        .into_element();
    let x = answer
        .get_child("query", crate::ns::MAM)
        .and_then(|q| q.get_child("x", crate::ns::DATA_FORMS))
        .expect("a form");
    let form = Form::from_element(x).expect("our form parses");
    assert_eq!(form.kind, FormKind::Form);
    assert_eq!(form.form_type(), Some(crate::ns::MAM));
    let vars: Vec<(&str, FieldType)> = form
        .fields
        .iter()
        .filter_map(|f| Some((f.var.as_deref()?, f.kind?)))
        .collect();
    assert_eq!(
        vars,
        [
            ("FORM_TYPE", FieldType::Hidden),
            ("with", FieldType::JidSingle),
            ("start", FieldType::TextSingle),
            ("end", FieldType::TextSingle),
            ("before-id", FieldType::TextSingle),
            ("after-id", FieldType::TextSingle),
            ("ids", FieldType::ListMulti),
        ]
    );
    assert!(
        form.fields.iter().all(|f| !f.required),
        "XEP-0313 §4.1: nothing required"
    );
    let ids = form.field("ids").expect("ids");
    assert!(ids.options.is_empty(), "never the list of every id");
    let validate = ids.payloads.first().expect("a validate element");
    assert!(validate.is("validate", crate::ns::XDATA_VALIDATE));
    assert!(validate.has_child("open", crate::ns::XDATA_VALIDATE));
}

#[test]
fn prefs_and_metadata_answers() {
    let get = iq("type='get'", "<prefs xmlns='urn:xmpp:mam:2'/>");
    let prefs = Prefs {
        default: DefaultPolicy::Roster,
        ..Prefs::default()
    };
    assert_eq!(
        prefs_answer(&get, &prefs).expect("answered").into_element(),
        el(
            "<iq xmlns='jabber:client' type='result' id='juliet1' to='juliet@capulet.lit/chamber'>\
              <prefs xmlns='urn:xmpp:mam:2' default='roster'><always/><never/></prefs></iq>"
        )
    );
    let bounds = Bounds {
        first: (
            "YWxwaGEg".to_owned(),
            UNIX_EPOCH + Duration::from_secs(1_219_439_344),
        ),
        last: (
            "b21lZ2Eg".to_owned(),
            UNIX_EPOCH + Duration::from_millis(1_587_393_261_005),
        ),
    };
    assert_eq!(
        metadata_element(Some(&bounds)),
        el("<metadata xmlns='urn:xmpp:mam:2'>\
              <start id='YWxwaGEg' timestamp='2008-08-22T21:09:04Z'/>\
              <end id='b21lZ2Eg' timestamp='2020-04-20T14:34:21.005Z'/></metadata>")
    );
    let meta = iq("type='get'", "<metadata xmlns='urn:xmpp:mam:2'/>");
    assert_eq!(
        metadata_answer(&meta, None)
            .expect("answered")
            .into_element(),
        el(
            "<iq xmlns='jabber:client' type='result' id='juliet1' to='juliet@capulet.lit/chamber'>\
              <metadata xmlns='urn:xmpp:mam:2'/></iq>"
        )
    );
}
