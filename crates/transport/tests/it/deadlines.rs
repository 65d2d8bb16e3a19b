//! Handshake deadlines at both ends of `Duration`: a clamp or a refusal, never a panic.

use crate::common;
use std::sync::Arc;

use std::time::Duration;

use crate::common::{LIMIT, Seen, echo_server, exchange, source};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_testkit::{TestConfig, TestPki};
use vespa_tls_transport::{Acceptor, Connector, TransportError};

#[tokio::test]
async fn extreme_handshake_timeouts_never_panic() {
    let pki = TestPki::new().expect("test setup");
    let server = Arc::new(TestConfig::new(pki.server().files()).context());
    let client = Arc::new(TestConfig::new(pki.client().files()).context());
    let mode = MixedMode::TlsClientTlsServer;
    let acceptor =
        |deadline| Acceptor::new(source(Some(&server)), mode).with_handshake_timeout(deadline);
    let connector =
        |deadline| Connector::new(source(Some(&client)), mode).with_handshake_timeout(deadline);

    // No practical deadline, both sides: a handshake like any other.
    let echo = echo_server(acceptor(Duration::MAX)).await;
    assert_eq!(
        exchange(&connector(Duration::MAX), echo.address, "localhost").await,
        common::Outcome::Tls
    );
    echo.wait_seen(1).await;
    assert_eq!(echo.seen()[0].is_tls(), Some(true));

    // A zero deadline leaves a handshake no time to wait for its peer: it times out, unless
    // it completed within the timer's tick. Either way, nothing else happens.
    let echo = echo_server(acceptor(Duration::ZERO)).await;
    for n in 1..=2 {
        let outcome = exchange(&connector(Duration::MAX), echo.address, "localhost").await;
        echo.wait_seen(n).await;
        let seen = echo.seen();
        match (&outcome, &seen[n - 1]) {
            (common::Outcome::Refused, Seen::Failed(TransportError::Timeout { .. }))
            | (common::Outcome::Tls, Seen::Accepted(_)) => {}
            (outcome, seen) => panic!("client {outcome:?}, server {seen:?}"),
        }
    }

    let echo = echo_server(acceptor(Duration::MAX)).await;
    for _ in 0..2 {
        let socket = timeout(LIMIT, TcpStream::connect(echo.address))
            .await
            .expect("bounded")
            .expect("loopback connect");
        let connected = timeout(
            LIMIT,
            connector(Duration::ZERO).connect(socket, "localhost", Some(echo.address)),
        )
        .await
        .expect("bounded");
        match connected {
            Ok((_, auth)) => assert!(auth.is_tls()),
            Err(TransportError::Timeout { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
}
