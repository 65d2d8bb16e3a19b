//! A tonic gRPC server configured only by the `VESPA_TLS_*` variables, like a Vespa process:
//! the standard `grpc.health.v1.Health` service (from the `tonic-health` crate, so no protoc)
//! over mutual TLS with ALPN `h2`, for peers with `vespa.container.state_api` (an interceptor
//! reads the peer from the request), and in mixed mode plaintext h2c on the same port.
//!
//! ```sh
//! export VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json
//! export VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server   # optional
//! cargo run -p vespa-tls-transport --features tonic --example grpc_server -- 127.0.0.1:8443
//! cargo run -p vespa-tls-transport --features tonic --example grpc_client -- https://localhost:8443
//! ```
//!
//! Any gRPC client with a certificate the server's `authorized-peers` admit can call it, for
//! example `grpcurl -cacert ca.pem -cert client.pem -key client.key localhost:8443
//! grpc.health.v1.Health/Check`.

use std::process::ExitCode;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;
use tonic::{Request, Status};
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_context::ReloadOptions;
use vespa_tls_transport::http::Listener;
use vespa_tls_transport::{ConnectionAuthContext, VespaTls};

/// gRPC is HTTP/2 only: the acceptor offers `h2` and refuses a TLS client that asks for
/// nothing but other protocols.
pub(crate) const GRPC_ALPN: [&[u8]; 1] = [b"h2"];

#[expect(clippy::print_stderr, reason = "a command-line example")]
#[tokio::main]
async fn main() -> ExitCode {
    let Some(address) = std::env::args().nth(1) else {
        eprintln!("usage: grpc_server ADDR");
        return ExitCode::from(2);
    };
    match run(&address).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grpc_server: {e}");
            ExitCode::FAILURE
        }
    }
}

#[expect(clippy::print_stderr, reason = "a command-line example")]
async fn run(address: &str) -> Result<(), Box<dyn std::error::Error>> {
    let tls = VespaTls::from_env(ReloadOptions::default())?;
    let listener = bind(&tls, address).await?;
    eprintln!(
        "grpc_server: listening on {} ({})",
        listener.local_addr(),
        tls.mixed_mode()
    );
    serve(listener).await?;
    Ok(())
}

/// A listener on `address` that handshakes with the process's TLS, in its mixed mode.
pub(crate) async fn bind(tls: &VespaTls, address: &str) -> std::io::Result<Listener> {
    Listener::bind(address, tls.acceptor().with_alpn_protocols(GRPC_ALPN)).await
}

/// Serves the health service on `listener` until it fails, to peers with
/// `vespa.container.state_api` (checked per call under the capability enforcement mode).
pub(crate) async fn serve(listener: Listener) -> Result<(), tonic::transport::Error> {
    // The reporter sets the status of each service; the server as a whole ("") starts SERVING.
    let (_reporter, health) = tonic_health::server::health_reporter();
    Server::builder()
        .add_service(InterceptedService::new(health, require_state_api))
        .serve_with_incoming(listener)
        .await
}

/// Every request carries its connection's [`ConnectionAuthContext`]: the peer's certificate
/// identity, capabilities and ALPN protocol (plaintext peers of a mixed-mode server have
/// every capability, as in Vespa).
fn require_state_api(request: Request<()>) -> Result<Request<()>, Status> {
    let Some(peer) = request.extensions().get::<ConnectionAuthContext>() else {
        // Only a connection that did not come through our listener lacks it.
        return Err(Status::internal("no connection auth context"));
    };
    let required = CapabilitySet::of(&[Capability::ContainerStateApi]);
    // Counted in `capability_checks_failed` and logged with Vespa's message, rate-limited.
    // An interceptor does not see the method's path, so the log names the service; a tower
    // layer on the server (`Server::builder().layer(…)`) sees `request.uri().path()` if the
    // log must name each method.
    match peer.verify_capabilities(required, "POST", "/grpc.health.v1.Health") {
        Ok(()) => Ok(request),
        Err(_) => Err(Status::permission_denied("Missing required capabilities")),
    }
}
