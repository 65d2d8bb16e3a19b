//! Shared helpers: contexts from test PKIs, and in-memory handshakes.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use vespa_tls_config::{Files, TransportSecurityOptions};
use vespa_tls_context::{TlsContext, TlsMetrics, TlsModes};
use vespa_tls_testkit::{HandshakeOutcome, config_json_with, handshake_in_memory};

/// Options naming `files`, plus extra top-level JSON members (`""` for none).
pub(crate) fn options(files: &Files, extra: &str) -> TransportSecurityOptions {
    let json = config_json_with(files, extra);
    vespa_tls_config::parse(&json)
        .unwrap_or_else(|e| panic!("{e}\n{json}"))
        .0
}

pub(crate) fn context(files: &Files, extra: &str, modes: TlsModes) -> TlsContext {
    TlsContext::from_options(
        &options(files, extra),
        modes,
        Arc::new(TlsMetrics::default()),
    )
    .expect("context builds")
    .0
}

/// A full handshake in memory between a client of `client_ctx` dialling `name` and a server
/// of `server_ctx`.
pub(crate) fn handshake(
    client_ctx: &TlsContext,
    server_ctx: &TlsContext,
    name: &str,
) -> HandshakeOutcome {
    let server_name = ServerName::try_from(name.to_owned()).expect("valid server name");
    handshake_in_memory(
        client_ctx.client_config(),
        server_ctx.server_config(),
        server_name,
    )
}
