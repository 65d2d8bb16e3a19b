//! The load generator: one tokio-rustls client used against every server.
//!
//! Each of N connections loops for a fixed time: TCP connect, a full TLS 1.3 handshake with a
//! client certificate and no resumption, then `x\n` out and two bytes back (an echo, or
//! `s_server -rev`'s reversal of a one-letter line), so the server has verified the client
//! before the round counts; then close_notify and close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_rustls::TlsConnector;

/// Bound on one connection's whole round (connect, handshake, exchange, close).
const ROUND_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on the rounds of one connection in one run, whatever the duration.
const MAX_ROUNDS_PER_CONNECTION: u64 = 1_000_000;
/// A run stops early after this many failed rounds.
const MAX_ERRORS: u64 = 50;

/// Which key exchange groups the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Groups {
    /// rustls' default order with aws-lc-rs: X25519MLKEM768 first, X25519 next.
    Default,
    /// Only X25519, to match peers that cannot do the hybrid.
    X25519Only,
}

/// What the client presents and trusts.
pub(crate) struct ClientMaterial {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
    pub(crate) roots: Vec<CertificateDer<'static>>,
}

/// A TLS 1.3-only client config with a client certificate and no resumption.
pub(crate) fn client_config(
    material: &ClientMaterial,
    groups: Groups,
) -> Result<Arc<ClientConfig>, String> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if groups == Groups::X25519Only {
        provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    }
    let provider: Arc<CryptoProvider> = Arc::new(provider);
    let mut roots = RootCertStore::empty();
    for root in &material.roots {
        roots.add(root.clone()).map_err(|e| e.to_string())?;
    }
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(material.chain.clone(), material.key.clone_key())
        .map_err(|e| e.to_string())?;
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Where to connect, and with which TLS config (`None`: plaintext).
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) address: SocketAddr,
    pub(crate) tls: Option<Arc<ClientConfig>>,
}

/// What one round learned about the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) group: Option<String>,
    pub(crate) suite: Option<String>,
}

/// One run of the load generator.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadResult {
    pub(crate) rounds: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed: Duration,
    pub(crate) negotiated: Negotiated,
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("localhost is a valid DNS name")
}

/// One round: connect, handshake, `x\n` → two bytes, close. Returns what was negotiated.
pub(crate) async fn round(target: &Target) -> Result<Negotiated, String> {
    let tcp = TcpStream::connect(target.address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut reply = [0u8; 2];
    match &target.tls {
        None => {
            let mut tcp = tcp;
            exchange(&mut tcp, &mut reply).await?;
            Ok(Negotiated::default())
        }
        Some(config) => {
            let mut tls = TlsConnector::from(Arc::clone(config))
                .connect(server_name(), tcp)
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            let connection = tls.get_ref().1;
            let negotiated = Negotiated {
                group: connection
                    .negotiated_key_exchange_group()
                    .map(|g| format!("{:?}", g.name())),
                suite: connection
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite())),
            };
            exchange(&mut tls, &mut reply).await?;
            Ok(negotiated)
        }
    }
}

async fn exchange<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    reply: &mut [u8; 2],
) -> Result<(), String> {
    stream
        .write_all(b"x\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    // tokio-rustls can accept bytes it has not sent yet; flush so they leave.
    stream.flush().await.map_err(|e| format!("flush: {e}"))?;
    stream
        .read_exact(reply)
        .await
        .map_err(|e| format!("read (the server refused or closed): {e}"))?;
    if reply != b"x\n" {
        return Err(format!("unexpected reply {reply:?}"));
    }
    // close_notify, then FIN; the server sees a clean end.
    let _ = stream.shutdown().await;
    Ok(())
}

/// Runs `connections` concurrent loops of [`round`] for `duration`; rounds in flight at the
/// deadline finish and count, and `elapsed` runs until the last one has.
pub(crate) fn run(
    runtime: &Runtime,
    target: &Target,
    connections: usize,
    duration: Duration,
) -> LoadResult {
    runtime.block_on(async {
        let start = Instant::now();
        let deadline = start + duration;
        let mut tasks = Vec::with_capacity(connections);
        for _ in 0..connections {
            let target = target.clone();
            tasks.push(tokio::spawn(async move {
                let mut result = LoadResult::default();
                while Instant::now() < deadline
                    && result.rounds < MAX_ROUNDS_PER_CONNECTION
                    && result.errors < MAX_ERRORS
                {
                    match tokio::time::timeout(ROUND_TIMEOUT, round(&target)).await {
                        Ok(Ok(negotiated)) => {
                            result.rounds += 1;
                            if result.negotiated.group.is_none() {
                                result.negotiated = negotiated;
                            }
                        }
                        Ok(Err(e)) => {
                            result.errors += 1;
                            result.first_error.get_or_insert(e);
                        }
                        Err(_) => {
                            result.errors += 1;
                            result.first_error.get_or_insert("timed out".to_owned());
                        }
                    }
                }
                result
            }));
        }
        let mut total = LoadResult::default();
        for task in tasks {
            let Ok(one) = task.await else {
                total.errors += 1;
                continue;
            };
            total.rounds += one.rounds;
            total.errors += one.errors;
            if total.first_error.is_none() {
                total.first_error = one.first_error;
            }
            if total.negotiated.group.is_none() {
                total.negotiated = one.negotiated;
            }
        }
        total.elapsed = start.elapsed();
        total
    })
}

/// Sends `bytes` through an echo server and reads them back at the same time; returns the
/// wall time from the first byte written to the last byte read.
pub(crate) fn stream_echo(
    runtime: &Runtime,
    target: &Target,
    bytes: u64,
    limit: Duration,
) -> Result<Duration, String> {
    runtime.block_on(async {
        let work = async {
            let tcp = TcpStream::connect(target.address)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            match &target.tls {
                None => pump(tcp, bytes).await,
                Some(config) => {
                    let tls = TlsConnector::from(Arc::clone(config))
                        .connect(server_name(), tcp)
                        .await
                        .map_err(|e| format!("handshake: {e}"))?;
                    pump(tls, bytes).await
                }
            }
        };
        tokio::time::timeout(limit, work)
            .await
            .map_err(|_| format!("the transfer took longer than {limit:?}"))?
    })
}

async fn pump<S>(stream: S, bytes: u64) -> Result<Duration, String>
where
    S: AsyncReadExt + AsyncWriteExt + Send + 'static,
{
    const CHUNK: usize = 256 * 1024;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let start = Instant::now();
    let write = tokio::spawn(async move {
        let chunk = vec![0x5au8; CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            writer.write_all(&chunk[..n]).await?;
            left -= n as u64;
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });
    let mut buf = vec![0u8; CHUNK];
    let mut read: u64 = 0;
    while read < bytes {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("the server closed after {read} of {bytes} bytes"));
        }
        read += n as u64;
    }
    let elapsed = start.elapsed();
    let mut writer = write
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("write: {e}"))?;
    let _ = writer.shutdown().await;
    Ok(elapsed)
}

/// Opens `count` connections, each after its handshake and one exchange, and keeps them open
/// until the returned value is dropped.
pub(crate) fn open_idle(
    runtime: &Runtime,
    target: &Target,
    count: usize,
) -> Result<Vec<Box<dyn Send>>, String> {
    runtime.block_on(async {
        let mut open: Vec<Box<dyn Send>> = Vec::with_capacity(count);
        for _ in 0..count {
            let tcp = tokio::time::timeout(ROUND_TIMEOUT, TcpStream::connect(target.address))
                .await
                .map_err(|_| "connect timed out".to_owned())?
                .map_err(|e| format!("connect: {e}"))?;
            let mut reply = [0u8; 2];
            match &target.tls {
                None => {
                    let mut tcp = tcp;
                    idle_exchange(&mut tcp, &mut reply).await?;
                    open.push(Box::new(tcp));
                }
                Some(config) => {
                    let mut tls = tokio::time::timeout(
                        ROUND_TIMEOUT,
                        TlsConnector::from(Arc::clone(config)).connect(server_name(), tcp),
                    )
                    .await
                    .map_err(|_| "handshake timed out".to_owned())?
                    .map_err(|e| format!("handshake: {e}"))?;
                    idle_exchange(&mut tls, &mut reply).await?;
                    open.push(Box::new(tls));
                }
            }
        }
        Ok(open)
    })
}

async fn idle_exchange<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    reply: &mut [u8; 2],
) -> Result<(), String> {
    stream
        .write_all(b"x\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    // tokio-rustls can accept bytes it has not sent yet; flush so they leave.
    stream.flush().await.map_err(|e| format!("flush: {e}"))?;
    tokio::time::timeout(ROUND_TIMEOUT, stream.read_exact(reply))
        .await
        .map_err(|_| "read timed out".to_owned())?
        .map_err(|e| format!("read: {e}"))?;
    Ok(())
}
