//! Arbitrary bytes, fed in arbitrary chunks, to the TCP framer and to the WebSocket framer.
//!
//! Checks: no panic, no hang; errors are sticky; every element the framer returns serialises
//! to bytes that parse back to the same element.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use xmpp_core::Element;
use xmpp_core::xml::parse_element;
use xmpp_stream::{FrameEvent, Framer, Limits, WebSocketFramer};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Split points, as lengths of consecutive chunks.
    chunks: Vec<u8>,
    /// Whether to use small limits, so the limit paths get exercised often.
    small_limits: bool,
    data: Vec<u8>,
}

fn check_element(el: &Element) {
    let bytes = el.to_bytes();
    assert!(
        std::str::from_utf8(&bytes).is_ok(),
        "the writer emits UTF-8"
    );
    // Re-declared prefixes can make our output larger than the input: read it back loosely.
    let loose = Limits::default().for_own_output();
    let back = parse_element(&bytes, &loose).expect("what we write must parse");
    assert_eq!(&back, el);
}

fuzz_target!(|input: Input| {
    let limits = if input.small_limits {
        Limits {
            max_element_bytes: 512,
            max_depth: 4,
            max_attributes: 4,
            max_namespace_declarations: 2,
            max_token_length: 32,
        }
    } else {
        Limits::default()
    };

    let mut framer = Framer::new(limits);
    let mut rest: &[u8] = &input.data;
    let mut sizes = input.chunks.iter().map(|&n| usize::from(n) + 1).cycle();
    let mut failed = None;
    while !rest.is_empty() {
        let n = if input.chunks.is_empty() {
            rest.len()
        } else {
            sizes.next().unwrap_or(1)
        };
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        let mut buf = chunk;
        loop {
            match framer.poll_event(&mut buf) {
                Ok(Some(FrameEvent::Element(el))) => check_element(&el),
                Ok(Some(_)) => {}
                Ok(None) => {
                    assert!(buf.is_empty(), "Ok(None) leaves no input behind");
                    break;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            let mut again: &[u8] = b"<a/>";
            assert_eq!(framer.poll_event(&mut again), Err(e), "errors are sticky");
            break;
        }
    }

    // The same bytes, split the same way, as WebSocket messages.
    let mut ws = WebSocketFramer::new(limits);
    let _ = ws.handle_message(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    let mut rest: &[u8] = &input.data;
    let mut sizes = input.chunks.iter().map(|&n| usize::from(n) + 1).cycle();
    while !rest.is_empty() {
        let n = if input.chunks.is_empty() {
            rest.len()
        } else {
            sizes.next().unwrap_or(1)
        };
        let (msg, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        match ws.handle_message(msg) {
            Ok(FrameEvent::Element(el)) => check_element(&el),
            Ok(_) => {}
            Err(_) => break,
        }
    }
});
