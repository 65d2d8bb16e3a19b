//! Vespa's peer authorization: who may talk to this process, and with which capabilities.
//!
//! [`Authorizer::compile`] turns the `authorized-peers` of a
//! [`vespa_tls_config::TransportSecurityOptions`] into precompiled [`Glob`] matchers and
//! [`CapabilitySet`]s; [`Authorizer::authorize`] applies them to the [`PeerCredentials`] read from
//! the peer's verified leaf certificate ([`PeerCredentials::from_der`]) and returns an
//! [`AuthorizationResult`] that says what matched or why nothing did. [`verify_capabilities`]
//! checks a request against the granted capabilities under the capability enforcement mode and
//! produces Vespa's permission-denied message. [`Authorizer::explain`] keeps the evaluation
//! of every requirement of every policy behind a decision, for a person asking why
//! ([`Explanation`]). The rules are in `docs/AUTHORIZATION.md`.
//!
//! **Invariant:** this crate performs no I/O. It opens no files or sockets, reads no environment
//! variables, never looks at the clock and never logs; it returns values and messages, and
//! callers log. `cargo xtask ci` enforces this.
//!
//! ```
//! use vespa_tls_authz::{Authorizer, PeerCredentials};
//! let (options, _) = vespa_tls_config::parse(r#"{
//!   "files": {"ca-certificates": "/c", "certificates": "/h", "private-key": "/k"},
//!   "authorized-peers": [{
//!     "name": "monitoring",
//!     "required-credentials": [
//!       {"field": "CN", "must-match": "vespa-monitoring.example.com"},
//!       {"field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com"}
//!     ],
//!     "capabilities": ["vespa.telemetry"]
//!   }]
//! }"#)?;
//! let (authorizer, _diagnostics) = Authorizer::compile(options.authorized_peers.as_ref());
//! let east = PeerCredentials::new(
//!     Some("vespa-monitoring.example.com"), &["i1.us-east-2.monitor.example.com"], &[]);
//! let west = PeerCredentials::new(
//!     Some("vespa-monitoring.example.com"), &["i1.us-west-1.monitor.example.com"], &[]);
//! assert_eq!(authorizer.authorize(&east).capabilities().len(), 6);
//! assert!(!authorizer.authorize(&west).is_authorized());
//! # Ok::<(), vespa_tls_config::ConfigError>(())
//! ```
#![warn(missing_docs)]

mod authorizer;
mod capability;
mod check;
mod credentials;
mod error;
mod explain;
mod glob;

/// The `der` whose error [`AuthzError`] carries for a certificate that does not decode.
pub use der;

pub use authorizer::{AuthorizationResult, Authorizer, DenialReason, HandshakeDecision, codes};
pub use capability::{CAPABILITY_SET_NAMES, Capability, CapabilitySet};
pub use check::{CapabilityCheck, permission_denied_message, verify_capabilities};
pub use credentials::PeerCredentials;
#[doc(hidden)]
pub use credentials::{CertificateParts, Extension};
pub use error::{AuthzError, SanKind};
pub use explain::{Explanation, PolicyExplanation, RequirementCheck};
pub use glob::{Glob, GlobDialect};

/// The README's examples, run as doctests so that what crates.io shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
