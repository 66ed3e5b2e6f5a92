//! This process's resident memory, from `/proc/self/status` (Linux; elsewhere every figure is
//! 0), as `examples/proxy_buffers.rs` reads it.

/// A line of `/proc/self/status`, in bytes.
fn proc_status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resident memory now (VmRSS).
pub fn rss() -> usize {
    proc_status_bytes("VmRSS:")
}

/// The most resident memory since the process started or since [`reset_peak_rss`] (VmHWM).
pub fn peak_rss() -> usize {
    proc_status_bytes("VmHWM:")
}

/// Restarts VmHWM from the current RSS (Linux: write 5 to clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Bytes as MiB, one decimal.
pub fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}
