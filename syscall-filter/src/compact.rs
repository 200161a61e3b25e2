//! The allowlist compiled by hand into a short program: the unconditionally allowed numbers
//! merged into ranges (two or three instructions each), then one block per system call allowed
//! only with certain arguments, then the refusal. seccompiler compiles the same table into
//! ~1,400 instructions (a comparison chain per number); the kernel checks and translates every
//! instruction at each launch, so the launcher's seccomp step shrinks with the program. The
//! verdict for every number and argument is the same (tests/describe.rs interprets both).

use seccompiler::sock_filter;

use crate::rules::{Check, Op, Rule, When};

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// `struct seccomp_data`: nr (u32), arch (u32), instruction pointer (u64), args (6 × u64).
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARGS: u32 = 16;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Consecutive numbers merged: `[(lo, hi)]`, sorted.
fn ranges(mut nrs: Vec<u32>) -> Vec<(u32, u32)> {
    nrs.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for n in nrs {
        match out.last_mut() {
            Some((_, hi)) if *hi + 1 == n => *hi = n,
            _ => out.push((n, n)),
        }
    }
    out
}

/// One check group: each check loads its argument's low 32 bits and compares; a failing check
/// jumps `fail_at` instructions past the group's end (to the next group); all holding: allow.
fn group(checks: &[Check], allow: u32) -> Vec<sock_filter> {
    let len_of = |c: &Check| if c.mask.is_some() { 3 } else { 2 };
    let total: usize = checks.iter().map(len_of).sum::<usize>() + 1;
    let mut out = Vec::with_capacity(total);
    for c in checks {
        out.push(ins(LD_W_ABS, 0, 0, OFFSET_ARGS + 8 * u32::from(c.arg)));
        if let Some(mask) = c.mask {
            out.push(ins(AND_K, 0, 0, mask));
        }
        // from the instruction after this jump to the first one after the group
        let to_next = u8::try_from(total - out.len() - 1).expect("a check group fits a jump");
        out.push(match c.op {
            Op::Eq => ins(JEQ_K, 0, to_next, c.value),
            Op::Ne => ins(JEQ_K, to_next, 0, c.value),
        });
    }
    out.push(ins(RET_K, 0, 0, allow));
    out
}

/// The allowlist for `audit_arch`: other architectures are killed, listed calls allowed (some
/// only with certain arguments), everything else fails with `errno`.
pub(crate) fn allowlist_program(rules: &[Rule], audit_arch: u32, errno: u32) -> Vec<sock_filter> {
    let allow = libc::SECCOMP_RET_ALLOW;
    let refuse = libc::SECCOMP_RET_ERRNO | (errno & libc::SECCOMP_RET_DATA);
    let mut out = vec![
        ins(LD_W_ABS, 0, 0, OFFSET_ARCH),
        ins(JEQ_K, 1, 0, audit_arch),
        ins(RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ins(LD_W_ABS, 0, 0, OFFSET_NR),
    ];
    let always: Vec<u32> = rules
        .iter()
        .filter(|r| matches!(r.when, When::Always))
        .map(|r| u32::try_from(r.nr).expect("system call numbers fit 32 bits"))
        .collect();
    for (lo, hi) in ranges(always) {
        if lo == hi {
            out.push(ins(JEQ_K, 0, 1, lo));
        } else {
            out.push(ins(JGE_K, 0, 2, lo));
            out.push(ins(JGT_K, 1, 0, hi));
        }
        out.push(ins(RET_K, 0, 0, allow));
    }
    for r in rules {
        let When::AnyOf(groups) = &r.when else {
            continue;
        };
        // the block returns on every path, so the number stays loaded for the next one
        let mut block: Vec<sock_filter> = groups.iter().flat_map(|g| group(g, allow)).collect();
        block.push(ins(RET_K, 0, 0, refuse));
        let skip = u8::try_from(block.len()).expect("a rule's block fits a jump");
        let nr = u32::try_from(r.nr).expect("system call numbers fit 32 bits");
        out.push(ins(JEQ_K, 0, skip, nr));
        out.extend(block);
    }
    out.push(ins(RET_K, 0, 0, refuse));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_numbers_merge() {
        assert_eq!(
            ranges(vec![5, 1, 2, 3, 7, 8, 10]),
            vec![(1, 3), (5, 5), (7, 8), (10, 10)]
        );
        assert_eq!(ranges(vec![]), vec![]);
    }
}
