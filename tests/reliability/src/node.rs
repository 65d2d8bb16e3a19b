//! A cluster node as a separate process (`reliability-node`), for the rolling upgrade.
//!
//! The node is a small service on the library, configured only by the `VESPA_TLS_*`
//! environment, as a Vespa process is: one [`VespaTls`] handle, whose one reloading context
//! serves an echo server ([`Acceptor`](vespa_tls_transport::Acceptor)) and callers that send
//! checked requests to every peer ([`Connector`]).
//! Peers come from a file the orchestrator replaces atomically (`<version>` on the first line,
//! then `<name> <address>` lines), re-read before every call.
//!
//! It speaks JSON lines on stdout: `listening` (address, mode), `stats` every 200 ms (peer
//! calls, the peers-file version its in-flight calls use, every counter), `refused` (the
//! acceptor's refusals) and, when its stdin closes, a graceful stop (callers finish, the
//! listener closes, connections drain) then `stopped` with the final figures. The library's
//! log lines go to stderr.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vespa_tls_config::{CONFIG_FILE_VAR, MIXED_MODE_VAR, MixedMode};
use vespa_tls_testkit::{Served, Server, clear_tls_env, json_event};
use vespa_tls_transport::{Connector, TlsSource, VespaTls};

use crate::echo::{echo_server, request};
use crate::error::{NodeProblem, ScenarioError};
use crate::load::LoadStats;
use crate::payload::payload;

/// How often a node prints its `stats` event: often enough that a scenario waiting for a
/// figure waits for the traffic, not for the next line.
const STATS_EVERY: Duration = Duration::from_millis(50);

/// A rollout phase (docs/OPERATIONS.md, "Rolling TLS out without downtime").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// No TLS: `VESPA_TLS_CONFIG_FILE` unset.
    P0,
    /// `plaintext_client_mixed_server`.
    P1,
    /// `tls_client_mixed_server`.
    P2,
    /// `tls_client_tls_server`.
    P3,
}

impl Phase {
    /// Every phase, in rollout order.
    pub const ALL: [Phase; 4] = [Phase::P0, Phase::P1, Phase::P2, Phase::P3];

    /// The phase's number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The mixed mode, or `None` in phase 0 (TLS off).
    pub(crate) fn mixed_mode(self) -> Option<MixedMode> {
        match self {
            Phase::P0 => None,
            Phase::P1 => Some(MixedMode::PlaintextClientMixedServer),
            Phase::P2 => Some(MixedMode::TlsClientMixedServer),
            Phase::P3 => Some(MixedMode::TlsClientTlsServer),
        }
    }

    /// The environment a process of this phase gets (`config` is its TLS config file).
    pub fn env(self, config: &Path) -> Vec<(&'static str, OsString)> {
        match self.mixed_mode() {
            None => Vec::new(),
            Some(mode) => vec![
                (CONFIG_FILE_VAR, config.as_os_str().to_owned()),
                (MIXED_MODE_VAR, mode.as_str().into()),
            ],
        }
    }

    /// A connector for an in-process client in this phase, on `context`.
    pub fn connector(self, context: &Arc<vespa_tls_context::TlsContext>) -> Connector {
        match self.mixed_mode() {
            None => Connector::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer),
            Some(mode) => Connector::new(TlsSource::Fixed(Arc::clone(context)), mode),
        }
    }
}

/// Writes a peers file atomically: `version`, then one `name address` line per peer.
pub fn write_peers(
    path: &Path,
    version: u64,
    peers: &[(String, SocketAddr)],
) -> Result<(), ScenarioError> {
    let mut text = format!("{version}\n");
    for (name, address) in peers {
        text.push_str(&format!("{name} {address}\n"));
    }
    vespa_tls_pki::write_public_file(path, text.as_bytes())?;
    Ok(())
}

/// Reads a peers file: its version and the peers other than `me`.
pub(crate) fn read_peers(path: &Path, me: &str) -> Option<(u64, Vec<SocketAddr>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let version = lines.next()?.trim().parse().ok()?;
    let peers = lines
        .filter_map(|line| {
            let (name, address) = line.split_once(' ')?;
            (name != me).then(|| address.trim().parse().ok())?
        })
        .collect();
    Some((version, peers))
}

/// The node's command line.
#[derive(Debug, Clone)]
pub struct NodeArgs {
    /// The node's name (in payloads and in the peers file).
    pub name: String,
    /// The peers file.
    pub peers: PathBuf,
    /// Concurrent callers.
    pub callers: usize,
    /// Pause between one caller's calls.
    pub pause: Duration,
    /// Payload bytes per call.
    pub payload_len: usize,
}

impl NodeArgs {
    /// Parses `--name N --peers FILE [--callers N] [--pause-ms N] [--payload N]`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<NodeArgs, String> {
        let mut out = NodeArgs {
            name: String::new(),
            peers: PathBuf::new(),
            callers: 2,
            pause: Duration::from_millis(20),
            payload_len: 1024,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{flag}: expected a number, found {value:?}"))
            };
            match flag.as_str() {
                "--name" => out.name.clone_from(&value),
                "--peers" => out.peers = PathBuf::from(&value),
                "--callers" => {
                    out.callers = usize::try_from(number()?).map_err(|e| e.to_string())?
                }
                "--pause-ms" => out.pause = Duration::from_millis(number()?),
                "--payload" => {
                    out.payload_len = usize::try_from(number()?).map_err(|e| e.to_string())?;
                }
                _ => return Err(format!("unknown argument {flag:?}")),
            }
        }
        if out.name.is_empty() || out.peers.as_os_str().is_empty() {
            return Err("usage: reliability-node --name N --peers FILE [--callers N] [--pause-ms N] [--payload N]".into());
        }
        Ok(out)
    }
}

/// One JSON line on stdout (the node's interface to the orchestrator).
fn emit(event: &str, mut fields: Value) {
    if let Some(map) = fields.as_object_mut() {
        map.insert("event".into(), event.into());
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{fields}");
    let _ = out.flush();
}

/// Runs a node until its stdin closes (the body of `reliability-node`).
pub async fn run_node(args: NodeArgs) -> Result<(), ScenarioError> {
    let node_error = |problem: NodeProblem| ScenarioError::Node {
        node: args.name.clone(),
        problem,
    };
    // The environment is read once, by the one handle the acceptor and connector share.
    let vespa_tls = VespaTls::from_env(crate::pki::watching())?;
    let env = vespa_tls.environment().clone();
    let tls = vespa_tls.source().current().is_some();
    let metrics = vespa_tls.metrics();
    let acceptor = vespa_tls.acceptor();
    let connector = vespa_tls.connector();
    let mut server = echo_server(acceptor)
        .await
        .map_err(|e| node_error(NodeProblem::Listen(e)))?;
    emit(
        "listening",
        json!({
            "name": args.name,
            "address": server.address.to_string(),
            "tls": tls,
            "mixed_mode": tls.then(|| env.mixed_mode.as_str()),
            "client_uses_tls": connector.uses_tls(),
        }),
    );

    let calls = Arc::new(LoadStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let last_read = Arc::new(AtomicU64::new(0));
    let in_use: Vec<Arc<AtomicU64>> = (0..args.callers)
        .map(|_| Arc::new(AtomicU64::new(u64::MAX)))
        .collect();
    let callers: Vec<_> = in_use
        .iter()
        .enumerate()
        .map(|(i, in_use)| {
            let (calls, stop, last_read, in_use) = (
                Arc::clone(&calls),
                Arc::clone(&stop),
                Arc::clone(&last_read),
                Arc::clone(in_use),
            );
            let (connector, args) = (connector.clone(), args.clone());
            tokio::spawn(async move {
                let origin = format!("{}-{i}", args.name);
                let mut sequence = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    sequence += 1;
                    // Claim the oldest version this call could use before reading the file, so
                    // a stats line never reports a version newer than an in-flight call's.
                    in_use.store(last_read.load(Ordering::SeqCst), Ordering::SeqCst);
                    if let Some((version, peers)) = read_peers(&args.peers, &args.name) {
                        in_use.store(version, Ordering::SeqCst);
                        last_read.fetch_max(version, Ordering::SeqCst);
                        if !peers.is_empty() {
                            let peer = peers[usize::try_from(sequence).unwrap_or(0) % peers.len()];
                            let body = payload(&origin, sequence, args.payload_len);
                            let outcome =
                                request(&connector, peer, &body, Duration::from_secs(10)).await;
                            calls.count(&outcome);
                        }
                    }
                    in_use.store(u64::MAX, Ordering::SeqCst);
                    tokio::time::sleep(args.pause).await;
                }
            })
        })
        .collect();

    let figures = |server: &Server| {
        let oldest_in_use = in_use
            .iter()
            .map(|v| v.load(Ordering::SeqCst))
            .min()
            .unwrap_or(u64::MAX);
        if let Some((version, _)) = read_peers(&args.peers, &args.name) {
            last_read.fetch_max(version, Ordering::SeqCst);
        }
        let counters: BTreeMap<String, u64> = metrics.snapshot().entries().into_iter().collect();
        json!({
            "name": args.name,
            "calls": calls.snapshot().to_json(),
            "call_problems": calls.problems(),
            "peers_version": oldest_in_use.min(last_read.load(Ordering::SeqCst)),
            "served": server.tally().accepted(),
            "refused": server.tally().refused(),
            "counters": counters,
        })
    };

    let (closed_tx, mut closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        // Any read error is as good as EOF: the orchestrator is gone.
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed_tx.send(());
    });
    let mut reported_refusals = 0;
    let mut tick = tokio::time::interval(STATS_EVERY);
    loop {
        tokio::select! {
            _ = &mut closed => break,
            _ = tick.tick() => {
                let refusals = server.failures();
                for refusal in &refusals[reported_refusals..] {
                    emit("refused", json!({"name": args.name, "error": refusal}));
                }
                reported_refusals = refusals.len();
                emit("stats", figures(&server));
            }
        }
    }
    // Graceful: our calls finish first, then the listener closes and connections drain.
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        let _ = tokio::time::timeout(Duration::from_secs(15), caller).await;
    }
    let drained = server.stop(Duration::from_secs(15)).await;
    let mut last = figures(&server);
    last["drained"] = drained.into();
    emit("stopped", last);
    Ok(())
}

/// A running `reliability-node` process (testkit's [`Served`]). Dropping it kills the
/// process.
#[derive(Debug)]
pub struct NodeProcess {
    name: String,
    process: Served,
    address: SocketAddr,
    listening: Value,
}

impl NodeProcess {
    /// Starts `binary` as node `name` with `env` (after clearing the four TLS variables) and
    /// waits (at most `limit`) until it listens.
    pub async fn spawn(
        binary: &Path,
        args: &NodeArgs,
        env: &[(&'static str, OsString)],
        limit: Duration,
    ) -> Result<NodeProcess, ScenarioError> {
        let mut command = Command::new(binary);
        clear_tls_env(&mut command)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--name", &args.name])
            .arg("--peers")
            .arg(&args.peers)
            .args(["--callers", &args.callers.to_string()])
            .args(["--pause-ms", &args.pause.as_millis().to_string()])
            .args(["--payload", &args.payload_len.to_string()]);
        let process = Served::spawn_with_stdin(&args.name, &mut command)?;
        let listening = process.wait_listening_async(limit).await?;
        Ok(NodeProcess {
            name: args.name.clone(),
            process,
            address: listening.address,
            listening: listening.event,
        })
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its `listening` event.
    pub fn listening(&self) -> &Value {
        &self.listening
    }

    /// The latest `stats` event.
    pub(crate) fn last_stats(&self) -> Option<Value> {
        let line = self
            .process
            .last_line(|line| json_event(line, "stats").is_some())?;
        json_event(&line, "stats")
    }

    /// Every event of `kind` so far.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        self.process
            .stdout_lines()
            .iter()
            .filter_map(|line| json_event(line, kind))
            .collect()
    }

    /// Every stderr line so far (the library's log).
    pub fn stderr(&self) -> Vec<String> {
        self.process.stderr_lines()
    }

    /// Waits for a `stats` event satisfying `accept`.
    pub async fn wait_stats(
        &self,
        what: &str,
        accept: impl Fn(&Value) -> bool,
        limit: Duration,
    ) -> Result<Value, ScenarioError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(stats) = self.last_stats().filter(|s| accept(s)) {
                return Ok(stats);
            }
            if self.process.stdout_closed() {
                return Err(self.error(NodeProblem::Exited {
                    stderr: self.process.stderr_tail(20),
                }));
            }
            if Instant::now() >= deadline {
                return Err(ScenarioError::Timeout {
                    what: format!("{}: {what}", self.name),
                    limit,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Closes stdin (a graceful stop) and waits (at most `limit`) for the `stopped` event
    /// and the exit.
    pub async fn stop(mut self, limit: Duration) -> Result<Value, ScenarioError> {
        self.process.close_stdin();
        let line = self
            .process
            .wait_for_line_async("stopped event", limit, |line| {
                json_event(line, "stopped").is_some()
            })
            .await?;
        let status = self.process.wait_exit_async(limit).await?;
        if !status.success() {
            return Err(self.error(NodeProblem::Failed(status)));
        }
        Ok(json_event(&line, "stopped").unwrap_or_default())
    }

    fn error(&self, problem: NodeProblem) -> ScenarioError {
        ScenarioError::Node {
            node: self.name.clone(),
            problem,
        }
    }
}

/// The `vespa-tls` binary of this build: `$VESPA_TLS_BIN` if set, else `vespa-tls` in the
/// profile directory of the running test (`target/<profile>/`, the parent of `deps/`), built
/// there with `cargo build -p vespa-tls-verify` if it is missing.
///
/// `cargo nextest run --workspace` (what `cargo xtask ci` runs) and `cargo xtask soak` build
/// it before any test starts; the fallback build covers `cargo test -p
/// vespa-tls-reliability` alone.
pub fn vespa_tls_binary() -> Result<PathBuf, ScenarioError> {
    if let Some(path) = std::env::var_os("VESPA_TLS_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| ScenarioError::io("current_exe", "find", e))?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let binary = dir.join("vespa-tls");
    if binary.exists() {
        return Ok(binary);
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "--locked",
        "-p",
        "vespa-tls-verify",
        "--bin",
        "vespa-tls",
    ]);
    if release {
        build.arg("--release");
    }
    let status = build
        .status()
        .map_err(|e| ScenarioError::io(&binary, "build with cargo", e))?;
    if !status.success() || !binary.exists() {
        return Err(ScenarioError::Node {
            node: "vespa-tls".into(),
            problem: NodeProblem::NotBuilt { binary, status },
        });
    }
    Ok(binary)
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// Its exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs `command` to completion, killing it after `limit`. Blocking: call it from
/// `spawn_blocking` in async code.
pub fn run_command(command: &mut Command, limit: Duration) -> Result<CommandOutput, ScenarioError> {
    let process = Served::spawn(format!("{command:?}"), command)?;
    let status = process.wait_exit(limit)?;
    let (stdout, stderr) = process.kill_and_collect();
    Ok(CommandOutput {
        code: status.code(),
        stdout,
        stderr,
    })
}
