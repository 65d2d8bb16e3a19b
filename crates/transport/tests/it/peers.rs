//! Real peers that do what our own client never does.
//!
//! Resumption: `openssl s_client` (`-sess_out`, then `-sess_in`) and a Java (JSSE) client offer
//! to resume; our server must run a full handshake every time, so the verifier and the
//! authorization rules see every connection, and hand out no tickets.
//!
//! Foreign CAs: the client trusts the server but its own certificate comes from a CA the server
//! does not trust, so the refusal can only come from the server's chain check (and the mirror
//! case for our client against `openssl s_server`).
//!
//! A missing `openssl`, `java` or `javac` skips the test that needs it, with the reason printed.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{LIMIT, source};
use rustls::{AlertDescription, CertificateError, HandshakeKind};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use vespa_tls_config::{Files, MixedMode, TlsProtocol};
use vespa_tls_context::TlsContext;
use vespa_tls_pki::{CaParams, CertificateAuthority, write_node_files};
use vespa_tls_testkit::{
    Accepted, Openssl, SServer, Seen, Server, TestConfig, TestPki, openssl_peer_args,
};
use vespa_tls_transport::{Acceptor, Connector, TransportError};

/// A JVM starts slowly on a busy two-core machine; `javac` even more so.
const JVM_LIMIT: Duration = Duration::from_secs(120);

/// A TLS-only echo server on 127.0.0.1 that takes exactly `connections` connections.
async fn serve(ctx: &Arc<TlsContext>, connections: usize) -> Server {
    let acceptor = Acceptor::new(source(Some(ctx)), MixedMode::TlsClientTlsServer)
        .with_handshake_timeout(LIMIT);
    Server::echo(acceptor)
        .connections(connections)
        .idle_limit(LIMIT)
        .start()
        .await
        .expect("bind loopback")
}

/// What a client process printed.
#[derive(Debug)]
struct Run {
    stdout: String,
    stderr: String,
    /// Whether the expected echo line came back.
    echoed: bool,
}

impl Run {
    fn output(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// Runs a client to its exit. With `exchange = Some((send, expect))` it writes `send` to the
/// client's stdin and closes stdin once a line ending in `expect` comes back (s_client then ends
/// the connection and exits); with `None` stdin is empty.
///
/// "Ending in": s_client writes received data straight to stdout but buffers what it prints
/// about tickets, so the echo can land in the middle of one of those lines.
async fn run(mut command: Command, exchange: Option<(&str, &str)>, limit: Duration) -> Run {
    command
        .stdin(if exchange.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the client starts");
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = collect(child.stderr.take().expect("stderr"));
    if let (Some(input), Some((text, _))) = (stdin.as_mut(), exchange) {
        // A client that already gave up is judged by what it printed, not by this write.
        let _ = input.write_all(text.as_bytes()).await;
        let _ = input.flush().await;
    }
    let mut lines = BufReader::new(stdout).lines();
    let mut out = String::new();
    let mut echoed = false;
    let finished = timeout(limit, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if !echoed && exchange.is_some_and(|(_, expect)| line.ends_with(expect)) {
                echoed = true;
                stdin = None;
            }
            out.push_str(&line);
            out.push('\n');
        }
        child.wait().await
    })
    .await;
    let stderr = text_of(stderr).await;
    assert!(
        finished.is_ok(),
        "the client did not exit within {limit:?}\nstdout:\n{out}\nstderr:\n{stderr}"
    );
    Run {
        stdout: out,
        stderr,
        echoed,
    }
}

fn collect<R: AsyncRead + Unpin + Send + 'static>(mut reader: R) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes).await;
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

async fn text_of(task: JoinHandle<String>) -> String {
    match timeout(LIMIT, task).await {
        Ok(Ok(text)) => text,
        _ => String::from("(no output collected)"),
    }
}

/// `openssl s_client` dialling `port` as `localhost`, trusting `ca`, presenting `identity`.
fn s_client(port: u16, ca: &Path, identity: &Files, extra: &[&str]) -> Command {
    let mut command = Command::new("openssl");
    command
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost", "-verify_return_error"])
        .args(openssl_peer_args(identity, ca))
        .args(extra);
    command
}

/// s_client's connection summary: `New, TLSv1.3, Cipher is …` or `Reused, TLSv1.3, …`.
fn summary(run: &Run) -> &str {
    run.stdout
        .lines()
        .find(|line| line.starts_with("New, ") || line.starts_with("Reused, "))
        .unwrap_or_else(|| panic!("no New/Reused line\n{}", run.output()))
}

/// `openssl s_server -Verify 1 -rev -naccept 1` presenting `identity` and trusting `ca`.
async fn s_server(identity: &Files, ca: &Path) -> SServer {
    SServer::start_async(identity, ca, Some(1), LIMIT)
        .await
        .expect("s_server listens")
}

/// Waits (bounded) for `server` to exit after its one connection; returns stdout and stderr.
async fn finish(server: SServer) -> String {
    server
        .finish_async(LIMIT)
        .await
        .expect("s_server exits after its one connection")
}

fn rustls_error_in(error: &std::io::Error) -> Option<&rustls::Error> {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
}

/// The chain check refused the peer: rustls reports an unknown issuer.
#[track_caller]
fn assert_unknown_issuer(error: &TransportError) {
    assert!(
        matches!(
            error.rustls_error(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "expected a chain refusal (UnknownIssuer), got {error:?}"
    );
}

/// The protocol version a test pins on its client.
#[derive(Debug, Clone, Copy)]
enum Tls {
    V12,
    V13,
}

impl Tls {
    /// As `openssl s_client` takes it.
    fn flag(self) -> &'static str {
        match self {
            Tls::V12 => "-tls1_2",
            Tls::V13 => "-tls1_3",
        }
    }

    /// As Vespa's `accepted-protocols`, JSSE and s_client's summary name it.
    fn name(self) -> &'static str {
        match self {
            Tls::V12 => "TLSv1.2",
            Tls::V13 => "TLSv1.3",
        }
    }

    /// A config member that pins our context to this version.
    fn protocol(self) -> TlsProtocol {
        match self {
            Tls::V12 => TlsProtocol::Tls12,
            Tls::V13 => TlsProtocol::Tls13,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resumption
// ---------------------------------------------------------------------------------------------

/// Saves a real, resumable session (a TLS 1.2 session ID and ticket; a TLS 1.3 ticket) from an
/// `openssl s_server` with the same identity as our server, for a client to offer to ours.
async fn session_from_openssl(pki: &TestPki, tls: Tls, path: &Path) {
    let files = pki.server().files();
    let server = s_server(files, &files.ca_certificates).await;
    let mut command = s_client(
        server.address.port(),
        &pki.client().files().ca_certificates,
        pki.client().files(),
        &[tls.flag(), "-sess_out"],
    );
    command.arg(path);
    let run = run(command, Some(("offer-me\n", "em-reffo")), LIMIT).await;
    assert!(run.echoed, "s_server answered\n{}", run.output());
    finish(server).await;
    assert!(path.exists(), "s_server handed out a session to offer");
}

/// Two s_client runs against one server: the first saves its session (`-sess_out`), the second
/// offers it (`-sess_in`). Both must be full handshakes, and no ticket may arrive.
async fn s_client_cannot_resume(tls: Tls) {
    let version = tls.name();
    let pki = TestPki::new().expect("test PKI");
    let files = pki.client().files();
    let ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let server = serve(&ctx, 2).await;
    let address = server.address;
    let saved = pki.dir().join("session.pem");

    let mut first = s_client(address.port(), &files.ca_certificates, files, &[tls.flag()]);
    first.arg("-sess_out").arg(&saved);
    let first = run(
        first,
        Some(("first-connection\n", "first-connection")),
        LIMIT,
    )
    .await;
    assert!(first.echoed, "{version}: first echo\n{}", first.output());
    assert!(
        summary(&first).starts_with(&format!("New, {version},")),
        "{version}: {}",
        summary(&first)
    );
    // A TLS 1.3 ticket prints "Post-Handshake New Session Ticket arrived:" and the session with
    // its ticket; a TLS 1.2 ticket shows as "TLS session ticket:" in the session s_client prints.
    for ticket in ["New Session Ticket", "TLS session ticket"] {
        assert!(
            !first.stdout.contains(ticket),
            "{version}: the server sent a session ticket\n{}",
            first.output()
        );
    }

    // s_client saves a session only if it can be resumed (it carries a session ID or a ticket).
    // Our server hands out neither, so then the second client offers a real session from an
    // openssl server with the same identity instead: either way it tries to resume.
    let offered = if saved.exists() {
        saved
    } else {
        let foreign = pki.dir().join("openssl-session.pem");
        session_from_openssl(&pki, tls, &foreign).await;
        foreign
    };
    let mut second = s_client(address.port(), &files.ca_certificates, files, &[tls.flag()]);
    second.arg("-sess_in").arg(&offered);
    let second = run(
        second,
        Some(("second-connection\n", "second-connection")),
        LIMIT,
    )
    .await;
    assert!(second.echoed, "{version}: second echo\n{}", second.output());
    assert!(
        summary(&second).starts_with(&format!("New, {version},")),
        "{version}: the second connection must be a full handshake, s_client says {:?}",
        summary(&second)
    );

    let served = server.finish(LIMIT).await;
    assert_two_full_handshakes(&served, &ctx, version);
}

#[track_caller]
fn assert_two_full_handshakes(served: &[Seen], ctx: &TlsContext, version: &str) {
    let full = |seen: &Seen| {
        matches!(
            seen,
            Seen::Accepted(Accepted {
                handshake: Some(HandshakeKind::Full),
                ..
            })
        )
    };
    assert!(
        served.len() == 2 && served.iter().all(full),
        "{version}: the server saw {served:?}"
    );
    let counters = ctx.metrics().snapshot().server;
    assert_eq!(counters.tls_connections, 2, "{version}");
    assert_eq!(counters.failed_tls_handshakes, 0, "{version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_offering_a_tls_1_2_session_gets_a_full_handshake() {
    if Openssl::or_skip().is_some() {
        s_client_cannot_resume(Tls::V12).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_offering_a_tls_1_3_session_gets_a_full_handshake() {
    if Openssl::or_skip().is_some() {
        s_client_cannot_resume(Tls::V13).await;
    }
}

/// One field of ResumeProbe's output: `connection=2 protocol=TLSv1.3 echoed=true chain_checks=1 …`.
fn probe_field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// The directory holding ResumeProbe.class, compiled from this source for this JVM: `None`
/// (with the reason printed) when `java` or `javac` is missing.
///
/// `javac` takes seconds, so the classes are kept under the target directory in a directory
/// named by a hash of the source and of `java -version`; a miss compiles into a directory of
/// this process and renames it into place (when two tests compile at once, the first rename
/// wins and the second test uses its classes).
async fn resume_probe_classes() -> Option<PathBuf> {
    const SOURCE: &str = include_str!("java/ResumeProbe.java");
    let jvm = tool_version("java")?;
    let mut hasher = DefaultHasher::new();
    (SOURCE, jvm).hash(&mut hasher);
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let classes = root.join(format!("resume-probe-{:016x}", hasher.finish()));
    let class = |dir: &Path| dir.join("ResumeProbe.class");
    if class(&classes).exists() {
        return Some(classes);
    }
    tool_version("javac")?;
    let staging = root.join(format!(".resume-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("class dir");
    let source_file = staging.join("ResumeProbe.java");
    std::fs::write(&source_file, SOURCE).expect("write source");
    let mut javac = Command::new("javac");
    javac.arg("-d").arg(&staging).arg(&source_file);
    let compiled = run(javac, None, JVM_LIMIT).await;
    assert!(
        class(&staging).exists(),
        "javac failed\n{}",
        compiled.output()
    );
    if std::fs::rename(&staging, &classes).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(
        class(&classes).exists(),
        "{} holds no ResumeProbe.class",
        classes.display()
    );
    Some(classes)
}

/// What `tool -version` prints, or `None` (with the reason printed) when it cannot run.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn tool_version(tool: &str) -> Option<String> {
    match std::process::Command::new(tool)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) if output.status.success() => Some(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
        _ => {
            eprintln!("skipped: {tool} not found");
            None
        }
    }
}

/// Runs ResumeProbe (see [`resume_probe_classes`]) against our server: two connections from
/// one SSLContext, which offers the first session on the second connection.
async fn java_cannot_resume(tls: Tls) {
    let Some(classes) = resume_probe_classes().await else {
        return;
    };
    let version = tls.name();
    let pki = TestPki::new().expect("test PKI");
    let files = pki.client().files();
    let ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let server = serve(&ctx, 2).await;
    let address = server.address;
    let mut java = Command::new("java");
    // Start-up flags only (no JIT beyond the first tier, one GC thread): JSSE is unchanged.
    java.args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"])
        .arg("-cp")
        .arg(&classes)
        .arg("ResumeProbe")
        .arg(address.port().to_string())
        .arg(version)
        .arg(&files.certificates)
        .arg(&files.private_key)
        .arg(&files.ca_certificates);
    let probe = run(java, None, JVM_LIMIT).await;
    let lines: Vec<&str> = probe
        .stdout
        .lines()
        .filter(|l| l.starts_with("connection="))
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "{version}: two connections\n{}",
        probe.output()
    );
    for line in &lines {
        assert_eq!(probe_field(line, "protocol"), version, "{line}");
        assert_eq!(probe_field(line, "echoed"), "true", "{line}");
        // A resumed handshake skips the trust manager: 0 checks.
        assert_eq!(
            probe_field(line, "chain_checks"),
            "1",
            "{version}: a full handshake verifies the server's chain: {line}"
        );
    }
    assert_eq!(
        probe_field(lines[1], "same_session_id"),
        "false",
        "{version}"
    );

    let served = server.finish(LIMIT).await;
    assert_two_full_handshakes(&served, &ctx, version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_client_reconnecting_over_tls_1_2_gets_a_full_handshake() {
    java_cannot_resume(Tls::V12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_client_reconnecting_over_tls_1_3_gets_a_full_handshake() {
    java_cannot_resume(Tls::V13).await;
}

// ---------------------------------------------------------------------------------------------
// Foreign CAs
// ---------------------------------------------------------------------------------------------

/// A localhost node issued by a CA of its own, with another name and key than the test PKI's
/// (two `TestPki`s share their CA's name, which makes webpki report a bad signature rather than
/// an unknown issuer). Written into `pki.dir()/<name>/`; its `ca-certificates` is its own CA.
fn stranger(pki: &TestPki, name: &str) -> Files {
    let ca = CertificateAuthority::new_root(&CaParams::new(
        "another CA, not the test PKI's",
        pki.validity(),
    ))
    .expect("another CA");
    let issued = ca
        .issue(&pki.localhost_params(&format!("{name}.localhost")))
        .expect("a node of the other CA");
    write_node_files(&pki.dir().join(name), name, &issued, &ca.ca_bundle_pem())
        .expect("write the node's files")
        .files
}

/// A stranger whose `ca-certificates` also holds the test PKI's CA: it trusts our servers, but
/// our servers do not trust it.
fn trusting_stranger(pki: &TestPki) -> Files {
    let files = stranger(pki, "stranger");
    let read = |p: &PathBuf| std::fs::read_to_string(p).expect("read CA file");
    let both = format!(
        "{}{}",
        read(&files.ca_certificates),
        read(&pki.server().files().ca_certificates)
    );
    let ca_certificates = files.ca_certificates.with_file_name("both-cas.pem");
    std::fs::write(&ca_certificates, both).expect("write CA bundle");
    Files {
        ca_certificates,
        ..files
    }
}

/// (a) Our connector, trusting our server's CA but holding a certificate from another CA,
/// against our acceptor: the server's chain check must refuse it.
async fn server_refuses_our_stranger(tls: Tls) {
    let version = tls.name();
    let pki = TestPki::new().expect("test PKI");
    let stranger = trusting_stranger(&pki);
    let server_ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let client_ctx = Arc::new(
        TestConfig::new(&stranger)
            .accepted_protocols([tls.protocol()])
            .context(),
    );
    let server = serve(&server_ctx, 1).await;
    let address = server.address;
    let connector = Connector::new(source(Some(&client_ctx)), MixedMode::TlsClientTlsServer)
        .with_handshake_timeout(LIMIT);

    // TLS 1.2: the server's alert ends the handshake. TLS 1.3: the client is done with its
    // handshake before the server has looked at its certificate; the alert comes on read.
    let client_error = match timeout(LIMIT, connector.connect_tcp(address, "localhost"))
        .await
        .expect("bounded")
    {
        Err(TransportError::Handshake { error, .. }) => rustls_error_in(&error).cloned(),
        Err(other) => panic!("{version}: unexpected client error {other:?}"),
        Ok((mut stream, _)) => {
            let _ = stream.write_all(b"must not echo\n").await;
            let _ = stream.flush().await;
            let mut buf = [0u8; 64];
            match timeout(LIMIT, stream.read(&mut buf))
                .await
                .expect("bounded")
            {
                Ok(n) => panic!("{version}: the server answered with {n} bytes"),
                Err(error) => rustls_error_in(&error).cloned(),
            }
        }
    };
    // The client trusted the server; the refusal is the server's.
    assert_eq!(
        client_error,
        Some(rustls::Error::AlertReceived(AlertDescription::UnknownCA)),
        "{version}"
    );
    assert_eq!(
        client_ctx
            .metrics()
            .snapshot()
            .client
            .invalid_peer_credentials,
        0,
        "{version}"
    );

    let served = server.finish(LIMIT).await;
    let [Seen::Failed(error)] = served.as_slice() else {
        panic!("{version}: the server saw {served:?}")
    };
    assert_unknown_issuer(error);
    let counters = server_ctx.metrics().snapshot().server;
    assert_eq!(counters.failed_tls_handshakes, 1, "{version}");
    assert_eq!(counters.tls_connections, 0, "{version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_refuses_our_client_of_another_ca_over_tls_1_2() {
    server_refuses_our_stranger(Tls::V12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_refuses_our_client_of_another_ca_over_tls_1_3() {
    server_refuses_our_stranger(Tls::V13).await;
}

/// (b) s_client, trusting our server's CA but presenting a certificate from another CA,
/// against our acceptor: the server's chain check must refuse it.
async fn server_refuses_s_client_stranger(tls: Tls) {
    let version = tls.name();
    let pki = TestPki::new().expect("test PKI");
    let stranger = stranger(&pki, "stranger");
    let ctx = Arc::new(TestConfig::new(pki.server().files()).context());
    let server = serve(&ctx, 1).await;
    let address = server.address;
    let command = s_client(
        address.port(),
        &pki.server().files().ca_certificates,
        &stranger,
        &[tls.flag()],
    );
    let client = run(command, Some(("must not echo\n", "must not echo")), LIMIT).await;
    assert!(
        !client.echoed,
        "{version}: data flowed\n{}",
        client.output()
    );
    // s_client verified our server (depth 0 is the leaf) and then heard the server's alert.
    assert!(
        client.stderr.contains("depth=0") && !client.stderr.contains("verify error"),
        "{version}: s_client did not accept our server\n{}",
        client.output()
    );
    assert!(
        client.output().contains("alert unknown ca"),
        "{version}: s_client heard no unknown-CA alert\n{}",
        client.output()
    );

    let served = server.finish(LIMIT).await;
    let [Seen::Failed(error)] = served.as_slice() else {
        panic!("{version}: the server saw {served:?}")
    };
    assert_unknown_issuer(error);
    let counters = ctx.metrics().snapshot().server;
    assert_eq!(counters.failed_tls_handshakes, 1, "{version}");
    assert_eq!(counters.tls_connections, 0, "{version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_refuses_s_client_of_another_ca_over_tls_1_2() {
    if Openssl::or_skip().is_some() {
        server_refuses_s_client_stranger(Tls::V12).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_refuses_s_client_of_another_ca_over_tls_1_3() {
    if Openssl::or_skip().is_some() {
        server_refuses_s_client_stranger(Tls::V13).await;
    }
}

/// (c) Our connector against `openssl s_server -Verify 1` that trusts our client's CA but
/// presents a certificate from another CA: our client's chain check must refuse it.
async fn client_refuses_s_server_stranger(tls: Tls) {
    let version = tls.name();
    let pki = TestPki::new().expect("test PKI");
    let stranger = stranger(&pki, "stranger-server");
    let server = s_server(&stranger, &pki.client().files().ca_certificates).await;
    let ctx = Arc::new(
        TestConfig::new(pki.client().files())
            .accepted_protocols([tls.protocol()])
            .context(),
    );
    let connector = Connector::new(source(Some(&ctx)), MixedMode::TlsClientTlsServer)
        .with_handshake_timeout(LIMIT);
    let result = timeout(LIMIT, connector.connect_tcp(server.address, "localhost"))
        .await
        .expect("bounded");
    let error = match result {
        Ok((_, auth)) => panic!(
            "{version}: our client accepted {:?}",
            auth.peer_credentials()
        ),
        Err(error) => error,
    };
    assert_unknown_issuer(&error);
    let counters = ctx.metrics().snapshot().client;
    assert_eq!(counters.failed_tls_handshakes, 1, "{version}");
    assert_eq!(counters.tls_connections, 0, "{version}");

    let output = finish(server).await;
    assert!(
        output.contains("alert unknown ca"),
        "{version}: s_server heard no unknown-CA alert from our client\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_refuses_s_server_of_another_ca_over_tls_1_2() {
    if Openssl::or_skip().is_some() {
        client_refuses_s_server_stranger(Tls::V12).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_refuses_s_server_of_another_ca_over_tls_1_3() {
    if Openssl::or_skip().is_some() {
        client_refuses_s_server_stranger(Tls::V13).await;
    }
}
