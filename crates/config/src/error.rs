//! The one error type of this crate.

use std::fmt;

/// Why a config file was rejected. The message names the place first: a line and column for
/// syntax errors, an RFC 6901 JSON pointer for everything else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The bytes are not one strict JSON document.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the offending byte.
        line: usize,
        /// 1-based column of the offending byte.
        column: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// The JSON is well-formed but breaks a rule of the format.
    #[error("{}: {message}", DisplayPointer(pointer))]
    Invalid {
        /// RFC 6901 pointer to the offending value (`""` for the whole document).
        pointer: String,
        /// What was expected and what was found, and how to fix it where that is not obvious.
        message: String,
    },
}

impl ConfigError {
    /// The JSON pointer of the offending value, for errors that have one.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            ConfigError::Syntax { .. } => None,
            ConfigError::Invalid { pointer, .. } => Some(pointer),
        }
    }

    /// The message without its location.
    pub fn message(&self) -> &str {
        match self {
            ConfigError::Syntax { message, .. } | ConfigError::Invalid { message, .. } => message,
        }
    }

    pub(crate) fn invalid(pointer: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }
}

struct DisplayPointer<'a>(&'a str);

impl fmt::Display for DisplayPointer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(top level)")
        } else {
            f.write_str(self.0)
        }
    }
}
