//! Faults at run time, under load: files deleted, made unreadable (a directory in the file's
//! place: the suite runs as root, where mode 000 does not stop a read) or corrupted, and a
//! corrupt config. Each time the old context keeps serving, `failed_config_reloads` counts
//! the failure, the status names it, and a later fix is picked up.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use vespa_tls_config::Files;
use vespa_tls_pki::{NodeFiles, write_node_files, write_public_file};
use vespa_tls_reliability::echo::{Outcome, echo_server, request};
use vespa_tls_reliability::load::{Load, LoadOptions, fixed};
use vespa_tls_reliability::pki::{fixed_context, reloading, tls_acceptor, tls_connector};
use vespa_tls_reliability::report::record;
use vespa_tls_reliability::scale::{Scale, Window};
use vespa_tls_testkit::{Server, TestPki};
use vespa_tls_transport::Connector;

const LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
enum Fault {
    DeletedCertificate,
    DeletedCaBundle,
    UnreadableKey,
    CorruptCertificate,
    CorruptConfig,
}

impl Fault {
    const ALL: [Fault; 5] = [
        Fault::DeletedCertificate,
        Fault::DeletedCaBundle,
        Fault::UnreadableKey,
        Fault::CorruptCertificate,
        Fault::CorruptConfig,
    ];

    /// Breaks the files; returns what the reload error must mention.
    fn inject(self, files: &Files, config: &Path) -> String {
        let path = |p: &Path| p.display().to_string();
        match self {
            Fault::DeletedCertificate => {
                std::fs::remove_file(&files.certificates).expect("delete");
                path(&files.certificates)
            }
            Fault::DeletedCaBundle => {
                std::fs::remove_file(&files.ca_certificates).expect("delete");
                path(&files.ca_certificates)
            }
            Fault::UnreadableKey => {
                std::fs::remove_file(&files.private_key).expect("delete");
                std::fs::create_dir(&files.private_key).expect("a directory in its place");
                path(&files.private_key)
            }
            Fault::CorruptCertificate => {
                let pem = std::fs::read_to_string(&files.certificates).expect("read");
                // Damage the base64 in the middle of the block; the file is replaced whole.
                let middle = pem.len() / 2;
                let broken = format!("{}!!{}", &pem[..middle], &pem[middle + 2..]);
                write_public_file(&files.certificates, broken.as_bytes()).expect("write");
                path(&files.certificates)
            }
            Fault::CorruptConfig => {
                write_public_file(config, br#"{"files": {"ca-certificates": "#).expect("write");
                path(config)
            }
        }
    }

    fn repair(self, files: &Files) {
        if let Fault::UnreadableKey = self {
            std::fs::remove_dir(&files.private_key).expect("remove the directory");
        }
    }
}

async fn served_leaf(connector: &Connector, server: &Server) -> Vec<u8> {
    match request(connector, server.address, b"which certificate?\n", LIMIT).await {
        Outcome::Ok {
            server_leaf: Some(leaf),
            ..
        } => leaf.to_vec(),
        other => panic!("the server stopped serving: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_keep_the_old_context_and_a_fix_is_picked_up() {
    let scale = Scale::from_env();
    let pki = TestPki::new().expect("test PKI");
    let dir = pki.dir().join("faulty");
    let bundle = pki.ca().ca_bundle_pem();
    let issue = |n: usize| {
        pki.issuer()
            .issue(&pki.localhost_params(&format!("server-{n}.localhost")))
            .expect("issue")
    };
    let first = issue(0);
    let written_first: NodeFiles = write_node_files(&dir, "node", &first, &bundle).expect("write");
    let (files, config) = (
        written_first.files.clone(),
        written_first.config_path.clone(),
    );
    let mut written = BTreeSet::from([first.cert_der.to_vec()]);
    let context = reloading(&config).expect("server context");
    let server = echo_server(tls_acceptor(&context)).await.expect("listen");
    let connector = tls_connector(&fixed_context(pki.client().files(), &[]).expect("client"));
    let load = Load::start(
        &LoadOptions {
            clients: scale.clients,
            payload_len: 512,
            origin: "faults".into(),
            ..LoadOptions::default()
        },
        fixed(server.address, connector.clone()),
    );

    let after_fault = Window {
        requests: scale.clients as u64,
        at_least: Duration::ZERO,
    };
    let mut injected = 0u64;
    let mut pickup = Vec::new();
    let mut generation = 0;
    for round in 0..scale.fault_rounds {
        for fault in Fault::ALL {
            let failed_before = context.metrics().snapshot().failed_config_reloads;
            let serving = served_leaf(&connector, &server).await;
            let mention = fault.inject(&files, &config);
            injected += 1;
            let deadline = Instant::now() + LIMIT;
            while context.metrics().snapshot().failed_config_reloads == failed_before {
                assert!(
                    Instant::now() < deadline,
                    "{fault:?}: no failed reload counted"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let status = context.status();
            let error = status
                .last_error
                .expect("the status shows the failure")
                .error
                .to_string();
            assert!(error.contains(&mention), "{fault:?}: {error}");
            // The old context keeps serving: our requests, and the load's in between.
            for _ in 0..3 {
                assert_eq!(served_leaf(&connector, &server).await, serving, "{fault:?}");
                load.run(after_fault, LIMIT)
                    .await
                    .expect("load on the old context");
            }

            fault.repair(&files);
            generation += 1;
            let next = issue(round * 10 + generation);
            written.insert(next.cert_der.to_vec());
            let fixed_at = Instant::now();
            write_node_files(&dir, "node", &next, &bundle).expect("write the fix");
            let deadline = fixed_at + LIMIT;
            while served_leaf(&connector, &server).await != next.cert_der.as_ref() {
                assert!(
                    Instant::now() < deadline,
                    "{fault:?}: the fix was not picked up"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            pickup.push(fixed_at.elapsed());
            assert!(context.status().last_error.is_none(), "{fault:?}");
        }
    }
    let problems = load.stats.problems();
    let served = load.stats.server_leaves();
    let totals = load.stop(LIMIT).await;
    let metrics = context.metrics().snapshot();
    let max_pickup = pickup.iter().max().copied().unwrap_or_default();
    record(
        "faults",
        json!({
            "faults_injected": injected,
            "failed_config_reloads": metrics.failed_config_reloads,
            "successful_config_reloads": metrics.successful_config_reloads,
            "fix_picked_up_max_ms": max_pickup.as_secs_f64() * 1000.0,
            "handshakes": totals.to_json(),
        }),
    );
    assert_eq!(totals.failed, 0, "{problems:?}");
    assert_eq!(totals.corrupted, 0, "{problems:?}");
    assert!(metrics.failed_config_reloads >= injected);
    assert_eq!(metrics.successful_config_reloads, injected);
    assert_eq!(metrics.server.failed_tls_handshakes, 0);
    for leaf in served {
        assert!(
            written.contains(&leaf),
            "served a certificate we never wrote"
        );
    }
}

/// A client certificate that expires while the client keeps connecting to a node process:
/// accepted until its `notAfter`, refused after it, and the node's log says why in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_expiring_during_the_run_is_refused_with_a_clear_log_line() {
    use vespa_tls_pki::Validity;
    use vespa_tls_reliability::node::{NodeArgs, NodeProcess, Phase, write_peers};

    let scale = Scale::from_env();
    let pki = TestPki::new().expect("test PKI");
    let server = pki
        .issue(
            "server-node",
            &pki.localhost_params("server-node.localhost"),
        )
        .expect("issue");
    let peers = pki.dir().join("peers.txt");
    write_peers(&peers, 1, &[]).expect("peers");
    let node = NodeProcess::spawn(
        std::path::Path::new(env!("CARGO_BIN_EXE_reliability-node")),
        &NodeArgs {
            name: "server-node".into(),
            peers,
            callers: 1,
            pause: Duration::from_millis(100),
            payload_len: 64,
        },
        &Phase::P3.env(server.config_path()),
        LIMIT,
    )
    .await
    .expect("node starts");
    let good = Load::start(
        &LoadOptions {
            clients: 2,
            payload_len: 512,
            pause: Duration::from_millis(20),
            origin: "good".into(),
            ..LoadOptions::default()
        },
        fixed(
            node.address(),
            tls_connector(&fixed_context(pki.client().files(), &[]).expect("client")),
        ),
    );

    // Issued once the node serves, so its whole lifetime is spent connecting.
    let now = time::OffsetDateTime::now_utc();
    let lifetime = time::Duration::try_from(scale.expiring_after).expect("short");
    // Certificates keep whole seconds: round notAfter up, and measure from it.
    let not_after = (now + lifetime).replace_nanosecond(0).expect("valid") + time::Duration::SECOND;
    let short_lived = pki
        .issue(
            "short-lived",
            &pki.localhost_params("short-lived.localhost")
                .with_validity(Validity::new(now - time::Duration::HOUR, not_after)),
        )
        .expect("issue");
    let expiring = tls_connector(&fixed_context(short_lived.files(), &[]).expect("client"));
    let expiry = {
        let left = not_after - time::OffsetDateTime::now_utc();
        Instant::now() + Duration::try_from(left).expect("in the future")
    };
    // A request this close to notAfter may go either way: verification happens a little
    // after sending, and a verifier reading whole seconds sees notAfter itself as valid.
    let margin = Duration::from_millis(1500);
    let (mut before, mut after) = (0u32, 0u32);
    let mut first_refused_after: Option<Duration> = None;
    // Until a request sent well after notAfter was refused (bounded: see the assert).
    while after == 0 {
        assert!(
            Instant::now() < expiry + margin + LIMIT,
            "no request was sent after notAfter"
        );
        let sent = Instant::now();
        let ok = request(&expiring, node.address(), b"still valid?\n", LIMIT)
            .await
            .is_ok();
        if sent + margin < expiry {
            assert!(ok, "refused {:?} before notAfter", expiry - sent);
            before += 1;
        } else if sent > expiry + margin {
            assert!(!ok, "accepted {:?} after notAfter", sent - expiry);
            after += 1;
        }
        if !ok && first_refused_after.is_none() {
            first_refused_after = Some(sent.saturating_duration_since(expiry));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The node's log names the peer and the reason, in one line.
    let deadline = Instant::now() + LIMIT;
    let line = loop {
        if let Some(line) = node.stderr().into_iter().find(|l| l.contains("expired")) {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no log line: {:?}",
            node.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let problems = good.stats.problems();
    let totals = good.stop(LIMIT).await;
    let stopped = node.stop(LIMIT).await.expect("node stops");
    record(
        "certificate-expiry",
        json!({
            "lifetime_s": scale.expiring_after.as_secs(),
            "accepted_before": before,
            "refused_after": after,
            "first_refusal_after_not_after_ms": first_refused_after.map(|d| d.as_secs_f64() * 1000.0),
            "log_line": line,
            "good_clients": totals.to_json(),
        }),
    );
    assert!(before > 0 && after > 0, "{before} before, {after} after");
    assert!(
        line.contains("127.0.0.1"),
        "the line names the peer: {line}"
    );
    assert!(line.contains("certificate expired"), "{line}");
    assert!(
        stopped["counters"]["server.failed_tls_handshakes"].as_u64() >= Some(u64::from(after)),
        "{stopped}"
    );
    assert_eq!(totals.failed, 0, "{problems:?}");
    assert_eq!(totals.corrupted, 0, "{problems:?}");
}
