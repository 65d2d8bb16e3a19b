//! parse → serialise → parse is the identity, on generated configs.

use proptest::prelude::*;
use std::path::PathBuf;
use vespa_tls_config::{
    AuthorizedPeers, CipherSuite, CredentialField, Files, PeerPolicy, RequiredPeerCredential,
    TlsProtocol, TransportSecurityOptions, parse,
};

fn text() -> impl Strategy<Value = String> {
    // Printable text including JSON-special characters, non-ASCII and control characters.
    proptest::string::string_regex("[a-zA-Z0-9 ./*?:_\"\\\\\\u{0}-\\u{1f}é漢🙂-]{0,24}")
        .expect("valid regex")
}

fn path() -> impl Strategy<Value = PathBuf> {
    text().prop_map(|s| PathBuf::from(format!("/{s}")))
}

fn credential() -> impl Strategy<Value = RequiredPeerCredential> {
    (
        proptest::sample::select(CredentialField::ALL.to_vec()),
        text(),
    )
        .prop_map(|(field, must_match)| RequiredPeerCredential { field, must_match })
}

fn policy() -> impl Strategy<Value = PeerPolicy> {
    (
        proptest::option::of(text()),
        proptest::option::of(proptest::collection::vec(text(), 1..4)),
        proptest::collection::vec(credential(), 1..4),
    )
        .prop_map(
            |(description, capabilities, required_credentials)| PeerPolicy {
                name: String::new(),
                description,
                capabilities,
                required_credentials,
            },
        )
}

fn subset<T: Clone + std::fmt::Debug + 'static>(all: &[T]) -> impl Strategy<Value = Vec<T>> {
    proptest::sample::subsequence(all.to_vec(), 1..=all.len()).prop_shuffle()
}

fn options() -> impl Strategy<Value = TransportSecurityOptions> {
    (
        (path(), path(), path()),
        proptest::option::of(proptest::collection::vec(policy(), 1..4)),
        proptest::option::of(subset(&CipherSuite::ALL)),
        proptest::option::of(subset(&TlsProtocol::ALL)),
        any::<bool>(),
    )
        .prop_map(|((ca, cert, key), policies, ciphers, protocols, disable)| {
            let policies = policies.map(|list| {
                list.into_iter()
                    .enumerate()
                    .map(|(i, mut p)| {
                        p.name = format!("policy-{i}");
                        p
                    })
                    .collect::<Vec<_>>()
            });
            // Keep only combinations the parser accepts: a TLS 1.2 suite, and a suite per protocol.
            let ciphers = ciphers.map(|mut c: Vec<CipherSuite>| {
                if !c.iter().any(|s| s.protocol() == TlsProtocol::Tls12) {
                    c.push(CipherSuite::EcdheEcdsaWithAes128GcmSha256);
                }
                if !c.iter().any(|s| s.protocol() == TlsProtocol::Tls13) {
                    c.push(CipherSuite::Tls13Aes128GcmSha256);
                }
                c
            });
            let mut options = TransportSecurityOptions::with_files(Files {
                ca_certificates: ca,
                certificates: cert,
                private_key: key,
            });
            options.authorized_peers = policies.and_then(AuthorizedPeers::new);
            options.accepted_ciphers = ciphers;
            options.accepted_protocols = protocols;
            options.disable_hostname_validation = disable;
            options
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn serialise_then_parse_is_identity(options in options()) {
        let json = options.to_json();
        let (parsed, _) = parse(&json).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(&parsed, &options);
        // And the canonical form is a fixed point.
        prop_assert_eq!(parsed.to_json(), json);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = vespa_tls_config::parse_slice(&bytes);
    }
}
