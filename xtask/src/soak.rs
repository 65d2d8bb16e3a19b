//! `cargo xtask soak`: the reliability suite's long form.
//!
//! The scenarios in `tests/reliability/tests/it/` run in every `cargo xtask ci` at a small
//! scale. This runs the same tests with `VESPA_TLS_SOAK=1` (more clients, longer holds, 110
//! certificate rotations per method, thousands of idle connections) in the release profile,
//! collects the figures each scenario reports into `target/reliability-soak.jsonl`, and
//! prints them. docs/RELIABILITY.md records a run.

use std::path::PathBuf;
use std::time::Instant;

use crate::{Failure, say};

pub(crate) const USAGE: &str = "\
usage: cargo xtask soak

Runs the reliability scenarios (tests/reliability) in their long form: VESPA_TLS_SOAK=1,
release profile, about 7 minutes on 2 cores. Prints every scenario's figures (requests,
failures, rotations, latencies, memory) and keeps them in target/reliability-soak.jsonl.
";

/// Where the figures go (the tests append one JSON line per scenario).
const REPORT: &str = "target/reliability-soak.jsonl";

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    match args.first().map(String::as_str) {
        None => {}
        Some("-h" | "--help") => {
            say(USAGE);
            return Ok(());
        }
        Some(other) => {
            return Err(Failure {
                step: "soak".into(),
                rerun: None,
                detail: format!("unknown argument {other:?}\n\n{USAGE}"),
            });
        }
    }
    let started = Instant::now();
    let report = std::env::current_dir()
        .map(|d| d.join(REPORT))
        .unwrap_or_else(|_| PathBuf::from(REPORT));
    let _ = std::fs::remove_file(&report);
    let report_text = report.display().to_string();
    // The rolling upgrade ends with `vespa-tls scan`; the tests find it next to themselves.
    crate::step(
        "soak: build vespa-tls",
        &[
            "cargo",
            "build",
            "--locked",
            "--release",
            "-p",
            "vespa-tls-verify",
            "--bin",
            "vespa-tls",
        ],
        &[],
    )?;
    let tests = crate::step(
        "soak: reliability scenarios (long form)",
        &[
            "cargo",
            "test",
            "--locked",
            "--release",
            "-p",
            "vespa-tls-reliability",
            "--no-fail-fast",
            "--",
            "--nocapture",
        ],
        &[
            ("VESPA_TLS_SOAK", "1"),
            ("VESPA_TLS_RELIABILITY_REPORT", &report_text),
        ],
    );
    say(&format!("\n== soak figures ({})", report.display()));
    match std::fs::read_to_string(&report) {
        Ok(text) => {
            for line in text.lines() {
                let scenario = line
                    .split("\"scenario\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or("?");
                say(&format!("{scenario}:\n  {line}"));
            }
        }
        Err(e) => say(&format!("no figures: {e}")),
    }
    tests?;
    say(&format!(
        "\nxtask soak: every scenario passed in {:.0?}",
        started.elapsed()
    ));
    Ok(())
}
