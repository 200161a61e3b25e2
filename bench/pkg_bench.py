#!/usr/bin/env python3
"""(e) the package manager: publish, cold lock and no-op lock against a local registry.

(e1) publishes a synthetic graph of 500 packages (p000..p499, 2-4 caret dependencies each on
     higher-numbered packages, some with 2-3 versions) with parallel `x07 pkg publish` processes,
     then checks over HTTP that every version is in the index exactly once, that re-publishing
     refuses (exit 2, X07REG_ALREADY_PUBLISHED) without touching the index, and that a version
     raced by several publishers lands once;
(e2) `x07 pkg lock --index URL` of a project depending on the graph's roots, cold (empty
     X07_HOME, new project directory) - target <= 2 s (median); plus rows that split its time;
(e3) the no-op `x07 pkg lock --check` - target <= 50 ms (median) - and the no-op `x07 pkg lock`;
(e4) index request load with wrk, when it is installed.

Figures are printed side by side with their targets; a missed target is reported, never asserted
(exit 0). Python 3 standard library only; cleans up its temporary directory and stops the
registry it started. Standalone: `python3 bench/pkg_bench.py --x07 PATH`, or through
`bench/run.sh --only e`.
See bench/README.md, section (e).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

TARGET_COLD_LOCK_S = 2.0
TARGET_NOOP_CHECK_MS = 50.0
GRAPH_SEED = 20261122
ROOTS = 10
# Every package i depends on i + CHAIN_STEP, so the roots p000..p009 reach the whole graph.
CHAIN_STEP = ROOTS
# Extra dependencies are drawn from the next DEP_WINDOW packages.
DEP_WINDOW = 40
TOOLCHAIN_COMPAT = ">=0.1.0, <0.2.0"
OWNER = "bench"
ALREADY_PUBLISHED = "X07REG_ALREADY_PUBLISHED"


class PkgBenchError(Exception):
    """The package benchmark could not be set up or a check failed; the message says which."""


# ---------------------------------------------------------------- processes


@dataclass
class Run:
    """One finished process."""

    rc: int
    wall_s: float
    cpu_s: float
    stdout: str
    stderr: str


def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(argv: list[str], *, env: dict[str, str], cwd: Path | None = None,
        check: bool = True, what: str = "") -> Run:
    """Runs argv to completion, timed; a non-zero exit is an error unless check is False.
    The CPU figure is only meaningful when no other child finishes meanwhile."""
    cpu0 = children_cpu_s()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    result = Run(proc.returncode, wall, children_cpu_s() - cpu0, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise PkgBenchError(f"{what or argv[1:3]}: `{' '.join(argv)}` exited with "
                            f"{proc.returncode}:\n{proc.stderr[-2000:]}")
    return result


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("X07_")}
    env["X07_HOME"] = str(home)
    env["NO_COLOR"] = "1"
    return env


def remove_tree(path: Path) -> None:
    """Removes a tree even where parts of it are read-only."""
    def make_writable_and_retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
            func(p)
        except OSError:
            pass
    if path.exists():
        shutil.rmtree(path, onerror=make_writable_and_retry)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(0.9 * (len(s) - 1))))]


# ---------------------------------------------------------------- the synthetic graph


@dataclass
class PackageVersion:
    """One version of one synthetic package."""

    name: str
    version: str
    deps: list[tuple[str, str]]  # (name, caret requirement)

    @property
    def module(self) -> str:
        return "bench." + self.name.replace("-", "_")


def pkg_name(i: int) -> str:
    return f"p{i:03d}"


def versions_of(i: int) -> list[str]:
    """Which versions package i has: most one, every third two, some three (one a 2.0.0 that no
    requirement accepts, so the resolver has to pass over it)."""
    if i % 11 == 5:
        return ["1.0.0", "1.1.0", "1.2.0"]
    if i % 7 == 2:
        return ["1.0.0", "1.1.0", "2.0.0"]
    if i % 3 == 1:
        return ["1.0.0", "1.1.0"]
    return ["1.0.0"]


def highest_v1(versions: list[str]) -> str:
    return max((v for v in versions if v.startswith("1.")),
               key=lambda v: tuple(map(int, v.split("."))))


def make_graph(n: int) -> list[PackageVersion]:
    """The graph, deterministic: every version of package i depends on i+10 (when it exists) and on
    1-3 others drawn from the next 40, each version drawing its own; requirements are `^1.0`, or
    `^1.1` where the dependency has a 1.1.0. Every requirement is met by the dependency's highest
    1.x version, so a correct resolver picks exactly those."""
    rng = random.Random(GRAPH_SEED)
    out = []
    for i in range(n):
        for version in versions_of(i):
            window = [j for j in range(i + 1, min(i + 1 + DEP_WINDOW, n)) if j != i + CHAIN_STEP]
            targets = [i + CHAIN_STEP] if i + CHAIN_STEP < n else []
            want = rng.randint(2, 4) - len(targets)
            targets += rng.sample(window, min(max(want, 0), len(window)))
            deps = []
            for j in sorted(targets):
                has_11 = "1.1.0" in versions_of(j)
                deps.append((pkg_name(j), "^1.1" if has_11 and rng.random() < 0.5 else "^1.0"))
            out.append(PackageVersion(pkg_name(i), version, deps))
    return out


def write_package(root: Path, pv: PackageVersion, description: str = "x07 bench package") -> Path:
    """Writes a publishable package directory for pv under root; returns it."""
    d = root / f"{pv.name}-{pv.version}"
    mod_file = d / "modules" / (pv.module.replace(".", "/") + ".x07.json")
    mod_file.parent.mkdir(parents=True, exist_ok=True)
    manifest = {
        "schema_version": "x07.package@0.1.0", "name": pv.name, "version": pv.version,
        "module_root": "modules", "modules": [pv.module], "description": description,
        "docs": "synthetic package of bench/pkg_bench.py", "license": "MIT",
        "meta": {"x07c_compat": TOOLCHAIN_COMPAT,
                 "requires_packages": [f"{name}@{req}" for name, req in pv.deps]},
    }
    module = {
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": pv.module,
        "imports": [],
        "decls": [{"kind": "export", "names": [pv.module + ".f"]},
                  {"kind": "defn", "name": pv.module + ".f", "params": [], "result": "i32",
                   "body": 1}],
    }
    (d / "x07-package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    mod_file.write_text(json.dumps(module) + "\n")
    return d


def expected_lock(graph: list[PackageVersion], roots: list[str]) -> dict[str, str]:
    """name -> version a correct resolution picks: the highest 1.x of everything reachable from
    the roots through the chosen versions' dependencies."""
    by_name: dict[str, dict[str, PackageVersion]] = collections.defaultdict(dict)
    for pv in graph:
        by_name[pv.name][pv.version] = pv
    chosen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        chosen[name] = highest_v1(list(by_name[name]))
        todo.extend(dep for dep, _ in by_name[name][chosen[name]].deps)
    return chosen


def shard_path(name: str) -> str:
    if len(name) == 1:
        return f"1/{name}"
    if len(name) == 2:
        return f"2/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[0:2]}/{name[2:4]}/{name}"


# ---------------------------------------------------------------- the registry


class Registry:
    """`x07 registry serve` on a free loopback port, stopped by stop()."""

    def __init__(self, x07: Path, root: Path, log: Path):
        self.log = log
        self.log_file = open(log, "wb")
        self.proc = subprocess.Popen([str(x07), "registry", "serve", "--root", str(root),
                                      "--addr", "127.0.0.1:0"],
                                     stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=self.log_file)
        self.base = self._wait_listening()
        self.index = f"sparse+{self.base}/index/"

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("listening on "):
                    return line.split("listening on ", 1)[1].strip().rstrip("/")
            if self.proc.poll() is not None:
                raise PkgBenchError(f"x07 registry serve exited with {self.proc.returncode}:"
                                    f"\n{text}")
            time.sleep(0.02)
        raise PkgBenchError(f"x07 registry serve printed no `listening on` line in 20 s "
                            f"({self.log})")

    def get(self, rel: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{self.base}/{rel}", timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def index_file(self, name: str) -> bytes:
        status, body = self.get(f"index/{shard_path(name)}")
        if status != 200:
            raise PkgBenchError(f"GET index/{shard_path(name)} answered {status}")
        return body

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# ---------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the table."""

    label: str
    figure: str
    target: str = ""
    verdict: str = "info"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, ok))
        print(f"  check: {what}: {'ok' if ok else 'FAILED'}", file=sys.stderr)

    def lines(self) -> list[str]:
        out = ["", f"(e) package manager  {time.strftime('%Y-%m-%d %H:%M')}  "
               f"[{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}]"]
        w = max(len(r.label) for r in self.rows)
        fw = max(len(r.figure) for r in self.rows)
        out.append(f"  {'':<{w}}  {'figure':>{fw}}  {'target':<10} verdict")
        for r in self.rows:
            out.append(f"  {r.label:<{w}}  {r.figure:>{fw}}  {r.target:<10} {r.verdict}")
        out.append("")
        for what, ok in self.checks:
            out.append(f"  check  {'ok    ' if ok else 'FAILED'}  {what}")
        if self.notes:
            out.append("")
            out.extend(f"  note: {n}" for n in self.notes)
        out.append("")
        return out


def ms(s: float) -> str:
    return f"{s * 1000:.1f} ms"


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


# ---------------------------------------------------------------- (e1) publish


def publish_graph(x07: Path, reg: Registry, work: Path, graph: list[PackageVersion], jobs: int,
                  report: Report) -> None:
    pub_home = work / "home-publish"
    pub_home.mkdir()
    env = base_env(pub_home)
    token = run([str(x07), "registry", "token", "create", "--root", str(work / "registry"),
                 "--owner", OWNER], env=env, what="token create").stdout.strip().splitlines()[-1]
    run([str(x07), "pkg", "login", "--index", reg.index, "--token", token], env=env,
        what="pkg login")
    pkgs_dir = work / "packages"
    # Versions of one package stay adjacent, so they are published at the same time.
    dirs = [(pv, write_package(pkgs_dir, pv)) for pv in graph]

    def publish(d: Path) -> Run:
        return run([str(x07), "pkg", "publish", "--index", reg.index, "--package", str(d)],
                   env=env, check=False)

    print(f"  publishing {len(dirs)} versions of {len({pv.name for pv in graph})} packages, "
          f"{jobs} at a time ...", file=sys.stderr)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(publish, [d for _, d in dirs]))
    wall = time.perf_counter() - t0
    failed = [(pv, r) for (pv, _), r in zip(dirs, results) if r.rc != 0]
    if failed:
        pv, r = failed[0]
        raise PkgBenchError(f"{len(failed)} publishes failed; first: {pv.name} {pv.version} "
                            f"exit {r.rc}:\n{r.stderr[-2000:]}")
    lat = [r.wall_s for r in results]
    report.rows.append(Row(f"(e1) publish {len(dirs)} versions, {jobs} processes at a time",
                           f"{wall:.2f} s"))
    report.rows.append(Row("     per publish process (median / p90)",
                           f"{ms(median(lat))} / {ms(p90(lat))}"))
    report.rows.append(Row("     throughput", f"{len(dirs) / wall:.0f} /s"))

    # Every published (name, version) is in the index exactly once, and nothing else is.
    names = sorted({pv.name for pv in graph})
    t0 = time.perf_counter()
    bodies = {name: reg.index_file(name) for name in names}
    fetch_wall = time.perf_counter() - t0
    seen = collections.Counter()
    for name, body in bodies.items():
        for line in body.decode().splitlines():
            if line.strip():
                entry = json.loads(line)
                seen[(entry["name"], entry["version"])] += 1
                if entry["name"] != name:
                    seen[("<wrong file>", f"{entry['name']} in {name}")] += 1
    want = collections.Counter((pv.name, pv.version) for pv in graph)
    bad = {k: seen.get(k, 0) for k in set(want) | set(seen) if seen.get(k, 0) != 1 or k not in want}
    report.check(f"index over HTTP holds each of the {len(want)} published versions exactly once"
                 + (f" (wrong: {sorted(bad.items())[:5]})" if bad else ""), not bad)
    report.rows.append(Row(f"     GET of the {len(names)} index files in turn (Python)",
                           ms(fetch_wall)))

    # Re-publishing refuses, also when several run at once, and leaves the index as it was.
    multi = [pv for pv in graph if len(versions_of(int(pv.name[1:]))) == 3][:3]
    again = [d for pv, d in dirs if pv in multi] + [dirs[0][1], dirs[0][1], dirs[-1][1]]
    with ThreadPoolExecutor(max_workers=len(again)) as pool:
        refused = list(pool.map(publish, again))
    all_refused = all(r.rc == 2 and ALREADY_PUBLISHED in r.stderr for r in refused)
    report.check(f"{len(again)} concurrent re-publishes of published versions all exit 2 with "
                 f"{ALREADY_PUBLISHED}"
                 + ("" if all_refused else f" (got {[(r.rc, r.stderr[-200:]) for r in refused]})"),
                 all_refused)
    touched = {pv.name for pv in multi} | {dirs[0][0].name, dirs[-1][0].name}
    unchanged = all(reg.index_file(n) == bodies[n] for n in touched)
    report.check("their index files are byte-identical afterwards", unchanged)

    # A new version raced by four publishers lands exactly once.
    race = PackageVersion("zz-race", "1.0.0", [])
    race_dirs = [write_package(work / f"race{k}", race) for k in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        raced = list(pool.map(publish, race_dirs))
    winners = [r for r in raced if r.rc == 0]
    losers = [r for r in raced if r.rc == 2 and ALREADY_PUBLISHED in r.stderr]
    status, body = reg.get(f"index/{shard_path(race.name)}")
    lines = [l for l in body.decode().splitlines() if l.strip()] if status == 200 else []
    race_ok = len(winners) == 1 and len(losers) == 3 and len(lines) == 1
    report.check("4 concurrent publishes of one new version: 1 published, 3 refused, 1 index line"
                 + ("" if race_ok else f" (got exits {[r.rc for r in raced]}, {len(lines)} lines: "
                    f"{[r.stderr[-300:] for r in raced if r.rc != 0][:1]})"), race_ok)


# ---------------------------------------------------------------- (e2) cold lock


def template_project(x07: Path, reg: Registry, work: Path, graph: list[PackageVersion]) -> Path:
    """An `x07 init` project whose x07.json depends on p000..p009 (exact highest 1.x, via
    `x07 pkg add`, no --sync). Its home is thrown away, so no lock below starts warm."""
    home = work / "home-template"
    home.mkdir()
    env = base_env(home)
    proj = work / "template"
    run([str(x07), "init", str(proj)], env=env, what="init")
    versions = collections.defaultdict(list)
    for pv in graph:
        versions[pv.name].append(pv.version)
    for i in range(ROOTS):
        name = pkg_name(i)
        run([str(x07), "pkg", "add", f"{name}@{highest_v1(versions[name])}", "--index", reg.index],
            env=env, cwd=proj, what="pkg add")
    remove_tree(home)
    # x07.lock.json stays as `x07 init` wrote it (empty, now out of date).
    remove_tree(proj / ".x07")
    return proj


def fresh_project(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def check_lock(proj: Path, want: dict[str, str]) -> tuple[bool, str]:
    lock = json.loads((proj / "x07.lock.json").read_text())
    got = {d["name"]: d["version"] for d in lock["dependencies"]}
    dirs_ok = all((proj / ".x07" / "deps" / n / v / "x07-package.json").is_file()
                  for n, v in got.items())
    if got == want and dirs_ok and len(lock["dependencies"]) == len(got):
        return True, f"{len(got)} packages"
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    wrong = sorted((n, got[n], want[n]) for n in set(got) & set(want) if got[n] != want[n])[:5]
    return False, (f"{len(got)} packages, want {len(want)}; missing {missing}, extra {extra}, "
                   f"wrong versions {wrong}, trees unpacked: {dirs_ok}")


def filesystem_note(path: Path) -> str:
    """What the filesystem under `path` is, and for ext4 whether it has a journal: without one,
    ext4 skips inodes freed in the last 60 s (longer while their table block is dirty) when it
    allocates new ones, which makes creating files after mass deletions slow."""
    dev = os.stat(path).st_dev
    name = None
    try:
        uevent = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/uevent").read_text()
        name = next((l.split("=", 1)[1] for l in uevent.splitlines()
                     if l.startswith("DEVNAME=")), None)
    except OSError:
        pass
    fstype = "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 2 and name and parts[0] == f"/dev/{name}":
            fstype = parts[2]
            break
    if fstype != "ext4" or name is None:
        return f"work directory on {fstype} ({name or 'unknown device'})"
    jbd2 = Path("/proc/fs/jbd2")
    journal = jbd2.is_dir() and any(e.name.startswith(name + "-") for e in jbd2.iterdir())
    return (f"work directory on ext4 (/dev/{name}) "
            + ("with a journal" if journal else
               "WITHOUT a journal: inode allocation skips recently freed inodes, so creating "
               "files soon after deleting many is slow (perf: find_inode_bit/recently_deleted); "
               "this script deletes nothing until the end, but other jobs may"))


def tmpfs_dir() -> Path | None:
    """/dev/shm when it is a writable tmpfs (for the rows that leave the disk out), else None."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    shm = Path("/dev/shm")
    if any(l.split()[1:3] == ["/dev/shm", "tmpfs"] for l in mounts if len(l.split()) > 2) \
            and os.access(shm, os.W_OK):
        return shm
    return None


@dataclass
class LockSide:
    """One way of running `x07 pkg lock` on a new project, and its runs."""

    label: str
    key: str
    runs: list[Run] = field(default_factory=list)

    def walls(self) -> list[float]:
        return [r.wall_s for r in self.runs]

    def cpus(self) -> list[float]:
        return [r.cpu_s for r in self.runs]


def bench_cold_lock(x07: Path, reg: Registry, work: Path, shm: Path | None, template: Path,
                    want: dict[str, str], reps: int, report: Report) -> Path:
    """Cold locks against the rows that split their time, interleaved (each repetition runs every
    side once, rotating which goes first); returns a locked project (on disk)."""
    lock_argv = [str(x07), "pkg", "lock", "--index", reg.index]
    # A home whose caches are warm: index files with their ETags, every archive.
    warm_home = work / "home-warm"
    warm_home.mkdir()
    warmup = fresh_project(template, work / "proj-warmup")
    run(lock_argv, env=base_env(warm_home), cwd=warmup, what="warm-up pkg lock")

    sides = [LockSide("cold: empty X07_HOME, new project (disk)", "cold")]
    if shm is not None:
        sides.append(LockSide("cold, X07_HOME and project on tmpfs", "tmpfs"))
    sides += [LockSide("warm caches: index revalidated (304), no downloads", "warm"),
              LockSide("warm caches, --offline: no network", "offline")]
    keep: Path | None = None
    for k in range(reps):
        for side in sides[k % len(sides):] + sides[:k % len(sides)]:
            base = shm if side.key == "tmpfs" else work
            proj = fresh_project(template, base / f"proj-{side.key}-{k}")
            if side.key in ("cold", "tmpfs"):
                home = base / f"home-{side.key}-{k}"
                home.mkdir()
            else:
                home = warm_home
            argv = lock_argv + (["--offline"] if side.key == "offline" else [])
            side.runs.append(run(argv, env=base_env(home), cwd=proj, what=f"{side.key} pkg lock"))
            ok, detail = check_lock(proj, want)
            if not ok:
                raise PkgBenchError(f"{side.key} lock {k}: the lock is not the expected "
                                    f"resolution: {detail}")
            # Nothing is deleted until the end: on ext4 without a journal, inodes freed in the
            # last minute make every later file and directory creation slower (see the note).
            if side.key == "cold" and keep is None:
                keep = proj
    report.check(f"every lock ({reps} x {len(sides)}) resolved the expected {len(want)} packages "
                 "(highest 1.x of everything reachable from p000..p009) and unpacked them", True)
    cold = sides[0]
    c_med = median(cold.walls())
    report.rows.append(Row(f"(e2) cold `x07 pkg lock`, {len(want)} pkgs (median of {reps})",
                           f"{c_med:.3f} s", f"<= {TARGET_COLD_LOCK_S:g} s",
                           verdict(c_med, TARGET_COLD_LOCK_S)))
    report.rows.append(Row("     cold: min / max / cpu median",
                           f"{min(cold.walls()):.3f} / {max(cold.walls()):.3f} / "
                           f"{median(cold.cpus()):.3f} s"))
    meds = {side.key: median(side.walls()) for side in sides}
    for side in sides[1:]:
        report.rows.append(Row(f"     {side.label}",
                               f"{meds[side.key]:.3f} s (cpu {median(side.cpus()):.3f})"))
    if "tmpfs" in meds:
        report.rows.append(Row("     => the disk (cold - cold on tmpfs)",
                               f"{c_med - meds['tmpfs']:.3f} s"))
    report.rows.append(Row("     => first index fetch + downloads (cold - warm)",
                           f"{c_med - meds['warm']:.3f} s"))
    report.rows.append(Row("     => index revalidation over HTTP (warm - offline)",
                           f"{meds['warm'] - meds['offline']:.3f} s"))
    assert keep is not None
    return keep


# ---------------------------------------------------------------- (e3) no-op


def bench_noop(x07: Path, work: Path, shm: Path | None, proj: Path, reps: int,
               report: Report) -> None:
    home = work / "home-noop"
    home.mkdir()
    env = base_env(home)
    sides = {
        "check": ([str(x07), "pkg", "lock", "--check"], proj),
        "lock": ([str(x07), "pkg", "lock"], proj),
        "version": ([str(x07), "--version"], proj),
    }
    if shm is not None:
        shm_proj = shm / "proj-noop"
        shutil.copytree(proj, shm_proj, symlinks=True)
        sides["check-tmpfs"] = ([str(x07), "pkg", "lock", "--check"], shm_proj)
    lock_before = (proj / "x07.lock.json").read_bytes()
    samples: dict[str, list[Run]] = {k: [] for k in sides}
    order = list(sides)
    for k in range(reps):
        for key in order[k % len(order):] + order[:k % len(order)]:
            argv, cwd = sides[key]
            samples[key].append(run(argv, env=env, cwd=cwd, what=f"no-op {key}"))
    same = (proj / "x07.lock.json").read_bytes() == lock_before
    report.check("no-op runs left x07.lock.json byte-identical", same)
    up_to_date = all("up to date" in r.stderr for key in sides if key != "version"
                     for r in samples[key])
    report.check("every no-op run said the lock is up to date", up_to_date)

    def wall_ms(key: str) -> list[float]:
        return [r.wall_s * 1000 for r in samples[key]]

    def cpu_ms(key: str) -> float:
        return median([r.cpu_s * 1000 for r in samples[key]])

    chk = wall_ms("check")
    report.rows.append(Row(f"(e3) no-op `x07 pkg lock --check` (median / p90 of {reps})",
                           f"{median(chk):.1f} / {p90(chk):.1f} ms",
                           f"<= {TARGET_NOOP_CHECK_MS:g} ms",
                           verdict(median(chk), TARGET_NOOP_CHECK_MS)))
    report.rows.append(Row("     --check: min / cpu median",
                           f"{min(chk):.1f} / {cpu_ms('check'):.1f} ms"))
    if "check-tmpfs" in samples:
        t = wall_ms("check-tmpfs")
        report.rows.append(Row("     --check on tmpfs (median / p90; cpu)",
                               f"{median(t):.1f} / {p90(t):.1f} ms; {cpu_ms('check-tmpfs'):.1f}"))
    lck = wall_ms("lock")
    report.rows.append(Row("     no-op `x07 pkg lock` (median / p90; cpu)",
                           f"{median(lck):.1f} / {p90(lck):.1f} ms; {cpu_ms('lock'):.1f}"))
    report.rows.append(Row("     reference: `x07 --version` (median)",
                           f"{median(wall_ms('version')):.1f} ms"))


# ---------------------------------------------------------------- (e4) wrk


WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = (i %% #paths) + 1
  return wrk.format("GET", paths[i])
end
"""


def bench_wrk(reg: Registry, work: Path, names: list[str], seconds: int, report: Report) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        msg = "(e4) skipped: wrk is not installed (Debian: apt-get install wrk)"
        print(f"pkg_bench: {msg}", file=sys.stderr)
        report.notes.append(msg)
        return
    script = work / "index_paths.lua"
    paths = ", ".join(f'"/index/{shard_path(n)}"' for n in names)
    script.write_text(WRK_SCRIPT % paths)
    # Loopback only, bounded in time.
    proc = subprocess.run([wrk, "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script),
                           reg.base + "/"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=seconds + 30)
    rps = lat50 = lat99 = errors = None
    for line in proc.stdout.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(parts[1])
        elif parts[:1] == ["50%"]:
            lat50 = parts[1]
        elif parts[:1] == ["99%"]:
            lat99 = parts[1]
        elif "Non-2xx" in line or "Socket errors" in line:
            errors = line.strip()
    if rps is None:
        report.notes.append(f"(e4) wrk printed no Requests/sec:\n{proc.stdout[-800:]}")
        return
    report.rows.append(Row(f"(e4) wrk: {len(names)} index files, 16 conns, {seconds} s",
                           f"{rps:,.0f} req/s"))
    report.rows.append(Row("     latency p50 / p99", f"{lat50} / {lat99}"))
    if errors:
        report.notes.append(f"(e4) wrk: {errors}")


# ---------------------------------------------------------------- entry points


def bench_packages(x07: Path, work: Path, *, packages: int = 500, jobs: int = 8,
                   reps_lock: int = 5, reps_noop: int = 21, wrk_seconds: int = 5) -> list[str]:
    """Runs (e) in `work` (left for the caller to remove); returns the table's lines."""
    report = Report()
    graph = make_graph(packages)
    roots = [pkg_name(i) for i in range(min(ROOTS, packages))]
    want = expected_lock(graph, roots)
    reg = Registry(x07, work / "registry", work / "registry.log")
    shm_root = tmpfs_dir()
    shm = Path(tempfile.mkdtemp(prefix="x07-pkgbench-", dir=shm_root)) if shm_root else None
    if shm is None:
        report.notes.append("/dev/shm is not a writable tmpfs: the tmpfs rows are left out")
    try:
        print("  (e1) publish ...", file=sys.stderr)
        publish_graph(x07, reg, work, graph, jobs, report)
        print("  (e2) cold lock ...", file=sys.stderr)
        template = template_project(x07, reg, work, graph)
        locked = bench_cold_lock(x07, reg, work, shm, template, want, reps_lock, report)
        print("  (e3) no-op lock ...", file=sys.stderr)
        bench_noop(x07, work, shm, locked, reps_noop, report)
        if wrk_seconds > 0:
            print("  (e4) index load ...", file=sys.stderr)
            bench_wrk(reg, work, sorted({pv.name for pv in graph}), wrk_seconds, report)
    finally:
        reg.stop()
        if shm is not None:
            remove_tree(shm)
    report.notes.append(filesystem_note(work))
    report.notes.append(f"graph: {len({pv.name for pv in graph})} packages, {len(graph)} "
                        f"versions, {sum(len(pv.deps) for pv in graph)} requirements; "
                        f"{len(want)} reachable from {len(roots)} roots")
    return report.lines()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--x07", type=Path, default=os.environ.get("X07_BENCH_BIN"),
                    help="the x07 binary (default: $X07_BENCH_BIN)")
    ap.add_argument("--packages", type=int, default=500, help="packages in the graph (500)")
    ap.add_argument("--jobs", type=int, default=8, help="parallel publish processes (8)")
    ap.add_argument("--reps-lock", type=int, default=5,
                    help="repetitions of (e2), each side once (5)")
    ap.add_argument("--reps-noop", type=int, default=21, help="no-op lock runs of each kind (21)")
    ap.add_argument("--wrk-seconds", type=int, default=5, help="wrk duration, 0 to skip (5)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.x07 is None or not Path(args.x07).is_file():
        print("pkg_bench: pass --x07 PATH or set X07_BENCH_BIN (bench/run.sh --only e builds it)",
              file=sys.stderr)
        return 2
    # SIGTERM unwinds through the finally blocks, so the registry is stopped and the tree removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="x07-pkgbench-"))
    try:
        lines = bench_packages(Path(args.x07).resolve(), work, packages=args.packages,
                               jobs=args.jobs, reps_lock=args.reps_lock,
                               reps_noop=args.reps_noop, wrk_seconds=args.wrk_seconds)
    except PkgBenchError as e:
        print(f"pkg_bench: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"pkg_bench: kept {work}", file=sys.stderr)
        else:
            remove_tree(work)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
