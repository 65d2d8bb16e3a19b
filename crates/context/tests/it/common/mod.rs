//! Shared helpers: in-memory handshakes between contexts (the contexts come from the
//! testkit's `TestConfig`).

use rustls::pki_types::ServerName;
use vespa_tls_context::TlsContext;
use vespa_tls_testkit::{HandshakeOutcome, handshake_in_memory};

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
