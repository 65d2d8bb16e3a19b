//! `vespa-tls authz`: explain the decision of the `authorized-peers` rules for one peer.
//!
//! The decision and its explanation come from [`Authorizer::explain`]; this module reads the
//! peer and writes the explanation as text or JSON.

use anyhow::Context as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use vespa_tls_authz::{
    AuthorizationResult, Authorizer, CapabilitySet, Explanation, PeerCredentials,
};
use vespa_tls_config::Diagnostics;

use crate::cli::AuthzArgs;
use crate::json::{
    AuthzExplanation, AuthzInvalid, AuthzOutput, Decision, NotMatched, Peer, PolicyEvaluation,
    RequirementEvaluation,
};
use crate::output::{Verdict, config_path, load_options, note, say, say_json};

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

    let explanation = authorizer.explain(&credentials);
    if args.output.json {
        say_json(&explanation_json(&path, &explanation, &findings));
    } else {
        for finding in &findings {
            note(finding.to_string());
        }
        for line in explanation.to_string().lines() {
            say(line);
        }
    }
    Ok(Verdict::from_ok(explanation.result().is_authorized()))
}

fn explanation_json(
    path: &std::path::Path,
    explanation: &Explanation,
    findings: &Diagnostics,
) -> AuthzOutput {
    let (decision, matched_policies, capabilities) = match explanation.result() {
        AuthorizationResult::Authorized {
            matched_policies,
            capabilities,
        } => (
            Decision::Authorized,
            matched_policies.clone(),
            names(*capabilities),
        ),
        AuthorizationResult::Denied { .. } => (Decision::Denied, Vec::new(), Vec::new()),
    };
    let not_matched = explanation
        .not_matched()
        .map(|(policy, reasons)| NotMatched {
            policy: policy.name.to_string(),
            reasons: reasons.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let policies = explanation
        .policies()
        .unwrap_or_default()
        .iter()
        .map(|policy| PolicyEvaluation {
            name: policy.name.to_string(),
            matched: policy.matched(),
            capabilities: names(policy.capabilities),
            requirements: policy
                .requirements
                .iter()
                .map(|r| RequirementEvaluation {
                    field: r.field.as_str().to_owned(),
                    must_match: r.pattern.to_string(),
                    presented: r.presented.to_vec(),
                    met: r.met,
                })
                .collect(),
        })
        .collect();
    AuthzOutput::Explained(Box::new(AuthzExplanation {
        config: path.display().to_string(),
        peer: peer_json(explanation.peer()),
        decision,
        matched_policies,
        capabilities,
        not_matched,
        policies,
        findings: findings.iter().map(Into::into).collect(),
    }))
}

fn invalid(args: &AuthzArgs, message: &str) -> Verdict {
    if args.output.json {
        say_json(&AuthzOutput::InvalidCredentials(AuthzInvalid {
            decision: Decision::Denied,
            invalid_credentials: message.to_owned(),
        }));
    } else {
        say(format!("denied: invalid peer credentials: {message}"));
        say("Vespa refuses such a certificate in every authorization mode.");
    }
    Verdict::No
}

fn names(set: CapabilitySet) -> Vec<String> {
    set.sorted_names().into_iter().map(str::to_owned).collect()
}

fn peer_json(credentials: &PeerCredentials) -> Peer {
    Peer {
        cn: credentials.common_name().map(str::to_owned),
        san_dns: credentials.dns_sans.clone(),
        san_uri: credentials.uri_sans.clone(),
        san_ip: credentials
            .ip_sans
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}
