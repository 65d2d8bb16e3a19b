//! Issued certificates verified by an independent verifier (rustls-webpki) and, where it is
//! installed, by `openssl verify`.

use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use der::Decode as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::{Duration, OffsetDateTime};
use vespa_tls_pki::{
    CaParams, CertificateAuthority, ExtendedKeyUsages, IssuedCertificate, KeyType, NodeParams,
    PkiError, Validity, write_ca_files, write_node_files,
};
use vespa_tls_testkit::Openssl;
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn validity() -> Validity {
    Validity::days_from(now() - Duration::minutes(5), 30)
}

fn unix(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.unix_timestamp() as u64))
}

fn localhost_params(cn: &str) -> NodeParams {
    NodeParams::new(cn, validity())
        .with_dns("localhost")
        .with_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn verify(
    root: &CertificateDer<'_>,
    node: &IssuedCertificate,
    at: OffsetDateTime,
    usage: KeyUsage,
) -> Result<(), webpki::Error> {
    let anchors = [anchor_from_trusted_cert(root)?];
    let ee = EndEntityCert::try_from(&node.cert_der)?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &node.chain,
        unix(at),
        usage,
        None,
        None,
    )
    .map(|_| ())
}

#[test]
fn every_key_type_issues_a_node_certificate_that_verifies_both_ways() {
    for ca_key in KeyType::ALL {
        for node_key in KeyType::ALL {
            let ca = CertificateAuthority::new_root(
                &CaParams::new("test root", validity()).with_key_type(ca_key),
            )
            .unwrap();
            let node = ca
                .issue(&localhost_params("node").with_key_type(node_key))
                .unwrap();
            assert_eq!(node.key_type, node_key);
            assert!(node.chain.is_empty());
            for usage in [KeyUsage::server_auth(), KeyUsage::client_auth()] {
                verify(ca.root_der(), &node, now(), usage)
                    .unwrap_or_else(|e| panic!("ca {ca_key:?} node {node_key:?}: {e:?}"));
            }
            let ee = EndEntityCert::try_from(&node.cert_der).unwrap();
            ee.verify_is_valid_for_subject_name(&ServerName::try_from("localhost").unwrap())
                .unwrap();
            ee.verify_is_valid_for_subject_name(&ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()))
                .unwrap();
            assert!(
                ee.verify_is_valid_for_subject_name(&ServerName::try_from("other.host").unwrap())
                    .is_err()
            );
        }
    }
}

#[test]
fn the_validity_window_is_the_one_asked_for() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let start = now() - Duration::days(10);
    let node = ca
        .issue(
            &localhost_params("old").with_validity(Validity::new(start, start + Duration::days(2))),
        )
        .unwrap();
    let err = verify(ca.root_der(), &node, now(), KeyUsage::server_auth()).unwrap_err();
    assert!(matches!(err, webpki::Error::CertExpired { .. }), "{err:?}");
    verify(
        ca.root_der(),
        &node,
        start + Duration::days(1),
        KeyUsage::server_auth(),
    )
    .unwrap();

    let future = now() + Duration::days(10);
    let node = ca
        .issue(&localhost_params("new").with_validity(Validity::days_from(future, 2)))
        .unwrap();
    let err = verify(ca.root_der(), &node, now(), KeyUsage::server_auth()).unwrap_err();
    assert!(
        matches!(err, webpki::Error::CertNotValidYet { .. }),
        "{err:?}"
    );
}

#[test]
fn extended_key_usages_are_as_requested() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let server_only = ca
        .issue(&localhost_params("s").with_extended_key_usages(ExtendedKeyUsages::ServerAuthOnly))
        .unwrap();
    verify(ca.root_der(), &server_only, now(), KeyUsage::server_auth()).unwrap();
    assert!(verify(ca.root_der(), &server_only, now(), KeyUsage::client_auth()).is_err());

    let client_only = ca
        .issue(&localhost_params("c").with_extended_key_usages(ExtendedKeyUsages::ClientAuthOnly))
        .unwrap();
    verify(ca.root_der(), &client_only, now(), KeyUsage::client_auth()).unwrap();
    assert!(verify(ca.root_der(), &client_only, now(), KeyUsage::server_auth()).is_err());

    let absent = ca
        .issue(&localhost_params("a").with_extended_key_usages(ExtendedKeyUsages::Absent))
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&absent.cert_der).unwrap();
    assert!(
        cert.tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
            .unwrap()
            .is_none()
    );
}

#[test]
fn intermediates_travel_in_the_chain_and_verify() {
    let root = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let mid = root
        .issue_intermediate(
            &CaParams::new("intermediate 1", validity()).with_key_type(KeyType::EcdsaP384),
        )
        .unwrap();
    let low = mid
        .issue_intermediate(&CaParams::new("intermediate 2", validity()))
        .unwrap();
    let node = low.issue(&localhost_params("deep")).unwrap();
    assert_eq!(
        node.chain,
        vec![low.cert_der().clone(), mid.cert_der().clone()]
    );
    assert_eq!(low.root_der(), root.root_der());
    verify(root.root_der(), &node, now(), KeyUsage::server_auth()).unwrap();
    // Without the intermediates the leaf does not chain.
    let mut bare = node.clone();
    bare.chain.clear();
    assert!(verify(root.root_der(), &bare, now(), KeyUsage::server_auth()).is_err());
    // The certificates file holds the leaf first, then the intermediates.
    let pem = node.certificates_pem();
    let ders: Vec<CertificateDer<'static>> =
        rustls_pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(ders[0], node.cert_der);
    assert_eq!(&ders[1..], node.chain.as_slice());
}

#[test]
fn names_are_written_as_given() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let node = ca
        .issue(
            &NodeParams::new("first.example.com", validity())
                .with_common_name("second.example.com")
                .with_organization("ACME")
                .with_dns("a.example.com")
                .with_uri("spiffe://example.com/ns/vespa/sa/content")
                .with_ip("::1".parse().unwrap()),
        )
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&node.cert_der).unwrap();
    let subject = cert.tbs_certificate().subject().to_string();
    assert!(subject.contains("CN=first.example.com"), "{subject}");
    assert!(subject.contains("CN=second.example.com"), "{subject}");
    assert!(subject.contains("O=ACME"), "{subject}");
    let (_, san) = cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectAltName>()
        .unwrap()
        .unwrap();
    let rendered = format!("{:?}", san.0);
    assert!(rendered.contains("a.example.com"), "{rendered}");
    assert!(
        rendered.contains("spiffe://example.com/ns/vespa/sa/content"),
        "{rendered}"
    );
    assert_eq!(san.0.len(), 3);

    let none = ca
        .issue(
            &NodeParams::new("x", validity())
                .without_common_name()
                .with_dns("only.san"),
        )
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&none.cert_der).unwrap();
    assert!(cert.tbs_certificate().subject().is_empty());

    let three = NodeParams::new("a", validity())
        .with_common_name("b")
        .with_common_name("c");
    assert!(matches!(
        ca.issue(&three),
        Err(PkiError::InvalidParams { .. })
    ));
    let bad_dns = NodeParams::new("a", validity()).with_dns("bücher.example");
    let err = ca.issue(&bad_dns).unwrap_err();
    assert!(
        err.to_string().starts_with("DNS SAN \"bücher.example\""),
        "{err}"
    );
}

#[test]
fn an_empty_validity_window_is_refused() {
    let t = now();
    let err =
        CertificateAuthority::new_root(&CaParams::new("root", Validity::new(t, t))).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected not_before before not_after"),
        "{err}"
    );
}

#[test]
fn a_certificate_for_an_existing_key_has_that_key_and_a_new_serial() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    for key_type in [KeyType::EcdsaP256, KeyType::Rsa2048] {
        let params = localhost_params("renewed").with_key_type(key_type);
        let first = ca.issue(&params).unwrap();
        let renewed = ca.issue_for_key(&params, &first.key_pem).unwrap();
        let parsed = |n: &IssuedCertificate| x509_cert::Certificate::from_der(&n.cert_der).unwrap();
        let (a, b) = (parsed(&first), parsed(&renewed));
        assert_eq!(
            a.tbs_certificate().subject_public_key_info(),
            b.tbs_certificate().subject_public_key_info(),
            "{key_type:?}"
        );
        assert_ne!(
            a.tbs_certificate().serial_number(),
            b.tbs_certificate().serial_number()
        );
        assert_ne!(first.cert_der, renewed.cert_der);
        verify(ca.root_der(), &renewed, now(), KeyUsage::client_auth()).unwrap();
    }
    // A key that is not PEM is refused with the certificate's name.
    let broken = vespa_tls_pki::SecretPem::new("not a key".into());
    let error = ca
        .issue_for_key(&localhost_params("broken"), &broken)
        .unwrap_err();
    assert!(error.to_string().contains("\"broken\""), "{error}");
}

#[test]
fn serial_numbers_differ() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let a = ca.issue(&localhost_params("a")).unwrap();
    let b = ca.issue(&localhost_params("a")).unwrap();
    let serial = |n: &IssuedCertificate| {
        x509_cert::Certificate::from_der(&n.cert_der)
            .unwrap()
            .tbs_certificate()
            .serial_number()
            .clone()
    };
    assert_ne!(serial(&a), serial(&b));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let node = ca.issue(&localhost_params("a")).unwrap();
    let key_body: String = node
        .key_pem
        .expose()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for text in [format!("{node:?}"), format!("{ca:?}")] {
        assert!(text.contains("[secret elided]"), "{text}");
        assert!(!text.contains(&key_body[..20]), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
    assert!(
        node.key_pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(node.private_key_der().is_ok());
}

#[test]
fn a_ca_written_to_disk_loads_back_and_keeps_issuing_into_the_same_trust() {
    let dir = tempfile::tempdir().unwrap();
    for key_type in KeyType::ALL {
        let root = CertificateAuthority::new_root(
            &CaParams::new("disk root", validity())
                .with_organization("ACME")
                .with_key_type(key_type),
        )
        .unwrap();
        let mid = root
            .issue_intermediate(&CaParams::new("disk intermediate", validity()))
            .unwrap();
        for (name, ca) in [("root", &root), ("mid", &mid)] {
            let name = format!("{name}-{}", key_type.as_str());
            let written = write_ca_files(dir.path(), &name, ca).unwrap();
            let cert_pem = std::fs::read_to_string(&written.certificate).unwrap();
            let key_pem = std::fs::read_to_string(&written.private_key).unwrap();
            let loaded = CertificateAuthority::load(&cert_pem, &key_pem).unwrap();
            assert_eq!(loaded.cert_der(), ca.cert_der());
            let node = loaded.issue(&localhost_params("after-load")).unwrap();
            verify(root.root_der(), &node, now(), KeyUsage::server_auth())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}

#[test]
fn loading_refuses_what_cannot_work() {
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let other = CertificateAuthority::new_root(&CaParams::new("other", validity())).unwrap();
    let node = ca.issue(&localhost_params("leaf")).unwrap();

    let err = CertificateAuthority::load(&ca.cert_pem(), other.key_pem().expose()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CA private key: expected the key of the CA certificate, found another key"
    );
    let err = CertificateAuthority::load(&node.cert_pem, node.key_pem.expose()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CA certificate: expected basicConstraints CA:TRUE"),
        "{err}"
    );
    let err = CertificateAuthority::load("", ca.key_pem().expose()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CA certificate: expected at least one CERTIFICATE block, found none"
    );
    let err = CertificateAuthority::load(&ca.cert_pem(), &ca.cert_pem()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CA private key: expected a PRIVATE KEY"),
        "{err}"
    );
}

#[test]
fn node_files_are_absolute_private_and_named_by_a_config_that_parses() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertificateAuthority::new_root(&CaParams::new("root", validity())).unwrap();
    let mid = ca
        .issue_intermediate(&CaParams::new("mid", validity()))
        .unwrap();
    let node = mid.issue(&localhost_params("host")).unwrap();
    // A key file left behind with loose permissions is replaced, not reused.
    std::fs::write(dir.path().join("host.key"), "old").unwrap();
    set_mode(&dir.path().join("host.key"), 0o644);

    let written = write_node_files(dir.path(), "host", &node, &ca.ca_bundle_pem()).unwrap();
    for path in [
        &written.files.ca_certificates,
        &written.files.certificates,
        &written.files.private_key,
        &written.config_path,
    ] {
        assert!(path.is_absolute(), "{}", path.display());
        assert!(path.exists(), "{}", path.display());
    }
    assert_eq!(mode(&written.files.private_key), 0o600);
    assert_eq!(mode(&written.files.certificates) & 0o077, 0o044);
    assert_eq!(
        std::fs::read_to_string(&written.files.private_key).unwrap(),
        node.key_pem.expose()
    );
    assert_eq!(
        std::fs::read_to_string(&written.files.certificates).unwrap(),
        node.certificates_pem()
    );
    let text = std::fs::read_to_string(&written.config_path).unwrap();
    assert_eq!(text, written.config_json);
    let (options, _) = vespa_tls_config::parse(&text).unwrap();
    assert_eq!(options.files, written.files);
    // No temporary files are left over.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(names.len(), 4, "{names:?}");
}

#[test]
fn openssl_accepts_what_we_issue_and_we_can_issue_under_an_openssl_ca() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The seed guide's Appendix A, by hand: an EC key (SEC1) and a self-signed CA.
    let openssl_ca = openssl.appendix_a_ca(d);
    let cert_pem = std::fs::read_to_string(&openssl_ca.certificate).unwrap();
    let key_pem = std::fs::read_to_string(&openssl_ca.private_key).unwrap();
    assert!(key_pem.contains("BEGIN EC PRIVATE KEY"));
    let ca = CertificateAuthority::load(&cert_pem, &key_pem).unwrap();
    let node = ca.issue(&localhost_params("myhost.example.com")).unwrap();
    let written = write_node_files(d, "host", &node, &ca.ca_bundle_pem()).unwrap();
    for purpose in ["sslserver", "sslclient"] {
        openssl.run(
            d,
            [
                OsStr::new("verify"),
                OsStr::new("-purpose"),
                OsStr::new(purpose),
                OsStr::new("-CAfile"),
                written.files.ca_certificates.as_os_str(),
                written.files.certificates.as_os_str(),
            ],
        );
    }
    // And openssl reads our keys.
    openssl.run(d, ["pkey", "-in", "host.key", "-noout"]);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("file exists")
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
