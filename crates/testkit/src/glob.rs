//! A reference for the authorization globs: the anchored regex each glob stands for.

use regex::Regex;
use vespa_tls_authz::GlobDialect;

/// The anchored regex equivalent to `pattern` in `dialect`: `*` becomes a run of characters
/// other than the dialect's boundary, `?` (DNS dialect only) one such character, and every
/// other character stands for itself.
///
/// A straightforward translation, independent of the matcher's own engine: the property tests
/// compare the matcher with it, and the benchmarks time the regex crate on it.
///
/// ```
/// use vespa_tls_authz::GlobDialect;
/// let re = vespa_tls_testkit::glob_regex("*.example.com", GlobDialect::Dns);
/// assert!(re.is_match("node1.example.com"));
/// assert!(!re.is_match("a.node1.example.com"));
/// ```
pub fn glob_regex(pattern: &str, dialect: GlobDialect) -> Regex {
    let boundary = regex::escape(&dialect.boundary().to_string());
    let mut re = String::from(r"\A");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(&format!("[^{boundary}]*")),
            '?' if dialect == GlobDialect::Dns => re.push_str(&format!("[^{boundary}]")),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str(r"\z");
    Regex::new(&re).expect("an escaped glob is a valid regex")
}
