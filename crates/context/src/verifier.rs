//! Our rustls verifiers: webpki chain validation, then Vespa's hostname check (client side),
//! then authorization, in both directions.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, RootCertStore,
};
use vespa_tls_authz::{Authorizer, AuthzError, DenialReason, PeerCredentials};
use vespa_tls_config::AuthorizationMode;

use crate::hostname::{HostnameIdentity, HostnameMismatch, verify_dns_name, verify_ip};
use crate::metrics::{Side, TlsMetrics};
use crate::ratelimit::RateLimiter;

/// Why our verifier refused a peer; found inside `rustls::Error::InvalidCertificate(Other(…))`
/// so callers can log the reason with the peer's address.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PeerRejection {
    /// The certificate's names cannot be used (empty SAN, NUL byte, odd CN string type…).
    #[error("invalid peer credentials: {0}")]
    InvalidCredentials(AuthzError),
    /// No policy of `authorized-peers` authorizes the peer (authorization mode `enforce`).
    #[error("peer {credentials} is not authorized: {}", reasons_text(.reasons))]
    NotAuthorized {
        /// What the peer presented.
        credentials: PeerCredentials,
        /// Why each policy did not match.
        reasons: Vec<DenialReason>,
    },
    /// The server's certificate does not cover the host name we dialled.
    #[error("hostname validation failed: {0}")]
    Hostname(HostnameMismatch),
}

fn reasons_text(reasons: &[DenialReason]) -> String {
    let texts: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

impl PeerRejection {
    /// Finds our rejection inside a rustls error, if that is what it is.
    pub fn from_rustls(error: &rustls::Error) -> Option<&PeerRejection> {
        match error {
            rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
                other.0.downcast_ref::<PeerRejection>()
            }
            _ => None,
        }
    }

    fn into_rustls(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }
}

/// The authorization step both verifiers share.
#[derive(Debug)]
pub(crate) struct PeerCheck {
    pub(crate) authorizer: Arc<Authorizer>,
    pub(crate) mode: AuthorizationMode,
    pub(crate) metrics: Arc<TlsMetrics>,
    pub(crate) log_limiter: RateLimiter,
}

impl PeerCheck {
    /// Extracts credentials, in every mode: invalid ones refuse even in `disable`.
    fn credentials(
        &self,
        leaf: &CertificateDer<'_>,
        side: Side,
    ) -> Result<PeerCredentials, rustls::Error> {
        PeerCredentials::from_der(leaf).map_err(|e| {
            TlsMetrics::bump(&self.metrics.side(side).invalid_peer_credentials);
            PeerRejection::InvalidCredentials(e).into_rustls()
        })
    }

    /// Authorizes extracted credentials under the mode.
    fn check(&self, credentials: PeerCredentials, side: Side) -> Result<(), rustls::Error> {
        let counters = self.metrics.side(side);
        let decision = self.authorizer.decide(&credentials, self.mode);
        match (decision.accept, decision.denied) {
            (true, None) => Ok(()),
            (true, Some(reasons)) => {
                TlsMetrics::bump(&counters.invalid_peer_credentials);
                let key = credentials.to_string();
                if self.log_limiter.allow(&key) {
                    tracing::warn!(
                        side = side.as_str(),
                        "authorization mode log_only: peer {credentials} is not authorized ({}); \
                         letting it through with no capabilities",
                        reasons_text(&reasons)
                    );
                }
                Ok(())
            }
            (false, reasons) => {
                TlsMetrics::bump(&counters.invalid_peer_credentials);
                Err(PeerRejection::NotAuthorized {
                    credentials,
                    reasons: reasons.unwrap_or_default(),
                }
                .into_rustls())
            }
        }
    }
}

/// Verifies servers for our `ClientConfig`.
#[derive(Debug)]
pub(crate) struct VespaServerVerifier {
    pub(crate) roots: Arc<RootCertStore>,
    pub(crate) provider: Arc<CryptoProvider>,
    pub(crate) peer: Arc<PeerCheck>,
    pub(crate) hostname_validation: bool,
    pub(crate) legacy_limiter: RateLimiter,
}

impl ServerCertVerifier for VespaServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        let credentials = self.peer.credentials(end_entity, Side::Client)?;
        if self.hostname_validation {
            let identity = HostnameIdentity {
                dns_sans: &credentials.dns_sans,
                ip_sans: &credentials.ip_sans,
                common_name: credentials.common_name(),
            };
            let matched = match server_name {
                ServerName::DnsName(name) => verify_dns_name(name.as_ref(), &identity),
                ServerName::IpAddress(ip) => verify_ip(std::net::IpAddr::from(*ip), &identity),
                _ => {
                    return Err(rustls::Error::General(format!(
                        "unsupported server name type {server_name:?}"
                    )));
                }
            }
            .map_err(|e| PeerRejection::Hostname(e).into_rustls())?;
            if matched.is_legacy() && self.legacy_limiter.allow(&server_name.to_str()) {
                tracing::warn!(
                    "server {} passed hostname validation only through its {matched}",
                    server_name.to_str()
                );
            }
        }
        self.peer.check(credentials, Side::Client)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Verifies clients for our `ServerConfig`: webpki's client verifier, then authorization.
#[derive(Debug)]
pub(crate) struct VespaClientVerifier {
    pub(crate) inner: Arc<dyn ClientCertVerifier>,
    pub(crate) peer: Arc<PeerCheck>,
}

impl ClientCertVerifier for VespaClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let credentials = self.peer.credentials(end_entity, Side::Server)?;
        self.peer.check(credentials, Side::Server)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
