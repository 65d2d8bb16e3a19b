//! What ships beside the binary: `--version`, every command's examples, shell completions and
//! man pages.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::cli::{code, run, s, stderr, stdout};

/// The version Cargo.lock records for a package, read block by block.
fn locked_version(lock: &str, name: &str) -> String {
    lock.split("[[package]]")
        .find(|block| block.lines().any(|l| l == format!("name = \"{name}\"")))
        .and_then(|block| block.lines().find_map(|l| l.strip_prefix("version = ")))
        .unwrap_or_else(|| panic!("{name} in Cargo.lock"))
        .trim_matches('"')
        .to_owned()
}

#[test]
fn version_names_the_commit_and_the_tls_libraries() {
    let out = run(&["--version"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    assert_eq!(
        lines[0],
        format!("vespa-tls {}", env!("CARGO_PKG_VERSION")),
        "{text}"
    );
    let commit = lines[1].strip_prefix("commit ").expect("a commit line");
    match Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&root)
        .output()
    {
        Ok(git) if git.status.success() => {
            let head = String::from_utf8_lossy(&git.stdout);
            assert!(
                commit.len() == 12 && head.starts_with(commit),
                "{commit} is not HEAD {head}"
            );
        }
        _ => assert_eq!(commit, "unknown", "without git the commit is unknown"),
    }
    assert_eq!(
        lines[2],
        format!("rustls {}", locked_version(&lock, "rustls"))
    );
    assert_eq!(
        lines[3],
        format!(
            "aws-lc-rs {} (aws-lc-sys {})",
            locked_version(&lock, "aws-lc-rs"),
            locked_version(&lock, "aws-lc-sys")
        )
    );
    // -V stays one line, for scripts.
    assert_eq!(
        stdout(&run(&["-V"])).trim_end(),
        format!("vespa-tls {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The subcommand names a `--help` lists under "Commands:" (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_help_has_examples_and_exit_codes() {
    let mut pending = vec![Vec::<String>::new()];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run(&args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let help = stdout(&out);
        let examples = help
            .split_once("\nExamples:\n")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("{args:?} has no Examples section:\n{help}"));
        // Each example runs this command (the top level may show any).
        let invocation = format!("vespa-tls {}", path.join(" "));
        let lines: Vec<&str> = examples.lines().take_while(|l| !l.is_empty()).collect();
        assert!(!lines.is_empty(), "{args:?}");
        for line in lines {
            assert!(line.contains(invocation.trim_end()), "{args:?}: {line}");
        }
        assert!(help.contains("\nExit status:\n"), "{args:?}");
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
        seen.push(path.join(" "));
    }
    for expected in [
        "",
        "check",
        "ca",
        "ca init",
        "ca issue",
        "ca config",
        "completions",
        "man",
    ] {
        assert!(
            seen.iter().any(|p| p == expected),
            "{expected:?} in {seen:?}"
        );
    }
}

#[test]
fn bash_completion_parses_and_completes_ca_subcommands() {
    if Command::new("bash").arg("--version").output().is_err() {
        println!("skipped: bash not found");
        return;
    }
    let out = run(&["completions", "bash"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("vespa-tls.bash");
    std::fs::write(&script, &out.stdout).expect("write the completion");
    let syntax = Command::new("bash")
        .args(["-n", s(&script)])
        .output()
        .expect("bash -n");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // What bash does on `vespa-tls ca <TAB>`: the function `complete -p` names, called with
    // the command, the word being completed and the word before it.
    let complete = |line: &str| -> BTreeSet<String> {
        let driver = r#"
            source "$1"
            line="$2"
            read -r -a COMP_WORDS <<< "$line"
            [[ "$line" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMP_LINE="$line"
            COMP_POINT=${#line}
            function=$(complete -p vespa-tls | sed -n 's/.*-F \([^ ]*\).*/\1/p')
            "$function" vespa-tls "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}"
        "#;
        let out = Command::new("bash")
            .args(["-c", driver, "driver", s(&script), line])
            .output()
            .expect("bash runs the completion");
        assert!(
            out.status.success(),
            "{line:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let ca = complete("vespa-tls ca ");
    for sub in ["init", "issue", "config"] {
        assert!(ca.contains(sub), "{sub} in {ca:?}");
    }
    for other in ["check", "scan", "demo"] {
        assert!(!ca.contains(other), "{other} not in {ca:?}");
    }
    let top = complete("vespa-tls ");
    for sub in ["check", "ca", "completions"] {
        assert!(top.contains(sub), "{sub} in {top:?}");
    }
    let issue = complete("vespa-tls ca issue --key-type ");
    let expected: BTreeSet<String> = ["ecdsa-p256", "ecdsa-p384", "rsa-2048"]
        .map(str::to_owned)
        .into();
    assert_eq!(issue, expected);
}

#[test]
fn zsh_and_fish_completions_parse_where_those_shells_exist() {
    for (shell, check) in [
        ("zsh", ["-n"].as_slice()),
        ("fish", ["--no-execute"].as_slice()),
    ] {
        let out = run(&["completions", shell]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("vespa-tls"), "{shell}");
        if Command::new(shell).arg("--version").output().is_err() {
            println!("skipped: {shell} not found; its completion was generated but not parsed");
            continue;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("completion");
        std::fs::write(&script, &out.stdout).expect("write the completion");
        let parsed = Command::new(shell)
            .args(check)
            .arg(&script)
            .output()
            .expect("shell runs");
        assert!(
            parsed.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&parsed.stderr)
        );
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(code(&out), 2, "an unknown shell is a usage error");
}

#[test]
fn man_pages_cover_every_command_with_examples() {
    let dir = tempfile::tempdir().expect("temp dir");
    let man_dir = dir.path().join("man1");
    let out = run(&["man", "--dir", s(&man_dir)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let pages: BTreeSet<String> = std::fs::read_dir(&man_dir)
        .expect("man dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for page in [
        "vespa-tls.1",
        "vespa-tls-check.1",
        "vespa-tls-ca.1",
        "vespa-tls-ca-init.1",
        "vespa-tls-ca-issue.1",
        "vespa-tls-completions.1",
        "vespa-tls-demo.1",
        "vespa-tls-man.1",
    ] {
        assert!(pages.contains(page), "{page} in {pages:?}");
    }
    for page in &pages {
        let text = std::fs::read_to_string(man_dir.join(page)).expect("page");
        assert!(text.contains("\n.TH "), "{page}");
        assert!(text.contains("\n.SH \"EXAMPLES\"\n.nf\n"), "{page}");
        assert!(text.contains("\n.SH \"EXIT STATUS\"\n"), "{page}");
    }
    // man itself (groff) renders it, where installed.
    if Command::new("man").arg("--version").output().is_err() {
        println!("skipped: man not found; pages were written but not rendered");
        return;
    }
    let rendered = Command::new("man")
        .arg("-l")
        .arg(man_dir.join("vespa-tls-ca-issue.1"))
        .env("MANWIDTH", "200")
        .env("MAN_KEEP_FORMATTING", "")
        .output()
        .expect("man runs");
    assert!(rendered.status.success());
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        text.contains("vespa-tls ca issue --dir ca --name node1 --san-dns node1.example.com"),
        "{text}"
    );
}
