//! Loading the seed guide's three files (CA bundle, host certificate, host key; EC P-256, as
//! Appendix A makes them), and the report a status page builds from them.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vespa_tls_material::CryptoMaterial;
use vespa_tls_pki::KeyType;
use vespa_tls_testkit::TestPki;

fn load(c: &mut Criterion) {
    for (name, key_type) in [
        ("ecdsa_p256", KeyType::EcdsaP256),
        ("rsa_2048", KeyType::Rsa2048),
    ] {
        let pki = TestPki::builder()
            .key_type(key_type)
            .build()
            .expect("test PKI");
        let files = pki.server().files().clone();
        c.bench_function(&format!("material/load_three_files/{name}"), |b| {
            b.iter(|| CryptoMaterial::load(black_box(&files)).expect("material loads"))
        });
        let material = CryptoMaterial::load(&files).expect("material loads");
        c.bench_function(&format!("material/report/{name}"), |b| {
            b.iter(|| material.report(black_box(pki.now())))
        });
    }
}

criterion_group!(benches, load);
criterion_main!(benches);
