//! Material made by hand with openssl, exactly as the seed guide's Appendix A does it.
//! Skipped with a printed reason when openssl is not on PATH.

use std::path::Path;
use std::process::Command;

use rustls_pki_types::PrivateKeyDer;
use vespa_tls_config::Files;
use vespa_tls_material::{CryptoMaterial, KeyKind, MaterialError, codes};

#[expect(
    clippy::print_stdout,
    reason = "a skipped test says why, in the test output"
)]
fn have_openssl() -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok();
    if !found {
        println!("skipped: openssl is not on PATH");
    }
    found
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn appendix_a(dir: &Path, host_key: &[&str]) -> Files {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "root-ca.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-nodes",
            "-key",
            "root-ca.key",
            "-out",
            "root-ca.pem",
            "-subj",
            "/C=US/L=California/O=ACME/OU=ACME test root CA",
            "-sha256",
            "-days",
            "3650",
        ],
    );
    openssl(dir, host_key);
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "host.key",
            "-out",
            "host.csr",
            "-subj",
            "/C=US/L=California/OU=ACME/O=My Vespa App",
            "-sha256",
        ],
    );
    std::fs::write(
        dir.join("cert-exts.cnf"),
        "[host_cert_extensions]\n\
         basicConstraints       = critical, CA:FALSE\n\
         keyUsage               = critical, digitalSignature, keyAgreement, keyEncipherment\n\
         extendedKeyUsage       = serverAuth, clientAuth\n\
         subjectKeyIdentifier   = hash\n\
         authorityKeyIdentifier = keyid,issuer\n\
         subjectAltName         = @host_sans\n\
         [host_sans]\n\
         DNS.1 = myhost.example.com\n",
    )
    .expect("write extension file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "host.csr",
            "-CA",
            "root-ca.pem",
            "-CAkey",
            "root-ca.key",
            "-CAcreateserial",
            "-out",
            "host.pem",
            "-extfile",
            "cert-exts.cnf",
            "-extensions",
            "host_cert_extensions",
            "-days",
            "3650",
            "-sha256",
        ],
    );
    Files {
        ca_certificates: dir.join("root-ca.pem"),
        certificates: dir.join("host.pem"),
        private_key: dir.join("host.key"),
    }
}

#[test]
fn the_seed_guides_ec_material_loads_and_chains() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = appendix_a(
        dir.path(),
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "host.key",
        ],
    );
    let material = CryptoMaterial::load(&files).unwrap();
    assert_eq!(material.key_kind(), KeyKind::EcdsaP256);
    assert!(matches!(material.private_key(), PrivateKeyDer::Sec1(_)));
    let report = material.report(time::OffsetDateTime::now_utc());
    assert_eq!(report.chain[0].dns_names, ["myhost.example.com"]);
    assert_eq!(report.chain[0].common_names, Vec::<String>::new());
    assert!(report.chain[0].allows_server_and_client());
    assert!(report.leaf_days_to_expiry >= 3649);
    // openssl writes keys mode 0600 under umask 022 since 3.0; only warn if it did not.
    let permission_findings = report
        .diagnostics
        .with_code(codes::PRIVATE_KEY_PERMISSIONS)
        .count();
    assert_eq!(
        report.diagnostics.len(),
        permission_findings,
        "{:?}",
        report.diagnostics
    );
}

#[test]
fn the_seed_guides_rsa_material_loads() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = appendix_a(dir.path(), &["genrsa", "-out", "host.key", "2048"]);
    let material = CryptoMaterial::load(&files).unwrap();
    assert_eq!(material.key_kind(), KeyKind::Rsa);
    assert!(
        !material
            .report(time::OffsetDateTime::now_utc())
            .diagnostics
            .has_errors()
    );
    // PKCS#1, as older openssl wrote it.
    openssl(
        dir.path(),
        &["rsa", "-in", "host.key", "-traditional", "-out", "host.key"],
    );
    let material = CryptoMaterial::load(&files).unwrap();
    assert!(matches!(material.private_key(), PrivateKeyDer::Pkcs1(_)));
}

#[test]
fn keys_vespa_does_not_use_are_refused() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = appendix_a(
        dir.path(),
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "host.key",
        ],
    );
    let key = dir.path().join("other.key");
    let key_arg = key.to_str().unwrap();
    let mut other = files.clone();
    other.private_key = key.clone();

    openssl(
        dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-out",
            key_arg,
        ],
    );
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(
        e.to_string().ends_with("found an EC key on curve P-521"),
        "{e}"
    );

    openssl(
        dir.path(),
        &["genpkey", "-algorithm", "ED25519", "-out", key_arg],
    );
    assert!(matches!(
        CryptoMaterial::load(&other).unwrap_err(),
        MaterialError::Ed25519Key { .. }
    ));

    openssl(
        dir.path(),
        &["genpkey", "-algorithm", "ED448", "-out", key_arg],
    );
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(e.to_string().ends_with("found an Ed448 key"), "{e}");

    openssl(dir.path(), &["genrsa", "-out", key_arg, "1024"]);
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(matches!(e, MaterialError::InvalidKey { .. }), "{e:?}");
    assert_eq!(e.code(), codes::INVALID_PRIVATE_KEY);

    // A legacy-encrypted key, as `openssl ec -aes256` writes it.
    openssl(
        dir.path(),
        &[
            "ec", "-in", "host.key", "-aes256", "-passout", "pass:x", "-out", key_arg,
        ],
    );
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(matches!(e, MaterialError::EncryptedKey { .. }), "{e:?}");
}
