//! The HTTP/2 rows: one axum app on our `http::Listener` (`axum-listener`) and on bare
//! tokio-rustls (`bare-server --http`), the same certificates, ALPN `h2`, driven by one
//! hyper h2 client over tokio-rustls: `connections` connections, each with `STREAMS`
//! requests in flight, `GET /state/v1/health` in a loop. Requests per second, and the server
//! process's CPU per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use vespa_tls_benches::cpu::pid_cpu_time;
use vespa_tls_benches::http::{HEALTH_BODY, HEALTH_PATH};

/// Requests in flight on each connection.
pub(crate) const STREAMS: usize = 8;
/// A request that takes longer than this is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Errors after which a stream stops (a server that refuses everything ends the run early).
const MAX_ERRORS: u64 = 100;

/// One measurement of one server.
#[derive(Debug, Clone, Default)]
pub(crate) struct H2Sample {
    /// Responses completed (status 200, the expected body) inside the window.
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) window: Duration,
    /// The server process's on-CPU time over the window.
    pub(crate) server_cpu: Duration,
}

impl H2Sample {
    pub(crate) fn rate(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }

    pub(crate) fn server_cpu_us_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests as f64
    }
}

/// The client config with ALPN `h2` only.
pub(crate) fn h2_config(config: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = config.clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// An h2 connection to `address` (TLS with `config`, ALPN `h2` required).
async fn connect(
    address: std::net::SocketAddr,
    config: &Arc<ClientConfig>,
) -> Result<hyper::client::conn::http2::SendRequest<Empty<Bytes>>, String> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::clone(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    if alpn.as_deref() != Some(b"h2") {
        return Err(format!("ALPN: the server chose {alpn:?}, not h2"));
    }
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .map_err(|e| format!("h2 handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn request(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
) -> Result<(), String> {
    sender.ready().await.map_err(|e| format!("ready: {e}"))?;
    let request = http::Request::get(format!("https://localhost{HEALTH_PATH}"))
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    if status != http::StatusCode::OK || body != HEALTH_BODY.as_bytes() {
        return Err(format!("answer: {status} {body:?}"));
    }
    Ok(())
}

/// Opens `connections` h2 connections to the server `pid` listening on `address`, runs
/// [`STREAMS`] request loops on each for `warmup` (not counted) and then `seconds` (counted),
/// and reads the server's CPU time at both ends of the counted window.
pub(crate) fn measure(
    runtime: &Runtime,
    address: std::net::SocketAddr,
    pid: u32,
    config: &Arc<ClientConfig>,
    connections: usize,
    warmup: Duration,
    seconds: Duration,
) -> Result<H2Sample, String> {
    runtime.block_on(async {
        let mut senders = Vec::with_capacity(connections);
        for _ in 0..connections {
            senders.push(connect(address, config).await?);
        }
        let start = Instant::now() + warmup;
        let end = start + seconds;
        let counted = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for sender in &senders {
            for _ in 0..STREAMS {
                let (mut sender, counted) = (sender.clone(), Arc::clone(&counted));
                tasks.push(tokio::spawn(async move {
                    let (mut errors, mut first_error) = (0u64, None);
                    while Instant::now() < end && errors < MAX_ERRORS {
                        match tokio::time::timeout(REQUEST_TIMEOUT, request(&mut sender)).await {
                            Ok(Ok(())) => {
                                let now = Instant::now();
                                if now >= start && now <= end {
                                    counted.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            Ok(Err(e)) => {
                                errors += 1;
                                first_error.get_or_insert(e);
                            }
                            Err(_) => {
                                errors += 1;
                                first_error.get_or_insert("timed out".to_owned());
                            }
                        }
                    }
                    (errors, first_error)
                }));
            }
        }
        tokio::time::sleep_until(start).await;
        let cpu_before = pid_cpu_time(pid).ok_or("server CPU time unreadable")?;
        let counted_before = counted.load(Ordering::Relaxed);
        tokio::time::sleep_until(end).await;
        let cpu_after = pid_cpu_time(pid).ok_or("server CPU time unreadable")?;
        let window = start.elapsed();
        let requests = counted.load(Ordering::Relaxed) - counted_before;
        let mut sample = H2Sample {
            requests,
            window,
            server_cpu: cpu_after.saturating_sub(cpu_before),
            ..H2Sample::default()
        };
        for task in tasks {
            match task.await {
                Ok((errors, first_error)) => {
                    sample.errors += errors;
                    if sample.first_error.is_none() {
                        sample.first_error = first_error;
                    }
                }
                Err(e) => {
                    sample.errors += 1;
                    sample.first_error.get_or_insert(e.to_string());
                }
            }
        }
        Ok(sample)
    })
}
