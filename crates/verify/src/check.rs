//! `vespa-tls check`: the config file, the environment, the rules and the three files.

use std::sync::Arc;

use rustls::pki_types::{ServerName, UnixTime};
use serde_json::json;
use time::OffsetDateTime;
use vespa_tls_authz::Authorizer;
use vespa_tls_config::{ConfigError, Diagnostic, Environment, Escaped, Location, Severity};
use vespa_tls_context::{TlsContext, TlsMetrics, TlsModes};
use vespa_tls_material::{
    CertificateFacts, CryptoMaterial, MAX_FILE_SIZE, codes as material_codes, permission_findings,
    read_regular_file,
};

use crate::cli::CheckArgs;
use crate::output::{
    Verdict, certificate_json, certificate_lines, config_path, counts, diagnostic_json, plural,
    say, say_json,
};

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<Verdict> {
    let path = config_path(args.config.as_deref())?;
    // A regular file of bounded size only: a FIFO or a device named as the config is an error,
    // never a hang.
    let bytes = read_regular_file(&path, MAX_FILE_SIZE)?;
    let now = OffsetDateTime::now_utc();
    let mut findings = permission_findings(&path);
    let mut certificate: Option<CertificateFacts> = None;
    let mut files_checked = false;

    let mut modes = TlsModes::default();
    match Environment::from_lookup(|name| std::env::var_os(name)) {
        Ok((env, env_findings)) => {
            modes = TlsModes::from(&env);
            findings.extend(env_findings);
        }
        Err(e) => findings.push(Diagnostic::at_variable(
            Severity::Error,
            "invalid-environment",
            e.variable,
            e.problem,
        )),
    }

    match vespa_tls_config::parse_slice(&bytes) {
        Err(e) => findings.push(config_error(&e)),
        Ok((options, parsed)) => {
            findings.extend(parsed);
            let (authorizer, rules) = Authorizer::compile(options.authorized_peers.as_ref());
            findings.extend(rules);
            if !args.no_files {
                files_checked = true;
                match CryptoMaterial::load(&options.files) {
                    Err(e) => findings.push(e.to_diagnostic()),
                    Ok(material) => {
                        // The context a process would build: its findings come from the same
                        // verification path a handshake uses (trust anchors, our own chain).
                        let context = TlsContext::build(
                            &options,
                            authorizer,
                            &material,
                            modes,
                            Arc::new(TlsMetrics::default()),
                        );
                        let report = material.report(now);
                        let context_findings = match &context {
                            Ok(context) => context.warnings().clone(),
                            Err(e) => {
                                let mut own = report.diagnostics.clone();
                                own.push(Diagnostic::at_path(
                                    Severity::Error,
                                    "context-not-built",
                                    &options.files.certificates,
                                    e.to_string(),
                                ));
                                own
                            }
                        };
                        for finding in context_findings {
                            if finding.code != material_codes::CERTIFICATE_EXPIRES_SOON {
                                findings.push(finding);
                            }
                        }
                        let soon = report
                            .chain
                            .iter()
                            .map(|c| (c, &options.files.certificates));
                        let cas = report
                            .ca_certificates
                            .iter()
                            .map(|c| (c, &options.files.ca_certificates));
                        for (facts, file) in soon.chain(cas) {
                            let days = facts.days_to_expiry(now);
                            if (0..args.warn_days).contains(&days) {
                                findings.push(Diagnostic::at_path(
                                    Severity::Warning,
                                    material_codes::CERTIFICATE_EXPIRES_SOON,
                                    file,
                                    format!(
                                        "certificate {} expires in {days} days (within --warn-days {})",
                                        Escaped(&facts.subject),
                                        args.warn_days
                                    ),
                                ));
                            }
                        }
                        if let Ok(context) = &context {
                            for host in &args.hostname {
                                findings.extend(
                                    hostname_findings(context, host, &options.files.certificates)
                                        .into_iter()
                                        .collect(),
                                );
                            }
                        }
                        certificate = report.chain.first().cloned();
                    }
                }
            }
        }
    }

    let (errors, warnings, notes) = counts(&findings);
    if args.output.json {
        say_json(&json!({
            "config": path.display().to_string(),
            "files_checked": files_checked,
            "ok": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "notes": notes,
            "findings": findings.iter().map(diagnostic_json).collect::<Vec<_>>(),
            "certificate": certificate.as_ref().map(|c| certificate_json(c, now)),
        }));
    } else {
        for finding in &findings {
            say(finding.to_string());
        }
        if let Some(leaf) = &certificate {
            say("our certificate:");
            for line in certificate_lines(leaf, now) {
                say(line);
            }
        }
        let scope = if files_checked {
            "config and files"
        } else {
            "config only"
        };
        say(format!(
            "{}: {} ({scope}): {}, {}, {}",
            path.display(),
            if errors == 0 { "ok" } else { "not ok" },
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(notes, "note"),
        ));
    }
    Ok(Verdict::from_ok(errors == 0))
}

fn config_error(e: &ConfigError) -> Diagnostic {
    match e {
        ConfigError::Syntax {
            line,
            column,
            message,
        } => Diagnostic {
            severity: Severity::Error,
            code: "config-syntax",
            location: Some(Location::JsonPointer(String::new())),
            message: format!("line {line}, column {column}: {message}"),
        },
        ConfigError::Invalid { pointer, message } => Diagnostic::at_pointer(
            Severity::Error,
            "config-invalid",
            pointer.clone(),
            message.clone(),
        ),
    }
}

fn hostname_findings(context: &TlsContext, host: &str, file: &std::path::Path) -> Vec<Diagnostic> {
    let shown = Escaped(host);
    let Ok(server_name) = ServerName::try_from(host) else {
        return vec![Diagnostic::at_path(
            Severity::Error,
            "hostname-invalid",
            file,
            format!("\"{shown}\" is neither a DNS name nor an IP address"),
        )];
    };
    match context.check_hostname(&server_name, UnixTime::now()) {
        Ok(matched) if matched.is_legacy() => vec![Diagnostic::at_path(
            Severity::Warning,
            "hostname-legacy-match",
            file,
            format!("\"{shown}\" is covered only by the {matched}; modern clients reject this"),
        )],
        Ok(_) => Vec::new(),
        Err(rejection) => vec![Diagnostic::at_path(
            Severity::Error,
            "hostname-not-covered",
            file,
            format!("{rejection}; peers that validate hostnames will refuse it (see --hostname)"),
        )],
    }
}
