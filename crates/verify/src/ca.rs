//! `vespa-tls ca`: the seed guide's Appendix A (root CA, host keys, CSRs, signing) without openssl.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use vespa_tls_config::{Files, TransportSecurityOptions};
use vespa_tls_material::CertificateFacts;
use vespa_tls_pki::{
    CaParams, CertificateAuthority, KeyType, NodeParams, Validity, merge_ca_bundle,
    parse_ca_bundle, write_ca_files, write_node_files, write_public_file,
};

use crate::cli::{CaConfigArgs, CaInitArgs, CaIssueArgs, KeyTypeArg};
use crate::json::{CaConfigOutput, CaInitOutput, CaIssueOutput, Certificate};
use crate::output::{Verdict, certificate_lines, note, plural, say, say_json};

const CA_NAME: &str = "ca";

pub(crate) fn key_type(arg: KeyTypeArg) -> KeyType {
    match arg {
        KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
        KeyTypeArg::EcdsaP384 => KeyType::EcdsaP384,
        KeyTypeArg::Rsa2048 => KeyType::Rsa2048,
    }
}

/// Validity from one hour ago (tolerating clock skew between nodes) for `days` days.
pub(crate) fn validity(days: i64) -> anyhow::Result<Validity> {
    if days < 1 {
        bail!("--days must be at least 1, found {days}");
    }
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    Ok(Validity::new(
        now - Duration::hours(1),
        now + Duration::days(days),
    ))
}

pub(crate) fn facts(der: &CertificateDer<'static>) -> anyhow::Result<CertificateFacts> {
    CertificateFacts::from_der(der)
        .ok_or_else(|| anyhow!("internal error: issued certificate does not parse"))
}

pub(crate) fn init(args: &CaInitArgs) -> anyhow::Result<Verdict> {
    let cert = args.dir.join(format!("{CA_NAME}.pem"));
    if cert.exists() && !args.force {
        bail!(
            "{}: a CA already exists; pass --force to replace it (every node certificate it issued stops being trusted)",
            cert.display()
        );
    }
    let params =
        CaParams::new(args.cn.clone(), validity(args.days)?).with_key_type(key_type(args.key_type));
    let ca = CertificateAuthority::new_root(&params)?;
    let written = write_ca_files(&args.dir, CA_NAME, &ca)?;
    let facts = facts(ca.cert_der())?;
    let now = OffsetDateTime::now_utc();
    if args.output.json {
        say_json(&CaInitOutput {
            certificate: written.certificate.clone(),
            private_key: written.private_key.clone(),
            ca: Certificate::new(&facts, now),
        });
    } else {
        say(format!(
            "created CA certificate {}",
            written.certificate.display()
        ));
        say(format!(
            "created CA key         {} (mode 0600; keep it secret and off the nodes)",
            written.private_key.display()
        ));
        for line in certificate_lines(&facts, now) {
            say(line);
        }
        say(format!(
            "next: vespa-tls ca issue --dir {} --name <host> --san-dns <host name>",
            args.dir.display()
        ));
    }
    Ok(Verdict::Yes)
}

pub(crate) fn load_ca(dir: &Path) -> anyhow::Result<CertificateAuthority> {
    let read = |name: String| -> anyhow::Result<String> {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: cannot read (make a CA first with `vespa-tls ca init --dir {}`)",
                path.display(),
                dir.display()
            )
        })
    };
    let cert = read(format!("{CA_NAME}.pem"))?;
    let key = read(format!("{CA_NAME}.key"))?;
    CertificateAuthority::load(&cert, &key).map_err(|e| anyhow!("{}: {e}", dir.display()))
}

pub(crate) fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("--name {name:?}: use letters, digits, '-', '_' and '.' only (it names a directory)");
    }
    Ok(())
}

pub(crate) fn issue(args: &CaIssueArgs) -> anyhow::Result<Verdict> {
    check_name(&args.name)?;
    let ca = load_ca(&args.dir)?;
    let id = &args.identity;
    let mut cns = id.cn.iter();
    let first_cn = cns.next().cloned().unwrap_or_else(|| args.name.clone());
    let mut params =
        NodeParams::new(first_cn, validity(args.days)?).with_key_type(key_type(args.key_type));
    for cn in cns {
        params = params.with_common_name(cn.clone());
    }
    for dns in &id.san_dns {
        params = params.with_dns(dns.clone());
    }
    for uri in &id.san_uri {
        params = params.with_uri(uri.clone());
    }
    for ip in &id.san_ip {
        params = params.with_ip(*ip);
    }
    let node_dir = args.dir.join(&args.name);
    let install = install_dir(args.install_dir.as_deref())?;
    let existing_cert = node_dir.join(format!("{}.pem", args.name));
    if existing_cert.exists() && !args.force {
        bail!(
            "{}: {} was issued before; pass --force to replace its key and certificate (on a running node, roll the new set out with `vespa-tls install`), or issue under a new --name",
            existing_cert.display(),
            args.name
        );
    }
    // Never drop a CA from an existing bundle: during a CA rotation it holds the old CA too.
    let bundle_path = node_dir.join("ca-certificates.pem");
    let existing = match std::fs::read_to_string(&bundle_path) {
        Ok(text) => parse_ca_bundle(&bundle_path.display().to_string(), &text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(anyhow!("{}: cannot read: {e}", bundle_path.display())),
    };
    let kept = existing.len();
    let bundle = merge_ca_bundle(&existing, std::slice::from_ref(ca.root_der()));
    let issued = ca.issue(&params)?;
    let mut written = write_node_files(&node_dir, &args.name, &issued, &bundle)?;
    if let Some(install) = &install {
        let files = installed_files(install, &args.name);
        written.config_json = TransportSecurityOptions::with_files(files).to_json();
        write_public_file(&written.config_path, written.config_json.as_bytes())?;
    }
    let facts = facts(&issued.cert_der)?;
    let now = OffsetDateTime::now_utc();
    if args.output.json {
        say_json(&CaIssueOutput {
            ca_certificates: written.files.ca_certificates.clone(),
            certificates: written.files.certificates.clone(),
            private_key: written.files.private_key.clone(),
            config: written.config_path.clone(),
            install_dir: install.clone(),
            ca_bundle_kept: kept,
            certificate: Certificate::new(&facts, now),
        });
    } else {
        say(format!(
            "issued {} for {}",
            written.files.certificates.display(),
            args.name
        ));
        say(format!(
            "  key      {} (mode 0600)",
            written.files.private_key.display()
        ));
        say(format!(
            "  CA       {}",
            written.files.ca_certificates.display()
        ));
        say(format!("  config   {}", written.config_path.display()));
        for line in certificate_lines(&facts, now) {
            say(line);
        }
        if id.san_dns.is_empty() && id.san_ip.is_empty() {
            say(
                "note: no --san-dns or --san-ip: clients that validate host names will only accept this through the CN",
            );
        }
    }
    if kept > 0 && !args.output.json {
        note(format!(
            "note: {} keeps the {} it already had",
            bundle_path.display(),
            plural(kept, "CA certificate")
        ));
    }
    paths_note(&written.config_path, install.as_deref());
    Ok(Verdict::Yes)
}

fn node_files(dir: &Path, name: &str) -> anyhow::Result<Files> {
    let node_dir: PathBuf = dir.join(name);
    let node_dir = node_dir.canonicalize().with_context(|| {
        format!(
            "{}: no such node (issue it first with `vespa-tls ca issue --dir {} --name {name}`)",
            node_dir.display(),
            dir.display()
        )
    })?;
    let files = Files {
        ca_certificates: node_dir.join("ca-certificates.pem"),
        certificates: node_dir.join(format!("{name}.pem")),
        private_key: node_dir.join(format!("{name}.key")),
    };
    for path in [
        &files.ca_certificates,
        &files.certificates,
        &files.private_key,
    ] {
        if !path.is_file() {
            bail!(
                "{}: missing (issue the node again with `vespa-tls ca issue`)",
                path.display()
            );
        }
    }
    Ok(files)
}

pub(crate) fn config(args: &CaConfigArgs) -> anyhow::Result<Verdict> {
    check_name(&args.name)?;
    let local = node_files(&args.dir, &args.name)?;
    let install = install_dir(args.install_dir.as_deref())?;
    let files = match &install {
        Some(dir) => installed_files(dir, &args.name),
        None => local,
    };
    let json = TransportSecurityOptions::with_files(files).to_json();
    match &args.out {
        Some(out) => {
            write_public_file(out, json.as_bytes())?;
            if args.output.json {
                say_json(&CaConfigOutput {
                    written: out.clone(),
                });
            } else {
                say(format!("wrote {}", out.display()));
                say(format!(
                    "use it with: export VESPA_TLS_CONFIG_FILE={}",
                    out.display()
                ));
            }
        }
        None => say(json.trim_end()),
    }
    let shown = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("the config"));
    paths_note(&shown, install.as_deref());
    Ok(Verdict::Yes)
}

/// `--install-dir`: absolute, as Vespa requires every path in the config to be.
fn install_dir(given: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    match given {
        Some(dir) if !dir.is_absolute() => bail!(
            "--install-dir {}: expected an absolute path (Vespa reads only absolute paths in the config)",
            dir.display()
        ),
        Some(dir) => Ok(Some(dir.to_owned())),
        None => Ok(None),
    }
}

/// Where NAME's three files are on the node once its directory is copied to `dir`.
pub(crate) fn installed_files(dir: &Path, name: &str) -> Files {
    Files {
        ca_certificates: dir.join("ca-certificates.pem"),
        certificates: dir.join(format!("{name}.pem")),
        private_key: dir.join(format!("{name}.key")),
    }
}

/// Says which machine the config's paths belong to: an operator copying the files to a node
/// must not find the CA machine's paths in the node's config.
fn paths_note(config: &Path, install: Option<&Path>) {
    match install {
        Some(dir) => note(format!(
            "note: {} names the files at {} (copy them there on the node)",
            config.display(),
            dir.display()
        )),
        None => note(format!(
            "note: {} names the files where they are on this machine; on a node they will live elsewhere: pass --install-dir DIR for the paths they will have there",
            config.display()
        )),
    }
}
