//! The HTTP adapters: the concurrent-handshake listener, `http::serve` (HTTP/1.1 and h2 by
//! ALPN, plaintext HTTP/1.1 and h2c in mixed mode), `axum::serve` with the peer as connect
//! info, the capability layer's 403, and hyper-util's client on `HttpsConnector`.

use std::sync::Arc;
use std::time::Duration;

use ::http::{Request, StatusCode, Uri, Version};
use axum::Router;
use axum::extract::{ConnectInfo, Extension};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_config::{CapabilityMode, MixedMode};
use vespa_tls_context::{TlsContext, TlsModes};
use vespa_tls_testkit::{Policy, TestConfig, TestPki};
use vespa_tls_transport::http::{self, HttpsConnector, Listener, RequireCapabilitiesLayer};
use vespa_tls_transport::{Acceptor, ConnectionAuthContext, Connector};

use crate::common::{LIMIT, source};

type HttpClient = Client<HttpsConnector, Empty<Bytes>>;

fn state_api() -> CapabilitySet {
    CapabilitySet::of(&[Capability::ContainerStateApi])
}

/// The peer's CN and ALPN protocol, as a handler sees them.
async fn whoami(Extension(auth): Extension<ConnectionAuthContext>) -> String {
    describe(&auth)
}

fn describe(auth: &ConnectionAuthContext) -> String {
    format!(
        "{} {}",
        auth.peer_credentials()
            .and_then(|c| c.common_name())
            .unwrap_or("plaintext"),
        auth.alpn_protocol().map_or_else(
            || "none".to_owned(),
            |p| String::from_utf8_lossy(p).into_owned()
        )
    )
}

fn app() -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .layer(RequireCapabilitiesLayer::new(state_api()))
}

struct Rig {
    /// Keeps the certificate files for as long as the test runs.
    _pki: TestPki,
    server: Arc<TlsContext>,
    client: Arc<TlsContext>,
}

fn rig_with(server_config: impl FnOnce(&TestPki) -> TestConfig, modes: TlsModes) -> Rig {
    let pki = TestPki::new().expect("test PKI");
    let server = Arc::new(server_config(&pki).context_with(modes));
    let client = Arc::new(TestConfig::new(pki.client().files()).context());
    Rig {
        _pki: pki,
        server,
        client,
    }
}

/// The server admits the test client with `capabilities`.
fn granting(capabilities: &[&str]) -> impl FnOnce(&TestPki) -> TestConfig {
    let capabilities: Vec<String> = capabilities.iter().map(|c| (*c).to_owned()).collect();
    move |pki: &TestPki| {
        TestConfig::new(pki.server().files()).authorized_peers([Policy::new("clients")
            .cn("client.localhost")
            .capabilities(capabilities)])
    }
}

async fn serve_hyper(
    rig: &Rig,
    mixed: MixedMode,
    acceptor: Option<Acceptor>,
) -> std::net::SocketAddr {
    let acceptor = acceptor.unwrap_or_else(|| {
        Acceptor::new(source(Some(&rig.server)), mixed).with_alpn_protocols(http::ALPN_PROTOCOLS)
    });
    let listener = Listener::bind("127.0.0.1:0", acceptor).await.expect("bind");
    let address = listener.local_addr();
    tokio::spawn(http::serve(listener, app()));
    address
}

fn client(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new()).build(HttpsConnector::new(connector))
}

fn tls_connector(rig: &Rig) -> Connector {
    Connector::new(source(Some(&rig.client)), MixedMode::TlsClientTlsServer)
}

async fn get_text(
    client: &HttpClient,
    uri: Uri,
) -> (StatusCode, Version, String, Option<ConnectionAuthContext>) {
    let response = timeout(LIMIT, client.get(uri))
        .await
        .expect("bounded")
        .expect("response");
    let status = response.status();
    let version = response.version();
    let server = response
        .extensions()
        .get::<ConnectionAuthContext>()
        .cloned();
    let body = timeout(LIMIT, response.into_body().collect())
        .await
        .expect("bounded")
        .expect("body")
        .to_bytes();
    (
        status,
        version,
        String::from_utf8_lossy(&body).into_owned(),
        server,
    )
}

fn uri(address: std::net::SocketAddr, scheme: &str, path: &str) -> Uri {
    format!("{scheme}://localhost:{}{path}", address.port())
        .parse()
        .expect("uri")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_by_alpn_with_the_peer_on_both_ends() {
    let rig = rig_with(
        granting(&["vespa.container.state_api"]),
        TlsModes::default(),
    );
    let address = serve_hyper(&rig, MixedMode::TlsClientTlsServer, None).await;
    let (status, version, body, server) = get_text(
        &client(tls_connector(&rig)),
        uri(address, "https", "/whoami"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(body, "client.localhost h2");
    let server = server.expect("the server's auth context on the response");
    assert_eq!(
        server.peer_credentials().and_then(|c| c.common_name()),
        Some("server.localhost")
    );
    assert_eq!(server.alpn_protocol(), Some(&b"h2"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_when_the_client_asks_for_it() {
    let rig = rig_with(
        granting(&["vespa.container.state_api"]),
        TlsModes::default(),
    );
    let address = serve_hyper(&rig, MixedMode::TlsClientTlsServer, None).await;
    let connector = tls_connector(&rig).with_alpn_protocols([&b"http/1.1"[..]]);
    let (status, version, body, _) =
        get_text(&client(connector), uri(address, "https", "/whoami")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(body, "client.localhost http/1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_without_the_capability_gets_vespas_403_and_is_counted() {
    let rig = rig_with(
        granting(&["vespa.content.document_api"]),
        TlsModes::default(),
    );
    let address = serve_hyper(&rig, MixedMode::TlsClientTlsServer, None).await;
    let failed_before = rig.server.metrics().snapshot().capability_checks_failed;
    let response = timeout(
        LIMIT,
        client(tls_connector(&rig)).get(uri(address, "https", "/whoami")),
    )
    .await
    .expect("bounded")
    .expect("response");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response
            .headers()
            .get(::http::header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(
        std::str::from_utf8(&body).expect("utf-8"),
        r#"{"error-code":"403","message":"Missing required capabilities"}"#
    );
    assert_eq!(
        rig.server.metrics().snapshot().capability_checks_failed,
        failed_before + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_only_lets_a_peer_without_the_capability_through_and_counts_it() {
    let modes = TlsModes {
        capability: CapabilityMode::LogOnly,
        ..TlsModes::default()
    };
    let rig = rig_with(granting(&["vespa.content.document_api"]), modes);
    let address = serve_hyper(&rig, MixedMode::TlsClientTlsServer, None).await;
    let (status, _, body, _) = get_text(
        &client(tls_connector(&rig)),
        uri(address, "https", "/whoami"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rig.server.metrics().snapshot().capability_checks_failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_mode_serves_plaintext_http1_and_h2c_on_the_tls_port() {
    let rig = rig_with(
        granting(&["vespa.container.state_api"]),
        TlsModes::default(),
    );
    let address = serve_hyper(&rig, MixedMode::TlsClientMixedServer, None).await;
    let plaintext = Connector::new(source(None), MixedMode::TlsClientMixedServer);
    let (status, version, body, server) =
        get_text(&client(plaintext.clone()), uri(address, "http", "/whoami")).await;
    assert_eq!(
        (status, version),
        (StatusCode::OK, Version::HTTP_11),
        "{body}"
    );
    assert_eq!(body, "plaintext none");
    assert!(!server.expect("auth context").is_tls());
    let h2c: HttpClient = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(HttpsConnector::new(plaintext));
    let (status, version, body, _) = get_text(&h2c, uri(address, "http", "/whoami")).await;
    assert_eq!(
        (status, version),
        (StatusCode::OK, Version::HTTP_2),
        "{body}"
    );
    // And TLS on the same port.
    let (status, version, body, _) = get_text(
        &client(tls_connector(&rig)),
        uri(address, "https", "/whoami"),
    )
    .await;
    assert_eq!(
        (status, version),
        (StatusCode::OK, Version::HTTP_2),
        "{body}"
    );
    assert_eq!(body, "client.localhost h2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_do_not_delay_others() {
    let rig = rig_with(
        granting(&["vespa.container.state_api"]),
        TlsModes::default(),
    );
    // Their deadline is far beyond this test's limit: only concurrent handshakes let the
    // request below through in time.
    let acceptor = Acceptor::new(source(Some(&rig.server)), MixedMode::TlsClientTlsServer)
        .with_alpn_protocols(http::ALPN_PROTOCOLS)
        .with_handshake_timeout(Duration::from_secs(3600));
    let address = serve_hyper(&rig, MixedMode::TlsClientTlsServer, Some(acceptor)).await;
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(address).await.expect("connect"));
    }
    // One that sends half a ClientHello and stops.
    let mut half = TcpStream::connect(address).await.expect("connect");
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("write");
    let (status, _, body, _) = get_text(
        &client(tls_connector(&rig)),
        uri(address, "https", "/whoami"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    drop((silent, half));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_peer_gets_no_response_and_is_counted() {
    let rig = rig_with(
        |pki| {
            TestConfig::new(pki.server().files())
                .authorized_peers([Policy::new("nobody").cn("nobody.example")])
        },
        TlsModes::default(),
    );
    let address = serve_hyper(&rig, MixedMode::TlsClientTlsServer, None).await;
    let refused = timeout(
        LIMIT,
        client(tls_connector(&rig)).get(uri(address, "https", "/whoami")),
    )
    .await
    .expect("bounded");
    assert!(refused.is_err(), "{refused:?}");
    assert!(
        rig.server
            .metrics()
            .snapshot()
            .server
            .invalid_peer_credentials
            >= 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_serve_on_the_listener_with_the_peer_as_connect_info() {
    let rig = rig_with(
        granting(&["vespa.container.state_api"]),
        TlsModes::default(),
    );
    let acceptor = Acceptor::new(source(Some(&rig.server)), MixedMode::TlsClientTlsServer)
        .with_alpn_protocols(http::ALPN_PROTOCOLS);
    let listener = Listener::bind("127.0.0.1:0", acceptor).await.expect("bind");
    let address = listener.local_addr();
    async fn peer(ConnectInfo(auth): ConnectInfo<ConnectionAuthContext>) -> String {
        describe(&auth)
    }
    let router = Router::new()
        .route("/whoami", get(peer))
        .layer(RequireCapabilitiesLayer::new(state_api()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<ConnectionAuthContext>(),
        )
        .await
    });
    let (status, version, body, _) = get_text(
        &client(tls_connector(&rig)),
        uri(address, "https", "/whoami"),
    )
    .await;
    assert_eq!(
        (status, version),
        (StatusCode::OK, Version::HTTP_2),
        "{body}"
    );
    assert_eq!(body, "client.localhost h2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capability_layer_refuses_a_request_without_an_auth_context() {
    use tower_service::Service;
    let mut service =
        tower_layer::Layer::layer(&RequireCapabilitiesLayer::new(state_api()), app_service());
    let response = service
        .call(
            Request::get("/whoami")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

fn app_service() -> Router {
    Router::new().route("/whoami", get(|| async { "reached" }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_reports_a_host_that_does_not_resolve() {
    let rig = rig_with(
        granting(&["vespa.container.state_api"]),
        TlsModes::default(),
    );
    let mut connector = HttpsConnector::new(tls_connector(&rig));
    use tower_service::Service;
    let error = timeout(
        LIMIT,
        connector.call("https://no-such-host.invalid/".parse().expect("uri")),
    )
    .await
    .expect("bounded")
    .expect_err("does not resolve");
    assert!(
        error
            .to_string()
            .starts_with("no-such-host.invalid: cannot resolve"),
        "{error}"
    );
    let error = timeout(LIMIT, connector.call("/relative".parse().expect("uri")))
        .await
        .expect("bounded")
        .expect_err("no host");
    assert_eq!(error.to_string(), "/relative: no host to connect to");
}
