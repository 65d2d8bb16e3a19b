//! A child process under test ([`Served`]): started with its output piped, waited on for the
//! line that says it is ready (`{"event":"listening",…}`, s_server's `ACCEPT …`), killed when
//! dropped. Reader threads keep what it prints, so its pipes never fill and a failure can
//! show its stderr.
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use vespa_tls_testkit::{Served, clear_tls_env};
//! let mut command = Command::new("vespa-tls");
//! clear_tls_env(&mut command).args(["serve", "--listen", "127.0.0.1:0", "--json"]);
//! let server = Served::spawn("vespa-tls serve", &mut command)?;
//! let listening = server.wait_listening(Duration::from_secs(20))?;
//! // … dial listening.address …
//! # Ok::<(), vespa_tls_testkit::ServedError>(())
//! ```
//!
//! Every wait is bounded. The blocking waits suit plain `#[test]`s and tools; async code uses
//! the `_async` forms, which poll and never block a runtime thread.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use vespa_tls_config::{
    AUTHORIZATION_MODE_VAR, CAPABILITY_MODE_VAR, CONFIG_FILE_VAR, Files, MIXED_MODE_VAR,
};

/// Lines kept from each end of each stream: the first this many and the last this many.
pub const KEEP_LINES: usize = 10_000;

/// How often the `_async` waits look again.
const POLL: Duration = Duration::from_millis(10);

/// Removes the four `VESPA_TLS_*` variables a vespa-tls process reads, any other
/// `VESPA_TLS_*` variable of this process, and `VESPA_HOME` (whose `default-env.txt` the CLI
/// layers over the environment) from `command`'s environment: a child under test gets only
/// what the test gives it.
pub fn clear_tls_env(command: &mut Command) -> &mut Command {
    for var in [
        CONFIG_FILE_VAR,
        MIXED_MODE_VAR,
        AUTHORIZATION_MODE_VAR,
        CAPABILITY_MODE_VAR,
    ] {
        command.env_remove(var);
    }
    command.env_remove("VESPA_HOME");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VESPA_TLS") {
            command.env_remove(&name);
        }
    }
    command
}

/// Why a [`Served`] process did not do what was waited for. Each message names the process
/// and ends with the last lines of its stderr.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServedError {
    /// The program could not be started.
    #[error("{name}: cannot start: {error}")]
    Start {
        /// The name given to [`Served::spawn`].
        name: String,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// The wait ran out.
    #[error("{name}: no {what} within {limit:?}{}", tail_note(stderr))]
    Timeout {
        /// The name given to [`Served::spawn`].
        name: String,
        /// What was waited for.
        what: String,
        /// How long.
        limit: Duration,
        /// Its last stderr lines.
        stderr: String,
    },
    /// The process closed its output (it exited) before printing what was waited for.
    #[error("{name}: ended ({status}) before {what}{}", tail_note(stderr))]
    Ended {
        /// The name given to [`Served::spawn`].
        name: String,
        /// What was waited for.
        what: String,
        /// Its exit status, if it has one yet.
        status: String,
        /// Its last stderr lines.
        stderr: String,
    },
}

fn tail_note(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; stderr ends:\n{stderr}")
    }
}

/// The lines of one stream: the first [`KEEP_LINES`] and the last [`KEEP_LINES`], numbered
/// from 0 in the order printed.
#[derive(Debug, Default)]
struct Lines {
    head: Vec<String>,
    tail: VecDeque<String>,
    /// Lines printed so far.
    total: usize,
    /// The stream ended (EOF or a read error).
    closed: bool,
}

impl Lines {
    fn push(&mut self, line: String) {
        if self.head.len() < KEEP_LINES {
            self.head.push(line);
        } else {
            self.tail.push_back(line);
            if self.tail.len() > KEEP_LINES {
                self.tail.pop_front();
            }
        }
        self.total += 1;
    }

    /// Line `n`, unless it scrolled out between the head and the tail.
    fn get(&self, n: usize) -> Option<&str> {
        if n < self.head.len() {
            return Some(&self.head[n]);
        }
        let first_of_tail = self.total - self.tail.len();
        (n >= first_of_tail)
            .then(|| self.tail.get(n - first_of_tail).map(String::as_str))
            .flatten()
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.head.iter().chain(self.tail.iter()).map(String::as_str)
    }

    fn last(&self, n: usize) -> String {
        let last: Vec<&str> = self.iter().rev().take(n).collect();
        last.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

#[derive(Debug, Default)]
struct Streams {
    stdout: Lines,
    stderr: Lines,
}

#[derive(Debug, Default)]
struct Output {
    streams: Mutex<Streams>,
    changed: Condvar,
}

impl Output {
    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a change until `deadline`; `None` (and the lock released) once it passed.
    fn wait_until<'a>(
        &'a self,
        streams: MutexGuard<'a, Streams>,
        deadline: Instant,
    ) -> Option<MutexGuard<'a, Streams>> {
        let left = deadline.checked_duration_since(Instant::now())?;
        let (streams, _) = self
            .changed
            .wait_timeout(streams, left)
            .unwrap_or_else(PoisonError::into_inner);
        Some(streams)
    }

    /// Reads `pipe` line by line into the stream `pick` chooses, on a thread of its own.
    fn follow(
        self: &Arc<Self>,
        pipe: impl Read + Send + 'static,
        pick: fn(&mut Streams) -> &mut Lines,
    ) {
        let output = Arc::clone(self);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut bytes = Vec::new();
            loop {
                bytes.clear();
                match reader.read_until(b'\n', &mut bytes) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&bytes);
                        let line = text.strip_suffix('\n').unwrap_or(&text);
                        let line = line.strip_suffix('\r').unwrap_or(line).to_owned();
                        pick(&mut output.lock()).push(line);
                        output.changed.notify_all();
                    }
                }
            }
            pick(&mut output.lock()).closed = true;
            output.changed.notify_all();
        });
    }
}

/// What one look at stdout found.
enum Scan {
    Found(String),
    Ended,
    Pending,
}

/// A `{"event":"listening","address":…}` line.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The address it names.
    pub address: SocketAddr,
    /// The whole event.
    pub event: Value,
}

/// The event on `line` if it is a JSON object whose `"event"` is `kind`.
pub fn json_event(line: &str, kind: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(line).ok()?;
    (value["event"] == kind).then_some(value)
}

fn listening(line: &str) -> Option<Listening> {
    let event = json_event(line, "listening")?;
    let address = event["address"].as_str()?.parse().ok()?;
    Some(Listening { address, event })
}

/// A child process, killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Served {
    name: String,
    child: Mutex<Child>,
    stdin: Option<ChildStdin>,
    output: Arc<Output>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Served {
    /// Starts `command` with stdin empty and stdout and stderr kept; `name` is how errors
    /// call it.
    pub fn spawn(name: impl Into<String>, command: &mut Command) -> Result<Served, ServedError> {
        Self::start(name.into(), command.stdin(Stdio::null()))
    }

    /// The same, with stdin a pipe for [`Served::write_stdin`] and [`Served::close_stdin`]
    /// (a process that stops when its stdin closes).
    pub fn spawn_with_stdin(
        name: impl Into<String>,
        command: &mut Command,
    ) -> Result<Served, ServedError> {
        Self::start(name.into(), command.stdin(Stdio::piped()))
    }

    fn start(name: String, command: &mut Command) -> Result<Served, ServedError> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| ServedError::Start {
                name: name.clone(),
                error,
            })?;
        let output = Arc::new(Output::default());
        if let Some(stdout) = child.stdout.take() {
            output.follow(stdout, |s| &mut s.stdout);
        }
        if let Some(stderr) = child.stderr.take() {
            output.follow(stderr, |s| &mut s.stderr);
        }
        Ok(Served {
            name,
            stdin: child.stdin.take(),
            child: Mutex::new(child),
            output,
        })
    }

    /// The name errors call it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child().id()
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Its exit status, if it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child().try_wait().ok().flatten()
    }

    /// Whether both its stdout and its stderr are read to the end.
    fn output_closed(&self) -> bool {
        let streams = self.output.lock();
        streams.stdout.closed && streams.stderr.closed
    }

    /// Whether it closed its stdout (it exited, as a rule).
    pub fn stdout_closed(&self) -> bool {
        self.output.lock().stdout.closed
    }

    /// Writes to its stdin (after [`Served::spawn_with_stdin`]).
    pub fn write_stdin(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(bytes).and_then(|()| stdin.flush()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "stdin is not a pipe, or was closed",
            )),
        }
    }

    /// Closes its stdin (a graceful stop, for a process that waits for EOF).
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// The stdout lines kept so far (the first and last [`KEEP_LINES`]).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.output
            .lock()
            .stdout
            .iter()
            .map(str::to_owned)
            .collect()
    }

    /// The stderr lines kept so far (the first and last [`KEEP_LINES`]).
    pub fn stderr_lines(&self) -> Vec<String> {
        self.output
            .lock()
            .stderr
            .iter()
            .map(str::to_owned)
            .collect()
    }

    /// Its last `n` stderr lines, joined by newlines (for error messages).
    pub fn stderr_tail(&self, n: usize) -> String {
        self.output.lock().stderr.last(n)
    }

    /// The latest stdout line `accept` takes.
    pub fn last_line(&self, accept: impl Fn(&str) -> bool) -> Option<String> {
        self.output
            .lock()
            .stdout
            .iter()
            .rev()
            .find(|line| accept(line))
            .map(str::to_owned)
    }

    /// Looks at stdout lines from `*next` on; moves `*next` past what it looked at.
    fn scan(&self, next: &mut usize, accept: &impl Fn(&str) -> bool) -> Scan {
        let streams = self.output.lock();
        Self::scan_locked(&streams, next, accept)
    }

    fn scan_locked(streams: &Streams, next: &mut usize, accept: &impl Fn(&str) -> bool) -> Scan {
        while *next < streams.stdout.total {
            let line = streams.stdout.get(*next);
            *next += 1;
            if let Some(line) = line.filter(|line| accept(line)) {
                return Scan::Found(line.to_owned());
            }
        }
        if streams.stdout.closed {
            Scan::Ended
        } else {
            Scan::Pending
        }
    }

    fn ended(&self, what: &str) -> ServedError {
        // Give the stderr reader a moment to take the last lines of a process that died, and
        // the process a moment to exit: its stdout closes before it does.
        let deadline = Instant::now() + Duration::from_secs(2);
        while (!self.output.lock().stderr.closed || self.exit_status().is_none())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        ServedError::Ended {
            name: self.name.clone(),
            what: what.to_owned(),
            status: self
                .exit_status()
                .map_or_else(|| "still running".to_owned(), |s| s.to_string()),
            stderr: self.stderr_tail(20),
        }
    }

    fn timeout(&self, what: &str, limit: Duration) -> ServedError {
        ServedError::Timeout {
            name: self.name.clone(),
            what: what.to_owned(),
            limit,
            stderr: self.stderr_tail(20),
        }
    }

    /// Waits (at most `limit`) for a stdout line `accept` takes, looking at every line kept
    /// since the start; returns it. `what` names it in errors. Blocks the thread.
    pub fn wait_for_line(
        &self,
        what: &str,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String, ServedError> {
        let deadline = Instant::now() + limit;
        let mut next = 0;
        let mut streams = self.output.lock();
        loop {
            match Self::scan_locked(&streams, &mut next, &accept) {
                Scan::Found(line) => return Ok(line),
                Scan::Ended => {
                    drop(streams);
                    return Err(self.ended(what));
                }
                Scan::Pending => {}
            }
            match self.output.wait_until(streams, deadline) {
                Some(more) => streams = more,
                None => return Err(self.timeout(what, limit)),
            }
        }
    }

    /// [`Served::wait_for_line`] for async code: polls, never blocks the runtime.
    pub async fn wait_for_line_async(
        &self,
        what: &str,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String, ServedError> {
        let deadline = Instant::now() + limit;
        let mut next = 0;
        loop {
            match self.scan(&mut next, &accept) {
                Scan::Found(line) => return Ok(line),
                Scan::Ended => return Err(self.ended(what)),
                Scan::Pending if Instant::now() >= deadline => {
                    return Err(self.timeout(what, limit));
                }
                Scan::Pending => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Waits (at most `limit`) for a `{"event":"listening","address":…}` line. Blocks.
    pub fn wait_listening(&self, limit: Duration) -> Result<Listening, ServedError> {
        let line = self.wait_for_line(LISTENING, limit, |line| listening(line).is_some())?;
        Ok(listening(&line).expect("the line was taken for a listening event"))
    }

    /// [`Served::wait_listening`] for async code.
    pub async fn wait_listening_async(&self, limit: Duration) -> Result<Listening, ServedError> {
        let line = self
            .wait_for_line_async(LISTENING, limit, |line| listening(line).is_some())
            .await?;
        Ok(listening(&line).expect("the line was taken for a listening event"))
    }

    /// Waits (at most `limit`) for it to exit and for its output to be read to the end.
    /// Blocks.
    pub fn wait_exit(&self, limit: Duration) -> Result<ExitStatus, ServedError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(done) = self.exited_by(deadline, limit) {
                return done;
            }
            std::thread::sleep(POLL);
        }
    }

    /// [`Served::wait_exit`] for async code.
    pub async fn wait_exit_async(&self, limit: Duration) -> Result<ExitStatus, ServedError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(done) = self.exited_by(deadline, limit) {
                return done;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// One look for [`Served::wait_exit`]: its status, a timeout once `deadline` has passed,
    /// or `None` to look again.
    fn exited_by(
        &self,
        deadline: Instant,
        limit: Duration,
    ) -> Option<Result<ExitStatus, ServedError>> {
        let out_of_time = Instant::now() >= deadline;
        match self.exit_status() {
            // Its output read to the end as well, so what it wrote last is kept (a child that
            // inherited the pipes could hold them open: then only until the deadline).
            Some(status) if out_of_time || self.output_closed() => Some(Ok(status)),
            Some(_) => None,
            None if out_of_time => Some(Err(self.timeout("exit", limit))),
            None => None,
        }
    }

    /// Kills it (if it still runs) and returns everything kept of its stdout and stderr, once
    /// its reader threads have read to the end (at most a second).
    pub fn kill_and_collect(self) -> (String, String) {
        {
            let mut child = self.child();
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut streams = self.output.lock();
        while !(streams.stdout.closed && streams.stderr.closed) {
            match self.output.wait_until(streams, deadline) {
                Some(more) => streams = more,
                None => {
                    streams = self.output.lock();
                    break;
                }
            }
        }
        let text = |lines: &Lines| {
            let mut text = lines.iter().collect::<Vec<_>>().join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            text
        };
        (text(&streams.stdout), text(&streams.stderr))
    }
}

/// What [`Served::wait_listening`] waits for, in errors.
const LISTENING: &str = "listening event";

/// `openssl s_server -Verify 1 -rev` on `127.0.0.1:0` (a [`Served`]): presents `identity`,
/// requires a client certificate from a CA in `trusts`, answers each line reversed.
///
/// The caller has made sure openssl is installed.
#[derive(Debug)]
pub struct SServer {
    process: Served,
    /// Where it listens (the port it printed on its `ACCEPT` line).
    pub address: SocketAddr,
}

impl SServer {
    fn spawn(
        identity: &Files,
        trusts: &Path,
        connections: Option<u32>,
    ) -> Result<Served, ServedError> {
        let mut command = Command::new("openssl");
        command.args(["s_server", "-accept", "127.0.0.1:0"]);
        if let Some(n) = connections {
            command.arg("-naccept").arg(n.to_string());
        }
        command
            .args(["-rev", "-Verify", "1"])
            .args(openssl_peer_args(identity, trusts));
        Served::spawn("openssl s_server", &mut command)
    }

    fn announced(process: Served, accept: &str) -> Result<SServer, ServedError> {
        let port = accept
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok());
        match port {
            Some(port) => Ok(SServer {
                process,
                address: SocketAddr::from(([127, 0, 0, 1], port)),
            }),
            None => Err(ServedError::Ended {
                name: process.name.clone(),
                what: format!("a port on its ACCEPT line {accept:?}"),
                status: "running".to_owned(),
                stderr: process.stderr_tail(20),
            }),
        }
    }

    /// Starts one (exiting after `connections`, if given) and waits (at most `limit`) until
    /// it listens. Blocks.
    pub fn start(
        identity: &Files,
        trusts: &Path,
        connections: Option<u32>,
        limit: Duration,
    ) -> Result<SServer, ServedError> {
        let process = Self::spawn(identity, trusts, connections)?;
        let accept = process.wait_for_line(ACCEPT, limit, is_accept)?;
        Self::announced(process, &accept)
    }

    /// [`SServer::start`] for async code.
    pub async fn start_async(
        identity: &Files,
        trusts: &Path,
        connections: Option<u32>,
        limit: Duration,
    ) -> Result<SServer, ServedError> {
        let process = Self::spawn(identity, trusts, connections)?;
        let accept = process
            .wait_for_line_async(ACCEPT, limit, is_accept)
            .await?;
        Self::announced(process, &accept)
    }

    /// The process.
    pub fn process(&self) -> &Served {
        &self.process
    }

    /// Waits (at most `limit`) for it to exit after its connections; returns its stdout and
    /// stderr.
    pub async fn finish_async(self, limit: Duration) -> Result<String, ServedError> {
        self.process.wait_exit_async(limit).await?;
        let (stdout, stderr) = self.process.kill_and_collect();
        Ok(format!("{stdout}\n{stderr}"))
    }
}

/// The arguments with which `openssl s_server` or `s_client` presents `identity` (its
/// certificates and key) and trusts the CAs in `trusts`.
pub fn openssl_peer_args(identity: &Files, trusts: &Path) -> [OsString; 6] {
    [
        "-CAfile".into(),
        trusts.into(),
        "-cert".into(),
        identity.certificates.clone().into(),
        "-key".into(),
        identity.private_key.clone().into(),
    ]
}

/// What [`SServer`] waits for, in errors.
const ACCEPT: &str = "ACCEPT line";

/// s_server's `ACCEPT 127.0.0.1:PORT` (or `ACCEPT [::]:PORT`).
fn is_accept(line: &str) -> bool {
    line.starts_with("ACCEPT ")
}
