//! Credential extraction from certificates made with rcgen (VESPA-BEHAVIOUR §3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, SanType};
use vespa_tls_authz::{AuthzError, PeerCredentials, SanKind};
use vespa_tls_testkit::self_signed_der;

const CN_OID: [u64; 4] = [2, 5, 4, 3];

/// Subject attributes in DER order.
type Subject = Vec<(DnType, DnValue)>;

/// A self-signed certificate's DER with the given subject attributes (in order) and SANs.
fn cert(subject: Subject, sans: Vec<SanType>) -> Vec<u8> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    for (ty, value) in subject {
        dn.push(ty, value);
    }
    params.distinguished_name = dn;
    params.subject_alt_names = sans;
    self_signed_der(params)
}

fn cn(value: &str) -> (DnType, DnValue) {
    (DnType::CommonName, DnValue::Utf8String(value.to_owned()))
}

/// A second commonName attribute: rcgen keeps one value per type, so use the OID as a custom type.
fn cn2(value: DnValue) -> (DnType, DnValue) {
    (DnType::CustomDnType(CN_OID.to_vec()), value)
}

fn dns(value: &str) -> SanType {
    SanType::DnsName(Ia5String::try_from(value).expect("ASCII test value"))
}

fn uri(value: &str) -> SanType {
    SanType::URI(Ia5String::try_from(value).expect("ASCII test value"))
}

#[test]
fn typed_sans_and_single_cn() {
    let der = cert(
        vec![
            (
                DnType::OrganizationName,
                DnValue::Utf8String("Vespa".into()),
            ),
            cn("node1.example.com"),
        ],
        vec![
            dns("node1.example.com"),
            uri("vespa://app/content/node1"),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            dns("alias.example.com"),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            SanType::Rfc822Name(Ia5String::try_from("ops@example.com").unwrap()),
        ],
    );
    let credentials = PeerCredentials::from_der(&der).unwrap();
    assert_eq!(credentials.common_name(), Some("node1.example.com"));
    assert_eq!(
        credentials.dns_sans,
        ["node1.example.com", "alias.example.com"]
    );
    assert_eq!(credentials.uri_sans, ["vespa://app/content/node1"]);
    assert_eq!(
        credentials.ip_sans,
        [
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        ]
    );
    assert_eq!(
        credentials.to_string(),
        "[CN='node1.example.com', SAN_DNS=[node1.example.com, alias.example.com], \
         SAN_URI=[vespa://app/content/node1]]"
    );
}

#[test]
fn last_non_empty_cn_in_der_order_wins() {
    let table: Vec<(Subject, Option<&str>)> = vec![
        (
            vec![cn("first"), cn2(DnValue::Utf8String("second".into()))],
            Some("second"),
        ),
        (
            vec![cn("first"), cn2(DnValue::Utf8String(String::new()))],
            Some("first"),
        ),
        (vec![cn(""), cn2(DnValue::Utf8String(String::new()))], None),
        (vec![cn("")], None),
        (
            vec![(DnType::OrganizationName, DnValue::Utf8String("O".into()))],
            None,
        ),
        (vec![], None),
        (
            vec![cn2(DnValue::PrintableString(
                PrintableString::try_from("printable host").unwrap(),
            ))],
            Some("printable host"),
        ),
        (
            vec![cn2(DnValue::Ia5String(
                Ia5String::try_from("ia5.host").unwrap(),
            ))],
            Some("ia5.host"),
        ),
        (vec![cn("ünïcødé")], Some("ünïcødé")),
    ];
    for (subject, expected) in table {
        let description = format!("{subject:?}");
        let credentials = PeerCredentials::from_der(&cert(subject, vec![dns("x.example.com")]))
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        assert_eq!(credentials.common_name(), expected, "{description}");
    }
}

#[test]
fn other_cn_string_types_reject_the_certificate() {
    let table = [
        DnValue::BmpString(BmpString::try_from("bmp").unwrap()),
        DnValue::TeletexString(TeletexString::try_from("teletex").unwrap()),
    ];
    for value in table {
        let der = cert(vec![cn("ok"), cn2(value)], vec![]);
        let error = PeerCredentials::from_der(&der).unwrap_err();
        assert!(
            matches!(error, AuthzError::CommonNameType { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("expected UTF8String"), "{error}");
    }
}

#[test]
fn nul_bytes_and_empty_sans_reject_the_certificate() {
    let table: Vec<(Subject, Vec<SanType>, AuthzError)> = vec![
        (vec![cn("a\0b")], vec![], AuthzError::NulInCommonName),
        // Even in a commonName that is not the last one.
        (
            vec![cn("a\0b"), cn2(DnValue::Utf8String("ok".into()))],
            vec![],
            AuthzError::NulInCommonName,
        ),
        (
            vec![cn("ok")],
            vec![dns("ok.example.com"), dns("")],
            AuthzError::EmptySan { kind: SanKind::Dns },
        ),
        (
            vec![cn("ok")],
            vec![uri("")],
            AuthzError::EmptySan { kind: SanKind::Uri },
        ),
        (
            vec![cn("ok")],
            vec![dns("evil.example.com\0.good.example.com")],
            AuthzError::NulInSan { kind: SanKind::Dns },
        ),
        (
            vec![cn("ok")],
            vec![uri("vespa://a\0b")],
            AuthzError::NulInSan { kind: SanKind::Uri },
        ),
    ];
    for (subject, sans, expected) in table {
        let der = cert(subject, sans);
        assert_eq!(PeerCredentials::from_der(&der), Err(expected));
    }
    assert_eq!(
        AuthzError::EmptySan { kind: SanKind::Uri }.to_string(),
        "certificate: empty URI subject alternative name"
    );
    assert_eq!(
        AuthzError::NulInSan { kind: SanKind::Dns }.to_string(),
        "certificate: dNSName subject alternative name contains a NUL byte"
    );
}

#[test]
fn truncated_and_corrupted_der_is_an_error() {
    let der = cert(vec![cn("node")], vec![dns("node.example.com")]);
    assert!(PeerCredentials::from_der(&der).is_ok());
    for len in [0, 1, 2, 10, der.len() / 2, der.len() - 1] {
        let error = PeerCredentials::from_der(&der[..len]).unwrap_err();
        let AuthzError::Der(cause) = &error else {
            panic!("{len}: {error:?}");
        };
        // The cause is printed once, in the message, and not repeated as source().
        assert!(error.to_string().contains(&cause.to_string()), "{error}");
        assert!(std::error::Error::source(&error).is_none());
    }
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(PeerCredentials::from_der(&trailing).is_err());
}
