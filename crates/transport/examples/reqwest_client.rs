//! A reqwest client configured only by the `VESPA_TLS_*` variables, like a Vespa process:
//! built once on the reload-following rustls config (`ReloadingTlsContext::client_config`),
//! so each new connection presents the certificate current at that time and verifies and
//! authorizes the server with the current CA bundle and `authorized-peers`, with Vespa's
//! hostname validation. HTTP/2 when the server picks `h2`.
//!
//! ```sh
//! export VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json
//! cargo run -p vespa-tls-transport --example reqwest_client -- https://localhost:8443/state/v1/health
//! ```
//!
//! reqwest picks TLS or plaintext by the URL's scheme, not by the mixed mode: the example
//! checks that the URL agrees with what `VESPA_TLS_*` say the client side speaks (`https` with
//! TLS on, `http` with TLS off or in `plaintext_client_mixed_server`).

use std::process::ExitCode;

use reqwest::tls::TlsInfo;
use vespa_tls_context::ReloadOptions;
use vespa_tls_material::CertificateFacts;
use vespa_tls_transport::VespaTls;
use vespa_tls_transport::rustls::pki_types::CertificateDer;

#[expect(clippy::print_stderr, reason = "a command-line example")]
#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: reqwest_client URL");
        return ExitCode::from(2);
    };
    match get(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reqwest_client: {e}");
            ExitCode::FAILURE
        }
    }
}

#[expect(clippy::print_stdout, reason = "a command-line example")]
async fn get(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let tls = VespaTls::from_env(ReloadOptions::default())?;
    let url = reqwest::Url::parse(url)?;
    check_scheme(&tls, &url)?;
    // Build the client once per process and share it: it follows reloads.
    let client = client(&tls, reqwest::Client::builder())?;
    let response = client.get(url).send().await?;
    let server = response
        .extensions()
        .get::<TlsInfo>()
        .and_then(TlsInfo::peer_certificate)
        .and_then(|der| CertificateFacts::from_der(&CertificateDer::from(der.to_vec())))
        .map_or_else(|| "plaintext".to_owned(), |facts| facts.subject);
    println!(
        "{:?} {} from {server}",
        response.version(),
        response.status()
    );
    println!("{}", response.text().await?);
    Ok(())
}

/// A reqwest client from `builder` (the caller's other settings) on the process's TLS: the
/// reload-following config when TLS is on, with ALPN `h2` and `http/1.1` and the server's
/// certificate on each response (`TlsInfo`); reqwest's defaults when TLS is off.
pub(crate) fn client(
    tls: &VespaTls,
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, Box<dyn std::error::Error>> {
    let Some(reloading) = tls.reloading() else {
        return Ok(builder.build()?);
    };
    // A clone still follows reloads: its certificate resolver and verifiers read the current
    // snapshot at each handshake. ALPN is the caller's to set.
    let mut config = (*reloading.client_config()?).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(builder
        .tls_backend_preconfigured(config)
        .tls_info(true)
        .build()?)
}

/// Whether `url`'s scheme is what the process's client side speaks.
pub(crate) fn check_scheme(tls: &VespaTls, url: &reqwest::Url) -> Result<(), String> {
    let plaintext_because = if tls.reloading().is_none() {
        Some("TLS is off (VESPA_TLS_CONFIG_FILE unset)".to_owned())
    } else if !tls.mixed_mode().client_uses_tls() {
        Some(format!("clients speak plaintext in {}", tls.mixed_mode()))
    } else {
        None
    };
    match (plaintext_because, url.scheme()) {
        (None, "https") | (Some(_), "http") => Ok(()),
        (None, _) => Err(format!("{url}: TLS is on, use https://")),
        (Some(why), _) => Err(format!("{url}: {why}, use http://")),
    }
}
