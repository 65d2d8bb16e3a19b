//! Certificate authorities and the certificates they issue.

use std::fmt;

use der::{Decode as _, Encode as _, Tag, Tagged as _};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    SerialNumber,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints as X509BasicConstraints, SubjectKeyIdentifier};

use crate::csr::{self, CertificateRequest, RequestKeyType};
use crate::error::PkiError;
use crate::params::{CaParams, ExtendedKeyUsages, KeyType, NodeParams, Validity};
use crate::pem;
use crate::secret::SecretPem;

/// The OID of the `commonName` attribute, used for a second CN (see [`NodeParams::common_names`]).
const COMMON_NAME_OID: [u64; 4] = [2, 5, 4, 3];

/// A certificate authority that can issue node certificates and intermediate CAs.
///
/// Either made here ([`new_root`](Self::new_root), [`issue_intermediate`](Self::issue_intermediate))
/// or loaded from an existing certificate and key ([`load`](Self::load)), so `vespa-tls ca issue`
/// can keep using a CA made by openssl as in the seed guide's Appendix A.
pub struct CertificateAuthority {
    key: KeyPair,
    key_pem: SecretPem,
    /// What rcgen needs to sign as this CA: subject, key identifier method, key usages.
    issuer_params: CertificateParams,
    cert_der: CertificateDer<'static>,
    /// This CA's certificate (if it is not the root) and the intermediates above it, nearest
    /// first; the root is not included.
    intermediates: Vec<CertificateDer<'static>>,
    /// The trust anchor operators put into `ca-certificates`.
    root: CertificateDer<'static>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.issuer_params.distinguished_name)
            .field("intermediates", &self.intermediates.len())
            .field("key", &"[secret elided]")
            .finish()
    }
}

/// A certificate issued by a [`CertificateAuthority`], with its new private key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedCertificate {
    /// The certificate alone, PEM.
    pub cert_pem: String,
    /// The certificate alone, DER.
    pub cert_der: CertificateDer<'static>,
    /// The private key, PKCS#8 PEM (`PRIVATE KEY`); zeroised on drop, never printed.
    pub key_pem: SecretPem,
    /// The key type of [`key_pem`](Self::key_pem).
    pub key_type: KeyType,
    /// The intermediate CA certificates between this certificate and the root, nearest first
    /// (empty when issued by a root). The root is not included: it goes in `ca-certificates`.
    pub chain: Vec<CertificateDer<'static>>,
}

/// How [`CertificateAuthority::sign_request`] treats the names of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignParams {
    /// The certificate's validity.
    pub validity: Validity,
    /// Replace the request's subject with these common names (at most two).
    pub common_names: Option<Vec<String>>,
    /// Replace every SAN of the request with these.
    pub names: Option<SanOverrides>,
}

impl SignParams {
    /// The request's subject and SANs, for `validity`.
    pub fn new(validity: Validity) -> Self {
        SignParams {
            validity,
            common_names: None,
            names: None,
        }
    }

    /// The same parameters with the subject replaced by these common names.
    pub fn with_common_names(mut self, common_names: Vec<String>) -> Self {
        self.common_names = Some(common_names);
        self
    }

    /// The same parameters with every SAN of the request replaced by `names`.
    pub fn with_names(mut self, names: SanOverrides) -> Self {
        self.names = Some(names);
        self
    }
}

/// The SANs a CA writes instead of the ones a request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SanOverrides {
    /// `dNSName` SANs.
    pub dns_names: Vec<String>,
    /// `uniformResourceIdentifier` SANs.
    pub uris: Vec<String>,
    /// `iPAddress` SANs.
    pub ip_addresses: Vec<std::net::IpAddr>,
}

/// A certificate signed for a request's public key (the key stays with the requester).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedCertificate {
    /// The certificate alone, PEM.
    pub cert_pem: String,
    /// The certificate alone, DER.
    pub cert_der: CertificateDer<'static>,
    /// The intermediate CA certificates between this certificate and the root, nearest first.
    pub chain: Vec<CertificateDer<'static>>,
}

impl SignedCertificate {
    /// What goes into Vespa's `certificates` file: this certificate first, then [`chain`](Self::chain).
    pub fn certificates_pem(&self) -> String {
        let mut out = self.cert_pem.clone();
        for der in &self.chain {
            out.push_str(&pem::encode("CERTIFICATE", der));
        }
        out
    }
}

impl IssuedCertificate {
    /// What goes into Vespa's `certificates` file: this certificate first, then [`chain`](Self::chain).
    pub fn certificates_pem(&self) -> String {
        let mut out = self.cert_pem.clone();
        for der in &self.chain {
            out.push_str(&pem::encode("CERTIFICATE", der));
        }
        out
    }

    /// The private key as DER, for in-memory use (e.g. building a TLS config in a test).
    pub fn private_key_der(&self) -> Result<PrivateKeyDer<'static>, PkiError> {
        PrivateKeyDer::from_pem_slice(self.key_pem.expose().as_bytes())
            .map_err(|e| PkiError::load("issued private key", e.to_string()))
    }
}

impl CertificateAuthority {
    /// A new self-signed root CA.
    pub fn new_root(params: &CaParams) -> Result<Self, PkiError> {
        let what = format!("root CA {:?}", params.common_name);
        let cert_params = ca_params(&what, params)?;
        let key = generate_key(&what, params.key_type)?;
        let cert = cert_params
            .self_signed(&key)
            .map_err(|e| PkiError::generate(&what, e))?;
        let cert_der = cert.der().clone();
        Ok(CertificateAuthority {
            key_pem: SecretPem::new(key.serialize_pem()),
            key,
            issuer_params: cert_params,
            root: cert_der.clone(),
            cert_der,
            intermediates: Vec::new(),
        })
    }

    /// A new intermediate CA signed by this one.
    pub fn issue_intermediate(&self, params: &CaParams) -> Result<Self, PkiError> {
        let what = format!("intermediate CA {:?}", params.common_name);
        let mut cert_params = ca_params(&what, params)?;
        cert_params.use_authority_key_identifier_extension = true;
        let key = generate_key(&what, params.key_type)?;
        let cert = cert_params
            .signed_by(&key, &self.issuer())
            .map_err(|e| PkiError::generate(&what, e))?;
        let cert_der = cert.der().clone();
        let mut intermediates = vec![cert_der.clone()];
        intermediates.extend(self.intermediates.iter().cloned());
        Ok(CertificateAuthority {
            key_pem: SecretPem::new(key.serialize_pem()),
            key,
            issuer_params: cert_params,
            cert_der,
            intermediates,
            root: self.root.clone(),
        })
    }

    /// A node or client certificate with a new key.
    pub fn issue(&self, params: &NodeParams) -> Result<IssuedCertificate, PkiError> {
        let what = what_of(params);
        check_validity(&what, &params.validity)?;
        let key = generate_key(&what, params.key_type)?;
        self.sign(params, &what, key)
    }

    /// A certificate for an existing key, as a renewal issues: a new serial number and the
    /// names and validity of `params`, for the key of `key_pem` (PKCS#8 PEM, as
    /// [`IssuedCertificate::key_pem`]); `params`' key type must be that key's.
    pub fn issue_for_key(
        &self,
        params: &NodeParams,
        key_pem: &SecretPem,
    ) -> Result<IssuedCertificate, PkiError> {
        let what = what_of(params);
        check_validity(&what, &params.validity)?;
        let key = KeyPair::from_pem(key_pem.expose()).map_err(|e| PkiError::generate(&what, e))?;
        self.sign(params, &what, key)
    }

    fn sign(
        &self,
        params: &NodeParams,
        what: &str,
        key: KeyPair,
    ) -> Result<IssuedCertificate, PkiError> {
        let what = what.to_owned();
        if params.common_names.len() > 2 {
            return Err(PkiError::InvalidParams {
                what,
                reason: format!(
                    "expected at most 2 common names, found {}",
                    params.common_names.len()
                ),
            });
        }
        let mut cert_params = leaf_params(&what, &params.validity)?;
        cert_params.distinguished_name =
            subject_name(params.organization.as_deref(), &params.common_names);
        cert_params.extended_key_usages = match params.extended_key_usages {
            ExtendedKeyUsages::ServerAndClientAuth => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            ExtendedKeyUsages::ServerAuthOnly => vec![ExtendedKeyUsagePurpose::ServerAuth],
            ExtendedKeyUsages::ClientAuthOnly => vec![ExtendedKeyUsagePurpose::ClientAuth],
            ExtendedKeyUsages::Absent => Vec::new(),
        };
        cert_params.subject_alt_names =
            csr::sans(&params.dns_names, &params.uris, &params.ip_addresses)?;

        let cert = cert_params
            .signed_by(&key, &self.issuer())
            .map_err(|e| PkiError::generate(&what, e))?;
        Ok(IssuedCertificate {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pem: SecretPem::new(key.serialize_pem()),
            key_type: params.key_type,
            chain: self.intermediates.clone(),
        })
    }

    /// A certificate for the public key of a verified certificate signing request, under this
    /// CA's profile whatever the request asks for: `CA:FALSE`, extended key usages serverAuth
    /// and clientAuth, keyUsage digitalSignature, keyEncipherment and keyAgreement (the seed
    /// guide's extension file), subject and authority key identifiers, a random serial number.
    ///
    /// The subject and the SANs are the request's unless [`SignParams`] overrides them. A
    /// request that asks to be a CA (`basicConstraints CA:TRUE`) is refused, and so is an
    /// Ed25519 key (Vespa's Java processes cannot load it).
    pub fn sign_request(
        &self,
        request: &CertificateRequest,
        params: &SignParams,
    ) -> Result<SignedCertificate, PkiError> {
        let what = format!("certificate for request {:?}", request.subject());
        if request.asks_for_ca() {
            return Err(PkiError::InvalidRequest {
                reason: "it asks for basicConstraints CA:TRUE; this CA issues node \
                         certificates only"
                    .to_owned(),
            });
        }
        if request.key_type() == RequestKeyType::Ed25519 {
            return Err(PkiError::InvalidRequest {
                reason: "expected an ECDSA P-256, ECDSA P-384 or RSA key, found Ed25519 \
                         (Vespa's Java processes cannot load it)"
                    .to_owned(),
            });
        }
        let mut cert_params = leaf_params(&what, &params.validity)?;
        cert_params.distinguished_name = match &params.common_names {
            Some(cns) => {
                if cns.len() > 2 {
                    return Err(PkiError::InvalidParams {
                        what,
                        reason: format!("expected at most 2 common names, found {}", cns.len()),
                    });
                }
                subject_name(None, cns)
            }
            None => request.subject_for_rcgen()?.clone(),
        };
        cert_params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        cert_params.subject_alt_names = match &params.names {
            Some(names) => csr::sans(&names.dns_names, &names.uris, &names.ip_addresses)?,
            None => csr::sans(request.dns_names(), request.uris(), request.ip_addresses())?,
        };
        let cert = cert_params
            .signed_by(request.public_key(), &self.issuer())
            .map_err(|e| PkiError::generate(&what, e))?;
        Ok(SignedCertificate {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            chain: self.intermediates.clone(),
        })
    }

    /// An existing CA: its certificate (PEM: the CA certificate first, then any certificates
    /// above it) and its private key (PEM: PKCS#8, PKCS#1 or SEC1; ECDSA P-256/P-384 or RSA).
    ///
    /// Certificates issued afterwards name this CA's subject exactly and carry its subject key
    /// identifier as their authority key identifier, so they chain to the CA on disk.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let mut certs = Vec::new();
        for item in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
            let der = item.map_err(|e| {
                PkiError::load("CA certificate", format!("expected PEM, found {e}"))
            })?;
            certs.push(der);
        }
        let Some(cert_der) = certs.first().cloned() else {
            return Err(PkiError::load(
                "CA certificate",
                "expected at least one CERTIFICATE block, found none",
            ));
        };
        let cert = Certificate::from_der(&cert_der).map_err(|e| {
            PkiError::load(
                "CA certificate",
                format!("expected an X.509 certificate, found DER that does not parse: {e}"),
            )
        })?;
        let tbs = cert.tbs_certificate();
        let is_ca = matches!(
            tbs.get_extension::<X509BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        );
        if !is_ca {
            return Err(PkiError::load(
                "CA certificate",
                "expected basicConstraints CA:TRUE, found a certificate that is not a CA",
            ));
        }

        let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| {
            PkiError::load(
                "CA private key",
                "expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block, found none \
                 (encrypted keys are not supported)",
            )
        })?;
        let key = KeyPair::try_from(&key_der).map_err(|_| {
            PkiError::load(
                "CA private key",
                "expected an ECDSA P-256, ECDSA P-384 or RSA key, found a key that does not parse",
            )
        })?;
        let alg = key.algorithm();
        if alg != &rcgen::PKCS_ECDSA_P256_SHA256
            && alg != &rcgen::PKCS_ECDSA_P384_SHA384
            && alg != &rcgen::PKCS_RSA_SHA256
        {
            return Err(PkiError::load(
                "CA private key",
                format!(
                    "expected an ECDSA P-256, ECDSA P-384 or RSA key, found {alg:?} \
                     (Vespa's Java processes cannot load it)"
                ),
            ));
        }
        let cert_public_key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        if key.der_bytes() != cert_public_key {
            return Err(PkiError::load(
                "CA private key",
                "expected the key of the CA certificate, found another key",
            ));
        }

        let mut issuer_params = CertificateParams::default();
        issuer_params.distinguished_name = rcgen_name("CA certificate", tbs.subject())?;
        issuer_params.key_identifier_method = match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => KeyIdMethod::PreSpecified(ski.0.as_bytes().to_vec()),
            _ => KeyIdMethod::Sha256,
        };
        issuer_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        // Check that rcgen will write the issuer name byte for byte as the CA's subject:
        // chain building compares them exactly.
        let subject_der = tbs
            .subject()
            .to_der()
            .map_err(|e| PkiError::load("CA certificate", format!("subject: {e}")))?;
        let mut probe_params = CertificateParams::default();
        probe_params.distinguished_name = issuer_params.distinguished_name.clone();
        let probe = probe_params
            .self_signed(&key)
            .map_err(|e| PkiError::generate("probe certificate", e))?;
        let probe_issuer = Certificate::from_der(probe.der())
            .ok()
            .and_then(|c| c.tbs_certificate().issuer().to_der().ok());
        if probe_issuer.as_deref() != Some(subject_der.as_slice()) {
            return Err(PkiError::load(
                "CA certificate",
                "expected a subject rcgen can reproduce exactly, found one it re-encodes \
                 differently (unusual string types)",
            ));
        }

        let mut intermediates = Vec::new();
        let mut root = None;
        for der in certs {
            if is_self_signed(&der) {
                root = Some(der);
                break;
            }
            intermediates.push(der);
        }
        let root = match root {
            Some(root) => root,
            // No self-signed certificate given: the topmost one is also the trust anchor.
            None => intermediates
                .last()
                .cloned()
                .unwrap_or_else(|| cert_der.clone()),
        };
        Ok(CertificateAuthority {
            key,
            key_pem: SecretPem::new(key_pem.to_owned()),
            issuer_params,
            cert_der,
            intermediates,
            root,
        })
    }

    /// This CA's certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.cert_der)
    }

    /// This CA's certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// This CA's private key, PEM; zeroised on drop, never printed.
    pub fn key_pem(&self) -> &SecretPem {
        &self.key_pem
    }

    /// The trust anchor: the root certificate (for a loaded CA whose file has no self-signed
    /// certificate, the topmost certificate given).
    pub fn root_der(&self) -> &CertificateDer<'static> {
        &self.root
    }

    /// What goes into Vespa's `ca-certificates` file: the trust anchor, PEM.
    pub fn ca_bundle_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.root)
    }

    /// This CA's certificate, the intermediates above it and the root (PEM), as written by
    /// [`write_ca_files`](crate::write_ca_files) so [`load`](Self::load) reads it back whole.
    pub fn cert_chain_pem(&self) -> String {
        let mut out = pem::encode("CERTIFICATE", &self.cert_der);
        for der in self.intermediates.iter().filter(|d| **d != self.cert_der) {
            out.push_str(&pem::encode("CERTIFICATE", der));
        }
        if self.root != self.cert_der {
            out.push_str(&pem::encode("CERTIFICATE", &self.root));
        }
        out
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.issuer_params, &self.key)
    }
}

fn check_validity(what: &str, validity: &Validity) -> Result<(), PkiError> {
    if validity.not_before >= validity.not_after {
        return Err(PkiError::InvalidParams {
            what: what.to_owned(),
            reason: format!(
                "expected not_before before not_after, found {} .. {}",
                validity.not_before, validity.not_after
            ),
        });
    }
    Ok(())
}

/// What every leaf this crate issues has: the validity, a random serial, `CA:FALSE`, the guide's
/// keyUsage, and an authority key identifier (rcgen adds the subject key identifier).
fn leaf_params(what: &str, validity: &Validity) -> Result<CertificateParams, PkiError> {
    check_validity(what, validity)?;
    let mut cert_params = CertificateParams::default();
    cert_params.not_before = validity.not_before;
    cert_params.not_after = validity.not_after;
    cert_params.serial_number = Some(random_serial(what)?);
    cert_params.is_ca = IsCa::ExplicitNoCa;
    cert_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
    ];
    cert_params.use_authority_key_identifier_extension = true;
    Ok(cert_params)
}

/// `O=organization` (if any), then the common names; a second CN is written under the same OID
/// as a custom attribute (rcgen keeps one value per attribute type).
pub(crate) fn subject_name(
    organization: Option<&str>,
    common_names: &[String],
) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    for (i, cn) in common_names.iter().enumerate() {
        let ty = if i == 0 {
            DnType::CommonName
        } else {
            DnType::CustomDnType(COMMON_NAME_OID.to_vec())
        };
        dn.push(ty, cn.as_str());
    }
    dn
}

fn ca_params(what: &str, params: &CaParams) -> Result<CertificateParams, PkiError> {
    check_validity(what, &params.validity)?;
    let mut cert_params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let Some(org) = &params.organization {
        dn.push(DnType::OrganizationName, org.as_str());
    }
    dn.push(DnType::CommonName, params.common_name.as_str());
    cert_params.distinguished_name = dn;
    cert_params.not_before = params.validity.not_before;
    cert_params.not_after = params.validity.not_after;
    cert_params.serial_number = Some(random_serial(what)?);
    cert_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    cert_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(cert_params)
}

pub(crate) fn generate_key(what: &str, key_type: KeyType) -> Result<KeyPair, PkiError> {
    let result = match key_type {
        KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Rsa2048 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        }
    };
    result.map_err(|e| PkiError::generate(format!("{what}: {} key", key_type.as_str()), e))
}

/// 16 random bytes, positive (RFC 5280 §4.1.2.2: at most 20 octets, non-negative, unique).
fn random_serial(what: &str) -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random {
        what: what.to_owned(),
    })?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

pub(crate) fn ia5(kind: &'static str, value: &str) -> Result<rcgen::string::Ia5String, PkiError> {
    rcgen::string::Ia5String::try_from(value).map_err(|error| PkiError::InvalidName {
        kind,
        value: value.to_owned(),
        error,
    })
}

fn is_self_signed(der: &CertificateDer<'_>) -> bool {
    Certificate::from_der(der).is_ok_and(|c| {
        let tbs = c.tbs_certificate();
        tbs.subject().to_der().ok() == tbs.issuer().to_der().ok()
    })
}

/// The CA subject as rcgen attributes, one attribute per RDN, types and string kinds preserved.
pub(crate) fn rcgen_name(
    what: &str,
    name: &x509_cert::name::Name,
) -> Result<DistinguishedName, PkiError> {
    let mut dn = DistinguishedName::new();
    let mut seen = Vec::new();
    for rdn in name.iter_rdn() {
        if rdn.len() != 1 {
            return Err(PkiError::load(
                what,
                format!(
                    "expected one attribute per name component, found {}",
                    rdn.len()
                ),
            ));
        }
        for atv in rdn.iter() {
            let oid: Vec<u64> = atv.oid.arcs().map(u64::from).collect();
            if seen.contains(&oid) {
                return Err(PkiError::load(
                    what,
                    format!(
                        "subject attribute {} repeats; rcgen cannot issue under it",
                        atv.oid
                    ),
                ));
            }
            seen.push(oid.clone());
            let bytes = atv.value.value();
            let text = || {
                std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| {
                    PkiError::load(
                        what,
                        format!("subject attribute {} is not valid text", atv.oid),
                    )
                })
            };
            let unsupported = |reason: String| PkiError::load(what, reason);
            let value = match atv.value.tag() {
                Tag::Utf8String => DnValue::Utf8String(text()?),
                Tag::PrintableString => DnValue::PrintableString(
                    text()?
                        .try_into()
                        .map_err(|e: rcgen::Error| unsupported(e.to_string()))?,
                ),
                Tag::Ia5String => DnValue::Ia5String(
                    text()?
                        .try_into()
                        .map_err(|e: rcgen::Error| unsupported(e.to_string()))?,
                ),
                other => {
                    return Err(unsupported(format!(
                        "subject attribute {}: expected a UTF8String, PrintableString or \
                         IA5String, found {other}",
                        atv.oid
                    )));
                }
            };
            dn.push(DnType::CustomDnType(oid), value);
        }
    }
    Ok(dn)
}

/// How errors name a certificate being issued.
fn what_of(params: &NodeParams) -> String {
    match params.common_names.first() {
        Some(cn) => format!("certificate {cn:?}"),
        None => "certificate without common name".to_owned(),
    }
}
