//! A listener whose handshakes run concurrently: accepted sockets are handed to tasks, and
//! connections come out in the order their handshakes finish.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::acceptor::Acceptor;

use super::connection::Connection;

/// How many handshakes a [`Listener`] runs at once by default; beyond that it stops accepting
/// until one finishes (each is bounded by the acceptor's deadline).
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 1024;

/// A TCP listener that snoops, handshakes and authorizes each connection with an
/// [`Acceptor`] on a task of its own, under the acceptor's deadline, so a client that
/// connects and sends nothing never delays another. [`accept`](Self::accept) returns
/// connections as their handshakes finish; refused ones are counted and logged by the
/// acceptor and never returned.
///
/// Dropping the listener stops accepting and ends the handshakes in flight.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(Connection, SocketAddr)>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Binds `address` and accepts on it with `acceptor`.
    pub async fn bind(address: impl ToSocketAddrs, acceptor: Acceptor) -> io::Result<Listener> {
        let listener = TcpListener::bind(address).await?;
        Listener::new(listener, acceptor)
    }

    /// Accepts on `listener` with `acceptor`, at most
    /// [`DEFAULT_MAX_PENDING_HANDSHAKES`] handshakes at once.
    pub fn new(listener: TcpListener, acceptor: Acceptor) -> io::Result<Listener> {
        Listener::with_max_pending_handshakes(listener, acceptor, DEFAULT_MAX_PENDING_HANDSHAKES)
    }

    /// Accepts on `listener` with `acceptor`, at most `max` handshakes at once (at least one).
    pub fn with_max_pending_handshakes(
        listener: TcpListener,
        acceptor: Acceptor,
        max: usize,
    ) -> io::Result<Listener> {
        let local_addr = listener.local_addr()?;
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        // Finished connections wait here for `accept`; a full queue holds their tasks, and
        // with them the permits, so a server that stops accepting stops taking sockets too.
        let (tx, ready) = mpsc::channel(max);
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            Arc::new(Semaphore::new(max)),
            tx,
        ));
        Ok(Listener {
            local_addr,
            ready,
            task,
        })
    }

    /// The next connection whose handshake succeeded, and the peer's address.
    pub async fn accept(&mut self) -> io::Result<(Connection, SocketAddr)> {
        self.ready
            .recv()
            .await
            .ok_or_else(|| io::Error::other("the listener's accept loop has stopped"))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Acceptor,
    permits: Arc<Semaphore>,
    ready: mpsc::Sender<(Connection, SocketAddr)>,
) {
    let mut handshakes = tokio::task::JoinSet::new();
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = ready.closed() => return,
        };
        // Reap finished handshake tasks so the set does not grow with every connection.
        while handshakes.try_join_next().is_some() {}
        match accepted {
            Ok((socket, peer)) => {
                let acceptor = acceptor.clone();
                let ready = ready.clone();
                handshakes.spawn(async move {
                    // Refusals are counted and logged by the acceptor.
                    if let Ok((stream, auth)) = acceptor.accept_tcp_from(socket, peer).await {
                        let _ = ready.send((Connection::new(stream, auth), peer)).await;
                    }
                    drop(permit);
                });
            }
            Err(error) => {
                drop(permit);
                let name = listener
                    .local_addr()
                    .map_or_else(|_| "listener".to_owned(), |a| a.to_string());
                crate::pause_after_accept_error(&name, &error).await;
            }
        }
    }
}

/// The connections as a stream, for tonic's `Server::serve_with_incoming` (feature `tonic`)
/// and other `Stream`-based servers. It ends only when the accept loop has stopped.
impl futures_core::Stream for Listener {
    type Item = io::Result<Connection>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<Connection>>> {
        self.ready
            .poll_recv(cx)
            .map(|next| next.map(|(connection, _)| Ok(connection)))
    }
}

#[cfg(feature = "axum")]
impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        match Listener::accept(self).await {
            Ok(accepted) => accepted,
            // The accept loop only stops when the listener is dropped: never spin.
            Err(_) => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// `Router::into_make_service_with_connect_info::<ConnectionAuthContext>()` makes the peer a
/// `ConnectInfo<ConnectionAuthContext>` of every request.
#[cfg(feature = "axum")]
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Listener>>
    for crate::auth::ConnectionAuthContext
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, Listener>) -> Self {
        stream.io().auth().clone()
    }
}
