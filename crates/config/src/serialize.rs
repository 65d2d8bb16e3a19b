//! Canonical JSON output: fixed key order, two-space indent, every default written out.

use std::fmt::Write as _;
use std::path::Path;

use crate::options::{PeerPolicy, TransportSecurityOptions};

impl TransportSecurityOptions {
    /// The canonical JSON form of these options.
    ///
    /// Parsing the result gives back an equal value. `disable-hostname-validation` is always
    /// written, because Vespa's two stacks default it differently. Paths that are not valid
    /// UTF-8 cannot be written in JSON and are written lossily.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("{\n  \"files\": {\n");
        let files = &self.files;
        out.push_str(&format!(
            "    \"ca-certificates\": {},\n",
            path(&files.ca_certificates)
        ));
        out.push_str(&format!(
            "    \"certificates\": {},\n",
            path(&files.certificates)
        ));
        out.push_str(&format!(
            "    \"private-key\": {}\n  }},\n",
            path(&files.private_key)
        ));
        if let Some(peers) = &self.authorized_peers {
            out.push_str("  \"authorized-peers\": [\n");
            for (i, policy) in peers.policies().iter().enumerate() {
                write_policy(&mut out, policy);
                out.push_str(if i + 1 < peers.policies().len() {
                    ",\n"
                } else {
                    "\n"
                });
            }
            out.push_str("  ],\n");
        }
        if let Some(ciphers) = &self.accepted_ciphers {
            let names: Vec<&str> = ciphers.iter().map(|c| c.as_str()).collect();
            out.push_str(&format!("  \"accepted-ciphers\": {},\n", list(&names)));
        }
        if let Some(protocols) = &self.accepted_protocols {
            let names: Vec<&str> = protocols.iter().map(|p| p.as_str()).collect();
            out.push_str(&format!("  \"accepted-protocols\": {},\n", list(&names)));
        }
        let _ = writeln!(
            out,
            "  \"disable-hostname-validation\": {}\n}}",
            self.disable_hostname_validation
        );
        out
    }
}

fn write_policy(out: &mut String, policy: &PeerPolicy) {
    out.push_str("    {\n");
    let _ = writeln!(out, "      \"name\": {},", string(&policy.name));
    if let Some(description) = &policy.description {
        let _ = writeln!(out, "      \"description\": {},", string(description));
    }
    if let Some(capabilities) = &policy.capabilities {
        let names: Vec<&str> = capabilities.iter().map(String::as_str).collect();
        let _ = writeln!(out, "      \"capabilities\": {},", list(&names));
    }
    out.push_str("      \"required-credentials\": [\n");
    let credentials = &policy.required_credentials;
    for (i, credential) in credentials.iter().enumerate() {
        let _ = write!(
            out,
            "        {{ \"field\": {}, \"must-match\": {} }}",
            string(credential.field.as_str()),
            string(&credential.must_match)
        );
        out.push_str(if i + 1 < credentials.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("      ]\n    }");
}

fn string(s: &str) -> String {
    serde_json::to_string(s).expect("serialising a str to JSON cannot fail")
}

fn path(p: &Path) -> String {
    string(&p.to_string_lossy())
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| string(s)).collect();
    format!("[{}]", quoted.join(", "))
}
