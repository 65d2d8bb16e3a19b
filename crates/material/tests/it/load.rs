//! CryptoMaterial through its public API, on material made by vespa-tls-testkit.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rustls_pki_types::PrivateKeyDer;
use time::Duration;
use vespa_tls_config::{Files, Location, Severity};
use vespa_tls_material::{CryptoMaterial, KeyKind, MaterialError, PublicKeyType, codes};
use vespa_tls_pki::{KeyType, write_node_files};
use vespa_tls_testkit::{Fixture, Openssl, TestPki};

fn load_fixture(pki: &TestPki, fixture: Fixture) -> (Files, Result<CryptoMaterial, MaterialError>) {
    let f = pki.fixture(fixture).expect("fixture is written");
    let result = CryptoMaterial::load(&f.files);
    (f.files, result)
}

fn error_of(pki: &TestPki, fixture: Fixture) -> (Files, MaterialError) {
    let (files, result) = load_fixture(pki, fixture);
    match result {
        Ok(_) => panic!("{fixture:?} loaded"),
        Err(e) => (files, e),
    }
}

#[track_caller]
fn starts_with_path(e: &MaterialError, path: &Path) {
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}: ", path.display())),
        "message does not start with {}: {text}",
        path.display()
    );
}

fn codes_of(report: &vespa_tls_material::MaterialReport) -> Vec<&'static str> {
    report.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn good_material_loads_for_every_key_type_with_and_without_an_intermediate() {
    for key_type in KeyType::ALL {
        for intermediate in [false, true] {
            let pki = TestPki::builder()
                .key_type(key_type)
                .intermediate(intermediate)
                .build()
                .unwrap();
            let files = pki.server().files();
            let material = CryptoMaterial::load(files).unwrap();
            let expected_kind = match key_type {
                KeyType::EcdsaP256 => KeyKind::EcdsaP256,
                KeyType::EcdsaP384 => KeyKind::EcdsaP384,
                KeyType::Rsa2048 => KeyKind::Rsa,
                other => panic!("no key kind expected for {other:?}"),
            };
            assert_eq!(material.key_kind(), expected_kind);
            assert_eq!(material.files(), files);
            assert_eq!(material.ca_certificates().len(), 1);
            assert_eq!(material.chain().len(), if intermediate { 2 } else { 1 });
            assert_eq!(material.leaf(), &pki.server().issued.cert_der);
            assert!(matches!(material.private_key(), PrivateKeyDer::Pkcs8(_)));

            let report = material.report(pki.now());
            assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
            assert_eq!(report.key_file_mode, Some(0o600));
            let leaf = &report.chain[0];
            assert_eq!(leaf.common_names, ["server.localhost"]);
            assert_eq!(leaf.dns_names, ["localhost"]);
            assert_eq!(leaf.ip_addresses, [std::net::IpAddr::from([127, 0, 0, 1])]);
            assert!(
                leaf.subject.contains("CN=server.localhost"),
                "{}",
                leaf.subject
            );
            assert!(!leaf.is_ca);
            assert!(report.ca_certificates[0].is_ca);
            assert!(leaf.allows_server_and_client());
            match (key_type, &leaf.public_key) {
                (KeyType::Rsa2048, PublicKeyType::Rsa { bits }) => assert_eq!(*bits, 2048),
                (KeyType::EcdsaP256, PublicKeyType::EcdsaP256)
                | (KeyType::EcdsaP384, PublicKeyType::EcdsaP384) => {}
                (k, p) => panic!("{k:?} reported as {p:?}"),
            }
            assert_eq!(report.leaf_days_to_expiry, 365);
        }
    }
}

#[test]
fn report_facts_match_independent_computations() {
    let pki = TestPki::new().unwrap();
    let material = CryptoMaterial::load(pki.server().files()).unwrap();
    let report = material.report(pki.now());
    let leaf = &report.chain[0];
    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, material.leaf());
    let hex: Vec<String> = expected
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(leaf.sha256_fingerprint, hex.join(":"));
    assert_eq!(leaf.serial.len(), 16 * 3 - 1);
    assert_eq!(leaf.issuer, report.ca_certificates[0].subject);
    assert_eq!(
        leaf.not_after - leaf.not_before,
        Duration::days(365) + Duration::hours(1)
    );
    assert_eq!(leaf.extended_key_usages.as_ref().unwrap().len(), 2);

    // The same fingerprint and serial as openssl shows them.
    if let Some(openssl) = Openssl::or_skip() {
        let certificates = &pki.server().files().certificates;
        let text = openssl.run(
            pki.dir(),
            [
                "x509",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-serial",
                "-in",
            ]
            .map(OsStr::new)
            .into_iter()
            .chain([certificates.as_os_str()]),
        );
        assert!(text.contains(&leaf.sha256_fingerprint), "{text}");
        assert!(text.contains(&leaf.serial.replace(':', "")), "{text}");
    }
}

#[test]
fn the_clock_is_passed_in() {
    let pki = TestPki::new().unwrap();
    let material = CryptoMaterial::load(pki.server().files()).unwrap();
    let soon = material.report(pki.now() + Duration::days(340));
    assert_eq!(codes_of(&soon), [codes::CERTIFICATE_EXPIRES_SOON; 2]);
    assert_eq!(soon.leaf_days_to_expiry, 25);
    let later = material.report(pki.now() + Duration::days(366));
    assert_eq!(codes_of(&later), [codes::CERTIFICATE_EXPIRED; 2]);
    assert!(later.diagnostics.has_errors());
    assert!(later.leaf_days_to_expiry < 0);
    let before = material.report(pki.now() - Duration::days(1));
    assert_eq!(codes_of(&before), [codes::CERTIFICATE_NOT_YET_VALID; 2]);
}

#[test]
fn expired_and_not_yet_valid_leaves_load_and_are_reported() {
    let pki = TestPki::new().unwrap();
    for (fixture, code) in [
        (Fixture::Expired, codes::CERTIFICATE_EXPIRED),
        (Fixture::NotYetValid, codes::CERTIFICATE_NOT_YET_VALID),
    ] {
        let (files, material) = load_fixture(&pki, fixture);
        let report = material.unwrap().report(pki.now());
        let finding = report.diagnostics.with_code(code).next().unwrap();
        assert_eq!(finding.severity, Severity::Error);
        assert_eq!(
            finding.location,
            Some(Location::Path(files.certificates.clone()))
        );
        assert!(
            finding.message.starts_with("certificate 1 (CN="),
            "{}",
            finding.message
        );
        assert_eq!(report.diagnostics.len(), 1, "{:?}", report.diagnostics);
    }
}

#[test]
fn eku_problems_are_warnings_not_errors() {
    let pki = TestPki::new().unwrap();
    // Whether the leaf chains to the bundle is the verification path's finding
    // (vespa-tls-context), not the loader's.
    let (_, material) = load_fixture(&pki, Fixture::SignedByAnotherCa);
    let report = material.unwrap().report(pki.now());
    assert_eq!(
        report
            .diagnostics
            .with_code(codes::CHAIN_NOT_TRUSTED)
            .count(),
        0
    );
    assert!(!report.diagnostics.has_errors());

    let (_, material) = load_fixture(&pki, Fixture::ServerAuthOnly);
    let report = material.unwrap().report(pki.now());
    let finding = report
        .diagnostics
        .with_code(codes::MISSING_EXTENDED_KEY_USAGE)
        .next()
        .unwrap();
    assert_eq!(finding.severity, Severity::Warning);
    assert!(
        finding.message.ends_with("found serverAuth"),
        "{}",
        finding.message
    );
}

#[test]
fn pkcs1_and_sec1_keys_load() {
    let pki = TestPki::new().unwrap();
    let (_, material) = load_fixture(&pki, Fixture::Pkcs1Key);
    let material = material.unwrap();
    assert_eq!(material.key_kind(), KeyKind::Rsa);
    assert!(matches!(material.private_key(), PrivateKeyDer::Pkcs1(_)));
    for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384] {
        let pki = TestPki::builder().key_type(key_type).build().unwrap();
        let (_, material) = load_fixture(&pki, Fixture::Sec1Key);
        let material = material.unwrap();
        assert!(matches!(material.private_key(), PrivateKeyDer::Sec1(_)));
        assert_eq!(
            material.key_kind(),
            if key_type == KeyType::EcdsaP256 {
                KeyKind::EcdsaP256
            } else {
                KeyKind::EcdsaP384
            }
        );
    }
}

#[test]
fn encrypted_keys_are_refused_by_name() {
    let pki = TestPki::new().unwrap();
    for fixture in [Fixture::EncryptedPkcs8Key, Fixture::EncryptedLegacyKey] {
        let (files, e) = error_of(&pki, fixture);
        assert!(matches!(e, MaterialError::EncryptedKey { .. }), "{e:?}");
        starts_with_path(&e, &files.private_key);
        assert!(
            e.to_string()
                .contains("encrypted private keys are not supported"),
            "{e}"
        );
        assert_eq!(e.code(), codes::ENCRYPTED_PRIVATE_KEY);
    }
}

#[test]
fn an_ed25519_key_is_refused_with_the_reason() {
    let pki = TestPki::new().unwrap();
    let (files, e) = error_of(&pki, Fixture::Ed25519Key);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected an RSA or EC (P-256, P-384) private key, found an Ed25519 key: \
             Vespa's Java processes cannot load Ed25519 keys",
            files.private_key.display()
        )
    );
}

#[test]
fn a_leaf_that_is_not_first_is_named() {
    let pki = TestPki::new().unwrap();
    let (files, e) = error_of(&pki, Fixture::LeafNotFirst);
    assert!(
        matches!(e, MaterialError::LeafNotFirst { matching: 2, .. }),
        "{e:?}"
    );
    starts_with_path(&e, &files.certificates);
    let text = e.to_string();
    assert!(text.contains("the leaf must be first"), "{text}");
    assert!(
        text.contains("matches certificate 2 (CN=leaf-not-first"),
        "{text}"
    );
}

#[test]
fn a_key_that_matches_nothing_is_refused() {
    let pki = TestPki::new().unwrap();
    let (files, e) = error_of(&pki, Fixture::KeyDoesNotMatch);
    assert!(matches!(e, MaterialError::KeyMismatch { .. }), "{e:?}");
    starts_with_path(&e, &files.private_key);
    assert!(
        e.to_string()
            .contains(&files.certificates.display().to_string())
    );
    assert_eq!(e.path(), files.private_key);
}

#[test]
fn empty_and_non_pem_files_say_what_was_expected() {
    let pki = TestPki::new().unwrap();
    let cases = [
        (
            Fixture::EmptyCaFile,
            "expected at least one CERTIFICATE block, found an empty file",
        ),
        (
            Fixture::EmptyCertificateFile,
            "expected at least one CERTIFICATE block, found an empty file",
        ),
        (
            Fixture::EmptyKeyFile,
            "expected one PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block, found an empty file",
        ),
        (
            Fixture::NotPemCaFile,
            "expected at least one CERTIFICATE block, found text with no PEM block (no -----BEGIN line)",
        ),
    ];
    for (fixture, message) in cases {
        let (_, e) = error_of(&pki, fixture);
        let text = e.to_string();
        assert!(
            text == format!("{}: {message}", e.path().display()),
            "{fixture:?}: {text}"
        );
    }
    let (files, e) = error_of(&pki, Fixture::EmptyCaFile);
    assert_eq!(e.path(), files.ca_certificates);
}

#[test]
fn blocks_in_the_wrong_file_are_named() {
    let pki = TestPki::new().unwrap();
    let (files, e) = error_of(&pki, Fixture::KeyInCaFile);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected only CERTIFICATE blocks, found a PRIVATE KEY block (block 2)",
            files.ca_certificates.display()
        )
    );
    let (files, e) = error_of(&pki, Fixture::KeyInCertificateFile);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected only CERTIFICATE blocks, found a PRIVATE KEY block (block 2)",
            files.certificates.display()
        )
    );
    let (files, e) = error_of(&pki, Fixture::CertificateInKeyFile);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected only the private key block, found a CERTIFICATE block (block 2)",
            files.private_key.display()
        )
    );
}

#[test]
fn a_certificate_file_holding_only_a_key_says_so() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = pki.server().files().clone();
    files.certificates = dir.path().join("host.pem");
    std::fs::copy(&pki.server().files().private_key, &files.certificates).unwrap();
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected at least one CERTIFICATE block, found a PRIVATE KEY block",
            files.certificates.display()
        )
    );
}

#[test]
fn two_keys_and_binary_files_are_refused() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = pki.server().files().clone();
    files.private_key = dir.path().join("two.key");
    let one = pki.server().issued.key_pem.expose();
    let two = pki.client().issued.key_pem.expose();
    std::fs::write(&files.private_key, format!("{one}{two}")).unwrap();
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(
        matches!(e, MaterialError::MultipleKeys { count: 2, .. }),
        "{e:?}"
    );

    let mut files = pki.server().files().clone();
    files.ca_certificates = dir.path().join("ca.der");
    std::fs::write(&files.ca_certificates, pki.ca().root_der().as_ref()).unwrap();
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(e.to_string().contains("found binary data (DER?)"), "{e}");
}

#[test]
fn no_error_or_debug_output_contains_key_material() {
    let pki = TestPki::new().unwrap();
    let mut key_lines: Vec<String> = Vec::new();
    for fixture in Fixture::ALL {
        let f = pki.fixture(fixture).unwrap();
        let text = std::fs::read_to_string(&f.files.private_key).unwrap();
        key_lines.extend(
            text.lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16 && !l.contains(':'))
                .map(str::to_owned),
        );
        let shown = match CryptoMaterial::load(&f.files) {
            Ok(m) => format!("{m:?} {:?}", m.report(pki.now())),
            Err(e) => format!("{e} {e:?} {}", e.to_diagnostic()),
        };
        for line in &key_lines {
            assert!(
                !shown.contains(line.as_str()),
                "{fixture:?} shows key material: {shown}"
            );
        }
    }
    let material = CryptoMaterial::load(pki.server().files()).unwrap();
    assert!(format!("{material:?}").contains("[secret elided]"));
}

#[test]
fn errors_become_diagnostics_for_check() {
    let pki = TestPki::new().unwrap();
    let (files, e) = error_of(&pki, Fixture::Ed25519Key);
    let d = e.to_diagnostic();
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.code, codes::ED25519_PRIVATE_KEY);
    assert_eq!(d.location, Some(Location::Path(files.private_key.clone())));
    assert!(
        d.message.starts_with("expected an RSA or EC"),
        "{}",
        d.message
    );
    assert_eq!(d.to_string(), format!("error: {e}"));
}

#[test]
fn files_that_change_between_loads_give_a_new_snapshot() {
    let pki = TestPki::new().unwrap();
    let files = pki.server().files().clone();
    let first = CryptoMaterial::load(&files).unwrap();
    let again = CryptoMaterial::load(&files).unwrap();
    assert!(first.same_content(&again));

    // Replace the node's certificate and key in place (same paths), as a renewal does.
    let renewed = pki
        .issuer()
        .issue(&pki.localhost_params("server.localhost"))
        .unwrap();
    let dir = files.private_key.parent().unwrap();
    write_node_files(dir, "server", &renewed, &pki.ca().ca_bundle_pem()).unwrap();
    let second = CryptoMaterial::load(&files).unwrap();
    assert!(!first.same_content(&second));
    assert_eq!(
        first.digests().ca_certificates,
        second.digests().ca_certificates
    );
    assert_ne!(first.digests().private_key, second.digests().private_key);
    assert_eq!(second.leaf(), &renewed.cert_der);
    assert_ne!(first.leaf(), second.leaf());

    // A half-done renewal (new certificate, old key) is refused, not mixed.
    std::fs::write(&files.private_key, pki.server().issued.key_pem.expose()).unwrap();
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(matches!(e, MaterialError::KeyMismatch { .. }), "{e:?}");
}

#[cfg(unix)]
#[test]
fn symlinked_files_and_kubernetes_style_data_dirs_load() {
    use std::os::unix::fs::symlink;
    let pki = TestPki::new().unwrap();
    let src = pki.server().files();
    let dir = tempfile::tempdir().unwrap();
    // Kubernetes secret volume: files -> ..data/file, ..data -> ..2026_11_27/
    let version = dir.path().join("..2026_11_27");
    std::fs::create_dir(&version).unwrap();
    for (name, path) in [
        ("ca.pem", &src.ca_certificates),
        ("host.pem", &src.certificates),
        ("host.key", &src.private_key),
    ] {
        std::fs::copy(path, version.join(name)).unwrap();
    }
    symlink(&version, dir.path().join("..data")).unwrap();
    for name in ["ca.pem", "host.pem", "host.key"] {
        symlink(PathBuf::from("..data").join(name), dir.path().join(name)).unwrap();
    }
    let files = Files {
        ca_certificates: dir.path().join("ca.pem"),
        certificates: dir.path().join("host.pem"),
        private_key: dir.path().join("host.key"),
    };
    let material = CryptoMaterial::load(&files).unwrap();
    assert_eq!(material.files(), &files);
    assert_eq!(material.leaf(), &pki.server().issued.cert_der);

    // A dangling link is an unreadable file, named by the path as given.
    std::fs::remove_file(version.join("host.key")).unwrap();
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(matches!(e, MaterialError::Read { .. }), "{e:?}");
    starts_with_path(&e, &files.private_key);
}

#[test]
fn unreadable_files_are_read_errors_naming_the_path() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // (A directory where a file should be is refused by type: see tests/files.rs.)
    let mut files = pki.server().files().clone();
    files.ca_certificates = dir.path().join("missing.pem");
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(matches!(e, MaterialError::Read { .. }), "{e:?}");
    starts_with_path(&e, &files.ca_certificates);
    assert_eq!(e.code(), codes::UNREADABLE_FILE);
    assert!(e.to_string().starts_with(&format!(
        "{}: cannot read: ",
        files.ca_certificates.display()
    )));
}

#[cfg(unix)]
#[test]
fn a_file_without_read_permission_is_unreadable_unless_we_are_root() {
    use std::os::unix::fs::PermissionsExt as _;
    let pki = TestPki::new().unwrap();
    let files = pki.server().files().clone();
    std::fs::set_permissions(&files.private_key, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root (and CAP_DAC_OVERRIDE) reads a mode-000 file anyway; find out rather than guess.
    if std::fs::read(&files.private_key).is_ok() {
        println!(
            "skipped: running with privileges that ignore file modes (root), so chmod 000 does not \
             make {} unreadable; the missing-file case above covers unreadable files",
            files.private_key.display()
        );
        return;
    }
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(matches!(e, MaterialError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("ermission denied"), "{e}");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let pki = TestPki::new().unwrap();
    let files = pki.server().files().clone();
    std::fs::set_permissions(&files.private_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    assert_eq!(report.key_file_mode, Some(0o644));
    let finding = report
        .diagnostics
        .with_code(codes::PRIVATE_KEY_PERMISSIONS)
        .next()
        .unwrap();
    assert_eq!(finding.severity, Severity::Warning);
    assert_eq!(
        finding.location,
        Some(Location::Path(files.private_key.clone()))
    );
    assert!(finding.message.contains("0644"), "{}", finding.message);
    std::fs::set_permissions(&files.private_key, std::fs::Permissions::from_mode(0o400)).unwrap();
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
}

#[test]
fn from_pem_checks_bytes_without_files() {
    let pki = TestPki::new().unwrap();
    let files = pki.server().files();
    let read = |p: &Path| std::fs::read(p).unwrap();
    let m = CryptoMaterial::from_pem(
        files,
        &read(&files.ca_certificates),
        &read(&files.certificates),
        &read(&files.private_key),
    )
    .unwrap();
    assert_eq!(m.key_file_mode(), None);
    assert_eq!(m.report(pki.now() + Duration::days(1)).diagnostics.len(), 0);
}

/// A subject is chosen by whoever made the certificate; every message that names one escapes
/// its control characters, so a CN cannot forge a log line or drive the operator's terminal.
#[test]
fn subjects_are_printed_escaped() {
    use vespa_tls_pki::{
        CaParams, CertificateAuthority, NodeParams, Validity, write_public_file, write_secret_file,
    };
    let now = time::OffsetDateTime::now_utc();
    let root = CertificateAuthority::new_root(&CaParams::new(
        "escape test root",
        Validity::days_from(now - Duration::days(30), 3650),
    ))
    .unwrap();
    let expired = Validity::new(now - Duration::days(20), now - Duration::days(10));
    let evil = root
        .issue(&NodeParams::new("n\nr\re\x1b[31mc\u{85}", expired))
        .unwrap();
    let other = root
        .issue(&NodeParams::new(
            "other",
            Validity::days_from(now - Duration::days(1), 30),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files {
        ca_certificates: dir.path().join("ca.pem"),
        certificates: dir.path().join("host.pem"),
        private_key: dir.path().join("host.key"),
    };
    write_public_file(&files.ca_certificates, root.ca_bundle_pem().as_bytes()).unwrap();
    let write = |certificates: String, key: &vespa_tls_pki::SecretPem| {
        write_public_file(&files.certificates, certificates.as_bytes()).unwrap();
        write_secret_file(&files.private_key, key.expose().as_bytes()).unwrap();
        CryptoMaterial::load(&files)
    };

    let expired_report = write(evil.cert_pem.clone(), &evil.key_pem)
        .unwrap()
        .report(now);
    let expired_message = expired_report
        .diagnostics
        .with_code(codes::CERTIFICATE_EXPIRED)
        .next()
        .expect("the expired leaf is reported")
        .message
        .clone();
    let not_first = write(
        format!("{}{}", other.cert_pem, evil.cert_pem),
        &evil.key_pem,
    )
    .unwrap_err()
    .to_string();
    let mismatch = write(evil.cert_pem.clone(), &other.key_pem)
        .unwrap_err()
        .to_string();

    // (what, message, a piece it must contain)
    let table = [
        ("expired", expired_message, "certificate 1 (CN="),
        ("leaf not first", not_first, "matches certificate 2 (CN="),
        ("key mismatch", mismatch, "in that file"),
    ];
    for (what, message, piece) in table {
        assert!(message.contains(piece), "{what}: {message}");
        assert!(
            message.contains(r"\u{85}"),
            "{what}: the C1 control is not escaped: {message:?}"
        );
        assert!(
            !message.chars().any(char::is_control),
            "{what}: {message:?}"
        );
    }
}
