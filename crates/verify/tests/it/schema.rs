//! `--json` output against its published JSON Schema (`docs/schemas/`), with a validator that is
//! not ours: Python's `jsonschema`. The CLI tests' `run` sends every `--json` output here.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

use crate::cli::{code, run, s, stderr, stdout};

/// The committed schemas.
fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas")
}

/// The validator: one Python process per test process, started at the first document and
/// fed one request per line (`{"schema": PATH, "documents": [...]}`), answering each with one
/// line, the list of violations. A test makes several `--json` calls, and starting Python and
/// importing `jsonschema` costs more than validating; the process ends when its stdin closes,
/// at the latest when the test process exits.
const VALIDATOR: &str = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    sys.exit(3)
print("ready", flush=True)
validators = {}
for line in sys.stdin:
    violations = []
    try:
        request = json.loads(line)
        path = request["schema"]
        if path not in validators:
            with open(path) as f:
                schema = json.load(f)
            jsonschema.Draft202012Validator.check_schema(schema)
            validators[path] = jsonschema.Draft202012Validator(schema)
        for index, document in enumerate(request["documents"]):
            for error in validators[path].iter_errors(document):
                where = "/" + "/".join(str(p) for p in error.absolute_path)
                violations.append(f"document {index}: {where}: {error.message}")
    except Exception as e:
        violations.append(f"the validator failed: {e!r}")
    print(json.dumps(violations), flush=True)
"#;

/// The running validator's pipes.
struct Validator {
    _child: Child,
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
}

/// The validator, if a Python with `jsonschema` (Debian's python3-jsonschema, or a pip
/// install) is found.
fn python() -> Option<&'static Mutex<Validator>> {
    static FOUND: OnceLock<Option<Mutex<Validator>>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            vespa_tls_testkit::python_with("jsonschema")
                .and_then(start)
                .map(Mutex::new)
        })
        .as_ref()
}

/// Starts the validator with `python`; `None` if it does not run or lacks `jsonschema`.
fn start(python: &str) -> Option<Validator> {
    let mut child = Command::new(python)
        .args(["-I", "-c", VALIDATOR])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let requests = child.stdin.take()?;
    let mut answers = BufReader::new(child.stdout.take()?);
    let mut greeting = String::new();
    if answers.read_line(&mut greeting).is_ok() && greeting.trim_end() == "ready" {
        return Some(Validator {
            _child: child,
            requests,
            answers,
        });
    }
    let _ = child.wait();
    None
}

/// The schema a command line's `--json` output follows: its command words joined by `-`;
/// `None` when it writes no document of ours (`ca config` without `--out` prints the config).
pub(crate) fn schema_for(args: &[&str]) -> Option<String> {
    if !args.contains(&"--json") {
        return None;
    }
    let words: Vec<&str> = args
        .iter()
        .copied()
        .take_while(|a| !a.starts_with('-'))
        .collect();
    match words.as_slice() {
        ["ca", "config", ..] if !args.contains(&"--out") => None,
        ["ca", sub, ..] => Some(format!("ca-{sub}")),
        [command, ..] => Some((*command).to_owned()),
        [] => None,
    }
}

/// Validates `--json` documents (each a whole JSON text) against `docs/schemas/<schema>.json`;
/// panics naming every violation. Without a Python `jsonschema`, says it skipped.
pub(crate) fn validate(schema: &str, documents: &[&str]) {
    let path = schema_dir().join(format!("{schema}.json"));
    assert!(
        path.is_file(),
        "{}: no schema; write it with `cargo xtask schemas`",
        path.display()
    );
    let Some(validator) = python() else {
        #[expect(
            clippy::print_stdout,
            reason = "the testkit's skip convention: a line starting with `skipped:`"
        )]
        {
            println!(
                "skipped: {schema} --json not validated: no python3 with jsonschema (apt-get install python3-jsonschema)"
            );
        }
        return;
    };
    let array = format!("[{}]", documents.join(","));
    let parsed: Value = serde_json::from_str(&array).expect("the documents are JSON");
    let request = json!({"schema": s(&path), "documents": parsed}).to_string();
    // A panic while the lock was held (an assertion below) leaves the pipes in step: the
    // answer was read before it.
    let mut validator = validator
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    writeln!(validator.requests, "{request}").expect("write to the validator");
    let mut answer = String::new();
    validator
        .answers
        .read_line(&mut answer)
        .expect("read the validator's answer");
    drop(validator);
    let violations: Vec<String> = serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("the validator answered {answer:?} ({e})"));
    assert!(
        violations.is_empty(),
        "{schema} --json output does not follow {}:\n{}\n{array}",
        path.display(),
        violations.join("\n"),
    );
}

#[test]
fn committed_schemas_are_what_the_types_generate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(&["json-schema", "--dir", s(dir.path())]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("schema dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let generated = names(dir.path());
    assert_eq!(
        generated,
        names(&schema_dir()),
        "docs/schemas/ is stale: run `cargo xtask schemas`"
    );
    for name in &generated {
        let fresh = std::fs::read_to_string(dir.path().join(name)).expect("generated");
        let committed = std::fs::read_to_string(schema_dir().join(name)).expect("committed");
        assert!(
            fresh == committed,
            "docs/schemas/{name} differs from what the types generate: run `cargo xtask schemas`"
        );
    }
    for expected in ["check.json", "ca-issue.json", "serve.json", "demo.json"] {
        assert!(generated.iter().any(|n| n == expected), "{expected}");
    }
}

#[test]
fn json_schema_prints_one_and_names_the_choices() {
    let out = run(&["json-schema", "ca-issue"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("a schema");
    assert_eq!(schema["$id"], "vespa-tls/ca-issue.json");
    assert_eq!(schema["required"][0], "schema_version");
    assert_eq!(schema["properties"]["schema_version"]["const"], 1);
    let out = run(&["json-schema", "frobnicate"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no --json output named \"frobnicate\"; one of: check, authz"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_document_that_breaks_its_schema_is_caught() {
    if python().is_none() {
        println!("skipped: no python3 with jsonschema (apt-get install python3-jsonschema)");
        return;
    }
    // The validator is live: a renamed field, a wrong type and a wrong version each fail.
    for broken in [
        r#"{"schema_version": 1, "writen": "/x"}"#,
        r#"{"schema_version": 1, "written": 7}"#,
        r#"{"schema_version": 2, "written": "/x"}"#,
    ] {
        let failed = std::panic::catch_unwind(|| validate("ca-config", &[broken]));
        assert!(failed.is_err(), "{broken} passed");
    }
    validate("ca-config", &[r#"{"schema_version": 1, "written": "/x"}"#]);
}

#[test]
fn schema_names_follow_the_command_words() {
    let table: [(&[&str], Option<&str>); 6] = [
        (&["check", "--config", "x", "--json"], Some("check")),
        (&["ca", "issue", "--dir", "d", "--json"], Some("ca-issue")),
        (&["ca", "config", "--dir", "d", "--json"], None),
        (&["ca", "config", "--out", "f", "--json"], Some("ca-config")),
        (&["demo", "--json"], Some("demo")),
        (&["demo"], None),
    ];
    for (args, expected) in table {
        assert_eq!(schema_for(args).as_deref(), expected, "{args:?}");
    }
}
