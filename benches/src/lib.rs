//! Inputs shared by the benchmarks in `benches/`.
#![warn(missing_docs)]

pub mod chart;
pub mod cpu;

/// The seed guide's authorization example with the policy names Vespa's Java services require.
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
