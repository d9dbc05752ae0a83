//! RFC 7622 JIDs through the public API: the RFC's own examples, the PRECIS cases that set
//! RFC 7622 apart from RFC 6122, the length limits, the conversions, and properties over
//! arbitrary input.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use xmpp_core::jid::{BareJid, DomainViolation, FullJid, Jid, JidError, ProfileViolation};

fn parse(s: &str) -> Jid {
    Jid::new(s).unwrap_or_else(|e| panic!("{s:?} should be a valid JID: {e}"))
}

fn parts(jid: &Jid) -> (Option<&str>, &str, Option<&str>) {
    (jid.localpart(), jid.domain(), jid.resource())
}

// --- RFC 7622 §3.5 -----------------------------------------------------------------------

#[test]
fn rfc7622_valid_examples() {
    let cases: &[(&str, Option<&str>, &str, Option<&str>)] = &[
        ("juliet@example.com", Some("juliet"), "example.com", None),
        (
            "juliet@example.com/foo",
            Some("juliet"),
            "example.com",
            Some("foo"),
        ),
        (
            "juliet@example.com/foo bar",
            Some("juliet"),
            "example.com",
            Some("foo bar"),
        ),
        (
            "juliet@example.com/foo@bar",
            Some("juliet"),
            "example.com",
            Some("foo@bar"),
        ),
        (
            "foo\\20bar@example.com",
            Some("foo\\20bar"),
            "example.com",
            None,
        ),
        (
            "fussball@example.com",
            Some("fussball"),
            "example.com",
            None,
        ),
        ("fußball@example.com", Some("fußball"), "example.com", None),
        ("π@example.com", Some("π"), "example.com", None),
        // UsernameCaseMapped lowercases the capital sigma ...
        ("Σ@example.com/foo", Some("σ"), "example.com", Some("foo")),
        ("σ@example.com/foo", Some("σ"), "example.com", Some("foo")),
        // ... but does not case-fold the final sigma into σ.
        ("ς@example.com/foo", Some("ς"), "example.com", Some("foo")),
        ("king@example.com/♚", Some("king"), "example.com", Some("♚")),
        ("example.com", None, "example.com", None),
        ("example.com/foobar", None, "example.com", Some("foobar")),
        (
            "a.example.com/b@example.net",
            None,
            "a.example.com",
            Some("b@example.net"),
        ),
    ];
    for &(input, local, domain, resource) in cases {
        let jid = parse(input);
        assert_eq!(parts(&jid), (local, domain, resource), "{input}");
    }
}

#[test]
fn rfc7622_examples_keep_distinct_identities_apart() {
    assert_eq!(parse("Σ@example.com/foo"), parse("σ@example.com/foo"));
    assert_ne!(parse("ς@example.com/foo"), parse("σ@example.com/foo"));
    assert_ne!(parse("fußball@example.com"), parse("fussball@example.com"));
}

#[test]
fn rfc7622_invalid_examples() {
    use ProfileViolation::{Codepoint, JidSpecial};
    let cases: &[(&str, JidError)] = &[
        // Quotation marks are one of the §3.3.1 additions to UsernameCaseMapped.
        (
            "\"juliet\"@example.com",
            JidError::LocalpartProhibited(JidSpecial('"')),
        ),
        // The IdentifierClass has no spaces.
        (
            "foo bar@example.com",
            JidError::LocalpartProhibited(Codepoint(' ')),
        ),
        // Zero-length localpart (and resourcepart): the localpart is reported first.
        ("@example.com/", JidError::EmptyLocalpart),
        // ROMAN NUMERAL FOUR has a compatibility decomposition.
        (
            "henryⅣ@example.com",
            JidError::LocalpartProhibited(Codepoint('Ⅳ')),
        ),
        // BLACK CHESS KING is a symbol: fine in a resourcepart, not in a localpart.
        (
            "♚@example.com",
            JidError::LocalpartProhibited(Codepoint('♚')),
        ),
        ("juliet@", JidError::EmptyDomain),
        ("/foobar", JidError::EmptyDomain),
    ];
    for (input, error) in cases {
        assert_eq!(Jid::new(input).as_ref(), Err(error), "{input}");
    }
}

/// RFC 7622's table lists this as invalid ("leading space in resourcepart"), but no rule of
/// RFC 7622 or of `OpaqueString` (RFC 8265 §4.2) forbids it; see the module documentation.
#[test]
fn rfc7622_leading_space_in_resourcepart_is_accepted() {
    let jid = parse("juliet@example.com/ foo");
    assert_eq!(jid.resource(), Some(" foo"));
    assert_ne!(jid, parse("juliet@example.com/foo"));
}

// --- The PRECIS cases of research/style.md §5.1 -------------------------------------------

#[test]
fn localpart_precis_mappings() {
    for (input, expected) in [
        ("ß", "ß"),
        ("Σίσυφος", "σίσυφος"),
        ("ＪＵＬＩＥＴ", "juliet"),
    ] {
        let jid = parse(&format!("{input}@example.org"));
        assert_eq!(jid.localpart(), Some(expected), "{input}");
    }
}

#[test]
fn localpart_precis_rejections() {
    for (input, violation) in [
        ("ǅ", ProfileViolation::Codepoint('ǅ')),
        ("ﬀ", ProfileViolation::Codepoint('ﬀ')),
        ("ⅷ", ProfileViolation::Codepoint('ⅷ')),
        ("Ⅳ", ProfileViolation::Codepoint('Ⅳ')),
        ("a\u{200d}b", ProfileViolation::Context(Some('\u{200d}'))),
    ] {
        assert_eq!(
            Jid::new(&format!("{input}@example.org")),
            Err(JidError::LocalpartProhibited(violation)),
            "{input:?}"
        );
    }
}

#[test]
fn resource_opaque_string_keeps_what_nodeprep_would_change() {
    for resource in ["balcony 🎭", "Ⅳ", "ﬀ", "Balcony"] {
        let jid = parse(&format!("juliet@example.org/{resource}"));
        assert_eq!(jid.resource(), Some(resource));
    }
    // Non-ASCII spaces become ASCII spaces.
    assert_eq!(parse("a@b.example/x\u{3000}y").resource(), Some("x y"));
    assert_eq!(
        Jid::new("a@b.example/x\u{0}"),
        Err(JidError::ResourceProhibited(ProfileViolation::Codepoint(
            '\u{0}'
        )))
    );
}

#[test]
fn domain_normalisation() {
    let cases = [
        ("Example.ORG", "example.org"),
        ("example.org.", "example.org"),
        ("XN--BCHER-KVA.example", "bücher.example"),
        ("BU\u{308}CHER.example", "bücher.example"),
        ("ＥＸＡＭＰＬＥ。com", "example.com"),
        ("faß.de", "faß.de"),
        ("localhost", "localhost"),
        ("ab--cd.example", "ab--cd.example"),
        ("192.0.2.1", "192.0.2.1"),
        ("[::1]", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        // UTS #46 is wider than IDNA2008 here: symbols pass (a few registries sell them).
        ("😀.example", "😀.example"),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(input).domain(), expected, "{input}");
        assert_eq!(parse(input), parse(expected), "{input}");
    }
}

#[test]
fn domain_rejections() {
    use DomainViolation::{EmptyLabel, Idna, IpLiteral, LabelTooLong, NumericTld};
    let long_label = "a".repeat(64);
    let cases: &[(&str, JidError)] = &[
        ("", JidError::EmptyDomain),
        (".", JidError::EmptyDomain),
        ("example.org..", JidError::DomainInvalid(EmptyLabel)),
        ("a..b", JidError::DomainInvalid(EmptyLabel)),
        (".example", JidError::DomainInvalid(EmptyLabel)),
        ("-a.example", JidError::DomainInvalid(Idna)),
        ("a-.example", JidError::DomainInvalid(Idna)),
        ("_xmpp.example", JidError::DomainInvalid(Idna)),
        ("a b.example", JidError::DomainInvalid(Idna)),
        ("example.com:5222", JidError::DomainInvalid(Idna)),
        ("xn--abc-.example", JidError::DomainInvalid(Idna)),
        ("a@b@example.com", JidError::DomainInvalid(Idna)),
        (&long_label, JidError::DomainInvalid(LabelTooLong)),
        ("[::1", JidError::DomainInvalid(IpLiteral)),
        ("[v1.x]", JidError::DomainInvalid(IpLiteral)),
        ("[::1%eth0]", JidError::DomainInvalid(IpLiteral)),
        ("[::1].", JidError::DomainInvalid(IpLiteral)),
        ("999.1.1.1", JidError::DomainInvalid(NumericTld)),
        ("01.2.3.4", JidError::DomainInvalid(NumericTld)),
        ("example.123", JidError::DomainInvalid(NumericTld)),
    ];
    for (input, error) in cases {
        assert_eq!(Jid::new(input).as_ref(), Err(error), "{input:?}");
    }
}

#[test]
fn domain_label_limit_counts_the_a_label() {
    // 57 × é is 61 octets as an A-label, 58 × é is 64.
    let ok = format!("{}.example", "é".repeat(57));
    assert_eq!(parse(&ok).domain(), ok);
    assert_eq!(
        Jid::new(&format!("{}.example", "é".repeat(58))),
        Err(JidError::DomainInvalid(DomainViolation::LabelTooLong))
    );
    let ascii = "a".repeat(63);
    assert_eq!(parse(&ascii).domain(), ascii);
}

// --- Length limits: 1023 bytes per part, after normalisation ---------------------------------

/// A valid domain of exactly `len` bytes, from 10-byte labels.
fn domain_of_len(len: usize) -> String {
    let mut s = String::new();
    while len - s.len() > 10 {
        s.push_str("aaaaaaaaa.");
    }
    s.push_str(&"b".repeat(len - s.len()));
    s
}

#[test]
fn localpart_limit() {
    let ok = "a".repeat(1023);
    assert_eq!(
        parse(&format!("{ok}@example.org")).localpart(),
        Some(ok.as_str())
    );
    let long = "a".repeat(1024);
    assert_eq!(
        Jid::new(&format!("{long}@example.org")),
        Err(JidError::LocalpartTooLong)
    );
    // Measured after normalisation: upper case ASCII and combining sequences.
    let upper = "A".repeat(1023);
    assert!(Jid::new(&format!("{upper}@example.org")).is_ok());
    let composed = format!("{}a", "e\u{301}".repeat(511));
    let jid = parse(&format!("{composed}@example.org"));
    assert_eq!(jid.localpart().map(str::len), Some(1023));
    assert_eq!(
        Jid::new(&format!("{}@example.org", "é".repeat(512))),
        Err(JidError::LocalpartTooLong)
    );
}

#[test]
fn domain_limit() {
    let ok = domain_of_len(1023);
    assert_eq!(parse(&ok).domain(), ok);
    assert_eq!(parse(&format!("{ok}.")).domain(), ok);
    assert_eq!(Jid::new(&domain_of_len(1024)), Err(JidError::DomainTooLong));
    let upper = domain_of_len(1023).to_uppercase();
    assert_eq!(parse(&upper).domain(), ok);
}

#[test]
fn resource_limit() {
    let ok = "r".repeat(1023);
    assert_eq!(
        parse(&format!("example.org/{ok}")).resource(),
        Some(ok.as_str())
    );
    let long = "r".repeat(1024);
    assert_eq!(
        Jid::new(&format!("example.org/{long}")),
        Err(JidError::ResourceTooLong)
    );
    let emoji = format!("{}abc", "😀".repeat(255));
    assert_eq!(
        parse(&format!("example.org/{emoji}"))
            .resource()
            .map(str::len),
        Some(1023)
    );
    assert_eq!(
        Jid::new(&format!("example.org/{}", "😀".repeat(256))),
        Err(JidError::ResourceTooLong)
    );
}

#[test]
fn longest_jid() {
    let s = format!(
        "{}@{}/{}",
        "a".repeat(1023),
        domain_of_len(1023),
        "r".repeat(1023)
    );
    assert_eq!(parse(&s).as_str().len(), 3071);
    let huge = "a".repeat(100_000);
    assert_eq!(
        Jid::new(&format!("{huge}@x.example")),
        Err(JidError::LocalpartTooLong)
    );
    assert_eq!(
        Jid::new(&format!("x.example/{huge}")),
        Err(JidError::ResourceTooLong)
    );
    assert_eq!(
        Jid::new(&huge),
        Err(JidError::DomainInvalid(DomainViolation::LabelTooLong))
    );
}

// --- Splitting (§3.1) ------------------------------------------------------------------------

#[test]
fn split_rules() {
    let jid = parse("a@b.example/c@d/e");
    assert_eq!(parts(&jid), (Some("a"), "b.example", Some("c@d/e")));
    let jid = parse("b.example//@");
    assert_eq!(parts(&jid), (None, "b.example", Some("/@")));
    assert_eq!(Jid::new("a@b.example/"), Err(JidError::EmptyResource));
    assert_eq!(Jid::new("@b.example"), Err(JidError::EmptyLocalpart));
    assert_eq!(Jid::new(""), Err(JidError::EmptyDomain));
}

// --- API ----------------------------------------------------------------------------------

#[test]
fn bare_and_full_constructors() {
    assert_eq!(
        BareJid::new("Juliet@Example.COM").map(|j| j.to_string()),
        Ok("juliet@example.com".into())
    );
    assert_eq!(
        BareJid::new("juliet@example.com/x"),
        Err(JidError::ResourcePresent)
    );
    assert_eq!(
        FullJid::new("juliet@example.com"),
        Err(JidError::ResourceMissing)
    );
    let full = FullJid::new("juliet@example.com/Balcony").expect("valid");
    assert_eq!(full.resource(), "Balcony");
    assert_eq!(full.localpart(), Some("juliet"));
    assert_eq!(full.domain(), "example.com");
    assert_eq!(full.bare_str(), "juliet@example.com");
}

#[test]
fn from_parts_normalises_each_part() {
    let jid =
        Jid::from_parts(Some("ＪＵＬＩＥＴ"), "Example.ORG.", Some("balcony 🎭")).expect("valid");
    assert_eq!(jid, parse("juliet@example.org/balcony 🎭"));
    assert_eq!(
        Jid::from_parts(Some(""), "example.org", None),
        Err(JidError::EmptyLocalpart)
    );
    assert_eq!(
        Jid::from_parts(None, "example.org", Some("")),
        Err(JidError::EmptyResource)
    );
    assert_eq!(
        Jid::from_parts(Some("a@b"), "example.org", None),
        Err(JidError::LocalpartProhibited(ProfileViolation::JidSpecial(
            '@'
        )))
    );
    assert_eq!(
        Jid::from_parts(None, "example.org/x", None),
        Err(JidError::DomainInvalid(DomainViolation::Idna))
    );
    // A resource given as a part may contain anything a resource may.
    let jid = Jid::from_parts(None, "example.org", Some("a/b@c")).expect("valid");
    assert_eq!(jid.resource(), Some("a/b@c"));
    assert_eq!(Jid::new(jid.as_str()), Ok(jid));
    let bare = BareJid::from_parts(Some("Romeo"), "Example.NET").expect("valid");
    assert_eq!(bare.as_str(), "romeo@example.net");
    let full = FullJid::from_parts(None, "example.net", "x").expect("valid");
    assert_eq!(full.as_str(), "example.net/x");
    assert_eq!(
        BareJid::from_domain("Example.NET.").map(|d| d.to_string()),
        Ok("example.net".into())
    );
}

#[test]
fn conversions() {
    let jid = parse("juliet@example.com/balcony");
    assert!(jid.is_full() && !jid.is_bare());
    let bare = jid.to_bare();
    assert_eq!(bare.as_str(), "juliet@example.com");
    assert_eq!(bare.domain_jid().as_str(), "example.com");
    assert_eq!(
        jid.domain_jid(),
        BareJid::from_domain("example.com").expect("valid")
    );

    let full = FullJid::try_from(jid.clone()).expect("full");
    assert_eq!(full, jid);
    assert_eq!(jid, full);
    assert_eq!(Jid::from(full.clone()), jid);
    assert_eq!(full.to_bare(), bare);
    assert_eq!(
        BareJid::try_from(jid.clone()),
        Err(JidError::ResourcePresent)
    );
    assert_eq!(
        FullJid::try_from(Jid::from(bare.clone())),
        Err(JidError::ResourceMissing)
    );
    assert_eq!(Jid::from(bare.clone()).try_into_full(), Err(bare.clone()));
    assert_eq!(jid.clone().try_into_full(), Ok(full.clone()));
    assert_eq!(jid.clone().into_bare(), bare);
    assert_eq!(full.as_jid(), &jid);
    assert_eq!(full.clone().into_jid(), jid);

    let other = bare.with_resource("Ｐhone\u{3000}2").expect("valid");
    assert_eq!(other.as_str(), "juliet@example.com/Ｐhone 2");
    assert_eq!(
        full.with_resource("x").map(|j| j.to_string()),
        Ok("juliet@example.com/x".into())
    );
    assert_eq!(jid.with_resource(""), Err(JidError::EmptyResource));
    let domain_only = parse("example.com");
    assert_eq!(domain_only.domain_jid(), domain_only);
    assert_eq!(
        domain_only.with_resource("r").map(|j| j.to_string()),
        Ok("example.com/r".into())
    );
}

#[test]
fn string_conversions() {
    let jid: Jid = "Juliet@Example.COM/Balcony".parse().expect("valid");
    assert_eq!(jid.to_string(), "juliet@example.com/Balcony");
    assert_eq!(format!("{jid:?}"), "Jid(\"juliet@example.com/Balcony\")");
    assert_eq!(Jid::try_from("juliet@example.com/Balcony"), Ok(jid.clone()));
    assert_eq!(
        Jid::try_from(String::from("juliet@example.com/Balcony")),
        Ok(jid.clone())
    );
    let full: FullJid = "juliet@example.com/Balcony".parse().expect("valid");
    assert_eq!(
        format!("{full:?} {full}"),
        "FullJid(\"juliet@example.com/Balcony\") juliet@example.com/Balcony"
    );
    let bare = BareJid::try_from("juliet@example.com").expect("valid");
    assert_eq!(AsRef::<str>::as_ref(&bare), "juliet@example.com");
    assert_eq!(
        BareJid::try_from(String::from("x.example")).map(|b| b.to_string()),
        Ok("x.example".into())
    );
    let e = Jid::new("foo bar@example.com").expect_err("invalid");
    assert_eq!(
        e.to_string(),
        "the localpart is not allowed: code point U+0020 is not allowed"
    );
}

#[test]
fn map_keys() {
    let mut sessions: HashMap<FullJid, u32> = HashMap::new();
    sessions.insert(
        FullJid::new("Juliet@Example.COM/Balcony").expect("valid"),
        1,
    );
    // A typed key can be looked up with a plain `Jid` of a different spelling.
    let key = parse("juliet@example.com./Balcony");
    assert_eq!(sessions.get(&key), Some(&1));
    let ordered: BTreeSet<Jid> = ["b.example", "a@b.example", "B.example"]
        .into_iter()
        .map(parse)
        .collect();
    let ordered: Vec<&str> = ordered.iter().map(Jid::as_str).collect();
    assert_eq!(ordered, ["a@b.example", "b.example"]);
}

// --- Properties ----------------------------------------------------------------------------

/// Pieces that exercise the interesting corners of each profile.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,6}",
        "[ -~]{1,4}",
        "\\PC{1,3}",
        Just("ß".to_owned()),
        Just("Σ".to_owned()),
        Just("ς".to_owned()),
        Just("ＪＵＬ".to_owned()),
        Just("e\u{301}".to_owned()),
        Just("\u{5d0}\u{5d1}".to_owned()),
        Just("\u{200d}".to_owned()),
        Just("·l".to_owned()),
        Just("\u{3000}".to_owned()),
        Just("İ".to_owned()),
        Just("xn--".to_owned()),
        Just("。".to_owned()),
        Just(".".to_owned()),
        Just("-".to_owned()),
        Just("@".to_owned()),
        Just("/".to_owned()),
    ]
}

fn part() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 1..5).prop_map(|v| v.concat())
}

fn structured() -> impl Strategy<Value = String> {
    (
        proptest::option::of(part()),
        prop_oneof![
            part(),
            "[a-zA-Z0-9\\-]{1,10}(\\.[a-zA-Z0-9\\-]{1,10}){0,3}\\.?",
            "[a-zA-Zàéü\u{3b1}-\u{3c9}]{1,8}\\.[a-z]{2,4}\\.?",
        ],
        proptest::option::of(part()),
    )
        .prop_map(|(local, domain, resource)| {
            let mut s = String::new();
            if let Some(local) = local {
                s.push_str(&local);
                s.push('@');
            }
            s.push_str(&domain);
            if let Some(resource) = resource {
                s.push('/');
                s.push_str(&resource);
            }
            s
        })
}

fn check_accepted(jid: &Jid) -> Result<(), TestCaseError> {
    let again = Jid::new(jid.as_str());
    prop_assert_eq!(again.as_ref(), Ok(jid), "not idempotent");
    let again = again.expect("checked");
    prop_assert_eq!(parts(&again), parts(jid));
    prop_assert_eq!(jid.to_string(), jid.as_str());
    let reparsed = jid.to_string().parse::<Jid>();
    prop_assert_eq!(reparsed.as_ref(), Ok(jid));
    prop_assert!(
        jid.localpart()
            .is_none_or(|l| !l.is_empty() && l.len() <= 1023)
    );
    prop_assert!(!jid.domain().is_empty() && jid.domain().len() <= 1023);
    prop_assert!(
        jid.resource()
            .is_none_or(|r| !r.is_empty() && r.len() <= 1023)
    );
    let rebuilt = Jid::from_parts(jid.localpart(), jid.domain(), jid.resource());
    prop_assert_eq!(rebuilt.as_ref(), Ok(jid));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_strings_never_panic_and_accepted_ones_are_fixed_points(s in any::<String>()) {
        if let Ok(jid) = Jid::new(&s) {
            check_accepted(&jid)?;
        }
        let _ = BareJid::new(&s);
        let _ = FullJid::new(&s);
    }

    #[test]
    fn printable_unicode_is_idempotent(s in "\\PC{0,40}") {
        if let Ok(jid) = Jid::new(&s) {
            check_accepted(&jid)?;
        }
    }

    #[test]
    fn structured_jids_are_idempotent(s in structured()) {
        if let Ok(jid) = Jid::new(&s) {
            check_accepted(&jid)?;
        }
    }

    #[test]
    fn from_parts_never_panics(
        local in proptest::option::of(any::<String>()),
        domain in any::<String>(),
        resource in proptest::option::of(any::<String>()),
    ) {
        if let Ok(jid) = Jid::from_parts(local.as_deref(), &domain, resource.as_deref()) {
            check_accepted(&jid)?;
        }
    }

    #[test]
    fn bare_and_full_agree_with_jid(s in structured()) {
        match Jid::new(&s) {
            Ok(jid) if jid.is_full() => {
                prop_assert_eq!(FullJid::new(&s).map(Jid::from), Ok(jid.clone()));
                prop_assert_eq!(BareJid::new(jid.bare_str()), Ok(jid.to_bare()));
            }
            Ok(jid) => prop_assert_eq!(BareJid::new(&s).map(Jid::from), Ok(jid)),
            Err(_) => {}
        }
    }
}
