//! The load generator: one tokio-rustls client used against every server.
//!
//! Each of N connections loops for a fixed time: TCP connect, a full TLS 1.3 handshake with a
//! client certificate and no resumption, then `x\n` out and two bytes back (an echo, or
//! `s_server -rev`'s reversal of a one-letter line), so the server has verified the client
//! before the round counts; then close_notify and close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
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

/// What the client offers: its key exchange groups and the order of its cipher suites
/// (rustls' default, TLS_AES_256_GCM_SHA384 first, unless a variant says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// rustls' default groups with aws-lc-rs: X25519MLKEM768 first, X25519 next.
    Default,
    /// Only X25519, to match peers that cannot do the hybrid.
    X25519Only,
    /// Only X25519, with TLS_AES_128_GCM_SHA256 listed first (rustls lists
    /// TLS_AES_256_GCM_SHA384 first): the suite `vespa-tls` servers choose, so that a server
    /// following the client's order negotiates it too.
    X25519Aes128First,
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
    offer: Offer,
) -> Result<Arc<ClientConfig>, String> {
    let (provider, roots) = provider_and_roots(material, offer)?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(material.chain.clone(), material.key.clone_key())
        .map_err(|e| e.to_string())?;
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Like [`client_config`], but each handshake presents the next certificate of `certificates`
/// (all for `material`'s key and names, each with its own serial), round-robin; the count
/// tells how many were presented. A server is shown a certificate it has not verified before
/// on every connection as long as the count stays within the certificates.
pub(crate) fn first_contact_config(
    material: &ClientMaterial,
    certificates: &[CertificateDer<'static>],
    offer: Offer,
) -> Result<(Arc<ClientConfig>, Arc<Presented>), String> {
    let (provider, roots) = provider_and_roots(material, offer)?;
    let key = provider
        .key_provider
        .load_private_key(material.key.clone_key())
        .map_err(|e| e.to_string())?;
    let presented = certificates
        .iter()
        .map(|cert| {
            let mut chain = vec![cert.clone()];
            chain.extend(material.chain.iter().skip(1).cloned());
            Arc::new(CertifiedKey::new(chain, Arc::clone(&key)))
        })
        .collect::<Vec<_>>();
    if presented.is_empty() {
        return Err("no certificates for the first-contact client".into());
    }
    let count = Arc::new(Presented {
        count: AtomicUsize::new(0),
        distinct: presented.len(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(EveryTimeAnother {
            presented,
            count: Arc::clone(&count),
        }));
    config.resumption = Resumption::disabled();
    Ok((Arc::new(config), count))
}

/// How many certificates a first-contact client presented, out of how many distinct ones.
#[derive(Debug)]
pub(crate) struct Presented {
    count: AtomicUsize,
    distinct: usize,
}

impl Presented {
    /// Certificates presented so far (one per handshake that asked for one).
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Distinct certificates the client has.
    pub(crate) fn distinct(&self) -> usize {
        self.distinct
    }
}

fn provider_and_roots(
    material: &ClientMaterial,
    offer: Offer,
) -> Result<(Arc<CryptoProvider>, RootCertStore), String> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if offer != Offer::Default {
        provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    }
    if offer == Offer::X25519Aes128First {
        provider
            .cipher_suites
            .sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    }
    let mut roots = RootCertStore::empty();
    for root in &material.roots {
        roots.add(root.clone()).map_err(|e| e.to_string())?;
    }
    Ok((Arc::new(provider), roots))
}

/// Presents the next certificate of its list in each handshake.
#[derive(Debug)]
struct EveryTimeAnother {
    presented: Vec<Arc<CertifiedKey>>,
    count: Arc<Presented>,
}

impl ResolvesClientCert for EveryTimeAnother {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let n = self.count.count.fetch_add(1, Ordering::Relaxed);
        self.presented.get(n % self.presented.len()).cloned()
    }

    fn has_certs(&self) -> bool {
        true
    }
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
    run_together(runtime, std::slice::from_ref(target), connections, duration)
        .pop()
        .unwrap_or_default()
}

/// [`run`] on every target at once, `connections` loops each over the same `duration`: the
/// servers share the host's state, whatever it does meanwhile. One result per target, in order.
pub(crate) fn run_together(
    runtime: &Runtime,
    targets: &[Target],
    connections: usize,
    duration: Duration,
) -> Vec<LoadResult> {
    runtime.block_on(async {
        let start = Instant::now();
        let deadline = start + duration;
        let tasks: Vec<Vec<_>> = targets
            .iter()
            .map(|target| {
                (0..connections)
                    .map(|_| tokio::spawn(rounds_until(target.clone(), deadline)))
                    .collect()
            })
            .collect();
        let mut results = Vec::with_capacity(targets.len());
        for per_target in tasks {
            let mut total = LoadResult::default();
            for task in per_target {
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
            results.push(total);
        }
        results
    })
}

/// One client loop: [`round`] after round until `deadline`, within the per-connection bounds.
async fn rounds_until(target: Target, deadline: Instant) -> LoadResult {
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

/// What a reconnect storm looked like from the clients.
#[derive(Debug, Default)]
pub(crate) struct StormOutcome {
    /// Connections that completed the handshake and one exchange.
    pub(crate) established: usize,
    /// Connections that failed or timed out.
    pub(crate) failures: usize,
    pub(crate) first_failure: Option<String>,
    /// From the start signal to each established connection's answer, sorted.
    pub(crate) latencies: Vec<Duration>,
    /// From the start signal until every connection was established or had failed.
    pub(crate) all_done: Duration,
}

/// `clients` connections wait for one signal, then all connect, handshake and exchange one
/// line at once (each bounded by `limit`); they stay open until every one is done, then close.
pub(crate) fn storm(
    runtime: &Runtime,
    target: &Target,
    clients: usize,
    limit: Duration,
) -> Result<StormOutcome, String> {
    runtime.block_on(async {
        let (go, _) = tokio::sync::watch::channel(None::<Instant>);
        let ready = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::with_capacity(clients);
        for _ in 0..clients {
            let mut start = go.subscribe();
            let (target, ready) = (target.clone(), Arc::clone(&ready));
            tasks.push(tokio::spawn(async move {
                ready.fetch_add(1, Ordering::Relaxed);
                let start = match start.wait_for(Option::is_some).await {
                    Ok(start) => (*start).unwrap_or_else(Instant::now),
                    Err(_) => return Err(("the start signal was lost".to_owned(), Instant::now())),
                };
                match tokio::time::timeout(limit, open_one(&target)).await {
                    Ok(Ok(open)) => Ok((start.elapsed(), open)),
                    Ok(Err(e)) => Err((e, start)),
                    Err(_) => Err((format!("not established within {limit:?}"), start)),
                }
            }));
        }
        // Every client waits for the signal before it is given.
        let waiting_since = Instant::now();
        while ready.load(Ordering::Relaxed) < clients {
            if waiting_since.elapsed() > Duration::from_secs(30) {
                return Err("the storm's clients did not all start within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let start = Instant::now();
        go.send_replace(Some(start));
        let mut outcome = StormOutcome::default();
        let mut open = Vec::with_capacity(clients);
        for task in tasks {
            match task.await {
                Ok(Ok((elapsed, stream))) => {
                    outcome.established += 1;
                    outcome.latencies.push(elapsed);
                    open.push(stream);
                }
                Ok(Err((e, _))) => {
                    outcome.failures += 1;
                    outcome.first_failure.get_or_insert(e);
                }
                Err(e) => {
                    outcome.failures += 1;
                    outcome.first_failure.get_or_insert(e.to_string());
                }
            }
        }
        outcome.all_done = start.elapsed();
        outcome.latencies.sort();
        drop(open);
        Ok(outcome)
    })
}

/// Connects, completes the handshake and one exchange, and returns the open connection.
async fn open_one(target: &Target) -> Result<Box<dyn Send>, String> {
    let tcp = TcpStream::connect(target.address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut reply = [0u8; 2];
    match &target.tls {
        None => {
            let mut tcp = tcp;
            idle_exchange(&mut tcp, &mut reply).await?;
            Ok(Box::new(tcp))
        }
        Some(config) => {
            let mut tls = TlsConnector::from(Arc::clone(config))
                .connect(server_name(), tcp)
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            idle_exchange(&mut tls, &mut reply).await?;
            Ok(Box::new(tls))
        }
    }
}
