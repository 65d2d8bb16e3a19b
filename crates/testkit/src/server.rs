//! A loopback server for tests and benchmarks: an accept loop over the library's
//! [`Acceptor`] (or bare tokio-rustls, the baseline the benchmarks compare with) that echoes
//! or sinks what it reads, for a bounded number of connections or until dropped, and records
//! what it made of each connection.
//!
//! ```no_run
//! # async fn example(acceptor: vespa_tls_transport::Acceptor) -> std::io::Result<()> {
//! use std::time::Duration;
//! use vespa_tls_testkit::{Seen, Server};
//! // Two connections, echoed; then the server stops accepting.
//! let server = Server::echo(acceptor).connections(2).start().await?;
//! // … two clients dial server.address …
//! for seen in server.finish(Duration::from_secs(10)).await {
//!     assert!(matches!(seen, Seen::Accepted(_)), "{seen:?}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every connection is served on its own task; every read and write is bounded by the idle
//! limit. Dropping the [`Server`] stops its accept loop; connections already taken finish on
//! their own (or at the idle limit).

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustls::HandshakeKind;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use vespa_tls_transport::{Acceptor, ConnectionAuthContext, TransportError, TransportStream};

/// The listen backlog of [`ServerBuilder::start`]. `TcpListener::bind` uses 128 (the standard
/// library's value, which mio copies): a burst of more connections than that makes the kernel
/// drop handshakes, and clients wait a SYN retransmission (1 s) or more.
pub const BACKLOG: u32 = 1024;

/// How long an established connection may sit idle (no read or write progress) before the
/// server drops it, unless [`ServerBuilder::idle_limit`] says otherwise.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// How many outcomes of each kind (accepted, failed) a server keeps by default: the first ones.
/// The counters in [`Tally`] count every connection.
pub const KEEP: usize = 10_000;

/// How long [`Server::wait_seen`] waits.
pub const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// What turns an accepted TCP connection into a stream: the library's [`Acceptor`], or a bare
/// [`tokio_rustls::TlsAcceptor`] (the baseline the benchmarks compare it with).
pub trait Handshaker: Clone + Send + Sync + 'static {
    /// The stream the server echoes or sinks.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// What the server records for a connection it took.
    type Accepted: fmt::Debug + Send + 'static;
    /// What the server records for a connection it refused.
    type Error: fmt::Display + fmt::Debug + Send + 'static;

    /// Snoops, handshakes and authorizes as the handshaker does (Nagle off).
    fn handshake(
        &self,
        socket: TcpStream,
    ) -> impl Future<Output = Result<(Self::Stream, Self::Accepted), Self::Error>> + Send;
}

/// A connection the library's [`Acceptor`] took.
#[derive(Debug)]
pub struct Accepted {
    /// What the acceptor says about the peer (TLS or plaintext, credentials, capabilities).
    pub auth: ConnectionAuthContext,
    /// For TLS, how the handshake went (full or resumed); `None` for plaintext.
    pub handshake: Option<HandshakeKind>,
}

impl Handshaker for Acceptor {
    type Stream = TransportStream<TcpStream>;
    type Accepted = Accepted;
    type Error = TransportError;

    async fn handshake(
        &self,
        socket: TcpStream,
    ) -> Result<(Self::Stream, Accepted), TransportError> {
        let (stream, auth) = self.accept_tcp(socket).await?;
        let handshake = match &stream {
            TransportStream::ServerTls(tls, _) => tls.get_ref().1.handshake_kind(),
            _ => None,
        };
        Ok((stream, Accepted { auth, handshake }))
    }
}

impl Handshaker for tokio_rustls::TlsAcceptor {
    type Stream = tokio_rustls::server::TlsStream<TcpStream>;
    /// How the handshake went.
    type Accepted = Option<HandshakeKind>;
    type Error = std::io::Error;

    async fn handshake(
        &self,
        socket: TcpStream,
    ) -> Result<(Self::Stream, Option<HandshakeKind>), std::io::Error> {
        let _ = socket.set_nodelay(true);
        let stream = self.accept(socket).await?;
        let kind = stream.get_ref().1.handshake_kind();
        Ok((stream, kind))
    }
}

/// What a server made of one connection.
pub enum Seen<H: Handshaker = Acceptor> {
    /// The handshaker took it.
    Accepted(H::Accepted),
    /// The handshaker refused it (snoop, handshake, authorization or the deadline).
    Failed(H::Error),
}

impl<H: Handshaker> fmt::Debug for Seen<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seen::Accepted(accepted) => f.debug_tuple("Accepted").field(accepted).finish(),
            Seen::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
        }
    }
}

impl<H: Handshaker> Seen<H> {
    /// The refusal, if it was one.
    pub fn failure(&self) -> Option<&H::Error> {
        match self {
            Seen::Accepted(_) => None,
            Seen::Failed(error) => Some(error),
        }
    }
}

impl Seen<Acceptor> {
    /// What the acceptor said about an accepted peer.
    pub fn auth(&self) -> Option<&ConnectionAuthContext> {
        match self {
            Seen::Accepted(accepted) => Some(&accepted.auth),
            Seen::Failed(_) => None,
        }
    }

    /// `Some(true)` for a TLS connection, `Some(false)` for plaintext, `None` if refused.
    pub fn is_tls(&self) -> Option<bool> {
        self.auth().map(ConnectionAuthContext::is_tls)
    }
}

/// What the server does with a stream once the handshaker took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Sends back every byte until the peer closes (then closes cleanly), an error, or the
    /// idle limit.
    Echo,
    /// Sends one byte (`!`) at once, then reads and discards, answering one `!` for every read
    /// that ends in `\n`: a handshake costs one round trip and a stream one ack per message
    /// (the benchmarks' server).
    Sink,
}

/// Counters of every connection a server took (the kept outcomes are bounded, these are not).
#[derive(Debug, Default)]
pub struct Tally {
    taken: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    active: AtomicUsize,
}

impl Tally {
    /// Connections taken from the listen queue (before snoop and handshake).
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::SeqCst)
    }

    /// Connections the handshaker took.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections the handshaker refused.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    /// Connections being handshaken or served now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Connections with an outcome (accepted or refused).
    pub fn seen(&self) -> u64 {
        self.accepted() + self.refused()
    }
}

/// What the accept loop and the connection tasks share with the [`Server`].
struct Record<H: Handshaker> {
    tally: Arc<Tally>,
    keep: usize,
    seen: Mutex<Vec<Seen<H>>>,
}

impl<H: Handshaker> Record<H> {
    fn seen(&self) -> MutexGuard<'_, Vec<Seen<H>>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts and (within `keep`) keeps an outcome. Counted under the lock, so whoever sees
    /// the count also finds the outcome in the list.
    fn push(&self, seen: Seen<H>) {
        let mut kept = self.seen();
        let counter = match seen {
            Seen::Accepted(_) => &self.tally.accepted,
            Seen::Failed(_) => &self.tally.refused,
        };
        let before = counter.fetch_add(1, Ordering::SeqCst);
        if usize::try_from(before).is_ok_and(|n| n < self.keep) {
            kept.push(seen);
        }
    }
}

/// How a [`Server`] is set up; [`ServerBuilder::start`] runs it.
#[must_use = "a builder does nothing until started"]
pub struct ServerBuilder<H: Handshaker> {
    handshaker: H,
    flavour: Flavour,
    connections: Option<usize>,
    idle: Duration,
    keep: usize,
}

impl<H: Handshaker> fmt::Debug for ServerBuilder<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("flavour", &self.flavour)
            .field("connections", &self.connections)
            .field("idle", &self.idle)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl<H: Handshaker> ServerBuilder<H> {
    /// Takes exactly `n` connections, then stops accepting (default: until dropped or
    /// stopped).
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = Some(n);
        self
    }

    /// Drops a connection after `limit` without read or write progress (default
    /// [`IDLE_LIMIT`]).
    pub fn idle_limit(mut self, limit: Duration) -> Self {
        self.idle = limit;
        self
    }

    /// Keeps the first `n` outcomes of each kind (default [`KEEP`]); a long run that must
    /// stay small in memory keeps fewer. [`Tally`] counts them all.
    pub fn keep(mut self, n: usize) -> Self {
        self.keep = n;
        self
    }

    /// Binds `127.0.0.1:0` with a listen backlog of [`BACKLOG`] and serves.
    pub async fn start(self) -> std::io::Result<Server<H>> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = socket.listen(BACKLOG)?;
        Ok(self.serve(listener))
    }

    /// Serves on a listener already bound.
    pub fn serve(self, listener: TcpListener) -> Server<H> {
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let record = Arc::new(Record {
            tally: Arc::new(Tally::default()),
            keep: self.keep,
            seen: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            self.handshaker.clone(),
            Serving {
                flavour: self.flavour,
                idle: self.idle,
                connections: self.connections,
            },
            Arc::clone(&record),
            stopped,
        ));
        Server {
            address,
            handshaker: self.handshaker,
            bounded: self.connections.is_some(),
            record,
            stop,
            task: Some(task),
        }
    }
}

/// A running server. Dropping it stops the accept loop.
pub struct Server<H: Handshaker = Acceptor> {
    /// Where it listens (`127.0.0.1` and a kernel-chosen port, unless given a listener).
    pub address: SocketAddr,
    handshaker: H,
    bounded: bool,
    record: Arc<Record<H>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl<H: Handshaker> fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("address", &self.address)
            .field("tally", &self.record.tally)
            .finish_non_exhaustive()
    }
}

impl<H: Handshaker> Drop for Server<H> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<H: Handshaker> Server<H> {
    /// An echo server with `handshaker` ([`Flavour::Echo`]).
    pub fn echo(handshaker: H) -> ServerBuilder<H> {
        Self::builder(handshaker, Flavour::Echo)
    }

    /// A sink server with `handshaker` ([`Flavour::Sink`]).
    pub fn sink(handshaker: H) -> ServerBuilder<H> {
        Self::builder(handshaker, Flavour::Sink)
    }

    /// A server of `flavour` with `handshaker`.
    pub fn builder(handshaker: H, flavour: Flavour) -> ServerBuilder<H> {
        ServerBuilder {
            handshaker,
            flavour,
            connections: None,
            idle: IDLE_LIMIT,
            keep: KEEP,
        }
    }

    /// Its handshaker (for an [`Acceptor`], its counters are `metrics()`).
    pub fn handshaker(&self) -> &H {
        &self.handshaker
    }

    /// Its counters, shareable with tasks that outlive a borrow of the server.
    pub fn tally(&self) -> &Arc<Tally> {
        &self.record.tally
    }

    /// The outcomes kept so far (the first [`ServerBuilder::keep`] of each kind), in the
    /// order they happened.
    pub fn seen(&self) -> MutexGuard<'_, Vec<Seen<H>>> {
        self.record.seen()
    }

    /// The messages of the refusals kept so far.
    pub fn failures(&self) -> Vec<String> {
        self.seen()
            .iter()
            .filter_map(|seen| seen.failure().map(ToString::to_string))
            .collect()
    }

    /// Waits (at most [`WAIT_LIMIT`]) until `n` connections have an outcome; panics, naming
    /// the caller, if they do not.
    #[track_caller]
    pub fn wait_seen(&self, n: usize) -> impl Future<Output = ()> + '_ {
        let caller = Location::caller();
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        async move {
            let deadline = Instant::now() + WAIT_LIMIT;
            while self.tally().seen() < n {
                assert!(
                    Instant::now() < deadline,
                    "{caller}: the server saw {} of {n} connections within {WAIT_LIMIT:?}",
                    self.tally().seen()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// Stops accepting, then waits (at most `limit`) until every connection has finished.
    /// Returns whether all did.
    pub async fn stop(&mut self, limit: Duration) -> bool {
        let _ = self.stop.send(true);
        self.drain(limit).await
    }

    /// For a server of [`ServerBuilder::connections`]: waits (at most `limit`) until it has
    /// taken and served them all; for one without, stops it and waits for its connections.
    /// Returns the outcomes kept; panics, naming the caller, when `limit` passes first.
    #[track_caller]
    pub fn finish(mut self, limit: Duration) -> impl Future<Output = Vec<Seen<H>>> {
        let caller = Location::caller();
        async move {
            if !self.bounded {
                let _ = self.stop.send(true);
            }
            let drained = self.drain(limit).await;
            let tally = self.tally();
            assert!(
                drained,
                "{caller}: the server did not finish within {limit:?}: took {}, {} accepted, {} \
                 refused, {} still active",
                tally.taken(),
                tally.accepted(),
                tally.refused(),
                tally.active()
            );
            std::mem::take(&mut *self.seen())
        }
    }

    /// Waits for the accept loop to end, then for the connections to finish, both within
    /// `limit`.
    async fn drain(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        if let Some(task) = self.task.take() {
            let mut task = task;
            if timeout(limit, &mut task).await.is_err() {
                self.task = Some(task);
                return false;
            }
        }
        while self.tally().active() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

impl Server<Acceptor> {
    /// The acceptor (its counters are `acceptor().metrics()`).
    pub fn acceptor(&self) -> &Acceptor {
        &self.handshaker
    }
}

/// What each connection gets.
#[derive(Debug, Clone, Copy)]
struct Serving {
    flavour: Flavour,
    idle: Duration,
    connections: Option<usize>,
}

async fn accept_loop<H: Handshaker>(
    listener: TcpListener,
    handshaker: H,
    serving: Serving,
    record: Arc<Record<H>>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut taken = 0usize;
    while serving.connections.is_none_or(|n| taken < n) {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((socket, _)) = accepted else {
            // Out of file descriptors, or a connection reset while queued: try again.
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        taken += 1;
        record.tally.taken.fetch_add(1, Ordering::SeqCst);
        record.tally.active.fetch_add(1, Ordering::SeqCst);
        let (handshaker, record) = (handshaker.clone(), Arc::clone(&record));
        tokio::spawn(async move {
            // The handshaker bounds snoop and handshake by its own deadline.
            match handshaker.handshake(socket).await {
                Ok((stream, accepted)) => {
                    record.push(Seen::Accepted(accepted));
                    match serving.flavour {
                        Flavour::Echo => echo(stream, serving.idle).await,
                        Flavour::Sink => sink(stream, serving.idle).await,
                    }
                }
                Err(error) => record.push(Seen::Failed(error)),
            }
            record.tally.active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Echoes every byte until the peer closes (then closes cleanly), an error, or `idle`
/// without progress.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, idle: Duration) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(0)) => {
                let _ = timeout(idle, stream.shutdown()).await;
                return;
            }
            // A TLS stream may keep the tail of a write buffered until flushed.
            Ok(Ok(n)) => match timeout(idle, write_and_flush(&mut stream, &buf[..n])).await {
                Ok(Ok(())) => {}
                _ => return,
            },
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// One `!` at once, then one per read that ends in `\n`; everything else is discarded.
async fn sink<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, idle: Duration) {
    if !matches!(
        timeout(idle, write_and_flush(&mut stream, b"!")).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => {
                if buf[..n].ends_with(b"\n")
                    && !matches!(
                        timeout(idle, write_and_flush(&mut stream, b"!")).await,
                        Ok(Ok(()))
                    )
                {
                    return;
                }
            }
        }
    }
}

async fn write_and_flush<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::ReadBuf;

    use super::*;

    /// A stream whose reads return exactly the scripted chunks, one per read, then end; what
    /// is written to it is kept.
    struct Scripted {
        reads: VecDeque<&'static [u8]>,
        written: Vec<u8>,
    }

    impl AsyncRead for Scripted {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if let Some(chunk) = self.reads.pop_front() {
                buf.put_slice(chunk);
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Scripted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.written.extend_from_slice(bytes);
            Poll::Ready(Ok(bytes.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn the_sink_acknowledges_only_reads_that_end_a_line() {
        let mut stream = Scripted {
            reads: VecDeque::from([&b"a line\n"[..], b"no newline", b"\n", b"two\nlines\n"]),
            written: Vec::new(),
        };
        sink(&mut stream, Duration::from_secs(5)).await;
        // The greeting, then one for each read ending in a newline: not for "no newline".
        assert_eq!(stream.written, b"!!!!");
    }
}
