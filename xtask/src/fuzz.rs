//! `cargo xtask fuzz`: builds and runs the cargo-fuzz targets of `fuzz/` (their own workspace).
//!
//! Targets are whatever `cargo fuzz list` reports for `fuzz/Cargo.toml`, so a new target is a
//! file in `fuzz/fuzz_targets/` and a `[[bin]]` entry, nothing here. Each run reads the
//! committed seeds in `fuzz/corpus/<target>/` and writes what it learns to
//! `fuzz/target/corpus/<target>/` (ignored by git), so the committed corpus stays small.
//! cargo-fuzz needs nightly flags; on a stable toolchain `RUSTC_BOOTSTRAP=1` allows them.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{Failure, eprint_line, say, timed};

pub(crate) const USAGE: &str = "\
usage: cargo xtask fuzz [--target T]... [--time SECONDS] [--smoke]

  --target T      run only target T (repeatable); default: every target `cargo fuzz list` shows
  --time SECONDS  how long each target runs (default 60; with --smoke 2)
  --smoke         a short run of every target, as `cargo xtask ci` does

Installs cargo-fuzz with `cargo install --locked` when it is missing, builds every target with
AddressSanitizer (RUSTC_BOOTSTRAP=1 on a stable toolchain), runs the chosen ones one after the
other on their corpus and, on a crash, prints the input's path and how to reproduce it.
";

/// How long a single input may run before libFuzzer reports a timeout (the `glob` target's
/// linearity guard relies on it).
const TIMEOUT_SECONDS: u32 = 10;
const DEFAULT_SECONDS: u32 = 60;
const SMOKE_SECONDS: u32 = 2;
/// The cargo-fuzz installed when there is none: the version this setup was written against, so
/// a fresh CI machine does not pick up a release that needs a newer toolchain.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    targets: Vec<String>,
    seconds: Option<u32>,
    smoke: bool,
}

impl Options {
    /// The short run of every target that CI does.
    pub(crate) fn smoke() -> Self {
        Options {
            smoke: true,
            ..Options::default()
        }
    }

    /// Reads the arguments after `fuzz`.
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--target" => match args.next() {
                    Some(target) => options.targets.push(target.clone()),
                    None => return Err("--target needs a target name".into()),
                },
                "--time" => {
                    let value = args.next().ok_or("--time needs a number of seconds")?;
                    match value.parse::<u32>() {
                        Ok(seconds) if seconds > 0 => options.seconds = Some(seconds),
                        _ => {
                            return Err(format!(
                                "--time: expected whole seconds > 0, found {value:?}"
                            ));
                        }
                    }
                }
                "--smoke" => options.smoke = true,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(options)
    }

    fn seconds(&self) -> u32 {
        self.seconds.unwrap_or(if self.smoke {
            SMOKE_SECONDS
        } else {
            DEFAULT_SECONDS
        })
    }
}

/// Runs the fuzz targets as `options` asks.
pub(crate) fn run(options: &Options) -> Result<(), Failure> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one directory below the workspace root")
        .to_path_buf();
    let env = fuzz_env();
    timed("fuzz: cargo-fuzz", ensure_cargo_fuzz)?;
    // cargo-fuzz has no --locked; this fails instead of updating fuzz/Cargo.lock.
    run_quiet(
        "fuzz: lock file",
        &root,
        &[
            "cargo",
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--manifest-path",
            "fuzz/Cargo.toml",
        ],
    )?;
    let available = list_targets(&root, &env)?;
    let targets = if options.targets.is_empty() {
        available.clone()
    } else {
        for target in &options.targets {
            if !available.contains(target) {
                return Err(Failure {
                    step: "fuzz".into(),
                    rerun: None,
                    detail: format!(
                        "unknown target {target:?}; the targets are: {}",
                        available.join(", ")
                    ),
                });
            }
        }
        options.targets.clone()
    };
    let build = ["cargo", "fuzz", "build", "--fuzz-dir", "fuzz"];
    stream_step("fuzz: build", &root, &build, &env)?;

    let seconds = options.seconds();
    let mut results = Vec::new();
    for target in &targets {
        results.push(run_target(&root, &env, target, seconds, options.smoke)?);
    }

    say("\nfuzz results (libFuzzer's final stats):");
    say(&format!(
        "  {:<18} {:>6} {:>12} {:>7} {:>7}  result",
        "target", "secs", "executions", "cov", "ft"
    ));
    for r in &results {
        say(&format!(
            "  {:<18} {:>6} {:>12} {:>7} {:>7}  {}",
            r.target,
            seconds,
            r.stats.executions.as_deref().unwrap_or("?"),
            r.stats.cov.as_deref().unwrap_or("?"),
            r.stats.ft.as_deref().unwrap_or("?"),
            if r.crashed.is_some() { "FAILED" } else { "ok" }
        ));
    }
    let failures: Vec<String> = results.iter().filter_map(|r| r.crashed.clone()).collect();
    if failures.is_empty() {
        return Ok(());
    }
    Err(Failure {
        step: "fuzz".into(),
        rerun: None,
        detail: failures.join("\n\n"),
    })
}

/// The environment cargo-fuzz runs in: `RUSTC_BOOTSTRAP=1` unless the compiler is a nightly.
fn fuzz_env() -> Vec<(&'static str, &'static str)> {
    let nightly = Command::new("rustc")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"));
    if nightly {
        Vec::new()
    } else {
        vec![("RUSTC_BOOTSTRAP", "1")]
    }
}

fn ensure_cargo_fuzz() -> Result<(), Failure> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(output) = installed {
        say(String::from_utf8_lossy(&output.stdout).trim());
        return Ok(());
    }
    let argv = [
        "cargo",
        "install",
        "--locked",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
    ];
    say(&format!(
        "cargo-fuzz is not installed; installing it with `{}`",
        argv.join(" ")
    ));
    let status = Command::new(argv[0]).args(&argv[1..]).status();
    match status {
        Ok(status) if status.success() => Ok(()),
        outcome => Err(Failure {
            step: "fuzz: cargo-fuzz".into(),
            rerun: Some(argv.join(" ")),
            detail: match outcome {
                Ok(status) => format!("exit status: {status}"),
                Err(e) => format!("could not start cargo: {e}"),
            },
        }),
    }
}

fn list_targets(root: &Path, env: &[(&str, &str)]) -> Result<Vec<String>, Failure> {
    let argv = ["cargo", "fuzz", "list", "--fuzz-dir", "fuzz"];
    let failure = |detail: String| Failure {
        step: "fuzz: list targets".into(),
        rerun: Some(crate::render(&argv, env)),
        detail,
    };
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .envs(env.iter().copied())
        .current_dir(root)
        .output()
        .map_err(|e| failure(format!("could not start cargo: {e}")))?;
    if !output.status.success() {
        return Err(failure(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    let targets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        return Err(failure("fuzz/Cargo.toml declares no targets".into()));
    }
    Ok(targets)
}

/// libFuzzer's final figures for one run.
#[derive(Debug, Default)]
struct Stats {
    executions: Option<String>,
    cov: Option<String>,
    ft: Option<String>,
}

struct TargetResult {
    target: String,
    stats: Stats,
    /// What to tell the user when the target failed.
    crashed: Option<String>,
}

fn run_target(
    root: &Path,
    env: &[(&str, &str)],
    target: &str,
    seconds: u32,
    smoke: bool,
) -> Result<TargetResult, Failure> {
    let work = format!("fuzz/target/corpus/{target}");
    let seeds = format!("fuzz/corpus/{target}");
    let artifacts = root.join("fuzz/artifacts").join(target);
    for dir in [root.join(&work), artifacts.clone()] {
        fs::create_dir_all(&dir).map_err(|e| Failure {
            step: format!("fuzz: {target}"),
            rerun: None,
            detail: format!("{}: cannot create: {e}", dir.display()),
        })?;
    }
    let before = files_in(&artifacts);
    let max_time = format!("-max_total_time={seconds}");
    let timeout = format!("-timeout={TIMEOUT_SECONDS}");
    // Seeds with working private keys are made fresh for each run, never committed.
    let key_seeds = if target == "pem_material" {
        match key_seeds(root) {
            Ok(dir) => Some(dir),
            Err(problem) => {
                say(&format!(
                    "(pem_material runs without generated key seeds: {problem})"
                ));
                None
            }
        }
    } else {
        None
    };
    // libFuzzer writes new inputs to the first corpus directory only.
    let mut argv = vec![
        "cargo",
        "fuzz",
        "run",
        "--fuzz-dir",
        "fuzz",
        target,
        &work,
        &seeds,
    ];
    if let Some(dir) = &key_seeds {
        argv.push(dir);
    }
    argv.extend(["--", &max_time, &timeout, "-print_final_stats=1"]);
    let mut stats = Stats::default();
    let mut written = Vec::new();
    let started = Instant::now();
    say(&format!("\n== fuzz: {target} ({seconds} s)"));
    say(&format!("$ {}", crate::render(&argv, env)));
    let status = stream(root, &argv, env, |line| {
        if let Some(rest) = line.split("DONE").nth(1) {
            stats.cov = field(rest, "cov:");
            stats.ft = field(rest, "ft:");
        }
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.executions = Some(n.trim().to_owned());
        }
        if let Some((_, path)) = line.split_once("Test unit written to ") {
            written.push(path.trim().to_owned());
        }
        // In a smoke run, libFuzzer's per-input progress lines and its dictionary are noise.
        let progress = line.starts_with('#') && !line.contains("INITED") && !line.contains("DONE");
        let dictionary = line.starts_with('"') && line.contains("# Uses:");
        !smoke || !(progress || dictionary)
    })
    .map_err(|detail| Failure {
        step: format!("fuzz: {target}"),
        rerun: Some(crate::render(&argv, env)),
        detail,
    })?;
    say(&format!(
        "== fuzz: {target}: {} ({:.1?})",
        if status { "ok" } else { "FAILED" },
        started.elapsed()
    ));
    let crashed = (!status).then(|| {
        let mut inputs: BTreeSet<PathBuf> =
            files_in(&artifacts).difference(&before).cloned().collect();
        inputs.extend(written.iter().map(|p| root.join(p)));
        let shown: BTreeSet<PathBuf> = inputs
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .map_or_else(|_| p.clone(), Path::to_path_buf)
            })
            .collect();
        crash_report(target, &shown, env)
    });
    Ok(TargetResult {
        target: target.to_owned(),
        stats,
        crashed,
    })
}

fn crash_report(target: &str, inputs: &BTreeSet<PathBuf>, env: &[(&str, &str)]) -> String {
    let prefix = crate::render(&[], env);
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix} ")
    };
    let mut out = format!("fuzz target {target} failed");
    if inputs.is_empty() {
        out.push_str(" without writing an input (see libFuzzer's output above)");
    }
    for input in inputs {
        let shown = input.display();
        out.push_str(&format!(
            "\n  input: {shown}\n  reproduce: {prefix}cargo fuzz run --fuzz-dir fuzz {target} {shown}\n  \
             shrink:    {prefix}cargo fuzz tmin --fuzz-dir fuzz {target} {shown}"
        ));
    }
    out.push_str(
        "\n  then add the input as a regression test in the crate it came from (docs/FUZZING.md)",
    );
    out
}

fn field(text: &str, name: &str) -> Option<String> {
    let rest = text.split(name).nth(1)?;
    rest.split_whitespace().next().map(str::to_owned)
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect()
}

/// Runs a command, passing each line of its stderr to `line` (shown when it returns true) and
/// its stdout straight through; returns whether it succeeded.
fn stream(
    root: &Path,
    argv: &[&str],
    env: &[(&str, &str)],
    mut line: impl FnMut(&str) -> bool,
) -> Result<bool, String> {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .envs(env.iter().copied())
        .current_dir(root)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", argv[0]))?;
    if let Some(stderr) = child.stderr.take() {
        for text in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let text = String::from_utf8_lossy(&text);
            if line(&text) {
                eprint_line(&text);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", argv[0]))?;
    Ok(status.success())
}

fn stream_step(
    name: &str,
    root: &Path,
    argv: &[&str],
    env: &[(&str, &str)],
) -> Result<(), Failure> {
    let rendered = crate::render(argv, env);
    timed(name, || {
        say(&format!("$ {rendered}"));
        match stream(root, argv, env, |_| true) {
            Ok(true) => Ok(()),
            outcome => Err(Failure {
                step: name.to_owned(),
                rerun: Some(rendered.clone()),
                detail: match outcome {
                    Ok(_) => "the command failed (see above)".into(),
                    Err(detail) => detail,
                },
            }),
        }
    })
}

fn run_quiet(name: &str, root: &Path, argv: &[&str]) -> Result<(), Failure> {
    let rendered = crate::render(argv, &[]);
    timed(name, || {
        say(&format!("$ {rendered}"));
        let output = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("could not start {}: {e}", argv[0]));
        match output {
            Ok(output) if output.status.success() => Ok(()),
            outcome => Err(Failure {
                step: name.to_owned(),
                rerun: Some(rendered.clone()),
                detail: match outcome {
                    Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
                    Err(detail) => detail,
                },
            }),
        }
    })
}

/// Writes `pem_material` inputs (CA bundle, chain and key, joined by the target's `\0--\0`)
/// made with `vespa-tls ca` into `fuzz/target/seeds/pem_material/`: a P-256, a P-384 and an
/// RSA-2048 node, and one whose leaf is not first. Project policy commits no working private
/// key, so these are made on every run.
fn key_seeds(root: &Path) -> Result<String, String> {
    let base = root.join("fuzz/target/seeds");
    let pki = base.join("pki");
    let out_rel = "fuzz/target/seeds/pem_material";
    let out = root.join(out_rel);
    let _ = fs::remove_dir_all(&pki);
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let read = |p: &Path| fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    for (name, key_type) in [
        ("p256", "ecdsa-p256"),
        ("p384", "ecdsa-p384"),
        ("rsa2048", "rsa-2048"),
    ] {
        let ca = pki.join(name);
        let ca_dir = ca.to_string_lossy().into_owned();
        vespa_tls(
            root,
            &["ca", "init", "--dir", &ca_dir, "--key-type", key_type],
        )?;
        vespa_tls(
            root,
            &[
                "ca",
                "issue",
                "--dir",
                &ca_dir,
                "--name",
                "node",
                "--key-type",
                key_type,
                "--san-dns",
                "localhost",
                "--san-ip",
                "127.0.0.1",
                "--san-uri",
                "vespa://app/node",
            ],
        )?;
        let node = ca.join("node");
        let bundle = read(&node.join("ca-certificates.pem"))?;
        let chain = read(&node.join("node.pem"))?;
        let key = read(&node.join("node.key"))?;
        let join = |parts: [&[u8]; 3]| parts.join(&b"\0--\0"[..]);
        let write = |file: &str, bytes: Vec<u8>| {
            fs::write(out.join(file), bytes).map_err(|e| format!("{}: {e}", out.display()))
        };
        write(name, join([&bundle, &chain, &key]))?;
        if name == "p256" {
            write(
                "leaf-not-first",
                join([&bundle, &[&bundle[..], &chain[..]].concat(), &key]),
            )?;
        }
    }
    let _ = fs::remove_dir_all(&pki);
    Ok(out_rel.to_owned())
}

/// Runs the `vespa-tls` tool of this workspace.
fn vespa_tls(root: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("cargo")
        .args([
            "run",
            "--quiet",
            "--locked",
            "--package",
            "vespa-tls-verify",
            "--",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "vespa-tls {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_the_documented_arguments() {
        let options = Options::parse(&args(&[
            "--target", "glob", "--target", "authz", "--time", "600",
        ]))
        .unwrap();
        assert_eq!(options.targets, ["glob", "authz"]);
        assert_eq!(options.seconds(), 600);
        assert!(!options.smoke);
        assert_eq!(
            Options::parse(&args(&["--smoke"])).unwrap(),
            Options::smoke()
        );
        assert_eq!(Options::smoke().seconds(), SMOKE_SECONDS);
        assert_eq!(Options::parse(&[]).unwrap().seconds(), DEFAULT_SECONDS);
    }

    #[test]
    fn rejects_bad_arguments() {
        for bad in [
            &["--time"][..],
            &["--time", "0"],
            &["--time", "ten"],
            &["--target"],
            &["--fast"],
        ] {
            assert!(Options::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_libfuzzer_final_stats() {
        let line = "#92797\tDONE   cov: 564 ft: 1630 corp: 316/16374b lim: 159 exec/s: 10310";
        let rest = line.split("DONE").nth(1).unwrap();
        assert_eq!(field(rest, "cov:").as_deref(), Some("564"));
        assert_eq!(field(rest, "ft:").as_deref(), Some("1630"));
        assert_eq!(field(rest, "nope:"), None);
    }

    #[test]
    fn crash_report_names_the_input_and_the_commands() {
        let inputs = BTreeSet::from([PathBuf::from("fuzz/artifacts/glob/crash-1")]);
        let report = crash_report("glob", &inputs, &[("RUSTC_BOOTSTRAP", "1")]);
        assert!(report.contains("input: fuzz/artifacts/glob/crash-1"));
        assert!(report.contains(
            "reproduce: RUSTC_BOOTSTRAP='1' cargo fuzz run --fuzz-dir fuzz glob fuzz/artifacts/glob/crash-1"
        ));
    }
}
