//! Material made by hand with openssl, exactly as the seed guide's Appendix A does it.
//! Skipped with a printed reason when openssl is not on PATH.

use rustls_pki_types::PrivateKeyDer;
use vespa_tls_material::{CryptoMaterial, KeyKind, MaterialError, codes};
use vespa_tls_testkit::{HostKey, Openssl};

#[test]
fn the_seed_guides_ec_material_loads_and_chains() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = openssl.appendix_a(dir.path(), HostKey::EcP256);
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
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = openssl.appendix_a(dir.path(), HostKey::Rsa2048);
    let material = CryptoMaterial::load(&files).unwrap();
    assert_eq!(material.key_kind(), KeyKind::Rsa);
    assert!(
        !material
            .report(time::OffsetDateTime::now_utc())
            .diagnostics
            .has_errors()
    );
    // PKCS#1, as older openssl wrote it.
    openssl.run(
        dir.path(),
        ["rsa", "-in", "host.key", "-traditional", "-out", "host.key"],
    );
    let material = CryptoMaterial::load(&files).unwrap();
    assert!(matches!(material.private_key(), PrivateKeyDer::Pkcs1(_)));
}

#[test]
fn keys_vespa_does_not_use_are_refused() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = openssl.appendix_a(dir.path(), HostKey::EcP256);
    let key = dir.path().join("other.key");
    let key_arg = key.to_str().unwrap();
    let mut other = files.clone();
    other.private_key = key.clone();

    openssl.run(
        dir.path(),
        [
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

    openssl.run(
        dir.path(),
        ["genpkey", "-algorithm", "ED25519", "-out", key_arg],
    );
    assert!(matches!(
        CryptoMaterial::load(&other).unwrap_err(),
        MaterialError::Ed25519Key { .. }
    ));

    openssl.run(
        dir.path(),
        ["genpkey", "-algorithm", "ED448", "-out", key_arg],
    );
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(e.to_string().ends_with("found an Ed448 key"), "{e}");

    openssl.run(dir.path(), ["genrsa", "-out", key_arg, "1024"]);
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(matches!(e, MaterialError::InvalidKey { .. }), "{e:?}");
    assert_eq!(e.code(), codes::INVALID_PRIVATE_KEY);

    // A legacy-encrypted key, as `openssl ec -aes256` writes it.
    openssl.run(
        dir.path(),
        [
            "ec", "-in", "host.key", "-aes256", "-passout", "pass:x", "-out", key_arg,
        ],
    );
    let e = CryptoMaterial::load(&other).unwrap_err();
    assert!(matches!(e, MaterialError::EncryptedKey { .. }), "{e:?}");
}
