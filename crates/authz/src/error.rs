//! The one error type of this crate.

use std::fmt;

/// Why credentials could not be read from a certificate.
///
/// An authorization *decision* is never an error: see [`crate::AuthorizationResult`].
/// An underlying error is part of the message, never also [`source`](std::error::Error::source).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthzError {
    /// The bytes are not a DER X.509 certificate (or one of its parts is malformed).
    #[error("certificate: malformed DER: {0}")]
    Der(der::Error),
    /// A subject commonName is not a UTF8String, PrintableString or IA5String.
    #[error(
        "certificate: subject commonName has ASN.1 type {tag}, expected UTF8String, PrintableString or IA5String"
    )]
    CommonNameType {
        /// The ASN.1 type found, as der names it.
        tag: String,
    },
    /// A subject commonName contains a NUL byte.
    #[error("certificate: subject commonName contains a NUL byte")]
    NulInCommonName,
    /// A dNSName or URI subject alternative name is empty.
    #[error("certificate: empty {kind} subject alternative name")]
    EmptySan {
        /// Which kind of SAN.
        kind: SanKind,
    },
    /// A dNSName or URI subject alternative name contains a NUL byte.
    #[error("certificate: {kind} subject alternative name contains a NUL byte")]
    NulInSan {
        /// Which kind of SAN.
        kind: SanKind,
    },
    /// The certificate has more than one subjectAltName extension.
    #[error("certificate: more than one subjectAltName extension")]
    DuplicateSanExtension,
}

impl From<der::Error> for AuthzError {
    fn from(error: der::Error) -> Self {
        AuthzError::Der(error)
    }
}

/// The kinds of subject alternative name that authorization reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SanKind {
    /// A dNSName (`SAN_DNS`).
    Dns,
    /// A uniformResourceIdentifier (`SAN_URI`).
    Uri,
}

impl fmt::Display for SanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SanKind::Dns => "dNSName",
            SanKind::Uri => "URI",
        })
    }
}
