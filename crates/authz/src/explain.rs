//! Why a peer is or is not authorized: the decision, then every requirement of every policy.

use std::fmt;
use std::sync::Arc;

use vespa_tls_config::CredentialField;

use crate::authorizer::{AuthorizationResult, Authorizer, DenialReason};
use crate::capability::CapabilitySet;
use crate::credentials::PeerCredentials;

/// The decision of [`Authorizer::authorize`] for one peer with the evaluation behind it.
///
/// [`Display`](fmt::Display) writes it for a person, one fact per line: the peer, its IP SANs
/// (never used), the decision with the matched policies and capabilities, and for every policy
/// that did not match, each requirement the peer did not meet.
///
/// ```
/// use vespa_tls_authz::{Authorizer, PeerCredentials};
/// let (options, _) = vespa_tls_config::parse(r#"{
///   "files": {"ca-certificates": "/c", "certificates": "/h", "private-key": "/k"},
///   "authorized-peers": [{
///     "name": "monitoring",
///     "required-credentials": [
///       {"field": "CN", "must-match": "vespa-monitoring.example.com"},
///       {"field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com"}
///     ],
///     "capabilities": ["vespa.telemetry"]
///   }]
/// }"#)?;
/// let (authorizer, _) = Authorizer::compile(options.authorized_peers.as_ref());
/// let west = PeerCredentials::new(None, &["i1.us-west-1.monitor.example.com"], &[]);
/// let explanation = authorizer.explain(&west);
/// assert!(!explanation.result().is_authorized());
/// assert_eq!(explanation.to_string(), "\
/// peer: [SAN_DNS=[i1.us-west-1.monitor.example.com]]
/// denied: none of the 1 policies authorizes this peer
/// policy \"monitoring\" did not match:
///   policy \"monitoring\": CN must match \"vespa-monitoring.example.com\", peer presented no CN
///   policy \"monitoring\": SAN_DNS must match \"*.us-east-*.monitor.example.com\", peer presented [i1.us-west-1.monitor.example.com]
/// ");
/// # Ok::<(), vespa_tls_config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    peer: PeerCredentials,
    result: AuthorizationResult,
    /// `None` without `authorized-peers`.
    policies: Option<Vec<PolicyExplanation>>,
}

/// How one policy fared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyExplanation {
    /// The policy's name.
    pub name: Arc<str>,
    /// What it grants.
    pub capabilities: CapabilitySet,
    /// Each required credential, in file order, and whether the peer met it.
    pub requirements: Vec<RequirementCheck>,
}

/// One required credential of a policy, held against the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequirementCheck {
    /// The field it reads.
    pub field: CredentialField,
    /// Its `must-match` pattern.
    pub pattern: Arc<str>,
    /// What the peer presented for the field (no CN = empty).
    pub presented: Arc<[String]>,
    /// Whether the pattern matched one of them.
    pub met: bool,
}

impl Authorizer {
    /// Decides as [`Authorizer::authorize`] does and keeps the evaluation of every requirement
    /// of every policy, for a person asking why.
    pub fn explain(&self, peer: &PeerCredentials) -> Explanation {
        let result = self.authorize(peer);
        let policies = self.compiled_policies().map(|policies| {
            policies
                .iter()
                .map(|policy| PolicyExplanation {
                    name: Arc::clone(&policy.name),
                    capabilities: policy.capabilities,
                    requirements: policy
                        .requirements
                        .iter()
                        .map(|requirement| RequirementCheck {
                            field: requirement.field,
                            pattern: Arc::clone(&requirement.pattern),
                            presented: presented(peer, requirement.field),
                            met: requirement.matches(peer),
                        })
                        .collect(),
                })
                .collect()
        });
        Explanation {
            peer: peer.clone(),
            result,
            policies,
        }
    }
}

impl Explanation {
    /// The peer the decision is about.
    pub fn peer(&self) -> &PeerCredentials {
        &self.peer
    }

    /// The decision, exactly as [`Authorizer::authorize`] returns it.
    pub fn result(&self) -> &AuthorizationResult {
        &self.result
    }

    /// Every policy in file order; `None` without `authorized-peers` (every peer with a valid
    /// certificate is authorized, with all capabilities).
    pub fn policies(&self) -> Option<&[PolicyExplanation]> {
        self.policies.as_deref()
    }

    /// The policies that are not among the decision's matched policies, each with why.
    pub fn not_matched(&self) -> impl Iterator<Item = (&PolicyExplanation, Vec<DenialReason>)> {
        let matched: &[String] = match &self.result {
            AuthorizationResult::Authorized {
                matched_policies, ..
            } => matched_policies,
            AuthorizationResult::Denied { .. } => &[],
        };
        self.policies
            .iter()
            .flatten()
            .filter(move |policy| !matched.iter().any(|m| **m == *policy.name))
            .map(|policy| (policy, policy.reasons()))
            .filter(|(_, reasons)| !reasons.is_empty())
    }
}

impl PolicyExplanation {
    /// Whether every required credential matched (a policy without any never matches).
    pub fn matched(&self) -> bool {
        !self.requirements.is_empty() && self.requirements.iter().all(|r| r.met)
    }

    /// Why this policy does not authorize the peer: every requirement not met, or that it has
    /// none, or that it matched but grants nothing. Empty when it authorizes the peer.
    pub fn reasons(&self) -> Vec<DenialReason> {
        let policy = || Arc::clone(&self.name);
        if self.requirements.is_empty() {
            return vec![DenialReason::NoRequirements { policy: policy() }];
        }
        let unmet: Vec<DenialReason> = self
            .requirements
            .iter()
            .filter(|r| !r.met)
            .map(|r| DenialReason::RequirementNotMet {
                policy: policy(),
                field: r.field,
                pattern: Arc::clone(&r.pattern),
                presented: Arc::clone(&r.presented),
            })
            .collect();
        if unmet.is_empty() && self.capabilities.is_empty() {
            return vec![DenialReason::NoCapabilities { policy: policy() }];
        }
        unmet
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "peer: {}", self.peer)?;
        if !self.peer.ip_sans.is_empty() {
            f.write_str("  IP SANs [")?;
            for (i, ip) in self.peer.ip_sans.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{ip}")?;
            }
            writeln!(f, "] (not used for authorization)")?;
        }
        match (&self.result, &self.policies) {
            (AuthorizationResult::Authorized { capabilities, .. }, None) => {
                writeln!(
                    f,
                    "authorized: the config has no authorized-peers, so every peer with a valid certificate is"
                )?;
                write_capabilities(f, *capabilities)?;
            }
            (
                AuthorizationResult::Authorized {
                    matched_policies,
                    capabilities,
                },
                Some(_),
            ) => {
                writeln!(f, "authorized by {}", matched_policies.join(", "))?;
                write_capabilities(f, *capabilities)?;
            }
            (AuthorizationResult::Denied { .. }, policies) => writeln!(
                f,
                "denied: none of the {} policies authorizes this peer",
                policies.as_ref().map_or(0, Vec::len)
            )?,
        }
        for (policy, reasons) in self.not_matched() {
            writeln!(f, "policy \"{}\" did not match:", policy.name)?;
            for reason in reasons {
                writeln!(f, "  {reason}")?;
            }
        }
        Ok(())
    }
}

fn write_capabilities(f: &mut fmt::Formatter<'_>, capabilities: CapabilitySet) -> fmt::Result {
    if capabilities == CapabilitySet::all() {
        writeln!(f, "capabilities: all (vespa.all)")
    } else {
        writeln!(
            f,
            "capabilities: {}",
            capabilities.sorted_names().join(", ")
        )
    }
}

fn presented(peer: &PeerCredentials, field: CredentialField) -> Arc<[String]> {
    match field {
        CredentialField::Cn => peer.common_name.iter().cloned().collect(),
        CredentialField::SanDns => peer.dns_sans.iter().cloned().collect(),
        CredentialField::SanUri => peer.uri_sans.iter().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"{
      "files": {"ca-certificates": "/c", "certificates": "/h", "private-key": "/k"},
      "authorized-peers": [
        {"name": "cluster-p2p",
         "required-credentials": [{"field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com"}]},
        {"name": "monitoring", "capabilities": ["vespa.telemetry"],
         "required-credentials": [
           {"field": "CN", "must-match": "vespa-monitoring.example.com"},
           {"field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com"}]},
        {"name": "nothing", "capabilities": ["vespa.no_such_thing"],
         "required-credentials": [{"field": "SAN_URI", "must-match": "vespa://nothing"}]}
      ]
    }"#;

    /// (cn, dns, uri, authorized, policies whose requirements all match)
    type Row = (
        Option<&'static str>,
        &'static [&'static str],
        &'static [&'static str],
        bool,
        &'static [&'static str],
    );

    fn authorizer() -> Authorizer {
        let (options, _) = vespa_tls_config::parse(RULES).unwrap();
        Authorizer::compile(options.authorized_peers.as_ref()).0
    }

    #[test]
    fn explanations_agree_with_the_decision() {
        let authorizer = authorizer();
        // (cn, dns, uri, authorized, policies whose requirements all match)
        let table: [Row; 6] = [
            (
                None,
                &["n1.mycluster.vespa.example.com"],
                &[],
                true,
                &["cluster-p2p"],
            ),
            (
                Some("vespa-monitoring.example.com"),
                &["i1.us-east-1.monitor.example.com"],
                &[],
                true,
                &["monitoring"],
            ),
            (
                Some("vespa-monitoring.example.com"),
                &["i1.us-west-1.monitor.example.com"],
                &[],
                false,
                &[],
            ),
            // Matches a policy that grants nothing: denied.
            (None, &[], &["vespa://nothing"], false, &["nothing"]),
            (
                Some("vespa-monitoring.example.com"),
                &[
                    "x.mycluster.vespa.example.com",
                    "i1.us-east-1.monitor.example.com",
                ],
                &["vespa://nothing"],
                true,
                &["cluster-p2p", "monitoring", "nothing"],
            ),
            (None, &[], &[], false, &[]),
        ];
        for (cn, dns, uri, authorized, matching) in table {
            let peer = PeerCredentials::new(cn, dns, uri);
            let explanation = authorizer.explain(&peer);
            assert_eq!(explanation.result(), &authorizer.authorize(&peer));
            assert_eq!(explanation.result().is_authorized(), authorized, "{peer}");
            let policies = explanation.policies().unwrap();
            let matched: Vec<&str> = policies
                .iter()
                .filter(|p| p.matched())
                .map(|p| &*p.name)
                .collect();
            assert_eq!(matched, matching, "{peer}");
            // A policy is listed as not matching iff the decision does not name it.
            for (policy, reasons) in explanation.not_matched() {
                assert!(!reasons.is_empty());
                if let AuthorizationResult::Authorized {
                    matched_policies, ..
                } = explanation.result()
                {
                    assert!(!matched_policies.contains(&policy.name.to_string()));
                }
            }
        }
    }

    #[test]
    fn every_unmet_requirement_is_a_reason() {
        let authorizer = authorizer();
        let peer = PeerCredentials::new(Some("intruder"), &["intruder.example.org"], &[]);
        let explanation = authorizer.explain(&peer);
        let monitoring = explanation
            .not_matched()
            .find(|(p, _)| &*p.name == "monitoring")
            .map(|(_, reasons)| reasons)
            .unwrap();
        let fields: Vec<CredentialField> = monitoring
            .iter()
            .map(|r| match r {
                DenialReason::RequirementNotMet { field, .. } => *field,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(fields, [CredentialField::Cn, CredentialField::SanDns]);
        let nothing = explanation
            .not_matched()
            .find(|(p, _)| &*p.name == "nothing")
            .map(|(_, reasons)| reasons)
            .unwrap();
        assert_eq!(
            nothing[0].to_string(),
            "policy \"nothing\": SAN_URI must match \"vespa://nothing\", peer presented no SAN_URI"
        );
        // Matched, but grants nothing.
        let peer = PeerCredentials::new(None, &[], &["vespa://nothing"]);
        let explanation = authorizer.explain(&peer);
        let reasons: Vec<String> = explanation
            .not_matched()
            .flat_map(|(_, reasons)| reasons)
            .map(|r| r.to_string())
            .collect();
        assert!(
            reasons.contains(&"policy \"nothing\" matched but grants no known capability".into()),
            "{reasons:?}"
        );
    }

    #[test]
    fn display_for_each_kind_of_decision() {
        let all = Authorizer::allow_all();
        let mut peer = PeerCredentials::new(None, &[], &[]);
        peer.ip_sans.push(std::net::IpAddr::from([10, 0, 0, 1]));
        assert_eq!(
            all.explain(&peer).to_string(),
            "peer: []\n  IP SANs [10.0.0.1] (not used for authorization)\n\
             authorized: the config has no authorized-peers, so every peer with a valid certificate is\n\
             capabilities: all (vespa.all)\n"
        );
        assert!(all.explain(&peer).policies().is_none());
        let text = authorizer()
            .explain(&PeerCredentials::new(
                Some("vespa-monitoring.example.com"),
                &["i1.us-east-1.monitor.example.com"],
                &[],
            ))
            .to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "authorized by monitoring");
        assert!(
            lines[2].starts_with("capabilities: vespa.container.state_api, "),
            "{text}"
        );
        assert_eq!(lines[3], "policy \"cluster-p2p\" did not match:");
        // Names chosen by whoever made the certificate print escaped.
        let evil = PeerCredentials::new(Some("a\nb"), &["c\x1b[31m"], &[]);
        let text = authorizer().explain(&evil).to_string();
        assert!(
            text.starts_with("peer: [CN='a\\nb', SAN_DNS=[c\\x1b[31m]]\n"),
            "{text}"
        );
        assert!(text.contains("denied: none of the 3 policies authorizes this peer\n"));
        for line in text.lines() {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }
}
