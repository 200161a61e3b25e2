//! Whether this process may exercise the `os` backend: its kernel layer creates a pids cgroup and a
//! network namespace, which needs root. Tests that need it skip with a printed reason otherwise.

use std::io::Write as _;

/// Why the `os` backend cannot be exercised here, or `None` when it can.
pub fn os_backend_unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some(format!(
            "the os sandbox backend needs root for its pids cgroup and network namespace \
             (running as uid {euid}); CI runs these tests as root"
        ));
    }
    None
}

/// Prints why `test` is skipped and returns true when the `os` backend cannot be exercised.
pub fn skip_without_os_backend(test: &str) -> bool {
    match os_backend_unavailable() {
        Some(reason) => {
            // Straight to the descriptor: libtest captures eprintln! of passing tests.
            let _ = writeln!(std::io::stderr(), "skipping {test}: {reason}");
            true
        }
        None => false,
    }
}
