//! The peer's credentials: what authorization reads from the verified leaf certificate.

use std::fmt;
use std::net::IpAddr;

use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::oid::AssociatedOid as _;
use der::oid::db::rfc4519::CN;
use der::{Decode, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::{AuthzError, SanKind};

/// The credentials of a peer, as matched by `required-credentials`.
///
/// Build one from the verified leaf certificate with [`PeerCredentials::from_der`], or directly
/// (tools and tests). `Display` writes Vespa's Java form: `[CN='…', SAN_DNS=[…], SAN_URI=[…]]`,
/// leaving out the parts that are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// The last non-empty subject commonName, in DER order; `None` when there is none.
    pub common_name: Option<String>,
    /// The dNSName subject alternative names, in certificate order.
    pub dns_sans: Vec<String>,
    /// The uniformResourceIdentifier subject alternative names, in certificate order.
    pub uri_sans: Vec<String>,
    /// The iPAddress subject alternative names (4 or 16 bytes), in certificate order.
    ///
    /// Shown by tools; never used for authorization.
    pub ip_sans: Vec<IpAddr>,
}

impl PeerCredentials {
    /// Credentials with the given CN and SANs and no IP SANs.
    pub fn new(common_name: Option<&str>, dns_sans: &[&str], uri_sans: &[&str]) -> Self {
        PeerCredentials {
            common_name: common_name.map(str::to_owned),
            dns_sans: dns_sans.iter().map(|s| (*s).to_owned()).collect(),
            uri_sans: uri_sans.iter().map(|s| (*s).to_owned()).collect(),
            ip_sans: Vec::new(),
        }
    }

    /// Reads the credentials from a DER X.509 certificate (the verified leaf).
    ///
    /// - CN: the last non-empty subject commonName in DER order. A commonName that is not a
    ///   UTF8String, PrintableString or IA5String, or that holds a NUL byte, is an error.
    /// - SANs: dNSName and uniformResourceIdentifier kept apart; iPAddress collected but never
    ///   matched; other kinds ignored. An empty dNSName or URI, or one holding a NUL byte, is an
    ///   error (Vespa's C++ services reject such a certificate).
    pub fn from_der(der: &[u8]) -> Result<Self, AuthzError> {
        let certificate = Certificate::from_der(der)?;
        let tbs = certificate.tbs_certificate();
        let mut credentials = PeerCredentials::default();
        for attribute in tbs.subject().iter() {
            if attribute.oid != CN {
                continue;
            }
            let value = attribute.value.to_ref();
            let text = match value.tag() {
                Tag::Utf8String => Utf8StringRef::try_from(value)?.as_str(),
                Tag::PrintableString => PrintableStringRef::try_from(value)?.as_str(),
                Tag::Ia5String => Ia5StringRef::try_from(value)?.as_str(),
                tag => {
                    return Err(AuthzError::CommonNameType {
                        tag: tag.to_string(),
                    });
                }
            };
            if text.contains('\0') {
                return Err(AuthzError::NulInCommonName);
            }
            if !text.is_empty() {
                credentials.common_name = Some(text.to_owned());
            }
        }
        let mut san_extensions = tbs
            .extensions()
            .into_iter()
            .flatten()
            .filter(|e| e.extn_id == SubjectAltName::OID);
        let Some(extension) = san_extensions.next() else {
            return Ok(credentials);
        };
        if san_extensions.next().is_some() {
            return Err(AuthzError::DuplicateSanExtension);
        }
        let SubjectAltName(names) = SubjectAltName::from_der(extension.extn_value.as_bytes())?;
        for name in &names {
            match name {
                GeneralName::DnsName(dns) => {
                    credentials
                        .dns_sans
                        .push(san_text(dns.as_str(), SanKind::Dns)?);
                }
                GeneralName::UniformResourceIdentifier(uri) => {
                    credentials
                        .uri_sans
                        .push(san_text(uri.as_str(), SanKind::Uri)?);
                }
                GeneralName::IpAddress(octets) => {
                    let bytes = octets.as_bytes();
                    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
                        credentials.ip_sans.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
                        credentials.ip_sans.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
        Ok(credentials)
    }

    /// The CN (`Some` only when present).
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }
}

fn san_text(text: &str, kind: SanKind) -> Result<String, AuthzError> {
    if text.is_empty() {
        return Err(AuthzError::EmptySan { kind });
    }
    if text.contains('\0') {
        return Err(AuthzError::NulInSan { kind });
    }
    Ok(text.to_owned())
}

impl fmt::Display for PeerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        let mut first = true;
        if let Some(cn) = &self.common_name {
            write!(f, "CN='{cn}'")?;
            first = false;
        }
        for (label, values) in [("SAN_DNS", &self.dns_sans), ("SAN_URI", &self.uri_sans)] {
            if values.is_empty() {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{label}=")?;
            write_list(f, values)?;
        }
        f.write_str("]")
    }
}

/// Writes `[a, b]` like Java's `List.toString()`.
pub(crate) fn write_list(f: &mut fmt::Formatter<'_>, values: &[String]) -> fmt::Result {
    f.write_str("[")?;
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(value)?;
    }
    f.write_str("]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_javas_form() {
        let table = [
            (PeerCredentials::default(), "[]"),
            (PeerCredentials::new(Some("a"), &[], &[]), "[CN='a']"),
            (
                PeerCredentials::new(Some("a"), &["x", "y"], &["u://v"]),
                "[CN='a', SAN_DNS=[x, y], SAN_URI=[u://v]]",
            ),
            (
                PeerCredentials::new(None, &["x"], &["u://v"]),
                "[SAN_DNS=[x], SAN_URI=[u://v]]",
            ),
            (PeerCredentials::new(None, &[], &["u"]), "[SAN_URI=[u]]"),
            (
                PeerCredentials::new(Some("a"), &[], &["u"]),
                "[CN='a', SAN_URI=[u]]",
            ),
        ];
        for (credentials, expected) in table {
            assert_eq!(credentials.to_string(), expected);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for bytes in [&b""[..], b"\x30", b"\x30\x00", b"not a certificate"] {
            assert!(matches!(
                PeerCredentials::from_der(bytes),
                Err(AuthzError::Der(_))
            ));
        }
    }
}
