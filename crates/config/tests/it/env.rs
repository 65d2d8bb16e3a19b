//! The four VESPA_TLS_* variables (VESPA-BEHAVIOUR §1), through a fake environment.

use std::ffi::OsString;
use vespa_tls_config::{
    AuthorizationMode, CapabilityMode, Diagnostics, EnvError, Environment, MixedMode,
};

fn read(vars: &[(&str, &str)]) -> Result<(Environment, Diagnostics), EnvError> {
    let vars: Vec<(String, OsString)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
        .collect();
    Environment::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

fn codes(d: &Diagnostics) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

const CONFIG: (&str, &str) = ("VESPA_TLS_CONFIG_FILE", "/etc/vespa/tls.json");

#[test]
fn unset_config_means_plaintext_and_other_variables_are_not_parsed() {
    let (env, d) = read(&[]).unwrap();
    assert!(!env.tls_enabled());
    assert!(d.is_empty());
    // Garbage in the mode variables is not an error when TLS is off, but is reported.
    let (env, d) = read(&[("VESPA_TLS_INSECURE_MIXED_MODE", "bogus")]).unwrap();
    assert_eq!(env, Environment::default());
    assert_eq!(codes(&d), ["env-ignored"]);
}

#[test]
fn empty_values_are_unset() {
    let (env, d) = read(&[("VESPA_TLS_CONFIG_FILE", "")]).unwrap();
    assert!(!env.tls_enabled());
    assert_eq!(codes(&d), ["env-config-file-empty"]);
    let (env, _) = read(&[CONFIG, ("VESPA_TLS_INSECURE_MIXED_MODE", "")]).unwrap();
    assert_eq!(env.mixed_mode, MixedMode::TlsClientTlsServer);
}

#[test]
fn defaults_when_only_the_config_file_is_set() {
    let (env, d) = read(&[CONFIG]).unwrap();
    assert_eq!(
        env.config_file.as_deref().and_then(|p| p.to_str()),
        Some("/etc/vespa/tls.json")
    );
    assert_eq!(env.mixed_mode, MixedMode::TlsClientTlsServer);
    assert_eq!(env.authorization_mode, AuthorizationMode::Enforce);
    assert_eq!(env.capability_mode, CapabilityMode::Enforce);
    assert_eq!(codes(&d), ["cross-stack-capability-default"]);
}

#[test]
fn every_mode_value_parses() {
    for mode in MixedMode::ALL {
        let (env, _) = read(&[CONFIG, ("VESPA_TLS_INSECURE_MIXED_MODE", mode.as_str())]).unwrap();
        assert_eq!(env.mixed_mode, *mode);
    }
    for mode in AuthorizationMode::ALL {
        let (env, _) = read(&[
            CONFIG,
            ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", mode.as_str()),
        ])
        .unwrap();
        assert_eq!(env.authorization_mode, *mode);
    }
    for mode in CapabilityMode::ALL {
        let (env, _) = read(&[
            CONFIG,
            ("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", mode.as_str()),
        ])
        .unwrap();
        assert_eq!(env.capability_mode, *mode);
    }
    assert!(MixedMode::PlaintextClientMixedServer.server_accepts_plaintext());
    assert!(!MixedMode::PlaintextClientMixedServer.client_uses_tls());
    assert!(MixedMode::TlsClientMixedServer.server_accepts_plaintext());
    assert!(MixedMode::TlsClientMixedServer.client_uses_tls());
    assert!(!MixedMode::TlsClientTlsServer.server_accepts_plaintext());
}

#[test]
fn unknown_values_are_errors_naming_variable_value_and_choices() {
    let cases = [
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            "TLS_CLIENT_MIXED_SERVER",
            "\"plaintext_client_mixed_server\", \"tls_client_mixed_server\", \"tls_client_tls_server\"",
        ),
        (
            "VESPA_TLS_INSECURE_AUTHORIZATION_MODE",
            "off",
            "\"disable\", \"log_only\", \"enforce\"",
        ),
        (
            "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
            "Enforce",
            "\"disable\", \"log_only\", \"enforce\"",
        ),
    ];
    for (variable, value, allowed) in cases {
        let err = read(&[CONFIG, (variable, value)]).unwrap_err();
        assert_eq!(err.variable, variable);
        assert_eq!(
            err.to_string(),
            format!("{variable}: unknown value \"{value}\", expected one of {allowed}")
        );
    }
}

#[cfg(unix)]
#[test]
fn raw_bytes_are_kept_for_paths_and_rejected_for_modes() {
    use std::os::unix::ffi::OsStringExt;
    let odd = OsString::from_vec(b"/etc/vespa/tls-\xff.json".to_vec());
    let path = odd.clone();
    let (env, _) =
        Environment::from_lookup(|name| (name == "VESPA_TLS_CONFIG_FILE").then(|| path.clone()))
            .unwrap();
    assert_eq!(env.config_file.map(|p| p.into_os_string()), Some(odd));
    let err = Environment::from_lookup(|name| match name {
        "VESPA_TLS_CONFIG_FILE" => Some(OsString::from("/x")),
        "VESPA_TLS_INSECURE_AUTHORIZATION_MODE" => {
            Some(OsString::from_vec(b"log\xffonly".to_vec()))
        }
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.variable, "VESPA_TLS_INSECURE_AUTHORIZATION_MODE");
    assert!(err.problem.contains("not valid UTF-8"), "{err}");
    assert!(err.problem.contains("\"log_only\""), "{err}");
}

#[test]
fn insecure_modes_are_reported() {
    let (_, d) = read(&[
        CONFIG,
        ("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_mixed_server"),
        ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", "log_only"),
        ("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", "enforce"),
    ])
    .unwrap();
    assert_eq!(
        codes(&d),
        [
            "insecure-mixed-mode",
            "insecure-authorization-mode",
            "partial-dry-run"
        ]
    );
    let (_, d) = read(&[
        CONFIG,
        ("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_tls_server"),
        ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", "log_only"),
        ("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", "log_only"),
    ])
    .unwrap();
    assert_eq!(
        codes(&d),
        ["insecure-authorization-mode"],
        "a full dry run is not partial"
    );
    let (_, d) = read(&[
        CONFIG,
        ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", "disable"),
        ("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", "enforce"),
    ])
    .unwrap();
    let message = &d.iter().next().unwrap().message;
    assert!(message.contains("all capabilities"), "{message}");
}
