//! Client-side hostname validation, accepting what Vespa accepts (VESPA-BEHAVIOUR §7).
//!
//! Vespa checks with OpenSSL's `X509_check_host` (C++) and the JDK's `HostnameChecker` (Java):
//! DNS SANs; the subject CN only when the certificate has no DNS SAN; a wildcard only in the
//! left-most label, partial-label wildcards (`web*.example.com`) included. Host names compare
//! ASCII case-insensitively. An IP literal must match an iPAddress SAN.
//!
//! The outcome says *how* a name matched, so tools and the connection log can warn when only the
//! CN fallback or a partial wildcard made it pass.
//!
//! Certificate names and the host name are printed through [`Escaped`]: a peer chooses its CN and
//! SANs, and these messages end up in logs and on terminals.

use std::fmt;
use std::net::IpAddr;

use vespa_tls_config::Escaped;

/// What a certificate presents for hostname validation.
#[derive(Debug, Clone, Copy)]
pub struct HostnameIdentity<'a> {
    /// dNSName SANs.
    pub dns_sans: &'a [String],
    /// iPAddress SANs.
    pub ip_sans: &'a [IpAddr],
    /// The most specific (last) subject common name.
    pub common_name: Option<&'a str>,
}

/// How a host name was matched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostnameMatch {
    /// A DNS SAN equal to the host name.
    DnsSan(String),
    /// A DNS SAN whose whole left-most label is `*`.
    WildcardDnsSan(String),
    /// A DNS SAN with a partial-label wildcard such as `web*.example.com` (accepted by Vespa;
    /// rejected by browsers and by RFC 6125's recommendation).
    PartialWildcardDnsSan(String),
    /// The subject CN, because the certificate has no DNS SAN at all.
    CommonNameFallback(String),
    /// An iPAddress SAN equal to the IP literal dialled.
    IpSan(IpAddr),
}

impl HostnameMatch {
    /// Whether the match relied on something Vespa accepts but modern practice does not: the CN
    /// fallback or a partial-label wildcard. Worth a warning, not a refusal.
    pub fn is_legacy(&self) -> bool {
        matches!(
            self,
            HostnameMatch::CommonNameFallback(_) | HostnameMatch::PartialWildcardDnsSan(_)
        )
    }
}

impl fmt::Display for HostnameMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostnameMatch::DnsSan(san) => write!(f, "DNS SAN \"{}\"", Escaped(san)),
            HostnameMatch::WildcardDnsSan(san) => {
                write!(f, "wildcard DNS SAN \"{}\"", Escaped(san))
            }
            HostnameMatch::PartialWildcardDnsSan(san) => {
                write!(
                    f,
                    "partial-label wildcard DNS SAN \"{}\" (accepted for Vespa compatibility)",
                    Escaped(san)
                )
            }
            HostnameMatch::CommonNameFallback(cn) => write!(
                f,
                "subject CN \"{}\" (the certificate has no DNS SAN; accepted for Vespa compatibility)",
                Escaped(cn)
            ),
            HostnameMatch::IpSan(ip) => write!(f, "IP SAN {ip}"),
        }
    }
}

/// Why a host name did not match, with what the certificate presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostnameMismatch {
    /// The DNS name is not covered.
    #[error("certificate is not valid for \"{}\": it presents {presented}", Escaped(.host))]
    Dns {
        /// The name dialled.
        host: String,
        /// The DNS SANs, or the CN when there are none (escaped).
        presented: String,
    },
    /// The name dialled is not a DNS host name, so no certificate is valid for it.
    #[error("certificate cannot be valid for \"{}\": {problem}", Escaped(.host))]
    InvalidHost {
        /// The name dialled.
        host: String,
        /// What makes it invalid.
        problem: String,
    },
    /// The IP literal is not among the iPAddress SANs.
    #[error("certificate is not valid for IP address {ip}: it presents {presented}")]
    Ip {
        /// The address dialled.
        ip: IpAddr,
        /// The IP SANs.
        presented: String,
    },
}

/// Checks a DNS host name (not an IP literal) against a certificate's identity.
///
/// A host name that is not a DNS name (empty, non-ASCII, an empty label, a character other than
/// letters, digits, `-` and `_`, too long) is an [`HostnameMismatch::InvalidHost`]: no certificate
/// is valid for it. rustls refuses such names before a handshake starts, so this changes nothing
/// there; it keeps `vespa-tls check --hostname` from matching them.
pub fn verify_dns_name(
    host: &str,
    identity: &HostnameIdentity<'_>,
) -> Result<HostnameMatch, HostnameMismatch> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if let Err(problem) = check_host_name(host) {
        return Err(HostnameMismatch::InvalidHost {
            host: host.to_owned(),
            problem,
        });
    }
    if identity.dns_sans.is_empty() {
        if let Some(cn) = identity.common_name
            && match_pattern(cn, host).is_some()
        {
            return Ok(HostnameMatch::CommonNameFallback(cn.to_owned()));
        }
        return Err(HostnameMismatch::Dns {
            host: host.to_owned(),
            presented: match identity.common_name {
                Some(cn) => format!("no DNS SAN and subject CN \"{}\"", Escaped(cn)),
                None => "no DNS SAN and no subject CN".to_owned(),
            },
        });
    }
    let mut best: Option<HostnameMatch> = None;
    for san in identity.dns_sans {
        match match_pattern(san, host) {
            Some(PatternKind::Exact) => return Ok(HostnameMatch::DnsSan(san.clone())),
            Some(PatternKind::Wildcard)
                if !matches!(best, Some(HostnameMatch::WildcardDnsSan(_))) =>
            {
                best = Some(HostnameMatch::WildcardDnsSan(san.clone()));
            }
            Some(PatternKind::PartialWildcard) => {
                best.get_or_insert_with(|| HostnameMatch::PartialWildcardDnsSan(san.clone()));
            }
            Some(PatternKind::Wildcard) | None => {}
        }
    }
    best.ok_or_else(|| HostnameMismatch::Dns {
        host: host.to_owned(),
        presented: format!("DNS SANs {}", quoted_list(identity.dns_sans.iter())),
    })
}

/// Checks an IP literal against a certificate's iPAddress SANs.
pub fn verify_ip(
    ip: IpAddr,
    identity: &HostnameIdentity<'_>,
) -> Result<HostnameMatch, HostnameMismatch> {
    let ip = canonical(ip);
    if identity.ip_sans.iter().any(|san| canonical(*san) == ip) {
        return Ok(HostnameMatch::IpSan(ip));
    }
    Err(HostnameMismatch::Ip {
        ip,
        presented: if identity.ip_sans.is_empty() {
            "no IP SAN".to_owned()
        } else {
            format!("IP SANs {}", quoted_list(identity.ip_sans.iter()))
        },
    })
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn quoted_list<T: fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items
        .map(|i| format!("\"{}\"", Escaped(&i.to_string())))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Why `host` (without its trailing dot) is not a DNS host name, if it is not one.
fn check_host_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host name is empty".to_owned());
    }
    if let Some(c) = host.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "the host name has the non-ASCII character '{}'; write an internationalized name as \
             its IDNA A-label (xn--…)",
            Escaped(c.encode_utf8(&mut [0; 4]))
        ));
    }
    if host.len() > 253 {
        return Err(format!(
            "the host name is {} characters long, more than DNS allows (253)",
            host.len()
        ));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the host name has the character '{}'; only letters, digits, '-', '_' and '.' \
             can appear in one",
            Escaped(c.encode_utf8(&mut [0; 4]))
        ));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("the host name has an empty label".to_owned());
        }
        if label.len() > 63 {
            return Err(format!(
                "the host name has a label of {} characters, more than DNS allows (63)",
                label.len()
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternKind {
    Exact,
    Wildcard,
    PartialWildcard,
}

/// Matches one certificate name against a host name, OpenSSL style.
fn match_pattern(pattern: &str, host: &str) -> Option<PatternKind> {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    if pattern.is_empty() || host.is_empty() {
        return None;
    }
    if !pattern.contains('*') {
        return pattern
            .eq_ignore_ascii_case(host)
            .then_some(PatternKind::Exact);
    }
    let (first, rest) = pattern.split_once('.')?;
    // One wildcard, in the left-most label only, and at least two labels after it (no `*.com`).
    if rest.contains('*') || first.matches('*').count() != 1 || !rest.contains('.') {
        return None;
    }
    let (host_first, host_rest) = host.split_once('.')?;
    if !rest.eq_ignore_ascii_case(host_rest) {
        return None;
    }
    let (prefix, suffix) = first.split_once('*')?;
    if prefix.is_empty() && suffix.is_empty() {
        // A whole-label `*` matches one or more characters of exactly one label.
        return (!host_first.is_empty()).then_some(PatternKind::Wildcard);
    }
    // No partial wildcards inside IDNA A-labels, as OpenSSL.
    if host_first
        .get(..4)
        .is_some_and(|start| start.eq_ignore_ascii_case("xn--"))
    {
        return None;
    }
    let fits = host_first.len() >= prefix.len() + suffix.len()
        && host_first.is_char_boundary(prefix.len())
        && host_first.is_char_boundary(host_first.len() - suffix.len())
        && host_first[..prefix.len()].eq_ignore_ascii_case(prefix)
        && host_first[host_first.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    fits.then_some(PatternKind::PartialWildcard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(dns: &'a [String], ips: &'a [IpAddr], cn: Option<&'a str>) -> HostnameIdentity<'a> {
        HostnameIdentity {
            dns_sans: dns,
            ip_sans: ips,
            common_name: cn,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn dns_patterns() {
        // (pattern, host, expected)
        let table: &[(&str, &str, Option<PatternKind>)] = &[
            (
                "node1.example.com",
                "node1.example.com",
                Some(PatternKind::Exact),
            ),
            (
                "NODE1.Example.com",
                "node1.example.COM",
                Some(PatternKind::Exact),
            ),
            (
                "node1.example.com.",
                "node1.example.com",
                Some(PatternKind::Exact),
            ),
            ("node1.example.com", "node2.example.com", None),
            (
                "*.example.com",
                "node1.example.com",
                Some(PatternKind::Wildcard),
            ),
            ("*.example.com", "a.b.example.com", None),
            ("*.example.com", "example.com", None),
            ("*.example.com", ".example.com", None),
            ("*.com", "example.com", None),
            (
                "web*.example.com",
                "web1.example.com",
                Some(PatternKind::PartialWildcard),
            ),
            (
                "web*.example.com",
                "web.example.com",
                Some(PatternKind::PartialWildcard),
            ),
            ("web*.example.com", "mail.example.com", None),
            (
                "*eb.example.com",
                "web.example.com",
                Some(PatternKind::PartialWildcard),
            ),
            (
                "w*b.example.com",
                "wxyzb.example.com",
                Some(PatternKind::PartialWildcard),
            ),
            (
                "w*b.example.com",
                "wb.example.com",
                Some(PatternKind::PartialWildcard),
            ),
            ("w*b.example.com", "w.example.com", None),
            ("x*.example.com", "xn--caf-dma.example.com", None),
            ("**.example.com", "a.example.com", None),
            ("a.*.example.com", "a.b.example.com", None),
            ("", "", None),
            ("*", "localhost", None),
        ];
        for (pattern, host, expected) in table {
            assert_eq!(
                match_pattern(pattern, host),
                *expected,
                "{pattern} vs {host}"
            );
        }
    }

    #[test]
    fn cn_is_used_only_without_dns_sans() {
        let none: Vec<String> = vec![];
        let ok = verify_dns_name(
            "node1.example.com",
            &id(&none, &[], Some("node1.example.com")),
        );
        assert_eq!(
            ok,
            Ok(HostnameMatch::CommonNameFallback(
                "node1.example.com".into()
            ))
        );
        assert!(ok.as_ref().is_ok_and(HostnameMatch::is_legacy));
        let sans = names(&["other.example.com"]);
        let err = verify_dns_name(
            "node1.example.com",
            &id(&sans, &[], Some("node1.example.com")),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate is not valid for \"node1.example.com\": it presents DNS SANs [\"other.example.com\"]"
        );
        let err = verify_dns_name("node1", &id(&none, &[], None)).unwrap_err();
        assert!(
            err.to_string().contains("no DNS SAN and no subject CN"),
            "{err}"
        );
    }

    #[test]
    fn exact_beats_wildcard_beats_partial() {
        let sans = names(&["n*.example.com", "*.example.com", "node1.example.com"]);
        let identity = id(&sans, &[], None);
        assert_eq!(
            verify_dns_name("node1.example.com", &identity),
            Ok(HostnameMatch::DnsSan("node1.example.com".into()))
        );
        assert_eq!(
            verify_dns_name("node2.example.com", &identity),
            Ok(HostnameMatch::WildcardDnsSan("*.example.com".into()))
        );
        let partial_only = names(&["n*.example.com"]);
        let m = verify_dns_name("node2.example.com", &id(&partial_only, &[], None)).unwrap();
        assert!(m.is_legacy());
    }

    /// A host name that is not a DNS name is a mismatch naming it (escaped), never a panic:
    /// `vespa-tls check --hostname` passes whatever the operator typed.
    #[test]
    fn invalid_host_names_are_mismatches_naming_the_host() {
        let sans = names(&["web*.example.com", "*.example.com"]);
        let long_label = format!("{}.example.com", "a".repeat(64));
        let long_name = format!("{}example.com", "abcdefghi.".repeat(25));
        // (host, how the message shows it, a piece of the problem)
        let table: &[(&str, &str, &str)] = &[
            ("é.example.com", "é.example.com", "non-ASCII character 'é'"),
            (
                "ééé.example.com",
                "ééé.example.com",
                "non-ASCII character 'é'",
            ),
            (
                "web€.example.com",
                "web€.example.com",
                "non-ASCII character '€'",
            ),
            ("aéé.example.com", "aéé.example.com", "IDNA A-label (xn--…)"),
            ("web1.exämple.com", "web1.exämple.com", "non-ASCII"),
            (
                "web\u{85}.example.com",
                r"web\u{85}.example.com",
                r"non-ASCII character '\u{85}'",
            ),
            (
                "web\n1.example.com",
                r"web\n1.example.com",
                r"the character '\n'",
            ),
            (
                "\x1b[31mweb.example.com",
                r"\x1b[31mweb.example.com",
                r"the character '\x1b'",
            ),
            (
                "web 1.example.com",
                "web 1.example.com",
                "the character ' '",
            ),
            ("*.example.com", "*.example.com", "the character '*'"),
            ("", "", "empty"),
            (".", "", "empty"),
            ("web1..example.com", "web1..example.com", "an empty label"),
            ("web1.example.com..", "web1.example.com.", "an empty label"),
            (".example.com", ".example.com", "an empty label"),
            (&long_label, &long_label, "a label of 64 characters"),
            (&long_name, &long_name, "261 characters long"),
        ];
        for (host, shown, problem) in table {
            for identity in [id(&sans, &[], None), id(&[], &[], Some("web*.example.com"))] {
                let err = verify_dns_name(host, &identity).unwrap_err();
                assert!(
                    matches!(&err, HostnameMismatch::InvalidHost { .. }),
                    "{host:?}: {err:?}"
                );
                let message = err.to_string();
                assert!(
                    message.starts_with(&format!("certificate cannot be valid for \"{shown}\": ")),
                    "{host:?}: {message}"
                );
                assert!(message.contains(problem), "{host:?}: {message}");
                assert!(!message.chars().any(char::is_control), "{message:?}");
            }
        }
        // The same names in ASCII still match as before.
        let identity = id(&sans, &[], None);
        assert!(verify_dns_name("web1.example.com", &identity).is_ok());
        assert!(verify_dns_name("WEB_1.example.com.", &identity).is_ok());
        assert!(verify_dns_name("xn--caf-dma.example.com", &identity).is_ok());
    }

    /// Every string over an alphabet of ASCII, multi-byte and control characters, as a host
    /// name and as a certificate name: no panic, and only a valid ASCII host name can match.
    #[test]
    fn no_string_makes_hostname_matching_panic() {
        let alphabet = ['a', 'x', 'n', '-', '*', '.', 'é', '€'];
        let strings = |max: usize| {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let hosts = strings(4);
        let patterns = strings(3);
        let dotted: Vec<String> = hosts.iter().map(|h| format!("{h}.example.com")).collect();
        for pattern in &patterns {
            let pattern = format!("{pattern}.example.com");
            for host in &dotted {
                if let Some(kind) = match_pattern(&pattern, host) {
                    assert_eq!(
                        kind == PatternKind::Exact,
                        !pattern.contains('*'),
                        "{pattern} {host}"
                    );
                }
            }
        }
        let sans = names(&[
            "ax*.example.com",
            "*€.example.com",
            "é*.example.com",
            "*.example.com",
        ]);
        let identities = [
            id(&sans, &[], None),
            id(&[], &[], Some("xn*.example.com")),
            id(&[], &[], Some("€*x.example.com")),
            id(&[], &[], None),
        ];
        let extra = ["\n", "\r", "\x1b", "\u{85}", "\u{7f}", "\t", " ", "_"];
        let raw = hosts
            .iter()
            .flat_map(|h| [h.clone(), format!("{h}.example.com"), format!("{h}.")])
            .chain(extra.iter().map(|c| format!("a{c}x.example.com")));
        for host in raw {
            for identity in &identities {
                match verify_dns_name(&host, identity) {
                    Ok(matched) => {
                        assert!(
                            check_host_name(host.trim_end_matches('.')).is_ok(),
                            "{host:?}"
                        );
                        assert!(!matched.to_string().chars().any(char::is_control));
                    }
                    Err(mismatch) => {
                        let message = mismatch.to_string();
                        assert!(!message.chars().any(char::is_control), "{message:?}");
                        if !host.is_ascii() {
                            assert!(
                                matches!(mismatch, HostnameMismatch::InvalidHost { .. }),
                                "{host:?}: {message}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Names from the certificate are escaped wherever a match or mismatch is printed.
    #[test]
    fn certificate_names_are_printed_escaped() {
        let evil = "n\nr\re\x1b[31mc\u{85}";
        let shown = r"n\nr\re\x1b[31mc\u{85}";
        let sans = names(&[evil]);
        let cn_only = id(&[], &[], Some(evil));
        let ips: Vec<IpAddr> = vec!["::1".parse().unwrap()];
        // (what, printed, a piece it must contain)
        let table = [
            (
                "DNS mismatch",
                verify_dns_name("node1.example.com", &id(&sans, &[], None))
                    .unwrap_err()
                    .to_string(),
                format!("it presents DNS SANs [\"{shown}\"]"),
            ),
            (
                "CN mismatch",
                verify_dns_name("node1.example.com", &cn_only)
                    .unwrap_err()
                    .to_string(),
                format!("no DNS SAN and subject CN \"{shown}\""),
            ),
            (
                "IP mismatch",
                verify_ip("10.0.0.1".parse().unwrap(), &id(&sans, &ips, Some(evil)))
                    .unwrap_err()
                    .to_string(),
                "IP SANs [\"::1\"]".to_owned(),
            ),
            (
                "DNS SAN match",
                HostnameMatch::DnsSan(evil.to_owned()).to_string(),
                format!("DNS SAN \"{shown}\""),
            ),
            (
                "wildcard match",
                HostnameMatch::WildcardDnsSan(evil.to_owned()).to_string(),
                format!("wildcard DNS SAN \"{shown}\""),
            ),
            (
                "partial wildcard match",
                HostnameMatch::PartialWildcardDnsSan(evil.to_owned()).to_string(),
                format!("partial-label wildcard DNS SAN \"{shown}\""),
            ),
            (
                "CN fallback match",
                HostnameMatch::CommonNameFallback(evil.to_owned()).to_string(),
                format!("subject CN \"{shown}\""),
            ),
        ];
        vespa_tls_testkit::assert_printed_escaped(&table);
    }

    #[test]
    fn ip_literals_need_an_ip_san() {
        let sans = names(&["127.0.0.1", "localhost"]);
        let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let identity = id(&sans, &ips, Some("127.0.0.1"));
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(verify_ip(v4, &identity), Ok(HostnameMatch::IpSan(v4)));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(verify_ip(mapped, &identity), Ok(HostnameMatch::IpSan(v4)));
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(verify_ip(v6, &identity).is_ok());
        // A DNS SAN or CN spelling the address does not count.
        let err = verify_ip(v4, &id(&sans, &[], Some("127.0.0.1"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate is not valid for IP address 127.0.0.1: it presents no IP SAN"
        );
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(
            verify_ip(other, &identity)
                .unwrap_err()
                .to_string()
                .contains("\"::1\"")
        );
    }
}
