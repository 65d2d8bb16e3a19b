//! Where an acceptor or connector gets its TLS context from: the process-wide [`VespaTls`]
//! handle, or a [`TlsSource`] made by hand.

use std::ffi::OsString;
use std::sync::Arc;

use vespa_tls_config::{CapabilityMode, Environment, MixedMode};
use vespa_tls_context::{
    ContextError, ReloadOptions, ReloadingTlsContext, TlsCollector, TlsContext, TlsMetrics,
};

use crate::acceptor::Acceptor;
use crate::connector::Connector;

/// A process's TLS, as Vespa configures it: the four `VESPA_TLS_*` variables read once, one
/// reloading context built once, and every [`Acceptor`] and [`Connector`] handed out from it.
///
/// Everything handed out shares the one context (a reload reaches all of them at once), its
/// counters and the modes read at start. Make one per process, early; clone it freely. With
/// `VESPA_TLS_CONFIG_FILE` unset, TLS is off and every connection is plaintext.
///
/// ```no_run
/// use vespa_tls_context::ReloadOptions;
/// use vespa_tls_transport::VespaTls;
///
/// # fn main() -> Result<(), vespa_tls_context::ContextError> {
/// let tls = VespaTls::from_env(ReloadOptions::default())?;
/// let acceptor = tls.acceptor();
/// let connector = tls.connector();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct VespaTls {
    environment: Environment,
    source: TlsSource,
}

impl VespaTls {
    /// Reads the four `VESPA_TLS_*` variables of this process, logs what they say that
    /// deserves a warning, and loads the config file they name (its first load must succeed).
    pub fn from_env(reload: ReloadOptions) -> Result<VespaTls, ContextError> {
        VespaTls::from_lookup(|name| std::env::var_os(name), reload)
    }

    /// [`from_env`](Self::from_env) with the variables read through `lookup` (tests, or a
    /// process that keeps its configuration elsewhere).
    pub fn from_lookup(
        lookup: impl FnMut(&str) -> Option<OsString>,
        reload: ReloadOptions,
    ) -> Result<VespaTls, ContextError> {
        let (environment, findings) = Environment::from_lookup(lookup)?;
        for finding in &findings {
            tracing::warn!("{finding}");
        }
        VespaTls::from_environment(environment, reload)
    }

    /// From variables already read (and their findings already reported).
    pub fn from_environment(
        environment: Environment,
        reload: ReloadOptions,
    ) -> Result<VespaTls, ContextError> {
        let source = match ReloadingTlsContext::from_environment(&environment, reload)? {
            Some(context) => TlsSource::Reloading(Arc::new(context)),
            None => TlsSource::disabled(),
        };
        Ok(VespaTls {
            environment,
            source,
        })
    }

    /// An acceptor on the shared context, in the mixed mode read at start.
    pub fn acceptor(&self) -> Acceptor {
        Acceptor::new(self.source.clone(), self.environment.mixed_mode)
    }

    /// A connector on the shared context, in the mixed mode read at start.
    pub fn connector(&self) -> Connector {
        Connector::new(self.source.clone(), self.environment.mixed_mode)
    }

    /// What the four variables said.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The mixed-mode phase (`VESPA_TLS_INSECURE_MIXED_MODE`).
    pub fn mixed_mode(&self) -> MixedMode {
        self.environment.mixed_mode
    }

    /// The shared source: `Disabled` when TLS is off, else `Reloading`.
    pub fn source(&self) -> &TlsSource {
        &self.source
    }

    /// The reloading context (status, reloads, subscriptions, rustls configs for other
    /// stacks), or `None` when TLS is off.
    pub fn reloading(&self) -> Option<&Arc<ReloadingTlsContext>> {
        match &self.source {
            TlsSource::Reloading(reloading) => Some(reloading),
            TlsSource::Disabled { .. } | TlsSource::Fixed(_) => None,
        }
    }

    /// The process-wide counters, shared by everything handed out.
    pub fn metrics(&self) -> Arc<TlsMetrics> {
        self.source.metrics()
    }

    /// Our counters and gauges for a service's Prometheus registry (see [`TlsSource::collector`]).
    pub fn collector(&self) -> TlsCollector {
        self.source.collector()
    }
}

/// The TLS side of a transport: none (plaintext only), a fixed context, or a reloading one.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

    /// Our counters and gauges for a service's Prometheus registry: the counters always, the
    /// certificates' expiry for a context, the reload gauges for a reloading one.
    pub fn collector(&self) -> TlsCollector {
        match self {
            TlsSource::Disabled { metrics } => TlsCollector::counters(Arc::clone(metrics)),
            TlsSource::Fixed(context) => TlsCollector::fixed(Arc::clone(context)),
            TlsSource::Reloading(reloading) => TlsCollector::reloading(reloading),
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
