//! Preferences: XML both ways, the strict reading, and the matching rules of XEP-0441 §2.3.

use proptest::prelude::*;
use xmpp_core::{Element, Jid, StanzaCondition};

use super::*;

fn el(s: &str) -> Element {
    s.parse().expect("test XML is well-formed")
}

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("valid JID")
}

fn parse(s: &str) -> Result<Prefs, MamError> {
    Prefs::from_element(&el(s))
}

#[test]
fn reads_the_xep_example() {
    let prefs = parse(
        "<prefs xmlns='urn:xmpp:mam:2' default='roster'>\
           <always><jid>romeo@montague.lit</jid></always>\
           <never><jid>montague@montague.lit</jid></never>\
         </prefs>",
    )
    .expect("valid");
    assert_eq!(
        prefs,
        Prefs {
            default: DefaultPolicy::Roster,
            always: vec![jid("romeo@montague.lit")],
            never: vec![jid("montague@montague.lit")],
        }
    );
}

#[test]
fn missing_lists_are_empty_and_answers_carry_both() {
    let prefs = parse("<prefs xmlns='urn:xmpp:mam:2' default='never'/>").expect("valid");
    assert_eq!(prefs.default, DefaultPolicy::Never);
    assert!(prefs.always.is_empty() && prefs.never.is_empty());
    assert_eq!(
        prefs.to_element(),
        el("<prefs xmlns='urn:xmpp:mam:2' default='never'><always/><never/></prefs>")
    );
}

#[test]
fn duplicates_in_a_list_are_kept_once_and_jids_normalised() {
    let prefs = parse(
        "<prefs xmlns='urn:xmpp:mam:2' default='always'>\
           <never><jid>Romeo@Montague.lit</jid><jid>romeo@montague.lit</jid></never>\
         </prefs>",
    )
    .expect("valid");
    assert_eq!(prefs.never, vec![jid("romeo@montague.lit")]);
}

#[test]
fn other_namespaces_are_ignored() {
    let prefs = parse(
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><x xmlns='urn:example'/>\
         <always><jid>a@b</jid><y xmlns='urn:example'/></always></prefs>",
    )
    .expect("valid");
    assert_eq!(prefs.always, vec![jid("a@b")]);
}

#[test]
fn refuses_malformed_preferences() {
    for bad in [
        "<prefs xmlns='urn:xmpp:mam:2'/>",
        "<prefs xmlns='urn:xmpp:mam:2' default='sometimes'/>",
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><always/><always/></prefs>",
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><sometimes/></prefs>",
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><never><item/></never></prefs>",
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>@x</jid></never></prefs>",
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid/></never></prefs>",
        "<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>a@b<b/></jid></never></prefs>",
        "<prefs xmlns='urn:xmpp:mam:1' default='always'/>",
    ] {
        let err = parse(bad).expect_err(bad);
        assert_eq!(err.condition(), StanzaCondition::BadRequest, "{bad}: {err}");
    }
}

#[test]
fn never_wins_then_always_then_default() {
    let prefs = Prefs {
        default: DefaultPolicy::Roster,
        always: vec![jid("romeo@montague.lit"), jid("nurse@capulet.lit/kitchen")],
        never: vec![jid("romeo@montague.lit/orchard"), jid("tybalt@capulet.lit")],
    };
    // A bare JID in a list matches every resource; a full JID only itself.
    assert!(prefs.decide(&jid("romeo@montague.lit"), false));
    assert!(prefs.decide(&jid("romeo@montague.lit/balcony"), false));
    assert!(!prefs.decide(&jid("romeo@montague.lit/orchard"), true));
    assert!(prefs.decide(&jid("nurse@capulet.lit/kitchen"), false));
    assert!(!prefs.decide(&jid("nurse@capulet.lit/garden"), false));
    assert!(!prefs.decide(&jid("tybalt@capulet.lit/sword"), true));
    // Neither list: the roster decides.
    assert!(prefs.decide(&jid("juliet@capulet.lit"), true));
    assert!(!prefs.decide(&jid("juliet@capulet.lit"), false));
    // A listed domain is that domain, not every account on it.
    let domain = Prefs {
        default: DefaultPolicy::Always,
        always: Vec::new(),
        never: vec![jid("capulet.lit")],
    };
    assert!(!domain.decide(&jid("capulet.lit/bot"), true));
    assert!(domain.decide(&jid("juliet@capulet.lit"), true));
}

#[test]
fn defaults_without_lists() {
    let with = jid("a@b/c");
    for (default, in_roster, archived) in [
        (DefaultPolicy::Always, false, true),
        (DefaultPolicy::Never, true, false),
        (DefaultPolicy::Roster, true, true),
        (DefaultPolicy::Roster, false, false),
    ] {
        let prefs = Prefs {
            default,
            ..Prefs::default()
        };
        assert_eq!(prefs.decide(&with, in_roster), archived, "{default:?}");
    }
}

fn arb_jid() -> impl Strategy<Value = Jid> {
    (
        proptest::option::of("[a-z]{1,6}"),
        "[a-z]{1,6}\\.(lit|org)",
        proptest::option::of("[A-Za-z0-9 ]{1,8}"),
    )
        .prop_map(|(l, d, r)| {
            Jid::from_parts(l.as_deref(), &d, r.as_deref()).expect("generated parts are valid")
        })
}

fn dedup(jids: Vec<Jid>) -> Vec<Jid> {
    let mut out: Vec<Jid> = Vec::new();
    for j in jids {
        if !out.contains(&j) {
            out.push(j);
        }
    }
    out
}

proptest! {
    #[test]
    fn round_trips(
        default in prop::sample::select(DefaultPolicy::ALL.to_vec()),
        always in prop::collection::vec(arb_jid(), 0..5),
        never in prop::collection::vec(arb_jid(), 0..5),
    ) {
        let prefs = Prefs { default, always: dedup(always), never: dedup(never) };
        let text = prefs.to_element().to_string();
        let back = Prefs::from_element(&el(&text)).expect("our own output parses");
        prop_assert_eq!(back, prefs);
    }

    #[test]
    fn never_listed_is_never_archived(
        listed in arb_jid(),
        resource in "[a-z]{1,5}",
        in_roster: bool,
    ) {
        let prefs = Prefs {
            default: DefaultPolicy::Always,
            always: vec![listed.clone()],
            never: vec![listed.clone()],
        };
        prop_assert!(!prefs.decide(&listed, in_roster));
        if listed.is_bare() {
            let full = listed.with_resource(&resource).expect("valid resource");
            prop_assert!(!prefs.decide(full.as_jid(), in_roster));
        }
    }
}
