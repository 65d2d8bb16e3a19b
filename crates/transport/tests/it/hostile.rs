//! Odd and hostile clients (VESPA-BEHAVIOUR §5), each against a mixed and a TLS-only server,
//! while good clients keep being served.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use crate::common::{LIMIT, Outcome, Seen, context, echo_server, exchange, source};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{TlsContext, TlsModes};
use vespa_tls_testkit::TestPki;
use vespa_tls_transport::{Acceptor, Connector, TransportError};

const DEADLINE: Duration = Duration::from_millis(400);

struct Rig {
    _pki: TestPki,
    server_ctx: Arc<TlsContext>,
    client_ctx: Arc<TlsContext>,
}

fn rig() -> Rig {
    let pki = TestPki::new().expect("test setup");
    let server_ctx = context(pki.server().files(), "", TlsModes::default());
    let client_ctx = context(pki.client().files(), "", TlsModes::default());
    Rig {
        _pki: pki,
        server_ctx,
        client_ctx,
    }
}

async fn server(rig: &Rig, mode: MixedMode) -> common::EchoServer {
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

/// The ClientHello `openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'` sends (OpenSSL 3.0):
/// legacy_version 0x0302, CBC suites only, no supported_versions extension.
fn tls11_client_hello(record_version: u8) -> Vec<u8> {
    tls11_client_hello_with(record_version, false)
}

/// The same, optionally with a signature_algorithms extension (which TLS 1.1 never sends).
fn tls11_client_hello_with(record_version: u8, signature_algorithms: bool) -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0); // session id
    let suites = [
        0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x35, 0x00,
        0x2f, 0x00, 0xff,
    ];
    body.extend_from_slice(&[0x00, u8::try_from(suites.len()).expect("test setup")]);
    body.extend_from_slice(&suites);
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    let extensions = [
        0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, // ec_point_formats
        0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00,
        0x18, // supported_groups
        0x00, 0x23, 0x00, 0x00, // session_ticket
        0x00, 0x16, 0x00, 0x00, // encrypt_then_mac
        0x00, 0x17, 0x00, 0x00, // extended_master_secret
    ];
    let mut extensions = extensions.to_vec();
    if signature_algorithms {
        extensions.extend_from_slice(&[0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03]);
    }
    body.extend_from_slice(&[0x00, u8::try_from(extensions.len()).expect("test setup")]);
    body.extend_from_slice(&extensions);
    let mut handshake = vec![
        0x01,
        0x00,
        0x00,
        u8::try_from(body.len()).expect("test setup"),
    ];
    handshake.extend_from_slice(&body);
    let mut record = vec![
        0x16,
        0x03,
        record_version,
        0x00,
        u8::try_from(handshake.len()).expect("test setup"),
    ];
    record.extend_from_slice(&handshake);
    record
}

fn failures(server: &common::EchoServer) -> Vec<String> {
    server
        .seen
        .lock()
        .expect("test setup")
        .iter()
        .filter_map(|s| match s {
            Seen::Failed(e) => Some(e.to_string()),
            Seen::Accepted(_) => None,
        })
        .collect()
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
        let failed = failures(&server);
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
        failures(&server)[0].contains("closed after 2 bytes"),
        "{:?}",
        failures(&server)
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
        failures(&strict)[0].contains("plaintext refused"),
        "{:?}",
        failures(&strict)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_1_1_client_hello_is_answered_with_an_alert_on_both_kinds_of_server() {
    let rig = rig();
    // rustls first requires signature_algorithms (handshake_failure, 40), then TLS 1.2 or
    // newer (protocol_version, 70). Either way the snoop passed it to TLS, and it fails there.
    for (hello, alert) in [
        (tls11_client_hello(0x01), 40u8),
        (tls11_client_hello_with(0x01, true), 70u8),
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
            assert_eq!(server.seen.lock().unwrap()[0].is_tls(), None);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_in_a_tls_1_1_record_is_plaintext_to_a_mixed_server() {
    let rig = rig();
    let hello = tls11_client_hello(0x02);
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
    assert!(failures(&strict)[0].contains("unexpected TLS record version"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hello_over_16_kib() {
    let rig = rig();
    // Seventy 250-byte ALPN names make a ClientHello of about 18 KB: two records.
    let mut config = (*rig.client_ctx.client_config()).clone();
    config.alpn_protocols = (0..70).map(|i| vec![b'a' + (i % 26) as u8; 250]).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
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
    assert_eq!(mixed.seen.lock().unwrap()[0].is_tls(), Some(false));

    // TLS only: rustls reassembles the hello and the handshake completes.
    let strict = server(&rig, MixedMode::TlsClientTlsServer).await;
    let tcp = TcpStream::connect(strict.address).await.unwrap();
    let mut stream = timeout(LIMIT, connector.connect(name, tcp))
        .await
        .unwrap()
        .unwrap();
    stream.write_all(b"big hello\n").await.unwrap();
    stream.flush().await.unwrap();
    let mut reply = [0u8; 10];
    timeout(LIMIT, stream.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&reply, b"big hello\n");
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
    let timeouts = failures(&server)
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
    let stranger = context(
        other.client().files(),
        r#""disable-hostname-validation": true"#,
        TlsModes::default(),
    );
    let connector = Connector::new(source(Some(&stranger)), MixedMode::TlsClientTlsServer);
    assert_eq!(
        exchange(&connector, server.address, "localhost").await,
        Outcome::Refused
    );
    server.wait_seen(1).await;
    assert!(matches!(
        &server.seen.lock().unwrap()[0],
        Seen::Failed(TransportError::Handshake { .. })
    ));
}
