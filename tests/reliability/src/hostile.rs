//! Odd and hostile clients, and the outcome VESPA-BEHAVIOUR §5 (and docs/OPERATIONS.md, "odd
//! clients, as tested") gives each on a mixed and on a TLS-only server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_transport::Connector;
use vespa_tls_transport::snoop::{NotTlsReason, Snoop, classify};

use vespa_tls_testkit::{LegacyClientHello, real_client_hello};

use crate::echo::request;
use crate::payload::Rng;

/// The server's mode, as far as odd clients are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `plaintext_client_mixed_server` or `tls_client_mixed_server`.
    Mixed,
    /// `tls_client_tls_server` (or the mode unset).
    TlsOnly,
}

/// One kind of odd or hostile client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// Slowloris on the snoop: the first five bytes of a TLS record, one every half deadline.
    SlowSnoop,
    /// Slowloris on the handshake: the first 8 bytes of a real ClientHello at once (so the
    /// snoop says TLS), then one byte every quarter deadline.
    SlowHandshake,
    /// A real ClientHello, then silence: the server's flight arrives, our next never does.
    StalledHandshake,
    /// Random bytes (from this seed; some look like a TLS record, some pass the snoop).
    RandomBytes(u64),
    /// A TLS 1.0 ClientHello (legacy_version 0x0301, record version 0x0301).
    Tls10Hello,
    /// A TLS 1.1 ClientHello as `openssl s_client -tls1_1` sends it (record version 0x0301).
    Tls11Hello,
    /// A TLS 1.1 ClientHello in a record with version 0x0302 (fails snoop rule 2).
    Tls11RecordHello,
    /// A TLS client that presents no certificate.
    NoCertificate,
    /// A TLS client whose certificate another CA issued.
    OtherCa,
    /// A TLS client with a certificate from our CA that `authorized-peers` does not match.
    DeniedCertificate,
    /// A TLS client whose ClientHello is over 16 KiB (two records).
    OversizedHello,
}

/// What the client must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The plaintext side took it: every byte sent came back (the echo service).
    Echo,
    /// Refused at once: closed with nothing, or with TLS records only (an alert).
    Refused,
    /// Held until the snoop + handshake deadline, then closed; TLS records only.
    ClosedAtDeadline,
    /// A fatal TLS alert (record type 0x15), then closed.
    Alert,
    /// A TLS client's request failed (handshake or first read).
    TlsRefused,
    /// A TLS client's request succeeded.
    TlsCompletes,
}

impl Hostile {
    /// The outcome on a server of `kind` (for [`Hostile::RandomBytes`], from the snoop rule
    /// applied to the bytes).
    pub(crate) fn expect(self, kind: ServerKind) -> Expect {
        use Expect::*;
        match (self, kind) {
            (Hostile::SlowSnoop | Hostile::SlowHandshake | Hostile::StalledHandshake, _) => {
                ClosedAtDeadline
            }
            (Hostile::RandomBytes(seed), kind) => {
                match (classify(&random_bytes(seed)), kind) {
                    (Snoop::NotTls(_), ServerKind::Mixed) => Echo,
                    (
                        Snoop::NotTls(NotTlsReason::NotHandshake | NotTlsReason::Version),
                        ServerKind::TlsOnly,
                    ) => Refused,
                    // rustls reads it: an alert at once, or a wait for the rest of a record
                    // that never comes (then the deadline).
                    _ => Refused,
                }
            }
            (Hostile::Tls10Hello | Hostile::Tls11Hello, _) => Alert,
            (Hostile::Tls11RecordHello, ServerKind::Mixed) => Echo,
            (Hostile::Tls11RecordHello, ServerKind::TlsOnly) => Refused,
            (Hostile::NoCertificate | Hostile::OtherCa | Hostile::DeniedCertificate, _) => {
                TlsRefused
            }
            (Hostile::OversizedHello, ServerKind::Mixed) => TlsRefused,
            (Hostile::OversizedHello, ServerKind::TlsOnly) => TlsCompletes,
        }
    }

    /// Whether a mixed server counts this client in `insecure_connections` (it went to the
    /// plaintext side).
    pub fn plaintext_on_mixed(self) -> bool {
        matches!(self.expect(ServerKind::Mixed), Expect::Echo) || self == Hostile::OversizedHello
    }

    /// Every kind, with `random` random-byte clients seeded from `seed`.
    pub fn all(random: usize, seed: u64) -> Vec<Hostile> {
        let mut all = vec![
            Hostile::SlowSnoop,
            Hostile::SlowHandshake,
            Hostile::StalledHandshake,
            Hostile::Tls10Hello,
            Hostile::Tls11Hello,
            Hostile::Tls11RecordHello,
            Hostile::NoCertificate,
            Hostile::OtherCa,
            Hostile::DeniedCertificate,
            Hostile::OversizedHello,
        ];
        all.extend((0..random as u64).map(|i| Hostile::RandomBytes(seed.wrapping_add(i))));
        all
    }
}

/// The TLS clients the hostile kinds need.
#[derive(Debug, Clone)]
pub struct HostileClients {
    /// A good client's config (for real ClientHellos).
    pub good: Arc<ClientConfig>,
    /// Presents no certificate (a good client's config without one).
    pub no_certificate: Arc<ClientConfig>,
    /// Presents a certificate from another CA.
    pub other_ca: Connector,
    /// Presents a certificate our rules deny.
    pub denied: Connector,
    /// A good client whose ClientHello is over 16 KiB.
    pub oversized: Arc<ClientConfig>,
}

/// Random bytes for [`Hostile::RandomBytes`]: 64–1024 bytes; a third start like a TLS record
/// (`16 03 01`), a third pass the whole 8-byte snoop.
pub(crate) fn random_bytes(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let len = usize::try_from(rng.range(64, 1024)).expect("below 1024");
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes);
    match seed % 3 {
        0 => {
            // Not TLS at the first byte, as a plaintext protocol would be.
            if bytes[0] == 0x16 {
                bytes[0] = 0x17;
            }
        }
        1 => bytes[..3].copy_from_slice(&[0x16, 0x03, 0x01]),
        _ => {
            let record = u16::try_from(len - 5).expect("below 1024");
            let hello = record - 4;
            let [rh, rl] = record.to_be_bytes();
            bytes[..8].copy_from_slice(&[0x16, 0x03, 0x03, rh, rl, 0x01, 0x00, (hello >> 8) as u8]);
        }
    }
    bytes
}

/// What a raw client saw.
#[derive(Debug, Clone)]
pub struct RawResult {
    /// Every byte received.
    pub(crate) received: Vec<u8>,
    /// Whether the server closed (EOF or reset) before the read limit.
    pub closed: bool,
    /// From connect to close (or to the full echo, or to the limit).
    pub(crate) elapsed: Duration,
    /// Whether everything sent came back.
    pub echoed: bool,
}

/// Connects and sends each chunk after its pause, while reading: stops at EOF, error, the full
/// echo of what was sent, or `limit`.
pub async fn raw_client(
    address: SocketAddr,
    chunks: Vec<(Duration, Vec<u8>)>,
    limit: Duration,
) -> Result<RawResult, String> {
    let started = Instant::now();
    let stream = timeout(limit, TcpStream::connect(address))
        .await
        .map_err(|_| format!("{address}: no TCP connection within {limit:?}"))?
        .map_err(|e| format!("{address}: connect: {e}"))?;
    let sent: Vec<u8> = chunks.iter().flat_map(|(_, c)| c.clone()).collect();
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        for (pause, chunk) in chunks {
            tokio::time::sleep(pause).await;
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
        // Keep the write half open: a half-close would look like EOF to the server.
        std::future::pending::<()>().await;
    };
    let read = async {
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return (received, true),
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    if received.len() >= sent.len() && received.starts_with(&sent) {
                        return (received, false);
                    }
                }
            }
        }
    };
    let outcome = timeout(limit, async {
        tokio::select! {
            read = read => read,
            () = write => unreachable!("the writer never finishes"),
        }
    })
    .await;
    let (received, closed) = outcome.unwrap_or_default();
    let echoed = received.len() >= sent.len() && received.starts_with(&sent);
    Ok(RawResult {
        received,
        closed,
        elapsed: started.elapsed(),
        echoed,
    })
}

/// Whether `bytes` are nothing but TLS records (alerts, a server's handshake flight).
fn only_tls_records(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while rest.len() >= 5 {
        if !(0x14..=0x17).contains(&rest[0]) || rest[1] != 0x03 {
            return false;
        }
        let len = usize::from(rest[3]) << 8 | usize::from(rest[4]);
        rest = &rest[(5 + len).min(rest.len())..];
    }
    rest.is_empty()
}

/// Runs one hostile client against `address` (a server of `kind` whose snoop + handshake
/// deadline is `deadline`) and checks it got its outcome within `deadline + slack`.
/// Returns how long it took.
pub async fn run(
    hostile: Hostile,
    kind: ServerKind,
    address: SocketAddr,
    clients: &HostileClients,
    deadline: Duration,
    slack: Duration,
) -> Result<Duration, String> {
    let bound = deadline + slack;
    let expect = hostile.expect(kind);
    let now = Duration::ZERO;
    let result = match hostile {
        Hostile::NoCertificate
        | Hostile::OtherCa
        | Hostile::DeniedCertificate
        | Hostile::OversizedHello => {
            let connector = match hostile {
                Hostile::OtherCa => clients.other_ca.clone(),
                Hostile::DeniedCertificate => clients.denied.clone(),
                _ => {
                    let config = match hostile {
                        Hostile::NoCertificate => &clients.no_certificate,
                        _ => &clients.oversized,
                    };
                    let started = Instant::now();
                    let ok = tls_exchange(address, config, bound).await;
                    return check_tls(expect, ok, started.elapsed(), bound, hostile, kind);
                }
            };
            let started = Instant::now();
            let outcome = request(&connector, address, b"hostile\n", bound).await;
            return check_tls(
                expect,
                outcome.is_ok(),
                started.elapsed(),
                bound,
                hostile,
                kind,
            );
        }
        Hostile::SlowSnoop => {
            let step = deadline / 2;
            let chunks = [0x16u8, 0x03, 0x01, 0x02, 0x00]
                .iter()
                .map(|b| (step, vec![*b]))
                .collect();
            raw_client(address, chunks, bound + slack).await?
        }
        Hostile::SlowHandshake => {
            let hello = real_client_hello(&clients.good);
            let step = deadline / 4;
            let mut chunks = vec![(now, hello[..8].to_vec())];
            chunks.extend(hello[8..].iter().take(64).map(|b| (step, vec![*b])));
            raw_client(address, chunks, bound + slack).await?
        }
        Hostile::StalledHandshake => {
            let hello = real_client_hello(&clients.good);
            raw_client(address, vec![(now, hello)], bound + slack).await?
        }
        Hostile::RandomBytes(seed) => {
            raw_client(address, vec![(now, random_bytes(seed))], bound + slack).await?
        }
        Hostile::Tls10Hello => {
            let hello = LegacyClientHello::tls10().to_bytes();
            raw_client(address, vec![(now, hello)], bound + slack).await?
        }
        Hostile::Tls11Hello => {
            let hello = LegacyClientHello::tls11().to_bytes();
            raw_client(address, vec![(now, hello)], bound + slack).await?
        }
        Hostile::Tls11RecordHello => {
            let hello = LegacyClientHello::tls11().record_version(0x02).to_bytes();
            raw_client(address, vec![(now, hello)], bound + slack).await?
        }
    };
    check_raw(expect, &result, deadline, bound)
        .map(|()| result.elapsed)
        .map_err(|why| format!("{hostile:?} on a {kind:?} server: {why} (saw {result:?})"))
}

fn check_tls(
    expect: Expect,
    ok: bool,
    elapsed: Duration,
    bound: Duration,
    hostile: Hostile,
    kind: ServerKind,
) -> Result<Duration, String> {
    let wanted = expect == Expect::TlsCompletes;
    if ok != wanted {
        return Err(format!(
            "{hostile:?} on a {kind:?} server: expected {expect:?}, the request {}",
            if ok { "succeeded" } else { "failed" }
        ));
    }
    if elapsed > bound {
        return Err(format!(
            "{hostile:?} on a {kind:?} server: {expect:?} took {elapsed:?}, over {bound:?}"
        ));
    }
    Ok(elapsed)
}

fn check_raw(
    expect: Expect,
    result: &RawResult,
    deadline: Duration,
    bound: Duration,
) -> Result<(), String> {
    match expect {
        Expect::Echo if result.echoed && result.elapsed <= bound => Ok(()),
        Expect::Echo => Err("expected the echo of every byte (plaintext side)".into()),
        Expect::Refused | Expect::ClosedAtDeadline | Expect::Alert if !result.closed => {
            Err(format!("expected a close within {bound:?}"))
        }
        _ if result.elapsed > bound => Err(format!("closed only after {:?}", result.elapsed)),
        _ if !only_tls_records(&result.received) => {
            Err("received bytes that are not TLS records".into())
        }
        Expect::ClosedAtDeadline if result.elapsed < deadline.mul_f32(0.8) => Err(format!(
            "closed after {:?}, before the {deadline:?} deadline",
            result.elapsed
        )),
        Expect::Alert if result.received.first() != Some(&0x15) => {
            Err("expected a fatal alert (0x15) first".into())
        }
        Expect::Refused | Expect::ClosedAtDeadline | Expect::Alert => Ok(()),
        Expect::TlsRefused | Expect::TlsCompletes => Err("not a raw-byte client".into()),
    }
}

/// A TLS request with a bare rustls config: `true` when the echo came back over TLS.
async fn tls_exchange(address: SocketAddr, config: &Arc<ClientConfig>, bound: Duration) -> bool {
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    let name = ServerName::try_from("localhost").expect("a valid DNS name");
    let attempt = async {
        let tcp = TcpStream::connect(address).await.ok()?;
        let mut stream = connector.connect(name, tcp).await.ok()?;
        stream.write_all(b"big hello\n").await.ok()?;
        let mut reply = [0u8; 10];
        stream.read_exact(&mut reply).await.ok()?;
        stream.shutdown().await.ok()?;
        (&reply == b"big hello\n").then_some(())
    };
    matches!(timeout(bound, attempt).await, Ok(Some(())))
}
