//! Rotation under load: continuous handshakes while the server's certificate is replaced,
//! generation after generation, by (a) the seed's recipe (new files, config renamed), (b) a
//! Kubernetes `..data` symlink swap, (c) an in-place overwrite; a CA rotation with an
//! overlapping bundle; an `authorized-peers` change that affects new connections only.
//!
//! Each generation is rotated in once the previous one is served and the load has made
//! `Scale::requests_per_generation` requests with it. The short form makes
//! `Scale::rotations` (8) rotations per method; the long form (`VESPA_TLS_SOAK=1`) 110.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{ReloadEvent, ReloadingTlsContext};
use vespa_tls_pki::{CaParams, CertificateAuthority, IssuedCertificate, write_node_files};
use vespa_tls_reliability::echo::{Outcome, echo_server, request};
use vespa_tls_reliability::load::{Load, LoadOptions, fingerprint, fixed};
use vespa_tls_reliability::pki::{
    authorized_cns, fixed_context, reloading, tls_acceptor, tls_connector,
};
use vespa_tls_reliability::report::record;
use vespa_tls_reliability::rotation::{Method, Rotator};
use vespa_tls_reliability::scale::{Scale, Window};
use vespa_tls_testkit::{Server, TestPki};
use vespa_tls_transport::{Connector, TlsSource};

const LIMIT: Duration = Duration::from_secs(10);

/// Records the certificate of every generation the server publishes, as it is published.
struct Generations {
    seen: Arc<Mutex<Vec<String>>>,
    failed_events: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Generations {
    fn follow(context: &Arc<ReloadingTlsContext>) -> Generations {
        let events = context.subscribe();
        let seen = Arc::new(Mutex::new(vec![
            context.status().certificate.sha256_fingerprint,
        ]));
        let failed_events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, failed, stop, context) = (
                Arc::clone(&seen),
                Arc::clone(&failed_events),
                Arc::clone(&stop),
                Arc::clone(context),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match events.recv_timeout(Duration::from_millis(50)) {
                        Ok(ReloadEvent::Reloaded { .. }) => seen
                            .lock()
                            .expect("lock")
                            .push(context.status().certificate.sha256_fingerprint),
                        Ok(ReloadEvent::Failed { error }) => {
                            failed.lock().expect("lock").push(error.to_string());
                        }
                        Ok(_) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
        };
        Generations {
            seen,
            failed_events,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("follower thread");
        }
        let seen = self.seen.lock().expect("lock").clone();
        let failed = self.failed_events.lock().expect("lock").clone();
        (seen, failed)
    }
}

/// Handshakes every 10 ms until the server presents `leaf`; how long that took.
async fn time_to_serve(connector: &Connector, server: &Server, leaf: &[u8]) -> Duration {
    let since = Instant::now();
    loop {
        if let Outcome::Ok {
            server_leaf: Some(served),
            ..
        } = request(connector, server.address, b"which certificate?\n", LIMIT).await
            && served.as_ref() == leaf
        {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < LIMIT,
            "the new certificate was not served within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `rotate` off the async workers.
async fn rotate(rotator: Rotator, next: IssuedCertificate) -> Rotator {
    tokio::task::spawn_blocking(move || {
        let mut rotator = rotator;
        rotator.rotate(&next).expect("rotate");
        rotator
    })
    .await
    .expect("rotation thread")
}

async fn rotation_under_load(method: Method) {
    let scale = Scale::from_env();
    let pki = TestPki::new().expect("test PKI");
    let issue = |n: usize| {
        pki.issuer()
            .issue(&pki.localhost_params(&format!("server-{n}.localhost")))
            .expect("issue")
    };
    let first = issue(0);
    let mut written: BTreeSet<Vec<u8>> = BTreeSet::from([first.cert_der.to_vec()]);
    let mut rotator = Rotator::new(
        method,
        &pki.dir().join("rotating"),
        &first,
        &pki.ca().ca_bundle_pem(),
        &[],
    )
    .expect("lay out generation 0");
    let context = reloading(rotator.config_path()).expect("server context");
    let generations = Generations::follow(&context);
    let server = echo_server(tls_acceptor(&context)).await.expect("listen");
    let connector = tls_connector(&fixed_context(pki.client().files(), &[]).expect("client"));
    let load = Load::start(
        &LoadOptions {
            clients: scale.clients,
            payload_len: 512,
            pause: Duration::from_millis(2),
            origin: method.name().into(),
            ..LoadOptions::default()
        },
        fixed(server.address, connector.clone()),
    );
    let mut latencies = Vec::new();
    let started = Instant::now();
    let per_generation = Window {
        requests: scale.requests_per_generation,
        at_least: Duration::ZERO,
    };
    for n in 1..=scale.rotations {
        let next = issue(n);
        written.insert(next.cert_der.to_vec());
        let leaf = next.cert_der.to_vec();
        rotator = rotate(rotator, next).await;
        latencies.push(time_to_serve(&connector, &server, &leaf).await);
        load.run(per_generation, LIMIT)
            .await
            .expect("load on the new generation");
    }
    let problems = load.stats.problems();
    let served = load.stats.server_leaves();
    let totals = load.stop(LIMIT).await;
    let (loaded, failed_events) = generations.finish();
    let metrics = context.metrics().snapshot();
    let written_fingerprints: BTreeSet<String> = written.iter().map(|d| fingerprint(d)).collect();
    let max = latencies.iter().max().copied().unwrap_or_default();
    let mean =
        latencies.iter().sum::<Duration>() / u32::try_from(latencies.len().max(1)).unwrap_or(1);
    record(
        &format!("rotation-{}", method.name()),
        json!({
            "rotations": scale.rotations,
            "seconds": started.elapsed().as_secs_f64(),
            "handshakes": totals.to_json(),
            "time_to_new_certificate_max_ms": max.as_secs_f64() * 1000.0,
            "time_to_new_certificate_mean_ms": mean.as_secs_f64() * 1000.0,
            "successful_config_reloads": metrics.successful_config_reloads,
            "failed_config_reloads": metrics.failed_config_reloads,
            "server_failed_tls_handshakes": metrics.server.failed_tls_handshakes,
            "generations_loaded": loaded.len(),
            "rss_kib": vespa_tls_reliability::memory::rss_kib(),
        }),
    );

    // No handshake failed because of rotation, in any method.
    assert_eq!(totals.failed, 0, "{problems:?}");
    assert_eq!(totals.corrupted, 0, "{problems:?}");
    assert!(totals.ok > 0);
    assert_eq!(metrics.server.failed_tls_handshakes, 0);
    // A half-written file is never loaded: every generation published, and every certificate
    // a client was served, is one we wrote whole.
    for generation in &loaded {
        assert!(
            written_fingerprints.contains(generation),
            "loaded a certificate we never wrote: {generation}"
        );
    }
    for leaf in &served {
        assert!(
            written.contains(leaf),
            "served a certificate we never wrote"
        );
    }
    // The right material is loaded in the end.
    assert_eq!(
        context.status().certificate.sha256_fingerprint,
        loaded.last().cloned().unwrap_or_default()
    );
    match method {
        Method::ConfigRename | Method::DataSymlinkSwap => {
            assert_eq!(metrics.failed_config_reloads, 0, "{failed_events:?}");
            assert_eq!(
                metrics.successful_config_reloads, scale.rotations as u64,
                "one reload per rotation"
            );
            assert!(
                max < Duration::from_secs(1),
                "the new certificate took {max:?} to be served: {latencies:?}"
            );
        }
        Method::InPlace { .. } => {
            // failed_config_reloads may grow (a reload between the certificate and the key);
            // every rotation was still served in the end (time_to_serve asserts it).
            assert!(metrics.successful_config_reloads >= scale.rotations as u64);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_by_atomic_rename_of_the_config() {
    rotation_under_load(Method::ConfigRename).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_by_kubernetes_data_symlink_swap() {
    rotation_under_load(Method::DataSymlinkSwap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_by_in_place_overwrite() {
    rotation_under_load(Method::InPlace {
        between: Scale::from_env().reload_debounce * 2,
    })
    .await;
}

async fn wait_generation(context: &ReloadingTlsContext, generation: u64) {
    let deadline = Instant::now() + LIMIT;
    while context.status().generation < generation {
        assert!(
            Instant::now() < deadline,
            "generation {generation} not loaded: {:?}",
            context.status().last_error
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_rotation_with_an_overlapping_bundle() {
    let scale = Scale::from_env();
    let pki = TestPki::new().expect("test PKI");
    let old_ca = pki.ca();
    let new_ca = CertificateAuthority::new_root(&CaParams::new("rotated root CA", pki.validity()))
        .expect("new CA");
    let both = format!("{}{}", old_ca.ca_bundle_pem(), new_ca.ca_bundle_pem());
    let server_params = pki.localhost_params("server.localhost");
    let client_params = pki.localhost_params("client.localhost");
    let old_server = old_ca.issue(&server_params).expect("issue");
    let old_client = old_ca.issue(&client_params).expect("issue");
    let new_server = new_ca.issue(&server_params).expect("issue");
    let new_client = new_ca.issue(&client_params).expect("issue");

    let mut server_files = Rotator::new(
        Method::ConfigRename,
        &pki.dir().join("ca-server"),
        &old_server,
        &old_ca.ca_bundle_pem(),
        &[],
    )
    .expect("server files");
    let mut client_files = Rotator::new(
        Method::ConfigRename,
        &pki.dir().join("ca-client"),
        &old_client,
        &old_ca.ca_bundle_pem(),
        &[],
    )
    .expect("client files");
    let server_context = reloading(server_files.config_path()).expect("server context");
    let client_context = reloading(client_files.config_path()).expect("client context");
    let server = echo_server(tls_acceptor(&server_context))
        .await
        .expect("listen");
    let connector = Connector::new(
        TlsSource::Reloading(Arc::clone(&client_context)),
        MixedMode::TlsClientTlsServer,
    );
    // A node left behind: old certificate, old bundle.
    let left_behind = tls_connector(&fixed_context(pki.client().files(), &[]).expect("client"));
    let load = Load::start(
        &LoadOptions {
            clients: scale.clients,
            payload_len: 512,
            origin: "ca-rotation".into(),
            ..LoadOptions::default()
        },
        fixed(server.address, connector),
    );
    // After each step, the load makes this many requests with the new state.
    let step = Window {
        requests: scale.requests_per_generation,
        at_least: Duration::ZERO,
    };
    // 1. Every node trusts both CAs.
    server_files.set_ca_bundle(&both);
    client_files.set_ca_bundle(&both);
    server_files = rotate(server_files, old_server.clone()).await;
    client_files = rotate(client_files, old_client.clone()).await;
    wait_generation(&server_context, 2).await;
    wait_generation(&client_context, 2).await;
    load.run(step, LIMIT).await.expect("load after a step");
    assert!(
        request(&left_behind, server.address, b"x\n", LIMIT)
            .await
            .is_ok()
    );
    // 2. Certificates from the new CA.
    server_files = rotate(server_files, new_server.clone()).await;
    wait_generation(&server_context, 3).await;
    load.run(step, LIMIT).await.expect("load after a step");
    client_files = rotate(client_files, new_client.clone()).await;
    wait_generation(&client_context, 3).await;
    load.run(step, LIMIT).await.expect("load after a step");
    let refused_while_new = !request(&left_behind, server.address, b"x\n", LIMIT)
        .await
        .is_ok();
    // 3. The old CA leaves every bundle.
    server_files.set_ca_bundle(&new_ca.ca_bundle_pem());
    client_files.set_ca_bundle(&new_ca.ca_bundle_pem());
    server_files = rotate(server_files, new_server.clone()).await;
    client_files = rotate(client_files, new_client.clone()).await;
    wait_generation(&server_context, 4).await;
    wait_generation(&client_context, 4).await;
    load.run(step, LIMIT).await.expect("load after a step");
    // An old-CA client that trusts both is refused now: the server dropped the old CA.
    let straggler = write_node_files(
        &pki.dir().join("straggler"),
        "straggler",
        &old_client,
        &both,
    )
    .expect("straggler files");
    let straggler = tls_connector(&fixed_context(&straggler.files, &[]).expect("straggler"));
    let straggler_refused = !request(&straggler, server.address, b"x\n", LIMIT)
        .await
        .is_ok();

    let problems = load.stats.problems();
    let served = load.stats.server_leaves();
    let totals = load.stop(LIMIT).await;
    record(
        "ca-rotation-overlap",
        json!({
            "handshakes": totals.to_json(),
            "server_reloads": server_context.metrics().snapshot().successful_config_reloads,
            "client_reloads": client_context.metrics().snapshot().successful_config_reloads,
        }),
    );
    assert_eq!(totals.failed, 0, "{problems:?}");
    assert_eq!(totals.corrupted, 0, "{problems:?}");
    assert_eq!(
        served,
        BTreeSet::from([old_server.cert_der.to_vec(), new_server.cert_der.to_vec()])
    );
    assert!(
        refused_while_new,
        "a client trusting only the old CA accepted the new CA's certificate"
    );
    assert!(
        straggler_refused,
        "the old CA is still trusted after step 3"
    );
    assert_eq!(server_context.metrics().snapshot().failed_config_reloads, 0);
    assert_eq!(client_context.metrics().snapshot().failed_config_reloads, 0);
    drop((server_files, client_files));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_peers_change_affects_new_connections_only() {
    let scale = Scale::from_env();
    let pki = TestPki::new().expect("test PKI");
    let client = |cn: &str| {
        let node = pki
            .issue(cn, &pki.localhost_params(&format!("{cn}.localhost")))
            .expect("issue");
        tls_connector(&fixed_context(node.files(), &[]).expect("client"))
    };
    let (a, b, c) = (client("client-a"), client("client-b"), client("client-c"));
    let server_cert = pki
        .issuer()
        .issue(&pki.localhost_params("server.localhost"))
        .expect("issue");
    let mut files = Rotator::new(
        Method::ConfigRename,
        &pki.dir().join("authz"),
        &server_cert,
        &pki.ca().ca_bundle_pem(),
        &authorized_cns(&["client-a.localhost", "client-c.localhost"]),
    )
    .expect("server files");
    let context = reloading(files.config_path()).expect("server context");
    let server = echo_server(tls_acceptor(&context)).await.expect("listen");
    let load = Load::start(
        &LoadOptions {
            clients: scale.clients,
            origin: "client-c".into(),
            ..LoadOptions::default()
        },
        fixed(server.address, c),
    );

    let (mut kept, _) = timeout(LIMIT, a.connect_tcp(server.address, "localhost"))
        .await
        .expect("bounded")
        .expect("client-a connects");
    let mut round_trip = async |n: u32| {
        let message = format!("kept connection, message {n}\n");
        timeout(LIMIT, kept.write_all(message.as_bytes()))
            .await
            .expect("bounded")
            .expect("write");
        let mut reply = vec![0u8; message.len()];
        timeout(LIMIT, kept.read_exact(&mut reply))
            .await
            .expect("bounded")
            .expect("read");
        assert_eq!(reply, message.as_bytes());
    };
    round_trip(1).await;
    assert!(request(&a, server.address, b"a\n", LIMIT).await.is_ok());
    assert!(!request(&b, server.address, b"b\n", LIMIT).await.is_ok());

    files.set_authorized_peers(&authorized_cns(&[
        "client-b.localhost",
        "client-c.localhost",
    ]));
    files = rotate(files, server_cert).await;
    wait_generation(&context, 2).await;

    // The connection made under the old rules keeps working; new ones follow the new rules.
    for n in 2..12 {
        round_trip(n).await;
    }
    let a_after = request(&a, server.address, b"a\n", LIMIT).await;
    let b_after = request(&b, server.address, b"b\n", LIMIT).await;
    round_trip(12).await;
    let problems = load.stats.problems();
    let totals = load.stop(LIMIT).await;
    let metrics = context.metrics().snapshot();
    record(
        "authorized-peers-change",
        json!({"handshakes": totals.to_json(), "invalid_peer_credentials": metrics.server.invalid_peer_credentials}),
    );
    assert!(
        !a_after.is_ok(),
        "client-a still accepted on a new connection"
    );
    assert!(
        b_after.is_ok(),
        "client-b refused under the new rules: {b_after:?}"
    );
    assert_eq!(metrics.server.invalid_peer_credentials, 2);
    assert_eq!(totals.failed, 0, "{problems:?}");
    assert_eq!(totals.corrupted, 0, "{problems:?}");
    drop(files);
}
