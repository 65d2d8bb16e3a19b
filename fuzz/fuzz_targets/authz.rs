//! Arbitrary credentials (lines `c`CN, `d`DNS SAN, `u`URI SAN) against the fixed policy set
//! `AUTHZ_POLICIES`: never panics, the same input gives the same result twice, the result is
//! the one VESPA-BEHAVIOUR §4 prescribes (computed by the reference), and each authorization
//! mode applies it as documented.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vespa_tls_authz::{AuthorizationResult, Authorizer, CapabilitySet};
use vespa_tls_config::{AuthorizationMode, PeerPolicy};
use vespa_tls_fuzz::{AUTHZ_POLICIES, read_credentials, reference};

static POLICIES: LazyLock<(Vec<PeerPolicy>, Authorizer)> = LazyLock::new(|| {
    let (options, _) = vespa_tls_config::parse(AUTHZ_POLICIES).expect("the fixed policies parse");
    let peers = options
        .authorized_peers
        .expect("the fixed policies have authorized-peers");
    let (authorizer, _) = Authorizer::compile(Some(&peers));
    (peers.policies().to_vec(), authorizer)
});

fuzz_target!(|data: &[u8]| {
    let (policies, authorizer) = &*POLICIES;
    let peer = read_credentials(data);
    let result = authorizer.authorize(&peer);
    assert_eq!(authorizer.authorize(&peer), result, "not deterministic");
    let _ = result.to_string();

    let (matched, capabilities) = reference::authorize(policies, &peer);
    match &result {
        AuthorizationResult::Authorized {
            matched_policies,
            capabilities: granted,
        } => {
            assert_eq!(matched_policies, &matched, "{peer}");
            assert_eq!(*granted, capabilities, "{peer}");
            assert!(!granted.is_empty());
        }
        AuthorizationResult::Denied { reasons } => {
            assert!(
                capabilities.is_empty(),
                "denied, but {matched:?} grant {capabilities}"
            );
            assert_eq!(reasons.len(), policies.len(), "one reason per policy");
        }
    }

    for mode in [
        AuthorizationMode::Enforce,
        AuthorizationMode::LogOnly,
        AuthorizationMode::Disable,
    ] {
        let decision = authorizer.decide(&peer, mode);
        let (accept, granted) = match mode {
            AuthorizationMode::Disable => (true, CapabilitySet::all()),
            _ if result.is_authorized() => (true, result.capabilities()),
            AuthorizationMode::LogOnly => (true, CapabilitySet::none()),
            _ => (false, CapabilitySet::none()),
        };
        assert_eq!(decision.accept, accept, "{mode:?} for {peer}");
        assert_eq!(decision.capabilities, granted, "{mode:?} for {peer}");
    }
});
