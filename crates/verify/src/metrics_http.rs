//! `serve --metrics-listen`: plaintext HTTP `GET /metrics` in the Prometheus text format.
//!
//! A deliberately small HTTP/1.1 responder: one request per connection, a bounded request
//! head read within a deadline, `Connection: close`. The page is rendered from the process's
//! counters and the reloading context's status at each request.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vespa_tls_context::{PROMETHEUS_CONTENT_TYPE, TlsCollector, render_prometheus};

/// The longest request head read (a scraper sends a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `address`: every address it resolves to must be a loopback address unless `public`
/// (the page is plaintext and unauthenticated).
pub(crate) async fn bind(address: &str, public: bool) -> anyhow::Result<TcpListener> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(address)
        .await
        .with_context(|| format!("--metrics-listen {address}: cannot resolve"))?
        .collect();
    let Some(first) = resolved.first() else {
        bail!("--metrics-listen {address}: resolves to no address");
    };
    if !public && let Some(open) = resolved.iter().find(|a| !a.ip().is_loopback()) {
        bail!(
            "--metrics-listen {address}: {} is not a loopback address; the metrics page is \
             plaintext and unauthenticated, so serving it beyond this host needs \
             --metrics-listen-public",
            open.ip()
        );
    }
    TcpListener::bind(first)
        .await
        .with_context(|| format!("--metrics-listen {address}: cannot listen"))
}

/// Answers scrapes on `listener` until the process stops.
pub(crate) fn spawn(listener: TcpListener, collector: TlsCollector) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let collector = collector.clone();
            tokio::spawn(async move {
                let _ = respond(stream, &collector).await;
            });
        }
    });
}

async fn respond(mut stream: TcpStream, collector: &TlsCollector) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            return reply(
                &mut stream,
                "400 Bad Request",
                "text/plain",
                b"bad request\n",
            )
            .await;
        }
        Ok(Err(error)) => return Err(error),
        Err(_) => return Ok(()),
    };
    let mut parts = head.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let body = render_prometheus(collector);
            reply(
                &mut stream,
                "200 OK",
                PROMETHEUS_CONTENT_TYPE,
                body.as_bytes(),
            )
            .await
        }
        ("GET", _) => {
            reply(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"not found; metrics are at /metrics\n",
            )
            .await
        }
        _ => {
            reply(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                b"method not allowed\n",
            )
            .await
        }
    }
}

/// The request line, once the whole head has arrived; `None` for a head that is too long,
/// not UTF-8, or cut short.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let Ok(head) = std::str::from_utf8(&buf[..end]) else {
                return Ok(None);
            };
            return Ok(head.lines().next().map(str::to_owned));
        }
        if buf.len() >= MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn reply(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}
