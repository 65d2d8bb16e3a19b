//! Live reloading through `ReloadingTlsContext`, with real files in temp dirs: atomic renames,
//! `..data` symlink swaps, in-place rewrites, bad writes, deleted and unreadable files.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::common::handshake;
use vespa_tls_config::Files;
use vespa_tls_context::{
    ContextError, ReloadEvent, ReloadOptions, ReloadOutcome, ReloadingTlsContext, TlsContext,
    TlsModes,
};
use vespa_tls_material::CryptoMaterial;
use vespa_tls_testkit::{Node, Policy, TestConfig, TestPki, replace_file};

fn watching() -> ReloadOptions {
    ReloadOptions {
        interval: Duration::from_secs(3600),
        watch: true,
        debounce: Duration::from_millis(100),
        ..ReloadOptions::default()
    }
}

fn manual() -> ReloadOptions {
    ReloadOptions {
        watch: false,
        ..watching()
    }
}

fn fingerprint(files: &Files) -> String {
    let now = time::OffsetDateTime::now_utc();
    CryptoMaterial::load(files)
        .expect("test setup")
        .report(now)
        .chain[0]
        .sha256_fingerprint
        .clone()
}

fn served(ctx: &ReloadingTlsContext) -> String {
    ctx.status().certificate.sha256_fingerprint
}

/// Polls until `done` or 10 s pass; returns how long it took.
#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

fn handshake_ok(client: &TlsContext, server: &TlsContext) -> bool {
    handshake(client, server, "localhost").ok()
}

struct Setup {
    pki: TestPki,
    config: PathBuf,
    client: TlsContext,
}

fn setup() -> Setup {
    let pki = TestPki::new().expect("test setup");
    let config = pki.dir().join("tls.json");
    TestConfig::new(pki.server().files())
        .write(&config)
        .expect("write the config");
    let client = TestConfig::new(pki.client().files()).context();
    Setup {
        pki,
        config,
        client,
    }
}

fn rotated(pki: &TestPki, name: &str) -> Node {
    pki.issue(name, &pki.localhost_params("server.localhost"))
        .expect("test setup")
}

#[test]
fn atomic_rename_of_the_config_is_seen_by_the_watcher() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), watching()).unwrap();
    assert_eq!(ctx.status().generation, 1);
    assert_eq!(served(&ctx), fingerprint(s.pki.server().files()));
    let events = ctx.subscribe();

    let next = rotated(&s.pki, "next");
    let expected = fingerprint(next.files());
    TestConfig::new(next.files())
        .write(&s.config)
        .expect("replace");
    let took = wait_for("the rotated certificate", || served(&ctx) == expected);
    eprintln!("new material in effect {took:?} after the rename");
    assert_eq!(ctx.status().generation, 2);
    assert_eq!(ctx.metrics().snapshot().successful_config_reloads, 1);
    assert_eq!(ctx.metrics().snapshot().failed_config_reloads, 0);
    assert!(matches!(
        events.recv_timeout(Duration::from_secs(1)),
        Ok(ReloadEvent::Reloaded { generation: 2 })
    ));
    assert!(handshake_ok(&s.client, &ctx.current()));
}

#[test]
fn kubernetes_data_symlink_swap_is_seen() {
    let s = setup();
    let secrets = s.pki.dir().join("secrets");
    let install = |generation: &str, node: &Node| {
        let dir = secrets.join(generation);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&node.files().ca_certificates, dir.join("ca.pem")).unwrap();
        std::fs::copy(&node.files().certificates, dir.join("tls.crt")).unwrap();
        std::fs::copy(&node.files().private_key, dir.join("tls.key")).unwrap();
    };
    install("..2026_11_27_a", s.pki.server());
    std::os::unix::fs::symlink("..2026_11_27_a", secrets.join("..data")).unwrap();
    for name in ["ca.pem", "tls.crt", "tls.key"] {
        std::os::unix::fs::symlink(format!("..data/{name}"), secrets.join(name)).unwrap();
    }
    let files = Files {
        ca_certificates: secrets.join("ca.pem"),
        certificates: secrets.join("tls.crt"),
        private_key: secrets.join("tls.key"),
    };
    TestConfig::new(&files).write(&s.config).expect("replace");
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), watching()).unwrap();
    assert_eq!(served(&ctx), fingerprint(s.pki.server().files()));

    // What the kubelet does: new directory, new `..data_tmp` link, rename over `..data`.
    let next = rotated(&s.pki, "next");
    install("..2026_11_27_b", &next);
    std::os::unix::fs::symlink("..2026_11_27_b", secrets.join("..data_tmp")).unwrap();
    std::fs::rename(secrets.join("..data_tmp"), secrets.join("..data")).unwrap();
    let expected = fingerprint(next.files());
    let took = wait_for("the swapped certificate", || served(&ctx) == expected);
    eprintln!("new material in effect {took:?} after the swap");
    assert_eq!(ctx.metrics().snapshot().failed_config_reloads, 0);
    assert!(handshake_ok(&s.client, &ctx.current()));

    // And a second swap, after the watcher re-resolved the links.
    let third = rotated(&s.pki, "third");
    install("..2026_11_27_c", &third);
    std::os::unix::fs::symlink("..2026_11_27_c", secrets.join("..data_tmp")).unwrap();
    std::fs::rename(secrets.join("..data_tmp"), secrets.join("..data")).unwrap();
    let expected = fingerprint(third.files());
    wait_for("the second swap", || served(&ctx) == expected);
}

#[test]
fn in_place_rewrites_are_picked_up_once_quiet() {
    let s = setup();
    let dir = s.pki.dir().join("in-place");
    std::fs::create_dir_all(&dir).unwrap();
    let files = Files {
        ca_certificates: dir.join("ca.pem"),
        certificates: dir.join("cert.pem"),
        private_key: dir.join("key.pem"),
    };
    let old = s.pki.server().files();
    std::fs::copy(&old.ca_certificates, &files.ca_certificates).unwrap();
    std::fs::copy(&old.certificates, &files.certificates).unwrap();
    std::fs::copy(&old.private_key, &files.private_key).unwrap();
    TestConfig::new(&files).write(&s.config).expect("replace");
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), watching()).unwrap();

    // Non-atomic: truncate-and-write the certificate, pause, then the key.
    let next = rotated(&s.pki, "next");
    std::fs::write(
        &files.certificates,
        std::fs::read(&next.files().certificates).unwrap(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    std::fs::write(
        &files.private_key,
        std::fs::read(&next.files().private_key).unwrap(),
    )
    .unwrap();
    let expected = fingerprint(next.files());
    wait_for("the rewritten certificate", || served(&ctx) == expected);
    assert!(handshake_ok(&s.client, &ctx.current()));
}

#[test]
fn a_bad_write_keeps_the_old_context_until_fixed() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), watching()).unwrap();
    let old = served(&ctx);
    let events = ctx.subscribe();

    replace_file(&s.config, br#"{"files": {"ca-certificates": "/nope"}}"#).expect("replace");
    wait_for("a failed reload", || {
        ctx.metrics().snapshot().failed_config_reloads >= 1
    });
    assert_eq!(served(&ctx), old);
    let status = ctx.status();
    assert_eq!(status.generation, 1);
    let error = status.last_error.expect("last error recorded").error;
    let message = error.to_string();
    assert!(
        message.starts_with(&s.config.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("missing required key \"certificates\""),
        "{message}"
    );
    // The typed error, not its text: subscribers heard the very failure the status shows
    // (the watcher may have reloaded more than once; the event is sent with the status set).
    assert!(matches!(*error, ContextError::Config { .. }), "{error:?}");
    loop {
        match events.recv_timeout(Duration::from_secs(1)) {
            Ok(ReloadEvent::Failed { error: heard }) if std::sync::Arc::ptr_eq(&heard, &error) => {
                break;
            }
            Ok(ReloadEvent::Failed { .. }) => {}
            other => panic!("expected the failed reload event of {error}, got {other:?}"),
        }
    }
    assert!(
        handshake_ok(&s.client, &ctx.current()),
        "the old context keeps serving"
    );

    let next = rotated(&s.pki, "next");
    TestConfig::new(next.files())
        .write(&s.config)
        .expect("replace");
    let expected = fingerprint(next.files());
    wait_for("the fix", || served(&ctx) == expected);
    assert!(ctx.status().last_error.is_none());
}

#[test]
fn deleted_and_unreadable_files_fail_the_reload_and_name_the_file() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), manual()).unwrap();
    let key = s.pki.server().files().private_key.clone();
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let error = ctx.reload().unwrap_err();
    assert!(
        error.to_string().starts_with(&key.display().to_string()),
        "{error}"
    );
    assert_eq!(ctx.metrics().snapshot().failed_config_reloads, 1);
    assert!(handshake_ok(&s.client, &ctx.current()));

    // A directory where the certificate should be: unreadable even for root.
    let cert = s.pki.server().files().certificates.clone();
    std::fs::write(&key, &saved).unwrap();
    let saved_cert = std::fs::read(&cert).unwrap();
    std::fs::remove_file(&cert).unwrap();
    std::fs::create_dir(&cert).unwrap();
    let error = ctx.reload().unwrap_err();
    assert!(
        error.to_string().starts_with(&cert.display().to_string()),
        "{error}"
    );
    assert_eq!(ctx.metrics().snapshot().failed_config_reloads, 2);

    // The config file itself gone.
    std::fs::remove_dir(&cert).unwrap();
    std::fs::write(&cert, saved_cert).unwrap();
    std::fs::rename(&s.config, s.config.with_extension("gone")).unwrap();
    let error = ctx.reload().unwrap_err();
    assert!(matches!(*error, ContextError::ReadConfig(_)), "{error}");
    std::fs::rename(s.config.with_extension("gone"), &s.config).unwrap();
    assert_eq!(
        ctx.reload().unwrap(),
        ReloadOutcome::Unchanged { generation: 1 }
    );
}

#[test]
fn a_fifo_named_as_the_config_fails_the_reload_without_blocking() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), manual()).unwrap();
    let saved = std::fs::read(&s.config).unwrap();
    std::fs::remove_file(&s.config).unwrap();
    match std::process::Command::new("mkfifo").arg(&s.config).status() {
        Ok(status) if status.success() => {}
        _ => {
            println!("skipped: mkfifo not available");
            return;
        }
    }
    // On a thread, bounded: a read that waits for a writer would never return.
    let (tx, rx) = std::sync::mpsc::channel();
    let ctx = std::sync::Arc::new(ctx);
    let reloading = std::sync::Arc::clone(&ctx);
    std::thread::spawn(move || {
        let _ = tx.send(reloading.reload().map_err(|e| e.to_string()));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the reload blocked on a FIFO");
    let error = result.unwrap_err();
    let path = s.config.display().to_string();
    assert!(error.starts_with(&path), "{error}");
    assert!(
        error.contains("expected a regular file, found a FIFO"),
        "{error}"
    );
    assert_eq!(error.matches(&path).count(), 1, "the path once: {error}");
    assert!(
        handshake_ok(&s.client, &ctx.current()),
        "the old context keeps serving"
    );
    std::fs::remove_file(&s.config).unwrap();
    std::fs::write(&s.config, saved).unwrap();
    assert_eq!(
        ctx.reload().unwrap(),
        ReloadOutcome::Unchanged { generation: 1 }
    );
}

#[test]
fn identical_content_does_not_churn() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), manual()).unwrap();
    let before = ctx.current();
    assert_eq!(
        ctx.reload().unwrap(),
        ReloadOutcome::Unchanged { generation: 1 }
    );
    assert!(Arc::ptr_eq(&before, &ctx.current()));
    assert_eq!(ctx.metrics().snapshot().successful_config_reloads, 0);
    // Rewriting the same bytes is still no change.
    replace_file(&s.config, &std::fs::read(&s.config).unwrap()).expect("replace");
    assert_eq!(
        ctx.reload().unwrap(),
        ReloadOutcome::Unchanged { generation: 1 }
    );
}

#[test]
fn rule_changes_apply_to_new_handshakes_only() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), manual()).unwrap();
    let before = ctx.current();
    assert!(handshake_ok(&s.client, &before));
    let deny_all = TestConfig::new(s.pki.server().files())
        .authorized_peers([Policy::new("nobody").cn("nobody")]);
    replace_file(&s.config, deny_all.to_json().as_bytes()).expect("replace");
    assert_eq!(
        ctx.reload().unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    let after = ctx.current();
    assert!(
        !handshake_ok(&s.client, &after),
        "new handshakes use the new rules"
    );
    assert!(
        handshake_ok(&s.client, &before),
        "a snapshot taken before keeps the old rules"
    );
    assert_eq!(
        served(&ctx),
        fingerprint(s.pki.server().files()),
        "same certificate"
    );
}

#[test]
fn the_interval_reloads_without_watching() {
    let s = setup();
    let options = ReloadOptions {
        // The shortest interval there is.
        interval: Duration::from_secs(1),
        watch: false,
        ..ReloadOptions::default()
    };
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), options).unwrap();
    let next = rotated(&s.pki, "next");
    TestConfig::new(next.files())
        .write(&s.config)
        .expect("replace");
    let expected = fingerprint(next.files());
    wait_for("the interval reload", || served(&ctx) == expected);
}

#[test]
fn a_bad_start_is_an_error() {
    let pki = TestPki::new().unwrap();
    let missing = pki.dir().join("missing.json");
    let error =
        ReloadingTlsContext::from_file(&missing, TlsModes::default(), manual()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&missing.display().to_string()),
        "{error}"
    );
    let bad = pki.dir().join("bad.json");
    std::fs::write(&bad, b"{").unwrap();
    let error = ReloadingTlsContext::from_file(&bad, TlsModes::default(), manual()).unwrap_err();
    assert!(error.to_string().contains("line 1"), "{error}");
}

/// Waits (at most 20 s) for the next published generation, skipping failures.
fn next_reload(events: &Receiver<ReloadEvent>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut failures = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ReloadEvent::Reloaded { generation }) => return generation,
            Ok(ReloadEvent::Failed { error }) => failures.push(error),
            Ok(_) => {}
            Err(e) => panic!("no reload published within 20 s ({e}); failures: {failures:?}"),
        }
    }
}

#[test]
fn status_and_current_never_mix_generations() {
    let s = setup();
    let next = rotated(&s.pki, "next");
    let configs = [
        TestConfig::new(s.pki.server().files()).to_json(),
        TestConfig::new(next.files()).to_json(),
    ];
    // Generation g serves configs[(g - 1) % 2].
    let fingerprints = Arc::new([
        fingerprint(s.pki.server().files()),
        fingerprint(next.files()),
    ]);
    let ctx =
        Arc::new(ReloadingTlsContext::from_file(&s.config, TlsModes::default(), manual()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let observers: Vec<_> = (0..2)
        .map(|_| {
            let (ctx, done, fingerprints) = (
                Arc::clone(&ctx),
                Arc::clone(&done),
                Arc::clone(&fingerprints),
            );
            std::thread::spawn(move || {
                let of = |generation: u64| &fingerprints[((generation - 1) % 2) as usize];
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let before = ctx.status();
                    let served = ctx.current();
                    let after = ctx.status();
                    for status in [&before, &after] {
                        let g = status.generation;
                        if status.certificate.sha256_fingerprint != *of(g) {
                            return Err(format!(
                                "status of generation {g} shows the other certificate"
                            ));
                        }
                        if status.metrics.successful_config_reloads != g - 1 {
                            return Err(format!(
                                "generation {g} with {} successful reloads",
                                status.metrics.successful_config_reloads
                            ));
                        }
                    }
                    let served = &served.material().chain[0].sha256_fingerprint;
                    if before.generation == after.generation && served != of(before.generation) {
                        return Err(format!(
                            "served the other certificate while generation {} was published",
                            before.generation
                        ));
                    }
                    reads += 1;
                }
                Ok(reads)
            })
        })
        .collect();
    let mut result = Ok(());
    for round in 1..=300u64 {
        replace_file(&s.config, configs[(round % 2) as usize].as_bytes()).expect("replace");
        let outcome = ctx.reload().unwrap();
        if outcome
            != (ReloadOutcome::Reloaded {
                generation: round + 1,
            })
        {
            result = Err(format!("round {round}: {outcome:?}"));
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    for observer in observers {
        let reads = observer.join().expect("observer thread").unwrap();
        eprintln!("observer read {reads} times");
    }
    result.unwrap();
}

#[test]
fn a_busy_directory_does_not_postpone_a_reload() {
    let s = setup();
    // A quiet period longer than the gap between unrelated writes: it never comes, and the
    // reload is due to max_delay.
    let options = ReloadOptions {
        debounce: Duration::from_secs(1),
        max_delay: Duration::from_millis(400),
        ..watching()
    };
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), options).unwrap();
    let events = ctx.subscribe();
    let stop = Arc::new(AtomicBool::new(false));
    let noise = s.pki.dir().join("unrelated.log");
    let toucher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::fs::write(&noise, n.to_string()).expect("test setup");
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let next = rotated(&s.pki, "next");
    TestConfig::new(next.files())
        .write(&s.config)
        .expect("replace");
    let generation = next_reload(&events);
    stop.store(true, Ordering::Relaxed);
    toucher.join().expect("toucher thread");
    assert_eq!(generation, 2);
    assert_eq!(served(&ctx), fingerprint(next.files()));
}

#[test]
fn extreme_reload_durations_never_panic() {
    let cases = [
        (
            "interval",
            ReloadOptions {
                interval: Duration::MAX,
                ..watching()
            },
        ),
        (
            "interval",
            ReloadOptions {
                interval: Duration::ZERO,
                ..watching()
            },
        ),
        (
            "debounce",
            ReloadOptions {
                debounce: Duration::MAX,
                // The reload comes at max_delay, the only bound left.
                max_delay: Duration::from_millis(300),
                ..watching()
            },
        ),
        (
            "debounce",
            ReloadOptions {
                debounce: Duration::ZERO,
                ..watching()
            },
        ),
        (
            "max_delay",
            ReloadOptions {
                max_delay: Duration::MAX,
                ..watching()
            },
        ),
        (
            "max_delay",
            ReloadOptions {
                max_delay: Duration::ZERO,
                ..watching()
            },
        ),
    ];
    for (field, options) in cases {
        let s = setup();
        let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), options.clone())
            .unwrap();
        let events = ctx.subscribe();
        let next = rotated(&s.pki, "next");
        TestConfig::new(next.files())
            .write(&s.config)
            .expect("replace");
        eprintln!("{field}: {options:?}");
        assert!(next_reload(&events) >= 2, "{field}");
        assert_eq!(served(&ctx), fingerprint(next.files()), "{field}");
        assert!(ctx.reload().is_ok(), "{field}");
    }
}

/// Ids of this process's threads whose name starts with `prefix` (the kernel keeps 15 bytes).
fn threads_named(prefix: &str) -> BTreeSet<String> {
    let prefix = &prefix[..prefix.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .expect("Linux /proc")
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            comm.starts_with(prefix)
                .then(|| task.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

/// Polls (at most 20 s) until `done` holds for the threads named `prefix`.
#[track_caller]
fn wait_for_threads(prefix: &str, what: &str, done: impl Fn(&BTreeSet<String>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let threads = threads_named(prefix);
        if done(&threads) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "threads named {prefix:?}: {threads:?}; waited 20 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn dropping_stops_the_worker_and_the_watcher() {
    // Linux only: the threads are found by name in /proc. Threads other tests start in this
    // process at the same time may be counted as ours, and are then waited for as well.
    const WORKER: &str = "vespa-tls-reload";
    const WATCHER: &str = "notify-rs inotify loop";
    let s = setup();
    let (workers, watchers) = (threads_named(WORKER), threads_named(WATCHER));
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), watching()).unwrap();
    // A thread names itself once it runs: wait for ours to show up.
    wait_for_threads(WORKER, "the worker to start", |now| {
        !now.is_subset(&workers)
    });
    wait_for_threads(WATCHER, "the watcher to start", |now| {
        !now.is_subset(&watchers)
    });
    let ours = |before: &BTreeSet<String>, prefix| -> BTreeSet<String> {
        threads_named(prefix).difference(before).cloned().collect()
    };
    let (worker, watcher) = (ours(&workers, WORKER), ours(&watchers, WATCHER));
    // The worker holds the shared state, counters included; once it is gone, nothing does.
    let metrics = Arc::downgrade(ctx.metrics());
    drop(ctx);
    assert!(
        metrics.upgrade().is_none(),
        "something still holds the context's state after drop"
    );
    wait_for_threads(WORKER, "the worker to end", |now| now.is_disjoint(&worker));
    wait_for_threads(WATCHER, "the watcher to end", |now| {
        now.is_disjoint(&watcher)
    });
}

/// A snapshot's server config and the one that follows reloads share one policy: no session
/// cache, no tickets, and the server's suite order decides.
#[test]
fn every_server_config_resumes_nothing_and_takes_its_own_suite_order() {
    let s = setup();
    let ctx = ReloadingTlsContext::from_file(&s.config, TlsModes::default(), manual()).unwrap();
    for config in [ctx.current().server_config(), ctx.server_config().unwrap()] {
        assert!(config.ignore_client_order);
        assert_eq!(config.send_tls13_tickets, 0);
        assert!(!config.session_storage.can_cache());
    }
}
