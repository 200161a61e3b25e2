/* x07-fragment: requires=core,sandbox_policy,sandbox_report,sandbox_checks,sandbox_landlock,sandbox_seccomp */
/*
 * sandbox_restrict: the start-up order of docs/internals/sandbox.md, one function per step.
 * Every step is required: one that cannot be applied ends the process with
 * `x07: sandbox: cannot apply <step>: <reason>` and status 3, unless the policy's accept_weaker
 * bit for exactly that gap is set (the start-up line then lists it under "weaker").
 */
#ifdef X07_SANDBOXED
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define X7_SB_NEEDS_POLICY                                                                         \
    "x07: this program was built for run-os-sandboxed and needs a policy (run it with `x07 run "   \
    "--profile sandbox`)\n"
/* The largest policy blob accepted. */
#define X7_SB_BLOB_MAX (4u << 20)

#define X7_WEAKER_NO_LANDLOCK_NET 1u
#define X7_WEAKER_NO_PIDS_CGROUP 2u
#define X7_WEAKER_NO_LANDLOCK 4u

/* What the start-up line reports. */
typedef struct {
    const char *restrictions[12];
    uint32_t nrestrictions;
    const char *weaker[4];
    uint32_t nweaker;
    const char *pids_mechanism;
    char cgroup[256];
    int have_embedded;
    uint8_t embedded_digest[32];
    x7_ll_result ll;
} x7_sb_report;

/* Ends the process: `x07: sandbox: cannot apply <step>: <reason>[: <detail>]`, status 3. */
X7_COLD void x7_sb_fail(const char *step, const char *reason, const char *detail) {
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "x07: sandbox: cannot apply ");
    x7_msg_str(&m, step);
    x7_msg_str(&m, ": ");
    x7_msg_str(&m, reason);
    if (detail != NULL) {
        x7_msg_str(&m, ": ");
        x7_msg_data(&m, (const uint8_t *)detail, strlen(detail));
    }
    m.buf[m.len++] = '\n';
    (void)x7_write_fd(2, m.buf, m.len);
    _exit(3);
}

X7_FN void x7_sb_fail_errno(const char *step, const char *what, int e) {
    x7_sb_fail(step, what, strerror(e));
}

X7_FN void x7_sb_applied(x7_sb_report *rep, const char *name) {
    rep->restrictions[rep->nrestrictions++] = name;
}

/* A gap: accepted (and reported) when the policy allows exactly this one, else fatal. */
X7_FN void x7_sb_gap(x7_sb_report *rep, uint32_t bit, const char *name, const char *step,
                     const char *reason, int e) {
    if (!(x7_sb.pol.accept_weaker & bit)) x7_sb_fail(step, reason, e ? strerror(e) : NULL);
    rep->weaker[rep->nweaker++] = name;
}

/* ---------------------------------------------------------------- 1. load_policy */

/* Reads a whole policy blob from fd (from offset 0 when it can seek, so nobody has to rewind). */
X7_FN uint8_t *x7_sb_read_blob(int fd, size_t *len, const char **why) {
    size_t cap = 4096, n = 0;
    uint8_t *buf = (uint8_t *)malloc(cap);
    int seekable = 1;
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= X7_SB_BLOB_MAX) {
                free(buf);
                *why = "the policy is larger than 4 MiB";
                return NULL;
            }
            uint8_t *q = (uint8_t *)realloc(buf, cap * 2);
            if (q == NULL) break;
            buf = q;
            cap *= 2;
        }
        ssize_t r = seekable ? pread(fd, buf + n, cap - n, (off_t)n) : read(fd, buf + n, cap - n);
        if (r < 0 && errno == ESPIPE && seekable && n == 0) {
            seekable = 0;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            *why = strerror(errno);
            free(buf);
            return NULL;
        }
        if (r == 0) {
            *len = n;
            return buf;
        }
        n += (size_t)r;
    }
    *why = "out of memory";
    return NULL;
}

X7_FN void x7_sb_decode_or_fail(const uint8_t *p, size_t len, x7_policy *pol, const char *source) {
    x7_pr r;
    if (x7_policy_decode(p, len, pol, &r) == 0) return;
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "the policy ");
    x7_msg_str(&m, source);
    x7_msg_str(&m, " is not a valid PolicyBlobV1 (");
    x7_msg_str(&m, r.why_field);
    x7_msg_str(&m, ": ");
    x7_msg_str(&m, r.why);
    x7_msg_str(&m, ", at byte ");
    x7_msg_u64(&m, r.why_pos);
    x7_msg_str(&m, ")");
    m.buf[m.len] = 0;
    x7_sb_fail("load_policy", m.buf, NULL);
}

/*
 * The embedded policy (X07_EMBEDDED_POLICY, a string literal the emitter defines) intersected with
 * the handed-over one (--x07-policy-fd / --x07-policy-file); neither: the program does not start.
 */
X7_FN void x7_sandbox_load_policy(x7_sb_report *rep) {
    static x7_policy embedded, handed;
    rep->have_embedded = 0;
#ifdef X07_EMBEDDED_POLICY
    static const uint8_t x7_embedded_policy[] = X07_EMBEDDED_POLICY;
    static const uint32_t x7_embedded_policy_len = (uint32_t)(sizeof x7_embedded_policy - 1);
    x7_sb_decode_or_fail(x7_embedded_policy, x7_embedded_policy_len, &embedded, "embedded in the binary");
    rep->have_embedded = 1;
    memcpy(rep->embedded_digest, embedded.digest, 32);
#endif
    if (x7_sb.handed_count > 1)
        x7_sb_fail("load_policy", "more than one --x07-policy-fd / --x07-policy-file argument", NULL);
    if (x7_sb.handed_count == 0) {
        if (!rep->have_embedded) {
            (void)x7_write_fd(2, X7_SB_NEEDS_POLICY, sizeof X7_SB_NEEDS_POLICY - 1);
            _exit(3);
        }
        x7_sb.pol = embedded;
        return;
    }
    const char *why = NULL, *source = "from --x07-policy-fd";
    int fd = x7_sb.handed_fd;
    if (x7_sb.handed_path != NULL) {
        source = "from --x07-policy-file";
        fd = open(x7_sb.handed_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) x7_sb_fail("load_policy", "cannot open --x07-policy-file", strerror(errno));
    }
    size_t len = 0;
    uint8_t *blob = x7_sb_read_blob(fd, &len, &why);
    (void)close(fd);
    if (blob == NULL) x7_sb_fail("load_policy", "cannot read the policy", why);
    x7_sb_decode_or_fail(blob, len, &handed, source);
    free(blob);
    if (rep->have_embedded) x7_policy_intersect(&embedded, &handed, &x7_sb.pol);
    else x7_sb.pol = handed;
}

/*
 * Closes every descriptor above 2 (the policy's is already closed): Landlock checks opens, not
 * what a launcher or shell may have left open, so nothing inherited may outlive the start-up.
 */
X7_FN void x7_sandbox_close_inherited(void) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
    struct rlimit r;
    long max = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY ? (long)r.rlim_cur : 65536;
    for (long fd = 3; fd < max && fd < (1L << 20); fd++) (void)close((int)fd);
}

/* ---------------------------------------------------------------- 2. clear_env, 3. open_roots */

extern char **environ;

/* Keeps only env.allow_keys minus env.deny_keys (nothing when env is disabled). */
X7_FN void x7_sandbox_clear_env(x7_sb_report *rep) {
    const char *path = getenv("PATH");
    x7_sb.search_path = strdup(path != NULL ? path : "/usr/local/bin:/usr/bin:/bin");
    char *keep[256];
    size_t nkeep = 0;
    for (char **e = environ; e != NULL && *e != NULL && x7_sb.pol.env.enabled; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL) continue;
        size_t klen = (size_t)(eq - *e);
        const x7_pstrs *allow = &x7_sb.pol.env.allow_keys, *deny = &x7_sb.pol.env.deny_keys;
        if (!x7_sb_has(allow, (const uint8_t *)*e, klen) || x7_sb_has(deny, (const uint8_t *)*e, klen))
            continue;
        if (nkeep == sizeof keep / sizeof keep[0] || (keep[nkeep] = strdup(*e)) == NULL)
            x7_sb_fail("clear_env", "too many or too large allowed variables", NULL);
        nkeep++;
    }
    if (x7_sb.search_path == NULL || clearenv() != 0) x7_sb_fail("clear_env", "clearenv failed", NULL);
    for (size_t i = 0; i < nkeep; i++)
        if (putenv(keep[i]) != 0) x7_sb_fail("clear_env", "putenv failed", NULL);
    x7_sb_applied(rep, "env_cleared");
}

/* O_PATH descriptors for every root; a root that cannot be opened is unreachable (fd -1). */
X7_FN void x7_sandbox_open_roots(void) {
    x7_sb.cwd = getcwd(NULL, 0);
    if (x7_sb.cwd == NULL) x7_sb_fail_errno("open_roots", "cannot determine the current directory", errno);
    x7_sb.cwd_len = (uint32_t)strlen(x7_sb.cwd);
    const x7_pstrs *lists[2] = {&x7_sb.pol.fs.read_roots, &x7_sb.pol.fs.write_roots};
    uint32_t total = lists[0]->n + lists[1]->n;
    x7_sb.roots = (x7_sb_root *)calloc(total ? total : 1, sizeof *x7_sb.roots);
    if (x7_sb.roots == NULL) x7_sb_fail("open_roots", "out of memory", NULL);
    for (int w = 0; w < 2 && x7_sb.pol.fs.enabled; w++) {
        for (uint32_t i = 0; i < lists[w]->n; i++) {
            x7_sb_root *r = &x7_sb.roots[x7_sb.nroots++];
            r->path = lists[w]->v[i].s;
            r->len = lists[w]->v[i].n;
            r->write = w;
            r->fd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
    }
}

/*
 * The effective policy for children, in a sealed memfd they receive as fd 3. Its backend is
 * `none`: a child inherits the kernel layer and could not apply it again (seccomp refuses unshare,
 * Landlock the cgroup filesystem). Only made when the policy lets the program start children.
 */
X7_FN void x7_sandbox_child_blob(void) {
    const x7_policy *pol = &x7_sb.pol;
    if (!pol->proc.enabled || !pol->proc.allow_spawn || !pol->proc.allow_exec) return;
    x7_policy child = *pol;
    child.backend = X7_SB_BACKEND_NONE;
    x7_sbuf b = {NULL, 0, 0, 0};
    x7_policy_encode(&child, &b);
    int fd = (int)syscall(SYS_memfd_create, "x07-policy", 1u /* MFD_CLOEXEC */ | 2u /* MFD_ALLOW_SEALING */);
    if (b.failed || fd < 0 || x7_write_fd(fd, b.p, b.len) != 0)
        x7_sb_fail("open_roots", "cannot prepare the policy for child processes", NULL);
    free(b.p);
    /* F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: no child can widen it for another */
    (void)fcntl(fd, 1033 /* F_ADD_SEALS */, 1 | 2 | 4 | 8);
    /* off fd 3, where children get it by dup2 (a dup2 onto itself would keep close-on-exec);
     * low, because posix_spawn refuses descriptors at or above RLIMIT_NOFILE */
    if (fd == 3) {
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 4);
        if (moved < 0) x7_sb_fail("open_roots", "cannot prepare the policy for child processes", NULL);
        close(fd);
        fd = moved;
    }
    x7_sb.child_blob_fd = fd;
}

/* ---------------------------------------------------------------- kernel layer: 4..7 */

X7_FN void x7_restrict_process_group(x7_sb_report *rep) {
    if (getpgrp() != getpid() && setpgid(0, 0) != 0)
        x7_sb_fail_errno("process_group", "setpgid", errno);
    x7_sb_applied(rep, "process_group");
}

/* Lowers a limit (never raises one): soft and hard at most the current hard limit. */
X7_FN void x7_sb_rlimit(int res, uint64_t soft, uint64_t hard, const char *name) {
    struct rlimit cur;
    if (getrlimit(res, &cur) != 0) x7_sb_fail_errno("rlimits", name, errno);
    rlim_t h = cur.rlim_max != RLIM_INFINITY && cur.rlim_max < hard ? cur.rlim_max : (rlim_t)hard;
    rlim_t s = soft < h ? (rlim_t)soft : h;
    struct rlimit nl = {s, h};
    if (setrlimit(res, &nl) != 0) x7_sb_fail_errno("rlimits", name, errno);
}

/*
 * CPU, address space, core dumps and processes. RLIMIT_NOFILE waits until after seccomp
 * (x7_restrict_nofile): building the Landlock domain needs descriptors of its own.
 */
X7_FN void x7_restrict_rlimits(x7_sb_report *rep) {
    const x7_policy *pol = &x7_sb.pol;
    uint64_t cpu_s = ((uint64_t)pol->cpu_ms + 999) / 1000;
    x7_sb_rlimit(RLIMIT_CPU, cpu_s, cpu_s + 1, "RLIMIT_CPU");
    uint64_t floor = x7_heap_size + (64ULL << 20);
    uint64_t mem = pol->mem_bytes > floor ? pol->mem_bytes : floor;
    x7_sb_rlimit(RLIMIT_AS, mem, mem, "RLIMIT_AS");
    if (!pol->core_dumps) x7_sb_rlimit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    x7_sb_rlimit(RLIMIT_NPROC, pol->procs, pol->procs, "RLIMIT_NPROC");
    x7_sb_applied(rep, "rlimits");
}

X7_FN int x7_sb_write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = x7_write_fd(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* cgroup v1: /sys/fs/cgroup/pids/x07/run-<pid>. 0, or -1 with errno. */
X7_FN int x7_sb_cgroup_v1(x7_sb_report *rep, const char *max) {
    char path[300];
    if (mkdir("/sys/fs/cgroup/pids/x07", 0755) != 0 && errno != EEXIST) return -1;
    snprintf(rep->cgroup, sizeof rep->cgroup, "/sys/fs/cgroup/pids/x07/run-%ld", (long)getpid());
    if (mkdir(rep->cgroup, 0755) != 0 && errno != EEXIST) return -1;
    snprintf(path, sizeof path, "%s/pids.max", rep->cgroup);
    if (x7_sb_write_file(path, max) != 0) return -1;
    /*
     * "0" into `tasks` moves the calling thread, which is the whole process (the runtime has no
     * other threads). The kernel then skips the global threadgroup lock that a write to
     * cgroup.procs takes: that costs an RCU grace period (5-15 ms measured), this about 25 us.
     */
    snprintf(path, sizeof path, "%s/tasks", rep->cgroup);
    if (x7_sb_write_file(path, "0") != 0) return -1;
    snprintf(path, sizeof path, "%s/cgroup.procs", rep->cgroup);
    x7_sb.cg_procs_fd = open(path, O_RDONLY | O_CLOEXEC);
    rep->pids_mechanism = "cgroup-v1";
    return 0;
}

/* cgroup v2: a child `x07-run-<pid>` of the current cgroup. 0, or -1 with errno. */
X7_FN int x7_sb_cgroup_v2(x7_sb_report *rep, const char *max) {
    char line[512] = {0}, path[700];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    char *own = n > 0 ? strstr(line, "0::") : NULL;
    if (own == NULL) {
        errno = ENOENT;
        return -1;
    }
    own += 3;
    own[strcspn(own, "\n")] = 0;
    if (strcmp(own, "/") == 0) own = "";
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/cgroup.subtree_control", own);
    (void)x7_sb_write_file(path, "+pids"); /* may already be on; the next steps tell */
    snprintf(rep->cgroup, sizeof rep->cgroup, "/sys/fs/cgroup%s/x07-run-%ld", own, (long)getpid());
    if (mkdir(rep->cgroup, 0755) != 0 && errno != EEXIST) return -1;
    snprintf(path, sizeof path, "%s/pids.max", rep->cgroup);
    if (x7_sb_write_file(path, max) != 0) return -1;
    snprintf(path, sizeof path, "%s/cgroup.procs", rep->cgroup);
    if (x7_sb_write_file(path, "0") != 0) return -1;
    snprintf(path, sizeof path, "%s/cgroup.kill", rep->cgroup);
    x7_sb.cg_kill_fd = open(path, O_WRONLY | O_CLOEXEC);
    rep->pids_mechanism = "cgroup-v2";
    return 0;
}

/* RLIMIT_NPROC does not bind root: a pids cgroup with pids.max = procs, the process moved in. */
X7_FN void x7_restrict_pids_cgroup(x7_sb_report *rep) {
    char max[24];
    snprintf(max, sizeof max, "%u", x7_sb.pol.procs);
    struct stat st;
    int v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
    if ((v2 ? x7_sb_cgroup_v2(rep, max) : x7_sb_cgroup_v1(rep, max)) == 0) {
        x7_sb_applied(rep, "pids_cgroup");
        return;
    }
    int e = errno;
    rep->cgroup[0] = 0;
    rep->pids_mechanism = "rlimit";
    x7_sb_gap(rep, X7_WEAKER_NO_PIDS_CGROUP, "pids_cgroup", "pids_cgroup",
              v2 ? "cannot create a cgroup v2 pids group" : "cannot create /sys/fs/cgroup/pids/x07/run-<pid>", e);
}

/* Networking off: a fresh network namespace (only a down loopback). */
X7_FN void x7_restrict_network(x7_sb_report *rep) {
    if (x7_sb.pol.net.enabled) return;
    if (unshare(CLONE_NEWNET) != 0) {
        int e = errno;
        /* without CAP_SYS_ADMIN: a user namespace of our own grants it, with the ids mapped 1:1 */
        char map[64];
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (e != EPERM || unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
            x7_sb_fail_errno("network", "unshare(CLONE_NEWNET)", e);
        snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
        if (x7_sb_write_file("/proc/self/uid_map", map) != 0)
            x7_sb_fail_errno("network", "uid_map of the user namespace", errno);
        (void)x7_sb_write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
        if (x7_sb_write_file("/proc/self/gid_map", map) != 0)
            x7_sb_fail_errno("network", "gid_map of the user namespace", errno);
    }
    x7_sb_applied(rep, "netns");
}

/* ---------------------------------------------------------------- 8..11 */

X7_FN void x7_restrict_landlock(x7_sb_report *rep) {
    const char *why = NULL;
    int e = 0;
    int want_net = 1;
    if (x7_landlock_apply(&x7_sb.pol, want_net, &rep->ll, &why, &e) != 0) {
        if (rep->ll.fs_applied || x7_ll_abi() >= 1) x7_sb_fail("landlock", why, e ? strerror(e) : NULL);
        x7_sb_gap(rep, X7_WEAKER_NO_LANDLOCK, "landlock_fs", "landlock", why, e);
        if (x7_sb.pol.net.enabled)
            x7_sb_gap(rep, X7_WEAKER_NO_LANDLOCK_NET, "landlock_net", "landlock", why, e);
        return;
    }
    x7_sb_applied(rep, "landlock_fs");
    if (rep->ll.net_applied) x7_sb_applied(rep, "landlock_net");
    else if (x7_sb.pol.net.enabled)
        x7_sb_gap(rep, X7_WEAKER_NO_LANDLOCK_NET, "landlock_net", "landlock",
                  "the kernel's Landlock has no network rules (ABI < 4)", 0);
}

/* no_new_privs, and every capability dropped (a root process keeps none inside the sandbox). */
X7_FN void x7_restrict_no_new_privs(x7_sb_report *rep) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        x7_sb_fail_errno("no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)", errno);
    struct { uint32_t version; int pid; } hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct { uint32_t effective, permitted, inheritable; } data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0) x7_sb_fail_errno("no_new_privs", "capget", errno);
    if (data[0].permitted | data[1].permitted | data[0].inheritable | data[1].inheritable) {
        for (int cap = 0; cap < 64; cap++)
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
        (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        memset(data, 0, sizeof data);
        if (syscall(SYS_capset, &hdr, data) != 0) x7_sb_fail_errno("no_new_privs", "capset", errno);
    }
    x7_sb_applied(rep, "no_new_privs");
}

X7_FN void x7_restrict_seccomp(x7_sb_report *rep) {
    const x7_policy *pol = &x7_sb.pol;
    int deny_udp = !pol->net.enabled || (!pol->net.allow_udp && !pol->net.allow_dns);
    const char *why = NULL;
    if (x7_seccomp_apply(deny_udp, &why) != 0) x7_sb_fail("seccomp", why, errno ? strerror(errno) : NULL);
    x7_sb_applied(rep, "seccomp");
}

X7_FN void x7_restrict_nofile(void) {
    x7_sb_rlimit(RLIMIT_NOFILE, x7_sb.pol.fds, x7_sb.pol.fds, "RLIMIT_NOFILE");
}

/* Kills everything the program started, then the process group (and with it this process). */
X7_FN void x7_sb_kill_everything(void) {
    pid_t self = getpid();
    if (x7_sb.cg_kill_fd >= 0 && write(x7_sb.cg_kill_fd, "1", 1) < 0) x7_sb.cg_kill_fd = -1;
    for (int round = 0; round < 4 && x7_sb.cg_procs_fd >= 0; round++) {
        char buf[4096];
        ssize_t n = pread(x7_sb.cg_procs_fd, buf, sizeof buf, 0);
        int others = 0;
        long pid = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                pid = pid * 10 + (buf[i] - '0');
                continue;
            }
            if (pid > 0 && pid != (long)self) {
                (void)kill((pid_t)pid, SIGKILL);
                others = 1;
            }
            pid = 0;
        }
        if (!others) break;
    }
    for (int i = 0; i < X7_SB_MAX_CHILDREN; i++)
        if (x7_sb.children[i] > 0) (void)kill(-x7_sb.children[i], SIGKILL);
    (void)kill(0, SIGKILL);
    _exit(137);
}

X7_FN void x7_sb_on_wall_clock(int sig) {
    (void)sig;
    x7_sandbox_at_exit();
    static const char line[] = "timed out\n";
    (void)x7_write_fd(2, line, sizeof line - 1);
    x7_sb_kill_everything();
}

/* At wall_ms: the trap line `timed out`, then the whole process group is killed. */
X7_FN void x7_restrict_wall_clock(x7_sb_report *rep) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = x7_sb_on_wall_clock;
    sigfillset(&sa.sa_mask);
    uint32_t ms = x7_sb.pol.wall_ms;
    struct itimerval it = {{0, 0}, {(time_t)(ms / 1000u), (suseconds_t)(ms % 1000u) * 1000}};
    if (ms == 0) it.it_value.tv_usec = 1; /* a zero value would disarm the timer */
    if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0)
        x7_sb_fail_errno("wall_clock", "setitimer", errno);
    x7_sb_applied(rep, "wall_clock");
}

/* ---------------------------------------------------------------- the start-up line */

X7_FN void x7_json_list(x7_sbuf *b, const char *const *items, uint32_t n) {
    x7_sbuf_put(b, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
        if (i) x7_sbuf_put(b, ",", 1);
        x7_json_cstr(b, items[i]);
    }
    x7_sbuf_put(b, "]", 1);
}

X7_FN void x7_json_digest(x7_sbuf *b, const uint8_t *d) {
    static const char hex[] = "0123456789abcdef";
    char s[7 + 64 + 1] = "sha256:";
    for (int i = 0; i < 32; i++) {
        s[7 + 2 * i] = hex[d[i] >> 4];
        s[8 + 2 * i] = hex[d[i] & 15];
    }
    s[71] = 0;
    x7_json_cstr(b, s);
}

X7_FN void x7_sandbox_report_line(const x7_sb_report *rep) {
    x7_sbuf b = {NULL, 0, 0, 0};
    x7_sbuf_str(&b, "{\"x07_sandbox\":{\"backend\":");
    x7_json_cstr(&b, x7_sb.pol.backend == X7_SB_BACKEND_OS ? "os" : "none");
    x7_sbuf_str(&b, ",\"policy_digest\":");
    x7_json_digest(&b, x7_sb.pol.digest);
    if (rep->have_embedded) {
        x7_sbuf_str(&b, ",\"embedded_policy_digest\":");
        x7_json_digest(&b, rep->embedded_digest);
    }
    x7_sbuf_str(&b, ",\"restrictions\":");
    x7_json_list(&b, rep->restrictions, rep->nrestrictions);
    x7_sbuf_str(&b, ",\"weaker\":");
    x7_json_list(&b, rep->weaker, rep->nweaker);
    x7_sbuf_str(&b, ",\"pids_mechanism\":");
    x7_json_cstr(&b, rep->pids_mechanism);
    if (rep->cgroup[0]) {
        x7_sbuf_str(&b, ",\"pids_cgroup\":");
        x7_json_cstr(&b, rep->cgroup);
    }
    x7_sbuf_str(&b, ",\"unreachable_roots\":[");
    int first = 1;
    for (uint32_t i = 0; i < x7_sb.nroots; i++) {
        const x7_sb_root *r = &x7_sb.roots[i];
        int dup = 0;
        for (uint32_t j = 0; j < i; j++) dup |= x7_sb.roots[j].fd < 0 && strcmp(x7_sb.roots[j].path, r->path) == 0;
        if (r->fd >= 0 || dup) continue;
        if (!first) x7_sbuf_put(&b, ",", 1);
        first = 0;
        x7_json_cstr(&b, r->path);
    }
    x7_sbuf_str(&b, "],\"hidden_in_process_only\":");
    x7_json_list(&b, rep->ll.hidden_in_process_only, rep->ll.nhidden);
    x7_sbuf_str(&b, "}}");
    x7_sbuf_emit_line(&b);
}

/* ---------------------------------------------------------------- x7_os_startup */

/* Loads and applies the policy; returns only when every step held (or was an accepted gap). */
X7_FN void x7_sandbox_start(void) {
    static x7_sb_report rep;
    memset(&rep, 0, sizeof rep);
    rep.pids_mechanism = "none";
    x7_sandbox_load_policy(&rep);
    x7_sandbox_close_inherited();
    x7_sandbox_clear_env(&rep);
    x7_sandbox_open_roots();
    x7_sandbox_child_blob();
    if (x7_sb.pol.backend == X7_SB_BACKEND_OS) {
        x7_restrict_process_group(&rep);
        x7_restrict_rlimits(&rep);
        x7_restrict_pids_cgroup(&rep);
        x7_restrict_network(&rep);
        x7_restrict_landlock(&rep);
        x7_restrict_no_new_privs(&rep);
        x7_restrict_seccomp(&rep);
        x7_restrict_nofile();
        x7_restrict_wall_clock(&rep);
    }
    x7_sandbox_report_line(&rep);
}
#endif
