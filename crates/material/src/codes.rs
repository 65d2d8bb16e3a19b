//! Stable identifiers of the findings this crate reports (kebab-case, as in `vespa-tls check`).

// Errors: the material cannot be loaded.
/// A file cannot be read (missing, no permission).
pub const UNREADABLE_FILE: &str = "unreadable-file";
/// The path names a directory, FIFO, socket or device instead of a regular file.
pub const NOT_A_REGULAR_FILE: &str = "not-a-regular-file";
/// The file is larger than [`MAX_FILE_SIZE`](crate::MAX_FILE_SIZE).
pub const FILE_TOO_LARGE: &str = "file-too-large";
/// A file is empty (or whitespace only).
pub const EMPTY_FILE: &str = "empty-file";
/// A file has content but no PEM block (binary DER, or not a PEM file at all).
pub const NO_PEM_BLOCK: &str = "no-pem-block";
/// A PEM block is malformed (bad base64, no END line).
pub const MALFORMED_PEM: &str = "malformed-pem";
/// A PEM block of the wrong kind: a key in a certificate file, a certificate in the key file.
pub const UNEXPECTED_PEM_BLOCK: &str = "unexpected-pem-block";
/// The private key is encrypted with a passphrase.
pub const ENCRYPTED_PRIVATE_KEY: &str = "encrypted-private-key";
/// The private key is Ed25519, which Vespa's Java processes cannot load.
pub const ED25519_PRIVATE_KEY: &str = "ed25519-private-key";
/// The private key is of a type Vespa does not support (P-521, Ed448, DSA, …).
pub const UNSUPPORTED_PRIVATE_KEY: &str = "unsupported-private-key";
/// The private key block does not parse as the key its label names.
pub const INVALID_PRIVATE_KEY: &str = "invalid-private-key";
/// The key file holds more than one private key.
pub const MULTIPLE_PRIVATE_KEYS: &str = "multiple-private-keys";
/// A CERTIFICATE block does not parse as an X.509 certificate.
pub const INVALID_CERTIFICATE: &str = "invalid-certificate";
/// The key matches a certificate other than the first in the certificates file.
pub const LEAF_NOT_FIRST: &str = "leaf-not-first";
/// The key matches no certificate in the certificates file.
pub const KEY_CERTIFICATE_MISMATCH: &str = "key-certificate-mismatch";

// Findings about material that loads.
/// A certificate's `notAfter` is in the past (error: peers will refuse it).
pub const CERTIFICATE_EXPIRED: &str = "certificate-expired";
/// A certificate's `notBefore` is in the future (error: peers will refuse it).
pub const CERTIFICATE_NOT_YET_VALID: &str = "certificate-not-yet-valid";
/// A certificate expires within [`EXPIRY_WARNING_DAYS`](crate::EXPIRY_WARNING_DAYS) days (warning).
pub const CERTIFICATE_EXPIRES_SOON: &str = "certificate-expires-soon";
/// The leaf does not chain to a certificate in the CA bundle (warning, VESPA-BEHAVIOUR §6):
/// reported by the verification path of `vespa-tls-context`, which judges chains for handshakes.
pub const CHAIN_NOT_TRUSTED: &str = "chain-not-trusted";
/// The leaf has an EKU extension without serverAuth or clientAuth (warning, §6).
pub const MISSING_EXTENDED_KEY_USAGE: &str = "missing-extended-key-usage";
/// The private key file can be read or written by group or others.
pub const PRIVATE_KEY_PERMISSIONS: &str = "private-key-permissions";
/// Any user can write a CA, certificate or config file, or the directory holding one of the
/// files (and so replace it); a directory with the sticky bit is not reported.
pub const WRITABLE_BY_OTHERS: &str = "writable-by-others";
