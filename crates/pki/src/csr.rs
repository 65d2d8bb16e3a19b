//! Certificate signing requests (PKCS#10): making one on a node, and checking one on the CA.
//!
//! The seed guide's Appendix A has each host make its own key and a CSR, and the CA sign the
//! CSR; corporate CAs, Vault and step-ca take CSRs too. [`CertificateRequest::generate`] makes
//! the key and the request on the node (the key never leaves it), [`CertificateRequest::from_pem`]
//! parses a request from any tool and checks its self-signature with aws-lc-rs, and
//! [`CertificateAuthority::sign_request`](crate::CertificateAuthority::sign_request) issues a
//! certificate for its public key under the CA's profile, whatever the request asks for.

use std::fmt;
use std::net::IpAddr;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::asn1::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use rcgen::{CertificateParams, DistinguishedName, PublicKeyData, SanType};
use rustls_pki_types::pem::{PemObject as _, SectionKind};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};
use x509_cert::request::CertReq;

use crate::ca::{generate_key, ia5, rcgen_name};
use crate::error::PkiError;
use crate::params::KeyType;
use crate::pem;
use crate::secret::SecretPem;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_EXTENSION_REQUEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// The public key algorithm of a certificate signing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKeyType {
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSA (any modulus size aws-lc-rs verifies: 2048 to 8192 bits).
    Rsa,
    /// Ed25519: the signature is checked, but [`sign_request`](crate::CertificateAuthority::sign_request)
    /// refuses it, since Vespa's Java processes cannot load such a key.
    Ed25519,
}

impl RequestKeyType {
    /// A short name for reports: `ecdsa-p256`, `ecdsa-p384`, `rsa`, `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKeyType::EcdsaP256 => "ecdsa-p256",
            RequestKeyType::EcdsaP384 => "ecdsa-p384",
            RequestKeyType::Rsa => "rsa",
            RequestKeyType::Ed25519 => "ed25519",
        }
    }
}

/// What a node asks for in a new certificate signing request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParams {
    /// Subject common names in order (at most two, as for [`NodeParams`](crate::NodeParams)).
    pub common_names: Vec<String>,
    /// The subject organization (`O=`), if any.
    pub organization: Option<String>,
    /// `dNSName` SANs, in order.
    pub dns_names: Vec<String>,
    /// `uniformResourceIdentifier` SANs, in order.
    pub uris: Vec<String>,
    /// `iPAddress` SANs, in order.
    pub ip_addresses: Vec<IpAddr>,
    /// The new key's algorithm.
    pub key_type: KeyType,
}

/// A new key and the certificate signing request made with it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewRequest {
    /// The request, PEM (`CERTIFICATE REQUEST`).
    pub csr_pem: String,
    /// The private key, PKCS#8 PEM; zeroised on drop, never printed.
    pub key_pem: SecretPem,
    /// The parsed request, as the CA will see it.
    pub request: CertificateRequest,
}

/// A parsed certificate signing request whose self-signature verified.
///
/// A value of this type exists only for a request signed by the private key of the public key
/// it carries, so a CA can trust that the requester holds that key; the names in it are still
/// only what the requester asks for.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    subject: DistinguishedNameText,
    subject_rcgen: Result<DistinguishedName, String>,
    public_key: RequestPublicKey,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    uris: Vec<String>,
    asks_for_ca: bool,
    der: Vec<u8>,
}

#[derive(Clone, PartialEq, Eq)]
struct DistinguishedNameText(String);

/// The subject public key of a request, in the form rcgen signs a certificate for.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RequestPublicKey {
    key_type: RequestKeyType,
    /// The subjectPublicKey BIT STRING's bytes.
    bits: Vec<u8>,
}

impl fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRequest")
            .field("subject", &self.subject.0)
            .field("key_type", &self.public_key.key_type)
            .field("dns_names", &self.dns_names)
            .field("ip_addresses", &self.ip_addresses)
            .field("uris", &self.uris)
            .field("asks_for_ca", &self.asks_for_ca)
            .finish()
    }
}

impl CertificateRequest {
    /// A new key of `params.key_type` and a request for the names in `params`, signed with it.
    ///
    /// The request carries the subject and the SANs only; the CA decides every other
    /// extension.
    pub fn generate(params: &RequestParams) -> Result<NewRequest, PkiError> {
        let what = match params.common_names.first() {
            Some(cn) => format!("certificate request {cn:?}"),
            None => "certificate request without common name".to_owned(),
        };
        if params.common_names.len() > 2 {
            return Err(PkiError::InvalidParams {
                what,
                reason: format!(
                    "expected at most 2 common names, found {}",
                    params.common_names.len()
                ),
            });
        }
        let mut cert_params = CertificateParams::default();
        cert_params.distinguished_name =
            crate::ca::subject_name(params.organization.as_deref(), &params.common_names);
        cert_params.subject_alt_names =
            sans(&params.dns_names, &params.uris, &params.ip_addresses)?;
        let key = generate_key(&what, params.key_type)?;
        let csr = cert_params
            .serialize_request(&key)
            .map_err(|e| PkiError::generate(&what, e))?;
        let request = CertificateRequest::from_der(csr.der())?;
        Ok(NewRequest {
            csr_pem: csr.pem().map_err(|e| PkiError::generate(&what, e))?,
            key_pem: SecretPem::new(key.serialize_pem()),
            request,
        })
    }

    /// Parses the first `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`) block of `pem`
    /// and verifies its self-signature.
    pub fn from_pem(pem: &str) -> Result<Self, PkiError> {
        let mut found = None;
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
            match item {
                Ok((SectionKind::Csr, der)) => {
                    found = Some(der);
                    break;
                }
                Ok(_) => {}
                Err(e) => return Err(invalid(format!("expected PEM, found {e}"))),
            }
        }
        match found {
            Some(der) => CertificateRequest::from_der(&der),
            None => Err(invalid(
                "expected a CERTIFICATE REQUEST block, found none".to_owned(),
            )),
        }
    }

    /// Parses a DER certificate signing request and verifies its self-signature.
    pub fn from_der(der: &[u8]) -> Result<Self, PkiError> {
        let req = CertReq::from_der(der).map_err(|e| {
            invalid(format!(
                "expected a PKCS#10 request, found DER that does not parse: {e}"
            ))
        })?;
        let public_key = public_key(&req)?;
        verify_signature(&req, &public_key)?;

        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        let mut uris = Vec::new();
        let mut asks_for_ca = false;
        for attr in req.info.attributes.iter() {
            if attr.oid != OID_EXTENSION_REQUEST {
                continue;
            }
            for value in attr.values.iter() {
                let bytes = value
                    .to_der()
                    .map_err(|e| invalid(format!("extension request: {e}")))?;
                let extensions = Vec::<Extension>::from_der(&bytes).map_err(|e| {
                    invalid(format!(
                        "extension request: expected a list of extensions, found {e}"
                    ))
                })?;
                for ext in extensions {
                    let value = ext.extn_value.as_bytes();
                    if ext.extn_id == OID_SAN {
                        let san = SubjectAltName::from_der(value)
                            .map_err(|e| invalid(format!("subjectAltName does not parse: {e}")))?;
                        for name in san.0 {
                            match name {
                                GeneralName::DnsName(n) => dns_names.push(n.to_string()),
                                GeneralName::UniformResourceIdentifier(u) => {
                                    uris.push(u.to_string());
                                }
                                GeneralName::IpAddress(octets) => {
                                    ip_addresses.push(ip_from_octets(octets.as_bytes())?);
                                }
                                // Other name forms (email, directory names) are not copied:
                                // Vespa's authorization reads DNS and URI SANs only.
                                _ => {}
                            }
                        }
                    } else if ext.extn_id == OID_BASIC_CONSTRAINTS {
                        let bc = BasicConstraints::from_der(value).map_err(|e| {
                            invalid(format!("basicConstraints does not parse: {e}"))
                        })?;
                        asks_for_ca |= bc.ca;
                    }
                }
            }
        }

        let subject_name = req.info.subject.clone();
        Ok(CertificateRequest {
            subject: DistinguishedNameText(if subject_name.is_empty() {
                "empty subject".to_owned()
            } else {
                subject_name.to_string()
            }),
            subject_rcgen: rcgen_name("certificate request subject", &subject_name)
                .map_err(|e| e.to_string()),
            public_key,
            dns_names,
            ip_addresses,
            uris,
            asks_for_ca,
            der: der.to_vec(),
        })
    }

    /// The subject, RFC 4514 (`O=My Vespa App,OU=ACME,L=California,C=US`).
    pub fn subject(&self) -> &str {
        &self.subject.0
    }

    /// The requested `dNSName` SANs.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// The requested `iPAddress` SANs.
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.ip_addresses
    }

    /// The requested `uniformResourceIdentifier` SANs.
    pub fn uris(&self) -> &[String] {
        &self.uris
    }

    /// The requester's key algorithm.
    pub fn key_type(&self) -> RequestKeyType {
        self.public_key.key_type
    }

    /// Whether the request's extensions ask for `basicConstraints CA:TRUE`.
    pub fn asks_for_ca(&self) -> bool {
        self.asks_for_ca
    }

    /// The request, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The request, PEM.
    pub fn pem(&self) -> String {
        pem::encode("CERTIFICATE REQUEST", &self.der)
    }

    pub(crate) fn public_key(&self) -> &RequestPublicKey {
        &self.public_key
    }

    pub(crate) fn subject_for_rcgen(&self) -> Result<&DistinguishedName, PkiError> {
        self.subject_rcgen.as_ref().map_err(|reason| {
            invalid(format!(
                "{reason}; give the subject with a common name instead"
            ))
        })
    }
}

impl PublicKeyData for RequestPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    // rcgen writes the key's algorithm identifier in the certificate's subjectPublicKeyInfo
    // from this (ecPublicKey + curve, or rsaEncryption + NULL): the hash part is not used.
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self.key_type {
            RequestKeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            RequestKeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            RequestKeyType::Rsa => &rcgen::PKCS_RSA_SHA256,
            RequestKeyType::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

pub(crate) fn sans(
    dns_names: &[String],
    uris: &[String],
    ip_addresses: &[IpAddr],
) -> Result<Vec<SanType>, PkiError> {
    let mut sans = Vec::new();
    for name in dns_names {
        sans.push(SanType::DnsName(ia5("DNS SAN", name)?));
    }
    for uri in uris {
        sans.push(SanType::URI(ia5("URI SAN", uri)?));
    }
    for ip in ip_addresses {
        sans.push(SanType::IpAddress(*ip));
    }
    Ok(sans)
}

fn invalid(reason: String) -> PkiError {
    PkiError::InvalidRequest { reason }
}

fn ip_from_octets(bytes: &[u8]) -> Result<IpAddr, PkiError> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ok(IpAddr::from(v4))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ok(IpAddr::from(v6))
    } else {
        Err(invalid(format!(
            "expected an IP SAN of 4 or 16 bytes, found {} bytes",
            bytes.len()
        )))
    }
}

fn public_key(req: &CertReq) -> Result<RequestPublicKey, PkiError> {
    let spki = &req.info.public_key;
    let alg = spki.algorithm.oid;
    let key_type = if alg == OID_RSA {
        RequestKeyType::Rsa
    } else if alg == OID_ED25519 {
        RequestKeyType::Ed25519
    } else if alg == OID_EC {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match curve {
            Some(c) if c == OID_P256 => RequestKeyType::EcdsaP256,
            Some(c) if c == OID_P384 => RequestKeyType::EcdsaP384,
            Some(c) => {
                return Err(invalid(format!(
                    "expected an ECDSA key on P-256 or P-384, found curve {c}"
                )));
            }
            None => {
                return Err(invalid(
                    "expected an ECDSA key with a named curve, found none".to_owned(),
                ));
            }
        }
    } else {
        return Err(invalid(format!(
            "expected an ECDSA, RSA or Ed25519 public key, found algorithm {alg}"
        )));
    };
    let Some(bits) = spki.subject_public_key.as_bytes() else {
        return Err(invalid(
            "expected a public key of whole bytes, found unused bits".to_owned(),
        ));
    };
    Ok(RequestPublicKey {
        key_type,
        bits: bits.to_vec(),
    })
}

fn verify_signature(req: &CertReq, key: &RequestPublicKey) -> Result<(), PkiError> {
    let sig_alg = req.algorithm.oid;
    let alg: &'static dyn VerificationAlgorithm = match (key.key_type, sig_alg) {
        (RequestKeyType::EcdsaP256, a) if a == OID_ECDSA_SHA256 => {
            &signature::ECDSA_P256_SHA256_ASN1
        }
        (RequestKeyType::EcdsaP256, a) if a == OID_ECDSA_SHA384 => {
            &signature::ECDSA_P256_SHA384_ASN1
        }
        (RequestKeyType::EcdsaP384, a) if a == OID_ECDSA_SHA256 => {
            &signature::ECDSA_P384_SHA256_ASN1
        }
        (RequestKeyType::EcdsaP384, a) if a == OID_ECDSA_SHA384 => {
            &signature::ECDSA_P384_SHA384_ASN1
        }
        (RequestKeyType::EcdsaP384, a) if a == OID_ECDSA_SHA512 => {
            &signature::ECDSA_P384_SHA512_ASN1
        }
        (RequestKeyType::Rsa, a) if a == OID_RSA_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        (RequestKeyType::Rsa, a) if a == OID_RSA_SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        (RequestKeyType::Rsa, a) if a == OID_RSA_SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        (RequestKeyType::Ed25519, a) if a == OID_ED25519 => &signature::ED25519,
        (key_type, a) => {
            return Err(invalid(format!(
                "expected a signature algorithm for a {} key (ECDSA with SHA-256/384, RSA \
                 PKCS#1 with SHA-256/384/512, Ed25519), found {a}",
                key_type.as_str()
            )));
        }
    };
    let signed = req
        .info
        .to_der()
        .map_err(|e| invalid(format!("request info does not encode: {e}")))?;
    let Some(sig) = req.signature.as_bytes() else {
        return Err(invalid(
            "expected a signature of whole bytes, found unused bits".to_owned(),
        ));
    };
    UnparsedPublicKey::new(alg, &key.bits)
        .verify(&signed, sig)
        .map_err(|_| {
            invalid(
                "its signature does not verify with its own public key (the request was \
                 altered after signing, or its RSA key is outside 2048 to 8192 bits)"
                    .to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::KeyPair;

    #[test]
    fn generated_requests_verify_and_carry_their_names() {
        for key_type in KeyType::ALL {
            let params = RequestParams {
                common_names: vec!["node1.example.com".to_owned()],
                dns_names: vec!["node1.example.com".to_owned()],
                ip_addresses: vec![IpAddr::from([10, 0, 0, 1])],
                uris: vec!["spiffe://example.com/node1".to_owned()],
                key_type,
                ..RequestParams::default()
            };
            let new = CertificateRequest::generate(&params).expect("request");
            let parsed = CertificateRequest::from_pem(&new.csr_pem).expect("parses");
            assert_eq!(parsed.dns_names(), ["node1.example.com"]);
            assert_eq!(parsed.ip_addresses(), [IpAddr::from([10, 0, 0, 1])]);
            assert_eq!(parsed.uris(), ["spiffe://example.com/node1"]);
            assert_eq!(parsed.subject(), "CN=node1.example.com");
            assert!(!parsed.asks_for_ca());
            let key = KeyPair::from_pem(new.key_pem.expose()).expect("key");
            assert_eq!(
                key.der_bytes(),
                parsed.public_key().bits.as_slice(),
                "{key_type:?}"
            );
        }
    }

    #[test]
    fn a_changed_byte_in_the_signed_part_is_refused() {
        let new = CertificateRequest::generate(&RequestParams {
            common_names: vec!["node1".to_owned()],
            dns_names: vec!["node1.example.com".to_owned()],
            ..RequestParams::default()
        })
        .expect("request");
        let mut der = new.request.der().to_vec();
        let at = der
            .windows(5)
            .position(|w| w == b"node1")
            .expect("name in DER");
        der[at] = b'm';
        let err = CertificateRequest::from_der(&der).expect_err("tampered");
        assert!(err.to_string().contains("does not verify"), "{err}");
    }

    #[test]
    fn pem_without_a_request_is_refused_by_name() {
        let err = CertificateRequest::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .expect_err("no request");
        assert!(err.to_string().contains("CERTIFICATE REQUEST"), "{err}");
    }
}
