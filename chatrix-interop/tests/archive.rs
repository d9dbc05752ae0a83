//! Message archive management (XEP-0313, `urn:xmpp:mam:2` and `#extended`) over real
//! sockets: the features on the account's bare JID; the `<stanza-id/>` (XEP-0359) on
//! delivered messages, forged ones replaced; paging through 200 messages forwards and
//! backwards (RSM, XEP-0059), every message once, in order, `complete` on the last page
//! only; the page sizes of the configuration; the `with`, `start`/`end`, `before-id`/
//! `after-id` and `ids` filters; unknown ids; flipped pages; preferences (XEP-0441) and the
//! configured default policy; metadata; another account's archive; a database outage; and an
//! independent library (`xmpp-parsers`) reading results and `<fin/>`.
//!
//! Every scenario runs on SQLite and, when `CHATRIX_TEST_PG_URL` is set, on PostgreSQL.

mod support;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use support::im::{PASSWORD, add_user, is_message, message, subscribe_both};
use support::raw::{Raw, assert_error_reply, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::{Element, StanzaCondition, StanzaError, datetime, ns};

const ALICE: &str = "alice@localhost";
const ALICE_PHONE: &str = "alice@localhost/phone";
const BOB: &str = "bob@localhost";
const BOB_DESK: &str = "bob@localhost/desk";
const CAROL: &str = "carol@localhost";

const MAM_EXTENDED: &str = "urn:xmpp:mam:2#extended";

/// Pages of at most 80 messages, 30 when the client does not say.
const SMALL_PAGES: &str = "[archive]\nmax_page_size = 80\ndefault_page_size = 30\n";
/// Only messages with roster contacts are archived by default.
const ROSTER_DEFAULT: &str = "[archive]\ndefault = \"roster\"\n";
/// No archive.
const DISABLED: &str = "[archive]\nenabled = false\n";

// ---------------------------------------------------------------------------------------------
// Queries and their answers

/// One result of a query.
#[derive(Debug)]
struct Archived {
    /// The archive id (`<result id='…'/>`).
    id: String,
    /// The forwarded message.
    message: Element,
    /// The `<delay stamp='…'/>` of the `<forwarded/>`.
    stamp: SystemTime,
    /// The whole result message, as received.
    raw: Element,
}

/// The answer to a query: the results in the order they came, and the `<fin/>`.
#[derive(Debug)]
struct Answer {
    results: Vec<Archived>,
    fin: Element,
    /// The whole `<iq type='result'/>`, as received.
    fin_iq: Element,
}

impl Answer {
    fn complete(&self) -> bool {
        self.fin.attr("complete") == Some("true")
    }

    /// The `id`s the senders gave the archived messages, in the order of the results.
    fn message_ids(&self) -> Vec<&str> {
        self.results
            .iter()
            .map(|r| r.message.attr("id").unwrap_or_default())
            .collect()
    }

    /// The archive ids, in the order of the results.
    fn archive_ids(&self) -> Vec<&str> {
        self.results.iter().map(|r| r.id.as_str()).collect()
    }

    /// The RSM `<first/>` and `<last/>` of the `<fin/>`.
    fn first_last(&self) -> (Option<String>, Option<String>) {
        let set = self.fin.get_child("set", ns::RSM);
        (
            set.and_then(|s| s.child_text("first", ns::RSM)),
            set.and_then(|s| s.child_text("last", ns::RSM)),
        )
    }
}

/// A query with id and `queryid` `qid`: a form with `fields` (none: no form), the RSM
/// `<set/>` children `rsm` (empty: no `<set/>`), and `<flip-page/>` when `flip`.
fn query(qid: &str, fields: &[(&str, &[&str])], rsm: &str, flip: bool) -> String {
    let mut q = format!(
        "<iq type='set' id='{qid}'><query xmlns='{}' queryid='{qid}'>",
        ns::MAM
    );
    if !fields.is_empty() {
        q.push_str(
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>\
             <value>urn:xmpp:mam:2</value></field>",
        );
        for (var, values) in fields {
            let _ = write!(q, "<field var='{var}'>");
            for v in *values {
                let _ = write!(q, "<value>{v}</value>");
            }
            q.push_str("</field>");
        }
        q.push_str("</x>");
    }
    if !rsm.is_empty() {
        let _ = write!(q, "<set xmlns='{}'>{rsm}</set>", ns::RSM);
    }
    if flip {
        q.push_str("<flip-page/>");
    }
    q.push_str("</query></iq>");
    q
}

/// Sends `xml` (a query with id and `queryid` `qid`) on `c`, bound as `me`, and reads the
/// results up to the `<fin/>`. Each result must be a message to `me` (from nobody or from
/// `me`'s bare JID: XEP-0313's security considerations) with `<result queryid='qid' id='…'/>`
/// holding a `<forwarded/>` with a `<delay/>` and the message.
async fn run_query(c: &mut Raw, me: &str, qid: &str, xml: &str) -> Answer {
    c.send(xml).await;
    let bare = me.split('/').next().unwrap_or_default();
    let mut results = Vec::new();
    loop {
        let e = c.recv().await;
        if e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some(qid) {
            assert_eq!(e.attr("type"), Some("result"), "{e:?}");
            let fin = e
                .get_child("fin", ns::MAM)
                .cloned()
                .unwrap_or_else(|| panic!("no <fin/>: {e:?}"));
            return Answer {
                results,
                fin,
                fin_iq: e,
            };
        }
        assert!(e.is("message", ns::JABBER_CLIENT), "{e:?}");
        assert_eq!(e.attr("to"), Some(me), "{e:?}");
        assert!(
            e.attr("from").is_none_or(|f| f == bare),
            "a result from someone else: {e:?}"
        );
        let result = e
            .get_child("result", ns::MAM)
            .unwrap_or_else(|| panic!("not a result: {e:?}"));
        assert_eq!(result.attr("queryid"), Some(qid), "{e:?}");
        let id = result
            .attr("id")
            .unwrap_or_else(|| panic!("no id: {e:?}"))
            .to_owned();
        let forwarded = result
            .get_child("forwarded", ns::FORWARD)
            .unwrap_or_else(|| panic!("no <forwarded/>: {e:?}"));
        let stamp = forwarded
            .get_child("delay", ns::DELAY)
            .and_then(|d| d.attr("stamp"))
            .unwrap_or_else(|| panic!("no <delay stamp/>: {e:?}"));
        let stamp = datetime::parse(stamp).unwrap_or_else(|_| panic!("bad stamp: {e:?}"));
        let message = forwarded
            .get_child("message", ns::JABBER_CLIENT)
            .cloned()
            .unwrap_or_else(|| panic!("no message: {e:?}"));
        results.push(Archived {
            id,
            message,
            stamp,
            raw: e,
        });
    }
}

/// Sends `xml` (an iq with id `qid`); the answer must be an iq error, with no result before
/// it. Returns the error.
async fn expect_iq_error(c: &mut Raw, qid: &str, xml: &str) -> StanzaError {
    c.send(xml).await;
    let e = c.recv().await;
    assert!(e.is("iq", ns::JABBER_CLIENT), "{e:?}");
    assert_eq!(e.attr("id"), Some(qid), "{e:?}");
    assert_eq!(e.attr("type"), Some("error"), "{e:?}");
    stanza_error(&e)
}

/// Sends an iq with `payload` and returns the result's payload (its only child, if any).
async fn iq_result(c: &mut Raw, id: &str, ty: &str, to: Option<&str>, payload: &str) -> Element {
    let to = to.map(|t| format!(" to='{t}'")).unwrap_or_default();
    c.send(&format!("<iq type='{ty}' id='{id}'{to}>{payload}</iq>"))
        .await;
    let e = c.recv().await;
    assert!(e.is("iq", ns::JABBER_CLIENT), "{e:?}");
    assert_eq!(e.attr("id"), Some(id), "{e:?}");
    assert_eq!(e.attr("type"), Some("result"), "{e:?}");
    e
}

/// The `<stanza-id/>`s of `m` (XEP-0359).
fn stanza_ids(m: &Element) -> Vec<&Element> {
    m.children()
        .filter(|c| c.is("stanza-id", ns::SID))
        .collect()
}

/// The id of the one `<stanza-id by='by'/>` of `m`.
#[track_caller]
fn stanza_id_by(m: &Element, by: &str) -> String {
    let ours: Vec<&Element> = stanza_ids(m)
        .into_iter()
        .filter(|s| s.attr("by") == Some(by))
        .collect();
    assert_eq!(ours.len(), 1, "one <stanza-id by='{by}'/>: {m:?}");
    ours[0]
        .attr("id")
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("<stanza-id/> without id: {m:?}"))
        .to_owned()
}

/// Alice (`phone`) and Bob (`desk`), logged in (messages to full JIDs need no presence).
async fn alice_and_bob(server: &TestServer) -> (Raw, Raw) {
    let alice = Raw::login(server, "alice", PASSWORD, "phone").await;
    let bob = Raw::login(server, "bob", PASSWORD, "desk").await;
    (alice, bob)
}

/// Alice sends Bob's desk `n` chats with ids (and bodies) `m001`, `m002`, …; Bob receives
/// each. Returns the message ids and the archive ids of Bob's `<stanza-id/>`s, in order.
/// Sent in batches that Bob reads before the next, so that no queue fills up.
async fn fill(
    alice: &mut Raw,
    bob: &mut Raw,
    first: usize,
    n: usize,
) -> (Vec<String>, Vec<String>) {
    let ids: Vec<String> = (first..first + n).map(|i| format!("m{i:03}")).collect();
    let mut sids = Vec::new();
    for batch in ids.chunks(50) {
        for id in batch {
            alice.send(&message(BOB_DESK, Some("chat"), id, id)).await;
        }
        for id in batch {
            let m = bob.recv().await;
            assert!(is_message(&m, id), "expected {id}, got {m:?}");
            sids.push(stanza_id_by(&m, BOB));
        }
    }
    (ids, sids)
}

// ---------------------------------------------------------------------------------------------
// Support and stanza ids

/// disco#info on the account's own bare JID lists `urn:xmpp:mam:2` and `#extended` ("Determining
/// support").
async fn disco_on_own_bare_jid_lists_mam(server: Arc<TestServer>) {
    let (_, mut bob) = alice_and_bob(&server).await;
    let reply = iq_result(
        &mut bob,
        "disco",
        "get",
        Some(BOB),
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    let features = disco_features(&reply);
    assert!(features.contains(&ns::MAM.to_owned()), "{features:?}");
    assert!(features.contains(&MAM_EXTENDED.to_owned()), "{features:?}");
}

fn disco_features(reply: &Element) -> Vec<String> {
    let query = reply
        .get_child("query", ns::DISCO_INFO)
        .unwrap_or_else(|| panic!("no query: {reply:?}"));
    query
        .children()
        .filter(|f| f.is("feature", ns::DISCO_INFO))
        .filter_map(|f| f.attr("var").map(str::to_owned))
        .collect()
}

/// A delivered message carries `<stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost'/>`
/// whose id is the archive id of the result (XEP-0359, XEP-0313 "Query results"); one the sender
/// made up with `by='bob@localhost'` is removed, on delivery and in the archive.
async fn stanza_id_on_delivery_and_forged_ones_replaced(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice
        .send(&message(BOB_DESK, Some("chat"), "plain", "plain"))
        .await;
    alice
        .send(&format!(
            "<message to='{BOB_DESK}' type='chat' id='forging'><body>forging</body>\
             <stanza-id xmlns='{}' by='{BOB}' id='forged'/></message>",
            ns::SID
        ))
        .await;
    let plain = bob.recv().await;
    assert!(is_message(&plain, "plain"), "{plain:?}");
    let plain_sid = stanza_id_by(&plain, BOB);
    let forging = bob.recv().await;
    assert!(is_message(&forging, "forging"), "{forging:?}");
    let forging_sid = stanza_id_by(&forging, BOB);
    assert_ne!(forging_sid, "forged", "{forging:?}");
    assert_ne!(forging_sid, plain_sid);

    let answer = run_query(&mut bob, BOB_DESK, "q", &query("q", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["plain", "forging"]);
    assert_eq!(
        answer.archive_ids(),
        [plain_sid.as_str(), forging_sid.as_str()]
    );
    for r in &answer.results {
        assert!(
            stanza_ids(&r.message)
                .iter()
                .all(|s| s.attr("id") != Some("forged")),
            "the forged stanza-id was archived: {:?}",
            r.message
        );
        assert_eq!(r.message.attr("from"), Some(ALICE_PHONE), "{:?}", r.message);
    }
    assert!(answer.complete());
}

/// Offline storage and the archive agree, so a client that syncs from MAM can tell the two
/// are one message: a message to offline Bob arrives at his next login with the same
/// `<stanza-id by='bob@localhost'/>` as its entry in his archive, and the sender's
/// `<origin-id/>` (XEP-0359) is kept in both archives and on delivery.
async fn offline_delivery_carries_the_archive_stanza_id(server: Arc<TestServer>) {
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;
    alice
        .send(&format!(
            "<message to='{BOB}' type='chat' id='off'><body>while you were out</body>\
             <origin-id xmlns='{}' id='origin-1'/></message>",
            ns::SID
        ))
        .await;
    alice.ping("sent").await;
    let (mut bob, got) = support::im::online(&server, "bob", "desk", None).await;
    let delivered: Vec<&Element> = got.iter().filter(|e| is_message(e, "off")).collect();
    let [delivered] = delivered[..] else {
        panic!("one offline message expected: {got:?}")
    };
    let sid = stanza_id_by(delivered, BOB);
    let origin = |m: &Element| {
        m.get_child("origin-id", ns::SID)
            .and_then(|o| o.attr("id"))
            .map(str::to_owned)
    };
    assert_eq!(
        origin(delivered).as_deref(),
        Some("origin-1"),
        "{delivered:?}"
    );

    let answer = run_query(&mut bob, BOB_DESK, "q", &query("q", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["off"]);
    assert_eq!(answer.archive_ids(), [sid.as_str()]);
    assert_eq!(
        origin(&answer.results[0].message).as_deref(),
        Some("origin-1")
    );
    let answer = run_query(&mut alice, ALICE_PHONE, "a", &query("a", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["off"]);
    assert_eq!(
        answer.archive_ids(),
        [sid.as_str()],
        "one id in both archives"
    );
    assert_eq!(
        origin(&answer.results[0].message).as_deref(),
        Some("origin-1")
    );
}

/// A database outage gives errors, not silence (ack means durable): with the server's storage
/// closed under it, a message that must be archived comes back to its sender as
/// `internal-server-error` and reaches nobody; an archive query gets the same error. The
/// message before the outage proves the two are connected and warms every cache on the way,
/// so that the outage is met by the archive append itself.
async fn a_database_outage_is_an_error_not_silence(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice
        .send(&message(BOB_DESK, Some("chat"), "before", "before"))
        .await;
    let m = bob.recv().await;
    assert!(is_message(&m, "before"), "{m:?}");

    server.ctx.storage.close().await;
    alice
        .send(&message(BOB_DESK, Some("chat"), "during", "during"))
        .await;
    let reply = alice.recv().await;
    assert_error_reply(
        &reply,
        "message",
        "during",
        &StanzaCondition::InternalServerError,
    );
    bob.expect_nothing(Duration::from_millis(300)).await;

    alice
        .send(&format!(
            "<iq type='set' id='q'><query xmlns='{}' queryid='q'/></iq>",
            ns::MAM
        ))
        .await;
    let reply = alice.recv().await;
    assert_error_reply(&reply, "iq", "q", &StanzaCondition::InternalServerError);
}

/// `[archive] enabled = false`: no MAM feature, no `<stanza-id/>` on delivery.
async fn disabled_archive_is_not_offered(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let reply = iq_result(
        &mut bob,
        "disco",
        "get",
        Some(BOB),
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    let features = disco_features(&reply);
    assert!(!features.contains(&ns::MAM.to_owned()), "{features:?}");
    alice.send(&message(BOB_DESK, Some("chat"), "x", "x")).await;
    let m = bob.recv().await;
    assert!(is_message(&m, "x"), "{m:?}");
    assert!(stanza_ids(&m).is_empty(), "{m:?}");
}

/// An iq get with `<query/>` returns the form with the fields of XEP-0313 (and `#extended`).
async fn query_form_lists_the_fields(server: Arc<TestServer>) {
    let (_, mut bob) = alice_and_bob(&server).await;
    let reply = iq_result(
        &mut bob,
        "form",
        "get",
        None,
        "<query xmlns='urn:xmpp:mam:2'/>",
    )
    .await;
    let form = reply
        .get_child("query", ns::MAM)
        .and_then(|q| q.get_child("x", ns::DATA_FORMS))
        .unwrap_or_else(|| panic!("no form: {reply:?}"));
    let vars: Vec<&str> = form
        .children()
        .filter(|f| f.is("field", ns::DATA_FORMS))
        .filter_map(|f| f.attr("var"))
        .collect();
    for var in [
        "FORM_TYPE",
        "with",
        "start",
        "end",
        "before-id",
        "after-id",
        "ids",
    ] {
        assert!(vars.contains(&var), "{var} missing: {reply:?}");
    }
}

/// "User Archives": a message delivered to several resources (forked to the bare JID, or copied by
/// carbons) is archived once. Bob's `desk` and `laptop` share the top priority and `laptop`
/// has carbons on: a chat to the bare JID reaches both (with the same `<stanza-id/>`), a chat
/// to `desk` reaches `laptop` as a copy, and so does `desk`'s answer; each is in Bob's
/// archive and in Alice's exactly once.
async fn forked_and_copied_messages_are_archived_once(server: Arc<TestServer>) {
    let (mut desk, _) = support::im::online(&server, "bob", "desk", None).await;
    let (mut laptop, _) = support::im::online(&server, "bob", "laptop", None).await;
    let p = desk.recv().await;
    assert!(p.is("presence", ns::JABBER_CLIENT), "{p:?}");
    iq_result(
        &mut laptop,
        "carbons",
        "set",
        None,
        "<enable xmlns='urn:xmpp:carbons:2'/>",
    )
    .await;
    let mut alice = Raw::login(&server, "alice", PASSWORD, "phone").await;

    alice
        .send(&message(BOB, Some("chat"), "forked", "forked"))
        .await;
    let on_desk = desk.recv().await;
    let on_laptop = laptop.recv().await;
    assert!(is_message(&on_desk, "forked"), "{on_desk:?}");
    assert!(is_message(&on_laptop, "forked"), "{on_laptop:?}");
    assert_eq!(stanza_id_by(&on_desk, BOB), stanza_id_by(&on_laptop, BOB));

    alice
        .send(&message(BOB_DESK, Some("chat"), "copied", "copied"))
        .await;
    assert!(is_message(&desk.recv().await, "copied"));
    let copy = laptop.recv().await;
    assert!(copy.has_child("received", ns::CARBONS), "{copy:?}");

    desk.send(&message(ALICE_PHONE, Some("chat"), "sent", "sent"))
        .await;
    assert!(is_message(&alice.recv().await, "sent"));
    let copy = laptop.recv().await;
    assert!(copy.has_child("sent", ns::CARBONS), "{copy:?}");

    let answer = run_query(&mut desk, BOB_DESK, "bob", &query("bob", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["forked", "copied", "sent"]);
    let answer = run_query(
        &mut alice,
        ALICE_PHONE,
        "alice",
        &query("alice", &[], "", false),
    )
    .await;
    assert_eq!(answer.message_ids(), ["forked", "copied", "sent"]);
}

// ---------------------------------------------------------------------------------------------
// Paging

/// 200 messages; Bob pages forwards with `<max>50</max>` and `<after>last</after>`: four
/// pages, every message once, in order, with the archive ids of delivery; `<first/>` and
/// `<last/>` name each page's ends; `complete='true'` only on the last page; stamps never go
/// back.
async fn paging_forward_through_200(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (ids, sids) = fill(&mut alice, &mut bob, 1, 200).await;
    let mut seen: Vec<String> = Vec::new();
    let mut seen_sids: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    for page in 0..4 {
        let qid = format!("fwd{page}");
        let rsm = match &after {
            None => "<max>50</max>".to_owned(),
            Some(last) => format!("<max>50</max><after>{last}</after>"),
        };
        let answer = run_query(&mut bob, BOB_DESK, &qid, &query(&qid, &[], &rsm, false)).await;
        assert_eq!(answer.results.len(), 50, "page {page}");
        assert_eq!(
            answer.complete(),
            page == 3,
            "page {page}: {:?}",
            answer.fin
        );
        let (first, last) = answer.first_last();
        assert_eq!(first.as_deref(), answer.archive_ids().first().copied());
        assert_eq!(last.as_deref(), answer.archive_ids().last().copied());
        seen.extend(answer.message_ids().iter().map(|s| (*s).to_owned()));
        seen_sids.extend(answer.archive_ids().iter().map(|s| (*s).to_owned()));
        assert!(
            answer.results.windows(2).all(|w| w[0].stamp <= w[1].stamp),
            "stamps out of order on page {page}"
        );
        after = last;
    }
    assert_eq!(seen, ids);
    assert_eq!(seen_sids, sids);
    // Past the end: an empty, complete page.
    let last = after.unwrap_or_default();
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "end",
        &query(
            "end",
            &[],
            &format!("<max>50</max><after>{last}</after>"),
            false,
        ),
    )
    .await;
    assert!(answer.results.is_empty(), "{:?}", answer.results);
    assert!(answer.complete(), "{:?}", answer.fin);
}

/// The same 200 backwards: `<before/>` ("Requesting the last page"), then `<before>first</before>`:
/// pages 151–200, 101–150, 51–100, 1–50, each in chronological order; `complete='true'`
/// only on the oldest page.
async fn paging_backward_through_200(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (ids, _) = fill(&mut alice, &mut bob, 1, 200).await;
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut before: Option<String> = None;
    for page in 0..4 {
        let qid = format!("back{page}");
        let rsm = match &before {
            None => "<max>50</max><before/>".to_owned(),
            Some(first) => format!("<max>50</max><before>{first}</before>"),
        };
        let answer = run_query(&mut bob, BOB_DESK, &qid, &query(&qid, &[], &rsm, false)).await;
        assert_eq!(answer.results.len(), 50, "page {page}");
        assert_eq!(
            answer.complete(),
            page == 3,
            "page {page}: {:?}",
            answer.fin
        );
        let (first, _) = answer.first_last();
        assert_eq!(first.as_deref(), answer.archive_ids().first().copied());
        pages.push(
            answer
                .message_ids()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        );
        before = first;
    }
    pages.reverse();
    let seen: Vec<String> = pages.into_iter().flatten().collect();
    assert_eq!(seen, ids);
}

/// With `max_page_size = 80` and `default_page_size = 30`: no `<max/>` gives 30, a `<max/>`
/// of 1000 gives 80, and the rest follows complete.
async fn page_sizes_follow_the_configuration(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (ids, _) = fill(&mut alice, &mut bob, 1, 100).await;
    let answer = run_query(&mut bob, BOB_DESK, "d", &query("d", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ids[..30]);
    assert!(!answer.complete());
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "m",
        &query("m", &[], "<max>1000</max>", false),
    )
    .await;
    assert_eq!(answer.message_ids(), ids[..80]);
    assert!(!answer.complete());
    let (_, last) = answer.first_last();
    let rsm = format!("<max>1000</max><after>{}</after>", last.unwrap_or_default());
    let answer = run_query(&mut bob, BOB_DESK, "r", &query("r", &[], &rsm, false)).await;
    assert_eq!(answer.message_ids(), ids[80..]);
    assert!(answer.complete());
}

/// `<flip-page/>` (`#extended`): the same page, newest first.
async fn flipped_pages(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (ids, _) = fill(&mut alice, &mut bob, 1, 10).await;
    let rev = |r: &[String]| r.iter().rev().cloned().collect::<Vec<String>>();
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "f1",
        &query("f1", &[], "<max>4</max>", true),
    )
    .await;
    assert_eq!(answer.message_ids(), rev(&ids[..4]));
    assert!(!answer.complete());
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "f2",
        &query("f2", &[], "<max>4</max><before/>", true),
    )
    .await;
    assert_eq!(answer.message_ids(), rev(&ids[6..]));
    assert!(!answer.complete());
    let answer = run_query(&mut bob, BOB_DESK, "f3", &query("f3", &[], "", true)).await;
    assert_eq!(answer.message_ids(), rev(&ids));
    assert!(answer.complete());
}

// ---------------------------------------------------------------------------------------------
// Filters

/// `with` ("Filtering by JID"): messages to or from that bare JID, both directions, in order.
async fn with_filter(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let mut carol = Raw::login(&server, "carol", PASSWORD, "home").await;
    for (id, from) in [
        ("a1", 0),
        ("a2", 0),
        ("c1", 1),
        ("b1", 2),
        ("a3", 0),
        ("c2", 1),
    ] {
        match from {
            0 => alice.send(&message(BOB_DESK, Some("chat"), id, id)).await,
            1 => carol.send(&message(BOB_DESK, Some("chat"), id, id)).await,
            _ => bob.send(&message(ALICE_PHONE, Some("chat"), id, id)).await,
        }
        let receiver = if from == 2 { &mut alice } else { &mut bob };
        let m = receiver.recv().await;
        assert!(is_message(&m, id), "expected {id}, got {m:?}");
    }
    let with = |qid: &str, jid: &str| query(qid, &[("with", &[jid])], "", false);
    let answer = run_query(&mut bob, BOB_DESK, "wa", &with("wa", ALICE)).await;
    assert_eq!(answer.message_ids(), ["a1", "a2", "b1", "a3"]);
    assert!(answer.complete());
    let answer = run_query(&mut bob, BOB_DESK, "wc", &with("wc", CAROL)).await;
    assert_eq!(answer.message_ids(), ["c1", "c2"]);
    let answer = run_query(&mut bob, BOB_DESK, "all", &query("all", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["a1", "a2", "c1", "b1", "a3", "c2"]);
    // Alice's own archive: her side of the conversation with Bob, and nothing of Carol's.
    let answer = run_query(
        &mut alice,
        ALICE_PHONE,
        "alice",
        &query("alice", &[], "", false),
    )
    .await;
    assert_eq!(answer.message_ids(), ["a1", "a2", "b1", "a3"]);
}

/// A time a little after `t`, on a whole millisecond, and the wait until the clock has
/// passed it by another two milliseconds: whatever the archive's precision, messages
/// stamped before `t` lie before it and messages sent after the wait lie after it.
async fn boundary_after(t: SystemTime) -> SystemTime {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("{e}"));
    let ms = Duration::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    let boundary = SystemTime::UNIX_EPOCH + ms + Duration::from_millis(2);
    while SystemTime::now() < boundary + Duration::from_millis(2) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    boundary
}

/// `start` and `end` ("Filtering by time received"), inclusive: three batches of messages with a
/// few milliseconds between them; `start`/`end` around the middle one select it exactly, `start`
/// alone the last two, `end` alone the first two.
async fn start_and_end_filter(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (a, _) = fill(&mut alice, &mut bob, 1, 3).await;
    let start = boundary_after(SystemTime::now()).await;
    let (b, _) = fill(&mut alice, &mut bob, 4, 3).await;
    let end = boundary_after(SystemTime::now()).await;
    let (c, _) = fill(&mut alice, &mut bob, 7, 3).await;
    let (start_s, end_s) = (
        datetime::format_utc(start, true),
        datetime::format_utc(end, true),
    );
    let both = query(
        "se",
        &[("start", &[start_s.as_str()]), ("end", &[end_s.as_str()])],
        "",
        false,
    );
    let answer = run_query(&mut bob, BOB_DESK, "se", &both).await;
    assert_eq!(answer.message_ids(), b, "between {start_s} and {end_s}");
    assert!(answer.complete());
    for r in &answer.results {
        assert!(r.stamp >= start - Duration::from_millis(1) && r.stamp <= end);
    }
    let from = query("s", &[("start", &[start_s.as_str()])], "", false);
    let answer = run_query(&mut bob, BOB_DESK, "s", &from).await;
    assert_eq!(answer.message_ids(), [b.clone(), c].concat());
    let until = query("e", &[("end", &[end_s.as_str()])], "", false);
    let answer = run_query(&mut bob, BOB_DESK, "e", &until).await;
    assert_eq!(answer.message_ids(), [a, b].concat());
}

/// `after-id`, `before-id` (both exclusive) and `ids` (`#extended`, "Limiting results by id"), and
/// RSM `<after/>` with an id from delivery.
async fn before_id_after_id_and_ids(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (ids, sids) = fill(&mut alice, &mut bob, 1, 10).await;
    let q = |qid: &str, fields: &[(&str, &[&str])]| query(qid, fields, "", false);
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "a",
        &q("a", &[("after-id", &[&sids[2]])]),
    )
    .await;
    assert_eq!(answer.message_ids(), ids[3..]);
    assert!(answer.complete());
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "b",
        &q("b", &[("before-id", &[&sids[7]])]),
    )
    .await;
    assert_eq!(answer.message_ids(), ids[..7]);
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "ab",
        &q(
            "ab",
            &[("after-id", &[&sids[2]]), ("before-id", &[&sids[7]])],
        ),
    )
    .await;
    assert_eq!(answer.message_ids(), ids[3..7]);
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "ids",
        &q("ids", &[("ids", &[&sids[8], &sids[1], &sids[4]])]),
    )
    .await;
    assert_eq!(answer.message_ids(), [&ids[1], &ids[4], &ids[8]]);
    let rsm = format!("<max>3</max><after>{}</after>", sids[2]);
    let answer = run_query(&mut bob, BOB_DESK, "rsm", &query("rsm", &[], &rsm, false)).await;
    assert_eq!(answer.message_ids(), ids[3..6]);
    assert!(!answer.complete());
}

/// An id that is not in the archive, in RSM `<after/>` or `<before/>` ("Requesting pages") or in
/// the `after-id`, `before-id` or `ids` fields ("Limiting results by id"): `item-not-found`, and no
/// results.
async fn unknown_ids_are_item_not_found(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (_, sids) = fill(&mut alice, &mut bob, 1, 3).await;
    let cases = [
        query("r1", &[], "<max>5</max><after>nope</after>", false),
        query("r2", &[], "<max>5</max><before>nope</before>", false),
        query("f1", &[("after-id", &["nope"])], "", false),
        query("f2", &[("before-id", &["nope"])], "", false),
        query("f3", &[("ids", &[sids[0].as_str(), "nope"])], "", false),
    ];
    for (qid, xml) in ["r1", "r2", "f1", "f2", "f3"].iter().zip(&cases) {
        let error = expect_iq_error(&mut bob, qid, xml).await;
        assert_eq!(
            error.condition,
            StanzaCondition::ItemNotFound,
            "{qid}: {error:?}"
        );
    }
    bob.ping("still-up").await;
}

// ---------------------------------------------------------------------------------------------
// Preferences, policy, metadata, access

/// The `<prefs/>` of an iq result, after checking it is one.
fn prefs_of(reply: &Element) -> &Element {
    reply
        .get_child("prefs", ns::MAM)
        .unwrap_or_else(|| panic!("no <prefs/>: {reply:?}"))
}

/// XEP-0441: Bob's default is the server's (`always`); he sets `never`, the result and a
/// later get say so; Alice's next message reaches him without a `<stanza-id/>` of his and is
/// not in his archive, but is in hers (her default is still `always`). Then `never` with
/// Alice under `<always/>`: her messages are archived again, Carol's are not.
async fn prefs_never_and_always(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let mut carol = Raw::login(&server, "carol", PASSWORD, "home").await;
    let get = "<prefs xmlns='urn:xmpp:mam:2'/>";
    let reply = iq_result(&mut bob, "g1", "get", None, get).await;
    assert_eq!(
        prefs_of(&reply).attr("default"),
        Some("always"),
        "{reply:?}"
    );

    let set = "<prefs xmlns='urn:xmpp:mam:2' default='never'><always/><never/></prefs>";
    let reply = iq_result(&mut bob, "s1", "set", None, set).await;
    assert_eq!(prefs_of(&reply).attr("default"), Some("never"), "{reply:?}");
    let reply = iq_result(&mut bob, "g2", "get", None, get).await;
    assert_eq!(prefs_of(&reply).attr("default"), Some("never"), "{reply:?}");

    alice
        .send(&message(BOB_DESK, Some("chat"), "unarchived", "x"))
        .await;
    let m = bob.recv().await;
    assert!(is_message(&m, "unarchived"), "{m:?}");
    assert!(
        stanza_ids(&m).iter().all(|s| s.attr("by") != Some(BOB)),
        "a stanza-id for a message not archived: {m:?}"
    );
    let answer = run_query(&mut bob, BOB_DESK, "qb", &query("qb", &[], "", false)).await;
    assert!(answer.results.is_empty(), "{:?}", answer.message_ids());
    let answer = run_query(&mut alice, ALICE_PHONE, "qa", &query("qa", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["unarchived"]);

    let set = format!(
        "<prefs xmlns='urn:xmpp:mam:2' default='never'><always><jid>{ALICE}</jid></always>\
         <never/></prefs>"
    );
    let reply = iq_result(&mut bob, "s2", "set", None, &set).await;
    let always: Vec<String> = prefs_of(&reply)
        .get_child("always", ns::MAM)
        .map(|a| {
            a.children()
                .filter(|j| j.is("jid", ns::MAM))
                .map(Element::text)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(always, [ALICE], "{reply:?}");
    alice
        .send(&message(BOB_DESK, Some("chat"), "from-alice", "x"))
        .await;
    assert!(is_message(&bob.recv().await, "from-alice"));
    carol
        .send(&message(BOB_DESK, Some("chat"), "from-carol", "x"))
        .await;
    assert!(is_message(&bob.recv().await, "from-carol"));
    let answer = run_query(&mut bob, BOB_DESK, "qb2", &query("qb2", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["from-alice"]);
}

/// `[archive] default = "roster"`: Bob's archive keeps messages with Alice (a contact),
/// not with Carol (a stranger); his preferences say `roster`.
async fn roster_default_policy(server: Arc<TestServer>) {
    subscribe_both(&server, ALICE, BOB).await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let mut carol = Raw::login(&server, "carol", PASSWORD, "home").await;
    let reply = iq_result(
        &mut bob,
        "g",
        "get",
        None,
        "<prefs xmlns='urn:xmpp:mam:2'/>",
    )
    .await;
    assert_eq!(
        prefs_of(&reply).attr("default"),
        Some("roster"),
        "{reply:?}"
    );
    alice
        .send(&message(BOB_DESK, Some("chat"), "contact", "x"))
        .await;
    assert!(is_message(&bob.recv().await, "contact"));
    carol
        .send(&message(BOB_DESK, Some("chat"), "stranger", "x"))
        .await;
    assert!(is_message(&bob.recv().await, "stranger"));
    let answer = run_query(&mut bob, BOB_DESK, "q", &query("q", &[], "", false)).await;
    assert_eq!(answer.message_ids(), ["contact"]);
}

/// Metadata (`#extended`, "Archive metadata"): an empty archive answers an empty `<metadata/>`;
/// then `<start/>` and `<end/>` name the first and last message with their stamps.
async fn metadata_names_first_and_last(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let get = "<metadata xmlns='urn:xmpp:mam:2'/>";
    let reply = iq_result(&mut bob, "m0", "get", None, get).await;
    let metadata = reply
        .get_child("metadata", ns::MAM)
        .unwrap_or_else(|| panic!("no metadata: {reply:?}"));
    assert_eq!(metadata.children().count(), 0, "{reply:?}");

    let (_, sids) = fill(&mut alice, &mut bob, 1, 3).await;
    let reply = iq_result(&mut bob, "m1", "get", None, get).await;
    let metadata = reply
        .get_child("metadata", ns::MAM)
        .unwrap_or_else(|| panic!("no metadata: {reply:?}"));
    let bound = |name: &str| {
        let el = metadata
            .get_child(name, ns::MAM)
            .unwrap_or_else(|| panic!("no <{name}/>: {reply:?}"));
        let stamp = el
            .attr("timestamp")
            .and_then(|t| datetime::parse(t).ok())
            .unwrap_or_else(|| panic!("bad timestamp: {reply:?}"));
        (el.attr("id").unwrap_or_default().to_owned(), stamp)
    };
    let (start, start_at) = bound("start");
    let (end, end_at) = bound("end");
    assert_eq!(start, sids[0]);
    assert_eq!(end, sids[2]);
    assert!(start_at <= end_at);
}

/// Bob queries Alice's archive (`to='alice@localhost'`): `forbidden` ("Security Considerations"),
/// no results.
async fn another_accounts_archive_is_forbidden(server: Arc<TestServer>) {
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice
        .send(&message(CAROL, Some("chat"), "private", "secret"))
        .await;
    alice.ping("sent").await;
    let xml = format!(
        "<iq type='set' id='peek' to='{ALICE}'><query xmlns='urn:xmpp:mam:2' queryid='peek'/></iq>"
    );
    let error = expect_iq_error(&mut bob, "peek", &xml).await;
    assert_eq!(error.condition, StanzaCondition::Forbidden, "{error:?}");
    bob.ping("after").await;
}

/// `xmpp-parsers` reads a result message (its `<result/>`, `<forwarded/>`, `<delay/>` and
/// the message with Bob's `<stanza-id/>`) and the `<fin/>` iq.
async fn xmpp_parsers_reads_results_and_fin(server: Arc<TestServer>) {
    use xmpp_parsers::iq::Iq;
    use xmpp_parsers::mam::{Fin, Result_};
    use xmpp_parsers::message::Message;
    use xmpp_parsers::stanza_id::StanzaId;

    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let (ids, sids) = fill(&mut alice, &mut bob, 1, 3).await;
    let answer = run_query(
        &mut bob,
        BOB_DESK,
        "xp",
        &query("xp", &[], "<max>2</max>", false),
    )
    .await;
    assert_eq!(answer.results.len(), 2);
    for (r, (id, sid)) in answer.results.iter().zip(ids.iter().zip(&sids)) {
        let mut message =
            Message::try_from(to_minidom(&r.raw)).unwrap_or_else(|e| panic!("{e}: {:?}", r.raw));
        let result = message
            .extract_payload::<Result_>()
            .unwrap_or_else(|e| panic!("{e:?}: {:?}", r.raw))
            .unwrap_or_else(|| panic!("no result: {:?}", r.raw));
        assert_eq!(&result.id, sid);
        assert_eq!(result.queryid.map(|q| q.0).as_deref(), Some("xp"));
        assert!(result.forwarded.delay.is_some());
        let mut inner = result.forwarded.message;
        assert_eq!(inner.id.as_ref().map(|i| i.0.as_str()), Some(id.as_str()));
        assert_eq!(
            inner.bodies.values().next().map(String::as_str),
            Some(id.as_str())
        );
        let stanza_id = inner
            .extract_payload::<StanzaId>()
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("no stanza-id in the archived message: {:?}", r.raw));
        assert_eq!(&stanza_id.id, sid);
        assert_eq!(stanza_id.by.to_string(), BOB);
    }
    let iq = Iq::try_from(to_minidom(&answer.fin_iq))
        .unwrap_or_else(|e| panic!("{e}: {:?}", answer.fin_iq));
    let Iq::Result {
        id,
        payload: Some(payload),
        ..
    } = iq
    else {
        panic!("not a result with a payload: {:?}", answer.fin_iq)
    };
    assert_eq!(id, "xp");
    let fin = Fin::try_from(payload).unwrap_or_else(|e| panic!("{e}: {:?}", answer.fin_iq));
    assert!(!fin.complete);
    assert_eq!(
        fin.set.first.map(|f| f.item).as_deref(),
        Some(sids[0].as_str())
    );
    assert_eq!(fin.set.last.as_deref(), Some(sids[1].as_str()));
}

/// Our XML, as `xmpp-parsers` (minidom) reads it.
fn to_minidom(element: &Element) -> xmpp_parsers::minidom::Element {
    element
        .to_string()
        .parse()
        .unwrap_or_else(|e| panic!("minidom refuses {element}: {e}"))
}

/// Alice, Bob and Carol, and the scenario.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        for user in ["alice", "bob", "carol"] {
            add_user(&server, user).await;
        }
        scenario(server).await;
    })
    .await;
}

on_both_backends!(
    disco_on_own_bare_jid_lists_mam => "",
    stanza_id_on_delivery_and_forged_ones_replaced => "",
    disabled_archive_is_not_offered => DISABLED,
    a_database_outage_is_an_error_not_silence => "",
    offline_delivery_carries_the_archive_stanza_id => "",
    forked_and_copied_messages_are_archived_once => "",
    query_form_lists_the_fields => "",
    paging_forward_through_200 => "",
    paging_backward_through_200 => "",
    page_sizes_follow_the_configuration => SMALL_PAGES,
    flipped_pages => "",
    with_filter => "",
    start_and_end_filter => "",
    before_id_after_id_and_ids => "",
    unknown_ids_are_item_not_found => "",
    prefs_never_and_always => "",
    roster_default_policy => ROSTER_DEFAULT,
    metadata_names_first_and_last => "",
    another_accounts_archive_is_forbidden => "",
    xmpp_parsers_reads_results_and_fin => "",
);
