#!/usr/bin/env python3
"""(h) the binary cache, against a real S3 server (s3s-fs on 127.0.0.1), side by side in one run.

(h1) `x07 build` of the `x07 init` project into an empty store, substituted from an S3 cache,
     against the same cold build compiling it (both with the cc identity cached, as in (b));
     target <= 0.5x. An extra row: the substitution on a machine with no C compiler at all.
(h2) a 100-entry closure: 100 distinct programs built into one store, then `x07 store push` of
     the whole store (101 entries with the launcher) to S3, a repeated push (nothing to upload),
     and the pull into a fresh home: one `x07 build --substituter` per program. Times are reported
     (no target), with the time the 100 compiles took for scale.

Needs s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked --root /usr/local).
Python 3 standard library only; bench/bench.py --only h runs it, or run it alone:
    python3 bench/cache_bench.py --x07 target/x86_64-unknown-linux-gnu/release/x07
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import BenchError, Comparison, Side, X07, interleave, run_timed

TARGET_SUBSTITUTED = 0.5
ACCESS_KEY = "x07benchcache"
SECRET_KEY = "x07benchcachesecret0123456789"
BUCKET = "x07-cache"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """s3s-fs over a directory, on a free loopback port; stopped by close()."""

    def __init__(self, root: Path):
        exe = shutil.which("s3s-fs") or "/usr/local/bin/s3s-fs"
        if not Path(exe).is_file():
            raise BenchError("(h) needs s3s-fs: cargo install s3s-fs --version 0.14.1 "
                             "--features binary --locked --root /usr/local")
        root.mkdir(parents=True)
        (root / BUCKET).mkdir()
        self.port = free_port()
        self.log = open(root.parent / "s3s-fs.log", "wb")
        self.proc = subprocess.Popen(
            [exe, "--host", "127.0.0.1", "--port", str(self.port), "--access-key", ACCESS_KEY,
             "--secret-key", SECRET_KEY, str(root)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"(h) s3s-fs did not start (log: {self.log.name})")
                time.sleep(0.05)
        self.url = (f"s3://{BUCKET}?endpoint=http://127.0.0.1:{self.port}&region=us-east-1")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def app_module(prefix: str) -> str:
    """The init project's app module, its output prefixed: another program per prefix."""
    body = ["view.to_bytes", "b"] if not prefix else \
        ["bytes.concat", ["bytes.lit", prefix], ["view.to_bytes", "b"]]
    return json.dumps({
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "app", "imports": [],
        "decls": [{"kind": "export", "names": ["app.solve"]},
                  {"kind": "defn", "name": "app.solve",
                   "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes",
                   "body": body}]})


def bench_cache(x07: X07, work: Path, reps: int, closure: int = 100
                ) -> tuple[list[Comparison], list[str]]:
    root = work / "h"
    root.mkdir()
    s3 = S3Server(root / "s3")
    try:
        return _bench(x07, root, s3, reps, closure)
    finally:
        s3.close()


def _bench(x07: X07, root: Path, s3: S3Server, reps: int, closure: int
           ) -> tuple[list[Comparison], list[str]]:
    creds = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    template = root / "proj-template"
    push_home = root / "home-push"
    x07.check(["init", str(template)], push_home)
    x07.check(["key", "generate"], push_home)
    public = push_home / "keys" / "lock-signing.pem.pub"
    x07.build_json([], push_home, cwd=template)
    identity_cache = push_home / "cache" / "cc-identity"
    env_push = dict(x07.env(push_home), **creds)
    run_timed([str(x07.exe), "store", "push", "--to", s3.url], cwd=template, env=env_push,
              what="(h) x07 store push")
    trust = ["--substituter", s3.url, "--trusted-key", str(public)]
    no_cc_path = root / "empty-path"
    no_cc_path.mkdir()

    count = [0]

    def fresh() -> tuple[Path, Path]:
        count[0] += 1
        proj = root / f"proj-{count[0]}"
        shutil.copytree(template, proj)
        home = root / f"home-{count[0]}"
        shutil.copytree(identity_cache, home / "cache" / "cc-identity")
        return proj, home

    def side(label: str, flags: list[str], no_cc: bool, expect: str | None):
        s = Side(label)

        def run(_: int) -> None:
            proj, home = fresh()
            env = dict(x07.env(home), **creds)
            if no_cc:
                env["PATH"] = str(no_cc_path)
                env.pop("CC", None)
                env.pop("X07_CC", None)
            sample = run_timed([str(x07.exe), "build", "--json", *flags], cwd=proj, env=env,
                               what=f"(h1) {label}")
            report = json.loads(sample.stdout)
            got = (report.get("substitution") or {}).get("from")
            if got != expect:
                raise BenchError(f"(h1) {label}: expected substitution from {expect}, "
                                 f"the report says {report.get('substitution')}")
            s.samples.append(sample)

        return s, run

    substituted, run_sub = side("x07 build, substituted from S3", trust, False, s3.url)
    compiled, run_comp = side("x07 build, compiled (no substituter)", [], False, None)
    no_cc, run_no_cc = side("x07 build, substituted, no C compiler on PATH", trust, True, s3.url)
    interleave(1, run_sub, run_comp, run_no_cc)  # warm-up
    for s in (substituted, compiled, no_cc):
        s.samples.clear()
    interleave(reps, run_sub, run_comp, run_no_cc)
    h1 = Comparison("h1", "(h1) cold x07 build: substituted from an S3 cache vs compiled",
                    substituted, compiled, TARGET_SUBSTITUTED, extras=[no_cc],
                    notes=["both sides: empty store, cc identity cached; the substituted side "
                           "fetches the signed record and archive over SigV4 and verifies them"],
                    ratio_label="substituted/compiled")
    return [h1], bench_closure(x07, root, s3, creds, closure)


def bench_closure(x07: X07, root: Path, s3: S3Server, creds: dict[str, str], n: int) -> list[str]:
    """(h2): n programs into one store, push them all, push again, pull them all elsewhere."""
    home = root / "home-closure"
    x07.check(["key", "generate"], home)
    public = home / "keys" / "lock-signing.pem.pub"
    projects = []
    compile_s = 0.0
    for i in range(n):
        proj = root / f"closure-{i:03}"
        shutil.copytree(root / "proj-template", proj)
        (proj / "src" / "app.x07.json").write_text(app_module(f"p{i}:"))
        compile_s += run_timed([str(x07.exe), "build"], cwd=proj, env=x07.env(home),
                               what="(h2) x07 build").wall_s
        projects.append(proj)
    entries = len([p for p in (home / "store").iterdir() if not p.name.startswith(".")])
    env = dict(x07.env(home), **creds)
    url = s3.url.replace(f"s3://{BUCKET}?", f"s3://{BUCKET}/closure?")
    push = run_timed([str(x07.exe), "store", "push", "--json", "--to", url], env=env,
                     what="(h2) x07 store push")
    pushed = json.loads(push.stdout)["entries"]
    archive_bytes = sum(e["archive_bytes"] for e in pushed)
    again = run_timed([str(x07.exe), "store", "push", "--json", "--to", url], env=env,
                      what="(h2) x07 store push (again)")
    if any(e["uploaded"] for e in json.loads(again.stdout)["entries"]):
        raise BenchError("(h2) the second push uploaded entries the cache already had")
    pull_home = root / "home-pull"
    env_pull = dict(x07.env(pull_home), **creds)
    start = time.perf_counter()
    for proj in projects:
        s = run_timed([str(x07.exe), "build", "--json", "--substituter", url, "--trusted-key",
                       str(public)], cwd=proj, env=env_pull, what="(h2) x07 build (pull)")
        if not (json.loads(s.stdout).get("substitution") or {}).get("from"):
            raise BenchError(f"(h2) {proj.name} was not substituted: {s.stdout[:500]!r}")
    pull_s = time.perf_counter() - start
    verify = run_timed([str(x07.exe), "store", "verify", "--cache", url, "--trusted-key",
                        str(public)], env=env, what="(h2) x07 store verify --cache")
    ms = lambda s: f"{s * 1000:9.1f} ms"  # noqa: E731
    return [
        "",
        f"(h2) a {n}-program closure through S3 ({entries} store entries, "
        f"{archive_bytes / 1024:.0f} KiB of archives)",
        f"  x07 store push, all entries         {ms(push.wall_s)}  "
        f"({push.wall_s / entries * 1000:.1f} ms per entry)",
        f"  x07 store push again (all cached)   {ms(again.wall_s)}",
        f"  pull: {n} x x07 build --substituter  {ms(pull_s)}  "
        f"({pull_s / n * 1000:.1f} ms per program, one process each)",
        f"  x07 store verify --cache            {ms(verify.wall_s)}",
        f"  for scale: the {n} compiles took    {ms(compile_s)}  "
        f"(pull/compile {pull_s / compile_s:.2f}x)",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--x07", required=True, type=Path)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--closure", type=int, default=100)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="x07-bench-cache-"))
    try:
        comparisons, lines = bench_cache(X07(args.x07.resolve()), work, args.reps, args.closure)
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        for dirpath, _, _ in os.walk(work):
            os.chmod(dirpath, 0o755)
        shutil.rmtree(work)
    for c in comparisons:
        print(c.title)
        for s in c.rows():
            print(f"  {s.label:<48} median {s.median() * 1000:8.1f} ms  "
                  f"min {s.minimum() * 1000:8.1f} ms")
        for line in c.summary_lines():
            print(f"  {line}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
