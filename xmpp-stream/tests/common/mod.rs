//! Shared helpers for the framer tests.
#![allow(dead_code, unreachable_pub)]

use xmpp_stream::{FrameError, FrameEvent, Framer, Limits};

pub const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0' xml:lang='en'>";

/// Feeds `chunks` one after another and collects every event, stopping at the first error.
pub fn frame_chunks<'a>(
    limits: Limits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<FrameEvent>, Option<FrameError>) {
    let mut framer = Framer::new(limits);
    let mut events = Vec::new();
    for chunk in chunks {
        let mut buf = chunk;
        loop {
            match framer.poll_event(&mut buf) {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

pub fn frame(input: &[u8]) -> (Vec<FrameEvent>, Option<FrameError>) {
    frame_chunks(Limits::default(), [input])
}

/// The condition the stream is closed with for `input` after a valid header.
pub fn condition_after_header(body: &str) -> Option<&'static str> {
    let input = format!("{HEADER}{body}");
    frame(input.as_bytes()).1.map(|e| e.condition())
}
