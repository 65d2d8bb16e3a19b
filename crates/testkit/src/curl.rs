//! curl as a real HTTP/1.1 and HTTP/2 client: one request, with what it got.

use std::path::Path;
use std::process::{Command, Stdio};

/// The body of Vespa's `GET /state/v1/health` on a healthy process.
pub const HEALTH_UP: &str = r#"{"status":{"code":"up"}}"#;

/// The body Vespa's HTTP server answers a request whose peer lacks a required capability
/// with, status 403.
pub const MISSING_CAPABILITIES: &str =
    r#"{"error-code":"403","message":"Missing required capabilities"}"#;

/// Whether curl runs here; if not, prints `skipped: …`: the first line of a test that needs it.
#[expect(
    clippy::print_stdout,
    reason = "a skipped test says why, in the test output"
)]
pub fn curl_or_skip() -> bool {
    let found = Command::new("curl")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("skipped: curl is not installed (the CI script installs it)");
    }
    found
}

/// What curl got from one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurlReply {
    /// curl's exit code (0: a response arrived; 35, 56, …: the TLS handshake or the
    /// connection failed), -1 when killed by a signal.
    pub exit: i32,
    /// The HTTP version of the response as curl names it (`2`, `1.1`; `0` without one).
    pub version: String,
    /// The status code (`000` without a response).
    pub status: String,
    /// The response body.
    pub body: String,
}

/// `curl --silent --show-error --max-time 20 ARGS URL`, with the version and status of the
/// response read from `--write-out`. Blocks; from async code, run it on a blocking thread.
///
/// # Panics
///
/// When curl cannot be started (check [`curl_or_skip`] first).
pub fn curl(args: &[&str], url: &str) -> CurlReply {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(["--write-out", "\n%{http_version} %{http_code}"])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, trailer) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (version, status) = trailer.split_once(' ').unwrap_or(("", ""));
    CurlReply {
        exit: out.status.code().unwrap_or(-1),
        version: version.to_owned(),
        status: status.to_owned(),
        body: body.to_owned(),
    }
}

/// curl's arguments for a client identity: the CA bundle it trusts, its certificate and key.
pub fn curl_identity(ca: &Path, certificate: &Path, key: &Path) -> Vec<String> {
    let s = |p: &Path| p.to_string_lossy().into_owned();
    vec![
        "--cacert".into(),
        s(ca),
        "--cert".into(),
        s(certificate),
        "--key".into(),
        s(key),
    ]
}
