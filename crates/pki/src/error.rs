//! The one error type of this crate.

use std::path::PathBuf;

/// Why a certificate could not be issued, loaded or written.
///
/// Messages name the thing first (the file path, or which certificate or key) and never contain
/// key material. An underlying error is part of the message and kept in a typed field, never
/// also returned by [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// rcgen (or aws-lc-rs under it) refused to generate a key or sign a certificate.
    #[error("{what}: {error}")]
    Generate {
        /// What was being made, e.g. `CA certificate "ACME test root CA"`.
        what: String,
        /// rcgen's reason.
        error: rcgen::Error,
    },
    /// The random number generator failed while a serial number was drawn.
    #[error("{what}: the random number generator failed")]
    Random {
        /// The certificate whose serial number was being drawn.
        what: String,
    },
    /// A name (CN, DNS SAN, URI SAN) cannot be encoded.
    #[error("{kind} {value:?}: {error}")]
    InvalidName {
        /// `common name`, `DNS SAN` or `URI SAN`.
        kind: &'static str,
        /// The value as given.
        value: String,
        /// Why it cannot be encoded, as rcgen says it.
        error: rcgen::Error,
    },
    /// The requested parameters are inconsistent.
    #[error("{what}: {reason}")]
    InvalidParams {
        /// Which certificate.
        what: String,
        /// What is wrong, with expected vs found.
        reason: String,
    },
    /// An existing CA certificate or key given to [`CertificateAuthority::load`](crate::CertificateAuthority::load)
    /// is unusable.
    #[error("{what}: {reason}")]
    Load {
        /// `CA certificate` or `CA private key` (or the path, when the caller passed one).
        what: String,
        /// Expected vs found.
        reason: String,
    },
    /// A certificate signing request is unusable: it does not parse, its signature does not
    /// verify, or it asks for what this CA does not issue.
    #[error("certificate signing request: {reason}")]
    InvalidRequest {
        /// Expected vs found.
        reason: String,
    },
    /// A file or directory could not be written.
    #[error("{}: cannot {action}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// `create directory`, `write`, `rename into place`, …
        action: &'static str,
        /// The operating system's reason.
        error: std::io::Error,
    },
}

impl PkiError {
    pub(crate) fn generate(what: impl Into<String>, error: rcgen::Error) -> Self {
        PkiError::Generate {
            what: what.into(),
            error,
        }
    }

    pub(crate) fn load(what: impl Into<String>, reason: impl Into<String>) -> Self {
        PkiError::Load {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
