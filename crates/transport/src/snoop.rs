//! Vespa's 8-byte ClientHello snoop: is the peer of a mixed-mode server speaking TLS?
//!
//! The rule is Vespa's C++ one (`protocol_snooping.cpp`, VESPA-BEHAVIOUR §5), evaluated in
//! order, first failure wins:
//!
//! 1. byte 0 must be 0x16 (handshake record);
//! 2. byte 1 must be 0x03 and byte 2 0x01 or 0x03 (record version);
//! 3. the record length L (bytes 3–4) must be in 4..=18432;
//! 4. byte 5 must be 0x01 (ClientHello);
//! 5. byte 6 must be 0x00 (handshake length below 64 KiB);
//! 6. byte 7 must be (L − 4) >> 8 (the hello fits its first record).
//!
//! Each rule looks only at bytes up to its own position, so a failure is final as soon as the
//! bytes it needs have arrived: we decide "not TLS" early, without waiting for all eight bytes
//! (a plaintext peer whose first message is short is not left waiting). "TLS" needs all eight.

/// What the bytes seen so far say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Snoop {
    /// No rule has failed yet and fewer than 8 bytes are here: read more.
    NeedMore,
    /// All eight bytes pass: hand the connection to TLS.
    Tls,
    /// A rule failed: hand the connection to the plaintext side (mixed mode) or refuse it.
    NotTls(NotTlsReason),
}

/// Which rule failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotTlsReason {
    /// Byte 0 is not 0x16.
    NotHandshake,
    /// Bytes 1–2 are not 0x03 0x01 or 0x03 0x03.
    Version,
    /// The record length is below 4 or above 18432.
    RecordSize,
    /// Byte 5 is not a ClientHello.
    NotClientHello,
    /// The ClientHello is 64 KiB or larger.
    ClientHelloTooBig,
    /// The ClientHello does not fit its first record.
    LengthMismatch,
}

impl NotTlsReason {
    /// A short description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            NotTlsReason::NotHandshake => "not a TLS handshake record",
            NotTlsReason::Version => "unexpected TLS record version",
            NotTlsReason::RecordSize => "TLS record size out of range",
            NotTlsReason::NotClientHello => "not a ClientHello",
            NotTlsReason::ClientHelloTooBig => "ClientHello too big",
            NotTlsReason::LengthMismatch => "ClientHello does not fit its first record",
        }
    }
}

/// How many bytes the snoop needs at most.
pub const SNOOP_LEN: usize = 8;

/// Classifies the first bytes a client sent (only the first [`SNOOP_LEN`] are looked at).
///
/// ```
/// use vespa_tls_transport::snoop::{Snoop, NotTlsReason, classify};
/// assert_eq!(classify(b"GET / HTTP/1.1\r\n"), Snoop::NotTls(NotTlsReason::NotHandshake));
/// assert_eq!(classify(&[0x16, 0x03]), Snoop::NeedMore);
/// assert_eq!(classify(&[0x16, 0x03, 0x01, 0x05, 0xdc, 0x01, 0x00, 0x05]), Snoop::Tls);
/// ```
pub fn classify(prefix: &[u8]) -> Snoop {
    use NotTlsReason::*;
    let byte = |i: usize| prefix.get(i).copied();
    let not = Snoop::NotTls;
    match byte(0) {
        None => return Snoop::NeedMore,
        Some(0x16) => {}
        Some(_) => return not(NotHandshake),
    }
    match byte(1) {
        None => return Snoop::NeedMore,
        Some(0x03) => {}
        Some(_) => return not(Version),
    }
    match byte(2) {
        None => return Snoop::NeedMore,
        Some(0x01 | 0x03) => {}
        Some(_) => return not(Version),
    }
    let (Some(hi), Some(lo)) = (byte(3), byte(4)) else {
        return Snoop::NeedMore;
    };
    let record_len = usize::from(hi) << 8 | usize::from(lo);
    if !(4..=18432).contains(&record_len) {
        return not(RecordSize);
    }
    match byte(5) {
        None => return Snoop::NeedMore,
        Some(0x01) => {}
        Some(_) => return not(NotClientHello),
    }
    match byte(6) {
        None => return Snoop::NeedMore,
        Some(0x00) => {}
        Some(_) => return not(ClientHelloTooBig),
    }
    match byte(7) {
        None => Snoop::NeedMore,
        Some(b) if usize::from(b) == (record_len - 4) >> 8 => Snoop::Tls,
        Some(_) => not(LengthMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NotTlsReason::*;

    #[test]
    fn each_rule_in_order() {
        let table: &[(&[u8], Snoop)] = &[
            (b"", Snoop::NeedMore),
            (b"G", Snoop::NotTls(NotHandshake)),
            (&[0x16], Snoop::NeedMore),
            (&[0x16, 0x02], Snoop::NotTls(Version)),
            (&[0x16, 0x03, 0x02], Snoop::NotTls(Version)),
            (&[0x16, 0x03, 0x00], Snoop::NotTls(Version)),
            (&[0x16, 0x03, 0x01, 0x00], Snoop::NeedMore),
            (&[0x16, 0x03, 0x01, 0x00, 0x03], Snoop::NotTls(RecordSize)),
            (&[0x16, 0x03, 0x03, 0x48, 0x01], Snoop::NotTls(RecordSize)),
            (
                &[0x16, 0x03, 0x03, 0x48, 0x00, 0x01, 0x00, 0x47],
                Snoop::Tls,
            ),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x04, 0x02],
                Snoop::NotTls(NotClientHello),
            ),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01],
                Snoop::NotTls(ClientHelloTooBig),
            ),
            (&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00], Snoop::NeedMore),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00],
                Snoop::Tls,
            ),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x01],
                Snoop::NotTls(LengthMismatch),
            ),
            // A 1500-byte post-quantum hello: L = 0x05dc, (L-4)>>8 = 5.
            (
                &[0x16, 0x03, 0x01, 0x05, 0xdc, 0x01, 0x00, 0x05, 0xd8],
                Snoop::Tls,
            ),
            // A > 16 KiB hello in a full first record: byte 7 is the hello's, not the record's.
            (
                &[0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x4e],
                Snoop::NotTls(LengthMismatch),
            ),
            // The first failing rule wins even when later bytes also fail.
            (
                &[0x16, 0x03, 0x02, 0xff, 0xff, 0x02, 0x05, 0x09],
                Snoop::NotTls(Version),
            ),
        ];
        for (bytes, expected) in table {
            assert_eq!(classify(bytes), *expected, "{bytes:02x?}");
        }
    }

    #[test]
    fn a_decision_never_changes_when_more_bytes_arrive() {
        let inputs: [&[u8]; 4] = [
            &[0x16, 0x03, 0x01, 0x05, 0xdc, 0x01, 0x00, 0x05, 1, 2, 3],
            b"PING\r\n",
            &[0x16, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00, 0x00],
            &[0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0xff],
        ];
        for input in inputs {
            let mut decided = None;
            for end in 0..=input.len() {
                let now = classify(&input[..end]);
                match (decided, now) {
                    (None, Snoop::NeedMore) => {}
                    (None, d) => decided = Some(d),
                    (Some(d), n) => assert_eq!(d, n, "{input:02x?} at {end}"),
                }
            }
            assert!(decided.is_some());
        }
    }
}
