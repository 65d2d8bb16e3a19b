//! Reading one credential or config file, and who else can change it.
//!
//! A path in a config file is operator input, and what it names may be a FIFO, a socket, a
//! device or a directory. Opening a FIFO that has no writer blocks forever, and reading
//! `/dev/zero` never ends; either would stall the reload thread with no error. So a file is
//! opened without blocking, refused unless it is a regular file, and read up to a size limit.

use std::fs::{File, Metadata};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use vespa_tls_config::{Diagnostic, Diagnostics, Severity};

use crate::codes;
use crate::error::MaterialError;

/// The largest file [`CryptoMaterial::load`](crate::CryptoMaterial::load) reads (4 MiB), and
/// the limit to pass to [`read_regular_file`] for the TLS config file.
///
/// A CA bundle of a few hundred certificates is well under 1 MiB.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// Reads the regular file at `path` (a symlink is followed), at most `limit` bytes.
///
/// Never blocks on what `path` names: a FIFO, socket, device or directory is refused with
/// [`MaterialError::NotRegularFile`] (naming the path and the file type) without reading from
/// it, and a file larger than `limit` with [`MaterialError::TooLarge`]; at most `limit + 1`
/// bytes are read, so a file that grows while it is read cannot exhaust memory either.
/// Other failures (missing, no permission) are [`MaterialError::Read`].
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, MaterialError> {
    read(path, limit).map(|file| file.bytes)
}

/// Findings about a file others can change: the file, or its directory, writable by every
/// user (warning), named by path with the mode in octal.
///
/// [`CryptoMaterial::report`](crate::CryptoMaterial::report) makes these for the three
/// credential files from the modes seen when they were loaded; call this for the TLS config
/// file, whose path the material does not know. A file that cannot be examined gives no
/// finding (reading it reports that).
pub fn permission_findings(path: &Path) -> Diagnostics {
    let mut modes = Vec::new();
    if let Ok(metadata) = std::fs::metadata(path)
        && let Some(mode) = mode(&metadata)
    {
        modes.push(FileMode {
            path: path.to_owned(),
            role: Role::ConfigFile,
            directory: false,
            mode,
        });
    }
    modes.extend(directory_mode(path, Role::ConfigFile));
    findings(&modes)
}

/// A file's bytes and the permission bits of the file they were read from.
pub(crate) struct ReadFile {
    pub(crate) bytes: Vec<u8>,
    pub(crate) mode: Option<u32>,
}

pub(crate) fn read(path: &Path, limit: u64) -> Result<ReadFile, MaterialError> {
    let read_error = |error| MaterialError::Read {
        path: path.to_owned(),
        error,
    };
    // Look before opening, so a device whose open has side effects is never opened…
    regular(path, &std::fs::metadata(path).map_err(read_error)?)?;
    let file = open(path).map_err(read_error)?;
    // …and look again at what was opened, in case the name was replaced in between.
    let metadata = file.metadata().map_err(read_error)?;
    regular(path, &metadata)?;
    let too_large = || MaterialError::TooLarge {
        path: path.to_owned(),
        limit,
    };
    if metadata.len() > limit {
        return Err(too_large());
    }
    // One byte of spare capacity, so that reading a file of the announced size to its end does
    // not reallocate (and leave a copy of a key behind in freed memory).
    let capacity = usize::try_from(metadata.len().saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        // It may be (the start of) a key file that grew.
        zeroize::Zeroize::zeroize(&mut bytes);
        return Err(too_large());
    }
    Ok(ReadFile {
        bytes,
        mode: mode(&metadata),
    })
}

/// What a file is to us, for the wording of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    ConfigFile,
    CaCertificates,
    Certificates,
    PrivateKey,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::ConfigFile => "the TLS config file",
            Role::CaCertificates => "the CA certificates",
            Role::Certificates => "this node's certificate chain",
            Role::PrivateKey => "the private key",
        }
    }

    /// What someone who can replace the file can do.
    fn risk(self) -> &'static str {
        match self {
            Role::ConfigFile => "point this node at other credentials or authorization rules",
            Role::CaCertificates => "make this node trust certificates they issue",
            Role::Certificates | Role::PrivateKey => "make this node present another identity",
        }
    }
}

/// The permission bits of a credential file or of the directory holding it, as seen at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileMode {
    pub(crate) path: PathBuf,
    pub(crate) role: Role,
    pub(crate) directory: bool,
    pub(crate) mode: u32,
}

/// The mode of the directory holding `path` as given (not of a symlink's target directory).
pub(crate) fn directory_mode(path: &Path, role: Role) -> Option<FileMode> {
    let parent = match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => return None,
    };
    let metadata = std::fs::metadata(parent).ok()?;
    Some(FileMode {
        path: parent.to_owned(),
        role,
        directory: true,
        mode: mode(&metadata)?,
    })
}

/// The findings for the modes seen, one per path (a directory shared by several files once).
pub(crate) fn findings(modes: &[FileMode]) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    let mut seen: Vec<&Path> = Vec::new();
    for entry in modes {
        if seen.contains(&entry.path.as_path()) {
            continue;
        }
        seen.push(&entry.path);
        if let Some(finding) = finding(entry) {
            diagnostics.push(finding);
        }
    }
    diagnostics
}

fn finding(entry: &FileMode) -> Option<Diagnostic> {
    let FileMode {
        path,
        role,
        directory,
        mode,
    } = entry;
    let mode = *mode;
    if *directory {
        // With the sticky bit (as on /tmp) others may add files but not replace ours.
        if mode & 0o002 == 0 || mode & 0o1000 != 0 {
            return None;
        }
        return Some(Diagnostic::at_path(
            Severity::Warning,
            codes::WRITABLE_BY_OTHERS,
            path,
            format!(
                "expected a directory only its owner can write, found mode {mode:04o}: any \
                 user can replace {} in it and {}; run `chmod o-w` on it",
                role.name(),
                role.risk()
            ),
        ));
    }
    if *role == Role::PrivateKey {
        if mode & 0o077 == 0 {
            return None;
        }
        return Some(Diagnostic::at_path(
            Severity::Warning,
            codes::PRIVATE_KEY_PERMISSIONS,
            path,
            format!(
                "expected mode 0600 or stricter, found {mode:04o}: group or others can \
                 access the private key; run `chmod 600` and make the Vespa user its owner"
            ),
        ));
    }
    if mode & 0o002 == 0 {
        return None;
    }
    Some(Diagnostic::at_path(
        Severity::Warning,
        codes::WRITABLE_BY_OTHERS,
        path,
        format!(
            "expected a file only its owner can write, found mode {mode:04o}: any user can \
             change {} and {}; run `chmod o-w` on it",
            role.name(),
            role.risk()
        ),
    ))
}

#[cfg(unix)]
fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
    // (reads of a regular file ignore it). O_NOCTTY: a terminal never becomes ours.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Refuses anything but a regular file, naming what it is instead.
fn regular(path: &Path, metadata: &Metadata) -> Result<(), MaterialError> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    Err(MaterialError::NotRegularFile {
        path: path.to_owned(),
        file_type: describe(&file_type),
    })
}

#[cfg(unix)]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(unix)]
fn mode(metadata: &Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(metadata.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode(_metadata: &Metadata) -> Option<u32> {
    None
}
