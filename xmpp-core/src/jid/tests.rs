//! Unit tests of the internals: the fast paths against the full profiles, the offsets, the
//! representation. The behaviour of the public API is tested in `tests/jid.rs`.

use std::borrow::Cow;

use proptest::prelude::*;

use super::normalize::{self, MAX_PART_BYTES};
use super::*;

fn full_parse(s: &str) -> Result<Jid, JidError> {
    let (rest, resource) = match s.split_once('/') {
        Some((rest, resource)) => (rest, Some(resource)),
        None => (s, None),
    };
    let (local, domain) = match rest.split_once('@') {
        Some((local, domain)) => (Some(local), domain),
        None => (None, rest),
    };
    let local = local
        .map(|l| normalize::localpart_with(l, false))
        .transpose()?;
    let domain = normalize::domain_with(domain, false)?;
    let resource = resource
        .map(|r| normalize::resource_with(r, false))
        .transpose()?;
    Ok(Jid::assemble(
        None,
        local.as_deref(),
        &domain,
        resource.as_deref(),
    ))
}

#[test]
fn fast_paths_borrow_normalised_ascii() {
    assert!(matches!(
        normalize::localpart("user"),
        Ok(Cow::Borrowed("user"))
    ));
    assert!(matches!(
        normalize::localpart("foo\\20bar"),
        Ok(Cow::Borrowed(_))
    ));
    assert!(matches!(
        normalize::domain("example.org"),
        Ok(Cow::Borrowed("example.org"))
    ));
    assert!(matches!(
        normalize::domain("example.org."),
        Ok(Cow::Borrowed("example.org"))
    ));
    assert!(matches!(
        normalize::domain("192.0.2.1"),
        Ok(Cow::Borrowed(_))
    ));
    assert!(matches!(
        normalize::domain("[::1]"),
        Ok(Cow::Borrowed("[::1]"))
    ));
    assert!(matches!(
        normalize::resource("foo bar"),
        Ok(Cow::Borrowed("foo bar"))
    ));
}

#[test]
fn ascii_with_capitals_is_lowercased_without_precis() {
    assert_eq!(normalize::localpart("User").as_deref(), Ok("user"));
    assert_eq!(
        normalize::domain("Example.ORG").as_deref(),
        Ok("example.org")
    );
    assert_eq!(
        normalize::domain("[::FFFF:1.2.3.4]").as_deref(),
        Ok("[::ffff:1.2.3.4]")
    );
    assert_eq!(normalize::resource("Res").as_deref(), Ok("Res"));
}

#[test]
fn a_normalised_input_becomes_the_jid_string_as_is() {
    let input = "user@example.org/resource";
    let jid = Jid::new(input).expect("valid");
    assert_eq!(jid.as_str(), input);
    assert_eq!((jid.domain_start, jid.domain_end), (5, 16));
}

#[test]
fn offsets_without_optional_parts() {
    let jid = Jid::new("example.org").expect("valid");
    assert_eq!((jid.domain_start, jid.domain_end), (0, 11));
    let jid = Jid::new("example.org/r").expect("valid");
    assert_eq!((jid.domain_start, jid.domain_end), (0, 11));
}

#[test]
fn representation_is_small() {
    assert_eq!(std::mem::size_of::<Jid>(), 24);
    assert_eq!(std::mem::size_of::<Option<FullJid>>(), 24);
}

#[test]
fn precis_errors_are_mapped_precisely() {
    use ProfileViolation::{Bidi, Codepoint, Context, JidSpecial};
    let local = |s| {
        normalize::localpart(s).map_err(|e| match e {
            JidError::LocalpartProhibited(v) => v,
            other => panic!("unexpected {other:?}"),
        })
    };
    assert_eq!(local("foo bar"), Err(Codepoint(' ')));
    assert_eq!(local("♚"), Err(Codepoint('♚')));
    assert_eq!(local("a\u{200d}b"), Err(Context(Some('\u{200d}'))));
    assert_eq!(local("a\"b"), Err(JidSpecial('"')));
    assert_eq!(local("a＠b"), Err(JidSpecial('@')));
    // An RTL label that ends in a left-to-right character breaks the Bidi Rule.
    assert_eq!(local("\u{05d0}a"), Err(Bidi));
}

#[test]
fn the_raw_length_cap_cannot_refuse_a_part_that_would_fit() {
    // The strongest shrinking PRECIS does: full-width U + two combining marks, 7 bytes to 2.
    let unit = "\u{ff35}\u{0308}\u{0304}";
    assert_eq!(normalize::localpart(unit).as_deref(), Ok("\u{01d6}"));
    let fits = unit.repeat(MAX_PART_BYTES / 2);
    assert_eq!(
        normalize::localpart(&fits).map(|l| l.len()),
        Ok(MAX_PART_BYTES - 1)
    );
}

fn ascii_local() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[a-zA-Z0-9._\\-]{1,12}",
        proptest::collection::vec(prop_oneof![Just("a"), Just("A"), Just("\"")], 1..4)
            .prop_map(|v| v.concat()),
    ]
}

fn ascii_domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,16}",
        "[a-zA-Z0-9.\\-]{0,24}",
        proptest::collection::vec("(xn--)?[a-zA-Z0-9\\-]{0,8}", 1..5).prop_map(|v| v.join(".")),
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.?",
        "[a-z]{1,70}(\\.[a-z]{1,70}){0,2}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn localpart_fast_path_equals_precis(s in ascii_local()) {
        prop_assert_eq!(normalize::localpart_with(&s, true), normalize::localpart_with(&s, false));
    }

    #[test]
    fn domain_fast_path_equals_idna(s in ascii_domain()) {
        prop_assert_eq!(normalize::domain_with(&s, true), normalize::domain_with(&s, false));
    }

    #[test]
    fn resource_fast_path_equals_precis(s in "[ -~]{0,16}") {
        prop_assert_eq!(normalize::resource_with(&s, true), normalize::resource_with(&s, false));
    }

    #[test]
    fn whole_jid_fast_path_equals_slow_path(s in "[ -~]{0,40}") {
        prop_assert_eq!(Jid::new(&s), full_parse(&s));
    }

    #[test]
    fn offsets_match_a_fresh_parse(s in "\\PC{0,30}") {
        if let Ok(jid) = Jid::new(&s) {
            let again = Jid::new(jid.as_str()).expect("normalised JIDs parse");
            prop_assert_eq!(
                (jid.domain_start, jid.domain_end),
                (again.domain_start, again.domain_end)
            );
        }
    }
}
