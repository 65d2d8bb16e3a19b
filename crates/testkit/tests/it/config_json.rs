//! `config_json_with` writes JSON the config parser reads back, odd paths included.

use std::path::PathBuf;

use vespa_tls_config::Files;
use vespa_tls_testkit::config_json_with;

#[test]
fn odd_paths_and_extra_members_round_trip() {
    let files = Files {
        ca_certificates: PathBuf::from("/tmp/a \"quoted\" dir/ca.pem"),
        certificates: PathBuf::from("/tmp/back\\slash/cert.pem"),
        private_key: PathBuf::from("/tmp/tab\there/key.pem"),
    };
    let json = config_json_with(&files, r#""disable-hostname-validation": true"#);
    let (options, _) = vespa_tls_config::parse(&json).expect("parses");
    assert_eq!(options.files, files);
    assert!(options.disable_hostname_validation);
    let (plain, _) = vespa_tls_config::parse(&config_json_with(&files, "")).expect("parses");
    assert!(!plain.disable_hostname_validation);
}
