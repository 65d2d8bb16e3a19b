//! `vespa-tls check`: the config file, the environment, the rules and the three files.
//!
//! [`CheckReport::check`] decides, through the same load and verification path a process uses;
//! this module reads the file and the environment and writes the report as text or JSON.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use time::OffsetDateTime;
use vespa_tls_config::Severity;
use vespa_tls_context::{CheckOptions, CheckReport};
use vespa_tls_material::{MAX_FILE_SIZE, read_regular_file};

use crate::cli::CheckArgs;
use crate::json::{Certificate, CheckOutput};
use crate::node_env::NodeEnv;
use crate::output::{Verdict, certificate_lines, plural, say, say_json};

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<Verdict> {
    let node = NodeEnv::load(&args.home)?;
    let path = node.config_path(args.config.as_deref())?;
    // A regular file of bounded size only: a FIFO or a device named as the config is an error,
    // never a hang.
    let bytes = read_regular_file(&path, MAX_FILE_SIZE)?;
    let now = OffsetDateTime::now_utc();
    let mut report = CheckReport::check(
        &path,
        &bytes,
        node.environment(),
        &CheckOptions {
            files: !args.no_files,
            warn_days: args.warn_days,
            hostnames: &args.hostname,
            now,
        },
    );
    // The node's environment first: it decides which config file and modes the rest is about.
    let mut findings = node.findings();
    findings.extend(std::mem::take(&mut report.findings));
    report.findings = findings;

    if let Some(file) = &args.prometheus {
        let text = vespa_tls_context::exposition::render_check(&report, &path, now);
        write_atomically(file, text.as_bytes())?;
    }

    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let notes = report.count(Severity::Note);
    if args.output.json {
        say_json(&CheckOutput {
            config: path.display().to_string(),
            files_checked: report.files_checked,
            ok: report.is_ok(),
            errors,
            warnings,
            notes,
            findings: report.findings.iter().map(Into::into).collect(),
            certificate: report
                .certificate
                .as_ref()
                .map(|c| Certificate::new(c, now)),
        });
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

/// Replaces `file` with `bytes` so that a reader sees the old file or the new one, never a
/// part: a temporary file in the same directory, written, flushed to disk, made readable by
/// the collector (0644), renamed over `file`, and the directory synced.
fn write_atomically(file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .with_context(|| format!("{}: --prometheus needs a file name", file.display()))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    let shown = tmp.path().display().to_string();
    let context = || format!("{shown}: cannot write");
    tmp.write_all(bytes).with_context(context)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .with_context(context)?;
    tmp.as_file().sync_all().with_context(context)?;
    tmp.persist(file)
        .map_err(|e| e.error)
        .with_context(|| format!("{}: cannot replace", file.display()))?;
    // The rename is durable once the directory is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: cannot sync the directory", dir.display()))?;
    Ok(())
}
