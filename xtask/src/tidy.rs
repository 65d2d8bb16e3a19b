//! Architecture checks that the compiler cannot make.
//!
//! 1. The two bottom crates, `vespa-tls-config` and `vespa-tls-authz`, do no I/O: no dependency
//!    that does (tokio, rustls, notify, …) and no use of `std::fs`, `std::net`, `std::env`,
//!    `std::process` or the clock in their sources. Time and environment are passed in as values.
//! 2. aws-lc-rs is the only crypto backend: no crate in the workspace pulls in `ring` or OpenSSL
//!    bindings.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Failure, say};

/// Crates that do I/O (or are a TLS or crypto stack) and must not sit below the material layer.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "rustls",
    "tokio-rustls",
    "rustls-webpki",
    "notify",
    "aws-lc-rs",
    "aws-lc-sys",
    "ring",
    "openssl",
    "openssl-sys",
    "tempfile",
    "walkdir",
];

/// Source patterns that mean I/O, with the reason shown to the contributor.
const IO_PATTERNS: &[(&str, &str)] = &[
    ("std::fs", "reads or writes files"),
    ("std::net", "opens sockets"),
    (
        "std::env",
        "reads the environment (take a lookup function instead)",
    ),
    ("std::process", "starts processes"),
    ("std::io::stdin", "reads standard input"),
    (
        "SystemTime::now",
        "reads the clock (take the time as a value instead)",
    ),
    (
        "Instant::now",
        "reads the clock (take the time as a value instead)",
    ),
    ("File::open", "reads files"),
    ("File::create", "writes files"),
];

/// Second crypto libraries that must never appear.
const FORBIDDEN_CRYPTO: &[&str] = &["ring", "openssl-sys", "openssl", "boring-sys"];

/// The no-I/O crates: (package, directory).
const PURE_CRATES: &[(&str, &str)] = &[
    ("vespa-tls-config", "crates/config"),
    ("vespa-tls-authz", "crates/authz"),
];

pub(crate) fn run() -> Result<(), Failure> {
    let mut problems = Vec::new();
    for (package, dir) in PURE_CRATES {
        if !Path::new(dir).join("Cargo.toml").exists() {
            continue;
        }
        problems.extend(pure_dependencies(package));
        problems.extend(pure_sources(package, Path::new(dir)));
    }
    problems.extend(crypto_backends());
    if problems.is_empty() {
        say("layering: vespa-tls-config and vespa-tls-authz do no I/O; crypto: aws-lc-rs only");
        return Ok(());
    }
    Err(Failure {
        step: "tidy".into(),
        rerun: Some("cargo xtask tidy".into()),
        detail: problems.join("\n"),
    })
}

fn pure_dependencies(package: &str) -> Vec<String> {
    let output = Command::new("cargo")
        .args([
            "tree",
            "--locked",
            "--package",
            package,
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--target",
            "all",
        ])
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return vec![format!(
                "cargo tree --package {package} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )];
        }
        Err(e) => return vec![format!("could not run cargo tree: {e}")],
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| IO_CRATES.contains(name))
        .map(|name| {
            format!(
                "{package} depends on `{name}`, which does I/O or is a TLS/crypto stack; \
                 {package} must do no I/O (see docs/ARCHITECTURE.md) — move that code to an \
                 upper layer (run `cargo tree -p {package} -i {name}` to see the path)"
            )
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn pure_sources(package: &str, dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect_rs(&dir.join("src"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            problems.push(format!("{}: cannot be read", file.display()));
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (pattern, why) in IO_PATTERNS {
                let hit = code.contains(pattern) || braced_std_import(code, pattern);
                if hit {
                    problems.push(format!(
                        "{}:{}: uses `{pattern}`, which {why}; {package} must do no I/O \
                         (see docs/ARCHITECTURE.md)",
                        file.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    problems
}

/// Catches `use std::{fs, io};` style imports of `std::fs` and friends.
fn braced_std_import(code: &str, pattern: &str) -> bool {
    let Some(module) = pattern.strip_prefix("std::") else {
        return false;
    };
    if module.contains("::") || !code.contains("std::{") {
        return false;
    }
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == module)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crypto_backends() -> Vec<String> {
    let mut problems = Vec::new();
    for name in FORBIDDEN_CRYPTO {
        let output = Command::new("cargo")
            .args([
                "tree",
                "--locked",
                "--workspace",
                "--target",
                "all",
                "--edges",
                "normal,build,dev",
                "--invert",
                name,
            ])
            .output();
        match output {
            // `cargo tree -i` fails when no package of that name is in the lock file, and prints
            // nothing when it is there but not enabled (an optional dependency): both are fine.
            Ok(o) if !o.status.success() || o.stdout.iter().all(u8::is_ascii_whitespace) => {}
            Ok(o) => problems.push(format!(
                "the workspace pulls in `{name}`, a second crypto library (aws-lc-rs is the one \
                 backend; check default features, e.g. rcgen needs default-features = false):\n{}",
                String::from_utf8_lossy(&o.stdout)
            )),
            Err(e) => problems.push(format!("could not run cargo tree: {e}")),
        }
    }
    problems
}
