//! Capability checks on a connection, under the capability enforcement mode.

use std::fmt::Write as _;

use vespa_tls_config::CapabilityMode;

use crate::capability::CapabilitySet;
use crate::credentials::PeerCredentials;

/// The outcome of [`verify_capabilities`]. This crate never logs: the caller logs `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapabilityCheck {
    /// The connection has every required capability, or the mode is `disable`.
    Allowed,
    /// `log_only`: a capability is missing but the request goes on; log `message` (it starts
    /// with `Dry-run: `).
    DryRunDenied {
        /// Vespa's Java permission-denied message with the `Dry-run: ` prefix.
        message: String,
    },
    /// `enforce`: a capability is missing and the request is refused.
    Refused {
        /// Vespa's Java permission-denied message.
        message: String,
    },
}

impl CapabilityCheck {
    /// Whether the request may go on (`Allowed` or `DryRunDenied`).
    pub fn is_allowed(&self) -> bool {
        !matches!(self, CapabilityCheck::Refused { .. })
    }

    /// The message to log or return, when a capability was missing.
    pub fn message(&self) -> Option<&str> {
        match self {
            CapabilityCheck::Allowed => None,
            CapabilityCheck::DryRunDenied { message } | CapabilityCheck::Refused { message } => {
                Some(message)
            }
        }
    }
}

/// Checks that `granted` holds every capability in `required` (an empty requirement always
/// passes), honouring `mode`.
///
/// `action`, `resource` and `peer_address` only improve the message; `peer` is the peer's
/// credentials, `None` for a connection without a certificate (`<missing-certificate>`).
///
/// ```
/// use vespa_tls_authz::{Capability, CapabilityCheck, CapabilitySet, PeerCredentials, verify_capabilities};
/// use vespa_tls_config::CapabilityMode;
/// let peer = PeerCredentials::new(Some("node1"), &["node1.example.com"], &[]);
/// let check = verify_capabilities(
///     CapabilitySet::from(Capability::ContentStatusPages),
///     CapabilitySet::from(Capability::ContentDocumentApi),
///     CapabilityMode::Enforce,
///     Some("put"),
///     Some("/document/v1"),
///     Some("tcp/10.0.0.1:4080"),
///     Some(&peer),
/// );
/// assert_eq!(check.message(), Some(
///     "Permission denied for 'put' on '/document/v1'. Peer 'tcp/10.0.0.1:4080' with \
///      [CN='node1', SAN_DNS=[node1.example.com]]. Requires capabilities \
///      [vespa.content.document_api] but peer has [vespa.content.status_pages]."));
/// assert!(!check.is_allowed());
/// ```
pub fn verify_capabilities(
    granted: CapabilitySet,
    required: CapabilitySet,
    mode: CapabilityMode,
    action: Option<&str>,
    resource: Option<&str>,
    peer_address: Option<&str>,
    peer: Option<&PeerCredentials>,
) -> CapabilityCheck {
    if mode == CapabilityMode::Disable || granted.contains_all(required) {
        return CapabilityCheck::Allowed;
    }
    let message = permission_denied_message(
        granted,
        required,
        mode == CapabilityMode::LogOnly,
        action,
        resource,
        peer_address,
        peer,
    );
    if mode == CapabilityMode::LogOnly {
        CapabilityCheck::DryRunDenied { message }
    } else {
        CapabilityCheck::Refused { message }
    }
}

/// Vespa's Java permission-denied message (`ConnectionAuthContext`), with the `Dry-run: `
/// prefix when `dry_run`.
///
/// `Permission denied for '<action>' on '<resource>'. Peer '<peer>' with [CN='…', SAN_DNS=[…],
/// SAN_URI=[…]]. Requires capabilities [<sorted>] but peer has [<sorted>].` The ` for …` part is
/// left out without a resource (and `'<action>' on ` without an action), `'<peer>' ` without an
/// address, and the certificate part reads `<missing-certificate>` without credentials.
pub fn permission_denied_message(
    granted: CapabilitySet,
    required: CapabilitySet,
    dry_run: bool,
    action: Option<&str>,
    resource: Option<&str>,
    peer_address: Option<&str>,
    peer: Option<&PeerCredentials>,
) -> String {
    let mut b = String::with_capacity(160);
    if dry_run {
        b.push_str("Dry-run: ");
    }
    b.push_str("Permission denied");
    if let Some(resource) = resource {
        b.push_str(" for '");
        if let Some(action) = action {
            b.push_str(action);
            b.push_str("' on '");
        }
        b.push_str(resource);
        b.push('\'');
    }
    b.push_str(". Peer ");
    if let Some(address) = peer_address {
        b.push('\'');
        b.push_str(address);
        b.push_str("' ");
    }
    b.push_str("with ");
    // Writing to a String cannot fail.
    let _ = match peer {
        Some(credentials) => write!(b, "{credentials}"),
        None => write!(b, "<missing-certificate>"),
    };
    let _ = write!(
        b,
        ". Requires capabilities {required} but peer has {granted}."
    );
    b
}
