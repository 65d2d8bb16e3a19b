//! The verified-chain cache decides as a full verification would: each property of
//! docs/OPERATIONS.md ("Trust", the verified-chain cache) with the verification time passed in
//! and the cache's hits and misses read from the counters.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step should stop the test"
)]

use std::sync::Arc;
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use time::OffsetDateTime;
use vespa_tls_context::{
    ChainError, PeerRejection, PeerRole, ReloadOptions, ReloadingTlsContext, TlsContext, TlsModes,
};
use vespa_tls_pki::{CaParams, CertificateAuthority, NodeParams, Validity, write_node_files};
use vespa_tls_testkit::{Policy, TestConfig, TestPki, handshake_in_memory};

use crate::common::handshake;

fn at(time: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(time.unix_timestamp()).unwrap(),
    ))
}

/// (hits, misses) of a context's cache so far.
fn lookups(ctx: &TlsContext) -> (u64, u64) {
    let s = ctx.metrics().snapshot();
    (s.verified_chain_cache_hits, s.verified_chain_cache_misses)
}

fn client_chain(pki: &TestPki) -> Vec<CertificateDer<'static>> {
    pki.client_in_memory().unwrap().chain
}

fn expired(rejection: &PeerRejection) -> bool {
    matches!(
        rejection,
        PeerRejection::Chain(ChainError::Path(webpki::Error::CertExpired { .. }))
    )
}

#[test]
fn a_repeat_peer_is_a_hit_that_decides_as_the_first_verification() {
    let pki = TestPki::builder().intermediate(true).build().unwrap();
    let ctx = TestConfig::new(pki.server().files()).context();
    let chain = client_chain(&pki);
    assert_eq!(chain.len(), 2, "leaf and intermediate");
    let now = at(pki.now());
    let first = ctx
        .verify_peer(&chain, PeerRole::Client, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (0, 1));
    let second = ctx
        .verify_peer(&chain, PeerRole::Client, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (1, 1));
    assert_eq!(first, second);
    // The same chain judged for the other role is another entry.
    ctx.verify_peer(&chain, PeerRole::Server, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (1, 2));
    // The leaf alone, without the intermediate it needs: a miss, and refused.
    let refused = ctx.verify_peer(&chain[..1], PeerRole::Client, None, now);
    assert!(
        matches!(
            refused,
            Err(PeerRejection::Chain(ChainError::Path(
                webpki::Error::UnknownIssuer
            )))
        ),
        "{refused:?}"
    );
    assert_eq!(lookups(&ctx), (1, 3));
}

#[test]
fn a_certificate_expired_since_it_was_cached_is_refused() {
    let pki = TestPki::new().unwrap();
    let ctx = TestConfig::new(pki.server().files()).context();
    let now = pki.now();
    let short = pki
        .ca()
        .issue(
            &pki.localhost_params("short.localhost")
                .with_validity(Validity::new(
                    now - time::Duration::hours(1),
                    now + time::Duration::hours(1),
                )),
        )
        .unwrap();
    let chain = vec![short.cert_der.clone()];
    ctx.verify_peer(&chain, PeerRole::Client, None, at(now))
        .unwrap();
    ctx.verify_peer(
        &chain,
        PeerRole::Client,
        None,
        at(now + time::Duration::minutes(30)),
    )
    .unwrap();
    assert_eq!(lookups(&ctx), (1, 1), "a hit while still valid");
    let late = at(now + time::Duration::hours(1) + time::Duration::seconds(1));
    let refused = ctx
        .verify_peer(&chain, PeerRole::Client, None, late)
        .unwrap_err();
    assert!(expired(&refused), "{refused:?}");
    // And again: the stale entry is gone, nothing refused is stored.
    let refused = ctx
        .verify_peer(&chain, PeerRole::Client, None, late)
        .unwrap_err();
    assert!(expired(&refused), "{refused:?}");
    assert_eq!(lookups(&ctx), (1, 3));
    // The last second of validity is still inside it (as webpki compares).
    let last = at(now + time::Duration::hours(1));
    ctx.verify_peer(&chain, PeerRole::Client, None, last)
        .unwrap();
    // A clock set back before the start is refused too.
    let early = at(now - time::Duration::hours(2));
    let refused = ctx
        .verify_peer(&chain, PeerRole::Client, None, early)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            PeerRejection::Chain(ChainError::Path(webpki::Error::CertNotValidYet { .. }))
        ),
        "{refused:?}"
    );
}

#[test]
fn a_ca_expired_since_the_chain_was_cached_is_refused() {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let hour = time::Duration::hours(1);
    let ca = CertificateAuthority::new_root(&CaParams::new(
        "short-lived CA",
        Validity::new(now - hour, now + hour),
    ))
    .unwrap();
    let long = Validity::days_from(now - hour, 30);
    let params = |cn: &str| {
        NodeParams::new(cn, long)
            .with_dns("localhost")
            .with_ip(std::net::IpAddr::from([127, 0, 0, 1]))
    };
    let server = ca.issue(&params("server.localhost")).unwrap();
    let client = ca.issue(&params("client.localhost")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = write_node_files(dir.path(), "server", &server, &ca.ca_bundle_pem()).unwrap();
    let ctx = TestConfig::new(&written.files).context();
    let chain = vec![client.cert_der.clone()];
    ctx.verify_peer(&chain, PeerRole::Client, None, at(now))
        .unwrap();
    ctx.verify_peer(
        &chain,
        PeerRole::Client,
        None,
        at(now + time::Duration::minutes(59)),
    )
    .unwrap();
    assert_eq!(lookups(&ctx), (1, 1));
    // The leaf is still valid; its CA is not.
    let refused = ctx
        .verify_peer(&chain, PeerRole::Client, None, at(now + 2 * hour))
        .unwrap_err();
    assert!(
        matches!(
            refused,
            PeerRejection::Chain(ChainError::AnchorNotValid { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(lookups(&ctx), (1, 2));
}

#[test]
fn a_ca_removed_by_a_reload_vouches_for_nothing_cached() {
    let kept = TestPki::new().unwrap();
    let removed =
        CertificateAuthority::new_root(&CaParams::new("removed CA", kept.validity())).unwrap();
    let files = kept.server().files();
    let both = format!("{}{}", kept.ca().ca_bundle_pem(), removed.ca_bundle_pem());
    std::fs::write(&files.ca_certificates, both).unwrap();
    let config = kept.dir().join("reloading.json");
    TestConfig::new(files).write(&config).unwrap();
    let reloading = ReloadingTlsContext::from_file(
        &config,
        TlsModes::default(),
        ReloadOptions {
            watch: false,
            interval: Duration::from_secs(3600),
            ..ReloadOptions::default()
        },
    )
    .unwrap();
    let now = UnixTime::now();
    let stranger = vec![
        removed
            .issue(&kept.localhost_params("client.localhost"))
            .unwrap()
            .cert_der,
    ];
    let ours = client_chain(&kept);
    for _ in 0..2 {
        let ctx = reloading.current();
        ctx.verify_peer(&stranger, PeerRole::Client, None, now)
            .unwrap();
        ctx.verify_peer(&ours, PeerRole::Client, None, now).unwrap();
    }
    let counters = reloading.metrics().snapshot();
    assert_eq!(
        (
            counters.verified_chain_cache_hits,
            counters.verified_chain_cache_misses
        ),
        (2, 2)
    );

    std::fs::write(&files.ca_certificates, kept.ca().ca_bundle_pem()).unwrap();
    reloading.reload().unwrap();
    let ctx = reloading.current();
    let refused = ctx
        .verify_peer(&stranger, PeerRole::Client, None, now)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            PeerRejection::Chain(ChainError::Path(webpki::Error::UnknownIssuer))
        ),
        "{refused:?}"
    );
    // The new snapshot starts empty: the peer of the kept CA is verified in full once more.
    ctx.verify_peer(&ours, PeerRole::Client, None, now).unwrap();
    let counters = reloading.metrics().snapshot();
    assert_eq!(
        (
            counters.verified_chain_cache_hits,
            counters.verified_chain_cache_misses
        ),
        (2, 4)
    );
}

#[test]
fn flooding_the_cache_evicts_nobody_into_failure() {
    let pki = TestPki::new().unwrap();
    let ctx = TestConfig::new(pki.server().files()).context();
    let now = at(pki.now());
    let victim = client_chain(&pki);
    ctx.verify_peer(&victim, PeerRole::Client, None, now)
        .unwrap();
    // More distinct verified chains than one snapshot keeps (1024).
    const FLOOD: usize = 1100;
    let flood: Vec<CertificateDer<'static>> = (0..FLOOD)
        .map(|n| {
            pki.issuer()
                .issue(&pki.localhost_params(&format!("flood-{n}.localhost")))
                .unwrap()
                .cert_der
        })
        .collect();
    for leaf in &flood {
        ctx.verify_peer(std::slice::from_ref(leaf), PeerRole::Client, None, now)
            .unwrap();
    }
    assert_eq!(lookups(&ctx), (0, 1 + FLOOD as u64));
    // Once the cache was full, chains seen once got no entry: the victim is still a hit.
    ctx.verify_peer(&victim, PeerRole::Client, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (1, 1 + FLOOD as u64));
    // The same flood again: every chain not stored is seen a second time (or marked anew
    // where another chain took its mark), and those seen twice push out the oldest entries,
    // the victim among them (it was used before the latest 1023 floods).
    for leaf in &flood {
        ctx.verify_peer(std::slice::from_ref(leaf), PeerRole::Client, None, now)
            .unwrap();
    }
    let (hits, misses) = lookups(&ctx);
    assert_eq!(hits, 1 + 1023, "the floods stored in the first round hit");
    // The victim was forgotten (a miss), and is accepted as before; the cache being full, it
    // is stored on its second sighting and a hit from the third on.
    for _ in 0..2 {
        ctx.verify_peer(&victim, PeerRole::Client, None, now)
            .unwrap();
    }
    assert_eq!(lookups(&ctx), (hits, misses + 2));
    ctx.verify_peer(&victim, PeerRole::Client, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (hits + 1, misses + 2));
}

#[test]
fn a_tampered_certificate_with_the_same_names_misses() {
    let pki = TestPki::new().unwrap();
    let other = TestPki::new().unwrap();
    let ctx = TestConfig::new(pki.server().files()).context();
    let now = at(pki.now());
    let genuine = client_chain(&pki);
    ctx.verify_peer(&genuine, PeerRole::Client, None, now)
        .unwrap();
    ctx.verify_peer(&genuine, PeerRole::Client, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (1, 1));

    // The same subject and SANs, issued by a CA of the same name that we do not trust: webpki
    // takes our CA for the issuer, and the signature does not match.
    let forged = client_chain(&other);
    assert_eq!(
        vespa_tls_authz::PeerCredentials::from_der(&forged[0]).unwrap(),
        vespa_tls_authz::PeerCredentials::from_der(&genuine[0]).unwrap()
    );
    let refused = ctx
        .verify_peer(&forged, PeerRole::Client, None, now)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            PeerRejection::Chain(ChainError::Path(
                webpki::Error::InvalidSignatureForPublicKey
            ))
        ),
        "{refused:?}"
    );
    // The genuine certificate with one bit of its signature flipped.
    let mut bytes = genuine[0].as_ref().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let refused = ctx
        .verify_peer(&[CertificateDer::from(bytes)], PeerRole::Client, None, now)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            PeerRejection::Chain(ChainError::Path(
                webpki::Error::InvalidSignatureForPublicKey
            ))
        ),
        "{refused:?}"
    );
    // The same names from our CA with another key: a new entry, verified in full.
    let reissued = pki
        .issuer()
        .issue(&pki.localhost_params("client.localhost"))
        .unwrap();
    ctx.verify_peer(&[reissued.cert_der], PeerRole::Client, None, now)
        .unwrap();
    assert_eq!(lookups(&ctx), (1, 4));
}

#[test]
fn a_refusal_is_never_cached_and_authorization_runs_on_every_hit() {
    let pki = TestPki::new().unwrap();
    let now = at(pki.now());
    // A chain that fails: verified in full each time.
    let untrusted = client_chain(&TestPki::new().unwrap());
    let ctx = TestConfig::new(pki.server().files()).context();
    for _ in 0..3 {
        ctx.verify_peer(&untrusted, PeerRole::Client, None, now)
            .unwrap_err();
    }
    assert_eq!(lookups(&ctx), (0, 3));

    // A chain that verifies but that no policy authorizes: the chain step is a hit the second
    // time, and the peer is still refused.
    let strict = TestConfig::new(pki.server().files())
        .authorized_peers([Policy::new("only-servers").cn("server.localhost")])
        .context();
    let chain = client_chain(&pki);
    for expected in [(0, 1), (1, 1)] {
        let refused = strict
            .verify_peer(&chain, PeerRole::Client, None, now)
            .unwrap_err();
        assert!(
            matches!(refused, PeerRejection::NotAuthorized { .. }),
            "{refused:?}"
        );
        assert_eq!(lookups(&strict), expected);
    }
    // Hostname validation runs on a hit too.
    let name = |n: &str| ServerName::try_from(n.to_owned()).unwrap();
    let server = pki.server_in_memory().unwrap().chain;
    ctx.verify_peer(&server, PeerRole::Server, Some(&name("localhost")), now)
        .unwrap();
    let before = lookups(&ctx);
    let refused = ctx
        .verify_peer(
            &server,
            PeerRole::Server,
            Some(&name("elsewhere.example")),
            now,
        )
        .unwrap_err();
    assert!(matches!(refused, PeerRejection::Hostname(_)), "{refused:?}");
    assert_eq!(lookups(&ctx), (before.0 + 1, before.1));
}

#[test]
fn handshakes_of_a_repeat_peer_hit_on_both_sides() {
    let pki = TestPki::new().unwrap();
    let server_ctx = TestConfig::new(pki.server().files()).context();
    let client_ctx = TestConfig::new(pki.client().files()).context();
    for _ in 0..3 {
        let outcome = handshake(&client_ctx, &server_ctx, "localhost");
        assert!(
            outcome.ok(),
            "{:?} {:?}",
            outcome.client_error,
            outcome.server_error
        );
    }
    assert_eq!(lookups(&server_ctx), (2, 1));
    assert_eq!(lookups(&client_ctx), (2, 1));
}

/// Presents a chain with whatever key it is given.
#[derive(Debug)]
struct Presents(Arc<CertifiedKey>);

impl ResolvesClientCert for Presents {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[test]
fn a_cached_chain_without_its_private_key_is_refused() {
    let pki = TestPki::new().unwrap();
    let server_ctx = TestConfig::new(pki.server().files()).context();
    let client_ctx = TestConfig::new(pki.client().files()).context();
    assert!(handshake(&client_ctx, &server_ctx, "localhost").ok());
    assert!(handshake(&client_ctx, &server_ctx, "localhost").ok());
    assert_eq!(lookups(&server_ctx), (1, 1), "the client's chain is cached");

    // The client's chain with the server's key: the chain is a hit, the proof of possession
    // (CertificateVerify) fails.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let wrong_key = provider
        .key_provider
        .load_private_key(pki.server_in_memory().unwrap().key)
        .unwrap();
    let impostor = CertifiedKey::new(client_chain(&pki), wrong_key);
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca().root_der().clone()).unwrap();
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(Presents(Arc::new(impostor))));
    let outcome = handshake_in_memory(
        Arc::new(config),
        server_ctx.server_config(),
        ServerName::try_from("localhost").unwrap(),
    );
    assert!(!outcome.ok());
    assert!(
        matches!(
            outcome.server_error,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadSignature
            ))
        ),
        "{:?}",
        outcome.server_error
    );
    assert_eq!(lookups(&server_ctx), (2, 1), "the chain itself was a hit");
}
