//! The aws-lc-rs crypto provider narrowed to the config's suites and protocol versions, its
//! SHA-384 TLS 1.3 suite with an HKDF that hashes each key's HMAC pads once.
//!
//! rustls' aws-lc-rs suites run every HKDF-Expand of the TLS 1.3 key schedule from the key
//! up: aws-lc-rs keeps an extracted PRK as salt and secret and extracts it again on each
//! expansion, and each HMAC hashes the key's inner and outer pads again. A handshake does
//! about twenty expansions; with SHA-384 (no SHA-512 instructions on most x86 servers, and the
//! suite Vespa's C++ and Java clients put first) that is a large share of a server's hashing.
//! [`PrecomputedHkdf`] extracts once and keeps the PRK as an aws-lc-rs HMAC key, whose pads are
//! hashed when it is made: each expansion then costs the two compressions HMAC cannot avoid.
//! Same functions (RFC 5869), same outputs; the tests compare them with rustls' suite.
//!
//! The SHA-256 suites keep rustls' HKDF: with the SHA instructions of current x86 servers a
//! compression is cheap, and the two measure the same there (docs/BENCHMARKS.md, "TLS 1.3 key
//! schedule").

use std::sync::{Arc, LazyLock};

use rustls::crypto::hmac::{Hmac, Key as HmacKey, Tag};
use rustls::crypto::tls13::{Hkdf, HkdfExpander, HkdfUsingHmac, OkmBlock};
use rustls::crypto::{CipherSuiteCommon, CryptoProvider};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion, Tls13CipherSuite};
use vespa_tls_config::{CipherSuite, TlsProtocol, TransportSecurityOptions};

/// HMAC on aws-lc-rs keys: a key's inner and outer pads are hashed when it is made, and each
/// tag starts from copies of those two states.
struct PrecomputedHmac(&'static aws_lc_rs::hmac::Algorithm);

struct PrecomputedKey(aws_lc_rs::hmac::Key);

impl Hmac for PrecomputedHmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn HmacKey> {
        Box::new(PrecomputedKey(aws_lc_rs::hmac::Key::new(*self.0, key)))
    }

    fn hash_output_len(&self) -> usize {
        self.0.digest_algorithm().output_len()
    }

    fn fips(&self) -> bool {
        aws_lc_rs::try_fips_mode().is_ok()
    }
}

impl HmacKey for PrecomputedKey {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> Tag {
        let mut context = aws_lc_rs::hmac::Context::with_key(&self.0);
        context.update(first);
        for part in middle {
            context.update(part);
        }
        context.update(last);
        Tag::new(context.sign().as_ref())
    }

    fn tag_len(&self) -> usize {
        self.0.algorithm().digest_algorithm().output_len()
    }
}

/// HKDF (RFC 5869) whose PRK is extracted once and kept as a [`PrecomputedHmac`] key; the
/// expansion is rustls' own over that key.
struct PrecomputedHkdf(&'static PrecomputedHmac);

impl Hkdf for PrecomputedHkdf {
    fn extract_from_zero_ikm(&self, salt: Option<&[u8]>) -> Box<dyn HkdfExpander> {
        let zeroes = [0u8; Tag::MAX_LEN];
        self.extract_from_secret(salt, &zeroes[..self.0.hash_output_len()])
    }

    fn extract_from_secret(&self, salt: Option<&[u8]>, secret: &[u8]) -> Box<dyn HkdfExpander> {
        let zeroes = [0u8; Tag::MAX_LEN];
        let salt = salt.unwrap_or(&zeroes[..self.0.hash_output_len()]);
        // Both the tag and the block wipe themselves when dropped.
        let prk = OkmBlock::new(self.0.with_key(salt).sign(&[secret]).as_ref());
        self.expander_for_okm(&prk)
    }

    fn expander_for_okm(&self, okm: &OkmBlock) -> Box<dyn HkdfExpander> {
        HkdfUsingHmac(self.0).expander_for_okm(okm)
    }

    fn hmac_sign(&self, key: &OkmBlock, message: &[u8]) -> Tag {
        self.0.with_key(key.as_ref()).sign(&[message])
    }

    fn fips(&self) -> bool {
        self.0.fips()
    }
}

static HMAC_SHA384: PrecomputedHmac = PrecomputedHmac(&aws_lc_rs::hmac::HMAC_SHA384);
static HKDF_SHA384: PrecomputedHkdf = PrecomputedHkdf(&HMAC_SHA384);

/// aws-lc-rs' SHA-384 TLS 1.3 suites with the [`PrecomputedHkdf`]; everything else (AEAD,
/// hash, limits) is theirs.
static TLS13_SUITES: LazyLock<Vec<Tls13CipherSuite>> = LazyLock::new(|| {
    rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .filter_map(|suite| match suite {
            SupportedCipherSuite::Tls13(base) => precomputed(base),
            SupportedCipherSuite::Tls12(_) => None,
        })
        .collect()
});

/// `base` with the [`PrecomputedHkdf`] if it is a SHA-384 suite.
fn precomputed(base: &Tls13CipherSuite) -> Option<Tls13CipherSuite> {
    let hkdf: &'static dyn Hkdf = match base.common.hash_provider.algorithm() {
        rustls::crypto::hash::HashAlgorithm::SHA384 => &HKDF_SHA384,
        _ => return None,
    };
    Some(Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: base.common.suite,
            hash_provider: base.common.hash_provider,
            confidentiality_limit: base.common.confidentiality_limit,
        },
        hkdf_provider: hkdf,
        aead_alg: base.aead_alg,
        quic: base.quic,
    })
}

/// `suite`, or ours of the same name.
fn with_precomputed_hkdf(suite: SupportedCipherSuite) -> SupportedCipherSuite {
    match suite {
        SupportedCipherSuite::Tls13(base) => TLS13_SUITES
            .iter()
            .find(|ours| ours.common.suite == base.common.suite)
            .map_or(suite, SupportedCipherSuite::Tls13),
        SupportedCipherSuite::Tls12(_) => suite,
    }
}

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
                .map(with_precomputed_hkdf)
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
    use proptest::prelude::*;

    /// rustls' own aws-lc-rs TLS 1.3 suite of the same name.
    fn stock(suite: rustls::CipherSuite) -> &'static Tls13CipherSuite {
        rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
            .iter()
            .find_map(|s| match s {
                SupportedCipherSuite::Tls13(s) if s.common.suite == suite => Some(*s),
                _ => None,
            })
            .expect("a stock TLS 1.3 suite")
    }

    fn ours() -> Vec<&'static Tls13CipherSuite> {
        let (provider, _) = narrowed(
            &vespa_tls_config::parse(
                r#"{"files": {"ca-certificates": "ca", "certificates": "c", "private-key": "k"}}"#,
            )
            .expect("a minimal config")
            .0,
        );
        provider
            .cipher_suites
            .iter()
            .filter_map(|s| match s {
                SupportedCipherSuite::Tls13(s) => Some(*s),
                SupportedCipherSuite::Tls12(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_sha384_suite_has_the_precomputed_hkdf_and_the_others_rustls() {
        let suites = ours();
        assert_eq!(suites.len(), 3);
        for suite in suites {
            let base = stock(suite.common.suite);
            let sha384 = suite.common.suite == rustls::CipherSuite::TLS13_AES_256_GCM_SHA384;
            assert_eq!(
                std::ptr::addr_eq(suite.hkdf_provider, &HKDF_SHA384 as &dyn Hkdf),
                sha384,
                "{:?}",
                suite.common.suite
            );
            assert_eq!(
                std::ptr::addr_eq(suite.hkdf_provider, base.hkdf_provider),
                !sha384
            );
            // Everything but the HKDF is rustls' own.
            assert!(std::ptr::addr_eq(suite.aead_alg, base.aead_alg));
            assert!(std::ptr::addr_eq(
                suite.common.hash_provider,
                base.common.hash_provider
            ));
            assert_eq!(
                suite.common.confidentiality_limit,
                base.common.confidentiality_limit
            );
            assert_eq!(suite.quic.is_some(), base.quic.is_some());
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn rfc5869_test_case_1() {
        static HMAC_SHA256: PrecomputedHmac = PrecomputedHmac(&aws_lc_rs::hmac::HMAC_SHA256);
        let salt: Vec<u8> = (0..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        PrecomputedHkdf(&HMAC_SHA256)
            .extract_from_secret(Some(&salt), &[0x0b; 22])
            .expand_slice(&[&info], &mut okm)
            .expect("42 bytes");
        assert_eq!(
            okm.to_vec(),
            hex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
    }

    #[test]
    fn expansions_longer_than_255_blocks_are_refused_as_by_rustls() {
        for suite in ours() {
            let base = stock(suite.common.suite);
            let len = suite.common.hash_provider.output_len();
            for (hkdf, who) in [
                (suite.hkdf_provider, "ours"),
                (base.hkdf_provider, "rustls"),
            ] {
                let expander = hkdf.extract_from_zero_ikm(None);
                let mut most = vec![0u8; 255 * len];
                assert!(expander.expand_slice(&[b"x"], &mut most).is_ok(), "{who}");
                let mut more = vec![0u8; 255 * len + 1];
                assert!(expander.expand_slice(&[b"x"], &mut more).is_err(), "{who}");
            }
        }
    }

    proptest! {
        /// Every HKDF function of every TLS 1.3 suite (ours for SHA-384) gives what rustls'
        /// aws-lc-rs suite of the same name gives.
        #[test]
        fn the_precomputed_hkdf_gives_what_rustls_gives(
            salt in prop::option::of(prop::collection::vec(any::<u8>(), 0..160)),
            secret in prop::collection::vec(any::<u8>(), 0..160),
            info in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..4),
            out_len in 0usize..200,
            message in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let info: Vec<&[u8]> = info.iter().map(Vec::as_slice).collect();
            for suite in ours() {
                let (ours, theirs) = (suite.hkdf_provider, stock(suite.common.suite).hkdf_provider);
                let expand = |expander: Box<dyn HkdfExpander>| {
                    let mut out = vec![0u8; out_len];
                    expander.expand_slice(&info, &mut out).expect("short output");
                    (out, expander.expand_block(&info).as_ref().to_vec(), expander.hash_len())
                };
                prop_assert_eq!(
                    expand(ours.extract_from_secret(salt.as_deref(), &secret)),
                    expand(theirs.extract_from_secret(salt.as_deref(), &secret))
                );
                prop_assert_eq!(
                    expand(ours.extract_from_zero_ikm(salt.as_deref())),
                    expand(theirs.extract_from_zero_ikm(salt.as_deref()))
                );
                let len = suite.common.hash_provider.output_len();
                let mut block = secret.clone();
                block.resize(len, 0);
                let okm = OkmBlock::new(&block);
                prop_assert_eq!(
                    expand(ours.expander_for_okm(&okm)),
                    expand(theirs.expander_for_okm(&okm))
                );
                prop_assert_eq!(
                    ours.hmac_sign(&okm, &message).as_ref().to_vec(),
                    theirs.hmac_sign(&okm, &message).as_ref().to_vec()
                );
                prop_assert_eq!(ours.fips(), theirs.fips());
            }
        }
    }

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
