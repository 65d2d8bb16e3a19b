//! Trust decided as Vespa's OpenSSL side decides it: the CA bundle's entries classified the way
//! OpenSSL's chain builder sees them, and the checks OpenSSL's `sslclient` / `sslserver`
//! purposes make on top of the signatures webpki verifies.
//!
//! - An entry *issues* only if it is a CA to OpenSSL: a v3 certificate with basicConstraints
//!   `cA=TRUE` whose keyUsage is absent or includes keyCertSign, or a v1 self-signed
//!   certificate. Such an entry is a webpki trust anchor.
//! - A self-signed entry that is not a CA is an exact *pin*: it accepts a peer whose leaf is
//!   byte-identical to it (OpenSSL trusts a self-signed leaf found in the store) and never
//!   issues.
//! - Any other entry trusts nothing (OpenSSL would need its issuer, which is not a root).
//! - A chain through an anchor that is expired or not yet valid is refused, naming the anchor.
//! - keyUsage: every intermediate must allow keyCertSign; the leaf must allow what the purpose
//!   needs (a client: digitalSignature or keyAgreement; a server: digitalSignature,
//!   keyEncipherment or keyAgreement), as OpenSSL's purposes check.
//! - DNS name constraints and the subject CN: a leaf without DNS SANs whose CN looks like a
//!   host name must satisfy every DNS name constraint on its path (OpenSSL refuses the chain
//!   otherwise). Beyond OpenSSL, a CN that cannot be shown to satisfy the constraints (not a
//!   host name, or next to DNS SANs) is treated as absent for authorization and hostname
//!   validation, so a constrained CA can never vouch for a CN it was not allowed to issue.
//!
//! Where webpki is stricter than OpenSSL (a CA certificate presented as a leaf, a CA without
//! basicConstraints that only has keyUsage keyCertSign) we keep webpki's refusal: fail closed.

use der::Decode as _;
use der::asn1::ObjectIdentifier;
use rustls::CertificateError;
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use std::fmt;
use vespa_tls_authz::CertificateParts;
use vespa_tls_config::Escaped;
use vespa_tls_material::CertificateFacts;
use webpki::{EndEntityCert, KeyUsage as Eku, VerifiedPath};
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, NameConstraints,
    SubjectAltName, SubjectKeyIdentifier,
};

/// Whose chain is verified: OpenSSL's `sslclient` or `sslserver` purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    /// A client's chain, verified by a server (purpose `sslclient`, EKU clientAuth).
    Client,
    /// A server's chain, verified by a client (purpose `sslserver`, EKU serverAuth).
    Server,
}

impl PeerRole {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerRole::Client => "client",
            PeerRole::Server => "server",
        }
    }

    fn eku(self) -> Eku {
        match self {
            PeerRole::Client => Eku::client_auth(),
            PeerRole::Server => Eku::server_auth(),
        }
    }

    fn leaf_key_usage_ok(self, ku: &KeyUsage) -> bool {
        match self {
            PeerRole::Client => ku.digital_signature() || ku.key_agreement(),
            PeerRole::Server => {
                ku.digital_signature() || ku.key_encipherment() || ku.key_agreement()
            }
        }
    }

    /// Whether a certificate with these extendedKeyUsage OIDs (`None`: no extension) may serve
    /// this purpose: the purpose itself or anyExtendedKeyUsage, as OpenSSL's purposes read it.
    fn allowed_by(self, purposes: Option<&[ObjectIdentifier]>) -> bool {
        let wanted = match self {
            PeerRole::Client => OID_CLIENT_AUTH,
            PeerRole::Server => OID_SERVER_AUTH,
        };
        purposes.is_none_or(|p| p.iter().any(|o| *o == wanted || *o == OID_ANY_EKU))
    }

    fn eku_name(self) -> &'static str {
        match self {
            PeerRole::Client => "clientAuth",
            PeerRole::Server => "serverAuth",
        }
    }

    fn key_usage_needed(self) -> &'static str {
        match self {
            PeerRole::Client => "digitalSignature or keyAgreement",
            PeerRole::Server => "digitalSignature, keyEncipherment or keyAgreement",
        }
    }
}

/// How the CA bundle uses one of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnchorKind {
    /// A CA as OpenSSL sees it: it issues peer certificates.
    Issuing,
    /// A self-signed certificate that is not a CA: it accepts exactly itself as a peer leaf.
    Pin,
    /// Neither: no chain can end here.
    Unusable {
        /// Why, for `check`.
        reason: String,
    },
}

/// A certificate named the way an operator finds it: subject and SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateName {
    /// RFC 4514 subject.
    pub subject: String,
    /// SHA-256 of the DER, colon-separated upper-case hex.
    pub sha256_fingerprint: String,
}

impl CertificateName {
    fn of(der: &CertificateDer<'_>) -> CertificateName {
        let owned = CertificateDer::from(der.as_ref().to_vec());
        match CertificateFacts::from_der(&owned) {
            Some(facts) => CertificateName {
                subject: facts.subject,
                sha256_fingerprint: facts.sha256_fingerprint,
            },
            None => CertificateName {
                subject: "unparsable certificate".to_owned(),
                sha256_fingerprint: String::new(),
            },
        }
    }
}

impl fmt::Display for CertificateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" (sha256 {})",
            Escaped(&self.subject),
            self.sha256_fingerprint
        )
    }
}

/// One entry of the CA bundle, classified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AnchorEntry {
    /// Its name.
    pub name: CertificateName,
    /// How it is used.
    pub kind: AnchorKind,
    /// Start of validity (Unix seconds).
    pub not_before: u64,
    /// End of validity (Unix seconds).
    pub not_after: u64,
    der: CertificateDer<'static>,
    constraints: DnsConstraints,
    /// The extendedKeyUsage OIDs, `None` when the extension is absent (any purpose).
    purposes: Option<Vec<ObjectIdentifier>>,
}

impl AnchorEntry {
    /// Whether `now` lies inside the validity period.
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        let now = now.as_secs();
        self.not_before <= now && now <= self.not_after
    }
}

/// Why a presented chain is refused. Each message names the certificate at fault.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// webpki refused the path (unknown issuer, bad signature, expired certificate, EKU…).
    #[error("certificate chain refused: {0:?}")]
    Path(webpki::Error),
    /// The only path ends at a CA certificate that is expired or not yet valid.
    #[error(
        "certificate chain refused: trust anchor {anchor} is not valid at this time \
         (valid from {not_before} to {not_after}, Unix seconds)"
    )]
    AnchorNotValid {
        /// The anchor.
        anchor: CertificateName,
        /// Its notBefore.
        not_before: u64,
        /// Its notAfter.
        not_after: u64,
    },
    /// The anchor's extendedKeyUsage does not include the purpose (OpenSSL checks it on every
    /// certificate of the path, the anchor included).
    #[error(
        "certificate chain refused: trust anchor {anchor} has an extendedKeyUsage without {needed}"
    )]
    AnchorPurpose {
        /// The anchor.
        anchor: CertificateName,
        /// `clientAuth` or `serverAuth`.
        needed: &'static str,
    },
    /// A pinned certificate's extendedKeyUsage does not include the purpose.
    #[error(
        "certificate chain refused: pinned certificate {certificate} has an extendedKeyUsage without {needed}"
    )]
    PinPurpose {
        /// The pinned certificate.
        certificate: CertificateName,
        /// `clientAuth` or `serverAuth`.
        needed: &'static str,
    },
    /// An intermediate CA's keyUsage does not allow keyCertSign.
    #[error(
        "certificate chain refused: intermediate {certificate} has a keyUsage without keyCertSign"
    )]
    IntermediateKeyUsage {
        /// The intermediate.
        certificate: CertificateName,
    },
    /// The leaf's keyUsage does not allow the purpose.
    #[error(
        "certificate chain refused: the {role} certificate {certificate} has a keyUsage without {needed}"
    )]
    LeafKeyUsage {
        /// The leaf.
        certificate: CertificateName,
        /// `client` or `server`.
        role: &'static str,
        /// The bits one of which is needed.
        needed: &'static str,
    },
    /// A pinned (self-signed, not CA) bundle entry presented as leaf is outside its validity.
    #[error(
        "certificate chain refused: pinned certificate {certificate} is not valid at this time"
    )]
    PinNotValid {
        /// The pinned certificate.
        certificate: CertificateName,
    },
    /// The leaf has no DNS SAN and its host-name CN violates a CA's DNS name constraints.
    #[error(
        "certificate chain refused: subject CN \"{}\" of {certificate} violates the DNS \
         name constraints of {constrained_by}",
        Escaped(common_name)
    )]
    NameConstraints {
        /// The leaf.
        certificate: CertificateName,
        /// The CN.
        common_name: String,
        /// The CA whose constraints it violates.
        constrained_by: CertificateName,
    },
    /// The leaf does not parse.
    #[error("certificate chain refused: the leaf certificate does not parse: {0}")]
    Unparsable(der::Error),
    /// The chain is empty.
    #[error("certificate chain refused: no certificate presented")]
    NoCertificate,
}

impl ChainError {
    /// The rustls error for a refusal webpki also knows (rustls's usual mapping, and so the
    /// usual TLS alert); `None` for ours, which travel as `CertificateError::Other`.
    pub(crate) fn standard_error(&self) -> Option<CertificateError> {
        use webpki::Error as W;
        Some(match self {
            ChainError::Path(e) => match e {
                W::BadDer | W::BadDerTime | W::TrailingData(_) => CertificateError::BadEncoding,
                W::CertNotValidYet { time, not_before } => CertificateError::NotValidYetContext {
                    time: *time,
                    not_before: *not_before,
                },
                W::CertExpired { time, not_after } => CertificateError::ExpiredContext {
                    time: *time,
                    not_after: *not_after,
                },
                W::InvalidCertValidity => CertificateError::Expired,
                W::UnknownIssuer => CertificateError::UnknownIssuer,
                W::InvalidSignatureForPublicKey
                | W::UnsupportedSignatureAlgorithmContext(_)
                | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                    CertificateError::BadSignature
                }
                W::RequiredEkuNotFoundContext(_) => CertificateError::InvalidPurpose,
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// What a successful verification found out beyond "valid".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedChain {
    /// The bundle entry the path ends at (an issuing CA, or the pin itself).
    pub anchor: CertificateName,
    /// Whether the leaf's subject CN may be used (no DNS name constraint on the path, or the
    /// CN is a host name that satisfies all of them). When false, authorization and hostname
    /// validation treat the CN as absent.
    pub common_name_usable: bool,
}

/// The CA bundle as OpenSSL sees it, ready for handshakes.
#[derive(Debug)]
pub struct TrustAnchors {
    entries: Vec<AnchorEntry>,
    /// webpki anchors of the issuing entries, with the index of each in `entries`.
    issuing: Vec<TrustAnchor<'static>>,
    issuing_index: Vec<usize>,
    /// Subjects of every usable entry, for the CertificateRequest's CA names.
    hint_subjects: Vec<rustls::DistinguishedName>,
}

impl TrustAnchors {
    /// Classifies every certificate of a CA bundle. Entries that do not parse are unusable.
    pub fn new(bundle: &[CertificateDer<'static>]) -> TrustAnchors {
        let mut entries = Vec::with_capacity(bundle.len());
        let mut issuing = Vec::new();
        let mut issuing_index = Vec::new();
        let mut hint_subjects = Vec::new();
        for der in bundle {
            let entry = classify(der);
            if entry.kind == AnchorKind::Issuing {
                match webpki::anchor_from_trusted_cert(der) {
                    Ok(anchor) => {
                        issuing.push(anchor.to_owned());
                        issuing_index.push(entries.len());
                    }
                    Err(e) => {
                        entries.push(AnchorEntry {
                            kind: AnchorKind::Unusable {
                                reason: format!("not usable as a trust anchor: {e:?}"),
                            },
                            ..entry
                        });
                        continue;
                    }
                }
            }
            if !matches!(entry.kind, AnchorKind::Unusable { .. })
                && let Ok(cert) = Certificate::from_der(der)
                && let Ok(subject) = der::Encode::to_der(cert.tbs_certificate().subject())
            {
                hint_subjects.push(rustls::DistinguishedName::from(subject));
            }
            entries.push(entry);
        }
        TrustAnchors {
            entries,
            issuing,
            issuing_index,
            hint_subjects,
        }
    }

    /// Every entry of the bundle, in file order.
    pub fn entries(&self) -> &[AnchorEntry] {
        &self.entries
    }

    /// Subjects of the entries that can end a chain (for the CertificateRequest).
    pub fn hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hint_subjects
    }

    /// Verifies a presented chain (leaf first, then what the peer sent as intermediates) for
    /// a peer in `role` at `now`: signatures, validity of every certificate including the
    /// anchor, basicConstraints, EKU, keyUsage and name constraints.
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        role: PeerRole,
        algorithms: &[&'static dyn SignatureVerificationAlgorithm],
    ) -> Result<VerifiedChain, ChainError> {
        let parts = CertificateParts::split(leaf.as_ref()).map_err(ChainError::Unparsable)?;
        self.verify_split(leaf, &parts, intermediates, now, role, algorithms)
    }

    /// [`verify`](Self::verify) with the leaf already split into `parts`.
    pub(crate) fn verify_split(
        &self,
        leaf: &CertificateDer<'_>,
        parts: &CertificateParts<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        role: PeerRole,
        algorithms: &[&'static dyn SignatureVerificationAlgorithm],
    ) -> Result<VerifiedChain, ChainError> {
        // The leaf's keyUsage, read in place (webpki parses and checks the whole certificate).
        let key_usage = crate::tbs::key_usage(parts).map_err(ChainError::Unparsable)?;
        // Decoded only when a path has DNS name constraints (most have none).
        let leaf_facts = std::cell::OnceCell::new();

        // An exact pin: the peer presents a self-signed bundle entry that is not a CA.
        if let Some(pin) = self
            .entries
            .iter()
            .find(|e| e.kind == AnchorKind::Pin && e.der.as_ref() == leaf.as_ref())
        {
            if !pin.is_valid_at(now) {
                return Err(ChainError::PinNotValid {
                    certificate: pin.name.clone(),
                });
            }
            check_leaf(key_usage.as_ref(), leaf, role)?;
            // No path building for a pin, so its EKU is ours to check.
            if !role.allowed_by(pin.purposes.as_deref()) {
                return Err(ChainError::PinPurpose {
                    certificate: pin.name.clone(),
                    needed: role.eku_name(),
                });
            }
            return Ok(VerifiedChain {
                anchor: pin.name.clone(),
                common_name_usable: true,
            });
        }

        let end_entity = EndEntityCert::try_from(leaf).map_err(ChainError::Path)?;
        // Our checks run on each candidate path webpki finds; a refusal makes webpki look for
        // another path (as OpenSSL prefers a valid issuer), and is reported if none is left.
        let refusal = std::cell::RefCell::new(None::<ChainError>);
        let usable_cn = std::cell::Cell::new(true);
        let check_path = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
            let facts = || {
                leaf_facts
                    .get_or_init(|| Certificate::from_der(leaf.as_ref()).map(|c| LeafFacts::of(&c)))
                    .as_ref()
                    .map_err(|e| ChainError::Unparsable(*e))
            };
            match self.check_path(path, &facts, leaf, now, role) {
                Ok(cn_usable) => {
                    usable_cn.set(cn_usable);
                    Ok(())
                }
                Err(e) => {
                    refusal.replace(Some(e));
                    // Any non-fatal error: webpki keeps searching and ranks errors itself.
                    Err(webpki::Error::UnknownIssuer)
                }
            }
        };
        let path = end_entity.verify_for_usage(
            algorithms,
            &self.issuing,
            intermediates,
            now,
            role.eku(),
            None,
            Some(&check_path),
        );
        match path {
            Ok(path) => {
                check_leaf(key_usage.as_ref(), leaf, role)?;
                let anchor = self.entry_of(path.anchor()).map_or_else(
                    || CertificateName {
                        subject: "unknown".into(),
                        sha256_fingerprint: String::new(),
                    },
                    |e| e.name.clone(),
                );
                Ok(VerifiedChain {
                    anchor,
                    common_name_usable: usable_cn.get(),
                })
            }
            Err(error) => Err(refusal.into_inner().unwrap_or(ChainError::Path(error))),
        }
    }

    fn entry_of(&self, anchor: &TrustAnchor<'_>) -> Option<&AnchorEntry> {
        self.issuing
            .iter()
            .position(|a| {
                a.subject == anchor.subject
                    && a.subject_public_key_info == anchor.subject_public_key_info
            })
            .and_then(|i| self.entries.get(self.issuing_index[i]))
    }

    /// Our checks on one candidate path; `Ok(cn_usable)`.
    fn check_path<'f>(
        &self,
        path: &VerifiedPath<'_>,
        leaf_facts: &dyn Fn() -> Result<&'f LeafFacts, ChainError>,
        leaf_der: &CertificateDer<'_>,
        now: UnixTime,
        role: PeerRole,
    ) -> Result<bool, ChainError> {
        let anchor = self
            .entry_of(path.anchor())
            .ok_or(ChainError::Path(webpki::Error::UnknownIssuer))?;
        if !anchor.is_valid_at(now) {
            return Err(ChainError::AnchorNotValid {
                anchor: anchor.name.clone(),
                not_before: anchor.not_before,
                not_after: anchor.not_after,
            });
        }
        // webpki checks the EKU of the leaf and the intermediates; OpenSSL also checks the
        // anchor's.
        if !role.allowed_by(anchor.purposes.as_deref()) {
            return Err(ChainError::AnchorPurpose {
                anchor: anchor.name.clone(),
                needed: role.eku_name(),
            });
        }
        // DNS name constraints on the path, each with where it came from.
        let mut constraints: Vec<(&DnsConstraints, Option<CertificateDer<'_>>)> = Vec::new();
        if !anchor.constraints.is_empty() {
            constraints.push((&anchor.constraints, None));
        }
        let mut intermediate_constraints = Vec::new();
        for intermediate in path.intermediate_certificates() {
            let der = intermediate.der();
            let cert = Certificate::from_der(der.as_ref())
                .map_err(|_| ChainError::Path(webpki::Error::BadDer))?;
            if let Ok(Some((_, ku))) = cert.tbs_certificate().get_extension::<KeyUsage>()
                && !ku.key_cert_sign()
            {
                return Err(ChainError::IntermediateKeyUsage {
                    certificate: CertificateName::of(&der),
                });
            }
            let c = DnsConstraints::of(&cert);
            if !c.is_empty() {
                intermediate_constraints.push((c, der));
            }
        }
        constraints.extend(
            intermediate_constraints
                .iter()
                .map(|(c, der)| (c, Some(der.clone()))),
        );

        if constraints.is_empty() {
            return Ok(true);
        }
        let leaf = leaf_facts()?;
        // OpenSSL checks every host-name CN of a leaf without DNS SANs and refuses the chain.
        if !leaf.has_dns_san {
            for cn in leaf
                .common_names
                .iter()
                .filter(|cn| looks_like_host_name(cn))
            {
                if let Some((_, source)) = constraints.iter().find(|(c, _)| !c.permits(cn)) {
                    return Err(ChainError::NameConstraints {
                        certificate: CertificateName::of(leaf_der),
                        common_name: cn.clone(),
                        constrained_by: match source {
                            Some(der) => CertificateName::of(der),
                            None => anchor.name.clone(),
                        },
                    });
                }
            }
        }
        // The CN we use counts only if it is a host name inside every constraint; otherwise
        // (not a host name, or outside next to DNS SANs, where OpenSSL leaves it alone) it is
        // treated as absent.
        Ok(leaf.common_names.last().is_none_or(|cn| {
            looks_like_host_name(cn) && constraints.iter().all(|(c, _)| c.permits(cn))
        }))
    }
}

/// The leaf's own checks (purpose keyUsage; `None`: no keyUsage extension).
fn check_leaf(
    key_usage: Option<&KeyUsage>,
    der: &CertificateDer<'_>,
    role: PeerRole,
) -> Result<(), ChainError> {
    if let Some(ku) = key_usage
        && !role.leaf_key_usage_ok(ku)
    {
        return Err(ChainError::LeafKeyUsage {
            certificate: CertificateName::of(der),
            role: role.as_str(),
            needed: role.key_usage_needed(),
        });
    }
    Ok(())
}

/// What the name-constraint check needs from the leaf.
struct LeafFacts {
    /// The non-empty CNs, as text, in subject order; the last is the one authorization and
    /// hostname validation use.
    common_names: Vec<String>,
    has_dns_san: bool,
}

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const OID_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const OID_ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

fn extended_key_usages(cert: &Certificate) -> Option<Vec<ObjectIdentifier>> {
    match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => Some(eku.0),
        _ => None,
    }
}

impl LeafFacts {
    fn of(cert: &Certificate) -> LeafFacts {
        let tbs = cert.tbs_certificate();
        let common_names = tbs
            .subject()
            .iter()
            .filter(|atv| atv.oid == OID_CN && !atv.value.value().is_empty())
            .filter_map(|atv| std::str::from_utf8(atv.value.value()).ok())
            .map(str::to_owned)
            .collect();
        let has_dns_san = matches!(
            tbs.get_extension::<SubjectAltName>(),
            Ok(Some((_, san))) if san.0.iter().any(|n| matches!(n, GeneralName::DnsName(_)))
        );
        LeafFacts {
            common_names,
            has_dns_san,
        }
    }
}

/// The dNSName subtrees of one CA's name constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DnsConstraints {
    permitted: Vec<String>,
    excluded: Vec<String>,
}

impl DnsConstraints {
    fn of(cert: &Certificate) -> DnsConstraints {
        let Ok(Some((_, nc))) = cert.tbs_certificate().get_extension::<NameConstraints>() else {
            return DnsConstraints::default();
        };
        let dns = |subtrees: &Option<x509_cert::ext::pkix::constraints::name::GeneralSubtrees>| {
            subtrees
                .iter()
                .flatten()
                .filter_map(|s| match &s.base {
                    GeneralName::DnsName(name) => Some(name.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        DnsConstraints {
            permitted: dns(&nc.permitted_subtrees),
            excluded: dns(&nc.excluded_subtrees),
        }
    }

    fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.excluded.is_empty()
    }

    /// RFC 5280 §4.2.1.10 for dNSName, as OpenSSL applies it: `example.com` covers itself and
    /// every name below it, `.example.com` only names below it; ASCII case-insensitive.
    fn permits(&self, name: &str) -> bool {
        (self.permitted.is_empty() || self.permitted.iter().any(|base| dns_within(name, base)))
            && !self.excluded.iter().any(|base| dns_within(name, base))
    }
}

fn dns_within(name: &str, base: &str) -> bool {
    if base.is_empty() {
        return true;
    }
    let name = name.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    if let Some(suffix) = base.strip_prefix('.') {
        return name.len() > suffix.len() + 1 && name.ends_with(&base);
    }
    name == base || name.ends_with(&format!(".{base}"))
}

/// Whether a CN is a DNS host name in OpenSSL's sense (letters, digits, `-`, `_`, `*` and
/// dots; at least two labels; no empty label).
fn looks_like_host_name(cn: &str) -> bool {
    cn.contains('.')
        && cn.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*'))
        })
}

fn classify(der: &CertificateDer<'static>) -> AnchorEntry {
    let name = CertificateName::of(der);
    let Ok(cert) = Certificate::from_der(der.as_ref()) else {
        return AnchorEntry {
            name,
            kind: AnchorKind::Unusable {
                reason: "does not parse as X.509".into(),
            },
            not_before: 0,
            not_after: 0,
            der: der.clone(),
            constraints: DnsConstraints::default(),
            purposes: None,
        };
    };
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    let key_usage = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => Some(ku),
        _ => None,
    };
    let basic = match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) => Some(bc),
        _ => None,
    };
    let self_signed = is_self_signed(&cert);
    let kind = match (tbs.version(), basic) {
        (Version::V1, _) if self_signed => AnchorKind::Issuing,
        (_, Some(bc)) if bc.ca => match key_usage {
            Some(ku) if !ku.key_cert_sign() => AnchorKind::Unusable {
                reason: "a CA whose keyUsage lacks keyCertSign: OpenSSL refuses every chain \
                         through it"
                    .into(),
            },
            _ => AnchorKind::Issuing,
        },
        _ if self_signed => AnchorKind::Pin,
        _ => AnchorKind::Unusable {
            reason: "neither a CA nor self-signed: OpenSSL cannot end a chain here".into(),
        },
    };
    AnchorEntry {
        name,
        kind,
        not_before,
        not_after,
        der: der.clone(),
        constraints: DnsConstraints::of(&cert),
        purposes: extended_key_usages(&cert),
    }
}

/// Self-signed as OpenSSL's flag says: subject equals issuer and, when both are present, the
/// authority key identifier equals the subject key identifier.
fn is_self_signed(cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    let same_name =
        der::Encode::to_der(tbs.subject()).ok() == der::Encode::to_der(tbs.issuer()).ok();
    if !same_name {
        return false;
    }
    let akid = match tbs.get_extension::<AuthorityKeyIdentifier>() {
        Ok(Some((_, akid))) => akid.key_identifier,
        _ => None,
    };
    let skid = match tbs.get_extension::<SubjectKeyIdentifier>() {
        Ok(Some((_, skid))) => Some(skid.0),
        _ => None,
    };
    match (akid, skid) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}
