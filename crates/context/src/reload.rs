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
use vespa_tls_config::{Diagnostics, Environment, Files};
use vespa_tls_material::{CertificateFacts, CryptoMaterial, FileDigests};

use crate::context::{TlsContext, TlsModes};
use crate::error::ContextError;
use crate::metrics::{MetricsSnapshot, TlsMetrics};

/// When and how a [`ReloadingTlsContext`] looks for new material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOptions {
    /// Reload at least this often, changed or not (Vespa: one hour).
    pub interval: Duration,
    /// Watch the directories of the config file and of the three files it names.
    pub watch: bool,
    /// After a change, wait until the files have been quiet this long before reading them.
    pub debounce: Duration,
}

impl Default for ReloadOptions {
    /// One hour, watching on, 250 ms of quiet.
    fn default() -> Self {
        ReloadOptions {
            interval: Duration::from_secs(3600),
            watch: true,
            debounce: Duration::from_millis(250),
        }
    }
}

/// What a successful [`ReloadingTlsContext::reload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadEvent {
    /// A new snapshot is in effect for new connections.
    Reloaded {
        /// Its generation.
        generation: u64,
    },
    /// A reload failed; the previous snapshot stays in effect.
    Failed {
        /// Why, naming the file.
        error: String,
    },
}

/// The last failed reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    /// When it happened.
    pub at: SystemTime,
    /// Why, naming the file.
    pub error: String,
}

/// What is loaded, for status pages and `vespa-tls serve`.
#[derive(Debug, Clone)]
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
/// Reads of the current snapshot take no lock. Dropping this stops the watcher and the timer.
pub struct ReloadingTlsContext {
    shared: Arc<Shared>,
    worker: Option<(Sender<Message>, JoinHandle<()>)>,
}

struct Shared {
    config_file: PathBuf,
    modes: TlsModes,
    metrics: Arc<TlsMetrics>,
    current: ArcSwap<TlsContext>,
    state: Mutex<State>,
    /// Serialises reloads (timer, watcher and explicit calls).
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
    /// Reads the four `VESPA_TLS_*` variables and loads the config they name; `Ok(None)` when
    /// `VESPA_TLS_CONFIG_FILE` is unset or empty (TLS is off). Findings about the environment
    /// and the files are logged once.
    pub fn from_env(options: ReloadOptions) -> Result<Option<ReloadingTlsContext>, ContextError> {
        let (env, diagnostics) = Environment::from_lookup(|name| std::env::var_os(name))?;
        for finding in &diagnostics {
            tracing::warn!("{finding}");
        }
        let Some(path) = env.config_file.clone() else {
            return Ok(None);
        };
        Self::from_file(path, TlsModes::from(&env), options).map(Some)
    }

    /// Loads `config_file` now (failing if it cannot be used: nothing is served on a bad start)
    /// and follows it.
    pub fn from_file(
        config_file: impl Into<PathBuf>,
        modes: TlsModes,
        options: ReloadOptions,
    ) -> Result<ReloadingTlsContext, ContextError> {
        let config_file = config_file.into();
        let metrics = Arc::new(TlsMetrics::default());
        let loaded = load(&config_file, modes, &metrics)?;
        for finding in &loaded.diagnostics {
            tracing::warn!("{}: {finding}", config_file.display());
        }
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
                .map_err(|e| ContextError::Watch {
                    path: shared.config_file.clone(),
                    message: e.to_string(),
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
        worker.rewatch()?;
        let handle = std::thread::Builder::new()
            .name("vespa-tls-reload".into())
            .spawn(move || worker.run(&rx))
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

    /// Reloads now, on this thread: validate, then publish. On failure the old snapshot stays.
    pub fn reload(&self) -> Result<ReloadOutcome, ContextError> {
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

    /// What is loaded, the counters and the last error.
    pub fn status(&self) -> ReloadStatus {
        let context = self.current();
        let state = lock(&self.shared.state);
        let material = context.material();
        ReloadStatus {
            generation: state.generation,
            loaded_at: state.loaded_at,
            config_file: self.shared.config_file.clone(),
            files: context.options().files.clone(),
            certificate: material.chain[0].clone(),
            ca_certificates: material.ca_certificates.clone(),
            metrics: self.shared.metrics.snapshot(),
            last_error: state.last_error.clone(),
            warnings: context.warnings().clone(),
        }
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
            let _ = handle.join();
        }
    }
}

impl std::fmt::Debug for ReloadingTlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingTlsContext")
            .field("config_file", &self.shared.config_file)
            .field("generation", &lock(&self.shared.state).generation)
            .finish_non_exhaustive()
    }
}

/// Everything one load produced, before it is published.
struct Loaded {
    context: TlsContext,
    config_bytes: Vec<u8>,
    digests: FileDigests,
    diagnostics: Diagnostics,
}

fn read_options(
    config_file: &Path,
) -> Result<
    (
        Vec<u8>,
        vespa_tls_config::TransportSecurityOptions,
        Diagnostics,
    ),
    ContextError,
> {
    let bytes = std::fs::read(config_file).map_err(|source| ContextError::ReadConfig {
        path: config_file.to_owned(),
        source,
    })?;
    let (options, diagnostics) =
        vespa_tls_config::parse_slice(&bytes).map_err(|source| ContextError::Config {
            path: config_file.to_owned(),
            source,
        })?;
    Ok((bytes, options, diagnostics))
}

fn load(
    config_file: &Path,
    modes: TlsModes,
    metrics: &Arc<TlsMetrics>,
) -> Result<Loaded, ContextError> {
    let (config_bytes, options, mut diagnostics) = read_options(config_file)?;
    let (authorizer, rules) = Authorizer::compile(options.authorized_peers.as_ref());
    diagnostics.extend(rules);
    let material = CryptoMaterial::load(&options.files)?;
    let context = TlsContext::build(&options, authorizer, &material, modes, Arc::clone(metrics))?;
    diagnostics.extend(context.warnings().clone());
    Ok(Loaded {
        context,
        config_bytes,
        digests: *material.digests(),
        diagnostics,
    })
}

impl Shared {
    fn reload(&self) -> Result<ReloadOutcome, ContextError> {
        let _one_at_a_time = lock(&self.reload_lock);
        match self.try_reload() {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                TlsMetrics::bump(&self.metrics.failed_config_reloads);
                let message = error.to_string();
                tracing::warn!(
                    "Failed to reload TLS config file ({}): '{message}'. Old config remains in effect.",
                    self.config_file.display()
                );
                let mut state = lock(&self.state);
                state.last_error = Some(ReloadFailure {
                    at: SystemTime::now(),
                    error: message.clone(),
                });
                state.subscribers.retain(|s| {
                    s.send(ReloadEvent::Failed {
                        error: message.clone(),
                    })
                    .is_ok()
                });
                Err(error)
            }
        }
    }

    fn try_reload(&self) -> Result<ReloadOutcome, ContextError> {
        // Cheap first: if all four files are byte-identical, rebuild nothing.
        let (bytes, options, _) = read_options(&self.config_file)?;
        let material = CryptoMaterial::load(&options.files)?;
        {
            let mut state = lock(&self.state);
            if state.config_bytes == bytes && state.digests == *material.digests() {
                state.last_error = None;
                return Ok(ReloadOutcome::Unchanged {
                    generation: state.generation,
                });
            }
        }
        let (authorizer, rules) = Authorizer::compile(options.authorized_peers.as_ref());
        let context = TlsContext::build(
            &options,
            authorizer,
            &material,
            self.modes,
            Arc::clone(&self.metrics),
        )?;
        for finding in rules.iter().chain(context.warnings().iter()) {
            tracing::warn!("{}: {finding}", self.config_file.display());
        }
        let leaf = context.material().chain[0].sha256_fingerprint.clone();
        self.current.store(Arc::new(context));
        TlsMetrics::bump(&self.metrics.successful_config_reloads);
        let mut state = lock(&self.state);
        state.generation += 1;
        state.loaded_at = SystemTime::now();
        state.config_bytes = bytes;
        state.digests = *material.digests();
        state.last_error = None;
        let generation = state.generation;
        state
            .subscribers
            .retain(|s| s.send(ReloadEvent::Reloaded { generation }).is_ok());
        tracing::info!(
            "reloaded TLS config file ({}): generation {generation}, certificate sha256 {leaf}",
            self.config_file.display()
        );
        Ok(ReloadOutcome::Reloaded { generation })
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

impl Worker {
    fn run(&mut self, rx: &Receiver<Message>) {
        let mut next_interval = Instant::now() + self.options.interval;
        // Set while a change waits for the files to be quiet: (last event, files then).
        let mut pending: Option<(Instant, Fingerprint)> = None;
        loop {
            let now = Instant::now();
            let wake = match &pending {
                Some((last, _)) => (*last + self.options.debounce).min(next_interval),
                None => next_interval,
            };
            match rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(Message::Changed) => pending = Some((Instant::now(), self.fingerprint())),
                Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    if let Some((last, before)) = &pending
                        && now >= *last + self.options.debounce
                    {
                        let after = self.fingerprint();
                        if after != *before {
                            // Still being written: wait for another quiet period.
                            pending = Some((now, after));
                            continue;
                        }
                        pending = None;
                        self.reload_and_rewatch();
                    }
                    if Instant::now() >= next_interval {
                        next_interval = Instant::now() + self.options.interval;
                        self.reload_and_rewatch();
                    }
                }
            }
        }
    }

    fn reload_and_rewatch(&mut self) {
        // Failures are logged and counted by `reload`.
        let _ = self.shared.reload();
        if let Err(e) = self.rewatch() {
            tracing::warn!("{e}");
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
    fn rewatch(&mut self) -> Result<(), ContextError> {
        let Some(watcher) = self.watcher.as_mut() else {
            return Ok(());
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
        for dir in wanted.difference(&self.watched) {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                first_error.get_or_insert(ContextError::Watch {
                    path: dir.clone(),
                    message: e.to_string(),
                });
            }
        }
        self.watched = wanted;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}
