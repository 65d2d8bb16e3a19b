//! The typed model of Vespa's TLS config file.

use std::fmt;
use std::path::PathBuf;

/// The whole config file: what `VESPA_TLS_CONFIG_FILE` names.
///
/// A value of this type has passed every rule of the parser (see `docs/CONFIG.md`), so later
/// layers never re-validate it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportSecurityOptions {
    /// The three credential files.
    pub files: Files,
    /// Who may connect, and with which capabilities; `None` means every peer with a certificate
    /// that chains to the CA bundle, with all capabilities.
    pub authorized_peers: Option<AuthorizedPeers>,
    /// The accepted cipher suites in file order, without duplicates; `None` means all nine.
    pub accepted_ciphers: Option<Vec<CipherSuite>>,
    /// The accepted protocol versions in file order, without duplicates; `None` means both.
    pub accepted_protocols: Option<Vec<TlsProtocol>>,
    /// Whether the client side skips hostname validation (default `false`: validation is on).
    pub disable_hostname_validation: bool,
}

impl TransportSecurityOptions {
    /// Options with the given files and every other field at its default.
    pub fn with_files(files: Files) -> Self {
        TransportSecurityOptions {
            files,
            authorized_peers: None,
            accepted_ciphers: None,
            accepted_protocols: None,
            disable_hostname_validation: false,
        }
    }

    /// The cipher suites in effect: the accepted list, or all nine in our preference order.
    pub fn effective_ciphers(&self) -> &[CipherSuite] {
        self.accepted_ciphers
            .as_deref()
            .unwrap_or(&CipherSuite::ALL)
    }

    /// The protocol versions in effect: the accepted list, or both.
    pub fn effective_protocols(&self) -> &[TlsProtocol] {
        self.accepted_protocols
            .as_deref()
            .unwrap_or(&TlsProtocol::ALL)
    }
}

/// The `files` object: paths exactly as written in the file (relative paths are not resolved).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Files {
    /// `ca-certificates`: PEM certificates this node trusts.
    pub ca_certificates: PathBuf,
    /// `certificates`: this node's certificate, leaf first, then its chain.
    pub certificates: PathBuf,
    /// `private-key`: this node's private key.
    pub private_key: PathBuf,
}

/// The `authorized-peers` array: never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedPeers {
    policies: Vec<PeerPolicy>,
}

impl AuthorizedPeers {
    /// Wraps a list of policies; `None` when the list is empty (Vespa rejects `[]`).
    pub fn new(policies: Vec<PeerPolicy>) -> Option<Self> {
        if policies.is_empty() {
            None
        } else {
            Some(AuthorizedPeers { policies })
        }
    }

    /// The policies in file order.
    pub fn policies(&self) -> &[PeerPolicy] {
        &self.policies
    }
}

/// One entry of `authorized-peers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerPolicy {
    /// `name`: required and unique within the file.
    pub name: String,
    /// `description`: free text.
    pub description: Option<String>,
    /// `capabilities`: capability and capability-set names as written; `None` grants all.
    /// Names are resolved (and unknown ones reported) by the authorization engine.
    pub capabilities: Option<Vec<String>>,
    /// `required-credentials`: never empty; all must match for the policy to match.
    pub required_credentials: Vec<RequiredPeerCredential>,
}

/// One entry of `required-credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequiredPeerCredential {
    /// Which certificate field is matched.
    pub field: CredentialField,
    /// The glob pattern (see `docs/AUTHORIZATION.md` for the two dialects).
    pub must_match: String,
}

/// The certificate fields a rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialField {
    /// The subject's common name.
    Cn,
    /// A dNSName subject alternative name.
    SanDns,
    /// A uniformResourceIdentifier subject alternative name.
    SanUri,
}

impl CredentialField {
    /// All fields, in Vespa's order.
    pub const ALL: [CredentialField; 3] = [
        CredentialField::Cn,
        CredentialField::SanDns,
        CredentialField::SanUri,
    ];

    /// Vespa's spelling: `CN`, `SAN_DNS`, `SAN_URI`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialField::Cn => "CN",
            CredentialField::SanDns => "SAN_DNS",
            CredentialField::SanUri => "SAN_URI",
        }
    }

    /// Parses Vespa's exact, case-sensitive spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for CredentialField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TLS protocol version Vespa accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsProtocol {
    /// `TLSv1.2`
    Tls12,
    /// `TLSv1.3`
    Tls13,
}

impl TlsProtocol {
    /// Both versions, newest first.
    pub const ALL: [TlsProtocol; 2] = [TlsProtocol::Tls13, TlsProtocol::Tls12];

    /// Vespa's spelling: `TLSv1.2` or `TLSv1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsProtocol::Tls12 => "TLSv1.2",
            TlsProtocol::Tls13 => "TLSv1.3",
        }
    }

    /// Parses Vespa's exact spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for TlsProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the nine AEAD cipher suites Vespa allows, by IANA name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CipherSuite {
    /// `TLS_AES_128_GCM_SHA256` (TLS 1.3)
    Tls13Aes128GcmSha256,
    /// `TLS_AES_256_GCM_SHA384` (TLS 1.3)
    Tls13Aes256GcmSha384,
    /// `TLS_CHACHA20_POLY1305_SHA256` (TLS 1.3)
    Tls13Chacha20Poly1305Sha256,
    /// `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`
    EcdheEcdsaWithAes256GcmSha384,
    /// `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`
    EcdheRsaWithAes256GcmSha384,
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`
    EcdheEcdsaWithAes128GcmSha256,
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`
    EcdheRsaWithAes128GcmSha256,
    /// `TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`
    EcdheEcdsaWithChacha20Poly1305Sha256,
    /// `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`
    EcdheRsaWithChacha20Poly1305Sha256,
}

impl CipherSuite {
    /// All nine, TLS 1.3 suites first, in Vespa's preference order.
    pub const ALL: [CipherSuite; 9] = [
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::Tls13Aes256GcmSha384,
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        CipherSuite::EcdheEcdsaWithAes256GcmSha384,
        CipherSuite::EcdheRsaWithAes256GcmSha384,
        CipherSuite::EcdheEcdsaWithAes128GcmSha256,
        CipherSuite::EcdheRsaWithAes128GcmSha256,
        CipherSuite::EcdheEcdsaWithChacha20Poly1305Sha256,
        CipherSuite::EcdheRsaWithChacha20Poly1305Sha256,
    ];

    /// The IANA name Vespa uses in `accepted-ciphers`.
    pub fn as_str(self) -> &'static str {
        match self {
            CipherSuite::Tls13Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            CipherSuite::Tls13Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            CipherSuite::Tls13Chacha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
            CipherSuite::EcdheEcdsaWithAes256GcmSha384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            CipherSuite::EcdheRsaWithAes256GcmSha384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            CipherSuite::EcdheEcdsaWithAes128GcmSha256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            CipherSuite::EcdheRsaWithAes128GcmSha256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            CipherSuite::EcdheEcdsaWithChacha20Poly1305Sha256 => {
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
            }
            CipherSuite::EcdheRsaWithChacha20Poly1305Sha256 => {
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
            }
        }
    }

    /// Parses an IANA suite name (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The protocol version this suite belongs to.
    pub fn protocol(self) -> TlsProtocol {
        match self {
            CipherSuite::Tls13Aes128GcmSha256
            | CipherSuite::Tls13Aes256GcmSha384
            | CipherSuite::Tls13Chacha20Poly1305Sha256 => TlsProtocol::Tls13,
            _ => TlsProtocol::Tls12,
        }
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
