//! Framer throughput against rxml's own event throughput on the same bytes.
//!
//! `cargo bench -p xmpp-stream --bench framer`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rxml::{Parse, WithOptions};
use std::hint::black_box;
use xmpp_stream::{FrameEvent, Framer, Limits};

#[path = "support/corpus.rs"]
mod corpus;

const ROUNDS: usize = 200;
/// Read size: what one TLS record typically hands over.
const CHUNK: usize = 16 * 1024;

/// Counts the events one of rxml's parsers produces from `input`, read in `CHUNK`s.
fn rxml_events<P: Parse + WithOptions>(input: &[u8]) -> usize {
    let mut parser = P::with_options(rxml::Options::default());
    let mut n = 0;
    for mut chunk in input.chunks(CHUNK) {
        loop {
            match parser.parse(&mut chunk, false) {
                Ok(Some(ev)) => {
                    black_box(&ev);
                    n += 1;
                }
                Ok(None) | Err(rxml::error::EndOrError::NeedMoreData) => break,
                Err(rxml::error::EndOrError::Error(e)) => panic!("{e}"),
            }
        }
    }
    n
}

fn framer_elements(input: &[u8]) -> usize {
    let mut framer = Framer::new(Limits::default());
    let mut n = 0;
    for mut chunk in input.chunks(CHUNK) {
        while let Some(ev) = framer.poll_event(&mut chunk).expect("the corpus is valid") {
            if let FrameEvent::Element(el) = ev {
                black_box(&el);
                n += 1;
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let (input, stanzas) = corpus::stream(ROUNDS);
    assert_eq!(framer_elements(&input), stanzas);

    let mut bytes = c.benchmark_group("stream-bytes");
    bytes.throughput(Throughput::Bytes(input.len() as u64));
    bytes.bench_function("rxml-raw-events", |b| {
        b.iter(|| rxml_events::<rxml::RawParser>(black_box(&input)));
    });
    bytes.bench_function("rxml-namespaced-events", |b| {
        b.iter(|| rxml_events::<rxml::Parser>(black_box(&input)));
    });
    bytes.bench_function("framer-with-trees", |b| {
        b.iter(|| framer_elements(black_box(&input)));
    });
    bytes.finish();

    let mut count = c.benchmark_group("stream-stanzas");
    count.throughput(Throughput::Elements(stanzas as u64));
    count.bench_function("framer-with-trees", |b| {
        b.iter(|| framer_elements(black_box(&input)));
    });
    count.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
