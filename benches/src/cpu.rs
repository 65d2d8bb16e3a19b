//! CPU time and memory of a process, summed over its threads, from `/proc` (nanosecond
//! resolution).

use std::time::Duration;

/// Total on-CPU time of every live thread of this process (`/proc/self/task/*/schedstat`),
/// or `None` where `/proc` does not have it.
pub fn process_cpu_time() -> Option<Duration> {
    tasks_cpu_time("self")
}

/// Total on-CPU time of every live thread of process `pid` (`/proc/<pid>/task/*/schedstat`).
///
/// A thread that exits between two readings takes its time with it, so callers compare
/// readings of processes whose threads live as long as the measurement (tokio workers,
/// haproxy threads, a single-threaded `openssl s_server`).
pub fn pid_cpu_time(pid: u32) -> Option<Duration> {
    tasks_cpu_time(&pid.to_string())
}

/// The resident set size of process `pid` in bytes (`VmRSS` in `/proc/<pid>/status`).
pub fn pid_rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:").map(|kib| kib * 1024)
}

/// The peak resident set size of process `pid` in bytes (`VmHWM` in `/proc/<pid>/status`).
pub fn pid_peak_rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:").map(|kib| kib * 1024)
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn tasks_cpu_time(process: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    for task in std::fs::read_dir(format!("/proc/{process}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread can exit between listing and reading; it no longer counts.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
