//! The seed guide's authorization example, as tests and benchmarks share it.

use vespa_tls_config::TransportSecurityOptions;

/// The seed guide's authorization example with the policy names Vespa's Java services require
/// (`monitoring`: a CN and a SAN_DNS pattern; `cluster-p2p`: one SAN_DNS pattern; neither
/// lists capabilities, so both grant all). The paths are the guide's placeholders.
///
/// Text, not a typed value, so that benchmarks can time the parser on it and tests can edit it.
pub const SEED_CONFIG: &str = r#"{
  "files": {
    "ca-certificates": "/absolute/path/to/ca-certs.pem",
    "certificates": "/absolute/path/to/host-certs.pem",
    "private-key": "/absolute/path/to/private-key.pem"
  },
  "authorized-peers": [
    {
      "name": "monitoring",
      "required-credentials": [
        { "field": "CN", "must-match": "vespa-monitoring.example.com" },
        { "field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com" }
      ],
      "description": "Backend monitoring service access"
    },
    {
      "name": "cluster-p2p",
      "required-credentials": [
        { "field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com" }
      ],
      "description": "Cluster-internal node P2P access"
    }
  ]
}"#;

/// [`SEED_CONFIG`] parsed.
pub fn seed_options() -> TransportSecurityOptions {
    match vespa_tls_config::parse(SEED_CONFIG) {
        Ok((options, _)) => options,
        Err(e) => panic!("the seed config parses: {e}"),
    }
}
