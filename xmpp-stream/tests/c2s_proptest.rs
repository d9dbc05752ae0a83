//! Properties over arbitrary input: no input makes the connection panic, its output always
//! parses, it closes at most once and stays closed, and how the input is split into reads
//! changes nothing.

mod support;

use proptest::prelude::*;
use support::{Client, DOMAIN, PASSWORD, USER, header_to};
use xmpp_core::{StanzaCondition, StanzaError, StreamCondition, StreamError};
use xmpp_sasl::encode_sasl_payload;
use xmpp_stream::c2s::{Event, ResumeError, Resumed, SmState};

fn closed_count(events: &std::collections::VecDeque<Event>) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Closed { .. }))
        .count()
}

/// The state of a session with one stanza unacknowledged, from a connection of its own. The
/// random source is fixed, so every call gives the same resumption id, which the `<resume/>`
/// snippets name.
fn resumable_state() -> Option<SmState> {
    let (mut old, _) = Client::bound();
    old.conn.handle_input(
        &mut &b"<enable xmlns='urn:xmpp:sm:3' resume='true'/>"[..],
        old.now,
    );
    old.conn
        .send_element(&support::el("<message xmlns='jabber:client'/>"))
        .ok()?;
    old.conn.handle_peer_eof();
    old.conn.take_sm_state()
}

fn resumable_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        resumable_state()
            .and_then(|s| s.resumption().map(|r| r.id.clone()))
            .expect("a resumable state")
    })
}

/// Snippets that mean something to the state machine, so random sequences get somewhere.
fn snippets() -> Vec<String> {
    let plain = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
    vec![
        header_to(DOMAIN),
        header_to("other.example"),
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".into(),
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>"),
        format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{}</auth>",
            encode_sasl_payload(b"n,,n=juliet,r=abcdefghijkl")
        ),
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>".into(),
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdz</response>".into(),
        "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into(),
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>".into(),
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>r</resource></bind></iq>"
            .into(),
        "<iq type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>".into(),
        "<message to='romeo@example.net'><body>x</body></message>".into(),
        "<presence/>".into(),
        "<iq type='result' id='ping-x'/>".into(),
        " \n".into(),
        "</stream:stream>".into(),
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
            .into(),
        "<enable xmlns='urn:xmpp:sm:3' resume='true'/>".into(),
        "<enable xmlns='urn:xmpp:sm:3'/>".into(),
        "<r xmlns='urn:xmpp:sm:3'/>".into(),
        "<a xmlns='urn:xmpp:sm:3' h='1'/>".into(),
        "<a xmlns='urn:xmpp:sm:3' h='0'/>".into(),
        format!(
            "<resume xmlns='urn:xmpp:sm:3' previd='{}' h='0'/>",
            resumable_id()
        ),
        format!(
            "<resume xmlns='urn:xmpp:sm:3' previd='{}' h='5'/>",
            resumable_id()
        ),
        "<resume xmlns='urn:xmpp:sm:3' previd='unknown' h='0'/>".into(),
        "<inactive xmlns='urn:xmpp:csi:0'/>".into(),
        "<a".into(),
        "&amp;".into(),
        "\u{0}".into(),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Snippet(usize),
    Bytes(Vec<u8>),
    Advance(u16),
    Credentials,
    NoSuchUser,
    BindOk,
    BindErr,
    Tls,
    Eof,
    Close,
    Send,
    SendSerialized,
    Handled,
    RequestAck,
    ResumeOk,
    ResumeErr,
    TakeSm,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..snippets().len()).prop_map(Op::Snippet),
        2 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Op::Bytes),
        1 => any::<u16>().prop_map(Op::Advance),
        1 => Just(Op::Credentials),
        1 => Just(Op::NoSuchUser),
        1 => Just(Op::BindOk),
        1 => Just(Op::BindErr),
        1 => Just(Op::Tls),
        1 => Just(Op::Eof),
        1 => Just(Op::Close),
        1 => Just(Op::Send),
        1 => Just(Op::SendSerialized),
        1 => Just(Op::Handled),
        1 => Just(Op::RequestAck),
        1 => Just(Op::ResumeOk),
        1 => Just(Op::ResumeErr),
        1 => Just(Op::TakeSm),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// security.md principle: a panic on peer input is a bug. Arbitrary bytes after a valid
    /// header, in arbitrary reads, on each kind of connection; the output must stay parseable
    /// (the harness panics otherwise) and the stream closes at most once.
    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        kind in 0u8..3,
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
    ) {
        let mut c = match kind {
            0 => Client::plaintext(),
            1 => Client::direct_tls(),
            _ => Client::bound().0,
        };
        if kind != 2 {
            let _ = c.open();
        }
        for chunk in &chunks {
            c.send_bytes(chunk);
        }
        prop_assert!(closed_count(&c.events) <= 1);
        if c.conn.is_closed() {
            prop_assert!(c.unread.is_empty());
        }
    }

    /// Random sequences of everything a driver and a peer can do, in any order.
    #[test]
    fn random_operations_never_panic(
        ops in proptest::collection::vec(op(), 0..40),
        tls in any::<bool>(),
    ) {
        let mut c = if tls { Client::direct_tls() } else { Client::plaintext() };
        c.auto = false;
        let snippets = snippets();
        let mut wire_at_close = None;
        for op in ops {
            match op {
                Op::Snippet(i) => c.send(&snippets[i]),
                Op::Bytes(b) => c.send_bytes(&b),
                Op::Advance(s) => c.advance(std::time::Duration::from_secs(u64::from(s))),
                Op::Credentials => c.conn.provide_credentials(support::records(PASSWORD)),
                Op::NoSuchUser => c.conn.provide_no_such_user(),
                Op::BindOk => {
                    if let Some(account) = c.conn.account().cloned()
                        && let Ok(jid) = account.with_resource("r")
                    {
                        c.conn.complete_bind(Ok(jid));
                    }
                }
                Op::BindErr => {
                    let conflict = StanzaError::new(StanzaCondition::Conflict);
                    c.conn.complete_bind(Err(conflict));
                }
                Op::Tls => c.conn.handle_tls_established(support::bindings(), c.now),
                Op::Eof => c.conn.handle_peer_eof(),
                Op::Close => c.conn.close(StreamError::new(StreamCondition::SystemShutdown)),
                Op::Send => {
                    let _ = c.conn.send_element(&support::el("<message xmlns='jabber:client'/>"));
                }
                Op::SendSerialized => {
                    let _ = c.conn.send_serialized(bytes::Bytes::from_static(b"<message/>"));
                }
                Op::Handled => c.conn.stanza_handled(),
                Op::RequestAck => c.conn.request_ack(),
                Op::ResumeOk => {
                    if let Some(account) = c.conn.account().cloned()
                        && let Ok(jid) = account.with_resource("r")
                        && let Some(state) = resumable_state()
                    {
                        c.conn.complete_resume(Ok(Resumed::new(jid, state)));
                    }
                }
                Op::ResumeErr => c.conn.complete_resume(Err(ResumeError::NotFound)),
                Op::TakeSm => {
                    let _ = c.conn.take_sm_state();
                }
            }
            c.pump();
            c.feed();
            if c.conn.is_closed() {
                match &wire_at_close {
                    None => wire_at_close = Some(c.wire.clone()),
                    Some(w) => prop_assert_eq!(w, &c.wire, "output after the close"),
                }
            }
        }
        prop_assert!(closed_count(&c.events) <= 1);
    }

    /// The same client bytes, split into reads anywhere, give the same output and events.
    #[test]
    fn splitting_the_input_changes_nothing(
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let plain = encode_sasl_payload(format!("\0{USER}\0{PASSWORD}").as_bytes());
        let transcript = format!(
            "{h}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>\
             {h}<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>caf\u{e9}</resource></bind></iq>\
             <message to='romeo@example.net'><body>\u{1f3ad} &amp; more</body></message> \
             </stream:stream>",
            h = header_to(DOMAIN)
        );
        let bytes = transcript.as_bytes();

        let mut whole = Client::direct_tls();
        whole.send_bytes(bytes);
        prop_assert!(whole.conn.is_closed());

        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut split = Client::direct_tls();
        let mut last = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            split.send_bytes(&bytes[last..p]);
            last = p;
        }
        prop_assert_eq!(&whole.wire, &split.wire);
        prop_assert_eq!(&whole.events, &split.events);
    }
}

/// The premise of the `<resume/>` snippets: the id is the same every time, so a random
/// sequence can reach a successful resumption.
#[test]
fn the_resume_snippet_can_succeed() {
    let mut c = Client::plaintext();
    let _ = c.login();
    c.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{}' h='0'/>",
        resumable_id()
    ));
    let jid = c
        .conn
        .account()
        .cloned()
        .and_then(|a| a.with_resource("r").ok());
    let state = resumable_state().expect("state");
    c.conn
        .complete_resume(Ok(Resumed::new(jid.expect("jid"), state)));
    c.pump();
    assert!(matches!(
        c.find_event(|e| matches!(e, Event::Resumed { .. })),
        Event::Resumed { .. }
    ));
}
