//! Serving HTTP/1.1 and h2 on a [`Listener`] with hyper-util's auto builder.

use std::task::{Context, Poll};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower_service::Service;

use crate::auth::ConnectionAuthContext;

use super::connection::Connection;
use super::listener::Listener;

/// Serves `service` on every connection of `listener` until the listener fails: HTTP/1.1 or
/// h2 as ALPN chose (plaintext peers of a mixed-mode server: HTTP/1.1, or h2 with prior
/// knowledge, told apart by the first bytes). Each connection runs on a task of its own
/// ([`serve_connection`]).
///
/// Every request carries its connection's [`ConnectionAuthContext`] in its extensions, where
/// [`RequireCapabilitiesLayer`](super::RequireCapabilitiesLayer) and handlers find it.
pub async fn serve<S, B>(mut listener: Listener, service: S) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (connection, peer) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(error) = serve_connection(connection, service).await {
                tracing::debug!("tcp/{peer}: HTTP connection ended: {error}");
            }
        });
    }
}

/// Serves `service` on one connection (from a [`Listener`], or an
/// [`Acceptor`](crate::Acceptor) by hand) until it closes, with hyper-util's auto HTTP/1.1 +
/// h2 server; every request carries the connection's [`ConnectionAuthContext`].
pub async fn serve_connection<S, B>(
    connection: Connection,
    service: S,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = WithAuth {
        auth: connection.auth().clone(),
        inner: service,
    };
    auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(connection), TowerToHyperService::new(service))
        .await
}

/// Puts the connection's auth context into each request's extensions.
#[derive(Debug, Clone)]
struct WithAuth<S> {
    auth: ConnectionAuthContext,
    inner: S,
}

impl<S, B> Service<Request<B>> for WithAuth<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        request.extensions_mut().insert(self.auth.clone());
        self.inner.call(request)
    }
}
