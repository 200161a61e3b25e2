"""(d) the sandbox, measured side by side (bench/README.md, section (d)).

(d1) warm `x07 run --profile sandbox` (os backend) against warm `x07 run --profile os` of the same
     program: the extra milliseconds per run, target <= 3 ms (median difference);
(d2) the stored binaries run directly: the sandboxed binary with the policy handed over on an
     inherited memfd (as x07 does) against the run-os binary, both on framed input;
(d3) bubblewrap wrapping the run-os binary with equivalent restrictions against the sandboxed
     binary run directly;
(d') a kernel primitive both sandboxes pay for: `unshare --net true` against `unshare true`.

Two programs: the `x07 init` echo program, and the walkthrough's step 3, which writes its input to
`out/input.bin`, so the filesystem roots matter. Every repetition checks every side's output (and
the written file); the sandboxed runs must report their kernel restrictions.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import (BenchError, Comparison, Sample, Side, X07, frame, interleave, run_timed,
                     solve_output, unframe)
import policy_blob
import seccomp_bpf

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"

TARGET_EXTRA_MS = 3.0
SANDBOX_ENV = {"X07_SANDBOX_BACKEND": "os", "X07_I_ACCEPT_WEAKER_ISOLATION": "1"}
NONE_BACKEND_ENV = {"X07_SANDBOX_BACKEND": "none", "X07_I_ACCEPT_WEAKER_ISOLATION": "1"}
# What `x07 run` passes every stored binary by default (fuel 50,000,000; memory 64 MiB); the
# direct runs of (d2) and (d3) pass the same.
RUN_FLAGS = ["--solve-fuel=50000000", "--max-memory-bytes=67108864"]
PAYLOAD = b"hello"
BWRAP_INSTALL = ("install Debian's bubblewrap package: `sudo apt-get install bubblewrap` "
                 "(then rerun `bench/run.sh --only d`)")


@dataclass
class SandboxProject:
    """One program of (d), set up, built for both worlds and checked once through x07."""

    name: str
    # The project the sandboxed runs (x07 and direct) use, and an identical copy for the run-os
    # runs: `x07 run` re-points a project's GC root (rename + fsync) whenever the profile
    # changes, so alternating profiles in one project would time that and not a warm run.
    proj: Path
    proj_os: Path
    raw_input: Path
    framed_input: Path
    expected: bytes
    # A file the program must write (relative to the project), or None.
    written: str | None
    policy: dict
    os_exe: Path = Path()
    sb_exe: Path = Path()
    # The sandbox section of x07's own report: what the direct runs must reproduce.
    sandbox_report: dict = field(default_factory=dict)

    def before_run(self, proj: Path) -> None:
        """Removes the file the program writes, so every run has to write it again (untimed)."""
        if self.written is not None:
            (proj / self.written).unlink(missing_ok=True)

    def check_written(self, proj: Path, what: str) -> None:
        if self.written is None:
            return
        path = proj / self.written
        if not path.is_file():
            raise BenchError(f"{what}: {path} was not written")
        if path.read_bytes() != PAYLOAD:
            raise BenchError(f"{what}: {path} holds {path.read_bytes()!r}, not {PAYLOAD!r}")


def setup_project(x07: X07, root: Path, home: Path, name: str, app: str | None,
                  expected: bytes, written: str | None) -> SandboxProject:
    """`x07 init`, optionally replace the app module, `x07 policy init --template cli`, `out/`,
    then one run per profile (building both store entries) whose reports are checked."""
    proj = root / name
    x07.check(["init", str(proj)], home)
    if app is not None:
        shutil.copyfile(PROGRAMS_DIR / app, proj / "src" / "app.x07.json")
    x07.check(["policy", "init", "--template", "cli"], home, cwd=proj)
    (proj / "out").mkdir()
    proj_os = root / f"{name}-os"
    shutil.copytree(proj, proj_os, symlinks=True)
    manifest = json.loads((proj / "x07.json").read_text())
    policy = json.loads((proj / manifest["profiles"]["sandbox"]["policy"]).read_text())
    raw_input = root / f"{name}.input.bin"
    raw_input.write_bytes(PAYLOAD)
    framed_input = root / f"{name}.input.framed"
    framed_input.write_bytes(frame(PAYLOAD))
    p = SandboxProject(name, proj, proj_os, raw_input, framed_input, expected, written, policy)

    p.before_run(proj_os)
    os_report = json.loads(x07_run(x07, home, p, proj_os, "os", {}))
    check_x07_report(p, proj_os, os_report, f"(d) {name}: x07 run --profile os", None)
    p.before_run(proj)
    sb_report = json.loads(x07_run(x07, home, p, proj, "sandbox", SANDBOX_ENV))
    check_x07_report(p, proj, sb_report, f"(d) {name}: x07 run --profile sandbox", "os")
    p.os_exe = Path(os_report["compile"]["compiled_exe"])
    p.sb_exe = Path(sb_report["compile"]["compiled_exe"])
    if p.os_exe == p.sb_exe:
        raise BenchError(f"(d) {name}: the run-os and sandboxed runs used the same binary "
                         f"{p.os_exe}; they should be different store entries")
    p.sandbox_report = sb_report["sandbox"]
    if p.sandbox_report.get("unreachable_roots"):
        raise BenchError(f"(d) {name}: the sandbox reports unreachable roots "
                         f"{p.sandbox_report['unreachable_roots']}; out/ should exist")
    return p


def x07_run(x07: X07, home: Path, p: SandboxProject, proj: Path, profile: str,
            extra_env: dict) -> bytes:
    proc = subprocess.run([str(x07.exe), "run", "--profile", profile, "--input", str(p.raw_input)],
                          cwd=proj, env={**x07.env(home), **extra_env},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise BenchError(f"(d) {p.name}: `x07 run --profile {profile}` exited with "
                         f"{proc.returncode}:\n{proc.stdout.decode(errors='replace')[-2000:]}"
                         f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return proc.stdout


def check_x07_report(p: SandboxProject, proj: Path, report: dict, what: str,
                     backend: str | None) -> None:
    """The program's output, the written file, and for a sandboxed run its sandbox section."""
    got = solve_output(report)
    if got != p.expected:
        raise BenchError(f"{what}: the program printed {got!r}, not {p.expected!r}")
    p.check_written(proj, what)
    if backend is None:
        return
    sandbox = report.get("sandbox") or {}
    if report.get("sandbox_backend") != backend or sandbox.get("backend") != backend:
        raise BenchError(f"{what}: the report says backend {report.get('sandbox_backend')!r}, "
                         f"expected {backend!r}")
    if backend == "os" and not sandbox.get("restrictions"):
        raise BenchError(f"{what}: the report lists no sandbox restrictions: {sandbox}")
    first = p.sandbox_report.get("restrictions")
    if backend == "os" and first is not None and sandbox["restrictions"] != first:
        raise BenchError(f"{what}: restrictions {sandbox['restrictions']} differ from the first "
                         f"run's {first}")


@dataclass
class BlobVariant:
    """A policy handed to the sandboxed binary in (d2), and what its start-up line must say."""

    label: str
    policy: dict
    backend: str
    digest: str
    # The restrictions the runtime must report, or None to skip that check.
    restrictions: list[str] | None


def blob_variants(p: SandboxProject) -> list[BlobVariant]:
    """x07's own policy (os and none backends), and the same with `net.enabled` set, which
    leaves out the network namespace (Landlock still refuses TCP, seccomp UDP: no hosts)."""
    digest = p.sandbox_report["policy_digest"]
    ours = "sha256:" + policy_blob.policy_digest(p.policy).hex()
    if ours != digest:
        raise BenchError(f"(d) {p.name}: bench/policy_blob.py gives digest {ours}, x07 reported "
                         f"{digest}")
    restrictions = p.sandbox_report["restrictions"]
    variants = [BlobVariant("os", p.policy, "os", digest, restrictions),
                BlobVariant("none", p.policy, "none", digest, None)]
    if not p.policy["net"]["enabled"] and "netns" in restrictions:
        net_on = json.loads(json.dumps(p.policy))
        net_on["net"]["enabled"] = True
        variants.append(BlobVariant(
            "os, net.enabled", net_on, "os", "sha256:" + policy_blob.policy_digest(net_on).hex(),
            [r for r in restrictions if r != "netns"]))
    return variants


def check_startup_line(stderr: bytes, what: str, variant: BlobVariant) -> None:
    """The runtime's start-up line of a direct run: the digest, backend and restrictions it must
    report. Removes the run's pids cgroup like the launcher does."""
    try:
        line = json.loads(stderr.split(b"\n", 1)[0])["x07_sandbox"]
    except (ValueError, KeyError, TypeError):
        raise BenchError(f"{what}: stderr does not start with the x07_sandbox line: "
                         f"{stderr[:300]!r}")
    cgroup = line.get("pids_cgroup")
    if cgroup and os.path.isdir(cgroup):  # normally removed by the launcher already
        remove_cgroup(cgroup)
    if line.get("policy_digest") != variant.digest:
        raise BenchError(f"{what}: the binary reports policy digest {line.get('policy_digest')}, "
                         f"expected {variant.digest}: bench/policy_blob.py encodes something "
                         "else than x07")
    if line.get("backend") != variant.backend:
        raise BenchError(f"{what}: backend {line.get('backend')!r}, expected "
                         f"{variant.backend!r}")
    if variant.restrictions is not None and line.get("restrictions") != variant.restrictions:
        raise BenchError(f"{what}: restrictions {line.get('restrictions')}, expected "
                         f"{variant.restrictions}")


CGROUP_RMDIR_S: list[float] = []


def remove_cgroup(path: str) -> None:
    """rmdir of a run's pids cgroup (the launcher's job after the run); its time is recorded."""
    start = time.perf_counter()
    try:
        os.rmdir(path)
    except OSError as e:
        raise BenchError(f"(d) cannot remove the run's pids cgroup {path}: {e}")
    CGROUP_RMDIR_S.append(time.perf_counter() - start)


def memfd_with(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, 0)
    os.write(fd, data)
    return fd


# ---------------------------------------------------------------- bwrap


def bwrap_argv(p: SandboxProject, seccomp_fd: int | None, unshare_pid: bool) -> list[str]:
    """bwrap around the run-os binary with the cli policy's restrictions, as far as bwrap has them.

    Network: a new namespace (`net.enabled` false). Filesystem, mirroring the runtime's Landlock
    grants: the system library folders and ld.so.cache read-only, /dev/null and /dev/urandom, the
    project read-only with its hidden entries masked (`deny_hidden`), `out/` writable (the write
    root), the binary itself. Process: a new session, parent death kills it, no capabilities,
    environment cleared, optionally a pid namespace, and the seccomp filter of seccomp_bpf.py.
    """
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-net"]
    if unshare_pid:
        argv.append("--unshare-pid")
    argv += ["--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL"]
    for top in ("/lib", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for lib in ("/usr/lib", "/usr/lib64"):
        if os.path.isdir(lib) and not os.path.islink(lib):
            argv += ["--ro-bind", lib, lib]
    if os.path.exists("/etc/ld.so.cache"):
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    argv += ["--dev-bind", "/dev/null", "/dev/null", "--ro-bind", "/dev/urandom", "/dev/urandom"]
    proj = str(p.proj)
    argv += ["--ro-bind", proj, proj]
    for hidden in hidden_entries(p.proj):
        if hidden.is_dir() and not hidden.is_symlink():
            argv += ["--tmpfs", str(hidden)]
        else:
            argv += ["--ro-bind", "/dev/null", str(hidden)]
    argv += ["--bind", str(p.proj / "out"), str(p.proj / "out")]
    argv += ["--ro-bind", str(p.os_exe), str(p.os_exe), "--chdir", proj]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return argv + ["--", str(p.os_exe), *RUN_FLAGS]


def hidden_entries(root: Path) -> list[Path]:
    """Every entry whose name starts with `.` below root, without entering hidden directories."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            if name.startswith("."):
                found.append(Path(dirpath) / name)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    return found


def probe_bwrap(seccomp_fd: int | None) -> str | None:
    """None when bwrap runs here (and its seccomp filter refuses unshare); else why not."""
    if shutil.which("bwrap") is None:
        return f"bwrap is not installed; {BWRAP_INSTALL}"
    argv = ["bwrap", "--unshare-net", "--unshare-pid", "--die-with-parent", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc"]
    for top in ("/bin", "/lib", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    script = "grep -c '^Seccomp:.2' /proc/self/status; unshare --user true"
    if seccomp_fd is not None:
        os.lseek(seccomp_fd, 0, os.SEEK_SET)
        argv += ["--seccomp", str(seccomp_fd)]
    proc = subprocess.run([*argv, "--", "/bin/sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          pass_fds=(seccomp_fd,) if seccomp_fd is not None else ())
    if seccomp_fd is None:
        return None if proc.stdout.strip() in ("0", "1") else f"bwrap fails here: {proc.stderr}"
    if proc.stdout.strip() != "1" or "Operation not permitted" not in proc.stderr:
        return (f"bwrap with the seccomp filter of bench/seccomp_bpf.py did not behave as "
                f"expected (filter loaded: {proc.stdout.strip()!r}, unshare: "
                f"{proc.stderr.strip()!r})")
    return None


# ---------------------------------------------------------------- the comparisons


def bench_sandbox(x07: X07, work: Path, reps: int) -> list[Comparison]:
    """All of (d); the encoder is checked against the test vector before anything runs."""
    try:
        return measure_sandbox(x07, work, reps)
    except policy_blob.PolicyBlobError as e:
        raise BenchError(f"(d) {e}") from e


def measure_sandbox(x07: X07, work: Path, reps: int) -> list[Comparison]:
    policy_blob.check_test_vector()
    root = work / "d"
    root.mkdir()
    home = work / "home-d"
    projects = [
        setup_project(x07, root, home, "echo", None, PAYLOAD, None),
        setup_project(x07, root, home, "write-file", "write_out.x07.json", b"ok", "out/input.bin"),
    ]
    net = projects[0].policy["net"]
    # The runtime's rule: UDP sockets are refused unless networking allows UDP or DNS.
    deny_udp = not (net["enabled"] and (net["allow_udp"] or net["allow_dns"]))
    seccomp = seccomp_bpf.build_filter(deny_udp)
    fds: list[int] = []
    try:
        seccomp_fd = memfd_with("bwrap-seccomp", seccomp) if seccomp is not None else None
        if seccomp_fd is not None:
            fds.append(seccomp_fd)
        bwrap_problem = probe_bwrap(seccomp_fd)
        if bwrap_problem is not None:
            print(f"bench: (d3) skipped: {bwrap_problem}", file=sys.stderr)
        comparisons = []
        for p in projects:
            comparisons.append(bench_x07_runs(x07, home, p, reps))
        launcher = find_launcher(home)
        for p in projects:
            comparisons.extend(bench_direct_runs(p, reps, fds, seccomp_fd, bwrap_problem,
                                                 launcher))
        comparisons.append(bench_netns_primitive(reps))
    finally:
        for fd in fds:
            os.close(fd)
    if CGROUP_RMDIR_S:
        us = statistics.median(CGROUP_RMDIR_S) * 1e6
        for c in comparisons:
            if c.key.startswith("d2-"):
                c.notes.append(f"the bench removes each direct run's pids cgroup after it, "
                               f"untimed (as x07 does): rmdir median {us:.0f} us")
    return comparisons


def bench_x07_runs(x07: X07, home: Path, p: SandboxProject, reps: int) -> Comparison:
    """(d1): warm x07 run, sandbox (os) against run-os; backend none as a breakdown row."""
    sandbox = Side("x07 run --profile sandbox (os backend)")
    plain = Side("x07 run --profile os")
    none = Side("  of which: --profile sandbox, backend none")
    argv = [str(x07.exe), "run", "--input", str(p.raw_input), "--profile"]
    base_env = x07.env(home)

    def runner(side: Side, profile: str, extra_env: dict, backend: str | None):
        env = {**base_env, **extra_env}
        what = f"(d1) {p.name}: x07 run --profile {profile}"
        proj = p.proj if profile == "sandbox" else p.proj_os

        def run(_: int) -> None:
            p.before_run(proj)
            s = run_timed([*argv, profile], cwd=proj, env=env, what=what)
            check_x07_report(p, proj, json.loads(s.stdout), what, backend)
            side.samples.append(s)
        return run

    runners = [runner(sandbox, "sandbox", SANDBOX_ENV, "os"), runner(plain, "os", {}, None),
               runner(none, "sandbox", NONE_BACKEND_ENV, "none")]
    interleave(2, *runners)  # warm-up
    for side in (sandbox, plain, none):
        side.samples.clear()
    interleave(reps, *runners)
    restrictions = ", ".join(p.sandbox_report["restrictions"])
    return Comparison(
        f"d1-{p.name}", f"(d1) warm x07 run, sandbox against run-os: {p.name}, 5-byte input",
        sandbox, plain, None, extras=[none], target_extra_ms=TARGET_EXTRA_MS,
        ratio_label="sandbox/run-os", extra_label="sandbox - run-os",
        notes=[f"checked every run: output{', out/input.bin' if p.written else ''}; "
               f"sandbox restrictions: {restrictions}"])


def find_launcher(home: Path) -> Path:
    """The trusted launcher x07 built into the store of `home` during (d1)."""
    found = sorted(home.glob("store/*-x07-launch/x07-launch"))
    if not found:
        raise BenchError(f"(d2) no x07-launch in {home}/store: (d1) should have built it")
    return found[-1]


def bench_direct_runs(p: SandboxProject, reps: int, fds: list[int], seccomp_fd: int | None,
                      bwrap_problem: str | None, launcher: Path) -> list[Comparison]:
    """(d2) and (d3) in one rotation: run-os binary, the sandboxed binary through x07-launch
    (os blobs) or alone (none blob), bwrap."""
    env = dict(os.environ)
    variants = {v.label: v for v in blob_variants(p)}
    blobs = {label: policy_blob.encode(v.policy, str(p.proj), v.backend)
             for label, v in variants.items()}
    policy_fds = {label: memfd_with("x07-policy", blob) for label, blob in blobs.items()}
    fds.extend(policy_fds.values())

    plain = Side("run-os binary < framed input")
    sandboxed = Side("x07-launch + sandboxed binary, policy on an fd (os)")
    in_process = Side("  of which: sandboxed binary, backend none blob")
    no_netns = Side("  of which: os blob with net.enabled (no netns)")
    bwrap = Side("bwrap + run-os binary (netns, pidns, seccomp)")
    bwrap_no_pidns = Side("  bwrap as above without --unshare-pid")

    def check_stdout(s: Sample, what: str) -> None:
        got = unframe(s.stdout, what)
        if got != p.expected:
            raise BenchError(f"{what}: the program printed {got!r}, not {p.expected!r}")
        p.check_written(p.proj, what)

    def run_plain(_: int) -> None:
        what = f"(d2) {p.name}: run-os binary"
        p.before_run(p.proj)
        s = run_timed([str(p.os_exe), *RUN_FLAGS], cwd=p.proj, env=env,
                      stdin_path=p.framed_input, what=what)
        check_stdout(s, what)
        plain.samples.append(s)

    def sandboxed_runner(side: Side, label: str) -> Callable[[int], None]:
        fd = policy_fds[label]
        what = f"(d2) {p.name}: sandboxed binary, {label} blob"

        # backend os: the launcher confines and execs the program; none: the program alone
        if variants[label].backend == "os":
            argv = [str(launcher), f"--x07-policy-fd={fd}", "--", str(p.sb_exe), *RUN_FLAGS]
        else:
            argv = [str(p.sb_exe), f"--x07-policy-fd={fd}", *RUN_FLAGS]

        def run(_: int) -> None:
            p.before_run(p.proj)
            os.lseek(fd, 0, os.SEEK_SET)
            s = run_timed(argv, cwd=p.proj, env=env, stdin_path=p.framed_input, pass_fds=(fd,),
                          what=what)
            check_stdout(s, what)
            check_startup_line(s.stderr, what, variants[label])
            side.samples.append(s)
        return run

    def bwrap_runner(side: Side, unshare_pid: bool) -> Callable[[int], None]:
        argv = bwrap_argv(p, seccomp_fd, unshare_pid)
        pass_fds = (seccomp_fd,) if seccomp_fd is not None else ()
        what = f"(d3) {p.name}: bwrap"

        def run(_: int) -> None:
            p.before_run(p.proj)
            if seccomp_fd is not None:
                os.lseek(seccomp_fd, 0, os.SEEK_SET)  # bwrap reads the filter from the offset
            s = run_timed(argv, env=env, stdin_path=p.framed_input, pass_fds=pass_fds, what=what)
            check_stdout(s, what)
            side.samples.append(s)
        return run

    runners = [run_plain, sandboxed_runner(sandboxed, "os"), sandboxed_runner(in_process, "none")]
    d2_extras = [in_process]
    if "os, net.enabled" in variants:
        runners.append(sandboxed_runner(no_netns, "os, net.enabled"))
        d2_extras.append(no_netns)
    if bwrap_problem is None:
        runners += [bwrap_runner(bwrap, True), bwrap_runner(bwrap_no_pidns, False)]
    interleave(2, *runners)  # warm-up
    for side in (plain, sandboxed, in_process, no_netns, bwrap, bwrap_no_pidns):
        side.samples.clear()
    interleave(reps, *runners)

    d2 = Comparison(
        f"d2-{p.name}", f"(d2) stored binaries run directly: {p.name}, framed 5-byte input",
        sandboxed, plain, None, extras=d2_extras, ratio_label="sandboxed/run-os",
        extra_label="sandboxed - run-os", show_extra=True,
        notes=[f"policy blob ({len(blobs['os'])} bytes, seccomp programs included) from "
               "bench/policy_blob.py, checked against spec/tests/data/policy_blob_v3.bin; every "
               "run's start-up line matches x07's run (digest, restrictions)"])
    if bwrap_problem is not None:
        d2.notes.append(f"(d3) skipped: {bwrap_problem}")
        return [d2]
    if seccomp_fd is not None:
        seccomp_note = (f"bwrap seccomp filter: {os.fstat(seccomp_fd).st_size // 8} BPF "
                        "instructions from bench/seccomp_bpf.py (the runtime's rules), checked "
                        "to load and to refuse unshare")
    else:
        seccomp_note = ("bwrap ran WITHOUT a seccomp filter (bench/seccomp_bpf.py knows x86_64 "
                        "only)")
    d3 = Comparison(
        f"d3-{p.name}", f"(d3) bubblewrap around the run-os binary against the sandboxed binary: "
        f"{p.name}", bwrap, sandboxed, None, extras=[bwrap_no_pidns],
        ratio_label="bwrap/sandboxed", extra_label="bwrap - sandboxed", show_extra=True,
        notes=[seccomp_note, "bwrap has no rlimits, pids limit or wall-clock timer; the "
               "sandboxed binary applies all three",
               "cpu of bwrap with --unshare-pid undercounts: the namespace's processes are not "
               "reaped into bwrap's rusage"])
    return [d2, d3]


def bench_netns_primitive(reps: int) -> Comparison:
    """(d'): what a network namespace costs on its own (created at start, torn down at exit)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise BenchError("(d') `unshare` (util-linux) is not on PATH")
    bare = Side("unshare true (no namespace)")
    netns = Side("unshare --net true")
    pidns = Side("  unshare --pid --fork true")
    sides = [(netns, ["--net"]), (bare, []), (pidns, ["--pid", "--fork"])]

    def runner(side: Side, flags: list[str]) -> Callable[[int], None]:
        def run(_: int) -> None:
            side.samples.append(run_timed([unshare, *flags, "true"], what=f"(d') unshare {flags}"))
        return run

    runners = [runner(side, flags) for side, flags in sides]
    interleave(2, *runners)
    for side, _ in sides:
        side.samples.clear()
    interleave(reps, *runners)
    return Comparison("d-netns", "(d') kernel primitive: a network namespace, alone", netns, bare,
                      None, extras=[pidns], ratio_label="netns/none", extra_label="netns - none",
                      show_extra=True)
