"""(g) the VM boundary, measured side by side in one run (bench/README.md):

(g1) warm `x07 run --profile sandbox` of the echo project on the vm backend (no backend flags)
     against a bare qemu boot of the same kernel and initramfs, started by hand with the same
     machine flags, in which x07's agent runs a static C hello and powers off (target <= 1.2x);
(g2) the VM bundle of the same project (`dist/echo-vm hello`: pins and sidecar checked, private
     copy, confined qemu) against the same bare boot (target <= 1.2x).

The kernel package comes from apt (`x07 vm image build`), or X07_BENCH_KERNEL_DEB names one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from bundle_bench import argv_v1
from harness import BenchError, Comparison, Side, X07, interleave, run_timed, solve_output

TARGET_VM_VS_BARE = 1.2


def tsc_flags() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            khz = int(float(line.split(":", 1)[1]) * 1000)
            return f" tsc_early_khz={khz} tsc=reliable"
    return ""


def bare_boot(image: Path, hello: Path, state: Path) -> list[str]:
    """qemu booting the image's kernel and initramfs, the agent running `hello` as its job: the
    same machine and devices x07 uses, without x07, its launcher, confinement or proxy."""
    job_in = state / "in"
    job_out = state / "out"
    job_in.mkdir(parents=True)
    job_out.mkdir()
    shutil.copy(hello, job_in / "hello")
    (job_in / "argv").write_bytes(b"/x07/in/hello\0")
    (job_in / "stdin").write_bytes(b"")
    (job_in / "env").write_bytes(b"")
    cmdline = "console=ttyS0 panic=-1 rdinit=/init" + tsc_flags() + " x07.job=1"
    return [
        "qemu-system-x86_64", "-M", "microvm", "-smp", "1", "-m", "384M",
        "-fsdev", f"local,id=x07in,path={job_in},security_model=none,readonly=on",
        "-device", "virtio-9p-device,fsdev=x07in,mount_tag=x07in",
        "-fsdev", f"local,id=x07out,path={job_out},security_model=none",
        "-device", "virtio-9p-device,fsdev=x07out,mount_tag=x07out",
        "-device", "virtio-serial-device",
        "-chardev", f"file,id=x07st,path={state / 'status'}",
        "-device", "virtserialport,chardev=x07st,name=x07.status",
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-display", "none", "-monitor", "none",
        "-serial", f"file:{state / 'console.log'}",
        "-kernel", str(image / "vmlinux"), "-initrd", str(image / "initramfs.cpio"),
        "-append", cmdline, "-accel", "tcg", "-cpu", "max",
    ]


def bench_vm(x07: X07, work: Path, reps: int) -> list[Comparison]:
    root = work / "g"
    root.mkdir()
    home = root / "home"
    proj = root / "proj"
    build = ["vm", "image", "build", "--json"]
    if os.environ.get("X07_BENCH_KERNEL_DEB"):
        build += ["--kernel-deb", os.environ["X07_BENCH_KERNEL_DEB"]]
    image = Path(json.loads(x07.check(build, home))["dir"])
    x07.check(["init", str(proj)], home)
    x07.check(["policy", "init", "--template", "cli"], home, cwd=proj)
    (proj / "out").mkdir(exist_ok=True)
    dist = root / "dist"
    x07.check(["bundle", "--profile", "sandbox", "--no-sign", "--out", str(dist / "echo-vm")],
              home, cwd=proj)
    hello_c = root / "hello.c"
    hello_c.write_text('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
    hello = root / "hello"
    cc = "musl-gcc" if shutil.which("musl-gcc") else "cc"
    subprocess.run([cc, "-O2", "-static", "-o", str(hello), str(hello_c)], check=True)
    framed_input = root / "input.bin"
    framed_input.write_bytes(b"hello")

    run_side = Side("x07 run --profile sandbox (vm backend, warm)")
    bundle_side = Side("dist/echo-vm hello (VM bundle)")
    bare_side = Side("bare qemu: same kernel+initramfs, agent runs a static hello")
    count = [0]

    def run_x07(_: int) -> None:
        s = run_timed([str(x07.exe), "run", "--profile", "sandbox", "--input", str(framed_input)],
                      cwd=proj, env=x07.env(home), what="(g1) x07 run on the vm backend")
        if solve_output(json.loads(s.stdout)) != b"hello":
            raise BenchError("(g1) the vm run printed something else")
        run_side.samples.append(s)

    def run_bundle(_: int) -> None:
        s = run_timed([str(dist / "echo-vm"), "hello"], cwd=proj, what="(g2) VM bundle")
        if s.stdout != argv_v1([b"echo-vm", b"hello"]):
            raise BenchError(f"(g2) the VM bundle printed {s.stdout!r}")
        bundle_side.samples.append(s)

    def run_bare(_: int) -> None:
        count[0] += 1
        state = root / f"bare-{count[0]}"
        s = run_timed(bare_boot(image, hello, state), what="(g) bare qemu boot")
        out = (state / "out" / "stdout").read_bytes()
        if out != b"hello\n":
            raise BenchError(f"(g) the bare boot's hello printed {out!r}")
        bare_side.samples.append(s)

    runners: list[Callable[[int], None]] = [run_x07, run_bundle, run_bare]
    interleave(1, *runners)
    for side in (run_side, bundle_side, bare_side):
        side.samples.clear()
    interleave(reps, *runners)
    g1 = Comparison("g1", "(g1) x07 run on the vm backend against a bare qemu boot",
                    run_side, bare_side, TARGET_VM_VS_BARE, ratio_label="x07/bare")
    g2 = Comparison("g2", "(g2) VM bundle launch against a bare qemu boot",
                    bundle_side, bare_side, TARGET_VM_VS_BARE, ratio_label="bundle/bare")
    g2.notes.append("under one second per run under TCG (the stretch goal) needs a warm path: "
                    "a booted guest kept for the next job, or a snapshot restored; not built")
    return [g1, g2]
