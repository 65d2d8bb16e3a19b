//! `TlsContext`: one immutable snapshot of config, rules and material as rustls configs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig, SignatureScheme};
use time::OffsetDateTime;
use vespa_tls_authz::{Authorizer, PeerCredentials};
use vespa_tls_config::{
    AuthorizationMode, CapabilityMode, Diagnostic, Diagnostics, Environment, Severity,
    TransportSecurityOptions,
};
use vespa_tls_material::{CryptoMaterial, MaterialReport};

use crate::error::ContextError;
use crate::hostname::HostnameMatch;
use crate::metrics::TlsMetrics;
use crate::provider;
use crate::ratelimit::RateLimiter;
use crate::trust::{AnchorKind, PeerRole, TrustAnchors};
use crate::verifier::{
    Accounting, PeerRejection, PeerVerification, VerifiedPeer, VespaClientVerifier,
    VespaServerVerifier, check_hostname,
};

/// How often one peer's `log_only` authorization failure, or one server's legacy hostname
/// match, is logged.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The two run-time modes a context applies (from `VESPA_TLS_INSECURE_AUTHORIZATION_MODE` and
/// `VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsModes {
    /// What a peer no policy authorizes gets.
    pub authorization: AuthorizationMode,
    /// What a failed capability check does.
    pub capability: CapabilityMode,
}

impl Default for TlsModes {
    /// Both `enforce`.
    fn default() -> Self {
        TlsModes {
            authorization: AuthorizationMode::Enforce,
            capability: CapabilityMode::Enforce,
        }
    }
}

impl From<&Environment> for TlsModes {
    fn from(env: &Environment) -> Self {
        TlsModes {
            authorization: env.authorization_mode,
            capability: env.capability_mode,
        }
    }
}

/// One immutable TLS identity: a rustls `ServerConfig` that requires and authorizes client
/// certificates, and a `ClientConfig` that presents ours and verifies and authorizes servers.
///
/// Both configs share one `Arc<CertifiedKey>`; neither resumes sessions, so every handshake
/// runs the verifiers.
pub struct TlsContext {
    server: Arc<ServerConfig>,
    /// What the reload-following configs ask this snapshot for, per handshake.
    pub(crate) parts: HandshakeParts,
    client: Arc<ClientConfig>,
    anonymous_client: Arc<ClientConfig>,
    verification: Arc<PeerVerification>,
    /// Our own chain, leaf first.
    chain: Vec<CertificateDer<'static>>,
    modes: TlsModes,
    options: TransportSecurityOptions,
    material: MaterialReport,
    warnings: Diagnostics,
    metrics: Arc<TlsMetrics>,
}

impl fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsContext")
            .field("modes", &self.modes)
            .field("files", &self.options.files)
            .field("leaf", &self.material.chain.first().map(|c| &c.subject))
            .finish_non_exhaustive()
    }
}

impl TlsContext {
    /// Builds a context from already-parsed options, a compiled authorizer and loaded material.
    ///
    /// `metrics` is shared by every snapshot of one process so counters survive reloads.
    pub fn build(
        options: &TransportSecurityOptions,
        authorizer: Authorizer,
        material: &CryptoMaterial,
        modes: TlsModes,
        metrics: Arc<TlsMetrics>,
    ) -> Result<TlsContext, ContextError> {
        let (provider, versions) = provider::narrowed(options);
        let rustls_error = |path: &std::path::Path, e: rustls::Error| ContextError::Rustls {
            path: path.to_owned(),
            error: e,
        };
        let files = &options.files;

        let anchors = TrustAnchors::new(material.ca_certificates());
        // One key object for both directions. rustls takes the key by value, so it gets one
        // copy per context build (never per connection); aws-lc-rs keeps its own form of it.
        let key = provider
            .key_provider
            .load_private_key(material.private_key().clone_key())
            .map_err(|e| rustls_error(&files.private_key, e))?;
        let certified = Arc::new(CertifiedKey::new(material.chain().to_vec(), key));
        let certified_for_parts = Arc::clone(&certified);
        certified.keys_match().or_else(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown) => Ok(()),
            e => Err(rustls_error(&files.certificates, e)),
        })?;

        let verification = Arc::new(PeerVerification::new(
            anchors,
            provider.signature_verification_algorithms,
            Arc::new(authorizer),
            modes.authorization,
            !options.disable_hostname_validation,
            Arc::clone(&metrics),
        ));
        let accounting = Arc::new(Accounting {
            metrics: Arc::clone(&metrics),
            limiter: RateLimiter::new(LOG_INTERVAL),
        });
        let client_verifier = Arc::new(VespaClientVerifier {
            verification: Arc::clone(&verification),
            accounting: Arc::clone(&accounting),
        });
        let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| rustls_error(&files.certificates, e))?
            .with_client_cert_verifier(client_verifier.clone())
            .with_cert_resolver(Arc::new(OneCertificate(Arc::clone(&certified))));
        server_policy(&mut server);

        let server_verifier = Arc::new(VespaServerVerifier {
            verification: Arc::clone(&verification),
            accounting,
        });
        let client_builder = || {
            ClientConfig::builder_with_provider(Arc::clone(&provider))
                .with_protocol_versions(&versions)
                .map_err(|e| rustls_error(&files.certificates, e))
                .map(|b| {
                    b.dangerous()
                        .with_custom_certificate_verifier(server_verifier.clone())
                })
        };
        let mut client =
            client_builder()?.with_client_cert_resolver(Arc::new(OneCertificate(certified)));
        client.resumption = rustls::client::Resumption::disabled();
        let mut anonymous = client_builder()?.with_no_client_auth();
        anonymous.resumption = rustls::client::Resumption::disabled();

        let now = OffsetDateTime::now_utc();
        let report = material.report(now);
        let mut warnings = report.diagnostics.clone();
        warnings.extend(trust_findings(
            &verification,
            material,
            options,
            UnixTime::since_unix_epoch(Duration::from_secs(
                u64::try_from(now.unix_timestamp()).unwrap_or(0),
            )),
        ));
        Ok(TlsContext {
            server: Arc::new(server),
            parts: HandshakeParts {
                certified: certified_for_parts,
                client_verifier,
                server_verifier,
            },
            client: Arc::new(client),
            anonymous_client: Arc::new(anonymous),
            verification,
            chain: material.chain().to_vec(),
            modes,
            options: options.clone(),
            material: report,
            warnings,
            metrics,
        })
    }

    /// Compiles the rules, loads the three files and builds, returning every finding
    /// (authorization rules, material) alongside.
    pub fn from_options(
        options: &TransportSecurityOptions,
        modes: TlsModes,
        metrics: Arc<TlsMetrics>,
    ) -> Result<(TlsContext, Diagnostics), ContextError> {
        let loaded = crate::reload::load(options, modes, metrics)?;
        Ok((loaded.context, loaded.diagnostics))
    }

    /// The rustls server configuration (client certificate required and authorized).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server)
    }

    /// The rustls client configuration (presents our certificate, verifies the server).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.client)
    }

    /// A client configuration that verifies servers like [`client_config`](Self::client_config)
    /// but presents no certificate: for tools that check a server *requires* one.
    pub fn client_config_without_certificate(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.anonymous_client)
    }

    /// The one verification path, as a handshake runs it but logging nothing and counting only
    /// the verified-chain cache's hits and misses (a hit skips the chain's signature checks
    /// while every certificate's validity is as it was; docs/OPERATIONS.md, "Trust"): the
    /// chain (leaf first) judged as OpenSSL would for a peer in `role`, the credentials,
    /// hostname validation when `role` is [`PeerRole::Server`] and `server_name` is given (and
    /// the config does not disable it), and authorization under the context's mode.
    pub fn verify_peer(
        &self,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
        server_name: Option<&ServerName<'_>>,
        now: UnixTime,
    ) -> Result<VerifiedPeer, PeerRejection> {
        self.verification.verify(chain, role, server_name, now)
    }

    /// What the verifier decided for a peer that completed a handshake with this context: what
    /// a transport attaches to the connection. The chain is not verified a second time when the
    /// handshake's result is still at hand; otherwise it is, uncounted.
    pub fn peer_authorization(
        &self,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
    ) -> Result<VerifiedPeer, PeerRejection> {
        self.verification.verified_in_handshake(chain, role)
    }

    /// Hostname validation of our own certificate for `server_name`, as a client of a peer
    /// that trusts our bundle would run it in a handshake: the CN counts only where the chain's
    /// name constraints vouch for it. When our own chain does not verify against our bundle
    /// (reported among [`warnings`](Self::warnings)), the leaf's names are taken as they are.
    pub fn check_hostname(
        &self,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<HostnameMatch, PeerRejection> {
        let credentials =
            match self
                .verification
                .verified_credentials(&self.chain, PeerRole::Server, now)
            {
                Ok((_, credentials)) => credentials,
                Err(PeerRejection::Chain(_)) => PeerCredentials::from_der(&self.chain[0])
                    .map_err(PeerRejection::InvalidCredentials)?,
                Err(other) => return Err(other),
            };
        check_hostname(server_name, &credentials).map_err(PeerRejection::Hostname)
    }

    /// The CA bundle as the verification path uses it.
    pub fn trust_anchors(&self) -> &TrustAnchors {
        &self.verification.anchors
    }

    /// The modes this snapshot applies.
    pub fn modes(&self) -> TlsModes {
        self.modes
    }

    /// The options this snapshot was built from.
    pub fn options(&self) -> &TransportSecurityOptions {
        &self.options
    }

    /// The compiled authorization rules.
    pub fn authorizer(&self) -> &Authorizer {
        &self.verification.authorizer
    }

    /// Facts about the loaded material at the time this snapshot was built.
    pub fn material(&self) -> &MaterialReport {
        &self.material
    }

    /// Warnings about our own material (leaf not chaining to our CA bundle, missing EKUs,
    /// expiry): reported, never a reason to refuse a reload.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// The process-wide counters.
    pub fn metrics(&self) -> &Arc<TlsMetrics> {
        &self.metrics
    }
}

/// What every server config of ours sets beyond its builder:
///
/// - no resumption (no session cache, no TLS 1.3 tickets): a resumed session would skip the
///   verifier, so every handshake runs the verifier and the authorization rules of its time;
/// - the server's suite order decides: of the suites the client offers, the first in
///   `accepted-ciphers` (or in Vespa's order, [`CipherSuite::ALL`], without the key) is taken,
///   as Vespa's Java servers do. With the default list that is TLS_AES_128_GCM_SHA256 for TLS
///   1.3 even when the client lists TLS_AES_256_GCM_SHA384 first, as OpenSSL and rustls clients
///   do: both are 128-bit-secure or better, and the SHA-256 key schedule costs a fraction of
///   SHA-384's on x86 servers (docs/CONFIG.md, "Cipher suite order").
///
/// [`CipherSuite::ALL`]: vespa_tls_config::CipherSuite::ALL
pub(crate) fn server_policy(config: &mut ServerConfig) {
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.ignore_client_order = true;
}

/// What the verification path says about the bundle and about our own chain: bundle entries
/// that cannot issue, and whether peers that trust this bundle would accept our certificate as
/// a client and as a server. Findings, never a reason to refuse a reload.
fn trust_findings(
    verification: &PeerVerification,
    material: &CryptoMaterial,
    options: &TransportSecurityOptions,
    now: UnixTime,
) -> Diagnostics {
    let files = &options.files;
    let mut findings = Diagnostics::new();
    for entry in verification.anchors.entries() {
        match &entry.kind {
            AnchorKind::Issuing => {}
            AnchorKind::Pin => findings.push(Diagnostic::at_path(
                Severity::Warning,
                codes::CA_PINNED_CERTIFICATE,
                &files.ca_certificates,
                format!(
                    "{} is not a CA: it is trusted only as an exact pin of itself (a peer \
                     presenting this very certificate) and never issues",
                    entry.name
                ),
            )),
            AnchorKind::Unusable { reason } => findings.push(Diagnostic::at_path(
                Severity::Error,
                codes::CA_NOT_USABLE,
                &files.ca_certificates,
                format!("{} trusts nothing: {reason}", entry.name),
            )),
        }
    }
    for role in [PeerRole::Client, PeerRole::Server] {
        if let Err(e) = verification.anchors.verify(
            material.leaf(),
            &material.chain()[1..],
            now,
            role,
            verification.algorithms.all,
        ) {
            findings.push(Diagnostic::at_path(
                Severity::Warning,
                vespa_tls_material::codes::CHAIN_NOT_TRUSTED,
                &files.certificates,
                format!(
                    "peers that trust {} would refuse this certificate as a {}: {e}",
                    files.ca_certificates.display(),
                    role.as_str()
                ),
            ));
        }
    }
    findings
}

/// Codes of the findings the verification path reports about the CA bundle.
pub mod codes {
    /// A bundle entry that is self-signed but not a CA: an exact pin.
    pub const CA_PINNED_CERTIFICATE: &str = "ca-pinned-certificate";
    /// A bundle entry that can end no chain (a CA without keyCertSign, not self-signed…).
    pub const CA_NOT_USABLE: &str = "ca-not-usable";
}

/// The pieces of a snapshot a handshake uses: our certificate and both verifiers (which count
/// into the process's counters and log like the snapshot's own configs).
#[derive(Debug)]
pub(crate) struct HandshakeParts {
    pub(crate) certified: Arc<CertifiedKey>,
    pub(crate) client_verifier: Arc<VespaClientVerifier>,
    pub(crate) server_verifier: Arc<VespaServerVerifier>,
}

/// Our one certificate, for both directions.
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

impl ResolvesClientCert for OneCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}
