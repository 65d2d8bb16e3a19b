//! Interop with real peers: `openssl s_client` against our acceptor, our connector against
//! `openssl s_server -Verify`. Skipped, with the reason printed, when openssl is missing.

use crate::common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{LIMIT, Seen, echo_server, source};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;
use vespa_tls_config::{CipherSuite, Files, MixedMode};
use vespa_tls_context::TlsContext;
use vespa_tls_pki::KeyType;
use vespa_tls_testkit::{Openssl, SServer, TestConfig, TestPki};
use vespa_tls_transport::{
    Acceptor, ConnectionAuthContext, ConnectionSecurity, Connector, TransportError,
};

fn s_client(port: u16, ca: &Files, identity: Option<&Files>, extra: &[&str]) -> Child {
    let identity =
        identity.map(|files| (files.certificates.as_path(), files.private_key.as_path()));
    let mut cmd = Command::new("openssl");
    cmd.args(Openssl::s_client_args(port, &ca.ca_certificates, identity))
        .args(["-verify_return_error", "-quiet"])
        .args(extra);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl s_client starts")
}

/// Sends a line through s_client and waits for it to come back.
async fn echoes(child: &mut Child, line: &str) -> bool {
    let mut stdin = child.stdin.take().expect("stdin");
    if stdin.write_all(line.as_bytes()).await.is_err() {
        return false;
    }
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let wanted = line.trim_end();
    let found = timeout(LIMIT, async {
        while let Ok(Some(got)) = stdout.next_line().await {
            if got == wanted {
                return true;
            }
        }
        false
    })
    .await;
    drop(stdin);
    matches!(found, Ok(true))
}

struct Rig {
    pki: TestPki,
    server: Arc<TlsContext>,
}

fn rig(key_type: KeyType) -> Rig {
    let pki = TestPki::builder()
        .key_type(key_type)
        .build()
        .expect("test PKI");
    let server = Arc::new(TestConfig::new(pki.server().files()).context());
    Rig { pki, server }
}

/// s_client with the client's certificate (and `extra` arguments) against our echo acceptor:
/// the line comes back, and the acceptor's view of the connection.
async fn s_client_accepted(rig: &Rig, extra: &[&str]) -> ConnectionAuthContext {
    let server = echo_server(Acceptor::new(
        source(Some(&rig.server)),
        MixedMode::TlsClientTlsServer,
    ))
    .await;
    let mut client = s_client(
        server.address.port(),
        rig.pki.client().files(),
        Some(rig.pki.client().files()),
        extra,
    );
    assert!(
        echoes(&mut client, "hello from openssl\n").await,
        "the echo came back over TLS ({extra:?})"
    );
    server.wait_seen(1).await;
    let seen = server.seen();
    match seen[0].auth() {
        Some(auth) => auth.clone(),
        None => panic!("accepted ({extra:?}): {seen:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_with_a_trusted_certificate_completes_and_exchanges_data() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let rig = rig(KeyType::EcdsaP256);
    let auth = s_client_accepted(&rig, &[]).await;
    assert!(auth.is_tls());
    assert_eq!(
        auth.peer_credentials().and_then(|c| c.common_name()),
        Some("client.localhost")
    );
}

async fn refused(rig: &Rig, identity: Option<&Files>, extra: &[&str]) -> TransportError {
    let server = echo_server(Acceptor::new(
        source(Some(&rig.server)),
        MixedMode::TlsClientTlsServer,
    ))
    .await;
    let mut client = s_client(
        server.address.port(),
        rig.pki.client().files(),
        identity,
        extra,
    );
    assert!(
        !echoes(&mut client, "should not echo\n").await,
        "no data may flow"
    );
    server.wait_seen(1).await;
    let mut seen = server.seen();
    match seen.remove(0) {
        Seen::Failed(error) => error,
        Seen::Accepted(auth) => panic!("accepted {auth:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_without_a_certificate_is_refused() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let rig = rig(KeyType::EcdsaP256);
    let error = refused(&rig, None, &[]).await;
    assert!(matches!(error, TransportError::Handshake { .. }), "{error}");
    assert!(error.to_string().contains("certificate"), "{error}");
    assert_eq!(
        rig.server.metrics().snapshot().server.failed_tls_handshakes,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_with_another_cas_certificate_is_refused() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let rig = rig(KeyType::EcdsaP256);
    let other = TestPki::new().expect("test PKI");
    let error = refused(&rig, Some(other.client().files()), &[]).await;
    assert!(matches!(error, TransportError::Handshake { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_speaking_tls_1_1_is_refused() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let rig = rig(KeyType::EcdsaP256);
    let files = rig.pki.client().files().clone();
    let error = refused(
        &rig,
        Some(&files),
        &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    )
    .await;
    assert!(matches!(error, TransportError::Handshake { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_connector_against_s_server_requiring_a_client_certificate() {
    if Openssl::or_skip().is_none() {
        return;
    }
    for key_type in [KeyType::EcdsaP256, KeyType::Rsa2048] {
        let rig = rig(key_type);
        let client = TestConfig::new(rig.pki.client().files()).context();
        let auth = s_server_reverses(&rig, client, key_type.as_str()).await;
        assert!(auth.is_tls());
        assert_eq!(
            auth.peer_credentials().and_then(|c| c.common_name()),
            Some("server.localhost")
        );
    }
}

/// Our connector on `client` against `s_server -rev` with the rig's server certificate: a
/// line comes back reversed, and the connector's view of the connection.
async fn s_server_reverses(rig: &Rig, client: TlsContext, what: &str) -> ConnectionAuthContext {
    let files = rig.pki.server().files();
    let server = SServer::start_async(files, &files.ca_certificates, Some(1), LIMIT)
        .await
        .expect("s_server listens");
    let connector = Connector::new(
        source(Some(&Arc::new(client))),
        MixedMode::TlsClientTlsServer,
    );
    let (mut stream, auth) = timeout(LIMIT, connector.connect_tcp(server.address, "localhost"))
        .await
        .expect("bounded")
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let reply = common::round_trip(&mut stream, b"abc\n")
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(reply, b"cba\n", "{what}");
    auth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_cannot_talk_to_a_tls_only_server() {
    let rig = rig(KeyType::EcdsaP256);
    let server = echo_server(Acceptor::new(
        source(Some(&rig.server)),
        MixedMode::TlsClientTlsServer,
    ))
    .await;
    let plain = Connector::new(source(None), MixedMode::TlsClientTlsServer)
        .with_handshake_timeout(Duration::from_secs(2));
    assert_eq!(
        common::exchange(&plain, server.address, "localhost").await,
        common::Outcome::Refused
    );
    server.wait_seen(1).await;
    assert!(matches!(
        &server.seen()[0],
        Seen::Failed(TransportError::PlaintextRefused { .. })
    ));
}

/// The suite a connection negotiated.
fn negotiated(auth: &ConnectionAuthContext) -> Option<CipherSuite> {
    match auth.security() {
        ConnectionSecurity::Tls { cipher_suite, .. } => Some(cipher_suite),
        ConnectionSecurity::Plaintext => None,
    }
}

/// OpenSSL's client lists TLS_AES_256_GCM_SHA384 first; our server takes the first suite of
/// its own order that the client offers: Vespa's order by default (TLS_AES_128_GCM_SHA256 for
/// TLS 1.3, an AES-256 suite first for TLS 1.2), `accepted-ciphers` as written when present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_order_decides_the_suite_with_openssl_clients() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let mut rig = rig(KeyType::EcdsaP256);
    let aes256_first = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
    let auth = s_client_accepted(&rig, &["-tls1_3", "-ciphersuites", aes256_first]).await;
    assert_eq!(negotiated(&auth), Some(CipherSuite::Tls13Aes128GcmSha256));
    let aes128_first = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384";
    let auth = s_client_accepted(&rig, &["-tls1_2", "-cipher", aes128_first]).await;
    assert_eq!(
        negotiated(&auth),
        Some(CipherSuite::EcdheEcdsaWithAes256GcmSha384)
    );

    // An operator who lists AES-256 first gets it, whatever the client prefers.
    rig.server = Arc::new(
        TestConfig::new(rig.pki.server().files())
            .accepted_ciphers([
                CipherSuite::Tls13Aes256GcmSha384,
                CipherSuite::Tls13Aes128GcmSha256,
                CipherSuite::EcdheEcdsaWithAes128GcmSha256,
            ])
            .context(),
    );
    let aes128_first = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
    let auth = s_client_accepted(&rig, &["-tls1_3", "-ciphersuites", aes128_first]).await;
    assert_eq!(negotiated(&auth), Some(CipherSuite::Tls13Aes256GcmSha384));
}

/// Each TLS 1.3 suite (each with its own key schedule: SHA-384 on our precomputed HKDF,
/// SHA-256 on rustls') with OpenSSL on the other end, both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tls13_suite_with_openssl_both_ways() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let rig = rig(KeyType::EcdsaP256);
    let tls13 = [
        CipherSuite::Tls13Aes256GcmSha384,
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::Tls13Chacha20Poly1305Sha256,
    ];
    for suite in tls13 {
        // s_client offering only this suite against our acceptor.
        let auth = s_client_accepted(&rig, &["-tls1_3", "-ciphersuites", suite.as_str()]).await;
        assert_eq!(negotiated(&auth), Some(suite));
        // Our connector accepting only this suite (and one TLS 1.2 suite, which every config
        // must keep) against s_server.
        let client = TestConfig::new(rig.pki.client().files())
            .accepted_ciphers([suite, CipherSuite::EcdheEcdsaWithAes128GcmSha256])
            .context();
        let auth = s_server_reverses(&rig, client, suite.as_str()).await;
        assert_eq!(negotiated(&auth), Some(suite));
    }
}
