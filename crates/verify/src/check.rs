//! `vespa-tls check`: the config file, the environment, the rules and the three files.
//!
//! [`CheckReport::check`] decides, through the same load and verification path a process uses;
//! this module reads the file and the environment and writes the report as text or JSON.

use serde_json::json;
use time::OffsetDateTime;
use vespa_tls_config::{Environment, Severity};
use vespa_tls_context::{CheckOptions, CheckReport};
use vespa_tls_material::{MAX_FILE_SIZE, read_regular_file};

use crate::cli::CheckArgs;
use crate::output::{
    Verdict, certificate_json, certificate_lines, config_path, diagnostic_json, plural, say,
    say_json,
};

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<Verdict> {
    let path = config_path(args.config.as_deref())?;
    // A regular file of bounded size only: a FIFO or a device named as the config is an error,
    // never a hang.
    let bytes = read_regular_file(&path, MAX_FILE_SIZE)?;
    let now = OffsetDateTime::now_utc();
    let report = CheckReport::check(
        &path,
        &bytes,
        Environment::from_lookup(|name| std::env::var_os(name)),
        &CheckOptions {
            files: !args.no_files,
            warn_days: args.warn_days,
            hostnames: &args.hostname,
            now,
        },
    );

    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let notes = report.count(Severity::Note);
    if args.output.json {
        say_json(&json!({
            "config": path.display().to_string(),
            "files_checked": report.files_checked,
            "ok": report.is_ok(),
            "errors": errors,
            "warnings": warnings,
            "notes": notes,
            "findings": report.findings.iter().map(diagnostic_json).collect::<Vec<_>>(),
            "certificate": report.certificate.as_ref().map(|c| certificate_json(c, now)),
        }));
    } else {
        for finding in &report.findings {
            say(finding.to_string());
        }
        if let Some(leaf) = &report.certificate {
            say("our certificate:");
            for line in certificate_lines(leaf, now) {
                say(line);
            }
        }
        let scope = if report.files_checked {
            "config and files"
        } else {
            "config only"
        };
        say(format!(
            "{}: {} ({scope}): {}, {}, {}",
            path.display(),
            if report.is_ok() { "ok" } else { "not ok" },
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(notes, "note"),
        ));
    }
    Ok(Verdict::from_ok(report.is_ok()))
}
