//! CPU time of this process, summed over its threads, from `/proc` (nanosecond resolution).

use std::time::Duration;

/// Total on-CPU time of every live thread of this process (`/proc/self/task/*/schedstat`),
/// or `None` where `/proc` does not have it.
pub fn process_cpu_time() -> Option<Duration> {
    let mut total: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
