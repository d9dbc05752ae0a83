//! Rosters (RFC 6121 §2) over real sockets: get, set, remove, pushes to every interested
//! resource (and only those), versioning (§2.6, the `ver` stream feature), the size limit,
//! and every error case of §2.3.3. Also through tokio-xmpp, an independent client. Every
//! scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::sync::Arc;

use support::raw::{Raw, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_accounts};
use xmpp_core::{Element, ErrorType, StanzaCondition, ns};

const PASSWORD: &str = "a password";

async fn login(server: &TestServer, user: &str, resource: &str) -> Raw {
    Raw::login(server, user, PASSWORD, resource).await
}

/// Sends an IQ and returns its answer, with everything that arrived before it.
async fn iq(c: &mut Raw, id: &str, xml: &str) -> (Element, Vec<Element>) {
    c.send(xml).await;
    let mut before = Vec::new();
    loop {
        let e = c.recv().await;
        if e.name() == "iq" && e.attr("id") == Some(id) && e.attr("type") != Some("set") {
            return (e, before);
        }
        before.push(e);
    }
}

async fn get_roster(c: &mut Raw, id: &str, ver: Option<&str>) -> Element {
    let ver = ver.map_or(String::new(), |v| format!(" ver='{v}'"));
    let (answer, _) = iq(
        c,
        id,
        &format!("<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'{ver}/></iq>"),
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    answer
}

fn items(answer: &Element) -> Vec<&Element> {
    answer
        .get_child("query", ns::ROSTER)
        .map(|q| q.children().collect())
        .unwrap_or_default()
}

/// Pings, and returns what arrived before the pong.
async fn drain(c: &mut Raw, id: &str) -> Vec<Element> {
    let (_, before) = iq(
        c,
        id,
        &format!("<iq type='get' id='{id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"),
    )
    .await;
    before
}

fn push_item(e: &Element) -> &Element {
    assert_eq!(e.attr("type"), Some("set"), "{e:?}");
    e.get_child("query", ns::ROSTER)
        .and_then(|q| q.get_child("item", ns::ROSTER))
        .unwrap_or_else(|| panic!("not a roster push: {e:?}"))
}

/// Set, push to both interested resources (not to the one that never asked), get, rename,
/// remove; versions change with each change and an unchanged roster answers empty.
async fn set_push_get_remove(server: Arc<TestServer>) {
    let mut phone = login(&server, "alice", "phone").await;
    let mut laptop = login(&server, "alice", "laptop").await;
    let mut quiet = login(&server, "alice", "quiet").await;
    let first = get_roster(&mut phone, "g1", Some("")).await;
    assert!(items(&first).is_empty());
    let v0 = first
        .get_child("query", ns::ROSTER)
        .and_then(|q| q.attr("ver"))
        .unwrap_or_else(|| panic!("versioned answer without ver: {first:?}"))
        .to_owned();
    get_roster(&mut laptop, "g2", None).await;

    let (answer, _) = iq(
        &mut phone,
        "s1",
        "<iq type='set' id='s1'><query xmlns='jabber:iq:roster'>\
         <item jid='Bob@LOCALHOST' name='Bob ✓'><group>Friends</group><group>Work</group></item>\
         </query></iq>",
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    let pushes = drain(&mut phone, "d1").await;
    assert_eq!(pushes.len(), 1, "{pushes:#?}");
    let item = push_item(&pushes[0]);
    // The JID is normalised; name and groups are kept as given, in order.
    assert_eq!(item.attr("jid"), Some("bob@localhost"));
    assert_eq!(item.attr("name"), Some("Bob ✓"));
    assert_eq!(item.attr("subscription"), Some("none"));
    let groups: Vec<String> = item.children().map(Element::text).collect();
    assert_eq!(groups, ["Friends", "Work"]);
    let v1 = pushes[0]
        .get_child("query", ns::ROSTER)
        .and_then(|q| q.attr("ver"))
        .unwrap_or_default()
        .to_owned();
    assert_ne!(v1, v0);
    // The other interested resource gets the same push; answering it is allowed.
    let push = laptop.recv().await;
    assert_eq!(push_item(&push).attr("jid"), Some("bob@localhost"));
    let id = push.attr("id").unwrap_or_default().to_owned();
    laptop.send(&format!("<iq type='result' id='{id}'/>")).await;
    assert!(drain(&mut laptop, "d2").await.is_empty());
    // A resource that never asked for the roster gets no pushes (§2.1.6).
    assert!(drain(&mut quiet, "d3").await.is_empty());

    // Versioning: the current version gets an empty result, an old one the full roster.
    let same = get_roster(&mut phone, "g3", Some(&v1)).await;
    assert!(same.children().next().is_none(), "{same:?}");
    let full = get_roster(&mut phone, "g4", Some(&v0)).await;
    assert_eq!(items(&full).len(), 1);

    // Rename: the groups go when the set omits them.
    iq(
        &mut phone,
        "s2",
        "<iq type='set' id='s2'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Robert'/></query></iq>",
    )
    .await;
    let pushes = drain(&mut phone, "d4").await;
    let item = push_item(&pushes[0]);
    assert_eq!(item.attr("name"), Some("Robert"));
    assert_eq!(item.children().count(), 0);
    let _ = laptop.recv().await;

    // Remove.
    let (answer, _) = iq(
        &mut phone,
        "s3",
        "<iq type='set' id='s3'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>",
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"));
    let pushes = drain(&mut phone, "d5").await;
    assert_eq!(push_item(&pushes[0]).attr("subscription"), Some("remove"));
    assert_eq!(
        push_item(&laptop.recv().await).attr("subscription"),
        Some("remove")
    );
    assert!(items(&get_roster(&mut phone, "g5", None).await).is_empty());
}

/// Every error of RFC 6121 §2.3.3 (and §2.5.3), each with its condition and type.
async fn set_errors(server: Arc<TestServer>) {
    let mut c = login(&server, "alice", "phone").await;
    let long = "x".repeat(1024);
    let cases: Vec<(String, StanzaCondition)> = vec![
        (
            "<query xmlns='jabber:iq:roster'><item jid='a@localhost'/><item jid='b@localhost'/></query>".into(),
            StanzaCondition::BadRequest,
        ),
        (
            "<query xmlns='jabber:iq:roster'/>".into(),
            StanzaCondition::BadRequest,
        ),
        (
            "<query xmlns='jabber:iq:roster'><item jid='a@localhost'><group>G</group><group>G</group></item></query>".into(),
            StanzaCondition::BadRequest,
        ),
        (
            "<query xmlns='jabber:iq:roster'><item jid='a@localhost'><group/></item></query>".into(),
            StanzaCondition::NotAcceptable,
        ),
        (
            format!("<query xmlns='jabber:iq:roster'><item jid='a@localhost' name='{long}'/></query>"),
            StanzaCondition::NotAcceptable,
        ),
        (
            format!("<query xmlns='jabber:iq:roster'><item jid='a@localhost'><group>{long}</group></item></query>"),
            StanzaCondition::NotAcceptable,
        ),
        (
            "<query xmlns='jabber:iq:roster'><item jid='a@localhost/res'/></query>".into(),
            StanzaCondition::JidMalformed,
        ),
        (
            "<query xmlns='jabber:iq:roster'><item jid='@@'/></query>".into(),
            StanzaCondition::JidMalformed,
        ),
        (
            "<query xmlns='jabber:iq:roster'><item jid='nobody@localhost' subscription='remove'/></query>".into(),
            StanzaCondition::ItemNotFound,
        ),
    ];
    for (i, (query, condition)) in cases.iter().enumerate() {
        let id = format!("e{i}");
        let (answer, _) = iq(
            &mut c,
            &id,
            &format!("<iq type='set' id='{id}'>{query}</iq>"),
        )
        .await;
        assert_eq!(answer.attr("type"), Some("error"), "{query}");
        assert_eq!(stanza_error(&answer).condition, *condition, "{query}");
    }
    // Another account's roster: forbidden (§2.1.5, §2.3.3).
    let (answer, _) = iq(
        &mut c,
        "f1",
        "<iq type='get' id='f1' to='bob@localhost'><query xmlns='jabber:iq:roster'/></iq>",
    )
    .await;
    assert_eq!(answer.attr("type"), Some("error"), "{answer:?}");
    let error = stanza_error(&answer);
    assert!(
        matches!(
            error.condition,
            StanzaCondition::Forbidden | StanzaCondition::ServiceUnavailable
        ),
        "{error:?}"
    );
    // Nothing was stored by any of them.
    assert!(items(&get_roster(&mut c, "g", None).await).is_empty());
}

/// The configured maximum: the next new item gets `not-allowed`; changing an existing item
/// still works.
async fn roster_size_limit(server: Arc<TestServer>) {
    let mut c = login(&server, "alice", "phone").await;
    for i in 0..3 {
        let (answer, _) = iq(
            &mut c,
            &format!("s{i}"),
            &format!("<iq type='set' id='s{i}'><query xmlns='jabber:iq:roster'><item jid='c{i}@localhost'/></query></iq>"),
        )
        .await;
        assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    }
    let (answer, _) = iq(
        &mut c,
        "over",
        "<iq type='set' id='over'><query xmlns='jabber:iq:roster'><item jid='c3@localhost'/></query></iq>",
    )
    .await;
    let error = stanza_error(&answer);
    assert_eq!(
        (error.condition, error.error_type),
        (StanzaCondition::NotAllowed, ErrorType::Cancel)
    );
    let (answer, _) = iq(
        &mut c,
        "rename",
        "<iq type='set' id='rename'><query xmlns='jabber:iq:roster'><item jid='c0@localhost' name='Zero'/></query></iq>",
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    // A subscription request that would add a fourth item is refused too.
    c.send("<presence type='subscribe' to='c3@localhost'/>")
        .await;
    let got = drain(&mut c, "d").await;
    let error = got
        .iter()
        .find(|e| e.attr("type") == Some("error"))
        .unwrap_or_else(|| panic!("no error in {got:#?}"));
    assert_eq!(stanza_error(error).condition, StanzaCondition::NotAllowed);
}

/// The stream features after authentication announce roster versioning and pre-approval
/// (RFC 6121 §2.6.1, §3.4).
async fn features_are_announced(server: Arc<TestServer>) {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    c.open("localhost").await;
    let (result, _, _) = c
        .authenticate(xmpp_sasl::Mechanism::ScramSha256, "alice", PASSWORD)
        .await;
    assert!(result.is("success", ns::SASL), "{result:?}");
    let (_, features) = c.open("localhost").await;
    assert!(
        features.has_child("ver", ns::ROSTER_VER_FEATURE),
        "{features:?}"
    );
    assert!(
        features.has_child("sub", ns::PRE_APPROVAL_FEATURE),
        "{features:?}"
    );
}

/// tokio-xmpp (an independent client) fetches the roster the server stored for it.
async fn tokio_xmpp_reads_the_roster(server: Arc<TestServer>) {
    let mut c = login(&server, "alice", "phone").await;
    iq(
        &mut c,
        "s",
        "<iq type='set' id='s'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Bob'><group>Friends</group></item></query></iq>",
    )
    .await;
    let mut cmd = support::client(
        server.direct,
        "direct",
        "alice@localhost/tokio",
        PASSWORD,
        &server.cert_path(),
    );
    cmd.arg("--roster");
    let run = support::run_client(cmd).await;
    run.assert_success();
    assert_eq!(
        run.field("roster"),
        Some("bob@localhost|Bob|none|Friends"),
        "{run:?}"
    );
}

async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_accounts(backend, extra, &["alice", "bob"], PASSWORD, scenario).await;
}

on_both_backends!(
    set_push_get_remove => "",
    set_errors => "",
    roster_size_limit => "[roster]\nmax_items = 3\n",
    features_are_announced => "",
    tokio_xmpp_reads_the_roster => "",
);
