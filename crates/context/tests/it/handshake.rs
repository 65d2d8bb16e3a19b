//! Full mTLS handshakes in memory through `TlsContext`: authorization both ways and in every
//! mode, hostname validation, cipher and protocol narrowing, and no resumption.

use std::net::IpAddr;

use crate::common::handshake;
use rustls::HandshakeKind;
use vespa_tls_authz::Capability;
use vespa_tls_config::Severity;
use vespa_tls_config::{AuthorizationMode, CapabilityMode, CipherSuite, TlsProtocol};
use vespa_tls_context::{PeerRejection, PeerRole, TlsModes, vespa_protocol, vespa_suite};
use vespa_tls_pki::{ExtendedKeyUsages, NodeParams};
use vespa_tls_testkit::{Fixture, Policy, TestConfig, TestPki};

fn modes(authorization: AuthorizationMode) -> TlsModes {
    TlsModes {
        authorization,
        capability: CapabilityMode::Enforce,
    }
}

fn only_others() -> Policy {
    Policy::new("others").cn("someone-else")
}

fn client_telemetry() -> Policy {
    Policy::new("clients")
        .cn("client.*")
        .san_dns("localhost")
        .capabilities(["vespa.telemetry"])
}

#[test]
fn mutual_tls_without_rules_grants_everything() {
    let pki = TestPki::new().unwrap();
    let server = TestConfig::new(pki.server().files()).context();
    let client = TestConfig::new(pki.client().files()).context();
    let outcome = handshake(&client, &server, "localhost");
    assert!(
        outcome.ok(),
        "{:?} {:?}",
        outcome.client_error,
        outcome.server_error
    );
    let peer = server
        .peer_authorization(
            outcome
                .server
                .peer_certificates()
                .expect("client certificate"),
            PeerRole::Client,
        )
        .unwrap();
    assert_eq!(peer.credentials.common_name(), Some("client.localhost"));
    assert!(peer.decision.accept);
    assert_eq!(peer.decision.capabilities.len(), 32);
    // The client side sees the server's certificate.
    let server_peer = client
        .peer_authorization(
            outcome
                .client
                .peer_certificates()
                .expect("server certificate"),
            PeerRole::Server,
        )
        .unwrap();
    assert_eq!(
        server_peer.credentials.common_name(),
        Some("server.localhost")
    );
}

/// What the server does with the client in one authorization mode.
#[derive(Debug)]
enum Expected {
    /// Let through with this many capabilities, these matched policies, and whether the
    /// denial reasons travel with the connection (log_only).
    Accepted {
        capabilities: usize,
        matched: &'static [&'static str],
        denied: bool,
    },
    /// Refused by authorization, naming the peer and the policy.
    Refused,
}

/// Mode, the server's one policy, what happens, `invalid_peer_credentials` afterwards.
type Row = (AuthorizationMode, fn() -> Policy, Expected, u64);

#[test]
fn server_authorizes_clients_in_each_mode() {
    use AuthorizationMode::{Disable, Enforce, LogOnly};
    // (mode, policy, expected, invalid_peer_credentials afterwards)
    let table: [Row; 5] = [
        (
            Enforce,
            client_telemetry,
            Expected::Accepted {
                capabilities: 6,
                matched: &["clients"],
                denied: false,
            },
            0,
        ),
        (Enforce, only_others, Expected::Refused, 1),
        (
            LogOnly,
            only_others,
            Expected::Accepted {
                capabilities: 0,
                matched: &[],
                denied: true,
            },
            1,
        ),
        (
            LogOnly,
            client_telemetry,
            Expected::Accepted {
                capabilities: 6,
                matched: &["clients"],
                denied: false,
            },
            0,
        ),
        (
            Disable,
            only_others,
            Expected::Accepted {
                capabilities: 32,
                matched: &[],
                denied: false,
            },
            0,
        ),
    ];
    let pki = TestPki::new().unwrap();
    let client = TestConfig::new(pki.client().files()).context();
    for (mode, policy, expected, invalid) in table {
        let row = format!("{mode:?}, policy {:?}", policy());
        let server = TestConfig::new(pki.server().files())
            .authorized_peers([policy()])
            .context_with(modes(mode));
        let outcome = handshake(&client, &server, "localhost");
        match expected {
            Expected::Accepted {
                capabilities,
                matched,
                denied,
            } => {
                assert!(outcome.ok(), "{row}: {:?}", outcome.server_error);
                let peer = server
                    .peer_authorization(
                        outcome.server.peer_certificates().unwrap(),
                        PeerRole::Client,
                    )
                    .unwrap();
                assert!(peer.decision.accept, "{row}");
                assert_eq!(peer.decision.capabilities.len(), capabilities, "{row}");
                assert_eq!(peer.decision.matched_policies, matched, "{row}");
                assert_eq!(peer.decision.denied.is_some(), denied, "{row}");
                if capabilities == 6 {
                    assert!(
                        peer.decision
                            .capabilities
                            .contains(Capability::ContentStateApi),
                        "{row}"
                    );
                }
            }
            Expected::Refused => {
                let error = outcome.server_error.expect("the server refuses");
                let rejection = PeerRejection::from_rustls(&error).expect("our rejection");
                let text = rejection.to_string();
                assert!(
                    text.contains("client.localhost") && text.contains("others"),
                    "{row}: {text}"
                );
                assert!(
                    outcome.client_error.is_some(),
                    "{row}: the client hears the alert"
                );
            }
        }
        assert_eq!(
            server.metrics().snapshot().server.invalid_peer_credentials,
            invalid,
            "{row}"
        );
    }
}

#[test]
fn client_authorizes_servers_with_its_own_rules() {
    let pki = TestPki::new().unwrap();
    let server = TestConfig::new(pki.server().files()).context();
    let client = TestConfig::new(pki.client().files())
        .authorized_peers([only_others()])
        .context();
    let outcome = handshake(&client, &server, "localhost");
    let error = outcome.client_error.expect("the client refuses the server");
    assert!(matches!(
        PeerRejection::from_rustls(&error),
        Some(PeerRejection::NotAuthorized { .. })
    ));
    assert_eq!(
        client.metrics().snapshot().client.invalid_peer_credentials,
        1
    );
    let client = TestConfig::new(pki.client().files())
        .authorized_peers([Policy::new("servers").cn("server.localhost")])
        .context();
    assert!(handshake(&client, &server, "localhost").ok());
}

#[test]
fn certificates_from_another_ca_are_refused_both_ways() {
    let pki = TestPki::new().unwrap();
    let other = TestPki::new().unwrap();
    let server = TestConfig::new(pki.server().files()).context();
    let stranger = TestConfig::new(other.client().files()).context();
    let outcome = handshake(&stranger, &server, "localhost");
    assert!(outcome.client_error.is_some() || outcome.server_error.is_some());
    assert!(!outcome.ok());
}

#[test]
fn hostname_validation() {
    let pki = TestPki::new().unwrap();
    let server = TestConfig::new(pki.server().files()).context();
    let client = TestConfig::new(pki.client().files()).context();
    assert!(handshake(&client, &server, "localhost").ok());
    assert!(handshake(&client, &server, "127.0.0.1").ok(), "IP SAN");
    for wrong in ["example.com", "10.0.0.1"] {
        let outcome = handshake(&client, &server, wrong);
        let error = outcome.client_error.expect("mismatch refused");
        assert!(
            matches!(
                PeerRejection::from_rustls(&error),
                Some(PeerRejection::Hostname(_))
            ),
            "{wrong}: {error}"
        );
    }
    let lenient = TestConfig::new(pki.client().files())
        .disable_hostname_validation(true)
        .context();
    assert!(handshake(&lenient, &server, "example.com").ok());
}

#[test]
fn hostname_cn_fallback_and_partial_wildcards_pass_as_in_vespa() {
    let pki = TestPki::new().unwrap();
    let client = TestConfig::new(pki.client().files()).context();
    let validity = pki.validity();
    // No DNS SAN: the CN is used.
    let cn_only = pki
        .issue("cn-only", &NodeParams::new("node7.example.com", validity))
        .unwrap();
    let server = TestConfig::new(cn_only.files()).context();
    assert!(handshake(&client, &server, "node7.example.com").ok());
    assert!(!handshake(&client, &server, "node8.example.com").ok());
    // With a DNS SAN, the CN is ignored.
    let with_san = pki
        .issue(
            "with-san",
            &NodeParams::new("node7.example.com", validity).with_dns("other.example.com"),
        )
        .unwrap();
    let server = TestConfig::new(with_san.files()).context();
    assert!(!handshake(&client, &server, "node7.example.com").ok());
    // Partial-label wildcard.
    let partial = pki
        .issue(
            "partial",
            &NodeParams::new("web", validity).with_dns("web*.example.com"),
        )
        .unwrap();
    let server = TestConfig::new(partial.files()).context();
    assert!(handshake(&client, &server, "web12.example.com").ok());
    assert!(!handshake(&client, &server, "mail.example.com").ok());
    assert!(!handshake(&client, &server, "web1.a.example.com").ok());
}

#[test]
fn server_auth_only_client_certificates_are_refused() {
    let pki = TestPki::new().unwrap();
    let server = TestConfig::new(pki.server().files()).context();
    let params = pki
        .localhost_params("server-only")
        .with_extended_key_usages(ExtendedKeyUsages::ServerAuthOnly);
    let node = pki.issue("server-only", &params).unwrap();
    let client = TestConfig::new(node.files()).context();
    let outcome = handshake(&client, &server, "localhost");
    assert!(
        outcome.server_error.is_some(),
        "a client certificate needs clientAuth"
    );
}

#[test]
fn ciphers_and_protocols_are_narrowed() {
    let pki = TestPki::new().unwrap();
    let client = TestConfig::new(pki.client().files()).context();
    let server = TestConfig::new(pki.server().files())
        .accepted_ciphers([
            CipherSuite::Tls13Aes256GcmSha384,
            CipherSuite::EcdheEcdsaWithChacha20Poly1305Sha256,
        ])
        .context();
    let outcome = handshake(&client, &server, "localhost");
    assert!(outcome.ok());
    let suite = outcome.server.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(vespa_suite(suite), Some(CipherSuite::Tls13Aes256GcmSha384));
    assert_eq!(
        vespa_protocol(outcome.server.protocol_version().unwrap()),
        Some(TlsProtocol::Tls13)
    );

    let server = TestConfig::new(pki.server().files())
        .accepted_protocols([TlsProtocol::Tls12])
        .accepted_ciphers([CipherSuite::EcdheEcdsaWithChacha20Poly1305Sha256])
        .context();
    let outcome = handshake(&client, &server, "localhost");
    assert!(
        outcome.ok(),
        "{:?} {:?}",
        outcome.client_error,
        outcome.server_error
    );
    assert_eq!(
        vespa_protocol(outcome.client.protocol_version().unwrap()),
        Some(TlsProtocol::Tls12)
    );
    let suite = outcome.client.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(
        vespa_suite(suite),
        Some(CipherSuite::EcdheEcdsaWithChacha20Poly1305Sha256)
    );

    // Nothing in common: the handshake fails.
    let client12 = TestConfig::new(pki.client().files())
        .accepted_protocols([TlsProtocol::Tls12])
        .accepted_ciphers([CipherSuite::EcdheEcdsaWithAes128GcmSha256])
        .context();
    assert!(!handshake(&client12, &server, "localhost").ok());
}

#[test]
fn sessions_are_never_resumed() {
    let pki = TestPki::new().unwrap();
    let client = TestConfig::new(pki.client().files()).context();
    let server = TestConfig::new(pki.server().files()).context();
    for _ in 0..3 {
        let outcome = handshake(&client, &server, "localhost");
        assert!(outcome.ok());
        assert_eq!(outcome.client.handshake_kind(), Some(HandshakeKind::Full));
        assert_eq!(outcome.server.handshake_kind(), Some(HandshakeKind::Full));
    }
    let tls12 = TestConfig::new(pki.client().files())
        .accepted_protocols([TlsProtocol::Tls12])
        .context();
    for _ in 0..2 {
        let outcome = handshake(&tls12, &server, "localhost");
        assert!(outcome.ok());
        assert_eq!(outcome.client.handshake_kind(), Some(HandshakeKind::Full));
    }
}

#[test]
fn rsa_material_works() {
    let pki = TestPki::builder()
        .key_type(vespa_tls_pki::KeyType::Rsa2048)
        .build()
        .unwrap();
    let client = TestConfig::new(pki.client().files()).context();
    let server = TestConfig::new(pki.server().files()).context();
    let outcome = handshake(&client, &server, "localhost");
    assert!(
        outcome.ok(),
        "{:?} {:?}",
        outcome.client_error,
        outcome.server_error
    );
}

#[test]
fn intermediate_chains_work() {
    let pki = TestPki::builder().intermediate(true).build().unwrap();
    let client = TestConfig::new(pki.client().files()).context();
    let server = TestConfig::new(pki.server().files()).context();
    assert!(handshake(&client, &server, "localhost").ok());
}

#[test]
fn options_round_trip_through_the_context() {
    let pki = TestPki::new().unwrap();
    let config = TestConfig::new(pki.server().files()).disable_hostname_validation(true);
    let ctx = config.context();
    assert_eq!(ctx.options(), config.options());
    assert!(ctx.options().disable_hostname_validation);
    assert_eq!(ctx.material().chain[0].dns_names, ["localhost"]);
    assert_eq!(
        ctx.material().chain[0].ip_addresses,
        ["127.0.0.1".parse::<IpAddr>().unwrap()]
    );
    assert!(
        ctx.warnings()
            .iter()
            .all(|d| d.severity != vespa_tls_config::Severity::Error)
    );
}

#[test]
fn a_client_without_a_certificate_is_refused() {
    let pki = TestPki::new().unwrap();
    let server = TestConfig::new(pki.server().files()).context();
    let client = TestConfig::new(pki.client().files()).context();
    let outcome = vespa_tls_testkit::handshake_in_memory(
        client.client_config_without_certificate(),
        server.server_config(),
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    );
    assert!(
        outcome.server_error.is_some(),
        "the server requires a client certificate"
    );
    assert!(outcome.client_error.is_some(), "and says so with an alert");
}

#[test]
fn our_own_chain_is_judged_by_the_verification_path() {
    let pki = TestPki::new().unwrap();
    let fixture = pki.fixture(Fixture::SignedByAnotherCa).unwrap();
    let ctx = TestConfig::new(&fixture.files).context();
    let findings: Vec<_> = ctx
        .warnings()
        .with_code(vespa_tls_material::codes::CHAIN_NOT_TRUSTED)
        .collect();
    // Once as a client, once as a server; warnings, never a reason to refuse a reload.
    assert_eq!(findings.len(), 2, "{:?}", ctx.warnings());
    for finding in findings {
        assert_eq!(finding.severity, Severity::Warning);
        let bundle = fixture.files.ca_certificates.display().to_string();
        assert!(finding.message.contains(&bundle), "{}", finding.message);
    }
    assert!(!ctx.warnings().has_errors());

    // The same chain, presented by a peer, is refused by the same path.
    let rejection = ctx
        .verify_peer(
            &vespa_tls_testkit::read_certificates(&fixture.files.certificates).unwrap(),
            PeerRole::Client,
            None,
            rustls::pki_types::UnixTime::now(),
        )
        .unwrap_err();
    assert!(
        matches!(rejection, PeerRejection::Chain(_)),
        "{rejection:?}"
    );

    // A good node's own chain raises no such finding.
    let good = TestConfig::new(pki.server().files()).context();
    assert_eq!(
        good.warnings()
            .with_code(vespa_tls_material::codes::CHAIN_NOT_TRUSTED)
            .count(),
        0,
        "{:?}",
        good.warnings()
    );
}
