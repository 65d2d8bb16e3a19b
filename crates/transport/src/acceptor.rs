//! The server side: accept a socket, detect TLS in mixed mode, handshake, authorize.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, sleep_until};
use tracing::Instrument as _;
use vespa_tls_config::Escaped;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{
    PeerRejection, PeerRole, RateLimiter, Side, TlsContext, TlsMetrics, vespa_protocol, vespa_suite,
};

use crate::alpn::Alpn;
use crate::auth::ConnectionAuthContext;
use crate::error::{NO_CERTIFICATE, Peer, TransportError};
use crate::snoop::{NotTlsReason, Snoop, classify};
use crate::source::{ServerMode, TlsSource, server_mode};
use crate::stream::{BrokenCounter, Rewind, TransportStream};

/// The default deadline for the snoop and the TLS handshake together.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest handshake deadline: a longer one (`Duration::MAX`) is read as this, so that
/// "now + deadline" is always a time the clock can hold.
pub(crate) const MAX_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How often one peer address's failures are logged.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How long an accept loop waits after `accept` failed for a reason that is not one
/// connection's (out of file descriptors or memory).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What an accept loop does after `TcpListener::accept` failed: go on at once when only that
/// connection failed (reset or aborted by the peer before we took it: nothing to wait for, and
/// not worth a warning), otherwise log a warning naming `listener` and pause briefly, so a
/// process out of file descriptors does not spin on the CPU.
///
/// [`http::Listener`](crate::http::Listener)'s loop uses it; so can a hand-written loop over
/// [`Acceptor`].
pub async fn pause_after_accept_error(listener: &str, error: &std::io::Error) {
    if accept_failed_for_one_connection(error) {
        tracing::debug!("{listener}: a connection ended before it was accepted: {error}");
    } else {
        tracing::warn!("{listener}: cannot accept a connection: {error}");
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }
}

/// Whether `accept` failed for that one connection only.
fn accept_failed_for_one_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    )
}

/// Accepts connections the way a Vespa server does. Cheap to clone; share one per listener.
///
/// - TLS not configured: every connection is plaintext.
/// - `tls_client_tls_server` (or the mixed mode unset): TLS only. Bytes that are not a TLS
///   handshake record are refused at once; everything else goes to rustls.
/// - `plaintext_client_mixed_server` / `tls_client_mixed_server`: Vespa's 8-byte ClientHello
///   snoop decides, and the bytes it read are replayed to TLS or to the plaintext side.
///
/// One deadline covers snoop and handshake, so a silent or slow client never holds a task.
/// Each connection uses the TLS snapshot current when it was accepted.
#[derive(Debug, Clone)]
pub struct Acceptor {
    source: TlsSource,
    mixed: MixedMode,
    handshake_timeout: Duration,
    log_limiter: Arc<RateLimiter>,
    alpn: Arc<Alpn<rustls::ServerConfig>>,
}

impl Acceptor {
    /// An acceptor for `source` in mixed mode `mixed`.
    pub fn new(source: TlsSource, mixed: MixedMode) -> Self {
        Acceptor {
            source,
            mixed,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            log_limiter: Arc::new(RateLimiter::new(LOG_INTERVAL)),
            alpn: Arc::new(Alpn::new(Vec::new())),
        }
    }

    /// Offers these ALPN protocols, most preferred first (e.g. `[b"h2", b"http/1.1"]`): the
    /// server picks the first of them the client also offers. A client that offers ALPN but
    /// none of these is refused (`no_application_protocol`); one that offers none connects
    /// without a protocol. The choice is on [`TransportStream::alpn_protocol`] and
    /// [`ConnectionAuthContext::alpn_protocol`]. Plaintext connections (mixed mode) have none:
    /// an HTTP server tells HTTP/1.1 from h2c prior knowledge by the first bytes.
    pub fn with_alpn_protocols<P: Into<Vec<u8>>>(
        mut self,
        protocols: impl IntoIterator<Item = P>,
    ) -> Self {
        self.alpn = Arc::new(Alpn::new(protocols.into_iter().map(Into::into).collect()));
        self
    }

    /// The ALPN protocols offered, most preferred first (empty: no ALPN).
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        self.alpn.protocols()
    }

    /// Sets the deadline for snoop and handshake together (default 10 s). More than a day is
    /// read as a day (the deadline must be a time the clock can hold); zero leaves a handshake
    /// no time to wait for its peer.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout.min(MAX_HANDSHAKE_TIMEOUT);
        self
    }

    /// Where TLS contexts come from.
    pub fn source(&self) -> &TlsSource {
        &self.source
    }

    /// The mixed mode.
    pub fn mixed_mode(&self) -> MixedMode {
        self.mixed
    }

    /// The process-wide counters.
    pub fn metrics(&self) -> Arc<TlsMetrics> {
        self.source.metrics()
    }

    /// Accepts a TCP connection (Nagle off).
    pub async fn accept_tcp(
        &self,
        stream: TcpStream,
    ) -> Result<(TransportStream<TcpStream>, ConnectionAuthContext), TransportError> {
        let peer = stream.peer_addr().ok();
        let _ = stream.set_nodelay(true);
        self.accept(stream, peer).await
    }

    /// Accepts a TCP connection from `peer`, the address the listener's `accept` returned with
    /// it (Nagle off): [`accept_tcp`](Self::accept_tcp) without asking the kernel for the
    /// address a second time.
    pub async fn accept_tcp_from(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<(TransportStream<TcpStream>, ConnectionAuthContext), TransportError> {
        let _ = stream.set_nodelay(true);
        self.accept(stream, Some(peer)).await
    }

    /// Accepts a connection over any byte stream; `peer_address` is used in logs and messages.
    pub async fn accept<IO>(
        &self,
        io: IO,
        peer_address: Option<SocketAddr>,
    ) -> Result<(TransportStream<IO>, ConnectionAuthContext), TransportError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        // One span per handshake: every event of this connection's setup carries its side and
        // peer address (the span is disabled, and costs a branch, below DEBUG).
        let span =
            tracing::debug_span!("tls_handshake", side = "server", peer = %Peer(peer_address));
        self.accept_in_span(io, peer_address).instrument(span).await
    }

    async fn accept_in_span<IO>(
        &self,
        io: IO,
        peer_address: Option<SocketAddr>,
    ) -> Result<(TransportStream<IO>, ConnectionAuthContext), TransportError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let metrics = self.source.metrics();
        let peer = Peer(peer_address);
        // One timer for snoop and handshake together: registered once, however many reads.
        let deadline = sleep_until(Instant::now() + self.handshake_timeout);
        tokio::pin!(deadline);
        let mode = server_mode(&self.source, self.mixed);
        let context = match (mode, self.source.current()) {
            (ServerMode::PlaintextOnly, _) | (_, None) => {
                return Ok(self.plaintext(Vec::new(), io, peer_address, &metrics));
            }
            (_, Some(context)) => context,
        };
        let mut io = io;
        let result = self
            .snoop_and_handshake(&mut io, mode, &context, peer, deadline.as_mut())
            .await;
        match result {
            Ok(Decision::Plaintext(prefix)) => {
                Ok(self.plaintext(prefix, io, peer_address, &metrics))
            }
            Ok(Decision::Tls(prefix)) => {
                self.handshake(context, prefix, io, peer, deadline, &metrics)
                    .await
            }
            Err(error) => {
                metrics.server.count_failure(error.failure_reason());
                self.log_failure(&error, peer);
                Err(error)
            }
        }
    }

    fn plaintext<IO>(
        &self,
        prefix: Vec<u8>,
        io: IO,
        peer_address: Option<SocketAddr>,
        metrics: &Arc<TlsMetrics>,
    ) -> (TransportStream<IO>, ConnectionAuthContext) {
        TlsMetrics::bump(&metrics.server.insecure_connections);
        tracing::debug!(
            side = "server",
            peer = %Peer(peer_address),
            security = "insecure",
            "{}: plaintext connection accepted",
            Peer(peer_address)
        );
        let auth = ConnectionAuthContext::plaintext(
            peer_address,
            self.source.capability_mode(),
            Arc::clone(metrics),
        );
        (TransportStream::Plain(Rewind::new(prefix, io)), auth)
    }

    /// Reads as much as the mode needs to decide, within the deadline.
    async fn snoop_and_handshake<IO>(
        &self,
        io: &mut IO,
        mode: ServerMode,
        _context: &Arc<TlsContext>,
        peer: Peer,
        mut deadline: Pin<&mut Sleep>,
    ) -> Result<Decision, TransportError>
    where
        IO: AsyncRead + Unpin,
    {
        let mut prefix = Vec::with_capacity(2048);
        loop {
            let snoop = classify(&prefix);
            match (mode, snoop) {
                (ServerMode::Mixed, Snoop::Tls) => return Ok(Decision::Tls(prefix)),
                (ServerMode::Mixed, Snoop::NotTls(_)) => return Ok(Decision::Plaintext(prefix)),
                // TLS only: refuse what is plainly not a TLS handshake record (rules 1–2); leave
                // everything else to rustls, which also takes ClientHellos over several records.
                (
                    ServerMode::TlsOnly,
                    Snoop::NotTls(reason @ (NotTlsReason::NotHandshake | NotTlsReason::Version)),
                ) => return Err(TransportError::PlaintextRefused { peer, reason }),
                (ServerMode::TlsOnly, Snoop::Tls | Snoop::NotTls(_)) => {
                    return Ok(Decision::Tls(prefix));
                }
                (ServerMode::TlsOnly, Snoop::NeedMore) if prefix.len() >= 3 => {
                    return Ok(Decision::Tls(prefix));
                }
                _ => {}
            }
            let read = tokio::select! {
                biased;
                read = io.read_buf(&mut prefix) => Ok(read),
                () = deadline.as_mut() => Err(()),
            };
            match read {
                Err(_) => {
                    return Err(TransportError::Timeout {
                        peer,
                        stage: "ClientHello",
                        timeout: self.handshake_timeout,
                    });
                }
                Ok(Ok(0)) => {
                    return Err(TransportError::ClosedDuringSnoop {
                        peer,
                        received: prefix.len(),
                    });
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return Err(TransportError::Io { peer, error }),
            }
        }
    }

    async fn handshake<IO>(
        &self,
        context: Arc<TlsContext>,
        prefix: Vec<u8>,
        io: IO,
        peer: Peer,
        deadline: Pin<&mut Sleep>,
        metrics: &Arc<TlsMetrics>,
    ) -> Result<(TransportStream<IO>, ConnectionAuthContext), TransportError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let config = self
            .alpn
            .config(context.server_config(), |c, p| c.alpn_protocols = p);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let accepted = tokio::select! {
            biased;
            accepted = acceptor.accept(Rewind::new(prefix, io)) => Ok(accepted),
            () = deadline => Err(()),
        };
        let result = match accepted {
            Err(_) => Err(TransportError::Timeout {
                peer,
                stage: "TLS handshake",
                timeout: self.handshake_timeout,
            }),
            Ok(Err(error)) => Err(TransportError::Handshake { peer, error }),
            Ok(Ok(stream)) => {
                let (_, connection) = stream.get_ref();
                auth_context(
                    &context,
                    connection,
                    peer,
                    PeerRole::Client,
                    Arc::clone(metrics),
                )
                .map(|auth| (stream, auth))
            }
        };
        match result {
            Ok((stream, auth)) => {
                TlsMetrics::bump(&metrics.server.tls_connections);
                log_established(Side::Server, peer, &auth);
                let broken = BrokenCounter::new(Arc::clone(metrics), Side::Server);
                Ok((TransportStream::ServerTls(Box::new(stream), broken), auth))
            }
            Err(error) => {
                metrics.server.count_failure(error.failure_reason());
                self.log_failure(&error, peer);
                Err(error)
            }
        }
    }

    /// One line per refused peer address per interval (bounded table), with the reason code
    /// and how many refusals of that address were left out since its last line.
    fn log_failure(&self, error: &TransportError, peer: Peer) {
        let key = peer.0.map(|a| a.ip().to_string()).unwrap_or_default();
        let Some(suppressed) = self.log_limiter.check(&key) else {
            return;
        };
        let reason = error.failure_reason().as_str();
        // Certificate problems (expired, unknown CA, not authorized, none presented) are what an
        // operator looks for; other failures (scanners, plaintext, timeouts) are routine.
        match error.rustls_error() {
            Some(e) => match PeerRejection::from_rustls(e) {
                Some(rejection) => tracing::warn!(
                    side = "server",
                    peer = %peer,
                    reason,
                    suppressed,
                    "{peer}: refused: {rejection}"
                ),
                None if matches!(
                    e,
                    rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
                ) =>
                {
                    tracing::warn!(side = "server", peer = %peer, reason, suppressed, "{error}");
                }
                None => {
                    tracing::info!(side = "server", peer = %peer, reason, suppressed, "{error}")
                }
            },
            None => tracing::info!(side = "server", peer = %peer, reason, suppressed, "{error}"),
        }
    }
}

/// The DEBUG line of an established TLS connection, with its fields: side, peer address, CN,
/// SANs (escaped: they are the peer's bytes), matched policies, capabilities, ALPN.
pub(crate) fn log_established(side: Side, peer: Peer, auth: &ConnectionAuthContext) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let credentials = auth.peer_credentials();
    let cn = credentials
        .and_then(|c| c.common_name.as_deref())
        .map(|cn| Escaped(cn).to_string());
    let sans = credentials
        .map(|c| {
            let dns = c.dns_sans.iter().map(|n| format!("DNS:{}", Escaped(n)));
            let uri = c.uri_sans.iter().map(|n| format!("URI:{}", Escaped(n)));
            dns.chain(uri).collect::<Vec<_>>().join(",")
        })
        .unwrap_or_default();
    let alpn = auth
        .alpn_protocol()
        .map_or_else(|| "none".to_owned(), crate::alpn::display);
    tracing::debug!(
        side = side.as_str(),
        peer = %peer,
        cn = cn.as_deref().unwrap_or(""),
        sans = %sans,
        policies = %auth.matched_policies().join(","),
        capabilities = %auth.capabilities(),
        alpn = %alpn,
        "{peer}: TLS connection established with {}",
        credentials.map(ToString::to_string).unwrap_or_default(),
    );
}

enum Decision {
    Tls(Vec<u8>),
    Plaintext(Vec<u8>),
}

/// The connection's auth context from a finished handshake (either side).
pub(crate) fn auth_context<D>(
    context: &TlsContext,
    connection: &rustls::ConnectionCommon<D>,
    peer: Peer,
    role: PeerRole,
    metrics: Arc<TlsMetrics>,
) -> Result<ConnectionAuthContext, TransportError> {
    let credentials_error = |problem| TransportError::Credentials { peer, problem };
    let chain = connection
        .peer_certificates()
        .ok_or_else(|| credentials_error(NO_CERTIFICATE))?;
    let authorization = context
        .peer_authorization(chain, role)
        .map_err(|rejection| TransportError::Rejected {
            peer,
            rejection: Box::new(rejection),
        })?;
    let protocol = connection
        .protocol_version()
        .and_then(vespa_protocol)
        .ok_or_else(|| credentials_error("unexpected TLS protocol version"))?;
    let suite = connection
        .negotiated_cipher_suite()
        .and_then(|s| vespa_suite(s.suite()))
        .ok_or_else(|| credentials_error("unexpected cipher suite"))?;
    let auth = ConnectionAuthContext::tls(
        peer.0,
        protocol,
        suite,
        authorization.credentials,
        authorization.decision.matched_policies,
        authorization.decision.capabilities,
        context.modes().capability,
        metrics,
    );
    Ok(auth.with_alpn_protocol(connection.alpn_protocol().map(<[u8]>::to_vec)))
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::accept_failed_for_one_connection;

    #[test]
    fn only_a_failure_of_one_connection_skips_the_accept_pause() {
        assert!(accept_failed_for_one_connection(&Error::from(
            ErrorKind::ConnectionAborted
        )));
        assert!(accept_failed_for_one_connection(&Error::from(
            ErrorKind::ConnectionReset
        )));
        // EMFILE / ENFILE (too many open files) and ENOMEM pause the loop.
        assert!(!accept_failed_for_one_connection(
            &Error::from_raw_os_error(24)
        ));
        assert!(!accept_failed_for_one_connection(
            &Error::from_raw_os_error(23)
        ));
        assert!(!accept_failed_for_one_connection(&Error::from(
            ErrorKind::OutOfMemory
        )));
    }
}
