//! Just enough of Vespa's RPC protocol (FRT, spoken by the Java `jrt` and the C++ `fnet`
//! libraries) to send an `frt.rpc.ping`, recognise the answer, and answer pings ourselves.
//!
//! Three parts: [`codec`] encodes and decodes packets, [`client`] sends one ping and says what
//! came back ([`ping`]), [`server`] answers pings ([`serve_pings`]). `vespa-tls connect` and
//! `scan` ask whether an endpoint answers FRT with [`ping`] (a well-formed FRT reply or FRT
//! error to our ping means it does), over TLS and over plaintext; `vespa-tls serve --protocol
//! frt` uses [`serve_pings`] to answer pings like a Vespa service would.
//!
//! # The wire format, as read in Vespa's sources
//!
//! Written from a reading of `vespa-engine/vespa` (nothing here is copied from it):
//!
//! * **Packet header** (`jrt/.../Packet.java`, `PacketInfo.java`;
//!   `fnet/src/vespa/fnet/simplepacketstreamer.cpp`, `fnet/.../databuffer.h`): 12 bytes, always
//!   big-endian, whatever the flags say:
//!   - `u32` length: the number of bytes that *follow* this field, i.e. 8 (the next two
//!     header words) plus the payload. Java adds 4 to get the whole packet; fnet subtracts 8
//!     to get the payload.
//!   - `u16` flags and `u16` packet code. fnet reads these four bytes as a single `u32`
//!     "pcode" with the flags in the high half (`packets.cpp`: `(flags << 16) + pcode`); jrt
//!     reads two shorts. Same bytes either way.
//!   - `u32` request id (fnet calls it the channel id).
//! * **Packet codes** (`Packet.java`, `fnet/.../frt/packets.h`): 100 request, 101 reply,
//!   102 error. fnet's packet factory refuses any other code, and jrt treats an unknown code
//!   as garbage and closes the connection.
//! * **Flags** (same files): bit 0 (`FLAG_REVERSE` in jrt, `FLAG_FRT_RPC_LITTLE_ENDIAN` in
//!   fnet) means the *payload* integers are little-endian (the header stays big-endian); bit 1
//!   means "no reply wanted". fnet refuses packets with any other flag bit set. jrt always
//!   sends flags 0, but fnet on a little-endian host sets bit 0 on everything it sends
//!   (`fnet/.../frt/rpcrequest.cpp`), so a reply from a C++ service on x86 is little-endian:
//!   the parser here accepts both orders; what we send is always big-endian, which both
//!   libraries read.
//! * **Request ids** (`Connection.java` `allocateKey`; `fnet/.../connection.h` `GetNextID`,
//!   `IsFromPeer`): the connecting side numbers its requests with even ids, the accepting
//!   side with odd ids. An fnet server silently drops a request whose id has the server's own
//!   parity, so a client should send even ids; [`ping`] does.
//! * **Payloads** (`RequestPacket.java`, `ReplyPacket.java`, `ErrorPacket.java`,
//!   `fnet/.../frt/packets.cpp`):
//!   - request: method name as a string, then the parameter values;
//!   - reply: the return values;
//!   - error: `u32` error code, then the message as a string.
//!
//!   A string is a `u32` byte count and that many UTF-8 bytes, no terminator
//!   (`StringValue.java`).
//! * **Values** (`Values.java`, `Value.java`, `fnet/.../frt/values.cpp`): a `u32` count `n`,
//!   then `n` type bytes (one ASCII letter per value), then the values in order. Type letters:
//!   `b`/`h`/`i`/`l` are 1/2/4/8-byte integers, `f`/`d` 4/8-byte floats, `s` a string, `x` a
//!   data blob (encoded like a string); the upper-case letter is an array of that type, a `u32`
//!   element count then the elements (each string or blob with its own `u32` length). An empty
//!   value list is just `00 00 00 00`. fnet refuses a value list that leaves bytes over in the
//!   packet (and an error packet with trailing bytes); this parser does the same.
//! * **Ping** (`MandatoryMethods.java`; `fnet/.../frt/supervisor.cpp`): every Vespa RPC server
//!   has `frt.rpc.ping` with no parameters and no return values, so its answer is a reply with
//!   an empty value list.
//! * **Unknown methods** (`InvocationServer.java`; `ErrorCode.java`, `fnet/.../frt/error.h`):
//!   answered with an error packet, code 106 (`NO_SUCH_METHOD`), message "No such method"
//!   (jrt; fnet says "(RPC) No such method"). A request flagged "no reply" gets no answer at
//!   all. Replies and errors for unknown request ids are ignored (`Supervisor.java`).
//! * **Lengths**: neither library caps the packet length; this module refuses packets over
//!   [`MAX_PACKET_LEN`] so that garbage cannot make it buffer without bound.
//!
//! A ping request with request id 2 is therefore these 32 bytes:
//!
//! ```text
//! 00 00 00 1c                                  length: 8 header bytes + 20 payload bytes
//! 00 00 00 64                                  flags 0, packet code 100 (request)
//! 00 00 00 02                                  request id 2
//! 00 00 00 0c 66 72 74 2e 72 70 63 2e 70 69 6e 67   method "frt.rpc.ping" (12 bytes)
//! 00 00 00 00                                  parameters: an empty value list
//! ```

/// How much is read from the stream at a time.
const READ_CHUNK: usize = 8 * 1024;

pub mod client;
pub mod codec;
pub mod server;

pub use client::{PingOutcome, ping};
pub use codec::{
    ERROR_NO_SUCH_METHOD, FrtError, MAX_PACKET_LEN, NO_SUCH_METHOD_MESSAGE, PING_METHOD, Packet,
    error_for, parse_packet, ping_request, reply_for,
};
pub use server::serve_pings;
