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
    /// A node process (or the `vespa-tls` binary a scenario runs) misbehaved.
    #[error("{node}: {problem}")]
    Node {
        /// The node's name.
        node: String,
        /// What happened.
        problem: NodeProblem,
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

/// What went wrong with a node process, in [`ScenarioError::Node`].
#[derive(Debug, thiserror::Error)]
pub enum NodeProblem {
    /// The node could not bind its listener.
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    /// Its output ended while a scenario waited for its figures.
    #[error("exited; stderr: {stderr}")]
    Exited {
        /// Its last stderr lines.
        stderr: String,
    },
    /// It exited unsuccessfully after being asked to stop.
    #[error("exited with {0}")]
    Failed(std::process::ExitStatus),
    /// A binary was missing and building it failed.
    #[error("{} is missing and cargo build failed ({status})", binary.display())]
    NotBuilt {
        /// The binary looked for.
        binary: PathBuf,
        /// How `cargo build` ended.
        status: std::process::ExitStatus,
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
