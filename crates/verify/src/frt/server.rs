//! The accepting side: answer pings as a Vespa RPC server does.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::READ_CHUNK;
use super::codec::{
    ERROR_NO_SUCH_METHOD, FLAG_NOREPLY, FrtError, NO_SUCH_METHOD_MESSAGE, PING_METHOD, Packet,
    decode, error_for, reply_for,
};

/// Answers FRT requests until the peer closes the connection.
///
/// `frt.rpc.ping` gets an empty reply, any other method the "no such method" error (code
/// 106), and requests flagged "no reply" get nothing, as in Vespa. Replies and errors from
/// the peer are ignored. Bytes that are not FRT end the loop with an
/// [`std::io::ErrorKind::InvalidData`] error wrapping the [`FrtError`], and a connection
/// closed in the middle of a packet with [`std::io::ErrorKind::UnexpectedEof`]. At most one
/// packet (up to [`MAX_PACKET_LEN`](super::MAX_PACKET_LEN)) is buffered.
pub async fn serve_pings<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
) -> Result<(), std::io::Error> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        while let Some(decoded) = decode(&buf).map_err(invalid_data)? {
            buf.drain(..decoded.consumed);
            let Packet::Request { request_id, method } = decoded.packet else {
                continue;
            };
            if decoded.flags & FLAG_NOREPLY != 0 {
                continue;
            }
            let answer = if method == PING_METHOD {
                reply_for(request_id)
            } else {
                error_for(request_id, ERROR_NO_SUCH_METHOD, NO_SUCH_METHOD_MESSAGE)
            };
            stream.write_all(&answer).await?;
        }
        stream.flush().await?;

        let read = stream.read(&mut chunk).await?;
        let bytes = chunk.get(..read).unwrap_or_default();
        if bytes.is_empty() {
            // Best effort: the peer may already be gone.
            let _ = stream.shutdown().await;
            if buf.is_empty() {
                return Ok(());
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in the middle of an frt packet",
            ));
        }
        buf.extend_from_slice(bytes);
    }
}

fn invalid_data(error: FrtError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, error)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt as _;

    use super::*;
    use crate::frt::client::{PingOutcome, ping};
    use crate::frt::codec::vectors::*;
    use crate::frt::codec::{
        PCODE_REQUEST, frame, parse_packet, ping_request, put_empty_values, put_string,
    };

    #[tokio::test]
    async fn ping_against_serve_pings() {
        let (mut client, server) = tokio::io::duplex(64);
        let server = tokio::spawn(serve_pings(server));
        assert_eq!(ping(&mut client).await.unwrap(), PingOutcome::Answered);
        // The same connection keeps working, and other methods get "no such method".
        assert_eq!(ping(&mut client).await.unwrap(), PingOutcome::Answered);
        let mut payload = Vec::new();
        put_string(&mut payload, b"vespa.nothing");
        put_empty_values(&mut payload);
        client
            .write_all(&frame(PCODE_REQUEST, 8, &payload))
            .await
            .unwrap();
        let mut buf = Vec::new();
        let answer = read_packet(&mut client, &mut buf).await;
        assert_eq!(
            answer,
            Packet::Error {
                request_id: 8,
                code: ERROR_NO_SUCH_METHOD,
                message: NO_SUCH_METHOD_MESSAGE.to_owned()
            }
        );
        drop(client);
        server.await.unwrap().unwrap();
    }

    /// Reads one packet, keeping whatever follows it in `buf`.
    async fn read_packet(stream: &mut tokio::io::DuplexStream, buf: &mut Vec<u8>) -> Packet {
        loop {
            if let Some((packet, used)) = parse_packet(buf).unwrap() {
                buf.drain(..used);
                return packet;
            }
            let mut chunk = [0u8; 16];
            let read = stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "eof");
            buf.extend_from_slice(&chunk[..read]);
        }
    }

    #[tokio::test]
    async fn serve_pings_answers_pipelined_requests_and_honours_noreply() {
        let (mut client, server) = tokio::io::duplex(1024);
        let server = tokio::spawn(serve_pings(server));
        let mut noreply = ping_request(10);
        noreply[4..6].copy_from_slice(&FLAG_NOREPLY.to_be_bytes());
        let mut batch = noreply;
        batch.extend_from_slice(&reply_for(99)); // ignored
        batch.extend_from_slice(&every_type_request(true)); // id 4, method frt.rpc.echo
        batch.extend_from_slice(&ping_request(12));
        // Dribble it out a byte at a time.
        for byte in batch {
            client.write_all(&[byte]).await.unwrap();
        }
        let mut buf = Vec::new();
        assert!(matches!(
            read_packet(&mut client, &mut buf).await,
            Packet::Error {
                request_id: 4,
                code: ERROR_NO_SUCH_METHOD,
                ..
            }
        ));
        assert_eq!(
            read_packet(&mut client, &mut buf).await,
            Packet::Reply { request_id: 12 }
        );
        client.shutdown().await.unwrap();
        server.await.unwrap().unwrap();
        // Nothing else was sent (the no-reply ping got nothing), and the server closed its side.
        client.read_to_end(&mut buf).await.unwrap();
        assert!(buf.is_empty(), "{buf:02x?}");
    }

    #[tokio::test]
    async fn serve_pings_refuses_garbage_and_truncation() {
        let (mut client, server) = tokio::io::duplex(1024);
        let server = tokio::spawn(serve_pings(server));
        client.write_all(&TLS_ALERT).await.unwrap();
        let error = server.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("malformed frt packet"),
            "{error}"
        );

        let (mut client, server) = tokio::io::duplex(1024);
        let server = tokio::spawn(serve_pings(server));
        client.write_all(&PING_ID_2[..20]).await.unwrap();
        drop(client);
        let error = server.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
