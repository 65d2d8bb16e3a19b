//! The one error type of this crate.

use std::path::PathBuf;

use vespa_tls_config::{ConfigError, EnvError};
use vespa_tls_material::MaterialError;

/// Why a TLS context could not be built or reloaded. The message names the file first.
///
/// Every message is complete on its own: an underlying error is part of the message and kept
/// in a typed field, never also returned by [`source`](std::error::Error::source), so
/// `{:#}` and log lines print each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// `VESPA_TLS_CONFIG_FILE` is unset or empty.
    #[error(
        "{} is not set: TLS is not configured",
        vespa_tls_config::CONFIG_FILE_VAR
    )]
    NotConfigured,
    /// A `VESPA_TLS_*` variable has a value we do not accept.
    #[error(transparent)]
    Environment(#[from] EnvError),
    /// The config file cannot be read: missing, unreadable, not a regular file, or larger than
    /// [`MAX_FILE_SIZE`](vespa_tls_material::MAX_FILE_SIZE) (the error names the file).
    #[error(transparent)]
    ReadConfig(MaterialError),
    /// The config file is not a valid Vespa TLS config.
    #[error("{}: {error}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong, with its JSON pointer or line and column.
        error: ConfigError,
    },
    /// One of the three credential files is missing or wrong (the error names the file).
    #[error(transparent)]
    Material(#[from] MaterialError),
    /// rustls refused the material (rare: the loader checks the same things first).
    #[error("{}: rustls cannot use this material: {error}", path.display())]
    Rustls {
        /// The file involved.
        path: PathBuf,
        /// rustls's reason.
        error: rustls::Error,
    },
    /// A directory cannot be watched for changes.
    #[error("{}: cannot watch for changes: {error}", path.display())]
    Watch {
        /// The directory.
        path: PathBuf,
        /// The watcher's reason.
        error: notify::Error,
    },
    /// The background reload thread could not be started.
    #[error("cannot start the TLS reload thread: {0}")]
    Thread(std::io::Error),
}
