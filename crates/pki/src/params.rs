//! What to issue: key types, validity windows, extended key usages, CA and node parameters.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

/// The key algorithm of a generated key pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (the seed guide's recommendation: `prime256v1`).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// RSA, 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
}

impl KeyType {
    /// Every key type, default first.
    pub const ALL: [KeyType; 3] = [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048];

    /// A short name for CLI flags and reports: `ecdsa-p256`, `ecdsa-p384`, `rsa-2048`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa-2048",
        }
    }

    /// The key type with the given [`as_str`](Self::as_str) name.
    pub fn from_name(name: &str) -> Option<KeyType> {
        KeyType::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A validity window: `not_before` up to and including `not_after`.
///
/// Times are always given explicitly, so tests can make expired and not-yet-valid certificates
/// and no function of this crate reads the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First instant the certificate is valid.
    pub not_before: OffsetDateTime,
    /// Last instant the certificate is valid.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// The window from `not_before` to `not_after`.
    pub fn new(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        Validity {
            not_before,
            not_after,
        }
    }

    /// `days` days starting at `start` (which callers usually set a few minutes in the past to
    /// allow for clock skew between hosts).
    pub fn days_from(start: OffsetDateTime, days: i64) -> Self {
        Validity {
            not_before: start,
            not_after: start + Duration::days(days),
        }
    }
}

/// Which extended key usages (EKUs) a node certificate carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ExtendedKeyUsages {
    /// `serverAuth` and `clientAuth`: what every Vespa node needs, since it is both.
    #[default]
    ServerAndClientAuth,
    /// `serverAuth` only (a certificate that fails as a client).
    ServerAuthOnly,
    /// `clientAuth` only (a certificate that fails as a server).
    ClientAuthOnly,
    /// No extended key usage extension at all (any usage is allowed).
    Absent,
}

/// Parameters of a root or intermediate certificate authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaParams {
    /// The subject common name, e.g. `ACME test root CA`.
    pub common_name: String,
    /// The subject organization (`O=`), if any.
    pub organization: Option<String>,
    /// The CA's own key algorithm; issued certificates are signed with it.
    pub key_type: KeyType,
    /// The CA certificate's validity.
    pub validity: Validity,
}

impl CaParams {
    /// A CA with an ECDSA P-256 key and no organization.
    pub fn new(common_name: impl Into<String>, validity: Validity) -> Self {
        CaParams {
            common_name: common_name.into(),
            organization: None,
            key_type: KeyType::default(),
            validity,
        }
    }

    /// The same parameters with another key type.
    pub fn with_key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = key_type;
        self
    }

    /// The same parameters with an organization (`O=`).
    pub fn with_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }
}

/// Parameters of a node (host) or client certificate.
///
/// Nothing is implied: the common name is not copied into a DNS SAN. Vespa's test
/// certificates carry `DNS:localhost` and `IP:127.0.0.1`; add them with
/// [`with_dns`](Self::with_dns) and [`with_ip`](Self::with_ip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeParams {
    /// Subject common names in order. Usually one; tests may use none or two (at most two:
    /// rcgen keeps one value per attribute type, and the second is written under the same OID
    /// as a custom attribute).
    pub common_names: Vec<String>,
    /// The subject organization (`O=`), if any.
    pub organization: Option<String>,
    /// `dNSName` SANs, in order.
    pub dns_names: Vec<String>,
    /// `uniformResourceIdentifier` SANs, in order.
    pub uris: Vec<String>,
    /// `iPAddress` SANs, in order.
    pub ip_addresses: Vec<IpAddr>,
    /// The certificate's validity.
    pub validity: Validity,
    /// Extended key usages (default: serverAuth and clientAuth).
    pub extended_key_usages: ExtendedKeyUsages,
    /// The node's key algorithm.
    pub key_type: KeyType,
}

impl NodeParams {
    /// A node certificate with one common name, no SANs, both EKUs and an ECDSA P-256 key.
    pub fn new(common_name: impl Into<String>, validity: Validity) -> Self {
        NodeParams {
            common_names: vec![common_name.into()],
            organization: None,
            dns_names: Vec::new(),
            uris: Vec::new(),
            ip_addresses: Vec::new(),
            validity,
            extended_key_usages: ExtendedKeyUsages::default(),
            key_type: KeyType::default(),
        }
    }

    /// Adds a `DNS:` SAN.
    pub fn with_dns(mut self, name: impl Into<String>) -> Self {
        self.dns_names.push(name.into());
        self
    }

    /// Adds a `URI:` SAN.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uris.push(uri.into());
        self
    }

    /// Adds an `IP:` SAN.
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip_addresses.push(ip);
        self
    }

    /// Adds another subject common name (see [`common_names`](Self::common_names)).
    pub fn with_common_name(mut self, common_name: impl Into<String>) -> Self {
        self.common_names.push(common_name.into());
        self
    }

    /// Removes every subject common name.
    pub fn without_common_name(mut self) -> Self {
        self.common_names.clear();
        self
    }

    /// Sets the subject organization (`O=`).
    pub fn with_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Sets the extended key usages.
    pub fn with_extended_key_usages(mut self, ekus: ExtendedKeyUsages) -> Self {
        self.extended_key_usages = ekus;
        self
    }

    /// Sets the key type.
    pub fn with_key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = key_type;
        self
    }

    /// Sets the validity window.
    pub fn with_validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }
}
