//! Where an acceptor or connector gets its TLS context from.

use std::sync::Arc;

use vespa_tls_config::{CapabilityMode, MixedMode};
use vespa_tls_context::{ContextError, ReloadOptions, ReloadingTlsContext, TlsContext, TlsMetrics};

/// The TLS side of a transport: none (plaintext only), a fixed context, or a reloading one.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// `VESPA_TLS_CONFIG_FILE` is unset: everything is plaintext.
    Disabled {
        /// Counters for plaintext connections.
        metrics: Arc<TlsMetrics>,
    },
    /// One context for the process lifetime.
    Fixed(Arc<TlsContext>),
    /// The current snapshot of a reloading context, taken per connection.
    Reloading(Arc<ReloadingTlsContext>),
}

impl TlsSource {
    /// Reads the `VESPA_TLS_*` environment: a reloading context when `VESPA_TLS_CONFIG_FILE`
    /// is set (its initial load must succeed), plaintext only when it is not; and the mixed mode.
    pub fn from_env(reload: ReloadOptions) -> Result<(TlsSource, MixedMode), ContextError> {
        let (env, _) = vespa_tls_config::Environment::from_lookup(|n| std::env::var_os(n))?;
        let source = match ReloadingTlsContext::from_env(reload)? {
            Some(context) => TlsSource::Reloading(Arc::new(context)),
            None => TlsSource::disabled(),
        };
        Ok((source, env.mixed_mode))
    }

    /// Plaintext only.
    pub fn disabled() -> Self {
        TlsSource::Disabled {
            metrics: Arc::new(TlsMetrics::default()),
        }
    }

    /// The snapshot a new connection uses, or `None` when TLS is off.
    pub fn current(&self) -> Option<Arc<TlsContext>> {
        match self {
            TlsSource::Disabled { .. } => None,
            TlsSource::Fixed(context) => Some(Arc::clone(context)),
            TlsSource::Reloading(reloading) => Some(reloading.current()),
        }
    }

    /// The process-wide counters.
    pub fn metrics(&self) -> Arc<TlsMetrics> {
        match self {
            TlsSource::Disabled { metrics } => Arc::clone(metrics),
            TlsSource::Fixed(context) => Arc::clone(context.metrics()),
            TlsSource::Reloading(reloading) => Arc::clone(reloading.metrics()),
        }
    }

    /// The capability mode connections check with (`enforce` when TLS is off; plaintext
    /// connections carry every capability anyway).
    pub(crate) fn capability_mode(&self) -> CapabilityMode {
        match self {
            TlsSource::Disabled { .. } => CapabilityMode::Enforce,
            TlsSource::Fixed(context) => context.modes().capability,
            TlsSource::Reloading(reloading) => reloading.modes().capability,
        }
    }
}

impl From<Arc<TlsContext>> for TlsSource {
    fn from(context: Arc<TlsContext>) -> Self {
        TlsSource::Fixed(context)
    }
}

impl From<Arc<ReloadingTlsContext>> for TlsSource {
    fn from(context: Arc<ReloadingTlsContext>) -> Self {
        TlsSource::Reloading(context)
    }
}

/// What a server does with a connection, given TLS and the mixed mode.
pub(crate) fn server_mode(source: &TlsSource, mixed: MixedMode) -> ServerMode {
    match source {
        TlsSource::Disabled { .. } => ServerMode::PlaintextOnly,
        _ if mixed.server_accepts_plaintext() => ServerMode::Mixed,
        _ => ServerMode::TlsOnly,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerMode {
    PlaintextOnly,
    Mixed,
    TlsOnly,
}
