//! "Did you mean" suggestions for misspelled keys and values.

/// The closest candidate to `input`, if one is close enough to be a plausible typo.
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lowered = input.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lowered, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 3 && *d * 3 <= c.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), on chars.
/// Inputs longer than 256 characters are never close to our short names.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(257).collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 256 {
        return usize::MAX;
    }
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["files", "authorized-peers", "accepted-ciphers"];
        assert_eq!(closest("authorised-peers", &keys), Some("authorized-peers"));
        assert_eq!(closest("Files", &keys), Some("files"));
        assert_eq!(closest("accepted-cipher", &keys), Some("accepted-ciphers"));
        assert_eq!(closest("something-else", &keys), None);
        assert_eq!(closest("", &keys), None);
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
