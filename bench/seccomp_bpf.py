"""A classic-BPF seccomp filter for bwrap's `--seccomp FD`, mirroring the x07 runtime's step 10.

bwrap takes the filter already compiled: an array of `struct sock_filter` (u16 code, u8 jt, u8 jf,
u32 k, native byte order). The rules are the ones docs/internals/sandbox.md lists for the runtime
(kill on a foreign architecture or x32, EPERM for the listed calls, ENOSYS for clone3, EPERM for
clone with namespace flags, unix/packet/raw sockets, UDP when networking is off, device nodes and
TIOCSTI/TIOCLINUX), so the bwrap side of (d3) pays for a filter of the same length and shape.
x86_64 only: `build_filter` returns None elsewhere and the benchmark says it ran bwrap without one.
"""

from __future__ import annotations

import platform
import struct

# struct seccomp_data: nr at 0, arch at 4, instruction pointer at 8, args[6] (u64 each) at 16.
_OFF_NR, _OFF_ARCH, _OFF_ARGS = 0, 4, 16
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000

_LD_W_ABS = 0x20
_JEQ_K, _JGE_K, _JSET_K = 0x15, 0x35, 0x45
_AND_K = 0x54
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_EPERM, _ENOSYS = 1, 38

# x86_64 numbers (asm/unistd_64.h) of the calls the runtime refuses with EPERM.
_EPERM_CALLS_X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165,
    "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "kexec_load": 246, "kexec_file_load": 320, "bpf": 321, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168,
    "syslog": 103, "keyctl": 250, "add_key": 248, "request_key": 249, "perf_event_open": 298,
    "userfaultfd": 323, "iopl": 172, "ioperm": 173, "open_by_handle_at": 304,
    "name_to_handle_at": 303, "acct": 163, "settimeofday": 164, "clock_settime": 227,
    "clock_adjtime": 305, "adjtimex": 159, "quotactl": 179, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
}
_NR_CLONE, _NR_CLONE3, _NR_SOCKET = 56, 435, 41
_NR_MKNOD, _NR_MKNODAT, _NR_IOCTL = 133, 259, 16

_CLONE_NS_FLAGS = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000
                   | 0x40000000)  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_AF_UNIX, _AF_INET, _AF_INET6, _AF_PACKET = 1, 2, 10, 17
_SOCK_DGRAM, _SOCK_RAW = 2, 3
_S_IFMT, _S_IFCHR, _S_IFBLK = 0o170000, 0o020000, 0o060000
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C


class _Program:
    """Instructions whose jump targets are label names, resolved to offsets by `assemble`."""

    def __init__(self) -> None:
        self.ins: list[tuple[int, int, str | None, str | None]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.ins)

    def op(self, code: int, k: int, jt: str | None = None, jf: str | None = None) -> None:
        self.ins.append((code, k, jt, jf))

    def load(self, offset: int) -> None:
        self.op(_LD_W_ABS, offset)

    def load_arg(self, i: int) -> None:
        """The low 32 bits of argument i (little-endian)."""
        self.load(_OFF_ARGS + 8 * i)

    def ret(self, value: int) -> None:
        self.op(_RET_K, value)

    def assemble(self) -> bytes:
        out = bytearray()
        for i, (code, k, jt, jf) in enumerate(self.ins):
            offsets = []
            for target in (jt, jf):
                off = 0 if target is None else self.labels[target] - (i + 1)
                if not 0 <= off <= 255:
                    raise ValueError(f"seccomp filter: jump to {target} out of range ({off})")
                offsets.append(off)
            out += struct.pack("=HBBI", code, offsets[0], offsets[1], k)
        return bytes(out)


def build_filter(deny_udp: bool) -> bytes | None:
    """The compiled filter for this machine, or None when it is not x86_64."""
    if platform.machine() != "x86_64":
        return None
    p = _Program()
    p.load(_OFF_ARCH)
    p.op(_JEQ_K, _AUDIT_ARCH_X86_64, None, "kill")
    p.load(_OFF_NR)
    p.op(_JGE_K, _X32_SYSCALL_BIT, "kill", None)
    for nr in _EPERM_CALLS_X86_64.values():
        p.op(_JEQ_K, nr, "eperm", None)
    p.op(_JEQ_K, _NR_CLONE3, "enosys", None)

    p.op(_JEQ_K, _NR_CLONE, None, "after_clone")
    p.load_arg(0)
    p.op(_JSET_K, _CLONE_NS_FLAGS, "eperm", "allow")
    p.label("after_clone")

    p.op(_JEQ_K, _NR_SOCKET, None, "after_socket")
    p.load_arg(0)
    p.op(_JEQ_K, _AF_UNIX, "eperm", None)
    p.op(_JEQ_K, _AF_PACKET, "eperm", None)
    p.load_arg(1)
    p.op(_AND_K, 0xF)
    p.op(_JEQ_K, _SOCK_RAW, "eperm", None)
    if deny_udp:
        p.op(_JEQ_K, _SOCK_DGRAM, None, "allow")
        p.load_arg(0)
        p.op(_JEQ_K, _AF_INET, "eperm", None)
        p.op(_JEQ_K, _AF_INET6, "eperm", None)
    p.ret(_RET_ALLOW)
    p.label("after_socket")

    for nr, arg, mask, denied, after in [
        (_NR_MKNOD, 1, _S_IFMT, (_S_IFCHR, _S_IFBLK), "after_mknod"),
        (_NR_MKNODAT, 2, _S_IFMT, (_S_IFCHR, _S_IFBLK), "after_mknodat"),
        (_NR_IOCTL, 1, 0xFFFFFFFF, (_TIOCSTI, _TIOCLINUX), "allow"),
    ]:
        p.op(_JEQ_K, nr, None, after)
        p.load_arg(arg)
        p.op(_AND_K, mask)
        for value in denied:
            p.op(_JEQ_K, value, "eperm", None)
        p.ret(_RET_ALLOW)
        if after != "allow":
            p.label(after)

    p.label("allow")
    p.ret(_RET_ALLOW)
    p.label("eperm")
    p.ret(_RET_ERRNO | _EPERM)
    p.label("enosys")
    p.ret(_RET_ERRNO | _ENOSYS)
    p.label("kill")
    p.ret(_RET_KILL_PROCESS)
    return p.assemble()
