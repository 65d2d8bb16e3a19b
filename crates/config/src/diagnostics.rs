//! Findings that are not fatal on their own: the one warning type every layer returns.

use std::fmt;
use std::path::PathBuf;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing is wrong with the file on its own.
    Note,
    /// Probably a mistake, or a place where Vespa's two stacks behave differently.
    Warning,
    /// The configuration cannot work as intended; `vespa-tls check` exits 1.
    Error,
}

impl Severity {
    /// The lower-case word used in human output (`note`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about: the thing an operator has to look at first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// An RFC 6901 JSON pointer into the config file (`""` is the whole document).
    JsonPointer(String),
    /// A file on disk (the config file itself or one of the files it names).
    Path(PathBuf),
    /// An environment variable such as `VESPA_TLS_INSECURE_MIXED_MODE`.
    EnvironmentVariable(String),
    /// A line of a line-oriented file such as `default-env.txt` (shown as `path:line`).
    Line {
        /// The file.
        path: PathBuf,
        /// The line number, counting from 1.
        line: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::JsonPointer(p) if p.is_empty() => f.write_str("(top level)"),
            Location::JsonPointer(p) => f.write_str(p),
            Location::Path(p) => write!(f, "{}", p.display()),
            Location::EnvironmentVariable(v) => f.write_str(v),
            Location::Line { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Diagnostic {
    /// How much it matters.
    pub severity: Severity,
    /// A stable kebab-case identifier, e.g. `unknown-key` or `cross-stack-hostname-default`.
    pub code: &'static str,
    /// What it is about, when it is about one thing.
    pub location: Option<Location>,
    /// One lower-case sentence saying what was found and what to do.
    pub message: String,
}

impl Diagnostic {
    /// A finding about a JSON value.
    pub fn at_pointer(
        severity: Severity,
        code: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            location: Some(Location::JsonPointer(pointer.into())),
            message: message.into(),
        }
    }

    /// A finding about a file.
    pub fn at_path(
        severity: Severity,
        code: &'static str,
        path: impl Into<PathBuf>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            location: Some(Location::Path(path.into())),
            message: message.into(),
        }
    }

    /// A finding about an environment variable.
    pub fn at_variable(
        severity: Severity,
        code: &'static str,
        variable: &str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            location: Some(Location::EnvironmentVariable(variable.to_owned())),
            message: message.into(),
        }
    }

    /// A finding about one line of a file.
    pub fn at_line(
        severity: Severity,
        code: &'static str,
        path: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            location: Some(Location::Line {
                path: path.into(),
                line,
            }),
            message: message.into(),
        }
    }

    /// A finding about nothing in particular.
    pub fn general(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            location: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{}: {location}: {}", self.severity, self.message),
            None => write!(f, "{}: {}", self.severity, self.message),
        }
    }
}

/// An ordered list of findings. Returned by every layer, never printed by a library.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No findings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one finding.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Appends every finding of `other`, keeping their order.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// The findings, in the order they were made.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// How many findings there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether any finding is error-level.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The findings with the given code.
    pub fn with_code<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Diagnostic> + 'a {
        self.items.iter().filter(move |d| d.code == code)
    }

    /// The highest severity present, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.items.iter().map(|d| d.severity).max()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics {
            items: iter.into_iter().collect(),
        }
    }
}
