//! The gRPC examples, driven in process: `examples/grpc_server.rs` answers Python's grpcio (a
//! client that is not ours: mutual TLS, a certificate no policy admits, a policy without the
//! capability, plaintext h2c in mixed mode) and `examples/grpc_client.rs` (tonic on our
//! `HttpsConnector`). Both examples read their configuration as a Vespa process does; here the
//! variables come through `VespaTls::from_lookup` instead of the process environment.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::time::timeout;
use tonic_health::pb::health_check_response::ServingStatus;
use vespa_tls_config::{Files, MixedMode};
use vespa_tls_context::HandshakeFailure;
use vespa_tls_pki::NodeParams;
use vespa_tls_testkit::{TestPki, python_with_or_skip};
use vespa_tls_transport::{TransportError, VespaTls};

use crate::common::{LIMIT, example_server_config, vespa_tls};

#[path = "../../examples/grpc_server.rs"]
#[expect(
    dead_code,
    reason = "the example's main and run are for its own binary"
)]
mod grpc_server;

#[path = "../../examples/grpc_client.rs"]
#[expect(dead_code, reason = "the example's main is for its own binary")]
mod grpc_client;

/// One unary `grpc.health.v1.Health/Check` with grpcio's generic API and raw protobuf (no
/// generated stubs): the empty request is no bytes, SERVING is field 1 = 1 (`08 01`).
/// argv: target, `tls` CA cert key | `insecure`. Prints `SERVING`, or the status code and
/// details.
const GRPCIO_CHECK: &str = r#"
import sys, grpc
target, mode = sys.argv[1], sys.argv[2]
if mode == "tls":
    ca, cert, key = (open(p, "rb").read() for p in sys.argv[3:6])
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert)
    channel = grpc.secure_channel(target, credentials)
else:
    channel = grpc.insecure_channel(target)
check = channel.unary_unary(
    "/grpc.health.v1.Health/Check",
    request_serializer=lambda raw: raw,
    response_deserializer=lambda raw: raw)
try:
    reply = check(b"", timeout=8)
    print("SERVING" if reply == b"\x08\x01" else "reply " + reply.hex())
except grpc.RpcError as error:
    print(error.code().name, error.details())
"#;

/// The example's server on a loopback port of its own.
async fn start_server(tls: &VespaTls) -> SocketAddr {
    let listener = grpc_server::bind(tls, "127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr();
    tokio::spawn(grpc_server::serve(listener));
    address
}

/// The example's server config (see [`example_server_config`]).
fn server_config(pki: &TestPki) -> std::path::PathBuf {
    example_server_config(pki, "grpc-server.json")
}

/// Runs [`GRPCIO_CHECK`] against `address`, with the certificate and key of `identity` (and
/// its CA bundle), or plaintext.
async fn grpcio_check(python: &str, address: SocketAddr, identity: Option<&Files>) -> String {
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-I", "-c", GRPCIO_CHECK])
        .arg(address.to_string());
    match identity {
        Some(files) => command.arg("tls").args([
            &files.ca_certificates,
            &files.certificates,
            &files.private_key,
        ]),
        None => command.arg("insecure"),
    };
    let output = timeout(
        LIMIT,
        command.stdin(Stdio::null()).kill_on_drop(true).output(),
    )
    .await
    .expect("grpcio answers within the limit")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success() && !stdout.is_empty(),
        "grpcio: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_calls_the_example_server_with_a_client_certificate() {
    let Some(python) = python_with_or_skip("grpc", "python3-grpcio") else {
        return;
    };
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let server = vespa_tls(Some(&config), None);
    let address = start_server(&server).await;
    let client = pki.client().files();
    let served = grpcio_check(python, address, Some(client)).await;
    assert_eq!(served, "SERVING");

    // A certificate of the same CA that no policy admits: the handshake fails.
    let stranger = pki
        .issue("stranger", &pki.localhost_params("stranger.localhost"))
        .expect("node");
    let stranger = stranger.files();
    let refused = grpcio_check(python, address, Some(stranger)).await;
    assert!(refused.starts_with("UNAVAILABLE"), "{refused}");
    assert!(server.metrics().snapshot().server.invalid_peer_credentials >= 1);

    // Admitted, but without vespa.container.state_api: the interceptor's PERMISSION_DENIED.
    let reader = pki
        .issue("reader", &pki.localhost_params("reader.localhost"))
        .expect("node");
    let reader = reader.files();
    let denied = grpcio_check(python, address, Some(reader)).await;
    assert_eq!(denied, "PERMISSION_DENIED Missing required capabilities");
    assert_eq!(server.metrics().snapshot().capability_checks_failed, 1);

    // Plaintext to a server that is not in mixed mode: nothing is served.
    let plaintext = grpcio_check(python, address, None).await;
    assert!(plaintext.starts_with("UNAVAILABLE"), "{plaintext}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_calls_the_mixed_mode_example_server_in_plaintext_and_with_tls() {
    let Some(python) = python_with_or_skip("grpc", "python3-grpcio") else {
        return;
    };
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let address = start_server(&vespa_tls(
        Some(&config),
        Some(MixedMode::TlsClientMixedServer),
    ))
    .await;
    assert_eq!(grpcio_check(python, address, None).await, "SERVING");
    let client = pki.client().files();
    let served = grpcio_check(python, address, Some(client)).await;
    assert_eq!(served, "SERVING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_client_calls_the_example_server() {
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let address = start_server(&vespa_tls(Some(&config), None)).await;
    // The client's own config admits every server of the CA; the connector validates that
    // the certificate names `localhost`, as Vespa does.
    let client = vespa_tls(Some(pki.client().config_path()), None);
    let url = format!("https://localhost:{}", address.port());
    let status = timeout(LIMIT, grpc_client::check(&client, &url))
        .await
        .expect("bounded")
        .expect("health check");
    assert_eq!(status, ServingStatus::Serving);
    assert_eq!(client.metrics().snapshot().client.failed_tls_handshakes, 0);

    // A certificate of the same CA that no policy of the server admits: refused.
    let stranger = pki
        .issue("stranger", &pki.localhost_params("stranger.localhost"))
        .expect("node");
    let stranger = vespa_tls(Some(stranger.config_path()), None);
    let refused = timeout(LIMIT, grpc_client::check(&stranger, &url))
        .await
        .expect("bounded");
    assert!(refused.is_err(), "{refused:?}");
}

/// Why our connector failed, found in a client error's source chain (tonic's error, its
/// connect error, the connector's `TransportError`).
fn transport_failure(error: &(dyn std::error::Error + 'static)) -> Option<HandshakeFailure> {
    std::iter::successors(Some(error), |e| e.source())
        .find_map(|e| e.downcast_ref::<TransportError>())
        .map(TransportError::failure_reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_client_validates_the_server_hostname() {
    let pki = TestPki::new().expect("test PKI");
    // A server of the same CA whose certificate names another host only.
    let elsewhere = pki
        .issue(
            "elsewhere",
            &NodeParams::new("elsewhere.example", pki.validity()).with_dns("elsewhere.example"),
        )
        .expect("node");
    let address = start_server(&vespa_tls(Some(elsewhere.config_path()), None)).await;
    let client = vespa_tls(Some(pki.client().config_path()), None);
    let url = format!("https://localhost:{}", address.port());
    let refused = timeout(LIMIT, grpc_client::check(&client, &url))
        .await
        .expect("bounded");
    let error = refused.expect_err("the certificate does not name localhost");
    assert_eq!(
        transport_failure(&*error),
        Some(HandshakeFailure::HostnameMismatch),
        "{error:?}"
    );
    assert_eq!(client.metrics().snapshot().client.failed_tls_handshakes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_client_calls_a_mixed_mode_server_in_plaintext() {
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let address = start_server(&vespa_tls(
        Some(&config),
        Some(MixedMode::TlsClientMixedServer),
    ))
    .await;
    // TLS off in the client process: plaintext h2c with prior knowledge.
    let plaintext = vespa_tls(None, None);
    let url = format!("http://localhost:{}", address.port());
    let status = timeout(LIMIT, grpc_client::check(&plaintext, &url))
        .await
        .expect("bounded")
        .expect("health check");
    assert_eq!(status, ServingStatus::Serving);
}
