//! `MaterialReport`: facts about loaded material for `status` and `check`, at a given time.

use std::path::Path;

use time::OffsetDateTime;
use vespa_tls_config::{Diagnostic, Diagnostics, Escaped, Files, Severity};

use crate::cert::{self, CertificateFacts, Parsed};
use crate::codes;
use crate::file;
use crate::key::KeyKind;
use crate::material::CryptoMaterial;

/// A certificate that expires within this many days gets a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// What is loaded, as facts (never secrets), and findings about it at [`now`](Self::now).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaterialReport {
    /// The time the report was made for (passed in; nothing here reads the clock).
    pub now: OffsetDateTime,
    /// The files, as given.
    pub files: Files,
    /// The CA bundle's certificates, in file order.
    pub ca_certificates: Vec<CertificateFacts>,
    /// The chain, leaf first.
    pub chain: Vec<CertificateFacts>,
    /// The private key's type.
    pub key_kind: KeyKind,
    /// Whole days from `now` until the leaf expires (negative once expired).
    pub leaf_days_to_expiry: i64,
    /// The key file's permission bits (Unix, when loaded from disk).
    pub key_file_mode: Option<u32>,
    /// Findings: expired / not yet valid (errors), expiring soon,
    /// missing EKUs, a key file readable by others, a file or directory any user can write
    /// (warnings). Codes are in [`codes`].
    pub diagnostics: Diagnostics,
}

impl CryptoMaterial {
    /// The facts and findings for this material at `now`.
    pub fn report(&self, now: OffsetDateTime) -> MaterialReport {
        let ca: Vec<Parsed<'_>> = self
            .ca_certificates()
            .iter()
            .filter_map(|d| cert::parse(d).ok())
            .collect();
        let chain: Vec<Parsed<'_>> = self
            .chain()
            .iter()
            .filter_map(|d| cert::parse(d).ok())
            .collect();
        let ca_facts: Vec<CertificateFacts> = ca.iter().map(cert::facts).collect();
        let chain_facts: Vec<CertificateFacts> = chain.iter().map(cert::facts).collect();
        let files = self.files().clone();

        let mut diagnostics = Diagnostics::new();
        for (i, facts) in chain_facts.iter().enumerate() {
            validity(&mut diagnostics, &files.certificates, i, facts, now);
        }
        for (i, facts) in ca_facts.iter().enumerate() {
            validity(&mut diagnostics, &files.ca_certificates, i, facts, now);
        }
        // The chain is never empty and every certificate parsed at load, so the leaf is here.
        let leaf = &chain_facts[0];
        if !leaf.allows_server_and_client() {
            let ekus: Vec<&str> = leaf
                .extended_key_usages
                .iter()
                .flatten()
                .map(|oid| eku_name(oid))
                .collect();
            diagnostics.push(Diagnostic::at_path(
                Severity::Warning,
                codes::MISSING_EXTENDED_KEY_USAGE,
                &files.certificates,
                format!(
                    "expected the leaf's extended key usage to allow serverAuth and clientAuth \
                     (every Vespa node is both), found {}",
                    ekus.join(", ")
                ),
            ));
        }
        diagnostics.extend(file::findings(self.file_modes()));
        MaterialReport {
            now,
            leaf_days_to_expiry: leaf.days_to_expiry(now),
            files,
            ca_certificates: ca_facts,
            chain: chain_facts,
            key_kind: self.key_kind(),
            key_file_mode: self.key_file_mode(),
            diagnostics,
        }
    }
}

fn validity(
    diagnostics: &mut Diagnostics,
    path: &Path,
    index: usize,
    facts: &CertificateFacts,
    now: OffsetDateTime,
) {
    let which = format!("certificate {} ({})", index + 1, Escaped(&facts.subject));
    if now > facts.not_after {
        diagnostics.push(Diagnostic::at_path(
            Severity::Error,
            codes::CERTIFICATE_EXPIRED,
            path,
            format!(
                "{which} expired at {} ({} days ago); issue a new one",
                utc(facts.not_after),
                (now - facts.not_after).whole_days()
            ),
        ));
    } else if now < facts.not_before {
        diagnostics.push(Diagnostic::at_path(
            Severity::Error,
            codes::CERTIFICATE_NOT_YET_VALID,
            path,
            format!(
                "{which} is not valid until {}; check this host's clock and the issuer's",
                utc(facts.not_before)
            ),
        ));
    } else if facts.days_to_expiry(now) < EXPIRY_WARNING_DAYS {
        diagnostics.push(Diagnostic::at_path(
            Severity::Warning,
            codes::CERTIFICATE_EXPIRES_SOON,
            path,
            format!(
                "{which} expires at {} (in {} days)",
                utc(facts.not_after),
                facts.days_to_expiry(now)
            ),
        ));
    }
}

fn eku_name(oid: &str) -> &str {
    match oid {
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        other => other,
    }
}

/// `2026-11-27 19:38:07 UTC`.
pub(crate) fn utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
