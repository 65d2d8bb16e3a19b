//! ALPN: the acceptor's and the connector's protocol lists, the choice on both ends' stream and
//! auth context, `openssl s_client -alpn` as the peer that is not ours, and plaintext peers of
//! a mixed-mode server (no ALPN, still served).

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::TlsContext;
use vespa_tls_testkit::{Openssl, TestConfig, TestPki};
use vespa_tls_transport::{Acceptor, Connector, TransportError};

use crate::common::{LIMIT, Outcome, Seen, echo_server, exchange, source};

struct Rig {
    pki: TestPki,
    server: Arc<TlsContext>,
    client: Arc<TlsContext>,
}

fn rig() -> Rig {
    let pki = TestPki::new().expect("test PKI");
    let server = Arc::new(TestConfig::new(pki.server().files()).context());
    let client = Arc::new(TestConfig::new(pki.client().files()).context());
    Rig {
        pki,
        server,
        client,
    }
}

fn http_acceptor(rig: &Rig, mixed: MixedMode) -> Acceptor {
    Acceptor::new(source(Some(&rig.server)), mixed).with_alpn_protocols([&b"h2"[..], b"http/1.1"])
}

/// What the client's stream and auth context say, and what the server recorded.
async fn negotiated(rig: &Rig, offered: &[&[u8]]) -> Result<Option<Vec<u8>>, TransportError> {
    let server = echo_server(http_acceptor(rig, MixedMode::TlsClientTlsServer)).await;
    let connector = Connector::new(source(Some(&rig.client)), MixedMode::TlsClientTlsServer)
        .with_alpn_protocols(offered.iter().copied());
    let (mut stream, auth) = timeout(LIMIT, connector.connect_tcp(server.address, "localhost"))
        .await
        .expect("bounded")?;
    let chosen = stream.alpn_protocol().map(<[u8]>::to_vec);
    assert_eq!(auth.alpn_protocol(), chosen.as_deref());
    // TLS 1.3: a refusal by the server surfaces on the first read.
    stream
        .write_all(b"ping\n")
        .await
        .map_err(|error| TransportError::Io {
            peer: vespa_tls_transport::Peer(None),
            error,
        })?;
    let mut reply = [0u8; 5];
    timeout(LIMIT, stream.read_exact(&mut reply))
        .await
        .expect("bounded")
        .map_err(|error| TransportError::Io {
            peer: vespa_tls_transport::Peer(None),
            error,
        })?;
    server.wait_seen(1).await;
    let seen = server.seen();
    let auth = seen[0].auth().expect("accepted");
    assert_eq!(auth.alpn_protocol(), chosen.as_deref(), "the server's view");
    Ok(chosen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_picks_its_first_protocol_the_client_offers() {
    let rig = rig();
    let h2 = negotiated(&rig, &[b"h2", b"http/1.1"])
        .await
        .expect("connects");
    assert_eq!(h2.as_deref(), Some(&b"h2"[..]));
    let http1 = negotiated(&rig, &[b"http/1.1"]).await.expect("connects");
    assert_eq!(http1.as_deref(), Some(&b"http/1.1"[..]));
    // The server's preference wins over the client's order.
    let preferred = negotiated(&rig, &[b"http/1.1", b"h2"])
        .await
        .expect("connects");
    assert_eq!(preferred.as_deref(), Some(&b"h2"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_alpn_connects_without_a_protocol() {
    let rig = rig();
    assert_eq!(negotiated(&rig, &[]).await.expect("connects"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offering_only_unknown_protocols_is_refused() {
    let rig = rig();
    let server = echo_server(http_acceptor(&rig, MixedMode::TlsClientTlsServer)).await;
    let connector = Connector::new(source(Some(&rig.client)), MixedMode::TlsClientTlsServer)
        .with_alpn_protocols([&b"spdy/3"[..]]);
    let error = timeout(LIMIT, connector.connect_tcp(server.address, "localhost"))
        .await
        .expect("bounded")
        .expect_err("no common protocol");
    let no_protocol = |e: Option<&rustls::Error>| {
        matches!(
            e,
            Some(
                rustls::Error::NoApplicationProtocol
                    | rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
            )
        )
    };
    assert!(no_protocol(error.rustls_error()), "{error:?}");
    server.wait_seen(1).await;
    let seen = server.seen();
    let failure = seen[0].failure().expect("refused");
    assert!(no_protocol(failure.rustls_error()), "{failure:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_peers_of_a_mixed_server_still_connect_and_have_no_protocol() {
    let rig = rig();
    let server = echo_server(http_acceptor(&rig, MixedMode::TlsClientMixedServer)).await;
    let plain = Connector::new(source(None), MixedMode::TlsClientMixedServer)
        .with_alpn_protocols([&b"h2"[..]]);
    assert_eq!(
        exchange(&plain, server.address, "localhost").await,
        Outcome::Plaintext
    );
    let tls = Connector::new(source(Some(&rig.client)), MixedMode::TlsClientMixedServer)
        .with_alpn_protocols([&b"h2"[..]]);
    assert_eq!(
        exchange(&tls, server.address, "localhost").await,
        Outcome::Tls
    );
    server.wait_seen(2).await;
    let seen = server.seen();
    let protocols: Vec<(bool, Option<&[u8]>)> = seen
        .iter()
        .map(|s| {
            let auth = s.auth().expect("accepted");
            (auth.is_tls(), auth.alpn_protocol())
        })
        .collect();
    assert!(protocols.contains(&(false, None)), "{protocols:?}");
    assert!(
        protocols.contains(&(true, Some(&b"h2"[..]))),
        "{protocols:?}"
    );
}

/// `openssl s_client -alpn <list>` against the acceptor; what the server recorded.
async fn s_client_alpn(rig: &Rig, offered: &str) -> Seen {
    let server = echo_server(http_acceptor(rig, MixedMode::TlsClientTlsServer)).await;
    let files = rig.pki.client().files();
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(server.address.to_string())
        .args(["-servername", "localhost", "-alpn", offered, "-quiet"])
        .arg("-CAfile")
        .arg(&files.ca_certificates)
        .arg("-cert")
        .arg(&files.certificates)
        .arg("-key")
        .arg(&files.private_key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl s_client starts");
    server.wait_seen(1).await;
    let _ = child.kill().await;
    server
        .finish(LIMIT)
        .await
        .into_iter()
        .next()
        .expect("one connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_gets_the_protocol_it_asks_for() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let rig = rig();
    let h2 = s_client_alpn(&rig, "h2,http/1.1").await;
    assert_eq!(
        h2.auth().and_then(|a| a.alpn_protocol()),
        Some(&b"h2"[..]),
        "{h2:?}"
    );
    let http1 = s_client_alpn(&rig, "http/1.1").await;
    assert_eq!(
        http1.auth().and_then(|a| a.alpn_protocol()),
        Some(&b"http/1.1"[..]),
        "{http1:?}"
    );
    let unknown = s_client_alpn(&rig, "imap").await;
    assert!(unknown.failure().is_some(), "{unknown:?}");
}
