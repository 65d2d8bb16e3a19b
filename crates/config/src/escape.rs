//! Printing names that come from certificates without letting them write to the terminal.
//!
//! A peer chooses its certificate's CN and SANs. Written unescaped, a CN with `\n` forges a log
//! line and one with `ESC [` drives the operator's terminal. [`Escaped`] is the one way every
//! layer prints such a name. It lives here, in the bottom crate, because every crate that prints
//! certificate names (authz, material, context, the CLI) depends on this one and on nothing
//! below it: material does not depend on authz, so authz would be out of its reach. It sits
//! beside `Diagnostics`, the other piece of output every layer shares.

use std::fmt::{self, Write as _};

/// Writes a string with its control characters escaped: `\n`, `\r` and `\t` as themselves,
/// other C0 controls and DEL as `\x1b`, C1 controls as `\u{85}`. Everything else (including
/// non-ASCII letters and the backslash) is written as it is, so ordinary names read unchanged.
///
/// Width, fill and alignment (`{:<20}`) apply to the escaped text.
///
/// ```
/// use vespa_tls_config::Escaped;
/// let cn = "node1\n2026-01-01 INFO forged line\x1b[31m";
/// assert_eq!(
///     Escaped(cn).to_string(),
///     r"node1\n2026-01-01 INFO forged line\x1b[31m"
/// );
/// assert_eq!(Escaped("nœud-é.example.com").to_string(), "nœud-é.example.com");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.chars().any(char::is_control) {
            return f.pad(self.0);
        }
        let mut escaped = String::with_capacity(self.0.len() + 8);
        let mut rest = self.0;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| c.is_control()) {
            escaped.push_str(&rest[..at]);
            // Writing to a String cannot fail.
            let _ = match c {
                '\n' => escaped.write_str("\\n"),
                '\r' => escaped.write_str("\\r"),
                '\t' => escaped.write_str("\\t"),
                c if c.is_ascii() => write!(escaped, "\\x{:02x}", u32::from(c)),
                c => write!(escaped, "\\u{{{:x}}}", u32::from(c)),
            };
            rest = &rest[at + c.len_utf8()..];
        }
        escaped.push_str(rest);
        f.pad(&escaped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        let table = [
            ("", ""),
            ("node1.example.com", "node1.example.com"),
            ("a\nb", r"a\nb"),
            ("a\rb", r"a\rb"),
            ("a\tb", r"a\tb"),
            ("\x1b[31mred", r"\x1b[31mred"),
            ("\0\x07\x08\x0b\x0c\x1f", r"\x00\x07\x08\x0b\x0c\x1f"),
            ("del\x7f", r"del\x7f"),
            ("next\u{85}line", r"next\u{85}line"),
            ("\u{80}\u{9b}\u{9f}", r"\u{80}\u{9b}\u{9f}"),
            ("é\u{a0}ü", "é\u{a0}ü"),
            ("日本.example", "日本.example"),
            (r"back\slash", r"back\slash"),
            ("\n\n", r"\n\n"),
        ];
        for (input, expected) in table {
            assert_eq!(Escaped(input).to_string(), expected, "{input:?}");
        }
    }

    #[test]
    fn escaped_output_has_no_control_characters() {
        let every: String = (0..=0x10ffff_u32).filter_map(char::from_u32).collect();
        let out = Escaped(&every).to_string();
        assert!(!out.chars().any(char::is_control));
        assert_eq!(
            out.chars().count(),
            every.chars().count() + 30 * 3 + 3 + 32 * 5,
            "C0 and DEL but \\n \\r \\t grow to four characters, those three to two, C1 to six"
        );
    }

    #[test]
    fn padding_applies_to_the_escaped_text() {
        assert_eq!(format!("[{:<6}]", Escaped("ab")), "[ab    ]");
        assert_eq!(format!("[{:>6}]", Escaped("a\nb")), "[  a\\nb]");
    }
}
