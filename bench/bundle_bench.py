"""(f) bundles, measured side by side in one run (bench/README.md):

(f1) `x07 bundle --profile os` of the `x07 init` project against a cold `x07 build` of it (each
     in a fresh X07_HOME with the cc identity cached; target <= 1.2x);
(f2) the os bundle started with one argument against the stored build binary run directly with
     the same input framed (target <= 1.05x);
(f3) the policy-sealed sandbox bundle against the os bundle (target: at most +3 ms, the sandboxed
     `x07 run` budget; needs root for the os backend's cgroups, skipped with a message otherwise);
(f4) sizes: the os, static (musl) and sealed echo bundles against a static hand-written C hello
     (report only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from harness import BenchError, Comparison, Side, X07, frame, interleave, run_timed, unframe

TARGET_BUNDLE_VS_BUILD = 1.2
TARGET_START_VS_STORED = 1.05
TARGET_SEALED_EXTRA_MS = 3.0
SANDBOX_FLAGS = ["--profile", "sandbox", "--sandbox-backend", "os", "--i-accept-weaker-isolation"]


def argv_v1(tokens: list[bytes]) -> bytes:
    out = len(tokens).to_bytes(4, "little")
    for t in tokens:
        out += len(t).to_bytes(4, "little") + t
    return out


def bench_bundle(x07: X07, work: Path, reps: int) -> list[Comparison]:
    root = work / "f"
    root.mkdir()
    template = root / "proj-template"
    warm_home = root / "home-warm"
    x07.check(["init", str(template)], warm_home)
    x07.check(["policy", "init", "--template", "cli"], warm_home, cwd=template)
    warm = root / "proj-warm"
    shutil.copytree(template, warm)
    x07.check(["build"], warm_home, cwd=warm)
    identity_cache = warm_home / "cache" / "cc-identity"
    if not identity_cache.is_dir():
        raise BenchError(f"(f) no cc identity cache at {identity_cache}; update bundle_bench.py")
    comparisons = [bench_bundling(x07, root, template, identity_cache, reps)]

    # one os bundle and one sealed bundle of the echo project, and its stored framed binary
    dist = root / "dist"
    x07.check(["bundle", "--profile", "os", "--no-sign", "--out", str(dist / "echo")],
              warm_home, cwd=warm)
    x07.check(["bundle", "--profile", "os", "--no-sign", "--static", "--out",
               str(dist / "echo-static")], warm_home, cwd=warm)
    stored = Path(x07.build_json([], warm_home, cwd=warm)["binary"])
    comparisons.append(bench_start(x07, root, dist / "echo", stored, reps))
    is_root = os.geteuid() == 0
    if is_root:
        x07.check(["bundle", *SANDBOX_FLAGS, "--no-sign", "--out", str(dist / "echo-sealed")],
                  warm_home, cwd=warm)
        comparisons.append(bench_sealed(root, dist / "echo", dist / "echo-sealed", reps))
    else:
        print("bench: (f3) skipped: the sealed bundle's os backend needs root here", file=sys.stderr)
    comparisons[-1].notes.extend(size_notes(root, dist, is_root))
    return comparisons


def bench_bundling(x07: X07, root: Path, template: Path, identity: Path, reps: int) -> Comparison:
    count = [0]

    def fresh() -> tuple[Path, Path]:
        count[0] += 1
        proj = root / f"proj-{count[0]}"
        shutil.copytree(template, proj)
        home = root / f"home-{count[0]}"
        (home / "cache").mkdir(parents=True)
        shutil.copytree(identity, home / "cache" / "cc-identity")
        return proj, home

    bundling = Side("x07 bundle --profile os, empty store")
    building = Side("x07 build, empty store")

    def run_bundle(_: int) -> None:
        proj, home = fresh()
        out = proj / "dist" / "app"
        bundling.samples.append(run_timed(
            [str(x07.exe), "bundle", "--profile", "os", "--no-sign", "--out", str(out)],
            cwd=proj, env=x07.env(home), what="(f1) x07 bundle"))
        if not out.is_file():
            raise BenchError(f"(f1) x07 bundle did not write {out}")

    def run_build(_: int) -> None:
        proj, home = fresh()
        building.samples.append(run_timed([str(x07.exe), "build"], cwd=proj, env=x07.env(home),
                                          what="(f1) x07 build"))

    interleave(1, run_bundle, run_build)
    bundling.samples.clear()
    building.samples.clear()
    interleave(reps, run_bundle, run_build)
    c = Comparison("f1", "(f1) bundling against a cold build, init project (cc identity cached)",
                   bundling, building, TARGET_BUNDLE_VS_BUILD, ratio_label="bundle/build")
    c.notes.append("both compile the program once (with launcher built once per store); the bundle "
                   "also writes provenance (unsigned here) and copies the executable")
    return c


def bench_start(x07: X07, root: Path, bundle: Path, stored: Path, reps: int) -> Comparison:
    arg = b"hello"
    expected = argv_v1([b"echo", arg])
    framed = root / "start.framed"
    framed.write_bytes(frame(expected))
    started = Side("dist/echo hello (os bundle)")
    direct = Side("stored binary < framed input")

    def run_bundle(_: int) -> None:
        s = run_timed([str(bundle), arg.decode()], what="(f2) os bundle")
        if s.stdout != expected:
            raise BenchError(f"(f2) the os bundle printed {s.stdout!r}")
        started.samples.append(s)

    def run_stored(_: int) -> None:
        s = run_timed([str(stored)], stdin_path=framed, what="(f2) stored binary")
        if unframe(s.stdout, "(f2) stored binary") != expected:
            raise BenchError("(f2) the stored binary's output differs")
        direct.samples.append(s)

    interleave(3, run_bundle, run_stored)
    started.samples.clear()
    direct.samples.clear()
    interleave(reps, run_bundle, run_stored)
    return Comparison("f2", "(f2) os bundle start against the stored binary run directly",
                      started, direct, TARGET_START_VS_STORED, ratio_label="bundle/stored")


def bench_sealed(root: Path, os_bundle: Path, sealed: Path, reps: int) -> Comparison:
    cwd = root / "sealed-cwd"
    cwd.mkdir()
    sealed_side = Side("dist/echo-sealed hello (policy-sealed, backend os)")
    os_side = Side("dist/echo hello (os bundle)")

    def runner(side: Side, exe: Path, name: bytes) -> Callable[[int], None]:
        expected = argv_v1([name, b"hello"])

        def run(_: int) -> None:
            s = run_timed([str(exe), "hello"], cwd=cwd, what=f"(f3) {exe.name}")
            if s.stdout != expected:
                raise BenchError(f"(f3) {exe.name} printed {s.stdout!r}")
            side.samples.append(s)

        return run

    runs = [runner(sealed_side, sealed, b"echo-sealed"), runner(os_side, os_bundle, b"echo")]
    interleave(3, *runs)
    sealed_side.samples.clear()
    os_side.samples.clear()
    interleave(reps, *runs)
    return Comparison("f3", "(f3) sealed sandbox bundle against the os bundle", sealed_side,
                      os_side, None, target_extra_ms=TARGET_SEALED_EXTRA_MS,
                      ratio_label="sealed/os", extra_label="sealed - os")


def size_notes(root: Path, dist: Path, sealed: bool) -> list[str]:
    hello_c = root / "hello.c"
    hello_c.write_text('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
    hello = root / "hello-static"
    proc = subprocess.run(["cc", "-O2", "-static", "-s", "-o", str(hello), str(hello_c)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = ["(f4) sizes:"]
    lines.append(f"  os echo bundle (dynamic, with provenance note): "
                 f"{(dist / 'echo').stat().st_size:,} bytes")
    if sealed:
        lines.append(f"  sealed echo bundle (static launcher + payload + policy): "
                     f"{(dist / 'echo-sealed').stat().st_size:,} bytes")
    lines.append(f"  static echo bundle (--static, musl, with provenance note): "
                 f"{(dist / 'echo-static').stat().st_size:,} bytes")
    if proc.returncode == 0:
        lines.append(f"  static hand-written C hello (gcc -O2 -static -s): {hello.stat().st_size:,} bytes")
    else:
        lines.append(f"  static hand-written C hello: cc -static failed: {proc.stdout.strip()[:200]}")
    lines.append("  for scale: `deno compile` makes about 70 MB")
    return lines
