//! Encoding and decoding FRT packets: the wire format described in [the module docs](super).

/// The method every Vespa RPC server answers, with no parameters and no return values.
pub const PING_METHOD: &str = "frt.rpc.ping";

/// The FRT error code for a method the server does not have (`NO_SUCH_METHOD` in Vespa).
pub const ERROR_NO_SUCH_METHOD: u32 = 106;

/// The message Vespa's Java library sends with [`ERROR_NO_SUCH_METHOD`].
pub const NO_SUCH_METHOD_MESSAGE: &str = "No such method";

/// The largest packet, in bytes including the header, that [`parse_packet`] accepts.
pub const MAX_PACKET_LEN: usize = 16 * 1024 * 1024;

pub(super) const PCODE_REQUEST: u16 = 100;
pub(super) const PCODE_REPLY: u16 = 101;
pub(super) const PCODE_ERROR: u16 = 102;

/// Payload integers are little-endian (the header never is).
pub(super) const FLAG_LITTLE_ENDIAN: u16 = 0x0001;
/// The sender wants no reply to this request.
pub(super) const FLAG_NOREPLY: u16 = 0x0002;
const FLAGS_SUPPORTED: u16 = FLAG_LITTLE_ENDIAN | FLAG_NOREPLY;

/// Length field, flags, packet code, request id.
const HEADER_LEN: usize = 12;
/// The header bytes counted by the length field (flags, packet code and request id).
const HEADER_AFTER_LENGTH: u32 = 8;

/// Error messages longer than this are cut short by [`error_for`].
const MAX_ERROR_MESSAGE_LEN: usize = 64 * 1024;

/// One decoded FRT packet; only what pinging needs is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// A request to invoke `method` (its parameters are checked but not kept).
    Request {
        /// The id the reply must carry.
        request_id: u32,
        /// The method name (invalid UTF-8 replaced by U+FFFD).
        method: String,
    },
    /// A successful reply (its return values are checked but not kept).
    Reply {
        /// The id of the request this answers.
        request_id: u32,
    },
    /// A failed invocation.
    Error {
        /// The id of the request this answers.
        request_id: u32,
        /// The FRT error code, e.g. [`ERROR_NO_SUCH_METHOD`].
        code: u32,
        /// The error message (invalid UTF-8 replaced by U+FFFD).
        message: String,
    },
}

/// Why some bytes are not an FRT packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed frt packet: {reason}")]
pub struct FrtError {
    reason: String,
}

impl FrtError {
    fn new(reason: impl Into<String>) -> Self {
        FrtError {
            reason: reason.into(),
        }
    }

    /// What was wrong, without the "malformed frt packet" prefix.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The bytes a client sends to ping: an `frt.rpc.ping` request with no parameters.
///
/// Vespa's C++ servers only take requests with even ids from the connecting side.
pub fn ping_request(request_id: u32) -> Vec<u8> {
    let mut payload = Vec::with_capacity(4 + PING_METHOD.len() + 4);
    put_string(&mut payload, PING_METHOD.as_bytes());
    put_empty_values(&mut payload);
    frame(PCODE_REQUEST, request_id, &payload)
}

/// A reply with no return values, which is what a ping is answered with.
pub fn reply_for(request_id: u32) -> Vec<u8> {
    let mut payload = Vec::with_capacity(4);
    put_empty_values(&mut payload);
    frame(PCODE_REPLY, request_id, &payload)
}

/// An error packet, e.g. `error_for(id, ERROR_NO_SUCH_METHOD, NO_SUCH_METHOD_MESSAGE)`.
///
/// A message over 64 KiB is cut short (at a character boundary).
pub fn error_for(request_id: u32, code: u32, message: &str) -> Vec<u8> {
    let message = truncate_utf8(message, MAX_ERROR_MESSAGE_LEN);
    let mut payload = Vec::with_capacity(8 + message.len());
    payload.extend_from_slice(&code.to_be_bytes());
    put_string(&mut payload, message.as_bytes());
    frame(PCODE_ERROR, request_id, &payload)
}

/// Decodes the packet at the start of `buf`.
///
/// Returns `Ok(None)` when `buf` is a valid beginning of a packet but not a whole one yet,
/// `Ok(Some((packet, consumed)))` when the first `consumed` bytes are a whole packet, and an
/// error as soon as the bytes seen so far cannot be FRT (bad length, flags, packet code,
/// value encoding, trailing bytes, or a packet over [`MAX_PACKET_LEN`]). Never panics.
pub fn parse_packet(buf: &[u8]) -> Result<Option<(Packet, usize)>, FrtError> {
    Ok(decode(buf)?.map(|decoded| (decoded.packet, decoded.consumed)))
}

// ---------------------------------------------------------------------------------------------
// Encoding (always big-endian, flags 0)

pub(super) fn frame(pcode: u16, request_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(HEADER_LEN + payload.len());
    packet.extend_from_slice(&len_u32(payload.len().saturating_add(8)).to_be_bytes());
    packet.extend_from_slice(&0u16.to_be_bytes());
    packet.extend_from_slice(&pcode.to_be_bytes());
    packet.extend_from_slice(&request_id.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

pub(super) fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&len_u32(bytes.len()).to_be_bytes());
    out.extend_from_slice(bytes);
}

pub(super) fn put_empty_values(out: &mut Vec<u8>) {
    out.extend_from_slice(&0u32.to_be_bytes());
}

/// Lengths we encode are small (bounded by [`MAX_ERROR_MESSAGE_LEN`]); saturate regardless.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// A whole packet at the start of a buffer.
pub(super) struct Decoded {
    pub(super) packet: Packet,
    pub(super) flags: u16,
    /// How many bytes of the buffer it took.
    pub(super) consumed: usize,
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn be_u16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

/// Checks what is there of the header as soon as it arrives, so that garbage is refused
/// before a whole "packet" of it has been read.
pub(super) fn decode(buf: &[u8]) -> Result<Option<Decoded>, FrtError> {
    let Some(length_field) = be_u32(buf, 0) else {
        return Ok(None);
    };
    if length_field < HEADER_AFTER_LENGTH {
        return Err(FrtError::new(format!(
            "length field {length_field} is below the {HEADER_AFTER_LENGTH} header bytes it counts"
        )));
    }
    let total = usize::try_from(length_field)
        .ok()
        .and_then(|len| len.checked_add(4))
        .filter(|&total| total <= MAX_PACKET_LEN)
        .ok_or_else(|| {
            FrtError::new(format!(
                "packet length {} exceeds the limit of {MAX_PACKET_LEN} bytes",
                u64::from(length_field) + 4
            ))
        })?;

    let (Some(flags), Some(pcode)) = (be_u16(buf, 4), be_u16(buf, 6)) else {
        return Ok(None);
    };
    if flags & !FLAGS_SUPPORTED != 0 {
        return Err(FrtError::new(format!("unsupported flags 0x{flags:04x}")));
    }
    let min_payload = match pcode {
        PCODE_REQUEST | PCODE_ERROR => 8,
        PCODE_REPLY => 4,
        other => return Err(FrtError::new(format!("unknown packet code {other}"))),
    };
    let payload_len = total - HEADER_LEN;
    if payload_len < min_payload {
        return Err(FrtError::new(format!(
            "{payload_len}-byte payload is too short for packet code {pcode}"
        )));
    }

    let (Some(request_id), Some(payload)) = (be_u32(buf, 8), buf.get(HEADER_LEN..total)) else {
        return Ok(None);
    };
    let mut reader = Reader {
        data: payload,
        little_endian: flags & FLAG_LITTLE_ENDIAN != 0,
    };
    let packet = match pcode {
        PCODE_REQUEST => {
            let method = reader.string("method name")?;
            skip_values(&mut reader, "parameters")?;
            reader.finish("request")?;
            Packet::Request {
                request_id,
                method: String::from_utf8_lossy(method).into_owned(),
            }
        }
        PCODE_REPLY => {
            skip_values(&mut reader, "return values")?;
            reader.finish("reply")?;
            Packet::Reply { request_id }
        }
        _ => {
            let code = reader.u32("error code")?;
            let message = reader.string("error message")?;
            reader.finish("error")?;
            Packet::Error {
                request_id,
                code,
                message: String::from_utf8_lossy(message).into_owned(),
            }
        }
    };
    Ok(Some(Decoded {
        packet,
        flags,
        consumed: total,
    }))
}

/// Reads a complete payload front to back; running out of bytes is an error, since the
/// header said how long the payload is.
struct Reader<'a> {
    data: &'a [u8],
    little_endian: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: u64, what: &str) -> Result<&'a [u8], FrtError> {
        let available = self.data.len();
        match usize::try_from(len) {
            Ok(len) if len <= available => {
                let (taken, rest) = self.data.split_at(len);
                self.data = rest;
                Ok(taken)
            }
            _ => Err(FrtError::new(format!(
                "{what} needs {len} bytes but only {available} are left"
            ))),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32, FrtError> {
        let bytes: [u8; 4] = self
            .take(4, what)?
            .try_into()
            .map_err(|_| FrtError::new(format!("{what} is not 4 bytes")))?;
        Ok(if self.little_endian {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    }

    fn string(&mut self, what: &str) -> Result<&'a [u8], FrtError> {
        let len = self.u32(what)?;
        self.take(u64::from(len), what)
    }

    fn finish(&self, what: &str) -> Result<(), FrtError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(FrtError::new(format!(
                "{} bytes left over after the {what}",
                self.data.len()
            )))
        }
    }
}

/// Checks a value list (count, type letters, values) and moves past it.
fn skip_values(reader: &mut Reader<'_>, what: &str) -> Result<(), FrtError> {
    let count = reader.u32(what)?;
    let types = reader.take(u64::from(count), what)?;
    for &kind in types {
        match kind {
            b's' | b'x' => {
                reader.string(what)?;
            }
            b'S' | b'X' => {
                let elements = reader.u32(what)?;
                // Each element has at least its 4-byte length: refuse impossible counts early.
                let available = reader.data.len();
                if u64::from(elements) * 4 > available as u64 {
                    return Err(FrtError::new(format!(
                        "{what}: array of {elements} elements does not fit in {available} bytes"
                    )));
                }
                for _ in 0..elements {
                    reader.string(what)?;
                }
            }
            _ => match (
                scalar_width(kind.to_ascii_lowercase()),
                kind.is_ascii_lowercase(),
            ) {
                (Some(width), true) => {
                    reader.take(width, what)?;
                }
                (Some(width), false) => {
                    let elements = reader.u32(what)?;
                    reader.take(u64::from(elements) * width, what)?;
                }
                (None, _) => {
                    return Err(FrtError::new(format!(
                        "{what}: unknown value type 0x{kind:02x}"
                    )));
                }
            },
        }
    }
    Ok(())
}

/// Bytes per number for the integer and float type letters (lower case: one value; upper
/// case: an array of them).
fn scalar_width(kind: u8) -> Option<u64> {
    match kind {
        b'b' => Some(1),
        b'h' => Some(2),
        b'i' | b'f' => Some(4),
        b'l' | b'd' => Some(8),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod vectors {
    //! Hand-written packets and test-only encoders, shared by the codec, client and server tests.

    use super::*;

    /// A ping request with id 2, written out by hand from the layout in Vespa's sources.
    pub(crate) const PING_ID_2: [u8; 32] = [
        // Length field: the bytes after it = 8 (flags+pcode, request id) + 20 payload = 28.
        0x00, 0x00, 0x00, 0x1c, //
        // Flags 0 (payload big-endian, reply wanted), then packet code 100 = request.
        0x00, 0x00, 0x00, 0x64, //
        // Request id 2 (even: ids from the connecting side are even).
        0x00, 0x00, 0x00, 0x02, //
        // Method name: u32 byte count 12, then "frt.rpc.ping" in ASCII.
        0x00, 0x00, 0x00, 0x0c, //
        b'f', b'r', b't', b'.', b'r', b'p', b'c', b'.', b'p', b'i', b'n', b'g', //
        // Parameters: an empty value list (count 0, so no type letters and no values).
        0x00, 0x00, 0x00, 0x00,
    ];

    /// The reply to it: length 8 + 4, flags 0, packet code 101, id 2, empty return values.
    pub(crate) const REPLY_ID_2: [u8; 16] = [
        0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x65, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00,
    ];

    /// The same reply as a C++ (fnet) service on a little-endian host sends it: flag bit 0
    /// set; the header stays big-endian, and the empty value count reads the same either way.
    pub(crate) const REPLY_ID_2_LITTLE_ENDIAN: [u8; 16] = [
        0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x65, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00,
    ];

    pub(crate) const TLS_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

    /// A little test-only encoder for value lists, to build requests with parameters.
    pub(crate) fn values(kinds: &[u8], little_endian: bool, body: &[u8]) -> Vec<u8> {
        let count = u32::try_from(kinds.len()).unwrap();
        let mut out = if little_endian {
            count.to_le_bytes().to_vec()
        } else {
            count.to_be_bytes().to_vec()
        };
        out.extend_from_slice(kinds);
        out.extend_from_slice(body);
        out
    }

    pub(crate) fn packet_with(flags: u16, pcode: u16, request_id: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = frame(pcode, request_id, payload);
        out[4..6].copy_from_slice(&flags.to_be_bytes());
        out
    }

    pub(crate) fn all_test_packets() -> Vec<Vec<u8>> {
        vec![
            PING_ID_2.to_vec(),
            REPLY_ID_2.to_vec(),
            REPLY_ID_2_LITTLE_ENDIAN.to_vec(),
            ping_request(0x7fff_fffe),
            reply_for(7),
            error_for(9, ERROR_NO_SUCH_METHOD, NO_SUCH_METHOD_MESSAGE),
            error_for(9, 112, ""),
            every_type_request(false),
            every_type_request(true),
        ]
    }

    /// A request with one parameter of every type (the fnet/jrt type letters).
    pub(crate) fn every_type_request(little_endian: bool) -> Vec<u8> {
        let u32b = |n: u32| {
            if little_endian {
                n.to_le_bytes()
            } else {
                n.to_be_bytes()
            }
        };
        let mut body = Vec::new();
        body.push(0x7f); // b
        body.extend_from_slice(&[0, 1]); // h
        body.extend_from_slice(&[0, 0, 0, 2]); // i
        body.extend_from_slice(&[0; 8]); // l
        body.extend_from_slice(&[0; 4]); // f
        body.extend_from_slice(&[0; 8]); // d
        body.extend_from_slice(&u32b(3)); // s
        body.extend_from_slice(b"abc");
        body.extend_from_slice(&u32b(2)); // x
        body.extend_from_slice(&[0xde, 0xad]);
        body.extend_from_slice(&u32b(2)); // B
        body.extend_from_slice(&[1, 2]);
        body.extend_from_slice(&u32b(1)); // H
        body.extend_from_slice(&[0; 2]);
        body.extend_from_slice(&u32b(1)); // I
        body.extend_from_slice(&[0; 4]);
        body.extend_from_slice(&u32b(1)); // L
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&u32b(2)); // F
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&u32b(0)); // D
        body.extend_from_slice(&u32b(2)); // S
        body.extend_from_slice(&u32b(1));
        body.extend_from_slice(b"a");
        body.extend_from_slice(&u32b(0));
        body.extend_from_slice(&u32b(1)); // X
        body.extend_from_slice(&u32b(1));
        body.push(0);
        let mut payload = u32b(12).to_vec();
        payload.extend_from_slice(b"frt.rpc.echo");
        payload.extend_from_slice(&values(b"bhildfsxBHILFDSX", little_endian, &body));
        let flags = if little_endian { FLAG_LITTLE_ENDIAN } else { 0 };
        packet_with(flags, PCODE_REQUEST, 4, &payload)
    }
}

#[cfg(test)]
mod tests {
    use super::vectors::*;
    use super::*;

    #[test]
    fn ping_request_matches_hand_written_vector() {
        assert_eq!(ping_request(2), PING_ID_2);
        assert_eq!(reply_for(2), REPLY_ID_2);
    }

    #[test]
    fn error_packet_matches_hand_written_vector() {
        let mut expected = vec![
            0x00, 0x00, 0x00, 0x1e, // 8 + (4 code + 4 length + 14 message) = 30
            0x00, 0x00, 0x00, 0x66, // flags 0, packet code 102 = error
            0x00, 0x00, 0x00, 0x02, // request id
            0x00, 0x00, 0x00, 0x6a, // error code 106
            0x00, 0x00, 0x00, 0x0e, // message length 14
        ];
        expected.extend_from_slice(b"No such method");
        assert_eq!(
            error_for(2, ERROR_NO_SUCH_METHOD, NO_SUCH_METHOD_MESSAGE),
            expected
        );
    }

    #[test]
    fn request_round_trips() {
        for id in [0, 2, 0xffff_fffe, u32::MAX] {
            let bytes = ping_request(id);
            let (packet, used) = parse_packet(&bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(
                packet,
                Packet::Request {
                    request_id: id,
                    method: PING_METHOD.to_owned()
                }
            );
        }
    }

    #[test]
    fn reply_and_error_parse() {
        assert_eq!(
            parse_packet(&reply_for(2)).unwrap(),
            Some((Packet::Reply { request_id: 2 }, 16))
        );
        assert_eq!(
            parse_packet(&REPLY_ID_2_LITTLE_ENDIAN).unwrap(),
            Some((Packet::Reply { request_id: 2 }, 16))
        );
        let bytes = error_for(6, 112, "Permission denied");
        assert_eq!(
            parse_packet(&bytes).unwrap(),
            Some((
                Packet::Error {
                    request_id: 6,
                    code: 112,
                    message: "Permission denied".to_owned()
                },
                bytes.len()
            ))
        );
    }

    #[test]
    fn little_endian_error_parses() {
        // As fnet on x86 sends it: code and message length little-endian.
        let mut payload = 106u32.to_le_bytes().to_vec();
        payload.extend_from_slice(&20u32.to_le_bytes());
        payload.extend_from_slice(b"(RPC) No such method");
        let bytes = packet_with(FLAG_LITTLE_ENDIAN, PCODE_ERROR, 2, &payload);
        let (packet, _) = parse_packet(&bytes).unwrap().unwrap();
        assert_eq!(
            packet,
            Packet::Error {
                request_id: 2,
                code: 106,
                message: "(RPC) No such method".to_owned()
            }
        );
        // Without the flag the message length reads as 0x14000000: refused, not misread.
        let wrong = packet_with(0, PCODE_ERROR, 2, &payload);
        assert!(parse_packet(&wrong).is_err());
    }

    #[test]
    fn every_value_type_parses_in_both_byte_orders() {
        for little_endian in [false, true] {
            let bytes = every_type_request(little_endian);
            let (packet, used) = parse_packet(&bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(
                packet,
                Packet::Request {
                    request_id: 4,
                    method: "frt.rpc.echo".to_owned()
                }
            );
        }
    }

    #[test]
    fn two_packets_back_to_back() {
        let mut bytes = ping_request(2);
        bytes.extend_from_slice(&reply_for(4));
        let (first, used) = parse_packet(&bytes).unwrap().unwrap();
        assert!(matches!(first, Packet::Request { request_id: 2, .. }));
        assert_eq!(used, 32);
        let (second, used) = parse_packet(&bytes[used..]).unwrap().unwrap();
        assert_eq!(second, Packet::Reply { request_id: 4 });
        assert_eq!(used, 16);
    }

    #[test]
    fn every_prefix_needs_more_bytes() {
        for bytes in all_test_packets() {
            for cut in 0..bytes.len() {
                assert_eq!(
                    parse_packet(&bytes[..cut]),
                    Ok(None),
                    "cut at {cut} of {bytes:02x?}"
                );
            }
            assert!(parse_packet(&bytes).unwrap().is_some());
        }
    }

    #[test]
    fn garbage_is_refused() {
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("tls alert", TLS_ALERT.to_vec()),
            ("tls alert prefix", TLS_ALERT[..4].to_vec()),
            (
                "tls client hello",
                vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01],
            ),
            ("http", b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
            (
                "length below header",
                vec![0, 0, 0, 7, 0, 0, 0, 0x64, 0, 0, 0, 2],
            ),
            ("length zero", vec![0, 0, 0, 0]),
            ("too long", vec![0x01, 0x00, 0x00, 0x00]),
            ("unknown pcode", vec![0, 0, 0, 12, 0, 0, 0, 0x67]),
            ("unknown flags", vec![0, 0, 0, 12, 0, 4, 0, 0x65]),
            ("reply without values", vec![0, 0, 0, 8, 0, 0, 0, 0x65]),
            ("request too short", vec![0, 0, 0, 12, 0, 0, 0, 0x64]),
            ("error too short", vec![0, 0, 0, 12, 0, 0, 0, 0x66]),
        ];
        let mut trailing = reply_for(2);
        trailing[3] += 1;
        trailing.push(0);
        cases.push(("reply with trailing byte", trailing));
        let mut long_name = ping_request(2);
        long_name[15] = 0x0d; // method length 13 runs into the value count
        cases.push(("method length off by one", long_name));
        cases.push((
            "unknown value type",
            packet_with(0, PCODE_REPLY, 2, &values(b"z", false, &[0])),
        ));
        cases.push((
            "value list truncated",
            packet_with(0, PCODE_REPLY, 2, &values(b"i", false, &[0, 0])),
        ));
        cases.push((
            "huge string array",
            packet_with(
                0,
                PCODE_REPLY,
                2,
                &values(b"S", false, &[0xff, 0xff, 0xff, 0xff]),
            ),
        ));
        cases.push((
            "huge int64 array",
            packet_with(
                0,
                PCODE_REPLY,
                2,
                &values(b"L", false, &[0xff, 0xff, 0xff, 0xff]),
            ),
        ));
        for (name, bytes) in cases {
            let result = parse_packet(&bytes);
            assert!(result.is_err(), "{name}: {result:?}");
        }
        let message = parse_packet(&TLS_ALERT).unwrap_err().to_string();
        assert!(
            message.starts_with("malformed frt packet: packet length"),
            "{message}"
        );
    }

    #[test]
    fn length_limit() {
        // Exactly MAX_PACKET_LEN is allowed (and incomplete here), one more is not.
        let at_limit = u32::try_from(MAX_PACKET_LEN - 4).unwrap().to_be_bytes();
        assert_eq!(parse_packet(&at_limit), Ok(None));
        let over = u32::try_from(MAX_PACKET_LEN - 3).unwrap().to_be_bytes();
        assert!(parse_packet(&over).is_err());
        assert!(parse_packet(&u32::MAX.to_be_bytes()).is_err());
    }

    #[test]
    fn error_message_is_truncated_on_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_MESSAGE_LEN); // 2 bytes each
        let bytes = error_for(2, 100, &long);
        let (packet, _) = parse_packet(&bytes).unwrap().unwrap();
        let Packet::Error { message, .. } = packet else {
            panic!("not an error packet");
        };
        assert_eq!(message.len(), MAX_ERROR_MESSAGE_LEN);
        assert!(message.chars().all(|c| c == 'é'));
        assert_eq!(truncate_utf8("aé", 2), "a");
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }

    /// Parses `bytes` and returns 0 for an error, 1 for "need more", 2 for a packet.
    fn check_no_panic(bytes: &[u8]) -> usize {
        match parse_packet(bytes) {
            Err(_) => 0,
            Ok(None) => 1,
            Ok(Some((_, used))) => {
                assert!(used >= HEADER_LEN + 4 && used <= bytes.len());
                2
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut seen = [0usize; 3];
        // Pure noise, with plausible headers half of the time so the payload code runs too.
        for _ in 0..20_000 {
            let len = rng.below(64);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 12 && rng.below(2) == 0 {
                // Sometimes a little shorter than the bytes at hand, never below the minimum.
                let length_field = u32::try_from(len - 4 - rng.below(3)).unwrap().max(8);
                bytes[..4].copy_from_slice(&length_field.to_be_bytes());
                bytes[4] = 0;
                bytes[5] = (rng.next() % 4) as u8;
                bytes[6] = 0;
                bytes[7] = 100 + (rng.next() % 3) as u8;
            }
            seen[check_no_panic(&bytes)] += 1;
        }
        // Valid packets with a few bytes changed, cut or extended.
        let seeds = all_test_packets();
        for _ in 0..20_000 {
            let mut bytes = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            match rng.below(3) {
                0 => bytes.truncate(rng.below(bytes.len() + 1)),
                1 => bytes.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
                _ => {}
            }
            seen[check_no_panic(&bytes)] += 1;
        }
        // Every outcome came up, so the loops reached the payload decoding.
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }
}
