//! The peer-authorization engine: glob matching against the regex crate, `authorize` on the seed
//! config and on generated configs, and credential extraction from a DER certificate.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rcgen::string::Ia5String;
use rcgen::{CertificateParams, DistinguishedName, DnType, SanType};
use regex::Regex;
use std::hint::black_box;
use vespa_tls_authz::{Authorizer, Glob, GlobDialect, PeerCredentials};
use vespa_tls_config::{AuthorizedPeers, CredentialField, PeerPolicy, RequiredPeerCredential};
use vespa_tls_testkit::{glob_regex, seed_options, self_signed_der};

/// (pattern, dialect, input): the seed's patterns and typical URI patterns, matching and not.
const GLOB_CASES: &[(&str, GlobDialect, &str)] = &[
    (
        "*.us-east-*.monitor.example.com",
        GlobDialect::Dns,
        "i1.us-east-2.monitor.example.com",
    ),
    (
        "*.us-east-*.monitor.example.com",
        GlobDialect::Dns,
        "i1.us-west-2.monitor.example.com",
    ),
    (
        "*.mycluster.vespa.example.com",
        GlobDialect::Dns,
        "node17.mycluster.vespa.example.com",
    ),
    (
        "*.mycluster.vespa.example.com",
        GlobDialect::Dns,
        "node17.othercluster.vespa.example.com",
    ),
    (
        "vespa-monitoring.example.com",
        GlobDialect::Dns,
        "vespa-monitoring.example.com",
    ),
    (
        "node-??.example.com",
        GlobDialect::Dns,
        "node-42.example.com",
    ),
    (
        "vespa://myapp/content/*",
        GlobDialect::Uri,
        "vespa://myapp/content/node1",
    ),
    (
        "vespa://myapp/content/*",
        GlobDialect::Uri,
        "vespa://myapp/content/node1/myservice",
    ),
];

fn glob_vs_regex(c: &mut Criterion) {
    let globs: Vec<(Glob, &str)> = GLOB_CASES
        .iter()
        .map(|&(p, d, i)| (Glob::new(p, d), i))
        .collect();
    let regexes: Vec<(Regex, &str)> = GLOB_CASES
        .iter()
        .map(|&(p, d, i)| (glob_regex(p, d), i))
        .collect();
    for ((glob, input), (regex, _)) in globs.iter().zip(&regexes) {
        assert_eq!(glob.is_match(input), regex.is_match(input), "{glob:?}");
    }
    let mut group = c.benchmark_group("authz/glob_8_cases");
    group.bench_function("compiled_glob", |b| {
        b.iter(|| {
            globs
                .iter()
                .filter(|(g, i)| g.is_match(black_box(i)))
                .count()
        })
    });
    group.bench_function("regex_is_match", |b| {
        b.iter(|| {
            regexes
                .iter()
                .filter(|(r, i)| r.is_match(black_box(i)))
                .count()
        })
    });
    group.finish();
}

fn monitoring_certificate() -> Vec<u8> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Example Monitoring");
    dn.push(DnType::CommonName, "vespa-monitoring.example.com");
    params.distinguished_name = dn;
    params.subject_alt_names = vec![SanType::DnsName(
        Ia5String::try_from("i1.us-east-2.monitor.example.com").expect("ASCII"),
    )];
    self_signed_der(params)
}

fn seed(c: &mut Criterion) {
    let (authorizer, _) = Authorizer::compile(seed_options().authorized_peers.as_ref());
    let der = monitoring_certificate();
    let peer = PeerCredentials::from_der(&der).expect("extraction");
    assert!(authorizer.authorize(&peer).is_authorized());
    c.bench_function("authz/extract_der", |b| {
        b.iter(|| PeerCredentials::from_der(black_box(&der)).expect("extraction"))
    });
    c.bench_function("authz/authorize_seed", |b| {
        b.iter(|| authorizer.authorize(black_box(&peer)))
    });
    c.bench_function("authz/extract_and_authorize_seed", |b| {
        b.iter(|| {
            let peer = PeerCredentials::from_der(black_box(&der)).expect("extraction");
            authorizer.authorize(&peer)
        })
    });
}

/// `n` policies, each with a CN and a SAN_DNS requirement; the peer matches only the last one.
fn generated(n: usize) -> (Authorizer, PeerCredentials, PeerCredentials) {
    let policies = (0..n)
        .map(|i| PeerPolicy {
            name: format!("policy-{i}"),
            description: None,
            capabilities: Some(vec!["vespa.content_node".to_owned()]),
            required_credentials: vec![
                RequiredPeerCredential {
                    field: CredentialField::SanDns,
                    must_match: format!("*.cluster-{i}.vespa.example.com"),
                },
                RequiredPeerCredential {
                    field: CredentialField::Cn,
                    must_match: format!("svc-{i}.example.com"),
                },
            ],
        })
        .collect();
    let peers = AuthorizedPeers::new(policies).expect("n > 0");
    let (authorizer, _) = Authorizer::compile(Some(&peers));
    let last = n - 1;
    let matching = PeerCredentials::new(
        Some(&format!("svc-{last}.example.com")),
        &[&format!("node1.cluster-{last}.vespa.example.com")],
        &[],
    );
    let stranger = PeerCredentials::new(
        Some("stranger.example.com"),
        &["node1.cluster-x.vespa.example.com"],
        &[],
    );
    assert!(authorizer.authorize(&matching).is_authorized());
    assert!(!authorizer.authorize(&stranger).is_authorized());
    (authorizer, matching, stranger)
}

fn many_policies(c: &mut Criterion) {
    let mut group = c.benchmark_group("authz/authorize_generated");
    for n in [10, 100, 1000] {
        let (authorizer, matching, stranger) = generated(n);
        group.bench_with_input(BenchmarkId::new("last_matches", n), &n, |b, _| {
            b.iter(|| authorizer.authorize(black_box(&matching)))
        });
        group.bench_with_input(BenchmarkId::new("denied", n), &n, |b, _| {
            b.iter(|| authorizer.authorize(black_box(&stranger)))
        });
    }
    group.finish();
}

criterion_group!(benches, glob_vs_regex, seed, many_policies);
criterion_main!(benches);
