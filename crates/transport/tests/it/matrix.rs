//! The rollout table (VESPA-BEHAVIOUR §1): every client phase against every server phase.

use std::time::Duration;

use crate::common::{Outcome, Phase, context, echo_server, exchange, source};
use vespa_tls_config::MixedMode;
use vespa_tls_context::TlsModes;
use vespa_tls_testkit::TestPki;
use vespa_tls_transport::{Acceptor, Connector};

const PHASES: [Phase; 4] = [
    None,
    Some(MixedMode::PlaintextClientMixedServer),
    Some(MixedMode::TlsClientMixedServer),
    Some(MixedMode::TlsClientTlsServer),
];

fn expected(client: Phase, server: Phase) -> Outcome {
    let client_tls = matches!(client, Some(m) if m.client_uses_tls());
    match server {
        None if client_tls => Outcome::Refused,
        None => Outcome::Plaintext,
        Some(m) if m.server_accepts_plaintext() => {
            if client_tls {
                Outcome::Tls
            } else {
                Outcome::Plaintext
            }
        }
        Some(_) if client_tls => Outcome::Tls,
        Some(_) => Outcome::Refused,
    }
}

fn name(phase: Phase) -> &'static str {
    phase.map_or("config unset", |m| m.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_phase_against_every_server_phase() {
    let pki = TestPki::new().unwrap();
    let server_ctx = context(pki.server().files(), "", TlsModes::default());
    let client_ctx = context(pki.client().files(), "", TlsModes::default());
    let mut table = Vec::new();
    for server_phase in PHASES {
        let acceptor = Acceptor::new(
            source(server_phase.map(|_| &server_ctx)),
            server_phase.unwrap_or(MixedMode::TlsClientTlsServer),
        )
        .with_handshake_timeout(Duration::from_secs(2));
        let server = echo_server(acceptor).await;
        for client_phase in PHASES {
            let connector = Connector::new(
                source(client_phase.map(|_| &client_ctx)),
                client_phase.unwrap_or(MixedMode::TlsClientTlsServer),
            )
            .with_handshake_timeout(Duration::from_secs(2));
            let got = exchange(&connector, server.address, "localhost").await;
            let want = expected(client_phase, server_phase);
            table.push(format!(
                "client {:<31} server {:<31} {got:?}",
                name(client_phase),
                name(server_phase)
            ));
            assert_eq!(
                got,
                want,
                "client {} vs server {}",
                name(client_phase),
                name(server_phase)
            );
        }
    }
    // The three plaintext-capable server phases saw plaintext from plaintext clients; counters
    // agree with the table.
    eprintln!("{}", table.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_follow_the_outcomes() {
    let pki = TestPki::new().unwrap();
    let server_ctx = context(pki.server().files(), "", TlsModes::default());
    let client_ctx = context(pki.client().files(), "", TlsModes::default());
    let acceptor = Acceptor::new(source(Some(&server_ctx)), MixedMode::TlsClientMixedServer);
    let server = echo_server(acceptor).await;
    let tls = Connector::new(source(Some(&client_ctx)), MixedMode::TlsClientMixedServer);
    let plain = Connector::new(source(None), MixedMode::TlsClientTlsServer);
    assert_eq!(
        exchange(&tls, server.address, "localhost").await,
        Outcome::Tls
    );
    assert_eq!(
        exchange(&tls, server.address, "localhost").await,
        Outcome::Tls
    );
    assert_eq!(
        exchange(&plain, server.address, "localhost").await,
        Outcome::Plaintext
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
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.iter().filter(|s| s.is_tls() == Some(true)).count(), 2);
}
