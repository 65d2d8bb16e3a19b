//! A strict JSON tree that keeps every key, so duplicate keys can be rejected by name.
//!
//! serde_json does the tokenizing (strict RFC 8259, UTF-8 checked, nesting limited to 128 levels);
//! this module only builds the tree and turns its errors into ours.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

use crate::error::ConfigError;

/// A JSON value. Objects keep their entries in file order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The JSON type name used in "expected …, found …" messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }
}

/// Parses one JSON document; anything after it but whitespace is an error, and so is a BOM.
pub(crate) fn parse(bytes: &[u8]) -> Result<Node, ConfigError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(ConfigError::Syntax {
            line: 1,
            column: 1,
            message: "the file starts with a UTF-8 byte order mark; save it without one".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let node = Node::deserialize(&mut de).map_err(syntax)?;
    de.end().map_err(syntax)?;
    Ok(node)
}

fn syntax(err: serde_json::Error) -> ConfigError {
    let (line, column) = (err.line(), err.column());
    let raw = err.to_string();
    // serde_json appends " at line L column C"; we print the position first instead.
    let message = match raw.rfind(" at line ") {
        Some(i) => raw[..i].to_owned(),
        None => raw,
    };
    let message = match message.as_str() {
        "trailing characters" => {
            "unexpected content after the end of the top-level JSON value".to_owned()
        }
        "EOF while parsing a value" if line <= 1 && column == 0 => {
            "the file is empty; expected a JSON object".to_owned()
        }
        m if m.starts_with("EOF while parsing") => {
            format!("{m}: the file ends too early (truncated?)")
        }
        "invalid unicode code point" => {
            "a string is not valid UTF-8 or has an invalid \\u escape".to_owned()
        }
        "recursion limit exceeded" => "nesting is too deep (at most 128 levels)".to_owned(),
        _ => message,
    };
    ConfigError::Syntax {
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Number)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Number)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Number)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}

/// Appends one RFC 6901 reference token to a pointer.
pub(crate) fn push_token(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(push_token("", "a/b~c"), "/a~1b~0c");
        assert_eq!(push_token("/x", "0"), "/x/0");
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let node = parse(br#"{"a": 1, "a": 2}"#).unwrap();
        match node {
            Node::Object(entries) => assert_eq!(entries.len(), 2),
            other => panic!("expected an object, got {other:?}"),
        }
    }
}
