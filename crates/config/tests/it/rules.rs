//! One table row per rule of the config format (docs/CONFIG.md, VESPA-BEHAVIOUR §1–§2).

use vespa_tls_config::{
    CipherSuite, ConfigError, CredentialField, Diagnostics, Severity, TlsProtocol, parse,
    parse_slice,
};

const FILES: &str = r#""files": {"ca-certificates": "/ca.pem", "certificates": "/cert.pem", "private-key": "/key.pem"}"#;

fn doc(rest: &str) -> String {
    if rest.is_empty() {
        format!("{{{FILES}}}")
    } else {
        format!("{{{FILES}, {rest}}}")
    }
}

fn policy(body: &str) -> String {
    doc(&format!(r#""authorized-peers": [{body}]"#))
}

const CRED: &str = r#""required-credentials": [{"field": "CN", "must-match": "a"}]"#;

fn accept(json: &str) -> (vespa_tls_config::TransportSecurityOptions, Diagnostics) {
    match parse(json) {
        Ok(v) => v,
        Err(e) => panic!("expected {json} to be accepted, got: {e}"),
    }
}

fn reject(json: &str) -> ConfigError {
    match parse(json) {
        Ok(_) => panic!("expected {json} to be rejected"),
        Err(e) => e,
    }
}

/// (what, document, expected pointer, a piece of the message)
fn rejected_table() -> Vec<(&'static str, String, &'static str, &'static str)> {
    vec![
        ("top level must be an object", "[]".into(), "", "expected a JSON object, found an array"),
        ("files is required", "{}".into(), "", "missing required key \"files\""),
        (
            "files must be an object",
            r#"{"files": "x"}"#.into(),
            "/files",
            "expected an object, found a string",
        ),
        (
            "private-key is required",
            r#"{"files": {"ca-certificates": "/a", "certificates": "/b"}}"#.into(),
            "/files",
            "missing required key \"private-key\"",
        ),
        (
            "ca-certificates is required",
            r#"{"files": {"certificates": "/b", "private-key": "/c"}}"#.into(),
            "/files",
            "missing required key \"ca-certificates\"",
        ),
        (
            "paths are non-empty",
            r#"{"files": {"ca-certificates": "", "certificates": "/b", "private-key": "/c"}}"#
                .into(),
            "/files/ca-certificates",
            "expected a file path, found \"\"",
        ),
        (
            "paths are strings",
            r#"{"files": {"ca-certificates": 1, "certificates": "/b", "private-key": "/c"}}"#
                .into(),
            "/files/ca-certificates",
            "found a number",
        ),
        (
            "null path is an error",
            r#"{"files": {"ca-certificates": null, "certificates": "/b", "private-key": "/c"}}"#
                .into(),
            "/files/ca-certificates",
            "found null",
        ),
        (
            "duplicate top-level key",
            format!(r#"{{{FILES}, "disable-hostname-validation": true, "disable-hostname-validation": false}}"#),
            "/disable-hostname-validation",
            "duplicate key",
        ),
        (
            "duplicate nested key",
            r#"{"files": {"ca-certificates": "/a", "certificates": "/b", "private-key": "/c", "certificates": "/d"}}"#.into(),
            "/files/certificates",
            "duplicate key \"certificates\"",
        ),
        (
            "authorized-peers [] is an error",
            doc(r#""authorized-peers": []"#),
            "/authorized-peers",
            "expected at least one policy, found []",
        ),
        (
            "authorized-peers null is an error",
            doc(r#""authorized-peers": null"#),
            "/authorized-peers",
            "found null",
        ),
        (
            "authorized-peers must be an array",
            doc(r#""authorized-peers": {}"#),
            "/authorized-peers",
            "expected an array of policies, found an object",
        ),
        (
            "a policy is an object",
            doc(r#""authorized-peers": ["x"]"#),
            "/authorized-peers/0",
            "found a string",
        ),
        ("name is required", policy(&format!("{{{CRED}}}")), "/authorized-peers/0", "missing required key \"name\""),
        (
            "name is non-empty",
            policy(&format!(r#"{{"name": "", {CRED}}}"#)),
            "/authorized-peers/0/name",
            "non-empty",
        ),
        (
            "name is a string",
            policy(&format!(r#"{{"name": 3, {CRED}}}"#)),
            "/authorized-peers/0/name",
            "expected a string, found a number",
        ),
        (
            "names are unique",
            policy(&format!(
                r#"{{"name": "a", {CRED}}}, {{"name": "a", "required-credentials": [{{"field": "CN", "must-match": "b"}}]}}"#
            )),
            "/authorized-peers/1/name",
            "duplicate policy name \"a\" (also used by /authorized-peers/0)",
        ),
        (
            "identical policies are rejected, not merged",
            policy(&format!(r#"{{"name": "a", {CRED}}}, {{"name": "a", {CRED}}}"#)),
            "/authorized-peers/1/name",
            "repeats /authorized-peers/0 exactly",
        ),
        (
            "required-credentials is required",
            policy(r#"{"name": "a"}"#),
            "/authorized-peers/0",
            "missing required key \"required-credentials\"",
        ),
        (
            "required-credentials [] is an error",
            policy(r#"{"name": "a", "required-credentials": []}"#),
            "/authorized-peers/0/required-credentials",
            "expected at least one required credential",
        ),
        (
            "field is required",
            policy(r#"{"name": "a", "required-credentials": [{"must-match": "x"}]}"#),
            "/authorized-peers/0/required-credentials/0",
            "missing required key \"field\"",
        ),
        (
            "field is exact case",
            policy(r#"{"name": "a", "required-credentials": [{"field": "cn", "must-match": "x"}]}"#),
            "/authorized-peers/0/required-credentials/0/field",
            "unknown value \"cn\", expected one of \"CN\", \"SAN_DNS\", \"SAN_URI\"; did you mean \"CN\"?",
        ),
        (
            "field san_ip is unknown",
            policy(
                r#"{"name": "a", "required-credentials": [{"field": "CN", "must-match": "x"}, {"field": "san_ip", "must-match": "x"}]}"#,
            ),
            "/authorized-peers/0/required-credentials/1/field",
            "unknown value \"san_ip\"",
        ),
        (
            "must-match is required",
            policy(r#"{"name": "a", "required-credentials": [{"field": "CN"}]}"#),
            "/authorized-peers/0/required-credentials/0",
            "missing required key \"must-match\"",
        ),
        (
            "must-match is a string",
            policy(r#"{"name": "a", "required-credentials": [{"field": "CN", "must-match": null}]}"#),
            "/authorized-peers/0/required-credentials/0/must-match",
            "found null",
        ),
        (
            "capabilities [] is an error",
            policy(&format!(r#"{{"name": "a", "capabilities": [], {CRED}}}"#)),
            "/authorized-peers/0/capabilities",
            "vespa.none",
        ),
        (
            "capabilities null is an error",
            policy(&format!(r#"{{"name": "a", "capabilities": null, {CRED}}}"#)),
            "/authorized-peers/0/capabilities",
            "found null",
        ),
        (
            "capability names are strings",
            policy(&format!(r#"{{"name": "a", "capabilities": [1], {CRED}}}"#)),
            "/authorized-peers/0/capabilities/0",
            "found a number",
        ),
        (
            "description is a string",
            policy(&format!(r#"{{"name": "a", "description": 1, {CRED}}}"#)),
            "/authorized-peers/0/description",
            "expected a string",
        ),
        (
            "accepted-ciphers [] is an error",
            doc(r#""accepted-ciphers": []"#),
            "/accepted-ciphers",
            "expected at least one cipher suite",
        ),
        (
            "accepted-ciphers with only unknown names",
            doc(r#""accepted-ciphers": ["RC4"]"#),
            "/accepted-ciphers",
            "none of the listed cipher suites is supported",
        ),
        (
            "accepted-ciphers needs a TLS 1.2 suite",
            doc(r#""accepted-ciphers": ["TLS_AES_128_GCM_SHA256"]"#),
            "/accepted-ciphers",
            "no TLS 1.2 cipher suite",
        ),
        (
            "accepted-ciphers entries are strings",
            doc(r#""accepted-ciphers": [true]"#),
            "/accepted-ciphers/0",
            "found a boolean",
        ),
        (
            "accepted-protocols [] is an error",
            doc(r#""accepted-protocols": []"#),
            "/accepted-protocols",
            "expected at least one protocol",
        ),
        (
            "accepted-protocols with only unknown values",
            doc(r#""accepted-protocols": ["TLSv1.1"]"#),
            "/accepted-protocols",
            "none of the listed protocols is supported",
        ),
        (
            "ciphers must work with the protocols",
            doc(
                r#""accepted-protocols": ["TLSv1.3"], "accepted-ciphers": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]"#,
            ),
            "/accepted-ciphers",
            "none of the accepted cipher suites can be used",
        ),
        (
            "disable-hostname-validation is a boolean",
            doc(r#""disable-hostname-validation": "true""#),
            "/disable-hostname-validation",
            "expected a boolean, found a string",
        ),
        (
            "pointer tokens are escaped",
            r#"{"files": {"ca-certificates": "/a", "certificates": "/b", "private-key": "/c"}, "a/b": 1, "a/b": 2}"#.into(),
            "/a~1b",
            "duplicate key",
        ),
    ]
}

#[test]
fn rejected_files_name_the_pointer_and_the_problem() {
    let table = rejected_table();
    assert!(table.len() > 30);
    for (what, json, pointer, message) in table {
        let err = reject(&json);
        assert_eq!(
            err.pointer(),
            Some(pointer),
            "{what}: wrong pointer in {err}"
        );
        assert!(
            err.message().contains(message),
            "{what}: message {err:?} lacks {message:?}"
        );
        // The displayed form starts with the location.
        let shown = err.to_string();
        if pointer.is_empty() {
            assert!(shown.starts_with("(top level): "), "{what}: {shown}");
        } else {
            assert!(
                shown.starts_with(&format!("{pointer}: ")),
                "{what}: {shown}"
            );
        }
    }
}

/// (what, document, expected syntax line, column, a piece of the message)
#[test]
fn syntax_errors_carry_line_and_column() {
    let cases: Vec<(&str, &[u8], usize, usize, &str)> = vec![
        ("empty file", b"", 1, 1, "the file is empty"),
        (
            "truncated",
            b"{\n  \"files\": {",
            2,
            12,
            "the file ends too early",
        ),
        (
            "trailing content",
            b"{\"files\": 1}\n{}",
            2,
            1,
            "after the end",
        ),
        (
            "byte order mark",
            b"\xEF\xBB\xBF{}",
            1,
            1,
            "byte order mark",
        ),
        (
            "single quotes",
            b"{'files': 1}",
            1,
            2,
            "key must be a string",
        ),
        ("trailing comma", b"{\"a\": 1,}", 1, 9, "trailing comma"),
        ("comment", b"{\"a\": 1 // x\n}", 1, 9, "expected"),
        (
            "invalid utf-8 in a string",
            b"{\"a\": \"\xff\"}",
            1,
            8,
            "not valid UTF-8",
        ),
    ];
    for (what, bytes, line, column, message) in cases {
        match parse_slice(bytes) {
            Err(ConfigError::Syntax {
                line: l,
                column: c,
                message: m,
            }) => {
                assert_eq!((l, c), (line, column), "{what}: {m}");
                assert!(m.contains(message), "{what}: {m:?} lacks {message:?}");
            }
            other => panic!("{what}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn defaults_are_as_documented() {
    let (options, diagnostics) = accept(&doc(""));
    assert!(
        !options.disable_hostname_validation,
        "hostname validation is on by default"
    );
    assert!(options.authorized_peers.is_none());
    assert_eq!(options.effective_ciphers(), &CipherSuite::ALL);
    assert_eq!(
        options.effective_protocols(),
        &[TlsProtocol::Tls13, TlsProtocol::Tls12]
    );
    let note = diagnostics
        .with_code("cross-stack-hostname-default")
        .next()
        .expect("note");
    assert_eq!(note.severity, Severity::Note);
    assert!(!diagnostics.has_errors());
}

#[test]
fn unknown_keys_are_warnings_with_a_suggestion() {
    let (_, diagnostics) = accept(&doc(r#""accepted-cipher": [], "colour": 1"#));
    let found: Vec<String> = diagnostics
        .with_code("unknown-key")
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        found,
        vec![
            "warning: /accepted-cipher: unknown key \"accepted-cipher\" is ignored; did you mean \
             \"accepted-ciphers\"?"
                .to_owned(),
            "warning: /colour: unknown key \"colour\" is ignored (known keys here: \"files\", \
             \"authorized-peers\", \"accepted-ciphers\", \"accepted-protocols\", \
             \"disable-hostname-validation\")"
                .to_owned(),
        ]
    );
    let (_, nested) = accept(
        r#"{"files": {"ca-certificates": "/a", "certificate": "/x", "certificates": "/b", "private-key": "/c"}}"#,
    );
    let typo = nested
        .with_code("unknown-key")
        .next()
        .expect("nested unknown key");
    assert!(
        typo.message.contains("did you mean \"certificates\""),
        "{typo}"
    );
}

/// A key whose did-you-mean is one of the keys that decide who is let in: ignoring it, as Vespa
/// does, would fail open (`"authorised-peers"` admits every peer with all capabilities).
#[test]
fn misspelled_access_control_keys_are_errors() {
    let cred = |body: &str| {
        policy(&format!(
            r#"{{"name": "p", "required-credentials": [{body}]}}"#
        ))
    };
    // (typo, document, pointer, the key to write instead, what ignoring it would do)
    let table: Vec<(&str, String, &str, &str, &str)> = vec![
        (
            "authorised-peers",
            doc(
                r#""authorised-peers": [{"name": "p", "required-credentials": [{"field": "CN", "must-match": "a"}]}]"#,
            ),
            "/authorised-peers",
            "authorized-peers",
            "every peer with a valid certificate would be authorized with all capabilities",
        ),
        (
            "Authorized-Peers",
            doc(r#""Authorized-Peers": []"#),
            "/Authorized-Peers",
            "authorized-peers",
            "all capabilities",
        ),
        (
            "capabilites",
            policy(&format!(
                r#"{{"name": "p", "capabilites": ["vespa.telemetry"], {CRED}}}"#
            )),
            "/authorized-peers/0/capabilites",
            "capabilities",
            "the policy would grant all capabilities",
        ),
        (
            "required-credential",
            policy(r#"{"name": "p", "required-credential": [{"field": "CN", "must-match": "a"}]}"#),
            "/authorized-peers/0/required-credential",
            "required-credentials",
            "without the credentials it requires",
        ),
        (
            "fields",
            cred(r#"{"fields": "CN", "must-match": "a"}"#),
            "/authorized-peers/0/required-credentials/0/fields",
            "field",
            "without the field it checks",
        ),
        (
            "must_match",
            cred(r#"{"field": "CN", "must_match": "a"}"#),
            "/authorized-peers/0/required-credentials/0/must_match",
            "must-match",
            "without its pattern",
        ),
        (
            "nmae",
            policy(&format!(r#"{{"nmae": "p", {CRED}}}"#)),
            "/authorized-peers/0/nmae",
            "name",
            "without its name",
        ),
    ];
    for (typo, json, pointer, key, consequence) in table {
        let error = reject(&json);
        assert_eq!(error.pointer(), Some(pointer), "{typo}: {error}");
        let message = error.message();
        for piece in [
            format!("unknown key \"{typo}\" is refused, not ignored"),
            format!("misspelled \"{key}\""),
            "ignoring it would fail open".to_owned(),
            consequence.to_owned(),
            format!("write \"{key}\""),
        ] {
            assert!(
                message.contains(&piece),
                "{typo}: {message:?} lacks {piece:?}"
            );
        }
    }

    // Unrelated unknown keys, and misspellings of keys that cannot open the door, stay warnings.
    let warnings = [
        (doc(r#""colour": 1"#), "/colour", None),
        (
            policy(&format!(r#"{{"name": "p", "descripton": "x", {CRED}}}"#)),
            "/authorized-peers/0/descripton",
            Some("description"),
        ),
        (
            doc(r#""accepted-protocol": ["TLSv1.3"]"#),
            "/accepted-protocol",
            Some("accepted-protocols"),
        ),
        (
            policy(
                r#"{"name": "p", "required-credentials": [{"field": "CN", "must-match": "a", "comment": "x"}]}"#,
            ),
            "/authorized-peers/0/required-credentials/0/comment",
            None,
        ),
    ];
    for (json, pointer, suggestion) in warnings {
        let (_, diagnostics) = accept(&json);
        let found: Vec<_> = diagnostics.with_code("unknown-key").collect();
        assert_eq!(found.len(), 1, "{json}: {found:?}");
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(
            found[0].location.as_ref().expect("located").to_string(),
            pointer
        );
        assert!(found[0].message.contains("is ignored"), "{}", found[0]);
        if let Some(s) = suggestion {
            assert!(
                found[0].message.contains(&format!("did you mean \"{s}\"")),
                "{}",
                found[0]
            );
        }
        assert!(!diagnostics.has_errors());
    }
}

#[test]
fn hostname_flag_in_the_wrong_place_is_called_out() {
    let json = format!(
        r#"{{"files": {{"ca-certificates": "/a", "certificates": "/b", "private-key": "/c", "disable-hostname-validation": true}},
            "authorized-peers": [{{"name": "p", "disable-hostname-validation": true, {CRED}}}]}}"#
    );
    let (options, diagnostics) = accept(&json);
    assert!(
        !options.disable_hostname_validation,
        "a misplaced flag must not take effect"
    );
    let pointers: Vec<String> = diagnostics
        .with_code("misplaced-key")
        .map(|d| d.location.as_ref().expect("located").to_string())
        .collect();
    assert_eq!(
        pointers,
        [
            "/files/disable-hostname-validation",
            "/authorized-peers/0/disable-hostname-validation"
        ]
    );
    assert!(
        diagnostics
            .with_code("misplaced-key")
            .all(|d| d.message.contains("move it to the top level"))
    );
}

#[test]
fn null_is_absent_only_where_documented() {
    let json = policy(&format!(r#"{{"name": "a", "description": null, {CRED}}}"#));
    let (options, diagnostics) = accept(&json);
    let peers = options.authorized_peers.expect("peers");
    assert_eq!(peers.policies()[0].description, None);
    let (options, more) = accept(&doc(
        r#""accepted-ciphers": null, "accepted-protocols": null, "disable-hostname-validation": null"#,
    ));
    assert_eq!(options.accepted_ciphers, None);
    assert_eq!(options.accepted_protocols, None);
    assert!(!options.disable_hostname_validation);
    let nulls: Vec<String> = diagnostics
        .iter()
        .chain(more.iter())
        .filter(|d| d.code == "null-as-absent")
        .map(|d| d.location.as_ref().expect("located").to_string())
        .collect();
    assert_eq!(
        nulls,
        [
            "/authorized-peers/0/description",
            "/accepted-ciphers",
            "/accepted-protocols",
            "/disable-hostname-validation"
        ]
    );
    // An unknown key's null is just an unknown key.
    let (_, unknown) = accept(&doc(r#""extra": null"#));
    assert_eq!(unknown.with_code("unknown-key").count(), 1);
}

#[test]
fn ciphers_are_narrowed_and_unknown_names_dropped() {
    let (options, diagnostics) = accept(&doc(
        r#""accepted-ciphers": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA25"]"#,
    ));
    assert_eq!(
        options.accepted_ciphers.as_deref(),
        Some(
            &[
                CipherSuite::EcdheRsaWithAes128GcmSha256,
                CipherSuite::Tls13Aes256GcmSha384
            ][..]
        )
    );
    let unknown: Vec<_> = diagnostics.with_code("unknown-cipher").collect();
    assert_eq!(unknown.len(), 2);
    assert_eq!(
        unknown[0].location.as_ref().expect("located").to_string(),
        "/accepted-ciphers/1"
    );
    assert!(
        unknown[1]
            .message
            .contains("did you mean \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"")
    );
    assert_eq!(diagnostics.with_code("duplicate-value").count(), 1);
    assert_eq!(
        diagnostics
            .with_code("cross-stack-accepted-ciphers")
            .count(),
        1
    );
}

#[test]
fn protocols_are_narrowed_and_unknown_values_dropped() {
    let (options, diagnostics) = accept(&doc(
        r#""accepted-protocols": ["TLSv1.1", "TLSv1.3", "SSLv3"]"#,
    ));
    assert_eq!(
        options.accepted_protocols.as_deref(),
        Some(&[TlsProtocol::Tls13][..])
    );
    assert_eq!(diagnostics.with_code("unknown-protocol").count(), 2);
    assert_eq!(
        diagnostics
            .with_code("cross-stack-accepted-protocols")
            .count(),
        1
    );
}

#[test]
fn every_cipher_and_protocol_name_round_trips() {
    for suite in CipherSuite::ALL {
        assert_eq!(CipherSuite::from_name(suite.as_str()), Some(suite));
    }
    assert_eq!(
        CipherSuite::ALL
            .iter()
            .filter(|c| c.protocol() == TlsProtocol::Tls13)
            .count(),
        3
    );
    for protocol in TlsProtocol::ALL {
        assert_eq!(TlsProtocol::from_name(protocol.as_str()), Some(protocol));
    }
    for field in CredentialField::ALL {
        assert_eq!(CredentialField::from_name(field.as_str()), Some(field));
    }
}

#[test]
fn relative_paths_are_accepted_with_a_warning() {
    let (options, diagnostics) = accept(
        r#"{"files": {"ca-certificates": "ca.pem", "certificates": "./host.pem", "private-key": "/k"}}"#,
    );
    assert_eq!(options.files.ca_certificates.to_str(), Some("ca.pem"));
    let found: Vec<String> = diagnostics
        .with_code("relative-path")
        .map(|d| d.location.as_ref().expect("located").to_string())
        .collect();
    assert_eq!(found, ["/files/ca-certificates", "/files/certificates"]);
}

#[test]
fn cross_stack_pattern_notes() {
    let json = policy(
        r#"{"name": "a", "required-credentials": [
            {"field": "CN", "must-match": "*"},
            {"field": "SAN_DNS", "must-match": "*.*.*.*"},
            {"field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com"},
            {"field": "SAN_URI", "must-match": "*"},
            {"field": "SAN_URI", "must-match": "vespa://myapp/*"}]}"#,
    );
    let (_, diagnostics) = accept(&json);
    let empty_cn: Vec<String> = diagnostics
        .with_code("cross-stack-empty-cn")
        .map(|d| d.location.as_ref().expect("located").to_string())
        .collect();
    assert_eq!(
        empty_cn,
        ["/authorized-peers/0/required-credentials/0/must-match"]
    );
    let pooled: Vec<String> = diagnostics
        .with_code("cross-stack-san-pooling")
        .map(|d| d.location.as_ref().expect("located").to_string())
        .collect();
    assert_eq!(
        pooled,
        [
            "/authorized-peers/0/required-credentials/1/must-match",
            "/authorized-peers/0/required-credentials/3/must-match"
        ]
    );
}

#[test]
fn hostile_inputs_error_without_panicking() {
    let deep = "[".repeat(100_000);
    assert!(matches!(parse(&deep), Err(ConfigError::Syntax { .. })));
    let deep_objects = "{\"a\":".repeat(10_000);
    let err = parse(&deep_objects).expect_err("deep nesting");
    assert!(err.to_string().contains("nesting is too deep"), "{err}");
    let huge = format!(
        r#"{{"files": {{"ca-certificates": "/{}", "certificates": "/b", "private-key": "/c"}}}}"#,
        "x".repeat(8 << 20)
    );
    let (options, _) = accept(&huge);
    assert_eq!(
        options.files.ca_certificates.as_os_str().len(),
        (8 << 20) + 1
    );
    let huge_key = doc(&format!(r#""{}": 1"#, "k".repeat(1 << 20)));
    let (_, diagnostics) = accept(&huge_key);
    assert_eq!(diagnostics.with_code("unknown-key").count(), 1);
    for cut in [1, 10, 40, 80, 120] {
        let full = doc(r#""disable-hostname-validation": true"#);
        let truncated = &full.as_bytes()[..cut.min(full.len() - 1)];
        assert!(
            parse_slice(truncated).is_err(),
            "truncated at {cut} must fail"
        );
    }
    for bytes in [
        &b"\xff\xfe{}"[..],
        b"\x00",
        b"{\"files\"\xc3\x28: 1}",
        b"\"\\ud800\"",
    ] {
        assert!(parse_slice(bytes).is_err(), "{bytes:?} must fail");
    }
}
