//! The aws-lc-rs crypto provider narrowed to the config's suites and protocol versions.

use std::sync::Arc;

use rustls::SupportedProtocolVersion;
use rustls::crypto::CryptoProvider;
use vespa_tls_config::{CipherSuite, TlsProtocol, TransportSecurityOptions};

/// The rustls suite for one of Vespa's nine names.
fn rustls_suite(suite: CipherSuite) -> rustls::CipherSuite {
    use rustls::CipherSuite as R;
    match suite {
        CipherSuite::Tls13Aes128GcmSha256 => R::TLS13_AES_128_GCM_SHA256,
        CipherSuite::Tls13Aes256GcmSha384 => R::TLS13_AES_256_GCM_SHA384,
        CipherSuite::Tls13Chacha20Poly1305Sha256 => R::TLS13_CHACHA20_POLY1305_SHA256,
        CipherSuite::EcdheEcdsaWithAes256GcmSha384 => R::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheRsaWithAes256GcmSha384 => R::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheEcdsaWithAes128GcmSha256 => R::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheRsaWithAes128GcmSha256 => R::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheEcdsaWithChacha20Poly1305Sha256 => {
            R::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        CipherSuite::EcdheRsaWithChacha20Poly1305Sha256 => {
            R::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
    }
}

/// Our name for a negotiated rustls suite, if it is one of the nine.
pub fn vespa_suite(suite: rustls::CipherSuite) -> Option<CipherSuite> {
    CipherSuite::ALL
        .into_iter()
        .find(|s| rustls_suite(*s) == suite)
}

/// Our name for a negotiated protocol version.
pub fn vespa_protocol(version: rustls::ProtocolVersion) -> Option<TlsProtocol> {
    match version {
        rustls::ProtocolVersion::TLSv1_2 => Some(TlsProtocol::Tls12),
        rustls::ProtocolVersion::TLSv1_3 => Some(TlsProtocol::Tls13),
        _ => None,
    }
}

/// aws-lc-rs with only the accepted suites (in the config's order), and the protocol versions
/// that are accepted *and* have at least one accepted suite.
pub(crate) fn narrowed(
    options: &TransportSecurityOptions,
) -> (Arc<CryptoProvider>, Vec<&'static SupportedProtocolVersion>) {
    let base = rustls::crypto::aws_lc_rs::default_provider();
    let protocols = options.effective_protocols();
    let cipher_suites: Vec<_> = options
        .effective_ciphers()
        .iter()
        .filter(|s| protocols.contains(&s.protocol()))
        .filter_map(|s| {
            base.cipher_suites
                .iter()
                .find(|r| r.suite() == rustls_suite(*s))
                .copied()
        })
        .collect();
    let versions = protocols
        .iter()
        .filter(|p| {
            options
                .effective_ciphers()
                .iter()
                .any(|s| s.protocol() == **p)
        })
        .map(|p| match p {
            TlsProtocol::Tls12 => &rustls::version::TLS12,
            TlsProtocol::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    (
        Arc::new(CryptoProvider {
            cipher_suites,
            ..base
        }),
        versions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vespa_suite_exists_in_aws_lc_rs() {
        let base = rustls::crypto::aws_lc_rs::default_provider();
        for suite in CipherSuite::ALL {
            let r = rustls_suite(suite);
            assert!(
                base.cipher_suites.iter().any(|s| s.suite() == r),
                "{suite} missing"
            );
            assert_eq!(vespa_suite(r), Some(suite));
        }
    }
}
