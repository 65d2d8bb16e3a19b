//! `vespa-tls serve --protocol http` against real curl: HTTP/2 and HTTP/1.1 by ALPN with a
//! client certificate, a certificate no policy admits, a policy without
//! `vespa.container.state_api` (Vespa's 403), plaintext `curl http://` in mixed mode; and our
//! own `connect`/`scan --protocol http` probes against it. Skipped, with the reason printed,
//! when curl is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use vespa_tls_testkit::{
    HEALTH_UP, MISSING_CAPABILITIES, Served, clear_tls_env, curl, curl_identity, curl_or_skip,
    json_event,
};

use crate::cli::{BIN, Pki, code, pki, run, s, stdout, stop_served};

const HEALTH: &str = HEALTH_UP;
const FORBIDDEN: &str = MISSING_CAPABILITIES;

/// The node's three files, as its config names them.
struct Files {
    ca: PathBuf,
    certificate: PathBuf,
    key: PathBuf,
}

fn files(config: &Path) -> Files {
    let value: Value =
        serde_json::from_slice(&std::fs::read(config).expect("config")).expect("json");
    let path = |key: &str| PathBuf::from(value["files"][key].as_str().expect("path"));
    Files {
        ca: path("ca-certificates"),
        certificate: path("certificates"),
        key: path("private-key"),
    }
}

/// The PKI's config with `authorized-peers` added, in a file of its own.
fn with_peers(pki: &Pki, name: &str, peers: Value) -> PathBuf {
    let mut value: Value =
        serde_json::from_slice(&std::fs::read(&pki.config).expect("config")).expect("json");
    value["authorized-peers"] = peers;
    let path = pki.dir.path().join(name);
    std::fs::write(&path, value.to_string()).expect("write config");
    path
}

fn serve_http(config: &Path, mixed: Option<&str>) -> (Served, String) {
    let mut cmd = Command::new(BIN);
    clear_tls_env(&mut cmd)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--protocol",
            "http",
        ])
        .env("VESPA_TLS_CONFIG_FILE", config);
    if let Some(mixed) = mixed {
        cmd.env("VESPA_TLS_INSECURE_MIXED_MODE", mixed);
    }
    let process = Served::spawn("vespa-tls serve --protocol http", &mut cmd).expect("starts");
    let listening = process
        .wait_listening(Duration::from_secs(20))
        .expect("serve listens");
    let port = listening.address.port();
    (process, format!("localhost:{port}"))
}

fn identity(files: &Files) -> Vec<String> {
    curl_identity(&files.ca, &files.certificate, &files.key)
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The server's `connection` events, waited for until there are `n`.
fn connections(process: &Served, n: usize) -> Vec<Value> {
    let counted = std::cell::Cell::new(0);
    process
        .wait_for_line("connection events", Duration::from_secs(20), |line| {
            if json_event(line, "connection").is_some() {
                counted.set(counted.get() + 1);
            }
            counted.get() >= n
        })
        .expect("connection events");
    process
        .stdout_lines()
        .iter()
        .filter_map(|l| json_event(l, "connection"))
        .collect()
}

#[test]
fn curl_gets_health_over_h2_and_http1_with_the_alpn_it_asks_for() {
    if !curl_or_skip() {
        return;
    }
    let pki = pki();
    let (process, host) = serve_http(&pki.config, None);
    let url = format!("https://{host}/state/v1/health");
    let id = identity(&files(&pki.config));

    let h2 = curl(&[refs(&id), vec!["--http2"]].concat(), &url);
    assert_eq!(
        (h2.exit, &*h2.version, &*h2.status),
        (0, "2", "200"),
        "{h2:?}"
    );
    assert_eq!(h2.body, HEALTH);
    let http1 = curl(&[refs(&id), vec!["--http1.1"]].concat(), &url);
    assert_eq!(
        (http1.exit, &*http1.version, &*http1.status),
        (0, "1.1", "200"),
        "{http1:?}"
    );
    assert_eq!(http1.body, HEALTH);

    let seen = connections(&process, 2);
    let alpn: Vec<&Value> = seen.iter().map(|e| &e["alpn"]).collect();
    assert_eq!(alpn, [&json!("h2"), &json!("http/1.1")], "{seen:?}");
    assert!(
        seen[0]["credentials"]
            .as_str()
            .is_some_and(|c| c.contains("CN='node1.example.com'")),
        "{seen:?}"
    );

    // Another path answers 404, as JSON.
    let other = curl(&refs(&id), &format!("https://{host}/state/v1/metrics"));
    assert_eq!(other.status, "404", "{other:?}");
}

#[test]
fn a_certificate_no_policy_admits_is_refused() {
    if !curl_or_skip() {
        return;
    }
    let pki = pki();
    let config = with_peers(
        &pki,
        "nobody.json",
        json!([{"name": "others", "required-credentials": [
            {"field": "CN", "must-match": "other.example.com"}]}]),
    );
    let (_process, host) = serve_http(&config, None);
    let got = curl(
        &refs(&identity(&files(&pki.config))),
        &format!("https://{host}/state/v1/health"),
    );
    assert_ne!(got.exit, 0, "{got:?}");
    assert_eq!(got.status, "000", "no HTTP response at all: {got:?}");
}

#[test]
fn a_policy_without_the_state_api_capability_gets_vespas_403() {
    if !curl_or_skip() {
        return;
    }
    let pki = pki();
    let config = with_peers(
        &pki,
        "no-state-api.json",
        json!([{"name": "feeders", "capabilities": ["vespa.content.document_api"],
            "required-credentials": [{"field": "CN", "must-match": "node1.example.com"}]}]),
    );
    let (_process, host) = serve_http(&config, None);
    for version in ["--http2", "--http1.1"] {
        let got = curl(
            &[refs(&identity(&files(&pki.config))), vec![version]].concat(),
            &format!("https://{host}/state/v1/health"),
        );
        assert_eq!((got.exit, &*got.status), (0, "403"), "{version}: {got:?}");
        assert_eq!(got.body, FORBIDDEN, "{version}");
    }
}

#[test]
fn mixed_mode_answers_plain_curl_http() {
    if !curl_or_skip() {
        return;
    }
    let pki = pki();
    let (process, host) = serve_http(&pki.config, Some("tls_client_mixed_server"));
    let got = curl(&[], &format!("http://{host}/state/v1/health"));
    assert_eq!(
        (got.exit, &*got.version, &*got.status),
        (0, "1.1", "200"),
        "{got:?}"
    );
    assert_eq!(got.body, HEALTH);
    let h2c = curl(
        &["--http2-prior-knowledge"],
        &format!("http://{host}/state/v1/health"),
    );
    assert_eq!(
        (h2c.exit, &*h2c.version, &*h2c.status),
        (0, "2", "200"),
        "{h2c:?}"
    );
    // TLS on the same port still works.
    let tls = curl(
        &refs(&identity(&files(&pki.config))),
        &format!("https://{host}/state/v1/health"),
    );
    assert_eq!((tls.exit, &*tls.status), (0, "200"), "{tls:?}");
    let seen = connections(&process, 3);
    assert_eq!(seen[0]["tls"], json!(false), "{seen:?}");
}

#[test]
fn connect_and_scan_with_the_http_probe_pass_against_serve_http() {
    let pki = pki();
    let config = s(&pki.config);
    let (process, host) = serve_http(&pki.config, None);
    let out = run(&[
        "connect",
        &host,
        "--config",
        config,
        "--protocol",
        "http",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["tls"]["exchange"], "well-formed http reply",
        "{report}"
    );
    assert_eq!(report["requires_client_certificate"]["answer"], "yes");
    assert_eq!(report["accepts_plaintext"]["answer"], "no");
    let out = run(&["scan", &host, "--config", config, "--protocol", "http"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // Ctrl-C stops the HTTP server as it stops the others, with a last `stopped` event.
    stop_served(&process, "INT");
    let last = process.stdout_lines().pop().expect("events");
    assert!(json_event(&last, "stopped").is_some(), "{last}");
}
