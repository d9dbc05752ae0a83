//! Paging through a memory archive with the pure plan/finish steps, as a client would:
//! forwards with `<after/>` and backwards with `<before/>`, random archives, filters and page
//! sizes, flipped or not. Every matching message arrives once, in order, and `complete` comes
//! exactly with the last page.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use xmpp_core::{BareJid, Element, Jid};
use xmpp_mam::page::{self, Page};
use xmpp_mam::{ArchiveStore, Filter, MemoryArchive, NewEntry, Position, Query, Rsm};

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the memory store waited"),
    }
}

const CONTACTS: [&str; 3] = [
    "romeo@montague.lit/orchard",
    "romeo@montague.lit/balcony",
    "nurse@capulet.lit",
];

struct Archive {
    store: MemoryArchive,
    owner: BareJid,
    /// (id, contact index), in archive order.
    messages: Vec<(String, usize)>,
}

fn archive(contacts: &[usize]) -> Archive {
    let store = MemoryArchive::new();
    let owner = BareJid::new("juliet@capulet.lit").expect("valid");
    let mut messages = Vec::new();
    for (i, &c) in contacts.iter().enumerate() {
        let id = format!("id{i}");
        let with = Jid::new(CONTACTS[c]).expect("valid");
        let stanza = Element::new("message", xmpp_core::ns::JABBER_CLIENT);
        let entry = NewEntry {
            owner: &owner,
            id: &id,
            with: &with,
            origin_id: None,
            timestamp: UNIX_EPOCH + Duration::from_secs(i as u64),
            stanza: &stanza,
        };
        block_on(store.append(&[entry])).expect("appended");
        messages.push((id, c));
    }
    Archive {
        store,
        owner,
        messages,
    }
}

fn run(a: &Archive, query: &Query) -> Page {
    let plan = page::plan(query, page::PageSizes::default());
    let fetched = block_on(
        a.store
            .fetch(&a.owner, &plan.filter, &plan.cursor, plan.limit),
    )
    .expect("the memory store never fails");
    page::finish(&plan, fetched).expect("every id used is in the archive")
}

fn page_ids(page: &Page, flipped: bool) -> Vec<String> {
    let mut ids: Vec<String> = page.messages.iter().map(|m| m.id.clone()).collect();
    if flipped {
        ids.reverse();
    }
    ids
}

/// Walks a query's result set in pages; returns the ids in chronological order.
fn walk(a: &Archive, filter: &Filter, max: usize, backwards: bool, flip: bool) -> Vec<String> {
    let mut query = Query {
        filter: filter.clone(),
        rsm: Rsm {
            max: Some(max),
            position: if backwards {
                Position::Last
            } else {
                Position::First
            },
        },
        flip_page: flip,
        ..Query::default()
    };
    let mut pages: Vec<Vec<String>> = Vec::new();
    loop {
        let page = run(a, &query);
        let ids = page_ids(&page, flip);
        assert_eq!(
            page.first.as_ref(),
            ids.first(),
            "first is the oldest of the page"
        );
        assert_eq!(
            page.last.as_ref(),
            ids.last(),
            "last is the newest of the page"
        );
        assert!(
            page.complete || ids.len() == max,
            "only the last page may be short"
        );
        assert!(
            !ids.is_empty() || pages.is_empty(),
            "no empty page after a full one: complete came with the last"
        );
        let complete = page.complete;
        query.rsm.position = match (backwards, page.first, page.last) {
            (false, _, Some(last)) => Position::After(last),
            (true, Some(first), _) => Position::Before(first),
            _ => {
                assert!(complete, "an empty page ends the walk");
                Position::First
            }
        };
        pages.push(ids);
        if complete {
            break;
        }
        assert!(pages.len() <= a.messages.len() + 1, "the walk ends");
    }
    if backwards {
        pages.reverse();
    }
    pages.concat()
}

proptest! {
    #[test]
    fn paging_visits_every_message_once_in_order(
        contacts in prop::collection::vec(0..CONTACTS.len(), 0..60),
        max in 1usize..12,
        with in proptest::option::of(prop_oneof![
            Just("romeo@montague.lit"),
            Just("romeo@montague.lit/balcony"),
            Just("nurse@capulet.lit"),
        ]),
        after in proptest::option::of(0usize..60),
        backwards: bool,
        flip: bool,
    ) {
        let a = archive(&contacts);
        let after = after.filter(|i| *i < contacts.len());
        let filter = Filter {
            with: with.map(|w| Jid::new(w).expect("valid")),
            after_id: after.map(|i| format!("id{i}")),
            ..Filter::default()
        };
        let expected: Vec<String> = a
            .messages
            .iter()
            .enumerate()
            .filter(|(i, _)| after.is_none_or(|a| *i > a))
            .filter(|(_, (_, c))| match with {
                None => true,
                Some(w) if w.contains('/') => CONTACTS[*c] == w,
                Some(w) => CONTACTS[*c].split('/').next() == Some(w),
            })
            .map(|(_, (id, _))| id.clone())
            .collect();
        prop_assert_eq!(walk(&a, &filter, max, backwards, flip), expected);
    }
}

#[test]
fn a_page_of_exactly_the_rest_is_complete() {
    let a = archive(&[0, 1, 2, 0]);
    let query = Query {
        rsm: Rsm {
            max: Some(2),
            position: Position::After("id1".to_owned()),
        },
        ..Query::default()
    };
    let page = run(&a, &query);
    assert_eq!(page_ids(&page, false), ["id2", "id3"]);
    assert!(page.complete);
}
