//! Resident memory and the descriptor limit, from `/proc/self`.

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`), or `None` where
/// `/proc` is not available.
pub fn rss_kib() -> Option<u64> {
    proc_field("/proc/self/status", "VmRSS:")
}

/// The soft limit on open file descriptors (`Max open files` of `/proc/self/limits`).
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// Descriptors this process has open now (entries of `/proc/self/fd`).
pub fn open_files() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

fn proc_field(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_figures_are_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(rss_kib().is_some_and(|k| k > 0));
            assert!(open_files_limit().is_some_and(|l| l > 0));
            assert!(open_files().is_some_and(|n| n >= 3));
        }
    }
}
