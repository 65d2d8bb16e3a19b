//! The openssl helpers: the Appendix A recipe makes what the guide says, and a failing
//! command stops the test with its arguments and openssl's reason.

use std::ffi::OsStr;

use vespa_tls_testkit::{HostKey, Openssl};

#[test]
fn appendix_a_makes_a_host_certificate_its_ca_verifies() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = openssl.appendix_a(dir.path(), HostKey::Rsa2048);
    assert_eq!(files.ca_certificates, dir.path().join("root-ca.pem"));
    assert!(dir.path().join("root-ca.key").exists());
    let text = openssl.run(
        dir.path(),
        [
            "x509",
            "-noout",
            "-ext",
            "subjectAltName,extendedKeyUsage",
            "-in",
            "host.pem",
        ],
    );
    assert!(text.contains("DNS:myhost.example.com"), "{text}");
    assert!(
        text.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{text}"
    );
    for purpose in ["sslserver", "sslclient"] {
        assert!(openssl.succeeds(
            dir.path(),
            [
                "verify",
                "-purpose",
                purpose,
                "-CAfile",
                "root-ca.pem",
                "host.pem"
            ]
        ));
    }
    // A certificate from another CA does not verify.
    let other = tempfile::tempdir().unwrap();
    openssl.appendix_a_ca(other.path());
    let other_ca = other.path().join("root-ca.pem");
    let verify_elsewhere = [
        OsStr::new("verify"),
        OsStr::new("-CAfile"),
        other_ca.as_os_str(),
        OsStr::new("host.pem"),
    ];
    assert!(!openssl.succeeds(dir.path(), verify_elsewhere));
}

#[test]
fn a_failing_command_names_its_arguments_and_the_reason() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let panic = std::panic::catch_unwind(|| {
        openssl.run(dir.path(), ["x509", "-in", "no-such-file.pem"]);
    })
    .expect_err("a failing command panics");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.starts_with("openssl x509 -in no-such-file.pem (in "),
        "{message}"
    );
    assert!(message.contains("no-such-file.pem"), "{message}");
}
