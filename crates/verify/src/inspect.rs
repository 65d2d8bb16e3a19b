//! `vespa-tls inspect` (every certificate of a PEM file or of a server's chain) and
//! `vespa-tls needs-renewal` (whether a node's certificate is due for renewal).

use std::net::ToSocketAddrs as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use time::OffsetDateTime;
use vespa_tls_authz::PeerCredentials;
use vespa_tls_config::{Escaped, MixedMode};
use vespa_tls_context::{TlsContext, TlsMetrics, TlsModes};
use vespa_tls_material::{CertificateFacts, MAX_FILE_SIZE, read_regular_file};
use vespa_tls_transport::{Connector, TlsSource};

use crate::cli::Output;
use crate::json::{
    Certificate, InspectOutput, InspectedCertificate, NeedsRenewalOutput, VespaCredentials,
};
use crate::output::{Verdict, certificate_lines, config_path, load_options, say, say_json};
use crate::probe::{parse_target, runtime};

const OID_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A PEM file (certificates, a chain or a CA bundle), or HOST:PORT of a server.
    #[arg(value_name = "FILE|HOST:PORT")]
    pub(crate) target: String,
    /// For HOST:PORT: the TLS config whose certificate and CA bundle the handshake uses
    /// [default: $VESPA_TLS_CONFIG_FILE].
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Seconds to wait for the connection and the handshake.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub(crate) timeout: f64,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct NeedsRenewalArgs {
    /// A PEM certificate file (its first certificate is judged).
    #[arg(
        value_name = "FILE",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub(crate) file: Option<PathBuf>,
    /// Judge the certificate this TLS config names.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Renew when it expires within this many days (`30d`) or once this share of its validity
    /// has passed (`66%`).
    #[arg(long, value_name = "Nd|P%", default_value = "30d")]
    pub(crate) expires_in: String,
    #[command(flatten)]
    pub(crate) output: Output,
}

pub(crate) fn inspect(args: &InspectArgs) -> anyhow::Result<Verdict> {
    let path = PathBuf::from(&args.target);
    let (source, chain) = if path.exists() {
        (path.display().to_string(), read_pem_certificates(&path)?)
    } else {
        (args.target.clone(), server_chain(args)?)
    };
    let now = OffsetDateTime::now_utc();
    let mut entries = Vec::new();
    for (index, der) in chain.iter().enumerate() {
        let facts = CertificateFacts::from_der(der)
            .ok_or_else(|| anyhow!("{source}: certificate {index} does not parse as X.509"))?;
        entries.push((
            facts,
            CertificateFacts::key_usages(der),
            PeerCredentials::from_der(der),
        ));
    }
    if args.output.json {
        let certificates = entries
            .iter()
            .map(|(facts, key_usages, credentials)| InspectedCertificate {
                certificate: Certificate::new(facts, now),
                key_type: facts.public_key.to_string(),
                is_ca: facts.is_ca,
                key_usages: key_usages
                    .as_ref()
                    .map(|k| k.iter().map(|u| (*u).to_owned()).collect()),
                extended_key_usages: facts
                    .extended_key_usages
                    .as_ref()
                    .map(|e| e.iter().map(|oid| eku_name(oid)).collect()),
                vespa_credentials: match credentials {
                    Ok(c) => VespaCredentials::Valid {
                        cn: c.common_name().map(str::to_owned),
                        san_dns: c.dns_sans.clone(),
                        san_uri: c.uri_sans.clone(),
                    },
                    Err(e) => VespaCredentials::Invalid {
                        invalid: e.to_string(),
                    },
                },
            })
            .collect();
        say_json(&InspectOutput {
            source,
            certificates,
        });
        return Ok(Verdict::Yes);
    }
    say(format!(
        "{source}: {} certificate{}",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    ));
    for (index, (facts, key_usages, credentials)) in entries.iter().enumerate() {
        say(format!("[{index}]{}", if facts.is_ca { " CA" } else { "" }));
        for line in certificate_lines(facts, now) {
            say(line);
        }
        say(format!("  key      {}", facts.public_key));
        say(format!(
            "  EKU      {}",
            match &facts.extended_key_usages {
                None => "(none: any usage)".to_owned(),
                Some(ekus) => ekus
                    .iter()
                    .map(|o| eku_name(o))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        ));
        say(format!(
            "  KU       {}",
            key_usages
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |k| k.join(", "))
        ));
        match credentials {
            Ok(c) => say(format!(
                "  vespa    CN={} SAN_DNS=[{}] SAN_URI=[{}]",
                c.common_name()
                    .map_or_else(|| "(none)".to_owned(), |cn| Escaped(cn).to_string()),
                c.dns_sans
                    .iter()
                    .map(|d| Escaped(d).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                c.uri_sans
                    .iter()
                    .map(|u| Escaped(u).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            Err(e) => say(format!("  vespa    invalid peer credentials: {e}")),
        }
    }
    Ok(Verdict::Yes)
}

pub(crate) fn needs_renewal(args: &NeedsRenewalArgs) -> anyhow::Result<Verdict> {
    let threshold = Threshold::parse(&args.expires_in)?;
    let path = match (&args.file, &args.config) {
        (Some(file), _) => file.clone(),
        (None, config) => {
            let config = config_path(config.as_deref())?;
            load_options(&config)?.0.files.certificates
        }
    };
    let der = read_pem_certificates(&path)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            anyhow!(
                "{}: expected a CERTIFICATE block, found none",
                path.display()
            )
        })?;
    let facts = CertificateFacts::from_der(&der).ok_or_else(|| {
        anyhow!(
            "{}: the certificate does not parse as X.509",
            path.display()
        )
    })?;
    let now = OffsetDateTime::now_utc();
    let (renew, reason) = threshold.judge(&facts, now);
    if args.output.json {
        say_json(&NeedsRenewalOutput {
            certificate_file: path.clone(),
            renew,
            reason: reason.clone(),
            threshold: args.expires_in.clone(),
            certificate: Certificate::new(&facts, now),
        });
    } else {
        say(format!(
            "{}: {}: {reason}",
            path.display(),
            if renew { "renew now" } else { "not yet" }
        ));
        for line in certificate_lines(&facts, now) {
            say(line);
        }
    }
    Ok(if renew { Verdict::Yes } else { Verdict::No })
}

/// When a certificate is due: a number of days before expiry, or a share of its lifetime.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Threshold {
    Days(i64),
    Percent(f64),
}

impl Threshold {
    fn parse(text: &str) -> anyhow::Result<Threshold> {
        let bad = || {
            anyhow!(
                "--expires-in {text:?}: expected days (`30d`) or a share of the validity (`66%`)"
            )
        };
        if let Some(days) = text.strip_suffix('d') {
            let days: i64 = days.parse().map_err(|_| bad())?;
            if days < 0 {
                return Err(bad());
            }
            Ok(Threshold::Days(days))
        } else if let Some(percent) = text.strip_suffix('%') {
            let percent: f64 = percent.parse().map_err(|_| bad())?;
            if !(percent.is_finite() && (0.0..=100.0).contains(&percent)) {
                return Err(bad());
            }
            Ok(Threshold::Percent(percent))
        } else {
            Err(bad())
        }
    }

    fn judge(self, facts: &CertificateFacts, now: OffsetDateTime) -> (bool, String) {
        let left = facts.not_after - now;
        if left.is_negative() {
            return (
                true,
                format!("expired {} days ago", -facts.days_to_expiry(now)),
            );
        }
        match self {
            Threshold::Days(days) => {
                let due = left <= time::Duration::days(days);
                (
                    due,
                    format!(
                        "expires in {} days ({} the {days}-day threshold)",
                        facts.days_to_expiry(now),
                        if due { "within" } else { "beyond" }
                    ),
                )
            }
            Threshold::Percent(percent) => {
                let lifetime = (facts.not_after - facts.not_before).as_seconds_f64();
                let passed = (now - facts.not_before).as_seconds_f64();
                let share = if lifetime > 0.0 {
                    100.0 * passed / lifetime
                } else {
                    100.0
                };
                let due = share >= percent;
                (
                    due,
                    format!(
                        "{share:.1}% of its validity has passed ({} the {percent}% threshold; expires in {} days)",
                        if due { "at or past" } else { "before" },
                        facts.days_to_expiry(now)
                    ),
                )
            }
        }
    }
}

fn eku_name(oid: &str) -> String {
    match oid {
        OID_SERVER_AUTH => "serverAuth".to_owned(),
        OID_CLIENT_AUTH => "clientAuth".to_owned(),
        "2.5.29.37.0" => "anyExtendedKeyUsage".to_owned(),
        other => other.to_owned(),
    }
}

fn read_pem_certificates(path: &std::path::Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let bytes = read_regular_file(path, MAX_FILE_SIZE)?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        certs.push(item.map_err(|e| anyhow!("{}: malformed PEM: {e}", path.display()))?);
    }
    if certs.is_empty() {
        bail!(
            "{}: expected a CERTIFICATE block, found none",
            path.display()
        );
    }
    Ok(certs)
}

/// The chain a server presents in a handshake made with our config's certificate and CA.
fn server_chain(args: &InspectArgs) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let endpoint = parse_target(&args.target)
        .with_context(|| format!("{}: neither a file nor HOST:PORT", args.target))?;
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        bail!(
            "--timeout must be between 0 and 3600 seconds, found {}",
            args.timeout
        );
    }
    let wait = Duration::from_secs_f64(args.timeout);
    let path = config_path(args.config.as_deref())?;
    let (options, _) = load_options(&path)?;
    let (context, _) = TlsContext::from_options(
        &options,
        TlsModes::default(),
        Arc::new(TlsMetrics::default()),
    )
    .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let address = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .with_context(|| format!("{}: cannot resolve", endpoint.target))?
        .next()
        .with_context(|| format!("{}: no address", endpoint.target))?;
    let connector = Connector::new(
        TlsSource::Fixed(Arc::new(context)),
        MixedMode::TlsClientTlsServer,
    )
    .with_handshake_timeout(wait);
    runtime()?.block_on(async {
        let (stream, _) = connector
            .connect_tcp(address, &endpoint.host)
            .await
            .map_err(|e| anyhow!("{}: {e}", endpoint.target))?;
        stream
            .peer_certificates()
            .map(<[CertificateDer<'static>]>::to_vec)
            .ok_or_else(|| anyhow!("{}: the server sent no certificate", endpoint.target))
    })
}
