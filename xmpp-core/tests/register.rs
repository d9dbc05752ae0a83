//! In-band registration through bytes, checked against an independent implementation
//! (xmpp-parsers) in both directions, and parsers that never panic on arbitrary trees.

use proptest::prelude::*;
use xmpp_core::dataform::{Form, Media};
use xmpp_core::register::{
    Captcha, CaptchaAnswer, FormSpec, RegisterRequest, check_password, check_username, is_reserved,
    password_entropy_bits, registered_answer, registration_form,
};
use xmpp_core::{Element, IqType, ns};
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

/// A copy of the query holding only the children `keep` accepts: xmpp-parsers types each
/// combination of XEP-0077 separately and refuses children it does not expect.
fn only(query: &Element, keep: impl Fn(&Element) -> bool) -> Element {
    let mut copy = query.clone();
    copy.retain_children(keep);
    copy
}

fn png() -> Vec<u8> {
    // The PNG signature and an empty IHDR-ish tail: real enough for base64 and SHA-1.
    vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0xfe,
    ]
}

#[test]
fn namespaces_agree() {
    assert_eq!(ns::REGISTER, xmpp_parsers::ns::REGISTER);
    assert_eq!(ns::REGISTER_FEATURE, xmpp_parsers::ns::REGISTER_FEATURE);
    assert_eq!(ns::DATA_FORMS, xmpp_parsers::ns::DATA_FORMS);
    assert_eq!(ns::BOB, xmpp_parsers::ns::BOB);
    assert_eq!(ns::MEDIA_ELEMENT, xmpp_parsers::ns::MEDIA_ELEMENT);
    assert_eq!(ns::OOB, xmpp_parsers::ns::OOB);
}

#[test]
fn xmpp_parsers_reads_the_plain_form() {
    let query = registration_form(&FormSpec::new("Choose a username and password."));

    let legacy = xmpp_parsers::ibr::LegacyQuery::try_from(to_minidom(&only(&query, |c| {
        c.ns() == ns::REGISTER
    })))
    .unwrap_or_else(|e| panic!("xmpp-parsers rejects the legacy part: {e:?}"));
    assert_eq!(
        legacy.instructions.as_deref(),
        Some("Choose a username and password.")
    );
    assert_eq!(legacy.username.as_deref(), Some(""));
    assert_eq!(legacy.password.as_deref(), Some(""));
    assert!(!legacy.registered);

    let with_form = xmpp_parsers::ibr::FormQuery::try_from(to_minidom(&only(&query, |c| {
        c.is("instructions", ns::REGISTER) || c.ns() == ns::DATA_FORMS
    })))
    .unwrap_or_else(|e| panic!("xmpp-parsers rejects the form part: {e:?}"));
    let form = with_form.form;
    assert_eq!(form.type_, DataFormType::Form);
    assert_eq!(form.form_type(), Some("jabber:iq:register"));
    let vars: Vec<_> = form.fields.iter().map(|f| f.var.as_deref()).collect();
    assert_eq!(
        vars,
        [Some("FORM_TYPE"), Some("username"), Some("password")]
    );
    assert_eq!(form.fields[1].type_, FieldType::TextSingle);
    assert_eq!(form.fields[2].type_, FieldType::TextPrivate);
    assert!(form.fields[1].required && form.fields[2].required);
}

#[test]
fn xmpp_parsers_reads_the_captcha_form() {
    let captcha = Captcha {
        sid: "reg1".into(),
        size: Some((150, 50)),
        ..Captcha::new("F3A6292C", png(), "example.org")
    };
    let query = registration_form(&FormSpec {
        instructions: "Fill in the form.".into(),
        captcha: Some(captcha.clone()),
        web_url: Some("https://example.org/register".into()),
        ..FormSpec::default()
    });

    let with_form = xmpp_parsers::ibr::FormQuery::try_from(to_minidom(&only(&query, |c| {
        c.is("instructions", ns::REGISTER) || c.ns() == ns::DATA_FORMS
    })))
    .unwrap_or_else(|e| panic!("xmpp-parsers rejects the form part: {e:?}"));
    assert_eq!(with_form.instructions.as_deref(), Some("Fill in the form."));
    let form = with_form.form;
    assert_eq!(form.form_type(), Some("urn:xmpp:captcha"));
    let field = |var: &str| -> &TheirField {
        form.fields
            .iter()
            .find(|f| f.var.as_deref() == Some(var))
            .unwrap_or_else(|| panic!("no {var} field"))
    };
    assert_eq!(field("challenge").values, ["F3A6292C"]);
    assert_eq!(field("from").values, ["example.org"]);
    assert_eq!(field("sid").values, ["reg1"]);
    assert_eq!(field("challenge").type_, FieldType::Hidden);
    let ocr = field("ocr");
    assert!(ocr.required);
    assert_eq!(ocr.media.len(), 1);
    assert_eq!(
        (ocr.media[0].width, ocr.media[0].height),
        (Some(150), Some(50))
    );
    let uris: Vec<_> = ocr.media[0].uris.iter().map(|u| u.uri.clone()).collect();
    assert_eq!(uris, [format!("cid:{}", captcha.cid()), captcha.data_uri()]);
    assert!(ocr.media[0].uris.iter().all(|u| u.type_ == "image/png"));

    let data = query.get_child("data", ns::BOB).expect("bob data");
    let data = xmpp_parsers::bob::Data::try_from(to_minidom(data))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects our bob data: {e:?}"));
    assert_eq!(data.data, png());
    assert_eq!(data.max_age, Some(0));
    assert_eq!(data.type_.as_deref(), Some("image/png"));
    let their_cid = minidom::Element::from(data.clone())
        .attr("cid")
        .map(str::to_owned);
    assert_eq!(their_cid, Some(captcha.cid()));

    let oob = query.get_child("x", ns::OOB).expect("oob");
    let oob = xmpp_parsers::oob::Oob::try_from(to_minidom(oob))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects our oob: {e:?}"));
    assert_eq!(oob.url, "https://example.org/register");

    // With a CAPTCHA, no legacy fields: the legacy reading has only the instructions.
    let legacy = xmpp_parsers::ibr::LegacyQuery::try_from(to_minidom(&only(&query, |c| {
        c.ns() == ns::REGISTER
    })))
    .unwrap_or_else(|e| panic!("xmpp-parsers rejects the legacy part: {e:?}"));
    assert_eq!(legacy.username, None);
    assert_eq!(legacy.password, None);
}

#[test]
fn xmpp_parsers_reads_the_registered_answer() {
    let legacy = xmpp_parsers::ibr::LegacyQuery::try_from(to_minidom(&registered_answer("juliet")))
        .unwrap_or_else(|e| panic!("xmpp-parsers rejects it: {e:?}"));
    assert!(legacy.registered);
    assert_eq!(legacy.username.as_deref(), Some("juliet"));
    assert_eq!(legacy.password.as_deref(), Some(""));
}

#[test]
fn we_read_what_xmpp_parsers_writes() {
    use xmpp_parsers::ibr::{FieldsQuery, FormQuery, LegacyQuery, RemoveQuery};

    let get = from_minidom(&minidom::Element::from(FieldsQuery));
    assert_eq!(
        RegisterRequest::parse(IqType::Get, &get),
        Ok(RegisterRequest::FormRequest)
    );

    let remove = from_minidom(&minidom::Element::from(RemoveQuery { remove: true }));
    assert_eq!(
        RegisterRequest::parse(IqType::Set, &remove),
        Ok(RegisterRequest::Remove)
    );

    let legacy = from_minidom(&minidom::Element::from(LegacyQuery {
        username: Some("bill".into()),
        password: Some("Calliope".into()),
        email: Some("bard@shakespeare.lit".into()),
        ..LegacyQuery::default()
    }));
    let Ok(RegisterRequest::Submit(s)) = RegisterRequest::parse(IqType::Set, &legacy) else {
        panic!("not a submission: {legacy}");
    };
    assert_eq!(s.credentials(), Ok(("bill", "Calliope")));
    assert_eq!(s.field("email"), Some("bard@shakespeare.lit"));

    let form = DataForm::new(
        DataFormType::Submit,
        "urn:xmpp:captcha",
        vec![
            TheirField::text_single("challenge", "F3A6292C"),
            TheirField::text_single("sid", ""),
            TheirField::text_single("ocr", "7nHL3"),
            TheirField::text_single("username", "bill"),
            TheirField::new("password", FieldType::TextPrivate).with_value("Calliope"),
        ],
    );
    let query = from_minidom(&minidom::Element::from(FormQuery {
        instructions: None,
        form,
    }));
    let Ok(RegisterRequest::Submit(s)) = RegisterRequest::parse(IqType::Set, &query) else {
        panic!("not a submission: {query}");
    };
    assert_eq!(s.form_type(), Some(ns::CAPTCHA));
    assert_eq!(s.credentials(), Ok(("bill", "Calliope")));
    assert_eq!(
        s.captcha_answer(),
        Some(CaptchaAnswer {
            challenge: "F3A6292C",
            sid: Some(""),
            answer: "7nHL3"
        })
    );
}

// --- never panic ----------------------------------------------------------------------------

const NAMES: &[&str] = &[
    "query",
    "username",
    "password",
    "email",
    "remove",
    "registered",
    "instructions",
    "x",
    "field",
    "value",
    "option",
    "required",
    "desc",
    "title",
    "reported",
    "item",
    "media",
    "uri",
    "data",
    "url",
    "bogus",
];

const NAMESPACES: &[&str] = &[
    ns::REGISTER,
    ns::DATA_FORMS,
    ns::MEDIA_ELEMENT,
    ns::BOB,
    ns::OOB,
    "urn:example",
];

const ATTRS: &[&str] = &["type", "var", "label", "width", "height", "cid"];

const VALUES: &[&str] = &[
    "form",
    "submit",
    "cancel",
    "result",
    "hidden",
    "text-single",
    "text-private",
    "list-single",
    "list-multi",
    "jid-multi",
    "fixed",
    "FORM_TYPE",
    "username",
    "password",
    "ocr",
    "challenge",
    "urn:xmpp:captcha",
    "jabber:iq:register",
    "80",
    "-1",
    "",
    "x",
];

fn leaf() -> impl Strategy<Value = Element> {
    (
        proptest::sample::select(NAMES),
        proptest::sample::select(NAMESPACES),
        proptest::collection::vec(
            (
                proptest::sample::select(ATTRS),
                proptest::sample::select(VALUES),
            ),
            0..3,
        ),
        proptest::option::of(prop_oneof![
            proptest::sample::select(VALUES).prop_map(str::to_owned),
            Just(" \n ".to_owned()),
            ".{0,8}",
        ]),
    )
        .prop_map(|(name, ns, attrs, text)| {
            let mut el = Element::new(name, ns);
            for (a, v) in attrs {
                el.set_attr(a, v);
            }
            if let Some(t) = text {
                el.append_text(t);
            }
            el
        })
}

fn tree() -> impl Strategy<Value = Element> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        (leaf(), proptest::collection::vec(inner, 0..6)).prop_map(|(mut el, children)| {
            for c in children {
                el.append_child(c);
            }
            el
        })
    })
}

fn query() -> impl Strategy<Value = Element> {
    proptest::collection::vec(tree(), 0..6).prop_map(|children| {
        let mut q = Element::new("query", ns::REGISTER);
        for c in children {
            q.append_child(c);
        }
        q
    })
}

/// A field that is often valid: a known var and type, a few values, maybe options, media.
fn plausible_field() -> impl Strategy<Value = Element> {
    (
        proptest::option::of(proptest::sample::select(&VALUES[11..16])),
        proptest::option::of(proptest::sample::select(&VALUES[4..11])),
        proptest::collection::vec(proptest::sample::select(VALUES), 0..2),
        proptest::collection::vec(proptest::sample::select(VALUES), 0..2),
        any::<bool>(),
        proptest::option::weighted(0.2, leaf()),
    )
        .prop_map(|(var, kind, values, options, required, extra)| {
            let mut f = Element::new("field", ns::DATA_FORMS);
            if let Some(v) = var {
                f.set_attr("var", v);
            }
            if let Some(k) = kind {
                f.set_attr("type", k);
            }
            if required {
                f.append_child(Element::new("required", ns::DATA_FORMS));
            }
            for v in values {
                f.append_child(Element::new("value", ns::DATA_FORMS).with_text(v));
            }
            for o in options {
                f.append_child(
                    Element::new("option", ns::DATA_FORMS)
                        .with_child(Element::new("value", ns::DATA_FORMS).with_text(o)),
                );
            }
            if let Some(e) = extra {
                f.append_child(e);
            }
            f
        })
}

/// A query that is often valid: legacy fields, a data form, sometimes `<remove/>`.
fn plausible_query() -> impl Strategy<Value = Element> {
    (
        proptest::collection::vec(
            (
                proptest::sample::select(&NAMES[1..7]),
                proptest::sample::select(VALUES),
            ),
            0..4,
        ),
        proptest::option::of((
            proptest::sample::select(&VALUES[0..4]),
            proptest::collection::vec(plausible_field(), 0..4),
        )),
        proptest::option::weighted(0.2, tree()),
    )
        .prop_map(|(legacy, form, extra)| {
            let mut q = Element::new("query", ns::REGISTER);
            for (name, value) in legacy {
                q.append_child(Element::new(name, ns::REGISTER).with_text(value));
            }
            if let Some((kind, fields)) = form {
                let mut x = Element::new("x", ns::DATA_FORMS).with_attr("type", kind);
                for f in fields {
                    x.append_child(f);
                }
                q.append_child(x);
            }
            if let Some(e) = extra {
                q.append_child(e);
            }
            q
        })
}

/// Every element of a tree, depth first.
fn walk<'a>(el: &'a Element, out: &mut Vec<&'a Element>) {
    out.push(el);
    for c in el.children() {
        walk(c, out);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(query in prop_oneof![query(), plausible_query()]) {
        for t in [IqType::Get, IqType::Set, IqType::Result, IqType::Error] {
            if let Ok(RegisterRequest::Submit(s)) = RegisterRequest::parse(t, &query) {
                let _ = (s.username(), s.password(), s.form_type(), s.captcha_answer());
                let _ = (s.credentials(), s.field("ocr"), s.field("email"));
                if let Some(f) = s.form() {
                    let back = Form::from_element(&f.to_element());
                    prop_assert_eq!(back.as_ref(), Ok(f));
                }
            }
        }
        let mut all = Vec::new();
        walk(&query, &mut all);
        for el in all {
            // Whatever is read is written back the same.
            if let Ok(form) = Form::from_element(el) {
                prop_assert_eq!(Form::from_element(&form.to_element()), Ok(form));
            }
            if let Ok(media) = Media::from_element(el) {
                prop_assert_eq!(Media::from_element(&media.to_element()), Ok(media));
            }
        }
    }

    #[test]
    fn usernames_normalise_to_fixed_points(name in "\\PC{0,12}") {
        if let Ok(normalised) = check_username(&name) {
            let again = check_username(&normalised);
            prop_assert_eq!(again.as_deref(), Ok(normalised.as_str()));
            prop_assert!(is_reserved(&name, std::slice::from_ref(&normalised)));
        }
    }

    #[test]
    fn passwords_never_panic(password in any::<String>(), min in -10.0f64..200.0) {
        let bits = password_entropy_bits(&password);
        prop_assert!(bits.is_finite() && bits >= 0.0);
        let _ = check_password(&password, min);
    }
}
