//! `$VESPA_HOME/conf/vespa/default-env.txt`: the environment Vespa's start scripts layer over the
//! process environment before any Vespa process runs.
//!
//! On a Vespa node the `VESPA_TLS_*` variables usually live in this file, not in an operator's
//! shell. Vespa reads it line by line (its Go launcher's loader, which the start scripts call):
//!
//! - a line whose first character is `#` is a comment; a blank line is skipped;
//! - other lines split on ASCII white space into at most three fields: the action, the variable
//!   name and the value (the rest of the line, inner white space kept, trailing white space
//!   dropped);
//! - `override NAME VALUE` sets the variable; `fallback NAME VALUE` sets it only when it is unset
//!   or empty at that point; `unset NAME` removes it;
//! - a value that starts and ends with `"` loses those two quotes, nothing else (no escapes,
//!   single quotes stay);
//! - a line with an unknown action or a name that is not `[A-Za-z0-9_]+` is an error, and Vespa
//!   skips that line and applies the rest of the file.
//!
//! This module parses bytes the caller read and resolves variables against a caller-supplied
//! lookup of the process environment; it reads no file and no environment itself.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::env::{AUTHORIZATION_MODE_VAR, CAPABILITY_MODE_VAR, CONFIG_FILE_VAR, MIXED_MODE_VAR};
use crate::escape::Escaped;

/// Where `default-env.txt` lives under `$VESPA_HOME`.
pub const DEFAULT_ENV_FILE: &str = "conf/vespa/default-env.txt";

/// The four `VESPA_TLS_*` variables, in the order they are reported.
pub const TLS_VARIABLES: [&str; 4] = [
    CONFIG_FILE_VAR,
    MIXED_MODE_VAR,
    AUTHORIZATION_MODE_VAR,
    CAPABILITY_MODE_VAR,
];

/// Diagnostic codes produced by [`DefaultEnv::parse`] and [`DefaultEnv::tls_findings`].
pub(crate) mod codes {
    /// A line Vespa skips: unknown action, invalid name, not UTF-8 (error).
    pub const DEFAULT_ENV_LINE: &str = "default-env-line";
    /// Where a `VESPA_TLS_*` value came from (note).
    pub const ENV_ORIGIN: &str = "env-origin";
    /// The shell's value of a `VESPA_TLS_*` variable differs from what Vespa's services get
    /// from `default-env.txt` (warning).
    pub const ENV_SHELL_DISAGREES: &str = "env-shell-disagrees";
}

/// What one line of `default-env.txt` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DefaultEnvAction {
    /// `override NAME VALUE`: always set.
    Override,
    /// `fallback NAME VALUE`: set when unset or empty.
    Fallback,
    /// `unset NAME`: remove.
    Unset,
}

impl DefaultEnvAction {
    /// Vespa's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultEnvAction::Override => "override",
            DefaultEnvAction::Fallback => "fallback",
            DefaultEnvAction::Unset => "unset",
        }
    }
}

impl fmt::Display for DefaultEnvAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One usable line of `default-env.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultEnvEntry {
    /// The line number, counting from 1.
    pub line: usize,
    /// What the line does.
    pub action: DefaultEnvAction,
    /// The variable it names.
    pub name: String,
    /// The value with one pair of surrounding double quotes removed (empty for `unset`).
    pub value: String,
}

/// A parsed `default-env.txt`: its usable lines, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultEnv {
    path: PathBuf,
    entries: Vec<DefaultEnvEntry>,
}

/// Where the effective value of a variable came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Neither the process environment nor the file sets it.
    NotSet,
    /// The process environment, untouched by the file.
    Process,
    /// A line of the file (for [`DefaultEnvAction::Unset`] the variable is now unset).
    File {
        /// The line number, counting from 1.
        line: usize,
        /// What the line did.
        action: DefaultEnvAction,
    },
}

/// One variable as a Vespa process started through the start scripts sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The value it gets; `None` when unset.
    pub value: Option<OsString>,
    /// Where that value came from.
    pub origin: Origin,
}

impl DefaultEnv {
    /// Parses the bytes of the file at `path` (the path only names the file in findings).
    ///
    /// Never fails: a line Vespa would skip is skipped here too and reported as an error-level
    /// finding at `path:line`; every other line is used, as Vespa uses it. A line that is not
    /// UTF-8 is skipped (Vespa would apply it byte for byte).
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use vespa_tls_config::{DefaultEnv, Origin, DefaultEnvAction};
    /// let text = "# TLS\noverride VESPA_TLS_CONFIG_FILE \"/opt/vespa/conf/tls.json\"\n\
    ///             fallback VESPA_TLS_INSECURE_MIXED_MODE tls_client_mixed_server\n";
    /// let (file, findings) = DefaultEnv::parse("default-env.txt", text.as_bytes());
    /// assert!(findings.is_empty());
    /// let shell = |name: &str| {
    ///     (name == "VESPA_TLS_INSECURE_MIXED_MODE").then(|| OsString::from("plaintext_client_mixed_server"))
    /// };
    /// let config = file.resolve("VESPA_TLS_CONFIG_FILE", shell("VESPA_TLS_CONFIG_FILE"));
    /// assert_eq!(config.value, Some(OsString::from("/opt/vespa/conf/tls.json")));
    /// assert_eq!(config.origin, Origin::File { line: 2, action: DefaultEnvAction::Override });
    /// // A fallback does not replace a value the process already has.
    /// let mixed = file.resolve("VESPA_TLS_INSECURE_MIXED_MODE", shell("VESPA_TLS_INSECURE_MIXED_MODE"));
    /// assert_eq!(mixed.origin, Origin::Process);
    /// ```
    pub fn parse(path: impl Into<PathBuf>, bytes: &[u8]) -> (DefaultEnv, Diagnostics) {
        let path = path.into();
        let mut findings = Diagnostics::new();
        let mut entries = Vec::new();
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        // A final newline ends the last line; it does not start an empty one.
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        for (index, raw) in lines.into_iter().enumerate() {
            let number = index + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let bad = |problem: String| {
                Diagnostic::at_line(
                    Severity::Error,
                    codes::DEFAULT_ENV_LINE,
                    path.clone(),
                    number,
                    format!("{problem}; Vespa skips this line"),
                )
            };
            let Ok(line) = std::str::from_utf8(raw) else {
                findings.push(bad("not UTF-8".to_owned()));
                continue;
            };
            if line.starts_with('#') {
                continue;
            }
            let [action, name, value] = fields(line);
            if action.is_empty() {
                continue;
            }
            if !is_variable_name(name) {
                findings.push(bad(if name.is_empty() {
                    format!("\"{}\" names no variable", Escaped(action))
                } else if name.contains('=') {
                    format!(
                        "not a valid environment variable name: \"{}\" (write \"override NAME \
                         VALUE\", not NAME=VALUE)",
                        Escaped(name)
                    )
                } else {
                    format!(
                        "not a valid environment variable name: \"{}\"",
                        Escaped(name)
                    )
                }));
                continue;
            }
            let action = match action {
                "override" => DefaultEnvAction::Override,
                "fallback" => DefaultEnvAction::Fallback,
                "unset" => DefaultEnvAction::Unset,
                other => {
                    let hint = if other.starts_with('#') {
                        " (a comment starts in the first column)"
                    } else {
                        ""
                    };
                    findings.push(bad(format!(
                        "unknown action \"{}\", expected one of \"override\", \"fallback\", \
                         \"unset\"{hint}",
                        Escaped(other)
                    )));
                    continue;
                }
            };
            let value = match action {
                DefaultEnvAction::Unset => "",
                _ if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') => {
                    &value[1..value.len() - 1]
                }
                _ => value,
            };
            entries.push(DefaultEnvEntry {
                line: number,
                action,
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        (DefaultEnv { path, entries }, findings)
    }

    /// The file the entries came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The usable lines, in file order.
    pub fn entries(&self) -> &[DefaultEnvEntry] {
        &self.entries
    }

    /// The value `name` gets when Vespa's start scripts run with `process` as its value in
    /// their environment: the file's lines for `name` applied in order.
    pub fn resolve(&self, name: &str, process: Option<OsString>) -> Resolved {
        let mut origin = if process.is_some() {
            Origin::Process
        } else {
            Origin::NotSet
        };
        let mut value = process;
        for entry in self.entries.iter().filter(|e| e.name == name) {
            let applies = match entry.action {
                DefaultEnvAction::Override | DefaultEnvAction::Unset => true,
                DefaultEnvAction::Fallback => value.as_ref().is_none_or(|v| v.is_empty()),
            };
            if applies {
                value = match entry.action {
                    DefaultEnvAction::Unset => None,
                    _ => Some(OsString::from(&entry.value)),
                };
                origin = Origin::File {
                    line: entry.line,
                    action: entry.action,
                };
            }
        }
        Resolved { value, origin }
    }

    /// A lookup for [`Environment::from_lookup`](crate::Environment::from_lookup) that sees
    /// `process` with this file layered over it.
    pub fn layered<'a, F>(&'a self, mut process: F) -> impl FnMut(&str) -> Option<OsString> + 'a
    where
        F: FnMut(&str) -> Option<OsString> + 'a,
    {
        move |name| self.resolve(name, process(name)).value
    }

    /// For each `VESPA_TLS_*` variable: a note saying where its effective value came from, and a
    /// warning when the value `process` (the shell running the check) has differs from what a
    /// Vespa service gets from this file alone (services are started without the shell's
    /// environment).
    pub fn tls_findings<F>(&self, mut process: F) -> Diagnostics
    where
        F: FnMut(&str) -> Option<OsString>,
    {
        let mut findings = Diagnostics::new();
        let path = self.path.display();
        for name in TLS_VARIABLES {
            let shell = process(name).filter(|v| !v.is_empty());
            let layered = self.resolve(name, shell.clone());
            let file_only = self.resolve(name, None);
            let origin = match (&layered.value, &layered.origin) {
                (_, Origin::NotSet) => None,
                (Some(value), Origin::Process) => {
                    Some(format!("{} from the process environment", shown(value)))
                }
                (None, Origin::File { line, action }) => {
                    Some(format!("unset by {path}:{line} ({action})"))
                }
                (Some(value), Origin::File { line, action }) => {
                    Some(format!("{} from {path}:{line} ({action})", shown(value)))
                }
                (None, _) => None,
            };
            if let Some(origin) = origin {
                findings.push(Diagnostic::at_variable(
                    Severity::Note,
                    codes::ENV_ORIGIN,
                    name,
                    origin,
                ));
            }
            let Some(shell) = shell else { continue };
            if file_only.value.as_ref() == Some(&shell) {
                continue;
            }
            let message = match (&layered.origin, &file_only.value, &file_only.origin) {
                (
                    Origin::File {
                        line,
                        action: DefaultEnvAction::Unset,
                    },
                    _,
                    _,
                ) => format!(
                    "the shell sets {} but {path}:{line} unsets it: Vespa's services do not see it",
                    shown(&shell)
                ),
                (Origin::File { line, .. }, Some(value), _) => format!(
                    "the shell sets {} but {path}:{line} overrides it: Vespa's services use {}",
                    shown(&shell),
                    shown(value)
                ),
                (_, Some(value), Origin::File { line, .. }) => format!(
                    "the shell sets {} but Vespa's services, started without this shell's \
                     environment, get {} from {path}:{line}",
                    shown(&shell),
                    shown(value)
                ),
                _ => format!(
                    "the shell sets {} but {path} does not: Vespa's services, started without \
                     this shell's environment, do not see it",
                    shown(&shell)
                ),
            };
            findings.push(Diagnostic::at_variable(
                Severity::Warning,
                codes::ENV_SHELL_DISAGREES,
                name,
                message,
            ));
        }
        findings
    }
}

/// A value quoted and escaped for a message.
fn shown(value: &OsString) -> String {
    format!("\"{}\"", Escaped(&value.to_string_lossy()))
}

fn is_ascii_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Action, name and the rest of the line (trailing white space dropped); missing fields are empty.
fn fields(line: &str) -> [&str; 3] {
    let mut rest = line.trim_start_matches(is_ascii_space);
    let mut out = [""; 3];
    for slot in out.iter_mut().take(2) {
        let end = rest.find(is_ascii_space).unwrap_or(rest.len());
        *slot = &rest[..end];
        rest = rest[end..].trim_start_matches(is_ascii_space);
    }
    out[2] = rest.trim_end_matches(is_ascii_space);
    out
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_like_vespa() {
        // (line, [action, name, value])
        let table = [
            ("override A b", ["override", "A", "b"]),
            ("  fallback\tA  b c  ", ["fallback", "A", "b c"]),
            ("unset A", ["unset", "A", ""]),
            ("unset A ", ["unset", "A", ""]),
            ("override", ["override", "", ""]),
            ("", ["", "", ""]),
            ("   ", ["", "", ""]),
        ];
        for (line, expected) in table {
            assert_eq!(fields(line), expected, "{line:?}");
        }
    }
}
