//! The few fields of a presented certificate the verification path reads itself (validity,
//! keyUsage), read in place with authorization's walker ([`CertificateParts`]): nothing is
//! copied, and a chain that misses the verified-chain cache does not pay for an allocating
//! decode of its leaf (webpki parses and checks the whole certificate anyway). The leaf is split
//! once per verification and its parts handed to each reader.

use der::Decode as _;
use der::oid::AssociatedOid as _;
use vespa_tls_authz::{CertificateParts, Extension};
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::time::Validity;

/// A certificate's validity as `(not_before, not_after)` in Unix seconds.
pub(crate) fn validity_window(parts: &CertificateParts<'_>) -> der::Result<(u64, u64)> {
    let validity: Validity = parts.validity().decode_as()?;
    Ok((
        validity.not_before.to_unix_duration().as_secs(),
        validity.not_after.to_unix_duration().as_secs(),
    ))
}

/// A certificate's keyUsage: `Ok(None)` when the extension is absent, `Err` when the
/// extensions cannot be walked or the extension appears twice, and `Ok(None)` as
/// well when its value does not decode (as x509-cert's `get_extension` was read before: such
/// a value restricts nothing we check, and webpki refuses the certificate on its own).
pub(crate) fn key_usage(parts: &CertificateParts<'_>) -> der::Result<Option<KeyUsage>> {
    match parts.extension(KeyUsage::OID.as_bytes())? {
        Extension::Absent => Ok(None),
        Extension::Once(value) => Ok(KeyUsage::from_der(value).ok()),
        Extension::Repeated => Err(der::Tag::OctetString.unexpected_error(None).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::Certificate;

    /// [`key_usage`] of a whole certificate, split first.
    fn key_usage_of(der: &[u8]) -> der::Result<Option<KeyUsage>> {
        key_usage(&CertificateParts::split(der)?)
    }

    /// [`validity_window`] of a whole certificate, split first.
    fn validity_window_of(der: &[u8]) -> der::Result<(u64, u64)> {
        validity_window(&CertificateParts::split(der)?)
    }

    #[test]
    fn reads_what_a_full_decode_reads() {
        let pki = vespa_tls_testkit::TestPki::builder()
            .intermediate(true)
            .build()
            .expect("test PKI");
        let node = pki.client_in_memory().expect("client");
        let certificates: Vec<_> = node.chain.iter().chain(&node.ca_certificates).collect();
        assert_eq!(certificates.len(), 3, "leaf, intermediate, CA");
        for der in certificates {
            let decoded = Certificate::from_der(der.as_ref()).expect("decodes");
            let tbs = decoded.tbs_certificate();
            let expected = tbs
                .get_extension::<KeyUsage>()
                .expect("extensions")
                .map(|(_, ku)| ku);
            assert!(expected.is_some(), "every certificate here has a keyUsage");
            assert_eq!(key_usage_of(der.as_ref()).expect("read"), expected);
            assert_eq!(
                validity_window_of(der.as_ref()).expect("read"),
                (
                    tbs.validity().not_before.to_unix_duration().as_secs(),
                    tbs.validity().not_after.to_unix_duration().as_secs()
                )
            );
            // Cut short anywhere, or followed by trailing bytes: an error, not "absent" (and
            // for the cache: not read, so not stored).
            for end in [0, 1, 10, der.len() / 2, der.len() - 1] {
                assert!(key_usage_of(&der[..end]).is_err(), "cut at {end}");
                assert!(validity_window_of(&der[..end]).is_err(), "cut at {end}");
            }
            let mut longer = der.to_vec();
            longer.push(0);
            assert!(key_usage_of(&longer).is_err());
            assert!(validity_window_of(&longer).is_err());
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
        let found = key_usage_of(&certificate_with(&[BASIC_CONSTRAINTS, DIGITAL_SIGNATURE]))
            .expect("read")
            .expect("present");
        assert!(found.digital_signature());
        assert!(!found.key_cert_sign());
        assert_eq!(
            key_usage_of(&certificate_with(&[BASIC_CONSTRAINTS])).expect("read"),
            None
        );
    }

    #[test]
    fn a_key_usage_present_twice_is_an_error() {
        assert!(key_usage_of(&certificate_with(&[DIGITAL_SIGNATURE, DIGITAL_SIGNATURE])).is_err());
    }
}
