#!/usr/bin/env bash
# Builds x07 and runs the seed walkthrough (shared/seeds/002) as far as it is built, in a fresh
# directory with a private store. Usage: scripts/walkthrough.sh [WORKDIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked -p x07-cli --manifest-path "$repo/Cargo.toml"
x07="$repo/target/release/x07"
work=${1:-$(mktemp -d -t x07-walkthrough-XXXXXX)}
export X07_HOME="$work/x07-home"
decode() { python3 -c 'import sys,json,base64; r=json.load(sys.stdin); sys.stdout.buffer.write(base64.b64decode(r["solve_output_b64"]))'; }

echo "== step 0: x07 init in $work/sandbox-policy-demo"
mkdir -p "$work/sandbox-policy-demo" && cd "$work/sandbox-policy-demo"
"$x07" init

echo "== step 2: echo the input (world run-os)"
printf 'hello' > "$work/in.bin"
out=$("$x07" run --input "$work/in.bin" | decode)
echo "solve_output: $out"
[ "$out" = hello ]

echo "== step 3: filesystem output"
cp "$repo/tests/fixtures/seed_step3_app.x07.json" src/app.x07.json
mkdir -p out
out=$("$x07" run --input "$work/in.bin" | decode)
echo "solve_output: $out"
ls -la out/input.bin
[ "$out" = ok ] && [ "$(cat out/input.bin)" = hello ]

echo "== the build is content-addressed and reproducible"
"$x07" build
"$x07" build --check >/dev/null && echo "x07 build --check: identical"

echo "== step 1: base policy; the default VM backend is not built, so it fails closed"
"$x07" policy init --template cli
"$x07" run --profile sandbox --input "$work/in.bin" || true

echo "== steps 2-3 in run-os-sandboxed with the kernel-enforced os backend"
if [ "$(id -u)" = 0 ]; then
  out=$(X07_SANDBOX_BACKEND=os X07_I_ACCEPT_WEAKER_ISOLATION=1 "$x07" run --profile sandbox --input "$work/in.bin" | decode)
  echo "solve_output: $out"
  [ "$out" = ok ]
else
  echo "(skipped: the os backend's pids cgroup and network namespace need root here)"
fi
echo "walkthrough OK (work dir: $work)"
