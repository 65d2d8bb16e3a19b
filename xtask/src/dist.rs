//! `cargo xtask dist`: the portable `vespa-tls` for x86_64 Linux and a tarball, in `target/dist/`.
//!
//! The binary is cross-linked against glibc 2.17 with cargo-zigbuild and PyPI's zig (`ziglang`),
//! both installed into a venv under `target/dist-tools/` when missing; its own target directory
//! (`target/zig/`) keeps the release build from blocking the workspace's. The step checks what
//! it promises: no `GLIBC_` symbol version above 2.17 (`objdump -T`), and the binary runs `demo`.
//! The tarball holds the binary, a man page per command, bash/zsh/fish completions and the
//! license; `SHA256SUMS` covers both.

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

pub(crate) fn run_dist() -> Result<(), Failure> {
    timed("dist", dist)
}

fn dist() -> Result<(), Failure> {
    let tools = PathBuf::from("target/dist-tools");
    let bin = tools.join("bin");
    if !bin.join("cargo-zigbuild").is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&tools))?;
        run(Command::new(bin.join("pip")).args([
            "install",
            "--quiet",
            "ziglang",
            "cargo-zigbuild",
        ]))?;
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
    let sums = run(Command::new("sha256sum")
        .args(["vespa-tls", &tarball])
        .current_dir(&dist))?;
    write(&dist.join("SHA256SUMS"), sums.as_bytes())?;
    say(&format!(
        "target/dist/: vespa-tls, {tarball}, SHA256SUMS\n{sums}"
    ));
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
}
