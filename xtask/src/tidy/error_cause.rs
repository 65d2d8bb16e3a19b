//! The one-cause rule for thiserror types: an underlying error is either in the message or in
//! `source()`, never both (see docs/ARCHITECTURE.md, "Errors").
//!
//! thiserror makes a field the `source()` when it is named `source` or marked `#[source]` or
//! `#[from]`. If the `#[error("…")]` message of the same variant also interpolates that field,
//! `{:#}` and every reporter that walks the chain print the cause twice. The scan reads each
//! `#[error(…)]` attribute (skipping `transparent`), the variant or struct it belongs to and that
//! item's fields, and flags a format string or argument that names the source field. Comments
//! and string literals are blanked first, so a snippet in a doc comment is not read as code.

/// One message that repeats its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// 1-based line of the `#[error(` attribute.
    pub(crate) line: usize,
    /// The variant or struct.
    pub(crate) item: String,
    /// The source field, as the message names it (`source`, `0`, `error`).
    pub(crate) field: String,
}

/// Every `#[error("…")]` in `text` whose message interpolates its item's source field.
pub(crate) fn scan(text: &str) -> Vec<Finding> {
    let code = blank(text);
    let bytes = code.as_bytes();
    let mut findings = Vec::new();
    let mut from = 0;
    while let Some(offset) = code[from..].find("#[error(") {
        let start = from + offset;
        from = start + 1;
        let open = start + "#[error".len();
        let Some(close) = matching(bytes, open) else {
            continue;
        };
        let attribute = &text[open + 1..close];
        let Some((format, args)) = split_format(attribute) else {
            continue; // `transparent`, or a form we do not read
        };
        let Some((item, fields)) = item_after(&code, close + 1) else {
            continue;
        };
        let Some(field) = fields.iter().find(|f| f.is_source) else {
            continue;
        };
        if names_field(&format, &args, &field.name) {
            findings.push(Finding {
                line: text[..start].matches('\n').count() + 1,
                item,
                field: field.name.clone(),
            });
        }
    }
    findings
}

struct Field {
    name: String,
    is_source: bool,
}

/// `text` with comments and the contents of string and char literals replaced by spaces,
/// byte for byte, so offsets and line numbers stay the same and the quotes stay in place.
fn blank(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank_range = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                blank_range(&mut out, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                blank_range(&mut out, i, end);
                i = end;
            }
            b'r' if raw_string_at(bytes, i).is_some() => {
                let (body, end) = raw_string_at(bytes, i).unwrap_or((i, i));
                blank_range(&mut out, body, end);
                i = end;
            }
            b'"' => {
                let end = string_end(bytes, i + 1);
                blank_range(&mut out, i + 1, end.saturating_sub(1).max(i + 1));
                i = end;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\''), or a lifetime ('a), which is left alone.
                if bytes.get(i + 1) == Some(&b'\\') {
                    // The escaped character itself may be a quote: look past it.
                    let end = text
                        .get(i + 3..)
                        .and_then(|t| t.find('\''))
                        .map_or(bytes.len(), |n| i + 3 + n + 1);
                    blank_range(&mut out, i + 1, end.saturating_sub(1).max(i + 1));
                    i = end;
                } else if let Some(len) = text[i + 1..].chars().next().map(char::len_utf8)
                    && bytes.get(i + 1 + len) == Some(&b'\'')
                {
                    blank_range(&mut out, i + 1, i + 1 + len);
                    i += len + 2;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// For `r"…"` or `r#"…"#` at `i` (not part of a longer identifier): where the body starts and
/// where the literal ends.
fn raw_string_at(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
        return None;
    }
    let mut j = i + 1;
    while bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'"') {
        return None;
    }
    let hashes = j - i - 1;
    let body = j + 1;
    let mut k = body;
    while k < bytes.len() {
        if bytes[k] == b'"'
            && bytes[k + 1..]
                .iter()
                .take(hashes)
                .filter(|b| **b == b'#')
                .count()
                == hashes
        {
            return Some((body, k + 1 + hashes));
        }
        k += 1;
    }
    Some((body, bytes.len()))
}

/// The offset just past the closing quote of a string whose body starts at `i`.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The offset of the bracket that closes the one at `open` (in blanked code).
fn matching(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The format string and the argument text of an attribute's contents (`"…", a, b`); `None`
/// for `transparent` or anything that does not start with a string literal.
fn split_format(attribute: &str) -> Option<(String, String)> {
    let trimmed = attribute.trim_start();
    let bytes = trimmed.as_bytes();
    let (body, end) = if trimmed.starts_with('"') {
        let end = string_end(bytes, 1);
        (trimmed[1..end.saturating_sub(1)].to_owned(), end)
    } else if trimmed.starts_with('r') {
        let (body, end) = raw_string_at(bytes, 0)?;
        let hashes = body - 2;
        (trimmed[body..end - 1 - hashes].to_owned(), end)
    } else {
        return None;
    };
    Some((body, trimmed[end..].to_owned()))
}

/// The name and fields of the variant or struct that the attribute ending before `from`
/// belongs to. Further attributes in between are skipped.
fn item_after(code: &str, from: usize) -> Option<(String, Vec<Field>)> {
    let bytes = code.as_bytes();
    let mut i = from;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b']') {
            i += 1;
        }
        if code[i..].starts_with("#[") {
            i = matching(bytes, i + 1)? + 1;
        } else {
            break;
        }
    }
    let mut words = Vec::new();
    let body_start = loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let word_end = code[i..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(code.len(), |n| i + n);
        if word_end > i {
            words.push(&code[i..word_end]);
            i = word_end;
            continue;
        }
        match bytes.get(i) {
            // `pub(crate)` and generics are skipped; the body is the next `{` or `(`.
            Some(b'(') if words.last() == Some(&"pub") => i = matching(bytes, i)? + 1,
            Some(b'<') => i = code[i..].find('>').map(|n| i + n + 1)?,
            Some(b'{' | b'(') => break i,
            _ => return None, // a unit variant or struct: no fields, no source
        }
    };
    if words.contains(&"enum") {
        return None;
    }
    let name = (*words.last()?).to_owned();
    let body_end = matching(bytes, body_start)?;
    let tuple = bytes[body_start] == b'(';
    let fields = split_top_level(&code[body_start + 1..body_end])
        .iter()
        .enumerate()
        .filter_map(|(index, field)| read_field(field, tuple.then_some(index)))
        .collect();
    Some((name, fields))
}

/// `text` split at commas outside any brackets; empty parts dropped.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// One field: its attributes decide whether it is the source; named fields also count by name.
fn read_field(text: &str, index: Option<usize>) -> Option<Field> {
    let mut rest = text.trim_start();
    let mut marked = false;
    while let Some(attribute) = rest.strip_prefix("#[") {
        let end = matching(rest.as_bytes(), 1)?;
        let inner = attribute[..end - 2].trim();
        marked |= inner == "source" || inner == "from";
        rest = rest[end + 1..].trim_start();
    }
    match index {
        Some(index) => Some(Field {
            name: index.to_string(),
            is_source: marked,
        }),
        None => {
            let rest = match rest.strip_prefix("pub") {
                Some(r) if !r.starts_with(|c: char| c.is_alphanumeric() || c == '_') => {
                    let r = r.trim_start();
                    match r.strip_prefix('(') {
                        Some(scope) => scope.split_once(')').map_or(r, |(_, after)| after),
                        None => r,
                    }
                }
                _ => rest,
            };
            let name = rest.split(':').next()?.trim().to_owned();
            let is_source = marked || name == "source";
            Some(Field { name, is_source })
        }
    }
}

/// Whether the format string (`{field}`, `{field:?}`, `{0}`) or an argument (`.field`,
/// `field.display()`, `.0`) names `field`.
fn names_field(format: &str, args: &str, field: &str) -> bool {
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let name = after[..close].split(':').next().unwrap_or("").trim();
        if name == field {
            return true;
        }
        rest = &after[close + 1..];
    }
    let bytes = args.as_bytes();
    let mut from = 0;
    while let Some(offset) = args[from..].find(field) {
        let start = from + offset;
        let end = start + field.len();
        from = end;
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        if word(before) || word(after) {
            continue;
        }
        // A tuple field is named `.0` in arguments; a bare number is a literal.
        if field.starts_with(|c: char| c.is_ascii_digit()) && before != Some(b'.') {
            continue;
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_a_message_that_repeats_its_source() {
        // (snippet, the (item, field) flagged, if any)
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            // A field named `source` is the source; its message must not print it.
            (
                "enum E {\n    #[error(\"{}: {source}\", path.display())]\n    Config { path: PathBuf, source: ConfigError },\n}",
                Some(("Config", "source")),
            ),
            (
                "enum E {\n    #[error(\"{peer}: {source:?}\")]\n    Io { peer: Peer, source: io::Error },\n}",
                Some(("Io", "source")),
            ),
            // As an argument.
            (
                "enum E {\n    #[error(\"{}: {}\", path.display(), source)]\n    Io { path: PathBuf, source: io::Error },\n}",
                Some(("Io", "source")),
            ),
            (
                "enum E {\n    #[error(\"cannot read: {}\", .source)]\n    Io { source: io::Error },\n}",
                Some(("Io", "source")),
            ),
            // `#[from]` and `#[source]` on tuple and named fields.
            (
                "enum E {\n    #[error(\"config: {0}\")]\n    Config(#[from] ConfigError),\n}",
                Some(("Config", "0")),
            ),
            (
                "enum E {\n    #[error(\"bad: {}\", .0)]\n    Bad(#[source] io::Error),\n}",
                Some(("Bad", "0")),
            ),
            (
                "enum E {\n    /// Docs.\n    #[error(\"{what}: {error}\")]\n    #[allow(x)]\n    Load {\n        /// What.\n        what: String,\n        /// Why.\n        #[source]\n        error: io::Error,\n    },\n}",
                Some(("Load", "error")),
            ),
            (
                "#[derive(Debug, thiserror::Error)]\n#[error(\"frame: {source}\")]\npub struct FrameError {\n    pub(crate) source: io::Error,\n}",
                Some(("FrameError", "source")),
            ),
            // The message wrapped over lines, with a line continuation.
            (
                "enum E {\n    #[error(\n        \"{}: rustls cannot use \\\n         this: {source}\",\n        path.display()\n    )]\n    Rustls { path: PathBuf, source: rustls::Error },\n}",
                Some(("Rustls", "source")),
            ),
            // Fine: the cause only in the message (a field that is not a source).
            (
                "enum E {\n    #[error(\"{}: {error}\", path.display())]\n    Config { path: PathBuf, error: ConfigError },\n}",
                None,
            ),
            (
                "enum E {\n    #[error(\"thread: {0}\")]\n    Thread(std::io::Error),\n}",
                None,
            ),
            // Fine: the cause only in source().
            (
                "enum E {\n    #[error(\"certificate: malformed DER\")]\n    Der(#[source] der::Error),\n}",
                None,
            ),
            (
                "enum E {\n    #[error(\"{}: cannot read\", path.display())]\n    Io { path: PathBuf, source: io::Error },\n}",
                None,
            ),
            // Fine: transparent forwards both.
            (
                "enum E {\n    #[error(transparent)]\n    Env(#[from] EnvError),\n}",
                None,
            ),
            // A field whose name starts with `pub` is not a visibility.
            (
                "enum E {\n    #[error(\"{publisher}\")]\n    P { #[source] publisher: E },\n}",
                Some(("P", "publisher")),
            ),
            // Char literals, including a quote, do not confuse the scan.
            (
                "const Q: char = '\\'';\nconst R: char = '\"';\nenum E {\n    #[error(\"{source}\")]\n    X { source: E },\n}",
                Some(("X", "source")),
            ),
            // Fine: another field whose name contains `source`, and `{{source}}` is literal.
            (
                "enum E {\n    #[error(\"{source_path}: {{source}}\")]\n    Copy { source_path: PathBuf, source: io::Error },\n}",
                None,
            ),
            // Fine: `{0}` is not the source; the source is field 1.
            (
                "enum E {\n    #[error(\"{0}: failed\")]\n    Step(String, #[source] io::Error),\n}",
                None,
            ),
            // Not code: a comment and a string mentioning such a variant.
            (
                "// #[error(\"{source}\")] Io { source: io::Error }\nconst S: &str = \"#[error(\\\"{source}\\\")] Io { source: E }\";",
                None,
            ),
            // Unit variants have no source.
            (
                "enum E {\n    #[error(\"not configured\")]\n    NotConfigured,\n    #[error(\"x: {source}\")]\n    X { source: E },\n}",
                Some(("X", "source")),
            ),
        ];
        for (snippet, expected) in cases {
            let found: Vec<(String, String)> = scan(snippet)
                .into_iter()
                .map(|f| (f.item, f.field))
                .collect();
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(i, f)| ((*i).to_owned(), (*f).to_owned()))
                .collect();
            assert_eq!(found, expected, "{snippet}");
        }
    }

    #[test]
    fn reports_the_line_of_the_attribute() {
        let text = "enum E {\n    A,\n    #[error(\"{source}\")]\n    B { source: E },\n}\n";
        assert_eq!(
            scan(text),
            vec![Finding {
                line: 3,
                item: "B".into(),
                field: "source".into(),
            }]
        );
    }
}
