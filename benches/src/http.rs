//! The axum app both HTTP/2 servers of the comparison serve: the one on
//! `vespa_tls_transport::http::Listener` (`axum-listener`) and the one on bare tokio-rustls
//! (`bare-server --http`).

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// The path the load generator asks for.
pub const HEALTH_PATH: &str = "/state/v1/health";

/// Vespa's health answer.
pub const HEALTH_BODY: &str = r#"{"status":{"code":"up"}}"#;

/// `GET /state/v1/health` answering [`HEALTH_BODY`] as JSON; nothing else.
pub fn app() -> Router {
    Router::new().route(
        HEALTH_PATH,
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], HEALTH_BODY) }),
    )
}
