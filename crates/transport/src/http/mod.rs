//! HTTP/1.1, HTTP/2 and gRPC on the transport (feature `hyper`; `axum` and `tonic` add the
//! glue for those crates).
//!
//! - [`Listener`]: accepts TCP connections and runs their snoops and handshakes concurrently,
//!   each under the acceptor's deadline, handing out finished [`Connection`]s in the order
//!   they finish: a client that connects and stays silent delays nobody. Serve it with
//!   [`serve`] (hyper-util's auto HTTP/1.1 + h2 server), with `axum::serve` (feature
//!   `axum`), or with tonic's `serve_with_incoming` (feature `tonic`).
//! - [`HttpsConnector`]: a `tower::Service<Uri>` for hyper-util's `Client` and tonic's
//!   `Endpoint::connect_with_connector`: resolves the host, tries its addresses in order, and
//!   connects with the [`Connector`](crate::Connector) (mixed mode, Vespa's hostname
//!   validation, authorization of the server, ALPN `h2` and `http/1.1`).
//! - [`RequireCapabilitiesLayer`]: a tower layer that checks Vespa capabilities per request
//!   and answers `403` as Vespa's HTTP server does.
//! - The peer: every request served through [`serve`] carries the connection's
//!   [`ConnectionAuthContext`](crate::ConnectionAuthContext) in its extensions (axum:
//!   `ConnectInfo<ConnectionAuthContext>` with `into_make_service_with_connect_info`); every
//!   response from a client on [`HttpsConnector`] carries the server's.
//!
//! An HTTPS service that requires `vespa.container.state_api`, as a Vespa process would run it
//! (features `hyper` and `axum`):
//!
//! ```no_run
//! use axum::{Extension, Router, routing::get};
//! use vespa_tls_authz::{Capability, CapabilitySet};
//! use vespa_tls_context::ReloadOptions;
//! use vespa_tls_transport::http::{self, Listener, RequireCapabilitiesLayer};
//! use vespa_tls_transport::{ConnectionAuthContext, VespaTls};
//!
//! async fn health(Extension(peer): Extension<ConnectionAuthContext>) -> &'static str {
//!     // The peer's credentials, capabilities and ALPN protocol are at hand.
//!     let _ = peer.peer_credentials();
//!     r#"{"status":{"code":"up"}}"#
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = VespaTls::from_env(ReloadOptions::default())?;
//! let acceptor = tls.acceptor().with_alpn_protocols(http::ALPN_PROTOCOLS);
//! let listener = Listener::bind("127.0.0.1:8443", acceptor).await?;
//! let app = Router::new()
//!     .route("/state/v1/health", get(health))
//!     .layer(RequireCapabilitiesLayer::new(CapabilitySet::of(&[
//!         Capability::ContainerStateApi,
//!     ])));
//! http::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! And a client of it, built once for the process (it follows reloads: each new connection
//! uses the current certificate):
//!
//! ```no_run
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use vespa_tls_context::ReloadOptions;
//! use vespa_tls_transport::VespaTls;
//! use vespa_tls_transport::http::HttpsConnector;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = VespaTls::from_env(ReloadOptions::default())?;
//! let client: Client<_, Empty<bytes::Bytes>> =
//!     Client::builder(TokioExecutor::new()).build(HttpsConnector::new(tls.connector()));
//! let response = client.get("https://node1.example:8443/state/v1/health".parse()?).await?;
//! # Ok(()) }
//! ```

mod capability;
mod client;
mod connection;
mod listener;
mod server;

pub use capability::{
    RequireCapabilities, RequireCapabilitiesLayer, ResponseFuture, forbidden_body,
};
pub use client::{ConnectFuture, HttpsConnector};
pub use connection::Connection;
pub use listener::{DEFAULT_MAX_PENDING_HANDSHAKES, Listener};
pub use server::{serve, serve_connection};

/// `h2` then `http/1.1`: what an HTTP server offers and an HTTP client asks for.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];
