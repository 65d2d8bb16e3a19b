//! The report of `vespa-tls check`: every finding about a config file, the environment it is
//! read with, its rules and its three files, from the load and verification path a process uses.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{ServerName, UnixTime};
use time::OffsetDateTime;
use vespa_tls_authz::Authorizer;
use vespa_tls_config::{
    ConfigError, Diagnostic, Diagnostics, EnvError, Environment, Escaped, Severity,
};
use vespa_tls_material::{CertificateFacts, CryptoMaterial, codes as material_codes};

use crate::context::{TlsContext, TlsModes};
use crate::metrics::TlsMetrics;

/// Diagnostic codes produced by [`CheckReport::check`] (besides those of the config, rules,
/// material and context it runs).
pub mod codes {
    /// A `VESPA_TLS_*` variable has a value that is not one of its modes (error).
    pub const INVALID_ENVIRONMENT: &str = "invalid-environment";
    /// The config file is not JSON (error).
    pub const CONFIG_SYNTAX: &str = "config-syntax";
    /// The config file is JSON but not a valid TLS config (error).
    pub const CONFIG_INVALID: &str = "config-invalid";
    /// The material loaded but no context could be built from it (error).
    pub const CONTEXT_NOT_BUILT: &str = "context-not-built";
    /// A `--hostname` is neither a DNS name nor an IP address (error).
    pub const HOSTNAME_INVALID: &str = "hostname-invalid";
    /// Our certificate does not cover a `--hostname` (error).
    pub const HOSTNAME_NOT_COVERED: &str = "hostname-not-covered";
    /// Our certificate covers a `--hostname` only through its CN (warning).
    pub const HOSTNAME_LEGACY_MATCH: &str = "hostname-legacy-match";
}

/// What to check besides the config itself.
#[derive(Debug, Clone)]
pub struct CheckOptions<'a> {
    /// Load the three files and build the context a process would; `false` checks the config
    /// and its rules only.
    pub files: bool,
    /// A certificate (ours or a CA) that expires within this many days is a warning.
    pub warn_days: i64,
    /// Host names our certificate must be valid for, judged as a peer's hostname validation
    /// judges them.
    pub hostnames: &'a [String],
    /// The time to judge validity at.
    pub now: OffsetDateTime,
}

/// Every finding about one config, in the order a process meets them: the config file's
/// permissions, the environment, the config, its rules, then the files and the context built
/// from them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckReport {
    /// The findings, errors, warnings and notes together.
    pub findings: Diagnostics,
    /// Whether the three files were loaded ([`CheckOptions::files`] and a valid config).
    pub files_checked: bool,
    /// Our leaf certificate, when the files loaded.
    pub certificate: Option<CertificateFacts>,
    /// The trusted CA certificates, when the files loaded.
    pub ca_certificates: Vec<CertificateFacts>,
}

impl CheckReport {
    /// Checks the config file at `path`, whose bytes are `config`, read with `environment`
    /// (the result of [`Environment::from_lookup`]).
    ///
    /// With [`CheckOptions::files`], the material is loaded and a [`TlsContext`] built from it
    /// exactly as a process would: the context's own findings (trust anchors, our chain as
    /// client and server) are reported, certificates expiring within
    /// [`CheckOptions::warn_days`] are warnings, and each of [`CheckOptions::hostnames`] goes
    /// through [`TlsContext::check_hostname`].
    pub fn check(
        path: &Path,
        config: &[u8],
        environment: Result<(Environment, Diagnostics), EnvError>,
        options: &CheckOptions<'_>,
    ) -> CheckReport {
        let mut report = CheckReport {
            findings: vespa_tls_material::permission_findings(path),
            files_checked: false,
            certificate: None,
            ca_certificates: Vec::new(),
        };
        let mut modes = TlsModes::default();
        match environment {
            Ok((env, env_findings)) => {
                modes = TlsModes::from(&env);
                report.findings.extend(env_findings);
            }
            Err(e) => report.findings.push(Diagnostic::at_variable(
                Severity::Error,
                codes::INVALID_ENVIRONMENT,
                e.variable,
                e.problem,
            )),
        }
        let options_parsed = match vespa_tls_config::parse_slice(config) {
            Err(e) => {
                report.findings.push(config_error(&e));
                return report;
            }
            Ok((parsed, findings)) => {
                report.findings.extend(findings);
                parsed
            }
        };
        let (authorizer, rules) = Authorizer::compile(options_parsed.authorized_peers.as_ref());
        report.findings.extend(rules);
        if options.files {
            report.files_checked = true;
            report.check_files(&options_parsed, authorizer, modes, options);
        }
        report
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// No error-level finding (warnings and notes alone are fine).
    pub fn is_ok(&self) -> bool {
        self.count(Severity::Error) == 0
    }

    fn check_files(
        &mut self,
        config: &vespa_tls_config::TransportSecurityOptions,
        authorizer: Authorizer,
        modes: TlsModes,
        options: &CheckOptions<'_>,
    ) {
        let files = &config.files;
        let material = match CryptoMaterial::load(files) {
            Ok(material) => material,
            Err(e) => {
                self.findings.push(e.to_diagnostic());
                return;
            }
        };
        // The context a process would build: its findings come from the same verification
        // path a handshake uses (trust anchors, our own chain).
        let context = TlsContext::build(
            config,
            authorizer,
            &material,
            modes,
            Arc::new(TlsMetrics::default()),
        );
        let report = material.report(options.now);
        let context_findings = match &context {
            Ok(context) => context.warnings().clone(),
            Err(e) => {
                let mut own = report.diagnostics.clone();
                own.push(Diagnostic::at_path(
                    Severity::Error,
                    codes::CONTEXT_NOT_BUILT,
                    &files.certificates,
                    e.to_string(),
                ));
                own
            }
        };
        // Expiry is judged against --warn-days below, not the loader's fixed horizon.
        for finding in context_findings {
            if finding.code != material_codes::CERTIFICATE_EXPIRES_SOON {
                self.findings.push(finding);
            }
        }
        let ours = report.chain.iter().map(|c| (c, &files.certificates));
        let cas = report
            .ca_certificates
            .iter()
            .map(|c| (c, &files.ca_certificates));
        for (facts, file) in ours.chain(cas) {
            let days = facts.days_to_expiry(options.now);
            if (0..options.warn_days).contains(&days) {
                self.findings.push(Diagnostic::at_path(
                    Severity::Warning,
                    material_codes::CERTIFICATE_EXPIRES_SOON,
                    file,
                    format!(
                        "certificate {} expires in {days} days (within --warn-days {})",
                        Escaped(&facts.subject),
                        options.warn_days
                    ),
                ));
            }
        }
        if let Ok(context) = &context {
            let now = unix_time(options.now);
            for host in options.hostnames {
                if let Some(finding) = hostname_finding(context, host, &files.certificates, now) {
                    self.findings.push(finding);
                }
            }
        }
        self.certificate = report.chain.first().cloned();
        self.ca_certificates = report.ca_certificates;
    }
}

fn config_error(e: &ConfigError) -> Diagnostic {
    match e {
        ConfigError::Syntax {
            line,
            column,
            message,
        } => Diagnostic::at_pointer(
            Severity::Error,
            codes::CONFIG_SYNTAX,
            "",
            format!("line {line}, column {column}: {message}"),
        ),
        ConfigError::Invalid { pointer, message } => Diagnostic::at_pointer(
            Severity::Error,
            codes::CONFIG_INVALID,
            pointer.clone(),
            message.clone(),
        ),
        other => Diagnostic::at_pointer(
            Severity::Error,
            codes::CONFIG_INVALID,
            other.pointer().unwrap_or_default(),
            other.message(),
        ),
    }
}

/// What a peer validating `host` against our certificate would say, when it is not plain yes.
fn hostname_finding(
    context: &TlsContext,
    host: &str,
    file: &Path,
    now: UnixTime,
) -> Option<Diagnostic> {
    let shown = Escaped(host);
    let Ok(server_name) = ServerName::try_from(host) else {
        return Some(Diagnostic::at_path(
            Severity::Error,
            codes::HOSTNAME_INVALID,
            file,
            format!("\"{shown}\" is neither a DNS name nor an IP address"),
        ));
    };
    match context.check_hostname(&server_name, now) {
        Ok(matched) if matched.is_legacy() => Some(Diagnostic::at_path(
            Severity::Warning,
            codes::HOSTNAME_LEGACY_MATCH,
            file,
            format!("\"{shown}\" is covered only by the {matched}; modern clients reject this"),
        )),
        Ok(_) => None,
        Err(rejection) => Some(Diagnostic::at_path(
            Severity::Error,
            codes::HOSTNAME_NOT_COVERED,
            file,
            format!("{rejection}; peers that validate hostnames will refuse it (see --hostname)"),
        )),
    }
}

fn unix_time(now: OffsetDateTime) -> UnixTime {
    let seconds = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    UnixTime::since_unix_epoch(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(hostnames: &[String]) -> CheckOptions<'_> {
        CheckOptions {
            files: true,
            warn_days: 30,
            hostnames,
            now: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        }
    }

    fn env() -> Result<(Environment, Diagnostics), EnvError> {
        Environment::from_lookup(|_| None)
    }

    #[test]
    fn config_problems_are_findings_and_stop_the_check() {
        let dir = std::env::temp_dir();
        let path = dir.join("vespa-tls-check-report-does-not-exist.json");
        // (config, code of the one error)
        let table: [(&[u8], &str); 3] = [
            (b"{", codes::CONFIG_SYNTAX),
            (
                br#"{"files": {"ca-certificates": 3}}"#,
                codes::CONFIG_INVALID,
            ),
            (b"[]", codes::CONFIG_INVALID),
        ];
        for (config, code) in table {
            let report = CheckReport::check(&path, config, env(), &options(&[]));
            assert!(!report.is_ok());
            assert!(!report.files_checked);
            let errors: Vec<&str> = report
                .findings
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.code)
                .collect();
            assert_eq!(errors, [code], "{report:?}");
        }
    }

    #[test]
    fn an_invalid_environment_is_an_error_and_the_config_is_still_checked() {
        let path = std::env::temp_dir().join("vespa-tls-check-report-env.json");
        let environment = Environment::from_lookup(|name| match name {
            "VESPA_TLS_CONFIG_FILE" => Some(path.clone().into()),
            "VESPA_TLS_INSECURE_MIXED_MODE" => Some("sometimes".into()),
            _ => None,
        });
        assert!(environment.is_err());
        let report = CheckReport::check(&path, b"{", environment, &options(&[]));
        let codes: Vec<&str> = report.findings.iter().map(|d| d.code).collect();
        assert_eq!(codes, [codes::INVALID_ENVIRONMENT, codes::CONFIG_SYNTAX]);
        assert_eq!(report.count(Severity::Error), 2);
    }

    #[test]
    fn missing_files_are_one_error_and_no_certificate() {
        let path = std::env::temp_dir().join("vespa-tls-check-report-files.json");
        let config = br#"{"files": {"ca-certificates": "/nonexistent/ca.pem",
            "certificates": "/nonexistent/host.pem", "private-key": "/nonexistent/host.key"}}"#;
        let report = CheckReport::check(&path, config, env(), &options(&[]));
        assert!(report.files_checked);
        assert!(!report.is_ok());
        assert!(report.certificate.is_none());
        let without_files = CheckReport::check(
            &path,
            config,
            env(),
            &CheckOptions {
                files: false,
                ..options(&[])
            },
        );
        assert!(without_files.is_ok(), "{without_files:?}");
        assert!(!without_files.files_checked);
    }
}
