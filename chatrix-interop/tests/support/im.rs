//! Instant-messaging helpers for the interop tests: accounts subscribed through the storage
//! API, clients that log in and send initial presence, stanzas to send and to recognise.
#![allow(dead_code)]

use chatrix_server::storage::AccountJid;
use xmpp_core::roster::{RosterItem, Subscription};
use xmpp_core::{BareJid, Element, ns};

use super::TestServer;
use super::raw::Raw;

/// The password of every account these helpers make.
pub(crate) const PASSWORD: &str = "a password";

pub(crate) fn account(jid: &str) -> AccountJid {
    AccountJid::parse(jid).unwrap_or_else(|e| panic!("{jid}: {e}"))
}

pub(crate) fn bare(jid: &str) -> BareJid {
    jid.parse().unwrap_or_else(|e| panic!("{jid}: {e:?}"))
}

/// Creates `user@localhost` with [`PASSWORD`].
pub(crate) async fn add_user(server: &TestServer, user: &str) {
    server
        .add_account(&format!("{user}@localhost"), PASSWORD)
        .await;
}

/// Makes `a` and `b` (bare JIDs) contacts with subscription `both` on both sides, through the
/// storage API: for tests about presence or messages, not about subscribing.
pub(crate) async fn subscribe_both(server: &TestServer, a: &str, b: &str) {
    for (owner, contact) in [(a, b), (b, a)] {
        let mut item = RosterItem::new(bare(contact));
        item.subscription = Subscription::Both;
        server
            .ctx
            .storage
            .put_roster_item(&account(owner), &item)
            .await
            .unwrap_or_else(|e| panic!("roster item {contact} of {owner}: {e}"));
    }
}

/// `<presence/>`, with a `<priority/>` when given.
pub(crate) fn presence_with_priority(priority: Option<i8>) -> String {
    match priority {
        Some(p) => format!("<presence><priority>{p}</priority></presence>"),
        None => "<presence/>".to_owned(),
    }
}

/// Logs `user` in as `resource` (password [`PASSWORD`]) and sends initial presence (with
/// `priority` when given). Returns the client and everything the presence brought back before
/// a ping answer: the reflected presence first, then the presence of the account's other
/// resources and of contacts, stored requests and offline messages.
pub(crate) async fn online(
    server: &TestServer,
    user: &str,
    resource: &str,
    priority: Option<i8>,
) -> (Raw, Vec<Element>) {
    let mut c = Raw::login(server, user, PASSWORD, resource).await;
    c.send(&presence_with_priority(priority)).await;
    let got = c.until_pong("online").await;
    let me = format!("{user}@localhost/{resource}");
    let Some(first) = got.first() else {
        panic!("{me}: initial presence not reflected")
    };
    assert!(
        is_presence(first, &me, None) && first.attr("to") == Some(me.as_str()),
        "{me}: the reflected presence first, got {got:?}"
    );
    (c, got)
}

/// Like [`online`], but returns only the client.
pub(crate) async fn online_quiet(
    server: &TestServer,
    user: &str,
    resource: &str,
    priority: Option<i8>,
) -> Raw {
    online(server, user, resource, priority).await.0
}

/// Asks for the roster (so that the resource gets pushes, RFC 6121 §2.1.6); returns the
/// `<query/>` of the result.
pub(crate) async fn roster_get(c: &mut Raw, id: &str) -> Element {
    c.send(&format!(
        "<iq type='get' id='{id}'><query xmlns='{}'/></iq>",
        ns::ROSTER
    ))
    .await;
    let result = c.recv().await;
    assert!(result.is("iq", ns::JABBER_CLIENT), "{result:?}");
    assert_eq!(result.attr("id"), Some(id), "{result:?}");
    assert_eq!(result.attr("type"), Some("result"), "{result:?}");
    result
        .get_child("query", ns::ROSTER)
        .cloned()
        .unwrap_or_else(|| panic!("no <query/> in {result:?}"))
}

/// A `<message/>` with a body; `ty` is the `type` attribute, left out when `None`.
pub(crate) fn message(to: &str, ty: Option<&str>, id: &str, body: &str) -> String {
    let ty = ty.map(|t| format!(" type='{t}'")).unwrap_or_default();
    format!("<message to='{to}'{ty} id='{id}'><body>{body}</body></message>")
}

/// Whether `e` is a presence from `from` of type `ty` (`None`: available).
pub(crate) fn is_presence(e: &Element, from: &str, ty: Option<&str>) -> bool {
    e.is("presence", ns::JABBER_CLIENT) && e.attr("from") == Some(from) && e.attr("type") == ty
}

/// Whether `e` is a message with id `id`.
pub(crate) fn is_message(e: &Element, id: &str) -> bool {
    e.is("message", ns::JABBER_CLIENT) && e.attr("id") == Some(id)
}

/// Whether `e` is a roster push (`<iq type='set'>` with a roster `<query/>`).
pub(crate) fn is_roster_push(e: &Element) -> bool {
    e.is("iq", ns::JABBER_CLIENT)
        && e.attr("type") == Some("set")
        && e.has_child("query", ns::ROSTER)
}

/// The single `<item/>` of a roster push, after checking it is one.
pub(crate) fn pushed_item(push: &Element) -> &Element {
    assert!(is_roster_push(push), "not a roster push: {push:?}");
    let query = push
        .get_child("query", ns::ROSTER)
        .unwrap_or_else(|| unreachable!());
    let items: Vec<&Element> = query.children().collect();
    assert_eq!(items.len(), 1, "a push carries one item: {push:?}");
    items[0]
}

/// The groups of a roster `<item/>`, in order.
pub(crate) fn item_groups(item: &Element) -> Vec<String> {
    item.children()
        .filter(|g| g.is("group", ns::ROSTER))
        .map(Element::text)
        .collect()
}

/// Sends a `normal` message with id `id` from `sender` to the full JID `to`: a marker. A
/// session's stanzas are routed in order and one recipient's queue is first in, first out,
/// so when the recipient's next stanza is the marker, nothing the sender's earlier stanzas
/// produced for it is still to come.
pub(crate) async fn send_marker(sender: &mut Raw, to: &str, id: &str) {
    sender
        .send(&format!(
            "<message to='{to}' id='{id}'><body>marker</body></message>"
        ))
        .await;
}

/// The recipient's next stanza is the marker `id` (see [`send_marker`]).
pub(crate) async fn expect_marker(recipient: &mut Raw, id: &str) {
    let next = recipient.recv().await;
    assert!(is_message(&next, id), "expected marker {id}, got {next:?}");
}

/// [`send_marker`] then [`expect_marker`].
pub(crate) async fn marker(sender: &mut Raw, recipient: &mut Raw, to: &str, id: &str) {
    send_marker(sender, to, id).await;
    expect_marker(recipient, id).await;
}
