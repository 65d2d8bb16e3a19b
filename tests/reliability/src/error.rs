//! The one error type of the scenario helpers.

use std::path::PathBuf;

/// Why a scenario could not be set up or driven (never a scenario's *finding*: those are
/// assertions in the tests).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file operation failed.
    #[error("{}: cannot {action}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What we tried.
        action: &'static str,
        /// Why it failed.
        error: std::io::Error,
    },
    /// Making certificates failed.
    #[error(transparent)]
    Pki(#[from] vespa_tls_pki::PkiError),
    /// The test PKI could not be made.
    #[error(transparent)]
    Testkit(#[from] vespa_tls_testkit::TestkitError),
    /// A TLS context could not be built or reloaded.
    #[error(transparent)]
    Context(#[from] vespa_tls_context::ContextError),
    /// A child process did not start, print what was waited for, or exit in time.
    #[error(transparent)]
    Process(#[from] vespa_tls_testkit::ServedError),
    /// A node process misbehaved (did not start, exited, timed out).
    #[error("{node}: {message}")]
    Node {
        /// The node's name.
        node: String,
        /// What happened.
        message: String,
    },
    /// Something did not happen in time.
    #[error("{what}: not within {limit:?}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        limit: std::time::Duration,
    },
}

impl ScenarioError {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        error: std::io::Error,
    ) -> Self {
        ScenarioError::Io {
            path: path.into(),
            action,
            error,
        }
    }
}
