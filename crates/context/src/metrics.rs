//! Counters with Vespa's names, client and server sides apart, readable as a snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// Connection counters of one side (server: accepted connections; client: dialled ones).
#[derive(Debug, Default)]
pub struct SideCounters {
    /// Connections that completed a TLS handshake.
    pub tls_connections: AtomicU64,
    /// Plaintext connections (TLS not configured, or a mixed-mode plaintext peer).
    pub insecure_connections: AtomicU64,
    /// Handshakes that failed, for any reason.
    pub failed_tls_handshakes: AtomicU64,
    /// Peers whose certificate credentials were invalid or not authorized, including peers that
    /// `log_only` let through.
    pub invalid_peer_credentials: AtomicU64,
    /// Established TLS connections that broke with a TLS-level error.
    pub broken_tls_connections: AtomicU64,
}

/// Every counter of one process's TLS, shared by all context snapshots and connections.
#[derive(Debug, Default)]
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
pub struct SideSnapshot {
    /// See [`SideCounters::tls_connections`].
    pub tls_connections: u64,
    /// See [`SideCounters::insecure_connections`].
    pub insecure_connections: u64,
    /// See [`SideCounters::failed_tls_handshakes`].
    pub failed_tls_handshakes: u64,
    /// See [`SideCounters::invalid_peer_credentials`].
    pub invalid_peer_credentials: u64,
    /// See [`SideCounters::broken_tls_connections`].
    pub broken_tls_connections: u64,
}

/// Plain copies of every counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
