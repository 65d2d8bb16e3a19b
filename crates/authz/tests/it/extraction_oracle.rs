//! The borrowed DER walker agrees with a full x509-cert decode, and never panics on mutations.

use std::net::IpAddr;
use std::sync::LazyLock;

use crate::oracle;

use proptest::prelude::*;
use rcgen::string::Ia5String;
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, SanType};
use vespa_tls_authz::PeerCredentials;
use vespa_tls_testkit::self_signed_der;

fn certificate(cn: &str, extra_cn: Option<&str>, dns: &[&str], uris: &[&str]) -> Vec<u8> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Org");
    dn.push(DnType::CommonName, cn);
    if let Some(extra) = extra_cn {
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 3]),
            DnValue::Utf8String(extra.to_owned()),
        );
    }
    params.distinguished_name = dn;
    params.subject_alt_names = dns
        .iter()
        .map(|d| SanType::DnsName(Ia5String::try_from(*d).expect("ASCII")))
        .chain(
            uris.iter()
                .map(|u| SanType::URI(Ia5String::try_from(*u).expect("ASCII"))),
        )
        .chain([SanType::IpAddress(IpAddr::from([192, 0, 2, 7]))])
        .collect();
    self_signed_der(params)
}

/// Generated once: key generation dominates otherwise.
static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    vec![
        certificate(
            "node1",
            None,
            &["node1.example.com"],
            &["vespa://app/node1"],
        ),
        certificate("", Some("second"), &["a.example.com", "b.example.com"], &[]),
        certificate("first", Some(""), &[], &["spiffe://example.com/ns/x"]),
        certificate("x", None, &[], &[]),
    ]
});

#[test]
fn walker_agrees_with_x509_cert_on_generated_certificates() {
    for der in CORPUS.iter() {
        let expected = oracle::credentials(der).expect("generated certificates are valid");
        assert_eq!(PeerCredentials::from_der(der).ok(), Some(expected));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Flipped or truncated bytes: the walker never panics, and whenever the full decode accepts
    /// the bytes the walker reads the same credentials (it may accept more: it checks structure
    /// only, the TLS stack has already verified the certificate).
    #[test]
    fn mutations_never_panic_and_agree_when_both_accept(
        which in 0usize..4,
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let mut der = CORPUS[which].clone();
        let at = position.index(der.len());
        if truncate {
            der.truncate(at);
        } else {
            der[at] = byte;
        }
        let ours = PeerCredentials::from_der(&der);
        if let Some(theirs) = oracle::credentials(&der) {
            prop_assert_eq!(ours, Ok(theirs));
        }
    }
}
