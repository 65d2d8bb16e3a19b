//! Any first bytes → the mixed-mode snoop: never panics; once a prefix is decided, every
//! longer prefix gets the same decision; with 8 or more bytes there is always a decision, and
//! it is the one a direct reading of Vespa's 8-byte rule gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vespa_tls_transport::snoop::{Snoop, classify};

/// VESPA-BEHAVIOUR §5, read literally on exactly eight bytes.
fn reference(b: &[u8; 8]) -> bool {
    let record_len = usize::from(b[3]) << 8 | usize::from(b[4]);
    b[0] == 0x16
        && b[1] == 0x03
        && (b[2] == 0x01 || b[2] == 0x03)
        && (4..=18432).contains(&record_len)
        && b[5] == 0x01
        && b[6] == 0x00
        && usize::from(b[7]) == (record_len - 4) >> 8
}

fuzz_target!(|data: &[u8]| {
    let mut decided: Option<Snoop> = None;
    for end in 0..=data.len().min(16) {
        let now = classify(&data[..end]);
        match decided {
            Some(first) => assert_eq!(first, now, "decision changed at {end} bytes: {data:02x?}"),
            None if now != Snoop::NeedMore => decided = Some(now),
            None => assert!(end < 8, "undecided with {end} bytes: {data:02x?}"),
        }
    }
    if let Ok(eight) = <&[u8; 8]>::try_from(data.get(..8).unwrap_or_default()) {
        assert_eq!(
            classify(data) == Snoop::Tls,
            reference(eight),
            "{data:02x?}"
        );
    }
});
