//! `vespa-tls install` on a serving node: continuous handshakes while sets are installed one
//! after another, and bad sets that must change nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{ReloadOptions, ReloadingTlsContext, TlsModes};
use vespa_tls_pki::{IssuedCertificate, Validity, write_node_files};
use vespa_tls_testkit::{Server, TestConfig, TestPki};
use vespa_tls_transport::{Acceptor, Connector, TlsSource};

const LIMIT: Duration = Duration::from_secs(10);

/// `vespa-tls install` through the CLI tests' runner, which validates `--json` output.
fn install(config: &Path, node: &Path, name: &str, extra: &[&str]) -> Output {
    let certificates = node.join(format!("{name}.pem"));
    let private_key = node.join(format!("{name}.key"));
    let mut args = vec![
        "install",
        "--config",
        crate::cli::s(config),
        "--certificates",
        crate::cli::s(&certificates),
        "--private-key",
        crate::cli::s(&private_key),
    ];
    args.extend_from_slice(extra);
    crate::cli::run(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A staged set: the files an operator received for the node, outside its directory.
fn stage(staging: &Path, name: &str, issued: &IssuedCertificate, bundle: &str) -> PathBuf {
    let dir = staging.join(name);
    write_node_files(&dir, name, issued, bundle).expect("staged");
    dir
}

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

/// The versions (`.vN.pem`) of the node's certificate in `dir`; 0 for the original name.
fn versions(dir: &Path, stem: &str) -> BTreeSet<u64> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            let base = name.strip_suffix(".pem")?;
            if base == stem {
                return Some(0);
            }
            base.strip_prefix(&format!("{stem}.v"))?.parse().ok()
        })
        .collect()
}

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    served: Arc<Mutex<BTreeSet<Vec<u8>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(connector: &Connector, address: std::net::SocketAddr, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Mutex::new(BTreeSet::new()));
        let tasks = (0..clients)
            .map(|_| {
                let (stop, ok, failures, served, connector) = (
                    Arc::clone(&stop),
                    Arc::clone(&ok),
                    Arc::clone(&failures),
                    Arc::clone(&served),
                    connector.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        match exchange(&connector, address).await {
                            Ok(leaf) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                served.lock().expect("lock").insert(leaf);
                            }
                            Err(e) => failures.lock().expect("lock").push(e),
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            ok,
            failures,
            served,
            tasks,
        }
    }

    async fn stop(self) -> (u64, Vec<String>, BTreeSet<Vec<u8>>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            timeout(LIMIT, task)
                .await
                .expect("load stops")
                .expect("load task");
        }
        let failures = self.failures.lock().expect("lock").clone();
        let served = self.served.lock().expect("lock").clone();
        (self.ok.load(Ordering::Relaxed), failures, served)
    }
}

/// One handshake and an echoed line; the server's leaf.
async fn exchange(connector: &Connector, address: std::net::SocketAddr) -> Result<Vec<u8>, String> {
    let run = async {
        let (mut stream, _) = connector
            .connect_tcp(address, "localhost")
            .await
            .map_err(|e| e.to_string())?;
        let leaf = stream
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec())
            .ok_or("no server certificate")?;
        stream
            .write_all(b"ping\n")
            .await
            .map_err(|e| e.to_string())?;
        stream.flush().await.map_err(|e| e.to_string())?;
        let mut reply = [0u8; 5];
        stream
            .read_exact(&mut reply)
            .await
            .map_err(|e| e.to_string())?;
        if &reply != b"ping\n" {
            return Err(format!("echo: {reply:?}"));
        }
        Ok(leaf)
    };
    timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| Err(format!("no exchange within {LIMIT:?}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_installs_under_continuous_handshakes_fail_none_and_keep_the_last_sets() {
    const INSTALLS: u64 = 20;
    const KEEP: usize = 2;
    let pki = TestPki::new().expect("test PKI");
    let config = pki.server().written.config_path.clone();
    let node_dir = config.parent().expect("node dir").to_owned();
    let stem = pki
        .server()
        .written
        .files
        .certificates
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let context = Arc::new(
        ReloadingTlsContext::from_file(
            &config,
            TlsModes::default(),
            // A short debounce: the install renames a whole config over the old one, so a
            // reload at any moment sees the old set or the new one, and each of the twenty
            // installs waits for its reload rather than for the library's 250 ms of quiet.
            ReloadOptions {
                interval: Duration::from_secs(3600),
                debounce: Duration::from_millis(20),
                ..ReloadOptions::default()
            },
        )
        .expect("server context"),
    );
    let server = Server::echo(Acceptor::new(
        TlsSource::Reloading(Arc::clone(&context)),
        MixedMode::TlsClientTlsServer,
    ))
    .start()
    .await
    .expect("listen");
    let client = Arc::new(TestConfig::new(pki.client().files()).context());
    let connector = Connector::new(TlsSource::Fixed(client), MixedMode::TlsClientTlsServer);
    let load = Load::start(&connector, server.address, 2);

    let staging = tempfile::tempdir().expect("staging");
    let bundle = pki.ca().ca_bundle_pem();
    let mut written = BTreeSet::from([pki.server().issued.cert_der.to_vec()]);
    let mut previous = pki.server().issued.cert_der.to_vec();
    for n in 1..=INSTALLS {
        let issued = pki
            .issuer()
            .issue(&pki.localhost_params(&format!("server-{n}.localhost")))
            .expect("issue");
        let leaf = issued.cert_der.to_vec();
        written.insert(leaf.clone());
        let name = format!("set{n}");
        let staged = stage(staging.path(), &name, &issued, &bundle);
        let (config, staged, name) = (config.clone(), staged.clone(), name.clone());
        let out = tokio::task::spawn_blocking(move || {
            install(
                &config,
                &staged,
                &name,
                &["--hostname", "localhost", "--keep", "2"],
            )
        })
        .await
        .expect("install thread");
        assert_eq!(out.status.code(), Some(0), "install {n}: {}", stderr(&out));
        // Wait (bounded) until the server presents the new certificate.
        let since = Instant::now();
        loop {
            if exchange(&connector, server.address).await.ok().as_ref() == Some(&leaf) {
                break;
            }
            assert!(
                since.elapsed() < LIMIT,
                "install {n}: not served within {LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_ne!(
            leaf, previous,
            "install {n}: the served fingerprint changed"
        );
        previous = leaf;
        let kept = versions(&node_dir, &stem);
        let expected: BTreeSet<u64> = (n.saturating_sub(KEEP as u64)..=n)
            .filter(|v| *v > 0 || n <= KEEP as u64)
            .collect();
        assert_eq!(kept, expected, "install {n}: sets kept with --keep {KEEP}");
    }
    let (ok, failures, served) = load.stop().await;
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(ok > 0);
    for leaf in &served {
        assert!(
            written.contains(leaf),
            "served a certificate no install wrote"
        );
    }
    assert_eq!(context.metrics().snapshot().failed_config_reloads, 0);
    assert_eq!(context.metrics().snapshot().server.failed_tls_handshakes, 0);
}

#[test]
fn a_bad_set_changes_nothing_and_names_the_problem() {
    let pki = TestPki::new().expect("test PKI");
    let other = TestPki::new().expect("another CA");
    let config = pki.server().written.config_path.clone();
    let node_dir = config.parent().expect("node dir").to_owned();
    let staging = tempfile::tempdir().expect("staging");
    let bundle = pki.ca().ca_bundle_pem();
    let good = pki
        .issuer()
        .issue(&pki.localhost_params("next.localhost"))
        .expect("issue");
    let now = OffsetDateTime::now_utc();
    let expired = pki
        .issuer()
        .issue(
            &pki.localhost_params("old.localhost")
                .with_validity(Validity::new(
                    now - time::Duration::days(30),
                    now - time::Duration::days(1),
                )),
        )
        .expect("issue");
    let foreign = other
        .issuer()
        .issue(&other.localhost_params("foreign.localhost"))
        .expect("issue");
    let good_dir = stage(staging.path(), "good", &good, &bundle);
    // The good certificate with another key.
    let wrong_key = staging.path().join("wrong-key");
    std::fs::create_dir_all(&wrong_key).expect("dir");
    std::fs::copy(good_dir.join("good.pem"), wrong_key.join("wrong-key.pem")).expect("copy");
    std::fs::copy(
        pki.client().written.files.private_key.clone(),
        wrong_key.join("wrong-key.key"),
    )
    .expect("copy");
    // (set dir, name, extra flags, what stderr must say)
    let table: Vec<(PathBuf, &str, Vec<&str>, &str)> = vec![
        (wrong_key, "wrong-key", vec![], "expected the private key"),
        (
            stage(staging.path(), "expired", &expired, &bundle),
            "expired",
            vec![],
            "expired",
        ),
        (
            stage(staging.path(), "foreign", &foreign, &bundle),
            "foreign",
            vec![],
            "trust",
        ),
        (
            good_dir.clone(),
            "good",
            vec!["--hostname", "node9.example.com"],
            "node9.example.com",
        ),
    ];
    for (dir, name, extra, expected) in table {
        let before = snapshot(&node_dir);
        let out = install(&config, &dir, name, &extra);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("nothing changed"), "{name}: {err}");
        assert!(
            err.to_lowercase().contains(expected),
            "{name}: expected {expected:?} in {err}"
        );
        assert_eq!(
            snapshot(&node_dir),
            before,
            "{name}: node directory unchanged"
        );
    }
    // --dry-run checks a good set and changes nothing either.
    let before = snapshot(&node_dir);
    let out = install(
        &config,
        &good_dir,
        "good",
        &["--dry-run", "--hostname", "localhost"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dry run: nothing changed"));
    assert_eq!(snapshot(&node_dir), before);
    // And the real install of the good set changes the config to the new names.
    let out = install(&config, &good_dir, "good", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["installed"], true);
    assert!(report["certificate"]["days_to_expiry"].as_i64().is_some());
    let installed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).expect("config")).expect("JSON");
    let key = installed["files"]["private-key"]
        .as_str()
        .expect("key path");
    assert!(key.ends_with(".v1.key"), "{key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
