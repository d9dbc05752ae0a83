//! Reading MAM iqs: every request kind, the form and RSM rules, and the refusals with their
//! conditions.

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use xmpp_core::{BareJid, Element, IqType, Jid, Stanza, StanzaCondition, StanzaError};

use super::*;
use crate::prefs::DefaultPolicy;

fn iq(ty: &str, payload: &str) -> Stanza {
    let xml = format!(
        "<iq xmlns='jabber:client' type='{ty}' id='q1' from='juliet@capulet.lit/balcony'>{payload}</iq>"
    );
    Stanza::from_element(xml.parse().expect("well-formed")).expect("valid iq")
}

fn parse(ty: &str, payload: &str) -> Option<Result<MamRequest, MamError>> {
    MamRequest::parse(&iq(ty, payload))
}

fn query(payload: &str) -> Result<Query, MamError> {
    match parse("set", payload).expect("a MAM payload") {
        Ok(MamRequest::Query(q)) => Ok(q),
        Ok(other) => panic!("not a query: {other:?}"),
        Err(e) => Err(e),
    }
}

fn form(fields: &str) -> String {
    format!(
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>{fields}\
         </x></query>"
    )
}

fn rsm(children: &str) -> String {
    format!(
        "<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>{children}</set></query>"
    )
}

fn condition(r: Result<Query, MamError>) -> StanzaCondition {
    r.expect_err("refused").condition()
}

#[test]
fn recognises_each_request() {
    assert_eq!(
        parse("get", "<query xmlns='urn:xmpp:mam:2'/>"),
        Some(Ok(MamRequest::FormRequest))
    );
    assert_eq!(
        parse("get", "<prefs xmlns='urn:xmpp:mam:2'/>"),
        Some(Ok(MamRequest::GetPrefs))
    );
    assert_eq!(
        parse("get", "<metadata xmlns='urn:xmpp:mam:2'/>"),
        Some(Ok(MamRequest::Metadata))
    );
    assert_eq!(
        parse("set", "<query xmlns='urn:xmpp:mam:2'/>"),
        Some(Ok(MamRequest::Query(Query::default())))
    );
    let Some(Ok(MamRequest::SetPrefs(prefs))) = parse(
        "set",
        "<prefs xmlns='urn:xmpp:mam:2' default='never'><always><jid>a@b</jid></always></prefs>",
    ) else {
        panic!("a prefs set");
    };
    assert_eq!(prefs.default, DefaultPolicy::Never);
    assert_eq!(prefs.always, vec![Jid::new("a@b").expect("valid")]);
}

#[test]
fn other_iqs_are_not_ours() {
    assert_eq!(parse("get", "<ping xmlns='urn:xmpp:ping'/>"), None);
    assert_eq!(parse("set", "<query xmlns='urn:xmpp:mam:1'/>"), None);
    assert_eq!(parse("result", "<query xmlns='urn:xmpp:mam:2'/>"), None);
    let message = Stanza::from_element(
        "<message xmlns='jabber:client'><query xmlns='urn:xmpp:mam:2'/></message>"
            .parse()
            .expect("well-formed"),
    )
    .expect("valid");
    assert_eq!(MamRequest::parse(&message), None);
}

#[test]
fn refuses_other_mam_payloads() {
    for (ty, payload) in [
        ("set", "<metadata xmlns='urn:xmpp:mam:2'/>"),
        ("set", "<fin xmlns='urn:xmpp:mam:2'/>"),
        ("get", "<result xmlns='urn:xmpp:mam:2'/>"),
    ] {
        let err = parse(ty, payload).expect("ours").expect_err(payload);
        assert_eq!(err.condition(), StanzaCondition::BadRequest, "{payload}");
    }
    assert_eq!(
        MamRequest::from_payload(
            IqType::Result,
            &"<query xmlns='urn:xmpp:mam:2'/>".parse().expect("xml")
        ),
        Err(MamError::WrongIqType {
            payload: "query",
            iq_type: IqType::Result
        })
    );
}

#[test]
fn reads_every_field() {
    let q = query(&form(
        "<field var='with'><value>romeo@montague.lit</value></field>\
             <field var='start'><value>2010-06-07T00:00:00Z</value></field>\
             <field var='end'><value>2010-07-07T13:23:54.5+02:00</value></field>\
             <field var='before-id'><value>b1</value></field>\
             <field var='after-id'><value>a1</value></field>\
             <field var='ids' type='list-multi'><value>x</value><value>y</value></field>",
    ))
    .expect("valid");
    assert_eq!(
        q.filter.with,
        Some(Jid::new("romeo@montague.lit").expect("valid"))
    );
    assert_eq!(
        q.filter.start,
        Some(UNIX_EPOCH + Duration::from_secs(1_275_868_800))
    );
    assert_eq!(
        q.filter.end,
        Some(UNIX_EPOCH + Duration::from_millis(1_278_501_834_500))
    );
    assert_eq!(q.filter.before_id.as_deref(), Some("b1"));
    assert_eq!(q.filter.after_id.as_deref(), Some("a1"));
    assert_eq!(q.filter.ids, vec!["x".to_owned(), "y".to_owned()]);
}

#[test]
fn accepts_lenient_forms() {
    // No FORM_TYPE, a field without a value, text-multi ids, a fixed field without a var,
    // elements of other namespaces around.
    let q = query(
        "<query xmlns='urn:xmpp:mam:2' queryid='f27'><other xmlns='urn:example'/>\
         <x xmlns='jabber:x:data' type='submit'><field var='with'/>\
         <field type='fixed'><value>note</value></field>\
         <field var='ids' type='text-multi'><value>x</value></field></x></query>",
    )
    .expect("valid");
    assert_eq!(q.query_id.as_deref(), Some("f27"));
    assert_eq!(q.filter.with, None);
    assert_eq!(q.filter.ids, vec!["x".to_owned()]);
}

#[test]
fn refuses_bad_forms_with_bad_request() {
    for fields in [
        "<field var='with'><value>@@</value></field>",
        "<field var='with'><value>a@b</value><value>c@d</value></field>",
        "<field var='start'><value>yesterday</value></field>",
        "<field var='end'><value>2010-07-07</value></field>",
        "<field var='after-id'><value></value></field>",
        "<field var='ids' type='list-multi'><value>x</value><value></value></field>",
        "<field var='with'><value>a@b</value></field><field var='with'><value>a@b</value></field>",
    ] {
        assert_eq!(
            condition(query(&form(fields))),
            StanzaCondition::BadRequest,
            "{fields}"
        );
    }
    for payload in [
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='form'/></query>",
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data'/></query>",
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x></query>",
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'/>\
         <x xmlns='jabber:x:data' type='submit'/></query>",
        "<query xmlns='urn:xmpp:mam:2'><flip-page/><flip-page/></query>",
        "<query xmlns='urn:xmpp:mam:2'><start/></query>",
    ] {
        assert_eq!(
            condition(query(payload)),
            StanzaCondition::BadRequest,
            "{payload}"
        );
    }
}

#[test]
fn unknown_fields_and_features_are_not_implemented() {
    for payload in [
        form("<field var='include-groupchat'><value>true</value></field>"),
        form("<field var='{urn:example}search'><value>x</value></field>"),
        "<query xmlns='urn:xmpp:mam:2' node='princely_musings'/>".to_owned(),
        rsm("<max>10</max><index>3</index>"),
        rsm("<index>0</index><after>x</after>"),
    ] {
        assert_eq!(
            condition(query(&payload)),
            StanzaCondition::FeatureNotImplemented,
            "{payload}"
        );
    }
}

#[test]
fn reads_rsm() {
    let cases = [
        ("", Rsm::default()),
        (
            "<max>10</max>",
            Rsm {
                max: Some(10),
                position: Position::First,
            },
        ),
        ("<index>0</index>", Rsm::default()),
        (
            "<max>0</max><after>09af3</after>",
            Rsm {
                max: Some(0),
                position: Position::After("09af3".to_owned()),
            },
        ),
        (
            "<before>28482</before>",
            Rsm {
                max: None,
                position: Position::Before("28482".to_owned()),
            },
        ),
        (
            "<max>5</max><before/>",
            Rsm {
                max: Some(5),
                position: Position::Last,
            },
        ),
        (
            "<before></before>",
            Rsm {
                max: None,
                position: Position::Last,
            },
        ),
    ];
    for (children, expected) in cases {
        assert_eq!(
            query(&rsm(children)).expect(children).rsm,
            expected,
            "{children}"
        );
    }
}

#[test]
fn refuses_bad_rsm() {
    for children in [
        "<max>ten</max>",
        "<max>-1</max>",
        "<max>1</max><max>2</max>",
        "<after/>",
        "<after>a</after><before>b</before>",
        "<after>a</after><before/>",
        "<count>3</count>",
        "<first>x</first>",
        "<after><x/></after>",
        "<index>x</index>",
    ] {
        assert_eq!(
            condition(query(&rsm(children))),
            StanzaCondition::BadRequest,
            "{children}"
        );
    }
    let twice = "<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'/>\
                 <set xmlns='http://jabber.org/protocol/rsm'/></query>";
    assert_eq!(condition(query(twice)), StanzaCondition::BadRequest);
}

#[test]
fn reads_flip_page() {
    let q = query("<query xmlns='urn:xmpp:mam:2'><flip-page/></query>").expect("valid");
    assert!(q.flip_page);
}

#[test]
fn errors_become_stanza_errors_with_text() {
    let err = StanzaError::from(MamError::UnknownField("x".to_owned()));
    assert_eq!(err.condition, StanzaCondition::FeatureNotImplemented);
    assert_eq!(err.texts.len(), 1);
    assert_eq!(
        StanzaError::from(MamError::UnknownId).condition,
        StanzaCondition::ItemNotFound
    );
}

#[test]
fn only_the_owner_uses_the_archive() {
    let owner = BareJid::new("juliet@capulet.lit").expect("valid");
    let jid = |s: &str| Jid::new(s).expect("valid");
    assert_eq!(check_addressee(&owner, None), Ok(()));
    assert_eq!(
        check_addressee(&owner, Some(&jid("Juliet@capulet.lit"))),
        Ok(())
    );
    for other in [
        "romeo@montague.lit",
        "juliet@capulet.lit/balcony",
        "capulet.lit",
    ] {
        assert_eq!(
            check_addressee(&owner, Some(&jid(other))),
            Err(MamError::Forbidden),
            "{other}"
        );
    }
}

fn arb_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,12}"
}

fn arb_time() -> impl Strategy<Value = std::time::SystemTime> {
    (0u64..4_000_000_000_000).prop_map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

fn arb_query() -> impl Strategy<Value = Query> {
    let filter = (
        proptest::option::of("[a-z]{1,5}@[a-z]{1,5}\\.lit(/[a-z]{1,4})?"),
        proptest::option::of(arb_time()),
        proptest::option::of(arb_time()),
        proptest::option::of(arb_id()),
        proptest::option::of(arb_id()),
        prop::collection::vec(arb_id(), 0..4),
    )
        .prop_map(|(with, start, end, before_id, after_id, ids)| Filter {
            with: with.map(|w| Jid::new(&w).expect("generated JIDs are valid")),
            start,
            end,
            before_id,
            after_id,
            ids,
        });
    let position = prop_oneof![
        Just(Position::First),
        Just(Position::Last),
        arb_id().prop_map(Position::After),
        arb_id().prop_map(Position::Before),
    ];
    (
        proptest::option::of("[a-z0-9]{1,8}"),
        filter,
        proptest::option::of(0usize..1000),
        position,
        any::<bool>(),
    )
        .prop_map(|(query_id, filter, max, position, flip_page)| Query {
            query_id,
            filter,
            rsm: Rsm { max, position },
            flip_page,
        })
}

proptest! {
    #[test]
    fn queries_round_trip(q in arb_query()) {
        let text = q.to_element().to_string();
        let el: Element = text.parse().expect("our output is well-formed");
        prop_assert_eq!(Query::from_element(&el), Ok(q));
    }

    #[test]
    fn never_panics_on_arbitrary_rsm(children in prop::collection::vec(
        ("max|after|before|index|count|x", "[ -~]{0,6}"), 0..5)
    ) {
        let mut set = Element::new("set", crate::ns::RSM);
        for (name, text) in children {
            set.append_child(Element::new(&name, crate::ns::RSM).with_text(text));
        }
        let q = Element::new("query", crate::ns::MAM).with_child(set);
        let _ = Query::from_element(&q);
    }
}

#[test]
fn at_most_max_ids_ids() {
    let values = |n: usize| {
        (0..n).fold(String::new(), |mut s, i| {
            use std::fmt::Write as _;
            let _ = write!(s, "<value>m{i}</value>");
            s
        })
    };
    let ids = |n: usize| {
        query(&form(&format!(
            "<field var='ids' type='list-multi'>{}</field>",
            values(n)
        )))
    };
    assert_eq!(ids(MAX_IDS).map(|q| q.filter.ids.len()), Ok(MAX_IDS));
    assert_eq!(condition(ids(MAX_IDS + 1)), StanzaCondition::BadRequest);
}
