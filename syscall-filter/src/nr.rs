//! System call numbers and argument constants: libc's, plus the ones the libc crate does not
//! (yet) name. Numbers from 424 on are the same on every architecture (the kernel's unified
//! table), so they are defined once here.

// The names copy libc's `SYS_*` spelling so the table reads the same for both sources.
#![allow(non_upper_case_globals)]

pub use libc::*;

// arm64 has these (__ARCH_WANT_SET_GET_RLIMIT, __ARCH_WANT_RENAMEAT) but libc does not name them;
// items defined here shadow libc's glob, so a later libc that adds them changes nothing.
/// renameat(2) on arm64.
#[cfg(target_arch = "aarch64")]
pub const SYS_renameat: c_long = 38;
/// getrlimit(2) on arm64.
#[cfg(target_arch = "aarch64")]
pub const SYS_getrlimit: c_long = 163;
/// setrlimit(2) on arm64.
#[cfg(target_arch = "aarch64")]
pub const SYS_setrlimit: c_long = 164;
/// sync_file_range(2) on arm64 (asm-generic 84).
#[cfg(target_arch = "aarch64")]
pub const SYS_sync_file_range: c_long = 84;
/// fchmodat2(2) (unified number).
#[cfg(target_arch = "aarch64")]
pub const SYS_fchmodat2: c_long = 452;

/// Shadow stacks (x86_64 CET; a glibc built with CET maps them itself).
pub const SYS_map_shadow_stack: c_long = 453;
/// futex2 (Linux 6.7).
pub const SYS_futex_wake: c_long = 454;
/// futex2 (Linux 6.7).
pub const SYS_futex_wait: c_long = 455;
/// futex2 (Linux 6.7).
pub const SYS_futex_requeue: c_long = 456;
/// Mount enumeration (Linux 6.8): named only to document that it is refused.
pub const SYS_statmount: c_long = 457;
/// Mount enumeration (Linux 6.8): named only to document that it is refused.
pub const SYS_listmount: c_long = 458;
/// xattr reads relative to a directory descriptor (Linux 6.13).
pub const SYS_getxattrat: c_long = 464;
/// xattr reads relative to a directory descriptor (Linux 6.13).
pub const SYS_listxattrat: c_long = 465;

/// On x86_64 the x32 ABI marks its system call numbers with this bit.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The x32 numbers killed outright: 0 ..= 547 covers the whole x32 table (common numbers and
/// the x32-only 512..547); anything above is refused by the allowlist anyway.
pub const X32_LAST: u32 = 547;

/// Every namespace flag clone(2) can carry (CLONE_NEWTIME only exists for clone3 / unshare).
pub const CLONE_NS_FLAGS: u32 = (CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET) as u32;

/// PRIO_PROCESS as the filter compares it (libc types it differently for glibc and musl).
pub const PRIO_PROCESS_NR: u32 = 0;

/// socket(2) type bits besides the type itself (the kernel refuses any other bit).
pub const SOCK_FLAGS: u32 = (SOCK_NONBLOCK | SOCK_CLOEXEC) as u32;

/// ioctl request numbers (asm-generic values, shared by x86_64 and aarch64).
pub const TCGETS2: u32 = 0x802c_542a;
/// Reflink a whole file (cp --reflink=auto, the coreutils default).
pub const FICLONE: u32 = 0x4004_9409;
/// Reflink a range (cp).
pub const FICLONERANGE: u32 = 0x4020_940d;

/// prctl(PR_SET_VMA): names anonymous mappings (glibc 2.38+ names its arenas and stacks).
pub const PR_SET_VMA_NR: u32 = 0x5356_4d41;

/// setsockopt(SOL_SOCKET) options that load classic or extended BPF programs into the kernel.
pub const SO_BPF_OPTIONS: [(u32, &str); 4] = [
    (SO_ATTACH_FILTER as u32, "SO_ATTACH_FILTER"),
    (SO_ATTACH_BPF as u32, "SO_ATTACH_BPF"),
    (SO_ATTACH_REUSEPORT_CBPF as u32, "SO_ATTACH_REUSEPORT_CBPF"),
    (SO_ATTACH_REUSEPORT_EBPF as u32, "SO_ATTACH_REUSEPORT_EBPF"),
];
/// setsockopt(IPPROTO_TCP, TCP_ULP): attaches an upper-layer protocol (kTLS, espintcp).
pub const TCP_ULP_NR: u32 = 31;
