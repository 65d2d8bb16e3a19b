//! Vespa's crypto material: the CA bundle, the certificate chain and the private key named by
//! the TLS config file, read once, parsed and checked before any socket is opened.
//!
//! [`CryptoMaterial::load`] reads each of the three files exactly once (one consistent
//! snapshot; regular files of at most [`MAX_FILE_SIZE`] only, opened without blocking, so a
//! FIFO or device named as a file is an error and not a hang; [`read_regular_file`] does the
//! same for the config file), decodes PEM with rustls-pki-types and applies VESPA-BEHAVIOUR §2b:
//!
//! - the key is PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`),
//!   RSA or EC on P-256 or P-384; an Ed25519 key is refused because Vespa's Java processes
//!   cannot load it; an encrypted key is refused (the PEM parser skips `ENCRYPTED PRIVATE KEY`
//!   blocks silently, so this crate scans the labels itself);
//! - the CA file holds at least one certificate and nothing else;
//! - the certificates file holds certificates only, leaf first; if the key matches a later
//!   certificate the error says which;
//! - the key file holds the key and nothing else.
//!
//! Every [`MaterialError`] starts with the file's path and says what was expected and what
//! was found; no error, `Debug` output or log line contains key bytes, and the key is zeroised
//! when the material is dropped.
//!
//! What does not stop Vespa from loading the files is reported by
//! [`CryptoMaterial::report`] at a time passed in (no hidden clock): per-certificate facts
//! (subject, SANs, issuer, serial, validity, SHA-256 fingerprint, key type), whether the leaf
//! chains to the CA bundle, days to expiry, the key file's mode, and findings (including files
//! and directories others can write, see [`permission_findings`]) as
//! [`Diagnostics`](vespa_tls_config::Diagnostics) that `vespa-tls check` merges with the
//! config file's.
//!
//! **Invariant:** this is the only crate that reads credential files; it opens no sockets.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use vespa_tls_config::Files;
//! use vespa_tls_material::CryptoMaterial;
//!
//! let files = Files {
//!     ca_certificates: PathBuf::from("/etc/vespa/tls/ca.pem"),
//!     certificates: PathBuf::from("/etc/vespa/tls/host.pem"),
//!     private_key: PathBuf::from("/etc/vespa/tls/host.key"),
//! };
//! match CryptoMaterial::load(&files) {
//!     Ok(material) => {
//!         let report = material.report(time::OffsetDateTime::now_utc());
//!         println!("leaf expires in {} days", report.leaf_days_to_expiry);
//!         for finding in &report.diagnostics {
//!             println!("{finding}");
//!         }
//!     }
//!     // e.g. "/etc/vespa/tls/host.key: encrypted private keys are not supported (...)"
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```
#![warn(missing_docs)]

mod cert;
pub mod codes;
mod error;
mod file;
mod key;
mod material;
mod pem;
mod report;

/// The `der` whose error [`MaterialError`] carries for a certificate that does not decode.
pub use der;
/// The rustls-pki-types whose DER types ([`CertificateDer`](pki_types::CertificateDer),
/// [`PrivateKeyDer`](pki_types::PrivateKeyDer)) [`CryptoMaterial`] hands out.
pub use rustls_pki_types as pki_types;
/// The `time` whose [`OffsetDateTime`](time::OffsetDateTime) reports are judged at.
pub use time;

pub use cert::{CertificateFacts, PublicKeyType};
pub use error::MaterialError;
pub use file::{MAX_FILE_SIZE, permission_findings, read_regular_file};
pub use key::KeyKind;
pub use material::{CryptoMaterial, FileDigests};
pub use report::{EXPIRY_WARNING_DAYS, MaterialReport};

/// The README's examples, run as doctests so that what crates.io shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
