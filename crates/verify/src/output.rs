//! Writing results: human text or JSON on stdout, quietly giving up on a closed pipe.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, anyhow};
use vespa_tls_config::{CONFIG_FILE_VAR, Diagnostics, Escaped};
use vespa_tls_material::CertificateFacts;

use crate::json::{Document, SCHEMA_VERSION, Versioned};

static PIPE_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to stdout; after the reader went away (`| head`), writes nothing more.
pub(crate) fn say(line: impl AsRef<str>) {
    if PIPE_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", line.as_ref())
        .and_then(|()| out.flush())
        .is_err()
    {
        PIPE_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes a command's `--json` document to stdout, pretty-printed, with its `schema_version`.
pub(crate) fn say_json<T: Document>(document: &T) {
    say(json_text(document, true));
}

/// Writes one `--json` document as a single line (`serve`'s events).
pub(crate) fn say_json_line<T: Document>(document: &T) {
    say(json_text(document, false));
}

fn json_text<T: Document>(document: &T, pretty: bool) -> String {
    let versioned = Versioned::new(document);
    let text = if pretty {
        serde_json::to_string_pretty(&versioned)
    } else {
        serde_json::to_string(&versioned)
    };
    // Our documents are plain data: serializing them cannot fail.
    text.unwrap_or_else(|e| {
        format!(
            "{{\"schema_version\": {SCHEMA_VERSION}, \"error\": {:?}}}",
            e.to_string()
        )
    })
}

/// Progress and notes for a person, on stderr.
#[expect(
    clippy::print_stderr,
    reason = "the CLI's progress and notes go to stderr"
)]
pub(crate) fn note(line: impl AsRef<str>) {
    eprintln!("{}", line.as_ref());
}

/// The answer of a command that ran: yes (exit 0) or no (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Yes,
    No,
}

impl Verdict {
    pub(crate) fn from_ok(ok: bool) -> Verdict {
        if ok { Verdict::Yes } else { Verdict::No }
    }
}

/// `--config FILE`, or `$VESPA_TLS_CONFIG_FILE`.
pub(crate) fn config_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    match std::env::var_os(CONFIG_FILE_VAR) {
        Some(value) if !value.is_empty() => Ok(PathBuf::from(value)),
        _ => Err(anyhow!(
            "no TLS config file: pass --config FILE or set {CONFIG_FILE_VAR}"
        )),
    }
}

/// Reads a config file and parses it; any problem is an error naming the file.
pub(crate) fn load_options(
    path: &Path,
) -> anyhow::Result<(vespa_tls_config::TransportSecurityOptions, Diagnostics)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    vespa_tls_config::parse_slice(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A certificate for a person to read. Names are escaped ([`Escaped`]): whoever made the
/// certificate chose them, and a CN with `\n` or `ESC [` must not forge lines or drive the terminal.
/// (`--json` output needs no escaping of its own: JSON strings escape control characters.)
pub(crate) fn certificate_lines(
    facts: &CertificateFacts,
    now: time::OffsetDateTime,
) -> Vec<String> {
    let mut names: Vec<String> = facts
        .dns_names
        .iter()
        .map(|d| format!("DNS:{}", Escaped(d)))
        .collect();
    names.extend(facts.ip_addresses.iter().map(|i| format!("IP:{i}")));
    names.extend(facts.uris.iter().map(|u| format!("URI:{}", Escaped(u))));
    let days = facts.days_to_expiry(now);
    let expiry = if days < 0 {
        format!("expired {} ({} days ago)", date(facts.not_after), -days)
    } else {
        format!("expires {} (in {days} days)", date(facts.not_after))
    };
    vec![
        format!("  subject  {}", Escaped(&facts.subject)),
        format!(
            "  names    {}",
            if names.is_empty() {
                "(no SAN)".to_owned()
            } else {
                names.join(", ")
            }
        ),
        format!("  issuer   {}", Escaped(&facts.issuer)),
        format!("  validity {expiry}"),
        format!("  sha256   {}", facts.sha256_fingerprint),
    ]
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn date(t: time::OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_lines_escape_names() {
        let evil = "n\nr\re\x1b[31mc\u{85}";
        let shown = r"n\nr\re\x1b[31mc\u{85}";
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let facts = CertificateFacts {
            subject: format!("CN={evil}"),
            common_names: vec![evil.to_owned()],
            issuer: format!("CN={evil} CA"),
            dns_names: vec![evil.to_owned()],
            ip_addresses: vec![std::net::IpAddr::from([10, 0, 0, 1])],
            uris: vec![format!("vespa://{evil}")],
            serial: "01".to_owned(),
            not_before: now,
            not_after: now + time::Duration::days(1),
            sha256_fingerprint: "AB:CD".to_owned(),
            public_key: vespa_tls_material::PublicKeyType::EcdsaP256,
            is_ca: false,
            extended_key_usages: None,
        };
        let lines = certificate_lines(&facts, now);
        // (line, expected)
        let table = [
            (0, format!("  subject  CN={shown}")),
            (
                1,
                format!("  names    DNS:{shown}, IP:10.0.0.1, URI:vespa://{shown}"),
            ),
            (2, format!("  issuer   CN={shown} CA")),
        ];
        for (index, expected) in table {
            assert_eq!(lines[index], expected);
        }
        for line in &lines {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }
}
