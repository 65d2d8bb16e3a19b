//! Vespa's TLS configuration, read exactly as Vespa's processes read it, with no I/O.
//!
//! This crate turns the bytes of the file named by `VESPA_TLS_CONFIG_FILE` into a
//! [`TransportSecurityOptions`] and the four `VESPA_TLS_*` environment variables into an
//! [`Environment`]. Every rule from `docs/CONFIG.md` is applied at parse time, so a value that
//! exists is valid; findings that are not fatal come back as [`Diagnostics`].
//!
//! **Invariant:** this crate performs no I/O. It opens no files or sockets, reads no environment
//! variables and never looks at the clock; callers pass bytes and a lookup function in.
//! `cargo xtask ci` enforces this.
//!
//! ```
//! let text = r#"{
//!   "files": {
//!     "ca-certificates": "/etc/vespa/tls/ca.pem",
//!     "certificates": "/etc/vespa/tls/host.pem",
//!     "private-key": "/etc/vespa/tls/host.key"
//!   },
//!   "disable-hostname-validaton": true
//! }"#;
//! let (options, diagnostics) = vespa_tls_config::parse(text)?;
//! assert_eq!(options.files.private_key.to_str(), Some("/etc/vespa/tls/host.key"));
//! assert!(!options.disable_hostname_validation);
//! let typo = diagnostics.with_code("unknown-key").next().unwrap();
//! assert!(typo.message.contains("did you mean \"disable-hostname-validation\""));
//!
//! // A misspelled access-control key is refused: ignoring it would admit every peer.
//! let open = text.replace("disable-hostname-validaton\": true", "authorised-peers\": []");
//! let error = vespa_tls_config::parse(&open).unwrap_err();
//! assert_eq!(error.pointer(), Some("/authorised-peers"));
//! # Ok::<(), vespa_tls_config::ConfigError>(())
//! ```
#![warn(missing_docs)]

mod default_env;
mod diagnostics;
mod env;
mod error;
mod escape;
mod json;
mod options;
mod parse;
mod serialize;
mod suggest;

pub use default_env::{
    DEFAULT_ENV_FILE, DefaultEnv, DefaultEnvAction, DefaultEnvEntry, Origin, Resolved,
    TLS_VARIABLES,
};
pub use diagnostics::{Diagnostic, Diagnostics, Location, Severity};
pub use env::{
    AUTHORIZATION_MODE_VAR, AuthorizationMode, CAPABILITY_MODE_VAR, CONFIG_FILE_VAR,
    CapabilityMode, EnvError, Environment, MIXED_MODE_VAR, MixedMode,
};
pub use error::ConfigError;
pub use escape::Escaped;
pub use options::{
    AuthorizedPeers, CipherSuite, CredentialField, Files, PeerPolicy, RequiredPeerCredential,
    TlsProtocol, TransportSecurityOptions,
};
pub use parse::{parse, parse_slice};

/// Stable identifiers of the findings this crate reports.
pub mod codes {
    pub use crate::default_env::codes::*;
    pub use crate::env::codes::*;
    pub use crate::parse::codes::*;
}

/// The README's examples, run as doctests so that what crates.io shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
