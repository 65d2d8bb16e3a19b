//! Facts about one certificate.

use std::fmt::Write as _;
use std::net::IpAddr;

use der::Decode as _;
use der::asn1::{AnyRef, ObjectIdentifier};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::key::{OID_EC, OID_ED25519, OID_P256, OID_P384, OID_RSA};

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const OID_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const OID_ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// The public key type of a certificate, as shown in reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKeyType {
    /// RSA with a modulus of this many bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// Anything else, by algorithm OID (and curve OID for EC).
    Other(String),
}

impl std::fmt::Display for PublicKeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicKeyType::Rsa { bits } => write!(f, "RSA {bits}"),
            PublicKeyType::EcdsaP256 => f.write_str("EC P-256"),
            PublicKeyType::EcdsaP384 => f.write_str("EC P-384"),
            PublicKeyType::Ed25519 => f.write_str("Ed25519"),
            PublicKeyType::Other(oid) => write!(f, "other ({oid})"),
        }
    }
}

/// What an operator needs to identify a certificate (never anything secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The subject, RFC 4514 (`CN=host.example.com,O=ACME`).
    pub subject: String,
    /// The subject's common names, in order.
    pub common_names: Vec<String>,
    /// The issuer, RFC 4514.
    pub issuer: String,
    /// `dNSName` SANs.
    pub dns_names: Vec<String>,
    /// `iPAddress` SANs.
    pub ip_addresses: Vec<IpAddr>,
    /// `uniformResourceIdentifier` SANs.
    pub uris: Vec<String>,
    /// The serial number, colon-separated upper-case hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256`).
    pub sha256_fingerprint: String,
    /// The certificate's public key type.
    pub public_key: PublicKeyType,
    /// Whether basicConstraints says CA:TRUE.
    pub is_ca: bool,
    /// The extended key usage OIDs (`None` when the extension is absent: any usage).
    pub extended_key_usages: Option<Vec<String>>,
}

impl CertificateFacts {
    /// Whether the certificate may be used both as a TLS server and a TLS client (no EKU
    /// extension, `anyExtendedKeyUsage`, or both serverAuth and clientAuth).
    pub fn allows_server_and_client(&self) -> bool {
        match &self.extended_key_usages {
            None => true,
            Some(ekus) => {
                let has = |oid: ObjectIdentifier| ekus.iter().any(|e| *e == oid.to_string());
                has(OID_ANY_EKU) || (has(OID_SERVER_AUTH) && has(OID_CLIENT_AUTH))
            }
        }
    }

    /// The facts of one DER certificate (for example a peer's, seen in a handshake), or
    /// `None` when it does not parse as X.509.
    pub fn from_der(der: &CertificateDer<'static>) -> Option<CertificateFacts> {
        parse(der).ok().map(|parsed| facts(&parsed))
    }

    /// The keyUsage bits of a DER certificate, named as in openssl's extension files
    /// (`digitalSignature`, `keyEncipherment`, …), or `None` when the extension is absent or
    /// the certificate does not parse.
    pub fn key_usages(der: &CertificateDer<'static>) -> Option<Vec<&'static str>> {
        let parsed = parse(der).ok()?;
        let (_, ku) = parsed
            .cert
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .ok()??;
        let bits = [
            (ku.digital_signature(), "digitalSignature"),
            (ku.non_repudiation(), "nonRepudiation"),
            (ku.key_encipherment(), "keyEncipherment"),
            (ku.data_encipherment(), "dataEncipherment"),
            (ku.key_agreement(), "keyAgreement"),
            (ku.key_cert_sign(), "keyCertSign"),
            (ku.crl_sign(), "cRLSign"),
            (ku.encipher_only(), "encipherOnly"),
            (ku.decipher_only(), "decipherOnly"),
        ];
        Some(
            bits.into_iter()
                .filter(|(set, _)| *set)
                .map(|(_, name)| name)
                .collect(),
        )
    }

    /// Whole days from `now` until `not_after` (negative once expired).
    pub fn days_to_expiry(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }
}

/// A parsed certificate with its DER.
pub(crate) struct Parsed<'a> {
    pub(crate) der: &'a CertificateDer<'static>,
    pub(crate) cert: Certificate,
}

pub(crate) fn parse<'a>(der: &'a CertificateDer<'static>) -> Result<Parsed<'a>, der::Error> {
    Ok(Parsed {
        der,
        cert: Certificate::from_der(der)?,
    })
}

pub(crate) fn subject(cert: &Certificate) -> String {
    let s = cert.tbs_certificate().subject().to_string();
    if s.is_empty() {
        "empty subject".to_owned()
    } else {
        s
    }
}

/// The subject public key BIT STRING's bytes.
pub(crate) fn public_key_bytes(cert: &Certificate) -> &[u8] {
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
}

pub(crate) fn facts(parsed: &Parsed<'_>) -> CertificateFacts {
    let tbs = parsed.cert.tbs_certificate();
    let mut common_names = Vec::new();
    for atv in tbs.subject().iter() {
        if atv.oid == OID_CN {
            common_names.push(String::from_utf8_lossy(atv.value.value()).into_owned());
        }
    }
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let mut uris = Vec::new();
    if let Ok(Some((_, san))) = tbs.get_extension::<SubjectAltName>() {
        for name in san.0 {
            match name {
                GeneralName::DnsName(n) => dns_names.push(n.to_string()),
                GeneralName::UniformResourceIdentifier(u) => uris.push(u.to_string()),
                GeneralName::IpAddress(octets) => {
                    let b = octets.as_bytes();
                    if let Ok(v4) = <[u8; 4]>::try_from(b) {
                        ip_addresses.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(b) {
                        ip_addresses.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    let is_ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let extended_key_usages = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => Some(eku.0.iter().map(ToString::to_string).collect()),
        _ => None,
    };
    let validity = tbs.validity();
    CertificateFacts {
        subject: subject(&parsed.cert),
        common_names,
        issuer: tbs.issuer().to_string(),
        dns_names,
        ip_addresses,
        uris,
        serial: hex_colon(tbs.serial_number().as_bytes()),
        not_before: to_offset(validity.not_before),
        not_after: to_offset(validity.not_after),
        sha256_fingerprint: hex_colon(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, parsed.der).as_ref(),
        ),
        public_key: public_key_type(&parsed.cert),
        is_ca,
        extended_key_usages,
    }
}

fn public_key_type(cert: &Certificate) -> PublicKeyType {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match (spki.algorithm.oid, curve) {
        (OID_RSA, _) => PublicKeyType::Rsa {
            bits: rsa_modulus_bits(spki.subject_public_key.raw_bytes()),
        },
        (OID_EC, Some(OID_P256)) => PublicKeyType::EcdsaP256,
        (OID_EC, Some(OID_P384)) => PublicKeyType::EcdsaP384,
        (OID_ED25519, _) => PublicKeyType::Ed25519,
        (oid, Some(curve)) => PublicKeyType::Other(format!("{oid} {curve}")),
        (oid, None) => PublicKeyType::Other(oid.to_string()),
    }
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
fn rsa_modulus_bits(der: &[u8]) -> usize {
    let Ok(fields) = Vec::<AnyRef<'_>>::from_der(der) else {
        return 0;
    };
    let Some(modulus) = fields.first().map(|m| m.value()) else {
        return 0;
    };
    let significant = modulus
        .iter()
        .position(|&b| b != 0)
        .map_or(&[][..], |i| &modulus[i..]);
    match significant.first() {
        Some(&top) => (significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

fn to_offset(t: x509_cert::time::Time) -> OffsetDateTime {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_colon_separated_upper_case() {
        assert_eq!(hex_colon(&[0x0a, 0xff, 0x00]), "0A:FF:00");
        assert_eq!(hex_colon(&[]), "");
    }

    #[test]
    fn modulus_bits_ignore_the_sign_byte() {
        // SEQUENCE { INTEGER 0x00 0x80 0x00 (16 bits), INTEGER 3 }
        let der = [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x00, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&der), 16);
    }
}
