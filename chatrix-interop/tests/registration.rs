//! XEP-0077 in-band registration and password change over real sockets, with the rules of
//! issue 6 (docs/accounts.md): the stream feature after TLS and only where registration is
//! open to the client's network; the XEP-0158 CAPTCHA form with its picture as XEP-0231 bits
//! of binary, answered once; one registration per address per hour and a flood limit on
//! CAPTCHAs, both told with the time to wait and both moved past with the server's manual
//! clock, never by sleeping; taken, reserved and ambiguous usernames and weak passwords; the
//! password change and `<registered/>` of a signed-in session; the name of a deleted account
//! held for the tombstone period; and the form read, and a submission written, by an
//! independent XMPP library (`xmpp-parsers`).
//!
//! Every scenario that touches accounts runs on SQLite and, when `CHATRIX_TEST_PG_URL` is
//! set, on PostgreSQL. The test plays the person who reads the CAPTCHA picture through
//! `CaptchaStore::answer_of`.

mod support;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use support::im::{PASSWORD, account, add_user};
use support::raw::{Raw, sasl_start, stanza_error};
use support::{Backend, TestServer, on_both_backends, with_server};
use xmpp_core::dataform::{FieldType, Form, FormKind};
use xmpp_core::{Element, ErrorType, StanzaCondition, StanzaError, StreamCondition, ns};
use xmpp_sasl::Mechanism;

/// A password well above the default minimum strength (40 bits).
const STRONG: &str = "correct horse battery staple";
/// Another one, for password changes.
const NEW_PASSWORD: &str = "Tr0ub4dor and 3 more words";

/// `<query xmlns='jabber:iq:register'/>`: a request for the form.
const FORM_REQUEST: &str = "<query xmlns='jabber:iq:register'/>";

/// Registration without a CAPTCHA: the scenarios about other rules stay short.
const NO_CAPTCHA: &str = "[registration]\ncaptcha = false\n";
/// Registration closed.
const CLOSED: &str = "[registration]\nmode = \"closed\"\n";
/// Registration open to loopback only (the tests connect from 127.0.0.1).
const LOOPBACK_ONLY: &str = "[registration]\nmode = \"allowed-networks\"\n\
    allowed_networks = [\"127.0.0.0/8\"]\ncaptcha = false\n";
/// Registration open to another network only.
const OTHER_NETWORK_ONLY: &str =
    "[registration]\nmode = \"allowed-networks\"\nallowed_networks = [\"10.0.0.0/8\"]\n";
/// Three CAPTCHAs per address per minute, then ten minutes without.
const CAPTCHA_FLOOD: &str = "[registration]\ncaptcha_per_address = 3\n\
    captcha_flood_window_secs = 60\ncaptcha_block_secs = 600\n";
/// Names of deleted accounts held for a day; several registrations per hour.
const TOMBSTONE_DAY: &str =
    "[registration]\ncaptcha = false\nper_address = 10\ntombstone_days = 1\n";
/// At most two living accounts registered from one address.
const TWO_ACCOUNTS_PER_ADDRESS: &str = "[registration]\ncaptcha = false\nper_address = 10\n\n\
    [account_classes.default]\nmax_accounts_per_address = 2\n";

// ---------------------------------------------------------------------------------------
// Helpers

/// `text` escaped for XML character data and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn offers_registration(features: &Element) -> bool {
    features.has_child("register", ns::REGISTER_FEATURE)
}

/// A stream on the STARTTLS listener (TLS required) after `<starttls/>`: the client and the
/// features of the encrypted stream. Registration is never offered before TLS there.
async fn tls_stream(server: &TestServer) -> (Raw, Element) {
    let mut c = Raw::plain(server.starttls).await;
    let (_, before) = c.open("localhost").await;
    assert!(
        !offers_registration(&before),
        "registration offered before TLS: {before:?}"
    );
    let features = c.starttls(&server.cert_path()).await;
    assert!(
        features.has_child("mechanisms", ns::SASL),
        "no SASL after TLS: {features:?}"
    );
    (c, features)
}

/// A Direct TLS stream (XEP-0368) and its features.
async fn direct_stream(server: &TestServer) -> (Raw, Element) {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    let (_, features) = c.open("localhost").await;
    (c, features)
}

/// Sends `<iq type=ty id=id>payload</iq>` and returns the answer, which must carry `id`.
async fn iq(c: &mut Raw, id: &str, ty: &str, payload: &str) -> Element {
    c.send(&format!("<iq type='{ty}' id='{id}'>{payload}</iq>"))
        .await;
    let reply = c.recv().await;
    assert!(reply.is("iq", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
    reply
}

/// Panics unless `reply` is an `<iq type='result'/>`.
#[track_caller]
fn assert_result(reply: &Element) {
    assert_eq!(reply.attr("type"), Some("result"), "{reply:?}");
}

/// Panics unless `reply` is an IQ error with `condition`; returns the error.
#[track_caller]
fn assert_error(reply: &Element, condition: &StanzaCondition) -> StanzaError {
    assert_eq!(reply.attr("type"), Some("error"), "{reply:?}");
    let error = stanza_error(reply);
    assert_eq!(&error.condition, condition, "{reply:?}");
    error
}

/// The first `<text/>` of an error.
fn text(error: &StanzaError) -> &str {
    error.texts.first().map_or("", |t| t.text.as_str())
}

/// A registration with the legacy fields only (XEP-0077 §3.1).
fn legacy_submission(username: &str, password: &str) -> String {
    format!(
        "<query xmlns='jabber:iq:register'><username>{}</username>\
         <password>{}</password></query>",
        escape(username),
        escape(password)
    )
}

/// A filled-in CAPTCHA form (XEP-0158 §4), as a client writes it: the hidden fields sent
/// back, the username, the password and, when given, the `ocr` answer.
fn captcha_submission(
    form: &CaptchaForm,
    username: &str,
    password: &str,
    ocr: Option<&str>,
) -> String {
    let field = |var: &str, value: &str| {
        format!(
            "<field var='{var}'><value>{}</value></field>",
            escape(value)
        )
    };
    format!(
        "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>{}{}{}{}{}{}{}\
         </x></query>",
        field("FORM_TYPE", ns::CAPTCHA),
        field("from", &form.from),
        field("challenge", &form.challenge),
        field("sid", &form.sid),
        field("username", username),
        field("password", password),
        ocr.map(|o| field("ocr", o)).unwrap_or_default(),
    )
}

/// What a CAPTCHA registration form carried that the answer needs.
#[derive(Debug)]
struct CaptchaForm {
    challenge: String,
    sid: String,
    from: String,
}

/// The hex SHA-1 of `bytes`, computed here rather than by the server's code.
fn sha1_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Asks for the registration form with iq `id` and checks that it is the XEP-0158 CAPTCHA
/// form: instructions, no legacy fields, a data form of `FORM_TYPE` `urn:xmpp:captcha` with
/// hidden `from`, `challenge` and `sid`, `username`, `password` (private) and a required
/// `ocr` whose media names the picture by `cid:`, and the picture as a XEP-0231 `<data/>`
/// (a PNG whose content id is its SHA-1).
async fn captcha_form(c: &mut Raw, id: &str) -> CaptchaForm {
    let reply = iq(c, id, "get", FORM_REQUEST).await;
    assert_result(&reply);
    let Some(query) = reply.get_child("query", ns::REGISTER) else {
        panic!("no <query/> in {reply:?}")
    };
    assert!(
        query
            .child_text("instructions", ns::REGISTER)
            .is_some_and(|t| !t.is_empty()),
        "no instructions: {reply:?}"
    );
    // A legacy client could not answer the CAPTCHA (XEP-0077 §6): no legacy fields.
    assert!(
        !query.has_child("username", ns::REGISTER) && !query.has_child("password", ns::REGISTER),
        "legacy fields beside a CAPTCHA: {reply:?}"
    );
    let Some(x) = query.get_child("x", ns::DATA_FORMS) else {
        panic!("no data form: {reply:?}")
    };
    let form = Form::from_element(x).unwrap_or_else(|e| panic!("{e}: {reply:?}"));
    assert_eq!(form.kind, FormKind::Form, "{reply:?}");
    assert_eq!(form.form_type(), Some(ns::CAPTCHA), "{reply:?}");
    let field = |var: &str| {
        form.field(var)
            .unwrap_or_else(|| panic!("no field {var}: {reply:?}"))
    };
    for hidden in ["from", "challenge", "sid"] {
        assert_eq!(field(hidden).kind, Some(FieldType::Hidden), "{reply:?}");
    }
    let from = field("from").value().unwrap_or_default().to_owned();
    assert_eq!(from, "localhost", "{reply:?}");
    let sid = field("sid").value().unwrap_or_default().to_owned();
    assert_eq!(sid, id, "sid is the id of the request: {reply:?}");
    let challenge = field("challenge").value().unwrap_or_default().to_owned();
    assert!(
        challenge.len() == 32 && challenge.bytes().all(|b| b.is_ascii_hexdigit()),
        "challenge {challenge:?}"
    );
    assert!(field("username").required, "{reply:?}");
    assert!(field("password").required, "{reply:?}");
    assert_eq!(
        field("password").kind,
        Some(FieldType::TextPrivate),
        "{reply:?}"
    );
    let ocr = field("ocr");
    assert!(ocr.required, "{reply:?}");
    let Some(media) = ocr.media() else {
        panic!("no media in the ocr field: {reply:?}")
    };
    assert!(media.is("media", ns::MEDIA_ELEMENT), "{media:?}");
    let uris: Vec<String> = media
        .children()
        .filter(|u| u.is("uri", ns::MEDIA_ELEMENT))
        .inspect(|u| assert_eq!(u.attr("type"), Some("image/png"), "{media:?}"))
        .map(Element::text)
        .collect();

    let Some(data) = query.get_child("data", ns::BOB) else {
        panic!("no bits of binary: {reply:?}")
    };
    assert_eq!(data.attr("type"), Some("image/png"), "{data:?}");
    let png = base64::engine::general_purpose::STANDARD
        .decode(data.text())
        .unwrap_or_else(|e| panic!("BoB data is not base64: {e}"));
    assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "not a PNG");
    let cid = format!("sha1+{}@bob.xmpp.org", sha1_hex(&png));
    assert_eq!(data.attr("cid"), Some(cid.as_str()), "{data:?}");
    assert!(
        uris.contains(&format!("cid:{cid}")),
        "the media does not name the picture {cid}: {uris:?}"
    );
    CaptchaForm {
        challenge,
        sid,
        from,
    }
}

/// The answer a person reads in the picture of `form`.
fn read_picture(server: &TestServer, form: &CaptchaForm) -> String {
    server
        .accounts
        .captchas()
        .answer_of(&form.challenge)
        .unwrap_or_else(|| panic!("challenge {} is not pending", form.challenge))
}

/// Registers `user` with `password` through the CAPTCHA form on `c`, answering right.
async fn register_with_captcha(server: &TestServer, c: &mut Raw, user: &str, password: &str) {
    let form = captcha_form(c, &format!("form-{user}")).await;
    let answer = read_picture(server, &form);
    let reply = iq(
        c,
        &format!("reg-{user}"),
        "set",
        &captcha_submission(&form, user, password, Some(&answer)),
    )
    .await;
    assert_result(&reply);
    assert!(exists(server, user).await, "{user} was not created");
}

/// Registers `user` with the legacy fields on `c` (CAPTCHA off); returns the answer.
async fn register_legacy(c: &mut Raw, id: &str, user: &str, password: &str) -> Element {
    iq(c, id, "set", &legacy_submission(user, password)).await
}

async fn exists(server: &TestServer, user: &str) -> bool {
    server
        .ctx
        .storage
        .account_exists(&account(&format!("{user}@localhost")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// SCRAM-SHA-256 over Direct TLS: the server's last SASL word.
async fn sasl(server: &TestServer, user: &str, password: &str) -> Element {
    let (mut c, _) = direct_stream(server).await;
    c.authenticate(Mechanism::ScramSha256, user, password)
        .await
        .0
}

/// Panics unless a login as `user` with `password` fails with `not-authorized`.
async fn assert_login_refused(server: &TestServer, user: &str, password: &str) {
    let result = sasl(server, user, password).await;
    assert!(
        result.is("failure", ns::SASL) && result.has_child("not-authorized", ns::SASL),
        "{user} with {password:?}: {result:?}"
    );
}

/// After `<success/>`: the stream restart and the bind of `resource`.
async fn bind(c: &mut Raw, user: &str, resource: &str) {
    let (_, features) = c.open("localhost").await;
    assert!(features.has_child("bind", ns::BIND), "{features:?}");
    let bound = iq(
        c,
        "bind",
        "set",
        &format!(
            "<bind xmlns='{}'><resource>{resource}</resource></bind>",
            ns::BIND
        ),
    )
    .await;
    assert_result(&bound);
    let jid = bound
        .get_child("bind", ns::BIND)
        .and_then(|b| b.child_text("jid", ns::BIND));
    assert_eq!(
        jid,
        Some(format!("{user}@localhost/{resource}")),
        "{bound:?}"
    );
}

/// Starts a server with `extra` and the account `alice` (password [`PASSWORD`]), and runs
/// `scenario` against it.
async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(backend, extra, |server| async move {
        add_user(&server, "alice").await;
        scenario(server).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Who may register: the stream feature and `not-allowed`

/// Open registration (the default): the feature comes with SASL after STARTTLS and on
/// Direct TLS, and the form is handed out.
async fn registration_is_offered_after_tls_when_open(server: Arc<TestServer>) {
    let (mut c, features) = tls_stream(&server).await;
    assert!(offers_registration(&features), "{features:?}");
    captcha_form(&mut c, "form").await;
    let (mut d, features) = direct_stream(&server).await;
    assert!(offers_registration(&features), "{features:?}");
    captcha_form(&mut d, "form").await;
}

/// `mode = "closed"`: no feature, and a request for the form or a registration gets
/// `not-allowed`; nothing is created.
async fn closed_registration_is_neither_offered_nor_allowed(server: Arc<TestServer>) {
    let (mut c, features) = tls_stream(&server).await;
    assert!(!offers_registration(&features), "{features:?}");
    let (_, features) = direct_stream(&server).await;
    assert!(!offers_registration(&features), "{features:?}");
    let get = iq(&mut c, "get", "get", FORM_REQUEST).await;
    let error = assert_error(&get, &StanzaCondition::NotAllowed);
    assert_eq!(text(&error), "registration is closed on this server");
    let set = register_legacy(&mut c, "set", "carol", STRONG).await;
    assert_error(&set, &StanzaCondition::NotAllowed);
    assert!(!exists(&server, "carol").await);
    // The stream is still usable for signing in.
    let (result, _, _) = c
        .authenticate(Mechanism::ScramSha256, "alice", PASSWORD)
        .await;
    assert!(result.is("success", ns::SASL), "{result:?}");
}

/// `mode = "allowed-networks"` with the client's network listed: offered, and it works.
async fn allowed_network_is_offered_registration(server: Arc<TestServer>) {
    let (mut c, features) = tls_stream(&server).await;
    assert!(offers_registration(&features), "{features:?}");
    let get = iq(&mut c, "get", "get", FORM_REQUEST).await;
    assert_result(&get);
    let set = register_legacy(&mut c, "set", "carol", STRONG).await;
    assert_result(&set);
    assert!(exists(&server, "carol").await);
}

/// `mode = "allowed-networks"` without the client's network: not offered, `not-allowed`.
async fn other_networks_are_refused_registration(server: Arc<TestServer>) {
    let (mut c, features) = tls_stream(&server).await;
    assert!(!offers_registration(&features), "{features:?}");
    let get = iq(&mut c, "get", "get", FORM_REQUEST).await;
    let error = assert_error(&get, &StanzaCondition::NotAllowed);
    assert_eq!(text(&error), "registration is not open to your network");
    let set = register_legacy(&mut c, "set", "carol", STRONG).await;
    assert_error(&set, &StanzaCondition::NotAllowed);
    assert!(!exists(&server, "carol").await);
}

// ---------------------------------------------------------------------------------------
// The CAPTCHA

/// The form carries the picture; the right answer registers the account, which then signs
/// in with SCRAM; the challenge is used up.
async fn right_captcha_answer_registers(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    let form = captcha_form(&mut c, "form1").await;
    // Answers are read without regard to case or spaces.
    let answer = read_picture(&server, &form).to_lowercase();
    let reply = iq(
        &mut c,
        "reg1",
        "set",
        &captcha_submission(&form, "Carol", STRONG, Some(&format!(" {answer} "))),
    )
    .await;
    assert_result(&reply);
    assert!(
        reply.children().next().is_none(),
        "a bare result: {reply:?}"
    );
    // Stored under its normalised name.
    assert!(exists(&server, "carol").await);
    assert_eq!(
        server.accounts.captchas().answer_of(&form.challenge),
        None,
        "the challenge outlived its use"
    );
    let mut logged_in = Raw::login(&server, "carol", STRONG, "phone").await;
    logged_in.ping("alive").await;
}

/// A wrong answer is `not-authorized` and creates nothing; the challenge is gone with it, so
/// even the right answer to it is refused afterwards; a new form and its right answer work
/// (the failures did not use up the hourly allowance).
async fn wrong_captcha_answer_is_refused_and_burns_the_challenge(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    let form = captcha_form(&mut c, "form1").await;
    let right = read_picture(&server, &form);
    let wrong = format!("{right}X");
    let reply = iq(
        &mut c,
        "reg1",
        "set",
        &captcha_submission(&form, "carol", STRONG, Some(&wrong)),
    )
    .await;
    let error = assert_error(&reply, &StanzaCondition::NotAuthorized);
    assert_eq!(
        text(&error),
        "the CAPTCHA answer was wrong or has expired; ask for a new one"
    );
    assert!(!exists(&server, "carol").await);
    let again = iq(
        &mut c,
        "reg2",
        "set",
        &captcha_submission(&form, "carol", STRONG, Some(&right)),
    )
    .await;
    assert_error(&again, &StanzaCondition::NotAuthorized);
    assert!(!exists(&server, "carol").await);
    // An id the server never issued is no better.
    let forged = CaptchaForm {
        challenge: "0".repeat(32),
        ..form
    };
    let reply = iq(
        &mut c,
        "reg3",
        "set",
        &captcha_submission(&forged, "carol", STRONG, Some(&right)),
    )
    .await;
    assert_error(&reply, &StanzaCondition::NotAuthorized);
    register_with_captcha(&server, &mut c, "carol", STRONG).await;
}

/// A submission without the answer (the form without `ocr`, or the legacy fields alone) is
/// refused and creates nothing.
async fn missing_captcha_answer_is_refused(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    let form = captcha_form(&mut c, "form1").await;
    let reply = iq(
        &mut c,
        "reg1",
        "set",
        &captcha_submission(&form, "carol", STRONG, None),
    )
    .await;
    let error = assert_error(&reply, &StanzaCondition::BadRequest);
    assert_eq!(text(&error), "the CAPTCHA was not answered");
    let reply = register_legacy(&mut c, "reg2", "carol", STRONG).await;
    assert_error(&reply, &StanzaCondition::BadRequest);
    assert!(!exists(&server, "carol").await);
}

/// Registration and sign-in on one stream, pipelined: the submission and the SASL `<auth/>`
/// go out in one write; the server answers the registration, then authenticates the new
/// account, which binds.
async fn registration_then_sasl_on_the_same_stream(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    let form = captcha_form(&mut c, "form1").await;
    let answer = read_picture(&server, &form);
    let (session, auth, _) = sasl_start(Mechanism::ScramSha256, "carol", STRONG);
    c.send(&format!(
        "<iq type='set' id='reg1'>{}</iq>{auth}",
        captcha_submission(&form, "carol", STRONG, Some(&answer)),
    ))
    .await;
    let registered = c.recv().await;
    assert_eq!(registered.attr("id"), Some("reg1"), "{registered:?}");
    assert_result(&registered);
    let (success, _) = c.sasl_finish(session).await;
    assert!(
        success.is("success", ns::SASL),
        "authentication failed: {success:?}"
    );
    bind(&mut c, "carol", "laptop").await;
    c.ping("bound").await;
}

// ---------------------------------------------------------------------------------------
// Rate limits

/// One registration per address per hour (the default): a taken name first does not count;
/// the second registration is `resource-constraint` (type `wait`) with the time to wait,
/// which shrinks as the clock moves; an hour after the first, the next one succeeds.
async fn registrations_per_address_are_limited_per_hour(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    let taken = register_legacy(&mut c, "r1", "alice", STRONG).await;
    assert_error(&taken, &StanzaCondition::Conflict);
    assert_result(&register_legacy(&mut c, "r2", "carol", STRONG).await);
    assert!(exists(&server, "carol").await);

    let refused = register_legacy(&mut c, "r3", "dave", STRONG).await;
    let error = assert_error(&refused, &StanzaCondition::ResourceConstraint);
    assert_eq!(error.error_type, ErrorType::Wait, "{refused:?}");
    assert_eq!(
        text(&error),
        "too many registrations; try again in 60 minutes"
    );
    assert!(!exists(&server, "dave").await);

    server.clock.advance(Duration::from_secs(600));
    // Another connection from the same address is the same address.
    let (mut d, _) = tls_stream(&server).await;
    let refused = register_legacy(&mut d, "r4", "dave", STRONG).await;
    let error = assert_error(&refused, &StanzaCondition::ResourceConstraint);
    assert_eq!(
        text(&error),
        "too many registrations; try again in 50 minutes"
    );
    assert!(!exists(&server, "dave").await);

    server.clock.advance(Duration::from_secs(3001));
    assert_result(&register_legacy(&mut d, "r5", "dave", STRONG).await);
    assert!(exists(&server, "dave").await);
    // And the window starts again from that one.
    let refused = register_legacy(&mut d, "r6", "erin", STRONG).await;
    assert_error(&refused, &StanzaCondition::ResourceConstraint);
    Raw::login(&server, "dave", STRONG, "r")
        .await
        .ping("p")
        .await;
}

/// `captcha_per_address = 3`: the fourth form within the minute is `resource-constraint`
/// with the block's length; asking during the block does not lengthen it; once it is over,
/// forms come again and one registers.
async fn captcha_requests_are_limited_per_address(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    for i in 1..=3 {
        captcha_form(&mut c, &format!("form{i}")).await;
    }
    let reply = iq(&mut c, "form4", "get", FORM_REQUEST).await;
    let error = assert_error(&reply, &StanzaCondition::ResourceConstraint);
    assert_eq!(
        text(&error),
        "too many CAPTCHA requests; try again in 10 minutes"
    );
    server.clock.advance(Duration::from_secs(300));
    let (mut d, _) = tls_stream(&server).await;
    let reply = iq(&mut d, "form5", "get", FORM_REQUEST).await;
    let error = assert_error(&reply, &StanzaCondition::ResourceConstraint);
    assert_eq!(
        text(&error),
        "too many CAPTCHA requests; try again in 5 minutes"
    );
    server.clock.advance(Duration::from_secs(301));
    register_with_captcha(&server, &mut d, "carol", STRONG).await;
}

/// `max_accounts_per_address = 2` in the default class: a third living account from one
/// address is `resource-constraint`; once one of the two is deleted, it may be registered.
async fn living_accounts_per_address_are_limited(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    assert_result(&register_legacy(&mut c, "r1", "carol", STRONG).await);
    assert_result(&register_legacy(&mut c, "r2", "dave", STRONG).await);
    let refused = register_legacy(&mut c, "r3", "erin", STRONG).await;
    let error = assert_error(&refused, &StanzaCondition::ResourceConstraint);
    assert_eq!(
        text(&error),
        "too many accounts were registered from your address"
    );
    assert!(!exists(&server, "erin").await);
    server
        .accounts
        .delete(&account("carol@localhost"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_result(&register_legacy(&mut c, "r4", "erin", STRONG).await);
    assert!(exists(&server, "erin").await);
}

// ---------------------------------------------------------------------------------------
// Usernames and passwords

/// Taken names (in any case or width) and reserved names are `conflict`; a name whose
/// PRECIS and nodeprep forms differ, a name that is no localpart, and a weak password are
/// `not-acceptable`. Nothing is created, and none of it uses up the hourly allowance.
async fn usernames_and_passwords_are_checked(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    for (i, (name, password, condition, says)) in [
        (
            "alice",
            STRONG,
            StanzaCondition::Conflict,
            "this username is taken",
        ),
        (
            "Alice",
            STRONG,
            StanzaCondition::Conflict,
            "this username is taken",
        ),
        (
            "ＡＬＩＣＥ",
            STRONG,
            StanzaCondition::Conflict,
            "this username is taken",
        ),
        (
            "admin",
            STRONG,
            StanzaCondition::Conflict,
            "this username is reserved",
        ),
        (
            "ＡＤＭＩＮ",
            STRONG,
            StanzaCondition::Conflict,
            "this username is reserved",
        ),
        (
            "PostMaster",
            STRONG,
            StanzaCondition::Conflict,
            "this username is reserved",
        ),
        (
            "straße",
            STRONG,
            StanzaCondition::NotAcceptable,
            "the username is written differently by older XMPP software; choose another",
        ),
        (
            "bad@name",
            STRONG,
            StanzaCondition::NotAcceptable,
            "the username is not allowed",
        ),
        (
            "carol",
            "abc",
            StanzaCondition::NotAcceptable,
            "the password is too weak",
        ),
        (
            "carol",
            "password",
            StanzaCondition::NotAcceptable,
            "the password is too weak",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = register_legacy(&mut c, &format!("r{i}"), name, password).await;
        let error = assert_error(&reply, &condition);
        assert!(
            text(&error).starts_with(says),
            "{name} / {password}: {:?}",
            text(&error)
        );
    }
    for name in ["admin", "straße", "carol"] {
        assert!(!exists(&server, name).await, "{name} was created");
    }
    // The refusals did not count: the hour's one registration is still there. A fresh
    // connection: one stream may make only so many registration requests.
    let (mut d, _) = tls_stream(&server).await;
    assert_result(&register_legacy(&mut d, "ok", "carol", STRONG).await);
    assert!(exists(&server, "carol").await);
    // The weak password of the old one is not what was stored.
    assert_login_refused(&server, "carol", "abc").await;
}

/// XEP-0077 §3.1: a registration without a username or a password, or with an empty one,
/// "MUST" get `not-acceptable`.
async fn missing_username_or_password_is_not_acceptable(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    for (i, query) in [
        "<query xmlns='jabber:iq:register'><username>carol</username></query>".to_owned(),
        format!("<query xmlns='jabber:iq:register'><password>{STRONG}</password></query>"),
        legacy_submission("carol", ""),
        legacy_submission("", STRONG),
    ]
    .iter()
    .enumerate()
    {
        let reply = iq(&mut c, &format!("r{i}"), "set", query).await;
        assert_error(&reply, &StanzaCondition::NotAcceptable);
    }
    assert!(!exists(&server, "carol").await);
}

// ---------------------------------------------------------------------------------------
// The signed-in account: password change, `<registered/>`

/// A signed-in session changes its password (`to` the server, as XEP-0077 §3.3 shows it);
/// the session stays up; a new login with the new password works and one with the old
/// fails; a weak new password, an empty one and another account's username are refused and
/// change nothing.
async fn password_change_in_band(server: Arc<TestServer>) {
    add_user(&server, "bob").await;
    let mut c = Raw::login(&server, "alice", PASSWORD, "phone").await;
    let change = |id: &str, user: &str, password: &str| {
        format!(
            "<iq type='set' id='{id}' to='localhost'>{}</iq>",
            legacy_submission(user, password)
        )
    };
    c.send(&change("weak", "alice", "abc")).await;
    let reply = c.recv().await;
    let error = assert_error(&reply, &StanzaCondition::NotAcceptable);
    assert!(
        text(&error).starts_with("the password is too weak"),
        "{error:?}"
    );

    c.send(&change("empty", "alice", "")).await;
    let reply = c.recv().await;
    assert_eq!(reply.attr("id"), Some("empty"), "{reply:?}");
    // §3.3: the existing password stays; incomplete information is `bad-request`.
    assert_error(&reply, &StanzaCondition::BadRequest);

    c.send(&change("other", "bob", NEW_PASSWORD)).await;
    let reply = c.recv().await;
    assert_eq!(reply.attr("id"), Some("other"), "{reply:?}");
    assert_error(&reply, &StanzaCondition::NotAuthorized);
    Raw::login(&server, "bob", PASSWORD, "r").await;
    Raw::login(&server, "alice", PASSWORD, "r").await;

    c.send(&change("change", "alice", NEW_PASSWORD)).await;
    let reply = c.recv().await;
    assert_eq!(reply.attr("id"), Some("change"), "{reply:?}");
    assert_result(&reply);
    c.ping("still-up").await;
    Raw::login(&server, "alice", NEW_PASSWORD, "laptop")
        .await
        .ping("new")
        .await;
    assert_login_refused(&server, "alice", PASSWORD).await;
    Raw::login(&server, "bob", PASSWORD, "r").await;

    // The username may be left out, and the case of it does not matter (it is the account's
    // own), and a change without `to` goes to the server too.
    c.send(&format!(
        "<iq type='set' id='again'><query xmlns='jabber:iq:register'>\
         <username>ALICE</username><password>{}</password></query></iq>",
        escape(STRONG)
    ))
    .await;
    let reply = c.recv().await;
    assert_eq!(reply.attr("id"), Some("again"), "{reply:?}");
    assert_result(&reply);
    Raw::login(&server, "alice", STRONG, "tablet").await;

    // The XEP's form examples name the account by its bare JID; full-width letters normalise
    // to the same localpart.
    for (id, user) in [("bare", "alice@localhost"), ("wide", "ａｌｉｃｅ")] {
        c.send(&change(id, user, NEW_PASSWORD)).await;
        let reply = c.recv().await;
        assert_eq!(reply.attr("id"), Some(id), "{reply:?}");
        assert_result(&reply);
    }
    Raw::login(&server, "alice", NEW_PASSWORD, "desk").await;
}

/// XEP-0077 §3.3: "The server or service SHOULD NOT return the original XML sent in IQ
/// error stanzas related to password changes": the refused password is not echoed.
async fn password_change_errors_do_not_echo_the_password(server: Arc<TestServer>) {
    let mut c = Raw::login(&server, "alice", PASSWORD, "phone").await;
    let reply = iq(&mut c, "weak", "set", &legacy_submission("alice", "abc")).await;
    assert_error(&reply, &StanzaCondition::NotAcceptable);
    assert!(
        !reply.has_child("query", ns::REGISTER),
        "the refused password change came back: {reply:?}"
    );
}

/// A register `get` from a signed-in session: `<registered/>` and the username.
async fn signed_in_get_says_registered(server: Arc<TestServer>) {
    let mut c = Raw::login(&server, "alice", PASSWORD, "phone").await;
    let reply = iq(&mut c, "get", "get", FORM_REQUEST).await;
    assert_result(&reply);
    let Some(query) = reply.get_child("query", ns::REGISTER) else {
        panic!("no <query/>: {reply:?}")
    };
    assert!(query.has_child("registered", ns::REGISTER), "{reply:?}");
    assert_eq!(
        query.child_text("username", ns::REGISTER).as_deref(),
        Some("alice"),
        "{reply:?}"
    );
    // No CAPTCHA for someone who is signed in.
    assert!(!query.has_child("x", ns::DATA_FORMS), "{reply:?}");
    assert!(!query.has_child("data", ns::BOB), "{reply:?}");
}

/// `<remove/>` deletes the account and ends its sessions with `not-authorized`; its name
/// cannot be registered again until the tombstone period (a day here) is over.
async fn deleted_names_are_held_for_the_tombstone_period(server: Arc<TestServer>) {
    let (mut c, _) = tls_stream(&server).await;
    assert_result(&register_legacy(&mut c, "r1", "carol", STRONG).await);
    let mut carol = Raw::login(&server, "carol", STRONG, "phone").await;
    carol
        .send("<iq type='set' id='bye'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        .await;
    let reply = carol.recv().await;
    assert!(reply.is("iq", ns::JABBER_CLIENT), "{reply:?}");
    assert_eq!(reply.attr("id"), Some("bye"), "{reply:?}");
    assert_result(&reply);
    carol
        .expect_stream_error(StreamCondition::NotAuthorized)
        .await;
    assert!(!exists(&server, "carol").await);
    assert_login_refused(&server, "carol", STRONG).await;

    let reply = register_legacy(&mut c, "r2", "carol", STRONG).await;
    let error = assert_error(&reply, &StanzaCondition::Conflict);
    assert_eq!(
        text(&error),
        "this username belonged to a deleted account and is not available yet"
    );
    assert!(!exists(&server, "carol").await);
    server.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_result(&register_legacy(&mut c, "r3", "carol", STRONG).await);
    Raw::login(&server, "carol", STRONG, "new").await;
}

// ---------------------------------------------------------------------------------------
// An independent client library

/// Our XML, as `xmpp-parsers` (minidom) reads it.
fn to_minidom(element: &Element) -> xmpp_parsers::minidom::Element {
    element
        .to_string()
        .parse()
        .unwrap_or_else(|e| panic!("minidom refuses {element}: {e}"))
}

/// `xmpp-parsers` reads the server's answer: the IQ, the register query as its `FormQuery`
/// (the CAPTCHA data form, with the media element of `ocr`) and the bits of binary; then the submission is built with
/// `xmpp-parsers` types, written by minidom, and the server registers the account, which
/// signs in.
async fn xmpp_parsers_reads_the_form_and_writes_the_submission(server: Arc<TestServer>) {
    use xmpp_parsers::bob::Data;
    use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType as PFieldType};
    use xmpp_parsers::ibr::FormQuery;
    use xmpp_parsers::iq::Iq;
    use xmpp_parsers::minidom::Element as MElement;

    let (mut c, _) = tls_stream(&server).await;
    c.send(&format!("<iq type='get' id='get1'>{FORM_REQUEST}</iq>"))
        .await;
    let reply = c.recv().await;
    let iq = Iq::try_from(to_minidom(&reply)).unwrap_or_else(|e| panic!("{e}: {reply}"));
    let Iq::Result {
        id,
        payload: Some(query),
        ..
    } = iq
    else {
        panic!("not a result with a payload: {reply}")
    };
    assert_eq!(id, "get1");
    // The whole answer as the crate's form query: instructions and the data form (the bits
    // of binary beside it are read separately below).
    let data_el = query
        .get_child("data", "urn:xmpp:bob")
        .cloned()
        .unwrap_or_else(|| panic!("no data: {reply}"));
    let FormQuery { instructions, form } =
        FormQuery::try_from(query).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(instructions.is_some_and(|i| !i.is_empty()), "{reply}");
    assert_eq!(form.type_, DataFormType::Form);
    assert_eq!(form.form_type(), Some("urn:xmpp:captcha"));
    let value = |var: &str| -> String {
        form.fields
            .iter()
            .find(|f| f.var.as_deref() == Some(var))
            .and_then(|f| f.values.first().cloned())
            .unwrap_or_default()
    };
    let ocr = form
        .fields
        .iter()
        .find(|f| f.var.as_deref() == Some("ocr"))
        .unwrap_or_else(|| panic!("no ocr field: {reply}"));
    assert!(ocr.required);
    let media = ocr
        .media
        .first()
        .unwrap_or_else(|| panic!("no media: {reply}"));
    let data = Data::try_from(data_el).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert_eq!(data.type_.as_deref(), Some("image/png"));
    assert_eq!(data.data.get(..4), Some(&b"\x89PNG"[..]));
    let cid = format!("cid:sha1+{}@bob.xmpp.org", sha1_hex(&data.data));
    assert!(
        media.uris.iter().any(|u| u.uri == cid),
        "the media does not name {cid}: {reply}"
    );
    let challenge = value("challenge");
    let answer = server
        .accounts
        .captchas()
        .answer_of(&challenge)
        .unwrap_or_else(|| panic!("challenge {challenge} is not pending"));
    let submission = DataForm::new(
        DataFormType::Submit,
        "urn:xmpp:captcha",
        vec![
            Field::text_single("from", &value("from")),
            Field::text_single("challenge", &challenge),
            Field::text_single("sid", &value("sid")),
            Field::text_single("username", "carol"),
            Field::new("password", PFieldType::TextPrivate).with_value(STRONG),
            Field::text_single("ocr", &answer),
        ],
    );
    let set = Iq::from_set(
        "set1",
        FormQuery {
            instructions: None,
            form: submission,
        },
    );
    let set = MElement::from(set);
    c.send(&String::from(&set)).await;
    let reply = c.recv().await;
    let iq = Iq::try_from(to_minidom(&reply)).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(
        matches!(&iq, Iq::Result { id, payload: None, .. } if id == "set1"),
        "{reply}"
    );
    assert!(exists(&server, "carol").await);
    Raw::login(&server, "carol", STRONG, "r").await;
}

on_both_backends!(
    registration_is_offered_after_tls_when_open => "",
    closed_registration_is_neither_offered_nor_allowed => CLOSED,
    allowed_network_is_offered_registration => LOOPBACK_ONLY,
    other_networks_are_refused_registration => OTHER_NETWORK_ONLY,
    right_captcha_answer_registers => "",
    wrong_captcha_answer_is_refused_and_burns_the_challenge => "",
    missing_captcha_answer_is_refused => "",
    registration_then_sasl_on_the_same_stream => "",
    registrations_per_address_are_limited_per_hour => NO_CAPTCHA,
    captcha_requests_are_limited_per_address => CAPTCHA_FLOOD,
    living_accounts_per_address_are_limited => TWO_ACCOUNTS_PER_ADDRESS,
    usernames_and_passwords_are_checked => NO_CAPTCHA,
    password_change_in_band => "",
    signed_in_get_says_registered => "",
    deleted_names_are_held_for_the_tombstone_period => TOMBSTONE_DAY,
    xmpp_parsers_reads_the_form_and_writes_the_submission => "",
);

/// A MUST and a SHOULD of XEP-0077 that the server first got wrong: a registration without
/// both fields is `not-acceptable`, and an error reply never carries the password back.
mod deviations {
    use super::*;

    #[tokio::test]
    async fn sqlite_missing_username_or_password_is_not_acceptable() {
        run(
            Backend::Sqlite,
            NO_CAPTCHA,
            missing_username_or_password_is_not_acceptable,
        )
        .await;
    }

    #[tokio::test]
    async fn postgres_missing_username_or_password_is_not_acceptable() {
        run(
            Backend::Postgres,
            NO_CAPTCHA,
            missing_username_or_password_is_not_acceptable,
        )
        .await;
    }

    #[tokio::test]
    async fn sqlite_password_change_errors_do_not_echo_the_password() {
        run(
            Backend::Sqlite,
            "",
            password_change_errors_do_not_echo_the_password,
        )
        .await;
    }

    #[tokio::test]
    async fn postgres_password_change_errors_do_not_echo_the_password() {
        run(
            Backend::Postgres,
            "",
            password_change_errors_do_not_echo_the_password,
        )
        .await;
    }
}
