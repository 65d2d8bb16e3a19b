//! The servers under comparison, each a child process on loopback, and the checks that they do
//! equal work (name check, no tickets, only their own certificate sent).

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vespa_tls_testkit::{Served, clear_tls_env};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running server (testkit's [`Served`]); killed when dropped.
pub(crate) struct Peer {
    pub(crate) pid: u32,
    pub(crate) address: SocketAddr,
    /// A second listening address (haproxy's plaintext relay frontend).
    pub(crate) second_address: Option<SocketAddr>,
    process: Served,
}

impl Peer {
    /// The last lines the server wrote on stderr (for error messages).
    pub(crate) fn stderr_tail(&self) -> String {
        self.process.stderr_tail(5)
    }
}

/// The credential files of one node.
#[derive(Debug, Clone)]
pub(crate) struct NodePaths {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// The programs the comparison runs.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub(crate) vespa_tls: PathBuf,
    pub(crate) bare_server: PathBuf,
    /// The axum app on our `http::Listener`; `Err(reason)` skips the HTTP/2 rows.
    pub(crate) axum_listener: Result<PathBuf, String>,
    /// `Err(reason)` when the peer is skipped.
    pub(crate) openssl: Result<PathBuf, String>,
    pub(crate) haproxy: Result<PathBuf, String>,
}

/// Finds `name` on `PATH`.
pub(crate) fn which(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("`{name}` is not on PATH"))
}

/// A command with none of the parent's `VESPA_TLS_*` variables, and `OPENSSL_CONF` removed.
fn clean(program: &Path) -> Command {
    let mut command = Command::new(program);
    clear_tls_env(&mut command).env_remove("OPENSSL_CONF");
    command
}

/// Starts a server that prints `{"event":"listening","address":…}` on stdout.
fn spawn_listening(mut command: Command, name: &str) -> Result<Peer, String> {
    let process = Served::spawn(name, &mut command).map_err(|e| e.to_string())?;
    let listening = process
        .wait_listening(START_TIMEOUT)
        .map_err(|e| e.to_string())?;
    Ok(Peer {
        pid: process.id(),
        address: listening.address,
        second_address: None,
        process,
    })
}

/// A port that was free a moment ago (for servers that cannot report the port they bound).
pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts a server that listens on ports chosen for it, and waits until they accept.
fn spawn_on_ports(
    mut command: Command,
    name: &str,
    addresses: &[SocketAddr],
) -> Result<Peer, String> {
    let process = Served::spawn(name, &mut command).map_err(|e| e.to_string())?;
    let peer = Peer {
        pid: process.id(),
        address: addresses[0],
        second_address: addresses.get(1).copied(),
        process,
    };
    let started = Instant::now();
    for address in addresses {
        loop {
            if let Some(status) = peer.process.exit_status() {
                return Err(format!(
                    "{name}: exited with {status} before listening\n{}",
                    peer.stderr_tail()
                ));
            }
            if TcpStream::connect_timeout(address, Duration::from_millis(200)).is_ok() {
                break;
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{name}: not listening on {address} after {START_TIMEOUT:?}\n{}",
                    peer.stderr_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(peer)
}

/// `vespa-tls serve --protocol echo`, TLS with `config` (mixed mode if asked) or plaintext.
pub(crate) fn vespa_tls_serve(
    tools: &Tools,
    name: &str,
    config: Option<&Path>,
    mixed: bool,
) -> Result<Peer, String> {
    let mut command = clean(&tools.vespa_tls);
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--quiet",
        "--protocol",
        "echo",
    ]);
    if let Some(config) = config {
        command.env("VESPA_TLS_CONFIG_FILE", config);
    }
    if mixed {
        command.env("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_mixed_server");
    }
    spawn_listening(command, name)
}

/// The bare tokio-rustls baseline (`bare-server`).
pub(crate) fn bare_server(
    tools: &Tools,
    name: &str,
    node: &NodePaths,
    client_name: &str,
) -> Result<Peer, String> {
    spawn_listening(bare_command(tools, node, client_name), name)
}

/// `bare-server` on a loopback port with `node`'s files, checking the client's `client_name`.
fn bare_command(tools: &Tools, node: &NodePaths, client_name: &str) -> Command {
    let mut command = clean(&tools.bare_server);
    command
        .args(["--listen", "127.0.0.1:0", "--ca"])
        .arg(&node.ca)
        .arg("--cert")
        .arg(&node.cert)
        .arg("--key")
        .arg(&node.key)
        .args(["--client-name", client_name]);
    command
}

/// The HTTP/2 server on our listener (`axum-listener`), TLS-only with `config`.
pub(crate) fn axum_listener(program: &Path, name: &str, config: &Path) -> Result<Peer, String> {
    let mut command = clean(program);
    command
        .args(["--listen", "127.0.0.1:0"])
        .env("VESPA_TLS_CONFIG_FILE", config);
    spawn_listening(command, name)
}

/// The same axum app on bare tokio-rustls (`bare-server --http`).
pub(crate) fn bare_http_server(
    tools: &Tools,
    name: &str,
    node: &NodePaths,
    client_name: &str,
) -> Result<Peer, String> {
    let mut command = bare_command(tools, node, client_name);
    command.arg("--http");
    spawn_listening(command, name)
}

/// The OpenSSL config that turns TLS 1.3 session tickets off in every `SSL_CTX` (OpenSSL
/// applies `system_default` to each context it creates), for `s_server` and haproxy.
pub(crate) fn write_openssl_conf(dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join("openssl-no-tickets.cnf");
    let text = "\
# Written by the vespa-tls comparison: no TLS 1.3 session tickets, so no resumption.
openssl_conf = openssl_init

[openssl_init]
ssl_conf = ssl_section

[ssl_section]
system_default = system_default_section

[system_default_section]
NumTickets = 0
";
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// `openssl s_server`: client certificate required and verified (errors fatal), the client's
/// DNS name checked, `-rev` answers each line reversed, one connection at a time (s_server
/// is single-threaded), no tickets through `openssl_conf`.
pub(crate) fn s_server(
    openssl: &Path,
    node: &NodePaths,
    client_name: &str,
    openssl_conf: &Path,
) -> Result<Peer, String> {
    let address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let mut command = clean(openssl);
    command
        .env("OPENSSL_CONF", openssl_conf)
        .args(["s_server", "-accept", &address.to_string(), "-cert"])
        .arg(&node.cert)
        .arg("-key")
        .arg(&node.key)
        // Trust only our CA, for verifying clients; nothing from the system store.
        .arg("-verifyCAfile")
        .arg(&node.ca)
        .args([
            "-no-CAfile",
            "-no-CApath",
            "-no-CAstore",
            "-Verify",
            "1",
            "-verify_return_error",
            "-verify_quiet",
            "-verify_hostname",
            client_name,
            "-tls1_3",
            "-rev",
            "-quiet",
        ]);
    spawn_on_ports(command, "openssl s_server", &[address])
}

/// haproxy terminating mutual TLS in TCP mode in front of `backend` (a plaintext echo), with a
/// CN rule; and a second, plaintext frontend to the same backend (the relay's own cost).
pub(crate) fn haproxy(
    haproxy: &Path,
    node: &NodePaths,
    client_cn: &str,
    backend: SocketAddr,
    openssl_conf: &Path,
    dir: &Path,
) -> Result<Peer, String> {
    let tls = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let relay = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    // haproxy reads the certificate and its key from one file.
    let crt = dir.join("haproxy-server.pem");
    let mut pem = std::fs::read(&node.cert).map_err(|e| format!("{}: {e}", node.cert.display()))?;
    pem.extend(std::fs::read(&node.key).map_err(|e| format!("{}: {e}", node.key.display()))?);
    write_private(&crt, &pem)?;
    let config = format!(
        "\
# Written by the vespa-tls comparison.
global
    nbthread 2
    maxconn 8192
    tune.ssl.cachesize 0

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend mtls
    bind {tls} ssl crt {crt} ca-file {ca} verify required no-tls-tickets ssl-min-ver TLSv1.3
    tcp-request session reject unless {{ ssl_c_s_dn(cn) -m str {client_cn} }}
    default_backend echo

frontend relay
    bind {relay}
    default_backend echo

backend echo
    server echo {backend}
",
        crt = crt.display(),
        ca = node.ca.display(),
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).map_err(|e| format!("{}: {e}", path.display()))?;
    let check = clean(haproxy)
        .env("OPENSSL_CONF", openssl_conf)
        .args(["-c", "-q", "-f"])
        .arg(&path)
        .output()
        .map_err(|e| format!("haproxy -c: {e}"))?;
    if !check.status.success() {
        return Err(format!(
            "haproxy rejects its config: {}",
            String::from_utf8_lossy(&check.stderr).trim()
        ));
    }
    let mut command = clean(haproxy);
    command
        .env("OPENSSL_CONF", openssl_conf)
        // Foreground, one process (threads), no master.
        .args(["-db", "-f"])
        .arg(&path);
    spawn_on_ports(command, "haproxy", &[tls, relay])
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// What `openssl s_client -msg -showcerts` saw from a server in one connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WireCheck {
    pub(crate) new_session_tickets: usize,
    pub(crate) certificates_sent: usize,
    pub(crate) answered: bool,
}

/// Connects with `openssl s_client -msg -showcerts`, sends `x`, waits for the answer (at most
/// five seconds), and counts NewSessionTicket messages and the certificates the server sent.
pub(crate) fn s_client_check(
    openssl: &Path,
    address: SocketAddr,
    client: &NodePaths,
) -> Result<WireCheck, String> {
    let mut command = clean(openssl);
    command
        .args(["s_client", "-connect", &address.to_string()])
        .args(["-servername", "localhost", "-tls1_3", "-msg", "-showcerts"])
        .arg("-cert")
        .arg(&client.cert)
        .arg("-key")
        .arg(&client.key)
        .arg("-CAfile")
        .arg(&client.ca);
    let mut process =
        Served::spawn_with_stdin("openssl s_client", &mut command).map_err(|e| e.to_string())?;
    let _ = process.write_stdin(b"x\n");
    let answer = |line: &str| line.trim() == "x";
    let answered = process
        .wait_for_line("the answer", Duration::from_secs(5), answer)
        .is_ok();
    let (stdout, _) = process.kill_and_collect();
    let mut check = WireCheck {
        answered,
        ..WireCheck::default()
    };
    let mut in_chain = false;
    for line in stdout.lines().take_while(|line| !answer(line)) {
        if line.contains("NewSessionTicket") {
            check.new_session_tickets += 1;
        }
        if line.starts_with("Certificate chain") {
            in_chain = true;
        }
        if in_chain && line.contains("BEGIN CERTIFICATE") {
            check.certificates_sent += 1;
        }
        if line.starts_with("---") && check.certificates_sent > 0 {
            in_chain = false;
        }
    }
    Ok(check)
}
