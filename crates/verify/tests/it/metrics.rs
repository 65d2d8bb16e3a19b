//! `serve --metrics-listen` and `check --prometheus`, read by Prometheus' own Python text
//! parser (`prometheus_client.parser`, Debian's python3-prometheus-client), with real TLS
//! peers (`openssl s_client`) and certificate dates read by openssl and Python's `ssl`.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use vespa_tls_testkit::{
    Openssl, Served, clear_tls_env, json_event, python_with_or_skip, replace_file,
};

use crate::cli::{BIN, code, pki, run, s, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(20);

/// Turns Prometheus text into JSON samples with `prometheus_client.parser`.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        out.append({"family": family.name, "type": family.type, "name": sample.name,
                    "labels": sample.labels, "value": sample.value})
print(json.dumps(out))
"#;

/// A Python that has `prometheus_client`, or `None` after printing why the test is skipped.
fn python_or_skip() -> Option<&'static str> {
    python_with_or_skip("prometheus_client.parser", "python3-prometheus-client")
}

fn python(python: &str, code: &str, input: &str) -> String {
    let mut child = Command::new(python)
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to python");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}\non input:\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[derive(Debug)]
struct Sample {
    family: String,
    kind: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// What Prometheus' parser makes of `text`; panics when it refuses it.
fn parse(py: &str, text: &str) -> Vec<Sample> {
    let parsed: Value = serde_json::from_str(&python(py, PARSE, text)).expect("parser JSON");
    parsed
        .as_array()
        .expect("a list")
        .iter()
        .map(|sample| Sample {
            family: sample["family"].as_str().expect("family").to_owned(),
            kind: sample["type"].as_str().expect("type").to_owned(),
            name: sample["name"].as_str().expect("name").to_owned(),
            labels: sample["labels"]
                .as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned()))
                .collect(),
            value: sample["value"].as_f64().expect("value"),
        })
        .collect()
}

/// The one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?} is ambiguous");
    matching.first().map(|s| s.value)
}

/// `GET /metrics` over plain TCP: the body, after checking status and content type.
fn scrape(address: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("metrics endpoint");
    stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_owned()
}

/// Scrapes until `done` holds for the parsed samples (at most [`LIMIT`]).
fn scrape_until(
    py: &str,
    address: &str,
    what: &str,
    done: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let start = Instant::now();
    loop {
        let samples = parse(py, &scrape(address));
        if done(&samples) {
            return samples;
        }
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A certificate's notAfter as openssl prints it, in Unix seconds by Python's `ssl`.
fn not_after_by_openssl(py: &str, pem: &Path) -> f64 {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-in", s(pem)])
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let date = text
        .trim()
        .strip_prefix("notAfter=")
        .unwrap_or_else(|| panic!("openssl x509 -enddate said {text:?}"));
    let seconds = python(
        py,
        "import ssl, sys; print(ssl.cert_time_to_seconds(sys.stdin.read().strip()))",
        date,
    );
    seconds.trim().parse().expect("seconds")
}

/// One `openssl s_client` connection (stdin closed: it handshakes, then hangs up).
fn s_client(port: u16, ca: &Path, identity: Option<(&Path, &Path)>) {
    let mut cmd = Command::new("openssl");
    cmd.args(Openssl::s_client_args(port, ca, identity));
    let client = Served::spawn("openssl s_client", &mut cmd).expect("s_client starts");
    client.wait_exit(LIMIT).expect("s_client ends");
}

#[test]
fn serve_metrics_parse_with_prometheus_and_count_what_happened() {
    let Some(py) = python_or_skip() else { return };
    if Openssl::or_skip().is_none() {
        return;
    }
    let pki = pki();
    let root = pki.dir.path();
    let node = root.join("ca/node1");
    let (ca, cert, key) = (
        node.join("ca-certificates.pem"),
        node.join("node1.pem"),
        node.join("node1.key"),
    );
    // A node of another CA, for a refused peer.
    let other = root.join("other");
    assert_eq!(code(&run(&["ca", "init", "--dir", s(&other)])), 0);
    let out = run(&[
        "ca",
        "issue",
        "--dir",
        s(&other),
        "--name",
        "stranger",
        "--cn",
        "stranger.example.com",
        "--san-dns",
        "localhost",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stranger = other.join("stranger");

    let mut cmd = Command::new(BIN);
    clear_tls_env(&mut cmd)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--handshake-timeout",
            "5",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .env("VESPA_TLS_CONFIG_FILE", &pki.config);
    let serve = Served::spawn("vespa-tls serve", &mut cmd).expect("serve starts");
    let port = serve
        .wait_listening(LIMIT)
        .expect("serve listens")
        .address
        .port();
    let line = serve
        .wait_for_line("metrics-listening", LIMIT, |l| {
            json_event(l, "metrics-listening").is_some()
        })
        .expect("metrics endpoint");
    let metrics = json_event(&line, "metrics-listening").expect("event")["address"]
        .as_str()
        .expect("address")
        .to_owned();

    let samples = parse(py, &scrape(&metrics));
    let established = "vespa_tls_connections_established_total";
    let tls = [("side", "server"), ("security", "tls")];
    assert_eq!(value(&samples, established, &tls), Some(0.0));
    let family = samples
        .iter()
        .find(|s| s.name == established)
        .expect("the connection counter");
    assert_eq!(
        (family.family.as_str(), family.kind.as_str()),
        ("vespa_tls_connections_established", "counter")
    );
    // The expiry gauges equal the notAfter openssl reads from the same files.
    let not_after = "vespa_tls_certificate_not_after_timestamp_seconds";
    assert_eq!(
        value(&samples, not_after, &[("certificate", "leaf")]),
        Some(not_after_by_openssl(py, &cert)),
    );
    assert_eq!(
        value(&samples, not_after, &[("certificate", "ca")]),
        Some(not_after_by_openssl(py, &ca)),
    );
    assert_eq!(
        value(&samples, "vespa_tls_config_generation", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "vespa_tls_config_last_reload_failed", &[]),
        Some(0.0)
    );

    // Three handshakes by a peer that is not ours: exactly three TLS connections.
    for _ in 0..3 {
        s_client(port, &ca, Some((&cert, &key)));
    }
    // Refused: a certificate of another CA, no certificate, plaintext to a TLS-only server.
    s_client(
        port,
        &ca,
        Some((
            &stranger.join("stranger.pem"),
            &stranger.join("stranger.key"),
        )),
    );
    s_client(port, &ca, None);
    let mut plain = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    plain.set_read_timeout(Some(LIMIT)).expect("read timeout");
    plain
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .expect("plaintext request");
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest);

    let failed = "vespa_tls_handshakes_failed_total";
    let samples = scrape_until(py, &metrics, "three refusals", |samples| {
        let total: f64 = samples
            .iter()
            .filter(|s| s.name == failed && s.labels["side"] == "server")
            .map(|s| s.value)
            .sum();
        total >= 3.0 && value(samples, established, &tls) >= Some(3.0)
    });
    let shown: Vec<String> = samples
        .iter()
        .filter(|s| s.name == failed && s.value > 0.0)
        .map(|s| format!("{:?} {}", s.labels, s.value))
        .collect();
    assert_eq!(value(&samples, established, &tls), Some(3.0), "{shown:?}");
    for (reason, expected) in [
        ("unknown_ca", 1.0),
        ("no_certificate", 1.0),
        ("plaintext_refused", 1.0),
        ("authorization_denied", 0.0),
        ("timeout", 0.0),
        ("other", 0.0),
    ] {
        assert_eq!(
            value(&samples, failed, &[("side", "server"), ("reason", reason)]),
            Some(expected),
            "{reason}: {shown:?}"
        );
    }

    // A broken config: the reload fails, the generation stays.
    let good = std::fs::read(&pki.config).expect("config");
    replace_file(&pki.config, b"{ \"files\": ").expect("replace");
    let samples = scrape_until(py, &metrics, "a failed reload", |samples| {
        value(samples, "vespa_tls_failed_config_reloads_total", &[]) >= Some(1.0)
    });
    assert_eq!(
        value(&samples, "vespa_tls_config_last_reload_failed", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "vespa_tls_config_generation", &[]),
        Some(1.0)
    );
    // Fixed (other bytes, so it is a change): generation + 1, and the failure is cleared.
    let mut fixed = good;
    fixed.extend_from_slice(b"\n");
    replace_file(&pki.config, &fixed).expect("replace");
    let samples = scrape_until(py, &metrics, "the fixed config", |samples| {
        value(samples, "vespa_tls_config_generation", &[]) == Some(2.0)
    });
    assert_eq!(
        value(&samples, "vespa_tls_config_last_reload_failed", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "vespa_tls_successful_config_reloads_total", &[]),
        Some(1.0)
    );
    let age = value(&samples, "vespa_tls_config_seconds_since_last_reload", &[])
        .expect("seconds since the reload");
    assert!((0.0..LIMIT.as_secs_f64()).contains(&age), "{age}");
}

#[test]
fn metrics_listen_refuses_a_public_address_unless_told() {
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("--metrics-listen 0.0.0.0:0: 0.0.0.0 is not a loopback address")
            && text.contains("--metrics-listen-public"),
        "{text}"
    );
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen-public",
    ]);
    assert_eq!(code(&out), 2, "the flag needs --metrics-listen");
}

#[test]
fn metrics_endpoint_answers_other_paths_and_methods_with_errors() {
    let mut cmd = Command::new(BIN);
    clear_tls_env(&mut cmd).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let serve = Served::spawn("vespa-tls serve", &mut cmd).expect("serve starts");
    let line = serve
        .wait_for_line("metrics-listening", LIMIT, |l| {
            json_event(l, "metrics-listening").is_some()
        })
        .expect("metrics endpoint");
    let address = json_event(&line, "metrics-listening").expect("event")["address"]
        .as_str()
        .expect("address")
        .to_owned();
    for (request, status) in [
        ("GET / HTTP/1.1\r\n\r\n", "404"),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "405"),
        ("\u{1}\u{2}garbage\r\n\r\n", "405"),
    ] {
        let mut stream = TcpStream::connect(&address).expect("connect");
        stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
        stream.write_all(request.as_bytes()).expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status} ")),
            "{request:?}: {response}"
        );
    }
    // A request head that never ends is cut off, not read forever.
    let mut stream = TcpStream::connect(&address).expect("connect");
    stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
    let _ = stream.write_all(&[b'a'; 8 * 1024]);
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    // TLS off: the counters are still there, without certificate gauges.
    let body = scrape(&address);
    assert!(
        body.contains("vespa_tls_connections_established_total{"),
        "{body}"
    );
    assert!(!body.contains("certificate_not_after"), "{body}");
}

#[test]
fn check_writes_a_textfile_prometheus_parses() {
    let Some(py) = python_or_skip() else { return };
    if Openssl::or_skip().is_none() {
        return;
    }
    let pki = pki();
    let node = pki.dir.path().join("ca/node1");
    let textfiles = pki.dir.path().join("textfiles");
    std::fs::create_dir(&textfiles).expect("dir");
    let prom = textfiles.join("vespa_tls.prom");
    let out = run(&[
        "check",
        "--config",
        s(&pki.config),
        "--prometheus",
        s(&prom),
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = std::fs::read_to_string(&prom).expect("the textfile");
    let samples = parse(py, &text);
    let config = [("config", s(&pki.config))];
    assert_eq!(value(&samples, "vespa_tls_check_ok", &config), Some(1.0));
    assert_eq!(
        value(&samples, "vespa_tls_check_errors", &config),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "vespa_tls_check_warnings", &config),
        Some(0.0)
    );
    let not_after = "vespa_tls_certificate_not_after_timestamp_seconds";
    assert_eq!(
        value(&samples, not_after, &[("certificate", "leaf")]),
        Some(not_after_by_openssl(py, &node.join("node1.pem")))
    );
    assert_eq!(
        value(&samples, not_after, &[("certificate", "ca")]),
        Some(not_after_by_openssl(py, &node.join("ca-certificates.pem")))
    );
    let mode = std::fs::metadata(&prom).expect("metadata").mode() & 0o777;
    assert_eq!(mode, 0o644, "node_exporter must be able to read it");

    // Expiring within --warn-days: a warning, still ok.
    let out = run(&[
        "check",
        "--config",
        s(&pki.config),
        "--warn-days",
        "100000",
        "--prometheus",
        s(&prom),
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let samples = parse(py, &std::fs::read_to_string(&prom).expect("textfile"));
    assert_eq!(value(&samples, "vespa_tls_check_ok", &config), Some(1.0));
    assert_eq!(
        value(&samples, "vespa_tls_check_warnings", &config),
        Some(2.0)
    );

    // A config that names a missing file: not ok, an error, no certificate gauges.
    let broken = pki.dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"files": {"ca-certificates": "/nonexistent/ca.pem", "certificates": "/nonexistent/c.pem", "private-key": "/nonexistent/k.pem"}}"#,
    )
    .expect("write");
    let out = run(&["check", "--config", s(&broken), "--prometheus", s(&prom)]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let samples = parse(py, &std::fs::read_to_string(&prom).expect("textfile"));
    let config = [("config", s(&broken))];
    assert_eq!(value(&samples, "vespa_tls_check_ok", &config), Some(0.0));
    assert!(value(&samples, "vespa_tls_check_errors", &config) >= Some(1.0));
    assert!(samples.iter().all(|s| s.name != not_after));
    // Nothing but the textfile is left in the directory.
    let names: Vec<_> = std::fs::read_dir(&textfiles)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("vespa_tls.prom")]);
}

#[test]
fn check_replaces_the_textfile_whole_while_it_is_read() {
    let pki = pki();
    let textfiles = pki.dir.path().join("textfiles");
    std::fs::create_dir(&textfiles).expect("dir");
    let prom = textfiles.join("vespa_tls.prom");
    let write = || {
        let out = run(&[
            "check",
            "--config",
            s(&pki.config),
            "--prometheus",
            s(&prom),
        ]);
        assert_eq!(code(&out), 0, "{}", stdout(&out));
    };
    write();
    let first = std::fs::read_to_string(&prom).expect("textfile");
    let lines = first.lines().count();
    assert!(first.ends_with('\n') && lines > 8, "{first}");

    // A reader reads the file over and over while it is rewritten: every read is whole.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, prom) = (Arc::clone(&stop), prom.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&prom).expect("the file is always there");
                assert!(
                    text.ends_with('\n') && text.lines().count() == lines,
                    "a partial read:\n{text}"
                );
                reads += 1;
            }
            reads
        })
    };
    let mut inodes = vec![std::fs::metadata(&prom).expect("metadata").ino()];
    for _ in 0..10 {
        write();
        inodes.push(std::fs::metadata(&prom).expect("metadata").ino());
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("every read was whole");
    assert!(reads > 0);
    // Each write is a new file renamed into place, never the old one rewritten.
    for pair in inodes.windows(2) {
        assert_ne!(pair[0], pair[1], "the file was rewritten in place");
    }
}

#[test]
fn serve_logs_handshakes_with_fields_and_refusals_once_per_peer() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let pki = pki();
    let node = pki.dir.path().join("ca/node1");
    let ca = node.join("ca-certificates.pem");
    let start = |verbosity: &[&str], rust_log: Option<&str>| {
        let mut cmd = Command::new(BIN);
        clear_tls_env(&mut cmd)
            .args(verbosity)
            .args(["serve", "--listen", "127.0.0.1:0", "--json"])
            .env("VESPA_TLS_CONFIG_FILE", &pki.config)
            .env_remove("RUST_LOG");
        if let Some(filter) = rust_log {
            cmd.env("RUST_LOG", filter);
        }
        let serve = Served::spawn("vespa-tls serve", &mut cmd).expect("serve starts");
        let port = serve.wait_listening(LIMIT).expect("listens").address.port();
        (serve, port)
    };
    let (serve, port) = start(&["-vv"], None);
    s_client(
        port,
        &ca,
        Some((&node.join("node1.pem"), &node.join("node1.key"))),
    );
    for _ in 0..3 {
        s_client(port, &ca, None);
    }
    // The JSON event lines stay on stdout: three refusals.
    let refused = |serve: &Served| {
        serve
            .stdout_lines()
            .iter()
            .filter(|l| json_event(l, "refused").is_some())
            .count()
    };
    let waited = Instant::now();
    while refused(&serve) < 3 {
        assert!(waited.elapsed() < LIMIT, "{:?}", serve.stdout_lines());
        std::thread::sleep(Duration::from_millis(20));
    }
    let established = |lines: &[String]| {
        lines.iter().any(|l| {
            l.contains("TLS connection established") && l.contains("cn=\"node1.example.com\"")
        })
    };
    // Every line the three refusals logged was written before their events on stdout; the
    // whole of stderr, read to its end once the process is gone, holds them all.
    let (_, stderr) = serve.kill_and_collect();
    let lines: Vec<String> = stderr.lines().map(str::to_owned).collect();
    assert!(established(&lines), "{lines:#?}");
    let handshake = lines
        .iter()
        .find(|l| l.contains("TLS connection established"))
        .expect("the handshake line");
    for field in [
        "tls_handshake{side=\"server\"",
        "sans=DNS:localhost",
        "peer=tcp/127.0.0.1:",
    ] {
        assert!(handshake.contains(field), "{field} missing: {handshake}");
    }
    // Three refusals from one address inside the interval: one line, with its reason code.
    let refusals: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("reason=\"no_certificate\""))
        .collect();
    assert_eq!(refusals.len(), 1, "{lines:#?}");
    assert!(refusals[0].contains(" WARN "), "{}", refusals[0]);

    // RUST_LOG wins over -v: nothing from the transport at error level.
    let (serve, port) = start(&["-vv"], Some("error"));
    s_client(port, &ca, None);
    serve
        .wait_for_line("a refused event", LIMIT, |line| {
            json_event(line, "refused").is_some()
        })
        .expect("refused event");
    let (_, stderr) = serve.kill_and_collect();
    assert!(!stderr.contains("reason="), "{stderr}");
}
