//! Client loops that count every request.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use tokio::task::JoinHandle;
use vespa_tls_transport::Connector;

use crate::echo::{Outcome, request};
use crate::error::ScenarioError;
use crate::payload::payload;
use crate::scale::Window;

/// Counts of one load: every request lands in exactly one of `ok`, `failed`, `corrupted`.
#[derive(Debug, Default)]
pub struct LoadStats {
    /// See [`LoadSnapshot::ok`].
    pub(crate) ok: AtomicU64,
    /// See [`LoadSnapshot::failed`].
    pub(crate) failed: AtomicU64,
    /// See [`LoadSnapshot::corrupted`].
    pub(crate) corrupted: AtomicU64,
    /// See [`LoadSnapshot::tls`].
    pub(crate) tls: AtomicU64,
    /// See [`LoadSnapshot::plaintext`].
    pub(crate) plaintext: AtomicU64,
    /// The slowest successful request, in microseconds.
    pub(crate) max_latency_us: AtomicU64,
    /// Sum of successful latencies, in microseconds.
    pub(crate) total_latency_us: AtomicU64,
    problems: Mutex<Vec<String>>,
    leaves: Mutex<BTreeSet<Vec<u8>>>,
}

/// A plain copy of [`LoadStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSnapshot {
    /// Requests whose echo came back intact.
    pub ok: u64,
    /// Requests that failed (connect, handshake, read, write, deadline).
    pub failed: u64,
    /// Requests whose echo was wrong.
    pub corrupted: u64,
    /// Successful requests over TLS.
    pub tls: u64,
    /// Successful requests over plaintext.
    pub plaintext: u64,
    /// See [`LoadStats::max_latency_us`].
    pub(crate) max_latency_us: u64,
    /// Mean successful latency in microseconds.
    pub(crate) mean_latency_us: u64,
}

impl LoadSnapshot {
    /// Every request.
    pub fn total(&self) -> u64 {
        self.ok + self.failed + self.corrupted
    }

    /// The figures as JSON, for [`crate::report::record`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.total(),
            "ok": self.ok,
            "failed": self.failed,
            "corrupted": self.corrupted,
            "tls": self.tls,
            "plaintext": self.plaintext,
            "max_latency_ms": self.max_latency_us as f64 / 1000.0,
            "mean_latency_ms": self.mean_latency_us as f64 / 1000.0,
        })
    }
}

impl LoadStats {
    /// How many problem messages are kept.
    pub(crate) const KEEP: usize = 50;

    /// Counts one outcome.
    pub(crate) fn count(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Ok {
                tls,
                latency,
                server_leaf,
            } => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                let counter = if *tls { &self.tls } else { &self.plaintext };
                counter.fetch_add(1, Ordering::Relaxed);
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.max_latency_us.fetch_max(us, Ordering::Relaxed);
                self.total_latency_us.fetch_add(us, Ordering::Relaxed);
                if let Some(leaf) = server_leaf {
                    let mut leaves = self.leaves.lock().unwrap_or_else(PoisonError::into_inner);
                    if !leaves.contains(leaf.as_ref()) {
                        leaves.insert(leaf.to_vec());
                    }
                }
            }
            Outcome::Failed(why) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.problem(why);
            }
            Outcome::Corrupted(why) => {
                self.corrupted.fetch_add(1, Ordering::Relaxed);
                self.problem(why);
            }
        }
    }

    fn problem(&self, why: &str) {
        let mut kept = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < Self::KEEP {
            kept.push(why.to_owned());
        }
    }

    /// The first problems' messages.
    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every distinct server leaf certificate (DER) a successful TLS request saw.
    pub fn server_leaves(&self) -> BTreeSet<Vec<u8>> {
        self.leaves
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> LoadSnapshot {
        let ok = self.ok.load(Ordering::Relaxed);
        LoadSnapshot {
            ok,
            failed: self.failed.load(Ordering::Relaxed),
            corrupted: self.corrupted.load(Ordering::Relaxed),
            tls: self.tls.load(Ordering::Relaxed),
            plaintext: self.plaintext.load(Ordering::Relaxed),
            max_latency_us: self.max_latency_us.load(Ordering::Relaxed),
            mean_latency_us: self.total_latency_us.load(Ordering::Relaxed) / ok.max(1),
        }
    }
}

/// Where the next request goes: an address, the connector to use, and a guard that is held
/// while the request is in flight (the rolling upgrade drains a node by waiting for them).
pub struct Target {
    /// The server.
    pub address: SocketAddr,
    /// How to connect (plaintext or TLS by its mixed mode).
    pub connector: Connector,
    /// Dropped when the request is done.
    pub guard: Option<Box<dyn Send>>,
}

/// Picks the target of request number `n`, or `None` to skip a beat.
pub type Picker = Arc<dyn Fn(u64) -> Option<Target> + Send + Sync>;

/// Client loops sending checked requests until [`Load::stop`].
pub struct Load {
    /// The counts.
    pub stats: Arc<LoadStats>,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Load")
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Options of a [`Load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Concurrent loops.
    pub clients: usize,
    /// Payload bytes per request (plus a short header).
    pub payload_len: usize,
    /// Pause between one loop's requests.
    pub pause: Duration,
    /// Bound of every step of a request.
    pub limit: Duration,
    /// Names the payloads (`<origin>-<loop> <sequence>`).
    pub origin: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            clients: 3,
            payload_len: 2048,
            pause: Duration::from_millis(5),
            limit: Duration::from_secs(10),
            origin: "client".into(),
        }
    }
}

impl Load {
    /// Starts `options.clients` loops on the current runtime.
    pub fn start(options: &LoadOptions, pick: Picker) -> Load {
        let stats = Arc::new(LoadStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..options.clients)
            .map(|i| {
                let (stats, stop, pick) =
                    (Arc::clone(&stats), Arc::clone(&stop), Arc::clone(&pick));
                let options = options.clone();
                tokio::spawn(async move {
                    let origin = format!("{}-{i}", options.origin);
                    let mut sequence = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        sequence += 1;
                        if let Some(target) = pick(sequence) {
                            let body = payload(&origin, sequence, options.payload_len);
                            let outcome =
                                request(&target.connector, target.address, &body, options.limit)
                                    .await;
                            stats.count(&outcome);
                            drop(target.guard);
                        }
                        tokio::time::sleep(options.pause).await;
                    }
                })
            })
            .collect();
        Load { stats, stop, tasks }
    }

    /// Waits until the loops made `window.requests` more requests and `window.at_least` has
    /// passed (the requests at most `limit` after that). Returns the counts at the end of the
    /// window.
    pub async fn run(
        &self,
        window: Window,
        limit: Duration,
    ) -> Result<LoadSnapshot, ScenarioError> {
        let started = Instant::now();
        let target = self.stats.snapshot().total() + window.requests;
        tokio::time::sleep(window.at_least).await;
        loop {
            let now = self.stats.snapshot();
            if now.total() >= target {
                return Ok(now);
            }
            if started.elapsed() >= window.at_least + limit {
                return Err(ScenarioError::Timeout {
                    what: format!(
                        "{} client requests ({} of them made)",
                        window.requests,
                        window.requests - (target - now.total())
                    ),
                    limit,
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Asks every loop to finish its request and waits (at most `limit`). Returns the counts.
    pub async fn stop(mut self, limit: Duration) -> LoadSnapshot {
        self.stop.store(true, Ordering::Relaxed);
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(limit, task).await;
        }
        self.stats.snapshot()
    }
}

/// A picker that always sends to one address with one connector.
pub fn fixed(address: SocketAddr, connector: Connector) -> Picker {
    Arc::new(move |_| {
        Some(Target {
            address,
            connector: connector.clone(),
            guard: None,
        })
    })
}

/// The SHA-256 fingerprint of a certificate, as the library's status prints it.
pub fn fingerprint(der: &[u8]) -> String {
    vespa_tls_material::CertificateFacts::from_der(&CertificateDer::from(der.to_vec()))
        .map(|f| f.sha256_fingerprint)
        .unwrap_or_else(|| "not a certificate".into())
}
