//! Odd and hostile clients (VESPA-BEHAVIOUR §5), each against a mixed and a TLS-only server,
//! while good clients keep being served.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{LIMIT, Outcome, Seen, Server, echo_server, echoes, exchange, source};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::TlsContext;
use vespa_tls_testkit::{LegacyClientHello, TestConfig, TestPki, oversized_hello_config};
use vespa_tls_transport::{Acceptor, Connector, TransportError};

const DEADLINE: Duration = Duration::from_millis(400);

struct Rig {
    _pki: TestPki,
    server_ctx: Arc<TlsContext>,
    client_ctx: Arc<TlsContext>,
}

fn rig() -> Rig {
    let pki = TestPki::new().expect("test setup");
    let server_ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let client_ctx = Arc::new(TestConfig::new(pki.client().files()).context());
    Rig {
        _pki: pki,
        server_ctx,
        client_ctx,
    }
}

async fn server(rig: &Rig, mode: MixedMode) -> Server {
    echo_server(Acceptor::new(source(Some(&rig.server_ctx)), mode).with_handshake_timeout(DEADLINE))
        .await
}

/// Sends `bytes`, then reads whatever comes back until EOF, error or 3 s.
async fn poke(address: std::net::SocketAddr, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(address).await.expect("test setup");
    stream.write_all(bytes).await.expect("test setup");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match timeout(Duration::from_secs(3), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= bytes.len() && got.starts_with(bytes) {
                    break false; // the echo came back in full
                }
            }
            Err(_) => break false,
        }
    };
    (got, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_at_the_deadline() {
    let rig = rig();
    for mode in [
        MixedMode::TlsClientMixedServer,
        MixedMode::TlsClientTlsServer,
    ] {
        let server = server(&rig, mode).await;
        let started = tokio::time::Instant::now();
        let (got, closed) = poke(server.address, &[0x16, 0x03, 0x01]).await;
        assert!(got.is_empty() && closed, "{mode}: closed without a reply");
        // Closed by the deadline rather than left hanging (poke waits 3 s at most; the bound is
        // loose because CI machines are busy).
        assert!(started.elapsed() < LIMIT, "{mode}: closed by the deadline");
        server.wait_seen(1).await;
        let failed = server.failures();
        assert!(failed[0].contains("within 400ms"), "{mode}: {failed:?}");
        // Good clients are still served.
        let good = Connector::new(source(Some(&rig.client_ctx)), mode);
        assert_eq!(
            exchange(&good, server.address, "localhost").await,
            Outcome::Tls
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eof_during_the_snoop_is_a_clean_failure() {
    let rig = rig();
    let server = server(&rig, MixedMode::TlsClientMixedServer).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(&[0x16, 0x03]).await.unwrap();
    stream.shutdown().await.unwrap();
    server.wait_seen(1).await;
    assert!(
        server.failures()[0].contains("closed after 2 bytes"),
        "{:?}",
        server.failures()
    );
    assert_eq!(
        rig.server_ctx
            .metrics()
            .snapshot()
            .server
            .failed_tls_handshakes,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_are_plaintext_to_a_mixed_server_and_refused_by_a_tls_only_one() {
    let rig = rig();
    let junk: Vec<u8> = (0u32..300)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_ne!(junk[0], 0x16);
    let mixed = server(&rig, MixedMode::PlaintextClientMixedServer).await;
    let (got, _) = poke(mixed.address, &junk).await;
    assert_eq!(
        got, junk,
        "a mixed server hands non-TLS bytes to the plaintext side, replayed"
    );
    let strict = server(&rig, MixedMode::TlsClientTlsServer).await;
    let (got, closed) = poke(strict.address, &junk).await;
    assert!(got.is_empty() && closed);
    strict.wait_seen(1).await;
    assert!(
        strict.failures()[0].contains("plaintext refused"),
        "{:?}",
        strict.failures()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_1_1_client_hello_is_answered_with_an_alert_on_both_kinds_of_server() {
    let rig = rig();
    // rustls first requires signature_algorithms (handshake_failure, 40), then TLS 1.2 or
    // newer (protocol_version, 70). Either way the snoop passed it to TLS, and it fails there.
    for (hello, alert) in [
        (LegacyClientHello::tls11().to_bytes(), 40u8),
        (
            LegacyClientHello::tls11()
                .with_signature_algorithms()
                .to_bytes(),
            70u8,
        ),
    ] {
        for mode in [
            MixedMode::TlsClientMixedServer,
            MixedMode::TlsClientTlsServer,
        ] {
            let before = rig
                .server_ctx
                .metrics()
                .snapshot()
                .server
                .failed_tls_handshakes;
            let server = server(&rig, mode).await;
            let (got, closed) = poke(server.address, &hello).await;
            assert!(closed, "{mode}");
            // An alert record: content type 21, level fatal (2), then the description.
            assert_eq!(got.first(), Some(&0x15), "{mode}: {got:02x?}");
            assert_eq!(
                got.get(5..7),
                Some(&[0x02, alert][..]),
                "{mode}: {got:02x?}"
            );
            server.wait_seen(1).await;
            let after = rig
                .server_ctx
                .metrics()
                .snapshot()
                .server
                .failed_tls_handshakes;
            assert_eq!(after, before + 1, "{mode}");
            assert_eq!(server.seen()[0].is_tls(), None);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_in_a_tls_1_1_record_is_plaintext_to_a_mixed_server() {
    let rig = rig();
    let hello = LegacyClientHello::tls11().record_version(0x02).to_bytes();
    let mixed = server(&rig, MixedMode::TlsClientMixedServer).await;
    let (got, _) = poke(mixed.address, &hello).await;
    assert_eq!(
        got, hello,
        "rule 2 fails: the plaintext side gets it, as in Vespa"
    );
    let strict = server(&rig, MixedMode::TlsClientTlsServer).await;
    let (got, closed) = poke(strict.address, &hello).await;
    assert!(got.is_empty() && closed);
    strict.wait_seen(1).await;
    assert!(strict.failures()[0].contains("unexpected TLS record version"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hello_over_16_kib() {
    let rig = rig();
    // Seventy 250-byte ALPN names make a ClientHello of about 18 KB: two records.
    let config = oversized_hello_config(&rig.client_ctx.client_config());
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").unwrap();

    // Mixed: rule 6 fails in the first record, so it is plaintext (both Vespa stacks agree);
    // the echo server sends the hello back and the client's handshake fails.
    let mixed = server(&rig, MixedMode::TlsClientMixedServer).await;
    let tcp = TcpStream::connect(mixed.address).await.unwrap();
    let result = timeout(LIMIT, connector.connect(name.clone(), tcp))
        .await
        .unwrap();
    assert!(result.is_err());
    mixed.wait_seen(1).await;
    assert_eq!(mixed.seen()[0].is_tls(), Some(false));

    // TLS only: rustls reassembles the hello and the handshake completes.
    let strict = server(&rig, MixedMode::TlsClientTlsServer).await;
    let tcp = TcpStream::connect(strict.address).await.unwrap();
    let mut stream = timeout(LIMIT, connector.connect(name, tcp))
        .await
        .unwrap()
        .unwrap();
    assert!(echoes(&mut stream, b"big hello\n").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_connections_do_not_stop_good_clients() {
    let rig = rig();
    let server = server(&rig, MixedMode::TlsClientMixedServer).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(server.address).await.unwrap());
    }
    let good = Connector::new(
        source(Some(&rig.client_ctx)),
        MixedMode::TlsClientMixedServer,
    );
    for _ in 0..5 {
        assert_eq!(
            exchange(&good, server.address, "localhost").await,
            Outcome::Tls
        );
    }
    // Every idle connection is closed by the deadline.
    for mut stream in idle {
        let mut buf = [0u8; 1];
        let read = timeout(LIMIT, stream.read(&mut buf)).await.unwrap();
        assert!(matches!(read, Ok(0) | Err(_)));
    }
    server.wait_seen(305).await;
    let timeouts = server
        .failures()
        .iter()
        .filter(|f| f.contains("within"))
        .count();
    assert_eq!(timeouts, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_a_certificate_or_from_another_ca_are_refused() {
    let rig = rig();
    let server = server(&rig, MixedMode::TlsClientTlsServer).await;
    let other = TestPki::new().unwrap();
    let stranger = Arc::new(
        TestConfig::new(other.client().files())
            .disable_hostname_validation(true)
            .context(),
    );
    let connector = Connector::new(source(Some(&stranger)), MixedMode::TlsClientTlsServer);
    assert_eq!(
        exchange(&connector, server.address, "localhost").await,
        Outcome::Refused
    );
    server.wait_seen(1).await;
    assert!(matches!(
        &server.seen()[0],
        Seen::Failed(TransportError::Handshake { .. })
    ));
}
