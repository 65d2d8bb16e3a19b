//! Hostile peers in parallel with good traffic, against a mixed (`tls_client_mixed_server`)
//! and a TLS-only server: slowloris on the snoop and on the handshake, a stalled handshake,
//! random bytes, TLS 1.0/1.1 hellos, no certificate, another CA's certificate, a denied
//! certificate, oversized ClientHellos and thousands of idle connections. Each gets the
//! outcome VESPA-BEHAVIOUR §5 gives for the server's mode within the deadline; memory stays
//! bounded; every good request succeeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_pki::write_node_files;
use vespa_tls_reliability::echo::echo_server;
use vespa_tls_reliability::hostile::{self, Hostile, HostileClients, ServerKind};
use vespa_tls_reliability::load::{Load, LoadOptions, fixed};
use vespa_tls_reliability::memory::{open_files, open_files_limit, rss_kib};
use vespa_tls_reliability::pki::{authorized_cns, fixed_context, tls_connector};
use vespa_tls_reliability::report::record;
use vespa_tls_reliability::scale::{Scale, Window};
use vespa_tls_testkit::{Server, TestPki, oversized_hello_config};
use vespa_tls_transport::{Acceptor, TlsSource};

const LIMIT: Duration = Duration::from_secs(30);
/// Hostile clients and idle connections come in this many waves.
const WAVES: usize = 2;

/// Opens `n` idle connections (nothing sent) and waits until the server has closed every
/// one. Returns how long the slowest was held, from its connect.
///
/// At most 100 connections wait in the server's listen queue at a time: beyond its backlog
/// the kernel drops handshakes, and a connection the client thinks is open may reach the
/// server only after SYN-ACK retransmissions, tens of seconds later (a kernel matter, not
/// the acceptor's deadline).
async fn idle_connections(server: &Server, n: usize, bound: Duration) -> Duration {
    let address = server.address;
    let taken = Arc::clone(server.tally());
    let connected = Arc::new(AtomicU64::new(taken.taken()));
    let connecting = Arc::new(tokio::sync::Semaphore::new(1));
    let idle = (0..n).map(|_| {
        let (connecting, connected, taken) = (
            Arc::clone(&connecting),
            Arc::clone(&connected),
            Arc::clone(&taken),
        );
        async move {
            let permit = connecting.acquire_owned().await.expect("semaphore open");
            let paced = Instant::now() + LIMIT;
            while connected.load(Ordering::SeqCst) >= taken.taken() + 100 {
                assert!(Instant::now() < paced, "the server stopped accepting");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let mut stream = timeout(LIMIT, TcpStream::connect(address))
                .await
                .expect("bounded")
                .expect("idle connect");
            let opened = Instant::now();
            connected.fetch_add(1, Ordering::SeqCst);
            drop(permit);
            let mut byte = [0u8; 1];
            let read = timeout(bound + LIMIT, stream.read(&mut byte))
                .await
                .expect("the server never closed an idle connection");
            assert!(
                matches!(read, Ok(0) | Err(_)),
                "an idle connection got data"
            );
            opened.elapsed()
        }
    });
    futures_join_all(idle.collect())
        .await
        .into_iter()
        .max()
        .unwrap_or_default()
}

/// Joins futures by spawning each (no `futures` crate in the workspace).
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_get_their_outcome_while_good_clients_are_served() {
    let scale = Scale::from_env();
    let deadline = scale.handshake_deadline;
    let slack = deadline.max(Duration::from_secs(2));
    let pki = TestPki::new().expect("test PKI");
    let rules = authorized_cns(&["client.localhost"]);
    let server = |mode: MixedMode| {
        let context = fixed_context(pki.server().files(), &rules).expect("server context");
        Acceptor::new(TlsSource::Fixed(context), mode).with_handshake_timeout(deadline)
    };
    let mixed = echo_server(server(MixedMode::TlsClientMixedServer))
        .await
        .expect("listen");
    let strict = echo_server(server(MixedMode::TlsClientTlsServer))
        .await
        .expect("listen");

    let good = fixed_context(pki.client().files(), &[]).expect("good client");
    let other = TestPki::new().expect("another PKI");
    // Another CA's certificate, but trusting our CA: the *server* must be the one refusing.
    let stranger = write_node_files(
        &pki.dir().join("stranger"),
        "stranger",
        &other.client().issued,
        &pki.ca().ca_bundle_pem(),
    )
    .expect("stranger files");
    let intruder = pki
        .issue("intruder", &pki.localhost_params("intruder.localhost"))
        .expect("issue");
    let clients = Arc::new(HostileClients {
        good: good.client_config(),
        no_certificate: good.client_config_without_certificate(),
        other_ca: tls_connector(&fixed_context(&stranger.files, &[]).expect("stranger")),
        denied: tls_connector(&fixed_context(intruder.files(), &[]).expect("intruder")),
        oversized: oversized_hello_config(&good.client_config()),
    });

    let good_options = |origin: &str| LoadOptions {
        clients: scale.clients,
        payload_len: 1024,
        origin: origin.into(),
        ..LoadOptions::default()
    };
    let good_mixed = Load::start(
        &good_options("good-mixed"),
        fixed(mixed.address, tls_connector(&good)),
    );
    let good_strict = Load::start(
        &good_options("good-strict"),
        fixed(strict.address, tls_connector(&good)),
    );
    // Warmed up: every good loop has made requests (and the allocator its first arenas).
    let warm = Window {
        requests: scale.clients as u64 * 4,
        at_least: Duration::ZERO,
    };
    good_mixed
        .run(warm, LIMIT)
        .await
        .expect("good clients on the mixed server");
    good_strict
        .run(warm, LIMIT)
        .await
        .expect("good clients on the TLS-only server");
    let rss_before = rss_kib().unwrap_or_default();
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib().unwrap_or_default(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // Descriptors: each idle connection costs two here (client and server side), per server.
    let limit = open_files_limit().unwrap_or(1024);
    let in_use = open_files().unwrap_or(64);
    let budget = limit.saturating_sub(in_use + 1024) / 4;
    let idle_per_server = scale
        .idle_connections
        .min(usize::try_from(budget).unwrap_or(usize::MAX));
    assert!(
        idle_per_server >= 100,
        "descriptor limit {limit} leaves room for only {idle_per_server} idle connections"
    );

    let kinds = Hostile::all(4, 0);
    // Two waves: memory a wave takes must be given back (or reused) by the next.
    let mut failures = Vec::new();
    let mut plaintext_on_mixed = 0u64;
    let mut slowest = Duration::ZERO;
    let mut idle_held = Duration::ZERO;
    let mut total = 0;
    let mut rss_after_wave = Vec::new();
    for wave in 0..WAVES {
        let mut tasks = Vec::new();
        for round in 0..scale.hostile_repeats {
            for (kind, address) in [
                (ServerKind::Mixed, mixed.address),
                (ServerKind::TlsOnly, strict.address),
            ] {
                let seed = ((wave * scale.hostile_repeats + round) as u64) * 4;
                for hostile in Hostile::all(4, seed) {
                    let clients = Arc::clone(&clients);
                    tasks.push(tokio::spawn(async move {
                        let result =
                            hostile::run(hostile, kind, address, &clients, deadline, slack).await;
                        (hostile, kind, result)
                    }));
                }
            }
        }
        let idle_mixed = idle_connections(&mixed, idle_per_server, deadline + slack);
        let idle_strict = idle_connections(&strict, idle_per_server, deadline + slack);
        let (held_mixed, held_strict) = tokio::join!(
            timeout(LIMIT * 4, idle_mixed),
            timeout(LIMIT * 4, idle_strict)
        );
        idle_held = idle_held
            .max(held_mixed.expect("idle connections closed"))
            .max(held_strict.expect("idle connections closed"));
        total += tasks.len();
        for task in tasks {
            let (hostile, kind, result) = timeout(LIMIT * 2, task)
                .await
                .expect("every hostile client finishes")
                .expect("task");
            match result {
                Ok(elapsed) => slowest = slowest.max(elapsed),
                Err(why) => failures.push(why),
            }
            if kind == ServerKind::Mixed && hostile.plaintext_on_mixed() {
                plaintext_on_mixed += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        rss_after_wave.push(rss_kib().unwrap_or_default());
    }
    let good_mixed_problems = good_mixed.stats.problems();
    let good_strict_problems = good_strict.stats.problems();
    let good_mixed = good_mixed.stop(LIMIT).await;
    let good_strict = good_strict.stop(LIMIT).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = timeout(LIMIT, sampler).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib().unwrap_or_default();
    let rss_peak = peak.load(Ordering::Relaxed);
    let mixed_metrics = mixed.acceptor().metrics().snapshot();
    let strict_metrics = strict.acceptor().metrics().snapshot();
    record(
        "hostile-peers",
        json!({
            "hostile_clients": total,
            "hostile_kinds": kinds.len(),
            "repeats": scale.hostile_repeats,
            "slowest_outcome_ms": slowest.as_secs_f64() * 1000.0,
            "handshake_deadline_ms": deadline.as_secs_f64() * 1000.0,
            "idle_connections_per_server": idle_per_server,
            "waves": WAVES,
            "idle_held_max_ms": idle_held.as_secs_f64() * 1000.0,
            "fd_limit": limit,
            "good_mixed": good_mixed.to_json(),
            "good_tls_only": good_strict.to_json(),
            "rss_kib": {"before": rss_before, "peak": rss_peak, "after_each_wave": rss_after_wave, "after": rss_after},
            "mixed_counters": {
                "tls_connections": mixed_metrics.server.tls_connections,
                "insecure_connections": mixed_metrics.server.insecure_connections,
                "failed_tls_handshakes": mixed_metrics.server.failed_tls_handshakes,
                "invalid_peer_credentials": mixed_metrics.server.invalid_peer_credentials,
            },
            "tls_only_counters": {
                "tls_connections": strict_metrics.server.tls_connections,
                "insecure_connections": strict_metrics.server.insecure_connections,
                "failed_tls_handshakes": strict_metrics.server.failed_tls_handshakes,
                "invalid_peer_credentials": strict_metrics.server.invalid_peer_credentials,
            },
        }),
    );
    assert!(
        failures.is_empty(),
        "{} wrong outcomes: {failures:#?}",
        failures.len()
    );
    assert!(
        idle_held <= deadline + slack,
        "an idle connection was held {idle_held:?}"
    );
    assert_eq!(
        good_mixed.failed + good_mixed.corrupted,
        0,
        "{good_mixed_problems:?}"
    );
    assert_eq!(
        good_strict.failed + good_strict.corrupted,
        0,
        "{good_strict_problems:?}"
    );
    assert!(good_mixed.ok > 0 && good_strict.ok > 0);
    // The plaintext side took exactly the clients §5 sends there; the TLS-only server none.
    assert_eq!(
        mixed_metrics.server.insecure_connections,
        plaintext_on_mixed
    );
    assert_eq!(strict_metrics.server.insecure_connections, 0);
    let repeats = (scale.hostile_repeats * WAVES) as u64;
    assert_eq!(mixed_metrics.server.invalid_peer_credentials, repeats);
    assert_eq!(strict_metrics.server.invalid_peer_credentials, repeats);
    let idle = (idle_per_server * WAVES) as u64;
    assert!(mixed_metrics.server.failed_tls_handshakes >= idle);
    assert!(strict_metrics.server.failed_tls_handshakes >= idle);
    // Memory is bounded: what thousands of connections took is given back.
    let grown = rss_after.saturating_sub(rss_before);
    assert!(
        grown < 64 * 1024,
        "RSS grew {grown} KiB ({rss_before} -> {rss_after})"
    );
    assert!(
        rss_peak.saturating_sub(rss_before) < 512 * 1024,
        "RSS peaked at {rss_peak} KiB from {rss_before}"
    );
}
