//! `vespa-tls ca issue-cluster`: one bundle per host of a cluster, from a host list or Vespa's
//! `hosts.xml`, each with the paths the files will have on the node and `authorized-peers`
//! admitting exactly the cluster's hosts.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::Args;
use time::OffsetDateTime;
use vespa_tls_config::{
    AuthorizedPeers, CredentialField, PeerPolicy, RequiredPeerCredential, TransportSecurityOptions,
};
use vespa_tls_material::{MAX_FILE_SIZE, read_regular_file};
use vespa_tls_pki::{NodeParams, write_node_files, write_public_file};

use crate::ca::{facts, installed_files, key_type, load_ca, validity};
use crate::cli::{KeyTypeArg, Output};
use crate::json::{CaIssueClusterOutput, Certificate, ClusterHost};
use crate::output::{Verdict, plural, say, say_json};

#[derive(Debug, Args)]
pub(crate) struct IssueClusterArgs {
    /// The CA directory made by `ca init`.
    #[arg(long, value_name = "D")]
    pub(crate) dir: PathBuf,
    /// The cluster's hosts: Vespa's hosts.xml, or one host name per line (# comments allowed).
    #[arg(long, value_name = "FILE")]
    pub(crate) hosts: PathBuf,
    /// The absolute directory of the files on each node; `{host}` is replaced by the host name.
    #[arg(long, value_name = "DIR")]
    pub(crate) install_dir: String,
    /// Where the bundles go: OUT/HOST/ for each host.
    #[arg(long, value_name = "OUT")]
    pub(crate) out: PathBuf,
    /// A DNS SAN added to every host's certificate (e.g. `localhost`, for tools on the node).
    #[arg(long, value_name = "NAME")]
    pub(crate) san_dns: Vec<String>,
    /// An IP SAN added to every host's certificate.
    #[arg(long, value_name = "IP")]
    pub(crate) san_ip: Vec<std::net::IpAddr>,
    /// Validity in days.
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub(crate) days: i64,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
    pub(crate) key_type: KeyTypeArg,
    /// Replace existing bundles in OUT.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// One host of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) name: String,
    /// Vespa's logical names for it (`<alias>`): used in services.xml, not DNS names.
    pub(crate) aliases: Vec<String>,
}

pub(crate) fn run(args: &IssueClusterArgs) -> anyhow::Result<Verdict> {
    let text = String::from_utf8(read_regular_file(&args.hosts, MAX_FILE_SIZE)?)
        .map_err(|_| anyhow!("{}: expected UTF-8 text", args.hosts.display()))?;
    let hosts = parse_hosts(&args.hosts, &text)?;
    if !args.install_dir.starts_with('/') {
        bail!(
            "--install-dir {}: expected an absolute path (Vespa reads only absolute paths in the config)",
            args.install_dir
        );
    }
    let ca = load_ca(&args.dir)?;
    if !args.force {
        for host in &hosts {
            let bundle = args.out.join(&host.name);
            if bundle.exists() {
                bail!(
                    "{}: already exists; pass --force to replace the bundles, or write them to a new --out",
                    bundle.display()
                );
            }
        }
    }
    // Every host admits every host of the cluster, by its own DNS name, exactly.
    let policies: Vec<PeerPolicy> = hosts
        .iter()
        .map(|host| PeerPolicy {
            name: format!("cluster-host {}", host.name),
            description: Some("a host of this cluster (vespa-tls ca issue-cluster)".to_owned()),
            capabilities: None,
            required_credentials: vec![RequiredPeerCredential {
                field: CredentialField::SanDns,
                must_match: host.name.clone(),
            }],
        })
        .collect();
    let validity = validity(args.days)?;
    let bundle_pem = ca.ca_bundle_pem();
    let now = OffsetDateTime::now_utc();
    let mut report = Vec::new();
    for host in &hosts {
        let mut params = NodeParams::new(host.name.clone(), validity)
            .with_key_type(key_type(args.key_type))
            .with_dns(host.name.clone());
        for dns in args.san_dns.iter().filter(|d| **d != host.name) {
            params = params.with_dns(dns.clone());
        }
        for ip in &args.san_ip {
            params = params.with_ip(*ip);
        }
        let issued = ca.issue(&params)?;
        let bundle = args.out.join(&host.name);
        let written = write_node_files(&bundle, &host.name, &issued, &bundle_pem)?;
        let install = PathBuf::from(args.install_dir.replace("{host}", &host.name));
        let mut options =
            TransportSecurityOptions::with_files(installed_files(&install, &host.name));
        options.authorized_peers = AuthorizedPeers::new(policies.clone());
        let node_config = install.join(format!("{}-tls.json", host.name));
        write_public_file(&written.config_path, options.to_json().as_bytes())?;
        for (phase, lines) in phases(&node_config).iter().enumerate() {
            let path = bundle.join(format!("default-env-phase-{}.txt", phase + 1));
            write_public_file(&path, lines.as_bytes())?;
        }
        report.push((host, bundle, install, node_config, facts(&issued.cert_der)?));
    }
    if args.output.json {
        say_json(&CaIssueClusterOutput {
            hosts_file: args.hosts.clone(),
            hosts: report
                .iter()
                .map(|(host, bundle, install, config, facts)| ClusterHost {
                    host: host.name.clone(),
                    aliases: host.aliases.clone(),
                    bundle: bundle.clone(),
                    install_dir: install.clone(),
                    config: config.clone(),
                    certificate: Certificate::new(facts, now),
                })
                .collect(),
        });
        return Ok(Verdict::Yes);
    }
    say(format!(
        "issued {} from {} into {}:",
        plural(hosts.len(), "host"),
        args.hosts.display(),
        args.out.display()
    ));
    for (host, bundle, install, _, _) in &report {
        say(format!(
            "  {}: copy {}/ to {} on the host",
            host.name,
            bundle.display(),
            install.display()
        ));
    }
    say(
        "each bundle: HOST.key (mode 0600), HOST.pem, ca-certificates.pem, HOST-tls.json (node paths; authorized-peers admits the cluster's hosts) and default-env-phase-{1,2,3}.txt (the lines for conf/vespa/default-env.txt in each rollout phase)",
    );
    Ok(Verdict::Yes)
}

/// The `conf/vespa/default-env.txt` lines of the guide's three rollout phases.
fn phases(config: &Path) -> [String; 3] {
    let tls = format!("override VESPA_TLS_CONFIG_FILE {}\n", config.display());
    [
        format!(
            "# Phase 1: clients do not use TLS, servers accept TLS and plaintext.\n{tls}override VESPA_TLS_INSECURE_MIXED_MODE plaintext_client_mixed_server\n"
        ),
        format!(
            "# Phase 2: clients use TLS, servers accept TLS and plaintext.\n{tls}override VESPA_TLS_INSECURE_MIXED_MODE tls_client_mixed_server\n"
        ),
        format!(
            "# Phase 3: TLS only. No service may keep the mixed mode: check with `vespa-tls scan`.\n{tls}unset VESPA_TLS_INSECURE_MIXED_MODE\n"
        ),
    ]
}

/// Hosts from Vespa's `hosts.xml` (`<hosts><host name="…"><alias>…</alias></host></hosts>`)
/// or from a list with one host per line.
pub(crate) fn parse_hosts(path: &Path, text: &str) -> anyhow::Result<Vec<Host>> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let hosts = if trimmed.starts_with('<') {
        parse_hosts_xml(path, text)?
    } else {
        let mut hosts = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            check_host(path, index + 1, line)?;
            hosts.push((
                index + 1,
                Host {
                    name: line.to_owned(),
                    aliases: Vec::new(),
                },
            ));
        }
        hosts
    };
    if hosts.is_empty() {
        bail!("{}: expected at least one host, found none", path.display());
    }
    let mut seen: Vec<&str> = Vec::new();
    for (line, host) in &hosts {
        if seen.contains(&host.name.as_str()) {
            bail!(
                "{}:{line}: host {:?} is listed twice",
                path.display(),
                host.name
            );
        }
        seen.push(&host.name);
    }
    Ok(hosts.into_iter().map(|(_, host)| host).collect())
}

fn check_host(path: &Path, line: usize, name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['.', '-'])
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !ok {
        bail!(
            "{}:{line}: {name:?} is not a host name (letters, digits, '-', '_' and '.')",
            path.display()
        );
    }
    Ok(())
}

/// A small reader for `hosts.xml`: `<host name="…">` elements and their `<alias>` children;
/// comments are skipped, anything else is ignored. Line numbers in errors are the file's.
fn parse_hosts_xml(path: &Path, text: &str) -> anyhow::Result<Vec<(usize, Host)>> {
    // Blank out comments, keeping newlines so positions map to the same lines.
    let mut clean = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        clean.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("-->") else {
            let line = line_of(text, text.len() - rest.len() + start);
            bail!("{}:{line}: unterminated comment", path.display());
        };
        let comment = &rest[start..start + end + 3];
        clean.extend(comment.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        rest = &rest[start + end + 3..];
    }
    clean.push_str(rest);
    if !clean.contains("<hosts") {
        bail!(
            "{}: expected Vespa's hosts.xml with a <hosts> element, found none",
            path.display()
        );
    }
    let mut hosts = Vec::new();
    let mut at = 0;
    while let Some(found) = clean[at..].find("<host") {
        let start = at + found;
        let after = &clean[start + 5..];
        // `<hosts>` itself, or another element starting with "host".
        if !after.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
            at = start + 5;
            continue;
        }
        let line = line_of(&clean, start);
        let Some(tag_end) = after.find('>') else {
            bail!("{}:{line}: unterminated <host> tag", path.display());
        };
        let tag = &after[..tag_end];
        let self_closing = tag.trim_end().ends_with('/');
        let name = attribute(tag, "name")
            .ok_or_else(|| anyhow!("{}:{line}: <host> without a name attribute", path.display()))?;
        check_host(path, line, &name)?;
        let body_start = start + 5 + tag_end + 1;
        let mut aliases = Vec::new();
        if self_closing {
            at = body_start;
        } else {
            let Some(close) = clean[body_start..].find("</host>") else {
                bail!(
                    "{}:{line}: <host name={name:?}> is never closed",
                    path.display()
                );
            };
            let body = &clean[body_start..body_start + close];
            let mut from = 0;
            while let Some(open) = body[from..].find("<alias>") {
                let value_start = from + open + "<alias>".len();
                let Some(end) = body[value_start..].find("</alias>") else {
                    bail!(
                        "{}:{}: <alias> is never closed",
                        path.display(),
                        line_of(&clean, body_start + value_start)
                    );
                };
                aliases.push(body[value_start..value_start + end].trim().to_owned());
                from = value_start + end + "</alias>".len();
            }
            at = body_start + close + "</host>".len();
        }
        hosts.push((line, Host { name, aliases }));
    }
    Ok(hosts)
}

/// The value of `key="…"` (or `key='…'`) in a tag's attributes.
fn attribute(tag: &str, key: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(found) = rest.find(key) {
        let before_ok = found == 0
            || rest[..found]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
        let after = rest[found + key.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let inner = &value[1..];
                let end = inner.find(quote)?;
                return Some(inner[..end].trim().to_owned());
            }
            return None;
        }
        rest = &rest[found + key.len()..];
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS_XML: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<!-- a comment with <host name="ignored.example.com"> in it -->
<hosts>
  <host name="node1.example.com">
    <alias>node1</alias>
    <alias> admin </alias>
  </host>
  <host name='node2.example.com'><alias>node2</alias></host>
  <host name="node3.example.com"/>
</hosts>
"#;

    #[test]
    fn hosts_xml_and_host_lists_are_read() {
        let path = Path::new("hosts.xml");
        let hosts = parse_hosts(path, HOSTS_XML).expect("parses");
        let names: Vec<(&str, Vec<&str>)> = hosts
            .iter()
            .map(|h| {
                (
                    h.name.as_str(),
                    h.aliases.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("node1.example.com", vec!["node1", "admin"]),
                ("node2.example.com", vec!["node2"]),
                ("node3.example.com", vec![]),
            ]
        );
        let list = parse_hosts(
            Path::new("hosts.txt"),
            "# cluster\nnode1.example.com\n\n  node2.example.com  # second\n",
        )
        .expect("parses");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].name, "node2.example.com");
    }

    #[test]
    fn bad_host_files_name_file_and_line() {
        // (file text, expected message)
        let table = [
            (
                "a.example.com\nbad host\n",
                "hosts:2: \"bad host\" is not a host name",
            ),
            (
                "a.example.com\na.example.com\n",
                "hosts:2: host \"a.example.com\" is listed twice",
            ),
            ("# nothing\n", "hosts: expected at least one host"),
            (
                "<hosts>\n  <host>\n  </host>\n</hosts>\n",
                "hosts:2: <host> without a name",
            ),
            (
                "<hosts>\n<host name=\"a.example.com\">\n",
                "hosts:2: <host name=\"a.example.com\"> is never closed",
            ),
            ("<hosts><!-- open\n", "hosts:1: unterminated comment"),
            ("<services/>\n", "hosts: expected Vespa's hosts.xml"),
        ];
        for (text, expected) in table {
            let err = parse_hosts(Path::new("hosts"), text).expect_err(text);
            assert!(err.to_string().starts_with(expected), "{text:?}: {err}");
        }
    }
}
