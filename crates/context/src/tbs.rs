//! The few fields of a presented certificate the verification path reads itself (validity,
//! keyUsage), read in place: the structure is walked, nothing is copied, and a chain that
//! misses the verified-chain cache does not pay for an allocating decode of its leaf (webpki
//! parses and checks the whole certificate anyway).

use der::asn1::AnyRef;
use der::oid::AssociatedOid as _;
use der::{Decode as _, Reader as _, SliceReader, Tag, TagNumber, Tagged as _};
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::time::Validity;

/// The fields of a certificate's TBSCertificate (RFC 5280 §4.1) that we read, borrowed.
struct TbsFields<'a> {
    validity: AnyRef<'a>,
    /// The contents of `[3] EXPLICIT Extensions`, when present.
    extensions: Option<&'a [u8]>,
}

impl<'a> TbsFields<'a> {
    /// Walks `Certificate` and `TBSCertificate`, checking the tag of every field in order
    /// (and that nothing follows), keeping validity and the extensions.
    fn of(der: &'a [u8]) -> der::Result<Self> {
        let mut reader = SliceReader::new(der)?;
        let certificate: AnyRef<'a> = reader.decode()?;
        reader.finish()?;
        certificate.sequence(|certificate| {
            let tbs: AnyRef<'a> = certificate.decode()?;
            expect(certificate.decode()?, Tag::Sequence)?; // signatureAlgorithm
            expect(certificate.decode()?, Tag::BitString)?; // signatureValue
            expect(tbs, Tag::Sequence)?;
            tbs.sequence(|tbs| {
                if Tag::peek(tbs)?
                    == (Tag::ContextSpecific {
                        constructed: true,
                        number: TagNumber(0),
                    })
                {
                    let _version: AnyRef<'a> = tbs.decode()?;
                }
                expect(tbs.decode()?, Tag::Integer)?; // serialNumber
                expect(tbs.decode()?, Tag::Sequence)?; // signature
                expect(tbs.decode()?, Tag::Sequence)?; // issuer
                let validity = expect(tbs.decode()?, Tag::Sequence)?;
                expect(tbs.decode()?, Tag::Sequence)?; // subject
                expect(tbs.decode()?, Tag::Sequence)?; // subjectPublicKeyInfo
                let mut extensions = None;
                let mut last = 0;
                while !tbs.is_finished() {
                    // [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions, in this order.
                    let field: AnyRef<'a> = tbs.decode()?;
                    let number = match field.tag() {
                        Tag::ContextSpecific {
                            constructed: false,
                            number,
                        } if matches!(number.value(), 1 | 2) => number.value(),
                        Tag::ContextSpecific {
                            constructed: true,
                            number,
                        } if number.value() == 3 => 3,
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
                Ok(TbsFields {
                    validity,
                    extensions,
                })
            })
        })
    }

    /// The value (the OCTET STRING's contents) of the extension `oid`; an extension present
    /// twice is an error (RFC 5280 §4.2).
    fn extension(&self, oid: &[u8]) -> der::Result<Option<&'a [u8]>> {
        let Some(extensions) = self.extensions else {
            return Ok(None);
        };
        let mut outer = SliceReader::new(extensions)?;
        let sequence: AnyRef<'a> = outer.decode()?;
        outer.finish()?;
        let mut found = None;
        sequence.sequence(|reader| {
            while !reader.is_finished() {
                let extension: AnyRef<'a> = reader.decode()?;
                let (id, value) = extension.sequence(|extension| {
                    let id = expect(extension.decode()?, Tag::ObjectIdentifier)?;
                    if Tag::peek(extension)? == Tag::Boolean {
                        let _critical: bool = extension.decode()?;
                    }
                    let value = expect(extension.decode()?, Tag::OctetString)?;
                    Ok::<_, der::Error>((id.value(), value.value()))
                })?;
                if id == oid {
                    if found.is_some() {
                        return Err(Tag::OctetString.unexpected_error(None).into());
                    }
                    found = Some(value);
                }
            }
            Ok::<_, der::Error>(())
        })?;
        Ok(found)
    }
}

fn expect(any: AnyRef<'_>, tag: Tag) -> der::Result<AnyRef<'_>> {
    any.tag().assert_eq(tag)?;
    Ok(any)
}

/// A certificate's validity as `(not_before, not_after)` in Unix seconds.
pub(crate) fn validity_window(der: &[u8]) -> der::Result<(u64, u64)> {
    let validity: Validity = TbsFields::of(der)?.validity.decode_as()?;
    Ok((
        validity.not_before.to_unix_duration().as_secs(),
        validity.not_after.to_unix_duration().as_secs(),
    ))
}

/// A certificate's keyUsage: `Ok(None)` when the extension is absent, `Err` when the
/// certificate's structure cannot be walked or the extension appears twice, and `Ok(None)` as
/// well when its value does not decode (as x509-cert's `get_extension` was read before: such
/// a value restricts nothing we check, and webpki refuses the certificate on its own).
pub(crate) fn key_usage(der: &[u8]) -> der::Result<Option<KeyUsage>> {
    let Some(value) = TbsFields::of(der)?.extension(KeyUsage::OID.as_bytes())? else {
        return Ok(None);
    };
    Ok(KeyUsage::from_der(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::Certificate;

    #[test]
    fn reads_the_key_usage_a_full_decode_reads() {
        let pki = vespa_tls_testkit::TestPki::builder()
            .intermediate(true)
            .build()
            .expect("test PKI");
        let node = pki.client_in_memory().expect("client");
        let certificates: Vec<_> = node.chain.iter().chain(&node.ca_certificates).collect();
        assert_eq!(certificates.len(), 3, "leaf, intermediate, CA");
        for der in certificates {
            let decoded = Certificate::from_der(der.as_ref()).expect("decodes");
            let expected = decoded
                .tbs_certificate()
                .get_extension::<KeyUsage>()
                .expect("extensions")
                .map(|(_, ku)| ku);
            assert!(expected.is_some(), "every certificate here has a keyUsage");
            assert_eq!(key_usage(der.as_ref()).expect("read"), expected);
            // Cut short anywhere, or followed by trailing bytes: an error, not "absent".
            for end in [0, 1, 10, der.len() / 2, der.len() - 1] {
                assert!(key_usage(&der[..end]).is_err(), "cut at {end}");
            }
            let mut longer = der.to_vec();
            longer.push(0);
            assert!(key_usage(&longer).is_err());
        }
    }

    /// The extensions `[3]` of a minimal TBSCertificate holding `extensions` (each the DER of
    /// one Extension), wrapped in a Certificate.
    fn certificate_with(extensions: &[&[u8]]) -> Vec<u8> {
        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            assert!(content.len() < 128, "short form lengths only");
            let mut out = vec![tag, content.len() as u8];
            out.extend_from_slice(content);
            out
        }
        let sequence = |content: &[u8]| tlv(0x30, content);
        let mut tbs = tlv(0xa0, &tlv(0x02, &[2])); // version v3
        tbs.extend(tlv(0x02, &[1])); // serialNumber
        tbs.extend(sequence(&[])); // signature
        tbs.extend(sequence(&[])); // issuer
        tbs.extend(sequence(&[])); // validity
        tbs.extend(sequence(&[])); // subject
        tbs.extend(sequence(&[])); // subjectPublicKeyInfo
        tbs.extend(tlv(0xa3, &sequence(&extensions.concat())));
        let mut certificate = sequence(&tbs);
        certificate.extend(sequence(&[])); // signatureAlgorithm
        certificate.extend(tlv(0x03, &[0])); // signatureValue
        sequence(&certificate)
    }

    /// keyUsage digitalSignature: OID 2.5.29.15, critical, BIT STRING 07 80.
    const DIGITAL_SIGNATURE: &[u8] = &[
        0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07,
        0x80,
    ];
    /// basicConstraints, empty: OID 2.5.29.19.
    const BASIC_CONSTRAINTS: &[u8] = &[
        0x30, 0x09, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x04, 0x02, 0x30, 0x00,
    ];

    #[test]
    fn finds_the_key_usage_among_other_extensions_or_none() {
        let found = key_usage(&certificate_with(&[BASIC_CONSTRAINTS, DIGITAL_SIGNATURE]))
            .expect("read")
            .expect("present");
        assert!(found.digital_signature());
        assert!(!found.key_cert_sign());
        assert_eq!(
            key_usage(&certificate_with(&[BASIC_CONSTRAINTS])).expect("read"),
            None
        );
    }

    #[test]
    fn a_key_usage_present_twice_is_an_error() {
        assert!(key_usage(&certificate_with(&[DIGITAL_SIGNATURE, DIGITAL_SIGNATURE])).is_err());
    }
}
