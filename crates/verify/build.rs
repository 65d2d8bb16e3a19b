//! Captures what `vespa-tls --version` reports beyond the package version: the commit it was
//! built from and the versions of the TLS and crypto libraries linked in.
//!
//! Both degrade instead of failing the build: without git (a source tarball, a crates.io
//! download) the commit is `unknown` unless `VESPA_TLS_BUILD_COMMIT` names it; without the
//! workspace's Cargo.lock the library versions are `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=VESPA_TLS_BUILD_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = std::env::var("VESPA_TLS_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_owned())
        .or_else(|| git_commit(&manifest_dir))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo::rustc-env=VESPA_TLS_COMMIT={commit}");

    let lock = find_lock(&manifest_dir);
    let lock_text = lock
        .as_deref()
        .and_then(|path| {
            println!("cargo::rerun-if-changed={}", path.display());
            std::fs::read_to_string(path).ok()
        })
        .unwrap_or_default();
    for (crate_name, var) in [
        ("rustls", "VESPA_TLS_RUSTLS_VERSION"),
        ("aws-lc-rs", "VESPA_TLS_AWS_LC_RS_VERSION"),
        ("aws-lc-sys", "VESPA_TLS_AWS_LC_SYS_VERSION"),
    ] {
        let version = locked_version(&lock_text, crate_name).unwrap_or("unknown");
        println!("cargo::rustc-env={var}={version}");
    }
}

/// The short hash of the commit checked out.
fn git_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points to (a commit).
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let watched = [
        git(&["rev-parse", "--git-path", "HEAD"]),
        branch.and_then(|branch| git(&["rev-parse", "--git-path", &branch])),
        git(&["rev-parse", "--git-path", "packed-refs"]),
    ];
    for path in watched.into_iter().flatten() {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
    Some(commit)
}

/// The nearest Cargo.lock above the package (the workspace's).
fn find_lock(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.is_file())
}

/// The version Cargo.lock records for a package (the first, if there are several).
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let header = format!("name = \"{name}\"\n");
    let at = lock.find(&header)? + header.len();
    let rest = lock[at..].strip_prefix("version = \"")?;
    rest.split('"').next()
}
