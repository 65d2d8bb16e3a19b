//! The figures each scenario reports: on stderr (shown by `--nocapture` and on failure), and
//! appended as one JSON line to `$VESPA_TLS_RELIABILITY_REPORT` when set (what `cargo xtask
//! soak` collects and prints).

use std::io::Write as _;

/// The variable naming the JSON-lines report file.
pub(crate) const REPORT_VAR: &str = "VESPA_TLS_RELIABILITY_REPORT";

/// Reports one scenario's figures.
#[expect(
    clippy::print_stderr,
    reason = "scenario figures are meant to be read by whoever runs the suite"
)]
pub fn record(scenario: &str, figures: serde_json::Value) {
    let line = serde_json::json!({
        "scenario": scenario,
        "soak": crate::scale::Scale::from_env().soak,
        "figures": figures,
    })
    .to_string();
    eprintln!("reliability: {line}");
    if let Some(path) = std::env::var_os(REPORT_VAR) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("reliability: cannot append to {}: {e}", path.display());
        }
    }
}
