//! Certificate authorities and node certificates for Vespa's internal mTLS, without openssl.
//!
//! This crate replaces the openssl commands of the seed guide's Appendix A: it makes a root CA
//! (and optionally intermediates), issues node and client certificates with the common names,
//! SANs, validity window and extended key usages you choose, and writes Vespa's three files
//! plus a ready `VESPA_TLS_CONFIG_FILE` JSON with absolute paths. It also makes a key and a
//! certificate signing request on a node ([`CertificateRequest::generate`]) and signs a request
//! from any tool under the CA's profile ([`CertificateAuthority::sign_request`], after checking
//! its self-signature with aws-lc-rs). Keys are ECDSA P-256 by
//! default (ECDSA P-384 and RSA-2048 on request), generated and signed by aws-lc-rs through
//! rcgen. Private keys are written with mode 0600 from the moment the file exists, and every
//! file is written under a temporary name and renamed into place.
//!
//! **Invariants:** no function reads the clock (validity windows are explicit), no private key
//! appears in `Debug` output or error messages, and only [`write_node_files`],
//! [`write_ca_files`], [`write_public_file`] and [`write_secret_file`] touch the filesystem.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use time::{Duration, OffsetDateTime};
//! use vespa_tls_pki::{CaParams, CertificateAuthority, NodeParams, Validity, write_node_files};
//!
//! let now = OffsetDateTime::now_utc();
//! let validity = Validity::days_from(now - Duration::minutes(5), 365);
//! let ca = CertificateAuthority::new_root(&CaParams::new("ACME test root CA", validity))?;
//! let node = ca.issue(
//!     &NodeParams::new("myhost.example.com", validity)
//!         .with_dns("myhost.example.com")
//!         .with_dns("localhost")
//!         .with_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
//! )?;
//! let dir = tempfile::tempdir().expect("temp dir");
//! let written = write_node_files(dir.path(), "host", &node, &ca.ca_bundle_pem())?;
//! assert!(written.files.private_key.is_absolute());
//! assert!(written.config_json.contains("\"private-key\""));
//! # Ok::<(), vespa_tls_pki::PkiError>(())
//! ```
#![warn(missing_docs)]

mod bundle;
mod ca;
mod csr;
mod error;
mod params;
mod pem;
mod secret;
mod write;

/// The rcgen whose error [`PkiError`] carries when signing fails.
pub use rcgen;
/// The rustls-pki-types whose DER types issued certificates and keys come as.
pub use rustls_pki_types as pki_types;
/// The `time` whose [`OffsetDateTime`](time::OffsetDateTime) bounds a [`Validity`].
pub use time;

pub use bundle::{merge_ca_bundle, parse_ca_bundle};
pub use ca::{
    CertificateAuthority, IssuedCertificate, SanOverrides, SignParams, SignedCertificate,
};
pub use csr::{CertificateRequest, NewRequest, RequestKeyType, RequestParams};
pub use error::PkiError;
pub use params::{CaParams, ExtendedKeyUsages, KeyType, NodeParams, Validity};
pub use pem::encode as encode_pem;
pub use secret::SecretPem;
pub use write::{
    CaFiles, NodeFiles, write_ca_files, write_node_files, write_public_file, write_secret_file,
};

/// The README's examples, run as doctests so that what crates.io shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
