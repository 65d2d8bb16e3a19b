//! `TestConfig` writes JSON the config parser reads back to the same options, odd paths
//! included, and refuses what the parser would refuse.

use std::path::PathBuf;

use vespa_tls_config::{CipherSuite, CredentialField, Files, TlsProtocol};
use vespa_tls_testkit::{Policy, TestConfig, TestPki};

fn odd_files() -> Files {
    Files {
        ca_certificates: PathBuf::from("/tmp/a \"quoted\" dir/ca.pem"),
        certificates: PathBuf::from("/tmp/back\\slash/cert.pem"),
        private_key: PathBuf::from("/tmp/tab\there/key.pem"),
    }
}

#[test]
fn every_member_and_odd_paths_round_trip() {
    let config = TestConfig::new(&odd_files())
        .authorized_peers([
            Policy::new("clients")
                .cn("client.*")
                .san_dns("localhost")
                .capabilities(["vespa.telemetry", "vespa.content_node"])
                .description("the clients"),
            Policy::new("nodes").san_uri("vespa://app/*"),
        ])
        .accepted_ciphers([
            CipherSuite::Tls13Aes256GcmSha384,
            CipherSuite::EcdheEcdsaWithAes128GcmSha256,
        ])
        .accepted_protocols([TlsProtocol::Tls13, TlsProtocol::Tls12])
        .disable_hostname_validation(true);
    let (options, diagnostics) = vespa_tls_config::parse(&config.to_json()).expect("parses");
    assert!(!diagnostics.has_errors(), "{diagnostics:?}");
    assert_eq!(&options, config.options());
    assert_eq!(options.files, odd_files());
    let policies = options
        .authorized_peers
        .expect("authorized-peers")
        .policies()
        .to_vec();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0].name, "clients");
    assert_eq!(
        policies[0].capabilities.as_deref(),
        Some(
            &[
                "vespa.telemetry".to_owned(),
                "vespa.content_node".to_owned()
            ][..]
        )
    );
    assert_eq!(
        policies[0]
            .required_credentials
            .iter()
            .map(|r| (r.field, r.must_match.as_str()))
            .collect::<Vec<_>>(),
        [
            (CredentialField::Cn, "client.*"),
            (CredentialField::SanDns, "localhost")
        ]
    );
    assert_eq!(policies[1].capabilities, None, "all capabilities");
    assert!(options.disable_hostname_validation);
}

#[test]
fn defaults_are_the_files_alone() {
    let config = TestConfig::new(&odd_files());
    let (options, _) = vespa_tls_config::parse(&config.to_json()).expect("parses");
    assert_eq!(
        options,
        vespa_tls_config::TransportSecurityOptions::with_files(odd_files())
    );
    assert!(!options.disable_hostname_validation);
    assert!(options.authorized_peers.is_none());
}

#[test]
fn written_file_and_context_follow_the_options() {
    let pki = TestPki::new().unwrap();
    let config = TestConfig::new(pki.server().files())
        .authorized_peers([Policy::new("only").cn("client.localhost")]);
    let path = pki.dir().join("written.json");
    config.write(&path).unwrap();
    let (options, _) =
        vespa_tls_config::parse_slice(&std::fs::read(&path).unwrap()).expect("parses");
    assert_eq!(&options, config.options());
    assert_eq!(config.context().options(), config.options());
}

#[test]
fn a_context_that_cannot_be_built_says_why() {
    let error = TestConfig::new(&odd_files())
        .try_context(Default::default())
        .expect_err("the files do not exist");
    assert!(error.to_string().contains("/tmp/"), "{error}");
    let panic = std::panic::catch_unwind(|| TestConfig::new(&odd_files()).context())
        .expect_err("context() panics");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.starts_with("context for /tmp/back\\slash/cert.pem: "),
        "{message}"
    );
}

#[test]
#[should_panic(expected = "the parser refuses this test config: /accepted-ciphers: ")]
fn a_context_for_a_config_the_parser_refuses_is_refused() {
    let pki = TestPki::new().unwrap();
    let _ = TestConfig::new(pki.server().files())
        .accepted_ciphers([CipherSuite::Tls13Aes256GcmSha384])
        .context();
}

#[test]
#[should_panic(expected = "policy \"empty\" requires no credential")]
fn a_policy_without_credentials_is_refused() {
    let _ = TestConfig::new(&odd_files()).authorized_peers([Policy::new("empty")]);
}

#[test]
#[should_panic(expected = "authorized-peers needs a policy")]
fn an_empty_policy_list_is_refused() {
    let _ = TestConfig::new(&odd_files()).authorized_peers(Vec::<Policy>::new());
}
