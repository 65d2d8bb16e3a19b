//! The one verification path, [`PeerVerification::verify`]: the chain as OpenSSL would judge
//! it ([`TrustAnchors`]), the peer's credentials, Vespa's hostname check (servers only) and
//! authorization. The rustls verifiers of both directions call it and count and log; the
//! post-handshake auth context, `status()` and `vespa-tls check` call it without counting.
//!
//! A chain that passed the chain and credentials steps is remembered in the snapshot's
//! verified-chain cache ([`crate::cache`]): the same chain presented again skips the chain's
//! signature checks while the validity of every certificate involved is unchanged; hostname
//! validation and authorization run every time, and rustls verifies the peer's proof of
//! possession (CertificateVerify) in every handshake.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, OtherError};
use vespa_tls_authz::{
    Authorizer, AuthzError, CertificateParts, DenialReason, HandshakeDecision, PeerCredentials,
};
use vespa_tls_config::AuthorizationMode;

use crate::cache::{ChainCache, ChainKey, Lookup, ValidityEpoch, VerifiedEntry};
use crate::hostname::{
    HostnameIdentity, HostnameMatch, HostnameMismatch, verify_dns_name, verify_ip,
};
use crate::metrics::{Side, TlsMetrics};
use crate::ratelimit::RateLimiter;
use crate::trust::{CertificateName, ChainError, PeerRole, TrustAnchors, VerifiedChain};

/// Why our verification refused a peer; found inside `rustls::Error::InvalidCertificate(…)`
/// so callers can log the reason with the peer's address.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PeerRejection {
    /// The chain is not trusted as OpenSSL would judge it (unknown CA, expired anchor,
    /// keyUsage, name constraints…).
    #[error("{0}")]
    Chain(ChainError),
    /// The certificate's names cannot be used (empty SAN, NUL byte, odd CN string type…).
    #[error("invalid peer credentials: {0}")]
    InvalidCredentials(AuthzError),
    /// No policy of `authorized-peers` authorizes the peer (authorization mode `enforce`).
    #[error("peer {credentials} is not authorized: {}", reasons_text(.reasons))]
    NotAuthorized {
        /// What the peer presented.
        credentials: PeerCredentials,
        /// Why each policy did not match.
        reasons: Vec<DenialReason>,
    },
    /// The server's certificate does not cover the host name we dialled.
    #[error("hostname validation failed: {0}")]
    Hostname(HostnameMismatch),
}

fn reasons_text(reasons: &[DenialReason]) -> String {
    let texts: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

impl PeerRejection {
    /// Finds our rejection inside a rustls error, if that is what it is.
    pub fn from_rustls(error: &rustls::Error) -> Option<&PeerRejection> {
        match error {
            rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
                other.0.downcast_ref::<PeerRejection>()
            }
            _ => None,
        }
    }

    /// The rustls error a verifier returns. Chain refusals webpki also knows keep rustls's
    /// usual error (and so the usual TLS alert: unknown_ca, certificate_expired…); everything
    /// else travels as `CertificateError::Other` and is found again by [`from_rustls`](Self::from_rustls).
    pub fn into_rustls(self) -> rustls::Error {
        if let PeerRejection::Chain(chain) = &self
            && let Some(standard) = chain.standard_error()
        {
            return rustls::Error::InvalidCertificate(standard);
        }
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }
}

/// A peer that passed verification: what its leaf presents and what the authorization mode
/// made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedPeer {
    /// The leaf's credentials. The CN is `None` when DNS name constraints on the path do not
    /// vouch for it (see [`VerifiedChain::common_name_usable`](crate::VerifiedChain)).
    pub credentials: PeerCredentials,
    /// The decision under the authorization mode (capabilities, matched policies, and the
    /// reasons when `log_only` let an unauthorized peer through).
    pub decision: HandshakeDecision,
    /// The CA bundle entry the chain ends at.
    pub anchor: CertificateName,
    /// How the host name matched, when a server was verified with hostname validation on.
    pub hostname: Option<HostnameMatch>,
}

/// Everything a verification needs; one per [`TlsContext`](crate::TlsContext) snapshot,
/// shared by both rustls verifiers and the context itself.
#[derive(Debug)]
pub(crate) struct PeerVerification {
    pub(crate) anchors: TrustAnchors,
    pub(crate) algorithms: WebPkiSupportedAlgorithms,
    pub(crate) authorizer: Arc<Authorizer>,
    pub(crate) mode: AuthorizationMode,
    pub(crate) hostname_validation: bool,
    handoff: Handoff,
    cache: ChainCache,
    /// Where the cache's hits and misses are counted.
    metrics: Arc<TlsMetrics>,
}

impl PeerVerification {
    pub(crate) fn new(
        anchors: TrustAnchors,
        algorithms: WebPkiSupportedAlgorithms,
        authorizer: Arc<Authorizer>,
        mode: AuthorizationMode,
        hostname_validation: bool,
        metrics: Arc<TlsMetrics>,
    ) -> Self {
        PeerVerification {
            anchors,
            algorithms,
            authorizer,
            mode,
            hostname_validation,
            handoff: Handoff::default(),
            cache: ChainCache::default(),
            metrics,
        }
    }

    /// The verification path. `server_name` is the name dialled when `role` is
    /// [`PeerRole::Server`] (hostname validation runs when it is given and the config does not
    /// disable it). Logs nothing, and counts nothing but the verified-chain cache's lookups.
    pub(crate) fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
        server_name: Option<&ServerName<'_>>,
        now: UnixTime,
    ) -> Result<VerifiedPeer, PeerRejection> {
        self.verify_keyed(&ChainKey::of(chain, role), chain, role, server_name, now)
    }

    /// [`verify`](Self::verify) with the chain's key already computed.
    fn verify_keyed(
        &self,
        key: &ChainKey,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
        server_name: Option<&ServerName<'_>>,
        now: UnixTime,
    ) -> Result<VerifiedPeer, PeerRejection> {
        let verified = self.cached_credentials(key, chain, role, now)?;
        let credentials = verified.credentials.clone();
        let hostname = match server_name {
            Some(name) if role == PeerRole::Server && self.hostname_validation => {
                Some(check_hostname(name, &credentials).map_err(PeerRejection::Hostname)?)
            }
            _ => None,
        };
        let decision = self.authorizer.decide(&credentials, self.mode);
        if !decision.accept {
            return Err(PeerRejection::NotAuthorized {
                credentials,
                reasons: decision.denied.unwrap_or_default(),
            });
        }
        Ok(VerifiedPeer {
            credentials,
            decision,
            anchor: verified.chain.anchor.clone(),
            hostname,
        })
    }

    /// The chain and credentials steps through the verified-chain cache: a stored result whose
    /// validity epoch holds `now`, or a full verification (stored when it passes and the cache
    /// admits it). The leaf is split once for every step that reads it.
    fn cached_credentials(
        &self,
        key: &ChainKey,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
        now: UnixTime,
    ) -> Result<Arc<VerifiedEntry>, PeerRejection> {
        let stale = match self.cache.get(key, now) {
            Lookup::Hit(entry) => {
                TlsMetrics::bump(&self.metrics.verified_chain_cache_hits);
                return Ok(entry);
            }
            Lookup::Miss => false,
            Lookup::Stale => true,
        };
        TlsMetrics::bump(&self.metrics.verified_chain_cache_misses);
        let found = split_chain(chain).and_then(|split| {
            let (verified, credentials) = self.verified_parts(&split, role, now)?;
            // A stale entry was admitted before: its fresh verification replaces it.
            let epoch = (stale || self.cache.admits(key))
                .then(|| {
                    let anchors = self.anchors.entries();
                    ValidityEpoch::of_chain(now, &split.parts, split.intermediates, anchors)
                })
                .flatten();
            Ok((verified, credentials, epoch))
        });
        let (verified, credentials, epoch) = match found {
            Ok(found) => found,
            Err(rejection) => {
                if stale {
                    self.cache.remove(key);
                }
                return Err(rejection);
            }
        };
        let entry = Arc::new(VerifiedEntry {
            chain: verified,
            credentials,
            epoch: epoch.unwrap_or(ValidityEpoch::EMPTY),
        });
        match epoch {
            Some(_) => self.cache.insert(*key, Arc::clone(&entry)),
            None if stale => self.cache.remove(key),
            None => {}
        }
        Ok(entry)
    }

    /// The chain step and the credentials step of [`verify`](Self::verify): the leaf's
    /// credentials as authorization and hostname validation see them.
    pub(crate) fn verified_credentials(
        &self,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
        now: UnixTime,
    ) -> Result<(VerifiedChain, PeerCredentials), PeerRejection> {
        self.verified_parts(&split_chain(chain)?, role, now)
    }

    /// [`verified_credentials`](Self::verified_credentials) with the leaf already split.
    fn verified_parts(
        &self,
        split: &SplitChain<'_, '_>,
        role: PeerRole,
        now: UnixTime,
    ) -> Result<(VerifiedChain, PeerCredentials), PeerRejection> {
        let SplitChain {
            leaf,
            parts,
            intermediates,
        } = split;
        let verified = self
            .anchors
            .verify_split(leaf, parts, intermediates, now, role, self.algorithms.all)
            .map_err(PeerRejection::Chain)?;
        let mut credentials =
            PeerCredentials::from_parts(parts).map_err(PeerRejection::InvalidCredentials)?;
        if !verified.common_name_usable {
            credentials.common_name = None;
        }
        Ok((verified, credentials))
    }

    /// What a finished handshake's verifier decided for this chain, or a fresh verification
    /// (uncounted) when it is no longer remembered.
    pub(crate) fn verified_in_handshake(
        &self,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
    ) -> Result<VerifiedPeer, PeerRejection> {
        let key = ChainKey::of(chain, role);
        match self.handoff.take(&key) {
            Some(peer) => Ok(peer),
            None => self.verify_keyed(&key, chain, role, None, UnixTime::now()),
        }
    }

    /// The proof of possession (CertificateVerify) in TLS 1.2, for both verifiers.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    /// The proof of possession (CertificateVerify) in TLS 1.3, for both verifiers.
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    /// The verifiers' step: verify, count, log, remember for the connection.
    fn verify_counted(
        &self,
        chain: &[CertificateDer<'_>],
        role: PeerRole,
        server_name: Option<&ServerName<'_>>,
        now: UnixTime,
        accounting: &Accounting,
    ) -> Result<(), rustls::Error> {
        let side = match role {
            PeerRole::Client => Side::Server,
            PeerRole::Server => Side::Client,
        };
        let counters = accounting.metrics.side(side);
        let key = ChainKey::of(chain, role);
        match self.verify_keyed(&key, chain, role, server_name, now) {
            Ok(peer) => {
                if let Some(reasons) = &peer.decision.denied {
                    TlsMetrics::bump(&counters.invalid_peer_credentials);
                    if accounting.limiter.allow(&peer.credentials.to_string()) {
                        tracing::warn!(
                            side = side.as_str(),
                            reason = "authorization_denied",
                            "authorization mode log_only: peer {} is not authorized ({}); \
                             letting it through with no capabilities",
                            peer.credentials,
                            reasons_text(reasons)
                        );
                    }
                }
                if let (Some(matched), Some(name)) = (&peer.hostname, server_name)
                    && matched.is_legacy()
                    && accounting
                        .limiter
                        .allow(&format!("hostname {}", name.to_str()))
                {
                    tracing::warn!(
                        "server {} passed hostname validation only through its {matched}",
                        name.to_str()
                    );
                }
                self.handoff.put(key, peer);
                Ok(())
            }
            Err(rejection) => {
                if matches!(
                    rejection,
                    PeerRejection::InvalidCredentials(_) | PeerRejection::NotAuthorized { .. }
                ) {
                    TlsMetrics::bump(&counters.invalid_peer_credentials);
                }
                Err(rejection.into_rustls())
            }
        }
    }
}

pub(crate) fn check_hostname(
    server_name: &ServerName<'_>,
    credentials: &PeerCredentials,
) -> Result<HostnameMatch, HostnameMismatch> {
    let identity = HostnameIdentity {
        dns_sans: &credentials.dns_sans,
        ip_sans: &credentials.ip_sans,
        common_name: credentials.common_name(),
    };
    match server_name {
        ServerName::DnsName(name) => verify_dns_name(name.as_ref(), &identity),
        ServerName::IpAddress(ip) => verify_ip(std::net::IpAddr::from(*ip), &identity),
        other => verify_dns_name(&other.to_str(), &identity),
    }
}

/// The counters and the log limit a verifier reports through.
#[derive(Debug)]
pub(crate) struct Accounting {
    pub(crate) metrics: Arc<TlsMetrics>,
    pub(crate) limiter: RateLimiter,
}

/// Hands a verifier's result to the post-handshake step of the same connection, so a chain
/// is verified once per handshake. Keyed like the verified-chain cache ([`ChainKey`]: a SHA-256
/// over the role and the exact DER of every certificate presented).
///
/// The post-handshake step takes the result out: the table holds only handshakes whose
/// connection has not asked yet, and the result moves to the connection instead of being
/// copied. Handshakes of the same chain in flight at once share one entry that counts them;
/// all but the last to ask get a copy. Bounded: the entries of handshakes that never ask (the
/// handshake failed after the certificate step) are dropped oldest first. A miss only costs a
/// fresh verification.
#[derive(Debug, Default)]
struct Handoff {
    table: Mutex<HandoffTable>,
}

#[derive(Debug, Default)]
struct HandoffTable {
    peers: HashMap<ChainKey, Handed>,
    /// Keys in order of their last `put`, each with that put's stamp; a position whose stamp is
    /// no longer its key's is stale and skipped.
    order: VecDeque<(ChainKey, u64)>,
    clock: u64,
}

#[derive(Debug)]
struct Handed {
    peer: VerifiedPeer,
    /// Handshakes that left this result and have not taken it yet.
    waiting: usize,
    stamp: u64,
}

impl Handoff {
    const CAPACITY: usize = 1024;

    fn lock(&self) -> std::sync::MutexGuard<'_, HandoffTable> {
        match self.table.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn put(&self, key: ChainKey, peer: VerifiedPeer) {
        let mut table = self.lock();
        table.clock += 1;
        let stamp = table.clock;
        let waiting = match table.peers.get(&key) {
            Some(handed) => handed.waiting.saturating_add(1),
            None => 1,
        };
        table.peers.insert(
            key,
            Handed {
                peer,
                waiting,
                stamp,
            },
        );
        table.order.push_back((key, stamp));
        // Drop stale positions from the front, then the oldest entries beyond the bound; the
        // queue never holds more than twice the bound.
        while let Some(&(old, old_stamp)) = table.order.front() {
            let live = table.peers.get(&old).is_some_and(|h| h.stamp == old_stamp);
            if live
                && table.peers.len() <= Self::CAPACITY
                && table.order.len() <= 2 * Self::CAPACITY
            {
                break;
            }
            table.order.pop_front();
            if live {
                table.peers.remove(&old);
            }
        }
    }

    /// The result left for `key`, taken out unless other handshakes of the same chain are still
    /// to ask for it.
    fn take(&self, key: &ChainKey) -> Option<VerifiedPeer> {
        let mut table = self.lock();
        let handed = table.peers.get_mut(key)?;
        if handed.waiting > 1 {
            handed.waiting -= 1;
            return Some(handed.peer.clone());
        }
        table.peers.remove(key).map(|handed| handed.peer)
    }
}

/// Verifies servers for our `ClientConfig`.
#[derive(Debug)]
pub(crate) struct VespaServerVerifier {
    pub(crate) verification: Arc<PeerVerification>,
    pub(crate) accounting: Arc<Accounting>,
}

impl ServerCertVerifier for VespaServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = presented(end_entity, intermediates);
        self.verification.verify_counted(
            &chain,
            PeerRole::Server,
            Some(server_name),
            now,
            &self.accounting,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verification.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verification.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.verification.algorithms.supported_schemes()
    }
}

/// Verifies clients for our `ServerConfig`: a certificate is required.
#[derive(Debug)]
pub(crate) struct VespaClientVerifier {
    pub(crate) verification: Arc<PeerVerification>,
    pub(crate) accounting: Arc<Accounting>,
}

impl ClientCertVerifier for VespaClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.verification.anchors.hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let chain = presented(end_entity, intermediates);
        self.verification
            .verify_counted(&chain, PeerRole::Client, None, now, &self.accounting)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verification.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verification.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.verification.algorithms.supported_schemes()
    }
}

/// The chain as presented, leaf first, borrowing the certificates.
fn presented<'a>(
    end_entity: &'a CertificateDer<'a>,
    intermediates: &'a [CertificateDer<'a>],
) -> Vec<CertificateDer<'a>> {
    let mut chain = Vec::with_capacity(1 + intermediates.len());
    chain.push(CertificateDer::from(end_entity.as_ref()));
    chain.extend(
        intermediates
            .iter()
            .map(|c| CertificateDer::from(c.as_ref())),
    );
    chain
}

/// A presented chain: its leaf, the leaf split into the parts read in place, and the rest.
struct SplitChain<'c, 'd> {
    leaf: &'c CertificateDer<'d>,
    parts: CertificateParts<'c>,
    intermediates: &'c [CertificateDer<'d>],
}

/// Splits `chain`; one that is empty or whose leaf cannot be walked is refused as the chain
/// step refuses it.
fn split_chain<'c, 'd>(
    chain: &'c [CertificateDer<'d>],
) -> Result<SplitChain<'c, 'd>, PeerRejection> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(PeerRejection::Chain(ChainError::NoCertificate));
    };
    let parts = CertificateParts::split(leaf.as_ref())
        .map_err(|e| PeerRejection::Chain(ChainError::Unparsable(e)))?;
    Ok(SplitChain {
        leaf,
        parts,
        intermediates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vespa_tls_authz::CapabilitySet;

    fn peer(cn: &str) -> VerifiedPeer {
        VerifiedPeer {
            credentials: PeerCredentials::new(Some(cn), &[], &[]),
            decision: HandshakeDecision {
                accept: true,
                capabilities: CapabilitySet::all(),
                matched_policies: Vec::new(),
                denied: None,
            },
            anchor: CertificateName {
                subject: "CN=ca".into(),
                sha256_fingerprint: String::new(),
            },
            hostname: None,
        }
    }

    fn chain(bytes: &[&'static [u8]]) -> Vec<CertificateDer<'static>> {
        bytes.iter().map(|b| CertificateDer::from(*b)).collect()
    }

    #[test]
    fn the_handoff_is_keyed_by_every_certificate_and_the_role() {
        let handoff = Handoff::default();
        handoff.put(
            ChainKey::of(&chain(&[b"leaf", b"inter"]), PeerRole::Client),
            peer("a"),
        );
        let hit = handoff.take(&ChainKey::of(
            &chain(&[b"leaf", b"inter"]),
            PeerRole::Client,
        ));
        assert_eq!(
            hit.map(|p| p.credentials.common_name),
            Some(Some("a".into()))
        );
        // Another intermediate, the leaf alone, the other role, or a shifted boundary between
        // two certificates: all misses.
        assert!(
            handoff
                .take(&ChainKey::of(
                    &chain(&[b"leaf", b"other"]),
                    PeerRole::Client
                ))
                .is_none()
        );
        assert!(
            handoff
                .take(&ChainKey::of(&chain(&[b"leaf"]), PeerRole::Client))
                .is_none()
        );
        assert!(
            handoff
                .take(&ChainKey::of(
                    &chain(&[b"leaf", b"inter"]),
                    PeerRole::Server
                ))
                .is_none()
        );
        assert!(
            handoff
                .take(&ChainKey::of(
                    &chain(&[b"lea", b"finter"]),
                    PeerRole::Client
                ))
                .is_none()
        );
    }

    #[test]
    fn the_handoff_stays_bounded_and_forgets_the_oldest() {
        let handoff = Handoff::default();
        let names: Vec<Vec<u8>> = (0..Handoff::CAPACITY + 10)
            .map(|i| i.to_string().into_bytes())
            .collect();
        for name in &names {
            let leaf = [CertificateDer::from(name.as_slice())];
            handoff.put(ChainKey::of(&leaf, PeerRole::Client), peer("x"));
        }
        let table = handoff.lock();
        assert_eq!(table.peers.len(), Handoff::CAPACITY);
        assert_eq!(table.order.len(), Handoff::CAPACITY);
        drop(table);
        let first = [CertificateDer::from(names[0].as_slice())];
        let last = [CertificateDer::from(names[names.len() - 1].as_slice())];
        assert!(
            handoff
                .take(&ChainKey::of(&first, PeerRole::Client))
                .is_none()
        );
        assert!(
            handoff
                .take(&ChainKey::of(&last, PeerRole::Client))
                .is_some()
        );
    }

    #[test]
    fn the_connection_takes_the_result_out() {
        let handoff = Handoff::default();
        let key = ChainKey::of(&chain(&[b"leaf"]), PeerRole::Client);
        handoff.put(key, peer("a"));
        assert_eq!(
            handoff.take(&key).map(|p| p.credentials.common_name),
            Some(Some("a".into()))
        );
        assert!(handoff.take(&key).is_none(), "taken, not copied");
        assert!(handoff.lock().peers.is_empty());
    }

    #[test]
    fn handshakes_of_one_chain_in_flight_at_once_each_get_the_result() {
        let handoff = Handoff::default();
        let key = ChainKey::of(&chain(&[b"leaf"]), PeerRole::Client);
        handoff.put(key, peer("first"));
        handoff.put(key, peer("second"));
        // The latest verification is what both connections see.
        for _ in 0..2 {
            assert_eq!(
                handoff.take(&key).map(|p| p.credentials.common_name),
                Some(Some("second".into()))
            );
        }
        assert!(handoff.take(&key).is_none());
    }

    #[test]
    fn results_never_taken_are_dropped_and_the_queue_stays_bounded() {
        let handoff = Handoff::default();
        let forgotten = ChainKey::of(&chain(&[b"never taken"]), PeerRole::Client);
        handoff.put(forgotten, peer("x"));
        // Many handshakes later, each taken by its connection (some chains repeat).
        for i in 0..10 * Handoff::CAPACITY {
            let name = (i % 300).to_string().into_bytes();
            let key = ChainKey::of(&[CertificateDer::from(name.as_slice())], PeerRole::Client);
            handoff.put(key, peer("y"));
            assert!(handoff.take(&key).is_some());
            let table = handoff.lock();
            assert!(table.order.len() <= 2 * Handoff::CAPACITY);
            assert!(table.peers.len() <= 1);
        }
        assert!(handoff.take(&forgotten).is_none(), "dropped by the bound");
        assert!(handoff.lock().peers.is_empty());
    }
}
