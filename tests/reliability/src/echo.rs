//! An echo service on the library's acceptor, and one checked request against it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use vespa_tls_transport::{Acceptor, Connector, TransportError};

/// How long an established connection may sit idle before the echo server drops it.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The listen backlog of [`EchoServer::start`]. `TcpListener::bind` uses 128 (the standard
/// library's value, which mio copies): a burst of more connections than that makes the kernel
/// drop handshakes, and clients wait a SYN retransmission (1 s) or more.
pub const BACKLOG: u32 = 1024;

/// What the echo server saw.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections taken from the listen queue (before snoop and handshake).
    pub connections: AtomicU64,
    /// Connections accepted (TLS or plaintext).
    pub accepted: AtomicU64,
    /// Connections the acceptor refused (handshake failed, plaintext refused, deadline).
    pub refused: AtomicU64,
    /// Connections being served now.
    pub active: AtomicUsize,
    /// The first refusals' messages (at most [`ServerStats::KEEP`]).
    pub refusals: std::sync::Mutex<Vec<String>>,
}

impl ServerStats {
    /// How many refusal messages are kept.
    pub const KEEP: usize = 200;

    fn refused(&self, error: &TransportError) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let mut kept = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < Self::KEEP {
            kept.push(error.to_string());
        }
    }

    /// A copy of the kept refusal messages.
    pub fn refusals(&self) -> Vec<String> {
        self.refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A running echo server. Dropping it aborts the accept loop; [`EchoServer::stop`] drains.
#[derive(Debug)]
pub struct EchoServer {
    /// Where it listens (`127.0.0.1`, a kernel-chosen port).
    pub address: SocketAddr,
    /// What it saw.
    pub stats: Arc<ServerStats>,
    /// The acceptor (counters: `acceptor.metrics()`).
    pub acceptor: Acceptor,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl EchoServer {
    /// Binds `127.0.0.1:0` with a listen backlog of [`BACKLOG`] and serves with `acceptor`.
    pub async fn start(acceptor: Acceptor) -> std::io::Result<EchoServer> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        Ok(EchoServer::serve(socket.listen(BACKLOG)?, acceptor))
    }

    /// Serves on an already bound listener.
    pub fn serve(listener: TcpListener, acceptor: Acceptor) -> EchoServer {
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let stats = Arc::new(ServerStats::default());
        let (stop, mut stopped) = watch::channel(false);
        let (task_stats, task_acceptor) = (Arc::clone(&stats), acceptor.clone());
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopped.changed() => return,
                };
                let Ok((socket, _)) = accepted else {
                    continue;
                };
                let (stats, acceptor) = (Arc::clone(&task_stats), task_acceptor.clone());
                stats.connections.fetch_add(1, Ordering::Relaxed);
                stats.active.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    // The acceptor bounds snoop and handshake by its own deadline.
                    match acceptor.accept_tcp(socket).await {
                        Ok((stream, _auth)) => {
                            stats.accepted.fetch_add(1, Ordering::Relaxed);
                            echo(stream).await;
                        }
                        Err(error) => stats.refused(&error),
                    }
                    stats.active.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        EchoServer {
            address,
            stats,
            acceptor,
            stop,
            task: Some(task),
        }
    }

    /// Stops accepting, then waits (at most `limit`) until every connection has finished.
    /// Returns whether all did.
    pub async fn stop(&mut self, limit: Duration) -> bool {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = timeout(limit, task).await;
        }
        let deadline = Instant::now() + limit;
        while self.stats.active.load(Ordering::Relaxed) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// Echoes every byte until the peer closes (then closes cleanly), an error, or
/// [`IDLE_LIMIT`] without data.
pub async fn echo<S>(mut stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match timeout(IDLE_LIMIT, stream.read(&mut buf)).await {
            Ok(Ok(0)) => {
                let _ = timeout(IDLE_LIMIT, stream.shutdown()).await;
                return;
            }
            // A TLS stream may keep the tail of a write buffered until flushed.
            Ok(Ok(n)) => match timeout(IDLE_LIMIT, write_and_flush(&mut stream, &buf[..n])).await {
                Ok(Ok(())) => {}
                _ => return,
            },
            Ok(Err(_)) | Err(_) => return,
        }
    }
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
