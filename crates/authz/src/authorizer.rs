//! `authorized-peers` compiled once, then applied to each peer's credentials.

use std::fmt;
use std::sync::Arc;

use vespa_tls_config::{
    AuthorizationMode, AuthorizedPeers, CredentialField, Diagnostic, Diagnostics, PeerPolicy,
    Severity,
};

use crate::capability::CapabilitySet;
use crate::credentials::{PeerCredentials, write_list};
use crate::glob::Glob;

/// Diagnostic codes produced by [`Authorizer::compile`].
pub mod codes {
    /// A capability name that is neither a capability nor a set we know; it is dropped (warning).
    pub const UNKNOWN_CAPABILITY: &str = "unknown-capability";
    /// A policy whose capability names are all unknown: it grants nothing (error).
    pub const NO_KNOWN_CAPABILITY: &str = "no-known-capability";
    /// A policy without required credentials: it never matches here (error; the parser rejects it).
    pub const NO_REQUIRED_CREDENTIALS: &str = "no-required-credentials";
}

/// The compiled `authorized-peers`: every glob and capability set resolved up front.
///
/// ```
/// use vespa_tls_authz::{AuthorizationResult, Authorizer, PeerCredentials};
/// let (options, _) = vespa_tls_config::parse(r#"{
///   "files": {"ca-certificates": "/c", "certificates": "/h", "private-key": "/k"},
///   "authorized-peers": [{
///     "name": "p2p",
///     "required-credentials": [{"field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com"}],
///     "capabilities": ["vespa.content_node"]
///   }]
/// }"#)?;
/// let (authorizer, diagnostics) = Authorizer::compile(options.authorized_peers.as_ref());
/// assert!(diagnostics.is_empty());
/// let peer = PeerCredentials::new(None, &["n1.mycluster.vespa.example.com"], &[]);
/// let AuthorizationResult::Authorized { matched_policies, capabilities } = authorizer.authorize(&peer)
/// else { panic!("expected the peer to be authorized") };
/// assert_eq!(matched_policies, ["p2p"]);
/// assert_eq!(capabilities.len(), 15);
/// # Ok::<(), vespa_tls_config::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Authorizer {
    /// `None`: no `authorized-peers`, so every peer gets every capability.
    policies: Option<Box<[CompiledPolicy]>>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) name: Arc<str>,
    pub(crate) capabilities: CapabilitySet,
    pub(crate) requirements: Box<[CompiledRequirement]>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRequirement {
    pub(crate) field: CredentialField,
    pub(crate) pattern: Arc<str>,
    glob: Glob,
}

impl Authorizer {
    /// Compiles `authorized-peers`; `None` (the key is absent) authorizes every peer with a valid
    /// certificate, with all capabilities.
    ///
    /// Unknown capability names are dropped with a [`codes::UNKNOWN_CAPABILITY`] warning; a policy
    /// left with no capability grants nothing ([`codes::NO_KNOWN_CAPABILITY`], error-level).
    pub fn compile(peers: Option<&AuthorizedPeers>) -> (Authorizer, Diagnostics) {
        let mut diagnostics = Diagnostics::new();
        let Some(peers) = peers else {
            return (Authorizer::allow_all(), diagnostics);
        };
        let policies = peers
            .policies()
            .iter()
            .enumerate()
            .map(|(i, policy)| compile_policy(i, policy, &mut diagnostics))
            .collect();
        (
            Authorizer {
                policies: Some(policies),
            },
            diagnostics,
        )
    }

    /// The authorizer used without `authorized-peers`: everyone, all capabilities.
    pub fn allow_all() -> Self {
        Authorizer { policies: None }
    }

    /// Whether there are no policies (every peer with a valid certificate is authorized).
    pub fn is_allow_all(&self) -> bool {
        self.policies.is_none()
    }

    /// The compiled policies in file order; `None` without `authorized-peers`.
    pub(crate) fn compiled_policies(&self) -> Option<&[CompiledPolicy]> {
        self.policies.as_deref()
    }

    /// The capabilities each policy grants, by name, in file order (empty for
    /// [`Authorizer::allow_all`]).
    pub fn policy_capabilities(&self) -> impl Iterator<Item = (&str, CapabilitySet)> {
        self.policies
            .iter()
            .flatten()
            .map(|p| (&*p.name, p.capabilities))
    }

    /// Decides whether `peer` is authorized, and with which capabilities.
    ///
    /// A policy matches iff all of its required credentials match; capabilities are the union
    /// over matching policies, and a peer is authorized only if that union is non-empty.
    /// Matching never allocates; only the result does.
    pub fn authorize(&self, peer: &PeerCredentials) -> AuthorizationResult {
        let Some(policies) = &self.policies else {
            return AuthorizationResult::Authorized {
                matched_policies: Vec::new(),
                capabilities: CapabilitySet::all(),
            };
        };
        let mut capabilities = CapabilitySet::none();
        let mut matched_policies = Vec::new();
        for policy in policies.iter() {
            if policy.first_failure(peer).is_none() {
                capabilities = capabilities.union(policy.capabilities);
                matched_policies.push(policy.name.to_string());
            }
        }
        if !capabilities.is_empty() {
            return AuthorizationResult::Authorized {
                matched_policies,
                capabilities,
            };
        }
        AuthorizationResult::Denied {
            reasons: denial_reasons(policies, peer),
        }
    }

    /// Applies the authorization mode to the decision for one handshake.
    ///
    /// `enforce` refuses a denied peer; `log_only` accepts it with no capabilities (the caller
    /// logs the reasons); `disable` runs no authorization and grants all capabilities (Java's
    /// behaviour, a deliberate exception to failing closed; see `docs/AUTHORIZATION.md`).
    pub fn decide(&self, peer: &PeerCredentials, mode: AuthorizationMode) -> HandshakeDecision {
        if mode == AuthorizationMode::Disable {
            return HandshakeDecision {
                accept: true,
                capabilities: CapabilitySet::all(),
                matched_policies: Vec::new(),
                denied: None,
            };
        }
        match self.authorize(peer) {
            AuthorizationResult::Authorized {
                matched_policies,
                capabilities,
            } => HandshakeDecision {
                accept: true,
                capabilities,
                matched_policies,
                denied: None,
            },
            AuthorizationResult::Denied { reasons } => HandshakeDecision {
                accept: mode == AuthorizationMode::LogOnly,
                capabilities: CapabilitySet::none(),
                matched_policies: Vec::new(),
                denied: Some(reasons),
            },
        }
    }
}

/// The outcome of [`Authorizer::authorize`]: a value, never an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationResult {
    /// At least one policy matched and together they grant at least one capability.
    Authorized {
        /// Names of the matching policies, in file order (empty without `authorized-peers`).
        matched_policies: Vec<String>,
        /// The union of their capabilities.
        capabilities: CapabilitySet,
    },
    /// No capability was granted.
    Denied {
        /// Why, one entry per policy in file order.
        reasons: Vec<DenialReason>,
    },
}

impl AuthorizationResult {
    /// Whether the peer is authorized.
    pub fn is_authorized(&self) -> bool {
        matches!(self, AuthorizationResult::Authorized { .. })
    }

    /// The granted capabilities (empty when denied).
    pub fn capabilities(&self) -> CapabilitySet {
        match self {
            AuthorizationResult::Authorized { capabilities, .. } => *capabilities,
            AuthorizationResult::Denied { .. } => CapabilitySet::none(),
        }
    }
}

impl fmt::Display for AuthorizationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizationResult::Authorized {
                matched_policies,
                capabilities,
            } if matched_policies.is_empty() => {
                write!(f, "authorized (no authorized-peers) with {capabilities}")
            }
            AuthorizationResult::Authorized {
                matched_policies,
                capabilities,
            } => {
                f.write_str("authorized by policies ")?;
                write_list(f, matched_policies)?;
                write!(f, " with {capabilities}")
            }
            AuthorizationResult::Denied { reasons } => {
                f.write_str("denied: ")?;
                for (i, reason) in reasons.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{reason}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why one policy did not authorize the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenialReason {
    /// A required credential did not match (the first one, in file order).
    RequirementNotMet {
        /// The policy's name.
        policy: Arc<str>,
        /// The field the requirement reads.
        field: CredentialField,
        /// Its `must-match` pattern.
        pattern: Arc<str>,
        /// What the peer presented for that field (no CN = empty).
        presented: Arc<[String]>,
    },
    /// The policy matched but grants no capability (all its names are unknown).
    NoCapabilities {
        /// The policy's name.
        policy: Arc<str>,
    },
    /// The policy has no required credentials, so it never matches.
    NoRequirements {
        /// The policy's name.
        policy: Arc<str>,
    },
}

impl DenialReason {
    /// The name of the policy this reason is about.
    pub fn policy(&self) -> &str {
        match self {
            DenialReason::RequirementNotMet { policy, .. }
            | DenialReason::NoCapabilities { policy }
            | DenialReason::NoRequirements { policy } => policy,
        }
    }
}

impl fmt::Display for DenialReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenialReason::RequirementNotMet {
                policy,
                field,
                pattern,
                presented,
            } => {
                write!(f, "policy \"{policy}\": {field} must match \"{pattern}\", ")?;
                if presented.is_empty() {
                    write!(f, "peer presented no {field}")
                } else {
                    f.write_str("peer presented ")?;
                    write_list(f, presented)
                }
            }
            DenialReason::NoCapabilities { policy } => {
                write!(
                    f,
                    "policy \"{policy}\" matched but grants no known capability"
                )
            }
            DenialReason::NoRequirements { policy } => {
                write!(f, "policy \"{policy}\" has no required credentials")
            }
        }
    }
}

/// What a handshake does under an authorization mode (see [`Authorizer::decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeDecision {
    /// Whether the handshake goes on.
    pub accept: bool,
    /// The capabilities the connection carries.
    pub capabilities: CapabilitySet,
    /// The policies that matched (empty when denied or when authorization is disabled).
    pub matched_policies: Vec<String>,
    /// The reasons, when the peer was not authorized (log them in `log_only`).
    pub denied: Option<Vec<DenialReason>>,
}

impl CompiledPolicy {
    /// The index of the first requirement `peer` does not meet; `None` when the policy matches.
    fn first_failure(&self, peer: &PeerCredentials) -> Option<usize> {
        if self.requirements.is_empty() {
            return Some(0);
        }
        self.requirements.iter().position(|r| !r.matches(peer))
    }
}

impl CompiledRequirement {
    pub(crate) fn matches(&self, peer: &PeerCredentials) -> bool {
        match self.field {
            // No CN fails a CN requirement, even one that matches "" (Java; C++ would match "").
            CredentialField::Cn => peer
                .common_name
                .as_deref()
                .is_some_and(|cn| self.glob.is_match(cn)),
            CredentialField::SanDns => peer.dns_sans.iter().any(|s| self.glob.is_match(s)),
            CredentialField::SanUri => peer.uri_sans.iter().any(|s| self.glob.is_match(s)),
        }
    }
}

fn compile_policy(
    index: usize,
    policy: &PeerPolicy,
    diagnostics: &mut Diagnostics,
) -> CompiledPolicy {
    let pointer = format!("/authorized-peers/{index}");
    let capabilities = match &policy.capabilities {
        None => CapabilitySet::all(),
        Some(names) => {
            let mut set = CapabilitySet::none();
            for (m, name) in names.iter().enumerate() {
                match CapabilitySet::resolve(name) {
                    Some(resolved) => set = set.union(resolved),
                    None => diagnostics.push(Diagnostic::at_pointer(
                        Severity::Warning,
                        codes::UNKNOWN_CAPABILITY,
                        format!("{pointer}/capabilities/{m}"),
                        format!(
                            "unknown capability or capability set \"{name}\" is ignored{}",
                            suggestion(name)
                        ),
                    )),
                }
            }
            if set.is_empty() {
                diagnostics.push(Diagnostic::at_pointer(
                    Severity::Error,
                    codes::NO_KNOWN_CAPABILITY,
                    format!("{pointer}/capabilities"),
                    format!(
                        "policy \"{}\" names no known capability, so it grants nothing and a peer \
                         it matches is not authorized (Vespa's C++ services would authorize it \
                         with no capabilities); write [\"vespa.none\"] to authorize with nothing",
                        policy.name
                    ),
                ));
            }
            set
        }
    };
    if policy.required_credentials.is_empty() {
        diagnostics.push(Diagnostic::at_pointer(
            Severity::Error,
            codes::NO_REQUIRED_CREDENTIALS,
            format!("{pointer}/required-credentials"),
            format!(
                "policy \"{}\" has no required credentials; it never matches",
                policy.name
            ),
        ));
    }
    let requirements = policy
        .required_credentials
        .iter()
        .map(|r| CompiledRequirement {
            field: r.field,
            pattern: Arc::from(r.must_match.as_str()),
            glob: Glob::for_field(&r.must_match, r.field),
        })
        .collect();
    CompiledPolicy {
        name: Arc::from(policy.name.as_str()),
        capabilities,
        requirements,
    }
}

/// A did-you-mean for a misspelt capability name (same name up to case, `-`/`_` or a prefix).
fn suggestion(name: &str) -> String {
    let normalise = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let wanted = normalise(name);
    let wanted = if wanted.starts_with("vespa.") {
        wanted
    } else {
        format!("vespa.{wanted}")
    };
    let known = crate::Capability::ALL
        .map(crate::Capability::as_str)
        .into_iter()
        .chain(crate::CAPABILITY_SET_NAMES);
    for candidate in known {
        if normalise(candidate) == wanted {
            return format!("; did you mean \"{candidate}\"?");
        }
    }
    String::new()
}

fn denial_reasons(policies: &[CompiledPolicy], peer: &PeerCredentials) -> Vec<DenialReason> {
    let cn: Arc<[String]> = peer.common_name.iter().cloned().collect();
    let dns: Arc<[String]> = peer.dns_sans.iter().cloned().collect();
    let uri: Arc<[String]> = peer.uri_sans.iter().cloned().collect();
    policies
        .iter()
        .map(|policy| match policy.first_failure(peer) {
            None => DenialReason::NoCapabilities {
                policy: Arc::clone(&policy.name),
            },
            Some(_) if policy.requirements.is_empty() => DenialReason::NoRequirements {
                policy: Arc::clone(&policy.name),
            },
            Some(i) => {
                let requirement = &policy.requirements[i];
                let presented = match requirement.field {
                    CredentialField::Cn => &cn,
                    CredentialField::SanDns => &dns,
                    CredentialField::SanUri => &uri,
                };
                DenialReason::RequirementNotMet {
                    policy: Arc::clone(&policy.name),
                    field: requirement.field,
                    pattern: Arc::clone(&requirement.pattern),
                    presented: Arc::clone(presented),
                }
            }
        })
        .collect()
}
