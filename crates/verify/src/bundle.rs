//! `vespa-tls ca bundle`: one `ca-certificates` file from several CAs, for a CA rotation's overlap.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::Args;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use vespa_tls_material::{CertificateFacts, MAX_FILE_SIZE, read_regular_file};
use vespa_tls_pki::{merge_ca_bundle, parse_ca_bundle, write_public_file};

use crate::cli::Output;
use crate::json::{CaBundleOutput, Certificate};
use crate::output::{Verdict, certificate_lines, plural, say, say_json};

#[derive(Debug, Args)]
pub(crate) struct CaBundleArgs {
    /// CA certificate files (PEM; each may hold several certificates), in the order wanted.
    #[arg(required = true, value_name = "PEM")]
    pub(crate) inputs: Vec<PathBuf>,
    /// The bundle to write.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Replace an existing --out file (without it, an existing bundle is never replaced).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

pub(crate) fn run(args: &CaBundleArgs) -> anyhow::Result<Verdict> {
    if args.out.exists() && !args.force {
        bail!(
            "{}: already exists; pass --force to replace it, or write the bundle to a new file name",
            args.out.display()
        );
    }
    let mut certs: Vec<CertificateDer<'static>> = Vec::new();
    for input in &args.inputs {
        let bytes = read_regular_file(input, MAX_FILE_SIZE)?;
        let what = input.display().to_string();
        let found = parse_ca_bundle(&what, &String::from_utf8_lossy(&bytes))?;
        if found.is_empty() {
            bail!("{what}: expected at least one CERTIFICATE block, found none");
        }
        for der in found {
            let facts = CertificateFacts::from_der(&der)
                .ok_or_else(|| anyhow!("{what}: a certificate does not parse as X.509"))?;
            if !facts.is_ca {
                bail!(
                    "{what}: {}: expected a CA certificate (basicConstraints CA:TRUE), found a leaf; a bundle holds only CAs",
                    facts.subject
                );
            }
            certs.push(der);
        }
    }
    let pem = merge_ca_bundle(&[], &certs);
    write_public_file(&args.out, pem.as_bytes())?;
    let kept = parse_ca_bundle("bundle", &pem)?;
    let now = OffsetDateTime::now_utc();
    let facts: Vec<CertificateFacts> = kept.iter().filter_map(CertificateFacts::from_der).collect();
    if args.output.json {
        say_json(&CaBundleOutput {
            written: args.out.clone(),
            certificates: facts.iter().map(|f| Certificate::new(f, now)).collect(),
        });
    } else {
        say(format!(
            "wrote {} with {}",
            args.out.display(),
            plural(facts.len(), "CA certificate")
        ));
        for f in &facts {
            for line in certificate_lines(f, now) {
                say(line);
            }
        }
    }
    Ok(Verdict::Yes)
}
