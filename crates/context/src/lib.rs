//! The reloadable TLS context (under construction).
#![warn(missing_docs)]

mod context;
mod error;
pub mod hostname;
mod metrics;
mod provider;
mod ratelimit;
mod reload;
mod verifier;

pub use context::{PeerAuthorization, TlsContext, TlsModes};
pub use error::ContextError;
pub use metrics::{MetricsSnapshot, Side, SideCounters, SideSnapshot, TlsMetrics};
pub use provider::{vespa_protocol, vespa_suite};
pub use reload::{
    ReloadEvent, ReloadFailure, ReloadOptions, ReloadOutcome, ReloadStatus, ReloadingTlsContext,
};
pub use ratelimit::RateLimiter;
pub use verifier::PeerRejection;
