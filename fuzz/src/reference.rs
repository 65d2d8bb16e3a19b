//! Straightforward matchers written from the specification (VESPA-BEHAVIOUR §3 and §4), the
//! references the `glob` and `authz` targets compare the real code with.
//!
//! They take the obvious route (a dynamic programme over characters, a loop over policies) and
//! share nothing with the code under test but its public types.

use vespa_tls_authz::{CapabilitySet, GlobDialect, PeerCredentials};
use vespa_tls_config::{CredentialField, PeerPolicy};

/// Whether `text` matches `pattern` in `dialect`, read straight from the dialect table: `*` is
/// zero or more characters that are not the boundary, `?` (`CN`/`SAN_DNS` only) exactly one
/// such character, anything else itself; anchored at both ends; characters are Unicode scalar
/// values. O(pattern × text) time.
pub fn glob_match(dialect: GlobDialect, pattern: &str, text: &str) -> bool {
    let (boundary, question_is_wildcard) = match dialect {
        GlobDialect::Dns => ('.', true),
        GlobDialect::Uri => ('/', false),
    };
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // after[j]: whether pattern[i + 1..] matches text[j..], for the `i` of the current row.
    let mut after = vec![false; text.len() + 1];
    after[text.len()] = true;
    for &p in pattern.iter().rev() {
        let mut row = vec![false; text.len() + 1];
        for j in (0..=text.len()).rev() {
            let here = text.get(j).copied();
            row[j] = match p {
                '*' => after[j] || here.is_some_and(|c| c != boundary) && row[j + 1],
                '?' if question_is_wildcard => here.is_some_and(|c| c != boundary) && after[j + 1],
                literal => here == Some(literal) && after[j + 1],
            };
        }
        after = row;
    }
    after[0]
}

/// The specification's examples (VESPA-BEHAVIOUR §3): the reference must agree with them before
/// its answers mean anything. Returns the first disagreement.
pub fn check_glob_examples() -> Result<(), String> {
    use GlobDialect::{Dns, Uri};
    let examples: &[(GlobDialect, &str, &str, bool)] = &[
        (Dns, "*.bar.baz", "foo.bar.baz", true),
        (Dns, "*.bar.baz", ".bar.baz", true),
        (Dns, "*.bar.baz", "zoid.foo.bar.baz", false),
        (Dns, "f?o", "foo", true),
        (Dns, "f?o", "f.o", false),
        (Dns, "", "", true),
        (Dns, "", "a", false),
        (Dns, "a", "A", false),
        (Dns, "[a]", "[a]", true),
        (Dns, "[a]", "a", false),
        (Dns, "\\*", "\\x", true),
        (Dns, "?", "é", true),
        (
            Uri,
            "vespa://myapp/content/*",
            "vespa://myapp/content/node1",
            true,
        ),
        (
            Uri,
            "vespa://myapp/content/*",
            "vespa://myapp/content/node1/myservice",
            false,
        ),
        (
            Uri,
            "myscheme://my/fancy/*?magic",
            "myscheme://my/fancy/?magic",
            true,
        ),
        (Uri, "a?c", "abc", false),
        (Uri, "*", "a.b", true),
    ];
    for &(dialect, pattern, text, expected) in examples {
        if glob_match(dialect, pattern, text) != expected {
            return Err(format!(
                "reference glob: {dialect:?} {pattern:?} on {text:?} should be {expected}"
            ));
        }
    }
    Ok(())
}

/// The outcome §4 prescribes: the names of the matching policies and the union of their
/// capabilities; authorized iff that union is non-empty.
pub fn authorize(policies: &[PeerPolicy], peer: &PeerCredentials) -> (Vec<String>, CapabilitySet) {
    let mut matched = Vec::new();
    let mut capabilities = CapabilitySet::none();
    for policy in policies {
        let all_match = policy.required_credentials.iter().all(|required| {
            let dialect = match required.field {
                CredentialField::Cn | CredentialField::SanDns => GlobDialect::Dns,
                CredentialField::SanUri => GlobDialect::Uri,
            };
            let pattern = required.must_match.as_str();
            match required.field {
                // A CN requirement fails when there is no CN.
                CredentialField::Cn => peer
                    .common_name
                    .as_deref()
                    .is_some_and(|cn| glob_match(dialect, pattern, cn)),
                // Any SAN of the field's type may satisfy it.
                CredentialField::SanDns => peer
                    .dns_sans
                    .iter()
                    .any(|san| glob_match(dialect, pattern, san)),
                CredentialField::SanUri => peer
                    .uri_sans
                    .iter()
                    .any(|san| glob_match(dialect, pattern, san)),
            }
        });
        if all_match {
            matched.push(policy.name.clone());
            // No `capabilities` grants all; unknown names grant nothing.
            let granted = match &policy.capabilities {
                None => CapabilitySet::all(),
                Some(names) => names
                    .iter()
                    .filter_map(|name| CapabilitySet::resolve(name))
                    .fold(CapabilitySet::none(), CapabilitySet::union),
            };
            capabilities = capabilities.union(granted);
        }
    }
    (matched, capabilities)
}
