//! A `tower::Service<Uri>` connector for hyper-util's client and tonic's `Endpoint`.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::rt::TokioIo;
use tower_service::Service;

use crate::connector::Connector;
use crate::error::TransportError;

use super::connection::Connection;

/// Connects hyper-util's `Client` (and tonic's `Endpoint::connect_with_connector`) the way a
/// Vespa client does: the host of the URI is resolved, its addresses are tried in the order
/// the resolver gives them, and the first one that connects is used, with the
/// [`Connector`]'s mixed mode (TLS or plaintext: the mode decides, not the URI's scheme), SNI
/// and Vespa's hostname validation for the URI's host, and authorization of the server.
///
/// The port is the URI's, else 443 for `https` and 80 for `http`. The connector offers ALPN
/// `h2` and `http/1.1` unless it was given its own list; when the server picks `h2` the client
/// speaks HTTP/2. Every response carries the server's
/// [`ConnectionAuthContext`](crate::ConnectionAuthContext) in its extensions.
#[derive(Debug, Clone)]
pub struct HttpsConnector {
    connector: Connector,
}

impl HttpsConnector {
    /// Connects with `connector`.
    pub fn new(connector: Connector) -> Self {
        let connector = if connector.alpn_protocols().is_empty() {
            connector.with_alpn_protocols(super::ALPN_PROTOCOLS)
        } else {
            connector
        };
        HttpsConnector { connector }
    }

    /// The connector it uses.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }
}

impl Service<Uri> for HttpsConnector {
    type Response = TokioIo<Connection>;
    type Error = TransportError;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> ConnectFuture {
        let connector = self.connector.clone();
        ConnectFuture(Box::pin(async move {
            connect(&connector, &uri).await.map(TokioIo::new)
        }))
    }
}

/// The future of [`HttpsConnector`]'s `call`.
pub struct ConnectFuture(
    Pin<Box<dyn Future<Output = Result<TokioIo<Connection>, TransportError>> + Send>>,
);

impl fmt::Debug for ConnectFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectFuture")
    }
}

impl Future for ConnectFuture {
    type Output = Result<TokioIo<Connection>, TransportError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

async fn connect(connector: &Connector, uri: &Uri) -> Result<Connection, TransportError> {
    let invalid = |problem| TransportError::InvalidUri {
        uri: uri.to_string(),
        problem,
    };
    let host = uri.host().ok_or_else(|| invalid("no host to connect to"))?;
    // `[::1]` in a URI is `::1` as an address and as a TLS server name.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("http")) => 80,
        (None, Some("https") | None) => 443,
        (None, Some(_)) => return Err(invalid("no port, and a scheme other than http or https")),
    };
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|error| TransportError::Resolve {
                host: host.to_owned(),
                error,
            })?
            .collect(),
    };
    let mut last = None;
    for address in addresses {
        match connector.connect_tcp(address, host).await {
            Ok((stream, auth)) => return Ok(Connection::new(stream, auth)),
            // Another address may have a listener; a server that answered and was refused
            // (or refused us) is the answer, and trying it again elsewhere would only count
            // and log the same refusal twice and report the last address's error instead.
            Err(error) if no_listener_there(&error) => {
                tracing::debug!("{host}: {error}; trying the next address");
                last = Some(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(last.unwrap_or_else(|| TransportError::Resolve {
        host: host.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
    }))
}

/// Whether the TCP connection itself failed (nothing, or nothing reachable, listens at that
/// address), the one failure after which the next address of the host is tried.
fn no_listener_there(error: &TransportError) -> bool {
    use std::io::ErrorKind;
    match error {
        TransportError::Timeout { stage, .. } => *stage == crate::connector::TCP_CONNECT,
        TransportError::Io { error, .. } => matches!(
            error.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::AddrNotAvailable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::HostUnreachable
                | ErrorKind::TimedOut
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use super::*;
    use crate::error::Peer;

    #[test]
    fn only_a_failed_tcp_connection_moves_on_to_the_next_address() {
        let peer = || Peer(Some(SocketAddr::from(([127, 0, 0, 1], 4443))));
        let io = |kind| TransportError::Io {
            peer: peer(),
            error: io::Error::from(kind),
        };
        let timeout = |stage| TransportError::Timeout {
            peer: peer(),
            stage,
            timeout: Duration::from_secs(1),
        };
        assert!(no_listener_there(&io(io::ErrorKind::ConnectionRefused)));
        assert!(no_listener_there(&io(io::ErrorKind::NetworkUnreachable)));
        assert!(no_listener_there(&timeout(crate::connector::TCP_CONNECT)));
        assert!(!no_listener_there(&timeout("TLS handshake")));
        assert!(!no_listener_there(&io(io::ErrorKind::ConnectionReset)));
        assert!(!no_listener_there(&TransportError::Handshake {
            peer: peer(),
            error: io::Error::other("certificate names another host"),
        }));
        assert!(!no_listener_there(&TransportError::Credentials {
            peer: peer(),
            problem: "the peer presented no certificate",
        }));
    }
}
