//! The axum example (`examples/axum_server.rs`) against real curl: HTTP/2 and HTTP/1.1 by ALPN
//! with a client certificate, a certificate of the same CA that no policy admits, a policy
//! without `vespa.container.state_api` (Vespa's 403), and plain `curl http://` in mixed mode.
//! The example's own `bind` and `serve` run in process on a loopback port, configured from the
//! variables a Vespa process reads; curl is a child process. Skipped, with the reason printed,
//! when curl is missing.

use std::net::SocketAddr;
use std::path::PathBuf;

use vespa_tls_config::{Files, MixedMode};
use vespa_tls_testkit::{
    CurlReply, HEALTH_UP, MISSING_CAPABILITIES, TestPki, curl, curl_identity, curl_or_skip,
};
use vespa_tls_transport::VespaTls;

use crate::common::{example_server_config, vespa_tls};

#[path = "../../examples/axum_server.rs"]
#[expect(
    dead_code,
    reason = "the example's main and run are for its own binary"
)]
mod axum_server;

/// The example's server config (see [`example_server_config`]).
fn server_config(pki: &TestPki) -> PathBuf {
    example_server_config(pki, "axum-server.json")
}

/// The example's server on a loopback port of its own.
async fn start_server(tls: &VespaTls) -> SocketAddr {
    let listener = axum_server::bind(tls, "127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr();
    tokio::spawn(axum_server::serve(listener));
    address
}

fn identity(files: &Files) -> Vec<String> {
    curl_identity(
        &files.ca_certificates,
        &files.certificates,
        &files.private_key,
    )
}

/// curl with `identity` (none: no certificate) and `args`, on a blocking thread.
async fn fetch(identity: Option<&Files>, args: &[&str], url: String) -> CurlReply {
    let mut argv: Vec<String> = identity.map(self::identity).unwrap_or_default();
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    tokio::task::spawn_blocking(move || {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        curl(&argv, &url)
    })
    .await
    .expect("curl thread")
}

/// The `alpn:` line of `/whoami`.
fn alpn(whoami: &str) -> &str {
    whoami
        .lines()
        .find_map(|line| line.strip_prefix("alpn: "))
        .unwrap_or_default()
}

fn issue(pki: &TestPki, name: &str) -> Files {
    pki.issue(name, &pki.localhost_params(&format!("{name}.localhost")))
        .expect("node")
        .files()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_health_from_the_example_over_h2_and_http1_with_the_alpn_it_asks_for() {
    if !curl_or_skip() {
        return;
    }
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let server = vespa_tls(Some(&config), None);
    let address = start_server(&server).await;
    let base = format!("https://localhost:{}", address.port());
    let client = pki.client().files();

    for (flag, version, protocol) in [("--http2", "2", "h2"), ("--http1.1", "1.1", "http/1.1")] {
        let got = fetch(Some(client), &[flag], format!("{base}/state/v1/health")).await;
        assert_eq!(
            (
                got.exit,
                got.version.as_str(),
                got.status.as_str(),
                got.body.as_str()
            ),
            (0, version, "200", HEALTH_UP),
            "{flag}: {got:?}"
        );
        // What the server negotiated, as the handler sees it.
        let got = fetch(Some(client), &[flag], format!("{base}/whoami")).await;
        assert_eq!((got.exit, got.status.as_str()), (0, "200"), "{got:?}");
        assert_eq!(alpn(&got.body), protocol, "{flag}: {}", got.body);
        assert!(got.body.contains("CN='client.localhost'"), "{}", got.body);
    }
    assert_eq!(server.metrics().snapshot().server.failed_tls_handshakes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_refuses_a_certificate_no_policy_admits() {
    if !curl_or_skip() {
        return;
    }
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let server = vespa_tls(Some(&config), None);
    let address = start_server(&server).await;
    let stranger = issue(&pki, "stranger");
    let url = format!("https://localhost:{}/state/v1/health", address.port());
    let got = fetch(Some(&stranger), &["--http2"], url).await;
    // The handshake fails (TLS 1.3: curl sees the alert on its first read): no response.
    assert_ne!(got.exit, 0, "{got:?}");
    assert_eq!(got.status, "000", "{got:?}");
    assert!(server.metrics().snapshot().server.invalid_peer_credentials >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_answers_vespas_403_to_a_peer_without_the_state_api_capability() {
    if !curl_or_skip() {
        return;
    }
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let server = vespa_tls(Some(&config), None);
    let address = start_server(&server).await;
    let reader = issue(&pki, "reader");
    for flag in ["--http2", "--http1.1"] {
        let url = format!("https://localhost:{}/state/v1/health", address.port());
        let got = fetch(Some(&reader), &[flag], url).await;
        assert_eq!(
            (got.exit, got.status.as_str(), got.body.as_str()),
            (0, "403", MISSING_CAPABILITIES),
            "{flag}: {got:?}"
        );
    }
    assert_eq!(server.metrics().snapshot().capability_checks_failed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mixed_mode_example_answers_plain_curl_http_and_tls_on_one_port() {
    if !curl_or_skip() {
        return;
    }
    let pki = TestPki::new().expect("test PKI");
    let config = server_config(&pki);
    let address = start_server(&vespa_tls(
        Some(&config),
        Some(MixedMode::TlsClientMixedServer),
    ))
    .await;
    let port = address.port();
    let plain = fetch(
        None,
        &[],
        format!("http://localhost:{port}/state/v1/health"),
    )
    .await;
    assert_eq!(
        (
            plain.exit,
            plain.version.as_str(),
            plain.status.as_str(),
            plain.body.as_str()
        ),
        (0, "1.1", "200", HEALTH_UP),
        "{plain:?}"
    );
    // h2c with prior knowledge on the same port.
    let h2c = fetch(
        None,
        &["--http2-prior-knowledge"],
        format!("http://localhost:{port}/state/v1/health"),
    )
    .await;
    assert_eq!(
        (h2c.exit, h2c.version.as_str(), h2c.status.as_str()),
        (0, "2", "200"),
        "{h2c:?}"
    );
    let client = pki.client().files();
    let tls = fetch(
        Some(client),
        &["--http2"],
        format!("https://localhost:{port}/whoami"),
    )
    .await;
    assert_eq!((tls.exit, tls.status.as_str()), (0, "200"), "{tls:?}");
    assert_eq!(alpn(&tls.body), "h2", "{}", tls.body);
}
