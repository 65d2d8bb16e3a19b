//! The transport on loopback: the snoop, full mTLS handshakes through the acceptor (TLS-only
//! and mixed) against bare tokio-rustls with the same certificates and the same client, and a
//! TLS stream against a plaintext one.
//!
//! Handshakes: ECDSA P-256, TLS 1.3, mutual authentication, no resumption, the key exchange
//! rustls prefers (X25519MLKEM768). One connection at a time; the client side is identical for
//! every server, so differences are the server's. `handshake_cpu` reports process CPU (client
//! and server together) per handshake instead of wall time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::hint::black_box;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use vespa_tls_benches::cpu::process_cpu_time;
use vespa_tls_config::MixedMode;
use vespa_tls_context::TlsContext;
use vespa_tls_material::CryptoMaterial;
use vespa_tls_testkit::{Handshaker, Node, Server, TestConfig, TestPki};
use vespa_tls_transport::snoop::classify;
use vespa_tls_transport::{Acceptor, Connector, TlsSource};

fn context(node: &Node) -> Arc<TlsContext> {
    Arc::new(TestConfig::new(node.files()).context())
}

fn bare_server(node: &Node) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let material = CryptoMaterial::load(node.files()).expect("material");
    let mut roots = RootCertStore::empty();
    for ca in material.ca_certificates() {
        roots.add(ca.clone()).expect("CA");
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .expect("verifier");
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            material.chain().to_vec(),
            material.private_key().clone_key(),
        )
        .expect("certificate");
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// A sink server on loopback (testkit's): one byte after the handshake, then one per
/// `\n`-terminated chunk; runs until dropped.
async fn sink<H: Handshaker>(handshaker: H) -> Server<H> {
    Server::sink(handshaker).start().await.expect("bind")
}

async fn one_handshake(connector: &Connector, address: SocketAddr) {
    let (mut stream, _) = connector
        .connect_tcp(address, "localhost")
        .await
        .expect("handshake");
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte).await.expect("server byte");
}

fn snoop(c: &mut Criterion) {
    let hello = [0x16, 0x03, 0x01, 0x05, 0xdc, 0x01, 0x00, 0x05];
    c.bench_function("transport/snoop/client_hello", |b| {
        b.iter(|| classify(black_box(&hello)))
    });
    c.bench_function("transport/snoop/http_get", |b| {
        b.iter(|| classify(black_box(b"GET / HT")))
    });
}

fn handshakes(c: &mut Criterion) {
    let runtime = Runtime::new().expect("runtime");
    let pki = TestPki::new().expect("test PKI");
    let (server_ctx, client_ctx) = (context(pki.server()), context(pki.client()));
    let connector = Connector::new(
        TlsSource::Fixed(Arc::clone(&client_ctx)),
        MixedMode::TlsClientTlsServer,
    );
    let ours = |mode| Acceptor::new(TlsSource::Fixed(Arc::clone(&server_ctx)), mode);
    let tls_only = runtime.block_on(sink(ours(MixedMode::TlsClientTlsServer)));
    let mixed = runtime.block_on(sink(ours(MixedMode::TlsClientMixedServer)));
    let bare = runtime.block_on(sink(tokio_rustls::TlsAcceptor::from(bare_server(
        pki.server(),
    ))));
    let addresses = [
        ("acceptor_tls_only", tls_only.address),
        ("acceptor_mixed", mixed.address),
        ("bare_tokio_rustls", bare.address),
    ];
    for (_, address) in &addresses {
        runtime.block_on(one_handshake(&connector, *address));
    }

    let mut wall = c.benchmark_group("transport/handshake_wall");
    wall.measurement_time(Duration::from_secs(8));
    for (name, address) in &addresses {
        wall.bench_function(*name, |b| {
            b.to_async(&runtime)
                .iter(|| one_handshake(&connector, *address))
        });
    }
    wall.finish();

    let mut cpu = c.benchmark_group("transport/handshake_cpu");
    cpu.measurement_time(Duration::from_secs(8));
    for (name, address) in &addresses {
        cpu.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let before = process_cpu_time().expect("/proc schedstat");
                runtime.block_on(async {
                    for _ in 0..iters {
                        one_handshake(&connector, *address).await;
                    }
                });
                process_cpu_time()
                    .expect("/proc schedstat")
                    .saturating_sub(before)
            })
        });
    }
    cpu.finish();
}

fn streams(c: &mut Criterion) {
    const CHUNK: usize = 16 << 20;
    let runtime = Runtime::new().expect("runtime");
    let pki = TestPki::new().expect("test PKI");
    let (server_ctx, client_ctx) = (context(pki.server()), context(pki.client()));
    let tls_server = Acceptor::new(TlsSource::Fixed(server_ctx), MixedMode::TlsClientTlsServer);
    let plain_server = Acceptor::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer);
    let tls_client = Connector::new(TlsSource::Fixed(client_ctx), MixedMode::TlsClientTlsServer);
    let plain_client = Connector::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer);
    let mut payload = vec![0x5au8; CHUNK];
    payload[CHUNK - 1] = b'\n';

    let mut group = c.benchmark_group("transport/stream_16MiB");
    group.throughput(Throughput::Bytes(CHUNK as u64));
    group.sample_size(10);
    for (name, server, client) in [
        ("tls", tls_server, &tls_client),
        ("plaintext", plain_server, &plain_client),
    ] {
        let server = runtime.block_on(sink(server));
        let address = server.address;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let (mut stream, _) = client
                        .connect_tcp(address, "localhost")
                        .await
                        .expect("connect");
                    let mut byte = [0u8; 1];
                    stream.read_exact(&mut byte).await.expect("hello byte");
                    let start = Instant::now();
                    for _ in 0..iters {
                        stream.write_all(&payload).await.expect("write");
                        // tokio-rustls may keep the tail in its buffer when the socket was
                        // full; without a flush the last record (and its `\n`) never leaves.
                        stream.flush().await.expect("flush");
                        stream.read_exact(&mut byte).await.expect("ack");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, snoop, handshakes, streams);
criterion_main!(benches);
