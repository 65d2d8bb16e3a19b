//! Reload-following rustls configs: a bare tokio-rustls server and client built once from
//! `ReloadingTlsContext::{server_config, client_config}` present the new certificate after
//! each reload, and verify and authorize their peers with the current snapshot.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_authz::PeerCredentials;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{ReloadOptions, ReloadOutcome, ReloadingTlsContext, TlsModes};
use vespa_tls_testkit::{Policy, TestConfig, TestPki, bind_loopback, replace_file};
use vespa_tls_transport::{Acceptor, Connector};

use crate::common::{LIMIT, echo_server, echoes, round_trip, source};

/// A reloading context on a config file of its own, reloaded by hand.
fn reloading(pki: &TestPki, first: &Path) -> (Arc<ReloadingTlsContext>, std::path::PathBuf) {
    let config = pki.dir().join(format!(
        "following-{}.json",
        first.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
    ));
    replace_file(&config, &std::fs::read(first).expect("config")).expect("replace");
    let manual = ReloadOptions {
        watch: false,
        ..ReloadOptions::default()
    };
    let context =
        ReloadingTlsContext::from_file(&config, TlsModes::default(), manual).expect("loads");
    (Arc::new(context), config)
}

fn common_name(der: &[u8]) -> String {
    PeerCredentials::from_der(der)
        .expect("credentials")
        .common_name()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_config_built_once_presents_each_new_certificate() {
    let pki = TestPki::new().expect("test PKI");
    let (context, config) = reloading(&pki, pki.server().config_path());
    let server_config = context.server_config().expect("server config");
    let listener = bind_loopback().expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let address = listener.local_addr().expect("address");
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
    let serving = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(Ok(mut tls)) = timeout(LIMIT, acceptor.accept(socket)).await {
                    let mut line = [0u8; 5];
                    if tls.read_exact(&mut line).await.is_ok() {
                        let _ = tls.write_all(&line).await;
                        let _ = tls.flush().await;
                    }
                }
            });
        }
    });
    let client = Arc::new(TestConfig::new(pki.client().files()).context());
    let connector = Connector::new(source(Some(&client)), MixedMode::TlsClientTlsServer);
    for round in 0..3 {
        let name = format!("server{round}.localhost");
        if round > 0 {
            let next = pki
                .issue(&format!("server{round}"), &pki.localhost_params(&name))
                .expect("node");
            replace_file(&config, &std::fs::read(next.config_path()).expect("config"))
                .expect("replace");
            assert!(matches!(
                context.reload().expect("reload"),
                ReloadOutcome::Reloaded { .. }
            ));
        }
        let (mut stream, auth) = timeout(LIMIT, connector.connect_tcp(address, "localhost"))
            .await
            .expect("bounded")
            .expect("connects");
        assert!(echoes(&mut stream, b"ping\n").await, "round {round}");
        let presented = common_name(&stream.peer_certificates().expect("chain")[0]);
        let expected = if round == 0 {
            "server.localhost".to_owned()
        } else {
            name
        };
        assert_eq!(presented, expected, "round {round}");
        assert_eq!(
            auth.peer_credentials().and_then(|c| c.common_name()),
            Some(&*expected)
        );
    }
    // Its authorization follows too, and counts into the reloading context's counters.
    let strict = TestConfig::new(pki.server().files())
        .authorized_peers([Policy::new("nobody").cn("nobody.example")]);
    strict.write(&config).expect("write config");
    assert!(matches!(
        context.reload().expect("reload"),
        ReloadOutcome::Reloaded { .. }
    ));
    let refused = async {
        let (mut stream, _) = connector.connect_tcp(address, "localhost").await.ok()?;
        round_trip(&mut stream, b"ping\n").await.ok()
    };
    assert!(
        refused.await.is_none(),
        "the client is no longer authorized"
    );
    assert_eq!(
        context.metrics().snapshot().server.invalid_peer_credentials,
        1
    );
    serving.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_config_built_once_presents_each_new_certificate_and_follows_the_rules() {
    let pki = TestPki::new().expect("test PKI");
    let (context, config) = reloading(&pki, pki.client().config_path());
    let client_config = context.client_config().expect("client config");
    let connector = tokio_rustls::TlsConnector::from(client_config);
    let server_ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let server = echo_server(Acceptor::new(
        source(Some(&server_ctx)),
        MixedMode::TlsClientTlsServer,
    ))
    .await;
    let connect = |connector: tokio_rustls::TlsConnector| async move {
        let socket = TcpStream::connect(server.address).await.expect("tcp");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = timeout(LIMIT, connector.connect(name, socket))
            .await
            .expect("bounded")?;
        round_trip(&mut tls, b"ping\n").await.map(drop)
    };
    for round in 0..3 {
        let name = format!("client{round}.localhost");
        if round > 0 {
            let next = pki
                .issue(&format!("client{round}"), &pki.localhost_params(&name))
                .expect("node");
            replace_file(&config, &std::fs::read(next.config_path()).expect("config"))
                .expect("replace");
            assert!(matches!(
                context.reload().expect("reload"),
                ReloadOutcome::Reloaded { .. }
            ));
        }
        connect(connector.clone()).await.expect("exchanges");
        server.wait_seen(round + 1).await;
        let seen = server.seen();
        let presented = seen[round]
            .auth()
            .and_then(|a| a.peer_credentials())
            .and_then(|c| c.common_name())
            .map(str::to_owned);
        let expected = if round == 0 {
            "client.localhost".to_owned()
        } else {
            name
        };
        assert_eq!(presented.as_deref(), Some(&*expected), "round {round}");
    }
    let client_counted = context.metrics().snapshot().client;
    assert_eq!(client_counted.failed_tls_handshakes, 0);

    // A reload that authorizes no server: the same config now refuses the server.
    let strict = TestConfig::new(pki.client().files())
        .authorized_peers([Policy::new("nobody").cn("nobody.example")]);
    strict.write(&config).expect("write config");
    assert!(matches!(
        context.reload().expect("reload"),
        ReloadOutcome::Reloaded { .. }
    ));
    let refused = connect(connector.clone())
        .await
        .expect_err("the server is not authorized");
    let rejection = refused
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .and_then(vespa_tls_context::PeerRejection::from_rustls);
    assert!(
        matches!(
            rejection,
            Some(vespa_tls_context::PeerRejection::NotAuthorized { .. })
        ),
        "{refused}"
    );
    assert_eq!(
        context.metrics().snapshot().client.invalid_peer_credentials,
        1
    );
}
