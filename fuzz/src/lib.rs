//! What the fuzz targets share: how each target reads its bytes, the reference glob matcher, the
//! fixed policy set of `authz` and the full-decode oracle of `cert_credentials`.
//!
//! The input formats are plain text where that is possible, so corpus files can be read and
//! written by hand; `examples/seeds.rs` writes the seeds that need a certificate or a key.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[path = "../../crates/authz/tests/it/oracle/mod.rs"]
pub mod oracle;
pub mod reference;

use vespa_tls_authz::{GlobDialect, PeerCredentials};

/// Separates the three files in a `pem_material` input: a NUL never occurs in PEM text.
pub const FILE_SEPARATOR: &[u8] = b"\0--\0";

/// The three files of a `pem_material` input, in the order CA bundle, certificates, key.
///
/// The input is split at the first two [`FILE_SEPARATOR`]s; missing files are empty.
pub fn split_files(data: &[u8]) -> [&[u8]; 3] {
    let mut files: [&[u8]; 3] = [&[], &[], &[]];
    let mut rest = data;
    for (i, file) in files.iter_mut().enumerate() {
        let at = if i < 2 {
            find(rest, FILE_SEPARATOR)
        } else {
            None
        };
        match at {
            Some(at) => {
                *file = &rest[..at];
                rest = &rest[at + FILE_SEPARATOR.len()..];
            }
            None => {
                *file = rest;
                rest = &[];
            }
        }
    }
    files
}

/// Joins three files into a `pem_material` input (the inverse of [`split_files`]).
pub fn join_files(ca: &[u8], certificates: &[u8], key: &[u8]) -> Vec<u8> {
    [ca, certificates, key].join(FILE_SEPARATOR)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Bytes longer than this are not glob cases: the reference matcher is quadratic.
pub const GLOB_MAX_INPUT: usize = 1024;

/// One `glob` input: `flags`, then the pattern, a newline and the text to match.
///
/// Flag bit 0 picks the dialect (0: `CN`/`SAN_DNS`, 1: `SAN_URI`); bit 1 asks for the linearity
/// check on a long text. Invalid UTF-8 is replaced (both matchers take `&str`), and a pattern
/// cannot hold a newline (the text can).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobCase {
    /// The dialect both matchers use.
    pub dialect: GlobDialect,
    /// Whether to also match a long repetition of the text (`-timeout` is the bound).
    pub long_text: bool,
    /// The pattern.
    pub pattern: String,
    /// The text matched against it.
    pub text: String,
}

impl GlobCase {
    /// Reads a case; `None` for an empty or oversized input.
    pub fn read(data: &[u8]) -> Option<GlobCase> {
        let (&flags, rest) = data.split_first()?;
        if data.len() > GLOB_MAX_INPUT {
            return None;
        }
        let rest = String::from_utf8_lossy(rest);
        let (pattern, text) = rest.split_once('\n').unwrap_or((&rest, ""));
        Some(GlobCase {
            dialect: if flags & 1 == 0 {
                GlobDialect::Dns
            } else {
                GlobDialect::Uri
            },
            long_text: flags & 2 != 0,
            pattern: pattern.to_owned(),
            text: text.to_owned(),
        })
    }

    /// The bytes [`GlobCase::read`] reads back as this case.
    pub fn to_bytes(&self) -> Vec<u8> {
        let flags = u8::from(self.dialect == GlobDialect::Uri) | (u8::from(self.long_text) << 1);
        let mut out = vec![flags];
        out.extend_from_slice(self.pattern.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.text.as_bytes());
        out
    }
}

/// Reads `authz` credentials: one per line, `c` + CN, `d` + DNS SAN, `u` + URI SAN.
///
/// Like certificate extraction, the last non-empty CN wins. Other lines are ignored, and invalid
/// UTF-8 is replaced.
pub fn read_credentials(data: &[u8]) -> PeerCredentials {
    let text = String::from_utf8_lossy(data);
    let mut credentials = PeerCredentials::default();
    for line in text.split('\n') {
        let mut chars = line.chars();
        let kind = chars.next();
        let value = chars.as_str();
        match kind {
            Some('c') if !value.is_empty() => credentials.common_name = Some(value.to_owned()),
            Some('d') => credentials.dns_sans.push(value.to_owned()),
            Some('u') => credentials.uri_sans.push(value.to_owned()),
            _ => {}
        }
    }
    credentials
}

/// The fixed policy set of the `authz` target: every field, both dialects, several
/// requirements in one policy, a policy without `capabilities` (grants all), capability sets,
/// and a policy whose only capability is unknown (grants nothing).
pub const AUTHZ_POLICIES: &str = r#"{
  "files": {"ca-certificates": "/c", "certificates": "/h", "private-key": "/k"},
  "authorized-peers": [
    {
      "name": "monitoring",
      "required-credentials": [
        {"field": "CN", "must-match": "vespa-monitoring.example.com"},
        {"field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com"}
      ],
      "capabilities": ["vespa.telemetry"]
    },
    {
      "name": "cluster",
      "required-credentials": [{"field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com"}],
      "capabilities": ["vespa.content_node", "vespa.slobrok.api"]
    },
    {
      "name": "nodes",
      "required-credentials": [{"field": "SAN_URI", "must-match": "vespa://myapp/content/*"}]
    },
    {
      "name": "fancy",
      "required-credentials": [
        {"field": "SAN_URI", "must-match": "myscheme://my/fancy/*?magic"},
        {"field": "CN", "must-match": "f?o*"}
      ],
      "capabilities": ["vespa.none"]
    },
    {
      "name": "future",
      "required-credentials": [{"field": "CN", "must-match": "*"}],
      "capabilities": ["vespa.not_yet_invented"]
    },
    {
      "name": "empty-pattern",
      "required-credentials": [{"field": "SAN_DNS", "must-match": ""}],
      "capabilities": ["vespa.logserver.api"]
    }
  ]
}"#;
