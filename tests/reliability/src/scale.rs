//! The short form (every `cargo xtask ci`) and the long form (`VESPA_TLS_SOAK=1`, run by
//! `cargo xtask soak` in the release profile): the same scenarios, different counts.

use std::time::Duration;

use vespa_tls_context::ReloadOptions;

/// The variable that selects the long form.
pub(crate) const SOAK_VAR: &str = "VESPA_TLS_SOAK";

/// Counts and durations for one run of the suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Whether this is the long form.
    pub(crate) soak: bool,
    /// Concurrent good-client loops per scenario.
    pub clients: usize,
    /// Rolling upgrade: after each node restart, the client requests (and at least this
    /// long) before the next restart; the restarted node must have served some of them.
    pub settle: Window,
    /// Rolling upgrade: the client requests (and at least this long) at each whole-cluster
    /// phase, and the window in which `insecure_connections` must not grow after phase 2.
    pub hold: Window,
    /// Certificate rotations per rotation method (the issue asks ≥ 100 in the long form).
    pub rotations: usize,
    /// Rotation: successful requests under load against each generation before the next
    /// rotation.
    pub requests_per_generation: u64,
    /// Each hostile client kind, per server mode.
    pub hostile_repeats: usize,
    /// Idle connections per server in the hostile scenario (capped by the descriptor limit).
    pub idle_connections: usize,
    /// The acceptor's snoop + handshake deadline in the hostile scenario.
    pub handshake_deadline: Duration,
    /// Lifetime of the short-lived certificate in the expiry scenario.
    pub expiring_after: Duration,
    /// Fault injection rounds (each: delete, unreadable, corrupt key, corrupt config).
    pub fault_rounds: usize,
    /// The watcher's quiet period before a reload, in every scenario that reloads: the
    /// library's default in the long form, shorter in the short form (each rotation waits
    /// for it once, and the in-place rotation's pause must outlast it).
    pub reload_debounce: Duration,
}

/// A stretch of load measured in requests, with a floor in time: it ends once `requests`
/// more requests were made and `at_least` has passed. The short form counts only; the long
/// form adds the time so that a soak keeps its load running for minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Requests made in the window (any outcome; the scenarios count failures separately).
    pub requests: u64,
    /// The window lasts at least this long.
    pub at_least: Duration,
}

impl Scale {
    /// The short form.
    pub(crate) fn short() -> Self {
        Scale {
            soak: false,
            clients: 3,
            settle: Window {
                requests: 15,
                at_least: Duration::ZERO,
            },
            hold: Window {
                requests: 40,
                at_least: Duration::ZERO,
            },
            rotations: 8,
            requests_per_generation: 6,
            hostile_repeats: 2,
            idle_connections: 1000,
            handshake_deadline: Duration::from_millis(1500),
            expiring_after: Duration::from_secs(3),
            fault_rounds: 1,
            reload_debounce: Duration::from_millis(50),
        }
    }

    /// The long form.
    pub(crate) fn soak() -> Self {
        Scale {
            soak: true,
            clients: 6,
            settle: Window {
                requests: 200,
                at_least: Duration::from_secs(4),
            },
            hold: Window {
                requests: 1000,
                at_least: Duration::from_secs(15),
            },
            rotations: 110,
            requests_per_generation: 50,
            hostile_repeats: 25,
            idle_connections: 4000,
            handshake_deadline: Duration::from_secs(3),
            expiring_after: Duration::from_secs(20),
            fault_rounds: 10,
            reload_debounce: ReloadOptions::default().debounce,
        }
    }

    /// The long form when `VESPA_TLS_SOAK` is set to anything but empty or `0`.
    pub fn from_env() -> Self {
        match std::env::var_os(SOAK_VAR) {
            Some(v) if !v.is_empty() && v != "0" => Scale::soak(),
            _ => Scale::short(),
        }
    }
}
