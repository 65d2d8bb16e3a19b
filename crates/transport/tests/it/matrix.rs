//! The rollout table (VESPA-BEHAVIOUR §1): every client phase against every server phase.

use std::sync::Arc;
use std::time::Duration;

use crate::common::Outcome::{self, Plaintext, Refused, Tls};
use crate::common::{Phase, echo_server, exchange, source};
use vespa_tls_config::MixedMode;
use vespa_tls_testkit::{TestConfig, TestPki};
use vespa_tls_transport::{Acceptor, Connector};

/// The phases in table order: config unset, then Vespa's three modes in rollout order.
const PHASES: [Phase; 4] = [
    None,
    Some(MixedMode::PlaintextClientMixedServer),
    Some(MixedMode::TlsClientMixedServer),
    Some(MixedMode::TlsClientTlsServer),
];

/// The rollout table of VESPA-BEHAVIOUR §1, written out: a row per client phase, a column per
/// server phase, both in `PHASES` order.
#[rustfmt::skip]
const TABLE: [[Outcome; 4]; 4] = [
    //                server: unset      plaintext_client_  tls_client_   tls_client_
    //                                   mixed_server       mixed_server  tls_server
    /* client: unset */      [Plaintext, Plaintext,         Plaintext,    Refused],
    /* plaintext_client_
       mixed_server */       [Plaintext, Plaintext,         Plaintext,    Refused],
    /* tls_client_
       mixed_server */       [Refused,   Tls,               Tls,          Tls],
    /* tls_client_
       tls_server */         [Refused,   Tls,               Tls,          Tls],
];

fn name(phase: Phase) -> &'static str {
    phase.map_or("config unset", |m| m.as_str())
}

/// The table as rows of `client → outcome against each server phase`, for failure messages.
fn render(table: &[[Outcome; 4]; 4]) -> String {
    PHASES
        .iter()
        .zip(table)
        .map(|(client, row)| format!("\n  client {:<30} {row:?}", name(*client)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_phase_against_every_server_phase() {
    let pki = TestPki::new().unwrap();
    let server_ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let client_ctx = Arc::new(TestConfig::new(pki.client().files()).context());
    let mut got = [const { [Refused, Refused, Refused, Refused] }; 4];
    for (column, server_phase) in PHASES.into_iter().enumerate() {
        let acceptor = Acceptor::new(
            source(server_phase.map(|_| &server_ctx)),
            server_phase.unwrap_or(MixedMode::TlsClientTlsServer),
        )
        .with_handshake_timeout(Duration::from_secs(2));
        let server = echo_server(acceptor).await;
        for (row, client_phase) in PHASES.into_iter().enumerate() {
            let connector = Connector::new(
                source(client_phase.map(|_| &client_ctx)),
                client_phase.unwrap_or(MixedMode::TlsClientTlsServer),
            )
            .with_handshake_timeout(Duration::from_secs(2));
            got[row][column] = exchange(&connector, server.address, "localhost").await;
        }
    }
    // The whole table at once, so a failure shows every cell that differs.
    assert!(
        got == TABLE,
        "server phases across: {}\nexpected:{}\ngot:{}",
        PHASES.map(name).join(", "),
        render(&TABLE),
        render(&got)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_follow_the_outcomes() {
    let pki = TestPki::new().unwrap();
    let server_ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let client_ctx = Arc::new(TestConfig::new(pki.client().files()).context());
    let acceptor = Acceptor::new(source(Some(&server_ctx)), MixedMode::TlsClientMixedServer);
    let server = echo_server(acceptor).await;
    let tls = Connector::new(source(Some(&client_ctx)), MixedMode::TlsClientMixedServer);
    let plain = Connector::new(source(None), MixedMode::TlsClientTlsServer);
    assert_eq!(exchange(&tls, server.address, "localhost").await, Tls);
    assert_eq!(exchange(&tls, server.address, "localhost").await, Tls);
    assert_eq!(
        exchange(&plain, server.address, "localhost").await,
        Plaintext
    );
    server.wait_seen(3).await;
    let s = server_ctx.metrics().snapshot().server;
    assert_eq!(
        (
            s.tls_connections,
            s.insecure_connections,
            s.failed_tls_handshakes
        ),
        (2, 1, 0)
    );
    let c = client_ctx.metrics().snapshot().client;
    assert_eq!((c.tls_connections, c.failed_tls_handshakes), (2, 0));
    let seen = server.seen();
    assert_eq!(seen.iter().filter(|s| s.is_tls() == Some(true)).count(), 2);
}
