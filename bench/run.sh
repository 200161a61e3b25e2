#!/usr/bin/env bash
# Builds x07 in release mode and prints the benchmark table (bench/README.md).
# Usage, from anywhere:  bench/run.sh [--reps-run N] [--reps-build N] [--reps-compute N]
#                                     [--reps-sandbox N] [--reps-bundle N] [--reps-vm N]
#                                     [--reps-cache N] [--closure N]
#                                     [--only a|b|c|d|e|f|g|h]...
#                                     [--json FILE] [--keep]
# (e), the package manager (bench/pkg_bench.py, ~30 s), runs only with --only e.
# (h), the binary cache (bench/cache_bench.py, needs s3s-fs; the 100 builds of (h2) take a few
# minutes), runs only with --only h.
# (d3) needs bubblewrap (`sudo apt-get install bubblewrap` on Debian); without it (d3) is skipped
# with a message and the rest of (d) still runs.
# (g) boots qemu (TCG here) and builds x07's guest image (kernel package from apt, or
# X07_BENCH_KERNEL_DEB=FILE).
# Set X07_BENCH_BIN=/path/to/x07 to measure an existing binary instead of building one.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [[ -n "${X07_BENCH_BIN:-}" ]]; then
    x07_bin="$X07_BENCH_BIN"
else
    target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
    echo "building x07 (release) into $target_dir ..." >&2
    CARGO_TARGET_DIR="$target_dir" cargo build --release --quiet -p x07-cli -p x07-vm-launcher
    # .cargo/config.toml makes the host triple explicit (x07 is linked statically)
    x07_bin="$target_dir/$(rustc -vV | sed -n 's/^host: //p')/release/x07"
fi

exec python3 "$repo_root/bench/bench.py" --x07 "$x07_bin" "$@"
