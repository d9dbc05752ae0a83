use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use tokio::sync::mpsc;
use xmpp_core::blocking::{BlockListStore, MemoryBlockListStore};
use xmpp_core::roster::{RosterItem, RosterLimits, State, SubState};
use xmpp_core::router::{Router, ServerInfo};
use xmpp_core::{Element, StanzaKind, ns};

use super::cache::MAX_IDLE;
use super::*;
use crate::im::{ArchiveSettings, ImLimits, OfflineLimits};
use crate::router::{Outbound, Presence, SessionHandle, SessionRegistry};
use crate::storage::{AccountJid, DatabaseUrl, Storage, StorageOptions};

fn bare(s: &str) -> BareJid {
    s.parse().unwrap()
}

fn full(s: &str) -> FullJid {
    s.parse().unwrap()
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn stanza(xml: &str) -> Stanza {
    Stanza::from_element(xml.parse::<Element>().unwrap()).unwrap()
}

/// A store that counts its loads.
#[derive(Default)]
struct Counting {
    store: MemoryBlockListStore,
    loads: AtomicUsize,
}

impl BlockListStore for Counting {
    type Error = core::convert::Infallible;

    async fn blocklist(&self, owner: &BareJid) -> Result<Vec<Jid>, Self::Error> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        self.store.blocklist(owner).await
    }

    async fn block(&self, owner: &BareJid, jids: &[Jid]) -> Result<(), Self::Error> {
        self.store.block(owner, jids).await
    }

    async fn unblock(&self, owner: &BareJid, jids: &[Jid]) -> Result<(), Self::Error> {
        self.store.unblock(owner, jids).await
    }

    async fn unblock_all(&self, owner: &BareJid) -> Result<(), Self::Error> {
        self.store.unblock_all(owner).await
    }
}

fn bind(sessions: &SessionRegistry, jid: &str) -> (SessionHandle, mpsc::Receiver<Outbound>) {
    let (handle, rx) = SessionHandle::new();
    sessions.bind(full(jid), handle.clone());
    (handle, rx)
}

#[tokio::test]
async fn a_list_is_loaded_once_then_served_from_memory() {
    let store = Counting::default();
    store
        .store
        .block(&bare("a@example.org"), &[jid("spam.example")])
        .await
        .unwrap();
    let sessions = SessionRegistry::new();
    let lists = BlockLists::default();
    let a = bare("a@example.org");
    for _ in 0..3 {
        let list = lists.list(&store, &sessions, &a).await.unwrap();
        assert!(list.is_blocked(&jid("bot@muc.spam.example")));
    }
    // An empty list is cached as well: the common case costs no query either.
    let b = bare("b@example.org");
    for _ in 0..3 {
        assert!(lists.list(&store, &sessions, &b).await.unwrap().is_empty());
    }
    assert_eq!(store.loads.load(Ordering::Relaxed), 2);
}

#[test]
fn a_load_that_raced_with_a_change_is_not_cached() {
    let lists = BlockLists::default();
    let a = bare("a@example.org");
    let Err(generation) = lists.cached(&a) else {
        panic!("nothing cached yet");
    };
    // The change is written (storage, then cache) while the load was reading storage.
    let changed = Arc::new(BlockList::from_jids([jid("romeo@montague.net")]));
    lists.put(&a, Arc::clone(&changed), true);
    let stale = Arc::new(BlockList::new());
    assert!(!lists.insert_loaded(&a, stale, generation, true));
    assert_eq!(lists.cached(&a).ok(), Some(changed));
    // A load with the current generation is cached, for another account too.
    let Err(generation) = lists.cached(&bare("b@example.org")) else {
        panic!("not cached");
    };
    assert!(lists.insert_loaded(
        &bare("b@example.org"),
        Arc::new(BlockList::new()),
        generation,
        false
    ));
    assert!(lists.cached(&bare("b@example.org")).is_ok());
}

#[test]
fn lists_of_offline_accounts_are_bounded_and_online_ones_stay() {
    let lists = BlockLists::default();
    let online = bare("online@example.org");
    lists.put(&online, Arc::new(BlockList::new()), true);
    for i in 0..MAX_IDLE + 100 {
        lists.put(
            &bare(&format!("u{i}@example.org")),
            Arc::new(BlockList::new()),
            false,
        );
    }
    let (count, idle) = lists.sizes();
    assert_eq!(count, MAX_IDLE + 1);
    assert_eq!(idle, MAX_IDLE);
    assert!(lists.cached(&online).is_ok(), "pinned while online");
    // The oldest offline ones went first.
    assert!(lists.cached(&bare("u0@example.org")).is_err());
    assert!(
        lists
            .cached(&bare(&format!("u{}@example.org", MAX_IDLE + 99)))
            .is_ok()
    );
    // Once its last session ends, the online account's list is one of the idle ones.
    lists.session_ended(&full("online@example.org/r"), false, false);
    for i in 0..MAX_IDLE {
        lists.put(
            &bare(&format!("v{i}@example.org")),
            Arc::new(BlockList::new()),
            false,
        );
    }
    assert!(lists.cached(&online).is_err());
    assert_eq!(lists.sizes().0, MAX_IDLE);
}

#[test]
fn pushes_go_to_the_sessions_that_asked_until_they_end() {
    let lists = BlockLists::default();
    let a = bare("a@example.org");
    lists.set_requested(&full("a@example.org/one"));
    lists.set_requested(&full("a@example.org/one"));
    lists.set_requested(&full("a@example.org/two"));
    assert_eq!(
        lists.requested(&a),
        [full("a@example.org/one"), full("a@example.org/two")]
    );
    // Replaced by a new login of the same resource: the flag stays with the resource.
    lists.session_ended(&full("a@example.org/one"), true, true);
    assert_eq!(lists.requested(&a).len(), 2);
    lists.session_ended(&full("a@example.org/one"), false, true);
    assert_eq!(lists.requested(&a), [full("a@example.org/two")]);
    lists.session_ended(&full("a@example.org/two"), false, false);
    assert!(lists.requested(&a).is_empty());
    lists.set_requested(&full("a@example.org/three"));
    lists.discard(&a);
    assert!(lists.requested(&a).is_empty());
}

#[test]
fn outbound_to_a_blocked_jid_is_answered_with_blocked() {
    let sender = full("juliet@capulet.com/balcony");
    let mine = BlockList::from_jids([jid("romeo@montague.net")]);
    let message = stanza(
        "<message xmlns='jabber:client' to='romeo@montague.net/orchard' id='m1'>\
         <body>Can you hear me now?</body></message>",
    );
    let Some(Blocked::Reply(reply)) = outbound(&sender, &message, &mine) else {
        panic!("answered");
    };
    assert!(reply.is_error());
    assert_eq!(reply.to(), Some(sender.as_jid()));
    assert_eq!(reply.from(), Some(&jid("romeo@montague.net/orchard")));
    let error = reply
        .element()
        .get_child("error", ns::JABBER_CLIENT)
        .unwrap();
    assert!(
        error
            .get_child("not-acceptable", ns::XMPP_STANZAS)
            .is_some()
    );
    assert!(error.get_child("blocked", ns::BLOCKING_ERRORS).is_some());
    // An error is never answered; a JID that is not blocked passes.
    let error = stanza(
        "<message xmlns='jabber:client' to='romeo@montague.net' type='error' id='m2'>\
         <error type='cancel'><item-not-found \
         xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    );
    assert_eq!(
        outbound(&sender, &error, &mine),
        Some(Blocked::DropSilently)
    );
    let other = stanza("<message xmlns='jabber:client' to='nurse@capulet.com'/>");
    assert_eq!(outbound(&sender, &other, &mine), None);
}

#[test]
fn inbound_from_a_blocked_sender_looks_offline() {
    let sender = full("romeo@montague.net/orchard");
    let theirs = BlockList::from_jids([jid("montague.net")]);
    let presence =
        stanza("<presence xmlns='jabber:client' to='juliet@capulet.com' type='subscribe'/>");
    assert_eq!(
        inbound(&sender, &presence, &theirs),
        Some(Blocked::DropSilently)
    );
    let iq = stanza(
        "<iq xmlns='jabber:client' to='juliet@capulet.com/balcony' type='get' id='v1'>\
         <query xmlns='jabber:iq:version'/></iq>",
    );
    let Some(Blocked::Reply(reply)) = inbound(&sender, &iq, &theirs) else {
        panic!("answered");
    };
    assert_eq!(reply.iq_type(), Some(xmpp_core::IqType::Error));
    assert_eq!(reply.to(), Some(sender.as_jid()));
    let result =
        stanza("<iq xmlns='jabber:client' to='juliet@capulet.com/balcony' type='result' id='v2'/>");
    assert_eq!(
        inbound(&sender, &result, &theirs),
        Some(Blocked::DropSilently)
    );
    assert_eq!(inbound(&full("nurse@capulet.com/r"), &iq, &theirs), None);
}

// The IM core over SQLite in memory, with two accounts.

async fn im() -> Im {
    let storage = Storage::open(&DatabaseUrl::SqliteMemory, &StorageOptions::default())
        .await
        .unwrap();
    let credentials = xmpp_sasl::StoredCredentials::generate_all(
        "secret",
        4096,
        &mut xmpp_sasl::FixedRng::new(1),
    )
    .unwrap();
    for account in ["alice@example.org", "bob@example.org"] {
        let account = AccountJid::try_from(bare(account)).unwrap();
        storage
            .create_account(&account, &credentials)
            .await
            .unwrap();
    }
    let limits = ImLimits {
        max_roster_items: 100,
        roster: RosterLimits::default(),
        offline: OfflineLimits {
            default: 10,
            by_class: std::collections::BTreeMap::new(),
        },
        archive: ArchiveSettings::default(),
    };
    let info = ServerInfo::new("Chatrix", "test", SystemTime::now());
    Im::new(
        storage,
        Router::new(["example.org".to_owned()], info),
        limits,
    )
}

/// Binds `jid`, available with an empty presence.
fn online(im: &Im, jid: &str) -> mpsc::Receiver<Outbound> {
    let (handle, rx) = bind(&im.sessions, jid);
    let presence = stanza(&format!("<presence xmlns='jabber:client' from='{jid}'/>"));
    im.sessions.set_presence(
        &full(jid),
        &handle,
        Some(Presence {
            priority: 0,
            stanza: Arc::new(presence),
        }),
    );
    rx
}

fn queued(rx: &mut mpsc::Receiver<Outbound>) -> Vec<Stanza> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .filter_map(|item| item.to_stanza())
        .collect()
}

async fn both_ways(im: &Im, a: &str, b: &str) {
    for (owner, contact) in [(a, b), (b, a)] {
        let mut item = RosterItem::new(bare(contact));
        item.set_state(State::new(SubState::Both));
        let owner = AccountJid::try_from(bare(owner)).unwrap();
        im.storage.put_roster_item(&owner, &item).await.unwrap();
    }
}

fn iq(payload: &str) -> Stanza {
    stanza(&format!(
        "<iq xmlns='jabber:client' type='set' id='b1'>{payload}</iq>"
    ))
}

#[tokio::test]
async fn block_and_unblock_store_push_check_and_tell_presence() {
    let im = im().await;
    both_ways(&im, "alice@example.org", "bob@example.org").await;
    let alice = full("alice@example.org/home");
    let mut alice_rx = online(&im, "alice@example.org/home");
    let mut phone_rx = online(&im, "alice@example.org/phone");
    let mut bob_rx = online(&im, "bob@example.org/desk");
    let bob = full("bob@example.org/desk");

    // The phone asks for the list: it gets pushes; home never asked.
    let mut out = Outbox::for_sender(&full("alice@example.org/phone"));
    let get = stanza(
        "<iq xmlns='jabber:client' type='get' id='g1'>\
         <blocklist xmlns='urn:xmpp:blocking'/></iq>",
    );
    im.handle_blocking_iq(&full("alice@example.org/phone"), &get, &mut out)
        .await;
    let [result] = out.to_sender.as_slice() else {
        panic!("{:?}", out.to_sender);
    };
    let list = result.iq_payload().unwrap();
    assert!(list.is("blocklist", ns::BLOCKING) && list.children().next().is_none());

    let mut out = Outbox::for_sender(&alice);
    let block = iq("<block xmlns='urn:xmpp:blocking'><item jid='bob@example.org'/></block>");
    im.handle_blocking_iq(&alice, &block, &mut out).await;
    // The result, then bob's presence going away for alice's own session.
    assert_eq!(out.to_sender[0].iq_type(), Some(xmpp_core::IqType::Result));
    assert!(
        out.to_sender[1..]
            .iter()
            .all(|s| { s.kind() == StanzaKind::Presence && s.from() == Some(bob.as_jid()) })
    );
    assert_eq!(out.to_sender.len(), 2);
    let stored = BlockListStore::blocklist(&im.storage, &bare("alice@example.org"))
        .await
        .unwrap();
    assert_eq!(stored, [jid("bob@example.org")]);
    // The push went to the phone, which asked, with bob's presence gone.
    let phone = queued(&mut phone_rx);
    assert!(
        phone
            .iter()
            .any(|s| s.iq_payload().is_some_and(|p| p.is("block", ns::BLOCKING)))
    );
    assert!(queued(&mut alice_rx).is_empty());
    // Bob saw alice's two resources go offline.
    let seen = queued(&mut bob_rx);
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|s| s.element().attr("type") == Some("unavailable"))
    );

    // Both directions are blocked now, and nothing is cached stale.
    let to_bob = stanza("<message xmlns='jabber:client' to='bob@example.org' id='1'/>");
    assert!(matches!(
        im.check_blocking(&alice, &to_bob).await,
        Blocked::Reply(r) if r.is_error()
    ));
    let to_alice = stanza("<message xmlns='jabber:client' to='alice@example.org' id='2'/>");
    assert!(matches!(
        im.check_blocking(&bob, &to_alice).await,
        Blocked::Reply(r) if r.is_error()
    ));
    let probe = stanza("<presence xmlns='jabber:client' to='alice@example.org' type='probe'/>");
    assert_eq!(im.check_blocking(&bob, &probe).await, Blocked::DropSilently);
    // Own account and the server itself are never blocked.
    let to_self = stanza("<message xmlns='jabber:client' to='alice@example.org/phone'/>");
    assert_eq!(im.check_blocking(&alice, &to_self).await, Blocked::No);

    // Unblock all: pushed empty, and presence comes back both ways.
    let mut out = Outbox::for_sender(&alice);
    im.handle_blocking_iq(
        &alice,
        &iq("<unblock xmlns='urn:xmpp:blocking'/>"),
        &mut out,
    )
    .await;
    assert_eq!(out.to_sender[0].iq_type(), Some(xmpp_core::IqType::Result));
    assert!(
        out.to_sender[1..]
            .iter()
            .any(|s| { s.from() == Some(bob.as_jid()) && s.element().attr("type").is_none() })
    );
    let phone = queued(&mut phone_rx);
    assert!(phone.iter().any(|s| {
        s.iq_payload()
            .is_some_and(|p| p.is("unblock", ns::BLOCKING) && p.children().next().is_none())
    }));
    let seen = queued(&mut bob_rx);
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.element().attr("type").is_none()));
    assert_eq!(im.check_blocking(&alice, &to_bob).await, Blocked::No);
    assert_eq!(im.check_blocking(&bob, &to_alice).await, Blocked::No);
    assert!(
        BlockListStore::blocklist(&im.storage, &bare("alice@example.org"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_blocked_contact_gets_no_broadcast_and_no_probe_answer() {
    let im = im().await;
    both_ways(&im, "alice@example.org", "bob@example.org").await;
    let mut bob_rx = online(&im, "bob@example.org/desk");
    let alice = full("alice@example.org/home");
    let (handle, _alice_rx) = bind(&im.sessions, "alice@example.org/home");
    let mut out = Outbox::for_sender(&alice);
    let block = iq("<block xmlns='urn:xmpp:blocking'><item jid='bob@example.org'/></block>");
    im.handle_blocking_iq(&alice, &block, &mut out).await;

    // Alice comes online: bob is not told, and alice does not see bob.
    let mut out = Outbox::for_sender(&alice);
    let mut directed = std::collections::HashSet::new();
    let presence = stanza("<presence xmlns='jabber:client'/>");
    im.handle_broadcast(
        &alice,
        &handle,
        presence,
        Some(0),
        false,
        &mut directed,
        &mut out,
    )
    .await;
    assert!(queued(&mut bob_rx).is_empty());
    assert!(
        out.to_sender
            .iter()
            .all(|s| s.from() != Some(full("bob@example.org/desk").as_jid())),
        "{:?}",
        out.to_sender
    );
    // Bob's probe for alice (past the session's check) gets nothing either.
    let mut out = Outbox::for_sender(&full("bob@example.org/desk"));
    im.handle_probe(
        &full("bob@example.org/desk"),
        &bare("alice@example.org"),
        &mut out,
    )
    .await;
    assert!(out.to_sender.is_empty());
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let im = im().await;
    let alice = full("alice@example.org/home");
    let _rx = online(&im, "alice@example.org/home");
    for payload in [
        "<block xmlns='urn:xmpp:blocking'/>",
        "<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>",
    ] {
        let mut out = Outbox::for_sender(&alice);
        im.handle_blocking_iq(&alice, &iq(payload), &mut out).await;
        let [reply] = out.to_sender.as_slice() else {
            panic!("one answer");
        };
        assert!(reply.is_error(), "{payload}");
    }
    assert!(
        im.blocklist(&bare("alice@example.org"))
            .await
            .unwrap()
            .is_empty()
    );
}
