//! Planning fetches and finishing pages, on hand-made fetch results.

use std::time::{Duration, UNIX_EPOCH};

use xmpp_core::{Element, Jid, StanzaCondition, StanzaError};

use super::*;
use crate::query::Rsm;

fn msg(id: &str) -> ArchivedMessage {
    ArchivedMessage {
        id: id.to_owned(),
        with: Jid::new("romeo@montague.lit").expect("valid"),
        timestamp: UNIX_EPOCH + Duration::from_secs(1),
        stanza: Element::new("message", xmpp_core::ns::JABBER_CLIENT),
    }
}

fn msgs(ids: &[&str]) -> Fetched {
    Fetched::Messages(ids.iter().map(|id| msg(id)).collect())
}

fn query(max: Option<usize>, position: Position, flip_page: bool) -> Query {
    Query {
        rsm: Rsm { max, position },
        flip_page,
        ..Query::default()
    }
}

fn ids(page: &Page) -> Vec<&str> {
    page.messages.iter().map(|m| m.id.as_str()).collect()
}

fn sizes(default: usize, max: usize) -> PageSizes {
    PageSizes { default, max }
}

#[test]
fn page_sizes_are_clamped() {
    let q = |max| query(max, Position::First, false);
    let d = PageSizes::default();
    assert_eq!(
        plan(&q(None), d).page_size,
        50,
        "the default when no max is named"
    );
    assert_eq!(plan(&q(Some(10)), d).page_size, 10);
    assert_eq!(
        plan(&q(Some(100)), d).page_size,
        100,
        "above the default, below the max"
    );
    assert_eq!(plan(&q(Some(1_000_000)), d).page_size, 250);
    assert_eq!(plan(&q(Some(0)), d).page_size, 0);
    assert_eq!(plan(&q(None), sizes(20, 30)).page_size, 20);
    assert_eq!(plan(&q(Some(40)), sizes(20, 30)).page_size, 30);
    // Configuration mistakes are clamped.
    assert_eq!(
        plan(&q(Some(10_000)), sizes(50, 10_000)).page_size,
        MAX_PAGE_SIZE
    );
    assert_eq!(plan(&q(None), sizes(500, 100)).page_size, 100);
    assert_eq!(plan(&q(None), sizes(0, 0)).page_size, 1);
    let p = plan(&q(Some(7)), d);
    assert_eq!(
        p.limit, 8,
        "one more than the page, to learn whether it is the last"
    );
}

#[test]
fn positions_become_cursors() {
    for (position, cursor) in [
        (Position::First, Cursor::First),
        (Position::Last, Cursor::Last),
        (
            Position::After("a".to_owned()),
            Cursor::After("a".to_owned()),
        ),
        (
            Position::Before("b".to_owned()),
            Cursor::Before("b".to_owned()),
        ),
    ] {
        assert_eq!(
            plan(&query(None, position, false), PageSizes::default()).cursor,
            cursor
        );
    }
    let mut q = query(None, Position::First, true);
    q.filter.after_id = Some("x".to_owned());
    let p = plan(&q, PageSizes::default());
    assert_eq!(p.filter, q.filter);
    assert!(p.flip_page);
}

#[test]
fn forward_pages() {
    let p = plan(
        &query(Some(2), Position::First, false),
        PageSizes::default(),
    );
    let page = finish(&p, msgs(&["a", "b", "c"])).expect("a page");
    assert_eq!(ids(&page), ["a", "b"]);
    assert_eq!(
        (page.first.as_deref(), page.last.as_deref()),
        (Some("a"), Some("b"))
    );
    assert!(!page.complete, "a third message exists after the page");
    let page = finish(&p, msgs(&["a", "b"])).expect("a page");
    assert!(page.complete, "nothing after b");
}

#[test]
fn backward_pages_are_chronological() {
    let p = plan(&query(Some(2), Position::Last, false), PageSizes::default());
    // The store answers newest first.
    let page = finish(&p, msgs(&["e", "d", "c"])).expect("a page");
    assert_eq!(ids(&page), ["d", "e"]);
    assert_eq!(
        (page.first.as_deref(), page.last.as_deref()),
        (Some("d"), Some("e"))
    );
    assert!(!page.complete, "c is before the page");
    let p = plan(
        &query(Some(2), Position::Before("c".to_owned()), false),
        PageSizes::default(),
    );
    let page = finish(&p, msgs(&["b", "a"])).expect("a page");
    assert_eq!(ids(&page), ["a", "b"]);
    assert!(page.complete, "nothing before a");
}

#[test]
fn flipped_pages_reverse_only_the_sending_order() {
    let p = plan(&query(Some(2), Position::Last, true), PageSizes::default());
    let page = finish(&p, msgs(&["e", "d", "c"])).expect("a page");
    assert_eq!(ids(&page), ["e", "d"]);
    assert_eq!(
        (page.first.as_deref(), page.last.as_deref()),
        (Some("d"), Some("e"))
    );
    assert!(!page.complete);
    let p = plan(&query(Some(5), Position::First, true), PageSizes::default());
    let page = finish(&p, msgs(&["a", "b", "c"])).expect("a page");
    assert_eq!(ids(&page), ["c", "b", "a"]);
    assert_eq!(
        (page.first.as_deref(), page.last.as_deref()),
        (Some("a"), Some("c"))
    );
    assert!(page.complete);
}

#[test]
fn empty_pages() {
    let p = plan(
        &query(Some(0), Position::First, false),
        PageSizes::default(),
    );
    let page = finish(&p, msgs(&["a"])).expect("a page");
    assert!(page.messages.is_empty() && page.first.is_none() && page.last.is_none());
    assert!(!page.complete, "max 0 with something matching");
    let page = finish(&p, msgs(&[])).expect("a page");
    assert!(page.complete);
}

#[test]
fn unknown_ids_are_item_not_found() {
    let p = plan(
        &query(None, Position::After("gone".to_owned()), false),
        PageSizes::default(),
    );
    let err = finish(&p, Fetched::UnknownId).expect_err("refused");
    assert_eq!(err, MamError::UnknownId);
    assert_eq!(
        StanzaError::from(err).condition,
        StanzaCondition::ItemNotFound
    );
}
