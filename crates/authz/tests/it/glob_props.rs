//! The compiled glob matcher agrees with a straightforward reference: an anchored regex.

use proptest::prelude::*;
use vespa_tls_authz::{Glob, GlobDialect};
// The reference: each wildcard becomes a character class that excludes the boundary.
use vespa_tls_testkit::glob_regex as reference;

const ALPHABET: &[char] = &['a', 'b', '.', '/', '*', '?', 'é', '€', '\\', '['];

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..max)
        .prop_map(|chars| chars.into_iter().collect())
}

fn dialect() -> impl Strategy<Value = GlobDialect> {
    prop_oneof![Just(GlobDialect::Dns), Just(GlobDialect::Uri)]
}

/// An input built from the pattern by filling its wildcards, so that matches are common.
fn instantiate(pattern: &str, fills: &[String]) -> String {
    let mut out = String::new();
    let mut fills = fills.iter().cycle();
    for c in pattern.chars() {
        match c {
            '*' => out.push_str(fills.next().map_or("", String::as_str)),
            '?' => out.push(fills.next().and_then(|f| f.chars().next()).unwrap_or('a')),
            c => out.push(c),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_inputs_agree(pattern in text(12), input in text(16), dialect in dialect()) {
        let glob = Glob::new(&pattern, dialect);
        prop_assert_eq!(glob.is_match(&input), reference(&pattern, dialect).is_match(&input));
    }

    #[test]
    fn instantiated_inputs_agree(
        pattern in text(12),
        fills in proptest::collection::vec(text(4), 1..4),
        dialect in dialect(),
    ) {
        let input = instantiate(&pattern, &fills);
        let glob = Glob::new(&pattern, dialect);
        prop_assert_eq!(glob.is_match(&input), reference(&pattern, dialect).is_match(&input));
    }

    #[test]
    fn a_pattern_without_wildcards_matches_only_itself(pattern in "[a-z./?é]{0,10}", input in "[a-z./?é]{0,10}") {
        let glob = Glob::new(&pattern, GlobDialect::Uri);
        prop_assert!(glob.is_match(&pattern));
        prop_assert_eq!(glob.is_match(&input), input == pattern);
    }
}

#[test]
fn instantiation_produces_matches() {
    // Guards the generator above: the filled-in pattern must often match.
    let glob = Glob::new("a*b?c", GlobDialect::Dns);
    assert!(glob.is_match(&instantiate("a*b?c", &["xy".to_owned()])));
}
