/* x07-fragment: requires=core */
/*
 * sandbox_seccomp: step 10, a hand-written classic-BPF filter. A wrong architecture (or the x32
 * ABI) kills the process; the listed system calls fail with EPERM; clone3 fails with ENOSYS so
 * libc falls back to clone, whose namespace flags can be inspected; a few argument checks (device
 * nodes, raw / packet / unix sockets, terminal injection) fail with EPERM. The exact list is in
 * docs/internals/sandbox.md.
 */
#ifdef X07_SANDBOXED
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define X7_SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define X7_SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

#define X7_BPF_MAX 256
#define X7_BPF_LABELS 8

/* A filter being assembled: jumps name labels, resolved by x7_bpf_finish. */
typedef struct {
    struct sock_filter ins[X7_BPF_MAX];
    int jt_label[X7_BPF_MAX], jf_label[X7_BPF_MAX];
    int label_at[X7_BPF_LABELS];
    int n, overflow;
} x7_bpf;

/* Labels; -1 means "the next instruction". Every jump goes forward. */
#define X7_L_NEXT (-1)
#define X7_L_EPERM 0
#define X7_L_ALLOW 1
#define X7_L_KILL 2
#define X7_L_ENOSYS 3
#define X7_L_BLOCK 4 /* 4.. : the start of the next argument block */

X7_FN void x7_bpf_emit(x7_bpf *b, uint16_t code, uint32_t k, int jt, int jf) {
    if (b->n >= X7_BPF_MAX) {
        b->overflow = 1;
        return;
    }
    b->ins[b->n] = (struct sock_filter){code, 0, 0, k};
    b->jt_label[b->n] = jt;
    b->jf_label[b->n] = jf;
    b->n++;
}

X7_FN void x7_bpf_label(x7_bpf *b, int label) { b->label_at[label] = b->n; }
X7_FN void x7_bpf_ret(x7_bpf *b, uint32_t v) { x7_bpf_emit(b, BPF_RET | BPF_K, v, X7_L_NEXT, X7_L_NEXT); }
X7_FN void x7_bpf_ld(x7_bpf *b, uint32_t off) { x7_bpf_emit(b, BPF_LD | BPF_W | BPF_ABS, off, X7_L_NEXT, X7_L_NEXT); }
/* The low 32 bits of argument i (little-endian). */
X7_FN void x7_bpf_ld_arg(x7_bpf *b, int i) {
    x7_bpf_ld(b, (uint32_t)(offsetof(struct seccomp_data, args) + 8 * (size_t)i));
}
X7_FN void x7_bpf_jeq(x7_bpf *b, uint32_t k, int jt, int jf) { x7_bpf_emit(b, BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf); }

/* Resolves label jumps into relative offsets; -1 if the program is too long. */
X7_FN int x7_bpf_finish(x7_bpf *b) {
    if (b->overflow) return -1;
    for (int i = 0; i < b->n; i++) {
        if (BPF_CLASS(b->ins[i].code) != BPF_JMP) continue;
        int t[2] = {b->jt_label[i], b->jf_label[i]};
        int off[2];
        for (int j = 0; j < 2; j++) {
            off[j] = t[j] == X7_L_NEXT ? 0 : b->label_at[t[j]] - (i + 1);
            if (off[j] < 0 || off[j] > 255) return -1;
        }
        b->ins[i].jt = (uint8_t)off[0];
        b->ins[i].jf = (uint8_t)off[1];
    }
    return 0;
}

static const int x7_seccomp_eperm_calls[] X7_UNUSED = {
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_mount, __NR_umount2,
    __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns, __NR_kexec_load,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
    __NR_bpf, __NR_init_module, __NR_finit_module, __NR_delete_module, __NR_reboot, __NR_swapon,
    __NR_swapoff, __NR_syslog, __NR_keyctl, __NR_add_key, __NR_request_key, __NR_perf_event_open,
    __NR_userfaultfd,
#ifdef __NR_iopl
    __NR_iopl,
#endif
#ifdef __NR_ioperm
    __NR_ioperm,
#endif
    __NR_open_by_handle_at, __NR_name_to_handle_at, __NR_acct, __NR_settimeofday,
    __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex, __NR_quotactl,
#ifdef __NR_fsopen
    __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick, __NR_move_mount, __NR_open_tree,
#endif
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
#ifdef __NR_io_uring_setup
    __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
};

#define X7_CLONE_NS_FLAGS                                                                          \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |  \
     CLONE_NEWNET)

/* Emits: if nr == `nr`, load argument `arg`, mask it with `mask` and refuse the listed values. */
X7_FN void x7_bpf_arg_block(x7_bpf *b, int nr, int arg, uint32_t mask, const uint32_t *deny, int ndeny,
                            int label_other) {
    x7_bpf_jeq(b, (uint32_t)nr, X7_L_NEXT, label_other);
    x7_bpf_ld_arg(b, arg);
    x7_bpf_emit(b, BPF_ALU | BPF_AND | BPF_K, mask, X7_L_NEXT, X7_L_NEXT);
    for (int i = 0; i < ndeny; i++) x7_bpf_jeq(b, deny[i], X7_L_EPERM, X7_L_NEXT);
    x7_bpf_ret(b, SECCOMP_RET_ALLOW);
}

/*
 * Installs the filter. deny_udp: also refuse UDP sockets (networking without DNS or UDP).
 * 0, or -1 with *why.
 */
X7_FN int x7_seccomp_apply(int deny_udp, const char **why) {
#ifndef X7_SECCOMP_ARCH
    (void)deny_udp;
    *why = "no seccomp filter for this architecture";
    return -1;
#else
    static x7_bpf b;
    memset(&b, 0, sizeof b);
    x7_bpf_ld(&b, (uint32_t)offsetof(struct seccomp_data, arch));
    x7_bpf_jeq(&b, X7_SECCOMP_ARCH, X7_L_NEXT, X7_L_KILL);
    x7_bpf_ld(&b, (uint32_t)offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    x7_bpf_emit(&b, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* __X32_SYSCALL_BIT */, X7_L_KILL, X7_L_NEXT);
#endif
    for (size_t i = 0; i < sizeof x7_seccomp_eperm_calls / sizeof x7_seccomp_eperm_calls[0]; i++)
        x7_bpf_jeq(&b, (uint32_t)x7_seccomp_eperm_calls[i], X7_L_EPERM, X7_L_NEXT);
#ifdef __NR_clone3
    x7_bpf_jeq(&b, __NR_clone3, X7_L_ENOSYS, X7_L_NEXT);
#endif
    /* clone: no namespace flags */
    x7_bpf_jeq(&b, __NR_clone, X7_L_NEXT, X7_L_BLOCK + 0);
    x7_bpf_ld_arg(&b, 0);
    x7_bpf_emit(&b, BPF_JMP | BPF_JSET | BPF_K, X7_CLONE_NS_FLAGS, X7_L_EPERM, X7_L_ALLOW);
    x7_bpf_label(&b, X7_L_BLOCK + 0);
    /* socket: unix (named unix sockets are outside Landlock's reach), packet, raw, maybe UDP */
    x7_bpf_jeq(&b, __NR_socket, X7_L_NEXT, X7_L_BLOCK + 1);
    x7_bpf_ld_arg(&b, 0);
    x7_bpf_jeq(&b, AF_UNIX, X7_L_EPERM, X7_L_NEXT);
    x7_bpf_jeq(&b, AF_PACKET, X7_L_EPERM, X7_L_NEXT);
    x7_bpf_ld_arg(&b, 1);
    x7_bpf_emit(&b, BPF_ALU | BPF_AND | BPF_K, 0xf, X7_L_NEXT, X7_L_NEXT);
    x7_bpf_jeq(&b, SOCK_RAW, X7_L_EPERM, X7_L_NEXT);
    if (deny_udp) {
        x7_bpf_jeq(&b, SOCK_DGRAM, X7_L_NEXT, X7_L_ALLOW);
        x7_bpf_ld_arg(&b, 0);
        x7_bpf_jeq(&b, AF_INET, X7_L_EPERM, X7_L_NEXT);
        x7_bpf_jeq(&b, AF_INET6, X7_L_EPERM, X7_L_NEXT);
    }
    x7_bpf_ret(&b, SECCOMP_RET_ALLOW);
    x7_bpf_label(&b, X7_L_BLOCK + 1);
    /* device nodes */
    static const uint32_t dev_types[] = {S_IFCHR, S_IFBLK};
#ifdef __NR_mknod
    x7_bpf_arg_block(&b, __NR_mknod, 1, S_IFMT, dev_types, 2, X7_L_BLOCK + 2);
#endif
    x7_bpf_label(&b, X7_L_BLOCK + 2);
    x7_bpf_arg_block(&b, __NR_mknodat, 2, S_IFMT, dev_types, 2, X7_L_BLOCK + 3);
    x7_bpf_label(&b, X7_L_BLOCK + 3);
    /* ioctl: no typing into the terminal the program inherited */
    static const uint32_t tty_inject[] = {0x5412 /* TIOCSTI */, 0x541c /* TIOCLINUX */};
    x7_bpf_arg_block(&b, __NR_ioctl, 1, 0xffffffffu, tty_inject, 2, X7_L_ALLOW);
    x7_bpf_label(&b, X7_L_ALLOW);
    x7_bpf_ret(&b, SECCOMP_RET_ALLOW);
    x7_bpf_label(&b, X7_L_EPERM);
    x7_bpf_ret(&b, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    x7_bpf_label(&b, X7_L_ENOSYS);
    x7_bpf_ret(&b, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    x7_bpf_label(&b, X7_L_KILL);
    x7_bpf_ret(&b, SECCOMP_RET_KILL_PROCESS);
    if (x7_bpf_finish(&b) != 0) {
        *why = "the filter does not assemble";
        return -1;
    }
    struct sock_fprog prog = {(unsigned short)b.n, b.ins};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
        *why = "prctl(PR_SET_SECCOMP)";
        return -1;
    }
    return 0;
#endif
}
#endif
