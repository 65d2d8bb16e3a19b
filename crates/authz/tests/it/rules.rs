//! Table tests for every authorization rule of VESPA-BEHAVIOUR §3–§4 and the seed guide example.

use vespa_tls_authz::{
    AuthorizationResult, Authorizer, Capability, CapabilityCheck, CapabilitySet, DenialReason,
    PeerCredentials, codes, verify_capabilities,
};
use vespa_tls_config::{
    AuthorizationMode, AuthorizedPeers, CapabilityMode, CredentialField, PeerPolicy,
    RequiredPeerCredential, Severity,
};

/// The seed guide's example with the names Vespa's Java services require.
const SEED: &str = vespa_tls_testkit::SEED_CONFIG;

fn compile_text(text: &str) -> (Authorizer, vespa_tls_config::Diagnostics) {
    let (options, _) = vespa_tls_config::parse(text).expect("test config parses");
    Authorizer::compile(options.authorized_peers.as_ref())
}

fn req(field: CredentialField, pattern: &str) -> RequiredPeerCredential {
    RequiredPeerCredential {
        field,
        must_match: pattern.to_owned(),
    }
}

fn policy(name: &str, caps: Option<&[&str]>, reqs: Vec<RequiredPeerCredential>) -> PeerPolicy {
    PeerPolicy {
        name: name.to_owned(),
        description: None,
        capabilities: caps.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
        required_credentials: reqs,
    }
}

fn compile(policies: Vec<PeerPolicy>) -> (Authorizer, vespa_tls_config::Diagnostics) {
    Authorizer::compile(Some(
        &AuthorizedPeers::new(policies).expect("tests pass at least one policy"),
    ))
}

fn matched(result: &AuthorizationResult) -> Vec<String> {
    match result {
        AuthorizationResult::Authorized {
            matched_policies, ..
        } => matched_policies.clone(),
        AuthorizationResult::Denied { .. } => Vec::new(),
    }
}

#[test]
fn seed_example_monitoring_us_east() {
    let (authorizer, diagnostics) = compile_text(SEED);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let monitoring = Some("vespa-monitoring.example.com");
    // (CN, DNS SANs, expected matched policies; empty = denied)
    let table: &[(Option<&str>, &[&str], &[&str])] = &[
        (
            monitoring,
            &["i1.us-east-1.monitor.example.com"],
            &["monitoring"],
        ),
        (
            monitoring,
            &["prod.us-east-42.monitor.example.com"],
            &["monitoring"],
        ),
        (
            monitoring,
            &["i1.us-east-.monitor.example.com"],
            &["monitoring"],
        ),
        // Another region, or an extra label in front: `*` does not cross `.`.
        (monitoring, &["i1.us-west-1.monitor.example.com"], &[]),
        (monitoring, &["a.i1.us-east-1.monitor.example.com"], &[]),
        (monitoring, &["us-east-1.monitor.example.com"], &[]),
        (monitoring, &["i1.eu-us-east-1.monitor.example.com"], &[]),
        // Any one SAN is enough.
        (
            monitoring,
            &[
                "i1.us-west-1.monitor.example.com",
                "i1.us-east-1.monitor.example.com",
            ],
            &["monitoring"],
        ),
        // Both requirements are needed.
        (
            Some("other.example.com"),
            &["i1.us-east-1.monitor.example.com"],
            &[],
        ),
        (None, &["i1.us-east-1.monitor.example.com"], &[]),
        (monitoring, &[], &[]),
        // Case-sensitive.
        (
            Some("Vespa-Monitoring.example.com"),
            &["i1.us-east-1.monitor.example.com"],
            &[],
        ),
        // Cluster nodes.
        (
            None,
            &["node7.mycluster.vespa.example.com"],
            &["cluster-p2p"],
        ),
        (
            Some("anything"),
            &["node7.mycluster.vespa.example.com"],
            &["cluster-p2p"],
        ),
        (None, &["a.node7.mycluster.vespa.example.com"], &[]),
        // Matching both policies.
        (
            monitoring,
            &[
                "i1.us-east-1.monitor.example.com",
                "n.mycluster.vespa.example.com",
            ],
            &["monitoring", "cluster-p2p"],
        ),
    ];
    for &(cn, sans, expected) in table {
        let peer = PeerCredentials::new(cn, sans, &[]);
        let result = authorizer.authorize(&peer);
        assert_eq!(matched(&result), expected, "{peer}");
        if expected.is_empty() {
            assert!(!result.is_authorized(), "{peer}");
            assert_eq!(result.capabilities(), CapabilitySet::none());
        } else {
            // No `capabilities` key: every policy grants all.
            assert_eq!(result.capabilities(), CapabilitySet::all(), "{peer}");
        }
    }
}

#[test]
fn denial_reasons_name_policy_requirement_pattern_and_values() {
    let (authorizer, _) = compile_text(SEED);
    let peer = PeerCredentials::new(
        Some("vespa-monitoring.example.com"),
        &["i1.us-west-1.monitor.example.com", "x.example.com"],
        &["vespa://x"],
    );
    let AuthorizationResult::Denied { reasons } = authorizer.authorize(&peer) else {
        panic!("expected a denial");
    };
    assert_eq!(reasons.len(), 2);
    let DenialReason::RequirementNotMet {
        policy,
        field,
        pattern,
        presented,
    } = &reasons[0]
    else {
        panic!("{:?}", reasons[0]);
    };
    assert_eq!(&**policy, "monitoring");
    assert_eq!(*field, CredentialField::SanDns);
    assert_eq!(&**pattern, "*.us-east-*.monitor.example.com");
    assert_eq!(
        &**presented,
        ["i1.us-west-1.monitor.example.com", "x.example.com"]
    );
    assert_eq!(reasons[1].policy(), "cluster-p2p");
    assert_eq!(
        AuthorizationResult::Denied {
            reasons: reasons.clone()
        }
        .to_string(),
        "denied: policy \"monitoring\": SAN_DNS must match \"*.us-east-*.monitor.example.com\", \
         peer presented [i1.us-west-1.monitor.example.com, x.example.com]; \
         policy \"cluster-p2p\": SAN_DNS must match \"*.mycluster.vespa.example.com\", \
         peer presented [i1.us-west-1.monitor.example.com, x.example.com]"
    );

    // A missing CN is named as such, and the first failing requirement is the one reported.
    let no_cn = PeerCredentials::new(None, &[], &[]);
    let AuthorizationResult::Denied { reasons } = authorizer.authorize(&no_cn) else {
        panic!("expected a denial");
    };
    assert_eq!(
        reasons[0].to_string(),
        "policy \"monitoring\": CN must match \"vespa-monitoring.example.com\", peer presented no CN"
    );
    assert_eq!(
        reasons[1].to_string(),
        "policy \"cluster-p2p\": SAN_DNS must match \"*.mycluster.vespa.example.com\", \
         peer presented no SAN_DNS"
    );
}

#[test]
fn absent_authorized_peers_authorizes_everyone_with_all() {
    let (authorizer, diagnostics) = Authorizer::compile(None);
    assert!(diagnostics.is_empty());
    assert!(authorizer.is_allow_all());
    for peer in [
        PeerCredentials::default(),
        PeerCredentials::new(Some("x"), &["y"], &["z"]),
    ] {
        assert_eq!(
            authorizer.authorize(&peer),
            AuthorizationResult::Authorized {
                matched_policies: vec![],
                capabilities: CapabilitySet::all()
            }
        );
    }
    assert_eq!(
        Authorizer::allow_all()
            .authorize(&PeerCredentials::default())
            .to_string(),
        format!(
            "authorized (no authorized-peers) with {}",
            CapabilitySet::all()
        )
    );
}

#[test]
fn capabilities_are_the_union_over_matching_policies() {
    use CredentialField::*;
    let (authorizer, diagnostics) = compile(vec![
        policy(
            "telemetry",
            Some(&["vespa.telemetry"]),
            vec![req(SanDns, "*.example.com")],
        ),
        policy(
            "docs",
            Some(&["vespa.content.document_api", "vespa.container.document_api"]),
            vec![req(Cn, "writer"), req(SanUri, "vespa://app/*")],
        ),
        policy("none", Some(&["vespa.none"]), vec![req(Cn, "nobody")]),
        policy("everything", None, vec![req(Cn, "root")]),
    ]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let telemetry = CapabilitySet::predefined("vespa.telemetry").unwrap();
    let docs = CapabilitySet::of(&[
        Capability::ContentDocumentApi,
        Capability::ContainerDocumentApi,
    ]);
    let table: &[(PeerCredentials, &[&str], CapabilitySet)] = &[
        (
            PeerCredentials::new(None, &["a.example.com"], &[]),
            &["telemetry"],
            telemetry,
        ),
        (
            PeerCredentials::new(Some("writer"), &["a.example.com"], &["vespa://app/w"]),
            &["telemetry", "docs"],
            telemetry.union(docs),
        ),
        // Requirements are independent: any SAN may satisfy each.
        (
            PeerCredentials::new(Some("writer"), &[], &["other://x", "vespa://app/w"]),
            &["docs"],
            docs,
        ),
        (
            PeerCredentials::new(Some("writer"), &[], &["vespa://app/w/x"]),
            &[],
            CapabilitySet::none(),
        ),
        // `vespa.none` authorizes with one capability that opens no checked API.
        (
            PeerCredentials::new(Some("nobody"), &[], &[]),
            &["none"],
            CapabilitySet::from(Capability::None),
        ),
        (
            PeerCredentials::new(Some("root"), &[], &[]),
            &["everything"],
            CapabilitySet::all(),
        ),
        // SAN_DNS sees only dNSName SANs, SAN_URI only URI SANs (typed, as C++).
        (
            PeerCredentials::new(Some("writer"), &["vespa://app/w"], &[]),
            &[],
            CapabilitySet::none(),
        ),
        (
            PeerCredentials::new(None, &[], &["a.example.com"]),
            &[],
            CapabilitySet::none(),
        ),
    ];
    for (peer, expected_policies, expected_caps) in table {
        let result = authorizer.authorize(peer);
        assert_eq!(matched(&result), *expected_policies, "{peer}");
        assert_eq!(result.capabilities(), *expected_caps, "{peer}");
    }
    let listed: Vec<(&str, CapabilitySet)> = authorizer.policy_capabilities().collect();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[0], ("telemetry", telemetry));
}

#[test]
fn order_of_policies_never_changes_the_decision() {
    use CredentialField::*;
    let a = policy(
        "a",
        Some(&["vespa.slobrok.api"]),
        vec![req(SanDns, "*.a.com")],
    );
    let b = policy("b", Some(&["vespa.logserver.api"]), vec![req(Cn, "*")]);
    let (ab, _) = compile(vec![a.clone(), b.clone()]);
    let (ba, _) = compile(vec![b, a]);
    for peer in [
        PeerCredentials::new(Some("x"), &["n.a.com"], &[]),
        PeerCredentials::new(None, &["n.a.com"], &[]),
        PeerCredentials::new(Some("x"), &[], &[]),
        PeerCredentials::new(None, &[], &[]),
    ] {
        assert_eq!(
            ab.authorize(&peer).capabilities(),
            ba.authorize(&peer).capabilities(),
            "{peer}"
        );
    }
}

#[test]
fn missing_cn_fails_cn_requirements_even_ones_matching_empty() {
    use CredentialField::*;
    for pattern in ["*", "", "**"] {
        let (authorizer, _) = compile(vec![policy("p", None, vec![req(Cn, pattern)])]);
        assert!(
            !authorizer
                .authorize(&PeerCredentials::new(None, &["x"], &["y"]))
                .is_authorized(),
            "{pattern:?}"
        );
        assert_eq!(
            authorizer
                .authorize(&PeerCredentials::new(Some("x"), &[], &[]))
                .is_authorized(),
            !pattern.is_empty(),
            "{pattern:?}"
        );
    }
}

#[test]
fn unknown_capability_names_are_dropped_with_warnings() {
    let text = SEED.replace(
        r#""description": "Cluster-internal node P2P access""#,
        r#""description": "Cluster-internal node P2P access",
           "capabilities": ["vespa.content_node", "vespa.future_api", "VESPA.TELEMETRY"]"#,
    );
    let (authorizer, diagnostics) = compile_text(&text);
    let warnings: Vec<_> = diagnostics.with_code(codes::UNKNOWN_CAPABILITY).collect();
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert_eq!(
        warnings[0].location.as_ref().unwrap().to_string(),
        "/authorized-peers/1/capabilities/1"
    );
    assert!(warnings[0].message.contains("\"vespa.future_api\""));
    assert_eq!(
        warnings[1].location.as_ref().unwrap().to_string(),
        "/authorized-peers/1/capabilities/2"
    );
    assert!(
        warnings[1]
            .message
            .contains("did you mean \"vespa.telemetry\"?"),
        "{}",
        warnings[1].message
    );
    assert!(!diagnostics.has_errors());
    let peer = PeerCredentials::new(None, &["n.mycluster.vespa.example.com"], &[]);
    assert_eq!(
        authorizer.authorize(&peer).capabilities(),
        CapabilitySet::predefined("vespa.content_node").unwrap()
    );
}

#[test]
fn a_policy_with_only_unknown_names_grants_nothing_and_is_an_error() {
    use CredentialField::*;
    let (authorizer, diagnostics) = compile(vec![
        policy(
            "future",
            Some(&["vespa.future_api", "vespa.other"]),
            vec![req(Cn, "peer")],
        ),
        policy(
            "telemetry",
            Some(&["vespa.telemetry"]),
            vec![req(Cn, "watcher")],
        ),
    ]);
    let errors: Vec<_> = diagnostics.with_code(codes::NO_KNOWN_CAPABILITY).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].severity, Severity::Error);
    assert_eq!(
        errors[0].location.as_ref().unwrap().to_string(),
        "/authorized-peers/0/capabilities"
    );
    assert_eq!(diagnostics.with_code(codes::UNKNOWN_CAPABILITY).count(), 2);
    assert!(diagnostics.has_errors());

    // Matched only by the empty policy: not authorized (Java, fail-closed), with a reason.
    let AuthorizationResult::Denied { reasons } =
        authorizer.authorize(&PeerCredentials::new(Some("peer"), &[], &[]))
    else {
        panic!("a peer granted nothing must be denied");
    };
    assert_eq!(
        reasons[0],
        DenialReason::NoCapabilities {
            policy: "future".into()
        }
    );
    assert_eq!(
        reasons[0].to_string(),
        "policy \"future\" matched but grants no known capability"
    );
    assert_eq!(reasons[1].policy(), "telemetry");
    // Another matching policy still grants its capabilities.
    let (authorizer, _) = compile(vec![
        policy("future", Some(&["vespa.future_api"]), vec![req(Cn, "*")]),
        policy(
            "telemetry",
            Some(&["vespa.telemetry"]),
            vec![req(Cn, "watcher")],
        ),
    ]);
    let result = authorizer.authorize(&PeerCredentials::new(Some("watcher"), &[], &[]));
    assert_eq!(matched(&result), ["future", "telemetry"]);
    assert_eq!(result.capabilities().len(), 6);
}

#[test]
fn a_policy_without_requirements_never_matches() {
    let (authorizer, diagnostics) = compile(vec![policy("empty", None, vec![])]);
    assert_eq!(
        diagnostics
            .with_code(codes::NO_REQUIRED_CREDENTIALS)
            .count(),
        1
    );
    let AuthorizationResult::Denied { reasons } =
        authorizer.authorize(&PeerCredentials::new(Some("x"), &["y"], &["z"]))
    else {
        panic!("expected a denial");
    };
    assert_eq!(
        reasons,
        [DenialReason::NoRequirements {
            policy: "empty".into()
        }]
    );
}

#[test]
fn authorization_modes_decide_the_handshake() {
    let (authorizer, _) = compile_text(SEED);
    let good = PeerCredentials::new(None, &["n.mycluster.vespa.example.com"], &[]);
    let bad = PeerCredentials::new(Some("intruder"), &["intruder.example.com"], &[]);
    // (mode, peer, accept, capabilities, matched, has reasons)
    let table = [
        (
            AuthorizationMode::Enforce,
            &good,
            true,
            CapabilitySet::all(),
            vec!["cluster-p2p"],
            false,
        ),
        (
            AuthorizationMode::Enforce,
            &bad,
            false,
            CapabilitySet::none(),
            vec![],
            true,
        ),
        (
            AuthorizationMode::LogOnly,
            &good,
            true,
            CapabilitySet::all(),
            vec!["cluster-p2p"],
            false,
        ),
        (
            AuthorizationMode::LogOnly,
            &bad,
            true,
            CapabilitySet::none(),
            vec![],
            true,
        ),
        (
            AuthorizationMode::Disable,
            &good,
            true,
            CapabilitySet::all(),
            vec![],
            false,
        ),
        (
            AuthorizationMode::Disable,
            &bad,
            true,
            CapabilitySet::all(),
            vec![],
            false,
        ),
    ];
    for (mode, peer, accept, capabilities, matched, has_reasons) in table {
        let decision = authorizer.decide(peer, mode);
        assert_eq!(decision.accept, accept, "{mode:?} {peer}");
        assert_eq!(decision.capabilities, capabilities, "{mode:?} {peer}");
        assert_eq!(decision.matched_policies, matched, "{mode:?} {peer}");
        assert_eq!(decision.denied.is_some(), has_reasons, "{mode:?} {peer}");
    }
}

#[test]
fn capability_checks_follow_the_mode_and_javas_message() {
    let peer = PeerCredentials::new(
        Some("node1"),
        &["node1.example.com", "n1.example.com"],
        &["vespa://app/node1"],
    );
    let granted = CapabilitySet::predefined("vespa.telemetry").unwrap();
    let required = CapabilitySet::of(&[Capability::SlobrokApi, Capability::ContentStateApi]);
    let base = "Permission denied for 'get' on '/state/v1'. Peer 'tcp/10.1.2.3:1234' with \
                [CN='node1', SAN_DNS=[node1.example.com, n1.example.com], \
                SAN_URI=[vespa://app/node1]]. Requires capabilities \
                [vespa.content.state_api, vespa.slobrok.api] but peer has \
                [vespa.container.state_api, vespa.content.metrics_api, vespa.content.state_api, \
                vespa.content.status_pages, vespa.metricsproxy.metrics_api, \
                vespa.sentinel.connectivity_check].";
    let check = |mode| {
        verify_capabilities(
            granted,
            required,
            mode,
            Some("get"),
            Some("/state/v1"),
            Some("tcp/10.1.2.3:1234"),
            Some(&peer),
        )
    };
    assert_eq!(
        check(CapabilityMode::Enforce),
        CapabilityCheck::Refused {
            message: base.to_owned()
        }
    );
    assert_eq!(
        check(CapabilityMode::LogOnly),
        CapabilityCheck::DryRunDenied {
            message: format!("Dry-run: {base}")
        }
    );
    assert!(check(CapabilityMode::LogOnly).is_allowed());
    assert!(!check(CapabilityMode::Enforce).is_allowed());
    assert_eq!(check(CapabilityMode::Disable), CapabilityCheck::Allowed);
    assert_eq!(check(CapabilityMode::Disable).message(), None);

    // Passing checks, in every mode; an empty requirement always passes.
    for mode in [
        CapabilityMode::Enforce,
        CapabilityMode::LogOnly,
        CapabilityMode::Disable,
    ] {
        let ok = |granted, required| {
            verify_capabilities(granted, required, mode, None, None, None, None)
        };
        assert_eq!(ok(granted, CapabilitySet::none()), CapabilityCheck::Allowed);
        assert_eq!(
            ok(CapabilitySet::none(), CapabilitySet::none()),
            CapabilityCheck::Allowed
        );
        assert_eq!(ok(CapabilitySet::all(), required), CapabilityCheck::Allowed);
        assert_eq!(
            ok(granted, CapabilitySet::from(Capability::ContentStateApi)),
            CapabilityCheck::Allowed
        );
    }

    // Parts left out when absent; a plaintext peer has no certificate.
    let required = CapabilitySet::from(Capability::SlobrokApi);
    type Row<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a PeerCredentials>,
        &'a str,
    );
    let table: [Row<'_>; 5] = [
        (
            None,
            None,
            None,
            None,
            "Permission denied. Peer with <missing-certificate>. Requires capabilities \
             [vespa.slobrok.api] but peer has [].",
        ),
        (
            Some("ignored without a resource"),
            None,
            Some("tcp/[::1]:19090"),
            None,
            "Permission denied. Peer 'tcp/[::1]:19090' with <missing-certificate>. Requires \
             capabilities [vespa.slobrok.api] but peer has [].",
        ),
        (
            None,
            Some("slobrok.registerRpcServer"),
            None,
            Some(&PeerCredentials::default()),
            "Permission denied for 'slobrok.registerRpcServer'. Peer with []. Requires \
             capabilities [vespa.slobrok.api] but peer has [].",
        ),
        (
            Some("call"),
            Some("x"),
            None,
            Some(&PeerCredentials::new(None, &[], &["u://v"])),
            "Permission denied for 'call' on 'x'. Peer with [SAN_URI=[u://v]]. Requires \
             capabilities [vespa.slobrok.api] but peer has [].",
        ),
        (
            None,
            Some("x"),
            None,
            Some(&PeerCredentials::new(Some("c"), &[], &[])),
            "Permission denied for 'x'. Peer with [CN='c']. Requires capabilities \
             [vespa.slobrok.api] but peer has [].",
        ),
    ];
    for (action, resource, address, peer, expected) in table {
        let check = verify_capabilities(
            CapabilitySet::none(),
            required,
            CapabilityMode::Enforce,
            action,
            resource,
            address,
            peer,
        );
        assert_eq!(check.message(), Some(expected));
    }
}
