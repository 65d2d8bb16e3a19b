//! Shared helpers: contexts from test PKIs, and in-memory handshakes.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ConnectionCommon, ServerConnection};
use vespa_tls_config::{Files, TransportSecurityOptions};
use vespa_tls_context::{TlsContext, TlsMetrics, TlsModes};

/// Options naming `files`, plus extra top-level JSON members (`""` for none).
pub(crate) fn options(files: &Files, extra: &str) -> TransportSecurityOptions {
    let mut json = format!(
        r#"{{"files": {{"ca-certificates": {:?}, "certificates": {:?}, "private-key": {:?}}}"#,
        files.ca_certificates, files.certificates, files.private_key
    );
    if !extra.is_empty() {
        json.push_str(", ");
        json.push_str(extra);
    }
    json.push('}');
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

pub(crate) struct Outcome {
    pub(crate) client: ClientConnection,
    pub(crate) server: ServerConnection,
    pub(crate) client_error: Option<rustls::Error>,
    pub(crate) server_error: Option<rustls::Error>,
}

impl Outcome {
    pub(crate) fn ok(&self) -> bool {
        self.client_error.is_none()
            && self.server_error.is_none()
            && !self.client.is_handshaking()
            && !self.server.is_handshaking()
    }
}

fn transfer<A, B>(from: &mut ConnectionCommon<A>, to: &mut ConnectionCommon<B>) -> usize {
    let mut buf = Vec::new();
    while from.wants_write() {
        if from.write_tls(&mut buf).expect("write to a Vec") == 0 {
            break;
        }
    }
    let mut rest = &buf[..];
    while !rest.is_empty() {
        if to.read_tls(&mut rest).expect("read from a slice") == 0 {
            break;
        }
    }
    buf.len()
}

/// A full handshake in memory between a client of `client_ctx` dialling `name` and a server
/// of `server_ctx`, with some application data both ways when it succeeds.
pub(crate) fn handshake(client_ctx: &TlsContext, server_ctx: &TlsContext, name: &str) -> Outcome {
    let server_name = ServerName::try_from(name.to_owned()).expect("valid server name");
    let mut client =
        ClientConnection::new(client_ctx.client_config(), server_name).expect("client connection");
    let mut server = ServerConnection::new(server_ctx.server_config()).expect("server connection");
    let (mut client_error, mut server_error) = (None, None);
    for _ in 0..32 {
        let a = transfer(&mut client, &mut server);
        if a > 0 && server_error.is_none() {
            server_error = server.process_new_packets().err();
        }
        let b = transfer(&mut server, &mut client);
        if b > 0 && client_error.is_none() {
            client_error = client.process_new_packets().err();
        }
        if a == 0 && b == 0 {
            break;
        }
    }
    Outcome {
        client,
        server,
        client_error,
        server_error,
    }
}
