//! One stream type for TLS and plaintext connections, with the snooped bytes replayed first.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use vespa_tls_context::{Side, TlsMetrics};

/// An I/O object that first yields bytes already read from it (the snooped prefix).
#[derive(Debug)]
pub struct Rewind<IO> {
    prefix: Vec<u8>,
    offset: usize,
    inner: IO,
}

impl<IO> Rewind<IO> {
    pub(crate) fn new(prefix: Vec<u8>, inner: IO) -> Self {
        Rewind {
            prefix,
            offset: 0,
            inner,
        }
    }

    /// The underlying I/O object.
    pub fn get_ref(&self) -> &IO {
        &self.inner
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.offset < this.prefix.len() {
            let rest = &this.prefix[this.offset..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.offset += n;
            if this.offset == this.prefix.len() {
                this.prefix = Vec::new();
                this.offset = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Rewind<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A connection from an [`Acceptor`](crate::Acceptor) or a [`Connector`](crate::Connector):
/// TLS or plaintext, read and written the same way.
///
/// Like any buffered writer, call `flush()` after the last write of a message: a TLS
/// connection may keep the tail of a write in rustls's buffer when the socket is full.
#[derive(Debug)]
pub enum TransportStream<IO> {
    /// Plaintext (TLS not configured, or a plaintext peer of a mixed-mode server).
    Plain(Rewind<IO>),
    /// A TLS connection we accepted.
    ServerTls(
        Box<tokio_rustls::server::TlsStream<Rewind<IO>>>,
        BrokenCounter,
    ),
    /// A TLS connection we dialled.
    ClientTls(Box<tokio_rustls::client::TlsStream<IO>>, BrokenCounter),
}

impl<IO> TransportStream<IO> {
    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self, TransportStream::Plain(_))
    }

    /// The certificate chain the peer presented (leaf first), for TLS connections.
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        match self {
            TransportStream::Plain(_) => None,
            TransportStream::ServerTls(tls, _) => tls.get_ref().1.peer_certificates(),
            TransportStream::ClientTls(tls, _) => tls.get_ref().1.peer_certificates(),
        }
    }

    /// The ALPN protocol the TLS handshake settled on (`h2`, `http/1.1`…); `None` for
    /// plaintext and when either side offered none.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match self {
            TransportStream::Plain(_) => None,
            TransportStream::ServerTls(tls, _) => tls.get_ref().1.alpn_protocol(),
            TransportStream::ClientTls(tls, _) => tls.get_ref().1.alpn_protocol(),
        }
    }

    /// The underlying I/O object (the TCP stream).
    pub fn get_ref(&self) -> &IO {
        match self {
            TransportStream::Plain(io) => io.get_ref(),
            TransportStream::ServerTls(tls, _) => tls.get_ref().0.get_ref(),
            TransportStream::ClientTls(tls, _) => tls.get_ref().0,
        }
    }
}

/// Counts `broken_tls_connections` once per connection, when a TLS-level error ends it.
#[derive(Debug)]
pub struct BrokenCounter {
    metrics: Arc<TlsMetrics>,
    side: Side,
    counted: AtomicBool,
}

impl BrokenCounter {
    pub(crate) fn new(metrics: Arc<TlsMetrics>, side: Side) -> Self {
        BrokenCounter {
            metrics,
            side,
            counted: AtomicBool::new(false),
        }
    }

    fn observe<T>(&self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(e)) = &result
            && e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
            && !self.counted.swap(true, Ordering::Relaxed)
        {
            TlsMetrics::bump(&self.metrics.side(self.side).broken_tls_connections);
        }
        result
    }
}

macro_rules! dispatch {
    ($self:ident, $io:ident => $call:expr) => {
        match &mut *$self {
            TransportStream::Plain($io) => $call,
            TransportStream::ServerTls(tls, broken) => {
                let $io = &mut **tls;
                broken.observe($call)
            }
            TransportStream::ClientTls(tls, broken) => {
                let $io = &mut **tls;
                broken.observe($call)
            }
        }
    };
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TransportStream<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        dispatch!(self, io => Pin::new(io).poll_read(cx, buf))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TransportStream<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        dispatch!(self, io => Pin::new(io).poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        dispatch!(self, io => Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        dispatch!(self, io => Pin::new(io).poll_shutdown(cx))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        dispatch!(self, io => Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            TransportStream::Plain(io) => io.is_write_vectored(),
            TransportStream::ServerTls(tls, _) => tls.is_write_vectored(),
            TransportStream::ClientTls(tls, _) => tls.is_write_vectored(),
        }
    }
}
