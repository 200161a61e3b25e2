#!/usr/bin/env python3
"""x07 benchmarks: four comparisons, each measured side by side in one run.

(a) warm `x07 run` (store hit) against running the stored binary directly with framed input;
(b) cold `x07 build` of the `x07 init` project against bare `cc` on the C that x07 emitted;
(c) word count and byte histogram over 32 MiB: stored x07 binaries against hand-written C (-O2);
(d) the sandbox: `x07 run --profile sandbox` (os backend) against `--profile os`, the stored
    binaries run directly, and bubblewrap around the run-os binary (bench/sandbox_bench.py);
(f) bundles: bundling against a cold build, bundle start against the stored binary, the sealed
    bundle against the os bundle, and sizes (bench/bundle_bench.py);
(g) the VM boundary: `x07 run` on the vm backend and a VM bundle's launch against a bare qemu
    boot of the same kernel and initramfs running a static hello (bench/vm_bench.py);
(h) past one machine (only when named, needs s3s-fs, PostgreSQL and wrk): a cold `x07 build`
    substituted from an S3 cache against compiling it, push + pull of a 100-program closure
    (bench/cache_bench.py), and index GETs of two registry servers on PostgreSQL + S3 against one
    on a directory (bench/registry_bench.py).

Every comparison interleaves its sides (A B, then B A, ...) so machine noise hits all of them, and
prints the median and minimum wall time and the median CPU time of each side, and their ratios.
Speed targets are judged from these ratios, never from timing assertions in tests. Python 3
standard library only; run it through bench/run.sh, which builds x07 first. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from harness import (BenchError, Comparison, Side, X07, frame, interleave, run_timed,
                     solve_output, unframe)
from sandbox_bench import bench_sandbox
from pkg_bench import PkgBenchError, bench_packages
from bundle_bench import bench_bundle
from vm_bench import bench_vm
from cache_bench import bench_cache
from registry_bench import BenchError as RegistryBenchError, bench_registry

BENCH_DIR = Path(__file__).resolve().parent
PROGRAMS_DIR = BENCH_DIR / "programs"

# Input of (c): exactly 32 MiB of text-like bytes.
COMPUTE_INPUT_BYTES = 32 * 1024 * 1024
COMPUTE_INPUT_SEED = b"x07-bench-compute-input-v1"
# The x07 side of (c) gets room for the 32 MiB input (a 64 MiB buddy block) and enough fuel for
# one unit per loop iteration.
COMPUTE_X07_FLAGS = ["--max-memory-bytes=134217728", "--solve-fuel=1000000000"]
# Flags of the hand-written C side of (c).
COMPUTE_C_FLAGS = ["-O2"]

TARGETS = {"a": 2.0, "b": 1.3, "c": 1.5}


def store_entry_files(store_path: Path) -> tuple[dict, Path]:
    """build.json of a store entry and the emitted C file in it."""
    build = json.loads((store_path / "build.json").read_text())
    c_files = sorted(store_path.glob("*.c"))
    if len(c_files) != 1:
        raise BenchError(f"{store_path}: expected exactly one emitted .c file, found "
                         f"{[p.name for p in c_files]}")
    return build, c_files[0]


# ---------------------------------------------------------------- (a) warm x07 run


def bench_run(x07: X07, work: Path, reps: int) -> Comparison:
    home = work / "home-a"
    proj = work / "a" / "proj"
    proj.parent.mkdir(parents=True)
    x07.check(["init", str(proj)], home)
    payload = b"hello"
    raw_input = work / "a" / "input.bin"
    raw_input.write_bytes(payload)
    framed_input = work / "a" / "input.framed"
    framed_input.write_bytes(frame(payload))

    # The first run builds into the store; every timed run after it is a store hit.
    report = json.loads(x07.check(["run", "--input", str(raw_input)], home, cwd=proj))
    exe = Path(x07.build_json([], home, cwd=proj)["binary"])
    expected = solve_output(report)
    if expected != payload:
        raise BenchError(f"(a) x07 run of the echo project printed {expected!r}, not {payload!r}")

    subject = Side("x07 run --input (store hit)")
    baseline = Side("stored binary < framed input")
    env = x07.env(home)

    def run_x07(_: int) -> None:
        s = run_timed([str(x07.exe), "run", "--input", str(raw_input)], cwd=proj, env=env,
                      what="(a) x07 run")
        got = solve_output(json.loads(s.stdout))
        if got != payload:
            raise BenchError(f"(a) x07 run output changed: {got!r}")
        subject.samples.append(s)

    def run_direct(_: int) -> None:
        s = run_timed([str(exe)], stdin_path=framed_input, what="(a) stored binary")
        if unframe(s.stdout, "(a) stored binary") != payload:
            raise BenchError(f"(a) stored binary output differs: {s.stdout!r}")
        baseline.samples.append(s)

    # Where the x07 side's time goes: the same binary doing less.
    breakdown = [
        (Side("  of which: x07 --version (start and exit)"), ["--version"]),
        (Side("  of which: x07 build (store hit, no run)"), ["build"]),
        (Side("  of which: x07 run --artifact EXE (no project)"),
         ["run", "--artifact", str(exe), "--input", str(raw_input)]),
    ]

    def breakdown_runner(side: Side, args: list[str]) -> Callable[[int], None]:
        def run(_: int) -> None:
            side.samples.append(run_timed([str(x07.exe), *args], cwd=proj, env=env,
                                          what=f"(a) x07 {' '.join(args)}"))
        return run

    # The floor of any launcher that supervises a child: see programs/spawn_wait.c.
    supervisor_exe = compile_c_program(work / "a", "spawn_wait")
    supervisor = Side("reference: minimal C supervisor (posix_spawn+wait)")

    def run_supervisor(_: int) -> None:
        supervisor.samples.append(run_timed([str(supervisor_exe), str(exe), str(framed_input)],
                                            what="(a) spawn_wait"))

    runners = [run_x07, run_direct, *(breakdown_runner(side, args) for side, args in breakdown),
               run_supervisor]
    interleave(2, *runners)  # warm-up: page cache, dynamic loader
    extras = [side for side, _ in breakdown] + [supervisor]
    for side in (subject, baseline, *extras):
        side.samples.clear()
    interleave(reps, *runners)
    return Comparison("a", "(a) warm run, echo project, 5-byte input", subject, baseline,
                      TARGETS["a"], extras=extras)


# ---------------------------------------------------------------- (b) cold x07 build


def bench_build(x07: X07, work: Path, reps: int) -> list[Comparison]:
    root = work / "b"
    root.mkdir()
    template = root / "proj-template"
    warm_home = root / "home-warm"
    x07.check(["init", str(template)], warm_home)
    # One build in a throwaway home: gives the emitted C, its cc flags and a cc identity cache.
    warm_proj = root / "proj-warm"
    shutil.copytree(template, warm_proj)
    store_path = Path(x07.build_json([], warm_home, cwd=warm_proj)["store_path"])
    build, c_file = store_entry_files(store_path)
    # the store names the compiler by its --version digest only: find it as x07 does
    cc_path = shutil.which(os.environ.get("X07_CC") or os.environ.get("CC") or "cc")
    if cc_path is None:
        raise BenchError("(b) no C compiler: set CC or install gcc")
    cc_flags = build["inputs"]["cc_flags"]
    identity_cache = warm_home / "cache" / "cc-identity"
    if not identity_cache.is_dir():
        raise BenchError(f"(b) no cc identity cache at {identity_cache}: the layout of X07_HOME "
                         "changed; update bench.py")
    # The build sandbox's launcher is built once per machine and compiler, like the cc identity
    # probe: it is pre-warmed with it (row (b') shows the cost of a home with nothing at all).
    launchers = sorted((warm_home / "store").glob("*-x07-launch"))
    if len(launchers) != 1:
        raise BenchError(f"(b) expected one x07-launch entry in {warm_home / 'store'}, found "
                         f"{len(launchers)}: the store layout changed; update bench.py")
    launcher_entry = launchers[0]

    # Like the builder: source on stdin, compiler run in `/` with a pinned environment.
    cc_env = dict(os.environ, LC_ALL="C", SOURCE_DATE_EPOCH="0")
    out_dir = root / "cc-out"
    out_dir.mkdir()

    fresh_count = [0]

    def fresh_project() -> tuple[Path, Path]:
        """A new copy of the init project and a new, empty X07_HOME."""
        fresh_count[0] += 1
        proj = root / f"proj-{fresh_count[0]}"
        shutil.copytree(template, proj)
        home = root / f"home-{fresh_count[0]}"
        home.mkdir()
        return proj, home

    def x07_side(label: str, prewarm: bool) -> tuple[Side, Callable[[int], None]]:
        side = Side(label)

        def run(_: int) -> None:
            proj, home = fresh_project()
            if prewarm:
                shutil.copytree(identity_cache, home / "cache" / "cc-identity")
                shutil.copytree(launcher_entry, home / "store" / launcher_entry.name)
            s = run_timed([str(x07.exe), "build"], cwd=proj, env=x07.env(home),
                          what="(b) x07 build")
            entry = Path(s.stdout.decode().strip().splitlines()[-1])
            if not (entry / "build.json").is_file():
                raise BenchError(f"(b) x07 build printed {entry}, which has no build.json")
            side.samples.append(s)

        return side, run

    def cc_side(label: str) -> tuple[Side, Callable[[int], None]]:
        side = Side(label)

        def run(_: int) -> None:
            fresh_count[0] += 1
            out = out_dir / f"main-{fresh_count[0]}"
            s = run_timed([cc_path, *cc_flags, "-x", "c", "-", "-o", str(out)],
                          cwd=Path("/"), env=cc_env, stdin_path=c_file, what="(b) bare cc")
            side.samples.append(s)

        return side, run

    # Same compiler, flags and feeding should give the very binary x07 stored.
    probe = out_dir / "probe"
    run_timed([cc_path, *cc_flags, "-x", "c", "-", "-o", str(probe)], cwd=Path("/"), env=cc_env,
              stdin_path=c_file, what="(b) bare cc")
    stored = build["output"]["sha256"]
    bare = "sha256:" + hashlib.sha256(probe.read_bytes()).hexdigest()
    if bare == stored:
        note = "bare cc output is byte-identical to the stored binary (same compile)"
    else:
        note = (f"WARNING: bare cc output {bare} differs from the stored binary {stored}: "
                "the baseline may not compile what x07 compiles")

    prewarmed, run_prewarmed = x07_side(
        "x07 build, empty store but the launcher, cc identity cached", True)
    cc_a, run_cc_a = cc_side(f"cc {' '.join(cc_flags)} on main.c")
    interleave(1, run_prewarmed, run_cc_a)  # warm-up
    prewarmed.samples.clear()
    cc_a.samples.clear()
    interleave(reps, run_prewarmed, run_cc_a)

    empty, run_empty = x07_side("x07 build, empty X07_HOME", False)
    cc_b, run_cc_b = cc_side(f"cc {' '.join(cc_flags)} on main.c")
    interleave(reps, run_empty, run_cc_b)
    return [
        Comparison("b", "(b) cold build of the init project (cc identity and launcher pre-warmed)",
                   prewarmed, cc_a, TARGETS["b"], notes=[note]),
        Comparison("b0", "(b') cold build, nothing cached at all (no target)", empty, cc_b, None),
    ]


# ---------------------------------------------------------------- (c) compute over 32 MiB


def make_compute_input(path: Path) -> bytes:
    """Writes the framed 32 MiB input of (c) and returns its payload.

    Deterministic: SHAKE-256 of a fixed seed, mapped byte by byte onto a text-like alphabet, about
    82% word bytes, 14% spaces, 3% newlines, and a few tabs and carriage returns.
    """
    raw = hashlib.shake_256(COMPUTE_INPUT_SEED).digest(COMPUTE_INPUT_BYTES)
    word = b"etaoinshrdlucmfwypvbgkjqxzETAOINSHRDLU0123456789.,;:'!?-"
    table = bytearray(256)
    for i in range(256):
        if i < 210:
            table[i] = word[i % len(word)]
        elif i < 246:
            table[i] = 0x20
        elif i < 253:
            table[i] = 0x0A
        elif i < 255:
            table[i] = 0x09
        else:
            table[i] = 0x0D
    data = raw.translate(bytes(table))
    path.write_bytes(frame(data))
    return data


def reference_outputs(data: bytes) -> dict[str, bytes]:
    """Expected outputs computed in Python, a third opinion besides the two sides."""
    # bytes.split() also splits on \v and \f; the input has neither, so it matches the spec.
    assert b"\x0b" not in data and b"\x0c" not in data
    words = len(data.split())
    counts = [data.count(bytes([b])) for b in range(256)]
    return {
        "wordcount": struct.pack("<I", words),
        "histogram": struct.pack("<256I", *counts),
        "topk": struct.pack("<16I", *sorted(counts)[-16:]),
    }


def bench_compute(x07: X07, work: Path, reps: int) -> list[Comparison]:
    root = work / "c"
    root.mkdir()
    home = work / "home-c"
    input_path = root / "input.framed"
    data = make_compute_input(input_path)
    expected = reference_outputs(data)
    floor_exe = compile_c_program(root, "readframe")

    comparisons = []
    for name, title in [("wordcount", "word count"), ("histogram", "byte histogram"),
                        ("topk", "top 16 byte counts (defasync workers, generic std.heap)")]:
        report = x07.build_json(["--program", str(PROGRAMS_DIR / f"{name}.x07.json")], home,
                                cwd=root)
        x07_exe = Path(report["binary"])
        c_exe = compile_c_program(root, name)

        subject = Side(f"x07 {name} (stored binary)")
        baseline = Side(f"C {name}.c (cc {' '.join(COMPUTE_C_FLAGS)})")
        floor = Side("floor: C reads the frame, computes nothing")

        def run_x07(_: int, subject=subject, x07_exe=x07_exe, name=name) -> None:
            s = run_timed([str(x07_exe), *COMPUTE_X07_FLAGS], stdin_path=input_path,
                          what=f"(c) x07 {name}")
            check_output(name, "x07", unframe(s.stdout, f"(c) x07 {name}"), expected[name])
            subject.samples.append(s)

        def run_c(_: int, baseline=baseline, c_exe=c_exe, name=name) -> None:
            s = run_timed([str(c_exe)], stdin_path=input_path, what=f"(c) C {name}")
            check_output(name, "C", unframe(s.stdout, f"(c) C {name}"), expected[name])
            baseline.samples.append(s)

        def run_floor(_: int, floor=floor) -> None:
            s = run_timed([str(floor_exe)], stdin_path=input_path, what="(c) floor")
            if unframe(s.stdout, "(c) floor") != struct.pack("<I", len(data)):
                raise BenchError(f"(c) floor program printed {s.stdout.hex()}")
            floor.samples.append(s)

        interleave(1, run_x07, run_c, run_floor)  # warm-up, and the first output check
        for side in (subject, baseline, floor):
            side.samples.clear()
        interleave(reps, run_x07, run_c, run_floor)
        comparisons.append(Comparison(f"c-{name}", f"(c) {title}, 32 MiB of text-like input",
                                      subject, baseline, TARGETS["c"], floor))
    return comparisons


def compile_c_program(out_dir: Path, name: str) -> Path:
    """Compiles bench/programs/NAME.c with -O2 (COMPUTE_C_FLAGS) into out_dir."""
    exe = out_dir / f"{name}-c"
    proc = subprocess.run(["cc", *COMPUTE_C_FLAGS, "-o", str(exe), str(PROGRAMS_DIR / f"{name}.c")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise BenchError(f"cc failed on bench/programs/{name}.c:\n{proc.stdout}")
    return exe


def check_output(name: str, side: str, got: bytes, expected: bytes) -> None:
    if got != expected:
        first = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e),
                     min(len(got), len(expected)))
        raise BenchError(f"(c) {name}: the {side} side's output differs from the reference "
                         f"({len(got)} vs {len(expected)} bytes, first difference at byte "
                         f"{first}): got {got[:16].hex()}..., expected {expected[:16].hex()}...")


# ---------------------------------------------------------------- report


def remove_tree(path: Path) -> None:
    """Removes the temporary tree, store entries included (they are read-only directories)."""
    for dirpath, _, _ in os.walk(path):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(path)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f}"


def print_table(comparisons: list[Comparison], reps: dict[str, int]) -> None:
    print()
    print(f"x07 benchmarks  {time.strftime('%Y-%m-%d %H:%M')}  {machine_notes()}")
    counts = ", ".join(f"{name} {n}" for name, n in reps.items())
    print(f"repetitions: {counts}; sides interleaved; wall ms (median, min) and child user+sys "
          "CPU ms (median)")
    width = max(len(side.label) for c in comparisons for side in c.rows())
    for c in comparisons:
        print()
        print(c.title)
        print(f"  {'':<{width}}  {'median':>9} {'min':>9} {'cpu med':>9} {'/baseline':>9}")
        for side in c.rows():
            print(f"  {side.label:<{width}}  {fmt_ms(side.median())} {fmt_ms(side.minimum())} "
                  f"{fmt_ms(side.cpu_median())} {side.median() / c.baseline.median():8.2f}x")
        for line in c.summary_lines():
            print(f"  {line}")
    print()


def machine_notes() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cc = subprocess.run(["cc", "--version"], stdout=subprocess.PIPE, text=True).stdout
    cc_line = cc.splitlines()[0] if cc else "cc ?"
    return f"[{platform.machine()}, {os.cpu_count()} cpus, {cpu}, {cc_line}]"


def to_json(comparisons: list[Comparison]) -> dict:
    def side(s: Side) -> dict:
        return {"label": s.label, "wall_ms": [round(w * 1000, 3) for w in s.walls()],
                "median_ms": round(s.median() * 1000, 3), "min_ms": round(s.minimum() * 1000, 3),
                "cpu_median_ms": round(s.cpu_median() * 1000, 3)}

    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_notes(),
        "comparisons": [
            {"key": c.key, "title": c.title, "x07": side(c.subject), "baseline": side(c.baseline),
             "floor": side(c.floor) if c.floor is not None else None,
             "extras": [side(e) for e in c.extras],
             "ratio_median": round(c.ratio_median(), 3), "ratio_min": round(c.ratio_min(), 3),
             "ratio_cpu": round(c.ratio_cpu(), 3),
             "ratio_above_floor": (round(c.ratio_above_floor(), 3)
                                   if c.ratio_above_floor() is not None else None),
             "extra_median_ms": round(c.extra_median_ms(), 3),
             "extra_min_ms": round(c.extra_min_ms(), 3),
             "extra_cpu_ms": round(c.extra_cpu_ms(), 3),
             "target": c.target, "target_extra_ms": c.target_extra_ms, "verdict": c.verdict(),
             "notes": c.notes}
            for c in comparisons
        ],
    }


def positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a count of at least 1, got {text}")
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--x07", required=True, type=Path, help="the x07 binary to measure")
    ap.add_argument("--reps-run", type=positive_int, default=31,
                    help="repetitions of (a) (default 31)")
    ap.add_argument("--reps-build", type=positive_int, default=7,
                    help="repetitions of (b) (default 7)")
    ap.add_argument("--reps-compute", type=positive_int, default=11,
                    help="repetitions of (c) (default 11)")
    ap.add_argument("--reps-sandbox", type=positive_int, default=31,
                    help="repetitions of (d) (default 31)")
    ap.add_argument("--reps-bundle", type=positive_int, default=11,
                    help="repetitions of (f) (default 11)")
    ap.add_argument("--reps-vm", type=positive_int, default=5,
                    help="repetitions of (g) (default 5; a boot costs seconds under TCG)")
    ap.add_argument("--reps-cache", type=positive_int, default=7,
                    help="repetitions of (h1) (default 7)")
    ap.add_argument("--closure", type=positive_int, default=100,
                    help="programs in the closure of (h2) (default 100)")
    ap.add_argument("--only", choices=["a", "b", "c", "d", "e", "f", "g", "h"], action="append",
                    help="run only these comparisons (repeatable); (e), the package manager "
                         "(bench/pkg_bench.py), and (h), the binary cache (bench/cache_bench.py), "
                         "run only when named")
    ap.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    x07 = X07(args.x07.resolve())
    if not x07.exe.is_file():
        print(f"bench: {x07.exe} does not exist; build it (bench/run.sh does)", file=sys.stderr)
        return 2
    only = set(args.only or ["a", "b", "c", "d", "f", "g"])
    work = Path(tempfile.mkdtemp(prefix="x07-bench-"))
    comparisons: list[Comparison] = []
    pkg_table: list[str] = []
    cache_lines: list[str] = []
    try:
        if "a" in only:
            print("measuring (a) warm x07 run ...", file=sys.stderr)
            comparisons.append(bench_run(x07, work, args.reps_run))
        if "b" in only:
            print("measuring (b) cold x07 build ...", file=sys.stderr)
            comparisons.extend(bench_build(x07, work, args.reps_build))
        if "c" in only:
            print("measuring (c) word count and histogram over 32 MiB ...", file=sys.stderr)
            comparisons.extend(bench_compute(x07, work, args.reps_compute))
        if "d" in only:
            print("measuring (d) the sandbox: x07 run, stored binaries, bwrap ...", file=sys.stderr)
            comparisons.extend(bench_sandbox(x07, work, args.reps_sandbox))
        if "f" in only:
            print("measuring (f) bundles: bundling, start, sealed start, sizes ...", file=sys.stderr)
            comparisons.extend(bench_bundle(x07, work, args.reps_bundle))
        if "g" in only:
            print("measuring (g) the VM boundary: x07 run, VM bundle, bare qemu ...",
                  file=sys.stderr)
            comparisons.extend(bench_vm(x07, work, args.reps_vm))
        if "h" in only:
            print("measuring (h) the binary cache: substituted build, 100-entry closure ...",
                  file=sys.stderr)
            cache_comparisons, cache_lines = bench_cache(x07, work, args.reps_cache, args.closure)
            comparisons.extend(cache_comparisons)
            print("measuring (h3) registry index GETs: PostgreSQL + S3 against a directory ...",
                  file=sys.stderr)
            (work / "h3").mkdir()
            cache_lines.extend(bench_registry(x07.exe, work / "h3"))
        if "e" in only:
            print("measuring (e) the package manager: publish, cold lock, no-op lock ...",
                  file=sys.stderr)
            (work / "e").mkdir()
            pkg_table = bench_packages(x07.exe, work / "e")
    except (BenchError, PkgBenchError, RegistryBenchError) as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"bench: kept {work}", file=sys.stderr)
        else:
            remove_tree(work)
    reps = {"run": args.reps_run, "build": args.reps_build, "compute": args.reps_compute,
            "sandbox": args.reps_sandbox, "bundle": args.reps_bundle, "vm": args.reps_vm,
            "cache": args.reps_cache}
    if comparisons:
        print_table(comparisons, {name: n for (key, (name, n)) in zip("abcdfgh", reps.items())
                                  if key in only})
    if cache_lines:
        print("\n".join(cache_lines))
    if pkg_table:
        print("\n".join(pkg_table))
    if args.json:
        args.json.write_text(json.dumps(to_json(comparisons), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
