//! Matching time grows linearly with the input, even for patterns that make backtracking
//! matchers explode (VESPA-BEHAVIOUR §3).

use std::time::{Duration, Instant};

use vespa_tls_authz::{Glob, GlobDialect};

fn time(glob: &Glob, input: &str) -> (bool, Duration) {
    let start = Instant::now();
    let matched = glob.is_match(input);
    (matched, start.elapsed())
}

#[test]
fn star_a_star_a_pattern_is_linear() {
    // `*a*a*…*a*b`: a backtracking matcher takes exponential time on `aaaa…`.
    for dialect in [GlobDialect::Dns, GlobDialect::Uri] {
        let glob = Glob::new(&format!("{}b", "*a".repeat(100)), dialect);
        let small = "a".repeat(10_000);
        let large = "a".repeat(1_000_000);
        let (m1, _) = time(&glob, &small);
        let (m2, t2) = time(&glob, &large);
        assert!(!m1 && !m2);
        assert!(glob.is_match(&format!("{large}b")));
        // Generous bound for unoptimised builds on a shared machine; exponential would not finish.
        assert!(t2 < Duration::from_secs(2), "{t2:?}");
    }
}

#[test]
fn long_middle_chunks_stay_bounded() {
    // Each middle chunk is searched once, leftmost-first: O(input × pattern) at worst.
    let glob = Glob::new("*aaaaaaaaab*aaaaaaaaab*c", GlobDialect::Dns);
    let input = "a".repeat(200_000);
    let (matched, elapsed) = time(&glob, &input);
    assert!(!matched);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}
