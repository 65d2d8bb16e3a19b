//! Every integration test of this crate, one module per area, in one test binary: one link
//! of rustls and aws-lc for the crate instead of one per file.

mod alpn;
mod axum_curl;
pub mod common;
mod deadlines;
mod following;
mod grpc;
mod handle;
mod hostile;
mod http;
mod matrix;
mod openssl;
mod peers;
mod rotation;
mod traffic;
