//! Data forms: the XEP examples, every error path, and round trips.

use proptest::prelude::*;

use super::*;

fn parse(xml: &str) -> Element {
    match xml.parse() {
        Ok(el) => el,
        Err(e) => panic!("test XML does not parse: {e}: {xml}"),
    }
}

fn form(xml: &str) -> Result<Form, FormError> {
    Form::from_element(&parse(xml))
}

fn x(inner: &str) -> String {
    format!("<x xmlns='jabber:x:data' type='form'>{inner}</x>")
}

// --- the XEP examples -------------------------------------------------------------------

/// XEP-0077 §3.1, "Host Returns Registration Form to Entity".
const XEP_0077_FORM: &str = "<x xmlns='jabber:x:data' type='form'>
      <title>Contest Registration</title>
      <instructions>
        Please provide the following information
        to sign up for our special contests!
      </instructions>
      <field type='hidden' var='FORM_TYPE'>
        <value>jabber:iq:register</value>
      </field>
      <field type='text-single' label='Given Name' var='first'>
        <required/>
      </field>
      <field type='text-single' label='Family Name' var='last'>
        <required/>
      </field>
      <field type='text-single' label='Email Address' var='email'>
        <required/>
      </field>
      <field type='list-single' label='Gender' var='x-gender'>
        <option label='Male'><value>M</value></option>
        <option label='Female'><value>F</value></option>
      </field>
    </x>";

#[test]
fn reads_the_xep_0077_form() {
    let f = form(XEP_0077_FORM).expect("valid form");
    assert_eq!(f.kind, FormKind::Form);
    assert_eq!(f.title.as_deref(), Some("Contest Registration"));
    assert_eq!(f.instructions.len(), 1);
    assert_eq!(f.form_type(), Some("jabber:iq:register"));
    assert_eq!(f.fields.len(), 5);
    let first = f.field("first").expect("first");
    assert_eq!(first.kind, Some(FieldType::TextSingle));
    assert_eq!(first.label.as_deref(), Some("Given Name"));
    assert!(first.required);
    assert!(first.values.is_empty());
    let gender = f.field("x-gender").expect("gender");
    assert_eq!(
        gender.options,
        vec![
            FieldOption {
                label: Some("Male".into()),
                value: "M".into()
            },
            FieldOption {
                label: Some("Female".into()),
                value: "F".into()
            },
        ]
    );
    assert_eq!(f.value("first"), None);
    assert_eq!(f.value("nope"), None);
    // Written back, it is the same form.
    assert_eq!(Form::from_element(&f.to_element()), Ok(f));
}

#[test]
fn reads_the_xep_0077_submission() {
    let f = form(
        "<x xmlns='jabber:x:data' type='submit'>
          <field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>
          <field type='text-single' label='Given Name' var='first'><value>Juliet</value></field>
          <field type='text-single' label='Family Name' var='last'><value>Capulet</value></field>
          <field type='text-single' label='Email Address' var='email'>
            <value>juliet@capulet.com</value>
          </field>
          <field type='list-single' label='Gender' var='x-gender'><value>F</value></field>
        </x>",
    )
    .expect("valid");
    assert_eq!(f.kind, FormKind::Submit);
    assert_eq!(f.value("first"), Some("Juliet"));
    assert_eq!(f.value("email"), Some("juliet@capulet.com"));
    assert_eq!(f.value("x-gender"), Some("F"));
}

/// XEP-0158 §3.2 (the IBR variant of §4 without the oob part): untyped fields with a media
/// element inside.
#[test]
fn reads_the_xep_0158_captcha_form() {
    let f = form(
        "<x xmlns='jabber:x:data' type='form'>
          <field type='hidden' var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>
          <field type='hidden' var='challenge'><value>F3A6292C</value></field>
          <field type='hidden' var='sid'><value>reg1</value></field>
          <field type='hidden' var='answers'><value>3</value></field>
          <field var='ocr' label='Enter the text you see'>
            <media xmlns='urn:xmpp:media-element' height='80' width='290'>
              <uri type='image/jpeg'>
                http://www.victim.com/challenges/ocr.jpeg?F3A6292C
              </uri>
            </media>
          </field>
          <field label='93C7A' type='text-single' var='SHA-256'/>
          <field type='text-single' var='username'><required/></field>
          <field type='text-private' var='password'><required/></field>
        </x>",
    )
    .expect("valid");
    assert_eq!(f.form_type(), Some("urn:xmpp:captcha"));
    let ocr = f.field("ocr").expect("ocr");
    assert_eq!(ocr.kind, None);
    assert_eq!(ocr.effective_type(), FieldType::TextSingle);
    let media = Media::from_element(ocr.media().expect("media")).expect("valid media");
    assert_eq!(
        media,
        Media {
            width: Some(290),
            height: Some(80),
            uris: vec![MediaUri {
                mime: "image/jpeg".into(),
                uri: "http://www.victim.com/challenges/ocr.jpeg?F3A6292C".into()
            }]
        }
    );
    assert_eq!(
        f.field("password").map(Field::effective_type),
        Some(FieldType::TextPrivate)
    );
}

/// XEP-0158 §4, the submission: `FORM_TYPE` without a type counts in a submitted form.
#[test]
fn form_type_rules_of_xep_0068() {
    let submit = form(
        "<x xmlns='jabber:x:data' type='submit'>
           <field var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>
           <field var='ocr'><value>7nHL3</value></field>
         </x>",
    )
    .expect("valid");
    assert_eq!(submit.form_type(), Some("urn:xmpp:captcha"));
    assert_eq!(submit.value("ocr"), Some("7nHL3"));

    // In a form, only a hidden FORM_TYPE counts; a visible one is an ordinary field.
    let visible = form(&x(
        "<field var='FORM_TYPE' type='text-single'><value>a</value></field>",
    ))
    .expect("valid");
    assert_eq!(visible.form_type(), None);
    assert_eq!(visible.value(FORM_TYPE), Some("a"));
    // …and one without a type neither.
    let untyped = form(&x("<field var='FORM_TYPE'><value>a</value></field>")).expect("valid");
    assert_eq!(untyped.form_type(), None);

    let cancel = form(
        "<x xmlns='jabber:x:data' type='cancel'>\
           <field var='FORM_TYPE' type='hidden'><value>a</value></field></x>",
    )
    .expect("valid");
    assert_eq!(cancel.form_type(), None);
    assert_eq!(form(&x("")).map(|f| f.form_type().is_none()), Ok(true));
}

#[test]
fn keeps_values_exactly() {
    // A password's spaces are part of it.
    let f = form(&x(
        "<field var='p' type='text-private'><value>  two  words </value></field>",
    ))
    .expect("valid");
    assert_eq!(f.value("p"), Some("  two  words "));
    let f = form(&x("<field var='p'><value/></field>")).expect("valid");
    assert_eq!(f.value("p"), Some(""));
}

#[test]
fn multi_valued_types_take_several_values() {
    for kind in FieldType::ALL {
        let xml = x(&format!(
            "<field var='v' type='{}'><value>a</value><value>b</value></field>",
            kind.as_str()
        ));
        let result = form(&xml);
        if kind.is_multi() {
            assert_eq!(result.map(|f| f.fields[0].values.len()), Ok(2), "{kind:?}");
        } else {
            assert_eq!(
                result,
                Err(FormError::TooManyValues("v".into())),
                "{kind:?}"
            );
        }
    }
    // Without a type the submitter may still send several (a list-multi answer).
    let f = form(
        "<x xmlns='jabber:x:data' type='submit'>\
           <field var='v'><value>a</value><value>b</value></field></x>",
    )
    .expect("valid");
    assert_eq!(f.fields[0].values, vec!["a".to_owned(), "b".to_owned()]);
}

#[test]
fn field_types_round_trip_their_names() {
    for kind in FieldType::ALL {
        assert_eq!(FieldType::parse(kind.as_str()), Ok(kind));
    }
    for kind in FormKind::ALL {
        assert_eq!(FormKind::parse(kind.as_str()), Ok(kind));
    }
}

#[test]
fn fixed_fields_need_no_var() {
    let f = form(&x("<field type='fixed'><value>Section 1</value></field>")).expect("valid");
    assert_eq!(f.fields[0].var, None);
    assert_eq!(f.fields[0].value(), Some("Section 1"));
}

#[test]
fn foreign_children_are_kept_in_fields_and_skipped_in_forms() {
    let f = form(&x(
        "<page xmlns='http://jabber.org/protocol/xdata-layout'/>\
         <field var='d'><validate xmlns='http://jabber.org/protocol/xdata-validate' \
         datatype='xs:date'/></field>",
    ))
    .expect("valid");
    assert_eq!(f.fields.len(), 1);
    assert_eq!(f.fields[0].payloads.len(), 1);
    assert_eq!(f.fields[0].media(), None);
    assert_eq!(Form::from_element(&f.to_element()), Ok(f));
}

// --- every error ------------------------------------------------------------------------

#[test]
fn errors() {
    let cases: Vec<(String, FormError)> = vec![
        (
            "<x xmlns='jabber:x:oob'/>".into(),
            FormError::WrongElement {
                expected: "x",
                name: "x".into(),
                ns: "jabber:x:oob".into(),
            },
        ),
        (
            "<form xmlns='jabber:x:data' type='form'/>".into(),
            FormError::WrongElement {
                expected: "x",
                name: "form".into(),
                ns: "jabber:x:data".into(),
            },
        ),
        ("<x xmlns='jabber:x:data'/>".into(), FormError::MissingType),
        (
            "<x xmlns='jabber:x:data' type='coucou'/>".into(),
            FormError::UnknownType("coucou".into()),
        ),
        (
            x("<field var='a' type='text-secret'/>"),
            FormError::UnknownFieldType("text-secret".into()),
        ),
        (x("<field type='text-single'/>"), FormError::MissingVar),
        (x("<field/>"), FormError::MissingVar),
        (
            x("<field var='a'/><field var='b'/><field var='a'/>"),
            FormError::DuplicateVar("a".into()),
        ),
        (
            x("<title>a</title><title>b</title>"),
            FormError::DuplicateChild {
                parent: "x",
                child: "title",
            },
        ),
        (
            x("<title><b/></title>"),
            FormError::UnexpectedChild {
                parent: "title",
                child: "b".into(),
            },
        ),
        (
            x("<instructions>a<b/></instructions>"),
            FormError::UnexpectedChild {
                parent: "instructions",
                child: "b".into(),
            },
        ),
        (
            x("stray text"),
            FormError::UnexpectedChild {
                parent: "x",
                child: "#text".into(),
            },
        ),
        (
            x("<coucou/>"),
            FormError::UnexpectedChild {
                parent: "x",
                child: "coucou".into(),
            },
        ),
        (
            "<x xmlns='jabber:x:data' type='result'><reported><field var='a'/></reported></x>"
                .into(),
            FormError::Unsupported("reported"),
        ),
        (
            "<x xmlns='jabber:x:data' type='result'><item><field var='a'/></item></x>".into(),
            FormError::Unsupported("item"),
        ),
        (
            x("<field var='a'>text</field>"),
            FormError::UnexpectedChild {
                parent: "field",
                child: "#text".into(),
            },
        ),
        (
            x("<field var='a'><media/></field>"),
            FormError::UnexpectedChild {
                parent: "field",
                child: "media".into(),
            },
        ),
        (
            x("<field var='a'><desc>1</desc><desc>2</desc></field>"),
            FormError::DuplicateChild {
                parent: "field",
                child: "desc",
            },
        ),
        (
            x("<field var='a'><required/><required/></field>"),
            FormError::DuplicateChild {
                parent: "field",
                child: "required",
            },
        ),
        (
            x("<field var='a'><required>yes</required></field>"),
            FormError::RequiredNotEmpty,
        ),
        (
            x("<field var='a'><required><x/></required></field>"),
            FormError::RequiredNotEmpty,
        ),
        (
            x("<field var='a'><value><b/></value></field>"),
            FormError::UnexpectedChild {
                parent: "value",
                child: "b".into(),
            },
        ),
        (
            x("<field var='a' type='text-single'><value>1</value><value>2</value></field>"),
            FormError::TooManyValues("a".into()),
        ),
        (
            x("<field var='a' type='text-single'><option><value>1</value></option></field>"),
            FormError::OptionsNotAllowed("a".into()),
        ),
        (
            x("<field var='a'><option><value>1</value></option></field>"),
            FormError::OptionsNotAllowed("a".into()),
        ),
        (
            x("<field var='a' type='list-single'><option label='x'/></field>"),
            FormError::BadOption,
        ),
        (
            x("<field var='a' type='list-single'>\
               <option><value>1</value><value>2</value></option></field>"),
            FormError::BadOption,
        ),
        (
            x("<field var='a' type='list-single'><option><desc/></option></field>"),
            FormError::UnexpectedChild {
                parent: "option",
                child: "desc".into(),
            },
        ),
        (
            x("<field var='a' type='list-single'><option>1</option></field>"),
            FormError::UnexpectedChild {
                parent: "option",
                child: "#text".into(),
            },
        ),
        (
            x("<field var='a' type='list-multi'>\
               <option><value>1</value></option><option><value>1</value></option></field>"),
            FormError::DuplicateOption("a".into()),
        ),
        (
            x(
                "<field var='a' type='list-multi'><option label='One'><value>1</value></option>\
               <option label='One'><value>2</value></option></field>",
            ),
            FormError::DuplicateOption("a".into()),
        ),
        (
            x("<field var='FORM_TYPE' type='hidden'/>"),
            FormError::FormTypeValues,
        ),
        (
            x("<field var='FORM_TYPE' type='hidden'><value>a</value><value>b</value></field>"),
            FormError::FormTypeValues,
        ),
        (
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'/></x>".into(),
            FormError::FormTypeValues,
        ),
    ];
    for (xml, expected) in cases {
        assert_eq!(form(&xml), Err(expected), "{xml}");
    }
}

#[test]
fn unlabelled_options_may_share_no_label() {
    let f = form(&x(
        "<field var='a' type='list-multi'><option><value>1</value></option>\
         <option><value>2</value></option></field>",
    ))
    .expect("valid");
    assert_eq!(f.fields[0].options.len(), 2);
}

#[test]
fn media_errors() {
    let media = |xml: &str| Media::from_element(&parse(xml));
    let m = |inner: &str, attrs: &str| {
        format!("<media xmlns='urn:xmpp:media-element' {attrs}>{inner}</media>")
    };
    assert_eq!(
        media("<media xmlns='jabber:x:data'/>"),
        Err(FormError::WrongElement {
            expected: "media",
            name: "media".into(),
            ns: "jabber:x:data".into()
        })
    );
    assert_eq!(
        media(&m("", "width='wide'")),
        Err(FormError::InvalidMedia("size is not a number"))
    );
    assert_eq!(
        media(&m("", "height='-1'")),
        Err(FormError::InvalidMedia("size is not a number"))
    );
    assert_eq!(
        media(&m("<uri>cid:a@b</uri>", "")),
        Err(FormError::InvalidMedia("a uri has no type"))
    );
    assert_eq!(
        media(&m("<uri type='image/png'> </uri>", "")),
        Err(FormError::InvalidMedia("a uri is empty"))
    );
    assert_eq!(
        media(&m("<uri type='image/png'><b/></uri>", "")),
        Err(FormError::InvalidMedia("a uri holds an element"))
    );
    assert_eq!(
        media(&m("<size/>", "")),
        Err(FormError::UnexpectedChild {
            parent: "media",
            child: "size".into()
        })
    );
    assert_eq!(
        media(&m("text", "")),
        Err(FormError::UnexpectedChild {
            parent: "media",
            child: "#text".into()
        })
    );
    // An old-style BoB <data/> inside is skipped.
    assert_eq!(
        media(&m(
            "<uri type='image/png'>cid:a@b</uri><data xmlns='urn:xmpp:bob'/>",
            ""
        )),
        Ok(Media::default().with_uri("image/png", "cid:a@b"))
    );
}

#[test]
fn errors_have_human_texts() {
    assert_eq!(
        FormError::TooManyValues("a".into()).to_string(),
        "field `a` has more than one value"
    );
    assert_eq!(
        FormError::WrongElement {
            expected: "x",
            name: "y".into(),
            ns: "z".into()
        }
        .to_string(),
        "expected <x/>, found <y/> in `z`"
    );
}

// --- against xmpp-parsers -----------------------------------------------------------------

fn to_minidom(el: &Element) -> xmpp_parsers::minidom::Element {
    match el.to_string().parse() {
        Ok(m) => m,
        Err(e) => panic!("minidom rejects {el}: {e}"),
    }
}

#[test]
fn xmpp_parsers_reads_our_forms() {
    use xmpp_parsers::data_forms::{DataForm, DataFormType, FieldType as TheirType};
    let ours = form(XEP_0077_FORM).expect("valid");
    let theirs = match DataForm::try_from(to_minidom(&ours.to_element())) {
        Ok(f) => f,
        Err(e) => panic!("xmpp-parsers rejects our form: {e:?}"),
    };
    assert_eq!(theirs.type_, DataFormType::Form);
    assert_eq!(theirs.form_type(), Some("jabber:iq:register"));
    assert_eq!(theirs.title.as_deref(), Some("Contest Registration"));
    assert_eq!(theirs.fields.len(), ours.fields.len());
    let gender = &theirs.fields[4];
    assert_eq!(gender.type_, TheirType::ListSingle);
    assert_eq!(gender.options.len(), 2);
    assert!(theirs.fields[1].required);

    let media = Media {
        width: Some(290),
        height: Some(80),
        uris: vec![MediaUri {
            mime: "image/png".into(),
            uri: "cid:sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org".into(),
        }],
    };
    let with_media = Form::new(FormKind::Form).with_field(
        Field::new("ocr", FieldType::TextSingle)
            .with_label("Enter the text you see")
            .with_payload(media.to_element()),
    );
    let theirs = match DataForm::try_from(to_minidom(&with_media.to_element())) {
        Ok(f) => f,
        Err(e) => panic!("xmpp-parsers rejects our form: {e:?}"),
    };
    let their_media = &theirs.fields[0].media;
    assert_eq!(their_media.len(), 1);
    assert_eq!(their_media[0].width, Some(290));
    assert_eq!(their_media[0].height, Some(80));
    assert_eq!(their_media[0].uris[0].uri, media.uris[0].uri);
}

// --- round trips --------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> + Clone {
    // Anything a Rust string holds; the tree does not serialise here, so no XML rule applies.
    any::<String>()
}

fn xml_text() -> impl Strategy<Value = String> + Clone {
    // What survives serialisation unchanged: no control characters, no CR (XML parsers
    // normalise line ends).
    "[a-zA-Z0-9 <>&'\"éß€😀\n\t]{0,12}"
}

fn media_strategy() -> impl Strategy<Value = Media> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(
            ("[a-z]{1,5}/[a-z]{1,5}", "[a-z]{1,5}:[a-zA-Z0-9@+]{1,20}"),
            0..3,
        ),
    )
        .prop_map(|(width, height, uris)| Media {
            width,
            height,
            uris: uris
                .into_iter()
                .map(|(mime, uri)| MediaUri { mime, uri })
                .collect(),
        })
}

fn field_strategy(
    text: impl Strategy<Value = String> + Clone + 'static,
) -> impl Strategy<Value = Field> {
    let kind = proptest::option::of(proptest::sample::select(FieldType::ALL.to_vec()));
    (
        kind,
        proptest::option::of(text.clone()),
        proptest::option::of(text.clone()),
        any::<bool>(),
        proptest::collection::vec(text.clone(), 0..3),
        proptest::collection::btree_map(text.clone(), proptest::option::of("[a-z ]{0,6}"), 0..3),
        proptest::option::of(media_strategy()),
        any::<bool>(),
    )
        .prop_map(
            |(kind, label, desc, required, mut values, options, media, has_var)| {
                let effective = kind.unwrap_or(FieldType::TextSingle);
                if kind.is_some_and(|k| !k.is_multi()) {
                    values.truncate(1);
                }
                let options = if kind.is_some_and(FieldType::is_list) {
                    options
                        .into_iter()
                        .enumerate()
                        .map(|(i, (value, label))| FieldOption {
                            label: label.map(|l| format!("{i}:{l}")),
                            value,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                Field {
                    // The var is set by the form strategy; only fixed fields may lack one.
                    var: (has_var || effective != FieldType::Fixed).then(String::new),
                    kind,
                    label,
                    desc,
                    required,
                    values,
                    options,
                    payloads: media.map(|m| m.to_element()).into_iter().collect(),
                }
            },
        )
}

fn form_strategy(
    text: impl Strategy<Value = String> + Clone + 'static,
) -> impl Strategy<Value = Form> {
    (
        proptest::sample::select(FormKind::ALL.to_vec()),
        proptest::option::of(text.clone()),
        proptest::collection::vec(text.clone(), 0..3),
        proptest::collection::vec(field_strategy(text), 0..6),
        proptest::option::of("[a-z:]{1,20}"),
    )
        .prop_map(|(kind, title, instructions, mut fields, form_type)| {
            for (i, f) in fields.iter_mut().enumerate() {
                if f.var.is_some() {
                    f.var = Some(format!("f{i}"));
                }
            }
            let mut form = match form_type {
                Some(t) if kind != FormKind::Cancel => Form::with_form_type(kind, &t),
                _ => Form::new(kind),
            };
            form.title = title;
            form.instructions = instructions;
            form.fields.extend(fields);
            form
        })
}

proptest! {
    #[test]
    fn element_round_trip(form in form_strategy(text())) {
        prop_assert_eq!(Form::from_element(&form.to_element()), Ok(form));
    }

    #[test]
    fn serialised_round_trip(form in form_strategy(xml_text())) {
        let xml = form.to_element().to_string();
        let el: Element = xml.parse().map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
        prop_assert_eq!(Form::from_element(&el), Ok(form));
    }

    #[test]
    fn media_round_trip(media in media_strategy()) {
        prop_assert_eq!(Media::from_element(&media.to_element()), Ok(media));
    }
}
