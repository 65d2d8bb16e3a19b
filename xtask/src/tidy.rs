//! Architecture checks that the compiler cannot make.
//!
//! 1. The two bottom crates, `vespa-tls-config` and `vespa-tls-authz`, do no I/O: no dependency
//!    that does (tokio, rustls, notify, …) and no use of `std::fs`, `std::net`, `std::env`,
//!    `std::process` or the clock in their sources, however the import is written (see
//!    `no_io.rs`). Time and environment are passed in as values.
//! 2. aws-lc-rs is the only crypto backend: no crate in the workspace pulls in `ring` or OpenSSL
//!    bindings.
//! 3. Only members with `publish = false` (test harnesses, tools) depend on `vespa-tls-testkit`
//!    as a normal dependency; a published crate has it under `[dev-dependencies]` or not at all.
//! 4. Every workspace member is listed in docs/ARCHITECTURE.md, by its directory or package name.
//! 5. A thiserror message does not print the field that is also its `source()` (`error_cause.rs`).
//! 6. A member that may be published states what crates.io shows (description, license,
//!    repository, rust-version, readme) and has its README and LICENSE (`publish.rs`).
//! 7. The workspace's `rust-version` is the toolchain CI installs (`publish.rs`).

mod error_cause;
mod manifest;
mod no_io;
mod publish;

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

/// Second crypto libraries that must never appear.
const FORBIDDEN_CRYPTO: &[&str] = &["ring", "openssl-sys", "openssl", "boring-sys"];

/// The no-I/O crates: (package, directory).
const PURE_CRATES: &[(&str, &str)] = &[
    ("vespa-tls-config", "crates/config"),
    ("vespa-tls-authz", "crates/authz"),
];

/// The test helpers' package; see rule 3.
const TESTKIT: &str = "vespa-tls-testkit";

/// The document that must list every member; see rule 4.
const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

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
    problems.extend(error_causes());
    let root = fs::read_to_string("Cargo.toml").map(|text| manifest::parse(&text));
    match workspace_members() {
        Ok(members) => {
            problems.extend(members.iter().filter_map(testkit_dependency));
            for member in &members {
                problems.extend(publish::package_metadata(
                    &member.dir,
                    member.name(),
                    &member.manifest,
                    root.as_ref().ok(),
                    Path::exists,
                ));
            }
            match fs::read_to_string(ARCHITECTURE) {
                Ok(doc) => problems.extend(unlisted_members(&members, &doc)),
                Err(e) => problems.push(format!("{ARCHITECTURE}: cannot be read: {e}")),
            }
        }
        Err(problem) => problems.push(problem),
    }
    match (&root, fs::read_to_string(publish::WORKFLOW)) {
        (Ok(root), Ok(workflow)) => {
            problems.extend(publish::rust_version_is_tested(root, &workflow));
        }
        (Err(e), _) => problems.push(format!("Cargo.toml: cannot be read: {e}")),
        (_, Err(e)) => problems.push(format!("{}: cannot be read: {e}", publish::WORKFLOW)),
    }
    if problems.is_empty() {
        say(
            "layering: vespa-tls-config and vespa-tls-authz do no I/O; crypto: aws-lc-rs only; \
             testkit: only unpublished members depend on it; docs/ARCHITECTURE.md lists every member; \
             publishable members have crates.io metadata, README and LICENSE; rust-version is CI's",
        );
        return Ok(());
    }
    Err(Failure {
        step: "tidy".into(),
        rerun: Some("cargo xtask tidy".into()),
        detail: problems.join("\n"),
    })
}

/// The members that may be published (no `publish = false`), by package name.
pub(crate) fn publishable_packages() -> Result<Vec<String>, Failure> {
    let members = workspace_members().map_err(|detail| Failure {
        step: "package".into(),
        rerun: None,
        detail,
    })?;
    Ok(members
        .iter()
        .filter(|m| !m.manifest.unpublished)
        .map(|m| m.name().to_owned())
        .collect())
}

/// One workspace member: its directory relative to the workspace root and its manifest.
#[derive(Debug)]
struct Member {
    dir: String,
    manifest: manifest::Manifest,
}

impl Member {
    fn name(&self) -> &str {
        self.manifest.name.as_deref().unwrap_or(&self.dir)
    }
}

/// The members as Cargo sees them (globs and excludes applied), from `cargo metadata`.
fn workspace_members() -> Result<Vec<Member>, String> {
    let output = Command::new("cargo")
        .args(["metadata", "--locked", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let json = String::from_utf8_lossy(&output.stdout);
    let root = json_strings(&json, "workspace_root")
        .into_iter()
        .next()
        .ok_or("cargo metadata printed no workspace_root")?;
    let mut members = Vec::new();
    // With --no-deps the packages are exactly the members, one manifest_path each.
    for manifest_path in json_strings(&json, "manifest_path") {
        let text = fs::read_to_string(&manifest_path)
            .map_err(|e| format!("{manifest_path}: cannot be read: {e}"))?;
        let dir = Path::new(&manifest_path)
            .parent()
            .and_then(|dir| dir.strip_prefix(&root).ok())
            .map(|dir| dir.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        members.push(Member {
            dir,
            manifest: manifest::parse(&text),
        });
    }
    Ok(members)
}

/// Every string value of `"key":"…"` in compact JSON (cargo's output has no spaces there).
fn json_strings(json: &str, key: &str) -> Vec<String> {
    let marker = format!("\"{key}\":\"");
    json.split(&marker)
        .skip(1)
        .filter_map(|rest| {
            let mut value = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(value),
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
            None
        })
        .collect()
}

/// Rule 3: a published member must not need the test helpers to build.
fn testkit_dependency(member: &Member) -> Option<String> {
    let manifest = &member.manifest;
    let depends = manifest.normal_dependencies.iter().any(|d| d == TESTKIT);
    (depends && !manifest.unpublished).then(|| {
        format!(
            "{}/Cargo.toml: {} depends on {TESTKIT} as a normal dependency but may be published; \
             only `publish = false` members (test harnesses, tools) may — move it to \
             [dev-dependencies] or set `publish = false` (see {ARCHITECTURE})",
            member.dir,
            member.name()
        )
    })
}

/// Rule 4: members missing from the architecture document.
fn unlisted_members(members: &[Member], doc: &str) -> Vec<String> {
    members
        .iter()
        .filter(|m| !mentions(doc, &m.dir) && !mentions(doc, m.name()))
        .map(|m| {
            format!(
                "{ARCHITECTURE} does not list the workspace member {} ({}); add it to the crate \
                 table or to the tools and harnesses",
                m.dir,
                m.name()
            )
        })
        .collect()
}

/// `word` occurs in `text` as a whole name: not inside a longer name such as
/// `vespa-tls-config-derive` or `crates/configure` (a following `/` is fine: `crates/pki/src`).
fn mentions(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    !word.is_empty()
        && text.match_indices(word).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(|c| is_name(c) || c == '/') && !after.is_some_and(is_name)
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
        for finding in no_io::scan(&text) {
            let written = if finding.written == finding.rule {
                String::new()
            } else {
                format!(" (`{}`)", finding.written)
            };
            problems.push(format!(
                "{}:{}: uses `{}`{written}, which {}; {package} must do no I/O \
                 (see docs/ARCHITECTURE.md)",
                file.display(),
                finding.line,
                finding.rule,
                finding.why,
            ));
        }
    }
    problems
}

/// Rule 5: an error's cause is in its message or in `source()`, never both (`error_cause.rs`).
fn error_causes() -> Vec<String> {
    let mut files = Vec::new();
    for dir in [
        "crates",
        "tests",
        "benches",
        "fuzz/src",
        "fuzz/fuzz_targets",
    ] {
        collect_rs(Path::new(dir), &mut files);
    }
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            problems.push(format!("{}: cannot be read", file.display()));
            continue;
        };
        for f in error_cause::scan(&text) {
            problems.push(format!(
                "{}:{}: the message of `{}` prints `{}`, which is also its source(): \
                 the cause would print twice; keep it in one place (see docs/ARCHITECTURE.md, Errors)",
                file.display(),
                f.line,
                f.item,
                f.field,
            ));
        }
    }
    problems
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

#[cfg(test)]
mod tests {
    use super::*;

    fn member(dir: &str, manifest: &str) -> Member {
        Member {
            dir: dir.into(),
            manifest: manifest::parse(manifest),
        }
    }

    #[test]
    fn only_unpublished_members_may_depend_on_the_testkit() {
        // (manifest, finding expected)
        let cases = [
            (
                "[package]\nname = \"p\"\n[dependencies]\nvespa-tls-testkit.workspace = true\n",
                true,
            ),
            (
                "[package]\nname = \"p\"\npublish = true\n[build-dependencies]\nvespa-tls-testkit = { path = \"k\" }\n",
                true,
            ),
            (
                "[package]\nname = \"p\"\npublish = false\n[dependencies]\nvespa-tls-testkit.workspace = true\n",
                false,
            ),
            (
                "[package]\nname = \"p\"\n[dev-dependencies]\nvespa-tls-testkit.workspace = true\n",
                false,
            ),
            (
                "[package]\nname = \"p\"\n[dependencies]\nrustls.workspace = true\n",
                false,
            ),
        ];
        for (manifest, expected) in cases {
            let finding = testkit_dependency(&member("crates/p", manifest));
            assert_eq!(finding.is_some(), expected, "{manifest}\n{finding:?}");
            if let Some(finding) = finding {
                assert!(
                    finding.starts_with("crates/p/Cargo.toml: p depends on"),
                    "{finding}"
                );
            }
        }
    }

    #[test]
    fn every_member_must_be_listed_by_directory_or_name() {
        let members = [
            member("crates/config", "[package]\nname = \"vespa-tls-config\"\n"),
            member(
                "tests/reliability",
                "[package]\nname = \"vespa-tls-reliability\"\n",
            ),
            member("xtask", "[package]\nname = \"xtask\"\n"),
        ];
        // (document, the directories it misses)
        let cases: [(&str, &[&str]); 5] = [
            (
                "| `vespa-tls-config` | … |\n`tests/reliability/` …\nrun `cargo xtask ci`",
                &[],
            ),
            ("crates/config, vespa-tls-reliability and xtask", &[]),
            ("`vespa-tls-config` and `xtask`", &["tests/reliability"]),
            // A longer name is not the member's name.
            (
                "vespa-tls-config-derive, crates/configure, old/tests/reliability, xtasks",
                &["crates/config", "tests/reliability", "xtask"],
            ),
            ("", &["crates/config", "tests/reliability", "xtask"]),
        ];
        for (doc, missing) in cases {
            let problems = unlisted_members(&members, doc);
            let found: Vec<&str> = members
                .iter()
                .filter(|m| {
                    problems
                        .iter()
                        .any(|p| p.contains(&format!(" {} (", m.dir)))
                })
                .map(|m| m.dir.as_str())
                .collect();
            assert_eq!(&found, missing, "{doc}\n{problems:?}");
            assert_eq!(problems.len(), missing.len(), "{problems:?}");
        }
    }

    #[test]
    fn json_strings_reads_cargo_metadata_values() {
        let json = r#"{"packages":[{"name":"a","manifest_path":"/w/crates/a/Cargo.toml"},{"manifest_path":"/w/q\"x\\y/Cargo.toml"}],"workspace_root":"/w"}"#;
        assert_eq!(
            json_strings(json, "manifest_path"),
            ["/w/crates/a/Cargo.toml", "/w/q\"x\\y/Cargo.toml"]
        );
        assert_eq!(json_strings(json, "workspace_root"), ["/w"]);
    }
}
