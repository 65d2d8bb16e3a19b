//! The hand-made legacy ClientHellos: well-formed records, and what Vespa's snoop makes of them.

use vespa_tls_testkit::LegacyClientHello;
use vespa_tls_transport::snoop::{NotTlsReason, Snoop, classify};

/// Checks the three length fields and returns (legacy version, extension bytes).
#[track_caller]
fn parse(record: &[u8]) -> ([u8; 2], Vec<u8>) {
    assert_eq!(record[0], 0x16, "a handshake record");
    let len = |at: usize| usize::from(u16::from_be_bytes([record[at], record[at + 1]]));
    assert_eq!(len(3), record.len() - 5, "record length");
    assert_eq!(record[5], 0x01, "a ClientHello");
    assert_eq!(record[6], 0x00);
    assert_eq!(len(7), record.len() - 9, "handshake length");
    let version = [record[9], record[10]];
    let mut at = 11 + 32; // random
    at += 1 + usize::from(record[at]); // session id
    at += 2 + len(at); // cipher suites
    at += 1 + usize::from(record[at]); // compression
    let extensions = len(at);
    assert_eq!(
        at + 2 + extensions,
        record.len(),
        "extensions end the hello"
    );
    (version, record[at + 2..].to_vec())
}

fn has_extension(mut extensions: &[u8], kind: u16) -> bool {
    while extensions.len() >= 4 {
        let found = u16::from_be_bytes([extensions[0], extensions[1]]);
        let len = usize::from(u16::from_be_bytes([extensions[2], extensions[3]]));
        if found == kind {
            return true;
        }
        extensions = &extensions[(4 + len).min(extensions.len())..];
    }
    false
}

#[test]
fn legacy_hellos_are_well_formed() {
    for (hello, version, record, signature_algorithms) in [
        (LegacyClientHello::tls10(), [3, 1], 1, false),
        (LegacyClientHello::tls11(), [3, 2], 1, false),
        (
            LegacyClientHello::tls11().record_version(2),
            [3, 2],
            2,
            false,
        ),
        (
            LegacyClientHello::tls11().with_signature_algorithms(),
            [3, 2],
            1,
            true,
        ),
    ] {
        let bytes = hello.to_bytes();
        assert_eq!(bytes[1..3], [0x03, record], "{hello:?}");
        let (legacy, extensions) = parse(&bytes);
        assert_eq!(legacy, version, "{hello:?}");
        assert_eq!(
            has_extension(&extensions, 0x000d),
            signature_algorithms,
            "{hello:?}"
        );
        assert!(!has_extension(&extensions, 0x002b), "no supported_versions");
    }
}

#[test]
fn the_snoop_takes_a_tls_1_0_record_for_tls_and_a_tls_1_1_record_for_plaintext() {
    assert!(matches!(
        classify(&LegacyClientHello::tls11().to_bytes()),
        Snoop::Tls
    ));
    assert!(matches!(
        classify(&LegacyClientHello::tls11().record_version(2).to_bytes()),
        Snoop::NotTls(NotTlsReason::Version)
    ));
}
