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
    /// A key or certificate could not be converted to the requested encoding.
    #[error("{what}: {problem}")]
    Convert {
        /// Which conversion.
        what: &'static str,
        /// Why.
        problem: ConvertProblem,
    },
}

/// Why a conversion failed, in [`TestkitError::Convert`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertProblem {
    /// The input is not what the conversion takes.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the conversion takes.
        expected: &'static str,
        /// What it was given.
        found: &'static str,
    },
    /// The input's PEM could not be read.
    #[error("cannot read the PEM: {0}")]
    Pem(rustls_pki_types::pem::Error),
    /// DER could not be decoded or encoded.
    #[error("DER: {0}")]
    Der(der::Error),
    /// aws-lc-rs refused the key.
    #[error("aws-lc-rs refused the key: {0}")]
    KeyRejected(aws_lc_rs::error::KeyRejected),
    /// aws-lc-rs failed without a reason (encoding a key, random bytes).
    #[error("aws-lc-rs could not {0}")]
    Unspecified(&'static str),
    /// rcgen could not make the key or certificate.
    #[error("rcgen: {0}")]
    Rcgen(rcgen::Error),
}
