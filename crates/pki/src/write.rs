//! Writing certificates, keys and a ready TLS config file.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use vespa_tls_config::{Files, TransportSecurityOptions};

use crate::ca::{CertificateAuthority, IssuedCertificate};
use crate::error::PkiError;

/// Paths written by [`write_node_files`], all absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeFiles {
    /// The three credential files, as the config file names them.
    pub files: Files,
    /// The TLS config file (`VESPA_TLS_CONFIG_FILE`).
    pub config_path: PathBuf,
    /// The TLS config file's content (canonical JSON from [`TransportSecurityOptions::to_json`]).
    pub config_json: String,
}

/// Paths written by [`write_ca_files`], both absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaFiles {
    /// The CA certificate (then any intermediates above it), PEM.
    pub certificate: PathBuf,
    /// The CA private key, PEM, mode 0600.
    pub private_key: PathBuf,
}

/// Writes one node's material into `dir` (created if missing) and a config file naming it:
///
/// - `ca-certificates.pem`: `ca_bundle_pem` (usually [`CertificateAuthority::ca_bundle_pem`]),
/// - `{name}.pem`: the node certificate first, then its intermediates,
/// - `{name}.key`: the private key, mode 0600 from creation,
/// - `{name}-tls.json`: a config with the three absolute paths and every default.
///
/// Each file is written to a temporary name in `dir` and renamed into place, so a process
/// watching the directory never sees it half-written.
pub fn write_node_files(
    dir: &Path,
    name: &str,
    node: &IssuedCertificate,
    ca_bundle_pem: &str,
) -> Result<NodeFiles, PkiError> {
    let dir = absolute_dir(dir)?;
    let files = Files {
        ca_certificates: dir.join("ca-certificates.pem"),
        certificates: dir.join(format!("{name}.pem")),
        private_key: dir.join(format!("{name}.key")),
    };
    write_public_file(&files.ca_certificates, ca_bundle_pem.as_bytes())?;
    write_public_file(&files.certificates, node.certificates_pem().as_bytes())?;
    write_secret_file(&files.private_key, node.key_pem.expose().as_bytes())?;
    let config_json = TransportSecurityOptions::with_files(files.clone()).to_json();
    let config_path = dir.join(format!("{name}-tls.json"));
    write_public_file(&config_path, config_json.as_bytes())?;
    Ok(NodeFiles {
        files,
        config_path,
        config_json,
    })
}

/// Writes a CA into `dir` (created if missing): `{name}.pem` (certificate chain) and
/// `{name}.key` (mode 0600), readable again with [`CertificateAuthority::load`].
pub fn write_ca_files(
    dir: &Path,
    name: &str,
    ca: &CertificateAuthority,
) -> Result<CaFiles, PkiError> {
    let dir = absolute_dir(dir)?;
    let out = CaFiles {
        certificate: dir.join(format!("{name}.pem")),
        private_key: dir.join(format!("{name}.key")),
    };
    write_public_file(&out.certificate, ca.cert_chain_pem().as_bytes())?;
    write_secret_file(&out.private_key, ca.key_pem().expose().as_bytes())?;
    Ok(out)
}

/// Writes `contents` to `path` with mode 0644 (on Unix), replacing any file there atomically.
pub fn write_public_file(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    write_atomically(path, contents, 0o644)
}

/// Writes `contents` to `path` with mode 0600 (on Unix), replacing any file there atomically.
///
/// The file is created with that mode, so the key is never readable by others, not even for
/// an instant; an existing file with looser permissions is replaced, not reused.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    write_atomically(path, contents, 0o600)
}

fn absolute_dir(dir: &Path) -> Result<PathBuf, PkiError> {
    fs::create_dir_all(dir).map_err(|error| PkiError::Io {
        path: dir.to_owned(),
        action: "create directory",
        error,
    })?;
    // canonicalize: absolute and free of symlinks, so the config names the real files.
    dir.canonicalize().map_err(|error| PkiError::Io {
        path: dir.to_owned(),
        action: "resolve directory",
        error,
    })
}

fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let io = |action: &'static str, target: &Path| {
        let target = target.to_owned();
        move |error| PkiError::Io {
            path: target,
            action,
            error,
        }
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| PkiError::Io {
            path: path.to_owned(),
            action: "write",
            error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        })?;
    let mut attempt = 0u32;
    let (tmp_path, mut file) = loop {
        let tmp_path = dir.join(format!(".{file_name}.tmp-{}-{attempt}", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&tmp_path) {
            Ok(file) => break (tmp_path, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(io("create", &tmp_path)(e)),
        }
    };
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io("write", &tmp_path));
    drop(file);
    let renamed =
        written.and_then(|()| fs::rename(&tmp_path, path).map_err(io("rename into place", path)));
    if renamed.is_err() {
        // Best effort: do not leave a stray temporary file next to the real one.
        let _ = fs::remove_file(&tmp_path);
    }
    renamed
}
