//! The counters on their own: wrapping at 2^32, deferred acks, the window of acks.

use bytes::Bytes;

use super::{HandledCountTooHigh, SmSession, SmState, parse_enable, parse_h, wire};
use xmpp_core::Element;
use xmpp_core::ns;

fn session(max_unacked: usize) -> SmSession {
    SmSession::new(SmState::new(None), 0, max_unacked)
}

fn stanza(n: u32) -> Bytes {
    Bytes::from(format!("<message id='{n}'/>"))
}

#[test]
fn outbound_counter_wraps_at_2_pow_32() {
    let mut sm = session(10);
    // As if 2^32 - 2 stanzas had been sent and acknowledged.
    sm.state.sent = (1 << 32) - 2;
    for n in 0..4 {
        sm.push(Some(stanza(n)));
    }
    assert_eq!(sm.state.sent(), 2, "2^32 + 2 on the wire is 2");
    assert_eq!(sm.state.acked(), u32::MAX - 1);
    // The client's h wrapped too: 0 is 2^32, two of the four.
    sm.ack(0).expect("within the window");
    assert_eq!(sm.state.unacked_count(), 2);
    let left: Vec<_> = sm.state.unacked().cloned().collect();
    assert_eq!(left, [stanza(2), stanza(3)]);
    sm.ack(2).expect("all of them");
    assert_eq!(sm.state.unacked_count(), 0);
    // One more than sent, across the wrap.
    assert_eq!(
        sm.ack(3),
        Err(HandledCountTooHigh {
            h: 3,
            send_count: 2
        })
    );
}

#[test]
fn inbound_counter_wraps_at_2_pow_32() {
    let mut sm = session(10);
    sm.state.received = u64::from(u32::MAX);
    sm.state.handled = u64::from(u32::MAX);
    assert!(sm.request(), "nothing in flight: answered at once");
    assert_eq!(sm.h(), u32::MAX);
    sm.received_for_driver();
    assert!(!sm.request(), "waits for the driver");
    assert_eq!(sm.driver_handled(), 1);
    assert_eq!(sm.h(), 0, "2^32 wraps to zero");
    sm.received_for_driver();
    assert_eq!(sm.driver_handled(), 0);
    assert_eq!(sm.h(), 1);
}

#[test]
fn an_ack_going_backwards_is_refused_like_one_too_high() {
    let mut sm = session(10);
    for n in 0..3 {
        sm.push(Some(stanza(n)));
    }
    sm.ack(2).expect("two of three");
    assert_eq!(
        sm.ack(1),
        Err(HandledCountTooHigh {
            h: 1,
            send_count: 3
        })
    );
    // The failed ack changed nothing.
    assert_eq!(sm.state.unacked_count(), 1);
    sm.ack(2).expect("the same h again is fine");
    sm.ack(3).expect("the rest");
}

#[test]
fn deferred_acks_wait_for_the_count_their_request_saw() {
    let mut sm = session(10);
    sm.received_for_driver();
    sm.received_for_driver();
    assert!(!sm.request()); // saw 2
    sm.received_for_driver();
    assert!(!sm.request()); // saw 3
    assert_eq!(sm.driver_handled(), 0);
    assert_eq!(sm.driver_handled(), 1, "the first request is answered at 2");
    assert_eq!(sm.h(), 2);
    assert_eq!(sm.driver_handled(), 1, "the second at 3");
    assert_eq!(sm.h(), 3);
    assert_eq!(
        sm.driver_handled(),
        0,
        "an extra confirmation counts nothing"
    );
    assert_eq!(sm.h(), 3);
}

#[test]
fn stanzas_the_connection_handles_itself_wait_for_earlier_ones() {
    let mut sm = session(10);
    assert_eq!(sm.received_self_handled(), 0);
    assert_eq!(sm.h(), 1, "nothing before it: handled at once");
    sm.received_for_driver(); // 2
    assert_eq!(sm.received_self_handled(), 0); // 3
    assert_eq!(sm.h(), 1, "3 waits for 2");
    assert!(!sm.request());
    assert_eq!(sm.driver_handled(), 1, "2 and 3 at once answer the request");
    assert_eq!(sm.h(), 3);
}

#[test]
fn stanzas_from_before_enable_are_not_counted() {
    let mut sm = SmSession::new(SmState::new(None), 2, 10);
    sm.received_for_driver();
    assert_eq!(sm.driver_handled(), 0);
    assert_eq!(sm.driver_handled(), 0);
    assert_eq!(sm.h(), 0, "the two confirmations were for older stanzas");
    sm.driver_handled();
    assert_eq!(sm.h(), 1);
}

#[test]
fn a_flood_of_requests_is_coalesced() {
    let mut sm = session(10);
    sm.received_for_driver();
    for _ in 0..super::MAX_PENDING_ACKS {
        assert!(!sm.request());
    }
    sm.received_for_driver();
    assert!(!sm.request());
    assert_eq!(sm.pending_acks.len(), super::MAX_PENDING_ACKS);
    assert_eq!(sm.driver_handled(), super::MAX_PENDING_ACKS - 1);
    assert_eq!(sm.driver_handled(), 1);
}

#[test]
fn the_queue_is_bounded() {
    let mut sm = session(2);
    assert!(sm.has_room());
    sm.push(Some(stanza(0)));
    assert!(sm.has_room());
    sm.push(None);
    assert!(!sm.has_room());
    assert_eq!(sm.state.sent(), 2);
    assert_eq!(sm.state.unacked().count(), 1, "pings are not handed over");
    assert_eq!(sm.state.unacked_count(), 2);
}

#[test]
fn enable_attributes_are_read_strictly() {
    let enable = |attrs: &str| {
        parse_enable(
            &format!("<enable xmlns='{}' {attrs}/>", ns::SM)
                .parse::<Element>()
                .expect("XML"),
        )
    };
    assert_eq!(enable("").map(|e| (e.resume, e.max)), Some((false, None)));
    assert_eq!(
        enable("resume='1' max='60'").map(|e| (e.resume, e.max)),
        Some((true, Some(60)))
    );
    assert_eq!(enable("resume='false'").map(|e| e.resume), Some(false));
    assert_eq!(
        enable("resume='true' max='99999999999999999999999'").map(|e| e.max),
        Some(Some(u64::MAX))
    );
    assert!(enable("resume='yes'").is_none());
    assert!(enable("max='0'").is_none());
    assert!(enable("max='-1'").is_none());
    assert!(enable("max='+5'").is_none());
}

#[test]
fn h_is_an_unsigned_int() {
    assert_eq!(parse_h(Some("0")), Some(0));
    assert_eq!(parse_h(Some("4294967295")), Some(u32::MAX));
    assert_eq!(parse_h(Some("4294967296")), None);
    assert_eq!(parse_h(Some("")), None);
    assert_eq!(parse_h(Some("+1")), None);
    assert_eq!(parse_h(Some(" 1")), None);
    assert_eq!(parse_h(None), None);
    assert_eq!(wire((1 << 32) + 5), 5);
}
