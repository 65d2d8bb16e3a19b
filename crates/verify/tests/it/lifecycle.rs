//! The certificate lifecycle an operator runs with `vespa-tls` and with the seed guide's openssl
//! commands side by side: CSRs, signing, and the refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vespa_tls_config::Files;
use vespa_tls_testkit::{HostKey, Openssl, TestConfig, clear_tls_env};

use crate::cli::BIN;

/// The CLI tests' runner: every `--json` output is validated against its schema.
fn run(args: &[&str]) -> Output {
    crate::cli::run(args)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// What `openssl req -verify` says about a request (OpenSSL 3.0 exits 0 even when the
/// signature does not verify, so the verdict is read from its message).
fn openssl_req_verify(dir: &Path, csr: &str) -> String {
    let out = Command::new("openssl")
        .args(["req", "-verify", "-noout", "-in", csr])
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    let text = format!("{}{}", stdout(&out), stderr(&out));
    text.lines()
        .find(|l| l.contains("self-signature verify"))
        .unwrap_or_else(|| panic!("openssl req -verify said: {text}"))
        .trim()
        .to_owned()
}

#[track_caller]
fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert_eq!(code(&out), 0, "vespa-tls {args:?}: {}", stderr(&out));
    out
}

/// `vespa-tls ca init` in DIR/ca.
fn ca_init(dir: &Path) -> PathBuf {
    let ca = dir.join("ca");
    ok(&["ca", "init", "--dir", s(&ca)]);
    ca
}

#[test]
fn a_csr_from_the_guides_openssl_commands_signed_by_ca_sign_passes_openssl_verify_with_the_guides_extensions()
 {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    for key in [HostKey::EcP256, HostKey::Rsa2048] {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = ca_init(dir.path());
        let csr = openssl.appendix_a_host_csr(dir.path(), key);
        let cert = dir.path().join("host.pem");
        let out = ok(&[
            "ca",
            "sign",
            "--dir",
            s(&ca),
            "--csr",
            s(&csr),
            "--san-dns",
            "myhost.example.com",
            "--out",
            s(&cert),
            "--json",
        ]);
        let report = json(&out);
        assert_eq!(report["certificate"]["dns_names"][0], "myhost.example.com");
        assert!(report["certificate"]["days_to_expiry"].as_i64().is_some());
        assert!(
            openssl.succeeds(
                dir.path(),
                [
                    "verify",
                    "-purpose",
                    "sslserver",
                    "-CAfile",
                    "ca/ca.pem",
                    "host.pem"
                ]
            ),
            "{key:?}: openssl verify (server)"
        );
        assert!(
            openssl.succeeds(
                dir.path(),
                [
                    "verify",
                    "-purpose",
                    "sslclient",
                    "-CAfile",
                    "ca/ca.pem",
                    "host.pem"
                ]
            ),
            "{key:?}: openssl verify (client)"
        );
        let text = openssl.run(dir.path(), ["x509", "-in", "host.pem", "-noout", "-text"]);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "X509v3 Basic Constraints: critical CA:FALSE",
            "X509v3 Key Usage: critical Digital Signature, Key Encipherment, Key Agreement",
            "X509v3 Extended Key Usage: TLS Web Server Authentication, TLS Web Client Authentication",
            "X509v3 Subject Key Identifier:",
            "X509v3 Authority Key Identifier:",
            "X509v3 Subject Alternative Name: DNS:myhost.example.com",
            "Subject: C = US, L = California, OU = ACME, O = My Vespa App",
        ] {
            assert!(
                text.contains(expected),
                "{key:?}: {expected:?} not in {text}"
            );
        }
        // The certificate is for the CSR's key: the key from the guide's command matches it.
        let cert_key = openssl.run(dir.path(), ["x509", "-in", "host.pem", "-noout", "-pubkey"]);
        let host_key = openssl.run(dir.path(), ["pkey", "-in", "host.key", "-pubout"]);
        assert_eq!(cert_key, host_key, "{key:?}");
    }
}

#[test]
fn a_vespa_tls_csr_passes_openssl_req_verify_and_signed_by_the_guides_openssl_x509_passes_check() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let node = dir.path().join("node");
    let out = ok(&[
        "csr",
        "--dir",
        s(&node),
        "--name",
        "host",
        "--san-dns",
        "myhost.example.com",
        "--san-ip",
        "127.0.0.1",
        "--json",
    ]);
    let report = json(&out);
    assert_eq!(report["request"]["dns_names"][0], "myhost.example.com");
    assert_eq!(report["request"]["ip_addresses"][0], "127.0.0.1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(node.join("host.key"))
            .expect("key written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(openssl.succeeds(&node, ["req", "-verify", "-noout", "-in", "host.csr"]));
    let text = openssl.run(&node, ["req", "-in", "host.csr", "-noout", "-text"]);
    assert!(
        text.contains("DNS:myhost.example.com, IP Address:127.0.0.1"),
        "{text}"
    );

    // The guide's CA and its `openssl x509 -req -extfile` step, on our CSR.
    let ca = openssl.appendix_a_ca(dir.path());
    openssl.appendix_a_sign(dir.path(), "node/host.csr", "node/host.pem");
    let files = Files {
        ca_certificates: ca.certificate,
        certificates: node.join("host.pem"),
        private_key: node.join("host.key"),
    };
    let config = dir.path().join("tls.json");
    TestConfig::new(&files).write(&config).expect("config");
    let out = run(&[
        "check",
        "--config",
        s(&config),
        "--hostname",
        "myhost.example.com",
        "--json",
    ]);
    let report = json(&out);
    assert_eq!(code(&out), 0, "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["files_checked"], true);
}

#[test]
fn a_request_to_be_a_ca_and_a_tampered_request_are_refused_and_nothing_is_written() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    openssl.appendix_a_host_csr(dir.path(), HostKey::EcP256);
    openssl.run(
        dir.path(),
        [
            "req",
            "-new",
            "-key",
            "host.key",
            "-out",
            "ca-request.csr",
            "-subj",
            "/CN=intermediate",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    );
    // A tampered request: one byte of the signed subject changed after signing.
    openssl.run(
        dir.path(),
        [
            "req", "-in", "host.csr", "-outform", "DER", "-out", "host.der",
        ],
    );
    let mut der = std::fs::read(dir.path().join("host.der")).expect("DER CSR");
    let at = der
        .windows(10)
        .position(|w| w == b"California")
        .expect("subject in DER");
    der[at] = b'K';
    std::fs::write(dir.path().join("tampered.der"), der).expect("write");
    openssl.run(
        dir.path(),
        [
            "req",
            "-inform",
            "DER",
            "-in",
            "tampered.der",
            "-out",
            "tampered.csr",
        ],
    );
    assert_eq!(
        openssl_req_verify(dir.path(), "tampered.csr"),
        "Certificate request self-signature verify failure",
        "openssl agrees the tampered request does not verify"
    );
    // (request, what stderr must say)
    let table = [
        ("ca-request.csr", "asks for basicConstraints CA:TRUE"),
        ("tampered.csr", "signature does not verify"),
    ];
    for (request, expected) in table {
        let out_file = dir.path().join(format!("{request}.pem"));
        let out = run(&[
            "ca",
            "sign",
            "--dir",
            s(&ca),
            "--csr",
            s(&dir.path().join(request)),
            "--san-dns",
            "myhost.example.com",
            "--out",
            s(&out_file),
        ]);
        assert_eq!(code(&out), 1, "{request}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(request), "{request}: names the file: {err}");
        assert!(err.contains(expected), "{request}: {err}");
        assert!(!out_file.exists(), "{request}: nothing written");
    }
    // Not a request at all: a clear refusal, not a panic.
    let out = run(&[
        "ca",
        "sign",
        "--dir",
        s(&ca),
        "--csr",
        s(&ca.join("ca.pem")),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("expected a CERTIFICATE REQUEST block"));
}

#[test]
fn sign_copies_the_requests_names_or_replaces_them_all_and_never_overwrites_silently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    let node = dir.path().join("node");
    let csr_args = [
        "csr",
        "--dir",
        s(&node),
        "--name",
        "host",
        "--san-dns",
        "a.example.com",
        "--san-uri",
        "spiffe://example.com/a",
    ];
    ok(&csr_args);
    let key_before = std::fs::read(node.join("host.key")).expect("key");
    let again = run(&csr_args);
    assert_eq!(code(&again), 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read(node.join("host.key")).expect("key"),
        key_before
    );

    let csr = node.join("host.csr");
    let copied = json(&ok(&[
        "ca",
        "sign",
        "--dir",
        s(&ca),
        "--csr",
        s(&csr),
        "--json",
    ]));
    let cert = &copied["certificate"];
    assert_eq!(cert["subject"], "CN=host");
    assert_eq!(cert["dns_names"], serde_json::json!(["a.example.com"]));
    assert_eq!(cert["uris"], serde_json::json!(["spiffe://example.com/a"]));
    assert!(
        copied["pem"]
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
    );

    let out_file = dir.path().join("host.pem");
    let replaced = json(&ok(&[
        "ca",
        "sign",
        "--dir",
        s(&ca),
        "--csr",
        s(&csr),
        "--cn",
        "b.example.com",
        "--san-dns",
        "b.example.com",
        "--out",
        s(&out_file),
        "--json",
    ]));
    let cert = &replaced["certificate"];
    assert_eq!(cert["subject"], "CN=b.example.com");
    assert_eq!(cert["dns_names"], serde_json::json!(["b.example.com"]));
    assert_eq!(cert["uris"], serde_json::json!([]));
    let written = std::fs::read(&out_file).expect("written");
    let again = run(&[
        "ca",
        "sign",
        "--dir",
        s(&ca),
        "--csr",
        s(&csr),
        "--out",
        s(&out_file),
    ]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("already exists"));
    assert_eq!(std::fs::read(&out_file).expect("kept"), written);
}

fn certificates_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("PEM file")
        .matches("-----BEGIN CERTIFICATE-----")
        .count()
}

#[test]
fn configs_name_node_side_paths_with_install_dir_and_say_when_they_are_local() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    let out = ok(&[
        "ca",
        "issue",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--san-dns",
        "node1.example.com",
        "--install-dir",
        "/opt/vespa/conf/tls",
        "--json",
    ]);
    let config_path = json(&out)["config"].as_str().expect("config").to_owned();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).expect("config"))
            .expect("JSON");
    assert_eq!(
        config["files"],
        serde_json::json!({
            "ca-certificates": "/opt/vespa/conf/tls/ca-certificates.pem",
            "certificates": "/opt/vespa/conf/tls/node1.pem",
            "private-key": "/opt/vespa/conf/tls/node1.key",
        })
    );
    assert!(
        stderr(&out).contains("/opt/vespa/conf/tls"),
        "{}",
        stderr(&out)
    );

    let printed = ok(&[
        "ca",
        "config",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--install-dir",
        "/etc/vespa/tls",
    ]);
    let config: Value = serde_json::from_slice(&printed.stdout).expect("JSON");
    assert_eq!(config["files"]["private-key"], "/etc/vespa/tls/node1.key");

    let local = ok(&["ca", "config", "--dir", s(&ca), "--name", "node1"]);
    let config: Value = serde_json::from_slice(&local.stdout).expect("JSON");
    let key = config["files"]["private-key"].as_str().expect("path");
    assert!(
        Path::new(key).is_file(),
        "local path names the file here: {key}"
    );
    assert!(
        stderr(&local).contains("where they are on this machine")
            && stderr(&local).contains("--install-dir"),
        "{}",
        stderr(&local)
    );

    let relative = run(&[
        "ca",
        "config",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--install-dir",
        "conf/tls",
    ]);
    assert_eq!(code(&relative), 2);
    assert!(stderr(&relative).contains("expected an absolute path"));
}

#[test]
fn reissuing_needs_force_and_never_drops_a_ca_from_the_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    let issue = |force: bool| {
        let mut args = vec![
            "ca",
            "issue",
            "--dir",
            s(&ca),
            "--name",
            "node1",
            "--san-dns",
            "node1.example.com",
        ];
        if force {
            args.push("--force");
        }
        run(&args)
    };
    assert_eq!(code(&issue(false)), 0);
    let node = ca.join("node1");
    let before: Vec<Vec<u8>> = ["node1.pem", "node1.key", "ca-certificates.pem"]
        .iter()
        .map(|f| std::fs::read(node.join(f)).expect("issued"))
        .collect();
    let again = issue(false);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let after: Vec<Vec<u8>> = ["node1.pem", "node1.key", "ca-certificates.pem"]
        .iter()
        .map(|f| std::fs::read(node.join(f)).expect("kept"))
        .collect();
    assert_eq!(before, after, "a refused re-issue changes nothing");

    // A new CA in the same directory: the node's bundle keeps the old CA and gains the new one.
    let old_ca = dir.path().join("old-ca.pem");
    std::fs::copy(ca.join("ca.pem"), &old_ca).expect("copy");
    ok(&["ca", "init", "--dir", s(&ca), "--force"]);
    let out = issue(true);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("keeps the 1 CA certificate"),
        "{}",
        stderr(&out)
    );
    let bundle = node.join("ca-certificates.pem");
    assert_eq!(certificates_in(&bundle), 2);
    let text = std::fs::read_to_string(&bundle).expect("bundle");
    assert!(text.starts_with(&std::fs::read_to_string(&old_ca).expect("old CA")));
    assert!(text.ends_with(&std::fs::read_to_string(ca.join("ca.pem")).expect("new CA")));
    // Issuing again under the same CA adds nothing.
    assert_eq!(code(&issue(true)), 0);
    assert_eq!(certificates_in(&bundle), 2);
}

#[test]
fn ca_bundle_builds_an_overlap_that_openssl_trusts_for_both_cas() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for (ca, cn) in [(&old, "old CA"), (&new, "new CA")] {
        ok(&["ca", "init", "--dir", s(ca), "--cn", cn]);
        ok(&[
            "ca",
            "issue",
            "--dir",
            s(ca),
            "--name",
            "node1",
            "--san-dns",
            "node1.example.com",
        ]);
    }
    let overlap = dir.path().join("overlap.pem");
    let out = ok(&[
        "ca",
        "bundle",
        "--out",
        s(&overlap),
        s(&old.join("ca.pem")),
        s(&new.join("ca.pem")),
        s(&old.join("ca.pem")),
        "--json",
    ]);
    let report = json(&out);
    let subjects: Vec<&str> = report["certificates"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["subject"].as_str().expect("subject"))
        .collect();
    assert_eq!(subjects, ["CN=old CA", "CN=new CA"]);
    assert!(
        report["certificates"][0]["days_to_expiry"]
            .as_i64()
            .is_some()
    );
    if let Some(openssl) = Openssl::or_skip() {
        for ca in [&old, &new] {
            let leaf = ca.join("node1/node1.pem");
            assert!(
                openssl.succeeds(dir.path(), ["verify", "-CAfile", s(&overlap), s(&leaf)]),
                "{}",
                leaf.display()
            );
        }
    }
    let leaf = run(&[
        "ca",
        "bundle",
        "--out",
        s(&dir.path().join("bad.pem")),
        s(&old.join("node1/node1.pem")),
    ]);
    assert_eq!(code(&leaf), 2);
    assert!(
        stderr(&leaf).contains("expected a CA certificate"),
        "{}",
        stderr(&leaf)
    );
    assert!(!dir.path().join("bad.pem").exists());
    let exists = run(&["ca", "bundle", "--out", s(&overlap), s(&new.join("ca.pem"))]);
    assert_eq!(code(&exists), 2);
    assert_eq!(certificates_in(&overlap), 2);
}

#[test]
fn inspect_shows_every_certificate_of_a_file_and_of_a_servers_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    ok(&[
        "ca",
        "issue",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--san-dns",
        "node1.example.com",
        "--san-ip",
        "127.0.0.1",
    ]);
    let node = ca.join("node1");
    let leaf = node.join("node1.pem");
    let report = json(&ok(&["inspect", s(&leaf), "--json"]));
    let cert = &report["certificates"][0];
    assert_eq!(cert["subject"], "CN=node1");
    assert_eq!(cert["key_type"], "EC P-256");
    assert_eq!(
        cert["extended_key_usages"],
        serde_json::json!(["serverAuth", "clientAuth"])
    );
    assert_eq!(cert["is_ca"], false);
    assert_eq!(
        cert["key_usages"],
        serde_json::json!(["digitalSignature", "keyEncipherment", "keyAgreement"])
    );
    assert_eq!(cert["vespa_credentials"]["cn"], "node1");
    assert_eq!(
        cert["vespa_credentials"]["san_dns"],
        serde_json::json!(["node1.example.com"])
    );
    assert!(cert["days_to_expiry"].as_i64().is_some_and(|d| d >= 363));
    let bundle = json(&ok(&[
        "inspect",
        s(&node.join("ca-certificates.pem")),
        "--json",
    ]));
    assert_eq!(bundle["certificates"][0]["is_ca"], true);
    assert_eq!(
        bundle["certificates"][0]["key_usages"],
        serde_json::json!(["digitalSignature", "keyCertSign", "cRLSign"])
    );

    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let fingerprint = openssl.run(
        &node,
        [
            "x509",
            "-in",
            "node1.pem",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let fingerprint = fingerprint.trim().rsplit('=').next().expect("fingerprint");
    assert_eq!(cert["sha256_fingerprint"], fingerprint);
    let identity = Files {
        ca_certificates: node.join("ca-certificates.pem"),
        certificates: leaf.clone(),
        private_key: node.join("node1.key"),
    };
    let config = dir.path().join("tls.json");
    TestConfig::new(&identity).write(&config).expect("config");
    let server = vespa_tls_testkit::SServer::start(
        &identity,
        &identity.ca_certificates,
        None,
        std::time::Duration::from_secs(20),
    )
    .expect("openssl s_server listens");
    let out = run(&[
        "inspect",
        &server.address.to_string(),
        "--config",
        s(&config),
        "--json",
    ]);
    drop(server);
    let served = json(&out);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(served["certificates"][0]["sha256_fingerprint"], fingerprint);
    let nothing = run(&["inspect", s(&dir.path().join("missing.pem"))]);
    assert_eq!(code(&nothing), 2);
    assert!(
        stderr(&nothing).contains("neither a file nor HOST:PORT"),
        "{}",
        stderr(&nothing)
    );
}

#[test]
fn needs_renewal_answers_by_days_or_by_share_of_the_validity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    ok(&[
        "ca",
        "issue",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--days",
        "100",
    ]);
    let leaf = ca.join("node1/node1.pem");
    let config = dir.path().join("tls.json");
    ok(&[
        "ca",
        "config",
        "--dir",
        s(&ca),
        "--name",
        "node1",
        "--out",
        s(&config),
    ]);
    let pki = vespa_tls_testkit::TestPki::new().expect("test PKI");
    let now = time::OffsetDateTime::now_utc();
    let expired = pki
        .issuer()
        .issue(
            &pki.localhost_params("old")
                .with_validity(vespa_tls_pki::Validity::new(
                    now - time::Duration::days(30),
                    now - time::Duration::days(1),
                )),
        )
        .expect("issue");
    let expired_pem = dir.path().join("expired.pem");
    std::fs::write(&expired_pem, &expired.cert_pem).expect("write");
    let (missing, ca_key) = (dir.path().join("missing.pem"), ca.join("ca.key"));
    // (arguments, exit status: 0 renew now, 1 not yet, 2 could not run)
    let table: Vec<(Vec<&str>, i32)> = vec![
        (vec![s(&leaf)], 1),
        (vec![s(&leaf), "--expires-in", "100d"], 0),
        (vec![s(&leaf), "--expires-in", "99d"], 1),
        (vec![s(&leaf), "--expires-in", "0.01%"], 0),
        (vec![s(&leaf), "--expires-in", "66%"], 1),
        (vec!["--config", s(&config), "--expires-in", "200d"], 0),
        (vec!["--config", s(&config)], 1),
        (vec![s(&expired_pem)], 0),
        (vec![s(&expired_pem), "--expires-in", "0d"], 0),
        (vec![s(&leaf), "--expires-in", "30x"], 2),
        (vec![s(&leaf), "--expires-in", "101%"], 2),
        (vec![s(&missing)], 2),
        (vec![s(&ca_key)], 2),
    ];
    for (extra, expected) in table {
        let mut args = vec!["needs-renewal"];
        args.extend(&extra);
        let out = run(&args);
        assert_eq!(
            code(&out),
            expected,
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let report = json(&run(&["needs-renewal", s(&expired_pem), "--json"]));
    assert_eq!(report["renew"], true);
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("expired"))
    );
    assert!(
        report["certificate"]["days_to_expiry"]
            .as_i64()
            .is_some_and(|d| d < 0)
    );
}

/// Copies a bundle's files to the paths its config names (the operator's `scp` to the node).
fn install_bundle(bundle: &Path, host: &str) -> PathBuf {
    let config_in_bundle = bundle.join(format!("{host}-tls.json"));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_in_bundle).expect("config"))
            .expect("JSON");
    let key = PathBuf::from(config["files"]["private-key"].as_str().expect("path"));
    let install = key.parent().expect("install dir").to_owned();
    std::fs::create_dir_all(&install).expect("install dir");
    for name in [
        "ca-certificates.pem".to_owned(),
        format!("{host}.pem"),
        format!("{host}.key"),
        format!("{host}-tls.json"),
    ] {
        std::fs::copy(bundle.join(&name), install.join(&name)).expect("copy");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            install.join(format!("{host}.key")),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("key mode");
    }
    install.join(format!("{host}-tls.json"))
}

#[test]
fn issue_cluster_on_a_five_host_hosts_xml_yields_bundles_that_check_and_talk_to_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_init(dir.path());
    let hosts: Vec<String> = (1..=5)
        .map(|i| format!("node{i}.vespa.example.com"))
        .collect();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<hosts>\n");
    for (i, host) in hosts.iter().enumerate() {
        xml.push_str(&format!(
            "  <!-- host {i} -->\n  <host name=\"{host}\">\n    <alias>node{i}</alias>\n  </host>\n"
        ));
    }
    xml.push_str("</hosts>\n");
    let hosts_xml = dir.path().join("hosts.xml");
    std::fs::write(&hosts_xml, xml).expect("hosts.xml");
    let root = dir.path().join("root");
    let install_dir = format!("{}/{{host}}/opt/vespa/conf/tls", s(&root));
    let out_dir = dir.path().join("bundles");
    let report = json(&ok(&[
        "ca",
        "issue-cluster",
        "--dir",
        s(&ca),
        "--hosts",
        s(&hosts_xml),
        "--install-dir",
        &install_dir,
        "--out",
        s(&out_dir),
        "--san-ip",
        "127.0.0.1",
        "--json",
    ]));
    assert_eq!(report["hosts"].as_array().expect("hosts").len(), 5);
    assert_eq!(report["hosts"][0]["aliases"], serde_json::json!(["node0"]));
    let mut configs = Vec::new();
    for host in &hosts {
        let bundle = out_dir.join(host);
        let phase3 = std::fs::read_to_string(bundle.join("default-env-phase-3.txt")).expect("env");
        let config = install_bundle(&bundle, host);
        assert!(
            phase3.contains(&format!("override VESPA_TLS_CONFIG_FILE {}\n", s(&config))),
            "{phase3}"
        );
        assert!(phase3.contains("unset VESPA_TLS_INSECURE_MIXED_MODE"));
        let phase1 = std::fs::read_to_string(bundle.join("default-env-phase-1.txt")).expect("env");
        assert!(
            phase1.contains("override VESPA_TLS_INSECURE_MIXED_MODE plaintext_client_mixed_server")
        );
        let out = run(&[
            "check",
            "--config",
            s(&config),
            "--hostname",
            host,
            "--json",
        ]);
        let checked = json(&out);
        assert_eq!(code(&out), 0, "{host}: {checked:#}");
        assert_eq!(checked["files_checked"], true);
        configs.push(config);
    }
    // The bundle's config names node paths, and every host of the cluster is admitted.
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&configs[0]).expect("config")).expect("JSON");
    assert_eq!(
        config["authorized-peers"]
            .as_array()
            .expect("policies")
            .len(),
        5
    );

    // node1 serves with its installed config; every other host connects with its own.
    let mut cmd = Command::new(BIN);
    clear_tls_env(&mut cmd)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--handshake-timeout",
            "5",
        ])
        .env("VESPA_TLS_CONFIG_FILE", &configs[0]);
    let server = vespa_tls_testkit::Served::spawn("vespa-tls serve", &mut cmd).expect("serve");
    let address = server
        .wait_listening(std::time::Duration::from_secs(20))
        .expect("serve listens")
        .address
        .to_string();
    for (host, config) in hosts.iter().zip(&configs).skip(1) {
        let out = run(&[
            "connect",
            &address,
            "--config",
            s(config),
            "--protocol",
            "echo",
            "--json",
        ]);
        let result = json(&out);
        assert_eq!(code(&out), 0, "{host}: {result:#}");
        assert_eq!(result["tls"]["ok"], true, "{host}");
    }
    // A certificate from the same CA for a host outside the cluster is refused by node1.
    ok(&[
        "ca",
        "issue",
        "--dir",
        s(&ca),
        "--name",
        "outsider",
        "--san-dns",
        "outsider.example.com",
        "--san-ip",
        "127.0.0.1",
    ]);
    let out = run(&[
        "connect",
        &address,
        "--config",
        s(&ca.join("outsider/outsider-tls.json")),
        "--protocol",
        "echo",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert_eq!(json(&out)["tls"]["ok"], false);
    drop(server);

    // Issuing again into the same --out needs --force.
    let again = run(&[
        "ca",
        "issue-cluster",
        "--dir",
        s(&ca),
        "--hosts",
        s(&hosts_xml),
        "--install-dir",
        &install_dir,
        "--out",
        s(&out_dir),
    ]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
}
