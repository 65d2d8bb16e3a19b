//! `vespa-tls csr` (on the node: a key that never leaves it, and a certificate signing request)
//! and `vespa-tls ca sign` (on the CA: a certificate for a request, under the CA's profile).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use time::OffsetDateTime;
use vespa_tls_material::{MAX_FILE_SIZE, read_regular_file};
use vespa_tls_pki::{
    CertificateRequest, PkiError, RequestParams, SanOverrides, SignParams, write_public_file,
    write_secret_file,
};

use crate::ca::{check_name, facts, key_type, load_ca, validity};
use crate::cli::{Identity, KeyTypeArg, Output};
use crate::json::{CaSignOutput, CaSignRefused, CaSigned, Certificate, CsrOutput, Request};
use crate::output::{Verdict, certificate_lines, note, say, say_json};

#[derive(Debug, Args)]
pub(crate) struct CsrArgs {
    /// The directory for the key and the request (created if missing).
    #[arg(long, value_name = "D")]
    pub(crate) dir: PathBuf,
    /// The files' name: D/NAME.key (mode 0600) and D/NAME.csr.
    #[arg(long, value_name = "N")]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) identity: Identity,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
    pub(crate) key_type: KeyTypeArg,
    /// Replace an existing D/NAME.key and D/NAME.csr.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct CaSignArgs {
    /// The CA directory made by `ca init`.
    #[arg(long, value_name = "D")]
    pub(crate) dir: PathBuf,
    /// The certificate signing request (PEM), from `vespa-tls csr`, `openssl req` or any tool.
    #[arg(long, value_name = "FILE")]
    pub(crate) csr: PathBuf,
    /// Validity in days.
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub(crate) days: i64,
    /// Replace the request's names: --cn replaces its subject, any --san-* replaces all its SANs.
    #[command(flatten)]
    pub(crate) identity: Identity,
    /// Write the certificate (then any intermediates) here instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

pub(crate) fn csr(args: &CsrArgs) -> anyhow::Result<Verdict> {
    check_name(&args.name)?;
    let key_path = args.dir.join(format!("{}.key", args.name));
    let csr_path = args.dir.join(format!("{}.csr", args.name));
    if !args.force {
        for path in [&key_path, &csr_path] {
            if path.exists() {
                bail!(
                    "{}: already exists; pass --force to replace it (a certificate issued for the old key stops working with the new one)",
                    path.display()
                );
            }
        }
    }
    let id = &args.identity;
    let params = RequestParams {
        common_names: if id.cn.is_empty() {
            vec![args.name.clone()]
        } else {
            id.cn.clone()
        },
        organization: None,
        dns_names: id.san_dns.clone(),
        uris: id.san_uri.clone(),
        ip_addresses: id.san_ip.clone(),
        key_type: key_type(args.key_type),
    };
    let new = CertificateRequest::generate(&params)?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("{}: cannot create directory", args.dir.display()))?;
    write_secret_file(&key_path, new.key_pem.expose().as_bytes())?;
    write_public_file(&csr_path, new.csr_pem.as_bytes())?;
    let request = &new.request;
    if args.output.json {
        say_json(&CsrOutput {
            private_key: key_path.clone(),
            csr: csr_path.clone(),
            request: request_json(request),
        });
    } else {
        say(format!(
            "created key {} (mode 0600; it never needs to leave this host)",
            key_path.display()
        ));
        say(format!("created CSR {}", csr_path.display()));
        for line in request_lines(request) {
            say(line);
        }
        say(format!(
            "next: on the CA, vespa-tls ca sign --dir <CA dir> --csr {}.csr --out {}.pem",
            args.name, args.name
        ));
        if id.san_dns.is_empty() && id.san_ip.is_empty() {
            note(
                "note: no --san-dns or --san-ip: unless the CA adds them, clients that validate host names will only accept this through the CN",
            );
        }
    }
    Ok(Verdict::Yes)
}

pub(crate) fn sign(args: &CaSignArgs) -> anyhow::Result<Verdict> {
    let ca = load_ca(&args.dir)?;
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        bail!(
            "{}: already exists; pass --force to replace it, or sign to a new file name",
            out.display()
        );
    }
    let bytes = read_regular_file(&args.csr, MAX_FILE_SIZE)?;
    let text = String::from_utf8_lossy(&bytes);
    let request = match CertificateRequest::from_pem(&text) {
        Ok(request) => request,
        Err(error) => return refuse(args, &error),
    };
    let id = &args.identity;
    let mut params = SignParams::new(validity(args.days)?);
    if !id.cn.is_empty() {
        params = params.with_common_names(id.cn.clone());
    }
    if !(id.san_dns.is_empty() && id.san_uri.is_empty() && id.san_ip.is_empty()) {
        params = params.with_names(SanOverrides {
            dns_names: id.san_dns.clone(),
            uris: id.san_uri.clone(),
            ip_addresses: id.san_ip.clone(),
        });
    }
    let signed = match ca.sign_request(&request, &params) {
        Ok(signed) => signed,
        Err(error @ PkiError::InvalidRequest { .. }) => return refuse(args, &error),
        Err(error) => return Err(error.into()),
    };
    if let Some(out) = &args.out {
        write_public_file(out, signed.certificates_pem().as_bytes())?;
    }
    let facts = facts(&signed.cert_der)?;
    let now = OffsetDateTime::now_utc();
    if args.output.json {
        say_json(&CaSignOutput::Signed(Box::new(CaSigned {
            csr: args.csr.clone(),
            request: request_json(&request),
            written: args.out.clone(),
            certificate: Certificate::new(&facts, now),
            pem: args.out.is_none().then(|| signed.certificates_pem()),
        })));
        return Ok(Verdict::Yes);
    }
    match &args.out {
        Some(out) => {
            say(format!(
                "signed {} for {}",
                out.display(),
                args.csr.display()
            ));
            for line in certificate_lines(&facts, now) {
                say(line);
            }
        }
        None => {
            say(signed.certificates_pem().trim_end());
            note(format!("signed a certificate for {}:", args.csr.display()));
            for line in certificate_lines(&facts, now) {
                note(line);
            }
        }
    }
    if facts.dns_names.is_empty() && facts.ip_addresses.is_empty() {
        note(
            "note: the certificate has no DNS or IP SAN (the request asked for none): give them with --san-dns/--san-ip, or clients that validate host names will refuse it",
        );
    }
    Ok(Verdict::Yes)
}

/// A request the CA will not sign: the answer is no (exit 1), with the reason on stderr.
fn refuse(args: &CaSignArgs, error: &PkiError) -> anyhow::Result<Verdict> {
    if args.output.json {
        say_json(&CaSignOutput::Refused(CaSignRefused {
            csr: args.csr.clone(),
            refused: error.to_string(),
        }));
    }
    note(format!(
        "vespa-tls: refused: {}: {error}",
        args.csr.display()
    ));
    Ok(Verdict::No)
}

fn request_json(request: &CertificateRequest) -> Request {
    Request {
        subject: request.subject().to_owned(),
        dns_names: request.dns_names().to_vec(),
        ip_addresses: request
            .ip_addresses()
            .iter()
            .map(ToString::to_string)
            .collect(),
        uris: request.uris().to_vec(),
        key_type: request.key_type().as_str().to_owned(),
    }
}

fn request_lines(request: &CertificateRequest) -> Vec<String> {
    use vespa_tls_config::Escaped;
    let mut names: Vec<String> = request
        .dns_names()
        .iter()
        .map(|d| format!("DNS:{}", Escaped(d)))
        .collect();
    names.extend(request.ip_addresses().iter().map(|i| format!("IP:{i}")));
    names.extend(request.uris().iter().map(|u| format!("URI:{}", Escaped(u))));
    vec![
        format!("  subject  {}", Escaped(request.subject())),
        format!(
            "  names    {}",
            if names.is_empty() {
                "(no SAN)".to_owned()
            } else {
                names.join(", ")
            }
        ),
        format!("  key      {}", request.key_type().as_str()),
    ]
}
