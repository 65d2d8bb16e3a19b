//! The private key: its encodings, its type, its public half; zeroised on drop.

use std::fmt;
use std::path::Path;

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode as _, Tag, TagNumber, Tagged as _};
use rustls_pki_types::pem::SectionKind;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::MaterialError;

/// The type of a private key Vespa can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA (any size aws-lc-rs accepts: 2048 to 8192 bits).
    Rsa,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
}

impl KeyKind {
    /// `RSA`, `EC P-256`, `EC P-384`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::EcdsaP256 => "EC P-256",
            KeyKind::EcdsaP384 => "EC P-384",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
pub(crate) const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");

/// A private key that has loaded: `Debug` prints `[secret elided]`, the bytes are zeroised on
/// drop.
pub(crate) struct SecretKey(PrivateKeyDer<'static>);

impl SecretKey {
    /// The key as rustls takes it.
    pub(crate) fn der(&self) -> &PrivateKeyDer<'static> {
        &self.0
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret elided]")
    }
}

/// A loaded key with its type and public key (the bytes of the SubjectPublicKeyInfo's
/// BIT STRING: an uncompressed EC point, or an RSAPublicKey).
pub(crate) struct ParsedKey {
    pub(crate) key: SecretKey,
    pub(crate) kind: KeyKind,
    pub(crate) public_key: Vec<u8>,
}

/// Loads a decoded key block; the DER is moved into the result (or zeroised on error).
pub(crate) fn parse(
    path: &Path,
    kind: SectionKind,
    mut der: Zeroizing<Vec<u8>>,
) -> Result<ParsedKey, MaterialError> {
    let bytes = std::mem::take(&mut *der);
    let (key, label) = match kind {
        SectionKind::PrivateKey => (
            SecretKey(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(bytes))),
            "PRIVATE KEY",
        ),
        SectionKind::RsaPrivateKey => (
            SecretKey(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(bytes))),
            "RSA PRIVATE KEY",
        ),
        SectionKind::EcPrivateKey => (
            SecretKey(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(bytes))),
            "EC PRIVATE KEY",
        ),
        _ => {
            let mut bytes = bytes;
            bytes.zeroize();
            return Err(MaterialError::InvalidKey {
                path: path.to_owned(),
                label: "PRIVATE KEY",
                reason: "not a private key block".to_owned(),
            });
        }
    };
    let invalid = |reason: String| MaterialError::InvalidKey {
        path: path.to_owned(),
        label,
        reason,
    };
    let secret = key.0.secret_der();
    let (kind, public_key) = match &key.0 {
        PrivateKeyDer::Pkcs8(_) => {
            let (algorithm, curve) = pkcs8_algorithm(secret).map_err(invalid)?;
            match classify(path, algorithm, curve)? {
                KeyKind::Rsa => (
                    KeyKind::Rsa,
                    rsa_public(RsaKeyPair::from_pkcs8(secret), &invalid)?,
                ),
                ec => (
                    ec,
                    ec_public(EcdsaKeyPair::from_pkcs8(ec_alg(ec), secret), &invalid)?,
                ),
            }
        }
        PrivateKeyDer::Pkcs1(_) => (
            KeyKind::Rsa,
            rsa_public(RsaKeyPair::from_der(secret), &invalid)?,
        ),
        PrivateKeyDer::Sec1(_) => {
            let curve = sec1_curve(secret).map_err(invalid)?;
            let kind = match curve {
                Some(curve) => classify(path, OID_EC, Some(curve))?,
                // No curve named in the key: try the two Vespa supports.
                None => {
                    if EcdsaKeyPair::from_private_key_der(ec_alg(KeyKind::EcdsaP256), secret)
                        .is_ok()
                    {
                        KeyKind::EcdsaP256
                    } else {
                        KeyKind::EcdsaP384
                    }
                }
            };
            (
                kind,
                ec_public(
                    EcdsaKeyPair::from_private_key_der(ec_alg(kind), secret),
                    &invalid,
                )?,
            )
        }
        _ => return Err(invalid("unknown key encoding".to_owned())),
    };
    Ok(ParsedKey {
        key,
        kind,
        public_key,
    })
}

/// The type of key an algorithm OID (and, for EC, curve OID) names, or why Vespa cannot use it.
pub(crate) fn classify(
    path: &Path,
    algorithm: ObjectIdentifier,
    curve: Option<ObjectIdentifier>,
) -> Result<KeyKind, MaterialError> {
    let unsupported = |found: String| MaterialError::UnsupportedKey {
        path: path.to_owned(),
        found,
    };
    match algorithm {
        OID_RSA => Ok(KeyKind::Rsa),
        OID_EC => match curve {
            Some(OID_P256) => Ok(KeyKind::EcdsaP256),
            Some(OID_P384) => Ok(KeyKind::EcdsaP384),
            Some(OID_P521) => Err(unsupported("an EC key on curve P-521".to_owned())),
            Some(OID_SECP256K1) => Err(unsupported("an EC key on curve secp256k1".to_owned())),
            Some(other) => Err(unsupported(format!("an EC key on curve {other}"))),
            None => Err(unsupported("an EC key with no named curve".to_owned())),
        },
        OID_ED25519 => Err(MaterialError::Ed25519Key {
            path: path.to_owned(),
        }),
        OID_ED448 => Err(unsupported("an Ed448 key".to_owned())),
        OID_X25519 => Err(unsupported("an X25519 key (key agreement only)".to_owned())),
        OID_RSA_PSS => Err(unsupported("an RSA-PSS key".to_owned())),
        OID_DSA => Err(unsupported("a DSA key".to_owned())),
        other => Err(unsupported(format!("a key with algorithm {other}"))),
    }
}

fn ec_alg(kind: KeyKind) -> &'static signature::EcdsaSigningAlgorithm {
    match kind {
        KeyKind::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    }
}

fn rsa_public(
    pair: Result<RsaKeyPair, aws_lc_rs::error::KeyRejected>,
    invalid: &impl Fn(String) -> MaterialError,
) -> Result<Vec<u8>, MaterialError> {
    let pair = pair.map_err(|e| invalid(format!("aws-lc-rs rejected the RSA key ({e})")))?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn ec_public(
    pair: Result<EcdsaKeyPair, aws_lc_rs::error::KeyRejected>,
    invalid: &impl Fn(String) -> MaterialError,
) -> Result<Vec<u8>, MaterialError> {
    let pair = pair.map_err(|e| invalid(format!("aws-lc-rs rejected the EC key ({e})")))?;
    Ok(pair.public_key().as_ref().to_vec())
}

/// PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier { algorithm, parameters }, .. }
/// Read with borrowed values only, so no copy of the secret is made.
fn pkcs8_algorithm(der: &[u8]) -> Result<(ObjectIdentifier, Option<ObjectIdentifier>), String> {
    let fields: Vec<AnyRef<'_>> = Vec::from_der(der)
        .map_err(|e: der::Error| format!("not a PKCS#8 PrivateKeyInfo ({})", e.kind()))?;
    let algorithm = fields
        .get(1)
        .ok_or("a PKCS#8 structure with no algorithm")?;
    let parts: Vec<AnyRef<'_>> = algorithm
        .decode_as()
        .map_err(|e: der::Error| format!("a malformed algorithm identifier ({})", e.kind()))?;
    let oid: ObjectIdentifier = parts
        .first()
        .ok_or("an empty algorithm identifier")?
        .decode_as()
        .map_err(|e: der::Error| format!("a malformed algorithm OID ({})", e.kind()))?;
    let curve = parts
        .get(1)
        .filter(|p| p.tag() == Tag::ObjectIdentifier)
        .and_then(|p| p.decode_as().ok());
    Ok((oid, curve))
}

/// ECPrivateKey ::= SEQUENCE { version, privateKey, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }
fn sec1_curve(der: &[u8]) -> Result<Option<ObjectIdentifier>, String> {
    let fields: Vec<AnyRef<'_>> = Vec::from_der(der)
        .map_err(|e: der::Error| format!("not a SEC1 ECPrivateKey ({})", e.kind()))?;
    let params = fields.iter().find(|f| {
        f.tag()
            == Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(0),
            }
    });
    match params {
        None => Ok(None),
        Some(p) => ObjectIdentifier::from_der(p.value())
            .map(Some)
            .map_err(|_| "EC parameters that are not a named curve".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types_vespa_cannot_use_are_named() {
        let path = Path::new("/k");
        let oid = ObjectIdentifier::new_unwrap;
        let cases: &[(ObjectIdentifier, Option<ObjectIdentifier>, &str)] = &[
            (OID_EC, Some(OID_P521), "found an EC key on curve P-521"),
            (
                OID_EC,
                Some(OID_SECP256K1),
                "found an EC key on curve secp256k1",
            ),
            (
                OID_EC,
                Some(oid("1.2.3.4")),
                "found an EC key on curve 1.2.3.4",
            ),
            (OID_EC, None, "found an EC key with no named curve"),
            (OID_ED448, None, "found an Ed448 key"),
            (OID_X25519, None, "found an X25519 key (key agreement only)"),
            (OID_RSA_PSS, None, "found an RSA-PSS key"),
            (OID_DSA, None, "found a DSA key"),
            (
                oid("1.2.3.4.5"),
                None,
                "found a key with algorithm 1.2.3.4.5",
            ),
            (
                OID_ED25519,
                None,
                "Vespa's Java processes cannot load Ed25519 keys",
            ),
        ];
        for (algorithm, curve, expected) in cases {
            let err = classify(path, *algorithm, *curve).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with("/k: expected an RSA or EC (P-256, P-384) private key, "),
                "{text}"
            );
            assert!(text.ends_with(expected), "{text}");
        }
        assert_eq!(classify(path, OID_RSA, None).unwrap(), KeyKind::Rsa);
        assert_eq!(
            classify(path, OID_EC, Some(OID_P256)).unwrap(),
            KeyKind::EcdsaP256
        );
        assert_eq!(
            classify(path, OID_EC, Some(OID_P384)).unwrap(),
            KeyKind::EcdsaP384
        );
    }

    #[test]
    fn garbage_in_a_key_block_is_an_invalid_key_without_its_bytes() {
        let der = Zeroizing::new(b"\x30\x03\x02\x01\x00secret".to_vec());
        let err = parse(Path::new("/k"), SectionKind::PrivateKey, der)
            .err()
            .unwrap();
        assert!(matches!(err, MaterialError::InvalidKey { .. }), "{err:?}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let err = parse(
            Path::new("/k"),
            SectionKind::RsaPrivateKey,
            Zeroizing::new(vec![0x30, 0x00]),
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .starts_with("/k: expected a valid RSA PRIVATE KEY block"),
            "{err}"
        );
    }

    #[test]
    fn secret_key_debug_is_elided() {
        let key = SecretKey(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![
            1, 2, 3,
        ])));
        assert_eq!(format!("{key:?}"), "[secret elided]");
    }
}
