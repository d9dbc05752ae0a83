//! Every restricted-XML case and every limit is refused with the stream error that fits
//! (RFC 6120 §4.9.3, §11; security.md §1.1–§1.3).

mod common;

use std::time::{Duration, Instant};

use common::{HEADER, condition_after_header, frame, frame_chunks};
use xmpp_stream::{Limit, Limits};

#[test]
fn dtd_is_restricted_xml_before_and_inside_the_stream() {
    let dtd = "<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]>";
    let (_, err) = frame(format!("{dtd}{HEADER}").as_bytes());
    assert_eq!(err.map(|e| e.condition()), Some("restricted-xml"));
    assert_eq!(condition_after_header(dtd), Some("restricted-xml"));
    let external = "<!DOCTYPE x SYSTEM 'file:///etc/passwd'>";
    let (_, err) = frame(format!("<?xml version='1.0'?>{external}<x/>").as_bytes());
    assert_eq!(err.map(|e| e.condition()), Some("restricted-xml"));
}

#[test]
fn undeclared_entities_are_restricted_xml() {
    assert_eq!(
        condition_after_header("<message><body>&custom;</body></message>"),
        Some("restricted-xml")
    );
}

#[test]
fn processing_instructions_are_restricted_xml() {
    assert_eq!(
        condition_after_header("<?php echo 1; ?>"),
        Some("restricted-xml")
    );
    assert_eq!(
        condition_after_header("<message><?pi x?></message>"),
        Some("restricted-xml")
    );
    // An XML declaration mid-stream is a processing instruction there.
    assert_eq!(
        condition_after_header("<?xml version='1.0'?>"),
        Some("restricted-xml")
    );
}

#[test]
fn comments_are_restricted_xml() {
    assert_eq!(condition_after_header("<!-- c -->"), Some("restricted-xml"));
    assert_eq!(
        condition_after_header("<message><!-- c --></message>"),
        Some("restricted-xml")
    );
}

#[test]
fn cdata_is_text_and_never_markup() {
    let input = format!("{HEADER}<message><body><![CDATA[<evil/>]]></body></message>");
    let (events, err) = frame(input.as_bytes());
    assert_eq!(err, None);
    let Some(xmpp_stream::FrameEvent::Element(msg)) = events.get(1) else {
        panic!("{events:?}")
    };
    let body = msg.get_child("body", "jabber:client").expect("body");
    assert_eq!(body.text(), "<evil/>");
    assert!(body.to_string().contains("&lt;evil/&gt;"));
}

#[test]
fn non_utf8_is_not_well_formed_and_other_encodings_unsupported() {
    // The stanza-smuggling vectors of security.md §1.2.
    for body in [
        &b"<message><body>\xEB\x3C\x3E</body></message>"[..],
        b"<aaa\xEB/>",
        b"<b>\xC0\xBC</b>",
        b"<b>\xED\xA0\x80</b>",
    ] {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend_from_slice(body);
        let (_, err) = frame(&input);
        assert_eq!(
            err.map(|e| e.condition()),
            Some("not-well-formed"),
            "{body:?}"
        );
    }
    let (_, err) = frame(b"<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    assert_eq!(err.map(|e| e.condition()), Some("unsupported-encoding"));
}

#[test]
fn forbidden_characters_are_not_well_formed() {
    for body in [
        "<b>&#x0;</b>",
        "<b>&#xFFFE;</b>",
        "<b>\u{1}</b>",
        "<b a='&#x1;'/>",
    ] {
        assert_eq!(
            condition_after_header(body),
            Some("not-well-formed"),
            "{body}"
        );
    }
}

#[test]
fn undeclared_prefixes_and_namespace_abuse_are_not_well_formed() {
    assert_eq!(condition_after_header("<x:foo/>"), Some("not-well-formed"));
    assert_eq!(
        condition_after_header("<foo x:a='1'/>"),
        Some("not-well-formed")
    );
    assert_eq!(
        condition_after_header("<foo xmlns:xml='urn:evil'/>"),
        Some("not-well-formed")
    );
    assert_eq!(
        condition_after_header("<foo xmlns:xmlns='urn:evil'/>"),
        Some("not-well-formed")
    );
    // Two attributes that resolve to the same name.
    assert_eq!(
        condition_after_header("<foo xmlns:a='urn:x' xmlns:b='urn:x' a:c='1' b:c='2'/>"),
        Some("not-well-formed")
    );
}

#[test]
fn nested_stream_header_and_stream_level_text_are_bad_format() {
    assert_eq!(
        condition_after_header("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
        Some("bad-format")
    );
    assert_eq!(condition_after_header("hello"), Some("bad-format"));
}

/// `pattern` repeated `n` times with every `{}` replaced by the repetition's number.
fn repeat_numbered(pattern: &str, n: usize) -> String {
    (0..n).fold(String::new(), |mut out, i| {
        out.push_str(&pattern.replace("{}", &i.to_string()));
        out
    })
}

fn limit_after_header(limits: Limits, body: &str) -> Option<Limit> {
    let input = format!("{HEADER}{body}");
    frame_chunks(limits, [input.as_bytes()])
        .1
        .and_then(|e| e.limit())
}

#[test]
fn an_oversized_stanza_is_a_policy_violation() {
    let limits = Limits {
        max_element_bytes: 1024,
        ..Limits::default()
    };
    let body = format!("<message><body>{}</body></message>", "x".repeat(2000));
    assert_eq!(limit_after_header(limits, &body), Some(Limit::ElementBytes));
    assert_eq!(
        condition_after_header(&format!(
            "<message><body>{}</body></message>",
            "x".repeat(300 * 1024)
        )),
        Some("policy-violation")
    );
    // Just under the limit passes; the budget is per stanza, not per stream.
    let ok = format!("<m>{}</m>", "x".repeat(1000));
    let input = format!("{HEADER}{ok}{ok}{ok}");
    assert_eq!(frame_chunks(limits, [input.as_bytes()]).1, None);
}

#[test]
fn an_endless_start_tag_is_cut_off() {
    let limits = Limits {
        max_element_bytes: 4096,
        max_attributes: 10_000,
        ..Limits::default()
    };
    let attrs: String = repeat_numbered(" a{}='v'", 2000);
    // No `>`: the limit must fire while the tag is still being read.
    assert_eq!(
        limit_after_header(limits, &format!("<message{attrs}")),
        Some(Limit::ElementBytes)
    );
}

#[test]
fn deep_nesting_is_a_policy_violation() {
    let limits = Limits::default();
    let ok = format!(
        "{}{}",
        "<a>".repeat(limits.max_depth),
        "</a>".repeat(limits.max_depth)
    );
    assert_eq!(limit_after_header(limits, &ok), None);
    let deep = "<a>".repeat(limits.max_depth + 1);
    assert_eq!(limit_after_header(limits, &deep), Some(Limit::Depth));
}

#[test]
fn a_hundred_thousand_nested_elements_are_rejected_quickly() {
    // rxml's cost grows with the square of depth (ARCHITECTURE.md); the cap must stop it early.
    let deep = "<a>".repeat(100_000);
    let input = format!("{HEADER}{deep}");
    let started = Instant::now();
    let (_, err) = frame(input.as_bytes());
    let elapsed = started.elapsed();
    assert_eq!(err.and_then(|e| e.limit()), Some(Limit::Depth));
    assert!(elapsed < Duration::from_millis(250), "took {elapsed:?}");
}

#[test]
fn too_many_attributes_is_a_policy_violation() {
    let limits = Limits::default();
    let attrs: String = repeat_numbered(" a{}='v'", limits.max_attributes + 1);
    assert_eq!(
        limit_after_header(limits, &format!("<message{attrs}/>")),
        Some(Limit::Attributes)
    );
    let attrs: String = repeat_numbered(" a{}='v'", limits.max_attributes);
    assert_eq!(
        limit_after_header(limits, &format!("<message{attrs}/>")),
        None
    );
}

#[test]
fn too_many_namespace_declarations_is_a_policy_violation() {
    let limits = Limits::default();
    let decls: String =
        repeat_numbered(" xmlns:p{}='urn:{}'", limits.max_namespace_declarations + 1);
    assert_eq!(
        limit_after_header(limits, &format!("<message{decls}/>")),
        Some(Limit::NamespaceDeclarations)
    );
    let decls: String = repeat_numbered(" xmlns:p{}='urn:{}'", limits.max_namespace_declarations);
    assert_eq!(
        limit_after_header(limits, &format!("<message{decls}/>")),
        None
    );
}

#[test]
fn an_overlong_name_or_value_is_a_policy_violation() {
    let limits = Limits {
        max_token_length: 64,
        ..Limits::default()
    };
    let value = "v".repeat(100);
    assert_eq!(
        limit_after_header(limits, &format!("<message a='{value}'/>")),
        Some(Limit::TokenLength)
    );
    let name = "n".repeat(100);
    assert_eq!(
        limit_after_header(limits, &format!("<{name}/>")),
        Some(Limit::TokenLength)
    );
    // Long text is split into chunks, not refused.
    assert_eq!(
        limit_after_header(limits, &format!("<m>{value}{value}</m>")),
        None
    );
}

#[test]
fn the_stream_header_is_held_to_the_limits_too() {
    let limits = Limits::default();
    let attrs: String = repeat_numbered(" a{}='v'", limits.max_attributes + 1);
    let input = format!("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'{attrs}>");
    assert_eq!(
        frame(input.as_bytes()).1.and_then(|e| e.limit()),
        Some(Limit::Attributes)
    );
}
