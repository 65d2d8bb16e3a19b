//! Client-side hostname validation, accepting what Vespa accepts (VESPA-BEHAVIOUR §7).
//!
//! Vespa checks with OpenSSL's `X509_check_host` (C++) and the JDK's `HostnameChecker` (Java):
//! DNS SANs; the subject CN only when the certificate has no DNS SAN; a wildcard only in the
//! left-most label, partial-label wildcards (`web*.example.com`) included. Host names compare
//! ASCII case-insensitively. An IP literal must match an iPAddress SAN.
//!
//! The outcome says *how* a name matched, so tools and the connection log can warn when only the
//! CN fallback or a partial wildcard made it pass.

use std::fmt;
use std::net::IpAddr;

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
            HostnameMatch::DnsSan(san) => write!(f, "DNS SAN \"{san}\""),
            HostnameMatch::WildcardDnsSan(san) => write!(f, "wildcard DNS SAN \"{san}\""),
            HostnameMatch::PartialWildcardDnsSan(san) => {
                write!(
                    f,
                    "partial-label wildcard DNS SAN \"{san}\" (accepted for Vespa compatibility)"
                )
            }
            HostnameMatch::CommonNameFallback(cn) => write!(
                f,
                "subject CN \"{cn}\" (the certificate has no DNS SAN; accepted for Vespa compatibility)"
            ),
            HostnameMatch::IpSan(ip) => write!(f, "IP SAN {ip}"),
        }
    }
}

/// Why a host name did not match, with what the certificate presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostnameMismatch {
    /// The DNS name is not covered.
    #[error("certificate is not valid for \"{host}\": it presents {presented}")]
    Dns {
        /// The name dialled.
        host: String,
        /// The DNS SANs, or the CN when there are none.
        presented: String,
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
pub fn verify_dns_name(
    host: &str,
    identity: &HostnameIdentity<'_>,
) -> Result<HostnameMatch, HostnameMismatch> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if identity.dns_sans.is_empty() {
        if let Some(cn) = identity.common_name
            && match_pattern(cn, host).is_some()
        {
            return Ok(HostnameMatch::CommonNameFallback(cn.to_owned()));
        }
        return Err(HostnameMismatch::Dns {
            host: host.to_owned(),
            presented: match identity.common_name {
                Some(cn) => format!("no DNS SAN and subject CN \"{cn}\""),
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
    let items: Vec<String> = items.map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", items.join(", "))
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
    if host_first.len() >= 4 && host_first[..4].eq_ignore_ascii_case("xn--") {
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
