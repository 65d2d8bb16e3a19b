//! `cargo xtask <command>`: the project's automation, with no dependencies.
//!
//! - `cargo xtask ci`: every check CI runs, in order; each step prints its name and, on failure,
//!   the exact command to rerun it.
//! - `cargo xtask tidy`: only the architecture checks (see `tidy.rs`).
//! - `cargo xtask test`: only the test step, which names the tests that skipped themselves
//!   (see `testrun.rs`).
//! - `cargo xtask fuzz`: builds and runs the cargo-fuzz targets in `fuzz/` (see `fuzz.rs`).
//! - `cargo xtask bench`: the criterion benchmarks, or with `--compare` the side-by-side
//!   comparison against other TLS servers (see `bench.rs`).
//! - `cargo xtask soak`: the reliability scenarios' long form (see `soak.rs`).
//! - `cargo xtask dist`: the portable binary, a tarball, a `.deb` and an `.rpm` in
//!   `target/dist/`, each checked (see `dist.rs`).
//! - `cargo xtask schemas`: writes `docs/schemas/`, the JSON Schemas of the CLI's `--json`
//!   output, from its output types (a CLI test fails while the committed files differ).

mod bench;
mod dist;
mod fuzz;
mod soak;
mod testrun;
mod tidy;

use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci      format, lint, tidy (layering and crypto-backend checks), cargo package of the
          publishable crates, tests, docs, benches in test mode and a fuzz smoke run:
          everything CI runs
  tidy    only the layering and crypto-backend checks
  test    only the tests (all, or e.g. `-p <package>`), ending with the tests that skipped
          themselves for want of a real peer (openssl, java, mkfifo) and why
  fuzz    build and run the fuzz targets (`cargo xtask fuzz --help`)
  bench   run the criterion benchmarks, or with --compare the side-by-side comparison
          (`cargo xtask bench --help`)
  soak    the reliability scenarios' long form (release, about 10 minutes), with figures
  dist    the portable vespa-tls for x86_64 Linux (glibc 2.17 and newer, via cargo-zigbuild),
          a tarball, a .deb and an .rpm with man pages, completions and the license, into
          target/dist/; checks the packages' file lists, and as root (or with
          --install-check, through sudo) installs the .deb, runs demo from PATH and removes it
  schemas write docs/schemas/, the JSON Schemas of `vespa-tls --json` output, from its types
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") if args.len() == 1 => ci(),
        Some("tidy") if args.len() == 1 => timed("tidy", tidy::run),
        Some("test") => testrun::run(have_nextest(), &args[1..]),
        Some("fuzz") if args[1..].iter().any(|a| a == "-h" || a == "--help") => {
            say(fuzz::USAGE);
            return ExitCode::SUCCESS;
        }
        Some("fuzz") => match fuzz::Options::parse(&args[1..]) {
            Ok(options) => fuzz::run(&options),
            Err(problem) => {
                eprint_line(&format!("xtask fuzz: {problem}\n\n{}", fuzz::USAGE));
                return ExitCode::from(2);
            }
        },
        Some("bench")
            if args[1..]
                .iter()
                .take_while(|a| *a != "--")
                .any(|a| a == "-h" || a == "--help") =>
        {
            say(bench::USAGE);
            return ExitCode::SUCCESS;
        }
        Some("bench") => match bench::Options::parse(&args[1..]) {
            Ok(options) => bench::run(&options),
            Err(problem) => {
                eprint_line(&format!("xtask bench: {problem}\n\n{}", bench::USAGE));
                return ExitCode::from(2);
            }
        },
        Some("soak") => soak::run(&args[1..]),
        Some("dist") if args[1..].iter().all(|a| a == "--install-check") => {
            dist::run_dist(args.len() > 1)
        }
        Some("schemas") if args.len() == 1 => step(
            "schemas",
            &[
                "cargo",
                "run",
                "--locked",
                "--quiet",
                "--package",
                "vespa-tls-verify",
                "--",
                "json-schema",
                "--dir",
                "docs/schemas",
            ],
            &[],
        ),
        Some("-h" | "--help" | "help") => {
            say(USAGE);
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint_line(USAGE);
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprint_line(&format!("\nxtask: {} failed", failure.step));
            if let Some(command) = failure.rerun {
                eprint_line(&format!("rerun with: {command}"));
            }
            if !failure.detail.is_empty() {
                eprint_line(&failure.detail);
            }
            ExitCode::FAILURE
        }
    }
}

/// A failed step: its name, how to rerun it, and what went wrong.
pub(crate) struct Failure {
    pub(crate) step: String,
    pub(crate) rerun: Option<String>,
    pub(crate) detail: String,
}

#[expect(clippy::print_stdout, reason = "xtask reports progress on stdout")]
pub(crate) fn say(text: &str) {
    println!("{text}");
}

#[expect(clippy::print_stderr, reason = "xtask reports failures on stderr")]
pub(crate) fn eprint_line(text: &str) {
    eprintln!("{text}");
}

fn ci() -> Result<(), Failure> {
    let started = Instant::now();
    let nextest = have_nextest();

    step("fmt", &["cargo", "fmt", "--all", "--", "--check"], &[])?;
    // fuzz/ is its own workspace, which `--all` does not reach.
    step(
        "fmt (fuzz)",
        &[
            "cargo",
            "fmt",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--",
            "--check",
        ],
        &[],
    )?;
    step(
        "clippy",
        &[
            "cargo",
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    timed("tidy", tidy::run)?;
    package()?;
    testrun::run(nextest, &[])?;
    // nextest does not run doctests.
    step(
        "doctest",
        &["cargo", "test", "--locked", "--workspace", "--doc"],
        &[],
    )?;
    step(
        "doc",
        &["cargo", "doc", "--locked", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Criterion runs every benchmark once, as a test, when started without `--bench`.
    step(
        "benches (test mode)",
        &[
            "cargo",
            "test",
            "--locked",
            "--package",
            "vespa-tls-benches",
            "--benches",
        ],
        &[],
    )?;
    // Seconds per target: catches a target that no longer builds or fails on its seeds.
    timed("fuzz smoke", || fuzz::run(&fuzz::Options::smoke()))?;
    say(&format!(
        "\nxtask ci: all steps passed in {:.0?}",
        started.elapsed()
    ));
    Ok(())
}

/// `cargo package` for every member that may be published, without the verifying build (the
/// test step builds the same sources): the manifests, the file lists and the dependency
/// versions must be ones crates.io accepts. Uncommitted changes are packaged as they are.
fn package() -> Result<(), Failure> {
    let packages = tidy::publishable_packages()?;
    let mut argv = vec![
        "cargo",
        "package",
        "--locked",
        "--no-verify",
        "--allow-dirty",
    ];
    for package in &packages {
        argv.extend(["--package", package.as_str()]);
    }
    step("package", &argv, &[])
}

fn have_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn timed(name: &str, f: impl FnOnce() -> Result<(), Failure>) -> Result<(), Failure> {
    say(&format!("\n== {name}"));
    let started = Instant::now();
    f()?;
    say(&format!("== {name}: ok ({:.1?})", started.elapsed()));
    Ok(())
}

/// Runs one command as a named step, streaming its output.
pub(crate) fn step(name: &str, argv: &[&str], env: &[(&str, &str)]) -> Result<(), Failure> {
    let rendered = render(argv, env);
    timed(name, || {
        say(&format!("$ {rendered}"));
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .envs(env.iter().copied())
            .status()
            .map_err(|e| Failure {
                step: name.to_owned(),
                rerun: Some(rendered.clone()),
                detail: format!("could not start {}: {e}", argv[0]),
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure {
                step: name.to_owned(),
                rerun: Some(rendered.clone()),
                detail: format!("exit status: {status}"),
            })
        }
    })
}

pub(crate) fn render(argv: &[&str], env: &[(&str, &str)]) -> String {
    let mut parts: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    parts.extend(argv.iter().map(|a| {
        if a.contains(' ') {
            format!("'{a}'")
        } else {
            (*a).to_owned()
        }
    }));
    parts.join(" ")
}
