//! Inputs shared by the benchmarks in `benches/`.
#![warn(missing_docs)]

pub mod chart;
pub mod cpu;
pub mod http;
pub mod server;

/// The seed guide's authorization example, shared with the tests (the comparison parses it too).
pub use vespa_tls_testkit::SEED_CONFIG;
