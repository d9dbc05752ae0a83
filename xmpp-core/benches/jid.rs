//! JID parsing: already-normalised ASCII (the fast path) against input that needs PRECIS,
//! UTS #46 or just lowercasing; plus the cheap derived values a router makes all the time.
//!
//! `CARGO_TARGET_DIR=/work/target-jid cargo bench -p xmpp-core --bench jid -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use xmpp_core::jid::{FullJid, Jid};

const INPUTS: &[(&str, &str)] = &[
    ("normalised/full", "user@example.org/resource"),
    ("normalised/bare", "user@example.org"),
    ("normalised/domain", "example.org"),
    ("ascii-upper/full", "User@Example.ORG/Res"),
    ("unicode/localpart", "σίσυφος@example.org/phone"),
    ("unicode/capital-localpart", "Σίσυφος@example.org/phone"),
    ("unicode/full-width-localpart", "ＪＵＬＩＥＴ@example.org"),
    ("unicode/domain", "juliet@bücher.example"),
    ("punycode/domain", "juliet@xn--bcher-kva.example"),
    ("unicode/resource", "juliet@example.org/balcony 🎭"),
];

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("jid-parse");
    for &(name, input) in INPUTS {
        g.bench_function(name, |b| b.iter(|| Jid::new(black_box(input))));
    }
    g.finish();
}

fn derive(c: &mut Criterion) {
    let full = FullJid::new("user@example.org/resource").expect("valid");
    let mut g = c.benchmark_group("jid-derive");
    g.bench_function("to_bare", |b| b.iter(|| black_box(&full).to_bare()));
    g.bench_function("clone", |b| b.iter(|| black_box(&full).clone()));
    g.bench_function("with_resource", |b| {
        b.iter(|| black_box(&full).with_resource(black_box("other")));
    });
    g.finish();
}

criterion_group!(benches, parse, derive);
criterion_main!(benches);
