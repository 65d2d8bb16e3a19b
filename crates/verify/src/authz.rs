//! `vespa-tls authz`: explain the decision of the `authorized-peers` rules for one peer.

use anyhow::Context as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};
use vespa_tls_authz::{AuthorizationResult, Authorizer, CapabilitySet, PeerCredentials};
use vespa_tls_config::AuthorizedPeers;

use crate::cli::AuthzArgs;
use crate::output::{Verdict, config_path, diagnostic_json, load_options, note, say, say_json};

pub(crate) fn run(args: &AuthzArgs) -> anyhow::Result<Verdict> {
    let path = config_path(args.config.as_deref())?;
    let (options, _) = load_options(&path)?;
    let (authorizer, findings) = Authorizer::compile(options.authorized_peers.as_ref());

    let credentials = match &args.cert {
        Some(pem) => {
            let der = CertificateDer::pem_file_iter(pem)
                .with_context(|| format!("{}: cannot read", pem.display()))?
                .next()
                .with_context(|| {
                    format!(
                        "{}: expected a CERTIFICATE block, found none",
                        pem.display()
                    )
                })?
                .with_context(|| format!("{}: malformed PEM", pem.display()))?;
            match PeerCredentials::from_der(&der) {
                Ok(credentials) => credentials,
                Err(e) => return Ok(invalid(args, &format!("{}: {e}", pem.display()))),
            }
        }
        None => {
            let id = &args.identity;
            // A peer with only an IP SAN is a real peer (IP SANs never authorize, so it is
            // denied wherever there are rules); only a peer with no name at all is a usage error.
            if id.cn.is_empty()
                && id.san_dns.is_empty()
                && id.san_uri.is_empty()
                && id.san_ip.is_empty()
            {
                anyhow::bail!(
                    "give a certificate (--cert PEM) or names (--cn, --san-dns, --san-uri, --san-ip)"
                );
            }
            let dns: Vec<&str> = id.san_dns.iter().map(String::as_str).collect();
            let uri: Vec<&str> = id.san_uri.iter().map(String::as_str).collect();
            // Vespa reads the last CN of a certificate.
            let mut credentials =
                PeerCredentials::new(id.cn.last().map(String::as_str), &dns, &uri);
            credentials.ip_sans.clone_from(&id.san_ip);
            credentials
        }
    };

    let result = authorizer.authorize(&credentials);
    let unmatched = unmatched_reasons(options.authorized_peers.as_ref(), &result, &credentials);
    let rules = options
        .authorized_peers
        .as_ref()
        .map_or(0, |p| p.policies().len());
    if args.output.json {
        let (decision, policies, capabilities) = match &result {
            AuthorizationResult::Authorized {
                matched_policies,
                capabilities,
            } => ("authorized", matched_policies.clone(), names(*capabilities)),
            AuthorizationResult::Denied { .. } => ("denied", Vec::new(), Vec::new()),
        };
        say_json(&json!({
            "config": path.display().to_string(),
            "peer": peer_json(&credentials),
            "decision": decision,
            "matched_policies": policies,
            "capabilities": capabilities,
            "not_matched": unmatched.iter().map(|(p, r)| json!({"policy": p, "reasons": r})).collect::<Vec<_>>(),
            "findings": findings.iter().map(diagnostic_json).collect::<Vec<_>>(),
        }));
    } else {
        for finding in &findings {
            note(finding.to_string());
        }
        say(format!("peer: {credentials}"));
        if !credentials.ip_sans.is_empty() {
            let ips: Vec<String> = credentials
                .ip_sans
                .iter()
                .map(ToString::to_string)
                .collect();
            say(format!(
                "  IP SANs [{}] (not used for authorization)",
                ips.join(", ")
            ));
        }
        match &result {
            AuthorizationResult::Authorized {
                matched_policies,
                capabilities,
            } => {
                if rules == 0 {
                    say(
                        "authorized: the config has no authorized-peers, so every peer with a valid certificate is",
                    );
                } else {
                    say(format!("authorized by {}", matched_policies.join(", ")));
                }
                if *capabilities == CapabilitySet::all() {
                    say("capabilities: all (vespa.all)");
                } else {
                    say(format!("capabilities: {}", names(*capabilities).join(", ")));
                }
            }
            AuthorizationResult::Denied { .. } => say(format!(
                "denied: none of the {rules} policies authorizes this peer"
            )),
        }
        for (policy, reasons) in &unmatched {
            say(format!("policy \"{policy}\" did not match:"));
            for reason in reasons {
                say(format!("  {reason}"));
            }
        }
    }
    Ok(Verdict::from_ok(result.is_authorized()))
}

fn invalid(args: &AuthzArgs, message: &str) -> Verdict {
    if args.output.json {
        say_json(&json!({"decision": "denied", "invalid_credentials": message}));
    } else {
        say(format!("denied: invalid peer credentials: {message}"));
        say("Vespa refuses such a certificate in every authorization mode.");
    }
    Verdict::No
}

fn names(set: CapabilitySet) -> Vec<String> {
    set.sorted_names().into_iter().map(str::to_owned).collect()
}

fn peer_json(credentials: &PeerCredentials) -> Value {
    json!({
        "cn": credentials.common_name(),
        "san_dns": credentials.dns_sans,
        "san_uri": credentials.uri_sans,
        "san_ip": credentials.ip_sans.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// For each policy that did not match, why (each policy evaluated on its own).
fn unmatched_reasons(
    peers: Option<&AuthorizedPeers>,
    result: &AuthorizationResult,
    credentials: &PeerCredentials,
) -> Vec<(String, Vec<String>)> {
    let Some(peers) = peers else {
        return Vec::new();
    };
    let matched: &[String] = match result {
        AuthorizationResult::Authorized {
            matched_policies, ..
        } => matched_policies,
        AuthorizationResult::Denied { .. } => &[],
    };
    peers
        .policies()
        .iter()
        .filter(|p| !matched.contains(&p.name))
        .filter_map(|policy| {
            let alone = AuthorizedPeers::new(vec![policy.clone()])?;
            let (one, _) = Authorizer::compile(Some(&alone));
            match one.authorize(credentials) {
                AuthorizationResult::Denied { reasons } => Some((
                    policy.name.clone(),
                    reasons.iter().map(ToString::to_string).collect(),
                )),
                AuthorizationResult::Authorized { .. } => None,
            }
        })
        .collect()
}
