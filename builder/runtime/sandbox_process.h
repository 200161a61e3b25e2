/* x07-fragment: requires=core,sandbox_checks,sandbox_report */
/*
 * sandbox_process: the run policy for starting children. Admission checks counters, sizes,
 * argument patterns, environment keys and the working directory, then resolves argv[0] (PATH,
 * from the child's working directory when it has one), opens it and reads back the canonical path
 * of what was opened, which must be an allowed executable or lie beneath an allowed prefix. The
 * child is then started with execveat on that very descriptor, so nothing can be swapped between
 * the check and the exec. Children get the effective policy on fd 3.
 */
#ifdef X07_SANDBOXED
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define X7_SB_PROC_DENIED 1u
#define X7_SB_PROC_SPAWN_FAILED 3u

/* The canonical path of an open descriptor (what the kernel resolved); 0 or -1. */
X7_FN int x7_sb_fd_path(int fd, char *out, size_t cap) {
    char link[40];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1 || out[0] != '/') return -1;
    out[n] = 0;
    return 0;
}

/* Opens argv0 as a program: a path (from dirfd), or the first executable file of that name in PATH. */
X7_FN int x7_sb_open_program(int dirfd, const char *argv0) {
    if (strchr(argv0, '/') != NULL) return openat(dirfd, argv0, O_PATH | O_CLOEXEC);
    const char *dirs = x7_sb.search_path != NULL ? x7_sb.search_path : "/usr/bin:/bin";
    char cand[4096];
    for (const char *d = dirs;;) {
        const char *end = strchr(d, ':');
        size_t dlen = end != NULL ? (size_t)(end - d) : strlen(d);
        int n = dlen == 0 ? snprintf(cand, sizeof cand, "%s", argv0)
                          : snprintf(cand, sizeof cand, "%.*s/%s", (int)dlen, d, argv0);
        if (n > 0 && (size_t)n < sizeof cand) {
            int fd = openat(dirfd, cand, O_PATH | O_CLOEXEC);
            struct stat st;
            if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return fd;
            if (fd >= 0) close(fd);
        }
        if (end == NULL) break;
        d = end + 1;
    }
    errno = ENOENT;
    return -1;
}

X7_FN int x7_sb_exec_allowed(const char *canonical) {
    const __typeof__(x7_sb.pol.proc) *pp = &x7_sb.pol.proc;
    size_t n = strlen(canonical);
    if (x7_sb_has(&pp->allow_execs, (const uint8_t *)canonical, n)) return 1;
    for (uint32_t i = 0; i < pp->allow_exec_prefixes.n; i++) {
        const x7_pstr *pre = &pp->allow_exec_prefixes.v[i];
        if (n > pre->n && x7_sb_beneath(pre->s, pre->n, canonical, n)) return 1;
    }
    return 0;
}

/* The first size, pattern or key rule the request breaks, or NULL. */
X7_FN const char *x7_sb_proc_request_rule(char *const *argv, char *const *envp, size_t stdin_len) {
    const __typeof__(x7_sb.pol.proc) *pp = &x7_sb.pol.proc;
    uint32_t argc = 0, envc = 0;
    for (; argv[argc] != NULL; argc++) {
        if (strlen(argv[argc]) > pp->max_arg_bytes) return "process.max_arg_bytes";
        if (argc > 0 && !x7_sb_args_match(&pp->allow_args_regex_lite, argv[argc]))
            return "process.allow_args_regex_lite";
    }
    if (argc > pp->max_args) return "process.max_args";
    for (; envp[envc] != NULL; envc++) {
        const char *eq = strchr(envp[envc], '=');
        size_t klen = (size_t)(eq - envp[envc]);
        if (klen > pp->max_env_key_bytes) return "process.max_env_key_bytes";
        if (strlen(eq + 1) > pp->max_env_val_bytes) return "process.max_env_val_bytes";
        if (!x7_sb_has(&pp->allow_env_keys, (const uint8_t *)envp[envc], klen)) return "process.allow_env_keys";
    }
    if (envc > pp->max_env) return "process.max_env";
    if (stdin_len > pp->max_stdin_bytes) return "process.max_stdin_bytes";
    return NULL;
}

X7_FN uint32_t x7_sb_proc_refuse(const char *op, const char *target, const char *rule, int *fd_a, int *fd_b) {
    x7_sb_deny(op, (const uint8_t *)target, strlen(target), rule);
    if (*fd_a >= 0) close(*fd_a);
    if (*fd_b >= 0) close(*fd_b);
    *fd_a = *fd_b = -1;
    return X7_SB_PROC_DENIED;
}

/*
 * Decides whether a child may start. On success *exe_fd (and *cwd_fd when cwd is set) are open
 * descriptors for the checked program and directory, and the output caps and timeout are lowered
 * to the policy's ceilings. 0, X7_SB_PROC_DENIED (recorded) or X7_SB_PROC_SPAWN_FAILED.
 */
X7_FN uint32_t x7_sb_proc_admit(const char *op, char *const *argv, char *const *envp, const char *cwd,
                                size_t stdin_len, uint32_t live, uint32_t *max_out, uint32_t *max_err,
                                uint32_t *timeout, int *exe_fd, int *cwd_fd) {
    const __typeof__(x7_sb.pol.proc) *pp = &x7_sb.pol.proc;
    *exe_fd = *cwd_fd = -1;
    const char *rule = !pp->enabled                     ? "process.enabled"
                       : !pp->allow_spawn               ? "process.allow_spawn"
                       : !pp->allow_exec                ? "process.allow_exec"
                       : x7_sb.spawns >= pp->max_spawns ? "process.max_spawns"
                       : live >= pp->max_live           ? "process.max_live"
                                                        : x7_sb_proc_request_rule(argv, envp, stdin_len);
    if (rule != NULL) return x7_sb_proc_refuse(op, argv[0], rule, exe_fd, cwd_fd);
    char canonical[4096];
    if (cwd != NULL) {
        if (!pp->allow_cwd) return x7_sb_proc_refuse(op, cwd, "process.allow_cwd", exe_fd, cwd_fd);
        *cwd_fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (*cwd_fd < 0 || x7_sb_fd_path(*cwd_fd, canonical, sizeof canonical) != 0) {
            if (*cwd_fd >= 0) close(*cwd_fd);
            *cwd_fd = -1;
            return X7_SB_PROC_SPAWN_FAILED;
        }
        int ok = 0;
        for (uint32_t i = 0; i < pp->allow_cwd_roots.n && !ok; i++)
            ok = x7_sb_beneath(pp->allow_cwd_roots.v[i].s, pp->allow_cwd_roots.v[i].n, canonical, strlen(canonical));
        if (!ok) return x7_sb_proc_refuse(op, canonical, "process.allow_cwd_roots", exe_fd, cwd_fd);
    }
    *exe_fd = x7_sb_open_program(*cwd_fd >= 0 ? *cwd_fd : AT_FDCWD, argv[0]);
    if (*exe_fd < 0 || x7_sb_fd_path(*exe_fd, canonical, sizeof canonical) != 0) {
        /* nothing to run: refused like any program that is not allowed */
        return x7_sb_proc_refuse(op, argv[0], "process.allow_execs", exe_fd, cwd_fd);
    }
    if (strlen(canonical) > pp->max_exe_bytes || !x7_sb_exec_allowed(canonical)) {
        char target[4096 + 8];
        snprintf(target, sizeof target, "%.2000s => %.2000s", argv[0], canonical);
        return x7_sb_proc_refuse(op, target,
                                 strlen(canonical) > pp->max_exe_bytes ? "process.max_exe_bytes" : "process.allow_execs",
                                 exe_fd, cwd_fd);
    }
    if (*max_out > pp->max_stdout_bytes) *max_out = pp->max_stdout_bytes;
    if (*max_err > pp->max_stderr_bytes) *max_err = pp->max_stderr_bytes;
    if (*max_out > pp->max_total_bytes) *max_out = pp->max_total_bytes;
    if (*max_err > pp->max_total_bytes - *max_out) *max_err = pp->max_total_bytes - *max_out;
    if (*timeout == 0 || *timeout > pp->max_runtime_ms) *timeout = pp->max_runtime_ms;
    return 0;
}

/*
 * fork, then in the child: own process group, default signals, the pipes on 0..2, the policy on
 * fd 3, the checked directory, execveat of the checked descriptor. 0 or an errno (the child's exec
 * failure comes back through a close-on-exec pipe).
 */
X7_FN int x7_sb_proc_exec(pid_t *pid, char *const *argv, char *const *envp, int in0, int out1,
                          int err1, int exe_fd, int cwd_fd) {
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0) return errno;
    pid_t c = fork();
    if (c < 0) {
        int e = errno;
        close(ep[0]);
        close(ep[1]);
        return e;
    }
    if (c == 0) {
        (void)setpgid(0, 0);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < 65; sig++) (void)sigaction(sig, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        int ok = dup2(in0, 0) >= 0 && dup2(out1, 1) >= 0 && dup2(err1, 2) >= 0 &&
                 (x7_sb.child_blob_fd < 0 || dup2(x7_sb.child_blob_fd, 3) >= 0) &&
                 (cwd_fd < 0 || fchdir(cwd_fd) == 0);
        if (ok) syscall(SYS_execveat, exe_fd, "", argv, envp, AT_EMPTY_PATH);
        int e = errno;
        if (write(ep[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    (void)setpgid(c, c);
    close(ep[1]);
    int e = 0;
    ssize_t r;
    do r = read(ep[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    if (r == (ssize_t)sizeof e) {
        (void)waitpid(c, NULL, 0);
        return e != 0 ? e : ECHILD;
    }
    *pid = c;
    return 0;
}
#endif
