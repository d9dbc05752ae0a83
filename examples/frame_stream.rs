//! Reads an XMPP stream from standard input with `xmpp_stream::Framer` and prints what it
//! finds: the header, each top-level element (re-serialised from the tree), keep-alives, the
//! close, or the stream error the input earns.
//!
//! ```sh
//! printf "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
//!   to='example.org' version='1.0'><message to='a@example.org'><body>hi</body></message>" \
//!   | cargo run -p chatrix-examples --example frame_stream
//! ```

use std::io::Read as _;

use xmpp_stream::{FrameEvent, Framer, Limits};

fn main() -> std::io::Result<()> {
    let mut framer = Framer::new(Limits::default());
    let mut stdin = std::io::stdin().lock();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stdin.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        let mut buf = &chunk[..n];
        loop {
            match framer.poll_event(&mut buf) {
                Ok(Some(FrameEvent::StreamOpen(h))) => println!(
                    "stream open: to={:?} version={:?} content namespace {}",
                    h.to, h.version, h.content_ns
                ),
                Ok(Some(FrameEvent::Element(el))) => println!("element: {el}"),
                Ok(Some(FrameEvent::Whitespace)) => println!("keep-alive"),
                Ok(Some(FrameEvent::StreamClose)) => println!("stream closed"),
                Ok(Some(other)) => println!("{other:?}"),
                Ok(None) => break,
                Err(e) => {
                    println!("stream error <{}/>: {e}", e.condition());
                    return Ok(());
                }
            }
        }
    }
}
