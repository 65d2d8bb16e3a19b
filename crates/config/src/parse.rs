//! From JSON bytes to [`TransportSecurityOptions`], applying every rule of `docs/CONFIG.md`.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::error::ConfigError;
use crate::json::{self, Node, push_token};
use crate::options::{
    AuthorizedPeers, CipherSuite, CredentialField, Files, PeerPolicy, RequiredPeerCredential,
    TlsProtocol, TransportSecurityOptions,
};
use crate::suggest::closest;

/// Diagnostic codes produced by the parser.
pub(crate) mod codes {
    /// A key nobody reads (with a did-you-mean where one is close).
    pub const UNKNOWN_KEY: &str = "unknown-key";
    /// `disable-hostname-validation` inside `files` or a policy, where it has no effect.
    pub const MISPLACED_KEY: &str = "misplaced-key";
    /// A `null` we read as if the key were absent.
    pub const NULL_AS_ABSENT: &str = "null-as-absent";
    /// A relative path in `files`.
    pub const RELATIVE_PATH: &str = "relative-path";
    /// An `accepted-ciphers` entry that is not one of the nine suites.
    pub const UNKNOWN_CIPHER: &str = "unknown-cipher";
    /// An `accepted-protocols` entry that is not `TLSv1.2` or `TLSv1.3`.
    pub const UNKNOWN_PROTOCOL: &str = "unknown-protocol";
    /// A value listed twice in `accepted-ciphers` or `accepted-protocols`.
    pub const DUPLICATE_VALUE: &str = "duplicate-value";
    /// `disable-hostname-validation` absent: Java validates, C++ does not.
    pub const STACK_HOSTNAME_DEFAULT: &str = "cross-stack-hostname-default";
    /// `accepted-protocols` present: C++ ignores it.
    pub const STACK_PROTOCOLS: &str = "cross-stack-accepted-protocols";
    /// `accepted-ciphers` present: C++ narrows TLS 1.2 only.
    pub const STACK_CIPHERS: &str = "cross-stack-accepted-ciphers";
    /// A CN pattern that matches the empty string: C++ matches certificates without a CN.
    pub const STACK_EMPTY_CN: &str = "cross-stack-empty-cn";
    /// A SAN pattern Java could match against another SAN type (it pools DNS, IP and URI SANs).
    pub const STACK_SAN_POOLING: &str = "cross-stack-san-pooling";
}

const TOP_KEYS: &[&str] = &[
    "files",
    "authorized-peers",
    "accepted-ciphers",
    "accepted-protocols",
    "disable-hostname-validation",
];
const FILES_KEYS: &[&str] = &["ca-certificates", "certificates", "private-key"];
const POLICY_KEYS: &[&str] = &[
    "name",
    "description",
    "capabilities",
    "required-credentials",
];
const CREDENTIAL_KEYS: &[&str] = &["field", "must-match"];
const HOSTNAME_KEY: &str = "disable-hostname-validation";

/// What reading a file without `key` would do, for the keys that decide who is let in and with
/// which capabilities. A misspelling of one of these is an error rather than a warning: Vespa
/// ignores unknown keys, and ignoring `"authorised-peers"` authorizes every peer.
fn fail_open_consequence(key: &str) -> Option<&'static str> {
    Some(match key {
        "authorized-peers" => {
            "every peer with a valid certificate would be authorized with all capabilities"
        }
        "capabilities" => "the policy would grant all capabilities",
        "required-credentials" => "the policy would be read without the credentials it requires",
        "field" => "the credential would be read without the field it checks",
        "must-match" => "the credential would be read without its pattern",
        "name" => "the policy would be read without its name",
        _ => return None,
    })
}

/// Parses a config file given as text.
///
/// ```
/// let (options, _diagnostics) = vespa_tls_config::parse(r#"{"files": {
///     "ca-certificates": "/etc/tls/ca.pem",
///     "certificates": "/etc/tls/host.pem",
///     "private-key": "/etc/tls/host.key"}}"#).unwrap();
/// assert!(!options.disable_hostname_validation);
/// ```
pub fn parse(text: &str) -> Result<(TransportSecurityOptions, Diagnostics), ConfigError> {
    parse_slice(text.as_bytes())
}

/// Parses a config file given as bytes (which must be UTF-8 without a byte order mark).
pub fn parse_slice(bytes: &[u8]) -> Result<(TransportSecurityOptions, Diagnostics), ConfigError> {
    let root = json::parse(bytes)?;
    let mut decoder = Decoder::default();
    let options = decoder.options(&root)?;
    Ok((options, decoder.diagnostics))
}

#[derive(Default)]
struct Decoder {
    diagnostics: Diagnostics,
}

/// A checked JSON object: no duplicate keys, unknown keys already reported (or refused).
struct Object<'a> {
    pointer: String,
    entries: &'a [(String, Node)],
}

impl<'a> Object<'a> {
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn pointer_of(&self, key: &str) -> String {
        push_token(&self.pointer, key)
    }

    fn required(&self, key: &str, hint: &str) -> Result<&'a Node, ConfigError> {
        self.get(key).ok_or_else(|| {
            ConfigError::invalid(
                &self.pointer,
                format!("missing required key \"{key}\"{hint}"),
            )
        })
    }
}

fn expected(pointer: &str, what: &str, found: &Node) -> ConfigError {
    ConfigError::invalid(pointer, format!("expected {what}, found {}", found.kind()))
}

fn quoted(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    quoted.join(", ")
}

impl Decoder {
    fn warn(&mut self, severity: Severity, code: &'static str, pointer: &str, message: String) {
        self.diagnostics
            .push(Diagnostic::at_pointer(severity, code, pointer, message));
    }

    fn object<'a>(
        &mut self,
        node: &'a Node,
        pointer: &str,
        what: &str,
        known: &[&str],
    ) -> Result<Object<'a>, ConfigError> {
        let Node::Object(entries) = node else {
            return Err(expected(pointer, what, node));
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(k, _)| k == key) {
                return Err(ConfigError::invalid(
                    &push_token(pointer, key),
                    format!(
                        "duplicate key \"{key}\" (Vespa's Java services keep the last value and its \
                         C++ services the first); keep one"
                    ),
                ));
            }
        }
        for (key, _) in entries.iter().filter(|(k, _)| !known.contains(&k.as_str())) {
            let key_pointer = push_token(pointer, key);
            if key == HOSTNAME_KEY {
                self.warn(
                    Severity::Warning,
                    codes::MISPLACED_KEY,
                    &key_pointer,
                    format!("\"{HOSTNAME_KEY}\" has no effect here; move it to the top level"),
                );
                continue;
            }
            let message = match closest(key, known) {
                Some(suggestion) => {
                    if let Some(consequence) = fail_open_consequence(suggestion) {
                        return Err(ConfigError::invalid(
                            &key_pointer,
                            format!(
                                "unknown key \"{key}\" is refused, not ignored: it looks like a \
                                 misspelled \"{suggestion}\", and ignoring it would fail open \
                                 ({consequence}); write \"{suggestion}\""
                            ),
                        ));
                    }
                    format!("unknown key \"{key}\" is ignored; did you mean \"{suggestion}\"?")
                }
                None => format!(
                    "unknown key \"{key}\" is ignored (known keys here: {})",
                    quoted(known)
                ),
            };
            self.warn(Severity::Warning, codes::UNKNOWN_KEY, &key_pointer, message);
        }
        Ok(Object {
            pointer: pointer.to_owned(),
            entries,
        })
    }

    /// An optional key whose `null` value we read as absent, with a warning.
    fn nullable<'a>(&mut self, object: &Object<'a>, key: &str) -> Option<&'a Node> {
        match object.get(key) {
            Some(Node::Null) => {
                self.warn(
                    Severity::Warning,
                    codes::NULL_AS_ABSENT,
                    &object.pointer_of(key),
                    format!(
                        "null is read as if \"{key}\" were absent (Vespa's C++ services treat it as \
                         a present value); remove the key"
                    ),
                );
                None
            }
            other => other,
        }
    }

    fn options(&mut self, root: &Node) -> Result<TransportSecurityOptions, ConfigError> {
        let top = self.object(root, "", "a JSON object", TOP_KEYS)?;
        let files = self.files(&top)?;
        let authorized_peers = match top.get("authorized-peers") {
            None => None,
            Some(node) => Some(self.authorized_peers(node, &top.pointer_of("authorized-peers"))?),
        };
        let accepted_ciphers = match self.nullable(&top, "accepted-ciphers") {
            None => None,
            Some(node) => Some(self.ciphers(node, &top.pointer_of("accepted-ciphers"))?),
        };
        let accepted_protocols = match self.nullable(&top, "accepted-protocols") {
            None => None,
            Some(node) => Some(self.protocols(node, &top.pointer_of("accepted-protocols"))?),
        };
        if let (Some(ciphers), Some(protocols)) = (&accepted_ciphers, &accepted_protocols)
            && !ciphers.iter().any(|c| protocols.contains(&c.protocol()))
        {
            return Err(ConfigError::invalid(
                "/accepted-ciphers",
                format!(
                    "none of the accepted cipher suites can be used with the accepted protocols \
                         ({}); add a suite for one of them",
                    protocols
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let hostname_pointer = top.pointer_of(HOSTNAME_KEY);
        let disable_hostname_validation = match self.nullable(&top, HOSTNAME_KEY) {
            None => {
                self.warn(
                    Severity::Note,
                    codes::STACK_HOSTNAME_DEFAULT,
                    &hostname_pointer,
                    "absent: hostname validation is on here and on Vespa's Java services, but off \
                     on its C++ services; write it explicitly to make every process agree"
                        .into(),
                );
                false
            }
            Some(Node::Bool(b)) => *b,
            Some(other) => return Err(expected(&hostname_pointer, "a boolean", other)),
        };
        Ok(TransportSecurityOptions {
            files,
            authorized_peers,
            accepted_ciphers,
            accepted_protocols,
            disable_hostname_validation,
        })
    }

    fn files(&mut self, top: &Object<'_>) -> Result<Files, ConfigError> {
        let node = top.required(
            "files",
            " (an object with \"ca-certificates\", \"certificates\" and \"private-key\")",
        )?;
        let files = self.object(node, &top.pointer_of("files"), "an object", FILES_KEYS)?;
        let mut path = |key: &str| -> Result<PathBuf, ConfigError> {
            let node = files.required(key, " (Vespa's C++ services require all three files)")?;
            let pointer = files.pointer_of(key);
            let Node::String(value) = node else {
                return Err(expected(&pointer, "a file path (a string)", node));
            };
            if value.is_empty() {
                return Err(ConfigError::invalid(
                    &pointer,
                    "expected a file path, found \"\"",
                ));
            }
            if !value.starts_with('/') {
                self.warn(
                    Severity::Warning,
                    codes::RELATIVE_PATH,
                    &pointer,
                    format!(
                        "relative path \"{value}\" is resolved against each process's working \
                         directory; Vespa requires absolute paths"
                    ),
                );
            }
            Ok(PathBuf::from(value))
        };
        Ok(Files {
            ca_certificates: path("ca-certificates")?,
            certificates: path("certificates")?,
            private_key: path("private-key")?,
        })
    }

    fn authorized_peers(
        &mut self,
        node: &Node,
        pointer: &str,
    ) -> Result<AuthorizedPeers, ConfigError> {
        let Node::Array(items) = node else {
            return Err(expected(pointer, "an array of policies", node));
        };
        let mut policies: Vec<PeerPolicy> = Vec::with_capacity(items.len());
        let mut names: HashMap<String, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let policy_pointer = push_token(pointer, &i.to_string());
            let policy = self.policy(item, &policy_pointer, i)?;
            if let Some(&first) = names.get(&policy.name) {
                let message = if policies[first] == policy {
                    format!(
                        "policy \"{}\" repeats {pointer}/{first} exactly (Vespa's Java services \
                         merge identical policies, its C++ services keep both); remove one",
                        policy.name
                    )
                } else {
                    format!(
                        "duplicate policy name \"{}\" (also used by {pointer}/{first}); policy \
                         names must be unique",
                        policy.name
                    )
                };
                return Err(ConfigError::invalid(
                    &push_token(&policy_pointer, "name"),
                    message,
                ));
            }
            names.insert(policy.name.clone(), i);
            policies.push(policy);
        }
        AuthorizedPeers::new(policies).ok_or_else(|| {
            ConfigError::invalid(
                pointer,
                "expected at least one policy, found [] (Vespa rejects an empty list); remove the \
                 key to authorize every peer with a valid certificate",
            )
        })
    }

    fn policy(
        &mut self,
        node: &Node,
        pointer: &str,
        index: usize,
    ) -> Result<PeerPolicy, ConfigError> {
        let policy = self.object(node, pointer, "a policy (an object)", POLICY_KEYS)?;
        let description = match self.nullable(&policy, "description") {
            None => None,
            Some(Node::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(expected(
                    &policy.pointer_of("description"),
                    "a string",
                    other,
                ));
            }
        };
        let name = match policy.get("name") {
            None => {
                let example = suggested_name(description.as_deref(), index);
                return Err(ConfigError::invalid(
                    pointer,
                    format!(
                        "missing required key \"name\" (Vespa's Java services reject policies \
                         without a name; add e.g. \"name\": \"{example}\")"
                    ),
                ));
            }
            Some(Node::String(s)) if s.is_empty() => {
                return Err(ConfigError::invalid(
                    &policy.pointer_of("name"),
                    "expected a non-empty policy name, found \"\"",
                ));
            }
            Some(Node::String(s)) => s.clone(),
            Some(other) => return Err(expected(&policy.pointer_of("name"), "a string", other)),
        };
        let capabilities = match policy.get("capabilities") {
            None => None,
            Some(node) => Some(self.capabilities(node, &policy.pointer_of("capabilities"))?),
        };
        let credentials_node = policy.required(
            "required-credentials",
            " (a non-empty array of {\"field\": …, \"must-match\": …} objects)",
        )?;
        let required_credentials =
            self.credentials(credentials_node, &policy.pointer_of("required-credentials"))?;
        Ok(PeerPolicy {
            name,
            description,
            capabilities,
            required_credentials,
        })
    }

    fn capabilities(&mut self, node: &Node, pointer: &str) -> Result<Vec<String>, ConfigError> {
        let Node::Array(items) = node else {
            return Err(expected(pointer, "an array of capability names", node));
        };
        if items.is_empty() {
            return Err(ConfigError::invalid(
                pointer,
                "expected at least one capability, found [] (Vespa rejects it); remove the key to \
                 grant all capabilities, or write [\"vespa.none\"] to grant none",
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Node::String(s) => Ok(s.clone()),
                other => Err(expected(
                    &push_token(pointer, &i.to_string()),
                    "a capability name (a string)",
                    other,
                )),
            })
            .collect()
    }

    fn credentials(
        &mut self,
        node: &Node,
        pointer: &str,
    ) -> Result<Vec<RequiredPeerCredential>, ConfigError> {
        let Node::Array(items) = node else {
            return Err(expected(pointer, "an array of required credentials", node));
        };
        if items.is_empty() {
            return Err(ConfigError::invalid(
                pointer,
                "expected at least one required credential, found [] (Vespa's C++ services reject \
                 it, its Java services would let every peer match)",
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_pointer = push_token(pointer, &i.to_string());
            let credential = self.object(item, &item_pointer, "an object", CREDENTIAL_KEYS)?;
            let field_node =
                credential.required("field", " (one of \"CN\", \"SAN_DNS\", \"SAN_URI\")")?;
            let field_pointer = credential.pointer_of("field");
            let Node::String(field_name) = field_node else {
                return Err(expected(&field_pointer, "a string", field_node));
            };
            let names = CredentialField::ALL.map(CredentialField::as_str);
            let field = CredentialField::from_name(field_name).ok_or_else(|| {
                let hint = match closest(field_name, &names) {
                    Some(s) => format!("; did you mean \"{s}\"? (names are case-sensitive)"),
                    None => String::new(),
                };
                ConfigError::invalid(
                    &field_pointer,
                    format!(
                        "unknown value \"{field_name}\", expected one of {}{hint}",
                        quoted(&names)
                    ),
                )
            })?;
            let pattern_node = credential.required(
                "must-match",
                " (Vespa's C++ services would match the empty string)",
            )?;
            let pattern_pointer = credential.pointer_of("must-match");
            let Node::String(pattern) = pattern_node else {
                return Err(expected(
                    &pattern_pointer,
                    "a glob pattern (a string)",
                    pattern_node,
                ));
            };
            self.cross_stack_pattern(field, pattern, &pattern_pointer);
            out.push(RequiredPeerCredential {
                field,
                must_match: pattern.clone(),
            });
        }
        Ok(out)
    }

    fn cross_stack_pattern(&mut self, field: CredentialField, pattern: &str, pointer: &str) {
        match field {
            CredentialField::Cn if pattern.chars().all(|c| c == '*') => self.warn(
                Severity::Warning,
                codes::STACK_EMPTY_CN,
                pointer,
                format!(
                    "pattern \"{pattern}\" matches the empty string: Vespa's C++ services accept a \
                     certificate without a CN here, its Java services and ours refuse it"
                ),
            ),
            CredentialField::SanDns => {
                let could_be_ip = pattern
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '*' | '?'));
                if could_be_ip || pattern.contains([':', '/']) {
                    self.warn(
                        Severity::Note,
                        codes::STACK_SAN_POOLING,
                        pointer,
                        format!(
                            "SAN_DNS pattern \"{pattern}\" could match an IP or URI SAN on Vespa's \
                             Java services, which pool all SAN types; here and on C++ it matches \
                             dNSName SANs only"
                        ),
                    );
                }
            }
            CredentialField::SanUri if !pattern.contains([':', '/']) => self.warn(
                Severity::Note,
                codes::STACK_SAN_POOLING,
                pointer,
                format!(
                    "SAN_URI pattern \"{pattern}\" could match a DNS or IP SAN on Vespa's Java \
                     services, which pool all SAN types; here and on C++ it matches URI SANs only"
                ),
            ),
            _ => {}
        }
    }

    fn ciphers(&mut self, node: &Node, pointer: &str) -> Result<Vec<CipherSuite>, ConfigError> {
        let names = CipherSuite::ALL.map(CipherSuite::as_str);
        let ciphers = self.name_list(node, pointer, "cipher suite", &names, |n| {
            CipherSuite::from_name(n)
        })?;
        if !ciphers.iter().any(|c| c.protocol() == TlsProtocol::Tls12) {
            return Err(ConfigError::invalid(
                pointer,
                "no TLS 1.2 cipher suite is listed; Vespa's C++ processes fail to start without \
                 one (add e.g. \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\")",
            ));
        }
        self.warn(
            Severity::Note,
            codes::STACK_CIPHERS,
            pointer,
            "Vespa's C++ services apply this list to TLS 1.2 only and keep every TLS 1.3 suite; \
             its Java services and ours apply it to both versions"
                .into(),
        );
        Ok(ciphers)
    }

    fn protocols(&mut self, node: &Node, pointer: &str) -> Result<Vec<TlsProtocol>, ConfigError> {
        let names = TlsProtocol::ALL.map(TlsProtocol::as_str);
        let protocols = self.name_list(node, pointer, "protocol", &names, |n| {
            TlsProtocol::from_name(n)
        })?;
        self.warn(
            Severity::Note,
            codes::STACK_PROTOCOLS,
            pointer,
            "Vespa's C++ services ignore \"accepted-protocols\" and accept TLSv1.2 and TLSv1.3"
                .into(),
        );
        Ok(protocols)
    }

    /// A non-empty list of known names: unknown ones are dropped with a warning, repeats with a
    /// note, and nothing left is an error.
    fn name_list<T: PartialEq + Copy>(
        &mut self,
        node: &Node,
        pointer: &str,
        what: &str,
        known: &[&str],
        lookup: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, ConfigError> {
        let Node::Array(items) = node else {
            return Err(expected(
                pointer,
                &format!("an array of {what} names"),
                node,
            ));
        };
        if items.is_empty() {
            return Err(ConfigError::invalid(
                pointer,
                format!(
                    "expected at least one {what}, found [] (Vespa rejects it); remove the key to \
                     accept the defaults"
                ),
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_pointer = push_token(pointer, &i.to_string());
            let Node::String(name) = item else {
                return Err(expected(
                    &item_pointer,
                    &format!("a {what} name (a string)"),
                    item,
                ));
            };
            match lookup(name) {
                Some(value) if out.contains(&value) => self.warn(
                    Severity::Note,
                    codes::DUPLICATE_VALUE,
                    &item_pointer,
                    format!("\"{name}\" is listed twice"),
                ),
                Some(value) => out.push(value),
                None => {
                    let (code, kind) = if what == "protocol" {
                        (codes::UNKNOWN_PROTOCOL, "protocol")
                    } else {
                        (codes::UNKNOWN_CIPHER, "cipher suite")
                    };
                    let hint = match closest(name, known) {
                        Some(s) => format!("; did you mean \"{s}\"?"),
                        None => String::new(),
                    };
                    self.warn(
                        Severity::Warning,
                        code,
                        &item_pointer,
                        format!("unknown {kind} \"{name}\" is ignored{hint}"),
                    );
                }
            }
        }
        if out.is_empty() {
            return Err(ConfigError::invalid(
                pointer,
                format!(
                    "none of the listed {what}s is supported; expected some of {}",
                    quoted(known)
                ),
            ));
        }
        Ok(out)
    }
}

/// A name to propose for a policy without one: a slug of its description, or `policy-N`.
fn suggested_name(description: Option<&str>, index: usize) -> String {
    let words: Vec<String> = description
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(3)
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        format!("policy-{index}")
    } else {
        words.join("-")
    }
}
