//! Any bytes as the three files (CA bundle, certificates, key; split at `\0--\0`) →
//! `CryptoMaterial::from_pem`: never panics; an error names one of the three files first and
//! quotes no line of the key file; loaded material has a leaf and a report.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vespa_tls_config::Files;
use vespa_tls_fuzz::split_files;
use vespa_tls_material::CryptoMaterial;

static FILES: LazyLock<Files> = LazyLock::new(|| Files {
    ca_certificates: PathBuf::from("/fuzz/ca.pem"),
    certificates: PathBuf::from("/fuzz/host.pem"),
    private_key: PathBuf::from("/fuzz/host.key"),
});

fuzz_target!(|data: &[u8]| {
    let [ca, certificates, key] = split_files(data);
    match CryptoMaterial::from_pem(&FILES, ca, certificates, key) {
        Ok(material) => {
            assert_eq!(Some(material.leaf()), material.chain().first());
            assert!(!material.ca_certificates().is_empty());
            let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
            let report = material.report(now);
            for finding in &report.diagnostics {
                let _ = finding.to_string();
            }
            let _ = format!("{material:?}");
        }
        Err(error) => {
            let message = error.to_string();
            let path = error.path();
            assert!(
                [
                    &FILES.ca_certificates,
                    &FILES.certificates,
                    &FILES.private_key
                ]
                .contains(&&path.to_path_buf()),
                "error about an unknown file: {message}"
            );
            assert!(
                message.starts_with(&format!("{}: ", path.display())),
                "error does not start with its path: {message}"
            );
            // Secret hygiene: no base64 line of the key file appears in the message.
            for line in String::from_utf8_lossy(key).lines() {
                let line = line.trim();
                let base64 = line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                if base64 && line.len() >= 24 {
                    assert!(
                        !message.contains(line),
                        "error quotes the key file: {message}"
                    );
                }
            }
            let _ = error.to_diagnostic().to_string();
        }
    }
});
