//! The credential-extraction oracle: VESPA-BEHAVIOUR §3 applied to x509-cert's full decode.
//! Shared by `tests/extraction_oracle.rs` and the `cert_credentials` fuzz target (which
//! includes this file by path).

use std::net::IpAddr;

use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, Tag, Tagged};
use vespa_tls_authz::PeerCredentials;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// The credentials §3 reads from `der`, through a full decode; `None` when x509-cert does not
/// decode the certificate or the rules reject it.
pub fn credentials(der: &[u8]) -> Option<PeerCredentials> {
    let certificate = Certificate::from_der(der).ok()?;
    let tbs = certificate.tbs_certificate();
    let mut credentials = PeerCredentials::default();
    for attribute in tbs.subject().iter() {
        if attribute.oid != der::oid::db::rfc4519::CN {
            continue;
        }
        let value = attribute.value.to_ref();
        let text = match value.tag() {
            Tag::Utf8String => Utf8StringRef::try_from(value).ok()?.as_str(),
            Tag::PrintableString => PrintableStringRef::try_from(value).ok()?.as_str(),
            Tag::Ia5String => Ia5StringRef::try_from(value).ok()?.as_str(),
            _ => return None,
        };
        if text.contains('\0') {
            return None;
        }
        if !text.is_empty() {
            credentials.common_name = Some(text.to_owned());
        }
    }
    let Some((_, SubjectAltName(names))) = tbs.get_extension::<SubjectAltName>().ok()? else {
        return Some(credentials);
    };
    for name in names {
        match name {
            GeneralName::DnsName(s) | GeneralName::UniformResourceIdentifier(s)
                if s.as_str().is_empty() || s.as_str().contains('\0') =>
            {
                return None;
            }
            GeneralName::DnsName(s) => credentials.dns_sans.push(s.to_string()),
            GeneralName::UniformResourceIdentifier(s) => credentials.uri_sans.push(s.to_string()),
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
    Some(credentials)
}
