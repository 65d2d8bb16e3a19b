//! Matching work grows linearly with the input, even for patterns that make backtracking
//! matchers explode (VESPA-BEHAVIOUR §3).
//!
//! Work is the matcher's own count of the input bytes it examined, not a clock: doubling the
//! input may at most double the work (plus a constant), from one byte up to 1 MiB. Every input
//! passes the literal prefix and suffix checks, so the wildcard engine does the deciding. A
//! matcher that backtracks over the placements of the middle chunks fails at the first doublings,
//! long before its work gets expensive.

use vespa_tls_authz::{Glob, GlobDialect};

/// The largest input: 1 MiB.
const LARGEST: usize = 1 << 20;

/// Slack for the work that does not depend on the input length (placing the pattern's chunks).
const CONSTANT: u64 = 1_000;

/// Checks `work(2n) ≤ 2·work(n) + CONSTANT` for n = 1, 2, 4, …, 1 MiB, where `input(n)` is an
/// input of about n bytes, and that every input gives the answer `matches`.
#[track_caller]
fn assert_linear(glob: &Glob, input: impl Fn(usize) -> String, matches: bool) {
    let mut previous: Option<(usize, u64)> = None;
    let mut n = 1;
    while n <= LARGEST {
        let text = input(n);
        let (matched, work) = glob.is_match_counting(&text);
        assert_eq!(
            matched,
            matches,
            "{glob:?} on {} bytes ({:?}…)",
            text.len(),
            &text[..text.len().min(40)]
        );
        if let Some((m, before)) = previous {
            assert!(
                work <= 2 * before + CONSTANT,
                "{glob:?}: work {before} at n = {m}, {work} at n = {n}: more than linear"
            );
        }
        previous = Some((n, work));
        n *= 2;
    }
}

#[test]
fn star_a_star_a_pattern_is_linear() {
    // `x*a*a*…*a*b*y` on `xaaaa…y`: the literal ends match, and a backtracking matcher tries
    // every placement of the hundred `a`s before giving up on the `b`.
    for dialect in [GlobDialect::Dns, GlobDialect::Uri] {
        let glob = Glob::new(&format!("x{}*b*y", "*a".repeat(100)), dialect);
        assert_linear(&glob, |n| format!("x{}y", "a".repeat(n)), false);
        assert_linear(&glob, |n| format!("x{}by", "a".repeat(n + 100)), true);
    }
}

#[test]
fn long_middle_chunks_stay_bounded() {
    // Each middle chunk is searched once, leftmost-first: O(input × pattern) at worst. The input
    // ends in the literal `d` and holds the first chunk everywhere, the second nowhere, so a
    // matcher that retries the second chunk after every placement of the first is quadratic.
    let glob = Glob::new("*aaaaaaaaab*aaaaaaaaac*d", GlobDialect::Dns);
    let first = "aaaaaaaaab";
    assert_linear(&glob, |n| format!("{}d", first.repeat(n / 10 + 1)), false);
    assert_linear(
        &glob,
        |n| format!("{}aaaaaaaaacd", first.repeat(n / 10 + 1)),
        true,
    );
}

#[test]
fn anchored_chunks_and_question_marks_are_linear() {
    // A head and a tail chunk in the same segment as the stars, `?` inside the chunks (a
    // wildcard in the DNS dialect), and a chunk that never occurs.
    let glob = Glob::new("a?a*a?a*a?a*b?b*a?a", GlobDialect::Dns);
    assert_linear(&glob, |n| "a".repeat(n + 9), false);
    assert_linear(
        &glob,
        |n| format!("{}bab{}", "a".repeat(n + 9), "a".repeat(n + 3)),
        true,
    );
}

#[test]
fn many_segments_are_linear() {
    // Boundaries split the pattern and the input; the last segment is the expensive one.
    let glob = Glob::new("*.*a*a*a*b*.z", GlobDialect::Dns);
    assert_linear(
        &glob,
        |n| format!("{}.{}.z", "a".repeat(n), "a".repeat(n)),
        false,
    );
    assert_linear(
        &glob,
        |n| format!("{}.aaa{}b.z", "a".repeat(n), "a".repeat(n)),
        true,
    );
    // URI dialect, where `.` is ordinary text and `/` the boundary.
    let glob = Glob::new("spiffe://*/*a*a*a*b*/z", GlobDialect::Uri);
    assert_linear(
        &glob,
        |n| format!("spiffe://{}/{}/z", "a.".repeat(n / 2 + 1), "a".repeat(n)),
        false,
    );
}
