//! Loopback helpers: an echo server on the acceptor, and a client that checks the echo.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use vespa_tls_config::{Files, MixedMode};
use vespa_tls_context::{TlsContext, TlsMetrics, TlsModes};
use vespa_tls_transport::{Acceptor, ConnectionAuthContext, Connector, TlsSource, TransportError};

/// Every await in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(10);

pub fn context(files: &Files, extra: &str, modes: TlsModes) -> Arc<TlsContext> {
    let json = vespa_tls_testkit::config_json_with(files, extra);
    let (options, _) = vespa_tls_config::parse(&json).expect("test config parses");
    let (ctx, _) = TlsContext::from_options(&options, modes, Arc::new(TlsMetrics::default()))
        .expect("context builds");
    Arc::new(ctx)
}

/// What the server saw for one connection.
#[derive(Debug)]
pub enum Seen {
    Accepted(ConnectionAuthContext),
    Failed(TransportError),
}

impl Seen {
    pub fn is_tls(&self) -> Option<bool> {
        match self {
            Seen::Accepted(auth) => Some(auth.is_tls()),
            Seen::Failed(_) => None,
        }
    }
}

pub struct EchoServer {
    pub address: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub acceptor: Acceptor,
    task: JoinHandle<()>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EchoServer {
    pub fn seen_count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    /// Waits until the server has recorded `n` connections.
    pub async fn wait_seen(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        while self.seen_count() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "server saw only {}",
                self.seen_count()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// An echo server: accepts with `acceptor`, echoes every byte until EOF.
pub async fn echo_server(acceptor: Acceptor) -> EchoServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (task_seen, task_acceptor) = (Arc::clone(&seen), acceptor.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (seen, acceptor) = (Arc::clone(&task_seen), task_acceptor.clone());
            tokio::spawn(async move {
                match acceptor.accept_tcp(socket).await {
                    Ok((mut stream, auth)) => {
                        seen.lock().expect("lock").push(Seen::Accepted(auth));
                        let mut buf = [0u8; 16384];
                        loop {
                            match timeout(LIMIT, stream.read(&mut buf)).await {
                                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                                Ok(Ok(n)) => {
                                    if stream.write_all(&buf[..n]).await.is_err()
                                        || stream.flush().await.is_err()
                                    {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = stream.shutdown().await;
                    }
                    Err(e) => seen.lock().expect("lock").push(Seen::Failed(e)),
                }
            });
        }
    });
    EchoServer {
        address,
        seen,
        acceptor,
        task,
    }
}

/// What a client got.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Tls,
    Plaintext,
    Refused,
}

/// Connects, sends a message and checks the echo.
pub async fn exchange(connector: &Connector, address: SocketAddr, host: &str) -> Outcome {
    let connected = timeout(LIMIT, connector.connect_tcp(address, host))
        .await
        .expect("bounded");
    let Ok((mut stream, auth)) = connected else {
        return Outcome::Refused;
    };
    let message = b"hello, vespa\n";
    if stream.write_all(message).await.is_err() || stream.flush().await.is_err() {
        return Outcome::Refused;
    }
    let mut reply = vec![0u8; message.len()];
    match timeout(LIMIT, stream.read_exact(&mut reply)).await {
        Ok(Ok(_)) if reply == message => {
            if auth.is_tls() {
                Outcome::Tls
            } else {
                Outcome::Plaintext
            }
        }
        _ => Outcome::Refused,
    }
}

pub fn source(ctx: Option<&Arc<TlsContext>>) -> TlsSource {
    match ctx {
        Some(ctx) => TlsSource::Fixed(Arc::clone(ctx)),
        None => TlsSource::disabled(),
    }
}

/// A phase of the rollout: `None` = `VESPA_TLS_CONFIG_FILE` unset.
pub type Phase = Option<MixedMode>;
