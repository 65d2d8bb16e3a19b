//! Any bytes as a DER leaf → `PeerCredentials::from_der`: never panics; extracted credentials
//! obey VESPA-BEHAVIOUR §3 (no empty or NUL-holding CN or SAN), and whenever x509-cert's full
//! decode accepts the bytes, both read the same credentials.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vespa_tls_authz::PeerCredentials;

fuzz_target!(|data: &[u8]| {
    let ours = PeerCredentials::from_der(data);
    match &ours {
        Ok(credentials) => {
            if let Some(cn) = credentials.common_name() {
                assert!(!cn.is_empty() && !cn.contains('\0'), "CN {cn:?}");
            }
            for san in credentials.dns_sans.iter().chain(&credentials.uri_sans) {
                assert!(!san.is_empty() && !san.contains('\0'), "SAN {san:?}");
            }
            let _ = credentials.to_string();
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    if let Some(theirs) = vespa_tls_fuzz::oracle::credentials(data) {
        assert_eq!(
            ours,
            Ok(theirs),
            "the walker disagrees with the full decode"
        );
    }
});
