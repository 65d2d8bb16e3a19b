//! Live behaviour: reloads during traffic, capability checks on connections, and a server's
//! late TLS 1.3 refusal surfacing on the client's first read.

use std::sync::Arc;

use crate::common::{LIMIT, echo_server, echoes, source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_config::{AuthorizationMode, CapabilityMode, MixedMode};
use vespa_tls_context::{ReloadOptions, ReloadOutcome, ReloadingTlsContext, TlsModes};
use vespa_tls_testkit::{Policy, TestConfig, TestPki, replace_file};
use vespa_tls_transport::{Acceptor, Connector, TlsSource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_during_traffic_keeps_old_connections_and_serves_the_new_certificate() {
    let pki = TestPki::new().expect("test PKI");
    let config = pki.dir().join("tls.json");
    replace_file(
        &config,
        &std::fs::read(pki.server().config_path()).expect("config"),
    )
    .expect("replace");
    let manual = ReloadOptions {
        watch: false,
        ..ReloadOptions::default()
    };
    let reloading = Arc::new(
        ReloadingTlsContext::from_file(&config, TlsModes::default(), manual).expect("loads"),
    );
    let acceptor = Acceptor::new(
        TlsSource::Reloading(Arc::clone(&reloading)),
        MixedMode::TlsClientTlsServer,
    );
    let server = echo_server(acceptor).await;
    let client_ctx = Arc::new(TestConfig::new(pki.client().files()).context());
    let connector = Connector::new(source(Some(&client_ctx)), MixedMode::TlsClientTlsServer);

    let (mut old, _) = connector
        .connect_tcp(server.address, "localhost")
        .await
        .expect("connects");
    assert!(echoes(&mut old, b"before\n").await);
    let old_leaf = old.peer_certificates().expect("server chain")[0].clone();

    let next = pki
        .issue("next", &pki.localhost_params("server.localhost"))
        .expect("node");
    replace_file(&config, &std::fs::read(next.config_path()).expect("config")).expect("replace");
    assert_eq!(
        reloading.reload().expect("reload"),
        ReloadOutcome::Reloaded { generation: 2 }
    );

    assert!(
        echoes(&mut old, b"still here\n").await,
        "an established connection continues"
    );
    assert_eq!(old.peer_certificates().expect("chain")[0], old_leaf);
    let (mut new, _) = connector
        .connect_tcp(server.address, "localhost")
        .await
        .expect("connects");
    assert!(echoes(&mut new, b"after\n").await);
    let new_leaf = new.peer_certificates().expect("server chain")[0].clone();
    assert_ne!(
        new_leaf, old_leaf,
        "new connections get the new certificate"
    );
    assert_eq!(new_leaf, next.issued.cert_der);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capability_checks_follow_the_capability_mode() {
    let pki = TestPki::new().expect("test PKI");
    let telemetry_only = Policy::new("clients")
        .cn("client.*")
        .capabilities(["vespa.telemetry"]);
    let client_ctx = Arc::new(TestConfig::new(pki.client().files()).context());
    let document_api = CapabilitySet::of(&[Capability::ContentDocumentApi]);
    let status = CapabilitySet::of(&[Capability::ContentStatusPages]);
    // (mode, whether the document API call is refused, capability_checks_failed after it)
    let rows = [
        (CapabilityMode::Enforce, true, 1),
        (CapabilityMode::LogOnly, false, 1),
        (CapabilityMode::Disable, false, 0),
    ];
    for (mode, refused, failed_after) in rows {
        let modes = TlsModes {
            authorization: AuthorizationMode::Enforce,
            capability: mode,
        };
        let server_ctx = Arc::new(
            TestConfig::new(pki.server().files())
                .authorized_peers([telemetry_only.clone()])
                .context_with(modes),
        );
        let server = echo_server(Acceptor::new(
            source(Some(&server_ctx)),
            MixedMode::TlsClientMixedServer,
        ))
        .await;
        let connector = Connector::new(source(Some(&client_ctx)), MixedMode::TlsClientMixedServer);
        let (mut stream, _) = connector
            .connect_tcp(server.address, "localhost")
            .await
            .expect("connects");
        assert!(echoes(&mut stream, b"x\n").await);
        server.wait_seen(1).await;
        let seen = server.seen();
        let Some(auth) = seen[0].auth() else {
            panic!("{seen:?}")
        };
        assert_eq!(auth.matched_policies(), ["clients"]);
        assert!(auth.verify_capabilities(status, "GET", "/state/v1").is_ok());
        let result = auth.verify_capabilities(document_api, "put", "/document/v1/ns/doc");
        if refused {
            let denied = result.expect_err("refused");
            let peer = auth.peer_address().expect("address");
            assert_eq!(
                denied.message,
                format!(
                    "Permission denied for 'put' on '/document/v1/ns/doc'. Peer 'tcp/{peer}' with \
                         [CN='client.localhost', SAN_DNS=[localhost]]. Requires capabilities \
                         [vespa.content.document_api] but peer has [vespa.container.state_api, \
                         vespa.content.metrics_api, vespa.content.state_api, vespa.content.status_pages, \
                         vespa.metricsproxy.metrics_api, vespa.sentinel.connectivity_check]."
                )
            );
        } else {
            assert!(result.is_ok(), "{mode}: {result:?}");
        }
        let failed = server_ctx.metrics().snapshot().capability_checks_failed;
        assert_eq!(failed, failed_after, "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_connections_carry_every_capability() {
    let server = echo_server(Acceptor::new(
        TlsSource::disabled(),
        MixedMode::TlsClientTlsServer,
    ))
    .await;
    let connector = Connector::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer);
    let (mut stream, auth) = connector
        .connect_tcp(server.address, "localhost")
        .await
        .expect("connects");
    assert!(!auth.is_tls());
    assert!(echoes(&mut stream, b"plain\n").await);
    server.wait_seen(1).await;
    let seen = server.seen();
    let Some(auth) = seen[0].auth() else {
        panic!("{seen:?}")
    };
    assert_eq!(auth.capabilities(), CapabilitySet::all());
    assert!(
        auth.verify_capabilities(CapabilitySet::all(), "anything", "/")
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_tls_1_3_refusal_is_an_error_on_the_first_read() {
    let pki = TestPki::new().expect("test PKI");
    let nobody = Policy::new("nobody").cn("nobody");
    let server_ctx = Arc::new(
        TestConfig::new(pki.server().files())
            .authorized_peers([nobody])
            .context(),
    );
    let server = echo_server(Acceptor::new(
        source(Some(&server_ctx)),
        MixedMode::TlsClientTlsServer,
    ))
    .await;
    let client_ctx = Arc::new(TestConfig::new(pki.client().files()).context());
    let connector = Connector::new(source(Some(&client_ctx)), MixedMode::TlsClientTlsServer);
    match connector.connect_tcp(server.address, "localhost").await {
        // TLS 1.3: our side finished before the server judged our certificate.
        Ok((mut stream, _)) => {
            let _ = stream.write_all(b"anyone?\n").await;
            let mut buf = [0u8; 16];
            let read = timeout(LIMIT, stream.read(&mut buf))
                .await
                .expect("bounded");
            let error = read.expect_err("the refusal is an error, not data or a clean EOF");
            assert!(
                error.to_string().to_lowercase().contains("alert"),
                "{error}"
            );
        }
        Err(error) => assert!(error.to_string().contains("handshake"), "{error}"),
    }
    server.wait_seen(1).await;
    assert_eq!(
        server_ctx
            .metrics()
            .snapshot()
            .server
            .invalid_peer_credentials,
        1
    );
    assert_eq!(
        server_ctx.metrics().snapshot().server.failed_tls_handshakes,
        1
    );
}
