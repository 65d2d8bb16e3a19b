//! `Served`: waiting for a line, what a process that ends or hangs reports, kill on drop.

use std::process::Command;
use std::time::Duration;

use vespa_tls_testkit::{Served, ServedError, clear_tls_env};

const LIMIT: Duration = Duration::from_secs(10);

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

#[test]
fn the_listening_event_is_found_among_other_lines() {
    // The stderr line comes before the event: once the event is seen, the line is written and
    // killing the process cannot lose it.
    let served = Served::spawn(
        "server",
        &mut sh(r#"echo starting; echo log >&2; echo '{"event":"listening","address":"127.0.0.1:4080","tls":true}'; exec sleep 30"#),
    )
    .expect("sh starts");
    let listening = served.wait_listening(LIMIT).expect("listens");
    assert_eq!(listening.address.to_string(), "127.0.0.1:4080");
    assert_eq!(listening.event["tls"], true);
    assert!(served.exit_status().is_none(), "still running");
    let (stdout, stderr) = served.kill_and_collect();
    assert!(stdout.starts_with("starting\n"), "{stdout}");
    assert_eq!(stderr, "log\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_wait_finds_a_line_printed_later() {
    let served = Served::spawn(
        "server",
        &mut sh("sleep 0.2; echo 'ACCEPT 127.0.0.1:5'; exec sleep 30"),
    )
    .expect("sh starts");
    let line = served
        .wait_for_line_async("ACCEPT line", LIMIT, |l| l.starts_with("ACCEPT "))
        .await
        .expect("printed");
    assert_eq!(line, "ACCEPT 127.0.0.1:5");
}

#[test]
fn a_process_that_ends_first_says_how_and_shows_its_stderr() {
    let served =
        Served::spawn("broken", &mut sh("echo 'cannot bind' >&2; exit 3")).expect("sh starts");
    let error = served.wait_listening(LIMIT).expect_err("it never listens");
    assert!(matches!(error, ServedError::Ended { .. }), "{error:?}");
    let message = error.to_string();
    for part in [
        "broken: ended (exit status: 3) before listening event",
        "cannot bind",
    ] {
        assert!(message.contains(part), "{part:?} missing from {message:?}");
    }
}

#[test]
fn a_silent_process_times_out_and_is_killed_on_drop() {
    let served = Served::spawn("silent", &mut sh("exec sleep 30")).expect("sh starts");
    let pid = served.id();
    let error = served
        .wait_listening(Duration::from_millis(100))
        .expect_err("nothing printed");
    assert!(matches!(error, ServedError::Timeout { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("silent: no listening event within 100ms")
    );
    drop(served);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "killed and reaped"
    );
}

#[test]
fn stdin_can_be_written_and_closed() {
    let mut served = Served::spawn_with_stdin("cat", &mut Command::new("cat")).expect("cat starts");
    served.write_stdin(b"one\n").expect("write");
    served
        .wait_for_line("one", LIMIT, |l| l == "one")
        .expect("echoed by cat");
    served.close_stdin();
    let status = served.wait_exit(LIMIT).expect("cat exits at EOF");
    assert!(status.success());
    assert_eq!(served.stdout_lines(), ["one"]);
    assert_eq!(served.last_line(|_| true).as_deref(), Some("one"));
}

#[test]
fn a_spawn_that_fails_names_the_program() {
    let error = Served::spawn("missing", &mut Command::new("/nonexistent/program"))
        .expect_err("no such program");
    assert!(
        error.to_string().starts_with("missing: cannot start: "),
        "{error}"
    );
}

#[test]
fn the_tls_variables_are_removed() {
    let mut command = Command::new("true");
    clear_tls_env(&mut command);
    let removed: Vec<_> = command
        .get_envs()
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    for var in [
        "VESPA_TLS_CONFIG_FILE",
        "VESPA_TLS_INSECURE_MIXED_MODE",
        "VESPA_TLS_INSECURE_AUTHORIZATION_MODE",
        "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE",
    ] {
        assert!(removed.iter().any(|r| r == var), "{var} in {removed:?}");
    }
}
