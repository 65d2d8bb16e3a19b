//! The reloadable TLS context (under construction).
#![warn(missing_docs)]

mod cache;
pub mod check;
mod context;
mod error;
pub mod exposition;
mod following;
pub mod hostname;
mod metrics;
mod provider;
mod ratelimit;
mod reload;
mod trust;
mod verifier;

/// The rustls whose configs and errors this crate's signatures use.
pub use rustls;

pub use check::{CheckOptions, CheckReport};
pub use context::{TlsContext, TlsModes, codes};
pub use error::ContextError;
pub use exposition::{PROMETHEUS_CONTENT_TYPE, TlsCollector, render_prometheus};
pub use metrics::{
    FailureCounters, FailureSnapshot, HandshakeFailure, MetricsSnapshot, Side, SideCounters,
    SideSnapshot, TlsMetrics,
};
/// The `prometheus-client` crate [`TlsCollector`] is registered with.
pub use prometheus_client;
pub use provider::{vespa_protocol, vespa_suite};
pub use ratelimit::RateLimiter;
pub use reload::{
    ReloadEvent, ReloadFailure, ReloadOptions, ReloadOutcome, ReloadStatus, ReloadingTlsContext,
};
pub use trust::{
    AnchorEntry, AnchorKind, CertificateName, ChainError, PeerRole, TrustAnchors, VerifiedChain,
};
pub use verifier::{PeerRejection, VerifiedPeer};
