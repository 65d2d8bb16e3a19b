//! Vespa-compatible mixed-mode TLS transport on tokio.
//!
//! An [`Acceptor`] turns an accepted socket into a [`TransportStream`] (TLS or plaintext, one
//! type) and a [`ConnectionAuthContext`] (peer credentials, capabilities, matched policies);
//! a [`Connector`] does the same for outgoing connections. Both follow the mixed-mode phase
//! (`VESPA_TLS_INSECURE_MIXED_MODE`): a mixed server detects TLS from the first bytes with
//! Vespa's 8-byte ClientHello [`snoop`] and replays them to whichever side takes the
//! connection. Counters use Vespa's names ([`vespa_tls_context::TlsMetrics`]).
//!
//! A process makes one [`VespaTls`]: it reads the four `VESPA_TLS_*` variables once, builds
//! the one reloading context they name, and hands out every acceptor and connector, so they
//! all follow the same reloads and count into the same counters.
//!
//! ```no_run
//! use vespa_tls_context::ReloadOptions;
//! use vespa_tls_transport::VespaTls;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = VespaTls::from_env(ReloadOptions::default())?;
//! let acceptor = tls.acceptor();
//! let connector = tls.connector(); // for calls to other nodes: same context, same counters
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4080").await?;
//! loop {
//!     let (socket, _) = listener.accept().await?;
//!     let acceptor = acceptor.clone();
//!     tokio::spawn(async move {
//!         let Ok((mut stream, auth)) = acceptor.accept_tcp(socket).await else { return };
//!         let required = vespa_tls_authz::CapabilitySet::of(&[
//!             vespa_tls_authz::Capability::ContentStatusPages,
//!         ]);
//!         if auth.verify_capabilities(required, "read", "/status").is_ok() {
//!             let _ = stream.write_all(b"ok\n").await;
//!         }
//!     });
//! }
//! # }
//! ```
#![warn(missing_docs)]

mod acceptor;
mod alpn;
mod auth;
mod connector;
mod error;
#[cfg(feature = "hyper")]
pub mod http;
pub mod snoop;
mod source;
mod stream;

/// The rustls this crate's signatures use (configs, errors, certificate types).
pub use rustls;
/// The tokio-rustls whose streams [`TransportStream`] wraps.
pub use tokio_rustls;
/// The authorization layer: [`authz::Capability`] and [`authz::CapabilitySet`] for capability
/// checks.
pub use vespa_tls_authz as authz;
/// The config layer: [`config::MixedMode`] and the other `VESPA_TLS_*` settings.
pub use vespa_tls_config as config;
pub use vespa_tls_context::{self as context, ReloadingTlsContext, TlsContext};

pub use acceptor::{Acceptor, DEFAULT_HANDSHAKE_TIMEOUT, pause_after_accept_error};
pub use auth::{ConnectionAuthContext, ConnectionSecurity, PermissionDenied};
pub use connector::Connector;
pub use error::{Peer, TransportError};
pub use source::{TlsSource, VespaTls};
pub use stream::{BrokenCounter, Rewind, TransportStream};

/// The README's examples, run as doctests so that what crates.io shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
