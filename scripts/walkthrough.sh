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
cat > src/app.x07.json <<'JSON'
{
"schema_version": "x07.x07ast@0.4.0",
"kind": "module",
"module_id": "app",
"imports": ["std.os.fs"],
"decls": [
{ "kind": "export", "names": ["app.solve"] },
{
"kind": "defn",
"name": "app.solve",
"params": [{ "name": "b", "ty": "bytes_view" }],
"result": "bytes",
"body": [
"begin",
["let", "data", ["view.to_bytes", "b"]],
["let", "rc", ["std.os.fs.write_file", ["bytes.lit", "out/input.bin"], "data"]],
["if", ["=", "rc", 0], ["bytes.lit", "ok"], ["bytes.lit", "write_failed"]]
]
}
]
}
JSON
mkdir -p out
out=$("$x07" run --input "$work/in.bin" | decode)
echo "solve_output: $out"
ls -la out/input.bin
[ "$out" = ok ] && [ "$(cat out/input.bin)" = hello ]

echo "== the build is content-addressed and reproducible"
"$x07" build
"$x07" build --check >/dev/null && echo "x07 build --check: identical"

echo "== steps 1, 4-6 (sandbox policies, packages, HTTP) are not built yet:"
"$x07" run --profile sandbox --input "$work/in.bin" || true
echo "walkthrough OK (work dir: $work)"
