#!/usr/bin/env bash
# Builds x07 and runs the seed walkthrough (shared/seeds/002) as far as it is built, in a fresh
# directory with a private store. Usage: scripts/walkthrough.sh [WORKDIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# what the walkthrough needs before its long build (x07 doctor checks the rest right after)
for tool in cargo cc python3; do
  command -v "$tool" >/dev/null || { echo "walkthrough: $tool is not installed (Debian: see .ci/run for the packages)" >&2; exit 1; }
done
cargo build --release --locked -p x07-cli -p x07-vm-launcher --manifest-path "$repo/Cargo.toml"
# .cargo/config.toml makes the host triple explicit (x07 is linked statically): target/<triple>/
x07="$repo/target/$(rustc -vV | sed -n 's/^host: //p')/release/x07"
work=${1:-$(mktemp -d -t x07-walkthrough-XXXXXX)}
export X07_HOME="$work/x07-home"
echo "== 1/10 x07 doctor: what this machine needs"
(cd "$work" && "$x07" doctor) || { echo "walkthrough: x07 doctor found problems; apply its fixes and run again" >&2; exit 1; }
decode() { python3 -c 'import sys,json,base64; r=json.load(sys.stdin); sys.stdout.buffer.write(base64.b64decode(r["solve_output_b64"]))'; }

echo "== 2/10 x07 init in $work/sandbox-policy-demo (seed step 0)"
mkdir -p "$work/sandbox-policy-demo" && cd "$work/sandbox-policy-demo"
"$x07" init

echo "== 3/10 echo the input, world run-os (seed step 2)"
printf 'hello' > "$work/in.bin"
out=$("$x07" run --input "$work/in.bin" | decode)
echo "solve_output: $out"
[ "$out" = hello ]

echo "== 4/10 filesystem output (seed step 3)"
cp "$repo/tests/fixtures/seed_step3_app.x07.json" src/app.x07.json
mkdir -p out
out=$("$x07" run --input "$work/in.bin" | decode)
echo "solve_output: $out"
ls -la out/input.bin
[ "$out" = ok ] && [ "$(cat out/input.bin)" = hello ]

echo "== 5/10 the build is content-addressed and reproducible"
"$x07" build
"$x07" build --check >/dev/null && echo "x07 build --check: identical"

echo "== 6/10 base policy; without x07's guest image the default vm backend fails closed (seed step 1)"
"$x07" policy init --template cli
"$x07" run --profile sandbox --input "$work/in.bin" || true

echo "== 7/10 the VM boundary: x07's guest image (Debian's kernel + x07's agent), then seed steps 2-3 in a guest, no backend flags"
"$x07" vm image build
out=$("$x07" run --profile sandbox --input "$work/in.bin" | decode)
echo "solve_output (vm backend): $out"
[ "$out" = ok ]

echo "== 8/10 seed steps 2-3 in run-os-sandboxed with the kernel-enforced os backend"
if [ "$(id -u)" = 0 ]; then
  out=$(X07_SANDBOX_BACKEND=os X07_I_ACCEPT_WEAKER_ISOLATION=1 "$x07" run --profile sandbox --input "$work/in.bin" | decode)
  echo "solve_output: $out"
  [ "$out" = ok ]
else
  echo "(skipped: the os backend's pids cgroup and network namespace need root here)"
fi
echo "== 9/10 HTTP fetch with ext-net, published to a local registry and added with x07 pkg add (seed step 4)"
"$x07" registry serve --root "$work/registry" --addr 127.0.0.1:0 --official-owner x07 2>"$work/registry.log" &
registry_pid=$!
mkdir -p "$work/www" && printf 'hello from a loopback HTTP server\n' > "$work/www/index.html"
python3 -u -m http.server --bind 127.0.0.1 --directory "$work/www" 0 >"$work/http.log" 2>&1 &
http_pid=$!
trap 'kill $registry_pid $http_pid 2>/dev/null || true' EXIT
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "timed out waiting for $1" >&2; exit 1; }
wait_for "$work/registry.log" "listening on"
wait_for "$work/http.log" "Serving HTTP"
registry_port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/registry.log" | head -n1)
http_port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$work/http.log" | head -n1)
export X07_PKG_INDEX_URL="sparse+http://127.0.0.1:$registry_port/index/"
"$x07" registry token create --root "$work/registry" --owner x07 | tail -n1 | "$x07" pkg login --token-stdin
"$x07" pkg publish --package "$repo/packages/ext-net"
"$x07" pkg add ext-net@0.1.0 --sync
"$x07" pkg tree
"$x07" policy init --template http-client --profile sandbox
cp "$repo/tests/fixtures/seed_step4_app.x07.json" src/app.x07.json
printf 'http://127.0.0.1:%s/' "$http_port" > "$work/url.bin"
out=$("$x07" run --input "$work/url.bin" | decode)
echo "solve_output (run-os): $out"
ls -la out/body.bin
[ "$out" = "hello from a loopback HTTP server" ]
if [ "$(id -u)" = 0 ]; then
  rm -f out/body.bin
  sandbox=(run --profile sandbox --sandbox-backend os --i-accept-weaker-isolation --input "$work/url.bin")
  out=$("$x07" "${sandbox[@]}" --allow-host "127.0.0.1:$http_port" | decode)
  echo "solve_output (sandbox, --allow-host 127.0.0.1:$http_port): $out"
  [ "$out" = "hello from a loopback HTTP server" ] && [ -f out/body.bin ]
  out=$("$x07" "${sandbox[@]}" | decode)
  echo "solve_output (sandbox, no --allow-host): $out"
  [ "$out" = "http_error_code=1" ]
else
  echo "(os-backend part skipped: the os backend needs root here)"
fi
rm -f out/body.bin
# the default vm backend: the program and its closure (libcurl, CA certificates) in a guest whose
# only way out is x07's host-side proxy
out=$("$x07" run --profile sandbox --input "$work/url.bin" --allow-host "127.0.0.1:$http_port" | decode)
echo "solve_output (vm backend, --allow-host 127.0.0.1:$http_port): $out"
[ "$out" = "hello from a loopback HTTP server" ] && [ -f out/body.bin ]
out=$("$x07" run --profile sandbox --input "$work/url.bin" | decode)
echo "solve_output (vm backend, no --allow-host): $out"
[ "$out" = "http_error_code=1" ]

echo "== 10/10 bundle the app as a release executable, copy it to a fresh directory, run it there (seed step 5)"
cp "$repo/tests/fixtures/seed_step4_cli_app.x07.json" src/app.x07.json
"$x07" key generate >/dev/null   # bundles carry signed provenance
"$x07" bundle --profile os --out dist/fetch >/dev/null
"$x07" bundle verify dist/fetch --key "$X07_HOME/keys/lock-signing.pem.pub"
mkdir -p "$work/fresh-os/out" && cp dist/fetch "$work/fresh-os/"
out=$(cd "$work/fresh-os" && ./fetch "http://127.0.0.1:$http_port/")
echo "dist/fetch (os bundle, in a fresh directory): $out"
[ "$out" = "hello from a loopback HTTP server" ]
if [ "$(id -u)" = 0 ]; then
  "$x07" bundle --profile sandbox --sandbox-backend os --i-accept-weaker-isolation \
    --allow-host "127.0.0.1:$http_port" --out dist/fetch-sealed >/dev/null
  mkdir -p "$work/fresh-sealed" && cp dist/fetch-sealed "$work/fresh-sealed/"
  out=$(cd "$work/fresh-sealed" && ./fetch-sealed "http://127.0.0.1:$http_port/")
  echo "dist/fetch-sealed (policy sealed with --allow-host 127.0.0.1:$http_port): $out"
  "$x07" bundle verify dist/fetch-sealed --key "$X07_HOME/keys/lock-signing.pem.pub" --rebuild
  [ "$out" = "hello from a loopback HTTP server" ] && [ -f "$work/fresh-sealed/out/body.bin" ]
  python3 -u -m http.server --bind 127.0.0.1 --directory "$work/www" 0 >"$work/http2.log" 2>&1 &
  http2_pid=$!
  trap 'kill $registry_pid $http_pid $http2_pid 2>/dev/null || true' EXIT
  wait_for "$work/http2.log" "Serving HTTP"
  other_port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$work/http2.log" | head -n1)
  out=$(cd "$work/fresh-sealed" && ./fetch-sealed "http://127.0.0.1:$other_port/" 2>/dev/null)
  echo "dist/fetch-sealed, a port the sealed policy does not allow: $out"
  [ "$out" = "http_error_code=1" ]
else
  echo "(sealed bundle skipped: the os backend needs root here)"
fi
# the default backend: a VM bundle, dist/fetch-vm (a launcher pinning everything) and
# dist/fetch-vm.vm/ (signed manifest, sealed payload, libcurl's closure, the guest image)
"$x07" bundle --profile sandbox --allow-host "127.0.0.1:$http_port" --out dist/fetch-vm >/dev/null
"$x07" bundle verify dist/fetch-vm --key "$X07_HOME/keys/lock-signing.pem.pub"
mkdir -p "$work/fresh-vm/out" && cp -r dist/fetch-vm dist/fetch-vm.vm "$work/fresh-vm/"
out=$(cd "$work/fresh-vm" && ./fetch-vm "http://127.0.0.1:$http_port/")
echo "dist/fetch-vm (VM bundle, in a fresh directory, no x07): $out"
[ "$out" = "hello from a loopback HTTP server" ] && [ -f "$work/fresh-vm/out/body.bin" ]
echo "walkthrough OK (work dir: $work)"
