//! The connecting side: one ping, and what came back.
//!
//! `vespa-tls connect` and `scan` ping over TLS (did the server take our certificate, does it
//! speak FRT) and over plaintext (does it accept plaintext); both read the answer here.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::READ_CHUNK;
use super::codec::{Packet, decode, ping_request};

/// The request id [`ping`] sends its ping with: even, as a connecting client's ids are.
const PING_REQUEST_ID: u32 = 2;
/// How many packets that do not answer our ping [`ping`] puts up with.
const MAX_IGNORED_PACKETS: usize = 16;
/// How many bytes [`ping`] reads, at most, waiting for the answer. A ping's answer is 16
/// bytes; this bounds what garbage or a flood of other packets can make it buffer.
const MAX_RECEIVED: usize = 64 * 1024;

/// What came back to a [`ping`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingOutcome {
    /// A well-formed FRT reply or error packet answered our ping: the peer speaks FRT.
    Answered,
    /// The peer closed the connection before sending a byte.
    Closed,
    /// The peer sent bytes that are not an answer to our ping: a TLS alert record, an HTTP
    /// response, our own request echoed back, too many packets that answer something else,
    /// or part of a packet before closing or failing. Holds every byte received.
    NotFrt(Vec<u8>),
}

/// Pings the peer and reads until the answer, bytes that cannot be one, end of stream or an
/// I/O error.
///
/// The ping uses request id 2. [`PingOutcome::Answered`] means a reply or an error packet
/// for that id came back (an error still proves the peer speaks FRT). Packets for other ids
/// are skipped, up to a small limit. An I/O error before any byte arrived, including a
/// connection reset or a TLS alert on a TLS stream (common ways to refuse us), is returned as
/// it is; after some bytes arrived, they are the answer ([`PingOutcome::NotFrt`]). At most
/// 64 KiB is read. This does not time out: wrap it in a deadline.
pub async fn ping<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<PingOutcome, std::io::Error> {
    stream.write_all(&ping_request(PING_REQUEST_ID)).await?;
    stream.flush().await?;

    let mut received = Vec::new();
    // Where the next undecoded packet starts in `received`.
    let mut at = 0usize;
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut ignored = 0usize;
    loop {
        while let Some(rest) = received.get(at..) {
            let decoded = match decode(rest) {
                Ok(Some(decoded)) => decoded,
                Ok(None) => break,
                Err(_) => return Ok(PingOutcome::NotFrt(received)),
            };
            at += decoded.consumed;
            match decoded.packet {
                Packet::Reply { request_id } | Packet::Error { request_id, .. }
                    if request_id == PING_REQUEST_ID =>
                {
                    return Ok(PingOutcome::Answered);
                }
                // Our own request coming back: an echo, not an FRT server.
                Packet::Request { request_id, .. } if request_id == PING_REQUEST_ID => {
                    return Ok(PingOutcome::NotFrt(received));
                }
                _ => {
                    ignored += 1;
                    if ignored > MAX_IGNORED_PACKETS {
                        return Ok(PingOutcome::NotFrt(received));
                    }
                }
            }
        }
        if received.len() >= MAX_RECEIVED {
            return Ok(PingOutcome::NotFrt(received));
        }
        let read = match stream.read(&mut chunk).await {
            Ok(read) => read,
            Err(e) if received.is_empty() => return Err(e),
            Err(_) => return Ok(PingOutcome::NotFrt(received)),
        };
        match chunk.get(..read) {
            Some(bytes) if !bytes.is_empty() => received.extend_from_slice(bytes),
            _ if received.is_empty() => return Ok(PingOutcome::Closed),
            _ => return Ok(PingOutcome::NotFrt(received)),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::frt::codec::vectors::{PING_ID_2, REPLY_ID_2, REPLY_ID_2_LITTLE_ENDIAN, TLS_ALERT};
    use crate::frt::codec::{error_for, ping_request, reply_for};

    /// Runs [`ping`] against a peer that reads the ping, sends `answer` and closes.
    async fn ping_against(answer: Vec<u8>) -> PingOutcome {
        let (mut client, mut peer) = tokio::io::duplex(1024);
        let peer = tokio::spawn(async move {
            let mut ping = [0u8; 32];
            peer.read_exact(&mut ping).await.unwrap();
            assert_eq!(ping, PING_ID_2);
            // The client may stop reading before the end: then this write fails, as it should.
            let _ = peer.write_all(&answer).await;
        });
        let outcome = ping(&mut client).await.unwrap();
        drop(client);
        peer.await.unwrap();
        outcome
    }

    #[tokio::test]
    async fn ping_outcomes() {
        let mut others = reply_for(4);
        others.extend_from_slice(&ping_request(5));
        others.extend_from_slice(&reply_for(2));
        let flood: Vec<u8> = (0..=MAX_IGNORED_PACKETS as u32)
            .flat_map(|id| reply_for(id * 2 + 4))
            .collect();
        // A header announcing a 1 MiB reply to another request, then more filler than is read.
        let mut endless = vec![0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0, 0, 0, 4];
        endless.resize(MAX_RECEIVED + 2 * READ_CHUNK, 0);
        // (case, answer, expected: Some(outcome), or None for "not FRT")
        let cases: Vec<(&str, Vec<u8>, Option<PingOutcome>)> = vec![
            ("tls alert", TLS_ALERT.to_vec(), None),
            ("http", b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), None),
            ("closed at once", Vec::new(), Some(PingOutcome::Closed)),
            (
                "part of a reply, then closed",
                REPLY_ID_2[..10].to_vec(),
                Some(PingOutcome::NotFrt(REPLY_ID_2[..10].to_vec())),
            ),
            (
                "little-endian reply (fnet on x86)",
                REPLY_ID_2_LITTLE_ENDIAN.to_vec(),
                Some(PingOutcome::Answered),
            ),
            // A permission-denied error still proves the peer speaks FRT.
            (
                "error packet",
                error_for(2, 112, "Permission denied"),
                Some(PingOutcome::Answered),
            ),
            // An echo of our own request is not an FRT server.
            (
                "echo",
                PING_ID_2.to_vec(),
                Some(PingOutcome::NotFrt(PING_ID_2.to_vec())),
            ),
            // Answers to other requests are skipped, then ours counts...
            ("others first", others, Some(PingOutcome::Answered)),
            // ...but not forever.
            ("flood", flood.clone(), Some(PingOutcome::NotFrt(flood))),
            ("endless packet", endless.clone(), None),
        ];
        for (case, answer, expected) in cases {
            let got = ping_against(answer.clone()).await;
            match (expected, &got) {
                (Some(expected), _) => assert_eq!(got, expected, "{case}"),
                (None, PingOutcome::NotFrt(bytes)) => {
                    assert!(
                        !bytes.is_empty() && answer.starts_with(bytes),
                        "{case}: {bytes:02x?}"
                    );
                    assert!(
                        bytes.len() < MAX_RECEIVED + READ_CHUNK,
                        "{case}: read too much"
                    );
                }
                (None, got) => panic!("{case}: {got:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_error_before_any_byte_is_returned() {
        let (mut client, peer) = tokio::io::duplex(64);
        drop(peer);
        // The write fails: the peer is gone.
        assert!(ping(&mut client).await.is_err());
    }
}
