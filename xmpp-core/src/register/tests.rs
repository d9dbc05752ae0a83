//! Register queries against the XEP-0077 and XEP-0158 examples, every error path, the built
//! answers, and the policy checks.

use super::*;
use crate::dataform::{Field, FieldType, Form, FormError, FormKind, Media};
use crate::element::Element;
use crate::error::{ErrorType, StanzaCondition, StanzaError};
use crate::ns;
use crate::stanza::IqType;

fn parse(xml: &str) -> Element {
    match xml.parse() {
        Ok(el) => el,
        Err(e) => panic!("test XML does not parse: {e}: {xml}"),
    }
}

fn set(inner: &str) -> Result<RegisterRequest, RegisterError> {
    RegisterRequest::parse(
        IqType::Set,
        &parse(&format!(
            "<query xmlns='jabber:iq:register'>{inner}</query>"
        )),
    )
}

fn submission(inner: &str) -> Submission {
    match set(inner) {
        Ok(RegisterRequest::Submit(s)) => s,
        other => panic!("expected a submission, got {other:?}"),
    }
}

// --- requests -----------------------------------------------------------------------------

#[test]
fn a_get_asks_for_the_form() {
    // XEP-0077 §3.1, "Entity Requests Registration Fields from Host".
    let query = parse("<query xmlns='jabber:iq:register'/>");
    assert_eq!(
        RegisterRequest::parse(IqType::Get, &query),
        Ok(RegisterRequest::FormRequest)
    );
    // Whatever a get carries, it asks for the form.
    let query = parse("<query xmlns='jabber:iq:register'><username>x</username></query>");
    assert_eq!(
        RegisterRequest::parse(IqType::Get, &query),
        Ok(RegisterRequest::FormRequest)
    );
}

#[test]
fn answers_are_not_requests() {
    let query = parse("<query xmlns='jabber:iq:register'/>");
    for t in [IqType::Result, IqType::Error] {
        let err = RegisterRequest::parse(t, &query).expect_err("not a request");
        assert_eq!(err, RegisterError::UnexpectedIqType(t));
        assert_eq!(err.condition(), StanzaCondition::BadRequest);
    }
    assert_eq!(
        RegisterError::UnexpectedIqType(IqType::Result).to_string(),
        "a register query in an iq of type result asks for nothing"
    );
}

#[test]
fn only_register_queries() {
    for xml in [
        "<query xmlns='jabber:iq:roster'/>",
        "<register xmlns='jabber:iq:register'/>",
    ] {
        let el = parse(xml);
        assert_eq!(
            RegisterRequest::parse(IqType::Get, &el),
            Err(RegisterError::NotARegisterQuery {
                name: el.name().to_owned(),
                ns: el.ns().to_owned()
            })
        );
    }
}

#[test]
fn legacy_registration() {
    // XEP-0077 §3.1, "Entity Provides Required Information".
    let s = submission(
        "<username>bill</username><password>Calliope</password>\
         <email>bard@shakespeare.lit</email>",
    );
    assert_eq!(s.username(), Some("bill"));
    assert_eq!(s.password(), Some("Calliope"));
    assert_eq!(s.field("email"), Some("bard@shakespeare.lit"));
    assert_eq!(s.field("nick"), None);
    assert_eq!(s.form_type(), None);
    assert_eq!(s.form(), None);
    assert_eq!(s.captcha_answer(), None);
    assert_eq!(s.credentials(), Ok(("bill", "Calliope")));
}

#[test]
fn empty_fields_count_as_missing() {
    // XEP-0077 §3.1: "<password/> or <password></password>" is not providing it.
    for inner in [
        "<username>bill</username><password/>",
        "<username>bill</username><password></password>",
        "<username>bill</username>",
    ] {
        let s = submission(inner);
        assert_eq!(s.password(), None, "{inner}");
        let err = s.credentials().expect_err("incomplete");
        assert_eq!(err, RegisterError::Missing("password"));
        assert_eq!(err.condition(), StanzaCondition::NotAcceptable);
        assert_eq!(err.to_string(), "the password is missing");
    }
    let s = submission("<username/><password>x</password>");
    assert_eq!(s.field("username"), Some(""));
    assert_eq!(s.username(), None);
    assert_eq!(s.credentials(), Err(RegisterError::Missing("username")));
}

#[test]
fn password_change() {
    // XEP-0077 §3.3, "Password Change": the same shape as a registration.
    let s = submission("<username>bill</username><password>newpass</password>");
    assert_eq!(s.credentials(), Ok(("bill", "newpass")));
}

/// XEP-0158 §4, "Entity Provides Required Information In-Band".
const CAPTCHA_SUBMISSION: &str = "<x xmlns='jabber:x:data' type='submit'>
      <field var='FORM_TYPE'>
        <value>urn:xmpp:captcha</value>
      </field>
      <field var='challenge'><value>F3A6292C</value></field>
      <field var='sid'><value>reg1</value></field>
      <field var='answers'><value>3</value></field>
      <field var='ocr'><value>7nHL3</value></field>
      <field var='username'><value>bill</value></field>
      <field var='password'><value>Calliope</value></field>
    </x>";

#[test]
fn captcha_submission() {
    let s = submission(CAPTCHA_SUBMISSION);
    assert_eq!(s.form_type(), Some(ns::CAPTCHA));
    assert_eq!(s.credentials(), Ok(("bill", "Calliope")));
    assert_eq!(s.field("answers"), Some("3"));
    assert_eq!(
        s.captcha_answer(),
        Some(CaptchaAnswer {
            challenge: "F3A6292C",
            sid: Some("reg1"),
            answer: "7nHL3"
        })
    );
    assert!(s.form().is_some());
}

#[test]
fn captcha_answer_needs_the_captcha_form_type_and_both_fields() {
    let s = submission(
        "<x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>jabber:iq:register</value></field>\
         <field var='challenge'><value>c</value></field><field var='ocr'><value>a</value></field>\
         </x>",
    );
    assert_eq!(s.captcha_answer(), None);
    let s = submission(
        "<x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>\
         <field var='challenge'><value>c</value></field></x>",
    );
    assert_eq!(s.captcha_answer(), None);
    let s = submission(
        "<x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>\
         <field var='challenge'><value>c</value></field><field var='ocr'><value>a</value></field>\
         </x>",
    );
    assert_eq!(
        s.captcha_answer(),
        Some(CaptchaAnswer {
            challenge: "c",
            sid: None,
            answer: "a"
        })
    );
}

#[test]
fn the_form_wins_over_legacy_fields() {
    let s = submission(
        "<username>legacy</username><password>old</password><email>e@x</email>\
         <x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>jabber:iq:register</value></field>\
         <field var='username'><value>formed</value></field>\
         <field var='password'><value/></field></x>",
    );
    assert_eq!(s.username(), Some("formed"));
    // The form's empty password wins too: the client said nothing there.
    assert_eq!(s.field("password"), Some(""));
    assert_eq!(s.password(), None);
    // What only the legacy part has is still there.
    assert_eq!(s.field("email"), Some("e@x"));
}

#[test]
fn removal() {
    // XEP-0077 §3.2, "Entity Requests Cancellation of Existing Registration".
    assert_eq!(set("<remove/>"), Ok(RegisterRequest::Remove));
    // Others beside it are ignored (see RegisterRequest::Remove), even malformed ones.
    assert_eq!(
        set("<username>bill</username><password>x</password><remove/><bogus/>"),
        Ok(RegisterRequest::Remove)
    );
    // A remove in another namespace is not one.
    assert_eq!(
        set("<remove xmlns='urn:example'/>"),
        Err(RegisterError::NothingSubmitted)
    );
}

#[test]
fn foreign_and_echoed_children_are_ignored() {
    let s = submission(
        "<registered/><instructions>x</instructions><username>bill</username>\
         <x xmlns='jabber:x:oob'><url>https://example.org</url></x>",
    );
    assert_eq!(s.username(), Some("bill"));
    assert_eq!(s.field("instructions"), None);
    assert_eq!(s.field("registered"), None);
}

#[test]
fn set_errors() {
    let cases = [
        ("", RegisterError::NothingSubmitted),
        (
            "<registered/><instructions/>",
            RegisterError::NothingSubmitted,
        ),
        (
            "<x xmlns='jabber:x:oob'><url>u</url></x>",
            RegisterError::NothingSubmitted,
        ),
        (
            "<username>a</username><secret>b</secret>",
            RegisterError::UnknownChild("secret".into()),
        ),
        (
            "<username>a</username><username>b</username>",
            RegisterError::DuplicateChild("username".into()),
        ),
        (
            "<password><b/></password>",
            RegisterError::ChildNotText("password".into()),
        ),
        (
            "<x xmlns='jabber:x:data' type='submit'/><x xmlns='jabber:x:data' type='submit'/>",
            RegisterError::SeveralForms,
        ),
        (
            "<x xmlns='jabber:x:data' type='form'/>",
            RegisterError::FormNotSubmitted(FormKind::Form),
        ),
        (
            "<x xmlns='jabber:x:data' type='cancel'/>",
            RegisterError::FormNotSubmitted(FormKind::Cancel),
        ),
        (
            "<x xmlns='jabber:x:data' type='submit'><field/></x>",
            RegisterError::Form(FormError::MissingVar),
        ),
        (
            "<x xmlns='jabber:x:data'/>",
            RegisterError::Form(FormError::MissingType),
        ),
    ];
    for (inner, expected) in cases {
        let err = set(inner).expect_err(inner);
        assert_eq!(err, expected, "{inner}");
        assert_eq!(err.condition(), StanzaCondition::BadRequest, "{inner}");
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(
        RegisterError::FormNotSubmitted(FormKind::Form).to_string(),
        "the data form is of type form, not submit"
    );
    assert_eq!(
        RegisterError::Form(FormError::MissingVar).to_string(),
        "invalid data form: a field has no var"
    );
}

#[test]
fn errors_become_stanza_errors() {
    let e = StanzaError::from(RegisterError::Missing("username"));
    assert_eq!(e.condition, StanzaCondition::NotAcceptable);
    assert_eq!(e.error_type, ErrorType::Modify);
    assert_eq!(e.texts[0].text, "the username is missing");
    assert_eq!(e.texts[0].lang.as_deref(), Some("en"));
    let e = StanzaError::from(RegisterError::SeveralForms);
    assert_eq!(
        (e.condition, e.error_type),
        (StanzaCondition::BadRequest, ErrorType::Modify)
    );
}

// --- answers ------------------------------------------------------------------------------

#[test]
fn form_without_captcha() {
    let spec = FormSpec::new("Choose a username and password.");
    let expected = parse(
        "<query xmlns='jabber:iq:register'>\
           <instructions>Choose a username and password.</instructions>\
           <username/><password/>\
           <x xmlns='jabber:x:data' type='form'>\
             <instructions>Choose a username and password.</instructions>\
             <field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>\
             <field var='username' type='text-single' label='Username'><required/></field>\
             <field var='password' type='text-private' label='Password'><required/></field>\
           </x>\
         </query>",
    );
    assert_eq!(registration_form(&spec), expected);
}

#[test]
fn bare_form() {
    // No instructions, a title and a web page.
    let spec = FormSpec {
        title: Some("Sign up".into()),
        web_url: Some("https://example.org/register".into()),
        ..FormSpec::default()
    };
    let expected = parse(
        "<query xmlns='jabber:iq:register'>\
           <username/><password/>\
           <x xmlns='jabber:x:data' type='form'>\
             <title>Sign up</title>\
             <field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>\
             <field var='username' type='text-single' label='Username'><required/></field>\
             <field var='password' type='text-private' label='Password'><required/></field>\
           </x>\
           <x xmlns='jabber:x:oob'><url>https://example.org/register</url></x>\
         </query>",
    );
    assert_eq!(registration_form(&spec), expected);
}

/// SHA-1 of `abc` (FIPS 180-2 appendix A.1).
const ABC_CID: &str = "sha1+a9993e364706816aba3e25717850c26c9cd0d89d@bob.xmpp.org";

fn captcha() -> Captcha {
    Captcha {
        sid: "reg1".into(),
        size: Some((290, 80)),
        ..Captcha::new("F3A6292C", b"abc".to_vec(), "example.org")
    }
}

#[test]
fn bob_content_ids() {
    assert_eq!(bob_cid(b"abc"), ABC_CID);
    // XEP-0231 §2: the cid of the empty string.
    assert_eq!(
        bob_cid(b""),
        "sha1+da39a3ee5e6b4b0d3255bfef95601890afd80709@bob.xmpp.org"
    );
    assert_eq!(captcha().cid(), ABC_CID);
    assert_eq!(captcha().data_uri(), "data:image/png;base64,YWJj");
}

#[test]
fn form_with_captcha() {
    let spec = FormSpec {
        instructions: "Fill in the form to register.".into(),
        captcha: Some(captcha()),
        web_url: Some("https://example.org/register".into()),
        ..FormSpec::default()
    };
    let expected = parse(&format!(
        "<query xmlns='jabber:iq:register'>\
           <instructions>Fill in the form to register.</instructions>\
           <x xmlns='jabber:x:data' type='form'>\
             <instructions>Fill in the form to register.</instructions>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:captcha</value></field>\
             <field var='from' type='hidden'><value>example.org</value></field>\
             <field var='challenge' type='hidden'><value>F3A6292C</value></field>\
             <field var='sid' type='hidden'><value>reg1</value></field>\
             <field var='username' type='text-single' label='Username'><required/></field>\
             <field var='password' type='text-private' label='Password'><required/></field>\
             <field var='ocr' type='text-single' label='Enter the text you see'><required/>\
               <media xmlns='urn:xmpp:media-element' width='290' height='80'>\
                 <uri type='image/png'>cid:{ABC_CID}</uri>\
                 <uri type='image/png'>data:image/png;base64,YWJj</uri>\
               </media>\
             </field>\
           </x>\
           <x xmlns='jabber:x:oob'><url>https://example.org/register</url></x>\
           <data xmlns='urn:xmpp:bob' cid='{ABC_CID}' type='image/png' max-age='0'>YWJj</data>\
         </query>"
    ));
    let ours = registration_form(&spec);
    assert_eq!(ours, expected);
    // No legacy fields beside a CAPTCHA (XEP-0077 §6).
    assert!(!ours.has_child("username", ns::REGISTER));
    assert!(!ours.has_child("password", ns::REGISTER));
}

#[test]
fn captcha_form_reads_back() {
    let query = registration_form(&FormSpec {
        captcha: Some(Captcha::new(
            "c1",
            vec![0x89, b'P', b'N', b'G'],
            "example.org",
        )),
        ..FormSpec::default()
    });
    let form = Form::from_element(query.get_child("x", ns::DATA_FORMS).expect("form"))
        .expect("valid form");
    assert_eq!(form.form_type(), Some(ns::CAPTCHA));
    assert_eq!(form.value("challenge"), Some("c1"));
    // An empty sid is written as an empty value.
    assert_eq!(form.value("sid"), Some(""));
    assert_eq!(form.field("sid").map(|f| f.values.len()), Some(1));
    let ocr = form.field("ocr").expect("ocr");
    assert!(ocr.required);
    assert_eq!(ocr.kind, Some(FieldType::TextSingle));
    let media = Media::from_element(ocr.media().expect("media")).expect("valid media");
    assert_eq!((media.width, media.height), (None, None));
    assert_eq!(media.uris.len(), 2);
    assert!(media.uris[0].uri.starts_with("cid:sha1+"));
    assert_eq!(media.uris[1].uri, "data:image/png;base64,iVBORw==");
    let data = query.get_child("data", ns::BOB).expect("bob data");
    assert_eq!(data.attr("cid"), media.uris[0].uri.strip_prefix("cid:"));
    assert_eq!(data.text(), "iVBORw==");
}

#[test]
fn a_client_filling_in_our_form_is_understood() {
    // What Conversations does: take the form, fill in username, password and ocr, submit.
    let query = registration_form(&FormSpec {
        captcha: Some(captcha()),
        ..FormSpec::default()
    });
    let mut form = Form::from_element(query.get_child("x", ns::DATA_FORMS).expect("form"))
        .expect("valid form");
    form.kind = FormKind::Submit;
    for field in &mut form.fields {
        field.payloads.clear();
        let value = match field.var.as_deref() {
            Some("username") => "bill",
            Some("password") => "Calliope",
            Some("ocr") => "7nHL3",
            _ => continue,
        };
        field.values = vec![value.into()];
    }
    let answer = Element::new("query", ns::REGISTER).with_child(form.to_element());
    let s = match RegisterRequest::parse(IqType::Set, &answer) {
        Ok(RegisterRequest::Submit(s)) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.credentials(), Ok(("bill", "Calliope")));
    assert_eq!(
        s.captcha_answer(),
        Some(CaptchaAnswer {
            challenge: "F3A6292C",
            sid: Some("reg1"),
            answer: "7nHL3"
        })
    );
    assert_eq!(s.field("from"), Some("example.org"));
}

#[test]
fn registered() {
    // XEP-0077 §3.1, "Host Informs Entity of Current Registration", without the password
    // and the email the server does not keep.
    assert_eq!(
        registered_answer("juliet"),
        parse(
            "<query xmlns='jabber:iq:register'>\
             <registered/><username>juliet</username><password/></query>"
        )
    );
}

#[test]
fn stream_feature() {
    // XEP-0077 §8, "Advertising registration as a stream feature".
    assert_eq!(
        register_feature(),
        parse("<register xmlns='http://jabber.org/features/iq-register'/>")
    );
}

#[test]
fn captcha_debug_hides_the_picture() {
    let text = format!("{:?}", captcha());
    assert!(text.contains("3 bytes"), "{text}");
    assert!(text.contains("F3A6292C"), "{text}");
}

#[test]
fn captcha_field_order_matches_the_hidden_fields() {
    let form = captcha().registration_form();
    let vars: Vec<_> = form
        .fields
        .iter()
        .filter_map(|f| f.var.as_deref())
        .collect();
    assert_eq!(
        vars,
        [
            "FORM_TYPE",
            "from",
            "challenge",
            "sid",
            "username",
            "password",
            "ocr"
        ]
    );
    assert!(
        form.fields[1..4]
            .iter()
            .all(|f| f.kind == Some(FieldType::Hidden))
    );
    assert_eq!(
        form.field("password").map(Field::effective_type),
        Some(FieldType::TextPrivate)
    );
}

// --- policy: usernames --------------------------------------------------------------------

#[test]
fn usernames_normalise() {
    for (input, normalised) in [
        ("juliet", "juliet"),
        ("Juliet", "juliet"),
        // Width mapping and case mapping agree between PRECIS and nodeprep.
        ("ＪＵＬＩＥＴ", "juliet"),
        ("ｊｕｌｉｅｔ", "juliet"),
        ("\u{FF76}", "\u{30AB}"), // half-width katakana KA
        ("STRASSE", "strasse"),
        ("ΣΟΦΟΣ", "σοφοσ"),
        ("e\u{301}", "\u{E9}"), // NFC composes under both
        ("\u{130}stanbul", "i\u{307}stanbul"),
        ("l\u{B7}l", "l\u{B7}l"), // Catalan middle dot, in its context
        ("a!b#c", "a!b#c"),
    ] {
        assert_eq!(
            check_username(input).as_deref(),
            Ok(normalised),
            "{input:?}"
        );
    }
}

#[test]
fn usernames_the_profiles_spell_differently_are_refused() {
    for input in [
        // Nodeprep case-folds ß to ss; PRECIS keeps it.
        "straße",
        "ß",
        // Final sigma: nodeprep folds it to σ.
        "σοφός",
        // Combining ypogegrammeni: nodeprep folds it to ι.
        "x\u{345}",
        // Not in Unicode 3.2, so nodeprep refuses them; PRECIS allows (or maps) them.
        "\u{221}",  // ȡ, Unicode 4.0
        "\u{1E9E}", // capital sharp s, Unicode 5.1, which PRECIS lowercases to ß
        "\u{A769}", // ꝩ, Unicode 5.1
    ] {
        assert_eq!(
            check_username(input),
            Err(UsernameError::Ambiguous),
            "{input:?}"
        );
    }
}

#[test]
fn usernames_precis_refuses() {
    use crate::jid::ProfileViolation as V;
    for (input, violation) in [
        // Ligatures and other compatibility characters: nodeprep would fold them with NFKC.
        ("\u{FB01}le", V::Codepoint('\u{FB01}')),
        ("\u{FB00}", V::Codepoint('\u{FB00}')),
        ("\u{1D423}uliet", V::Codepoint('\u{1D423}')), // mathematical bold j
        ("\u{2163}", V::Codepoint('\u{2163}')),        // roman numeral four
        ("\u{1C5}", V::Codepoint('\u{1C5}')),          // titlecase dž
        // Nodeprep deletes these; PRECIS refuses them.
        ("jul\u{AD}iet", V::Codepoint('\u{AD}')),
        ("jul\u{200B}iet", V::Codepoint('\u{200B}')),
        ("jul\u{200D}iet", V::Context(Some('\u{200D}'))),
        ("a b", V::Codepoint(' ')),
        ("juliet@example", V::JidSpecial('@')),
        ("\u{FF20}", V::JidSpecial('@')), // full-width @ maps to @
        ("\u{661}", V::Bidi),
    ] {
        assert_eq!(
            check_username(input),
            Err(UsernameError::NotAllowed(violation)),
            "{input:?}"
        );
    }
}

#[test]
fn username_lengths() {
    assert_eq!(check_username(""), Err(UsernameError::Empty));
    let longest = "a".repeat(1023);
    assert_eq!(check_username(&longest), Ok(longest.clone()));
    assert_eq!(
        check_username(&"a".repeat(1024)),
        Err(UsernameError::TooLong)
    );
    assert_eq!(
        check_username(&"a".repeat(100_000)),
        Err(UsernameError::TooLong)
    );
    // Counted once normalised: 1023 full-width letters are 3069 bytes raw, 1023 once mapped.
    assert_eq!(check_username(&"\u{FF41}".repeat(1023)), Ok(longest));
    assert_eq!(
        check_username(&"\u{FF41}".repeat(1024)),
        Err(UsernameError::TooLong)
    );
}

#[test]
fn username_errors_are_not_acceptable() {
    for e in [
        UsernameError::Empty,
        UsernameError::TooLong,
        UsernameError::Ambiguous,
        UsernameError::NotAllowed(crate::jid::ProfileViolation::Bidi),
    ] {
        assert_eq!(e.condition(), StanzaCondition::NotAcceptable);
        assert!(!e.to_string().is_empty());
    }
    let e = StanzaError::from(UsernameError::Ambiguous);
    assert_eq!(
        (e.condition, e.error_type),
        (StanzaCondition::NotAcceptable, ErrorType::Modify)
    );
    assert_eq!(e.texts[0].text, UsernameError::Ambiguous.to_string());
    assert_eq!(
        UsernameError::NotAllowed(crate::jid::ProfileViolation::JidSpecial('@')).to_string(),
        "the username is not allowed: '@' is not allowed in a localpart"
    );
}

#[test]
fn reserved_names() {
    let reserved = vec![
        "admin".to_owned(),
        "Postmaster".to_owned(),
        "a b".to_owned(),
    ];
    assert!(is_reserved("admin", &reserved));
    assert!(is_reserved("postmaster", &reserved));
    assert!(is_reserved("ＡＤＭＩＮ", &reserved));
    assert!(is_reserved("a b", &reserved));
    assert!(!is_reserved("administrator", &reserved));
    assert!(!is_reserved("admin", &[]));
}

// --- policy: passwords --------------------------------------------------------------------

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn entropy() {
    assert!(close(password_entropy_bits(""), 0.0));
    assert!(close(password_entropy_bits("aaaaaa"), 6.0 * 26f64.log2()));
    assert!(close(password_entropy_bits("123456"), 6.0 * 10f64.log2()));
    assert!(close(password_entropy_bits("Aa1!"), 4.0 * 95f64.log2()));
    assert!(close(password_entropy_bits("a b"), 3.0 * 59f64.log2()));
    // Characters, not bytes; outside ASCII from a set of 128.
    assert!(close(password_entropy_bits("пароль"), 6.0 * 7.0));
    assert!(close(password_entropy_bits("пароль1"), 7.0 * 138f64.log2()));
    // Monotonic in length.
    assert!(password_entropy_bits("abcdefgh") > password_entropy_bits("abcdefg"));
}

#[test]
fn passwords() {
    assert_eq!(check_password("", 0.0), Err(PasswordError::Empty));
    assert_eq!(check_password("x", 0.0), Ok(()));
    assert_eq!(check_password(&"x".repeat(1024), 0.0), Ok(()));
    assert_eq!(
        check_password(&"x".repeat(1025), 0.0),
        Err(PasswordError::TooLong)
    );
    // 1024 bytes is 512 two-byte characters.
    assert_eq!(check_password(&"й".repeat(512), 0.0), Ok(()));
    assert_eq!(
        check_password(&"й".repeat(513), 0.0),
        Err(PasswordError::TooLong)
    );
    assert_eq!(
        check_password("bell\u{7}", 0.0),
        Err(PasswordError::Unusable)
    );
    assert_eq!(
        check_password("\u{AD}\u{AD}", 0.0),
        Err(PasswordError::Unusable)
    );
    assert_eq!(
        check_password("\u{627}1", 0.0),
        Err(PasswordError::Unusable)
    );
    // Spaces are fine, inside and around.
    assert_eq!(check_password(" correct horse ", 0.0), Ok(()));
    assert_eq!(
        check_password("123456", 32.0),
        Err(PasswordError::TooWeak { bits: 19, min: 32 })
    );
    assert_eq!(check_password("Tr0ub4dor&3", 32.0), Ok(()));
    // A fractional minimum is reported rounded up; a minimum not above 0 checks nothing.
    assert_eq!(
        check_password("123456", 20.5),
        Err(PasswordError::TooWeak { bits: 19, min: 21 })
    );
    assert_eq!(check_password("1", -1.0), Ok(()));
    assert_eq!(check_password("1", f64::NAN), Ok(()));
    assert_eq!(check_password("correcthorsebatterystaple", 64.0), Ok(()));
}

#[test]
fn password_errors_are_not_acceptable() {
    for e in [
        PasswordError::Empty,
        PasswordError::TooLong,
        PasswordError::Unusable,
        PasswordError::TooWeak { bits: 1, min: 2 },
    ] {
        assert_eq!(e.condition(), StanzaCondition::NotAcceptable);
    }
    let e = StanzaError::from(PasswordError::Unusable);
    assert_eq!(e.condition, StanzaCondition::NotAcceptable);
    assert_eq!(e.texts[0].text, PasswordError::Unusable.to_string());
    assert_eq!(
        PasswordError::TooWeak { bits: 19, min: 32 }.to_string(),
        "the password is too weak (about 19 bits, 32 needed): make it longer, or mix letters, \
         digits and symbols"
    );
}

#[test]
fn error_answers_never_carry_the_query_back() {
    let iq: Element = "<iq xmlns='jabber:client' type='set' id='p1' from='a@example.org/x' \
         to='example.org'><query xmlns='jabber:iq:register'><username>a</username>\
         <password>secret</password></query></iq>"
        .parse()
        .expect("valid");
    let error = crate::StanzaError::new(crate::StanzaCondition::NotAcceptable);
    let answer = super::error_answer(&iq, &error);
    assert_eq!(answer.attr("type"), Some("error"));
    assert_eq!(answer.attr("id"), Some("p1"));
    assert_eq!(answer.attr("to"), Some("a@example.org/x"));
    assert_eq!(answer.attr("from"), Some("example.org"));
    assert_eq!(answer.children().count(), 1);
    assert!(
        answer.get_child("error", ns::JABBER_CLIENT).is_some(),
        "{answer:?}"
    );
    let mut xml = bytes::BytesMut::new();
    answer.write_to(&mut xml);
    assert!(!String::from_utf8_lossy(&xml).contains("secret"));
}
