//! Certificates with chosen subjects and SANs, for credential extraction and authorization.

/// A certificate with exactly `params` (subject, SANs, …), self-signed by a fresh P-256 key,
/// as DER: what the authorization engine reads credentials from. Panics if rcgen refuses the
/// params.
///
/// ```
/// use rcgen::{CertificateParams, DnType};
/// let mut params = CertificateParams::new(["node1.example.com".to_owned()])?;
/// params.distinguished_name.push(DnType::CommonName, "node1");
/// let der = vespa_tls_testkit::self_signed_der(params);
/// assert_eq!(der[0], 0x30);
/// # Ok::<(), rcgen::Error>(())
/// ```
#[track_caller]
pub fn self_signed_der(params: rcgen::CertificateParams) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().expect("P-256 key generation");
    match params.self_signed(&key) {
        Ok(certificate) => certificate.der().to_vec(),
        Err(e) => panic!("self-signed test certificate: {e}"),
    }
}
