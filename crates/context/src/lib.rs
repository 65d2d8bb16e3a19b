//! Vespa-compatible TLS contexts on rustls: verification, authorization and reloads.
//!
//! A [`TlsContext`] is one snapshot of a TLS config: its material loaded and checked, rustls
//! server and client configs that verify peers as Vespa does (the CA bundle, hostname
//! validation, the accepted ciphers and protocols) and authorize them with `authorized-peers`
//! ([`VerifiedPeer`]). A [`ReloadingTlsContext`] follows the config file and the files it
//! names, publishing a new snapshot when they change and keeping the old one when the new
//! files are bad ([`ReloadEvent`], [`ReloadStatus`]); its
//! [`server_config`](ReloadingTlsContext::server_config) and
//! [`client_config`](ReloadingTlsContext::client_config) are rustls configs for third-party
//! stacks that follow every reload. [`TlsMetrics`] counts under Vespa's metric names, and
//! [`TlsCollector`] exposes them to Prometheus. [`check`] reports on a config the way
//! `vespa-tls check` shows it.
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
mod tbs;
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
/// The `notify` whose error [`ContextError`] carries when a file watch cannot start.
pub use notify;
/// The `prometheus-client` crate [`TlsCollector`] is registered with.
pub use prometheus_client;
pub use provider::{vespa_protocol, vespa_suite};
pub use ratelimit::RateLimiter;
pub use reload::{
    ReloadEvent, ReloadFailure, ReloadOptions, ReloadOutcome, ReloadStatus, ReloadingTlsContext,
};
/// The `time` whose [`OffsetDateTime`](time::OffsetDateTime) [`CheckOptions::now`] takes.
pub use time;
pub use trust::{
    AnchorEntry, AnchorKind, CertificateName, ChainError, PeerRole, TrustAnchors, VerifiedChain,
};
pub use verifier::{PeerRejection, VerifiedPeer};

/// The README's examples, run as doctests so that what crates.io shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
