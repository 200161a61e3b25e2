/* x07-fragment: requires=core,sandbox_policy,sandbox_policy_db,sandbox_restrict,sandbox_report,sandbox_landlock,launch_kernel,launch_ns,launch_sealed,launch_narrow */
/*
 * launch_run: the trusted launcher's whole life (docs/internals/sandbox.md, "Order of
 * enforcement"). The launcher stays in the host as the monitor: it loads the policy, makes
 * the run's cgroup first, then starts the child in new user, mount, pid, ipc and uts namespaces,
 * enforces the wall clock, and relays how the run ended. The child maps the invoking user into
 * its user namespace, has a helper make the network namespace while it builds the new root, joins
 * that namespace and the run's cgroup, applies every remaining step, checks they hold, and only
 * then starts the program.
 */
#ifdef X07_SANDBOXED
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#define X7_LAUNCH_USAGE                                                                          \
    "usage: x07-launch --x07-policy-fd=N [--plain-exec] -- PROGRAM [ARG...]\n"                  \
    "       x07-launch --x07-policy-fd=N --x07-program-fd=M [--x07-end-fd=E]\n"                 \
    "                  (PROGRAM ARG... arrive on M later; the run's end is told on E first)\n"

/* What the launcher was asked to run. */
typedef struct {
    const char *program; /* as given */
    char *program_real;  /* canonical, resolved in the host */
    char **argv;         /* program arguments after PROGRAM */
    int argc;
    int alive[2];        /* the monitor holds the write end: the child sees POLLHUP once it is gone */
    uid_t uid;           /* the invoking user and group, mapped to themselves in the user namespace */
    gid_t gid;
    int status[2];       /* child (the namespace's init) -> parent: the program's wait status */
    int plain;           /* --plain-exec: not an x07 program (the C compiler of a build): no policy on fd 3 */
    int payload_fd;      /* a sealed bundle: the payload's memfd (program_real is NULL); else -1 */
    int program_fd;      /* --x07-program-fd: PROGRAM and its arguments arrive here later; else -1 */
    int spec[2];         /* with program_fd: the monitor hands them, resolved, to the child */
    int end_fd;          /* --x07-end-fd: the run's end, told before the namespaces' teardown; else -1 */
} x7_launch_req;

/*
 * How the run ended, as the init reports it to the monitor and the monitor tells --x07-end-fd:
 * the program's wait status and the CPU time of the program and everything it started (the
 * init's reaped children), 12 bytes in native byte order.
 */
#define X7_LAUNCH_END_LEN 12u
X7_FN void x7_launch_end_encode(unsigned char out[X7_LAUNCH_END_LEN], int status, uint64_t cpu_us) {
    memcpy(out, &status, 4);
    memcpy(out + 4, &cpu_us, 8);
}

/* The monitor's child (pid 1 of the run) and the termination signal it was asked to relay. */
static volatile pid_t x7_launch_child_pid X7_UNUSED;
static volatile sig_atomic_t x7_launch_term_sig X7_UNUSED;

/* SIGALRM at wall_ms: the trap line, then the run ends (pid 1's death ends the namespace). */
X7_FN void x7_launch_on_alarm(int sig) {
    (void)sig;
    static const char line[] = "timed out\n";
    (void)x7_write_fd(2, line, sizeof line - 1);
    (void)kill(x7_launch_child_pid, SIGKILL);
}

/* SIGTERM, SIGINT, SIGHUP to the launcher: the run ends, the cgroups are still removed, and the
 * launcher then dies of the same signal. */
X7_FN void x7_launch_on_term(int sig) {
    x7_launch_term_sig = sig;
    (void)kill(x7_launch_child_pid, SIGKILL);
}

/* Writes one /proc/self/<file>. */
X7_FN void x7_launch_self_write(const char *file, const char *text) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", file);
    if (x7_sb_write_file(path, text) != 0) x7_sb_fail_errno("userns", path, errno);
}

/*
 * The invoking user and group, mapped to themselves (a root launcher stays 0 inside,
 * unprivileged). Written by the child itself: a process may map its own user namespace to the
 * one id it had outside (after `setgroups deny` for the group), so the monitor need not wait for
 * it and the two go on in parallel.
 */
X7_FN void x7_launch_map_self(const x7_launch_req *rq) {
    char map[64];
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)rq->uid, (unsigned)rq->uid);
    x7_launch_self_write("uid_map", map);
    x7_launch_self_write("setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)rq->gid, (unsigned)rq->gid);
    x7_launch_self_write("gid_map", map);
}

/* clone(2) like fork, with namespace flags: 0 in the child, the child's pid in the parent. */
X7_FN pid_t x7_launch_clone(unsigned long flags) {
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* ---------------------------------------------------------------- the child */

/* The effective policy for the program, in a sealed memfd on fd 3 (it re-checks it in-process). */
X7_FN void x7_launch_program_blob(void) {
    x7_policy p = x7_sb.pol;
    p.filters.n = 0; /* installed already; the program has no use for them */
    x7_sbuf b = {NULL, 0, 0, 0};
    x7_policy_encode(&p, &b);
    int fd = (int)syscall(SYS_memfd_create, "x07-policy", 2u /* MFD_ALLOW_SEALING */);
    if (b.failed || fd < 0 || x7_write_fd(fd, b.p, b.len) != 0) x7_sb_fail("handover", "cannot write the policy for the program", NULL);
    (void)fcntl(fd, 1033 /* F_ADD_SEALS */, 1 | 2 | 4 | 8);
    if (fd != 3 && (dup2(fd, 3) != 3 || close(fd) != 0)) x7_sb_fail_errno("handover", "dup2 of the policy", errno);
    free(b.p);
}

/*
 * pid 1 of the run: reaps whatever ends until the program does; then, as pid 1 of the run's pid
 * namespace, kills and reaps every process left, and only then reports the program's wait
 * status: whatever the monitor does next, nothing of the run but this exiting process is alive.
 * Without a pid namespace (the userns gap) this process cannot tell the run's processes from the
 * user's others: it reports at once.
 */
X7_COLD void x7_launch_init(pid_t program, int status_fd) {
    for (int fd = 0; fd < 3; fd++) close(fd);
    int st = 0;
    for (;;) {
        int s1 = 0;
        pid_t r = waitpid(-1, &s1, __WALL);
        if (r == program) {
            st = s1;
            break;
        }
        if (r < 0 && errno != EINTR) _exit(3);
    }
    /* Every other process of the namespace descends from this one, so with no child left (not
       even an unreaped one) there is none, and kill(-1)'s walk over all the host's processes is
       skipped. */
    int alone = waitpid(-1, NULL, WNOHANG | __WALL) < 0 && errno == ECHILD;
    if (getpid() == 1 && !alone) {
        (void)kill(-1, SIGKILL); /* pid 1 of a namespace: every other process of it */
        while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR) {
        }
    }
    struct rusage ru;
    uint64_t cpu_us = 0;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
        cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    unsigned char msg[X7_LAUNCH_END_LEN];
    x7_launch_end_encode(msg, st, cpu_us);
    (void)x7_write_fd(status_fd, msg, sizeof msg);
    _exit(0); /* the kernel then tears the namespaces down */
}

/*
 * The child goes on only while the monitor lives: PR_SET_PDEATHSIG covers a monitor that dies
 * from now on, and the `alive` pipe one that died before (its write end, held by the monitor
 * alone, is then closed).
 */
X7_FN void x7_launch_require_monitor(x7_launch_req *rq) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) x7_sb_fail_errno("process_group", "PR_SET_PDEATHSIG", errno);
    struct pollfd p = {rq->alive[0], POLLIN, 0};
    if (poll(&p, 1, 0) != 0) _exit(3); /* POLLHUP: the monitor is gone; it never writes */
    close(rq->alive[0]);
}

/*
 * The network namespace, made by a helper while this process builds the new root: creating one
 * costs about 0.5 ms of the kernel's time, which otherwise sat in the clone before anything else.
 * The helper (pid 2 of the run, launcher code only) unshares it, says so on a pipe and waits to
 * be killed; this process joins it (x7_launch_join_netns) through the new root's /proc.
 */
typedef struct {
    pid_t pid;
    int ready; /* read end: one int, 0 or the helper's errno */
} x7_netns_helper;

/*
 * The helper and the program's process are cloned with CLONE_VM: neither needs a copy of this
 * process's memory (the helper makes a namespace and waits; the program's process only execs),
 * and copying then dropping it cost more than either. Each runs on its own stack below; the
 * program's clone also has CLONE_VFORK, so this process waits until the exec has happened.
 */
static char x7_netns_stack[16384] __attribute__((aligned(16)));
static char x7_exec_stack[16384] __attribute__((aligned(16)));

static int x7_netns_helper_main(void *arg) {
    int w = *(int *)arg;
    int e = unshare(CLONE_NEWNET) == 0 ? 0 : errno;
    (void)x7_write_fd(w, &e, sizeof e);
    for (;;) pause();
    return 0;
}

X7_FN void x7_launch_start_netns(x7_netns_helper *h) {
    static int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) x7_sb_fail_errno("netns", "pipe", errno);
    h->pid = clone(x7_netns_helper_main, x7_netns_stack + sizeof x7_netns_stack, CLONE_VM | SIGCHLD,
                   &p[1]);
    if (h->pid < 0) x7_sb_fail_errno("netns", "clone of the network namespace helper", errno);
    close(p[1]);
    h->ready = p[0];
}

X7_FN void x7_launch_join_netns(x7_netns_helper *h, x7_sb_report *rep) {
    int e = -1;
    ssize_t n;
    do n = read(h->ready, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(h->ready);
    if (n != (ssize_t)sizeof e) e = EIO;
    int fd = -1;
    if (e == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)h->pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) e = errno;
        if (fd >= 0) close(fd);
    }
    (void)kill(h->pid, SIGKILL);
    while (waitpid(h->pid, NULL, __WALL) < 0 && errno == EINTR) {
    }
    if (e != 0) x7_sb_fail("netns", "cannot make the network namespace", strerror(e));
    x7_sb_applied(rep, "netns");
}

typedef struct {
    int prog;     /* O_PATH descriptor of the program (or the bundle's payload) */
    int status_w; /* the init's status pipe, not the program's */
    char **argv;
} x7_exec_args;

/* The program's process between its clone and exec: the exec, nothing else. */
static int x7_launch_exec_program(void *arg) {
    x7_exec_args *a = (x7_exec_args *)arg;
    close(a->status_w);
    extern char **environ;
    syscall(SYS_execveat, a->prog, "", a->argv, environ, AT_EMPTY_PATH);
    x7_sb_fail_errno("exec", "execveat of the program", errno);
    return 3;
}

/*
 * --x07-program-fd: `x07 run` starts the launcher before its build is done, so the namespaces and
 * cgroups are made while it finishes; the program and its arguments then arrive on the descriptor
 * as NUL-terminated strings, ended by EOF (EOF before any: the run is called off). The monitor
 * reads them, resolves the program in the host's tree and hands `real\0program\0args...` to the
 * child on `spec`; the wall clock starts after that.
 */
#define X7_LAUNCH_SPEC_MAX (256u * 1024u)
static char x7_launch_spec_buf[X7_LAUNCH_SPEC_MAX];

/* Reads `fd` to EOF into the buffer; the length, or -1 (error, or more than the buffer holds). */
X7_FN ssize_t x7_launch_read_all(int fd, char *buf, size_t cap) {
    size_t len = 0;
    for (;;) {
        if (len == cap) return -1;
        ssize_t n = read(fd, buf + len, cap - len);
        if (n == 0) return (ssize_t)len;
        if (n < 0) {
            if (errno == EINTR && x7_launch_term_sig == 0) continue;
            return -1;
        }
        len += (size_t)n;
    }
}

/* Splits NUL-terminated strings into `out` (at most `max`); their number, or -1. */
X7_FN int x7_launch_split(char *buf, size_t len, char **out, int max) {
    int n = 0;
    if (len == 0 || buf[len - 1] != 0) return -1;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
        if (n == max) return -1;
        out[n++] = buf + i;
    }
    return n;
}

/* The monitor: the program from `program_fd`, resolved, to the child; 0, or -1 (`why` says). */
X7_FN int x7_launch_forward_program(x7_launch_req *rq, const char **why) {
    static char msg[X7_LAUNCH_SPEC_MAX];
    ssize_t len = x7_launch_read_all(rq->program_fd, msg, sizeof msg - PATH_MAX - 1);
    close(rq->program_fd);
    if (x7_launch_term_sig != 0) return *why = NULL, -1;
    if (len <= 0) return *why = len == 0 ? "no program arrived on --x07-program-fd (the run was called off)" : "cannot read --x07-program-fd", -1;
    if (memchr(msg, 0, (size_t)len) == NULL || msg[len - 1] != 0) return *why = "--x07-program-fd: PROGRAM must end with a NUL", -1;
    char *real = realpath(msg, NULL);
    if (real == NULL) return *why = "cannot resolve the program", -1;
    /* a child that already ended must not kill this process with SIGPIPE (the child was cloned
       before: the program does not inherit this) */
    signal(SIGPIPE, SIG_IGN);
    size_t rl = strlen(real) + 1;
    int ok = x7_write_fd(rq->spec[1], real, rl) == 0 && x7_write_fd(rq->spec[1], msg, (size_t)len) == 0;
    free(real);
    close(rq->spec[1]);
    return ok ? 0 : (*why = "cannot hand the program to the run", -1);
}

/* The child: what the monitor forwarded, into `rq` (the run ends here when nothing came). */
X7_FN void x7_launch_receive_program(x7_launch_req *rq) {
    if (rq->program_fd < 0) return;
    close(rq->program_fd);
    static char *argv[4096];
    ssize_t len = x7_launch_read_all(rq->spec[0], x7_launch_spec_buf, sizeof x7_launch_spec_buf);
    close(rq->spec[0]);
    int n = len > 0 ? x7_launch_split(x7_launch_spec_buf, (size_t)len, argv, 4096) : -1;
    if (n < 2) _exit(3); /* called off: the monitor says why */
    rq->program_real = argv[0];
    rq->program = argv[1];
    rq->argv = argv + 2;
    rq->argc = n - 2;
}

/* Everything between clone and exec, in the order of docs/internals/sandbox.md. */
X7_COLD void x7_launch_child(x7_launch_req *rq, x7_sb_report *rep, int userns) {
    close(rq->alive[1]);
    if (rq->end_fd >= 0) close(rq->end_fd); /* the monitor's alone */
    close(rq->status[0]);
    if (rq->program_fd >= 0) close(rq->spec[1]);
    x7_launch_require_monitor(rq);
    if (userns && getppid() != 0) x7_sb_fail("userns", "the child is not in a new pid namespace", NULL);
    static x7_ns_plan plan;
    if (userns) {
        static const char *const names[] = {"userns", "mountns", "pidns", "ipcns", "utsns"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) x7_sb_applied(rep, names[k]);
        x7_launch_map_self(rq);
        x7_netns_helper netns = {-1, -1};
        if (!X7_SB_NET_ON(&x7_sb.pol)) x7_launch_start_netns(&netns);
        x7_launch_receive_program(rq);
        x7_ns_plan_paths(&plan, &x7_sb.pol, rq->program_real);
        x7_ns_build_new_root(&plan, &x7_sb.pol);
        if (netns.pid > 0) x7_launch_join_netns(&netns, rep);
    } else {
        x7_launch_receive_program(rq);
        x7_restrict_network(rep); /* without a user namespace only root can make one */
    }
    /* the groups are joined through the host's tree, before it is detached */
    x7_launch_cgroup_report(rep);
    x7_launch_join_cgroup(&x7_launch_cg, userns ? X7_NS_OLD : "");
    if (userns) {
        x7_ns_leave_host_tree(x7_sb.cwd);
        x7_sb_applied(rep, "new_root");
    }
    if (!rq->plain) x7_launch_program_blob(); /* first: it takes fd 3 */
    x7_sandbox_open_roots();
    x7_launch_rlimits(rep);
    x7_sb.launch_program = rq->program_real;
    char payload_path[32];
    if (rq->payload_fd >= 0) {
        snprintf(payload_path, sizeof payload_path, "/proc/self/fd/%d", rq->payload_fd);
        x7_sb.launch_payload = payload_path; /* Landlock grants its ELF interpreter */
    }
    x7_restrict_landlock(rep);
    x7_launch_drop_privileges(rep);
    int prog = rq->payload_fd >= 0 ? rq->payload_fd : open(rq->program_real, O_PATH | O_CLOEXEC);
    if (prog < 0) x7_sb_fail_errno("exec", "cannot open the program", errno);
    x7_launch_seccomp(rep);
    x7_launch_nofile();
    x7_launch_verify(rep);
    /* a plain program (the compiler) reads no such line; a bundle's stderr is the program's */
    if (!rq->plain && rq->payload_fd < 0) x7_sandbox_report_line(rep);

    char **argv = (char **)calloc((size_t)rq->argc + 3, sizeof *argv);
    if (argv == NULL) x7_sb_fail("exec", "out of memory", NULL);
    int a = 0;
    argv[a++] = rq->plain || rq->payload_fd >= 0 ? (char *)rq->program : rq->program_real;
    if (!rq->plain) argv[a++] = "--x07-policy-fd=3";
    for (int i = 0; i < rq->argc; i++) argv[a++] = rq->argv[i];
    /*
     * The program is not the namespace's init: pid 1 ignores every signal it has no handler for
     * (SIGXCPU of RLIMIT_CPU, SIGALRM, SIGTERM...), which would change what the program's own
     * signals do. This process stays pid 1, reaps orphans, and reports the program's end.
     */
    x7_exec_args exec = {prog, rq->status[1], argv};
    pid_t program = clone(x7_launch_exec_program, x7_exec_stack + sizeof x7_exec_stack,
                          CLONE_VM | CLONE_VFORK | SIGCHLD, &exec);
    if (program < 0) x7_sb_fail_errno("exec", "clone of the program's process", errno);
    x7_launch_init(program, rq->status[1]);
}

/* ---------------------------------------------------------------- the monitor */

/* Ends the launcher the way the child ended: same exit code, or killed by the same signal. */
X7_COLD void x7_launch_relay(int status) {
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    struct rlimit no_core = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &no_core); /* the program's death is relayed, not dumped again */
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    (void)kill(getpid(), sig);
    _exit(128 + sig);
}

/*
 * Waits for the run's end: the program's wait status as the init reports it, or how the init
 * itself ended when it reports nothing; either way the init has ended when this returns (relaying
 * before its exit was tried: an unreaped init keeps its pids cgroup busy). At wall_ms, or when the
 * launcher is told to stop, the init is killed. `whole_run`: the init is pid 1 of the run's pid
 * namespace, so a report means it has killed and reaped every process of the run: the report is
 * then told on `end_fd` at once (x07 writes its own while the namespaces are torn down), and the
 * v1 groups go back to the pool before the init's exit.
 */
/* From the clone on, SIGTERM, SIGINT and SIGHUP end the run first (x7_launch_on_term). */
X7_FN void x7_launch_catch_term(pid_t child) {
    x7_launch_child_pid = child;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigfillset(&sa.sa_mask);
    sa.sa_handler = x7_launch_on_term;
    int term[] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < sizeof term / sizeof term[0]; i++)
        if (sigaction(term[i], &sa, NULL) != 0) {
            (void)kill(child, SIGKILL);
            x7_sb_fail_errno("wall_clock", "sigaction", errno);
        }
}

X7_FN int x7_launch_wait(pid_t child, int status_fd, int end_fd, int whole_run) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigfillset(&sa.sa_mask);
    sa.sa_handler = x7_launch_on_alarm;
    uint32_t ms = x7_sb.pol.wall_ms;
    struct itimerval it = {{0, 0}, {(time_t)(ms / 1000u), (suseconds_t)(ms % 1000u) * 1000}};
    if (ms == 0) it.it_value.tv_usec = 1; /* a zero value would disarm the timer */
    if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0) {
        (void)kill(child, SIGKILL);
        x7_sb_fail_errno("wall_clock", "setitimer", errno);
    }
    int status = 0;
    ssize_t n;
    unsigned char msg[X7_LAUNCH_END_LEN];
    /* the init's report first (its end follows); a child killed or failed sends none (EOF) */
    do n = read(status_fd, msg, sizeof msg);
    while (n < 0 && errno == EINTR);
    int reported = n == (ssize_t)sizeof msg;
    if (reported) memcpy(&status, msg, sizeof status);
    if (end_fd >= 0) {
        if (reported && whole_run) (void)x7_write_fd(end_fd, msg, sizeof msg);
        close(end_fd); /* nothing told (EOF): the caller waits for this process's own end */
    }
    if (reported && whole_run) x7_launch_cgroup_pool_early(); /* the init ends meanwhile */
    int st = 0;
    for (;;) {
        pid_t r = waitpid(child, &st, __WALL);
        if (r == child) break;
        if (r < 0 && errno != EINTR) {
            st = 3 << 8;
            break;
        }
    }
    if (!reported) status = st;
    struct itimerval off = {{0, 0}, {0, 0}};
    (void)setitimer(ITIMER_REAL, &off, NULL);
    return status;
}

static int x7_launch_run(x7_launch_req *rq, x7_sb_report *rep);

/*
 * Closes every inherited descriptor from 3 up except the policy's and the `n` in `fds`, which are
 * kept, made close-on-exec (the program never sees them), and replaced in `fds` by their new
 * numbers (above the policy's). `flags` names them in an error.
 */
X7_FN void x7_launch_keep_fds(int *fds, int n, const char *flags) {
    int keep = x7_sb.child_blob_fd, top = keep;
    for (int k = 0; k < n; k++) {
        int moved = fcntl(fds[k], F_DUPFD_CLOEXEC, keep >= 3 ? keep + 1 : 3);
        if (moved < 0) x7_sb_fail_errno("load_policy", flags, errno);
        fds[k] = moved;
        if (moved > top) top = moved;
    }
    for (int fd2 = 3; fd2 < top; fd2++) {
        int kept = fd2 == keep;
        for (int k = 0; k < n; k++) kept |= fd2 == fds[k];
        if (!kept) (void)close(fd2);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)top + 1u, ~0u, 0u) == 0) return;
#endif
    struct rlimit r;
    long max = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY ? (long)r.rlim_cur : 65536;
    for (long fd2 = top + 1; fd2 < max && fd2 < (1L << 20); fd2++) (void)close((int)fd2);
}

/* The launcher's main: parse, load, clone, map, cgroup, release, wait, clean up, relay. */
X7_FN int x7_launch_main(int argc, char **argv) {
    static x7_sb_report rep;
    static x7_launch_req rq;
    memset(&rep, 0, sizeof rep);
    rep.pids_mechanism = "none";
    rq.payload_fd = -1;
    rq.program_fd = -1;
    rq.end_fd = -1;
    static x7_seal seal;
    if (x7_seal_find(&seal)) {
        /* a sealed bundle: every argument is the program's, the policy is the sealed one */
        rq.program = argv[0];
        rq.argv = argv + 1;
        rq.argc = argc - 1;
        x7_sandbox_close_inherited();
        rq.payload_fd = x7_seal_load(&seal);
        if (x7_sb.pol.backend != X7_SB_BACKEND_OS) x7_sb_fail("load_policy", "a sealed bundle applies backend os only", NULL);
        return x7_launch_run(&rq, &rep);
    }
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--plain-exec") == 0) {
            rq.plain = 1;
            continue;
        }
        int *fd_flag = strncmp(argv[i], "--x07-program-fd=", 17) == 0 ? &rq.program_fd
                       : strncmp(argv[i], "--x07-end-fd=", 13) == 0  ? &rq.end_fd
                                                                      : NULL;
        if (fd_flag != NULL) {
            uint64_t fd;
            if (x7_parse_u64(strchr(argv[i], '=') + 1, &fd) != 0 || fd < 3 || fd > 0x7fffffff || fcntl((int)fd, F_GETFD) < 0) {
                (void)x7_write_fd(2, X7_LAUNCH_USAGE, sizeof X7_LAUNCH_USAGE - 1);
                return 2;
            }
            *fd_flag = (int)fd;
            continue;
        }
        if (strncmp(argv[i], "--x07-policy-", 13) != 0) {
            (void)x7_write_fd(2, X7_LAUNCH_USAGE, sizeof X7_LAUNCH_USAGE - 1);
            return 2;
        }
        x7_sb_policy_arg(argv[i]);
    }
    /* exactly one of `-- PROGRAM` and --x07-program-fd; --x07-end-fd only with the latter */
    if ((rq.program_fd < 0) == (i + 1 >= argc) || (rq.program_fd >= 0 && rq.plain) ||
        (rq.end_fd >= 0 && (rq.program_fd < 0 || rq.end_fd == rq.program_fd))) {
        (void)x7_write_fd(2, X7_LAUNCH_USAGE, sizeof X7_LAUNCH_USAGE - 1);
        return 2;
    }
    x7_sandbox_load_policy(&rep);
    if (x7_sb.pol.backend != X7_SB_BACKEND_OS) x7_sb_fail("load_policy", "the launcher applies backend os only", NULL);
    if (rq.program_fd >= 0) {
        int kept[2] = {rq.program_fd, rq.end_fd};
        x7_launch_keep_fds(kept, rq.end_fd >= 0 ? 2 : 1, "--x07-program-fd/--x07-end-fd");
        rq.program_fd = kept[0];
        if (rq.end_fd >= 0) rq.end_fd = kept[1];
        return x7_launch_run(&rq, &rep);
    }
    x7_sandbox_close_inherited();
    rq.program = argv[i + 1];
    rq.argv = argv + i + 2;
    rq.argc = argc - i - 2;
    rq.program_real = realpath(rq.program, NULL);
    if (rq.program_real == NULL) x7_sb_fail_errno("exec", "cannot resolve the program", errno);
    return x7_launch_run(&rq, &rep);
}

/* From the policy on: environment, clone, map, cgroup, release, wait, clean up, relay. */
X7_FN int x7_launch_run(x7_launch_req *rq, x7_sb_report *rep) {
    x7_sandbox_clear_env(rep);
    x7_sb.cwd = getcwd(NULL, 0);
    if (x7_sb.cwd == NULL) x7_sb_fail_errno("open_roots", "cannot determine the current directory", errno);
    x7_sb.cwd_len = (uint32_t)strlen(x7_sb.cwd);

    x7_sb_applied(rep, "wall_clock"); /* kept by this process, the monitor (x7_launch_wait) */
    if (pipe2(rq->alive, O_CLOEXEC) != 0 || pipe2(rq->status, O_CLOEXEC) != 0 ||
        (rq->program_fd >= 0 && pipe2(rq->spec, O_CLOEXEC) != 0))
        x7_sb_fail_errno("userns", "pipe", errno);
    x7_launch_cgroup();
    /* the network namespace is made by the child's helper (x7_launch_start_netns) */
    unsigned long ns = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    int userns = 1;
    rq->uid = getuid();
    rq->gid = getgid();
    pid_t child = x7_launch_clone(ns);
    if (child < 0) {
        int e = errno;
        if (!(x7_sb.pol.accept_weaker & X7_WEAKER_NO_USERNS)) x7_launch_cgroup_cleanup(); /* refused below */
        x7_sb_gap(rep, X7_WEAKER_NO_USERNS, "userns", "userns", "cannot create a user namespace", e);
        userns = 0;
        child = x7_launch_clone(0);
        if (child < 0) {
            e = errno;
            x7_launch_cgroup_cleanup();
            x7_sb_fail_errno("userns", "fork", e);
        }
    }
    if (child == 0) x7_launch_child(rq, rep, userns);

    close(rq->alive[0]); /* the write end stays open until this process ends */
    close(rq->status[1]);
    x7_launch_catch_term(child);
    if (rq->program_fd >= 0) {
        close(rq->spec[0]);
        const char *why = NULL;
        if (x7_launch_forward_program(rq, &why) != 0) {
            /* called off, or no program to run: the run ends before anything of it started */
            (void)kill(child, SIGKILL);
            while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR) {
            }
            if (x7_launch_cgroup_poolable()) x7_launch_cgroup_release();
            else x7_launch_cgroup_cleanup();
            if (x7_launch_term_sig != 0) x7_launch_relay(x7_launch_term_sig);
            x7_sb_fail("exec", why, NULL);
        }
    }
    /* only pid 1 of a pid namespace has ended the whole run when it reports */
    int status = x7_launch_wait(child, rq->status[0], rq->end_fd, userns);
    if (x7_launch_cgroup_poolable()) x7_launch_cgroup_release();
    else x7_launch_cgroup_cleanup();
    if (x7_launch_term_sig != 0) x7_launch_relay(x7_launch_term_sig); /* a bare signal number: WIFSIGNALED */
    x7_launch_relay(status);
    return 3;
}
#endif
