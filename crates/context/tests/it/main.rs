//! Every integration test of this crate, one module per area, in one test binary: one link
//! of rustls and aws-lc for the crate instead of one per file.

mod chain_cache;
pub mod common;
mod exposition;
mod handshake;
mod openssl_trust;
mod reload;
