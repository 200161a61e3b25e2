/* x07-fragment: requires=core,bytes */
/*
 * os_process: exiting, and running child processes with ProcReqV1 / ProcCapsV1 / ProcRespV1
 * (docs/stdlib/os-formats.md). Children are started with posix_spawn in a process group of their
 * own, so a timeout or drop kills the whole group. Captured output and request scratch live in
 * libc memory; only values handed back to the program come from the arena.
 *
 * Sandboxed: children get the effective policy on fd 3 and are remembered for the wall-clock kill;
 * with the in-process checks, the run policy admits each child (sandbox_process) and the child is
 * started with execveat on the descriptor that was checked instead of posix_spawn.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define X7_PROC_POLICY_DENIED 1u
#define X7_PROC_INVALID_REQUEST 2u
#define X7_PROC_SPAWN_FAILED 3u
#define X7_PROC_TIMEOUT 4u
#define X7_PROC_OUTPUT_LIMIT 5u
#define X7_PROC_BAD_HANDLE 6u
#define X7_PROC_IO 7u

#define X7_PROC_F_SIGNALED 1u
#define X7_PROC_F_TIMED_OUT 2u
#define X7_PROC_F_STDOUT_TRUNC 4u
#define X7_PROC_F_STDERR_TRUNC 8u

#define X7_PROC_MAX_HANDLES 64
#define X7_PROC_CHUNK 65536u

/* Growable libc buffer for captured output. */
typedef struct {
    uint8_t *ptr;
    size_t len, cap;
} x7_proc_buf;

typedef struct {
    uint32_t id; /* the handle; 0 = slot free */
    int piped;
    pid_t pid;
    int fd_in, fd_out, fd_err;
    uint8_t *in_data;
    size_t in_len, in_off;
    x7_proc_buf out, err;
    uint64_t out_total, err_total;
    uint32_t max_out, max_err;
    uint64_t deadline_ms; /* CLOCK_MONOTONIC; 0 = no timeout */
    uint32_t flags;
    int exited;
    uint32_t exit_code;
} x7_proc;

static x7_proc x7_procs[X7_PROC_MAX_HANDLES] X7_UNUSED;
static uint32_t x7_proc_last_id X7_UNUSED;

/* Exits at once: the stats line, no output frame. Sandboxed without allow_exit: 1 (denied). */
X7_FN uint32_t x7_os_process_exit(uint32_t code) {
#if X7_SB_CHECKS
    if (!x7_sb.pol.proc.enabled || !x7_sb.pol.proc.allow_exit) {
        x7_msg m;
        m.len = 0;
        x7_msg_u64(&m, code);
        x7_sb_deny("os.process.exit", (const uint8_t *)m.buf, m.len,
                   x7_sb.pol.proc.enabled ? "process.allow_exit" : "process.enabled");
        return X7_PROC_POLICY_DENIED;
    }
#endif
    x7_stats_write();
    _exit((int)(code & 255u));
}

X7_FN uint64_t x7_proc_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

X7_FN void x7_proc_sleep_ms(uint32_t ms) {
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

X7_INLINE void x7_proc_close(int *fd) {
    if (*fd >= 0) (void)close(*fd);
    *fd = -1;
}

/* ---------------------------------------------------------------- request and caps */

X7_INLINE uint32_t x7_proc_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct {
    x7_view v;
    uint32_t pos;
    int bad;
} x7_proc_rd;

X7_FN uint32_t x7_proc_rd_u32(x7_proc_rd *r) {
    if (r->bad || r->v.len - r->pos < 4) {
        r->bad = 1;
        return 0;
    }
    const uint8_t *p = r->v.ptr + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A length-prefixed string; NULs inside make the request invalid. */
X7_FN x7_view x7_proc_rd_str(x7_proc_rd *r) {
    uint32_t n = x7_proc_rd_u32(r);
    if (r->bad || r->v.len - r->pos < n || memchr(r->v.ptr + r->pos, 0, n) != NULL) {
        r->bad = 1;
        return X7_EMPTY_VIEW;
    }
    x7_view s = {r->v.ptr + r->pos, n};
    r->pos += n;
    return s;
}

/* A parsed ProcReqV1: argv, envp and cwd as C strings in one libc block. */
typedef struct {
    char **argv;
    char **envp;
    char *cwd;
    x7_view stdin_data;
    void *mem;
} x7_proc_req;

X7_FN char *x7_proc_put_str(char **cursor, x7_view a, int eq, x7_view b) {
    char *s = *cursor, *c = s;
    memcpy(c, a.ptr, a.len);
    c += a.len;
    if (eq) {
        *c++ = '=';
        memcpy(c, b.ptr, b.len);
        c += b.len;
    }
    *c++ = 0;
    *cursor = c;
    return s;
}

/* Validates the request in a first pass, then copies it into C strings. */
X7_FN uint32_t x7_proc_req_parse(x7_view req, x7_proc_req *out) {
    x7_proc_rd r = {req, 1, 0};
    if (req.len < 1 || req.ptr[0] != 1) return X7_PROC_INVALID_REQUEST;
    uint32_t argc = x7_proc_rd_u32(&r);
    if (r.bad || argc == 0 || argc > req.len / 4) return X7_PROC_INVALID_REQUEST;
    uint64_t strbytes = 0;
    for (uint32_t i = 0; i < argc; i++) {
        x7_view a = x7_proc_rd_str(&r);
        if (i == 0 && a.len == 0) r.bad = 1;
        strbytes += a.len + 1;
    }
    uint32_t envc = x7_proc_rd_u32(&r);
    if (r.bad || envc > req.len / 8) return X7_PROC_INVALID_REQUEST;
    for (uint32_t i = 0; i < envc; i++) {
        x7_view k = x7_proc_rd_str(&r);
        x7_view v = x7_proc_rd_str(&r);
        if (k.len == 0 || memchr(k.ptr, '=', k.len) != NULL) r.bad = 1;
        strbytes += (uint64_t)k.len + v.len + 2;
    }
    x7_view cwd = x7_proc_rd_str(&r);
    uint32_t in_len = x7_proc_rd_u32(&r);
    if (r.bad || req.len - r.pos != in_len) return X7_PROC_INVALID_REQUEST;
    out->stdin_data = (x7_view){req.ptr + r.pos, in_len};
    size_t ptrs = ((size_t)argc + 1 + envc + 1) * sizeof(char *);
    char *mem = (char *)malloc(ptrs + (size_t)strbytes + cwd.len + 1);
    if (mem == NULL) return X7_PROC_SPAWN_FAILED;
    out->mem = mem;
    out->argv = (char **)(void *)mem;
    out->envp = out->argv + argc + 1;
    char *cursor = mem + ptrs;
    r = (x7_proc_rd){req, 5, 0};
    for (uint32_t i = 0; i < argc; i++)
        out->argv[i] = x7_proc_put_str(&cursor, x7_proc_rd_str(&r), 0, X7_EMPTY_VIEW);
    out->argv[argc] = NULL;
    r.pos += 4;
    for (uint32_t i = 0; i < envc; i++) {
        x7_view k = x7_proc_rd_str(&r);
        x7_view v = x7_proc_rd_str(&r);
        out->envp[i] = x7_proc_put_str(&cursor, k, 1, v);
    }
    out->envp[envc] = NULL;
    out->cwd = cwd.len ? x7_proc_put_str(&cursor, cwd, 0, X7_EMPTY_VIEW) : NULL;
    return 0;
}

/* ---------------------------------------------------------------- handles */

X7_FN x7_proc *x7_proc_get(uint32_t h) {
    if (h == 0) return NULL;
    for (int i = 0; i < X7_PROC_MAX_HANDLES; i++)
        if (x7_procs[i].id == h) return &x7_procs[i];
    return NULL;
}

X7_FN void x7_proc_release(x7_proc *p) {
    x7_proc_close(&p->fd_in);
    x7_proc_close(&p->fd_out);
    x7_proc_close(&p->fd_err);
    free(p->in_data);
    free(p->out.ptr);
    free(p->err.ptr);
    memset(p, 0, sizeof *p);
    p->fd_in = p->fd_out = p->fd_err = -1;
}

X7_FN void x7_proc_set_exit(x7_proc *p, int status) {
    p->exited = 1;
    if (WIFSIGNALED(status)) {
        p->exit_code = 128u + (uint32_t)WTERMSIG(status);
        p->flags |= X7_PROC_F_SIGNALED;
    } else {
        p->exit_code = (uint32_t)WEXITSTATUS(status);
    }
}

/* Reaps the child if it has exited (or waits for it when block); 1 once it has. */
X7_FN int x7_proc_reap(x7_proc *p, int block) {
    if (p->exited) return 1;
    int status;
    pid_t r;
    do r = waitpid(p->pid, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == p->pid) x7_proc_set_exit(p, status);
    else if (r < 0) p->exited = 1; /* not our child any more: nothing to wait for */
    return p->exited;
}

/* Kills the child's process group and reaps it. */
X7_FN void x7_proc_kill_reap(x7_proc *p) {
    if (p->exited) return;
    (void)kill(-p->pid, SIGKILL);
    (void)kill(p->pid, SIGKILL);
    (void)x7_proc_reap(p, 1);
}

/* Enforces the timeout; 1 when it has just expired (the child is then killed and reaped). */
X7_FN int x7_proc_check_deadline(x7_proc *p) {
    if (p->exited || p->deadline_ms == 0 || x7_proc_now_ms() < p->deadline_ms) return 0;
    p->flags |= X7_PROC_F_TIMED_OUT;
    x7_proc_kill_reap(p);
    x7_proc_close(&p->fd_in);
    x7_proc_close(&p->fd_out);
    x7_proc_close(&p->fd_err);
    return 1;
}

/* Milliseconds to wait at most: `cap`, shortened by the deadline. */
X7_FN int x7_proc_wait_budget(const x7_proc *p, int cap) {
    if (p->deadline_ms == 0) return cap;
    uint64_t now = x7_proc_now_ms();
    if (now >= p->deadline_ms) return 0;
    uint64_t left = p->deadline_ms - now;
    return cap < 0 || left < (uint64_t)cap ? (int)left : cap;
}

/* Keeps up to max bytes in b; the rest is dropped and flagged. */
X7_FN void x7_proc_keep(x7_proc *p, x7_proc_buf *b, uint32_t max, uint32_t flag, const uint8_t *d,
                        size_t n) {
    size_t room = max > b->len ? max - b->len : 0;
    if (n > room) {
        p->flags |= flag;
        n = room;
    }
    if (n == 0) return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : X7_PROC_CHUNK;
        while (nc < b->len + n) nc *= 2;
        uint8_t *q = (uint8_t *)realloc(b->ptr, nc);
        if (q == NULL) {
            p->flags |= flag;
            return;
        }
        b->ptr = q;
        b->cap = nc;
    }
    memcpy(b->ptr + b->len, d, n);
    b->len += n;
}

/* One poll round of a capturing child: feed stdin, collect output. 1 if anything moved. */
X7_FN int x7_proc_pump(x7_proc *p, int wait_ms) {
    struct pollfd fds[3];
    int *which[3];
    int n = 0;
    if (p->fd_in >= 0) {
        fds[n] = (struct pollfd){p->fd_in, POLLOUT, 0};
        which[n++] = &p->fd_in;
    }
    if (p->fd_out >= 0) {
        fds[n] = (struct pollfd){p->fd_out, POLLIN, 0};
        which[n++] = &p->fd_out;
    }
    if (p->fd_err >= 0) {
        fds[n] = (struct pollfd){p->fd_err, POLLIN, 0};
        which[n++] = &p->fd_err;
    }
    if (n == 0) {
        if (wait_ms > 0) x7_proc_sleep_ms((uint32_t)wait_ms);
        return 0;
    }
    if (poll(fds, (nfds_t)n, wait_ms) <= 0) return 0;
    int moved = 0;
    uint8_t chunk[X7_PROC_CHUNK];
    for (int i = 0; i < n; i++) {
        if (fds[i].revents == 0) continue;
        moved = 1;
        if (which[i] == &p->fd_in) {
            ssize_t w = write(p->fd_in, p->in_data + p->in_off, p->in_len - p->in_off);
            if (w > 0) p->in_off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || p->in_off == p->in_len)
                x7_proc_close(&p->fd_in);
            continue;
        }
        ssize_t r = read(*which[i], chunk, sizeof chunk);
        if (r > 0) {
            if (which[i] == &p->fd_out)
                x7_proc_keep(p, &p->out, p->max_out, X7_PROC_F_STDOUT_TRUNC, chunk, (size_t)r);
            else
                x7_proc_keep(p, &p->err, p->max_err, X7_PROC_F_STDERR_TRUNC, chunk, (size_t)r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            x7_proc_close(which[i]);
        }
    }
    return moved;
}

/*
 * Advances a capturing child by one step of at most wait_ms; 1 once it is finished (exited and
 * its pipes drained of what it wrote; output of lingering grandchildren is not waited for).
 */
X7_FN int x7_proc_advance(x7_proc *p, int wait_ms) {
    if (x7_proc_check_deadline(p)) return 1;
    if (!p->exited) {
        (void)x7_proc_pump(p, x7_proc_wait_budget(p, wait_ms));
        if (x7_proc_check_deadline(p)) return 1;
        if (!x7_proc_reap(p, 0)) return 0;
    }
    /* bounded: a lingering grandchild that keeps writing must not hold us here */
    for (int round = 0; round < 1024 && (p->fd_out >= 0 || p->fd_err >= 0) && x7_proc_pump(p, 0);
         round++) {
    }
    return 1;
}

X7_INLINE uint8_t *x7_proc_put_u32(uint8_t *c, uint32_t x) {
    c[0] = (uint8_t)x;
    c[1] = (uint8_t)(x >> 8);
    c[2] = (uint8_t)(x >> 16);
    c[3] = (uint8_t)(x >> 24);
    return c + 4;
}

/* Builds ProcRespV1 (ok) from a finished capturing child. */
X7_FN x7_bytes x7_proc_resp(const x7_proc *p) {
    uint32_t n = 18u + (uint32_t)p->out.len + (uint32_t)p->err.len;
    uint8_t *b = x7_alloc(n);
    uint8_t *c = b;
    *c++ = 1;
    *c++ = 1;
    c = x7_proc_put_u32(c, p->exit_code);
    c = x7_proc_put_u32(c, p->flags);
    c = x7_proc_put_u32(c, (uint32_t)p->out.len);
    if (p->out.len) x7_memcpy(c, p->out.ptr, p->out.len);
    c = x7_proc_put_u32(c + p->out.len, (uint32_t)p->err.len);
    if (p->err.len) x7_memcpy(c, p->err.ptr, p->err.len);
    return (x7_bytes){b, n};
}

/* The error form of ProcRespV1: tag 0, then the code. */
X7_FN x7_bytes x7_proc_resp_err(uint32_t code) {
    uint8_t *b = x7_alloc(5);
    b[0] = 0;
    (void)x7_proc_put_u32(b + 1, code);
    return (x7_bytes){b, 5};
}

/* ---------------------------------------------------------------- spawning */

X7_FN int x7_proc_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fds[0] = fds[1] = -1;
        return -1;
    }
    return 0;
}

X7_FN void x7_proc_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Writes all of d to a piped child's stdin, waiting for room until the deadline; 0 or a code. */
X7_FN uint32_t x7_proc_write_stdin(x7_proc *p, const uint8_t *d, size_t n) {
    while (n > 0) {
        if (p->fd_in < 0) return X7_PROC_IO;
        ssize_t w = write(p->fd_in, d, n);
        if (w > 0) {
            d += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) return X7_PROC_IO;
        struct pollfd pf = {p->fd_in, POLLOUT, 0};
        (void)poll(&pf, 1, x7_proc_wait_budget(p, -1));
        if (x7_proc_check_deadline(p)) return X7_PROC_TIMEOUT;
    }
    return 0;
}

/* posix_spawn of the request with the pipe ends on 0..2 (and the policy on fd 3); 0 or an errno. */
X7_FN int x7_proc_posix_spawn(pid_t *pid, const x7_proc_req *rq, int in0, int out1, int err1) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int fa_ok = posix_spawn_file_actions_init(&fa) == 0;
    int attr_ok = fa_ok && posix_spawnattr_init(&attr) == 0;
    int err = attr_ok ? 0 : ENOMEM;
    if (attr_ok) {
        sigemptyset(&none);
        sigfillset(&all);
        sigdelset(&all, SIGKILL);
        sigdelset(&all, SIGSTOP);
        err = posix_spawn_file_actions_adddup2(&fa, in0, 0);
        if (!err) err = posix_spawn_file_actions_adddup2(&fa, out1, 1);
        if (!err) err = posix_spawn_file_actions_adddup2(&fa, err1, 2);
#ifdef X07_SANDBOXED
        if (!err && x7_sb.child_blob_fd >= 0) err = posix_spawn_file_actions_adddup2(&fa, x7_sb.child_blob_fd, 3);
#endif
        if (!err && rq->cwd != NULL) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
            err = posix_spawn_file_actions_addchdir_np(&fa, rq->cwd);
#else
            err = ENOSYS;
#endif
        }
        if (!err) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                                           POSIX_SPAWN_SETSIGMASK);
        if (!err) err = posix_spawnattr_setpgroup(&attr, 0);
        if (!err) err = posix_spawnattr_setsigdefault(&attr, &all);
        if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
        if (!err) {
            err = strchr(rq->argv[0], '/') != NULL
                      ? posix_spawn(pid, rq->argv[0], &fa, &attr, rq->argv, rq->envp)
                      : posix_spawnp(pid, rq->argv[0], &fa, &attr, rq->argv, rq->envp);
        }
    }
    if (attr_ok) posix_spawnattr_destroy(&attr);
    if (fa_ok) posix_spawn_file_actions_destroy(&fa);
    return err;
}

X7_FN uint32_t x7_proc_live(void) {
    uint32_t n = 0;
    for (int i = 0; i < X7_PROC_MAX_HANDLES; i++) n += x7_procs[i].id != 0;
    return n;
}

/*
 * Starts the child of a request with pipes on 0, 1 and 2, in a new process group, with default
 * signal dispositions (SIGPIPE included, which the runtime itself ignores). 0 or a code.
 */
X7_FN uint32_t x7_proc_spawn(const char *op, x7_view req, x7_view caps, int piped, x7_proc **out) {
    (void)op;
    if (caps.len < 16 || x7_proc_le32(caps.ptr) != 1) return X7_PROC_INVALID_REQUEST;
    x7_proc *p = NULL;
    for (int i = 0; i < X7_PROC_MAX_HANDLES && p == NULL; i++)
        if (x7_procs[i].id == 0) p = &x7_procs[i];
    if (p == NULL) return X7_PROC_SPAWN_FAILED;
    x7_proc_req rq;
    uint32_t code = x7_proc_req_parse(req, &rq);
    if (code) return code;
    uint32_t max_out = x7_proc_le32(caps.ptr + 4), max_err = x7_proc_le32(caps.ptr + 8);
    uint32_t timeout = x7_proc_le32(caps.ptr + 12);
#if X7_SB_CHECKS
    int exe_fd, cwd_fd;
    code = x7_sb_proc_admit(op, rq.argv, rq.envp, rq.cwd, rq.stdin_data.len, x7_proc_live(), &max_out,
                            &max_err, &timeout, &exe_fd, &cwd_fd);
    if (code) {
        free(rq.mem);
        return code;
    }
#endif
    memset(p, 0, sizeof *p);
    p->fd_in = p->fd_out = p->fd_err = -1;
    p->piped = piped;
    p->max_out = max_out;
    p->max_err = max_err;
    int in[2], o[2], e[2];
    int ok = x7_proc_pipe(in) == 0;
    ok = (x7_proc_pipe(o) == 0) && ok;
    ok = (x7_proc_pipe(e) == 0) && ok;
    int err = ENOMEM;
#if X7_SB_CHECKS
    if (ok) err = x7_sb_proc_exec(&p->pid, rq.argv, rq.envp, in[0], o[1], e[1], exe_fd, cwd_fd);
    close(exe_fd);
    if (cwd_fd >= 0) close(cwd_fd);
#else
    if (ok) err = x7_proc_posix_spawn(&p->pid, &rq, in[0], o[1], e[1]);
#endif
#ifdef X07_SANDBOXED
    if (ok && err == 0) {
        x7_sb.spawns++;
        x7_sb_track_child(p->pid);
    }
#endif
    if (ok) {
        close(in[0]);
        close(o[1]);
        close(e[1]);
    }
    if (!ok || err != 0) {
        if (ok) {
            close(in[1]);
            close(o[0]);
            close(e[0]);
        } else {
            int *fds[6] = {&in[0], &in[1], &o[0], &o[1], &e[0], &e[1]};
            for (int i = 0; i < 6; i++) x7_proc_close(fds[i]);
        }
        free(rq.mem);
        return X7_PROC_SPAWN_FAILED;
    }
    p->fd_in = in[1];
    p->fd_out = o[0];
    p->fd_err = e[0];
    x7_proc_nonblock(p->fd_in);
    x7_proc_nonblock(p->fd_out);
    x7_proc_nonblock(p->fd_err);
    p->deadline_ms = timeout ? x7_proc_now_ms() + timeout : 0;
    p->id = ++x7_proc_last_id;
    if (p->id == 0 || p->id > 0x7fffffffu) p->id = x7_proc_last_id = 1;
    x7_view in_data = rq.stdin_data;
    if (piped) {
        code = x7_proc_write_stdin(p, in_data.ptr, in_data.len);
    } else if (in_data.len == 0) {
        x7_proc_close(&p->fd_in);
    } else if ((p->in_data = (uint8_t *)malloc(in_data.len)) == NULL) {
        code = X7_PROC_SPAWN_FAILED;
    } else {
        memcpy(p->in_data, in_data.ptr, in_data.len);
        p->in_len = in_data.len;
    }
    free(rq.mem);
    if (code) {
        x7_proc_kill_reap(p);
        x7_proc_release(p);
        return code;
    }
    *out = p;
    return 0;
}

/* ---------------------------------------------------------------- builtins */

X7_FN x7_bytes x7_os_process_run_capture_v1(x7_view req, x7_view caps) {
    x7_proc *p;
    uint32_t code = x7_proc_spawn("os.process.run_capture_v1", req, caps, 0, &p);
    if (code) return x7_proc_resp_err(code);
    while (!x7_proc_advance(p, 50)) {
    }
    x7_bytes r = x7_proc_resp(p);
    x7_proc_release(p);
    return r;
}

X7_FN uint32_t x7_proc_spawn_handle(const char *op, x7_view req, x7_view caps, int piped) {
    x7_proc *p;
    uint32_t code = x7_proc_spawn(op, req, caps, piped, &p);
    return code ? 0u - code : p->id;
}

X7_FN uint32_t x7_os_process_spawn_capture_v1(x7_view req, x7_view caps) {
    return x7_proc_spawn_handle("os.process.spawn_capture_v1", req, caps, 0);
}

X7_FN uint32_t x7_os_process_spawn_piped_v1(x7_view req, x7_view caps) {
    return x7_proc_spawn_handle("os.process.spawn_piped_v1", req, caps, 1);
}

/* none while the child runs; then its ProcRespV1 (the handle is released). */
X7_FN x7_opt_bytes x7_os_process_try_join_capture_v1(uint32_t h) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return (x7_opt_bytes){1, x7_proc_resp_err(X7_PROC_BAD_HANDLE)};
    if (p->piped) return (x7_opt_bytes){1, x7_proc_resp_err(X7_PROC_INVALID_REQUEST)};
    if (!x7_proc_advance(p, 1)) return (x7_opt_bytes){0, X7_EMPTY_BYTES};
    x7_bytes r = x7_proc_resp(p);
    x7_proc_release(p);
    return (x7_opt_bytes){1, r};
}

/* 1 exited, 0 running, negative error. */
X7_FN uint32_t x7_os_process_try_wait_v1(uint32_t h) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return 0u - X7_PROC_BAD_HANDLE;
    if (!p->piped) return (uint32_t)x7_proc_advance(p, 0);
    if (x7_proc_check_deadline(p)) return 1;
    return (uint32_t)x7_proc_reap(p, 0);
}

/* Waits for the child (within its timeout) and gives its exit code; the handle stays valid. */
X7_FN uint32_t x7_os_process_take_exit_v1(uint32_t h) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return 0u - X7_PROC_BAD_HANDLE;
    if (!p->piped) {
        while (!x7_proc_advance(p, 50)) {
        }
    } else if (p->deadline_ms == 0) {
        (void)x7_proc_reap(p, 1);
    } else {
        for (uint32_t nap = 1; !x7_proc_check_deadline(p) && !x7_proc_reap(p, 0);) {
            int budget = x7_proc_wait_budget(p, (int)nap);
            x7_proc_sleep_ms((uint32_t)budget);
            if (nap < 50) nap *= 2;
        }
    }
    return p->exit_code;
}

/* Up to max bytes from a piped child's stdout or stderr, blocking; empty at end of stream. */
X7_FN x7_bytes x7_proc_read_stream(uint32_t h, uint32_t max, int is_err) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL || !p->piped || max == 0) return X7_EMPTY_BYTES;
    int *fd = is_err ? &p->fd_err : &p->fd_out;
    uint64_t *total = is_err ? &p->err_total : &p->out_total;
    uint32_t limit = is_err ? p->max_err : p->max_out;
    if (*total >= limit) {
        if (*fd >= 0) p->flags |= is_err ? X7_PROC_F_STDERR_TRUNC : X7_PROC_F_STDOUT_TRUNC;
        return X7_EMPTY_BYTES;
    }
    uint64_t want = max;
    if (want > limit - *total) want = limit - *total;
    if (want > X7_PROC_CHUNK) want = X7_PROC_CHUNK;
    uint8_t chunk[X7_PROC_CHUNK];
    while (*fd >= 0) {
        ssize_t r = read(*fd, chunk, (size_t)want);
        if (r > 0) {
            *total += (uint64_t)r;
            uint8_t *b = x7_alloc((uint32_t)r);
            x7_memcpy(b, chunk, (size_t)r);
            return (x7_bytes){b, (uint32_t)r};
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            x7_proc_close(fd);
            break;
        }
        struct pollfd pf = {*fd, POLLIN, 0};
        (void)poll(&pf, 1, x7_proc_wait_budget(p, -1));
        if (x7_proc_check_deadline(p)) break;
    }
    return X7_EMPTY_BYTES;
}

X7_FN x7_bytes x7_os_process_stdout_read_v1(uint32_t h, uint32_t max) {
    return x7_proc_read_stream(h, max, 0);
}

X7_FN x7_bytes x7_os_process_stderr_read_v1(uint32_t h, uint32_t max) {
    return x7_proc_read_stream(h, max, 1);
}

X7_FN uint32_t x7_os_process_stdin_write_v1(uint32_t h, x7_view chunk) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return X7_PROC_BAD_HANDLE;
    if (!p->piped) return X7_PROC_INVALID_REQUEST;
    return x7_proc_write_stdin(p, chunk.ptr, chunk.len);
}

X7_FN uint32_t x7_os_process_stdin_close_v1(uint32_t h) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return X7_PROC_BAD_HANDLE;
    if (!p->piped) return X7_PROC_INVALID_REQUEST;
    x7_proc_close(&p->fd_in);
    return 0;
}

/* Sends sig (1..64) to the child's process group; 0 once the child has exited. */
X7_FN uint32_t x7_os_process_kill_v1(uint32_t h, uint32_t sig) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return X7_PROC_BAD_HANDLE;
    if (sig == 0 || sig > 64) return X7_PROC_INVALID_REQUEST;
    if (p->exited || x7_proc_reap(p, 0)) return 0;
    if (kill(-p->pid, (int)sig) != 0 && kill(p->pid, (int)sig) != 0 && errno != ESRCH)
        return errno == EINVAL ? X7_PROC_INVALID_REQUEST : X7_PROC_IO;
    return 0;
}

/* Kills a running child's group, reaps it and releases the handle. */
X7_FN uint32_t x7_os_process_drop_v1(uint32_t h) {
    x7_proc *p = x7_proc_get(h);
    if (p == NULL) return X7_PROC_BAD_HANDLE;
    x7_proc_kill_reap(p);
    x7_proc_release(p);
    return 0;
}
