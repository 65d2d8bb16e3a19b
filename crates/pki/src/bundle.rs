//! CA bundles (`ca-certificates`): adding a CA without dropping the ones already trusted.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::error::PkiError;
use crate::pem;

/// The certificates of a PEM bundle, in order (other PEM blocks are skipped).
///
/// `what` names the bundle in errors (usually its path).
pub fn parse_ca_bundle(what: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        certs.push(item.map_err(|e| PkiError::load(what, format!("expected PEM, found {e}")))?);
    }
    Ok(certs)
}

/// A CA bundle holding every certificate of `existing` (in order), then each of `add` not
/// already in it (compared byte for byte), as PEM.
///
/// This is how a CA rotation keeps an overlap: nodes trust the old and the new CA until every
/// certificate of the old one is replaced, so adding a CA never drops another by accident.
pub fn merge_ca_bundle(
    existing: &[CertificateDer<'static>],
    add: &[CertificateDer<'static>],
) -> String {
    let mut out = String::new();
    let mut seen: Vec<&CertificateDer<'static>> = Vec::new();
    for der in existing.iter().chain(add) {
        if seen.contains(&der) {
            continue;
        }
        seen.push(der);
        out.push_str(&pem::encode("CERTIFICATE", der));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaParams, CertificateAuthority, Validity};

    fn root(cn: &str) -> CertificateDer<'static> {
        let now = time::OffsetDateTime::now_utc();
        CertificateAuthority::new_root(&CaParams::new(cn, Validity::days_from(now, 1)))
            .expect("CA")
            .root_der()
            .clone()
    }

    #[test]
    fn merging_keeps_every_existing_ca_in_order_and_adds_each_new_one_once() {
        let (old, other, new) = (root("old"), root("other"), root("new"));
        let merged = merge_ca_bundle(&[old.clone(), other.clone()], &[new.clone(), old.clone()]);
        let parsed = parse_ca_bundle("merged", &merged).expect("parses");
        assert_eq!(parsed, vec![old.clone(), other, new.clone()]);
        let again = merge_ca_bundle(&parsed, &[new]);
        assert_eq!(again, merged);
        let err = parse_ca_bundle(
            "bundle.pem",
            "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
        )
        .expect_err("broken PEM");
        assert!(
            err.to_string().starts_with("bundle.pem: expected PEM"),
            "{err}"
        );
    }
}
