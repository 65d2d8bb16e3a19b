//! The peer's credentials: what authorization reads from the verified leaf certificate.

use core::net::IpAddr;
use std::fmt;

use der::asn1::{AnyRef, Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Reader, SliceReader, Tag, TagNumber, Tagged};
use vespa_tls_config::Escaped;

use crate::error::{AuthzError, SanKind};

/// The credentials of a peer, as matched by `required-credentials`.
///
/// Build one from the verified leaf certificate with [`PeerCredentials::from_der`], or directly
/// (tools and tests). `Display` writes Vespa's Java form: `[CN='…', SAN_DNS=[…], SAN_URI=[…]]`,
/// leaving out the parts that are absent, with control characters in the names escaped
/// ([`Escaped`]): the peer chose them, and they end up in logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
        PeerCredentials::from_parts(&CertificateParts::split(der)?)
    }

    /// [`from_der`](Self::from_der) for a certificate already split, so a caller that reads
    /// other parts of the same certificate walks it once.
    #[doc(hidden)]
    pub fn from_parts(parts: &CertificateParts<'_>) -> Result<Self, AuthzError> {
        let mut credentials = PeerCredentials::default();
        for attribute in parts.subject_attributes()? {
            let (oid, value) = attribute?;
            if oid != OID_COMMON_NAME {
                continue;
            }
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
        let Some(san) = parts.subject_alt_name()? else {
            return Ok(credentials);
        };
        let mut names = SliceReader::new(san)?;
        let sequence: AnyRef<'_> = names.decode()?;
        names.finish()?;
        expect(sequence, Tag::Sequence)?;
        let mut names = SliceReader::new(sequence.value())?;
        while !names.is_finished() {
            let name: AnyRef<'_> = names.decode()?;
            let Tag::ContextSpecific {
                constructed: false,
                number,
            } = name.tag()
            else {
                continue;
            };
            match number.value() {
                GENERAL_NAME_DNS => {
                    let text = Ia5StringRef::new(name.value())?.as_str();
                    credentials.dns_sans.push(san_text(text, SanKind::Dns)?);
                }
                GENERAL_NAME_URI => {
                    let text = Ia5StringRef::new(name.value())?.as_str();
                    credentials.uri_sans.push(san_text(text, SanKind::Uri)?);
                }
                GENERAL_NAME_IP => {
                    let bytes = name.value();
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
            write!(f, "CN='{}'", Escaped(cn))?;
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

/// The value bytes of OID 2.5.4.3 (id-at-commonName).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// The value bytes of OID 2.5.29.17 (id-ce-subjectAltName).
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];
/// GeneralName choices (RFC 5280 §4.2.1.6), all IMPLICIT and primitive.
const GENERAL_NAME_DNS: u32 = 2;
const GENERAL_NAME_URI: u32 = 6;
const GENERAL_NAME_IP: u32 = 7;

/// The parts of a certificate read in place, borrowed from the DER: what authorization reads
/// (the subject, subjectAltName) and what the verification path in `vespa-tls-context` reads
/// of a presented certificate (validity, keyUsage). One walker for both.
///
/// The peer's leaf has already been parsed and verified by the TLS stack, so this walks only the
/// structure (`Certificate`, `TBSCertificate`, checking the tag of every field and that nothing
/// follows, RFC 5280 §4.1) without copying anything: a full decode costs several microseconds
/// per handshake.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct CertificateParts<'a> {
    subject: &'a [u8],
    validity: AnyRef<'a>,
    extensions: Option<&'a [u8]>,
}

/// How often a certificate carries an extension ([`CertificateParts::extension`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension<'a> {
    /// Not at all.
    Absent,
    /// Once, with this value (the contents of `extnValue`).
    Once(&'a [u8]),
    /// More than once (RFC 5280 §4.2 forbids it).
    Repeated,
}

impl<'a> CertificateParts<'a> {
    /// Walks the certificate's structure, keeping the parts read later.
    pub fn split(der: &'a [u8]) -> der::Result<Self> {
        let mut reader = SliceReader::new(der)?;
        let certificate: AnyRef<'a> = reader.decode()?;
        reader.finish()?;
        certificate.sequence(|cert| {
            let tbs = expect(cert.decode()?, Tag::Sequence)?;
            expect(cert.decode()?, Tag::Sequence)?; // signatureAlgorithm
            expect(cert.decode()?, Tag::BitString)?; // signatureValue
            tbs.sequence(|tbs| {
                if matches!(Tag::peek(tbs)?, Tag::ContextSpecific { constructed: true, number } if number == TagNumber(0))
                {
                    let _version: AnyRef<'a> = tbs.decode()?;
                }
                expect(tbs.decode()?, Tag::Integer)?; // serialNumber
                expect(tbs.decode()?, Tag::Sequence)?; // signature
                expect(tbs.decode()?, Tag::Sequence)?; // issuer
                let validity = expect(tbs.decode()?, Tag::Sequence)?;
                let subject = expect(tbs.decode()?, Tag::Sequence)?;
                expect(tbs.decode()?, Tag::Sequence)?; // subjectPublicKeyInfo
                let mut extensions = None;
                let mut last = 0;
                while !tbs.is_finished() {
                    // [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions, in this order.
                    let field: AnyRef<'a> = tbs.decode()?;
                    let number = match field.tag() {
                        Tag::ContextSpecific { constructed: false, number } if matches!(number.value(), 1 | 2) => number.value(),
                        Tag::ContextSpecific { constructed: true, number } if number.value() == 3 => 3,
                        tag => return Err(tag.unexpected_error(None).into()),
                    };
                    if number <= last {
                        return Err(field.tag().unexpected_error(None).into());
                    }
                    last = number;
                    if number == 3 {
                        extensions = Some(field.value());
                    }
                }
                Ok(CertificateParts {
                    subject: subject.value(),
                    validity,
                    extensions,
                })
            })
        })
    }

    /// The `Validity` SEQUENCE, undecoded.
    pub fn validity(&self) -> AnyRef<'a> {
        self.validity
    }

    /// Every (attribute type, value) of the subject, in DER order.
    fn subject_attributes(&self) -> der::Result<SubjectAttributes<'a>> {
        Ok(SubjectAttributes {
            rdns: SliceReader::new(self.subject)?,
            rdn: None,
            failed: false,
        })
    }

    /// The extension whose extnID has the value bytes `oid`.
    pub fn extension(&self, oid: &[u8]) -> der::Result<Extension<'a>> {
        let Some(extensions) = self.extensions else {
            return Ok(Extension::Absent);
        };
        let mut outer = SliceReader::new(extensions)?;
        let sequence: AnyRef<'a> = outer.decode()?;
        outer.finish()?;
        expect(sequence, Tag::Sequence)?;
        let mut reader = SliceReader::new(sequence.value())?;
        let mut found = Extension::Absent;
        while !reader.is_finished() {
            let extension: AnyRef<'a> = reader.decode()?;
            let (id, value) = extension.sequence(|ext| {
                let id = expect(ext.decode()?, Tag::ObjectIdentifier)?;
                if Tag::peek(ext)? == Tag::Boolean {
                    let _critical: bool = ext.decode()?;
                }
                let value = expect(ext.decode()?, Tag::OctetString)?;
                Ok::<_, der::Error>((id.value(), value.value()))
            })?;
            if id == oid {
                found = match found {
                    Extension::Absent => Extension::Once(value),
                    Extension::Once(_) | Extension::Repeated => Extension::Repeated,
                };
            }
        }
        Ok(found)
    }

    /// The value of the one subjectAltName extension, if any.
    fn subject_alt_name(&self) -> Result<Option<&'a [u8]>, AuthzError> {
        match self.extension(OID_SUBJECT_ALT_NAME)? {
            Extension::Absent => Ok(None),
            Extension::Once(value) => Ok(Some(value)),
            Extension::Repeated => Err(AuthzError::DuplicateSanExtension),
        }
    }
}

/// Walks `SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }` without allocating.
struct SubjectAttributes<'a> {
    rdns: SliceReader<'a>,
    rdn: Option<SliceReader<'a>>,
    failed: bool,
}

impl<'a> Iterator for SubjectAttributes<'a> {
    type Item = der::Result<(&'a [u8], AnyRef<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.step().transpose();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

impl<'a> SubjectAttributes<'a> {
    fn step(&mut self) -> der::Result<Option<(&'a [u8], AnyRef<'a>)>> {
        loop {
            if let Some(rdn) = &mut self.rdn {
                if !rdn.is_finished() {
                    let attribute: AnyRef<'a> = rdn.decode()?;
                    return attribute.sequence(|atv| {
                        let oid = expect(atv.decode()?, Tag::ObjectIdentifier)?;
                        let value: AnyRef<'a> = atv.decode()?;
                        Ok(Some((oid.value(), value)))
                    });
                }
                self.rdn = None;
            }
            if self.rdns.is_finished() {
                return Ok(None);
            }
            let set = expect(self.rdns.decode()?, Tag::Set)?;
            self.rdn = Some(SliceReader::new(set.value())?);
        }
    }
}

/// `value` when it has the expected tag; an error naming both tags otherwise.
fn expect(value: AnyRef<'_>, tag: Tag) -> der::Result<AnyRef<'_>> {
    value.tag().assert_eq(tag)?;
    Ok(value)
}

/// Writes `[a, b]` like Java's `List.toString()`, each value escaped: the values are names a peer
/// chose (or policy names).
pub(crate) fn write_list(f: &mut fmt::Formatter<'_>, values: &[String]) -> fmt::Result {
    f.write_str("[")?;
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}", Escaped(value))?;
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

    /// Every way this crate prints a peer's names escapes what the peer chose: a CN or SAN with a
    /// line break or an escape sequence must not forge a log line or drive a terminal.
    #[test]
    fn names_a_peer_chose_are_printed_escaped() {
        let evil = "n\nr\re\x1b[31mc\u{85}é";
        let shown = r"n\nr\re\x1b[31mc\u{85}é";
        let peer = PeerCredentials::new(Some(evil), &[evil], &[evil]);
        let (options, _) = vespa_tls_config::parse(
            r#"{"files": {"ca-certificates": "/c", "certificates": "/h", "private-key": "/k"},
                "authorized-peers": [
                  {"name": "cn", "required-credentials": [{"field": "CN", "must-match": "x"}]},
                  {"name": "dns", "required-credentials": [{"field": "SAN_DNS", "must-match": "x"}]},
                  {"name": "uri", "required-credentials": [{"field": "SAN_URI", "must-match": "x"}]}
                ]}"#,
        )
        .expect("valid config");
        let (authorizer, _) = crate::Authorizer::compile(options.authorized_peers.as_ref());
        let result = authorizer.authorize(&peer);
        let crate::AuthorizationResult::Denied { reasons } = &result else {
            panic!("{result}");
        };
        let message = crate::permission_denied_message(
            crate::CapabilitySet::none(),
            crate::CapabilitySet::all(),
            false,
            Some("read"),
            Some("/doc"),
            Some("10.0.0.1:4080"),
            Some(&peer),
        );
        let expected_peer = format!("[CN='{shown}', SAN_DNS=[{shown}], SAN_URI=[{shown}]]");
        // (what is printed, the text, a piece it must contain)
        let mut table = vec![
            ("PeerCredentials", peer.to_string(), expected_peer.clone()),
            (
                "AuthorizationResult",
                result.to_string(),
                format!("policy \"cn\": CN must match \"x\", peer presented [{shown}]"),
            ),
            (
                "permission_denied_message",
                message,
                format!("Peer '10.0.0.1:4080' with {expected_peer}. Requires"),
            ),
        ];
        let policies = [("cn", "CN"), ("dns", "SAN_DNS"), ("uri", "SAN_URI")];
        for (reason, (policy, field)) in reasons.iter().zip(policies) {
            table.push((
                "DenialReason",
                reason.to_string(),
                format!("policy \"{policy}\": {field} must match \"x\", peer presented [{shown}]"),
            ));
        }
        assert_eq!(table.len(), 6);
        vespa_tls_testkit::assert_printed_escaped(&table);
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
