//! Config files and contexts for the scenarios, on top of `vespa-tls-testkit`.

use std::path::Path;
use std::sync::Arc;

use vespa_tls_config::{Files, MixedMode};
use vespa_tls_context::{ReloadOptions, ReloadingTlsContext, TlsContext, TlsMetrics, TlsModes};
use vespa_tls_transport::{Acceptor, Connector, TlsSource};

use crate::error::ScenarioError;

/// A TLS config file's JSON for `files`, with `extra` top-level members (e.g. an
/// `"authorized-peers": […]` member) appended: the testkit's writer.
pub(crate) use vespa_tls_testkit::config_json_with as config_json;

/// An `authorized-peers` member with one policy per CN pattern (all capabilities).
pub fn authorized_cns(patterns: &[&str]) -> String {
    let policies: Vec<String> = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"{{"name": "policy-{i}", "required-credentials": [{{"field": "CN", "must-match": {p:?}}}]}}"#
            )
        })
        .collect();
    format!(r#""authorized-peers": [{}]"#, policies.join(", "))
}

/// Writes `json` to `path` the safe way: a temporary name in the same directory, then rename.
pub(crate) fn write_config(path: &Path, json: &str) -> Result<(), ScenarioError> {
    vespa_tls_pki::write_public_file(path, json.as_bytes())?;
    Ok(())
}

/// A fixed (non-reloading) context for `files` with `extra` config members.
pub fn fixed_context(files: &Files, extra: &str) -> Result<Arc<TlsContext>, ScenarioError> {
    let json = config_json(files, extra);
    let (options, _) = vespa_tls_config::parse(&json).map_err(|e| ScenarioError::Node {
        node: "config".into(),
        message: e.to_string(),
    })?;
    let (context, _) = TlsContext::from_options(
        &options,
        TlsModes::default(),
        Arc::new(TlsMetrics::default()),
    )?;
    Ok(Arc::new(context))
}

/// A connector on a fixed context (TLS-only client).
pub fn tls_connector(context: &Arc<TlsContext>) -> Connector {
    Connector::new(
        TlsSource::Fixed(Arc::clone(context)),
        MixedMode::TlsClientTlsServer,
    )
}

/// Reload options for the scenarios: watching on, the library's 250 ms debounce, and the
/// interval backstop pushed out of the way so every reload is the watcher's.
pub(crate) fn watching() -> ReloadOptions {
    ReloadOptions {
        interval: std::time::Duration::from_secs(3600),
        ..ReloadOptions::default()
    }
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
