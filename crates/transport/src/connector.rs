//! The client side: plaintext or TLS by mixed mode, with SNI and hostname validation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{PeerRole, Side, TlsMetrics};

use tracing::Instrument as _;

use crate::acceptor::{
    DEFAULT_HANDSHAKE_TIMEOUT, MAX_HANDSHAKE_TIMEOUT, auth_context, log_established,
};
use crate::alpn::Alpn;
use crate::auth::ConnectionAuthContext;
use crate::error::{Peer, TransportError};
use crate::source::TlsSource;
use crate::stream::{BrokenCounter, Rewind, TransportStream};

/// The [`TransportError::Timeout`] stage of a TCP connection that did not complete.
pub(crate) const TCP_CONNECT: &str = "TCP connect";

/// Opens connections the way a Vespa client does. Cheap to clone.
///
/// Plaintext when TLS is not configured or in `plaintext_client_mixed_server`; TLS otherwise,
/// sending the host name as SNI (not for IP literals) and validating it unless the config has
/// `disable-hostname-validation`. The server is authorized with our own `authorized-peers`.
///
/// In TLS 1.3 the client finishes its handshake before the server has checked our certificate;
/// a server that refuses us sends an alert afterwards, which surfaces as an error on the first
/// read, never as data or a clean end of stream.
#[derive(Debug, Clone)]
pub struct Connector {
    source: TlsSource,
    mixed: MixedMode,
    handshake_timeout: Duration,
    alpn: Arc<Alpn<rustls::ClientConfig>>,
}

impl Connector {
    /// A connector for `source` in mixed mode `mixed`.
    pub fn new(source: TlsSource, mixed: MixedMode) -> Self {
        Connector {
            source,
            mixed,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            alpn: Arc::new(Alpn::new(Vec::new())),
        }
    }

    /// Offers these ALPN protocols over TLS, most preferred first (e.g. `[b"h2", b"http/1.1"]`);
    /// the server's choice is on [`TransportStream::alpn_protocol`] and
    /// [`ConnectionAuthContext::alpn_protocol`]. Plaintext connections carry none.
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

    /// Sets the deadline for TCP connect and for the TLS handshake (each; default 10 s). More
    /// than a day is read as a day, like the acceptor's; zero leaves no time to wait for the
    /// peer.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout.min(MAX_HANDSHAKE_TIMEOUT);
        self
    }

    /// Where TLS contexts come from.
    pub fn source(&self) -> &TlsSource {
        &self.source
    }

    /// Whether connections from this connector use TLS.
    pub fn uses_tls(&self) -> bool {
        self.source.current().is_some() && self.mixed.client_uses_tls()
    }

    /// Connects to `address` over TCP and, if TLS is used, validates it as `host`.
    pub async fn connect_tcp(
        &self,
        address: SocketAddr,
        host: &str,
    ) -> Result<(TransportStream<TcpStream>, ConnectionAuthContext), TransportError> {
        let peer = Peer(Some(address));
        let stream = match timeout(self.handshake_timeout, TcpStream::connect(address)).await {
            Err(_) => {
                return Err(TransportError::Timeout {
                    peer,
                    stage: TCP_CONNECT,
                    timeout: self.handshake_timeout,
                });
            }
            Ok(Err(error)) => return Err(TransportError::Io { peer, error }),
            Ok(Ok(stream)) => stream,
        };
        let _ = stream.set_nodelay(true);
        self.connect(stream, host, Some(address)).await
    }

    /// Starts a connection over any byte stream to a server known as `host` (a DNS name or
    /// an IP literal).
    pub async fn connect<IO>(
        &self,
        io: IO,
        host: &str,
        peer_address: Option<SocketAddr>,
    ) -> Result<(TransportStream<IO>, ConnectionAuthContext), TransportError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let span =
            tracing::debug_span!("tls_handshake", side = "client", peer = %Peer(peer_address));
        self.connect_in_span(io, host, peer_address)
            .instrument(span)
            .await
    }

    async fn connect_in_span<IO>(
        &self,
        io: IO,
        host: &str,
        peer_address: Option<SocketAddr>,
    ) -> Result<(TransportStream<IO>, ConnectionAuthContext), TransportError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let metrics = self.source.metrics();
        let peer = Peer(peer_address);
        let context = match self.source.current() {
            Some(context) if self.mixed.client_uses_tls() => context,
            _ => {
                TlsMetrics::bump(&metrics.client.insecure_connections);
                let auth = ConnectionAuthContext::plaintext(
                    peer_address,
                    self.source.capability_mode(),
                    Arc::clone(&metrics),
                );
                return Ok((TransportStream::Plain(Rewind::new(Vec::new(), io)), auth));
            }
        };
        let server_name = ServerName::try_from(host.to_owned()).map_err(|_| {
            TransportError::InvalidServerName {
                host: host.to_owned(),
            }
        })?;
        let config = self
            .alpn
            .config(context.client_config(), |c, p| c.alpn_protocols = p);
        let connector = tokio_rustls::TlsConnector::from(config);
        let result = match timeout(self.handshake_timeout, connector.connect(server_name, io)).await
        {
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
                    PeerRole::Server,
                    Arc::clone(&metrics),
                )
                .map(|a| (stream, a))
            }
        };
        match result {
            Ok((stream, auth)) => {
                TlsMetrics::bump(&metrics.client.tls_connections);
                log_established(Side::Client, peer, &auth);
                let broken = BrokenCounter::new(Arc::clone(&metrics), Side::Client);
                Ok((TransportStream::ClientTls(Box::new(stream), broken), auth))
            }
            Err(error) => {
                let reason = error.failure_reason();
                metrics.client.count_failure(reason);
                // The caller gets the error; this line is for tracing a connection's setup.
                tracing::debug!(side = "client", peer = %peer, reason = reason.as_str(), "{error}");
                Err(error)
            }
        }
    }
}
