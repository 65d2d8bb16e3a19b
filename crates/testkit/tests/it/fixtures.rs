//! Each fixture has the property its name promises, checked with independent parsers.

use std::ffi::OsStr;
use std::path::Path;

use der::Decode as _;
use rustls_pki_types::pem::{PemObject as _, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use time::OffsetDateTime;
use vespa_tls_pki::KeyType;
use vespa_tls_testkit::{EncryptedBy, Fixture, FixtureFiles, Openssl, TestPki, read_certificates};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};
use x509_cert::Certificate;

fn labels(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("readable fixture")
        .lines()
        .filter_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .map(str::to_owned)
        .collect()
}

fn leaf(files: &FixtureFiles) -> Certificate {
    let certs = read_certificates(&files.files.certificates).expect("certificates");
    Certificate::from_der(&certs[0]).expect("leaf parses")
}

fn unix(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.unix_timestamp() as u64))
}

fn verify(
    pki: &TestPki,
    certificates: &Path,
    at: OffsetDateTime,
    usage: KeyUsage,
) -> Result<(), webpki::Error> {
    let certs = read_certificates(certificates).expect("certificates");
    let anchors = [anchor_from_trusted_cert(pki.ca().root_der())?];
    EndEntityCert::try_from(&certs[0])?
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &certs[1..],
            unix(at),
            usage,
            None,
            None,
        )
        .map(|_| ())
}

/// The public key derived from the key file equals the certificate's.
fn key_matches(key_path: &Path, cert: &CertificateDer<'_>) -> bool {
    let bytes = std::fs::read(key_path).expect("key file");
    let key = PrivateKeyDer::from_pem_slice(&bytes).expect("key parses");
    let pair = rcgen::KeyPair::try_from(&key).expect("key loads");
    let cert = Certificate::from_der(cert).expect("cert parses");
    rcgen::PublicKeyData::der_bytes(&pair)
        == cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
}

#[test]
fn the_default_pki_verifies_for_server_and_client_on_localhost() {
    let pki = TestPki::new().unwrap();
    for node in [pki.server(), pki.client()] {
        let files = node.files();
        for usage in [KeyUsage::server_auth(), KeyUsage::client_auth()] {
            verify(&pki, &files.certificates, pki.now(), usage).unwrap();
        }
        let certs = read_certificates(&files.certificates).unwrap();
        assert_eq!(certs.len(), 1);
        assert!(key_matches(&files.private_key, &certs[0]));
        let ee = EndEntityCert::try_from(&certs[0]).unwrap();
        ee.verify_is_valid_for_subject_name(
            &rustls_pki_types::ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        ee.verify_is_valid_for_subject_name(&rustls_pki_types::ServerName::IpAddress(
            std::net::Ipv4Addr::LOCALHOST.into(),
        ))
        .unwrap();
        let text = std::fs::read_to_string(node.config_path()).unwrap();
        let (options, _) = vespa_tls_config::parse(&text).unwrap();
        assert_eq!(&options.files, files);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&files.private_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    assert_ne!(pki.server().issued.cert_der, pki.client().issued.cert_der);
}

#[test]
fn an_intermediate_goes_after_the_leaf() {
    for key_type in KeyType::ALL {
        let pki = TestPki::builder()
            .key_type(key_type)
            .intermediate(true)
            .build()
            .unwrap();
        let files = pki.server().files();
        let certs = read_certificates(&files.certificates).unwrap();
        assert_eq!(certs.len(), 2, "{key_type:?}");
        assert_eq!(&certs[1], pki.issuer().cert_der());
        verify(
            &pki,
            &files.certificates,
            pki.now(),
            KeyUsage::server_auth(),
        )
        .unwrap();
        assert_eq!(
            read_certificates(&files.ca_certificates).unwrap(),
            vec![pki.ca().root_der().clone()]
        );
    }
}

#[test]
fn the_temp_dir_goes_away_with_the_pki() {
    let pki = TestPki::new().unwrap();
    let dir = pki.dir().to_owned();
    assert!(dir.join("server.key").exists());
    drop(pki);
    assert!(!dir.exists());
}

#[test]
fn in_memory_material_matches_the_files() {
    let pki = TestPki::builder().intermediate(true).build().unwrap();
    let server = pki.server_in_memory().unwrap();
    assert_eq!(
        server.chain,
        read_certificates(&pki.server().files().certificates).unwrap()
    );
    assert_eq!(server.ca_certificates, vec![pki.ca().root_der().clone()]);
    assert!(matches!(server.key, PrivateKeyDer::Pkcs8(_)));
    let client = pki.client_in_memory().unwrap();
    assert_ne!(client.chain[0], server.chain[0]);
}

#[test]
fn loopback_listener_is_on_127_0_0_1() {
    let listener = vespa_tls_testkit::bind_loopback().unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
}

#[test]
fn validity_fixtures() {
    let pki = TestPki::new().unwrap();
    let now = pki.now();
    let expired = pki.fixture(Fixture::Expired).unwrap();
    let err = verify(
        &pki,
        &expired.files.certificates,
        now,
        KeyUsage::server_auth(),
    )
    .unwrap_err();
    assert!(matches!(err, webpki::Error::CertExpired { .. }), "{err:?}");
    let future = pki.fixture(Fixture::NotYetValid).unwrap();
    let err = verify(
        &pki,
        &future.files.certificates,
        now,
        KeyUsage::server_auth(),
    )
    .unwrap_err();
    assert!(
        matches!(err, webpki::Error::CertNotValidYet { .. }),
        "{err:?}"
    );
    for f in [&expired, &future] {
        let certs = read_certificates(&f.files.certificates).unwrap();
        assert!(key_matches(&f.files.private_key, &certs[0]));
    }
}

#[test]
fn trust_and_usage_fixtures() {
    let pki = TestPki::new().unwrap();
    let stranger = pki.fixture(Fixture::SignedByAnotherCa).unwrap();
    let err = verify(
        &pki,
        &stranger.files.certificates,
        pki.now(),
        KeyUsage::server_auth(),
    )
    .unwrap_err();
    assert!(matches!(err, webpki::Error::UnknownIssuer), "{err:?}");

    let server_only = pki.fixture(Fixture::ServerAuthOnly).unwrap();
    verify(
        &pki,
        &server_only.files.certificates,
        pki.now(),
        KeyUsage::server_auth(),
    )
    .unwrap();
    assert!(
        verify(
            &pki,
            &server_only.files.certificates,
            pki.now(),
            KeyUsage::client_auth()
        )
        .is_err()
    );
    let (_, eku) = leaf(&server_only)
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
        .unwrap()
        .unwrap();
    assert_eq!(eku.0.len(), 1);
}

#[test]
fn encrypted_key_fixtures_hide_from_the_pem_parser() {
    let pki = TestPki::new().unwrap();
    let pkcs8 = pki.fixture(Fixture::EncryptedPkcs8Key).unwrap();
    assert_eq!(labels(&pkcs8.files.private_key), ["ENCRYPTED PRIVATE KEY"]);
    let bytes = std::fs::read(&pkcs8.files.private_key).unwrap();
    // This is why the loader must scan labels itself: the parser skips the block silently.
    assert!(PrivateKeyDer::from_pem_slice(&bytes).is_err());
    match pkcs8.encrypted_by {
        Some(EncryptedBy::Openssl) => {
            // A real encrypted key: openssl decrypts it with the passphrase.
            let openssl = Openssl::find().expect("openssl made the key");
            openssl.run(
                pkcs8.files.private_key.parent().unwrap(),
                ["pkey", "-passin", "pass:vespa-testkit", "-noout", "-in"]
                    .map(OsStr::new)
                    .into_iter()
                    .chain([pkcs8.files.private_key.as_os_str()]),
            );
        }
        Some(EncryptedBy::HandBuilt) => println!("openssl not on PATH: hand-built encrypted key"),
        None => panic!("encrypted_by must be set for this fixture"),
    }
    let names: Vec<String> = std::fs::read_dir(pkcs8.files.private_key.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no plain key left behind: {names:?}"
    );

    let legacy = pki.fixture(Fixture::EncryptedLegacyKey).unwrap();
    let text = std::fs::read_to_string(&legacy.files.private_key).unwrap();
    assert!(text.starts_with("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"));
}

#[test]
fn key_encoding_fixtures() {
    let pki = TestPki::new().unwrap();
    let pkcs1 = pki.fixture(Fixture::Pkcs1Key).unwrap();
    assert_eq!(labels(&pkcs1.files.private_key), ["RSA PRIVATE KEY"]);
    let key = PrivateKeyDer::from_pem_file(&pkcs1.files.private_key).unwrap();
    assert!(matches!(key, PrivateKeyDer::Pkcs1(_)));
    let certs = read_certificates(&pkcs1.files.certificates).unwrap();
    assert!(key_matches(&pkcs1.files.private_key, &certs[0]));

    for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384] {
        let pki = TestPki::builder().key_type(key_type).build().unwrap();
        let sec1 = pki.fixture(Fixture::Sec1Key).unwrap();
        assert_eq!(labels(&sec1.files.private_key), ["EC PRIVATE KEY"]);
        let key = PrivateKeyDer::from_pem_file(&sec1.files.private_key).unwrap();
        assert!(matches!(key, PrivateKeyDer::Sec1(_)));
        let certs = read_certificates(&sec1.files.certificates).unwrap();
        assert!(
            key_matches(&sec1.files.private_key, &certs[0]),
            "{key_type:?}"
        );
        if let Some(openssl) = Openssl::or_skip() {
            openssl.run(
                pki.dir(),
                ["ec", "-check", "-noout", "-in"]
                    .map(OsStr::new)
                    .into_iter()
                    .chain([sec1.files.private_key.as_os_str()]),
            );
        }
    }

    let ed = pki.fixture(Fixture::Ed25519Key).unwrap();
    let key = PrivateKeyDer::from_pem_file(&ed.files.private_key).unwrap();
    let pair = rcgen::KeyPair::try_from(&key).unwrap();
    assert_eq!(pair.algorithm(), &rcgen::PKCS_ED25519);
    let certs = read_certificates(&ed.files.certificates).unwrap();
    assert!(key_matches(&ed.files.private_key, &certs[0]));
}

#[test]
fn chain_and_key_fixtures() {
    let pki = TestPki::new().unwrap();
    let reversed = pki.fixture(Fixture::LeafNotFirst).unwrap();
    let certs = read_certificates(&reversed.files.certificates).unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(&certs[0], pki.issuer().cert_der());
    assert!(key_matches(&reversed.files.private_key, &certs[1]));
    assert!(!key_matches(&reversed.files.private_key, &certs[0]));

    let mismatch = pki.fixture(Fixture::KeyDoesNotMatch).unwrap();
    let certs = read_certificates(&mismatch.files.certificates).unwrap();
    assert!(!key_matches(&mismatch.files.private_key, &certs[0]));
}

#[test]
fn file_content_fixtures() {
    let pki = TestPki::new().unwrap();
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert_eq!(
        size(
            &pki.fixture(Fixture::EmptyCaFile)
                .unwrap()
                .files
                .ca_certificates
        ),
        0
    );
    assert_eq!(
        size(
            &pki.fixture(Fixture::EmptyCertificateFile)
                .unwrap()
                .files
                .certificates
        ),
        0
    );
    assert_eq!(
        size(
            &pki.fixture(Fixture::EmptyKeyFile)
                .unwrap()
                .files
                .private_key
        ),
        0
    );
    let not_pem = pki.fixture(Fixture::NotPemCaFile).unwrap();
    assert!(labels(&not_pem.files.ca_certificates).is_empty());
    assert!(size(&not_pem.files.ca_certificates) > 0);

    let f = pki.fixture(Fixture::KeyInCaFile).unwrap();
    assert_eq!(
        labels(&f.files.ca_certificates),
        ["CERTIFICATE", "PRIVATE KEY"]
    );
    let f = pki.fixture(Fixture::KeyInCertificateFile).unwrap();
    assert_eq!(
        labels(&f.files.certificates),
        ["CERTIFICATE", "PRIVATE KEY"]
    );
    let f = pki.fixture(Fixture::CertificateInKeyFile).unwrap();
    assert_eq!(labels(&f.files.private_key), ["PRIVATE KEY", "CERTIFICATE"]);
    let kinds: Vec<SectionKind> = <(SectionKind, Vec<u8>)>::pem_file_iter(&f.files.private_key)
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(kinds, [SectionKind::PrivateKey, SectionKind::Certificate]);
}

#[test]
fn every_fixture_gets_its_own_directory() {
    let pki = TestPki::new().unwrap();
    let mut dirs = std::collections::HashSet::new();
    for fixture in Fixture::ALL {
        let f = pki.fixture(fixture).unwrap();
        assert_eq!(f.fixture, fixture);
        assert!(f.config_path.exists());
        assert!(f.files.private_key.starts_with(pki.dir()));
        assert!(dirs.insert(f.files.private_key.parent().unwrap().to_owned()));
    }
}
