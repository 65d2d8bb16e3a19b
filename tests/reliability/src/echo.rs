//! The scenarios' echo server (testkit's [`Server`]), and one checked request against it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use vespa_tls_testkit::Server;
use vespa_tls_transport::{Acceptor, Connector};

/// How many outcomes of each kind (accepted, refused) the scenarios' servers keep: the first
/// ones, so memory stays flat over a soak. Their [`Tally`](vespa_tls_testkit::Tally) counts
/// every connection.
pub(crate) const KEEP: usize = 200;

/// The scenarios' echo server: testkit's, on `127.0.0.1:0`, serving with `acceptor` until
/// stopped or dropped.
pub async fn echo_server(acceptor: Acceptor) -> std::io::Result<Server> {
    Server::echo(acceptor).keep(KEEP).start().await
}

/// What one request got.
#[derive(Debug)]
pub enum Outcome {
    /// The echo came back byte for byte and the connection closed cleanly.
    Ok {
        /// Whether the connection was TLS.
        tls: bool,
        /// Connect to clean close.
        latency: Duration,
        /// The server's leaf certificate (TLS only).
        server_leaf: Option<CertificateDer<'static>>,
    },
    /// The connection, handshake, a read or a write failed, or a step took too long.
    Failed(String),
    /// Bytes came back that are not what was sent.
    Corrupted(String),
}

impl Outcome {
    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }
}

/// One request: connect with `connector` (validating the server as `localhost`), send
/// `payload`, read exactly as many bytes back and compare them, then close cleanly (our
/// `close_notify`/FIN, the server's in return). Every step is bounded by `limit`.
pub async fn request(
    connector: &Connector,
    address: SocketAddr,
    payload: &[u8],
    limit: Duration,
) -> Outcome {
    let started = Instant::now();
    let (mut stream, auth) = match timeout(limit, connector.connect_tcp(address, "localhost")).await
    {
        Err(_) => return Outcome::Failed(format!("{address}: no connection within {limit:?}")),
        Ok(Err(e)) => return Outcome::Failed(e.to_string()),
        Ok(Ok(connected)) => connected,
    };
    let server_leaf = stream
        .peer_certificates()
        .and_then(|chain| chain.first().cloned());
    match timeout(limit, write_and_flush(&mut stream, payload)).await {
        Err(_) => return Outcome::Failed(format!("{address}: write not done within {limit:?}")),
        Ok(Err(e)) => return Outcome::Failed(format!("{address}: write: {e}")),
        Ok(Ok(())) => {}
    }
    let mut reply = vec![0u8; payload.len()];
    match timeout(limit, stream.read_exact(&mut reply)).await {
        Err(_) => return Outcome::Failed(format!("{address}: no full echo within {limit:?}")),
        Ok(Err(e)) => return Outcome::Failed(format!("{address}: read: {e}")),
        Ok(Ok(_)) => {}
    }
    if reply != payload {
        let at = reply
            .iter()
            .zip(payload)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Outcome::Corrupted(format!(
            "{address}: echo differs from the {} bytes sent at byte {at}",
            payload.len()
        ));
    }
    if let Err(e) = timeout(limit, stream.shutdown()).await.unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "shutdown",
        ))
    }) {
        return Outcome::Failed(format!("{address}: close: {e}"));
    }
    let mut rest = [0u8; 64];
    match timeout(limit, stream.read(&mut rest)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => {
            return Outcome::Corrupted(format!("{address}: {n} unexpected bytes after the echo"));
        }
        Ok(Err(e)) => return Outcome::Failed(format!("{address}: close: {e}")),
        Err(_) => return Outcome::Failed(format!("{address}: no close within {limit:?}")),
    }
    Outcome::Ok {
        tls: auth.is_tls(),
        latency: started.elapsed(),
        server_leaf,
    }
}

async fn write_and_flush<S: tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    stream.write_all(bytes).await?;
    stream.flush().await
}
