//! A classic-BPF interpreter for seccomp programs (the instructions seccompiler emits), and the
//! kernel's rule for combining the results of several filters.

/// `struct seccomp_data`'s fields.
#[derive(Clone, Copy, Debug)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
}

/// AUDIT_ARCH_X86_64 / AUDIT_ARCH_AARCH64 for this build.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_ARCH: u32 = 62 | 0x8000_0000 | 0x4000_0000;
/// AUDIT_ARCH_X86_64 / AUDIT_ARCH_AARCH64 for this build.
#[cfg(target_arch = "aarch64")]
pub const NATIVE_ARCH: u32 = 183 | 0x8000_0000 | 0x4000_0000;

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

impl Data {
    /// A native call with these arguments.
    pub fn call(nr: i64, args: [u64; 6]) -> Self {
        Data {
            nr: nr as u32,
            arch: NATIVE_ARCH,
            args,
        }
    }

    fn word(&self, off: u32) -> u32 {
        match off {
            0 => self.nr,
            4 => self.arch,
            8 | 12 => 0, // instruction pointer: seccompiler never looks at it
            16..=60 if off.is_multiple_of(4) => {
                let a = self.args[((off - 16) / 8) as usize];
                if off.is_multiple_of(8) {
                    a as u32 // little-endian: the low half comes first
                } else {
                    (a >> 32) as u32
                }
            }
            _ => panic!("load from offset {off} outside seccomp_data"),
        }
    }
}

/// Decodes the launcher's byte form: (code, jt, jf, k) per instruction.
pub fn decode(bytes: &[u8]) -> Vec<(u16, u8, u8, u32)> {
    bytes
        .chunks_exact(8)
        .map(|c| {
            (
                u16::from_le_bytes([c[0], c[1]]),
                c[2],
                c[3],
                u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect()
}

/// Runs one program; its return value.
pub fn run(prog: &[(u16, u8, u8, u32)], d: &Data) -> u32 {
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let (code, jt, jf, k) = prog[pc];
        pc += 1;
        match code {
            0x20 => a = d.word(k),    // BPF_LD | BPF_W | BPF_ABS
            0x54 => a &= k,           // BPF_ALU | BPF_AND | BPF_K
            0x05 => pc += k as usize, // BPF_JMP | BPF_JA
            0x06 => return k,         // BPF_RET | BPF_K
            0x15 | 0x25 | 0x35 => {
                let hit = match code {
                    0x15 => a == k,
                    0x25 => a > k,
                    _ => a >= k,
                };
                pc += usize::from(if hit { jt } else { jf });
            }
            _ => panic!("instruction {code:#x} not understood"),
        }
    }
}

/// The combined verdict of several filters, as the kernel computes it: the most severe action
/// (compared as signed ACTION_FULL values), the most recently installed filter winning ties.
pub fn verdict(filters: &[Vec<(u16, u8, u8, u32)>], d: &Data) -> u32 {
    let mut best = RET_ALLOW;
    for prog in filters.iter().rev() {
        let r = run(prog, d);
        if ((r & 0xffff_0000) as i32) < ((best & 0xffff_0000) as i32) {
            best = r;
        }
    }
    best
}

/// The verdict for errno `e`.
pub fn errno(e: i32) -> u32 {
    RET_ERRNO | e as u32
}
