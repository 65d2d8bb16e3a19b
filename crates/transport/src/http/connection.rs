//! A stream together with what its handshake found out about the peer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::auth::ConnectionAuthContext;
use crate::stream::TransportStream;

/// One accepted or dialled connection: the [`TransportStream`] and its
/// [`ConnectionAuthContext`], read and written like the stream.
///
/// This is the I/O type of [`Listener`](super::Listener) (and so of `axum::serve` and tonic's
/// `serve_with_incoming` on it) and, wrapped in hyper-util's `TokioIo`, of
/// [`HttpsConnector`](super::HttpsConnector).
#[derive(Debug)]
pub struct Connection<IO = TcpStream> {
    stream: TransportStream<IO>,
    auth: ConnectionAuthContext,
}

impl<IO> Connection<IO> {
    /// A stream and its auth context, as [`Acceptor`](crate::Acceptor) and
    /// [`Connector`](crate::Connector) return them.
    pub fn new(stream: TransportStream<IO>, auth: ConnectionAuthContext) -> Self {
        Connection { stream, auth }
    }

    /// The peer: credentials, capabilities, ALPN protocol, TLS or plaintext.
    pub fn auth(&self) -> &ConnectionAuthContext {
        &self.auth
    }

    /// The stream.
    pub fn stream(&self) -> &TransportStream<IO> {
        &self.stream
    }

    /// The stream and the auth context.
    pub fn into_parts(self) -> (TransportStream<IO>, ConnectionAuthContext) {
        (self.stream, self.auth)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for Connection<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Connection<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// For hyper-util's client: the pool uses h2 when ALPN chose it, and every response carries
/// the server's [`ConnectionAuthContext`] in its extensions.
impl<IO> hyper_util::client::legacy::connect::Connection for Connection<IO> {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        let connected =
            hyper_util::client::legacy::connect::Connected::new().extra(self.auth.clone());
        if self.auth.alpn_protocol() == Some(b"h2") {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

#[cfg(feature = "tonic")]
impl<IO> tonic::transport::server::Connected for Connection<IO> {
    type ConnectInfo = ConnectionAuthContext;

    /// Read in a handler with `request.extensions().get::<ConnectionAuthContext>()`.
    fn connect_info(&self) -> ConnectionAuthContext {
        self.auth.clone()
    }
}
