//! The test step: runs the tests and names every test that skipped itself, with its reason.
//!
//! A test that needs a real peer (openssl, a JDK, mkfifo) and does not find it prints a line
//! that starts with `skipped` (`skipped: openssl is not on PATH`) and returns; the test harness
//! counts it as passed. So that such a run does not look like a full one, this step reads what
//! every passing test printed and ends with the list of skips.
//!
//! - With cargo-nextest, the run writes a JUnit report that keeps the output of passing tests
//!   (a tool config file, so the repository needs no nextest config of its own); the step reads
//!   the report when the run is over. nextest's own output is not touched. The profile runs
//!   twice as many tests at once as there are cores (most tests wait more than they compute).
//! - With plain `cargo test`, libtest prints the output of passing tests (`--show-output`); the
//!   step reads it from the pipe, passes every other line through and keeps those blocks out of
//!   the log.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Failure, render, say, timed};

/// The nextest profile the tool config defines (custom profiles must not start with `default-`).
const PROFILE: &str = "xtask-ci";

/// The tool config: the CI profile with a JUnit report that keeps passing tests' output, and
/// `threads` tests at once.
fn tool_config(threads: usize) -> String {
    format!(
        "[profile.xtask-ci]\n\
         fail-fast = false\n\
         test-threads = {threads}\n\
         \n\
         [profile.xtask-ci.junit]\n\
         path = \"junit.xml\"\n\
         store-success-output = true\n"
    )
}

/// Tests at once: twice the cores. Most of the suite's tests spend more time waiting (for the
/// child processes and real peers they drive, a reload's quiet period, a scan's timeouts) than
/// computing, so one test per core leaves the cores idle for much of the run. nextest's own
/// `NEXTEST_TEST_THREADS` or `--test-threads` still decides when given.
fn test_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get() * 2)
}

/// One test that skipped itself (or a part of itself).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) test: String,
    pub(crate) reason: String,
}

/// Runs the tests (every workspace member, or what `selection` names, e.g. `-p <package>`) and
/// prints which of them skipped themselves and why, whether or not the run passed.
pub(crate) fn run(nextest: bool, selection: &[String]) -> Result<(), Failure> {
    let selection: Vec<&str> = if selection.is_empty() {
        vec!["--workspace"]
    } else {
        selection.iter().map(String::as_str).collect()
    };
    timed("test", || {
        let (outcome, skips) = if nextest {
            run_nextest(&selection)
        } else {
            say("(cargo-nextest not found; using cargo test)");
            run_cargo_test(&selection)
        };
        say(&summary(&skips));
        outcome
    })
}

fn run_nextest(selection: &[&str]) -> (Result<(), Failure>, Vec<Skip>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf();
    // nextest keeps its reports under `target/nextest/<profile>/` in the workspace root.
    let report = root.join("target/nextest").join(PROFILE).join("junit.xml");
    let config = root.join("target/xtask/nextest-tool.toml");
    let _ = std::fs::remove_file(&report);
    if let Err(e) = config
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&config, tool_config(test_threads())))
    {
        let failure = failure(
            "test",
            None,
            format!("cannot write {}: {e}", config.display()),
        );
        return (Err(failure), Vec::new());
    }
    let tool_config = format!("xtask:{}", config.display());
    let mut argv = vec!["cargo", "nextest", "run", "--locked", "--no-fail-fast"];
    argv.extend_from_slice(selection);
    let rerun = render(&argv, &[]);
    argv.extend_from_slice(&["--tool-config-file", &tool_config, "--profile", PROFILE]);
    say(&format!("$ {rerun}"));
    let outcome = match Command::new(argv[0]).args(&argv[1..]).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(failure(
            "test",
            Some(&rerun),
            format!("exit status: {status}"),
        )),
        Err(e) => Err(failure(
            "test",
            Some(&rerun),
            format!("could not start cargo: {e}"),
        )),
    };
    match std::fs::read_to_string(&report) {
        Ok(xml) => (outcome, skips_in_junit(&xml)),
        // A run that stopped before testing (a build error) writes no report.
        Err(_) if outcome.is_err() => (outcome, Vec::new()),
        Err(e) => {
            let detail = format!(
                "the tests passed, but their report {} is unreadable ({e}), so skipped tests \
                 cannot be named",
                report.display()
            );
            (Err(failure("test", Some(&rerun), detail)), Vec::new())
        }
    }
}

fn run_cargo_test(selection: &[&str]) -> (Result<(), Failure>, Vec<Skip>) {
    let mut argv = vec!["cargo", "test", "--locked", "--no-fail-fast"];
    argv.extend_from_slice(selection);
    argv.extend_from_slice(&["--", "--show-output"]);
    let rerun = render(&argv, &[]);
    say(&format!("$ {rerun}"));
    let mut child = match Command::new(argv[0])
        .args(&argv[1..])
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let detail = format!("could not start cargo: {e}");
            return (Err(failure("test", Some(&rerun), detail)), Vec::new());
        }
    };
    let mut reader = LibtestOutput::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if reader.line(&line) {
                say(&line);
            }
        }
    }
    let outcome = match child.wait() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(failure(
            "test",
            Some(&rerun),
            format!("exit status: {status}"),
        )),
        Err(e) => Err(failure("test", Some(&rerun), format!("cargo test: {e}"))),
    };
    (outcome, reader.skips)
}

/// The closing lines of the step: how many tests skipped themselves, each with its reason.
pub(crate) fn summary(skips: &[Skip]) -> String {
    if skips.is_empty() {
        return "no test skipped itself".to_owned();
    }
    let tests = {
        let mut names: Vec<&str> = skips.iter().map(|s| s.test.as_str()).collect();
        names.dedup();
        names.len()
    };
    let mut text = format!(
        "{tests} {} skipped (counted as passed, without checking all they check):",
        if tests == 1 { "test" } else { "tests" }
    );
    for skip in skips {
        text.push_str(&format!("\n  {} — {}", skip.test, skip.reason));
    }
    text
}

/// The reason in a line a test printed when it skipped (`skipped: <reason>`,
/// `skipped the openssl cross-check: <reason>`), or `None` for any other line.
pub(crate) fn skip_reason(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("skipped")?;
    let reason = rest.strip_prefix(':').or_else(|| rest.strip_prefix(' '))?;
    Some(reason.trim())
}

/// Every skip in a nextest JUnit report, in the report's order.
pub(crate) fn skips_in_junit(xml: &str) -> Vec<Skip> {
    let mut skips = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<testcase ") {
        let case = &rest[start..];
        let end = case.find("</testcase>").unwrap_or(case.len());
        let (case, tail) = case.split_at(end);
        rest = tail;
        // A failing test is reported as failed; what it printed is not a skip.
        if case.contains("<failure") || case.contains("<error") {
            continue;
        }
        let header = &case[..case.find('>').unwrap_or(case.len())];
        let name = attribute(header, "name").unwrap_or_default();
        let test = match attribute(header, "classname") {
            Some(binary) => format!("{binary} {name}"),
            None => name,
        };
        for element in ["system-out", "system-err"] {
            for line in element_text(case, element).lines() {
                if let Some(reason) = skip_reason(line) {
                    skips.push(Skip {
                        test: test.clone(),
                        reason: reason.to_owned(),
                    });
                }
            }
        }
    }
    skips
}

/// Reads `cargo test -- --show-output`: collects skips from the passing tests' output and says
/// which lines to pass through (everything but that output).
#[derive(Default)]
pub(crate) struct LibtestOutput {
    in_successes: bool,
    test: String,
    pub(crate) skips: Vec<Skip>,
}

impl LibtestOutput {
    /// Takes one line of libtest's stdout; returns whether to print it.
    pub(crate) fn line(&mut self, line: &str) -> bool {
        if line == "successes:" {
            self.in_successes = true;
            return false;
        }
        if line.starts_with("test result:") || line == "failures:" {
            self.in_successes = false;
            return true;
        }
        if !self.in_successes {
            return true;
        }
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            name.clone_into(&mut self.test);
        } else if let Some(reason) = skip_reason(line) {
            self.skips.push(Skip {
                test: self.test.clone(),
                reason: reason.to_owned(),
            });
        }
        false
    }
}

fn attribute(header: &str, name: &str) -> Option<String> {
    let start = header.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = header[start..].find('"')?;
    Some(unescape(&header[start..start + len]))
}

fn element_text(case: &str, element: &str) -> String {
    let open = format!("<{element}>");
    let Some(start) = case.find(&open).map(|i| i + open.len()) else {
        return String::new();
    };
    let len = case[start..]
        .find(&format!("</{element}>"))
        .unwrap_or(case.len() - start);
    unescape(&case[start..start + len])
}

/// XML's five named entities and numeric character references.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn failure(step: &str, rerun: Option<&str>, detail: String) -> Failure {
    Failure {
        step: step.to_owned(),
        rerun: rerun.map(str::to_owned),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_lines_are_recognised() {
        let table: &[(&str, Option<&str>)] = &[
            (
                "skipped: openssl is not on PATH",
                Some("openssl is not on PATH"),
            ),
            ("  skipped: java not found", Some("java not found")),
            (
                "skipped the openssl cross-check: openssl is not on PATH",
                Some("the openssl cross-check: openssl is not on PATH"),
            ),
            ("skippedness", None),
            ("not skipped: x", None),
            ("test it::a ... ok", None),
        ];
        for &(line, reason) in table {
            assert_eq!(skip_reason(line), reason, "{line:?}");
        }
    }

    #[test]
    fn junit_report_names_each_skip_with_its_test() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3">
    <testsuite name="vespa-tls-material::it" tests="3">
        <testcase name="openssl::agrees" classname="vespa-tls-material::it" time="0.014">
            <system-out>
running 1 test
skipped: openssl is not on PATH
test openssl::agrees ... ok
</system-out>
            <system-err></system-err>
        </testcase>
        <testcase name="peers::jsse" classname="vespa-tls-transport::it" time="0.012">
            <system-out>running 1 test
</system-out>
            <system-err>skipped: java &amp; javac not found &lt;PATH&gt;
</system-err>
        </testcase>
        <testcase name="quiet" classname="vespa-tls-material::it" time="0.038">
            <system-out>table row: skipped: no
</system-out>
        </testcase>
        <testcase name="broken" classname="vespa-tls-material::it" time="0.038">
            <failure type="test failure">assertion failed</failure>
            <system-out>skipped: a failure is not a skip
</system-out>
        </testcase>
    </testsuite>
</testsuites>"#;
        assert_eq!(
            skips_in_junit(xml),
            vec![
                Skip {
                    test: "vespa-tls-material::it openssl::agrees".into(),
                    reason: "openssl is not on PATH".into(),
                },
                Skip {
                    test: "vespa-tls-transport::it peers::jsse".into(),
                    reason: "java & javac not found <PATH>".into(),
                },
            ]
        );
    }

    #[test]
    fn libtest_output_keeps_passing_tests_quiet_and_collects_skips() {
        let lines = [
            "running 3 tests",
            "test tests::quiet ... ok",
            "successes:",
            "",
            "---- tests::quiet stdout ----",
            "table row",
            "",
            "---- tests::skips stdout ----",
            "skipped: openssl is not on PATH",
            "",
            "successes:",
            "    tests::quiet",
            "    tests::skips",
            "test result: ok. 3 passed; 0 failed",
            "failures:",
            "---- tests::broken stdout ----",
            "skipped: not a skip: the test failed",
        ];
        let mut reader = LibtestOutput::default();
        let printed: Vec<&str> = lines.into_iter().filter(|l| reader.line(l)).collect();
        assert_eq!(
            printed,
            [
                "running 3 tests",
                "test tests::quiet ... ok",
                "test result: ok. 3 passed; 0 failed",
                "failures:",
                "---- tests::broken stdout ----",
                "skipped: not a skip: the test failed",
            ]
        );
        assert_eq!(
            reader.skips,
            [Skip {
                test: "tests::skips".into(),
                reason: "openssl is not on PATH".into(),
            }]
        );
    }

    #[test]
    fn summary_counts_tests_and_lists_reasons() {
        assert_eq!(summary(&[]), "no test skipped itself");
        let skips = [
            Skip {
                test: "a".into(),
                reason: "openssl is not on PATH".into(),
            },
            Skip {
                test: "a".into(),
                reason: "mkfifo not available".into(),
            },
            Skip {
                test: "b".into(),
                reason: "java not found".into(),
            },
        ];
        assert_eq!(
            summary(&skips),
            "2 tests skipped (counted as passed, without checking all they check):\n  \
             a — openssl is not on PATH\n  a — mkfifo not available\n  b — java not found"
        );
    }
}
