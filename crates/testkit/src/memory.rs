//! Full TLS handshakes in memory, with no sockets: for tests and benchmarks of rustls configs.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection};

/// Both ends of an in-memory handshake and the first error each side reported.
#[derive(Debug)]
pub struct HandshakeOutcome {
    /// The client end.
    pub client: ClientConnection,
    /// The server end.
    pub server: ServerConnection,
    /// What the client's `process_new_packets` failed with, if it did.
    pub client_error: Option<rustls::Error>,
    /// What the server's `process_new_packets` failed with, if it did.
    pub server_error: Option<rustls::Error>,
}

impl HandshakeOutcome {
    /// Whether both sides finished the handshake without error.
    pub fn ok(&self) -> bool {
        self.client_error.is_none()
            && self.server_error.is_none()
            && !self.client.is_handshaking()
            && !self.server.is_handshaking()
    }
}

/// Runs a handshake between a client dialling `server_name` and a server, moving bytes
/// between them until neither has anything to send (at most 32 round trips). Alerts are
/// delivered, so a side that refuses makes the other side fail too.
pub fn handshake_in_memory(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    server_name: ServerName<'static>,
) -> HandshakeOutcome {
    let mut client = match ClientConnection::new(client, server_name) {
        Ok(c) => c,
        Err(e) => panic!("client connection cannot start: {e}"),
    };
    let mut server = match ServerConnection::new(server) {
        Ok(s) => s,
        Err(e) => panic!("server connection cannot start: {e}"),
    };
    let (mut client_error, mut server_error) = (None, None);
    let mut buf = Vec::with_capacity(8192);
    for _ in 0..32 {
        let a = transfer(&mut client, &mut server, &mut buf);
        if a > 0 && server_error.is_none() {
            server_error = server.process_new_packets().err();
        }
        let b = transfer(&mut server, &mut client, &mut buf);
        if b > 0 && client_error.is_none() {
            client_error = client.process_new_packets().err();
        }
        if a == 0 && b == 0 {
            break;
        }
    }
    HandshakeOutcome {
        client,
        server,
        client_error,
        server_error,
    }
}

fn transfer<A, B>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
    buf: &mut Vec<u8>,
) -> usize {
    buf.clear();
    while from.wants_write() {
        match from.write_tls(buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let mut rest = &buf[..];
    while !rest.is_empty() {
        match to.read_tls(&mut rest) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    buf.len()
}
