//! `CryptoMaterial`: Vespa's three files, read once and checked.

use std::fmt;
use std::path::Path;

use rustls_pki_types::pem::SectionKind;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use vespa_tls_config::Files;
use zeroize::Zeroizing;

use crate::cert::{self, Parsed};
use crate::error::MaterialError;
use crate::file::{self, FileMode, MAX_FILE_SIZE, Role};
use crate::key::{self, KeyKind, SecretKey};
use crate::pem::{self, Block};

const CERTIFICATE: &str = "CERTIFICATE";
const EXPECT_CERTIFICATES: &str = "at least one CERTIFICATE block";
const EXPECT_ONLY_CERTIFICATES: &str = "only CERTIFICATE blocks";
const EXPECT_KEY: &str = "one PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block";
const EXPECT_ONLY_KEY: &str = "only the private key block";

/// SHA-256 of each file's bytes as read, to tell whether a reload brought anything new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FileDigests {
    /// Of the `ca-certificates` file.
    pub ca_certificates: [u8; 32],
    /// Of the `certificates` file.
    pub certificates: [u8; 32],
    /// Of the `private-key` file (a digest reveals nothing usable about the key).
    pub private_key: [u8; 32],
}

/// Vespa's three credential files, loaded: one consistent snapshot.
///
/// A value of this type has passed every rule of VESPA-BEHAVIOUR §2b: at least one CA
/// certificate; a non-empty chain whose first certificate matches the private key; a PKCS#8,
/// PKCS#1 or SEC1 RSA or EC (P-256, P-384) key that is not encrypted; nothing but certificates
/// in the certificate files and nothing but the key in the key file. Facts that do not stop
/// Vespa from loading the files (expiry, trust, EKUs, file mode) are in [`report`](Self::report).
///
/// `Debug` never shows the key; the key bytes are zeroised when this value is dropped.
pub struct CryptoMaterial {
    files: Files,
    ca_certificates: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: SecretKey,
    key_kind: KeyKind,
    digests: FileDigests,
    key_file_mode: Option<u32>,
    /// The three files' and their directories' modes as seen at load, for the report.
    file_modes: Vec<FileMode>,
}

impl fmt::Debug for CryptoMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoMaterial")
            .field("files", &self.files)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("chain", &self.chain.len())
            .field("key_kind", &self.key_kind)
            .field("private_key", &self.key)
            .finish()
    }
}

impl CryptoMaterial {
    /// Reads each of the three files exactly once, then parses and checks them. Paths are
    /// used as given (a symlink is followed by the read).
    ///
    /// Each must be a regular file of at most [`MAX_FILE_SIZE`] bytes; see
    /// [`read_regular_file`](crate::read_regular_file), which does the reading. The modes of
    /// the files and of their directories are kept for [`report`](Self::report).
    pub fn load(files: &Files) -> Result<CryptoMaterial, MaterialError> {
        let ca = file::read(&files.ca_certificates, MAX_FILE_SIZE)?;
        let certs = file::read(&files.certificates, MAX_FILE_SIZE)?;
        let key = file::read(&files.private_key, MAX_FILE_SIZE)?;
        let key_mode = key.mode;
        let key_bytes = Zeroizing::new(key.bytes);
        let mut material = CryptoMaterial::from_pem(files, &ca.bytes, &certs.bytes, &key_bytes)?;
        material.key_file_mode = key_mode;
        let read = [
            (&files.ca_certificates, Role::CaCertificates, ca.mode),
            (&files.certificates, Role::Certificates, certs.mode),
            (&files.private_key, Role::PrivateKey, key_mode),
        ];
        for (path, role, mode) in read {
            if let Some(mode) = mode {
                material.file_modes.push(FileMode {
                    path: path.clone(),
                    role,
                    directory: false,
                    mode,
                });
            }
        }
        for (path, role, _) in read {
            material.file_modes.extend(file::directory_mode(path, role));
        }
        Ok(material)
    }

    /// Parses and checks the three files' bytes; `files` only names them in messages.
    ///
    /// [`load`](Self::load) is this plus the reads; use this when the bytes come from elsewhere
    /// (a test, a fuzzer). The key file mode is unknown here.
    pub fn from_pem(
        files: &Files,
        ca_certificates: &[u8],
        certificates: &[u8],
        private_key: &[u8],
    ) -> Result<CryptoMaterial, MaterialError> {
        let ca = certificate_file(&files.ca_certificates, ca_certificates)?;
        let chain = certificate_file(&files.certificates, certificates)?;
        let parsed_key = key_file(&files.private_key, private_key)?;

        let parsed_chain: Vec<Parsed<'_>> = chain
            .iter()
            .filter_map(|der| cert::parse(der).ok())
            .collect();
        let matches =
            |p: &Parsed<'_>| cert::public_key_bytes(&p.cert) == parsed_key.public_key.as_slice();
        let Some(first) = parsed_chain.first() else {
            // certificate_file returns at least one certificate, each of which parses.
            return Err(no_blocks(
                &files.certificates,
                certificates,
                EXPECT_CERTIFICATES,
            ));
        };
        if !matches(first) {
            if let Some(i) = parsed_chain.iter().position(matches) {
                return Err(MaterialError::LeafNotFirst {
                    path: files.certificates.clone(),
                    key_path: files.private_key.clone(),
                    matching: i + 1,
                    subject: cert::subject(&parsed_chain[i].cert),
                });
            }
            return Err(MaterialError::KeyMismatch {
                path: files.certificates.clone(),
                key_path: files.private_key.clone(),
                subject: cert::subject(&first.cert),
            });
        }
        drop(parsed_chain);

        Ok(CryptoMaterial {
            files: files.clone(),
            ca_certificates: ca,
            chain,
            key_kind: parsed_key.kind,
            key: parsed_key.key,
            digests: FileDigests {
                ca_certificates: sha256(ca_certificates),
                certificates: sha256(certificates),
                private_key: sha256(private_key),
            },
            key_file_mode: None,
            file_modes: Vec::new(),
        })
    }

    /// The paths this material was loaded from, as given.
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// The trusted CA certificates (never empty).
    pub fn ca_certificates(&self) -> &[CertificateDer<'static>] {
        &self.ca_certificates
    }

    /// This node's certificate chain, leaf first (never empty).
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// This node's certificate: the first of [`chain`](Self::chain).
    pub fn leaf(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The private key, in the encoding the file had (PKCS#8, PKCS#1 or SEC1).
    pub fn private_key(&self) -> &PrivateKeyDer<'static> {
        self.key.der()
    }

    /// The private key's type.
    pub fn key_kind(&self) -> KeyKind {
        self.key_kind
    }

    /// SHA-256 of each file's bytes as read.
    pub fn digests(&self) -> &FileDigests {
        &self.digests
    }

    /// Whether `other` was loaded from byte-identical files (a reload that changes nothing).
    pub fn same_content(&self, other: &CryptoMaterial) -> bool {
        self.digests == other.digests
    }

    /// The files' and directories' modes seen at load (empty from `from_pem`).
    pub(crate) fn file_modes(&self) -> &[FileMode] {
        &self.file_modes
    }

    /// The permission bits of the key file when it was loaded (Unix only; `None` otherwise or
    /// when built with [`from_pem`](Self::from_pem)).
    pub fn key_file_mode(&self) -> Option<u32> {
        self.key_file_mode
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Why a file has no PEM block: empty, or what it holds instead.
fn no_blocks(path: &Path, bytes: &[u8], expected: &'static str) -> MaterialError {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return MaterialError::Empty {
            path: path.to_owned(),
            expected,
        };
    }
    let found = if bytes.first() == Some(&0x30) && std::str::from_utf8(bytes).is_err() {
        "binary data (DER?): convert it to PEM, e.g. `openssl x509 -inform der` or `openssl pkey -inform der`"
    } else {
        "text with no PEM block (no -----BEGIN line)"
    };
    MaterialError::NoPem {
        path: path.to_owned(),
        expected,
        found,
    }
}

/// A file that must hold certificates only, at least one.
fn certificate_file(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, MaterialError> {
    let blocks = pem::blocks(path, bytes)?;
    if blocks.is_empty() {
        return Err(no_blocks(path, bytes, EXPECT_CERTIFICATES));
    }
    let has_certificate = blocks.iter().any(|b| b.label == CERTIFICATE);
    if let Some(other) = blocks.iter().find(|b| b.label != CERTIFICATE) {
        return Err(if has_certificate {
            MaterialError::UnexpectedBlock {
                path: path.to_owned(),
                expected: EXPECT_ONLY_CERTIFICATES,
                found: other.describe(),
            }
        } else {
            MaterialError::UnexpectedBlock {
                path: path.to_owned(),
                expected: EXPECT_CERTIFICATES,
                found: other.describe_kind(),
            }
        });
    }
    let mut out = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.into_iter().enumerate() {
        let Some((SectionKind::Certificate, der)) = block.decoded else {
            continue;
        };
        let der = CertificateDer::from(der.to_vec());
        if let Err(error) = cert::parse(&der) {
            return Err(MaterialError::InvalidCertificate {
                path: path.to_owned(),
                index: i + 1,
                error,
            });
        }
        out.push(der);
    }
    Ok(out)
}

/// The key file: exactly one unencrypted key block and nothing else.
fn key_file(path: &Path, bytes: &[u8]) -> Result<key::ParsedKey, MaterialError> {
    let blocks = pem::blocks(path, bytes)?;
    if blocks.is_empty() {
        return Err(no_blocks(path, bytes, EXPECT_KEY));
    }
    if blocks.iter().any(|b| b.label == "ENCRYPTED PRIVATE KEY") {
        return Err(MaterialError::EncryptedKey {
            path: path.to_owned(),
            found: "an ENCRYPTED PRIVATE KEY block",
        });
    }
    if blocks.iter().any(|b| b.encrypted_header) {
        return Err(MaterialError::EncryptedKey {
            path: path.to_owned(),
            found: "a PEM block with a Proc-Type: 4,ENCRYPTED header",
        });
    }
    let is_key = |b: &Block| {
        matches!(
            b.decoded,
            Some((
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey,
                _
            ))
        )
    };
    let keys = blocks.iter().filter(|b| is_key(b)).count();
    if let Some(other) = blocks.iter().find(|b| !is_key(b)) {
        return Err(MaterialError::UnexpectedBlock {
            path: path.to_owned(),
            expected: if keys == 0 {
                EXPECT_KEY
            } else {
                EXPECT_ONLY_KEY
            },
            found: if keys == 0 {
                other.describe_kind()
            } else {
                other.describe()
            },
        });
    }
    if keys > 1 {
        return Err(MaterialError::MultipleKeys {
            path: path.to_owned(),
            count: keys,
        });
    }
    let Some(Block {
        decoded: Some((kind, der)),
        ..
    }) = blocks.into_iter().next()
    else {
        return Err(no_blocks(path, bytes, EXPECT_KEY));
    };
    key::parse(path, kind, der)
}
