//! Every integration test of this crate, one module per area, in one test binary: one link
//! of rustls and aws-lc for the crate instead of one per file.

mod default_env;
mod env;
mod roundtrip;
mod rules;
mod seed;
