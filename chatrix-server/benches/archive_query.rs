//! XEP-0313 query latency on a 1,000,000-message archive, on SQLite and on PostgreSQL.
//!
//! ```sh
//! CHATRIX_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo bench -p chatrix-server --bench archive_query -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! On demand only: CI runs no benchmark. One account's archive is filled once with
//! `CHATRIX_BENCH_MESSAGES` messages (default 1,000,000) through the server's own
//! `ArchiveStore::append`, 1,000 messages per append (one transaction each), into a database
//! that is kept and reused by later runs: a SQLite file under the target dir
//! (`<target>/chatrix-bench/archive-<N>.db`, or `CHATRIX_BENCH_SQLITE`) and, when
//! `CHATRIX_TEST_PG_URL` (any database on the server) is set, the PostgreSQL database
//! `chatrix_bench` (`chatrix_bench_<N>` for another size), created when missing; or the
//! database `CHATRIX_BENCH_PG_URL` names. Without either URL PostgreSQL is skipped with a
//! notice. A fill that was interrupted resumes where it stopped (each append is atomic, and the
//! newest id says how far it got). Filling takes a few minutes per backend.
//!
//! The archive: message `i` (0-based) is archived at `T0 + 30 s × i` (a million messages span
//! about a year), alternately sent and received, with one of 100 partners
//! (`p00@partners.example` … `p99@partners.example`, so each holds 1 % of the archive), except
//! every 100,000th, which is with `rare@partners.example` (10 messages, spread over the whole
//! archive). Ids are 22 characters of URL-safe base64 like the server's, spread over the id
//! index like random ones.
//!
//! Each measurement is what the server does for one query iq (`Im::handle_mam_iq`): read the
//! request, `page::plan`, `ArchiveStore::fetch` on the real `Storage`, `page::finish`, build the
//! result messages and the `<fin/>`, and serialise them as the stream writer does. The
//! `fetch_only` rows are the `fetch` alone, to tell the database's share from the XML's.

use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::BytesMut;
use chatrix_server::storage::{AccountJid, DatabaseUrl, Storage, StorageOptions};
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use sqlx::Connection as _;
use tokio::runtime::Runtime;
use xmpp_core::{BareJid, Element, Jid, Stanza};
use xmpp_mam::page::{self, PageSizes};
use xmpp_mam::{ArchiveStore, Cursor, Fetched, Filter, MamRequest, NewEntry, results};
use xmpp_sasl::{FixedRng, StoredCredentials};

/// Messages in the archive unless `CHATRIX_BENCH_MESSAGES` says otherwise.
const DEFAULT_MESSAGES: u64 = 1_000_000;
/// Messages per `append` (one transaction) while filling.
const FILL_BATCH: u64 = 1_000;
/// The archive's owner.
const OWNER: &str = "owner@bench.example";
/// Partners `p00` … `p99`.
const PARTNERS: u64 = 100;
/// Every this many messages the partner is `rare@partners.example`.
const RARE_EVERY: u64 = 100_000;
/// The time of message 0, seconds since the Unix epoch (2020-09-13).
const T0_SECS: u64 = 1_600_000_000;
/// Seconds between two messages.
const STEP_SECS: u64 = 30;
/// The page size every query asks for (the server's default page).
const PAGE: usize = 50;

/// The id of message `i`: 16 bytes, the first 8 scattered (so that ids fall all over the id
/// index, as random ones do), the last 8 the index itself (so that the newest id says how far
/// a fill got).
fn message_id(i: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&splitmix64(i).to_be_bytes());
    bytes[8..].copy_from_slice(&i.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The index of a message from its id; `None` for an id this bench did not make.
fn message_index(id: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let tail: [u8; 8] = bytes.get(8..16)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The sender's XEP-0359 origin-id of message `i`.
fn origin_id(i: u64) -> String {
    format!("o{:016x}", splitmix64(!i))
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn partner(i: u64) -> String {
    if i % RARE_EVERY == RARE_EVERY - 1 {
        "rare@partners.example".to_owned()
    } else {
        format!("p{:02}@partners.example", i % PARTNERS)
    }
}

fn timestamp(i: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0_SECS + STEP_SECS * i)
}

/// Message `i` as the server archives it: `from` stamped with the full JID, a body, a chat
/// state, a receipt request, an origin-id and the owner's stanza-id (about 450 bytes).
fn message(i: u64) -> (Jid, Element) {
    let with = format!("{}/phone", partner(i));
    let own = format!("{OWNER}/laptop");
    let (from, to) = if i.is_multiple_of(2) {
        (own.as_str(), with.as_str())
    } else {
        (with.as_str(), own.as_str())
    };
    let id = message_id(i);
    let origin = origin_id(i);
    let xml = format!(
        "<message xmlns='jabber:client' from='{from}' to='{to}' type='chat' id='m{i}'>\
         <body>Message {i}: art thou not Romeo, and a Montague? Neither, fair saint.</body>\
         <active xmlns='http://jabber.org/protocol/chatstates'/>\
         <request xmlns='urn:xmpp:receipts'/>\
         <origin-id xmlns='urn:xmpp:sid:0' id='{origin}'/>\
         <stanza-id xmlns='urn:xmpp:sid:0' by='{OWNER}' id='{id}'/></message>"
    );
    let element = xml.parse().unwrap_or_else(|e| panic!("message {i}: {e}"));
    let with = Jid::new(&with).unwrap_or_else(|e| panic!("{with}: {e}"));
    (with, element)
}

fn messages_wanted() -> u64 {
    std::env::var("CHATRIX_BENCH_MESSAGES").map_or(DEFAULT_MESSAGES, |n| {
        n.parse()
            .unwrap_or_else(|e| panic!("CHATRIX_BENCH_MESSAGES={n}: {e}"))
    })
}

/// The target dir: `CARGO_TARGET_DIR`, or the one this benchmark was built into
/// (`<target>/release/deps/archive_query-…`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// `postgres://user@host:port/db?x=y` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.find('?').map_or((url, ""), |i| url.split_at(i));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..path_start])
}

/// The PostgreSQL database to use, created when missing; `None` (with a notice) without a URL.
async fn postgres_url(messages: u64) -> Option<String> {
    if let Ok(url) = std::env::var("CHATRIX_BENCH_PG_URL") {
        return Some(url);
    }
    let Ok(admin_url) = std::env::var("CHATRIX_TEST_PG_URL") else {
        eprintln!(
            "skipping PostgreSQL: neither CHATRIX_BENCH_PG_URL nor CHATRIX_TEST_PG_URL is set"
        );
        return None;
    };
    let name = if messages == DEFAULT_MESSAGES {
        "chatrix_bench".to_owned()
    } else {
        format!("chatrix_bench_{messages}")
    };
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to CHATRIX_TEST_PG_URL: {e}"));
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("pg_database: {e}"))
        .is_some();
    if !exists {
        // The name is ours: lowercase letters, digits and underscores.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    }
    let _ = admin.close().await;
    Some(with_database(&admin_url, &name))
}

/// Opens the database and fills the archive up to `messages`, resuming an interrupted fill.
async fn open_filled(url: &DatabaseUrl, messages: u64) -> Storage {
    let storage = Storage::open(url, &StorageOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    let account = AccountJid::parse(OWNER).unwrap_or_else(|e| panic!("{e}"));
    let owner = BareJid::from(account.clone());
    if !storage
        .account_exists(&account)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        let credentials = StoredCredentials::generate_all("bench", 4096, &mut FixedRng::new(1))
            .unwrap_or_else(|e| panic!("{e}"));
        storage
            .create_account(&account, &credentials)
            .await
            .unwrap_or_else(|e| panic!("create {OWNER}: {e}"));
    }
    let next = match storage
        .bounds(&owner)
        .await
        .unwrap_or_else(|e| panic!("bounds: {e}"))
    {
        None => 0,
        Some(bounds) => {
            let last = message_index(&bounds.last.0)
                .unwrap_or_else(|| panic!("{url}: an archive this bench did not make"));
            last + 1
        }
    };
    assert!(
        next <= messages,
        "{url} holds {next} messages, more than the {messages} asked for: use another database"
    );
    if next == messages {
        eprintln!("{url}: {messages} messages archived already");
        return storage;
    }
    eprintln!("{url}: filling from message {next} to {messages}");
    let started = Instant::now();
    let mut i = next;
    while i < messages {
        let end = (i + FILL_BATCH).min(messages);
        let ids: Vec<String> = (i..end).map(message_id).collect();
        let origin_ids: Vec<String> = (i..end).map(origin_id).collect();
        let rows: Vec<(Jid, Element)> = (i..end).map(message).collect();
        let entries: Vec<NewEntry<'_>> = (i..end)
            .zip(ids.iter().zip(&origin_ids).zip(&rows))
            .map(|(n, ((id, origin), (with, stanza)))| NewEntry {
                owner: &owner,
                id,
                with,
                origin_id: Some(origin),
                timestamp: timestamp(n),
                stanza,
            })
            .collect();
        storage
            .append(&entries)
            .await
            .unwrap_or_else(|e| panic!("append at {i}: {e}"));
        i = end;
        if i % 100_000 == 0 || i == messages {
            let secs = started.elapsed().as_secs_f64();
            #[allow(clippy::cast_precision_loss)]
            let rate = (i - next) as f64 / secs;
            eprintln!("  {i} messages, {secs:.0} s, {rate:.0} messages/s");
        }
    }
    if let Storage::Postgres(pg) = &storage {
        // What autovacuum does within a minute of a bulk load anyway; done here so that the
        // plans measured do not depend on whether it has run yet.
        sqlx::query("ANALYZE archive")
            .execute(pg.pool())
            .await
            .unwrap_or_else(|e| panic!("analyze: {e}"));
    }
    storage
}

/// A query iq as a client sends it: `<max/>` 50 and the given form fields and RSM position.
fn query_iq(fields: &[(&str, &str)], position: &str) -> Stanza {
    let mut form = String::new();
    if !fields.is_empty() {
        form.push_str(
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>\
             <value>urn:xmpp:mam:2</value></field>",
        );
        for (var, value) in fields {
            let _ = write!(form, "<field var='{var}'><value>{value}</value></field>");
        }
        form.push_str("</x>");
    }
    let xml = format!(
        "<iq xmlns='jabber:client' type='set' id='q1' from='{OWNER}/laptop'>\
         <query xmlns='urn:xmpp:mam:2' queryid='f27'>{form}\
         <set xmlns='http://jabber.org/protocol/rsm'><max>{PAGE}</max>{position}</set>\
         </query></iq>"
    );
    let element: Element = xml.parse().unwrap_or_else(|e| panic!("{xml}: {e}"));
    Stanza::from_element(element).unwrap_or_else(|e| panic!("{xml}: {e:?}"))
}

/// What one answer looks like, to check that each case measures what it says.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    results: usize,
    first: Option<u64>,
    last: Option<u64>,
    complete: bool,
    bytes: usize,
}

/// What the server does for one query iq: read it, plan, fetch, finish, build the result
/// messages and the `<fin/>`, serialise them into the stream's buffer.
async fn answer(storage: &Storage, owner: &BareJid, iq: &Stanza, out: &mut BytesMut) -> Answer {
    let Some(Ok(MamRequest::Query(query))) = MamRequest::parse(iq) else {
        panic!("not a MAM query: {iq}");
    };
    let plan = page::plan(&query, PageSizes::default());
    let fetched = storage
        .fetch(owner, &plan.filter, &plan.cursor, plan.limit)
        .await
        .unwrap_or_else(|e| panic!("fetch: {e}"));
    let page = page::finish(&plan, fetched).unwrap_or_else(|e| panic!("finish: {e}"));
    out.clear();
    let mut results = 0;
    for stanza in results::result_messages(iq, query.query_id.as_deref(), &page) {
        stanza.element().write_in(out, "jabber:client");
        results += 1;
    }
    if let Some(fin) = results::fin_answer(iq, &page) {
        fin.element().write_in(out, "jabber:client");
    }
    Answer {
        results,
        first: page.first.as_deref().and_then(message_index),
        last: page.last.as_deref().and_then(message_index),
        complete: page.complete,
        bytes: out.len(),
    }
}

/// One case: its name, the query, and the page it must produce (first and last message
/// index, complete).
struct Case {
    name: &'static str,
    iq: Stanza,
    first: u64,
    last: u64,
    complete: bool,
    results: usize,
}

/// The index of the `k`-th message (0-based) with partner `p42`.
fn with_p42(k: u64) -> u64 {
    42 + PARTNERS * k
}

fn cases(n: u64) -> Vec<Case> {
    let page = PAGE as u64;
    let middle = n / 2;
    let p42 = "p42@partners.example";
    // p42's messages: 42, 142, ... (none of them is a rare one: those end in 99999).
    let p42_count = (n - 42).div_ceil(PARTNERS);
    let rare_count = n / RARE_EVERY;
    let start = timestamp(middle);
    let start = xep0082(start);
    let mut cases = vec![
        Case {
            name: "first_page",
            iq: query_iq(&[], ""),
            first: 0,
            last: page - 1,
            complete: false,
            results: PAGE,
        },
        Case {
            name: "last_page",
            iq: query_iq(&[], "<before/>"),
            first: n - page,
            last: n - 1,
            complete: false,
            results: PAGE,
        },
        Case {
            name: "middle_after_id",
            iq: query_iq(&[], &format!("<after>{}</after>", message_id(middle))),
            first: middle + 1,
            last: middle + page,
            complete: false,
            results: PAGE,
        },
        Case {
            name: "middle_before_id",
            iq: query_iq(&[], &format!("<before>{}</before>", message_id(middle))),
            first: middle - page,
            last: middle - 1,
            complete: false,
            results: PAGE,
        },
        Case {
            name: "start_middle_first_page",
            iq: query_iq(&[("start", &start)], ""),
            first: middle,
            last: middle + page - 1,
            complete: false,
            results: PAGE,
        },
        Case {
            name: "with_first_page",
            iq: query_iq(&[("with", p42)], ""),
            first: with_p42(0),
            last: with_p42(page - 1),
            complete: false,
            results: PAGE,
        },
        Case {
            name: "with_last_page",
            iq: query_iq(&[("with", p42)], "<before/>"),
            first: with_p42(p42_count - page),
            last: with_p42(p42_count - 1),
            complete: false,
            results: PAGE,
        },
        Case {
            name: "with_full_jid_last_page",
            iq: query_iq(&[("with", "p42@partners.example/phone")], "<before/>"),
            first: with_p42(p42_count - page),
            last: with_p42(p42_count - 1),
            complete: false,
            results: PAGE,
        },
    ];
    if rare_count > 0 {
        cases.push(Case {
            name: "with_rare_last_page",
            iq: query_iq(&[("with", "rare@partners.example")], "<before/>"),
            first: RARE_EVERY - 1,
            last: RARE_EVERY * rare_count - 1,
            complete: true,
            results: usize::try_from(rare_count).unwrap_or(usize::MAX),
        });
    }
    cases
}

/// An XEP-0082 date-time (UTC, whole seconds).
fn xep0082(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("{e}"))
        .as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or_else(|e| panic!("{e}"));
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn run<F: Future>(rt: &Runtime, f: F) -> F::Output {
    rt.block_on(f)
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &str, storage: &Storage, n: u64) {
    let owner = BareJid::new(OWNER).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group(format!("archive_query/{backend}"));
    let mut out = BytesMut::with_capacity(64 * 1024);
    for case in cases(n) {
        // Check once that the case measures what its name says.
        let got = run(rt, answer(storage, &owner, &case.iq, &mut out));
        let want = (
            Some(case.first),
            Some(case.last),
            case.complete,
            case.results,
        );
        assert_eq!(
            (got.first, got.last, got.complete, got.results),
            want,
            "{backend} {}",
            case.name
        );
        eprintln!(
            "{backend} {}: {} results, {} bytes",
            case.name, got.results, got.bytes
        );
        bench_case(
            &mut group, rt, case.name, storage, &owner, &case.iq, &mut out,
        );
    }
    // The database's share: the fetch alone, for the first and the last page.
    for (name, cursor) in [
        ("fetch_only/first_page", Cursor::First),
        ("fetch_only/last_page", Cursor::Last),
    ] {
        let filter = Filter::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                let fetched = run(rt, storage.fetch(&owner, &filter, &cursor, PAGE + 1))
                    .unwrap_or_else(|e| panic!("fetch: {e}"));
                let Fetched::Messages(m) = fetched else {
                    panic!("unknown id")
                };
                black_box(m.len())
            });
        });
    }
    group.finish();
}

fn bench_case(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    name: &str,
    storage: &Storage,
    owner: &BareJid,
    iq: &Stanza,
    out: &mut BytesMut,
) {
    group.bench_function(name, |b| {
        b.iter(|| black_box(run(rt, answer(storage, owner, black_box(iq), out))));
    });
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    let n = messages_wanted();
    assert!(
        n >= 2 * PARTNERS * PAGE as u64,
        "CHATRIX_BENCH_MESSAGES must be at least {}",
        2 * PARTNERS * PAGE as u64
    );
    let sqlite_path = std::env::var_os("CHATRIX_BENCH_SQLITE").map_or_else(
        || target_dir().join(format!("chatrix-bench/archive-{n}.db")),
        PathBuf::from,
    );
    let sqlite = run(&rt, open_filled(&DatabaseUrl::Sqlite(sqlite_path), n));
    bench_backend(c, &rt, "sqlite", &sqlite, n);
    run(&rt, sqlite.close());
    if let Some(url) = run(&rt, postgres_url(n)) {
        let pg = run(&rt, open_filled(&DatabaseUrl::Postgres(url), n));
        bench_backend(c, &rt, "postgres", &pg, n);
        run(&rt, pg.close());
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
