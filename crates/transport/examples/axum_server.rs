//! An axum HTTPS server configured only by the `VESPA_TLS_*` variables, like a Vespa process:
//! `GET /state/v1/health` for peers with `vespa.container.state_api`, and `GET /whoami`
//! showing what the connection knows about its peer. HTTP/2 and HTTP/1.1 by ALPN; in mixed
//! mode plaintext HTTP/1.1 and h2c on the same port.
//!
//! ```sh
//! export VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json
//! export VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server   # optional
//! cargo run -p vespa-tls-transport --features axum --example axum_server -- 127.0.0.1:8443
//! curl --cacert ca.pem --cert client.pem --key client.key https://localhost:8443/state/v1/health
//! ```

use std::process::ExitCode;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::header;
use axum::routing::get;
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_context::ReloadOptions;
use vespa_tls_transport::http::{self, Listener, RequireCapabilitiesLayer};
use vespa_tls_transport::{ConnectionAuthContext, VespaTls};

/// Vespa's health answer.
async fn health() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":{"code":"up"}}"#,
    )
}

/// The peer: TLS or plaintext, credentials, capabilities, ALPN.
async fn whoami(ConnectInfo(peer): ConnectInfo<ConnectionAuthContext>) -> String {
    format!(
        "tls: {}\ncredentials: {}\ncapabilities: {}\nalpn: {}\n",
        peer.is_tls(),
        peer.peer_credentials()
            .map(ToString::to_string)
            .unwrap_or_default(),
        peer.capabilities(),
        peer.alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    )
}

#[expect(clippy::print_stderr, reason = "a command-line example")]
#[tokio::main]
async fn main() -> ExitCode {
    let Some(address) = std::env::args().nth(1) else {
        eprintln!("usage: axum_server ADDR");
        return ExitCode::from(2);
    };
    match run(&address).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(address: &str) -> Result<(), Box<dyn std::error::Error>> {
    let tls = VespaTls::from_env(ReloadOptions::default())?;
    let listener = bind(&tls, address).await?;
    serve(listener).await?;
    Ok(())
}

/// A listener on `address` that handshakes with the process's TLS, in its mixed mode,
/// offering `h2` and `http/1.1` by ALPN.
pub(crate) async fn bind(tls: &VespaTls, address: &str) -> std::io::Result<Listener> {
    Listener::bind(
        address,
        tls.acceptor().with_alpn_protocols(http::ALPN_PROTOCOLS),
    )
    .await
}

/// The routes, every one requiring `vespa.container.state_api` (Vespa's 403 otherwise).
pub(crate) fn app() -> Router {
    let state_api = CapabilitySet::of(&[Capability::ContainerStateApi]);
    Router::new()
        .route("/state/v1/health", get(health))
        .route("/whoami", get(whoami))
        .layer(RequireCapabilitiesLayer::new(state_api))
}

/// Serves [`app`] on `listener` until it fails, with each connection's peer as connect info.
pub(crate) async fn serve(listener: Listener) -> std::io::Result<()> {
    axum::serve(
        listener,
        app().into_make_service_with_connect_info::<ConnectionAuthContext>(),
    )
    .await
}
