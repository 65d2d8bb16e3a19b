//! What a connection knows about its peer, and capability checks against it.

use std::net::SocketAddr;
use std::sync::Arc;

use vespa_tls_authz::{CapabilityCheck, CapabilitySet, PeerCredentials, verify_capabilities};
use vespa_tls_config::{CapabilityMode, CipherSuite, TlsProtocol};
use vespa_tls_context::TlsMetrics;

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionSecurity {
    /// No TLS: TLS is not configured, or a plaintext peer of a mixed-mode server.
    Plaintext,
    /// TLS, with what was negotiated.
    Tls {
        /// `TLSv1.2` or `TLSv1.3`.
        protocol: TlsProtocol,
        /// One of the nine suites.
        cipher_suite: CipherSuite,
    },
}

/// The peer of one connection: credentials, capabilities and matched policies, computed once
/// per handshake from the verified leaf certificate, and capability checks under the
/// capability enforcement mode.
///
/// Plaintext connections carry every capability, as in Vespa.
#[derive(Debug, Clone)]
pub struct ConnectionAuthContext {
    peer_address: Option<SocketAddr>,
    security: ConnectionSecurity,
    credentials: Option<PeerCredentials>,
    matched_policies: Vec<String>,
    capabilities: CapabilitySet,
    capability_mode: CapabilityMode,
    metrics: Arc<TlsMetrics>,
}

impl ConnectionAuthContext {
    pub(crate) fn plaintext(
        peer_address: Option<SocketAddr>,
        capability_mode: CapabilityMode,
        metrics: Arc<TlsMetrics>,
    ) -> Self {
        ConnectionAuthContext {
            peer_address,
            security: ConnectionSecurity::Plaintext,
            credentials: None,
            matched_policies: Vec::new(),
            capabilities: CapabilitySet::all(),
            capability_mode,
            metrics,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "a plain constructor for one call site each side"
    )]
    pub(crate) fn tls(
        peer_address: Option<SocketAddr>,
        protocol: TlsProtocol,
        cipher_suite: CipherSuite,
        credentials: PeerCredentials,
        matched_policies: Vec<String>,
        capabilities: CapabilitySet,
        capability_mode: CapabilityMode,
        metrics: Arc<TlsMetrics>,
    ) -> Self {
        ConnectionAuthContext {
            peer_address,
            security: ConnectionSecurity::Tls {
                protocol,
                cipher_suite,
            },
            credentials: Some(credentials),
            matched_policies,
            capabilities,
            capability_mode,
            metrics,
        }
    }

    /// The peer's socket address, when known.
    pub fn peer_address(&self) -> Option<SocketAddr> {
        self.peer_address
    }

    /// TLS (with version and suite) or plaintext.
    pub fn security(&self) -> ConnectionSecurity {
        self.security
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.security, ConnectionSecurity::Tls { .. })
    }

    /// What the peer's verified leaf certificate presents (`None` for plaintext).
    pub fn peer_credentials(&self) -> Option<&PeerCredentials> {
        self.credentials.as_ref()
    }

    /// The names of the policies that matched (empty without `authorized-peers`, in
    /// `disable` mode, for a peer `log_only` let through, and for plaintext).
    pub fn matched_policies(&self) -> &[String] {
        &self.matched_policies
    }

    /// The capabilities granted to the peer.
    pub fn capabilities(&self) -> CapabilitySet {
        self.capabilities
    }

    /// The capability enforcement mode checks use.
    pub fn capability_mode(&self) -> CapabilityMode {
        self.capability_mode
    }

    /// Checks that the peer has every capability in `required` before `action` on `resource`.
    ///
    /// `enforce` refuses a missing capability with Vespa's permission-denied message;
    /// `log_only` logs that message with a `Dry-run: ` prefix and allows; `disable` allows.
    /// Failures count in `capability_checks_failed` in both `enforce` and `log_only`.
    pub fn verify_capabilities(
        &self,
        required: CapabilitySet,
        action: &str,
        resource: &str,
    ) -> Result<(), PermissionDenied> {
        let address = self.peer_address.map(|a| format!("tcp/{a}"));
        let check = verify_capabilities(
            self.capabilities,
            required,
            self.capability_mode,
            Some(action),
            Some(resource),
            address.as_deref(),
            self.credentials.as_ref(),
        );
        match check {
            CapabilityCheck::Allowed => Ok(()),
            CapabilityCheck::DryRunDenied { message } => {
                TlsMetrics::bump(&self.metrics.capability_checks_failed);
                tracing::info!("{message}");
                Ok(())
            }
            CapabilityCheck::Refused { message } => {
                TlsMetrics::bump(&self.metrics.capability_checks_failed);
                tracing::warn!("{message}");
                Err(PermissionDenied { message })
            }
        }
    }
}

/// A capability check refused a request. The message is Vespa's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PermissionDenied {
    /// `Permission denied for '<action>' on '<resource>'. Peer '<address>' with [...]. Requires
    /// capabilities [...] but peer has [...].`
    pub message: String,
}
