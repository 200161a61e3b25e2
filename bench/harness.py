"""The timing harness shared by every comparison of bench/bench.py.

Processes are timed whole (wall clock from Python, child CPU from RUSAGE_CHILDREN); the sides of a
comparison are interleaved; a comparison is judged on the median, against a ratio target or, for
the sandbox, against a target in extra milliseconds. Python 3 standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import statistics
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


class BenchError(Exception):
    """A benchmark could not be set up or its two sides disagree; the message says which."""


# ---------------------------------------------------------------- running and timing processes


@dataclass
class Sample:
    """One timed process run."""

    wall_s: float
    cpu_s: float
    stdout: bytes
    stderr: bytes = b""


def run_timed(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
              stdin_path: Path | None = None, pass_fds: tuple[int, ...] = (),
              what: str) -> Sample:
    """Runs argv to completion; returns its wall time, its user+system CPU time, its stdout and
    stderr. `pass_fds` stay open in the child under their own numbers.

    Fails loudly (BenchError with stderr) on a non-zero exit: a failing side must never be timed.
    """
    stdin = open(stdin_path, "rb") if stdin_path is not None else subprocess.DEVNULL
    try:
        cpu_before = children_cpu_s()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, pass_fds=pass_fds)
        out, err = proc.communicate()
        wall = time.perf_counter() - start
        # communicate() reaped the child, so RUSAGE_CHILDREN now includes it (and its children).
        cpu = children_cpu_s() - cpu_before
    finally:
        if stdin_path is not None:
            stdin.close()
    if proc.returncode != 0:
        raise BenchError(f"{what}: `{' '.join(argv)}` exited with {proc.returncode}:\n"
                         f"{err.decode(errors='replace')[-2000:]}")
    return Sample(wall, cpu, out, err)


def children_cpu_s() -> float:
    """User+system CPU seconds of all reaped children of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


@dataclass
class Side:
    """One side of a comparison and its samples."""

    label: str
    samples: list[Sample] = field(default_factory=list)

    def walls(self) -> list[float]:
        return [s.wall_s for s in self.samples]

    def median(self) -> float:
        return statistics.median(self.walls())

    def minimum(self) -> float:
        return min(self.walls())

    def cpu_median(self) -> float:
        return statistics.median(s.cpu_s for s in self.samples)


@dataclass
class Comparison:
    """x07 side (`subject`) against its baseline, with a target for subject/baseline or, when
    `target_extra_ms` is set, for subject - baseline in milliseconds (the sandbox's extra cost)."""

    key: str
    title: str
    subject: Side
    baseline: Side
    target: float | None
    # A side both runs contain (e.g. reading the input); shown with the compute-only estimate.
    floor: Side | None = None
    # Informational sides measured in the same rotation (where the x07 side's time goes).
    extras: list[Side] = field(default_factory=list)
    # Lines printed under the comparison (what was checked).
    notes: list[str] = field(default_factory=list)
    # Judge subject - baseline (ms, medians) against this instead of the ratio.
    target_extra_ms: float | None = None
    # How the ratio and difference lines name the two sides.
    ratio_label: str = "x07/baseline"
    extra_label: str = "x07 - baseline"
    # Print the difference line even without a target in milliseconds.
    show_extra: bool = False

    def rows(self) -> list[Side]:
        return [self.subject, self.baseline, *([self.floor] if self.floor else []), *self.extras]

    def ratio_median(self) -> float:
        return self.subject.median() / self.baseline.median()

    def ratio_above_floor(self) -> float | None:
        """(subject - floor) / (baseline - floor) on medians: an estimate, not the judged ratio."""
        if self.floor is None:
            return None
        base = self.baseline.median() - self.floor.median()
        return (self.subject.median() - self.floor.median()) / base if base > 0 else None

    def ratio_min(self) -> float:
        return self.subject.minimum() / self.baseline.minimum()

    def ratio_cpu(self) -> float:
        return self.subject.cpu_median() / self.baseline.cpu_median()

    def extra_median_ms(self) -> float:
        return (self.subject.median() - self.baseline.median()) * 1000

    def extra_min_ms(self) -> float:
        return (self.subject.minimum() - self.baseline.minimum()) * 1000

    def extra_cpu_ms(self) -> float:
        return (self.subject.cpu_median() - self.baseline.cpu_median()) * 1000

    def verdict(self) -> str:
        """Judged on the wall-time median; flagged when min and CPU time disagree with it."""
        if self.target_extra_ms is not None:
            judged = self.extra_median_ms()
            others = (self.extra_min_ms(), self.extra_cpu_ms())
            target = self.target_extra_ms
            what = "difference"
        elif self.target is not None:
            judged, others = self.ratio_median(), (self.ratio_min(), self.ratio_cpu())
            target = self.target
            what = "ratio"
        else:
            return "info"
        verdict = "ok" if judged <= target else "MISSED"
        if {r <= target for r in others} != {verdict == "ok"}:
            verdict += f" (noisy: the min or CPU {what} disagrees; rerun on a quieter machine)"
        return verdict

    def summary_lines(self) -> list[str]:
        """The lines printed under the table rows: ratio, difference, estimate, notes."""
        lines = []
        ratio = (f"ratio {self.ratio_label}: median {self.ratio_median():.2f}x, "
                 f"min {self.ratio_min():.2f}x, cpu {self.ratio_cpu():.2f}x")
        if self.target_extra_ms is None:
            target = f"target <= {self.target:g}x" if self.target is not None else "no target"
            ratio += f" ({target}) -> {self.verdict()}"
        lines.append(ratio)
        if self.target_extra_ms is not None or self.show_extra:
            target = (f"target <= {self.target_extra_ms:.1f} ms" if self.target_extra_ms is not None
                      else "no target")
            line = (f"extra {self.extra_label}: median {self.extra_median_ms():+.2f} ms, "
                    f"min {self.extra_min_ms():+.2f} ms, cpu {self.extra_cpu_ms():+.2f} ms "
                    f"({target})")
            if self.target_extra_ms is not None:
                line += f" -> {self.verdict()}"
            lines.append(line)
        above = self.ratio_above_floor()
        if above is not None:
            lines.append(f"compute-only estimate (medians minus the floor): {above:.2f}x")
        lines.extend(self.notes)
        return lines


def interleave(reps: int, *runners: Callable[[int], None]) -> None:
    """Calls every runner once per repetition, rotating which one goes first, so that slow
    phases of a noisy machine are spread over all sides."""
    for i in range(reps):
        k = i % len(runners)
        for run in runners[k:] + runners[:k]:
            run(i)


# ---------------------------------------------------------------- framing and x07 helpers


def frame(data: bytes) -> bytes:
    """The framed-ABI encoding of one input: u32_le length + bytes."""
    return struct.pack("<I", len(data)) + data


def unframe(out: bytes, what: str) -> bytes:
    """The payload of one framed output; BenchError if the frame is malformed."""
    if len(out) < 4:
        raise BenchError(f"{what}: stdout is {len(out)} bytes, shorter than a frame header")
    (n,) = struct.unpack_from("<I", out)
    if len(out) != 4 + n:
        raise BenchError(f"{what}: frame says {n} bytes but stdout has {len(out) - 4}")
    return out[4:]


class X07:
    """The x07 binary under test, run with a given X07_HOME."""

    def __init__(self, exe: Path):
        self.exe = exe

    def env(self, home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["X07_HOME"] = str(home)
        return env

    def check(self, args: list[str], home: Path, cwd: Path | None = None) -> bytes:
        proc = subprocess.run([str(self.exe), *args], cwd=cwd, env=self.env(home),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise BenchError(f"`x07 {' '.join(args)}` exited with {proc.returncode}:\n"
                             f"{proc.stdout.decode(errors='replace')[-2000:]}"
                             f"{proc.stderr.decode(errors='replace')[-2000:]}")
        return proc.stdout

    def build_json(self, args: list[str], home: Path, cwd: Path | None = None) -> dict:
        report = json.loads(self.check(["build", "--json", *args], home, cwd))
        if not report.get("ok"):
            raise BenchError(f"`x07 build --json {' '.join(args)}` reported failure: {report}")
        return report


def solve_output(report: dict) -> bytes:
    """The program's output from an `x07 run` report (top-level field, or the older nested one)."""
    b64 = report.get("solve_output_b64")
    if b64 is None:
        b64 = report["solve"]["solve_output_b64"]
    return base64.b64decode(b64)
