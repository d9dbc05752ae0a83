//! Stream management (XEP-0198, `urn:xmpp:sm:3`) for the interop tests: a raw client that
//! keeps the client's side of the counts (the stanzas it received, its `h`, and the stanzas
//! it sent, what the server's `h` must say), logs in with or without binding (a resumption
//! happens before binding), enables, acknowledges and resumes.
//!
//! Counting follows XEP-0198 §4: only stanzas count (`<message/>`, `<presence/>`, `<iq/>` in
//! `jabber:client`), both ways, from `<enable/>` on; `<r/>`, `<a/>` and the other nonzas do
//! not.
#![allow(dead_code)]

use xmpp_core::{Element, StanzaCondition, StreamCondition, StreamError, ns};
use xmpp_sasl::Mechanism;

use super::TestServer;
use super::raw::Raw;

/// `<enable/>` asking for resumption.
pub(crate) const ENABLE_RESUME: &str = "<enable xmlns='urn:xmpp:sm:3' resume='true'/>";
/// `<enable/>` without resumption.
pub(crate) const ENABLE: &str = "<enable xmlns='urn:xmpp:sm:3'/>";
/// `<r/>`.
pub(crate) const REQUEST: &str = "<r xmlns='urn:xmpp:sm:3'/>";

/// Whether `e` is a stanza (what XEP-0198 counts).
pub(crate) fn is_stanza(e: &Element) -> bool {
    e.ns() == ns::JABBER_CLIENT && matches!(e.name(), "message" | "presence" | "iq")
}

/// Whether `e` is the server's `<r/>`.
pub(crate) fn is_request(e: &Element) -> bool {
    e.is("r", ns::SM)
}

/// The `h` of an `<a/>`, `<resumed/>` or `<failed/>`, which must be an unsignedInt.
#[track_caller]
pub(crate) fn h_of(e: &Element) -> u32 {
    let Some(h) = e.attr("h") else {
        panic!("no h in {e:?}")
    };
    h.parse()
        .unwrap_or_else(|_| panic!("h is not an unsignedInt: {e:?}"))
}

/// A stream on the Direct TLS listener authenticated as `user` (SCRAM-SHA-256) and
/// restarted: the client, and the features of the authenticated stream.
pub(crate) async fn authenticated(
    server: &TestServer,
    user: &str,
    password: &str,
) -> (Raw, Element) {
    let mut c = Raw::direct(server.direct, &server.cert_path()).await;
    c.open("localhost").await;
    let (result, _, _) = c.authenticate(Mechanism::ScramSha256, user, password).await;
    assert!(result.is("success", ns::SASL), "{user}: {result:?}");
    let (_, features) = c.open("localhost").await;
    (c, features)
}

/// Binds `resource` on an authenticated stream; the server must bind exactly
/// `user@localhost/resource`.
pub(crate) async fn bind(c: &mut Raw, user: &str, resource: &str) {
    c.send(&format!(
        "<iq type='set' id='bind'><bind xmlns='{}'><resource>{resource}</resource></bind></iq>",
        ns::BIND
    ))
    .await;
    let bound = c.recv().await;
    assert_eq!(bound.attr("type"), Some("result"), "{bound:?}");
    let jid = bound
        .get_child("bind", ns::BIND)
        .and_then(|b| b.child_text("jid", ns::BIND));
    assert_eq!(
        jid,
        Some(format!("{user}@localhost/{resource}")),
        "{bound:?}"
    );
}

/// `<failed/>` with `<item-not-found/>` (XEP-0198 §5: no session to resume).
#[track_caller]
pub(crate) fn assert_failed_item_not_found(e: &Element) {
    assert!(e.is("failed", ns::SM), "expected <failed/>, got {e:?}");
    assert!(
        e.has_child(StanzaCondition::ItemNotFound.as_str(), ns::XMPP_STANZAS),
        "expected <item-not-found/> in {e:?}"
    );
}

/// A client with stream management, counting both ways once it is enabled.
pub(crate) struct SmClient {
    /// The connection.
    pub(crate) raw: Raw,
    /// The full JID this stream is bound to (or resumed as).
    pub(crate) jid: String,
    /// Stanzas received since `<enable/>` (or carried over by a resumption): the client's
    /// `h`. Zero and not counted before.
    pub(crate) inbound: u32,
    /// Stanzas sent since `<enable/>`: what the server's `h` must reach.
    pub(crate) outbound: u32,
    /// `<r/>`s the server sent.
    pub(crate) requests: usize,
    /// Whether stream management is on (counting).
    pub(crate) enabled: bool,
}

impl SmClient {
    /// Logs in (Direct TLS, SCRAM-SHA-256) and binds `resource`; stream management is not on
    /// yet.
    pub(crate) async fn login(
        server: &TestServer,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Self {
        let (mut raw, features) = authenticated(server, user, password).await;
        assert!(
            features.has_child("sm", ns::SM),
            "no <sm/> after authentication: {features:?}"
        );
        bind(&mut raw, user, resource).await;
        Self::over(raw, format!("{user}@localhost/{resource}"))
    }

    /// A bound stream, stream management not on.
    pub(crate) fn over(raw: Raw, jid: String) -> Self {
        Self {
            raw,
            jid,
            inbound: 0,
            outbound: 0,
            requests: 0,
            enabled: false,
        }
    }

    /// [`login`](Self::login), then `<enable resume='true'/>`; returns the client and the
    /// resumption id of `<enabled/>`.
    pub(crate) async fn login_resumable(
        server: &TestServer,
        user: &str,
        password: &str,
        resource: &str,
    ) -> (Self, String) {
        let mut c = Self::login(server, user, password, resource).await;
        let enabled = c.enable(ENABLE_RESUME).await;
        let id = enabled
            .attr("id")
            .unwrap_or_else(|| panic!("no id in {enabled:?}"))
            .to_owned();
        (c, id)
    }

    /// Sends `enable` (an `<enable/>`); the server's next word must be `<enabled/>`, which is
    /// returned. Counting starts.
    pub(crate) async fn enable(&mut self, enable: &str) -> Element {
        self.raw.send(enable).await;
        let enabled = self.raw.recv().await;
        assert!(enabled.is("enabled", ns::SM), "{enabled:?}");
        self.enabled = true;
        self.inbound = 0;
        self.outbound = 0;
        enabled
    }

    /// Sends a stanza (counted).
    pub(crate) async fn send_stanza(&mut self, stanza: &str) {
        self.raw.send(stanza).await;
        if self.enabled {
            self.outbound += 1;
        }
    }

    /// Sends a nonza (`<a/>`, `<r/>`, ...: not counted).
    pub(crate) async fn send_nonza(&mut self, nonza: &str) {
        self.raw.send(nonza).await;
    }

    /// The next element, whatever it is (stanzas counted, `<r/>` counted and returned).
    pub(crate) async fn recv_any(&mut self) -> Element {
        let e = self.raw.recv().await;
        if self.enabled && is_stanza(&e) {
            self.inbound += 1;
        }
        if is_request(&e) {
            self.requests += 1;
        }
        e
    }

    /// The next element that is not an `<r/>` (those are counted and left unanswered).
    pub(crate) async fn recv(&mut self) -> Element {
        loop {
            let e = self.recv_any().await;
            if !is_request(&e) {
                return e;
            }
        }
    }

    /// The next element, which must be a stanza (`<r/>`s skipped).
    pub(crate) async fn recv_stanza(&mut self) -> Element {
        let e = self.recv().await;
        assert!(is_stanza(&e), "{}: expected a stanza, got {e:?}", self.jid);
        e
    }

    /// `<a h='…'/>` with everything received so far.
    pub(crate) async fn ack_all(&mut self) {
        let h = self.inbound;
        self.ack(h).await;
    }

    /// `<a h='h'/>`.
    pub(crate) async fn ack(&mut self, h: u32) {
        self.send_nonza(&format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>"))
            .await;
    }

    /// Sends `<r/>` and reads up to the server's `<a/>`: returns its `h` and the stanzas
    /// that came before it (`<r/>`s skipped). Any other nonza before it fails the test.
    pub(crate) async fn request_ack(&mut self) -> (u32, Vec<Element>) {
        self.send_nonza(REQUEST).await;
        let mut before = Vec::new();
        loop {
            let e = self.recv().await;
            if e.is("a", ns::SM) {
                return (h_of(&e), before);
            }
            assert!(is_stanza(&e), "{}: before <a/>: {e:?}", self.jid);
            before.push(e);
        }
    }

    /// Sends `<r/>`; the server's answer must come with nothing before it and count every
    /// stanza this client sent since `<enable/>`.
    pub(crate) async fn assert_all_handled(&mut self) {
        let (h, before) = self.request_ack().await;
        assert!(before.is_empty(), "{}: before <a/>: {before:?}", self.jid);
        assert_eq!(h, self.outbound, "{}: the server's h", self.jid);
    }

    /// A ping to the server (counted both ways); returns what came before its answer
    /// (`<r/>`s skipped).
    pub(crate) async fn until_pong(&mut self, id: &str) -> Vec<Element> {
        self.send_stanza(&format!(
            "<iq type='get' id='{id}' to='localhost'><ping xmlns='{}'/></iq>",
            ns::PING
        ))
        .await;
        let mut got = Vec::new();
        loop {
            let e = self.recv().await;
            if e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some(id) {
                assert_eq!(e.attr("type"), Some("result"), "{e:?}");
                return got;
            }
            got.push(e);
        }
    }

    /// A ping whose answer must be the next stanza.
    pub(crate) async fn ping(&mut self, id: &str) {
        let before = self.until_pong(id).await;
        assert!(
            before.is_empty(),
            "{}: before the pong: {before:?}",
            self.jid
        );
    }

    /// The server ends the stream with `condition` (after any `<r/>`s), then
    /// `</stream:stream>` and the end of the connection. Returns the parsed error.
    pub(crate) async fn expect_stream_error(&mut self, condition: StreamCondition) -> StreamError {
        let element = self.recv().await;
        assert!(element.is("error", ns::STREAM), "{}: {element:?}", self.jid);
        let error = StreamError::from_element(&element).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(error.condition, condition, "{element:?}");
        self.raw.expect_end().await;
        error
    }
}

/// A new connection that authenticates as `user` and sends `<resume previd h/>`: returns the
/// connection and the server's answer (`<resumed/>` or `<failed/>`). The authenticated
/// stream must offer `<sm/>`.
pub(crate) async fn try_resume(
    server: &TestServer,
    user: &str,
    password: &str,
    previd: &str,
    h: u32,
) -> (Raw, Element) {
    let (mut raw, features) = authenticated(server, user, password).await;
    assert!(
        features.has_child("sm", ns::SM),
        "no <sm/> after authentication: {features:?}"
    );
    raw.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{previd}' h='{h}'/>"
    ))
    .await;
    let answer = raw.recv().await;
    (raw, answer)
}

/// Resumes `old` (which was dropped) on a new connection, acknowledging `h` of what the
/// old stream received: the server must answer `<resumed previd h/>` with `h` counting
/// every stanza `old` sent. Returns the resumed client, counting on from `h` (the stanzas
/// the server sends again count anew, XEP-0198 §5), and the `<resumed/>`.
pub(crate) async fn resume(
    server: &TestServer,
    user: &str,
    password: &str,
    previd: &str,
    old_jid: &str,
    old_outbound: u32,
    h: u32,
) -> (SmClient, Element) {
    let (raw, resumed) = try_resume(server, user, password, previd, h).await;
    assert!(
        resumed.is("resumed", ns::SM),
        "expected <resumed/>, got {resumed:?}"
    );
    assert_eq!(resumed.attr("previd"), Some(previd), "{resumed:?}");
    assert_eq!(
        h_of(&resumed),
        old_outbound,
        "<resumed/> must count every stanza the old stream sent: {resumed:?}"
    );
    let client = SmClient {
        raw,
        jid: old_jid.to_owned(),
        inbound: h,
        outbound: old_outbound,
        requests: 0,
        enabled: true,
    };
    (client, resumed)
}
