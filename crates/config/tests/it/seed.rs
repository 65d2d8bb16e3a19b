//! The examples of Vespa's operator guide, as operators will paste them.

use vespa_tls_config::{CredentialField, parse};

const FIRST_EXAMPLE: &str = r#"{
  "files": {
    "ca-certificates": "/absolute/path/to/ca-certs.pem",
    "certificates": "/absolute/path/to/host-certs.pem",
    "private-key": "/absolute/path/to/private-key.pem"
  }
}"#;

/// Verbatim from the guide, including the stray space after the first policy's `}`.
const SECOND_EXAMPLE: &str = r#"{
  "files": {
    "ca-certificates": "/absolute/path/to/ca-certs.pem",
    "certificates": "/absolute/path/to/host-certs.pem",
    "private-key": "/absolute/path/to/private-key.pem"
  },
  "authorized-peers": [
    {
      "required-credentials": [
        { "field": "CN", "must-match": "vespa-monitoring.example.com" },
        { "field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com" }
      ],
      "description": "Backend monitoring service access"
    }, 
    {
      "required-credentials": [
        { "field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com" }
      ],
      "description": "Cluster-internal node P2P access"
    }
  ]
}"#;

#[test]
fn first_example_is_accepted() {
    let (options, diagnostics) = parse(FIRST_EXAMPLE).expect("the guide's first example parses");
    assert_eq!(
        options.files.certificates.to_str(),
        Some("/absolute/path/to/host-certs.pem")
    );
    assert!(options.authorized_peers.is_none());
    assert!(!diagnostics.has_errors());
}

#[test]
fn second_example_verbatim_is_rejected_with_the_fix() {
    let err = parse(SECOND_EXAMPLE).expect_err("policies without names are rejected");
    assert_eq!(err.pointer(), Some("/authorized-peers/0"));
    let shown = err.to_string();
    assert!(
        shown.starts_with("/authorized-peers/0: missing required key \"name\""),
        "{shown}"
    );
    assert!(
        shown.contains("Vespa's Java services reject policies without a name"),
        "{shown}"
    );
    assert!(
        shown.contains("add e.g. \"name\": \"backend-monitoring-service\""),
        "{shown}"
    );
}

#[test]
fn second_example_with_names_is_accepted() {
    let named = SECOND_EXAMPLE
        .replacen(
            "{\n      \"required-credentials\"",
            "{\n      \"name\": \"monitoring\",\n      \"required-credentials\"",
            1,
        )
        .replacen(
            "}, \n    {\n      \"required-credentials\"",
            "}, \n    {\n      \"name\": \"cluster-p2p\",\n      \"required-credentials\"",
            1,
        );
    let (options, diagnostics) = parse(&named).expect("named example parses");
    assert!(!diagnostics.has_errors(), "{diagnostics:?}");
    let peers = options.authorized_peers.expect("authorized-peers");
    let policies = peers.policies();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0].name, "monitoring");
    assert_eq!(
        policies[0].description.as_deref(),
        Some("Backend monitoring service access")
    );
    assert_eq!(
        policies[0].capabilities, None,
        "no capabilities key grants all"
    );
    assert_eq!(policies[0].required_credentials.len(), 2);
    assert_eq!(
        policies[0].required_credentials[1].field,
        CredentialField::SanDns
    );
    assert_eq!(
        policies[0].required_credentials[1].must_match,
        "*.us-east-*.monitor.example.com"
    );
    assert_eq!(policies[1].name, "cluster-p2p");
    assert_eq!(
        policies[1].required_credentials[0].must_match,
        "*.mycluster.vespa.example.com"
    );
    // Canonical output parses back to the same value.
    let again = parse(&options_json(&named))
        .expect("canonical form parses")
        .0;
    assert_eq!(again.authorized_peers.expect("peers").policies(), policies);
}

fn options_json(text: &str) -> String {
    parse(text).expect("parses").0.to_json()
}
