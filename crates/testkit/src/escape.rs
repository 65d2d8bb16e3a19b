//! Assertions for names a peer chose, as every printer must write them.

/// Asserts that each `(what, printed, piece)` row's `printed` text contains `piece` (the name
/// as escaped) and no control character at all: what every message that quotes a certificate's
/// names must satisfy.
#[track_caller]
pub fn assert_printed_escaped(rows: &[(&str, String, String)]) {
    for (what, printed, piece) in rows {
        assert!(
            printed.contains(piece.as_str()),
            "{what}: {printed:?} lacks {piece:?}"
        );
        assert!(
            !printed.chars().any(char::is_control),
            "{what} writes a control character: {printed:?}"
        );
    }
}
