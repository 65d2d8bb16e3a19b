//! Parsing the seed guide's authorization example (with names added).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vespa_tls_benches::SEED_CONFIG;

fn parse_seed(c: &mut Criterion) {
    c.bench_function("config/parse_seed", |b| {
        b.iter(|| vespa_tls_config::parse(black_box(SEED_CONFIG)).expect("seed config parses"))
    });
}

criterion_group!(benches, parse_seed);
criterion_main!(benches);
