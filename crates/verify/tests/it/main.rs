//! Every integration test of this crate, one module per area, in one test binary: one link
//! of rustls and aws-lc for the crate instead of one per file.

mod cli;
mod http;
mod install;
mod lifecycle;
mod metrics;
mod node_env;
mod packaging;
mod scan;
mod schema;
