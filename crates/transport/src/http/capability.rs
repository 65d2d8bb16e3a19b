//! Vespa's per-request capability check for HTTP services, as a tower layer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;
use vespa_tls_authz::CapabilitySet;

use crate::auth::ConnectionAuthContext;

/// The body of Vespa's answer to a request whose peer lacks a capability: status 403,
/// `Content-Type: application/json`. The detailed `Permission denied for …` message goes to
/// the log, as in Vespa, and not to the peer.
pub fn forbidden_body() -> &'static str {
    r#"{"error-code":"403","message":"Missing required capabilities"}"#
}

/// The body when a request reaches the layer without a connection auth context: the service
/// is not served through [`serve`](super::serve) (or axum's connect info), a wiring mistake
/// that must not let requests through.
const NO_AUTH_CONTEXT_BODY: &str =
    r#"{"error-code":"500","message":"No connection auth context for this request"}"#;

/// Checks that the peer of each request has every capability in a set before the inner service
/// sees it, as Vespa's HTTP server does: the action is the request method, the resource its
/// path, and the capability enforcement mode decides (`enforce`: 403 with Vespa's body,
/// [`forbidden_body`]; `log_only`: logged and let through; `disable`: let through). Failures
/// count in `capability_checks_failed` and are logged at most once a minute per peer.
///
/// The peer comes from the request's extensions: a [`ConnectionAuthContext`] (put there by
/// [`serve`](super::serve)) or, with feature `axum`, a `ConnectInfo<ConnectionAuthContext>`.
/// A request with neither is answered 500 and never reaches the inner service. Plaintext
/// peers of a mixed-mode server have every capability, as in Vespa.
#[derive(Debug, Clone, Copy)]
pub struct RequireCapabilitiesLayer {
    required: CapabilitySet,
}

impl RequireCapabilitiesLayer {
    /// Requires every capability in `required`.
    pub fn new(required: CapabilitySet) -> Self {
        RequireCapabilitiesLayer { required }
    }
}

impl<S> Layer<S> for RequireCapabilitiesLayer {
    type Service = RequireCapabilities<S>;

    fn layer(&self, inner: S) -> RequireCapabilities<S> {
        RequireCapabilities {
            inner,
            required: self.required,
        }
    }
}

/// The service of [`RequireCapabilitiesLayer`].
#[derive(Debug, Clone)]
pub struct RequireCapabilities<S> {
    inner: S,
    required: CapabilitySet,
}

impl<S> RequireCapabilities<S> {
    /// `inner`, reached only by requests whose peer has every capability in `required`.
    pub fn new(inner: S, required: CapabilitySet) -> Self {
        RequireCapabilities { inner, required }
    }
}

impl<S, B, R> Service<Request<B>> for RequireCapabilities<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    R: From<&'static str>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(auth) = auth_context(&request) else {
            tracing::error!(
                "{} {}: no connection auth context in the request; refusing it (serve through \
                 vespa_tls_transport::http::serve, or axum with ConnectInfo<ConnectionAuthContext>)",
                request.method(),
                request.uri().path()
            );
            return ResponseFuture::answer(StatusCode::INTERNAL_SERVER_ERROR, NO_AUTH_CONTEXT_BODY);
        };
        match auth.verify_capabilities(
            self.required,
            request.method().as_str(),
            request.uri().path(),
        ) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(_denied) => ResponseFuture::answer(StatusCode::FORBIDDEN, forbidden_body()),
        }
    }
}

fn auth_context<B>(request: &Request<B>) -> Option<&ConnectionAuthContext> {
    let extensions = request.extensions();
    let direct = extensions.get::<ConnectionAuthContext>();
    #[cfg(feature = "axum")]
    let direct = direct.or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<ConnectionAuthContext>>()
            .map(|info| &info.0)
    });
    direct
}

pin_project_lite::pin_project! {
    /// The response future of [`RequireCapabilities`]: the inner service's, or a refusal.
    #[derive(Debug)]
    pub struct ResponseFuture<F, R> {
        #[pin]
        inner: Option<F>,
        answer: Option<Response<R>>,
    }
}

impl<F, R> ResponseFuture<F, R> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            inner: Some(future),
            answer: None,
        }
    }

    fn answer(status: StatusCode, body: &'static str) -> Self
    where
        R: From<&'static str>,
    {
        let mut response = Response::new(R::from(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        ResponseFuture {
            inner: None,
            answer: Some(response),
        }
    }
}

impl<F, R, E> Future for ResponseFuture<F, R>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(inner) = this.inner.as_pin_mut() {
            return inner.poll(cx);
        }
        match this.answer.take() {
            Some(response) => Poll::Ready(Ok(response)),
            None => Poll::Pending,
        }
    }
}
