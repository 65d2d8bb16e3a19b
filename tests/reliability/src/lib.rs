//! Reliability scenarios for vespa-tls: the seed's promises shown under load, with faults, end
//! to end, on loopback.
//!
//! The scenarios themselves live in `tests/it/` (one module per group, see
//! `docs/RELIABILITY.md`); this crate holds what they share, and its public items are exactly
//! what those tests and the `reliability-node` binary use (the rest is `pub(crate)`; the
//! crate is a test harness, `publish = false`, and nothing outside the workspace builds on it):
//!
//! - [`echo`]: the scenarios' echo server (the testkit's
//!   [`Server`](vespa_tls_testkit::Server) on the library's acceptor, keeping few outcomes) and
//!   one *request* (connect, send a checked payload, read the echo, close cleanly);
//! - [`load`]: client loops that count every request (ok, failed, corrupted, latency);
//! - [`node`]: a node *process* (`reliability-node`: echo server and peer caller) and its
//!   handle (on the testkit's [`Served`](vespa_tls_testkit::Served)), for the rolling upgrade;
//! - [`rotation`]: the three ways certificates are replaced (config rename, Kubernetes `..data`
//!   symlink swap, in-place overwrite);
//! - [`hostile`]: odd and hostile clients and the outcome VESPA-BEHAVIOUR §5 gives each;
//! - [`scale`]: the short form (`cargo xtask ci`) and the long form (`VESPA_TLS_SOAK=1`,
//!   `cargo xtask soak`), and [`report`]: the figures each scenario prints.
//!
//! Invariant: everything binds `127.0.0.1:0`, every loop is bounded in count and time, and
//! every await is under a timeout.
#![warn(missing_docs)]

pub mod echo;
mod error;
pub mod hostile;
pub mod load;
pub mod memory;
pub mod node;
mod payload;
pub mod pki;
pub mod report;
pub mod rotation;
pub mod scale;

pub use error::{NodeProblem, ScenarioError};
