//! Why a connection could not be accepted or established.

use std::net::SocketAddr;
use std::time::Duration;

use vespa_tls_context::{HandshakeFailure, PeerRejection};

use crate::snoop::NotTlsReason;

/// Why a connection failed before it could be used. Every variant names the peer.
///
/// Every message is complete on its own: an underlying error is part of the message and kept
/// in a typed field, never also returned by [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The peer sent nothing conclusive (or did not finish the handshake) before the deadline.
    #[error("{peer}: no complete {stage} within {timeout:?}")]
    Timeout {
        /// The peer, as `tcp/<address>` or `unknown peer`.
        peer: Peer,
        /// `ClientHello` or `TLS handshake`.
        stage: &'static str,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// The peer closed the connection before the snoop could decide.
    #[error("{peer}: connection closed after {received} bytes, before TLS could be detected")]
    ClosedDuringSnoop {
        /// The peer.
        peer: Peer,
        /// How many bytes it sent.
        received: usize,
    },
    /// A TLS-only server got something that is not a TLS ClientHello.
    #[error("{peer}: plaintext refused, this server requires TLS ({})", reason.as_str())]
    PlaintextRefused {
        /// The peer.
        peer: Peer,
        /// Why the first bytes are not TLS.
        reason: NotTlsReason,
    },
    /// The TLS handshake failed (certificate, authorization, protocol…).
    #[error("{peer}: TLS handshake failed: {error}")]
    Handshake {
        /// The peer.
        peer: Peer,
        /// What rustls (or our verifier) said; see [`rustls_error`](Self::rustls_error).
        error: std::io::Error,
    },
    /// The peer completed a handshake but did not present what a connection needs.
    #[error("{peer}: {problem}")]
    Credentials {
        /// The peer.
        peer: Peer,
        /// What is missing, e.g. `the peer presented no certificate`.
        problem: &'static str,
    },
    /// The peer completed a handshake but its certificate is refused when its credentials are
    /// read for the connection.
    #[error("{peer}: {rejection}")]
    Rejected {
        /// The peer.
        peer: Peer,
        /// Why, as the verifier says it (boxed: it holds the peer's names and the reasons,
        /// and would make every `Result` of this crate as large).
        rejection: Box<PeerRejection>,
    },
    /// Reading from or writing to the socket failed.
    #[error("{peer}: {error}")]
    Io {
        /// The peer.
        peer: Peer,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A URI given to the HTTP connector names nothing to connect to.
    #[error("{uri}: {problem}")]
    InvalidUri {
        /// The URI.
        uri: String,
        /// What is missing.
        problem: &'static str,
    },
    /// A host name could not be resolved to any address.
    #[error("{host}: cannot resolve: {error}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        error: std::io::Error,
    },
    /// The host name to connect to cannot be used as a TLS server name.
    #[error("{host:?} is not a valid host name or IP address for TLS")]
    InvalidServerName {
        /// What was given.
        host: String,
    },
}

impl TransportError {
    /// Why the connection failed, as counted in `vespa_tls_handshakes_failed_total`.
    pub fn failure_reason(&self) -> HandshakeFailure {
        match self {
            TransportError::Timeout { .. } => HandshakeFailure::Timeout,
            TransportError::PlaintextRefused { .. } => HandshakeFailure::PlaintextRefused,
            TransportError::Rejected { rejection, .. } => {
                HandshakeFailure::from_rejection(rejection)
            }
            TransportError::Credentials { problem, .. } if *problem == NO_CERTIFICATE => {
                HandshakeFailure::NoCertificate
            }
            TransportError::Credentials { .. } => HandshakeFailure::ProtocolMismatch,
            TransportError::Handshake { .. } => self
                .rustls_error()
                .map_or(HandshakeFailure::Other, HandshakeFailure::from_rustls),
            TransportError::ClosedDuringSnoop { .. }
            | TransportError::Io { .. }
            | TransportError::InvalidServerName { .. }
            | TransportError::InvalidUri { .. }
            | TransportError::Resolve { .. } => HandshakeFailure::Other,
        }
    }

    /// The rustls error behind a failed handshake, if that is what this is.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        match self {
            TransportError::Handshake { error, .. } => error
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>()),
            _ => None,
        }
    }
}

/// [`TransportError::Credentials`]' problem when the peer presented no certificate.
pub(crate) const NO_CERTIFICATE: &str = "the peer presented no certificate";

/// A peer in messages: `tcp/127.0.0.1:4080`, or `unknown peer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub Option<SocketAddr>);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(address) => write!(f, "tcp/{address}"),
            None => f.write_str("unknown peer"),
        }
    }
}
