//! What the paths in a config file may name: regular files of bounded size only, never a
//! hang; and files or directories others can write are reported.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use vespa_tls_config::{Files, Location, Severity};
use vespa_tls_material::{
    CryptoMaterial, MAX_FILE_SIZE, MaterialError, codes, permission_findings, read_regular_file,
};
use vespa_tls_testkit::TestPki;

/// Long enough for a loaded machine, short enough that a hang is a failure and not a stuck run.
const HANG: Duration = Duration::from_secs(10);

/// Loads on another thread: a load that blocks fails the test instead of hanging it.
fn load_within_bound(files: &Files) -> Result<CryptoMaterial, MaterialError> {
    let (tx, rx) = mpsc::channel();
    let files = files.clone();
    std::thread::spawn(move || {
        let _ = tx.send(CryptoMaterial::load(&files));
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("the load did not return within {HANG:?}: it blocks"))
}

#[track_caller]
fn not_regular(e: &MaterialError, path: &Path, file_type: &str) {
    assert!(
        matches!(e, MaterialError::NotRegularFile { .. }),
        "{}: {e:?}",
        path.display()
    );
    assert_eq!(e.path(), path);
    assert_eq!(e.code(), codes::NOT_A_REGULAR_FILE);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected a regular file, found {file_type}",
            path.display()
        )
    );
}

/// Makes a FIFO with the `mkfifo` tool (libc's needs `unsafe`, which this workspace forbids);
/// `Err` when the tool cannot run here.
fn mkfifo(path: &Path) -> Result<(), std::io::Error> {
    let status = std::process::Command::new("mkfifo").arg(path).status()?;
    assert!(status.success(), "mkfifo {} failed", path.display());
    Ok(())
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn a_fifo_named_as_the_certificate_file_is_refused_without_blocking() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("host.pem");
    if let Err(e) = mkfifo(&fifo) {
        println!("skipped: cannot run mkfifo ({e}), so there is no FIFO to test with");
        return;
    }
    let mut files = pki.server().files().clone();
    files.certificates = fifo.clone();
    let e = load_within_bound(&files).unwrap_err();
    not_regular(&e, &fifo, "a FIFO (named pipe)");

    // Through a symlink, as the CA file, and through the reader the config file uses.
    let link = dir.path().join("ca.pem");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let mut files = pki.server().files().clone();
    files.ca_certificates = link.clone();
    let e = load_within_bound(&files).unwrap_err();
    not_regular(&e, &link, "a FIFO (named pipe)");

    let (tx, rx) = mpsc::channel();
    let config = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(read_regular_file(&config, MAX_FILE_SIZE));
    });
    let e = rx.recv_timeout(HANG).expect("the read blocks").unwrap_err();
    not_regular(&e, &fifo, "a FIFO (named pipe)");
}

#[test]
fn a_directory_or_a_socket_named_as_a_file_is_refused_by_type() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = pki.server().files().clone();
    files.certificates = dir.path().to_owned();
    let e = load_within_bound(&files).unwrap_err();
    not_regular(&e, dir.path(), "a directory");

    let socket = dir.path().join("host.key");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let mut files = pki.server().files().clone();
    files.private_key = socket.clone();
    let e = load_within_bound(&files).unwrap_err();
    not_regular(&e, &socket, "a socket");
}

#[test]
fn a_device_named_as_the_ca_file_is_refused_without_reading_it() {
    let pki = TestPki::new().unwrap();
    // /dev/null first: on a loader that reads it, it is an empty file, not an endless one.
    for device in ["/dev/null", "/dev/zero", "/dev/urandom"] {
        let device = Path::new(device);
        if !device.exists() {
            println!("skipped {}: not present here", device.display());
            continue;
        }
        let mut files = pki.server().files().clone();
        files.ca_certificates = device.to_owned();
        let e = load_within_bound(&files).unwrap_err();
        not_regular(&e, device, "a character device");
        let e = read_regular_file(device, 16).unwrap_err();
        not_regular(&e, device, "a character device");
    }
}

/// The server's CA file, padded with trailing newlines (which PEM ignores) to `len` bytes.
fn padded_ca(pki: &TestPki, dir: &Path, len: u64) -> PathBuf {
    let mut bytes = std::fs::read(&pki.server().files().ca_certificates).expect("read");
    let len = usize::try_from(len).expect("a small length");
    assert!(bytes.len() < len);
    bytes.resize(len, b'\n');
    let path = dir.join(format!("ca-{len}.pem"));
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn a_file_over_the_size_limit_is_refused_naming_the_limit() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();

    let at_limit = padded_ca(&pki, dir.path(), MAX_FILE_SIZE);
    let mut files = pki.server().files().clone();
    files.ca_certificates = at_limit;
    CryptoMaterial::load(&files).unwrap();

    let over = padded_ca(&pki, dir.path(), MAX_FILE_SIZE + 1);
    files.ca_certificates = over.clone();
    let e = CryptoMaterial::load(&files).unwrap_err();
    assert!(matches!(e, MaterialError::TooLarge { .. }), "{e:?}");
    assert_eq!(e.code(), codes::FILE_TOO_LARGE);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected a file of at most {MAX_FILE_SIZE} bytes, found a larger one",
            over.display()
        )
    );
    assert_eq!(e.to_diagnostic().location, Some(Location::Path(over)));
}

#[test]
fn read_regular_file_reads_up_to_the_limit_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tls.json");
    std::fs::write(&path, b"0123456789").unwrap();
    assert_eq!(read_regular_file(&path, 10).unwrap(), b"0123456789");
    assert_eq!(read_regular_file(&path, 11).unwrap(), b"0123456789");
    let e = read_regular_file(&path, 9).unwrap_err();
    assert!(
        matches!(e, MaterialError::TooLarge { limit: 9, .. }),
        "{e:?}"
    );
    assert!(e.to_string().starts_with(&format!("{}: ", path.display())));

    let missing = dir.path().join("missing.json");
    let e = read_regular_file(&missing, 10).unwrap_err();
    assert!(matches!(e, MaterialError::Read { .. }), "{e:?}");
    assert_eq!(e.code(), codes::UNREADABLE_FILE);
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{e}"
    );
}

fn writable_findings(report: &vespa_tls_material::MaterialReport) -> Vec<(PathBuf, String)> {
    report
        .diagnostics
        .with_code(codes::WRITABLE_BY_OTHERS)
        .map(|d| {
            assert_eq!(d.severity, Severity::Warning, "{d}");
            match &d.location {
                Some(Location::Path(p)) => (p.clone(), d.message.clone()),
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

#[test]
fn a_world_writable_ca_or_certificate_file_is_a_warning_naming_path_and_mode() {
    let pki = TestPki::new().unwrap();
    let files = pki.server().files().clone();
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);

    chmod(&files.ca_certificates, 0o666);
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    let found = writable_findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, files.ca_certificates);
    assert!(found[0].1.contains("0666"), "{}", found[0].1);
    assert!(found[0].1.contains("CA certificates"), "{}", found[0].1);
    let shown = report.diagnostics.iter().next().unwrap().to_string();
    assert!(
        shown.starts_with(&format!(
            "warning: {}: expected a file only its owner can write, found mode 0666",
            files.ca_certificates.display()
        )),
        "{shown}"
    );

    // Group-writable is common under a user-private-group umask and is not reported.
    chmod(&files.ca_certificates, 0o664);
    chmod(&files.certificates, 0o646);
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    let found = writable_findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, files.certificates);
    assert!(found[0].1.contains("0646"), "{}", found[0].1);
}

/// The server's three files, copied into a directory of their own.
fn files_in(pki: &TestPki, dir: &Path) -> Files {
    let src = pki.server().files();
    let files = Files {
        ca_certificates: dir.join("ca.pem"),
        certificates: dir.join("host.pem"),
        private_key: dir.join("host.key"),
    };
    for (from, to) in [
        (&src.ca_certificates, &files.ca_certificates),
        (&src.certificates, &files.certificates),
        (&src.private_key, &files.private_key),
    ] {
        std::fs::copy(from, to).expect("copy");
    }
    chmod(&files.private_key, 0o600);
    files
}

#[test]
fn a_world_writable_directory_is_a_warning_naming_it_once() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(&pki, dir.path());
    chmod(dir.path(), 0o700);
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);

    // All three files live there: one finding for the directory.
    chmod(dir.path(), 0o777);
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    let found = writable_findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, dir.path());
    assert!(found[0].1.contains("0777"), "{}", found[0].1);
    assert!(found[0].1.contains("directory"), "{}", found[0].1);

    // The sticky bit (as on /tmp) keeps others from replacing files they do not own.
    chmod(dir.path(), 0o1777);
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    chmod(dir.path(), 0o700);
}

#[test]
fn the_key_file_keeps_its_stricter_rule_and_its_directory_is_checked() {
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_dir = dir.path().join("private");
    std::fs::create_dir(&key_dir).unwrap();
    let mut files = files_in(&pki, dir.path());
    let key = key_dir.join("host.key");
    std::fs::rename(&files.private_key, &key).unwrap();
    files.private_key = key.clone();

    chmod(&key, 0o666);
    chmod(&key_dir, 0o777);
    let report = CryptoMaterial::load(&files).unwrap().report(pki.now());
    // The key file: the one private-key finding, not a second one for being writable.
    let key_findings: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.location == Some(Location::Path(key.clone())))
        .collect();
    assert_eq!(key_findings.len(), 1, "{key_findings:?}");
    assert_eq!(key_findings[0].code, codes::PRIVATE_KEY_PERMISSIONS);
    assert!(key_findings[0].message.contains("0666"));
    let found = writable_findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, key_dir);
    assert!(found[0].1.contains("private key"), "{}", found[0].1);
    chmod(&key_dir, 0o700);
}

#[test]
fn permission_findings_cover_the_config_file_and_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tls.json");
    std::fs::write(&config, b"{}").unwrap();
    chmod(&config, 0o644);
    chmod(dir.path(), 0o755);
    assert!(permission_findings(&config).is_empty());

    chmod(&config, 0o666);
    chmod(dir.path(), 0o777);
    let found: Vec<_> = permission_findings(&config).into_iter().collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|d| d.severity == Severity::Warning && d.code == codes::WRITABLE_BY_OTHERS)
    );
    assert_eq!(found[0].location, Some(Location::Path(config.clone())));
    assert!(found[0].message.contains("0666"), "{}", found[0].message);
    assert!(
        found[0].message.contains("TLS config file"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[1].location,
        Some(Location::Path(dir.path().to_owned()))
    );
    assert!(found[1].message.contains("0777"), "{}", found[1].message);
    chmod(dir.path(), 0o700);

    // A path that cannot be examined gives no finding; reading it says why.
    assert!(permission_findings(&dir.path().join("missing.json")).is_empty());
}
