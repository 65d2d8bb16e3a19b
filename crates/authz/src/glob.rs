//! Vespa's two glob dialects, parsed once and matched in time linear in the input.
//!
//! Literal text before the first wildcard and after the last one is compared directly. For the
//! part in between, in both dialects a boundary character splits the pattern and the input into
//! segments, and nothing but a literal boundary in the pattern can match a boundary in the input
//! (`*` and `?` never cross it). So it matches iff the input has exactly as many segments as the
//! pattern and each input segment matches its pattern segment. Within a segment, the pattern is
//! a list of fixed-width chunks separated by `*`; the first chunk is anchored at the start, the
//! last at the end, and the middle ones are placed leftmost-first, which is optimal for globs.
//! Each input byte is therefore examined at most once per pattern chunk: no backtracking.

use std::fmt;

use vespa_tls_config::CredentialField;

/// Which of Vespa's two glob dialects a pattern is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GlobDialect {
    /// `CN` and `SAN_DNS`: boundary `.`; `*` is zero or more non-`.` characters and `?` exactly
    /// one non-`.` character.
    Dns,
    /// `SAN_URI`: boundary `/`; `*` is zero or more non-`/` characters and `?` is a literal.
    Uri,
}

impl GlobDialect {
    /// The dialect Vespa uses for patterns on `field`.
    pub fn for_field(field: CredentialField) -> Self {
        match field {
            CredentialField::Cn | CredentialField::SanDns => GlobDialect::Dns,
            CredentialField::SanUri => GlobDialect::Uri,
        }
    }

    /// The character neither `*` nor `?` can match.
    pub fn boundary(self) -> char {
        match self {
            GlobDialect::Dns => '.',
            GlobDialect::Uri => '/',
        }
    }

    /// Whether `?` is a single-character wildcard (otherwise it is a literal).
    pub fn question_mark_is_wildcard(self) -> bool {
        self == GlobDialect::Dns
    }
}

/// A compiled glob pattern: anchored at both ends, case-sensitive, no escapes.
///
/// Every string is a valid pattern, so compiling cannot fail.
///
/// ```
/// use vespa_tls_authz::{Glob, GlobDialect};
/// let glob = Glob::new("*.us-east-*.monitor.example.com", GlobDialect::Dns);
/// assert!(glob.is_match("i1.us-east-2.monitor.example.com"));
/// assert!(!glob.is_match("i1.us-west-2.monitor.example.com"));
/// assert!(!glob.is_match("x.i1.us-east-2.monitor.example.com"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    dialect: GlobDialect,
    boundary: u8,
    /// The literal text before the first wildcard (all of it when there is no wildcard).
    prefix: Box<[u8]>,
    /// The literal text after the last wildcard.
    suffix: Box<[u8]>,
    /// The part from the first to the last wildcard, by segment; `None` without wildcards.
    segments: Option<Box<[Segment]>>,
}

impl Glob {
    /// Compiles `pattern` in `dialect`.
    pub fn new(pattern: &str, dialect: GlobDialect) -> Self {
        let boundary = dialect.boundary();
        let is_wildcard = |c: char| c == '*' || (c == '?' && dialect.question_mark_is_wildcard());
        // Literal text at either end is compared directly; only the middle needs segments.
        let (prefix, suffix, segments) =
            match (pattern.find(is_wildcard), pattern.rfind(is_wildcard)) {
                (Some(first), Some(last)) => {
                    // Both wildcards are one byte long.
                    let middle = &pattern[first..=last];
                    let segments = middle
                        .split(boundary)
                        .map(|segment| Segment::compile(segment, dialect))
                        .collect();
                    (&pattern[..first], &pattern[last + 1..], Some(segments))
                }
                _ => (pattern, "", None),
            };
        Glob {
            pattern: pattern.to_owned(),
            dialect,
            // Both boundaries are ASCII, so byte-wise splitting of UTF-8 input is exact.
            boundary: boundary as u8,
            prefix: prefix.as_bytes().into(),
            suffix: suffix.as_bytes().into(),
            segments,
        }
    }

    /// Compiles `pattern` in the dialect Vespa uses for `field`.
    pub fn for_field(pattern: &str, field: CredentialField) -> Self {
        Glob::new(pattern, GlobDialect::for_field(field))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The dialect the pattern was compiled in.
    pub fn dialect(&self) -> GlobDialect {
        self.dialect
    }

    /// Whether the whole of `input` matches the pattern. Never allocates.
    pub fn is_match(&self, input: &str) -> bool {
        self.match_counting(input.as_bytes(), &mut ())
    }

    /// [`Glob::is_match`], and how many input bytes the matcher examined on the way: the work
    /// measure behind the linear-time guarantee, for tests (a clock would measure the machine).
    #[doc(hidden)]
    pub fn is_match_counting(&self, input: &str) -> (bool, u64) {
        let mut work = 0;
        let matched = self.match_counting(input.as_bytes(), &mut work);
        (matched, work)
    }

    fn match_counting(&self, input: &[u8], work: &mut impl Work) -> bool {
        let Some(segments) = &self.segments else {
            work.add(self.prefix.len());
            return bytes_eq(input, &self.prefix);
        };
        let (prefix, suffix) = (self.prefix.len(), self.suffix.len());
        work.add(prefix + suffix);
        if input.len() < prefix + suffix
            || !bytes_eq(&input[..prefix], &self.prefix)
            || !bytes_eq(&input[input.len() - suffix..], &self.suffix)
        {
            return false;
        }
        // Cuts after a whole-character prefix and before a whole-character suffix of valid
        // UTF-8 fall on character boundaries.
        let middle = &input[prefix..input.len() - suffix];
        // Splitting at the boundary reads the middle once.
        work.add(middle.len());
        let mut inputs = middle.split(|&b| b == self.boundary);
        for segment in segments.iter() {
            match inputs.next() {
                Some(text) if segment.is_match(text, work) => {}
                _ => return false,
            }
        }
        inputs.next().is_none()
    }

    /// Whether the pattern matches the empty string (Vespa's C++ matches a missing CN as `""`).
    pub fn matches_empty(&self) -> bool {
        self.is_match("")
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Glob")
            .field("pattern", &self.pattern)
            .field("dialect", &self.dialect)
            .finish()
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Counts the input bytes the matcher examines; `()` counts nothing and compiles away.
trait Work {
    fn add(&mut self, bytes: usize);
}

impl Work for () {
    #[inline(always)]
    fn add(&mut self, _: usize) {}
}

impl Work for u64 {
    fn add(&mut self, bytes: usize) {
        *self += bytes as u64;
    }
}

/// One boundary-free part of a pattern: chunks separated by `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// No `*`: the segment must be exactly this chunk.
    Exact(Chunk),
    /// At least one `*`: `head * middle[0] * … * tail`.
    Star {
        head: Chunk,
        middle: Box<[Chunk]>,
        tail: Chunk,
    },
}

impl Segment {
    fn compile(segment: &str, dialect: GlobDialect) -> Self {
        let mut chunks: Vec<Chunk> = segment
            .split('*')
            .map(|chunk| Chunk::compile(chunk, dialect))
            .collect();
        if chunks.len() == 1 {
            return Segment::Exact(chunks.remove(0));
        }
        let tail = chunks.pop().unwrap_or_default();
        let head = if chunks.is_empty() {
            Chunk::default()
        } else {
            chunks.remove(0)
        };
        // Empty middle chunks come from `**` and match anywhere: drop them.
        chunks.retain(|c| !c.pieces.is_empty());
        Segment::Star {
            head,
            middle: chunks.into_boxed_slice(),
            tail,
        }
    }

    fn is_match(&self, text: &[u8], work: &mut impl Work) -> bool {
        match self {
            Segment::Exact(chunk) => chunk.match_at(text, 0, work) == Some(text.len()),
            Segment::Star { head, middle, tail } => {
                let Some(mut from) = head.match_at(text, 0, work) else {
                    return false;
                };
                let Some(tail_start) = tail.start_of_suffix(text, work) else {
                    return false;
                };
                if tail_start < from || tail.match_at(text, tail_start, work) != Some(text.len()) {
                    return false;
                }
                let window = &text[..tail_start];
                for chunk in middle.iter() {
                    match chunk.find(window, from, work) {
                        Some(end) => from = end,
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

/// A fixed-width run of literals and one-character wildcards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Chunk {
    pieces: Box<[Piece]>,
    /// Width in characters (Unicode scalar values).
    chars: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// UTF-8 bytes that must appear as they are.
    Literal(Box<[u8]>),
    /// Exactly one character (the segment holds no boundary, so any character will do).
    AnyChar,
}

impl Chunk {
    fn compile(chunk: &str, dialect: GlobDialect) -> Self {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = 0;
        for c in chunk.chars() {
            chars += 1;
            if c == '?' && dialect.question_mark_is_wildcard() {
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(
                        std::mem::take(&mut literal).into_bytes().into(),
                    ));
                }
                pieces.push(Piece::AnyChar);
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal.into_bytes().into()));
        }
        Chunk {
            pieces: pieces.into_boxed_slice(),
            chars,
        }
    }

    /// Matches the chunk at byte offset `at`; returns the offset just past it.
    fn match_at(&self, text: &[u8], mut at: usize, work: &mut impl Work) -> Option<usize> {
        for piece in self.pieces.iter() {
            match piece {
                Piece::Literal(bytes) => {
                    work.add(bytes.len());
                    let end = at.checked_add(bytes.len())?;
                    if !bytes_eq(text.get(at..end)?, bytes) {
                        return None;
                    }
                    at = end;
                }
                Piece::AnyChar => {
                    work.add(1);
                    at += utf8_width(*text.get(at)?);
                }
            }
        }
        // `at` can only overshoot through a truncated character, which valid UTF-8 never has.
        (at <= text.len()).then_some(at)
    }

    /// The leftmost placement at or after `from`; returns the offset just past it.
    fn find(&self, text: &[u8], from: usize, work: &mut impl Work) -> Option<usize> {
        let first = match self.pieces.first() {
            Some(Piece::Literal(bytes)) => bytes.first().copied(),
            _ => None,
        };
        let mut at = from;
        while at < text.len() {
            work.add(1);
            let byte = text[at];
            if first.is_none_or(|b| b == byte)
                && let Some(end) = self.match_at(text, at, work)
            {
                return Some(end);
            }
            at += utf8_width(byte);
        }
        None
    }

    /// The byte offset where the last `self.chars` characters of `text` begin.
    fn start_of_suffix(&self, text: &[u8], work: &mut impl Work) -> Option<usize> {
        let mut at = text.len();
        work.add(self.chars);
        for _ in 0..self.chars {
            at = at.checked_sub(1)?;
            while at > 0 && is_continuation(text[at]) {
                at -= 1;
            }
        }
        Some(at)
    }
}

/// Slice equality without a call into libc: the strings compared here are short, and on some
/// virtual CPUs libc's vectorised `memcmp` costs more than the whole match (measured: 5×).
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// The length of the UTF-8 sequence a leading byte starts (1 for stray bytes, so scans advance).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_dialect_table() {
        let table: &[(&str, &str, bool)] = &[
            // VESPA-BEHAVIOUR §3 examples.
            ("*.bar.baz", "foo.bar.baz", true),
            ("*.bar.baz", ".bar.baz", true),
            ("*.bar.baz", "zoid.foo.bar.baz", false),
            ("f?o", "foo", true),
            ("f?o", "f.o", false),
            ("f?o", "fo", false),
            ("f?o", "fooo", false),
            // Empty pattern matches only the empty string.
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "abc", true),
            ("*", "a.b", false),
            ("?", "", false),
            ("?", "é", true),
            ("?", "ab", false),
            ("??", "é€", true),
            // Anchored and case-sensitive.
            ("foo", "xfoo", false),
            ("foo", "foox", false),
            ("foo", "FOO", false),
            // Every other character is a literal; no escapes.
            ("a+b", "a+b", true),
            ("a+b", "aab", false),
            ("[ab]", "[ab]", true),
            ("[ab]", "a", false),
            ("a\\*", "a\\x", true),
            ("a\\*", "a*", false),
            ("^$|()", "^$|()", true),
            ("a/b", "a/b", true),
            ("*/*", "a/b", true),
            // A wildcard in the value is just text.
            ("foo", "f?o", false),
            ("f*", "f*", true),
            // Several stars in one segment.
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("a*b*c", "aXbY.c", false),
            ("*a*", "bab", true),
            ("*a*", "bbb", false),
            ("**", "xyz", true),
            ("a**b", "ab", true),
            ("*ab*ab", "abab", true),
            ("*ab*ab", "aab", false),
            ("*?*", "", false),
            ("*?*", "x", true),
            ("*a?c*", "xxabcxx", true),
            ("*a?c*", "xxa.cxx", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            // The literal prefix and suffix must not overlap in the input.
            ("ab*b", "ab", false),
            ("ab*b", "abb", true),
            ("a?a", "a", false),
            ("é*é", "é", false),
            ("é*é", "éé", true),
            ("x.*.y", "x..y", true),
            ("x.*.y", "x.y", false),
            // Seed guide example.
            (
                "*.us-east-*.monitor.example.com",
                "i1.us-east-1.monitor.example.com",
                true,
            ),
            (
                "*.us-east-*.monitor.example.com",
                "i1.us-east-.monitor.example.com",
                true,
            ),
            (
                "*.us-east-*.monitor.example.com",
                "i1.us-west-1.monitor.example.com",
                false,
            ),
            (
                "*.us-east-*.monitor.example.com",
                "a.i1.us-east-1.monitor.example.com",
                false,
            ),
            (
                "*.us-east-*.monitor.example.com",
                "i1.us-east-1.monitor.example.com.",
                false,
            ),
            (
                "*.us-east-*.monitor.example.com",
                "i1.xus-east-1.monitor.example.com",
                false,
            ),
            (
                "*.us-east-*.monitor.example.com",
                "i1.us-east-1.Monitor.example.com",
                false,
            ),
        ];
        for &(pattern, input, expected) in table {
            let glob = Glob::new(pattern, GlobDialect::Dns);
            assert_eq!(glob.is_match(input), expected, "{pattern:?} on {input:?}");
        }
    }

    #[test]
    fn uri_dialect_table() {
        let table: &[(&str, &str, bool)] = &[
            // VESPA-BEHAVIOUR §3 examples.
            (
                "vespa://myapp/content/*",
                "vespa://myapp/content/node1",
                true,
            ),
            (
                "vespa://myapp/content/*",
                "vespa://myapp/content/node1/myservice",
                false,
            ),
            ("vespa://myapp/content/*", "vespa://myapp/content/", true),
            (
                "myscheme://my/fancy/*?magic",
                "myscheme://my/fancy/?magic",
                true,
            ),
            (
                "myscheme://my/fancy/*?magic",
                "myscheme://my/fancy/x?magic",
                true,
            ),
            (
                "myscheme://my/fancy/*?magic",
                "myscheme://my/fancy/xmagic",
                false,
            ),
            // `?` is a literal; `.` is an ordinary character and `*` crosses it.
            ("a?c", "abc", false),
            ("a?c", "a?c", true),
            ("*", "a.b.c", true),
            ("*", "a/b", false),
            (
                "spiffe://*.example.com/ns/*",
                "spiffe://x.y.example.com/ns/a",
                true,
            ),
            ("", "", true),
            ("", "/", false),
            ("/", "/", true),
            ("*/", "abc/", true),
            ("*/", "abc", false),
        ];
        for &(pattern, input, expected) in table {
            let glob = Glob::new(pattern, GlobDialect::Uri);
            assert_eq!(glob.is_match(input), expected, "{pattern:?} on {input:?}");
        }
    }

    #[test]
    fn dialect_follows_field() {
        assert_eq!(
            GlobDialect::for_field(CredentialField::Cn),
            GlobDialect::Dns
        );
        assert_eq!(
            GlobDialect::for_field(CredentialField::SanDns),
            GlobDialect::Dns
        );
        assert_eq!(
            GlobDialect::for_field(CredentialField::SanUri),
            GlobDialect::Uri
        );
        assert!(Glob::for_field("a?c", CredentialField::Cn).is_match("abc"));
        assert!(!Glob::for_field("a?c", CredentialField::SanUri).is_match("abc"));
    }

    #[test]
    fn matches_empty_and_accessors() {
        assert!(Glob::new("", GlobDialect::Dns).matches_empty());
        assert!(Glob::new("*", GlobDialect::Dns).matches_empty());
        assert!(!Glob::new("?", GlobDialect::Dns).matches_empty());
        let glob = Glob::new("*.x", GlobDialect::Uri);
        assert_eq!(glob.as_str(), "*.x");
        assert_eq!(glob.to_string(), "*.x");
        assert_eq!(glob.dialect(), GlobDialect::Uri);
        assert!(format!("{glob:?}").contains("*.x"));
    }

    #[test]
    fn pathological_pattern_is_cheap() {
        // `*a*a*…*a*b*` between literal ends, against `x aaaa… y`: the input passes the literal
        // checks and reaches the wildcard engine, where a backtracking matcher tries every
        // placement of the 50 `a`s before giving up on the `b`. Growing the input from one byte
        // makes such a matcher fail the bound at a few bytes, long before it would take long.
        let glob = Glob::new(&format!("x{}*b*y", "*a".repeat(50)), GlobDialect::Dns);
        let mut n = 1;
        while n <= 20_000 {
            let input = format!("x{}y", "a".repeat(n));
            let (matched, work) = glob.is_match_counting(&input);
            assert!(!matched);
            // The split reads each byte once, the search at most once more, plus two per
            // chunk placed.
            assert!(work <= 2 * n as u64 + 200, "work {work} for {n} bytes");
            n *= 2;
        }
        let matching = format!("x{}by", "a".repeat(20_000));
        assert!(glob.is_match_counting(&matching).0);
        assert!(glob.is_match(&matching));
    }
}
