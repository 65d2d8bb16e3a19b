//! ClientHellos our own client never sends: TLS 1.0 and 1.1 hellos built by hand, a real
//! rustls hello to send in pieces, and a config whose hello is over 16 KiB.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;

/// A hand-made ClientHello of TLS 1.0 or 1.1 as `openssl s_client -tls1_1 -cipher
/// 'DEFAULT:@SECLEVEL=0'` sends it (OpenSSL 3.0): CBC suites only, no supported_versions
/// extension, and (unless asked) no signature_algorithms either.
///
/// ```
/// use vespa_tls_testkit::LegacyClientHello;
/// let hello = LegacyClientHello::tls11().to_bytes();
/// // A handshake record of version 0x0301 carrying a ClientHello of version 0x0302.
/// assert_eq!(hello[..3], [0x16, 0x03, 0x01]);
/// assert_eq!(hello[9..11], [0x03, 0x02]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyClientHello {
    version: u8,
    record: u8,
    signature_algorithms: bool,
}

impl LegacyClientHello {
    /// A TLS 1.0 hello (legacy_version 0x0301) in a record of version 0x0301.
    pub fn tls10() -> Self {
        LegacyClientHello {
            version: 0x01,
            record: 0x01,
            signature_algorithms: false,
        }
    }

    /// A TLS 1.1 hello (legacy_version 0x0302) in a record of version 0x0301, as OpenSSL
    /// sends it.
    pub fn tls11() -> Self {
        LegacyClientHello {
            version: 0x02,
            ..Self::tls10()
        }
    }

    /// The record version's second byte (`0x02`: a TLS 1.1 record, which Vespa's snoop rule
    /// 2 does not take for TLS).
    pub fn record_version(self, minor: u8) -> Self {
        LegacyClientHello {
            record: minor,
            ..self
        }
    }

    /// Adds a signature_algorithms extension (which TLS 1.1 never sends): rustls then gets
    /// past its first check and refuses the version instead.
    pub fn with_signature_algorithms(self) -> Self {
        LegacyClientHello {
            signature_algorithms: true,
            ..self
        }
    }

    /// The record: header, handshake header and hello.
    pub fn to_bytes(self) -> Vec<u8> {
        const SUITES: [u8; 18] = [
            0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x35,
            0x00, 0x2f, 0x00, 0xff,
        ];
        const EXTENSIONS: [u8; 36] = [
            0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, // ec_point_formats
            0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
            0x00, 0x18, // supported_groups
            0x00, 0x23, 0x00, 0x00, // session_ticket
            0x00, 0x16, 0x00, 0x00, // encrypt_then_mac
            0x00, 0x17, 0x00, 0x00, // extended_master_secret
        ];
        const SIGNATURE_ALGORITHMS: [u8; 8] = [0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03];

        let mut extensions = EXTENSIONS.to_vec();
        if self.signature_algorithms {
            extensions.extend_from_slice(&SIGNATURE_ALGORITHMS);
        }
        let mut body = vec![0x03, self.version];
        body.extend_from_slice(&[0x42; 32]); // random
        body.push(0); // session id
        push_u16_prefixed(&mut body, &SUITES);
        body.extend_from_slice(&[0x01, 0x00]); // compression: null
        push_u16_prefixed(&mut body, &extensions);
        let mut handshake = vec![0x01, 0x00];
        push_u16_prefixed(&mut handshake, &body); // 24-bit length, below 64 KiB
        let mut record = vec![0x16, 0x03, self.record];
        push_u16_prefixed(&mut record, &handshake);
        record
    }
}

fn push_u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).expect("a hand-made hello is below 64 KiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The first flight rustls sends with `config` to `localhost`: a real ClientHello.
pub fn real_client_hello(config: &Arc<ClientConfig>) -> Vec<u8> {
    let name = ServerName::try_from("localhost").expect("a valid DNS name");
    let mut connection = rustls::ClientConnection::new(Arc::clone(config), name)
        .expect("a client config builds a connection");
    let mut out = Vec::new();
    while connection.wants_write() {
        connection
            .write_tls(&mut out)
            .expect("writing to a Vec cannot fail");
    }
    out
}

/// `good` with seventy 250-byte ALPN names: its ClientHello is about 18 KB, two records.
pub fn oversized_hello_config(good: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = good.clone();
    config.alpn_protocols = (0..70u8).map(|i| vec![b'a' + (i % 26); 250]).collect();
    Arc::new(config)
}
