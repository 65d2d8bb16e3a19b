//! What a connection knows about its peer, and capability checks against it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use vespa_tls_authz::{CapabilityCheck, CapabilitySet, PeerCredentials, verify_capabilities};
use vespa_tls_config::{CapabilityMode, CipherSuite, TlsProtocol};
use vespa_tls_context::{RateLimiter, TlsMetrics};

/// At most one line about a peer's failed capability checks per this interval.
const CAPABILITY_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// One per process, not per connection: a peer that fails checks on many connections (or
/// reconnects) is one peer, and gets one line per interval.
static CAPABILITY_LOG: LazyLock<RateLimiter> =
    LazyLock::new(|| RateLimiter::new(CAPABILITY_LOG_INTERVAL));

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionSecurity {
    /// No TLS: TLS is not configured, or a plaintext peer of a mixed-mode server.
    Plaintext,
    /// TLS, with what was negotiated.
    #[non_exhaustive]
    Tls {
        /// `TLSv1.2` or `TLSv1.3`.
        protocol: TlsProtocol,
        /// One of the nine suites.
        cipher_suite: CipherSuite,
    },
}

/// The peer of one connection: credentials, capabilities and matched policies, computed once
/// per handshake from the verified leaf certificate, and capability checks under the
/// capability enforcement mode.
///
/// Plaintext connections carry every capability, as in Vespa.
///
/// Cloning is cheap (one reference count): HTTP servers put a copy into every request.
#[derive(Clone)]
pub struct ConnectionAuthContext {
    inner: Arc<AuthContext>,
}

/// What a [`ConnectionAuthContext`] shares between its clones.
#[derive(Debug, Clone)]
struct AuthContext {
    peer_address: Option<SocketAddr>,
    security: ConnectionSecurity,
    credentials: Option<PeerCredentials>,
    matched_policies: Vec<String>,
    capabilities: CapabilitySet,
    capability_mode: CapabilityMode,
    alpn_protocol: Option<Vec<u8>>,
    metrics: Arc<TlsMetrics>,
}

impl fmt::Debug for ConnectionAuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AuthContext {
            peer_address,
            security,
            credentials,
            matched_policies,
            capabilities,
            capability_mode,
            alpn_protocol,
            metrics,
        } = &*self.inner;
        f.debug_struct("ConnectionAuthContext")
            .field("peer_address", peer_address)
            .field("security", security)
            .field("credentials", credentials)
            .field("matched_policies", matched_policies)
            .field("capabilities", capabilities)
            .field("capability_mode", capability_mode)
            .field("alpn_protocol", alpn_protocol)
            .field("metrics", metrics)
            .finish()
    }
}

impl ConnectionAuthContext {
    pub(crate) fn plaintext(
        peer_address: Option<SocketAddr>,
        capability_mode: CapabilityMode,
        metrics: Arc<TlsMetrics>,
    ) -> Self {
        ConnectionAuthContext::shared(AuthContext {
            peer_address,
            security: ConnectionSecurity::Plaintext,
            credentials: None,
            matched_policies: Vec::new(),
            capabilities: CapabilitySet::all(),
            capability_mode,
            alpn_protocol: None,
            metrics,
        })
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "a plain constructor for one call site each side"
    )]
    pub(crate) fn tls(
        peer_address: Option<SocketAddr>,
        protocol: TlsProtocol,
        cipher_suite: CipherSuite,
        credentials: PeerCredentials,
        matched_policies: Vec<String>,
        capabilities: CapabilitySet,
        capability_mode: CapabilityMode,
        metrics: Arc<TlsMetrics>,
    ) -> Self {
        ConnectionAuthContext::shared(AuthContext {
            peer_address,
            security: ConnectionSecurity::Tls {
                protocol,
                cipher_suite,
            },
            credentials: Some(credentials),
            matched_policies,
            capabilities,
            capability_mode,
            alpn_protocol: None,
            metrics,
        })
    }

    fn shared(inner: AuthContext) -> Self {
        ConnectionAuthContext {
            inner: Arc::new(inner),
        }
    }

    /// Set before the context is shared, so this copies nothing.
    pub(crate) fn with_alpn_protocol(mut self, protocol: Option<Vec<u8>>) -> Self {
        Arc::make_mut(&mut self.inner).alpn_protocol = protocol;
        self
    }

    /// The peer's socket address, when known.
    pub fn peer_address(&self) -> Option<SocketAddr> {
        self.inner.peer_address
    }

    /// TLS (with version and suite) or plaintext.
    pub fn security(&self) -> ConnectionSecurity {
        self.inner.security
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner.security, ConnectionSecurity::Tls { .. })
    }

    /// The ALPN protocol the handshake settled on (`h2`, `http/1.1`…); `None` for plaintext
    /// and when either side offered none.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.inner.alpn_protocol.as_deref()
    }

    /// What the peer's verified leaf certificate presents (`None` for plaintext).
    pub fn peer_credentials(&self) -> Option<&PeerCredentials> {
        self.inner.credentials.as_ref()
    }

    /// The names of the policies that matched (empty without `authorized-peers`, in
    /// `disable` mode, for a peer `log_only` let through, and for plaintext).
    pub fn matched_policies(&self) -> &[String] {
        &self.inner.matched_policies
    }

    /// The capabilities granted to the peer.
    pub fn capabilities(&self) -> CapabilitySet {
        self.inner.capabilities
    }

    /// The capability enforcement mode checks use.
    pub fn capability_mode(&self) -> CapabilityMode {
        self.inner.capability_mode
    }

    /// Checks that the peer has every capability in `required` before `action` on `resource`.
    ///
    /// `enforce` refuses a missing capability with Vespa's permission-denied message;
    /// `log_only` logs that message with a `Dry-run: ` prefix and allows; `disable` allows.
    /// Failures count in `capability_checks_failed` in both `enforce` and `log_only`, every
    /// one of them. The log lines (WARN for a refusal, INFO for a dry run) are limited to one
    /// per peer (address and certificate identity) per minute for the whole process; the next
    /// line after suppressed ones ends with `(N similar lines suppressed)`.
    pub fn verify_capabilities(
        &self,
        required: CapabilitySet,
        action: &str,
        resource: &str,
    ) -> Result<(), PermissionDenied> {
        self.verify_capabilities_logged(required, action, resource, &CAPABILITY_LOG, Instant::now())
    }

    /// [`verify_capabilities`](Self::verify_capabilities) with the limiter and the time passed in.
    fn verify_capabilities_logged(
        &self,
        required: CapabilitySet,
        action: &str,
        resource: &str,
        limiter: &RateLimiter,
        now: Instant,
    ) -> Result<(), PermissionDenied> {
        let address = self.inner.peer_address.map(|a| format!("tcp/{a}"));
        let check = verify_capabilities(
            self.inner.capabilities,
            required,
            self.inner.capability_mode,
            Some(action),
            Some(resource),
            address.as_deref(),
            self.inner.credentials.as_ref(),
        );
        match check {
            CapabilityCheck::Allowed => Ok(()),
            CapabilityCheck::DryRunDenied { message } => {
                TlsMetrics::bump(&self.inner.metrics.capability_checks_failed);
                if let Some(suppressed) = limiter.check_at(&self.log_key(), now) {
                    tracing::info!("{message}{}", suppressed_note(suppressed));
                }
                Ok(())
            }
            CapabilityCheck::Refused { message } => {
                TlsMetrics::bump(&self.inner.metrics.capability_checks_failed);
                if let Some(suppressed) = limiter.check_at(&self.log_key(), now) {
                    tracing::warn!("{message}{}", suppressed_note(suppressed));
                }
                Err(PermissionDenied { message })
            }
        }
    }

    /// The peer, for the log limit: its IP address (not the port, which changes with every
    /// connection) and its certificate identity (nodes behind one address stay apart).
    fn log_key(&self) -> String {
        let ip = self.inner.peer_address.map(|a| a.ip().to_string());
        let identity = self.inner.credentials.as_ref().map(ToString::to_string);
        format!(
            "{} {}",
            ip.as_deref().unwrap_or("-"),
            identity.as_deref().unwrap_or("-")
        )
    }
}

/// ` (N similar lines suppressed)` after suppressed lines, nothing otherwise.
fn suppressed_note(suppressed: u64) -> String {
    match suppressed {
        0 => String::new(),
        1 => " (1 similar line suppressed)".to_owned(),
        n => format!(" ({n} similar lines suppressed)"),
    }
}

/// A capability check refused a request. The message is Vespa's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct PermissionDenied {
    /// `Permission denied for '<action>' on '<resource>'. Peer '<address>' with [...]. Requires
    /// capabilities [...] but peer has [...].`
    pub message: String,
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata};
    use vespa_tls_authz::Capability;

    use super::*;

    /// Collects every event's level and message (no tracing-subscriber needed for that).
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

    impl Capture {
        fn lines(&self) -> Vec<(Level, String)> {
            self.0.lock().map(|l| l.clone()).unwrap_or_default()
        }
    }

    struct Message(String);

    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }

    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut message = Message(String::new());
            event.record(&mut message);
            if let Ok(mut lines) = self.0.lock() {
                lines.push((*event.metadata().level(), message.0));
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn peer(address: &str, name: &str, mode: CapabilityMode) -> ConnectionAuthContext {
        ConnectionAuthContext::tls(
            Some(address.parse().unwrap()),
            TlsProtocol::Tls13,
            CipherSuite::Tls13Aes128GcmSha256,
            PeerCredentials::new(Some(name), &[name], &[]),
            Vec::new(),
            CapabilitySet::of(&[Capability::ContentStatusPages]),
            mode,
            Arc::new(TlsMetrics::default()),
        )
    }

    #[test]
    fn a_clone_for_each_request_shares_the_context_and_setting_alpn_first_copies_nothing() {
        let ctx = peer("10.0.0.1:4080", "a.example", CapabilityMode::Enforce);
        let before = Arc::as_ptr(&ctx.inner);
        let ctx = ctx.with_alpn_protocol(Some(b"h2".to_vec()));
        assert_eq!(Arc::as_ptr(&ctx.inner), before);
        let copy = ctx.clone();
        assert!(Arc::ptr_eq(&copy.inner, &ctx.inner));
        assert_eq!(copy.alpn_protocol(), Some(&b"h2"[..]));
        let shown = format!("{copy:?}");
        assert!(
            shown.starts_with("ConnectionAuthContext {") && shown.contains("a.example"),
            "{shown}"
        );
    }

    fn document_api() -> CapabilitySet {
        CapabilitySet::of(&[Capability::ContentDocumentApi])
    }

    fn failed(ctx: &ConnectionAuthContext) -> u64 {
        ctx.inner
            .metrics
            .capability_checks_failed
            .load(Ordering::Relaxed)
    }

    #[test]
    fn a_thousand_refusals_from_one_peer_log_one_line_and_count_a_thousand() {
        let capture = Capture::default();
        let limiter = RateLimiter::new(CAPABILITY_LOG_INTERVAL);
        let now = Instant::now();
        let ctx = peer("10.0.0.1:4080", "node1", CapabilityMode::Enforce);
        tracing::subscriber::with_default(capture.clone(), || {
            for _ in 0..1000 {
                let e = ctx
                    .verify_capabilities_logged(document_api(), "put", "/doc", &limiter, now)
                    .unwrap_err();
                assert!(e.message.starts_with("Permission denied"), "{e}");
            }
        });
        let lines = capture.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].0, Level::WARN);
        assert!(
            lines[0]
                .1
                .starts_with("Permission denied for 'put' on '/doc'"),
            "{}",
            lines[0].1
        );
        assert!(!lines[0].1.contains("suppressed"), "{}", lines[0].1);
        assert_eq!(failed(&ctx), 1000);
    }

    #[test]
    fn other_peers_get_their_own_line_and_a_reconnect_does_not() {
        let capture = Capture::default();
        let limiter = RateLimiter::new(CAPABILITY_LOG_INTERVAL);
        let now = Instant::now();
        let first = peer("10.0.0.1:4080", "node1", CapabilityMode::Enforce);
        // The same peer on a new connection (new port): one peer, no new line.
        let again = peer("10.0.0.1:4081", "node1", CapabilityMode::Enforce);
        // Another node: its own line, by address and by identity.
        let other_address = peer("10.0.0.2:4080", "node1", CapabilityMode::Enforce);
        let other_name = peer("10.0.0.1:4082", "node2", CapabilityMode::Enforce);
        tracing::subscriber::with_default(capture.clone(), || {
            for ctx in [&first, &again, &other_address, &other_name, &first] {
                let _ = ctx.verify_capabilities_logged(document_api(), "put", "/", &limiter, now);
            }
        });
        let lines: Vec<String> = capture.lines().into_iter().map(|(_, l)| l).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("'tcp/10.0.0.1:4080'"), "{}", lines[0]);
        assert!(lines[1].contains("'tcp/10.0.0.2:4080'"), "{}", lines[1]);
        assert!(
            lines[2].contains("'tcp/10.0.0.1:4082'") && lines[2].contains("node2"),
            "{}",
            lines[2]
        );
        assert_eq!(failed(&first), 2);
        assert_eq!(failed(&again), 1);
    }

    #[test]
    fn the_next_line_after_the_interval_says_how_many_were_suppressed() {
        let capture = Capture::default();
        let limiter = RateLimiter::new(CAPABILITY_LOG_INTERVAL);
        let t0 = Instant::now();
        let later = t0 + CAPABILITY_LOG_INTERVAL;
        let ctx = peer("10.0.0.1:4080", "node1", CapabilityMode::Enforce);
        tracing::subscriber::with_default(capture.clone(), || {
            for _ in 0..38 {
                let _ = ctx.verify_capabilities_logged(document_api(), "put", "/", &limiter, t0);
            }
            let _ = ctx.verify_capabilities_logged(document_api(), "put", "/", &limiter, later);
            let _ = ctx.verify_capabilities_logged(document_api(), "put", "/", &limiter, later);
            let end = later + CAPABILITY_LOG_INTERVAL;
            let _ = ctx.verify_capabilities_logged(document_api(), "put", "/", &limiter, end);
        });
        let lines: Vec<String> = capture.lines().into_iter().map(|(_, l)| l).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[1].ends_with(
                "but peer has [vespa.content.status_pages]. (37 similar lines suppressed)"
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with(" (1 similar line suppressed)"),
            "{}",
            lines[2]
        );
        assert_eq!(failed(&ctx), 41);
    }

    #[test]
    fn dry_run_lines_are_limited_and_counted_the_same_way() {
        let capture = Capture::default();
        let limiter = RateLimiter::new(CAPABILITY_LOG_INTERVAL);
        let now = Instant::now();
        let ctx = peer("10.0.0.1:4080", "node1", CapabilityMode::LogOnly);
        tracing::subscriber::with_default(capture.clone(), || {
            for _ in 0..1000 {
                assert!(
                    ctx.verify_capabilities_logged(document_api(), "put", "/", &limiter, now)
                        .is_ok()
                );
            }
        });
        let lines = capture.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].0, Level::INFO);
        assert!(lines[0].1.starts_with("Dry-run: "), "{}", lines[0].1);
        assert_eq!(failed(&ctx), 1000);
    }

    #[test]
    fn the_public_check_uses_the_one_limiter_of_the_process() {
        let capture = Capture::default();
        // An address no other test uses: the limiter is shared by the whole test process.
        let ctx = peer("10.9.9.9:4080", "public-path", CapabilityMode::Enforce);
        let before = Instant::now();
        tracing::subscriber::with_default(capture.clone(), || {
            assert!(ctx.verify_capabilities(document_api(), "put", "/").is_err());
        });
        assert_eq!(capture.lines().len(), 1, "{:?}", capture.lines());
        // A second connection from that peer, at any time up to that line, is suppressed by
        // the process-wide limiter (no clock involved: `before` is not after the line).
        let second = peer("10.9.9.9:4081", "public-path", CapabilityMode::Enforce);
        assert_eq!(CAPABILITY_LOG.check_at(&second.log_key(), before), None);
        assert_eq!(failed(&ctx), 1);
    }
}
