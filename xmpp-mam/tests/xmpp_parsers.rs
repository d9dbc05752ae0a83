//! Our MAM XML against an independent implementation (xmpp-parsers), both ways: what we send
//! parses with their types, and what their types build parses with ours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use xmpp_core::{BareJid, Element, Jid, Stanza};
use xmpp_mam::{
    ArchivedMessage, Bounds, DefaultPolicy, Filter, MamRequest, Page, Position, Prefs, Query, Rsm,
    ns, results, rules,
};
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field as TheirField, FieldType};
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

fn theirs<T>(el: &Element) -> T
where
    T: TryFrom<minidom::Element, Error = xmpp_parsers::FromElementError>,
{
    T::try_from(to_minidom(el)).unwrap_or_else(|e| panic!("xmpp-parsers rejects {el}: {e:?}"))
}

fn iq(ty: &str, payload: &str) -> Stanza {
    let xml = format!(
        "<iq xmlns='jabber:client' type='{ty}' id='q1' from='juliet@capulet.lit/balcony' \
         to='juliet@capulet.lit'>{payload}</iq>"
    );
    Stanza::from_element(xml.parse().expect("well-formed")).expect("valid iq")
}

fn millis(t: SystemTime) -> i64 {
    i64::try_from(
        t.duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits")
}

fn archived(id: &str, ms: u64) -> ArchivedMessage {
    let owner = BareJid::new("juliet@capulet.lit").expect("valid");
    let mut stanza: Element = "<message xmlns='jabber:client' from='romeo@montague.lit/orchard' \
        to='juliet@capulet.lit/balcony' type='chat' id='m1'><body>Call me but love</body>\
        <origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>"
        .parse()
        .expect("well-formed");
    rules::add_stanza_id(&mut stanza, id, &owner);
    ArchivedMessage {
        id: id.to_owned(),
        with: Jid::new("romeo@montague.lit/orchard").expect("valid"),
        timestamp: UNIX_EPOCH + Duration::from_millis(ms),
        stanza,
    }
}

#[test]
fn namespaces_agree() {
    assert_eq!(ns::MAM, xmpp_parsers::ns::MAM);
    assert_eq!(ns::RSM, xmpp_parsers::ns::RSM);
    assert_eq!(ns::SID, xmpp_parsers::ns::SID);
    assert_eq!(ns::FORWARD, xmpp_parsers::ns::FORWARD);
    assert_eq!(ns::DELAY, xmpp_parsers::ns::DELAY);
    assert_eq!(ns::DATA_FORMS, xmpp_parsers::ns::DATA_FORMS);
    assert_eq!(ns::MESSAGE_CORRECT, xmpp_parsers::ns::MESSAGE_CORRECT);
    assert_eq!(ns::REACTIONS, xmpp_parsers::ns::REACTIONS);
    assert_eq!(ns::OMEMO_LEGACY, xmpp_parsers::ns::LEGACY_OMEMO);
}

#[test]
fn they_read_our_result_messages() {
    let query = iq("set", "<query xmlns='urn:xmpp:mam:2' queryid='f27'/>");
    for ms in [1_278_803_305_000, 1_278_803_305_123] {
        let message = archived("28482-98726-73623", ms);
        let result = results::result_message(&query, Some("f27"), &message);
        let mut their: xmpp_parsers::message::Message = theirs(result.element());
        assert_eq!(
            their.to.as_ref().map(ToString::to_string).as_deref(),
            Some("juliet@capulet.lit/balcony")
        );
        assert_eq!(
            their.from.as_ref().map(ToString::to_string).as_deref(),
            Some("juliet@capulet.lit")
        );
        let r = their
            .extract_payload::<xmpp_parsers::mam::Result_>()
            .expect("a valid result")
            .expect("a result payload");
        assert_eq!(r.id, "28482-98726-73623");
        assert_eq!(r.queryid.map(|q| q.0).as_deref(), Some("f27"));
        let delay = r.forwarded.delay.expect("a delay");
        assert_eq!(
            delay.stamp.0.timestamp_millis(),
            i64::try_from(ms).expect("fits")
        );
        let inner = r.forwarded.message;
        assert_eq!(
            inner.bodies.values().next().map(String::as_str),
            Some("Call me but love")
        );
        let mut inner = inner;
        let sid = inner
            .extract_payload::<xmpp_parsers::stanza_id::StanzaId>()
            .expect("valid")
            .expect("the archive's stanza-id");
        assert_eq!(sid.id, "28482-98726-73623");
        assert_eq!(sid.by.to_string(), "juliet@capulet.lit");
        let origin = inner
            .extract_payload::<xmpp_parsers::stanza_id::OriginId>()
            .expect("valid")
            .expect("the origin-id kept");
        assert_eq!(origin.id, "o1");
    }
}

#[test]
fn they_read_our_fin() {
    let page = Page {
        messages: vec![archived("a", 1), archived("b", 2)],
        first: Some("a".to_owned()),
        last: Some("b".to_owned()),
        complete: true,
    };
    let fin: xmpp_parsers::mam::Fin = theirs(&results::fin_element(&page));
    assert!(fin.complete);
    assert_eq!(fin.set.first.map(|f| f.item).as_deref(), Some("a"));
    assert_eq!(fin.set.last.as_deref(), Some("b"));
    assert_eq!(fin.set.count, None);
    let empty = Page {
        messages: Vec::new(),
        first: None,
        last: None,
        complete: false,
    };
    let fin: xmpp_parsers::mam::Fin = theirs(&results::fin_element(&empty));
    assert!(!fin.complete);
    assert_eq!(fin.set.first, None);
    assert_eq!(fin.set.last, None);
    let answer = results::fin_answer(&iq("set", "<query xmlns='urn:xmpp:mam:2'/>"), &empty)
        .expect("answered");
    let their: xmpp_parsers::iq::Iq = theirs(answer.element());
    assert!(matches!(their, xmpp_parsers::iq::Iq::Result { .. }));
}

#[test]
fn they_read_our_form_prefs_and_metadata() {
    let form_answer =
        results::form_answer(&iq("get", "<query xmlns='urn:xmpp:mam:2'/>")).expect("answered");
    let query = form_answer.iq_payload().expect("a query");
    let their: xmpp_parsers::mam::Query = theirs(query);
    let form = their.form.expect("a form");
    assert_eq!(form.type_, DataFormType::Form);
    assert_eq!(form.form_type(), Some(ns::MAM));
    let types: Vec<(&str, FieldType)> = form
        .fields
        .iter()
        .filter_map(|f| Some((f.var.as_deref()?, f.type_.clone())))
        .collect();
    assert_eq!(
        types,
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
        form.fields.iter().any(|f| f.validate.is_some()),
        "ids is open"
    );

    let prefs = Prefs {
        default: DefaultPolicy::Roster,
        always: vec![Jid::new("romeo@montague.lit").expect("valid")],
        never: vec![
            Jid::new("montague@montague.lit").expect("valid"),
            Jid::new("tybalt@capulet.lit/sword").expect("valid"),
        ],
    };
    let their: xmpp_parsers::mam_prefs::Prefs = theirs(&prefs.to_element());
    assert_eq!(
        their.default_,
        xmpp_parsers::mam_prefs::DefaultPrefs::Roster
    );
    let strings =
        |v: &[xmpp_parsers::jid::Jid]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(strings(&their.always), ["romeo@montague.lit"]);
    assert_eq!(
        strings(&their.never),
        ["montague@montague.lit", "tybalt@capulet.lit/sword"]
    );
    // And back: theirs, serialised, reads as ours.
    let back = Prefs::from_element(&from_minidom(&minidom::Element::from(their)))
        .expect("we read their prefs");
    assert_eq!(back, prefs);

    let bounds = Bounds {
        first: (
            "YWxwaGEg".to_owned(),
            UNIX_EPOCH + Duration::from_secs(1_219_439_344),
        ),
        last: (
            "b21lZ2Eg".to_owned(),
            UNIX_EPOCH + Duration::from_millis(1_587_393_261_250),
        ),
    };
    let their: xmpp_parsers::mam::MetadataResponse =
        theirs(&results::metadata_element(Some(&bounds)));
    let start = their.start.expect("a start");
    let end = their.end.expect("an end");
    assert_eq!(start.id, "YWxwaGEg");
    assert_eq!(start.timestamp.0.timestamp_millis(), millis(bounds.first.1));
    assert_eq!(end.id, "b21lZ2Eg");
    assert_eq!(end.timestamp.0.timestamp_millis(), millis(bounds.last.1));
    let their: xmpp_parsers::mam::MetadataResponse = theirs(&results::metadata_element(None));
    assert!(their.start.is_none() && their.end.is_none());
}

#[test]
fn we_read_their_requests() {
    let prefs_get = xmpp_parsers::iq::Iq::from_get(
        "p1",
        xmpp_parsers::mam_prefs::Prefs {
            default_: xmpp_parsers::mam_prefs::DefaultPrefs::Always,
            always: Vec::new(),
            never: Vec::new(),
        },
    );
    let stanza =
        Stanza::from_element(from_minidom(&minidom::Element::from(prefs_get))).expect("a valid iq");
    assert_eq!(MamRequest::parse(&stanza), Some(Ok(MamRequest::GetPrefs)));
    let metadata = xmpp_parsers::iq::Iq::from_get("m1", xmpp_parsers::mam::MetadataQuery);
    let stanza =
        Stanza::from_element(from_minidom(&minidom::Element::from(metadata))).expect("a valid iq");
    assert_eq!(MamRequest::parse(&stanza), Some(Ok(MamRequest::Metadata)));
}

/// What a generated query holds.
struct Spec {
    queryid: Option<String>,
    with: Option<String>,
    start: Option<u64>,
    ids: Vec<String>,
    after_id: Option<String>,
    max: Option<usize>,
    position: Position,
    flip_page: bool,
}

/// A query as xmpp-parsers builds it, and the query we expect it to mean.
fn their_query(spec: Spec) -> (xmpp_parsers::mam::Query, Query) {
    let Spec {
        queryid,
        with,
        start,
        ids,
        after_id,
        max,
        position,
        flip_page,
    } = spec;
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    let mut fields = Vec::new();
    if let Some(w) = &with {
        fields.push(TheirField::new("with", FieldType::JidSingle).with_value(w));
    }
    if let Some(s) = start {
        let stamp = xmpp_core::datetime::format_utc(at(s), false);
        fields.push(TheirField::text_single("start", &stamp));
    }
    if let Some(a) = &after_id {
        fields.push(TheirField::text_single("after-id", a));
    }
    if !ids.is_empty() {
        let mut f = TheirField::new("ids", FieldType::ListMulti);
        f.values.clone_from(&ids);
        fields.push(f);
    }
    let form = (!fields.is_empty()).then(|| DataForm::new(DataFormType::Submit, ns::MAM, fields));
    let (after, before) = match &position {
        Position::First => (None, None),
        Position::After(a) => (Some(a.clone()), None),
        Position::Before(b) => (None, Some(b.clone())),
        Position::Last => (None, Some(String::new())),
    };
    let set =
        (max.is_some() || position != Position::First).then_some(xmpp_parsers::rsm::SetQuery {
            max,
            after,
            before,
            index: None,
        });
    let theirs = xmpp_parsers::mam::Query {
        queryid: queryid.clone().map(xmpp_parsers::mam::QueryId),
        node: None,
        form,
        set,
        flip_page,
    };
    let ours = Query {
        query_id: queryid,
        filter: Filter {
            with: with.map(|w| Jid::new(&w).expect("valid")),
            start: start.map(at),
            after_id,
            ids,
            ..Filter::default()
        },
        rsm: Rsm { max, position },
        flip_page,
    };
    (theirs, ours)
}

#[test]
fn we_read_the_xep_example_query_as_they_build_it() {
    let (theirs, ours) = their_query(Spec {
        queryid: Some("f27".to_owned()),
        with: Some("juliet@capulet.lit".to_owned()),
        start: Some(1_281_139_200),
        ids: Vec::new(),
        after_id: None,
        max: Some(10),
        position: Position::After("09af3-cc343-b409f".to_owned()),
        flip_page: true,
    });
    let iq = xmpp_parsers::iq::Iq::from_set("q29302", theirs);
    let stanza =
        Stanza::from_element(from_minidom(&minidom::Element::from(iq))).expect("a valid iq");
    assert_eq!(
        MamRequest::parse(&stanza),
        Some(Ok(MamRequest::Query(ours)))
    );
}

fn arb_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,10}"
}

proptest! {
    #[test]
    fn we_read_every_query_they_build(
        queryid in proptest::option::of("[a-z0-9]{1,6}"),
        with in proptest::option::of("[a-z]{1,5}@[a-z]{1,5}\\.lit(/[a-z]{1,4})?"),
        start in proptest::option::of(0u64..4_000_000_000),
        ids in prop::collection::vec(arb_id(), 0..3),
        after_id in proptest::option::of(arb_id()),
        max in proptest::option::of(0usize..500),
        position in prop_oneof![
            Just(Position::First),
            Just(Position::Last),
            arb_id().prop_map(Position::After),
            arb_id().prop_map(Position::Before),
        ],
        flip_page: bool,
    ) {
        let (built, ours) =
            their_query(Spec { queryid, with, start, ids, after_id, max, position, flip_page });
        let el = from_minidom(&minidom::Element::from(built));
        prop_assert_eq!(Query::from_element(&el), Ok(ours.clone()));
        // And what we write, they read back to the same query.
        let their_copy: xmpp_parsers::mam::Query = theirs(&ours.to_element());
        let again = from_minidom(&minidom::Element::from(their_copy));
        prop_assert_eq!(Query::from_element(&again), Ok(ours));
    }
}
