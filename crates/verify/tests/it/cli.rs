//! The `vespa-tls` binary as an operator runs it: exit codes, stdout, stderr and `--json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use vespa_tls_config::Files;
use vespa_tls_testkit::{Openssl, SServer, Served, clear_tls_env};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_vespa-tls");

pub(crate) fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

/// Runs the binary; a `--json` output that parses as JSON is validated against its schema
/// (`schema.rs`), so every `--json` any test sees is checked.
pub(crate) fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    let out = clear_tls_env(&mut cmd)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("vespa-tls runs");
    if let Some(schema) = crate::schema::schema_for(args) {
        let text = String::from_utf8_lossy(&out.stdout);
        if serde_json::from_str::<Value>(&text).is_ok() {
            crate::schema::validate(&schema, &[&text]);
        }
    }
    out
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

const SEED_NAMED: &str = r#"{
  "files": {"ca-certificates": "/nonexistent/ca.pem", "certificates": "/nonexistent/host.pem", "private-key": "/nonexistent/key.pem"},
  "authorized-peers": [
    {"name": "monitoring", "capabilities": ["vespa.telemetry"], "required-credentials": [
      {"field": "CN", "must-match": "vespa-monitoring.example.com"},
      {"field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com"}]},
    {"name": "cluster-p2p", "required-credentials": [
      {"field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com"}]}
  ]
}"#;

/// A CA and a node made with the tool itself.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: PathBuf,
}

pub(crate) fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca");
    let out = run(&["ca", "init", "--dir", s(&ca)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&[
        "ca",
        "issue",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--cn",
        "node1.example.com",
        "--san-dns",
        "localhost",
        "--san-dns",
        "node1.mycluster.vespa.example.com",
        "--san-ip",
        "127.0.0.1",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let config = dir.path().join("tls.json");
    let out = run(&[
        "ca",
        "config",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--out",
        s(&config),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    Pki { dir, config }
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["check", "--no-such-flag"]);
    assert_eq!(code(&out), 2);
    let out = run(&["frobnicate"]);
    assert_eq!(code(&out), 2);
    let out = run(&["check"]);
    assert_eq!(code(&out), 2, "no config anywhere");
    assert!(
        stderr(&out).starts_with("vespa-tls: error: no TLS config file"),
        "{}",
        stderr(&out)
    );
    let help = run(&["--help"]);
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("Exit status:"));
}

#[test]
fn check_reports_the_guides_example_without_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = SEED_NAMED.replace("\"name\": \"monitoring\", ", "");
    let path = write(dir.path(), "tls.json", &seed);
    let out = run(&["check", "--config", s(&path), "--no-files"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("error: /authorized-peers/0: missing required key \"name\""),
        "{}",
        stdout(&out)
    );
    let out = run(&["check", "--config", s(&path), "--no-files", "--json"]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["ok"], false);
    assert_eq!(report["errors"], 1);
    assert_eq!(report["findings"][0]["location"], "/authorized-peers/0");
    assert_eq!(report["findings"][0]["code"], "config-invalid");
}

#[test]
fn check_refuses_a_misspelled_authorized_peers_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = SEED_NAMED.replace("authorized-peers", "authorised-peers");
    let path = write(dir.path(), "tls.json", &typo);
    let out = run(&["check", "--config", s(&path), "--no-files"]);
    assert_eq!(code(&out), 1, "ignoring the key would admit every peer");
    assert!(
        stdout(&out).contains(
            "error: /authorised-peers: unknown key \"authorised-peers\" is refused, not ignored: \
             it looks like a misspelled \"authorized-peers\", and ignoring it would fail open"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_warns_about_a_misspelled_key_and_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = SEED_NAMED.replace(
        "\"authorized-peers\"",
        "\"accepted-cipher\": [], \"authorized-peers\"",
    );
    let path = write(dir.path(), "tls.json", &typo);
    let out = run(&["check", "--config", s(&path), "--no-files"]);
    assert_eq!(code(&out), 0, "warnings alone exit 0");
    assert!(
        stdout(&out).contains("warning: /accepted-cipher: unknown key \"accepted-cipher\" is ignored; did you mean \"accepted-ciphers\"?"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_exit_codes_for_broken_and_missing_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = write(dir.path(), "broken.json", "{\n  \"files\": {\n");
    let out = run(&["check", "--config", s(&broken)]);
    assert_eq!(
        code(&out),
        1,
        "a JSON syntax error is an error-level finding"
    );
    assert!(
        stdout(&out).contains("line 3, column 1"),
        "{}",
        stdout(&out)
    );
    let missing = dir.path().join("missing.json");
    let out = run(&["check", "--config", s(&missing)]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).starts_with(&format!(
        "vespa-tls: error: {}: cannot read",
        missing.display()
    )));
    // Files that do not exist are an error when files are checked.
    let seed = write(dir.path(), "seed.json", SEED_NAMED);
    let out = run(&["check", "--config", s(&seed)]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("/nonexistent/"), "{}", stdout(&out));
    // A bad mode value in the environment is reported.
    let out = run_env(
        &["check", "--config", s(&seed), "--no-files"],
        &[
            ("VESPA_TLS_CONFIG_FILE", s(&seed)),
            ("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_mixed"),
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("VESPA_TLS_INSECURE_MIXED_MODE: unknown value \"tls_client_mixed\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_error_names_its_cause_once() {
    // `{:#}` prints an error with its source() chain: a cause kept both in the message and in
    // source() would show twice.
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.json");
    let invalid = write(
        dir.path(),
        "invalid.json",
        r#"{"files": {"ca-certificates": 3}}"#,
    );
    // (config file, the cause its error must name exactly once)
    let cases = [
        (&missing, "(os error 2)"),
        (&invalid, "expected a file path (a string), found a number"),
    ];
    let commands: [&[&str]; 2] = [
        &["serve", "--listen", "127.0.0.1:0"],
        &["connect", "127.0.0.1:1"],
    ];
    for (config, cause) in cases {
        let path = config.display().to_string();
        let mut runs = vec![(
            "check".to_owned(),
            run(&["check", "--config", s(config), "--no-files"]),
        )];
        for args in commands {
            runs.push((
                args.join(" "),
                run_env(args, &[("VESPA_TLS_CONFIG_FILE", s(config))]),
            ));
        }
        for (command, out) in runs {
            let text = format!("{}{}", stdout(&out), stderr(&out));
            if command == "check" && config == &invalid {
                // `check` reports a bad config as a finding, not as an error.
                assert_eq!(code(&out), 1, "{command}: {text}");
            } else {
                assert_eq!(code(&out), 2, "{command}: {text}");
                let line = stderr(&out)
                    .lines()
                    .find(|l| l.starts_with("vespa-tls: error: "))
                    .unwrap_or_else(|| panic!("{command}: no error line: {text}"))
                    .to_owned();
                assert!(
                    line.starts_with(&format!("vespa-tls: error: {path}: ")),
                    "{command}: the file comes first: {line}"
                );
            }
            assert_eq!(text.matches(cause).count(), 1, "{command}: {text}");
            assert_eq!(text.matches(&path).count(), 1, "{command}: {text}");
        }
    }
}

#[test]
fn check_material_made_by_ca_commands() {
    let pki = pki();
    let out = run(&[
        "check",
        "--config",
        s(&pki.config),
        "--hostname",
        "localhost",
        "--hostname",
        "127.0.0.1",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["files_checked"], true);
    assert_eq!(report["certificate"]["dns_names"][0], "localhost");
    let out = run(&[
        "check",
        "--config",
        s(&pki.config),
        "--hostname",
        "other.example.com",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("certificate is not valid for \"other.example.com\""));
    let out = run(&["check", "--config", s(&pki.config), "--warn-days", "400"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("expires in 36"), "{}", stdout(&out));
    // An encrypted key is an error naming the file.
    let key = pki.dir.path().join("ca/node1/node1.key");
    std::fs::write(
        &key,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .expect("write");
    let out = run(&["check", "--config", s(&pki.config)]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("encrypted private keys are not supported"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_judges_the_ca_bundle_as_a_handshake_would() {
    let pki = pki();
    // A bundle holding the node's own leaf (neither a CA nor self-signed) trusts nothing.
    let node = pki.dir.path().join("ca/node1");
    let leaf = std::fs::read_to_string(node.join("node1.pem")).expect("leaf");
    std::fs::write(node.join("ca-certificates.pem"), &leaf).expect("write");
    let out = run(&["check", "--config", s(&pki.config), "--json"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings");
    let with_code = |wanted: &str| {
        findings
            .iter()
            .filter(|f| f["code"] == wanted)
            .map(|f| f["message"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let unusable = with_code("ca-not-usable");
    assert_eq!(unusable.len(), 1, "{findings:?}");
    assert!(
        unusable[0].contains("CN=node1.example.com"),
        "{}",
        unusable[0]
    );
    assert!(unusable[0].contains("sha256"), "{}", unusable[0]);
    // Our own chain, judged by the same path, as a client and as a server.
    assert_eq!(with_code("chain-not-trusted").len(), 2, "{findings:?}");

    // A host name that is neither a DNS name nor an IP address is an error, not a crash.
    let out = run(&[
        "check",
        "--config",
        s(&pki.config),
        "--hostname",
        "ééé.example.com",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("is neither a DNS name nor an IP address"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_refuses_a_fifo_named_as_the_config_without_waiting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("tls.json");
    match Command::new("mkfifo").arg(&fifo).status() {
        Ok(status) if status.success() => {}
        _ => {
            println!("skipped: mkfifo not available");
            return;
        }
    }
    let check = Served::spawn(
        "vespa-tls check",
        Command::new(BIN).args(["check", "--config", s(&fifo)]),
    )
    .expect("vespa-tls runs");
    // Bounded: a reader blocked on the FIFO would never exit (the process is killed on drop).
    let status = check
        .wait_exit(Duration::from_secs(20))
        .expect("check does not block on a FIFO named as the config file");
    let (_, stderr) = check.kill_and_collect();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("expected a regular file, found a FIFO"),
        "{stderr}"
    );
}

#[test]
fn ca_commands_write_what_they_say() {
    let pki = pki();
    let ca = pki.dir.path().join("ca");
    use std::os::unix::fs::PermissionsExt as _;
    for key in [ca.join("ca.key"), ca.join("node1/node1.key")] {
        let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", key.display());
    }
    let out = run(&["ca", "init", "--dir", s(&ca)]);
    assert_eq!(
        code(&out),
        2,
        "an existing CA is not replaced without --force"
    );
    let out = run(&["ca", "config", "--dir", s(&ca), "--name", "node1"]);
    assert_eq!(code(&out), 0);
    let (options, _) = vespa_tls_config_parse(&stdout(&out));
    assert!(options.starts_with('/'), "absolute paths: {options}");
    for key_type in ["ecdsa-p384", "rsa-2048"] {
        let other = pki.dir.path().join(key_type);
        let out = run(&[
            "ca",
            "init",
            "--dir",
            s(&other),
            "--key-type",
            key_type,
            "--json",
        ]);
        assert_eq!(code(&out), 0, "{key_type}: {}", stderr(&out));
        let out = run(&[
            "ca",
            "issue",
            "--dir",
            s(&other),
            "--name",
            "n",
            "--key-type",
            key_type,
        ]);
        assert_eq!(code(&out), 0, "{key_type}: {}", stderr(&out));
    }
    let out = run(&["ca", "issue", "--dir", s(&ca), "--name", "../escape"]);
    assert_eq!(code(&out), 2);
    let out = run(&["ca", "config", "--dir", s(&ca), "--name", "nobody"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no such node"), "{}", stderr(&out));
    let out = run(&[
        "ca",
        "issue",
        "--dir",
        s(&pki.dir.path().join("no-ca")),
        "--name",
        "x",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("vespa-tls ca init"),
        "{}",
        stderr(&out)
    );
}

/// The `ca-certificates` path of a config printed by `ca config`, and the whole text.
fn vespa_tls_config_parse(text: &str) -> (String, String) {
    let value: Value = serde_json::from_str(text).expect("config is JSON");
    (
        value["files"]["ca-certificates"]
            .as_str()
            .expect("path")
            .to_owned(),
        text.to_owned(),
    )
}

#[test]
fn authz_explains_decisions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "tls.json", SEED_NAMED);
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--cn",
        "vespa-monitoring.example.com",
        "--san-dns",
        "i1.us-east-2.monitor.example.com",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("authorized by monitoring"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("vespa.content.status_pages"));
    assert!(stdout(&out).contains("policy \"cluster-p2p\" did not match"));
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--cn",
        "vespa-monitoring.example.com",
        "--san-dns",
        "i1.us-west-1.monitor.example.com",
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["decision"], "denied");
    let reasons = report["not_matched"][0]["reasons"][0]
        .as_str()
        .expect("reason");
    assert!(
        reasons.contains("*.us-east-*.monitor.example.com"),
        "{reasons}"
    );
    assert!(
        reasons.contains("i1.us-west-1.monitor.example.com"),
        "{reasons}"
    );
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--san-dns",
        "node9.mycluster.vespa.example.com",
        "--json",
    ]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        json(&out)["capabilities"].as_array().map(Vec::len),
        Some(32)
    );
    let out = run(&["authz", "--config", s(&config)]);
    assert_eq!(code(&out), 2, "no peer given");
}

#[test]
fn authz_reads_a_certificate() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "tls.json", SEED_NAMED);
    let cert = pki.dir.path().join("ca/node1/node1.pem");
    let out = run(&["authz", "--config", s(&config), "--cert", s(&cert)]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("authorized by cluster-p2p"));
    let out = run(&["authz", "--config", s(&config), "--cert", s(&config)]);
    assert_eq!(code(&out), 2, "not a certificate");
}

#[test]
fn authz_evaluates_a_peer_with_only_an_ip_san() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "tls.json", SEED_NAMED);
    let out = run(&["authz", "--config", s(&config), "--san-ip", "10.0.0.1"]);
    assert_eq!(code(&out), 1, "IP SANs never authorize: {}", stderr(&out));
    let text = stdout(&out);
    for piece in [
        "peer: []\n",
        "  IP SANs [10.0.0.1] (not used for authorization)\n",
        "denied: none of the 2 policies authorizes this peer\n",
        "policy \"monitoring\" did not match:\n  policy \"monitoring\": CN must match \
         \"vespa-monitoring.example.com\", peer presented no CN\n",
        "policy \"cluster-p2p\" did not match:\n  policy \"cluster-p2p\": SAN_DNS must match \
         \"*.mycluster.vespa.example.com\", peer presented no SAN_DNS\n",
    ] {
        assert!(text.contains(piece), "{piece:?} missing from:\n{text}");
    }
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--san-ip",
        "10.0.0.1",
        "--san-ip",
        "::1",
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["decision"], "denied");
    assert_eq!(
        report["peer"]["san_ip"],
        serde_json::json!(["10.0.0.1", "::1"])
    );
    assert_eq!(report["not_matched"].as_array().map(Vec::len), Some(2));
}

/// A CN or SAN is chosen by whoever made the certificate: the human output escapes control
/// characters so a name cannot forge output lines or drive the terminal.
#[test]
fn authz_prints_peer_names_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "tls.json", SEED_NAMED);
    let evil = "n\nr\re\x1b[31mc\u{85}";
    let shown = r"n\nr\re\x1b[31mc\u{85}";
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--cn",
        evil,
        "--san-dns",
        evil,
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    for piece in [
        format!("peer: [CN='{shown}', SAN_DNS=[{shown}]]\n"),
        format!("CN must match \"vespa-monitoring.example.com\", peer presented [{shown}]\n"),
        format!("SAN_DNS must match \"*.mycluster.vespa.example.com\", peer presented [{shown}]\n"),
    ] {
        assert!(text.contains(&piece), "{piece:?} missing from:\n{text}");
    }
    for line in text.lines() {
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
}

/// `vespa-tls serve` on an ephemeral port (testkit's [`Served`], killed on drop), and the
/// address it listens on.
pub(crate) struct Serving {
    _process: Served,
    pub(crate) address: String,
}

impl Serving {
    /// `signal` (`TERM` or `INT`), and the wait for the exit (status 0) after its last event.
    fn stop(&self, signal: &str) {
        stop_served(&self._process, signal);
    }

    /// Validates every line written so far against the serve schema; the event kinds, in order.
    fn validate_events(&self) -> Vec<String> {
        let lines = self._process.stdout_lines();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        crate::schema::validate("serve", &refs);
        lines
            .iter()
            .map(|line| {
                let event: Value = serde_json::from_str(line).expect("one JSON object per line");
                event["event"].as_str().expect("an event kind").to_owned()
            })
            .collect()
    }
}

/// Sends `serve` the signal `signal` (`TERM` or `INT`, both stop it) and waits for its exit,
/// which must be a success.
pub(crate) fn stop_served(process: &Served, signal: &str) {
    let pid = process.id().to_string();
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = process
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("serve exits on SIG{signal}: {e}"));
    assert!(status.success(), "{status}");
}

pub(crate) fn serve(env: &[(&str, &str)], protocol: &str) -> Serving {
    let mut cmd = Command::new(BIN);
    clear_tls_env(&mut cmd)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--protocol",
            protocol,
            "--handshake-timeout",
            "3",
        ])
        .envs(env.iter().copied());
    let process = Served::spawn("vespa-tls serve", &mut cmd).expect("serve starts");
    let listening = process
        .wait_listening(Duration::from_secs(20))
        .expect("serve listens");
    Serving {
        _process: process,
        address: listening.address.to_string(),
    }
}

#[test]
fn connect_and_scan_against_serve_in_each_mode() {
    let pki = pki();
    let config = s(&pki.config);
    let tls_only = serve(&[("VESPA_TLS_CONFIG_FILE", config)], "frt");
    let mixed = serve(
        &[
            ("VESPA_TLS_CONFIG_FILE", config),
            ("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_mixed_server"),
        ],
        "frt",
    );
    let plaintext = serve(&[], "frt");

    let out = run(&["connect", &tls_only.address, "--config", config, "--json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["tls"]["protocol"], "TLSv1.3");
    assert_eq!(report["tls"]["exchange"], "well-formed frt reply");
    assert_eq!(report["requires_client_certificate"]["answer"], "yes");
    assert_eq!(report["accepts_plaintext"]["answer"], "no");

    let out = run(&["connect", &mixed.address, "--config", config]);
    assert_eq!(code(&out), 1, "a mixed server accepts plaintext");
    assert!(
        stdout(&out).contains("accepts plaintext (frt): yes"),
        "{}",
        stdout(&out)
    );
    let out = run(&[
        "connect",
        &mixed.address,
        "--config",
        config,
        "--allow-plaintext",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    let out = run(&[
        "connect",
        &plaintext.address,
        "--config",
        config,
        "--timeout",
        "2",
    ]);
    assert_eq!(code(&out), 1, "no TLS at all");
    assert!(
        stdout(&out).contains("TLS with our certificate: FAILED"),
        "{}",
        stdout(&out)
    );

    let port = tls_only.address.rsplit(':').next().expect("port");
    let out = run(&["connect", &format!("tcp/{port}"), "--config", config]);
    assert_eq!(
        code(&out),
        0,
        "tcp/PORT dials and validates localhost: {}",
        stdout(&out)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let targets = write(
        dir.path(),
        "targets",
        &format!("# fleet\n{}\n\n{}\n", tls_only.address, mixed.address),
    );
    let out = run(&[
        "scan",
        "--targets",
        s(&targets),
        "--config",
        config,
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["endpoints"], 2);
    assert_eq!(report["failing"], 1);
    assert_eq!(report["results"][0]["ok"], true);
    assert_eq!(report["results"][1]["accepts_plaintext"]["answer"], "yes");
    let out = run(&["scan", &tls_only.address, "--config", config]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("1 endpoints, 1 ok, 0 failing"),
        "{}",
        stdout(&out)
    );
    let out = run(&[
        "scan",
        &tls_only.address,
        "--config",
        config,
        "--warn-days",
        "1000",
    ]);
    assert_eq!(code(&out), 1, "certificate expiring within --warn-days");

    // Every event `serve --json` wrote follows the serve schema, the last one included.
    plaintext.validate_events();
    // SIGTERM and SIGINT (Ctrl-C) both stop it, after a last `stopped` event.
    tls_only.stop("TERM");
    let kinds = tls_only.validate_events();
    for kind in ["tls", "listening", "connection", "refused", "stopped"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    mixed.stop("INT");
    let kinds = mixed.validate_events();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("stopped"),
        "{kinds:?}"
    );
}

#[test]
fn connect_against_openssl_s_server() {
    if Openssl::or_skip().is_none() {
        return;
    }
    let pki = pki();
    let node = pki.dir.path().join("ca/node1");
    let identity = Files {
        ca_certificates: node.join("ca-certificates.pem"),
        certificates: node.join("node1.pem"),
        private_key: node.join("node1.key"),
    };
    // `connect` dials more than once (with and without a certificate, in plaintext).
    let server = SServer::start(
        &identity,
        &identity.ca_certificates,
        None,
        Duration::from_secs(20),
    )
    .expect("openssl s_server listens");
    let out = run(&[
        "connect",
        &server.address.to_string(),
        "--config",
        s(&pki.config),
        "--protocol",
        "echo",
        "--json",
    ]);
    drop(server);
    let report = json(&out);
    assert_eq!(report["tls"]["ok"], true, "{report}");
    assert_eq!(
        report["requires_client_certificate"]["answer"], "yes",
        "{report}"
    );
    assert_eq!(report["accepts_plaintext"]["answer"], "no", "{report}");
    assert_eq!(code(&out), 0);
}

#[test]
fn demo_runs_end_to_end() {
    let out = run(&["demo"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("every step behaved as expected"));
    let text = stdout(&out);
    assert!(!text.contains("UNEXPECTED"), "{text}");
    let out = run(&["demo", "--json"]);
    assert_eq!(code(&out), 0);
    let report = json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["failures"], serde_json::json!([]));
    // (step, outcome): every step of the story, in order, with what it must show.
    let expected = [
        ("phase-0", "plaintext"),
        ("phase-1", "plaintext"),
        ("phase-2", "TLS"),
        ("phase-2-old-client", "plaintext"),
        ("phase-3", "TLS"),
        ("phase-3-plaintext-refused", "refused"),
        ("intruder-refused", "refused"),
        ("monitor-connects", "TLS"),
        ("monitor-write-denied", "denied"),
        ("node-write-allowed", "allowed"),
        ("rotation", "new"),
        ("scan-tls-only", "ok"),
        ("scan-mixed", "fails"),
    ];
    let steps = report["steps"].as_array().expect("steps");
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|step| {
            (
                step["name"].as_str().expect("name"),
                step["got"].as_str().expect("got"),
            )
        })
        .collect();
    assert_eq!(got, expected, "{report}");
    for step in steps {
        assert_eq!(step["expected"], step["got"], "{step}");
        assert_eq!(step["ok"], true, "{step}");
        // Each human line names the step and its outcome.
        let line = format!(
            "[ok ] {}: {}",
            step["step"].as_str().expect("step"),
            step["got"].as_str().expect("got")
        );
        assert!(text.contains(&line), "{line:?} missing from:\n{text}");
    }
    // The details that make the outcomes believable: why the intruder was refused, Vespa's
    // permission-denied message, the scan's verdict on the mixed-mode server.
    let details = |name: &str| {
        steps
            .iter()
            .find(|step| step["name"] == name)
            .map(|step| step["details"].to_string())
            .unwrap_or_default()
    };
    assert!(
        details("intruder-refused").contains("is not authorized"),
        "{report}"
    );
    assert!(
        details("monitor-write-denied").contains("Permission denied for 'put'"),
        "{report}"
    );
    assert!(
        details("scan-mixed").contains("accepts plaintext"),
        "{report}"
    );
    // Each rollout step shows what the operator types on each node, in the guide's words:
    // (step, node, how the line ends).
    let settings = [
        ("phase-0", "node-a", "VESPA_TLS_CONFIG_FILE unset (no TLS)"),
        ("phase-0", "node-b", "VESPA_TLS_CONFIG_FILE unset (no TLS)"),
        (
            "phase-1",
            "node-a",
            " VESPA_TLS_INSECURE_MIXED_MODE=plaintext_client_mixed_server",
        ),
        (
            "phase-1",
            "node-b",
            " VESPA_TLS_INSECURE_MIXED_MODE=plaintext_client_mixed_server",
        ),
        (
            "phase-2",
            "node-a",
            " VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server",
        ),
        (
            "phase-2",
            "node-b",
            " VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server",
        ),
        (
            "phase-2-old-client",
            "node-a",
            " VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server",
        ),
        (
            "phase-2-old-client",
            "node-b",
            " VESPA_TLS_INSECURE_MIXED_MODE=plaintext_client_mixed_server",
        ),
        ("phase-3", "node-a", ", VESPA_TLS_INSECURE_MIXED_MODE unset"),
        ("phase-3", "node-b", ", VESPA_TLS_INSECURE_MIXED_MODE unset"),
        (
            "phase-3-plaintext-refused",
            "node-a",
            ", VESPA_TLS_INSECURE_MIXED_MODE unset",
        ),
        (
            "phase-3-plaintext-refused",
            "node-b",
            "VESPA_TLS_CONFIG_FILE unset (no TLS)",
        ),
    ];
    for (name, node, ending) in settings {
        let step = steps
            .iter()
            .find(|step| step["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {report}"));
        let line = step["details"]
            .as_array()
            .and_then(|d| {
                d.iter()
                    .filter_map(Value::as_str)
                    .find(|l| l.starts_with(&format!("{node}: ")))
            })
            .unwrap_or_else(|| panic!("no {node} settings in {step}"));
        assert!(
            line.ends_with(ending),
            "{name}: {line:?} does not end with {ending:?}"
        );
        if ending.starts_with(' ') || ending.starts_with(',') {
            assert!(
                line.starts_with(&format!("{node}: VESPA_TLS_CONFIG_FILE=/")),
                "{line}"
            );
        }
        // The human output prints the same line under the step (its directory is another).
        let directory = report["directory"].as_str().expect("directory");
        let (before, after) = line.split_once(directory).unwrap_or((line, ""));
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("         {before}")) && l.ends_with(after)),
            "{line:?} missing from:\n{text}"
        );
    }
}

/// `authz` names every requirement a policy's peer did not meet, and `--json` carries the
/// evaluation of each requirement of each policy.
#[test]
fn authz_lists_every_unmet_requirement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "tls.json", SEED_NAMED);
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--cn",
        "intruder",
        "--san-dns",
        "intruder.example.org",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    let piece = "policy \"monitoring\" did not match:\n  \
        policy \"monitoring\": CN must match \"vespa-monitoring.example.com\", peer presented [intruder]\n  \
        policy \"monitoring\": SAN_DNS must match \"*.us-east-*.monitor.example.com\", peer presented [intruder.example.org]\n";
    assert!(text.contains(piece), "{piece:?} missing from:\n{text}");
    let out = run(&[
        "authz",
        "--config",
        s(&config),
        "--cn",
        "vespa-monitoring.example.com",
        "--san-dns",
        "i1.us-west-1.monitor.example.com",
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    let monitoring = report["policies"]
        .as_array()
        .and_then(|policies| policies.iter().find(|p| p["name"] == "monitoring"))
        .expect("the monitoring policy is evaluated");
    assert_eq!(monitoring["matched"], false);
    // (field, met)
    let met: Vec<(&str, bool)> = monitoring["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .map(|r| {
            (
                r["field"].as_str().expect("field"),
                r["met"].as_bool().expect("met"),
            )
        })
        .collect();
    assert_eq!(met, [("CN", true), ("SAN_DNS", false)], "{report}");
}
