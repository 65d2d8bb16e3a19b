//! The one error type of this crate.

use std::path::PathBuf;

/// Why a fixture could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// Issuing or writing through `vespa-tls-pki` failed.
    #[error(transparent)]
    Pki(#[from] vespa_tls_pki::PkiError),
    /// A file or directory could not be made.
    #[error("{}: cannot {action}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// A key could not be converted to the requested encoding.
    #[error("{what}: {reason}")]
    Convert {
        /// Which conversion.
        what: &'static str,
        /// Expected vs found.
        reason: String,
    },
}
