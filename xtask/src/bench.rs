//! `cargo xtask bench`: the criterion benchmarks, or the side-by-side comparison.
//!
//! Without `--compare` this is `cargo bench -p vespa-tls-benches` (arguments after `--` go to
//! cargo bench). With `--compare` it installs haproxy from the distribution when it is missing,
//! builds `vespa-tls` and the benches crate's `compare`, `bare-server` and `axum-listener`
//! binaries in release mode and runs the comparison, which writes its section of docs/BENCHMARKS.md, the chart
//! docs/benchmarks-handshakes.svg and the performance summary in README.md (so no figure of the
//! run is copied by hand). The measuring, the tables and the chart live in
//! `benches/src/bin/compare/`; this file only prepares and starts it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Failure, eprint_line, say};

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench [-- <cargo bench arguments>]
       cargo xtask bench --compare [--seconds S] [--repeats N] [--stream-mib N] [--storm N]
                                   [--only http2] [--no-docs] [--json]

  (no flag)      run the criterion benchmarks: cargo bench -p vespa-tls-benches [arguments]
  --compare      the side-by-side comparison: vespa-tls serve (TLS-only, mixed), bare
                 tokio-rustls, openssl s_server and haproxy under one load generator, with
                 repeat and first-contact peers; the bulk stream against bare tokio-rustls,
                 memory per idle connection, a reconnect storm, openssl speed, and HTTP/2
                 requests through one axum app on our listener and on bare tokio-rustls;
                 prints the tables and
                 replaces the generated section of docs/BENCHMARKS.md, the chart
                 docs/benchmarks-handshakes.svg and the performance summary in README.md
                 (under 10 minutes on 2 cores)
  --seconds S    measurement time per server and repeat (default 5)
  --repeats N    measurements per server; medians are reported (default 3)
  --stream-mib N size of the bulk stream in MiB (default 1024; 0 skips it)
  --storm N      clients of the reconnect storm (default 2000; 0 skips it)
  --only http2   only the HTTP/2 rows (for development): replaces only the HTTP/2
                 section of docs/BENCHMARKS.md, and builds neither vespa-tls nor haproxy
  --no-docs      print the tables only; leave docs/ and README.md as they are
  --json         print the comparison as one JSON document on stdout (one object per
                 handshake row: server, certificates, key_exchange, handshakes_per_s,
                 server_cpu_us_per_handshake, client_cpu_us_per_handshake, errors,
                 peer_mix, and on first-contact rows first_contact_certificates: presented
                 and distinct, so a script can check none was shown twice; then the
                 ratios, each with server_cpu_ratio_per_repeat (ours / peer within each
                 repeat) and server_cpu_ratio_together (ours / bare in each round with both
                 loaded at the same time; the targeted pairs only), the stream, the storm and http2: requests_per_s
                 and server_cpu_us_per_request per server and their ratios; repeat_floor:
                 webpki's chain verification and the repeat-peer ratio a server would reach
                 that skipped it at no other cost); everything else, the tables included,
                 goes to stderr

Installs haproxy with `apt-get update && apt-get install -y haproxy` when it is missing (the
comparison skips it, saying why, when that fails).
";

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    compare: bool,
    seconds: Option<String>,
    repeats: Option<String>,
    stream_mib: Option<String>,
    storm: Option<String>,
    only_http2: bool,
    no_docs: bool,
    json: bool,
    bench_args: Vec<String>,
}

impl Options {
    /// Reads the arguments after `bench`.
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--compare" => options.compare = true,
                "--seconds" => {
                    let value = args.next().ok_or("--seconds needs a number")?;
                    match value.parse::<f64>() {
                        Ok(s) if s > 0.0 && s <= 60.0 => options.seconds = Some(value.clone()),
                        _ => return Err(format!("--seconds: expected (0, 60], found {value:?}")),
                    }
                }
                "--repeats" => {
                    let value = args.next().ok_or("--repeats needs a number")?;
                    match value.parse::<u32>() {
                        Ok(1..=10) => options.repeats = Some(value.clone()),
                        _ => return Err(format!("--repeats: expected 1..=10, found {value:?}")),
                    }
                }
                "--stream-mib" | "--storm" => {
                    let value = args.next().ok_or(format!("{arg} needs a number"))?;
                    match value.parse::<u32>() {
                        Ok(0..=8192) => {}
                        _ => return Err(format!("{arg}: expected 0..=8192, found {value:?}")),
                    }
                    if arg == "--storm" {
                        options.storm = Some(value.clone());
                    } else {
                        options.stream_mib = Some(value.clone());
                    }
                }
                "--only" => match args.next().map(String::as_str) {
                    Some("http2") => options.only_http2 = true,
                    other => return Err(format!("--only: expected http2, found {other:?}")),
                },
                "--no-docs" => options.no_docs = true,
                "--json" => options.json = true,
                "--" => options.bench_args.extend(args.by_ref().cloned()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if options.compare && !options.bench_args.is_empty() {
            return Err("arguments after `--` go to cargo bench, not to --compare".into());
        }
        if !options.compare
            && (options.seconds.is_some()
                || options.repeats.is_some()
                || options.stream_mib.is_some()
                || options.storm.is_some()
                || options.only_http2
                || options.no_docs
                || options.json)
        {
            return Err(
                "--seconds, --repeats, --stream-mib, --storm, --only, --no-docs and --json go with --compare"
                    .into(),
            );
        }
        Ok(options)
    }
}

/// Runs the benchmarks or the comparison.
pub(crate) fn run(options: &Options) -> Result<(), Failure> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one directory below the workspace root")
        .to_path_buf();
    let out = Output { json: options.json };
    if !options.compare {
        let mut argv = vec!["cargo", "bench", "--locked", "-p", "vespa-tls-benches"];
        argv.extend(options.bench_args.iter().map(String::as_str));
        return out.timed("bench", || {
            stream_step(out, "bench", &root, &argv, out.child_stdout())
        });
    }
    if !options.only_http2 {
        out.timed("bench: haproxy", || ensure_haproxy(out))?;
    }
    let mut build = vec!["cargo", "build", "--locked", "--release"];
    if !options.only_http2 {
        build.extend(["-p", "vespa-tls-verify", "--bin", "vespa-tls"]);
    }
    build.extend([
        "-p",
        "vespa-tls-benches",
        "--bin",
        "compare",
        "--bin",
        "bare-server",
        "--bin",
        "axum-listener",
    ]);
    out.timed("bench: build", || {
        stream_step(out, "bench: build", &root, &build, out.child_stdout())
    })?;
    let bin = target_dir(&root).join("release");
    let mut recorded = String::from("cargo xtask bench --compare");
    let mut argv: Vec<String> = vec![
        bin.join("compare").display().to_string(),
        "--vespa-tls".into(),
        bin.join("vespa-tls").display().to_string(),
        "--bare-server".into(),
        bin.join("bare-server").display().to_string(),
        "--axum-listener".into(),
        bin.join("axum-listener").display().to_string(),
    ];
    for (flag, value) in [
        ("--seconds", &options.seconds),
        ("--repeats", &options.repeats),
        ("--stream-mib", &options.stream_mib),
        ("--storm", &options.storm),
    ] {
        if let Some(value) = value {
            argv.extend([flag.to_owned(), value.clone()]);
            recorded.push_str(&format!(" {flag} {value}"));
        }
    }
    if options.only_http2 {
        argv.extend(["--only".into(), "http2".into()]);
        recorded.push_str(" --only http2");
    }
    if !options.no_docs {
        argv.extend(["--docs".into(), root.join("docs").display().to_string()]);
    }
    if options.json {
        argv.push("--json".into());
    }
    argv.extend(["--command".into(), recorded]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    // The comparison's stdout is the JSON document in --json mode: it goes through as it is.
    out.timed("bench: compare", || {
        stream_step(out, "bench: compare", &root, &argv, Stdio::inherit())
    })
}

/// Where this command's own progress goes: stdout, or stderr when stdout carries the
/// comparison's JSON document.
#[derive(Debug, Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    fn say(self, text: &str) {
        if self.json {
            eprint_line(text);
        } else {
            say(text);
        }
    }

    /// Like `crate::timed`, on this output.
    fn timed(self, name: &str, f: impl FnOnce() -> Result<(), Failure>) -> Result<(), Failure> {
        self.say(&format!("\n== {name}"));
        let started = std::time::Instant::now();
        f()?;
        self.say(&format!("== {name}: ok ({:.1?})", started.elapsed()));
        Ok(())
    }

    /// Where a child's stdout goes.
    fn child_stdout(self) -> Stdio {
        if self.json {
            Stdio::from(std::io::stderr())
        } else {
            Stdio::inherit()
        }
    }
}

/// `CARGO_TARGET_DIR` if set, else `<workspace>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn ensure_haproxy(out: Output) -> Result<(), Failure> {
    let version = || {
        Command::new("haproxy")
            .arg("-v")
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
    };
    if let Some(line) = version() {
        out.say(&line);
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo: &[&str] = if root { &[] } else { &["sudo", "-n"] };
    out.say(&format!(
        "haproxy is not installed; installing it with `{}apt-get update && {}apt-get install -y haproxy`",
        sudo.iter().map(|s| format!("{s} ")).collect::<String>(),
        sudo.iter().map(|s| format!("{s} ")).collect::<String>(),
    ));
    for step in [
        &["apt-get", "update"][..],
        &["apt-get", "install", "-y", "haproxy"],
    ] {
        let argv: Vec<&str> = sudo.iter().chain(step).copied().collect();
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(out.child_stdout())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            // Not fatal: the comparison runs without haproxy and says why.
            out.say(&format!(
                "could not install haproxy ({} failed); the comparison will skip it",
                argv.join(" ")
            ));
            return Ok(());
        }
    }
    match version() {
        Some(line) => out.say(&line),
        None => out.say("haproxy still does not run after installing; the comparison will skip it"),
    }
    Ok(())
}

/// Runs one command in `root`, its stdout to `stdout` and its stderr to ours.
fn stream_step(
    out: Output,
    name: &str,
    root: &Path,
    argv: &[&str],
    stdout: Stdio,
) -> Result<(), Failure> {
    let rendered = crate::render(argv, &[]);
    out.say(&format!("$ {rendered}"));
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .current_dir(root)
        .stdout(stdout)
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
            rerun: Some(rendered),
            detail: format!("exit status: {status}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_the_two_modes() {
        assert_eq!(parse(&[]), Ok(Options::default()));
        let bench = parse(&["--", "--bench", "transport"]).expect("valid");
        assert_eq!(bench.bench_args, ["--bench", "transport"]);
        let compare = parse(&["--compare", "--seconds", "2", "--repeats", "1"]).expect("valid");
        assert!(compare.compare);
        assert!(!compare.json);
        assert!(parse(&["--compare", "--json"]).expect("valid").json);
        assert_eq!(compare.seconds.as_deref(), Some("2"));
        assert_eq!(compare.repeats.as_deref(), Some("1"));
        assert!(!compare.only_http2);
        assert!(
            parse(&["--compare", "--only", "http2"])
                .expect("valid")
                .only_http2
        );
    }

    #[test]
    fn rejects_mixed_or_out_of_range_arguments() {
        assert!(parse(&["--compare", "--", "--bench", "x"]).is_err());
        assert!(parse(&["--seconds", "2"]).is_err());
        assert!(parse(&["--json"]).is_err());
        assert!(parse(&["--storm", "10"]).is_err());
        assert!(parse(&["--compare", "--storm", "-1"]).is_err());
        let sized = parse(&["--compare", "--stream-mib", "256", "--storm", "0"]).expect("valid");
        assert_eq!(sized.stream_mib.as_deref(), Some("256"));
        assert_eq!(sized.storm.as_deref(), Some("0"));
        assert!(parse(&["--compare", "--seconds", "0"]).is_err());
        assert!(parse(&["--compare", "--repeats", "11"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--only", "http2"]).is_err());
        assert!(parse(&["--compare", "--only", "storm"]).is_err());
        assert!(parse(&["--compare", "--only"]).is_err());
    }
}
