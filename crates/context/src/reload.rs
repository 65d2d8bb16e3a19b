//! `ReloadingTlsContext`: the current `TlsContext`, replaced whole when the files change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use notify::{EventKind, RecursiveMode, Watcher};
use vespa_tls_authz::Authorizer;
use vespa_tls_config::{Diagnostics, Environment, Files, TransportSecurityOptions};
use vespa_tls_material::{CertificateFacts, CryptoMaterial, FileDigests};

use crate::context::{TlsContext, TlsModes};
use crate::error::ContextError;
use crate::metrics::{MetricsSnapshot, TlsMetrics};

/// The shortest interval: a smaller one (zero included) would reload in a busy loop.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// When and how a [`ReloadingTlsContext`] looks for new material.
///
/// Every `Duration` is usable: an interval below one second is read as one second, and a
/// duration too large to add to the clock (`Duration::MAX`) means "never".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOptions {
    /// Reload at least this often, changed or not (Vespa: one hour; at least one second).
    pub interval: Duration,
    /// Watch the directories of the config file and of the three files it names.
    pub watch: bool,
    /// After a change, wait until the files have been quiet this long before reading them.
    pub debounce: Duration,
    /// Read the files at most this long after the first change of a burst, quiet or not.
    ///
    /// Watching sees every change in the watched directories, including files that are not
    /// ours: without this bound, a directory that something else writes to every 100 ms would
    /// never be quiet, and a new certificate would wait for the interval.
    pub max_delay: Duration,
}

impl Default for ReloadOptions {
    /// One hour, watching on, 250 ms of quiet, at most 2 s after the first change.
    fn default() -> Self {
        ReloadOptions {
            interval: Duration::from_secs(3600),
            watch: true,
            debounce: Duration::from_millis(250),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl ReloadOptions {
    /// These options with [`interval`](Self::interval) set.
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// These options with [`watch`](Self::watch) set.
    #[must_use]
    pub fn with_watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// These options with [`debounce`](Self::debounce) set.
    #[must_use]
    pub fn with_debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// These options with [`max_delay`](Self::max_delay) set.
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }
}

/// What a successful [`ReloadingTlsContext::reload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// New content was validated and published as this generation.
    Reloaded {
        /// The new generation.
        generation: u64,
    },
    /// The files are byte-identical to what is loaded; nothing was rebuilt.
    Unchanged {
        /// The current generation.
        generation: u64,
    },
}

/// What subscribers hear after each reload attempt that did something.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// A new snapshot is in effect for new connections.
    Reloaded {
        /// Its generation.
        generation: u64,
    },
    /// A reload failed; the previous snapshot stays in effect.
    Failed {
        /// Why, naming the file: the error [`reload`](ReloadingTlsContext::reload) returned,
        /// shared with every subscriber and with [`ReloadStatus::last_error`].
        error: Arc<ContextError>,
    },
}

/// The last failed reload.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReloadFailure {
    /// When it happened.
    pub at: SystemTime,
    /// Why, naming the file (the same error the subscribers heard).
    pub error: Arc<ContextError>,
}

/// What is loaded, for status pages and `vespa-tls serve`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReloadStatus {
    /// 1 for the initial load, one more for each published reload.
    pub generation: u64,
    /// When the current snapshot was published.
    pub loaded_at: SystemTime,
    /// The config file being followed.
    pub config_file: PathBuf,
    /// The files the current snapshot was loaded from.
    pub files: Files,
    /// Our leaf certificate (subject, SANs, fingerprint, expiry).
    pub certificate: CertificateFacts,
    /// The trusted CA certificates.
    pub ca_certificates: Vec<CertificateFacts>,
    /// Every counter.
    pub metrics: MetricsSnapshot,
    /// The last failed reload, if any happened since the last success.
    pub last_error: Option<ReloadFailure>,
    /// Warnings about the current material (not chaining to our CA bundle, EKUs, expiry).
    pub warnings: Diagnostics,
}

/// The current [`TlsContext`] of a process, reloaded from `VESPA_TLS_CONFIG_FILE`.
///
/// Reloads rebuild everything the file determines (rules, ciphers, hostname flag and the three
/// files) as one new snapshot, validate it, and only then publish it for new connections; a
/// failed reload keeps the old snapshot, logs one warning and counts `failed_config_reloads`.
/// A snapshot is published together with its generation, its status and the event subscribers
/// hear: [`status`](Self::status) never names one generation with another one's certificate.
/// Reads of the current snapshot take no lock. Dropping this stops the worker thread and the
/// watcher before it returns.
pub struct ReloadingTlsContext {
    shared: Arc<Shared>,
    worker: Option<(Sender<Message>, JoinHandle<()>)>,
}

pub(crate) struct Shared {
    config_file: PathBuf,
    modes: TlsModes,
    metrics: Arc<TlsMetrics>,
    /// Replaced only with `state` locked, so a snapshot and its generation change together.
    current: ArcSwap<TlsContext>,
    state: Mutex<State>,
    /// Serialises reloads (timer, watcher and explicit calls all go through [`Shared::reload`]).
    reload_lock: Mutex<()>,
}

struct State {
    generation: u64,
    loaded_at: SystemTime,
    config_bytes: Vec<u8>,
    digests: FileDigests,
    last_error: Option<ReloadFailure>,
    subscribers: Vec<Sender<ReloadEvent>>,
}

enum Message {
    Changed,
    Shutdown,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl ReloadingTlsContext {
    /// Loads the config `env` names; `Ok(None)` when `VESPA_TLS_CONFIG_FILE` is unset or empty
    /// (TLS is off). The caller reads the environment, once per process:
    /// `vespa_tls_transport::VespaTls` does, and hands the same context to its acceptor and
    /// connector.
    pub fn from_environment(
        env: &Environment,
        options: ReloadOptions,
    ) -> Result<Option<ReloadingTlsContext>, ContextError> {
        let Some(path) = env.config_file.clone() else {
            return Ok(None);
        };
        Self::from_file(path, TlsModes::from(env), options).map(Some)
    }

    /// Loads `config_file` now (failing if it cannot be used: nothing is served on a bad start)
    /// and follows it.
    pub fn from_file(
        config_file: impl Into<PathBuf>,
        modes: TlsModes,
        options: ReloadOptions,
    ) -> Result<ReloadingTlsContext, ContextError> {
        Self::start(config_file.into(), modes, options, || {})
    }

    /// [`from_file`](Self::from_file), running `after_load` between the first load and the
    /// start of watching (where tests change the files).
    fn start(
        config_file: PathBuf,
        modes: TlsModes,
        options: ReloadOptions,
        after_load: impl FnOnce(),
    ) -> Result<ReloadingTlsContext, ContextError> {
        let metrics = Arc::new(TlsMetrics::default());
        let loaded = load_file(&config_file, modes, &metrics)?;
        log_findings(&config_file, &loaded.diagnostics);
        let shared = Arc::new(Shared {
            config_file,
            modes,
            metrics,
            current: ArcSwap::from_pointee(loaded.context),
            state: Mutex::new(State {
                generation: 1,
                loaded_at: SystemTime::now(),
                config_bytes: loaded.config_bytes,
                digests: loaded.digests,
                last_error: None,
                subscribers: Vec::new(),
            }),
            reload_lock: Mutex::new(()),
        });
        after_load();
        let (tx, rx) = mpsc::channel();
        let watcher = if options.watch {
            let events = tx.clone();
            let watcher =
                notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                    // Our own reads show up as access events; they must not trigger reloads.
                    if let Ok(event) = event
                        && !matches!(event.kind, EventKind::Access(_))
                    {
                        let _ = events.send(Message::Changed);
                    }
                })
                .map_err(|error| ContextError::Watch {
                    path: shared.config_file.clone(),
                    error,
                })?;
            Some(watcher)
        } else {
            None
        };
        let mut worker = Worker {
            shared: Arc::clone(&shared),
            options,
            watcher,
            watched: BTreeSet::new(),
        };
        // A change made after the load above and before the watch below raised no event:
        // look once more as soon as watching has started.
        let look_again = worker.rewatch()?;
        let handle = std::thread::Builder::new()
            .name("vespa-tls-reload".into())
            .spawn(move || worker.run(&rx, look_again))
            .map_err(ContextError::Thread)?;
        Ok(ReloadingTlsContext {
            shared,
            worker: Some((tx, handle)),
        })
    }

    /// The snapshot for a new connection. Lock-free; keep it for the connection's lifetime.
    pub fn current(&self) -> Arc<TlsContext> {
        self.shared.current.load_full()
    }

    /// A rustls server config for another stack (hyper-rustls, tonic, a tokio-rustls acceptor)
    /// that follows this context: built once, every handshake presents the certificate of the
    /// snapshot current at that moment and verifies and authorizes the client with that
    /// snapshot's CA bundle and `authorized-peers`, counting into [`metrics`](Self::metrics).
    ///
    /// Fixed at this call, and taken from the current snapshot: the accepted cipher suites and
    /// protocol versions (a config change of either needs a new config from this method), and
    /// whatever the caller sets on the returned value (e.g. `alpn_protocols`). The
    /// CertificateRequest names no CAs, so clients choose their certificate without a hint.
    /// Sessions are not resumed, and the server's suite order decides which suite is taken
    /// (docs/CONFIG.md, "Cipher suite order"). A config that outlives this context keeps the
    /// last snapshot.
    ///
    /// The only error is rustls refusing the current snapshot's cipher and version choice,
    /// which a successful load has already ruled out.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, ContextError> {
        crate::following::server_config(&self.follow()).map(Arc::new)
    }

    /// The client side of [`server_config`](Self::server_config): presents the current
    /// certificate and verifies servers (hostname validation included) and authorizes them with
    /// the current snapshot, at every handshake. What is fixed at this call is the same.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, ContextError> {
        crate::following::client_config(&self.follow()).map(Arc::new)
    }

    fn follow(&self) -> crate::following::Follow {
        let shared = Arc::clone(&self.shared);
        crate::following::Follow(Arc::new(move || shared.current.load_full()))
    }

    /// Reloads now, on this thread: validate, then publish. On failure the old snapshot stays,
    /// and the error is the one subscribers hear and [`status`](Self::status) shows (shared,
    /// hence the `Arc`). Concurrent calls (and the worker's reloads) run one after the other.
    pub fn reload(&self) -> Result<ReloadOutcome, Arc<ContextError>> {
        self.shared.reload()
    }

    /// The process-wide counters (shared by every snapshot).
    pub fn metrics(&self) -> &Arc<TlsMetrics> {
        &self.shared.metrics
    }

    /// The modes every snapshot applies (environment variables are read once, at start).
    pub fn modes(&self) -> TlsModes {
        self.shared.modes
    }

    /// The config file being followed.
    pub fn config_file(&self) -> &Path {
        &self.shared.config_file
    }

    /// What is loaded, the counters and the last error, all of one generation.
    pub fn status(&self) -> ReloadStatus {
        self.shared.status()
    }

    /// The shared state, for a metrics collector that must not keep the context alive.
    pub(crate) fn shared_weak(&self) -> std::sync::Weak<Shared> {
        Arc::downgrade(&self.shared)
    }

    /// A channel that hears about every published or failed reload from now on.
    pub fn subscribe(&self) -> Receiver<ReloadEvent> {
        let (tx, rx) = mpsc::channel();
        lock(&self.shared.state).subscribers.push(tx);
        rx
    }
}

impl Drop for ReloadingTlsContext {
    fn drop(&mut self) {
        if let Some((tx, handle)) = self.worker.take() {
            let _ = tx.send(Message::Shutdown);
            // The worker owns the watcher: once it has returned, both are gone.
            if handle.join().is_err() {
                tracing::warn!(
                    "{}: the TLS reload thread had stopped with a panic",
                    self.shared.config_file.display()
                );
            }
        }
    }
}

impl std::fmt::Debug for ReloadingTlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let generation = lock(&self.shared.state).generation;
        f.debug_struct("ReloadingTlsContext")
            .field("config_file", &self.shared.config_file)
            .field("generation", &generation)
            .finish_non_exhaustive()
    }
}

/// Everything one load produced, before anything is published.
pub(crate) struct Loaded {
    /// The new snapshot.
    pub(crate) context: TlsContext,
    /// Digests of the three files it was built from.
    pub(crate) digests: FileDigests,
    /// Every finding: rules, then material.
    pub(crate) diagnostics: Diagnostics,
}

/// The one load pipeline, from parsed options to a validated snapshot: compile the rules,
/// read the three files, build the rustls configs. The first load, every reload and
/// [`TlsContext::from_options`] come here, so they validate alike.
pub(crate) fn load(
    options: &TransportSecurityOptions,
    modes: TlsModes,
    metrics: Arc<TlsMetrics>,
) -> Result<Loaded, ContextError> {
    let (authorizer, mut diagnostics) = Authorizer::compile(options.authorized_peers.as_ref());
    let material = CryptoMaterial::load(&options.files)?;
    let context = TlsContext::build(options, authorizer, &material, modes, metrics)?;
    diagnostics.extend(context.warnings().clone());
    Ok(Loaded {
        context,
        digests: *material.digests(),
        diagnostics,
    })
}

/// [`load`] from a config file, keeping its bytes to tell a change from a rewrite.
struct LoadedFile {
    context: TlsContext,
    config_bytes: Vec<u8>,
    digests: FileDigests,
    diagnostics: Diagnostics,
}

fn load_file(
    config_file: &Path,
    modes: TlsModes,
    metrics: &Arc<TlsMetrics>,
) -> Result<LoadedFile, ContextError> {
    // A regular file of bounded size, opened without blocking: a FIFO named as the config
    // must never hang the reload thread.
    let config_bytes =
        vespa_tls_material::read_regular_file(config_file, vespa_tls_material::MAX_FILE_SIZE)
            .map_err(ContextError::ReadConfig)?;
    let (options, mut diagnostics) =
        vespa_tls_config::parse_slice(&config_bytes).map_err(|error| ContextError::Config {
            path: config_file.to_owned(),
            error,
        })?;
    let loaded = load(&options, modes, Arc::clone(metrics))?;
    diagnostics.extend(loaded.diagnostics);
    diagnostics.extend(vespa_tls_material::permission_findings(config_file));
    Ok(LoadedFile {
        context: loaded.context,
        config_bytes,
        digests: loaded.digests,
        diagnostics,
    })
}

fn log_findings(config_file: &Path, diagnostics: &Diagnostics) {
    for finding in diagnostics {
        tracing::warn!("{}: {finding}", config_file.display());
    }
}

impl Shared {
    /// See [`ReloadingTlsContext::status`].
    pub(crate) fn status(&self) -> ReloadStatus {
        let (context, generation, loaded_at, last_error, metrics) = {
            let state = lock(&self.state);
            // The snapshot is only replaced with this lock held: this one is `generation`'s.
            (
                self.current.load_full(),
                state.generation,
                state.loaded_at,
                state.last_error.clone(),
                self.metrics.snapshot(),
            )
        };
        let material = context.material();
        ReloadStatus {
            generation,
            loaded_at,
            config_file: self.config_file.clone(),
            files: context.options().files.clone(),
            certificate: material.chain[0].clone(),
            ca_certificates: material.ca_certificates.clone(),
            metrics,
            last_error,
            warnings: context.warnings().clone(),
        }
    }

    fn reload(&self) -> Result<ReloadOutcome, Arc<ContextError>> {
        // One reload at a time, so the state compared below is what the last reload left.
        let _one_at_a_time = lock(&self.reload_lock);
        // Loading reads files: never with the state lock held (status() would wait on it).
        match load_file(&self.config_file, self.modes, &self.metrics) {
            Ok(loaded) => Ok(self.publish(loaded)),
            Err(error) => {
                let error = Arc::new(error);
                self.fail(&error);
                Err(error)
            }
        }
    }

    /// Publishes `loaded` unless the four files are byte-identical to the current ones.
    /// Snapshot, generation, counters and the subscribers' event change under one lock.
    fn publish(&self, loaded: LoadedFile) -> ReloadOutcome {
        let mut state = lock(&self.state);
        if state.config_bytes == loaded.config_bytes && state.digests == loaded.digests {
            state.last_error = None;
            return ReloadOutcome::Unchanged {
                generation: state.generation,
            };
        }
        let leaf = loaded.context.material().chain[0]
            .sha256_fingerprint
            .clone();
        self.current.store(Arc::new(loaded.context));
        TlsMetrics::bump(&self.metrics.successful_config_reloads);
        state.generation += 1;
        state.loaded_at = SystemTime::now();
        state.config_bytes = loaded.config_bytes;
        state.digests = loaded.digests;
        state.last_error = None;
        let generation = state.generation;
        state
            .subscribers
            .retain(|s| s.send(ReloadEvent::Reloaded { generation }).is_ok());
        drop(state);
        log_findings(&self.config_file, &loaded.diagnostics);
        tracing::info!(
            generation,
            config = %self.config_file.display(),
            sha256 = %leaf,
            "reloaded TLS config file ({}): generation {generation}, certificate sha256 {leaf}",
            self.config_file.display()
        );
        ReloadOutcome::Reloaded { generation }
    }

    fn fail(&self, error: &Arc<ContextError>) {
        let mut state = lock(&self.state);
        TlsMetrics::bump(&self.metrics.failed_config_reloads);
        state.last_error = Some(ReloadFailure {
            at: SystemTime::now(),
            error: Arc::clone(error),
        });
        state.subscribers.retain(|s| {
            s.send(ReloadEvent::Failed {
                error: Arc::clone(error),
            })
            .is_ok()
        });
        let generation = state.generation;
        drop(state);
        tracing::warn!(
            generation,
            config = %self.config_file.display(),
            "Failed to reload TLS config file ({}): '{error}'. Old config remains in effect.",
            self.config_file.display()
        );
    }

    /// The config file and the three files of the current snapshot.
    fn paths(&self) -> Vec<PathBuf> {
        let context = self.current.load();
        let files = &context.options().files;
        vec![
            self.config_file.clone(),
            files.ca_certificates.clone(),
            files.certificates.clone(),
            files.private_key.clone(),
        ]
    }
}

/// The background thread: watcher events, debouncing and the interval timer.
struct Worker {
    shared: Arc<Shared>,
    options: ReloadOptions,
    watcher: Option<notify::RecommendedWatcher>,
    watched: BTreeSet<PathBuf>,
}

/// Size and modification time of each followed file (following symlinks).
type Fingerprint = Vec<Option<(u64, Option<SystemTime>)>>;

/// A change waiting for the files to be quiet.
struct Pending {
    /// The first event of the burst: the reload happens at most `max_delay` after it.
    first: Instant,
    /// The last event: the reload waits until `debounce` after it.
    last: Instant,
    /// The files as they were at the last event.
    files: Fingerprint,
}

/// `at + after`, or `None` (never) when that is beyond what the clock can represent.
fn later(at: Instant, after: Duration) -> Option<Instant> {
    at.checked_add(after)
}

impl Worker {
    /// Runs until the owner drops; `look_now` starts with a pending change. Consumes the
    /// worker, so the watcher is dropped when this returns.
    fn run(mut self, rx: &Receiver<Message>, look_now: bool) {
        let interval = self.options.interval.max(MIN_INTERVAL);
        let mut next_interval = later(Instant::now(), interval);
        let mut pending = look_now.then(|| self.pending_from(Instant::now()));
        loop {
            let wake = match (pending.as_ref().and_then(|p| self.due(p)), next_interval) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let message = match wake {
                Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match message {
                Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Message::Changed) => {
                    let now = Instant::now();
                    let files = self.fingerprint();
                    match pending.as_mut() {
                        Some(p) => {
                            p.last = now;
                            p.files = files;
                        }
                        None => {
                            pending = Some(Pending {
                                first: now,
                                last: now,
                                files,
                            });
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            // Deadlines are checked after every message, not only on timeouts: a steady
            // stream of events must not starve them.
            let now = Instant::now();
            if let Some(p) = pending.as_mut()
                && self.due(p).is_some_and(|due| now >= due)
            {
                let overdue = later(p.first, self.options.max_delay).is_some_and(|at| now >= at);
                let files = self.fingerprint();
                if !overdue && files != p.files {
                    // Still being written: wait for another quiet period.
                    p.last = now;
                    p.files = files;
                } else {
                    pending = None;
                    if self.reload_and_rewatch() {
                        pending = Some(self.pending_from(Instant::now()));
                    }
                }
            }
            if next_interval.is_some_and(|at| Instant::now() >= at) {
                next_interval = later(Instant::now(), interval);
                if self.reload_and_rewatch() && pending.is_none() {
                    pending = Some(self.pending_from(Instant::now()));
                }
            }
        }
    }

    /// When `pending` is to be read: quiet for `debounce`, or `max_delay` after it began.
    fn due(&self, pending: &Pending) -> Option<Instant> {
        let quiet = later(pending.last, self.options.debounce);
        let bound = later(pending.first, self.options.max_delay);
        match (quiet, bound) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn pending_from(&self, now: Instant) -> Pending {
        Pending {
            first: now,
            last: now,
            files: self.fingerprint(),
        }
    }

    /// Reloads, then follows the paths of what is loaded now. True when a directory started
    /// being watched: a change there before the watch began raised no event.
    fn reload_and_rewatch(&mut self) -> bool {
        // Failures are logged and counted by `reload`.
        let _ = self.shared.reload();
        match self.rewatch() {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        self.shared
            .paths()
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| (m.len(), m.modified().ok()))
            })
            .collect()
    }

    /// Watches the parent directory of each followed path as given and of its resolved
    /// target, re-resolved now (a `..data` symlink swap changes the target's directory).
    /// True when a directory started being watched.
    fn rewatch(&mut self) -> Result<bool, ContextError> {
        let Some(watcher) = self.watcher.as_mut() else {
            return Ok(false);
        };
        let mut wanted = BTreeSet::new();
        for path in self.shared.paths() {
            wanted.insert(parent(&path));
            if let Ok(resolved) = std::fs::canonicalize(&path) {
                wanted.insert(parent(&resolved));
            }
        }
        for gone in self.watched.difference(&wanted) {
            let _ = watcher.unwatch(gone);
        }
        let mut first_error = None;
        let mut started = false;
        for dir in wanted.difference(&self.watched) {
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => started = true,
                Err(error) => {
                    first_error.get_or_insert(ContextError::Watch {
                        path: dir.clone(),
                        error,
                    });
                }
            }
        }
        self.watched = wanted;
        match first_error {
            Some(e) => Err(e),
            None => Ok(started),
        }
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vespa_tls_testkit::{TestConfig, TestPki};

    fn replace(path: &Path, contents: &[u8]) {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, contents).expect("test setup");
        std::fs::rename(&tmp, path).expect("test setup");
    }

    #[test]
    fn a_change_between_the_first_load_and_watching_is_seen() {
        let pki = TestPki::new().expect("test setup");
        let config = pki.dir().join("tls.json");
        replace(
            &config,
            TestConfig::new(pki.server().files()).to_json().as_bytes(),
        );
        let next = pki
            .issue("next", &pki.localhost_params("server.localhost"))
            .expect("test setup");
        let next_json = TestConfig::new(next.files()).to_json();
        let expected = CryptoMaterial::load(next.files())
            .expect("test setup")
            .report(time::OffsetDateTime::now_utc())
            .chain[0]
            .sha256_fingerprint
            .clone();
        let options = ReloadOptions {
            debounce: Duration::from_millis(100),
            ..ReloadOptions::default()
        };
        // The rename lands after the first load and before the watch: no event reports it.
        let ctx = ReloadingTlsContext::start(config.clone(), TlsModes::default(), options, || {
            replace(&config, next_json.as_bytes());
        })
        .expect("starts");
        let events = ctx.subscribe();
        if ctx.status().generation == 1 {
            let heard = events.recv_timeout(Duration::from_secs(20));
            assert!(
                matches!(heard, Ok(ReloadEvent::Reloaded { generation: 2 })),
                "the change made before watching began was never read: {heard:?}"
            );
        }
        let status = ctx.status();
        assert_eq!(status.generation, 2);
        assert_eq!(status.certificate.sha256_fingerprint, expected);
    }
}
