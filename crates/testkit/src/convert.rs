//! Key encodings other than PKCS#8: PKCS#1, SEC1, Ed25519, and encrypted keys.

use std::path::Path;
use std::process::Command;

use aws_lc_rs::encoding::AsDer as _;
use der::{Decode as _, Encode as _};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use vespa_tls_pki::{KeyType, SecretPem, encode_pem};

use crate::error::{ConvertProblem, TestkitError};

/// A PKCS#8 RSA key (`PRIVATE KEY`) as PKCS#1 (`RSA PRIVATE KEY`), as `openssl genrsa` wrote
/// it before OpenSSL 3.
pub fn pkcs8_to_pkcs1(key_pem: &SecretPem) -> Result<SecretPem, TestkitError> {
    let what = "PKCS#8 to PKCS#1";
    let pkcs8 = pkcs8_der(key_pem, what)?;
    // PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm, privateKey OCTET STRING, .. }
    let fields: Vec<der::Any> = Vec::from_der(pkcs8.secret_pkcs8_der())
        .map_err(|e: der::Error| convert(what, ConvertProblem::Der(e)))?;
    let Some(inner) = fields.get(2) else {
        return Err(unexpected(what, "a PrivateKeyInfo", "too few fields"));
    };
    if !pkcs8_is_rsa(&fields) {
        return Err(unexpected(what, "an RSA key", "another algorithm"));
    }
    Ok(SecretPem::new(encode_pem("RSA PRIVATE KEY", inner.value())))
}

/// A PKCS#8 ECDSA key (`PRIVATE KEY`) as SEC1 (`EC PRIVATE KEY`, with the curve named), as
/// `openssl ecparam -genkey -noout` writes it.
pub fn pkcs8_to_sec1(key_pem: &SecretPem, key_type: KeyType) -> Result<SecretPem, TestkitError> {
    let what = "PKCS#8 to SEC1";
    let pkcs8 = pkcs8_der(key_pem, what)?;
    let alg = match key_type {
        KeyType::EcdsaP256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        KeyType::EcdsaP384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        KeyType::Rsa2048 => {
            return Err(unexpected(what, "an ECDSA key type", "RSA"));
        }
        other => {
            return Err(unexpected(what, "an ECDSA key type", other.as_str()));
        }
    };
    let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.secret_pkcs8_der())
        .map_err(|e| convert(what, ConvertProblem::KeyRejected(e)))?;
    let sec1 = pair
        .private_key()
        .as_der()
        .map_err(|_| convert(what, ConvertProblem::Unspecified("encode the key")))?;
    Ok(SecretPem::new(encode_pem("EC PRIVATE KEY", sec1.as_ref())))
}

/// A new Ed25519 key (PKCS#8) and a self-signed certificate for it, both PEM: a key that
/// OpenSSL and rustls accept but Vespa's Java processes cannot load.
pub fn ed25519_self_signed(common_name: &str) -> Result<(String, SecretPem), TestkitError> {
    let what = "Ed25519 key";
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
        .map_err(|e| convert(what, ConvertProblem::Rcgen(e)))?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let cert = params
        .self_signed(&key)
        .map_err(|e| convert(what, ConvertProblem::Rcgen(e)))?;
    Ok((cert.pem(), SecretPem::new(key.serialize_pem())))
}

/// The key encrypted with a passphrase as PKCS#8 v2 (`ENCRYPTED PRIVATE KEY`).
///
/// Uses `openssl pkcs8 -topk8 -v2 aes-256-cbc` when openssl is on `PATH` (`work_dir` holds its
/// temporary files); otherwise builds a structurally valid `EncryptedPrivateKeyInfo` (PBES2
/// algorithm identifier, random ciphertext) that no one can decrypt, which is all a loader
/// that must refuse it can see. The flag says which one was made.
pub fn encrypt_pkcs8(
    key_pem: &SecretPem,
    work_dir: &Path,
) -> Result<(String, EncryptedBy), TestkitError> {
    if let Some(pem) = encrypt_with_openssl(key_pem, work_dir)? {
        return Ok((pem, EncryptedBy::Openssl));
    }
    Ok((hand_built_encrypted_pkcs8()?, EncryptedBy::HandBuilt))
}

/// Who made an encrypted key fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptedBy {
    /// `openssl pkcs8 -topk8 -v2 aes-256-cbc`.
    Openssl,
    /// A structurally valid block built by this crate (openssl was not on `PATH`).
    HandBuilt,
}

/// A legacy OpenSSL-encrypted key (`Proc-Type: 4,ENCRYPTED` and `DEK-Info` headers inside an
/// `EC PRIVATE KEY` block), as `openssl ec -aes256` wrote it. The ciphertext is random.
pub fn legacy_encrypted_sec1() -> Result<String, TestkitError> {
    let mut body = [0u8; 128];
    aws_lc_rs::rand::fill(&mut body).map_err(|_| {
        convert(
            "random bytes",
            ConvertProblem::Unspecified("make random bytes"),
        )
    })?;
    let block = encode_pem("EC PRIVATE KEY", &body);
    let mut lines = block.lines();
    let mut out = String::new();
    if let Some(begin) = lines.next() {
        out.push_str(begin);
        out.push('\n');
    }
    out.push_str("Proc-Type: 4,ENCRYPTED\n");
    out.push_str("DEK-Info: AES-256-CBC,0123456789ABCDEF0123456789ABCDEF\n\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

fn encrypt_with_openssl(
    key_pem: &SecretPem,
    work_dir: &Path,
) -> Result<Option<String>, TestkitError> {
    let input = work_dir.join(".plain-for-openssl.key");
    let output = work_dir.join(".encrypted-by-openssl.key");
    vespa_tls_pki::write_secret_file(&input, key_pem.expose().as_bytes())?;
    let status = Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:vespa-testkit",
            "-in",
        ])
        .arg(&input)
        .arg("-out")
        .arg(&output)
        .output();
    let _ = std::fs::remove_file(&input);
    let result = match status {
        Ok(out) if out.status.success() => std::fs::read_to_string(&output).ok(),
        // openssl missing or failing: fall back to the hand-built block.
        _ => None,
    };
    let _ = std::fs::remove_file(&output);
    Ok(result.filter(|pem| pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")))
}

fn hand_built_encrypted_pkcs8() -> Result<String, TestkitError> {
    let what = "hand-built encrypted key";
    let err = |e: der::Error| convert(what, ConvertProblem::Der(e));
    // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier,
    //                                        encryptedData OCTET STRING }
    let pbes2 = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
    let params: Vec<der::Any> = Vec::new();
    let algorithm: Vec<der::Any> = vec![
        der::Any::encode_from(&pbes2).map_err(err)?,
        der::Any::encode_from(&params).map_err(err)?,
    ];
    let mut ciphertext = [0u8; 144];
    aws_lc_rs::rand::fill(&mut ciphertext)
        .map_err(|_| convert(what, ConvertProblem::Unspecified("make random bytes")))?;
    let info: Vec<der::Any> = vec![
        der::Any::encode_from(&algorithm).map_err(err)?,
        der::Any::encode_from(&der::asn1::OctetString::new(ciphertext.to_vec()).map_err(err)?)
            .map_err(err)?,
    ];
    let bytes = info.to_der().map_err(err)?;
    Ok(encode_pem("ENCRYPTED PRIVATE KEY", &bytes))
}

fn pkcs8_der(
    key_pem: &SecretPem,
    what: &'static str,
) -> Result<PrivatePkcs8KeyDer<'static>, TestkitError> {
    match PrivateKeyDer::from_pem_slice(key_pem.expose().as_bytes()) {
        Ok(PrivateKeyDer::Pkcs8(der)) => Ok(der),
        Ok(_) => Err(unexpected(what, "a PKCS#8 key", "another encoding")),
        Err(e) => Err(convert(what, ConvertProblem::Pem(e))),
    }
}

fn pkcs8_is_rsa(fields: &[der::Any]) -> bool {
    const RSA_ENCRYPTION: der::asn1::ObjectIdentifier =
        der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    fields
        .get(1)
        .and_then(|alg| Vec::<der::Any>::from_der(&alg.to_der().ok()?).ok())
        .and_then(|parts| {
            parts
                .first()?
                .decode_as::<der::asn1::ObjectIdentifier>()
                .ok()
        })
        == Some(RSA_ENCRYPTION)
}

fn convert(what: &'static str, problem: ConvertProblem) -> TestkitError {
    TestkitError::Convert { what, problem }
}

fn unexpected(what: &'static str, expected: &'static str, found: &'static str) -> TestkitError {
    convert(what, ConvertProblem::Unexpected { expected, found })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_built_encrypted_key_is_an_encrypted_private_key_info() {
        let pem = hand_built_encrypted_pkcs8().unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert!(PrivateKeyDer::from_pem_slice(pem.as_bytes()).is_err());
        // Relabel it to get the parser to hand over the DER, then check the structure.
        let relabelled = pem.replace("ENCRYPTED PRIVATE KEY", "PRIVATE KEY");
        let der = PrivateKeyDer::from_pem_slice(relabelled.as_bytes()).unwrap();
        let info: Vec<der::Any> = Vec::from_der(der.secret_der()).unwrap();
        assert_eq!(info.len(), 2);
        assert_eq!(der::Tagged::tag(&info[1]), der::Tag::OctetString);
        let algorithm: Vec<der::Any> = info[0].decode_as().unwrap();
        let oid: der::asn1::ObjectIdentifier = algorithm[0].decode_as().unwrap();
        assert_eq!(oid.to_string(), "1.2.840.113549.1.5.13");
    }

    #[test]
    fn conversions_refuse_the_wrong_key_type() {
        let (_, ed_key) = ed25519_self_signed("x").unwrap();
        assert!(pkcs8_to_pkcs1(&ed_key).is_err());
        assert!(pkcs8_to_sec1(&ed_key, KeyType::Rsa2048).is_err());
        assert!(pkcs8_to_sec1(&ed_key, KeyType::EcdsaP256).is_err());
    }
}
