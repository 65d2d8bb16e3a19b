//! The loopback server: what each flavour does with a stream, what it records, and its bounds.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_testkit::{Seen, Server, TestConfig, TestPki};
use vespa_tls_transport::{Acceptor, TlsSource, TransportError};

const LIMIT: Duration = Duration::from_secs(10);

fn plaintext() -> Acceptor {
    Acceptor::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer)
}

/// A TLS-only acceptor: plaintext bytes are refused.
fn tls_only(pki: &TestPki) -> Acceptor {
    let context = Arc::new(TestConfig::new(pki.server().files()).context());
    Acceptor::new(TlsSource::Fixed(context), MixedMode::TlsClientTlsServer)
}

/// Sends `bytes` and reads exactly `reply_len` bytes back.
async fn exchange(stream: &mut TcpStream, bytes: &[u8], reply_len: usize) -> Vec<u8> {
    stream.write_all(bytes).await.expect("write");
    let mut reply = vec![0u8; reply_len];
    timeout(LIMIT, stream.read_exact(&mut reply))
        .await
        .expect("bounded")
        .expect("read");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_sends_every_byte_back_and_records_the_connection() {
    let server = Server::echo(plaintext())
        .connections(1)
        .start()
        .await
        .expect("bind");
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    assert_eq!(exchange(&mut stream, b"hello\n", 6).await, b"hello\n");
    assert_eq!(exchange(&mut stream, b"again\n", 6).await, b"again\n");
    drop(stream);
    let seen = server.finish(LIMIT).await;
    let [seen] = seen.as_slice() else {
        panic!("{seen:?}")
    };
    assert_eq!(seen.is_tls(), Some(false));
    let Seen::Accepted(accepted) = seen else {
        panic!("{seen:?}")
    };
    assert_eq!(accepted.handshake, None, "plaintext has no handshake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_greets_then_acks_each_line() {
    let server = Server::sink(plaintext()).start().await.expect("bind");
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    let mut greeting = [0u8; 1];
    timeout(LIMIT, stream.read_exact(&mut greeting))
        .await
        .expect("bounded")
        .expect("read");
    assert_eq!(&greeting, b"!");
    assert_eq!(exchange(&mut stream, b"a lot of data\n", 1).await, b"!");
    // A read that does not end in a newline is not acknowledged: the next ack is the next
    // line's. Whether the partial line arrives in a read of its own is up to the network (the
    // sink's unit test scripts its reads); either way, after our end is closed the sink closes
    // too, and everything it sent must have been exactly one `!` for the two writes.
    stream.write_all(b"no newline").await.expect("write");
    assert_eq!(exchange(&mut stream, b"\n", 1).await, b"!");
    stream.shutdown().await.expect("shutdown");
    let mut rest = Vec::new();
    timeout(LIMIT, stream.read_to_end(&mut rest))
        .await
        .expect("the sink closes at our end of stream")
        .expect("read");
    assert_eq!(rest, b"", "an acknowledgement for the partial line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_recorded_with_the_acceptors_error() {
    let pki = TestPki::new().expect("test PKI");
    let server = Server::echo(tls_only(&pki))
        .connections(1)
        .start()
        .await
        .expect("bind");
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut rest)).await;
    server.wait_seen(1).await;
    assert_eq!(server.tally().refused(), 1);
    assert!(
        server.failures()[0].contains("plaintext refused"),
        "{:?}",
        server.failures()
    );
    let seen = server.finish(LIMIT).await;
    assert!(
        matches!(
            seen.as_slice(),
            [Seen::Failed(TransportError::PlaintextRefused { .. })]
        ),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_bounds_the_outcomes_kept_but_the_tally_counts_all() {
    let mut server = Server::echo(plaintext())
        .keep(2)
        .start()
        .await
        .expect("bind");
    for _ in 0..5 {
        let mut stream = TcpStream::connect(server.address).await.expect("connect");
        assert_eq!(exchange(&mut stream, b"x", 1).await, b"x");
    }
    server.wait_seen(5).await;
    assert_eq!(server.seen().len(), 2);
    assert_eq!(server.tally().accepted(), 5);
    assert_eq!(server.tally().taken(), 5);
    assert!(server.stop(LIMIT).await, "every connection finished");
    assert!(
        TcpStream::connect(server.address).await.is_err(),
        "a stopped server no longer listens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_dropped_at_the_idle_limit() {
    let server = Server::echo(plaintext())
        .idle_limit(Duration::from_millis(200))
        .connections(1)
        .start()
        .await
        .expect("bind");
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    let mut byte = [0u8; 1];
    let read = timeout(LIMIT, stream.read(&mut byte))
        .await
        .expect("closed by the idle limit, not by the test's bound");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert_eq!(server.finish(LIMIT).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "tests/it/server.rs")]
async fn a_server_that_does_not_finish_in_time_names_the_caller() {
    let server = Server::echo(plaintext())
        .connections(1)
        .start()
        .await
        .expect("bind");
    server.finish(Duration::from_millis(50)).await;
}
