/* x07-fragment: requires=core,sandbox_policy,sandbox_restrict,sandbox_landlock */
/*
 * launch_kernel: the kernel-layer steps the trusted launcher applies to the confined child before
 * it execs the program (docs/internals/sandbox.md, "Order of enforcement"): the run's cgroup,
 * resource limits, capabilities, the policy's seccomp programs, and a check that each took effect.
 * Raw system calls only where a step must not be interposable: the launcher is a static binary
 * built from these fragments, with no program or package code in it.
 */
#ifdef X07_SANDBOXED
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT 1
#define SECBIT_NOROOT_LOCKED 2
#define SECBIT_NO_SETUID_FIXUP 4
#define SECBIT_NO_SETUID_FIXUP_LOCKED 8
#define SECBIT_KEEP_CAPS_LOCKED 32
#define SECBIT_NO_CAP_AMBIENT_RAISE 64
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED 128
#endif

/* ---------------------------------------------------------------- the run's cgroup */

/* The run's cgroup directories (one per v1 controller, or one v2 group). */
typedef struct {
    char pids[256];
    char memory[256];
    char v2[256];
    char home_v2[256]; /* the launcher's own v2 group, the parent of the run's */
    int pids_ok, memory_ok;
    int is_v2; /* the host has cgroup v2 (one group) rather than v1 (one per controller) */
    int err;   /* why the pids group could not be made */
} x7_cg;

static x7_cg x7_launch_cg X7_UNUSED;

/* The path of this process's v2 group ("0::<path>" in /proc/self/cgroup). */
X7_FN int x7_cg_own_v2(char *out, size_t cap) {
    char buf[4096];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "0::", 3) != 0) continue;
        snprintf(out, cap, "%s", strcmp(line + 3, "/") == 0 ? "" : line + 3);
        return 0;
    }
    errno = ENOENT;
    return -1;
}

/* Removes one cgroup directory, killing what is left in it first when it is not empty. */
X7_FN void x7_cg_remove(const char *dir) {
    char path[1200], buf[4096];
    if (dir[0] == 0) return;
    if (rmdir(dir) == 0 || errno == ENOENT) return; /* the usual case: the run's processes are gone */
    snprintf(path, sizeof path, "%s/cgroup.kill", dir);
    (void)x7_sb_write_file(path, "1");
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    for (int round = 0; round < 100; round++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
        if (fd >= 0) close(fd);
        if (n <= 0 && rmdir(dir) == 0) return;
        for (ssize_t i = 0, pid = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') pid = pid * 10 + (buf[i] - '0');
            else if (pid > 0) (void)kill((pid_t)pid, SIGKILL), pid = 0;
        }
        if (rmdir(dir) == 0) return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/*
 * Idle v1 groups kept for the next run: x07/idle-<k>, k < X7_CG_IDLE_MAX. Making and removing a
 * group costs the kernel ~0.2 ms per run (memory cgroups most); renaming one (v1 groups can be
 * renamed within their parent, v2 ones cannot) costs a few microseconds. A group is claimed
 * (renamed to run-<pid>) only when empty, and every limit is written again.
 */
#define X7_CG_IDLE_MAX 8

/* The path of idle group `k` of `controller`. */
X7_FN void x7_cg_idle_path(char *out, size_t cap, const char *controller, int k) {
    snprintf(out, cap, "/sys/fs/cgroup/%s/x07/idle-%d", controller, k);
}

/*
 * Whether the group at `dir` holds no process, counting one that has exited but is not reaped
 * yet (the pids controller uncharges a task only when it is reaped; cgroup.procs drops it
 * earlier): pids.current for the pids controller, cgroup.procs for the others.
 */
X7_FN int x7_cg_is_empty(const char *controller, const char *dir) {
    char path[1200], buf[4];
    int pids = strcmp(controller, "pids") == 0;
    snprintf(path, sizeof path, "%s/%s", dir, pids ? "pids.current" : "cgroup.procs");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return pids ? n >= 1 && buf[0] == '0' : n == 0;
}

/* Renames an empty idle group of `controller` to `dir`; 0 when one was claimed. */
X7_FN int x7_cg_v1_claim(const char *controller, const char *dir) {
    for (int k = 0; k < X7_CG_IDLE_MAX; k++) {
        char idle[1200];
        x7_cg_idle_path(idle, sizeof idle, controller, k);
        /* nobody joins an idle group: empty now, empty when renamed (or gone: ENOENT) */
        if (x7_cg_is_empty(controller, idle) && rename(idle, dir) == 0) return 0;
    }
    return -1;
}

/* Renames a run's v1 group to a free idle name; 0 when it went (then `dir` is emptied). */
X7_FN int x7_cg_v1_pool(const char *controller, char *dir) {
    if (dir[0] == 0) return 0;
    for (int k = 0; k < X7_CG_IDLE_MAX; k++) {
        char idle[1200];
        x7_cg_idle_path(idle, sizeof idle, controller, k);
        if (rename(dir, idle) == 0) return dir[0] = 0, 0;
        if (errno != EEXIST && errno != ENOTEMPTY) break;
    }
    return -1;
}

/* Gives a run's v1 group back to the idle ones, or removes it when they are all taken. */
X7_FN void x7_cg_v1_release(const char *controller, char *dir) {
    if (x7_cg_v1_pool(controller, dir) != 0) x7_cg_remove(dir);
}

/* cgroup v1: <controller>/x07/run-<pid> (claimed from the idle ones, or made) with its limit written. */
X7_FN int x7_cg_v1(const char *controller, char *dir, size_t cap, const char *file, const char *value,
                   const char *file2) {
    char path[1200];
    snprintf(dir, cap, "/sys/fs/cgroup/%s/x07/run-%ld", controller, (long)getpid());
    if (x7_cg_v1_claim(controller, dir) != 0) {
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/x07", controller);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int first = x7_sb_write_file(path, value);
    if (file2 != NULL) {
        char path2[1200];
        snprintf(path2, sizeof path2, "%s/%s", dir, file2);
        /* memsw exists only with swap accounting; it must stay >= the limit, so a claimed group
           whose old memsw is below the new limit takes the limit after it */
        (void)x7_sb_write_file(path2, value);
        if (first != 0) first = x7_sb_write_file(path, value);
    }
    return first;
}

/* cgroup v2: a child x07-run-<pid> of the launcher's group with pids.max and memory.max. */
X7_FN int x7_cg_v2(x7_cg *cg, const char *pids_max, const char *mem_max) {
    char path[1200];
    if (x7_cg_own_v2(cg->home_v2, sizeof cg->home_v2) != 0) return -1;
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/cgroup.subtree_control", cg->home_v2);
    (void)x7_sb_write_file(path, "+pids +memory"); /* may already be on; the next steps tell */
    snprintf(cg->v2, sizeof cg->v2, "/sys/fs/cgroup%s/x07-run-%ld", cg->home_v2, (long)getpid());
    if (mkdir(cg->v2, 0755) != 0 && errno != EEXIST) return -1;
    snprintf(path, sizeof path, "%s/pids.max", cg->v2);
    if (x7_sb_write_file(path, pids_max) != 0) return -1;
    cg->pids_ok = 1;
    snprintf(path, sizeof path, "%s/memory.max", cg->v2);
    cg->memory_ok = x7_sb_write_file(path, mem_max) == 0;
    snprintf(path, sizeof path, "%s/memory.swap.max", cg->v2);
    (void)x7_sb_write_file(path, "0");
    return 0;
}

/* Whether the run's groups go back to the pool: v1 groups (or none); a v2 group is removed. */
X7_FN int x7_launch_cgroup_poolable(void) { return x7_launch_cg.v2[0] == 0; }

/*
 * As soon as the run's init has reported (every other process of the run killed and reaped): v1
 * groups back to the pool while the init is still ending. Safe: a run claims only an empty group,
 * and the pids controller counts the init until it is reaped. A group the pool has no room for
 * is removed after the init (x7_launch_cgroup_release).
 */
X7_FN void x7_launch_cgroup_pool_early(void) {
    if (!x7_launch_cgroup_poolable()) return;
    x7_cg *cg = &x7_launch_cg;
    (void)x7_cg_v1_pool("pids", cg->pids);
    (void)x7_cg_v1_pool("memory", cg->memory);
}

/* After the run: v1 groups back to the pool (x7_cg_v1_release). */
X7_FN void x7_launch_cgroup_release(void) {
    x7_cg *cg = &x7_launch_cg;
    x7_cg_v1_release("pids", cg->pids);
    x7_cg_v1_release("memory", cg->memory);
}

/* After the run: the run's groups are emptied and removed (the monitor never was in them). */
X7_FN void x7_launch_cgroup_cleanup(void) {
    x7_cg *cg = &x7_launch_cg;
    x7_cg_remove(cg->v2);
    x7_cg_remove(cg->pids);
    x7_cg_remove(cg->memory);
}

/* Why the run has no pids group (x7_launch_cgroup refuses it, or the child reports the gap). */
X7_FN const char *x7_cg_missing(const x7_cg *cg) {
    return cg->is_v2 ? "cannot create a cgroup v2 group" : "cannot create /sys/fs/cgroup/pids/x07/run-<pid>";
}

/*
 * The run's cgroup, made by the monitor before the clone, so the child joins it without waiting
 * for anybody (overlapping the two lost more to scheduling than it saved: the child often waited
 * 0.2-0.7 ms for a monitor that was not running). pids.max = procs + 1 (the run's init) and the
 * memory limit = mem_bytes; the monitor itself stays outside. A missing pids cgroup is fatal here,
 * before anything of the run exists, unless the policy accepts the pids-cgroup gap (RLIMIT_NPROC
 * and RLIMIT_AS instead); the child reports what was made (x7_launch_cgroup_report).
 */
X7_FN void x7_launch_cgroup(void) {
    x7_cg *cg = &x7_launch_cg;
    char pids_max[24], mem_max[24];
    snprintf(pids_max, sizeof pids_max, "%u", x7_sb.pol.procs + 1u); /* + the init */
    snprintf(mem_max, sizeof mem_max, "%llu", (unsigned long long)x7_sb.pol.mem_bytes);
    struct stat st;
    cg->is_v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
    cg->err = 0;
    if (cg->is_v2) {
        if (x7_cg_v2(cg, pids_max, mem_max) != 0) cg->err = errno;
    } else {
        cg->pids_ok = x7_cg_v1("pids", cg->pids, sizeof cg->pids, "pids.max", pids_max, NULL) == 0;
        if (!cg->pids_ok) cg->err = errno;
        cg->memory_ok = x7_cg_v1("memory", cg->memory, sizeof cg->memory, "memory.limit_in_bytes", mem_max,
                                 "memory.memsw.limit_in_bytes") == 0;
    }
    if (!cg->pids_ok && !(x7_sb.pol.accept_weaker & X7_WEAKER_NO_PIDS_CGROUP)) {
        x7_launch_cgroup_cleanup();
        x7_sb_fail("pids_cgroup", x7_cg_missing(cg), cg->err ? strerror(cg->err) : NULL);
    }
}

/* The child's report of the run's cgroup (made by the monitor): applied, or the accepted gap. */
X7_FN void x7_launch_cgroup_report(x7_sb_report *rep) {
    const x7_cg *cg = &x7_launch_cg;
    if (cg->pids_ok) {
        rep->pids_mechanism = cg->is_v2 ? "cgroup-v2" : "cgroup-v1";
        snprintf(rep->cgroup, sizeof rep->cgroup, "%s", cg->is_v2 ? cg->v2 : cg->pids);
        x7_sb_applied(rep, "pids_cgroup");
    } else {
        rep->pids_mechanism = "rlimit";
        rep->cgroup[0] = 0;
        x7_sb_gap(rep, X7_WEAKER_NO_PIDS_CGROUP, "pids_cgroup", "pids_cgroup", x7_cg_missing(cg), cg->err);
    }
    if (cg->memory_ok) x7_sb_applied(rep, "memory_cgroup");
}

/*
 * The child joins the groups the monitor made (`cg`, its paths seen under `prefix`: the host's
 * tree before it is detached). Each process moves itself: "0" into v1 `tasks` moves the calling
 * thread without the threadgroup lock (~25 us), where moving another process takes it and waits
 * for an RCU grace period (~10 ms here). Fails closed: the monitor has reported the group.
 */
X7_FN void x7_launch_join_cgroup(const x7_cg *cg, const char *prefix) {
    const char *dirs[3][2] = {{cg->pids_ok ? cg->v2 : "", "cgroup.procs"}, {cg->pids_ok ? cg->pids : "", "tasks"},
                              {cg->memory_ok ? cg->memory : "", "tasks"}};
    for (size_t i = 0; i < 3; i++) {
        char path[1400];
        if (dirs[i][0][0] == 0) continue;
        snprintf(path, sizeof path, "%s%s/%s", prefix, dirs[i][0], dirs[i][1]);
        if (x7_sb_write_file(path, "0") != 0) x7_sb_fail_errno("pids_cgroup", "cannot join the run's cgroup", errno);
    }
}

/* ---------------------------------------------------------------- limits */

/*
 * CPU, core dumps, processes (a second bound next to the cgroup), file size = the policy's write
 * cap (RLIMIT_FSIZE holds for native code and every child; SIGXFSZ is ignored so an oversized write
 * fails with EFBIG instead of killing), address space only when no memory cgroup holds memory.
 * RLIMIT_NOFILE comes last (x7_launch_nofile): building the Landlock domain needs descriptors.
 */
X7_FN void x7_launch_rlimits(x7_sb_report *rep) {
    const x7_policy *pol = &x7_sb.pol;
    uint64_t cpu_s = ((uint64_t)pol->cpu_ms + 999) / 1000;
    x7_sb_rlimit(RLIMIT_CPU, cpu_s, cpu_s + 1, "RLIMIT_CPU");
    if (!pol->core_dumps) x7_sb_rlimit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    x7_sb_rlimit(RLIMIT_NPROC, pol->procs + 1ull, pol->procs + 1ull, "RLIMIT_NPROC"); /* + the init */
    uint64_t fsize = pol->fs.enabled && pol->fs.write_roots.n > 0 ? pol->fs.max_write_bytes : 0;
    x7_sb_rlimit(RLIMIT_FSIZE, fsize, fsize, "RLIMIT_FSIZE");
    if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) x7_sb_fail_errno("rlimits", "SIGXFSZ", errno);
    /* the monitor made the cgroup after the clone: its report says whether memory is held */
    int memory_cgroup = 0;
    for (uint32_t i = 0; i < rep->nrestrictions; i++) memory_cgroup |= strcmp(rep->restrictions[i], "memory_cgroup") == 0;
    if (!memory_cgroup) x7_sb_rlimit(RLIMIT_AS, pol->mem_bytes, pol->mem_bytes, "RLIMIT_AS");
    x7_sb_applied(rep, "rlimits");
}

X7_FN void x7_launch_nofile(void) {
    x7_sb_rlimit(RLIMIT_NOFILE, x7_sb.pol.fds, x7_sb.pol.fds, "RLIMIT_NOFILE");
}

/* ---------------------------------------------------------------- privileges */

/*
 * no_new_privs, then every capability gone for good: root-ness locked out (securebits), the
 * bounding and ambient sets cleared, effective/permitted/inheritable zero. A root inside the
 * user namespace gets nothing back at exec.
 */
X7_FN void x7_launch_drop_privileges(x7_sb_report *rep) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) x7_sb_fail_errno("no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)", errno);
    unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                         SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                         SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    int have_setpcap = prctl(PR_CAPBSET_READ, 8 /* CAP_SETPCAP */, 0, 0, 0) == 1;
    if (have_setpcap && prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0 && getuid() == 0)
        x7_sb_fail_errno("no_new_privs", "prctl(PR_SET_SECUREBITS)", errno);
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct { uint32_t version; int pid; } hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct { uint32_t effective, permitted, inheritable; } data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) != 0) x7_sb_fail_errno("no_new_privs", "capset", errno);
    x7_sb_applied(rep, "no_new_privs");
}

/* ---------------------------------------------------------------- seccomp */

/* Installs the policy's programs in order; a policy without one does not run. */
X7_FN void x7_launch_seccomp(x7_sb_report *rep) {
    const x7_policy *pol = &x7_sb.pol;
    if (pol->filters.n == 0)
        x7_sb_fail("seccomp", "the policy carries no seccomp program", "re-run with an x07 that writes PolicyBlob version 2");
    for (uint32_t i = 0; i < pol->filters.n; i++) {
        struct sock_fprog prog = {(unsigned short)pol->filters.v[i].count, (struct sock_filter *)pol->filters.v[i].insns};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
            x7_sb_fail_errno("seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)", errno);
    }
    x7_sb_applied(rep, "seccomp");
}

/* ---------------------------------------------------------------- verification */

/* The launcher's last check before exec; Landlock is tested by opening "/" (no rule grants it). */
X7_FN void x7_launch_verify(x7_sb_report *rep) {
    const char *gap = x7_sb_confinement_gap();
    if (gap != NULL) x7_sb_fail("verify", gap, NULL);
    int root_is_a_root = 0;
    for (uint32_t i = 0; i < x7_sb.nroots; i++) root_is_a_root |= strcmp(x7_sb.roots[i].path, "/") == 0;
    if (rep->ll.fs_applied && !root_is_a_root) {
        int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            x7_sb_fail("verify", "Landlock did not take effect (\"/\" is still readable)", NULL);
        }
    }
}
#endif
