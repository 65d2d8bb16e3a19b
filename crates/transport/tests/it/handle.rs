//! The process-wide handle: the `VESPA_TLS_*` variables read once, one reloading context, and
//! the acceptor and connector handed out from it sharing that context and its counters.

use std::ffi::OsString;
use std::sync::Arc;

use crate::common::{Outcome, echo_server, exchange};
use vespa_tls_config::MixedMode;
use vespa_tls_context::{ReloadOptions, ReloadOutcome};
use vespa_tls_testkit::{TestConfig, TestPki};
use vespa_tls_transport::{TlsSource, VespaTls};

fn manual() -> ReloadOptions {
    ReloadOptions {
        watch: false,
        ..ReloadOptions::default()
    }
}

#[tokio::test]
async fn acceptor_and_connector_from_one_handle_share_one_context() {
    let pki = TestPki::new().expect("test setup");
    let config = pki.dir().join("tls.json");
    TestConfig::new(pki.server().files())
        .write(&config)
        .expect("write the config");
    let mut lookups = Vec::new();
    let vespa_tls = VespaTls::from_lookup(
        |name| {
            lookups.push(name.to_owned());
            match name {
                "VESPA_TLS_CONFIG_FILE" => Some(config.clone().into_os_string()),
                "VESPA_TLS_INSECURE_MIXED_MODE" => Some(OsString::from("tls_client_mixed_server")),
                _ => None,
            }
        },
        manual(),
    )
    .expect("starts");
    lookups.sort();
    assert_eq!(
        lookups,
        [
            "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
            "VESPA_TLS_CONFIG_FILE",
            "VESPA_TLS_INSECURE_AUTHORIZATION_MODE",
            "VESPA_TLS_INSECURE_MIXED_MODE",
        ],
        "each variable is read once"
    );

    let acceptor = vespa_tls.acceptor();
    let connector = vespa_tls.connector();
    assert_eq!(acceptor.mixed_mode(), MixedMode::TlsClientMixedServer);
    assert!(connector.uses_tls());
    let (TlsSource::Reloading(served), TlsSource::Reloading(dialled)) =
        (acceptor.source(), connector.source())
    else {
        panic!("both follow the config file");
    };
    assert!(Arc::ptr_eq(served, dialled), "one reloading context");
    assert!(Arc::ptr_eq(
        &acceptor.metrics(),
        &connector.source().metrics()
    ));
    assert!(Arc::ptr_eq(&acceptor.metrics(), &vespa_tls.metrics()));

    // One reload reaches both.
    let next = pki
        .issue("next", &pki.localhost_params("server.localhost"))
        .expect("test setup");
    TestConfig::new(next.files())
        .write(&config)
        .expect("replace");
    let reloading = vespa_tls.reloading().expect("TLS is on");
    assert_eq!(
        reloading.reload().expect("reloads"),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    assert_eq!(served.status().generation, 2);
    assert_eq!(dialled.status().generation, 2);
    let (server_side, client_side) = (
        acceptor.source().current().expect("TLS is on"),
        connector.source().current().expect("TLS is on"),
    );
    assert!(Arc::ptr_eq(&server_side, &client_side), "one snapshot");

    // A connection from the one to the other counts both of its ends into the same counters.
    let echo = echo_server(acceptor.clone()).await;
    assert_eq!(
        exchange(&connector, echo.address, "localhost").await,
        Outcome::Tls
    );
    echo.wait_seen(1).await;
    let counters = vespa_tls.metrics().snapshot();
    assert_eq!(counters.server.tls_connections, 1);
    assert_eq!(counters.client.tls_connections, 1);
    assert_eq!(counters.successful_config_reloads, 1);
}

#[tokio::test]
async fn without_a_config_file_the_handle_is_plaintext_and_reads_nothing_else() {
    let mut lookups = Vec::new();
    let vespa_tls = VespaTls::from_lookup(
        |name| {
            lookups.push(name.to_owned());
            None
        },
        manual(),
    )
    .expect("starts");
    assert!(lookups.iter().all(|name| name.starts_with("VESPA_TLS_")));
    assert!(vespa_tls.reloading().is_none());
    let (acceptor, connector) = (vespa_tls.acceptor(), vespa_tls.connector());
    assert!(!connector.uses_tls());
    assert!(Arc::ptr_eq(
        &acceptor.metrics(),
        &connector.source().metrics()
    ));
    let echo = echo_server(acceptor).await;
    assert_eq!(
        exchange(&connector, echo.address, "localhost").await,
        Outcome::Plaintext
    );
}
