//! The one error type of this crate.

use std::path::{Path, PathBuf};

use vespa_tls_config::{Diagnostic, Escaped, Severity};

use crate::codes;

/// Why the three files cannot be loaded.
///
/// Every message starts with the file's path, says what was expected and what was found, and
/// never contains key material. An underlying error is part of the message and kept in a typed
/// field, never also returned by [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaterialError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// The path names a directory, FIFO, socket or device, not a regular file.
    #[error("{}: expected a regular file, found {file_type}", path.display())]
    NotRegularFile {
        /// The path, as given.
        path: PathBuf,
        /// What it is, e.g. `a FIFO (named pipe)`.
        file_type: &'static str,
    },
    /// The file is larger than the limit.
    #[error(
        "{}: expected a file of at most {limit} bytes, found a larger one",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes ([`MAX_FILE_SIZE`](crate::MAX_FILE_SIZE) for the material).
        limit: u64,
    },
    /// The file is empty or holds only whitespace.
    #[error("{}: expected {expected}, found an empty file", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What the file should hold, e.g. `at least one CERTIFICATE block`.
        expected: &'static str,
    },
    /// The file has content but no PEM block.
    #[error("{}: expected {expected}, found {found}", path.display())]
    NoPem {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        expected: &'static str,
        /// What it holds instead, e.g. `binary data (DER?); convert it to PEM`.
        found: &'static str,
    },
    /// A PEM block is malformed.
    #[error("{}: expected well-formed PEM, found {reason}", path.display())]
    MalformedPem {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the block's content).
        reason: String,
    },
    /// A PEM block that does not belong in this file.
    #[error("{}: expected {expected}, found {found}", path.display())]
    UnexpectedBlock {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        expected: &'static str,
        /// What was found, e.g. `a PRIVATE KEY block (block 2)`.
        found: String,
    },
    /// The private key is encrypted.
    #[error(
        "{}: encrypted private keys are not supported (found {found}); \
         decrypt it with `openssl pkey -in <file> -out <new file>` and keep it mode 0600",
        path.display()
    )]
    EncryptedKey {
        /// The key file.
        path: PathBuf,
        /// What was found, e.g. `an ENCRYPTED PRIVATE KEY block`.
        found: &'static str,
    },
    /// The private key is Ed25519.
    #[error(
        "{}: expected an RSA or EC (P-256, P-384) private key, found an Ed25519 key: \
         Vespa's Java processes cannot load Ed25519 keys",
        path.display()
    )]
    Ed25519Key {
        /// The key file.
        path: PathBuf,
    },
    /// The private key is of an unsupported type.
    #[error("{}: expected an RSA or EC (P-256, P-384) private key, found {found}", path.display())]
    UnsupportedKey {
        /// The key file.
        path: PathBuf,
        /// The key type found, e.g. `an EC key on curve P-521`.
        found: String,
    },
    /// The private key does not parse.
    #[error("{}: expected a valid {label} block, found one that does not load: {reason}", path.display())]
    InvalidKey {
        /// The key file.
        path: PathBuf,
        /// The PEM label (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`).
        label: &'static str,
        /// Why (a structural reason, never key bytes).
        reason: String,
    },
    /// The key file holds several private keys.
    #[error("{}: expected exactly one private key, found {count}", path.display())]
    MultipleKeys {
        /// The key file.
        path: PathBuf,
        /// How many.
        count: usize,
    },
    /// A certificate does not parse.
    #[error(
        "{}: expected an X.509 certificate in block {index}, found DER that does not parse: {error}",
        path.display()
    )]
    InvalidCertificate {
        /// The file.
        path: PathBuf,
        /// 1-based position among the file's CERTIFICATE blocks.
        index: usize,
        /// The parser's reason.
        error: der::Error,
    },
    /// The key matches a later certificate, not the first.
    #[error(
        "{}: the leaf must be first: the private key in {} matches certificate {matching} ({}), \
         not certificate 1; put certificate {matching} first, then its chain",
        path.display(),
        key_path.display(),
        Escaped(subject)
    )]
    LeafNotFirst {
        /// The certificates file.
        path: PathBuf,
        /// The key file.
        key_path: PathBuf,
        /// 1-based position of the certificate the key matches.
        matching: usize,
        /// That certificate's subject (printed escaped: the certificate's author chose it).
        subject: String,
    },
    /// The key matches no certificate.
    #[error(
        "{}: expected the private key of the first certificate in {} ({}), \
         found a key that matches no certificate in that file",
        key_path.display(),
        path.display(),
        Escaped(subject)
    )]
    KeyMismatch {
        /// The certificates file.
        path: PathBuf,
        /// The key file.
        key_path: PathBuf,
        /// The first certificate's subject.
        subject: String,
    },
}

impl MaterialError {
    /// The file the error is about (for a mismatch: the key file).
    pub fn path(&self) -> &Path {
        match self {
            MaterialError::Read { path, .. }
            | MaterialError::NotRegularFile { path, .. }
            | MaterialError::TooLarge { path, .. }
            | MaterialError::Empty { path, .. }
            | MaterialError::NoPem { path, .. }
            | MaterialError::MalformedPem { path, .. }
            | MaterialError::UnexpectedBlock { path, .. }
            | MaterialError::EncryptedKey { path, .. }
            | MaterialError::Ed25519Key { path }
            | MaterialError::UnsupportedKey { path, .. }
            | MaterialError::InvalidKey { path, .. }
            | MaterialError::MultipleKeys { path, .. }
            | MaterialError::InvalidCertificate { path, .. }
            | MaterialError::LeafNotFirst { path, .. } => path,
            MaterialError::KeyMismatch { key_path, .. } => key_path,
        }
    }

    /// The stable code of this error (see [`codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            MaterialError::Read { .. } => codes::UNREADABLE_FILE,
            MaterialError::NotRegularFile { .. } => codes::NOT_A_REGULAR_FILE,
            MaterialError::TooLarge { .. } => codes::FILE_TOO_LARGE,
            MaterialError::Empty { .. } => codes::EMPTY_FILE,
            MaterialError::NoPem { .. } => codes::NO_PEM_BLOCK,
            MaterialError::MalformedPem { .. } => codes::MALFORMED_PEM,
            MaterialError::UnexpectedBlock { .. } => codes::UNEXPECTED_PEM_BLOCK,
            MaterialError::EncryptedKey { .. } => codes::ENCRYPTED_PRIVATE_KEY,
            MaterialError::Ed25519Key { .. } => codes::ED25519_PRIVATE_KEY,
            MaterialError::UnsupportedKey { .. } => codes::UNSUPPORTED_PRIVATE_KEY,
            MaterialError::InvalidKey { .. } => codes::INVALID_PRIVATE_KEY,
            MaterialError::MultipleKeys { .. } => codes::MULTIPLE_PRIVATE_KEYS,
            MaterialError::InvalidCertificate { .. } => codes::INVALID_CERTIFICATE,
            MaterialError::LeafNotFirst { .. } => codes::LEAF_NOT_FIRST,
            MaterialError::KeyMismatch { .. } => codes::KEY_CERTIFICATE_MISMATCH,
        }
    }

    /// This error as an error-level finding, so `vespa-tls check` can merge it with others.
    ///
    /// The finding's location is [`path`](Self::path); its message is the error's message
    /// without the leading path.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let full = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        let message = full.strip_prefix(&prefix).unwrap_or(&full).to_owned();
        Diagnostic::at_path(Severity::Error, self.code(), self.path(), message)
    }
}
