//! The no-I/O scan of the pure crates' sources.
//!
//! A line-by-line text search misses what rustfmt writes (`use std::{\n    fs,\n    net::TcpStream,\n};`)
//! and nested groups, so the scan reads Rust a little: comments and literals are blanked, every
//! `use` tree is expanded into full paths, and every path in the code is resolved through those
//! imports (`use std::time::Instant as Clock;` … `Clock::now()` is a clock read). What it does not
//! follow (macros that expand to I/O, `extern crate std as s`) is left to review.

/// Paths that mean I/O, with the reason shown to the contributor. A path matches when it is one
/// of these or lies below one (`std::fs::read` is below `std::fs`).
const FORBIDDEN_PATHS: &[(&str, &str)] = &[
    ("std::fs", "reads or writes files"),
    ("std::net", "opens sockets"),
    (
        "std::env",
        "reads the environment (take a lookup function instead)",
    ),
    ("std::process", "starts processes"),
    ("std::io::stdin", "reads standard input"),
    (
        "std::time::SystemTime::now",
        "reads the clock (take the time as a value instead)",
    ),
    (
        "std::time::Instant::now",
        "reads the clock (take the time as a value instead)",
    ),
    (
        "std::time::SystemTime::elapsed",
        "reads the clock (take the time as a value instead)",
    ),
    (
        "std::time::Instant::elapsed",
        "reads the clock (take the time as a value instead)",
    ),
];

/// The value types of `std::net`: addresses are data (a peer's IP SAN is one), sockets are I/O.
const NET_VALUES: &[&str] = &[
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "SocketAddrV4",
    "SocketAddrV6",
    "AddrParseError",
];

/// Path endings that mean I/O whatever the first segment resolves to (a type imported under a
/// path the scan cannot see, or written through a re-export).
const FORBIDDEN_ENDINGS: &[(&str, &str)] = &[
    (
        "SystemTime::now",
        "reads the clock (take the time as a value instead)",
    ),
    (
        "Instant::now",
        "reads the clock (take the time as a value instead)",
    ),
    ("File::open", "reads files"),
    ("File::create", "writes files"),
];

/// `x.elapsed()` reads the clock whatever `x` is (`UNIX_EPOCH.elapsed()`, `start.elapsed()`):
/// the pure crates have no other method of that name.
const ELAPSED_WHY: &str = "reads the clock (take the time as a value instead)";

/// One use of I/O in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// 1-based line of the path (for a grouped import, the line of the imported name).
    pub(crate) line: usize,
    /// The forbidden path or pattern, as the rule names it (`std::fs`, `Instant::now`, `.elapsed()`).
    pub(crate) rule: &'static str,
    /// The path as the file writes it, resolved through its imports (`std::net::TcpStream`).
    pub(crate) written: String,
    pub(crate) why: &'static str,
}

/// Every use of I/O in one Rust source file, in line order, one finding per line and rule.
pub(crate) fn scan(source: &str) -> Vec<Finding> {
    let code = blank_comments_and_literals(source);
    let tokens = lex(&code);
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;

    let mut findings = Vec::new();
    let mut imports: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_use = vec![false; tokens.len()];
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].text == "use" && tokens[i].is_ident() {
            let end = (i..tokens.len())
                .find(|&j| tokens[j].text == ";")
                .unwrap_or(tokens.len());
            in_use[i..end].fill(true);
            let mut leaves = Vec::new();
            parse_use_tree(&tokens[i + 1..end], &mut 0, &[], &mut leaves);
            for leaf in leaves {
                if let Some((rule, why)) = forbidden_path(&leaf.path) {
                    findings.push(Finding {
                        line: line_of(leaf.offset),
                        rule,
                        written: leaf.path.join("::"),
                        why,
                    });
                }
                if leaf.path.last().is_some_and(|s| s != "*") {
                    imports.push((leaf.name, leaf.path));
                }
            }
            i = end;
        }
        i += 1;
    }

    for (start, path) in code_paths(&tokens, &in_use) {
        let line = line_of(tokens[start].offset);
        let resolved = resolve(&path, &imports);
        if let Some((rule, why)) = forbidden_path(&resolved) {
            findings.push(Finding {
                line,
                rule,
                written: resolved.join("::"),
                why,
            });
            continue;
        }
        let written = path.join("::");
        for (ending, why) in FORBIDDEN_ENDINGS {
            if written == *ending || written.ends_with(&format!("::{ending}")) {
                findings.push(Finding {
                    line,
                    rule: ending,
                    written: written.clone(),
                    why,
                });
            }
        }
    }

    for window in tokens.windows(3) {
        if window[0].text == "." && window[1].text == "elapsed" && window[2].text == "(" {
            findings.push(Finding {
                line: line_of(window[1].offset),
                rule: ".elapsed()",
                written: ".elapsed()".into(),
                why: ELAPSED_WHY,
            });
        }
    }

    findings.sort_by(|a, b| (a.line, a.rule).cmp(&(b.line, b.rule)));
    findings.dedup_by(|a, b| a.line == b.line && a.rule == b.rule);
    findings
}

/// The rule a full path breaks, if any: it is a forbidden path, lies below one, or (a glob
/// import) brings one into scope.
fn forbidden_path(path: &[String]) -> Option<(&'static str, &'static str)> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    if path.starts_with(&["std", "net"]) && path.get(2).is_some_and(|t| NET_VALUES.contains(t)) {
        return None;
    }
    FORBIDDEN_PATHS.iter().copied().find(|(rule, _)| {
        let rule: Vec<&str> = rule.split("::").collect();
        match path.split_last() {
            // `use std::*;` or `use std::io::*;` imports what lies below.
            Some((&"*", parent)) => rule.starts_with(parent),
            _ => path.starts_with(&rule),
        }
    })
}

/// `path` with its first segment replaced by what the file imported under that name.
fn resolve(path: &[String], imports: &[(String, Vec<String>)]) -> Vec<String> {
    let Some((first, rest)) = path.split_first() else {
        return Vec::new();
    };
    match imports.iter().rev().find(|(name, _)| name == first) {
        Some((_, full)) => full.iter().chain(rest).cloned().collect(),
        None => path.to_vec(),
    }
}

/// An imported path: `use std::{net::TcpStream as Tcp};` gives `std::net::TcpStream`, named `Tcp`.
struct Leaf {
    path: Vec<String>,
    name: String,
    offset: usize,
}

/// Expands one use tree (the tokens between `use` and `;`) into its leaves.
fn parse_use_tree(tokens: &[Token], i: &mut usize, prefix: &[String], out: &mut Vec<Leaf>) {
    let mut path = prefix.to_vec();
    while let Some(token) = tokens.get(*i) {
        match token.text.as_str() {
            "::" => *i += 1,
            "{" => {
                *i += 1;
                while let Some(token) = tokens.get(*i) {
                    match token.text.as_str() {
                        "}" => {
                            *i += 1;
                            break;
                        }
                        "," => *i += 1,
                        _ => {
                            let before = *i;
                            parse_use_tree(tokens, i, &path, out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
                return;
            }
            "*" => {
                path.push("*".into());
                out.push(Leaf {
                    name: "*".into(),
                    path,
                    offset: token.offset,
                });
                *i += 1;
                return;
            }
            _ if token.is_ident() => {
                *i += 1;
                // `io::{self, Read}`: `self` names the group's own path.
                if token.text != "self" {
                    path.push(token.text.clone());
                }
                if tokens.get(*i).is_some_and(|t| t.text == "::") {
                    continue;
                }
                let mut name = path.last().cloned().unwrap_or_default();
                if tokens.get(*i).is_some_and(|t| t.text == "as") {
                    if let Some(alias) = tokens.get(*i + 1) {
                        name = alias.text.clone();
                    }
                    *i += 2;
                }
                out.push(Leaf {
                    path,
                    name,
                    offset: token.offset,
                });
                return;
            }
            _ => return,
        }
    }
}

/// Every path of two or more segments outside `use` declarations: (index of its first token,
/// its segments). A leading `::` is dropped.
fn code_paths(tokens: &[Token], in_use: &[bool]) -> Vec<(usize, Vec<String>)> {
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if in_use[i] || !tokens[i].is_ident() {
            i += 1;
            continue;
        }
        let start = i;
        let mut segments = vec![tokens[i].text.clone()];
        i += 1;
        while i + 1 < tokens.len() && tokens[i].text == "::" && tokens[i + 1].is_ident() {
            segments.push(tokens[i + 1].text.clone());
            i += 2;
        }
        if segments.len() > 1 {
            paths.push((start, segments));
        }
    }
    paths
}

struct Token {
    text: String,
    offset: usize,
}

impl Token {
    fn is_ident(&self) -> bool {
        self.text
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    }
}

/// Identifiers, `::` and single punctuation characters; numbers are skipped.
fn lex(code: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        if c.is_alphabetic() || c == '_' {
            let mut text = String::from(c);
            while let Some(&(_, c)) = chars.peek().filter(|(_, c)| is_ident_char(*c)) {
                text.push(c);
                chars.next();
            }
            tokens.push(Token { text, offset });
        } else if c.is_ascii_digit() {
            while chars.peek().is_some_and(|(_, c)| is_ident_char(*c)) {
                chars.next();
            }
        } else if c == ':' && chars.peek().is_some_and(|(_, c)| *c == ':') {
            chars.next();
            tokens.push(Token {
                text: "::".into(),
                offset,
            });
        } else if !c.is_whitespace() {
            tokens.push(Token {
                text: c.into(),
                offset,
            });
        }
    }
    tokens
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with comments and the contents of string and character literals replaced by
/// spaces; line breaks stay, so offsets keep their line numbers.
fn blank_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br#"…"#: no escapes; ends at a quote followed by as many hashes.
            while chars[i] != '"' {
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
            while i < chars.len() {
                if chars[i] == '"'
                    && chars[i + 1..].iter().take_while(|&&c| c == '#').count() >= hashes
                {
                    out.push_str(&" ".repeat(hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&c) = chars.get(i) {
                    out.push(blank(c));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('a', '\n', '\''); a lifetime ('a) has no closing quote.
            out.push(' ');
            i += 1;
            if chars.get(i) == Some(&'\\') {
                // The backslash and the escaped character, which may be a quote.
                out.push_str("  ");
                i += 2;
            }
            while i < chars.len() && chars[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#` of a raw string literal starting at `i` (`r"`, `r#"`, `br##"` …), or `None`.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && is_ident_char(chars[i - 1]) {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') || chars.get(j) == Some(&'c') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (source, expected findings as (line, rule)).
    const CASES: &[(&str, &[(usize, &str)])] = &[
        // What the pure crates write today passes.
        ("use std::fmt;\nuse std::path::PathBuf;\n", &[]),
        (
            "use std::fmt::{self, Write as _};\nuse std::collections::HashMap;\n",
            &[],
        ),
        (
            "let d = std::mem::take(&mut v);\nlet t = SystemTime::UNIX_EPOCH + d;\n",
            &[],
        ),
        // Plain paths, in imports and in code.
        ("use std::fs;\n", &[(1, "std::fs")]),
        ("use std::net::TcpStream;\n", &[(1, "std::net")]),
        // Addresses are values, not sockets.
        (
            "use std::net::{IpAddr, Ipv6Addr};\nlet a = std::net::IpAddr::from([127, 0, 0, 1]);\n",
            &[],
        ),
        ("use std::net::{IpAddr, UdpSocket};\n", &[(1, "std::net")]),
        ("let v = std::env::var_os(\"HOME\");\n", &[(1, "std::env")]),
        (
            "fn f() {\n    ::std::process::exit(1);\n}\n",
            &[(2, "std::process")],
        ),
        (
            "let line = std::io::stdin().lines();\n",
            &[(1, "std::io::stdin")],
        ),
        // One grouped import on one line: every name is seen.
        (
            "use std::{fmt, fs, net::TcpStream};\n",
            &[(1, "std::fs"), (1, "std::net")],
        ),
        // The layout rustfmt produces: the names on their own lines.
        (
            "use std::{\n    collections::HashMap,\n    fs,\n    net::TcpStream,\n};\n",
            &[(3, "std::fs"), (4, "std::net")],
        ),
        // Nested groups.
        (
            "use std::{\n    io::{self, stdin, Read},\n    time::{Duration, Instant},\n};\n",
            &[(2, "std::io::stdin")],
        ),
        ("use std::{env::{self}, fmt};\n", &[(1, "std::env")]),
        (
            "pub(crate) use ::std::{process as p};\n",
            &[(1, "std::process")],
        ),
        // Glob imports that bring a forbidden module into scope.
        ("use std::*;\n", &[(1, "std::fs")]),
        ("use std::io::*;\n", &[(1, "std::io::stdin")]),
        // A parent imported, the forbidden item reached through it.
        (
            "use std::io;\nfn f() { io::stdin(); }\n",
            &[(2, "std::io::stdin")],
        ),
        // Clock reads, however the type is named.
        ("let now = SystemTime::now();\n", &[(1, "SystemTime::now")]),
        (
            "let t = std::time::Instant::now();\n",
            &[(1, "std::time::Instant::now")],
        ),
        (
            "use std::time::{Instant as Clock};\nlet t = Clock::now();\n",
            &[(2, "std::time::Instant::now")],
        ),
        ("let age = UNIX_EPOCH.elapsed();\n", &[(1, ".elapsed()")]),
        (
            "let age = SystemTime::UNIX_EPOCH\n    .elapsed()\n    .ok();\n",
            &[(2, ".elapsed()")],
        ),
        (
            "use std::time::SystemTime;\nlet a = SystemTime::elapsed(&t);\n",
            &[(2, "std::time::SystemTime::elapsed")],
        ),
        ("let f = File::open(path);\n", &[(1, "File::open")]),
        // Comments, doc comments and literals are not code.
        ("// use std::fs;\n/// std::env::var_os\nfn f() {}\n", &[]),
        ("/* std::fs /* nested */ std::net */ fn f() {}\n", &[]),
        ("let s = \"std::fs::read and Instant::now()\";\n", &[]),
        ("let s = r#\"use std::{fs};\"#;\nlet c = '\\'';\n", &[]),
        (
            "fn f<'a>(x: &'a str) -> char { 'x' }\nuse std::fs;\n",
            &[(2, "std::fs")],
        ),
        // A line past a multi-line string keeps its number.
        ("let s = \"a\nb\";\nuse std::net;\n", &[(3, "std::net")]),
    ];

    #[test]
    fn every_snippet_gives_its_findings() {
        for (source, expected) in CASES {
            let found: Vec<(usize, &str)> = scan(source).iter().map(|f| (f.line, f.rule)).collect();
            assert_eq!(&found, expected, "source:\n{source}");
        }
    }

    #[test]
    fn a_finding_shows_the_path_as_resolved() {
        let findings = scan("use std::{\n    net::{TcpStream as Tcp},\n};\n");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].written, "std::net::TcpStream");
        assert_eq!(findings[0].why, "opens sockets");
    }
}
