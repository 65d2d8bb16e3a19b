//! A hyper-util HTTP client configured only by the `VESPA_TLS_*` variables, like a Vespa
//! process: built once, it follows reloads (each new connection presents the current
//! certificate), speaks HTTP/2 when the server picks `h2`, and shows the server's identity.
//!
//! ```sh
//! export VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json
//! cargo run -p vespa-tls-transport --features hyper --example hyper_client -- \
//!     https://localhost:8443/state/v1/health
//! ```

use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use vespa_tls_context::ReloadOptions;
use vespa_tls_transport::http::HttpsConnector;
use vespa_tls_transport::{ConnectionAuthContext, VespaTls};

#[expect(clippy::print_stderr, reason = "a command-line example")]
#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: hyper_client URL");
        return ExitCode::from(2);
    };
    match get(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper_client: {e}");
            ExitCode::FAILURE
        }
    }
}

#[expect(clippy::print_stdout, reason = "a command-line example")]
async fn get(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let tls = VespaTls::from_env(ReloadOptions::default())?;
    let client: Client<HttpsConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpsConnector::new(tls.connector()));
    let response = client.get(url.parse()?).await?;
    let server = response
        .extensions()
        .get::<ConnectionAuthContext>()
        .and_then(|peer| peer.peer_credentials().map(ToString::to_string))
        .unwrap_or_else(|| "plaintext".to_owned());
    println!(
        "{:?} {} from {server}",
        response.version(),
        response.status()
    );
    let body = response.into_body().collect().await?.to_bytes();
    println!("{}", String::from_utf8_lossy(&body));
    Ok(())
}
