//! HTTP clients built once keep working across ten certificate rotations of both sides and
//! present the new certificate after each: hyper-util's `Client` on our `HttpsConnector` and
//! reqwest on the reload-following rustls config (the client of `examples/reqwest_client.rs`).
//! Server and client are configured through `VESPA_TLS_*` and rotated the way operators do it:
//! new files, the config file replaced, the file watcher's reload; the test waits for each
//! side's reload event.
//!
//! A pooled connection keeps the certificates it was opened with (docs/USING.md), so both
//! clients here keep no idle connections (`pool_max_idle_per_host(0)`): every request opens a
//! new connection, and the server counts them to prove it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::time::timeout;
use vespa_tls_config::{CONFIG_FILE_VAR, Files};
use vespa_tls_context::{ReloadEvent, ReloadOptions, ReloadingTlsContext};
use vespa_tls_material::CertificateFacts;
use vespa_tls_testkit::{TestConfig, TestPki, replace_file};
use vespa_tls_transport::http::{self, HttpsConnector, Listener};
use vespa_tls_transport::rustls::pki_types::CertificateDer;
use vespa_tls_transport::{ConnectionAuthContext, VespaTls};

use crate::common::{LIMIT, vespa_tls_from};

#[path = "../../examples/reqwest_client.rs"]
#[expect(
    dead_code,
    reason = "the example's main and get are for its own binary"
)]
mod reqwest_client;

const ROTATIONS: u64 = 10;

fn sha256(der: &[u8]) -> String {
    CertificateFacts::from_der(&CertificateDer::from(der.to_vec()))
        .expect("an X.509 certificate")
        .sha256_fingerprint
}

/// The fingerprint of the certificate `reloading` presents now.
fn own_fingerprint(reloading: &ReloadingTlsContext) -> String {
    reloading.status().certificate.sha256_fingerprint
}

/// A process's TLS on `config`, watching it, as `VESPA_TLS_CONFIG_FILE` would make it.
fn vespa_tls(config: &Path) -> VespaTls {
    let watching = ReloadOptions {
        debounce: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        ..ReloadOptions::default()
    };
    vespa_tls_from(&[(CONFIG_FILE_VAR, config.into())], watching)
}

/// A config file of its own for one side, starting as `files` with every peer of the CA
/// admitted.
fn config_file(pki: &TestPki, name: &str, files: &Files) -> PathBuf {
    let path = pki.dir().join(format!("{name}.json"));
    TestConfig::new(files).write(&path).expect("config");
    path
}

/// Waits (bounded) until `events` says `generation` is published; a failed reload fails.
async fn reloaded(
    events: std::sync::mpsc::Receiver<ReloadEvent>,
    generation: u64,
) -> std::sync::mpsc::Receiver<ReloadEvent> {
    tokio::task::spawn_blocking(move || {
        loop {
            match events.recv_timeout(LIMIT) {
                Ok(ReloadEvent::Reloaded { generation: g }) if g >= generation => {
                    assert_eq!(g, generation, "one reload per rotation");
                    return events;
                }
                Ok(ReloadEvent::Failed { error }) => panic!("reload failed: {error}"),
                // An earlier generation, or an event this test does not wait for.
                Ok(_) => {}
                Err(error) => panic!("no reload to generation {generation}: {error}"),
            }
        }
    })
    .await
    .expect("the waiting task")
}

/// A server that answers every request with the SHA-256 of the client certificate its
/// connection was opened with, and counts connections.
async fn fingerprint_server(tls: &VespaTls) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let acceptor = tls.acceptor().with_alpn_protocols(http::ALPN_PROTOCOLS);
    let mut listener = Listener::bind("127.0.0.1:0", acceptor).await.expect("bind");
    let address = listener.local_addr();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let client = connection
                .stream()
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map_or_else(|| "none".to_owned(), |leaf| sha256(leaf));
            let app = Router::new().route("/", get(|| async move { client }));
            tokio::spawn(http::serve_connection(connection, app));
        }
    });
    (address, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_and_reqwest_clients_built_once_present_each_rotated_certificate() {
    let pki = TestPki::new().expect("test PKI");
    let server_config = config_file(&pki, "rotating-server", pki.server().files());
    let client_config = config_file(&pki, "rotating-client", pki.client().files());
    let server_tls = vespa_tls(&server_config);
    let client_tls = vespa_tls(&client_config);
    let server_reloading = Arc::clone(server_tls.reloading().expect("TLS on"));
    let client_reloading = Arc::clone(client_tls.reloading().expect("TLS on"));
    let mut server_events = server_reloading.subscribe();
    let mut client_events = client_reloading.subscribe();
    let (address, connections) = fingerprint_server(&server_tls).await;

    // Built once, before the first rotation.
    let hyper: Client<HttpsConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(HttpsConnector::new(client_tls.connector()));
    let reqwest = reqwest_client::client(
        &client_tls,
        reqwest::Client::builder().pool_max_idle_per_host(0),
    )
    .expect("reqwest client");
    let url = format!("https://localhost:{}/", address.port());
    reqwest_client::check_scheme(&client_tls, &reqwest::Url::parse(&url).expect("url"))
        .expect("https with TLS on");

    let mut seen = Vec::new();
    for round in 0..=ROTATIONS {
        if round > 0 {
            let server = pki
                .issue(
                    &format!("server-{round}"),
                    &pki.localhost_params(&format!("server{round}.localhost")),
                )
                .expect("node");
            let client = pki
                .issue(
                    &format!("client-{round}"),
                    &pki.localhost_params(&format!("client{round}.localhost")),
                )
                .expect("node");
            let to = |node: &vespa_tls_testkit::Node| TestConfig::new(node.files()).to_json();
            replace_file(&server_config, to(&server).as_bytes()).expect("rotate");
            replace_file(&client_config, to(&client).as_bytes()).expect("rotate");
            server_events = reloaded(server_events, round + 1).await;
            client_events = reloaded(client_events, round + 1).await;
        }
        let client_fingerprint = own_fingerprint(&client_reloading);
        let server_fingerprint = own_fingerprint(&server_reloading);
        let server_name = if round == 0 {
            "server.localhost".to_owned()
        } else {
            format!("server{round}.localhost")
        };
        let before = connections.load(Ordering::SeqCst);

        // hyper-util on our connector: the server saw the new client certificate, and the
        // response carries the server's new identity.
        let response = timeout(LIMIT, hyper.get(url.parse().expect("uri")))
            .await
            .expect("bounded")
            .unwrap_or_else(|e| panic!("hyper-util, rotation {round}: {e}"));
        let server_peer = response
            .extensions()
            .get::<ConnectionAuthContext>()
            .cloned()
            .expect("the server's auth context");
        assert_eq!(
            server_peer.peer_credentials().and_then(|c| c.common_name()),
            Some(&*server_name),
            "hyper-util, rotation {round}"
        );
        let body = timeout(LIMIT, response.into_body().collect())
            .await
            .expect("bounded")
            .expect("body")
            .to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&body),
            client_fingerprint,
            "hyper-util, rotation {round}: the server saw the client's current certificate"
        );

        // reqwest on the reload-following config: the same, and the server's certificate as
        // reqwest saw it.
        let response = timeout(LIMIT, reqwest.get(&url).send())
            .await
            .expect("bounded")
            .unwrap_or_else(|e| panic!("reqwest, rotation {round}: {e:?}"));
        let server_certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(reqwest::tls::TlsInfo::peer_certificate)
            .map(sha256);
        assert_eq!(
            server_certificate.as_deref(),
            Some(&*server_fingerprint),
            "reqwest, rotation {round}: the client saw the server's current certificate"
        );
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        let body = timeout(LIMIT, response.text())
            .await
            .expect("bounded")
            .expect("body");
        assert_eq!(
            body, client_fingerprint,
            "reqwest, rotation {round}: the server saw the client's current certificate"
        );

        // Two requests, two new connections: nothing came from a pool.
        assert_eq!(
            connections.load(Ordering::SeqCst),
            before + 2,
            "rotation {round}"
        );
        seen.push((client_fingerprint, server_fingerprint));
    }
    // Every rotation put a certificate in place that neither side had presented before.
    let clients: std::collections::HashSet<_> = seen.iter().map(|(c, _)| c).collect();
    let servers: std::collections::HashSet<_> = seen.iter().map(|(_, s)| s).collect();
    assert_eq!(clients.len(), seen.len());
    assert_eq!(servers.len(), seen.len());
    assert_eq!(
        client_reloading
            .metrics()
            .snapshot()
            .client
            .failed_tls_handshakes,
        0
    );
}
