//! Where the `x07` binary under test lives.

use std::path::PathBuf;

/// The `x07` binary to test: `$X07_BIN` if set, else `target/<profile>/x07` beside the test
/// executable's `deps/` directory. Panics with a hint when the binary does not exist.
pub fn x07_bin() -> PathBuf {
    let path = match std::env::var_os("X07_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => default_location(),
    };
    if !path.is_file() {
        panic!(
            "x07 binary not found at {}: build it first: cargo build -p x07-cli \
             (or set X07_BIN to its path)",
            path.display()
        );
    }
    path
}

/// `target/<profile>/x07`, derived from the running test executable (`target/<profile>/deps/...`).
fn default_location() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let deps = exe
        .parent()
        .expect("the test executable lives in a directory");
    let profile_dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    profile_dir.join(format!("x07{}", std::env::consts::EXE_SUFFIX))
}
