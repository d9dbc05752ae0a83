//! Credential derivation (registration, password change): one PBKDF2 plus three HMAC/hash calls,
//! at 4096 and 10000 iterations for each hash.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use xmpp_sasl::{ScramHash, StoredCredentials};

fn derivation(c: &mut Criterion) {
    let mut group = c.benchmark_group("derive_credentials");
    group.sample_size(20);
    for hash in ScramHash::ALL {
        for iterations in [4096u32, 10_000] {
            group.bench_with_input(
                BenchmarkId::new(hash.as_str(), iterations),
                &iterations,
                |b, &i| {
                    b.iter(|| {
                        StoredCredentials::derive(
                            hash,
                            black_box("correct horse battery staple"),
                            black_box(b"0123456789abcdef"),
                            i,
                        )
                        .expect("derive")
                    });
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, derivation);
criterion_main!(benches);
