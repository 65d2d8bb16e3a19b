//! What `scan` probes: endpoints from the command line, from a targets file
//! (`HOST:PORT [frt|http|echo|tls]`) and from `vespa-model-inspect` output, each with the
//! protocol to probe it with.
//!
//! `vespa-model-inspect` (`service TYPE`, `host HOST`, `cluster NAME`, `configid ID`, `-t TAG
//! filter:ports`, with or without `-u`) prints each service as a `NAME @ HOST : CLUSTERTYPE`
//! line, its config id, and one indented line per port: `tcp/HOST:PORT (TAGS)`, or with `-u`
//! `http://HOST:PORT/ (TAGS)` for ports tagged HTTP; with a tag filter the tags are left out.
//! The tags choose the probe: HTTP → http; RPC, ADMIN or MESSAGING (all FRT on Vespa's side)
//! → frt; UNUSED → not probed (nothing listens there); anything else (FS4, LOGTP, TELNET, RMI,
//! no tags) → a TLS-only probe, which makes no claim about plaintext.

use std::collections::HashSet;
use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use vespa_tls_config::Escaped;
use vespa_tls_material::{MAX_FILE_SIZE, read_regular_file};

use crate::cli::Protocol;
use crate::probe::{Endpoint, parse_target};

/// The endpoints to scan, and what could not be read.
#[derive(Debug, Default)]
pub(crate) struct Targets {
    pub(crate) endpoints: Vec<Endpoint>,
    /// Lines of model-inspect output that were skipped, as `file:line: why`.
    pub(crate) skipped: Vec<String>,
    /// Ports tagged UNUSED, not probed.
    pub(crate) unused: usize,
}

/// Reads a file, or stdin for `-`, as text (bounded like every file the tool reads).
pub(crate) fn read_input(path: &Path) -> anyhow::Result<String> {
    let bytes = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .context("stdin: cannot read")?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            bail!("stdin: more than {MAX_FILE_SIZE} bytes");
        }
        bytes
    } else {
        read_regular_file(path, MAX_FILE_SIZE)?
    };
    String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{}: not UTF-8: {e}", shown(path)))
}

fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

/// `HOST:PORT [PROTOCOL]`: a target with an optional protocol word.
pub(crate) fn parse_target_line(line: &str, default: Protocol) -> anyhow::Result<Endpoint> {
    let mut words = line.split_whitespace();
    let target = words.next().context("expected HOST:PORT")?;
    let mut endpoint = parse_target(target)?;
    endpoint.protocol = match words.next() {
        None => default,
        Some(word) => protocol_word(word)?,
    };
    if let Some(extra) = words.next() {
        bail!(
            "{:?}: unexpected {:?} (expected HOST:PORT [frt|http|echo|tls])",
            line,
            extra
        );
    }
    Ok(endpoint)
}

fn protocol_word(word: &str) -> anyhow::Result<Protocol> {
    Ok(match word {
        "frt" => Protocol::Frt,
        "http" => Protocol::Http,
        "echo" => Protocol::Echo,
        "tls" => Protocol::Tls,
        other => bail!("unknown protocol {other:?}, expected one of frt, http, echo, tls"),
    })
}

/// Every line of a targets file (blank lines and `#` comments ignored); the first bad line is
/// an error naming `file:line`.
pub(crate) fn read_targets_file(path: &Path, default: Protocol) -> anyhow::Result<Vec<Endpoint>> {
    let text = read_input(path)?;
    let mut endpoints = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if !line.is_empty() {
            endpoints.push(
                parse_target_line(line, default)
                    .with_context(|| format!("{}:{}", shown(path), n + 1))?,
            );
        }
    }
    Ok(endpoints)
}

/// The probe a port's tags call for; `None` for UNUSED ports.
pub(crate) fn protocol_for_tags(tags: &[String]) -> Option<Protocol> {
    let has = |tag: &str| tags.iter().any(|t| t == tag);
    if has("UNUSED") {
        None
    } else if has("HTTP") {
        Some(Protocol::Http)
    } else if has("RPC") || has("ADMIN") || has("MESSAGING") {
        Some(Protocol::Frt)
    } else {
        Some(Protocol::Tls)
    }
}

/// Parses `vespa-model-inspect` output. A line that is neither a service header, a config id
/// nor a port line is skipped and reported as `file:line: …`; the other lines are used. The
/// same `HOST:PORT` listed twice is probed once.
pub(crate) fn parse_model_inspect(name: &str, text: &str) -> Targets {
    let mut targets = Targets::default();
    let mut seen = HashSet::new();
    let mut service: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let number = n + 1;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let port_line = trimmed.starts_with("tcp/")
            || trimmed.starts_with("http://")
            || trimmed.starts_with("https://");
        if port_line {
            match port(trimmed) {
                Ok((endpoint, tags)) => match protocol_for_tags(&tags) {
                    None => targets.unused += 1,
                    Some(protocol) => {
                        let key = (endpoint.host.clone(), endpoint.port);
                        if seen.insert(key) {
                            targets.endpoints.push(Endpoint {
                                protocol,
                                service: service.clone(),
                                tags: (!tags.is_empty()).then(|| tags.join(" ")),
                                ..endpoint
                            });
                        }
                    }
                },
                Err(e) => targets.skipped.push(format!("{name}:{number}: {e:#}")),
            }
        } else if !line.starts_with(char::is_whitespace)
            && let Some((svc, rest)) = line.split_once(" @ ")
            && rest.contains(" :")
            && !svc.contains(char::is_whitespace)
        {
            service = Some(svc.to_owned());
        } else if !line.starts_with(char::is_whitespace) && !line.contains(char::is_whitespace) {
            // A config id under a service header, or a name from `services`/`hosts`/`clusters`.
        } else {
            targets.skipped.push(format!(
                "{name}:{number}: not a line of vespa-model-inspect output: \"{}\"",
                Escaped(line)
            ));
        }
    }
    targets
}

/// `tcp/HOST:PORT (TAGS)`, `http://HOST:PORT/ (TAGS)`, or either without tags.
fn port(line: &str) -> anyhow::Result<(Endpoint, Vec<String>)> {
    let (address, tags) = match line.split_once(" (") {
        Some((address, rest)) => {
            let tags = rest
                .strip_suffix(')')
                .with_context(|| format!("{:?}: expected (TAGS) after the address", line))?;
            (
                address.trim(),
                tags.split_whitespace()
                    .map(str::to_ascii_uppercase)
                    .collect(),
            )
        }
        None => (line, Vec::new()),
    };
    let (scheme_http, hostport) = if let Some(rest) = address.strip_prefix("http://") {
        (true, rest.trim_end_matches('/'))
    } else if let Some(rest) = address.strip_prefix("https://") {
        (false, rest.trim_end_matches('/'))
    } else {
        (false, address.strip_prefix("tcp/").unwrap_or(address))
    };
    if hostport.parse::<u16>().is_ok() {
        bail!("{address:?}: expected HOST:PORT");
    }
    let mut endpoint = parse_target(hostport)?;
    endpoint.target = hostport.to_owned();
    let mut tags: Vec<String> = tags;
    if scheme_http && !tags.iter().any(|t| t == "HTTP") {
        tags.push("HTTP".to_owned());
    }
    Ok((endpoint, tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_choose_the_probe() {
        // (tags, protocol)
        let table: [(&str, Option<Protocol>); 9] = [
            ("STATE EXTERNAL QUERY HTTP", Some(Protocol::Http)),
            ("HEALTH JSON HTTP", Some(Protocol::Http)),
            ("STATUS ADMIN RTC RPC", Some(Protocol::Frt)),
            ("MESSAGING RPC", Some(Protocol::Frt)),
            ("ADMIN", Some(Protocol::Frt)),
            ("FS4", Some(Protocol::Tls)),
            ("TELNET LOGTP", Some(Protocol::Tls)),
            ("", Some(Protocol::Tls)),
            ("UNUSED", None),
        ];
        for (tags, expected) in table {
            let tags: Vec<String> = tags.split_whitespace().map(str::to_owned).collect();
            assert_eq!(protocol_for_tags(&tags), expected, "{tags:?}");
        }
    }

    #[test]
    fn model_inspect_lines() {
        let text = "\
qrserver @ node1.example.com : 
search/qrsclusters/default/qrserver.0
    http://node1.example.com:4080/ (STATE EXTERNAL QUERY HTTP)
    tcp/node1.example.com:4082 (MESSAGING RPC)
    tcp/node1.example.com:4085 (RMIREGISTRY RMI)
logserver @ node2.example.com : admin
admin/logserver
    tcp/node2.example.com:19080 (UNUSED)
    tcp/node2.example.com:19081
    tcp/node2.example.com:19081 (LOGTP)
    tcp/node2.example.com:port (RPC)
    tcp/node2.example.com:19082 (RPC
  something else
";
        let targets = parse_model_inspect("mi.txt", text);
        let got: Vec<(String, Protocol, Option<String>)> = targets
            .endpoints
            .iter()
            .map(|e| (e.target.clone(), e.protocol, e.service.clone()))
            .collect();
        let q = Some("qrserver".to_owned());
        let l = Some("logserver".to_owned());
        assert_eq!(
            got,
            [
                ("node1.example.com:4080".into(), Protocol::Http, q.clone()),
                ("node1.example.com:4082".into(), Protocol::Frt, q.clone()),
                ("node1.example.com:4085".into(), Protocol::Tls, q),
                ("node2.example.com:19081".into(), Protocol::Tls, l),
            ]
        );
        assert_eq!(targets.unused, 1);
        assert_eq!(targets.skipped.len(), 3, "{:?}", targets.skipped);
        assert!(
            targets.skipped[0].starts_with("mi.txt:11: "),
            "{:?}",
            targets.skipped
        );
        assert!(
            targets.skipped[1].starts_with("mi.txt:12: "),
            "{:?}",
            targets.skipped
        );
        assert_eq!(
            targets.skipped[2],
            "mi.txt:13: not a line of vespa-model-inspect output: \"  something else\""
        );
    }

    #[test]
    fn target_lines() {
        let e = parse_target_line("node1:19070 http", Protocol::Frt).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.protocol),
            ("node1", 19070, Protocol::Http)
        );
        let e = parse_target_line("node1:19070", Protocol::Echo).unwrap();
        assert_eq!(e.protocol, Protocol::Echo);
        assert!(parse_target_line("node1:19070 ftp", Protocol::Frt).is_err());
        assert!(parse_target_line("node1:19070 tls extra", Protocol::Frt).is_err());
    }
}
