//! The comparison's HTTP/2 server on the library: `vespa_tls_transport::http::Listener` (ALPN
//! `h2` and `http/1.1`, concurrent handshakes, Vespa's verification and authorization) under
//! `axum::serve`, with the app `bare-server --http` serves under `axum::serve` too (neither
//! adds connect info, so the two differ only in the listener and its stream).
//!
//! `axum-listener --listen ADDR`, configured by `VESPA_TLS_CONFIG_FILE` like a Vespa process.
//! Prints `{"event":"listening","address":…}` on stdout, runs until killed.

use vespa_tls_benches::server;
use vespa_tls_transport::VespaTls;
use vespa_tls_transport::context::ReloadOptions;
use vespa_tls_transport::http::{ALPN_PROTOCOLS, Listener};

const PROGRAM: &str = "axum-listener";

async fn serve(address: &str) -> Result<(), String> {
    let tls = VespaTls::from_env(ReloadOptions::default()).map_err(|e| e.to_string())?;
    let acceptor = tls.acceptor().with_alpn_protocols(ALPN_PROTOCOLS);
    let listener = Listener::bind(address, acceptor)
        .await
        .map_err(|e| format!("{address}: {e}"))?;
    server::announce_listening(listener.local_addr());
    axum::serve(listener, vespa_tls_benches::http::app().into_make_service())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let address = match (args.next().as_deref(), args.next(), args.next()) {
        (Some("--listen"), Some(address), None) => address,
        _ => return server::fail(PROGRAM, "usage: axum-listener --listen ADDR"),
    };
    server::run(PROGRAM, serve(&address))
}
