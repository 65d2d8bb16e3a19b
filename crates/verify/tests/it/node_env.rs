//! `--vespa-home` and `vespa-tls env`: a node's `conf/vespa/default-env.txt` layered over the
//! environment as Vespa's start scripts layer it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::cli::{code, json, pki, run_env, s, serve, stderr, stdout};

/// Writes `$home/conf/vespa/default-env.txt`.
fn default_env(home: &Path, text: &str) -> PathBuf {
    let dir = home.join("conf/vespa");
    std::fs::create_dir_all(&dir).expect("conf dir");
    let path = dir.join("default-env.txt");
    std::fs::write(&path, text).expect("write default-env.txt");
    path
}

fn variable<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["variables"]
        .as_array()
        .and_then(|vars| vars.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("{name} missing from {report}"))
}

#[test]
fn env_layers_default_env_over_the_shell_and_says_where_each_value_came_from() {
    let pki = pki();
    let home = tempfile::tempdir().expect("temp dir");
    let file = default_env(
        home.path(),
        &format!(
            "# written by the installer\n\
             override VESPA_TLS_CONFIG_FILE \"{}\"\n\
             fallback VESPA_TLS_INSECURE_MIXED_MODE tls_client_mixed_server\n\
             overide VESPA_TLS_INSECURE_AUTHORIZATION_MODE disable\n\
             unset VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE\n",
            s(&pki.config)
        ),
    );
    let shell = [
        ("VESPA_TLS_CONFIG_FILE", "/home/operator/tls.json"),
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            "plaintext_client_mixed_server",
        ),
        ("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", "log_only"),
    ];
    let out = run_env(&["env", "--vespa-home", s(home.path()), "--json"], &shell);
    assert_eq!(
        code(&out),
        1,
        "a skipped line is an error: {}",
        stderr(&out)
    );
    let report = json(&out);
    assert_eq!(report["default_env"]["path"], s(&file));
    assert_eq!(report["default_env"]["lines_used"], 3);
    assert_eq!(report["default_env"]["lines_skipped"], 1);
    // (variable, effective value, origin)
    let table = [
        (
            "VESPA_TLS_CONFIG_FILE",
            Value::from(s(&pki.config)),
            serde_json::json!({"source": "default-env", "line": 2, "action": "override"}),
        ),
        (
            "VESPA_TLS_INSECURE_MIXED_MODE",
            Value::from("plaintext_client_mixed_server"),
            serde_json::json!({"source": "process"}),
        ),
        (
            "VESPA_TLS_INSECURE_AUTHORIZATION_MODE",
            Value::Null,
            serde_json::json!({"source": "not-set"}),
        ),
        (
            "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
            Value::Null,
            serde_json::json!({"source": "default-env", "line": 5, "action": "unset"}),
        ),
    ];
    for (name, value, origin) in table {
        let var = variable(&report, name);
        assert_eq!(var["value"], value, "{var}");
        assert_eq!(var["origin"], origin, "{var}");
    }
    assert_eq!(report["effective"]["config_file"], s(&pki.config));
    assert_eq!(
        report["effective"]["mixed_mode"],
        "plaintext_client_mixed_server"
    );
    assert_eq!(report["effective"]["capability_mode"], "enforce");
    let findings = report["findings"].as_array().expect("findings");
    let find = |code: &str, location: &str| {
        findings
            .iter()
            .find(|f| f["code"] == code && f["location"] == location)
            .unwrap_or_else(|| panic!("{code} at {location} missing from {report}"))
    };
    let skipped = find("default-env-line", &format!("{}:4", s(&file)));
    assert_eq!(skipped["severity"], "error");
    assert!(
        skipped["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("unknown action \"overide\"")),
        "{skipped}"
    );
    for name in [
        "VESPA_TLS_CONFIG_FILE",
        "VESPA_TLS_INSECURE_MIXED_MODE",
        "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
    ] {
        assert_eq!(find("env-shell-disagrees", name)["severity"], "warning");
    }

    // The human form: one line per variable with its origin, the effective settings, the
    // skipped line as file:line.
    let out = run_env(&["env", "--vespa-home", s(home.path())], &shell);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    for piece in [
        format!(
            "VESPA_TLS_CONFIG_FILE                    {}  (override at {}:2)\n",
            s(&pki.config),
            s(&file)
        ),
        "VESPA_TLS_INSECURE_MIXED_MODE            plaintext_client_mixed_server  (from the process environment)\n".to_owned(),
        format!(
            "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE  (unset)  (unset at {}:5)\n",
            s(&file)
        ),
        format!(
            "effective: TLS with {}, mixed mode plaintext_client_mixed_server, authorization enforce, capabilities enforce\n",
            s(&pki.config)
        ),
        format!(
            "error: {}:4: unknown action \"overide\", expected one of \"override\", \"fallback\", \"unset\"; Vespa skips this line\n",
            s(&file)
        ),
    ] {
        assert!(text.contains(&piece), "{piece:?} missing from:\n{text}");
    }
}

#[test]
fn check_connect_and_scan_read_the_config_named_in_default_env() {
    let pki = pki();
    let home = tempfile::tempdir().expect("temp dir");
    let file = default_env(
        home.path(),
        &format!(
            "override VESPA_TLS_CONFIG_FILE {}\n\
             fallback VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE enforce\n",
            s(&pki.config)
        ),
    );
    // No --config and no VESPA_TLS_CONFIG_FILE in the environment: default-env.txt names it.
    let out = run_env(&["check", "--vespa-home", s(home.path()), "--json"], &[]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["config"], s(&pki.config));
    let origin = report["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["code"] == "env-origin" && f["location"] == "VESPA_TLS_CONFIG_FILE")
        })
        .unwrap_or_else(|| panic!("no env-origin finding in {report}"));
    assert_eq!(
        origin["message"],
        format!("\"{}\" from {}:1 (override)", s(&pki.config), s(&file))
    );
    // $VESPA_HOME is the default for --vespa-home.
    let out = run_env(&["check"], &[("VESPA_HOME", s(home.path()))]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("{}: ok (config and files)", s(&pki.config))),
        "{}",
        stdout(&out)
    );
    // The shell disagreeing is a warning, not an error; the check still passes.
    let out = run_env(
        &["check", "--vespa-home", s(home.path())],
        &[("VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE", "log_only")],
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let expected = format!(
        "warning: VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE: the shell sets \"log_only\" but \
         Vespa's services, started without this shell's environment, get \"enforce\" from {}:2\n",
        s(&file)
    );
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));

    // A skipped line makes check exit 1 and is named file:line; the rest of the file is used.
    default_env(
        home.path(),
        &format!(
            "override VESPA_TLS_CONFIG_FILE {}\nexport VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server\n",
            s(&pki.config)
        ),
    );
    let out = run_env(&["check", "--vespa-home", s(home.path())], &[]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!(
            "error: {}:2: not a valid environment variable name: \
             \"VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server\" (write \"override NAME \
             VALUE\", not NAME=VALUE); Vespa skips this line",
            s(&file)
        )),
        "{}",
        stdout(&out)
    );

    // connect and scan dial with the config default-env.txt names; a skipped line is reported
    // on stderr and the probe still runs.
    let server = serve(&[("VESPA_TLS_CONFIG_FILE", s(&pki.config))], "frt");
    for command in ["connect", "scan"] {
        let out = run_env(
            &[command, &server.address, "--vespa-home", s(home.path())],
            &[],
        );
        assert_eq!(code(&out), 0, "{command}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stderr(&out).contains(&format!("vespa-tls: error: {}:2: not a valid", s(&file))),
            "{command}: {}",
            stderr(&out)
        );
    }
    // Without a config anywhere the error says where it looked.
    let empty = tempfile::tempdir().expect("temp dir");
    let out = run_env(
        &["connect", &server.address, "--vespa-home", s(empty.path())],
        &[],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(&format!(
            "no TLS config file: pass --config FILE or set VESPA_TLS_CONFIG_FILE (in the environment or in {})",
            s(&empty.path().join("conf/vespa/default-env.txt"))
        )),
        "{}",
        stderr(&out)
    );
}
