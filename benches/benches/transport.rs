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
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use vespa_tls_benches::cpu::process_cpu_time;
use vespa_tls_config::MixedMode;
use vespa_tls_context::TlsContext;
use vespa_tls_material::CryptoMaterial;
use vespa_tls_testkit::{Node, TestConfig, TestPki};
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

enum Server {
    Ours(Acceptor),
    Bare(tokio_rustls::TlsAcceptor),
}

/// Accepts forever; each connection gets one byte after the handshake, then is read to EOF
/// (discarding, replying one byte per `\n`-terminated chunk end).
async fn serve(server: Arc<Server>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let _ = socket.set_nodelay(true);
            let server = Arc::clone(&server);
            tokio::spawn(async move {
                match &*server {
                    Server::Ours(acceptor) => {
                        if let Ok((stream, _)) = acceptor.accept_tcp(socket).await {
                            sink(stream).await;
                        }
                    }
                    Server::Bare(acceptor) => {
                        if let Ok(stream) = acceptor.accept(socket).await {
                            sink(stream).await;
                        }
                    }
                }
            });
        }
    });
    address
}

async fn sink<S: AsyncReadExt + AsyncWriteExt + Unpin>(mut stream: S) {
    if stream.write_all(b"!").await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if buf[..n].ends_with(b"\n")
                    && (stream.write_all(b"!").await.is_err() || stream.flush().await.is_err())
                {
                    return;
                }
            }
        }
    }
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
    let servers = [
        (
            "acceptor_tls_only",
            Server::Ours(Acceptor::new(
                TlsSource::Fixed(Arc::clone(&server_ctx)),
                MixedMode::TlsClientTlsServer,
            )),
        ),
        (
            "acceptor_mixed",
            Server::Ours(Acceptor::new(
                TlsSource::Fixed(Arc::clone(&server_ctx)),
                MixedMode::TlsClientMixedServer,
            )),
        ),
        (
            "bare_tokio_rustls",
            Server::Bare(tokio_rustls::TlsAcceptor::from(bare_server(pki.server()))),
        ),
    ];
    let addresses: Vec<(&str, SocketAddr)> = servers
        .into_iter()
        .map(|(name, server)| (name, runtime.block_on(serve(Arc::new(server)))))
        .collect();
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
    let tls_server = Server::Ours(Acceptor::new(
        TlsSource::Fixed(server_ctx),
        MixedMode::TlsClientTlsServer,
    ));
    let plain_server = Server::Ours(Acceptor::new(
        TlsSource::disabled(),
        MixedMode::TlsClientTlsServer,
    ));
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
        let address = runtime.block_on(serve(Arc::new(server)));
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
