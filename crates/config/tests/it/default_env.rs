//! `default-env.txt` as Vespa's launcher reads it, layered over a fake process environment.

use std::ffi::OsString;

use vespa_tls_config::{
    DefaultEnv, DefaultEnvAction, Diagnostics, Environment, Location, MixedMode, Origin,
};

/// A node's file in the format Vespa's loader reads (its `conf/vespa/default-env.txt`):
/// comments, blank lines, quoting, every action, and the lines Vespa skips.
const NODE_FILE: &str = "\
# This file is created by the Vespa installation.
fallback VESPA_HOME /opt/vespa

override VESPA_CONFIGSERVERS \"cfg1.example.com,cfg2.example.com\"
override VESPA_TLS_CONFIG_FILE /etc/vespa/tls.json
fallback VESPA_TLS_INSECURE_MIXED_MODE \"tls_client_mixed_server\"
override VESPA_TLS_INSECURE_AUTHORIZATION_MODE log_only
unset VESPA_TLS_INSECURE_AUTHORIZATION_MODE
  override   VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE   'log_only'   \r
overide VESPA_TLS_CONFIG_FILE /tmp/typo.json
override VESPA.TLS /x
  # indented comment
override
fallback JAVA_OPTS \"-Xms1g -Xmx2g\"
override QUOTED \"a\"b\"
override HALF \"open
override ONE \"
";

fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl FnMut(&str) -> Option<OsString> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    }
}

fn parse() -> (DefaultEnv, Diagnostics) {
    DefaultEnv::parse(
        "/opt/vespa/conf/vespa/default-env.txt",
        NODE_FILE.as_bytes(),
    )
}

#[test]
fn values_and_quoting_follow_vespas_loader() {
    let (file, _) = parse();
    // (name, value the file alone gives)
    let table = [
        ("VESPA_HOME", Some("/opt/vespa")),
        (
            "VESPA_CONFIGSERVERS",
            Some("cfg1.example.com,cfg2.example.com"),
        ),
        ("VESPA_TLS_CONFIG_FILE", Some("/etc/vespa/tls.json")),
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            Some("tls_client_mixed_server"),
        ),
        ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", None),
        // Single quotes are not quoting; trailing white space and the CR are dropped.
        (
            "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
            Some("'log_only'"),
        ),
        ("JAVA_OPTS", Some("-Xms1g -Xmx2g")),
        // Only the outer pair of double quotes goes.
        ("QUOTED", Some("a\"b")),
        ("HALF", Some("\"open")),
        ("ONE", Some("\"")),
    ];
    for (name, expected) in table {
        assert_eq!(
            file.resolve(name, None).value,
            expected.map(OsString::from),
            "{name}"
        );
    }
}

#[test]
fn skipped_lines_are_errors_at_their_line_and_the_rest_is_used() {
    let (file, findings) = parse();
    // (line, a piece of the message)
    let expected = [
        (10, "unknown action \"overide\""),
        (11, "not a valid environment variable name: \"VESPA.TLS\""),
        (
            12,
            "unknown action \"#\", expected one of \"override\", \"fallback\", \"unset\" (a comment starts in the first column)",
        ),
        (13, "\"override\" names no variable"),
    ];
    let got: Vec<(usize, String)> = findings
        .iter()
        .map(|d| match &d.location {
            Some(Location::Line { path, line }) => {
                assert_eq!(path.to_str(), Some("/opt/vespa/conf/vespa/default-env.txt"));
                assert_eq!(d.code, "default-env-line");
                assert!(d.message.ends_with("; Vespa skips this line"), "{d}");
                (*line, d.message.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for ((line, message), (want_line, piece)) in got.iter().zip(expected) {
        assert_eq!(*line, want_line, "{message}");
        assert!(message.contains(piece), "{message:?} lacks {piece:?}");
    }
    assert_eq!(
        findings.iter().next().map(ToString::to_string).as_deref(),
        Some(
            "error: /opt/vespa/conf/vespa/default-env.txt:10: unknown action \"overide\", \
             expected one of \"override\", \"fallback\", \"unset\"; Vespa skips this line"
        )
    );
    // The typo line did not replace the config file; later lines still count.
    assert_eq!(
        file.resolve("VESPA_TLS_CONFIG_FILE", None).origin,
        Origin::File {
            line: 5,
            action: DefaultEnvAction::Override
        }
    );
    assert_eq!(file.entries().last().map(|e| e.line), Some(17));
}

#[test]
fn not_utf8_and_crlf() {
    let (file, findings) = DefaultEnv::parse(
        "d",
        b"override A \xff\r\noverride B b\r\nfallback C c", // no final newline
    );
    assert_eq!(findings.len(), 1);
    let d = findings.iter().next().expect("one finding");
    assert_eq!(
        d.to_string(),
        "error: d:1: not UTF-8; Vespa skips this line"
    );
    assert_eq!(file.resolve("B", None).value, Some("b".into()));
    assert_eq!(file.resolve("C", None).value, Some("c".into()));
}

#[test]
fn layering_over_the_process_environment() {
    let (file, _) = parse();
    let shell = [
        ("VESPA_TLS_CONFIG_FILE", "/home/me/tls.json"),
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            "plaintext_client_mixed_server",
        ),
        ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", "disable"),
    ];
    // (name, effective value, origin)
    let table = [
        (
            "VESPA_TLS_CONFIG_FILE",
            Some("/etc/vespa/tls.json"),
            Origin::File {
                line: 5,
                action: DefaultEnvAction::Override,
            },
        ),
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            Some("plaintext_client_mixed_server"),
            Origin::Process,
        ),
        (
            "VESPA_TLS_INSECURE_AUTHORIZATION_MODE",
            None,
            Origin::File {
                line: 8,
                action: DefaultEnvAction::Unset,
            },
        ),
        (
            "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
            Some("'log_only'"),
            Origin::File {
                line: 9,
                action: DefaultEnvAction::Override,
            },
        ),
        ("UNRELATED", None, Origin::NotSet),
    ];
    let mut process = lookup(&shell);
    for (name, value, origin) in table {
        let resolved = file.resolve(name, process(name));
        assert_eq!(resolved.value, value.map(OsString::from), "{name}");
        assert_eq!(resolved.origin, origin, "{name}");
    }
    // An empty value counts as unset for a fallback, as in Vespa.
    let resolved = file.resolve("VESPA_TLS_INSECURE_MIXED_MODE", Some(OsString::new()));
    assert_eq!(resolved.value, Some("tls_client_mixed_server".into()));

    // The layered lookup feeds Environment::from_lookup; the quoted single-quote value is not a
    // mode, and the error says so.
    let error = Environment::from_lookup(file.layered(lookup(&shell))).unwrap_err();
    assert_eq!(error.variable, "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE");
    let (fixed, _) = DefaultEnv::parse(
        "d",
        b"override VESPA_TLS_CONFIG_FILE /etc/vespa/tls.json\n\
          fallback VESPA_TLS_INSECURE_MIXED_MODE \"tls_client_mixed_server\"\n",
    );
    let (env, _) = Environment::from_lookup(fixed.layered(lookup(&[]))).unwrap();
    assert_eq!(env.mixed_mode, MixedMode::TlsClientMixedServer);
    assert_eq!(
        env.config_file.as_deref().and_then(|p| p.to_str()),
        Some("/etc/vespa/tls.json")
    );
}

#[test]
fn findings_say_where_values_came_from_and_where_the_shell_disagrees() {
    let (file, _) = DefaultEnv::parse(
        "/v/default-env.txt",
        b"override VESPA_TLS_CONFIG_FILE /etc/vespa/tls.json\n\
          fallback VESPA_TLS_INSECURE_MIXED_MODE tls_client_mixed_server\n\
          unset VESPA_TLS_INSECURE_AUTHORIZATION_MODE\n",
    );
    let shell = [
        ("VESPA_TLS_CONFIG_FILE", "/home/me/tls.json"),
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            "plaintext_client_mixed_server",
        ),
        ("VESPA_TLS_INSECURE_AUTHORIZATION_MODE", "log_only"),
        ("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", "enforce"),
    ];
    let findings: Vec<String> = file
        .tls_findings(lookup(&shell))
        .iter()
        .map(|d| format!("{} {}", d.code, d))
        .collect();
    let expected = [
        "env-origin note: VESPA_TLS_CONFIG_FILE: \"/etc/vespa/tls.json\" from /v/default-env.txt:1 (override)",
        "env-shell-disagrees warning: VESPA_TLS_CONFIG_FILE: the shell sets \"/home/me/tls.json\" but /v/default-env.txt:1 overrides it: Vespa's services use \"/etc/vespa/tls.json\"",
        "env-origin note: VESPA_TLS_INSECURE_MIXED_MODE: \"plaintext_client_mixed_server\" from the process environment",
        "env-shell-disagrees warning: VESPA_TLS_INSECURE_MIXED_MODE: the shell sets \"plaintext_client_mixed_server\" but Vespa's services, started without this shell's environment, get \"tls_client_mixed_server\" from /v/default-env.txt:2",
        "env-origin note: VESPA_TLS_INSECURE_AUTHORIZATION_MODE: unset by /v/default-env.txt:3 (unset)",
        "env-shell-disagrees warning: VESPA_TLS_INSECURE_AUTHORIZATION_MODE: the shell sets \"log_only\" but /v/default-env.txt:3 unsets it: Vespa's services do not see it",
        "env-origin note: VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE: \"enforce\" from the process environment",
        "env-shell-disagrees warning: VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE: the shell sets \"enforce\" but /v/default-env.txt does not: Vespa's services, started without this shell's environment, do not see it",
    ];
    assert_eq!(findings, expected);
    // The shell agreeing with the file is no warning.
    let agreeing = [
        ("VESPA_TLS_CONFIG_FILE", "/etc/vespa/tls.json"),
        ("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_mixed_server"),
    ];
    let findings = file.tls_findings(lookup(&agreeing));
    assert_eq!(findings.with_code("env-shell-disagrees").count(), 0);
    assert_eq!(findings.with_code("env-origin").count(), 3);
}
