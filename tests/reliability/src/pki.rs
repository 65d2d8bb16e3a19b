//! Config files and contexts for the scenarios, on top of `vespa-tls-testkit`.

use std::path::Path;
use std::sync::Arc;

use vespa_tls_config::{Files, MixedMode};
use vespa_tls_context::{ReloadOptions, ReloadingTlsContext, TlsContext, TlsModes};
use vespa_tls_testkit::{Policy, TestConfig};
use vespa_tls_transport::{Acceptor, Connector, TlsSource};

use crate::error::ScenarioError;

/// A TLS config for `files` with `policies` as its `authorized-peers` (none: every peer
/// with a valid certificate), on the typed model.
pub(crate) fn config(files: &Files, policies: &[Policy]) -> TestConfig {
    let config = TestConfig::new(files);
    if policies.is_empty() {
        config
    } else {
        config.authorized_peers(policies.iter().cloned())
    }
}

/// `authorized-peers` with one policy per CN pattern (all capabilities).
pub fn authorized_cns(patterns: &[&str]) -> Vec<Policy> {
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| Policy::new(&format!("policy-{i}")).cn(p))
        .collect()
}

/// Writes `json` to `path` the safe way: a temporary name in the same directory, then rename.
pub(crate) fn write_config(path: &Path, json: &str) -> Result<(), ScenarioError> {
    vespa_tls_pki::write_public_file(path, json.as_bytes())?;
    Ok(())
}

/// A fixed (non-reloading) context for `files` with `policies` as its `authorized-peers`.
pub fn fixed_context(files: &Files, policies: &[Policy]) -> Result<Arc<TlsContext>, ScenarioError> {
    Ok(Arc::new(
        config(files, policies).try_context(TlsModes::default())?,
    ))
}

/// A connector on a fixed context (TLS-only client).
pub fn tls_connector(context: &Arc<TlsContext>) -> Connector {
    Connector::new(
        TlsSource::Fixed(Arc::clone(context)),
        MixedMode::TlsClientTlsServer,
    )
}

/// Reload options for the scenarios: watching on, the scale's debounce, and the interval
/// backstop pushed out of the way so every reload is the watcher's.
pub(crate) fn watching() -> ReloadOptions {
    ReloadOptions::default()
        .with_interval(std::time::Duration::from_secs(3600))
        .with_debounce(crate::scale::Scale::from_env().reload_debounce)
}

/// A reloading context following `config_file`, with both modes `enforce`.
pub fn reloading(config_file: &Path) -> Result<Arc<ReloadingTlsContext>, ScenarioError> {
    Ok(Arc::new(ReloadingTlsContext::from_file(
        config_file,
        TlsModes::default(),
        watching(),
    )?))
}

/// A TLS-only acceptor on a reloading context.
pub fn tls_acceptor(context: &Arc<ReloadingTlsContext>) -> Acceptor {
    Acceptor::new(
        TlsSource::Reloading(Arc::clone(context)),
        MixedMode::TlsClientTlsServer,
    )
}
