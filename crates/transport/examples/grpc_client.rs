//! A tonic gRPC client configured only by the `VESPA_TLS_*` variables, like a Vespa process:
//! a channel on our `HttpsConnector` (mixed mode, Vespa's hostname validation, authorization
//! of the server, ALPN `h2`) asks the standard `grpc.health.v1.Health` service whether the
//! server is serving.
//!
//! ```sh
//! export VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json
//! cargo run -p vespa-tls-transport --features tonic --example grpc_client -- https://localhost:8443
//! ```

use std::process::ExitCode;

use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use vespa_tls_context::ReloadOptions;
use vespa_tls_transport::VespaTls;
use vespa_tls_transport::http::HttpsConnector;

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example"
)]
#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: grpc_client URL");
        return ExitCode::from(2);
    };
    let checked = match VespaTls::from_env(ReloadOptions::default()) {
        Ok(tls) => check(&tls, &url).await,
        Err(e) => Err(e.into()),
    };
    match checked {
        Ok(status) => {
            println!("{}", status.as_str_name());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("grpc_client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server's health (service "": the server as a whole). The mixed mode, not the URL's
/// scheme, decides TLS or plaintext; the scheme gives the default port.
pub(crate) async fn check(
    tls: &VespaTls,
    url: &str,
) -> Result<ServingStatus, Box<dyn std::error::Error>> {
    // One channel per process: it reconnects on its own, and each new connection presents
    // the certificate current at that time.
    let channel = Endpoint::from_shared(url.to_owned())?
        .connect_with_connector(HttpsConnector::new(tls.connector()))
        .await?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(response.into_inner().status())
}
