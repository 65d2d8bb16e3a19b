//! The seed config is the guide's example with Vespa's policy names, and the glob reference
//! and the self-signed certificates it is checked with behave as documented.

use rcgen::{CertificateParams, DnType};
use vespa_tls_authz::{Authorizer, GlobDialect, PeerCredentials};
use vespa_tls_config::CredentialField;
use vespa_tls_testkit::{glob_regex, seed_options, self_signed_der};

#[test]
fn the_seed_has_the_guides_two_policies_with_names() {
    let options = seed_options();
    let peers = options.authorized_peers.expect("authorized-peers");
    let shown: Vec<(&str, Vec<(CredentialField, &str)>)> = peers
        .policies()
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.required_credentials
                    .iter()
                    .map(|r| (r.field, r.must_match.as_str()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "monitoring",
                vec![
                    (CredentialField::Cn, "vespa-monitoring.example.com"),
                    (CredentialField::SanDns, "*.us-east-*.monitor.example.com"),
                ]
            ),
            (
                "cluster-p2p",
                vec![(CredentialField::SanDns, "*.mycluster.vespa.example.com")]
            ),
        ]
    );
    assert!(peers.policies().iter().all(|p| p.capabilities.is_none()));
}

#[test]
fn a_self_signed_monitoring_certificate_is_authorized_by_the_seed() {
    let mut params =
        CertificateParams::new(["i1.us-east-2.monitor.example.com".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "vespa-monitoring.example.com");
    let peer = PeerCredentials::from_der(&self_signed_der(params)).unwrap();
    let (authorizer, _) = Authorizer::compile(seed_options().authorized_peers.as_ref());
    assert!(authorizer.authorize(&peer).is_authorized());
}

#[test]
fn the_glob_reference_keeps_wildcards_inside_one_label_or_segment() {
    // (pattern, dialect, input, matches)
    let table = [
        ("*.example.com", GlobDialect::Dns, "a.example.com", true),
        ("*.example.com", GlobDialect::Dns, "a.b.example.com", false),
        (
            "node-??.example.com",
            GlobDialect::Dns,
            "node-42.example.com",
            true,
        ),
        ("node-?", GlobDialect::Uri, "node-1", false),
        ("node-?", GlobDialect::Uri, "node-?", true),
        ("vespa://app/*", GlobDialect::Uri, "vespa://app/x.y", true),
        ("vespa://app/*", GlobDialect::Uri, "vespa://app/x/y", false),
        ("a+b[c]", GlobDialect::Dns, "a+b[c]", true),
        ("a+b[c]", GlobDialect::Dns, "aab[c]", false),
    ];
    for (pattern, dialect, input, expected) in table {
        assert_eq!(
            glob_regex(pattern, dialect).is_match(input),
            expected,
            "{pattern} {dialect:?} {input}"
        );
    }
}
