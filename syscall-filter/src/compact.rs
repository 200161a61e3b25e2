//! The allowlist compiled by hand into a short program shaped as a binary search over the system
//! call number: the number line is cut into intervals (allowed ranges, refused gaps, and one
//! interval per system call allowed only with certain arguments, whose argument checks are the
//! leaf), and a balanced tree of `JGE` comparisons picks the interval in about eight steps.
//! seccompiler compiles the same table into ~1,400 instructions (a comparison chain per number),
//! and a chain of ranges is still ~340. Both costs matter at every launch: when the filter is
//! installed the kernel emulates it once per system call number to fill its action cache
//! (a chain made installing take ~0.2 ms here, the tree ~0.03 ms), and every system call
//! the program makes walks it. The verdict for every number and argument is the same
//! (tests/describe.rs interprets the programs).

use seccompiler::sock_filter;

use crate::rules::{Check, Op, Rule, When};

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
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

/// Numbers `lo..=hi` that get `action` whatever the table says (clone3's ENOSYS, the x32 range).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fixed {
    pub lo: u32,
    pub hi: u32,
    pub action: u32,
}

/// What the program does for one interval of system call numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Leaf {
    /// One return value (allow, the refusal, a fixed action).
    Ret(u32),
    /// The argument checks of one system call, ending in the refusal (position-independent).
    Checks(Vec<sock_filter>),
}

/// The number line `0..=u32::MAX` as sorted, disjoint intervals `(lo, hi, leaf)`, neighbours
/// with the same return value merged.
fn intervals(rules: &[Rule], fixed: &[Fixed], refuse: u32, allow: u32) -> Vec<(u32, u32, Leaf)> {
    let nr_of = |r: &Rule| u32::try_from(r.nr).expect("system call numbers fit 32 bits");
    let always: Vec<u32> = rules
        .iter()
        .filter(|r| matches!(r.when, When::Always))
        .map(nr_of)
        .collect();
    let mut known: Vec<(u32, u32, Leaf)> = ranges(always)
        .into_iter()
        .map(|(lo, hi)| (lo, hi, Leaf::Ret(allow)))
        .collect();
    for r in rules {
        let When::AnyOf(groups) = &r.when else {
            continue;
        };
        let mut block: Vec<sock_filter> = groups.iter().flat_map(|g| group(g, allow)).collect();
        block.push(ins(RET_K, 0, 0, refuse));
        known.push((nr_of(r), nr_of(r), Leaf::Checks(block)));
    }
    known.extend(fixed.iter().map(|f| (f.lo, f.hi, Leaf::Ret(f.action))));
    known.sort_by_key(|(lo, _, _)| *lo);
    let mut out: Vec<(u32, u32, Leaf)> = Vec::new();
    let mut push = |lo: u32, hi: u32, leaf: Leaf| match out.last_mut() {
        Some((_, last_hi, last)) if *last == leaf && matches!(leaf, Leaf::Ret(_)) => *last_hi = hi,
        _ => out.push((lo, hi, leaf)),
    };
    let mut next = 0u64; // the first number not yet covered
    for (lo, hi, leaf) in known {
        assert!(
            u64::from(lo) >= next,
            "system call number {lo} has two rules"
        );
        if u64::from(lo) > next {
            push(next as u32, lo - 1, Leaf::Ret(refuse));
        }
        push(lo, hi, leaf);
        next = u64::from(hi) + 1;
    }
    if next <= u64::from(u32::MAX) {
        push(next as u32, u32::MAX, Leaf::Ret(refuse));
    }
    out
}

/// The search over `ivs` (the number loaded in A): one leaf, or `nr >= first of the right half`
/// choosing between the two halves. Jumps longer than 255 go through a `JA` (32-bit offset).
fn search(ivs: &[(u32, u32, Leaf)]) -> Vec<sock_filter> {
    if let [(_, _, leaf)] = ivs {
        return match leaf {
            Leaf::Ret(action) => vec![ins(RET_K, 0, 0, *action)],
            Leaf::Checks(block) => block.clone(),
        };
    }
    let mid = ivs.len() / 2;
    let boundary = ivs[mid].0;
    let left = search(&ivs[..mid]);
    let right = search(&ivs[mid..]);
    let mut out = Vec::with_capacity(left.len() + right.len() + 2);
    match u8::try_from(left.len()) {
        Ok(skip) => out.push(ins(JGE_K, skip, 0, boundary)),
        Err(_) => {
            let skip = u32::try_from(left.len()).expect("a filter is at most 4096 instructions");
            out.push(ins(JGE_K, 0, 1, boundary));
            out.push(ins(JA, 0, 0, skip));
        }
    }
    out.extend(left);
    out.extend(right);
    out
}

/// The allowlist for `audit_arch`: other architectures are killed, the `fixed` numbers get their
/// action, listed calls are allowed (some only with certain arguments), everything else fails
/// with `errno`.
pub(crate) fn allowlist_program(
    rules: &[Rule],
    fixed: &[Fixed],
    audit_arch: u32,
    errno: u32,
) -> Vec<sock_filter> {
    let allow = libc::SECCOMP_RET_ALLOW;
    let refuse = libc::SECCOMP_RET_ERRNO | (errno & libc::SECCOMP_RET_DATA);
    let mut out = vec![
        ins(LD_W_ABS, 0, 0, OFFSET_ARCH),
        ins(JEQ_K, 1, 0, audit_arch),
        ins(RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ins(LD_W_ABS, 0, 0, OFFSET_NR),
    ];
    out.extend(search(&intervals(rules, fixed, refuse, allow)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `prog` on (nr, args) like the kernel's classic BPF, for the instructions emitted here.
    fn run(prog: &[sock_filter], nr: u32, args: [u32; 6], arch: u32) -> u32 {
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let i = &prog[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => {
                    a = match i.k {
                        OFFSET_NR => nr,
                        OFFSET_ARCH => arch,
                        k => args[((k - OFFSET_ARGS) / 8) as usize],
                    }
                }
                AND_K => a &= i.k,
                JA => pc += i.k as usize,
                JEQ_K | JGE_K => {
                    let hit = if i.code == JEQ_K { a == i.k } else { a >= i.k };
                    pc += usize::from(if hit { i.jt } else { i.jf });
                }
                RET_K => return i.k,
                c => panic!("unexpected instruction {c:#x}"),
            }
        }
    }

    fn check(arg: u8, value: u32) -> Check {
        Check {
            arg,
            arg_name: "arg",
            mask: None,
            op: Op::Eq,
            value,
            value_name: "value",
        }
    }

    #[test]
    fn the_tree_decides_like_the_table_even_with_long_jumps() {
        // many argument-checked calls make subtrees longer than a jump's 255 instructions
        let mut rules = Vec::new();
        for nr in 0..400i64 {
            let when = match nr % 4 {
                0 => When::Always,
                1 => When::AnyOf(vec![
                    vec![check(0, nr as u32)],
                    vec![check(1, 7), check(2, 9)],
                ]),
                _ => continue,
            };
            rules.push(Rule {
                name: "synthetic",
                nr,
                when,
                why: "test",
            });
        }
        let arch = 0xc000_003e;
        let fixed = [Fixed {
            lo: 0x4000_0000,
            hi: 0x4000_0fff,
            action: libc::SECCOMP_RET_KILL_PROCESS,
        }];
        let prog = allowlist_program(&rules, &fixed, arch, 1);
        assert!(
            prog.iter().any(|i| i.code == JA),
            "the long-jump path is exercised"
        );
        let (allow, refuse) = (libc::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_ERRNO | 1);
        for (nr, want) in [
            (0x3fff_ffff, refuse),
            (0x4000_0000, libc::SECCOMP_RET_KILL_PROCESS),
            (0x4000_0fff, libc::SECCOMP_RET_KILL_PROCESS),
            (0x4000_1000, refuse),
            (u32::MAX, refuse),
        ] {
            assert_eq!(
                run(&prog, nr, [nr, 7, 9, 0, 0, 0], arch),
                want,
                "nr {nr:#x}"
            );
        }
        for nr in 0..420u32 {
            let plain = run(&prog, nr, [0; 6], arch);
            let matching = run(&prog, nr, [nr, 0, 0, 0, 0, 0], arch);
            let second_group = run(&prog, nr, [u32::MAX, 7, 9, 0, 0, 0], arch);
            match (nr < 400).then_some(nr % 4) {
                Some(0) => assert_eq!([plain, matching], [allow, allow], "nr {nr}"),
                Some(1) => {
                    let nr0 = if nr == 0 { allow } else { refuse };
                    assert_eq!(
                        [plain, matching, second_group],
                        [nr0, allow, allow],
                        "nr {nr}"
                    );
                }
                _ => assert_eq!([plain, matching], [refuse, refuse], "nr {nr}"),
            }
        }
        assert_eq!(run(&prog, 0, [0; 6], 3), libc::SECCOMP_RET_KILL_PROCESS);
    }

    #[test]
    fn a_number_is_decided_in_few_steps() {
        let rules: Vec<Rule> = (0..300i64)
            .filter(|n| n % 3 != 2)
            .map(|nr| Rule {
                name: "synthetic",
                nr,
                when: When::Always,
                why: "test",
            })
            .collect();
        let prog = allowlist_program(&rules, &[], 1, 1);
        // 200 allowed numbers in 100 runs plus 100 gaps: ~200 intervals, a depth of 8
        let comparisons = prog.iter().filter(|i| i.code == JGE_K).count();
        assert!(comparisons < 210, "{comparisons} comparisons");
        let mut worst = 0;
        for nr in 0..300u32 {
            let (mut pc, mut steps) = (4usize, 0);
            while prog[pc].code == JGE_K {
                steps += 1;
                pc += 1 + usize::from(if nr >= prog[pc].k {
                    prog[pc].jt
                } else {
                    prog[pc].jf
                });
            }
            worst = worst.max(steps);
        }
        assert!(worst <= 9, "worst case {worst} comparisons");
    }

    #[test]
    fn consecutive_numbers_merge() {
        assert_eq!(
            ranges(vec![5, 1, 2, 3, 7, 8, 10]),
            vec![(1, 3), (5, 5), (7, 8), (10, 10)]
        );
        assert_eq!(ranges(vec![]), vec![]);
    }
}
