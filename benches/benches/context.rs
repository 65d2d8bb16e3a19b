//! Full in-memory mTLS handshakes through `TlsContext` versus the same handshake on bare rustls
//! configs with webpki's verifiers (same certificates, same aws-lc-rs provider, same key
//! exchange preference — X25519MLKEM768 first — no resumption on either), and reload times.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::crypto::tls13::{Hkdf, HkdfExpander, OkmBlock};
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use vespa_tls_context::{ReloadOptions, ReloadingTlsContext, TlsContext, TlsMetrics, TlsModes};
use vespa_tls_material::CryptoMaterial;
use vespa_tls_pki::KeyType;
use vespa_tls_testkit::{Node, TestConfig, TestPki, handshake_in_memory};

fn context(node: &Node) -> TlsContext {
    TestConfig::new(node.files()).context()
}

/// The server's CA bundle as rustls roots.
fn bare_roots(server_material: &CryptoMaterial) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for ca in server_material.ca_certificates() {
        roots.add(ca.clone()).expect("CA certificate");
    }
    Arc::new(roots)
}

/// rustls' webpki client verifier over the server's CA bundle, on aws-lc-rs.
fn bare_client_verifier(pki: &TestPki) -> Arc<dyn ClientCertVerifier> {
    let material = CryptoMaterial::load(pki.server().files()).expect("material");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    WebPkiClientVerifier::builder_with_provider(bare_roots(&material), provider)
        .build()
        .expect("client verifier")
}

/// What a Rust service would write without vespa-tls: webpki verifiers, one certificate.
fn bare(pki: &TestPki) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let load = |node: &Node| CryptoMaterial::load(node.files()).expect("material");
    let (server_material, client_material) = (load(pki.server()), load(pki.client()));
    let roots = bare_roots(&server_material);
    let verifier = bare_client_verifier(pki);
    let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            server_material.chain().to_vec(),
            server_material.private_key().clone_key(),
        )
        .expect("server certificate");
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(
            client_material.chain().to_vec(),
            client_material.private_key().clone_key(),
        )
        .expect("client certificate");
    client.resumption = rustls::client::Resumption::disabled();
    (Arc::new(client), Arc::new(server))
}

fn handshakes(c: &mut Criterion) {
    let localhost = ServerName::try_from("localhost").expect("name");
    let mut group = c.benchmark_group("context/handshake");
    group.measurement_time(Duration::from_secs(8));
    for (name, key_type) in [
        ("ecdsa_p256", KeyType::EcdsaP256),
        ("rsa_2048", KeyType::Rsa2048),
    ] {
        let pki = TestPki::builder()
            .key_type(key_type)
            .build()
            .expect("test PKI");
        let (server, client) = (context(pki.server()), context(pki.client()));
        let check = handshake_in_memory(
            client.client_config(),
            server.server_config(),
            localhost.clone(),
        );
        assert!(check.ok(), "TlsContext handshake must succeed");
        assert_eq!(
            check
                .client
                .negotiated_key_exchange_group()
                .map(|g| g.name()),
            Some(rustls::NamedGroup::X25519MLKEM768)
        );
        group.bench_function(format!("tls_context/{name}"), |b| {
            b.iter(|| {
                handshake_in_memory(
                    client.client_config(),
                    server.server_config(),
                    localhost.clone(),
                )
            })
        });
        let (bare_client, bare_server) = bare(&pki);
        let check = handshake_in_memory(
            Arc::clone(&bare_client),
            Arc::clone(&bare_server),
            localhost.clone(),
        );
        assert!(check.ok(), "bare rustls handshake must succeed");
        group.bench_function(format!("bare_rustls/{name}"), |b| {
            b.iter(|| {
                handshake_in_memory(
                    Arc::clone(&bare_client),
                    Arc::clone(&bare_server),
                    localhost.clone(),
                )
            })
        });
    }
    group.finish();
}

fn reloads(c: &mut Criterion) {
    let pki = TestPki::new().expect("test PKI");
    let json = std::fs::read(pki.server().config_path()).expect("config");
    let (options, _) = vespa_tls_config::parse_slice(&json).expect("config parses");
    c.bench_function("context/build_from_files", |b| {
        b.iter(|| {
            TlsContext::from_options(
                &options,
                TlsModes::default(),
                Arc::new(TlsMetrics::default()),
            )
            .expect("context builds")
        })
    });

    // A full reload: the config file alternates between two node identities, so every
    // iteration reads, validates, builds and publishes a new snapshot.
    let other = pki
        .issue("other", &pki.localhost_params("server.localhost"))
        .expect("node");
    let configs = [json, std::fs::read(other.config_path()).expect("config")];
    let path = pki.dir().join("reload.json");
    std::fs::write(&path, &configs[0]).expect("write config");
    let manual = ReloadOptions {
        watch: false,
        ..ReloadOptions::default()
    };
    let ctx = ReloadingTlsContext::from_file(&path, TlsModes::default(), manual).expect("loads");
    let mut next = 1;
    c.bench_function("context/reload_changed", |b| {
        b.iter(|| {
            std::fs::write(&path, &configs[next]).expect("write config");
            next = 1 - next;
            ctx.reload().expect("reload")
        })
    });
    c.bench_function("context/reload_unchanged", |b| {
        b.iter(|| ctx.reload().expect("reload"))
    });
}

/// The verification path alone, as a server runs it for a client: the same chain every time
/// (a hit in the verified-chain cache after the first), and a chain the snapshot has never
/// seen every time, with its cache full of other chains, as on a server that has run a while
/// (each batch of 1,500 new chains goes to a fresh snapshot first filled with 1,024 others,
/// outside the timing; a cycle through fewer chains would be served by hits once they are
/// seen twice).
fn verification(c: &mut Criterion) {
    let pki = TestPki::new().expect("test PKI");
    let server = context(pki.server());
    let now = rustls::pki_types::UnixTime::now();
    let repeat = pki.client_in_memory().expect("client").chain;
    let params = pki.localhost_params("client.localhost");
    let key = &pki.client().issued.key_pem;
    let chains = |n| -> Vec<Vec<_>> {
        (0..n)
            .map(|_| {
                vec![
                    pki.issuer()
                        .issue_for_key(&params, key)
                        .expect("certificate")
                        .cert_der,
                ]
            })
            .collect()
    };
    let first_contact = chains(1500);
    let filler = chains(1024);
    let role = vespa_tls_context::PeerRole::Client;
    let mut group = c.benchmark_group("context/verify_peer");
    group.bench_function("repeat", |b| {
        b.iter(|| {
            server
                .verify_peer(&repeat, role, None, now)
                .expect("verified")
        });
    });
    group.bench_function("first_contact", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let server = context(pki.server());
                for chain in &filler {
                    server
                        .verify_peer(chain, role, None, now)
                        .expect("verified");
                }
                let batch = (iters - done).min(first_contact.len() as u64);
                let chains = first_contact
                    .iter()
                    .take(usize::try_from(batch).expect("batch"));
                let start = Instant::now();
                for chain in chains {
                    black_box(
                        server
                            .verify_peer(chain, role, None, now)
                            .expect("verified"),
                    );
                }
                timed += start.elapsed();
                done += batch;
            }
            timed
        });
    });
    let mut next = 0;
    // The floor of a first contact: webpki's client verifier on the same chains, the
    // verification bare tokio-rustls does on every connection.
    let webpki = bare_client_verifier(&pki);
    group.bench_function("bare_webpki", |b| {
        b.iter(|| {
            next = (next + 1) % first_contact.len();
            let (leaf, intermediates) = first_contact[next].split_first().expect("leaf");
            webpki
                .verify_client_cert(leaf, intermediates, now)
                .expect("verified")
        });
    });
    group.finish();
}

/// The HKDF of a TLS 1.3 suite in `provider`.
fn tls13_hkdf(
    provider: &rustls::crypto::CryptoProvider,
    suite: rustls::CipherSuite,
) -> &'static dyn Hkdf {
    provider
        .cipher_suites
        .iter()
        .find_map(|s| match s {
            rustls::SupportedCipherSuite::Tls13(s) if s.common.suite == suite => {
                Some(s.hkdf_provider)
            }
            _ => None,
        })
        .expect("a TLS 1.3 suite")
}

/// Folds `bytes` into `acc`, so every output of the key schedule is compared and used.
fn mix(acc: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(acc, |acc, b| {
        acc.wrapping_mul(0x0100_0000_01b3) ^ u64::from(*b)
    })
}

/// The HKDF calls one side of a TLS 1.3 handshake makes (RFC 8446 section 7.1, in rustls'
/// order): early secret, handshake secret, both handshake traffic secrets with their keys and
/// IVs, both Finished MACs, master secret, both application traffic secrets with keys and IVs,
/// the exporter secret. `transcript` stands for a transcript hash (hash-long).
fn key_schedule(hkdf: &dyn Hkdf, shared: &[u8], transcript: &[u8]) -> u64 {
    let block =
        |expander: &dyn HkdfExpander, label: &[u8]| expander.expand_block(&[label, transcript]);
    let traffic = |acc: u64, secret: &OkmBlock| {
        let expander = hkdf.expander_for_okm(secret);
        let (mut key, mut iv) = ([0u8; 32], [0u8; 12]);
        expander
            .expand_slice(&[b"tls13 key"], &mut key)
            .expect("key");
        expander.expand_slice(&[b"tls13 iv"], &mut iv).expect("iv");
        mix(mix(acc, &key), &iv)
    };
    let early = hkdf.extract_from_zero_ikm(None);
    let derived = block(early.as_ref(), b"tls13 derived");
    let handshake = hkdf.extract_from_secret(Some(derived.as_ref()), shared);
    let client_hs = block(handshake.as_ref(), b"tls13 c hs traffic");
    let server_hs = block(handshake.as_ref(), b"tls13 s hs traffic");
    let mut acc = traffic(traffic(0, &client_hs), &server_hs);
    for secret in [&client_hs, &server_hs] {
        let finished = block(hkdf.expander_for_okm(secret).as_ref(), b"tls13 finished");
        acc = mix(acc, hkdf.hmac_sign(&finished, transcript).as_ref());
    }
    let derived = block(handshake.as_ref(), b"tls13 derived");
    let master = hkdf.extract_from_zero_ikm(Some(derived.as_ref()));
    let client_ap = block(master.as_ref(), b"tls13 c ap traffic");
    let server_ap = block(master.as_ref(), b"tls13 s ap traffic");
    acc = traffic(traffic(acc, &client_ap), &server_ap);
    mix(acc, block(master.as_ref(), b"tls13 exp master").as_ref())
}

/// Our TLS 1.3 HKDF (the PRK extracted once, HMAC pads hashed once per key) against rustls'
/// aws-lc-rs one, on the key schedule of one side of a handshake, in the same run.
fn hkdf(c: &mut Criterion) {
    let pki = TestPki::new().expect("test PKI");
    let server = context(pki.server()).server_config();
    let stock = rustls::crypto::aws_lc_rs::default_provider();
    let mut group = c.benchmark_group("context/tls13_key_schedule");
    for (name, suite, hash_len) in [
        ("sha384", rustls::CipherSuite::TLS13_AES_256_GCM_SHA384, 48),
        ("sha256", rustls::CipherSuite::TLS13_AES_128_GCM_SHA256, 32),
    ] {
        let ours = tls13_hkdf(server.crypto_provider(), suite);
        let theirs = tls13_hkdf(&stock, suite);
        let (shared, transcript) = ([7u8; 32], vec![9u8; hash_len]);
        assert_eq!(
            key_schedule(ours, &shared, &transcript),
            key_schedule(theirs, &shared, &transcript),
            "the same keys"
        );
        group.bench_function(format!("vespa_tls/{name}"), |b| {
            b.iter(|| key_schedule(ours, black_box(&shared), &transcript))
        });
        group.bench_function(format!("rustls_aws_lc_rs/{name}"), |b| {
            b.iter(|| key_schedule(theirs, black_box(&shared), &transcript))
        });
    }
    group.finish();
}

criterion_group!(benches, handshakes, reloads, verification, hkdf);
criterion_main!(benches);
