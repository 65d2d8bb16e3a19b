//! (dialect, pattern, text) → the compiled `Glob` agrees with the reference matcher written
//! from VESPA-BEHAVIOUR §3 (differential). Inputs are at most `GLOB_MAX_INPUT` bytes; with flag
//! bit 1 the compiled glob also matches the text repeated to about 64 KiB, and libFuzzer's
//! `-timeout` (10 s under `cargo xtask fuzz`) fails any case that is not linear.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use vespa_tls_authz::Glob;
use vespa_tls_fuzz::{GlobCase, reference};

const LONG_TEXT: usize = 64 * 1024;

static REFERENCE_CHECKED: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    REFERENCE_CHECKED.call_once(|| {
        if let Err(disagreement) = reference::check_glob_examples() {
            panic!("{disagreement}");
        }
    });
    let Some(case) = GlobCase::read(data) else {
        return;
    };
    let glob = Glob::new(&case.pattern, case.dialect);
    assert_eq!(glob.as_str(), case.pattern);
    let expected = reference::glob_match(case.dialect, &case.pattern, &case.text);
    assert_eq!(
        glob.is_match(&case.text),
        expected,
        "{:?} {:?} on {:?}",
        case.dialect,
        case.pattern,
        case.text
    );
    assert_eq!(
        glob.matches_empty(),
        reference::glob_match(case.dialect, &case.pattern, "")
    );
    if case.long_text && !case.text.is_empty() {
        let long = case.text.repeat(LONG_TEXT / case.text.len() + 1);
        let _ = glob.is_match(&long);
    }
});
