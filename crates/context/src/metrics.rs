//! Counters with Vespa's names, client and server sides apart, readable as a snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a handshake failed: the `reason` label of `vespa_tls_handshakes_failed_total`.
///
/// On the side that refused, the reason is its own decision; on the side that was refused, it
/// is read from the TLS alert the peer sent (`unknown_ca`, `access_denied`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer presented no certificate (or the peer said we must present one).
    NoCertificate,
    /// The peer's chain does not lead to a CA of our bundle (or the peer did not trust ours).
    /// A chain whose issuer has the name of one of our CAs but not its key is counted here.
    UnknownCa,
    /// The certificate is not acceptable for another reason: expired, not yet valid, wrong key
    /// usage, unusable names.
    InvalidCertificate,
    /// A trusted certificate that no `authorized-peers` policy authorizes (mode `enforce`).
    AuthorizationDenied,
    /// The server's certificate does not cover the host name dialled.
    HostnameMismatch,
    /// No complete ClientHello or handshake within the deadline.
    Timeout,
    /// No protocol version, cipher suite or signature scheme both sides accept.
    ProtocolMismatch,
    /// A TLS-only server got bytes that are not a TLS handshake.
    PlaintextRefused,
    /// Anything else: the connection closed or failed mid-handshake, a malformed message.
    Other,
}

impl HandshakeFailure {
    /// Every reason, in the order of [`as_str`](Self::as_str)'s table.
    pub const ALL: [HandshakeFailure; 9] = [
        HandshakeFailure::NoCertificate,
        HandshakeFailure::UnknownCa,
        HandshakeFailure::InvalidCertificate,
        HandshakeFailure::AuthorizationDenied,
        HandshakeFailure::HostnameMismatch,
        HandshakeFailure::Timeout,
        HandshakeFailure::ProtocolMismatch,
        HandshakeFailure::PlaintextRefused,
        HandshakeFailure::Other,
    ];

    /// The label value: `no_certificate`, `unknown_ca`, `invalid_certificate`,
    /// `authorization_denied`, `hostname_mismatch`, `timeout`, `protocol_mismatch`,
    /// `plaintext_refused` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeFailure::NoCertificate => "no_certificate",
            HandshakeFailure::UnknownCa => "unknown_ca",
            HandshakeFailure::InvalidCertificate => "invalid_certificate",
            HandshakeFailure::AuthorizationDenied => "authorization_denied",
            HandshakeFailure::HostnameMismatch => "hostname_mismatch",
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::ProtocolMismatch => "protocol_mismatch",
            HandshakeFailure::PlaintextRefused => "plaintext_refused",
            HandshakeFailure::Other => "other",
        }
    }

    fn index(self) -> usize {
        match self {
            HandshakeFailure::NoCertificate => 0,
            HandshakeFailure::UnknownCa => 1,
            HandshakeFailure::InvalidCertificate => 2,
            HandshakeFailure::AuthorizationDenied => 3,
            HandshakeFailure::HostnameMismatch => 4,
            HandshakeFailure::Timeout => 5,
            HandshakeFailure::ProtocolMismatch => 6,
            HandshakeFailure::PlaintextRefused => 7,
            HandshakeFailure::Other => 8,
        }
    }

    /// The reason behind a rustls handshake error, ours (a verifier's refusal) or the peer's
    /// (an alert it sent).
    pub fn from_rustls(error: &rustls::Error) -> HandshakeFailure {
        use rustls::{AlertDescription as A, CertificateError as C, Error as E};
        if let Some(rejection) = crate::PeerRejection::from_rustls(error) {
            return HandshakeFailure::from_rejection(rejection);
        }
        match error {
            E::NoCertificatesPresented => HandshakeFailure::NoCertificate,
            // A CA of the same name with another key signed it: not one of our CAs either.
            E::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
                HandshakeFailure::UnknownCa
            }
            E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
                HandshakeFailure::HostnameMismatch
            }
            E::InvalidCertificate(_) => HandshakeFailure::InvalidCertificate,
            E::PeerIncompatible(_) => HandshakeFailure::ProtocolMismatch,
            E::AlertReceived(alert) => match alert {
                A::CertificateRequired => HandshakeFailure::NoCertificate,
                A::UnknownCA => HandshakeFailure::UnknownCa,
                A::AccessDenied => HandshakeFailure::AuthorizationDenied,
                A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown => HandshakeFailure::InvalidCertificate,
                A::HandshakeFailure
                | A::ProtocolVersion
                | A::InsufficientSecurity
                | A::NoApplicationProtocol => HandshakeFailure::ProtocolMismatch,
                _ => HandshakeFailure::Other,
            },
            _ => HandshakeFailure::Other,
        }
    }

    /// The reason behind one of our verifiers' refusals.
    pub fn from_rejection(rejection: &crate::PeerRejection) -> HandshakeFailure {
        use crate::PeerRejection as R;
        match rejection {
            R::Chain(crate::ChainError::Path(
                webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey,
            )) => HandshakeFailure::UnknownCa,
            R::Chain(_) | R::InvalidCredentials(_) => HandshakeFailure::InvalidCertificate,
            R::NotAuthorized { .. } => HandshakeFailure::AuthorizationDenied,
            R::Hostname(_) => HandshakeFailure::HostnameMismatch,
        }
    }
}

/// One counter per [`HandshakeFailure`].
#[derive(Debug, Default)]
pub struct FailureCounters([AtomicU64; HandshakeFailure::ALL.len()]);

impl FailureCounters {
    /// The counter of one reason.
    pub fn counter(&self, reason: HandshakeFailure) -> &AtomicU64 {
        &self.0[reason.index()]
    }

    fn snapshot(&self) -> FailureSnapshot {
        FailureSnapshot(self.0.each_ref().map(|c| c.load(Ordering::Relaxed)))
    }
}

/// Plain copies of the failure counters of one side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureSnapshot([u64; HandshakeFailure::ALL.len()]);

impl FailureSnapshot {
    /// Failed handshakes for one reason.
    pub fn get(&self, reason: HandshakeFailure) -> u64 {
        self.0[reason.index()]
    }

    /// Every reason with its count, in [`HandshakeFailure::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (HandshakeFailure, u64)> + '_ {
        HandshakeFailure::ALL.iter().map(|r| (*r, self.get(*r)))
    }
}

/// Connection counters of one side (server: accepted connections; client: dialled ones).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SideCounters {
    /// Connections that completed a TLS handshake.
    pub tls_connections: AtomicU64,
    /// Plaintext connections (TLS not configured, or a mixed-mode plaintext peer).
    pub insecure_connections: AtomicU64,
    /// Handshakes that failed, for any reason.
    pub failed_tls_handshakes: AtomicU64,
    /// Handshakes that failed, by reason (they add up to `failed_tls_handshakes`).
    pub handshake_failures: FailureCounters,
    /// Peers whose certificate credentials were invalid or not authorized, including peers that
    /// `log_only` let through.
    pub invalid_peer_credentials: AtomicU64,
    /// Established TLS connections that broke with a TLS-level error.
    pub broken_tls_connections: AtomicU64,
}

impl SideCounters {
    /// Counts a failed handshake: `failed_tls_handshakes` and its reason.
    pub fn count_failure(&self, reason: HandshakeFailure) {
        TlsMetrics::bump(&self.failed_tls_handshakes);
        TlsMetrics::bump(self.handshake_failures.counter(reason));
    }
}

/// Every counter of one process's TLS, shared by all context snapshots and connections.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct TlsMetrics {
    /// Accepted connections.
    pub server: SideCounters,
    /// Dialled connections.
    pub client: SideCounters,
    /// Reloads that published a new context.
    pub successful_config_reloads: AtomicU64,
    /// Reloads that failed validation; the old context stayed in effect.
    pub failed_config_reloads: AtomicU64,
    /// Capability checks that failed (refused in `enforce`, logged in `log_only`).
    pub capability_checks_failed: AtomicU64,
    /// Verifications of a peer's chain answered by the verified-chain cache (the chain's
    /// signatures not checked again; hostname validation and authorization still ran).
    pub verified_chain_cache_hits: AtomicU64,
    /// Verifications of a peer's chain that ran in full (first contact, a forgotten chain, a
    /// certificate's validity changed since, or a reload started a fresh cache).
    pub verified_chain_cache_misses: AtomicU64,
}

/// Which side of a connection a counter is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We accepted the connection.
    Server,
    /// We dialled the connection.
    Client,
}

impl Side {
    /// `server` or `client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

impl TlsMetrics {
    /// The counters of one side.
    pub fn side(&self, side: Side) -> &SideCounters {
        match side {
            Side::Server => &self.server,
            Side::Client => &self.client,
        }
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough copy of every counter, for status pages and tests.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let side = |s: &SideCounters| SideSnapshot {
            tls_connections: load(&s.tls_connections),
            insecure_connections: load(&s.insecure_connections),
            failed_tls_handshakes: load(&s.failed_tls_handshakes),
            handshake_failures: s.handshake_failures.snapshot(),
            invalid_peer_credentials: load(&s.invalid_peer_credentials),
            broken_tls_connections: load(&s.broken_tls_connections),
        };
        MetricsSnapshot {
            server: side(&self.server),
            client: side(&self.client),
            successful_config_reloads: load(&self.successful_config_reloads),
            failed_config_reloads: load(&self.failed_config_reloads),
            capability_checks_failed: load(&self.capability_checks_failed),
            verified_chain_cache_hits: load(&self.verified_chain_cache_hits),
            verified_chain_cache_misses: load(&self.verified_chain_cache_misses),
        }
    }
}

/// Plain copies of one side's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SideSnapshot {
    /// See [`SideCounters::tls_connections`].
    pub tls_connections: u64,
    /// See [`SideCounters::insecure_connections`].
    pub insecure_connections: u64,
    /// See [`SideCounters::failed_tls_handshakes`].
    pub failed_tls_handshakes: u64,
    /// See [`SideCounters::handshake_failures`].
    pub handshake_failures: FailureSnapshot,
    /// See [`SideCounters::invalid_peer_credentials`].
    pub invalid_peer_credentials: u64,
    /// See [`SideCounters::broken_tls_connections`].
    pub broken_tls_connections: u64,
}

/// Plain copies of every counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Accepted connections.
    pub server: SideSnapshot,
    /// Dialled connections.
    pub client: SideSnapshot,
    /// See [`TlsMetrics::successful_config_reloads`].
    pub successful_config_reloads: u64,
    /// See [`TlsMetrics::failed_config_reloads`].
    pub failed_config_reloads: u64,
    /// See [`TlsMetrics::capability_checks_failed`].
    pub capability_checks_failed: u64,
    /// See [`TlsMetrics::verified_chain_cache_hits`].
    pub verified_chain_cache_hits: u64,
    /// See [`TlsMetrics::verified_chain_cache_misses`].
    pub verified_chain_cache_misses: u64,
}

impl MetricsSnapshot {
    /// Every counter as `(name, value)`, with Vespa's names prefixed by the side
    /// (`server.tls_connections`, …), ready for any metrics exporter.
    pub fn entries(&self) -> Vec<(String, u64)> {
        let mut out = Vec::with_capacity(15);
        for (prefix, s) in [("server", &self.server), ("client", &self.client)] {
            out.push((format!("{prefix}.tls_connections"), s.tls_connections));
            out.push((
                format!("{prefix}.insecure_connections"),
                s.insecure_connections,
            ));
            out.push((
                format!("{prefix}.failed_tls_handshakes"),
                s.failed_tls_handshakes,
            ));
            out.push((
                format!("{prefix}.invalid_peer_credentials"),
                s.invalid_peer_credentials,
            ));
            out.push((
                format!("{prefix}.broken_tls_connections"),
                s.broken_tls_connections,
            ));
        }
        out.push((
            "successful_config_reloads".into(),
            self.successful_config_reloads,
        ));
        out.push(("failed_config_reloads".into(), self.failed_config_reloads));
        out.push((
            "capability_checks_failed".into(),
            self.capability_checks_failed,
        ));
        out.push((
            "verified_chain_cache_hits".into(),
            self.verified_chain_cache_hits,
        ));
        out.push((
            "verified_chain_cache_misses".into(),
            self.verified_chain_cache_misses,
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};

    #[test]
    fn rustls_errors_map_to_reasons() {
        let table = [
            (E::NoCertificatesPresented, HandshakeFailure::NoCertificate),
            (
                E::InvalidCertificate(C::UnknownIssuer),
                HandshakeFailure::UnknownCa,
            ),
            (
                E::InvalidCertificate(C::BadSignature),
                HandshakeFailure::UnknownCa,
            ),
            (
                E::InvalidCertificate(C::Expired),
                HandshakeFailure::InvalidCertificate,
            ),
            (
                E::InvalidCertificate(C::NotValidForName),
                HandshakeFailure::HostnameMismatch,
            ),
            (
                E::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
                HandshakeFailure::ProtocolMismatch,
            ),
            (E::AlertReceived(A::UnknownCA), HandshakeFailure::UnknownCa),
            (
                E::AlertReceived(A::CertificateRequired),
                HandshakeFailure::NoCertificate,
            ),
            (
                E::AlertReceived(A::AccessDenied),
                HandshakeFailure::AuthorizationDenied,
            ),
            (
                E::AlertReceived(A::CertificateExpired),
                HandshakeFailure::InvalidCertificate,
            ),
            (
                E::AlertReceived(A::ProtocolVersion),
                HandshakeFailure::ProtocolMismatch,
            ),
            (
                E::AlertReceived(A::HandshakeFailure),
                HandshakeFailure::ProtocolMismatch,
            ),
            (E::AlertReceived(A::DecodeError), HandshakeFailure::Other),
            (E::HandshakeNotComplete, HandshakeFailure::Other),
        ];
        for (error, reason) in table {
            assert_eq!(HandshakeFailure::from_rustls(&error), reason, "{error:?}");
        }
    }

    #[test]
    fn every_reason_has_its_own_counter_and_label() {
        let counters = SideCounters::default();
        for (i, reason) in HandshakeFailure::ALL.iter().enumerate() {
            for _ in 0..=i {
                counters.count_failure(*reason);
            }
        }
        let snapshot = counters.handshake_failures.snapshot();
        let mut labels = std::collections::BTreeSet::new();
        for (i, (reason, count)) in snapshot.iter().enumerate() {
            assert_eq!(count, i as u64 + 1, "{reason:?}");
            assert!(labels.insert(reason.as_str()), "{reason:?}");
        }
        let total: u64 = (1..=HandshakeFailure::ALL.len() as u64).sum();
        assert_eq!(
            counters.failed_tls_handshakes.load(Ordering::Relaxed),
            total
        );
    }
}
