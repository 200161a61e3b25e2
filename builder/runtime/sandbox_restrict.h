/* x07-fragment: requires=core,sandbox_policy,sandbox_report,sandbox_checks,sandbox_landlock,sandbox_seccomp */
/*
 * sandbox_restrict: the start-up order of docs/internals/sandbox.md, one function per step.
 * Every step is required: one that cannot be applied ends the process with
 * `x07: sandbox: cannot apply <step>: <reason>` and status 3, unless the policy's accept_weaker
 * bit for exactly that gap is set (the start-up line then lists it under "weaker").
 */
#ifdef X07_SANDBOXED
#include <fcntl.h>
#include <limits.h>
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
#define X7_WEAKER_NO_USERNS 8u

/* What the start-up line reports. */
typedef struct {
    const char *restrictions[24];
    uint32_t nrestrictions;
    const char *weaker[6];
    uint32_t nweaker;
    const char *pids_mechanism;
    char cgroup[256];
    int have_embedded;
    uint8_t embedded_digest[32];
    x7_ll_result ll;
} x7_sb_report;

/* Defined below (relative paths) and, for programs that narrow their own policy, in
 * launch_narrow.h. */
static void x7_policy_resolve_relative(x7_policy *pol, const char *cwd);
static void x7_policy_create_write_roots(const x7_policy *pol);
#ifdef X07_EMBEDDED_POLICY_RELATIVE
static void x7_narrow_apply(const char *file, const char *cwd);
#endif

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

/* Records one --x07-policy-fd=N / --x07-policy-file=PATH argument; anything else ends with 2. */
X7_FN void x7_sb_policy_arg(const char *a) {
    static const char fd_flag[] = "--x07-policy-fd=";
    static const char file_flag[] = "--x07-policy-file=";
    uint64_t fd;
    x7_sb.handed_count++;
    if (strncmp(a, fd_flag, sizeof fd_flag - 1) == 0) {
        if (x7_parse_u64(a + sizeof fd_flag - 1, &fd) != 0 || fd < 3 || fd > 0x7fffffff)
            x7_sb_fail("load_policy", "--x07-policy-fd needs a descriptor number >= 3", NULL);
        x7_sb.handed_fd = (int)fd;
    } else if (strncmp(a, file_flag, sizeof file_flag - 1) == 0 && a[sizeof file_flag - 1] != 0) {
        x7_sb.handed_path = a + sizeof file_flag - 1;
    } else {
        x7_msg m;
        m.len = 0;
        x7_msg_str(&m, "x07: unknown argument (expected --x07-policy-fd=N or --x07-policy-file=PATH): ");
        x7_msg_data(&m, (const uint8_t *)a, strlen(a));
        m.buf[m.len++] = '\n';
        (void)x7_write_fd(2, m.buf, m.len);
        _exit(2);
    }
}

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
 * fd moved off 3, where children get their policy by dup2 (a dup2 onto itself would keep
 * close-on-exec), close-on-exec, and low: posix_spawn refuses descriptors at or above RLIMIT_NOFILE.
 */
X7_FN int x7_sb_off_fd3(int fd) {
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 4);
    if (moved < 0) x7_sb_fail_errno("open_roots", "cannot keep the policy for child processes", errno);
    close(fd);
    return moved;
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
#ifdef X07_EMBEDDED_POLICY_RELATIVE
    x7_pstr_relative_ok = 1; /* a backend-none bundle: relative paths resolve at start */
#endif
    x7_sb_decode_or_fail(x7_embedded_policy, x7_embedded_policy_len, &embedded, "embedded in the binary");
#ifdef X07_EMBEDDED_POLICY_RELATIVE
    x7_pstr_relative_ok = 0;
    {
        char *cwd = getcwd(NULL, 0);
        if (cwd == NULL) x7_sb_fail_errno("open_roots", "cannot determine the current directory", errno);
        x7_policy_resolve_relative(&embedded, cwd);
        const char *narrow = getenv("X07_BUNDLE_POLICY");
        if (narrow != NULL && narrow[0] != 0) {
            x7_sb.pol = embedded;
            x7_narrow_apply(narrow, cwd); /* launch_narrow.h: x7_sb.pol narrowed */
            embedded = x7_sb.pol;
        }
        free(cwd);
        x7_policy_create_write_roots(&embedded);
    }
#endif
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
    if (blob == NULL) x7_sb_fail("load_policy", "cannot read the policy", why);
    x7_sb_decode_or_fail(blob, len, &handed, source);
    free(blob);
    /* the launcher's sealed memfd (backend os) is handed on to children as it is */
    int sealed = fcntl(fd, 1034 /* F_GET_SEALS */) == (1 | 2 | 4 | 8);
    if (handed.backend == X7_SB_BACKEND_OS && sealed && x7_sb.handed_path == NULL) x7_sb.child_blob_fd = x7_sb_off_fd3(fd);
    else (void)close(fd);
    if (rep->have_embedded) x7_policy_intersect(&embedded, &handed, &x7_sb.pol);
    else x7_sb.pol = handed;
}

/*
 * Closes every descriptor above 2 (the policy's is already closed): Landlock checks opens, not
 * what a launcher or shell may have left open, so nothing inherited may outlive the start-up.
 */
X7_FN void x7_sandbox_close_inherited(void) {
    int keep = x7_sb.child_blob_fd;
    struct rlimit r;
    long max = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY ? (long)r.rlim_cur : 65536;
#ifdef SYS_close_range
    if (keep < 0 && syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
    if (keep >= 3 && (keep == 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1u, 0u) == 0) &&
        syscall(SYS_close_range, (unsigned)keep + 1u, ~0u, 0u) == 0)
        return;
#endif
    for (long fd = 3; fd < max && fd < (1L << 20); fd++)
        if (fd != keep) (void)close((int)fd);
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
 * The effective policy for children, in a sealed memfd they receive as fd 3. Under backend os the
 * launcher's memfd is kept for them (load_policy): a child inherits the kernel layer, and with the
 * policy's RLIMIT_FSIZE a new memfd could not even be written. Under backend none a copy is made.
 * Only needed when the policy lets the program start children.
 */
X7_FN void x7_sandbox_child_blob(void) {
    const x7_policy *pol = &x7_sb.pol;
    if (x7_sb.child_blob_fd >= 0) return;
    if (!pol->proc.enabled || !pol->proc.allow_spawn || !pol->proc.allow_exec) return;
    x7_policy child = *pol;
    child.filters.n = 0; /* the kernel keeps this process's filters for every child anyway */
    x7_sbuf b = {NULL, 0, 0, 0};
    x7_policy_encode(&child, &b);
    int fd = (int)syscall(SYS_memfd_create, "x07-policy", 1u /* MFD_CLOEXEC */ | 2u /* MFD_ALLOW_SEALING */);
    if (b.failed || fd < 0 || x7_write_fd(fd, b.p, b.len) != 0)
        x7_sb_fail("open_roots", "cannot prepare the policy for child processes", NULL);
    free(b.p);
    /* F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: no child can widen it for another */
    (void)fcntl(fd, 1033 /* F_ADD_SEALS */, 1 | 2 | 4 | 8);
    x7_sb.child_blob_fd = x7_sb_off_fd3(fd);
}

/* ---------------------------------------------------------------- helpers of the launcher's steps */

/* Lowers a limit (never raises one): soft and hard at most the current hard limit. */
X7_FN void x7_sb_rlimit(int res, uint64_t soft, uint64_t hard, const char *name) {
    struct rlimit cur;
    if (getrlimit(res, &cur) != 0) x7_sb_fail_errno("rlimits", name, errno);
    rlim_t h = cur.rlim_max != RLIM_INFINITY && cur.rlim_max < hard ? cur.rlim_max : (rlim_t)hard;
    rlim_t s = soft < h ? (rlim_t)soft : h;
    struct rlimit nl = {s, h};
    if (setrlimit(res, &nl) != 0) x7_sb_fail_errno("rlimits", name, errno);
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

/* Networking off: a fresh network namespace (only a down loopback). */
X7_FN void x7_restrict_network(x7_sb_report *rep) {
    if (X7_SB_NET_ON(&x7_sb.pol)) return;
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

X7_FN void x7_restrict_landlock(x7_sb_report *rep) {
    const char *why = NULL;
    int e = 0;
    int want_net = 1;
    if (x7_landlock_apply(&x7_sb.pol, want_net, &rep->ll, &why, &e) != 0) {
        if (rep->ll.fs_applied || x7_ll_abi() >= 1) x7_sb_fail("landlock", why, e ? strerror(e) : NULL);
        x7_sb_gap(rep, X7_WEAKER_NO_LANDLOCK, "landlock_fs", "landlock", why, e);
        if (X7_SB_NET_ON(&x7_sb.pol))
            x7_sb_gap(rep, X7_WEAKER_NO_LANDLOCK_NET, "landlock_net", "landlock", why, e);
        return;
    }
    x7_sb_applied(rep, "landlock_fs");
    if (rep->ll.net_applied) x7_sb_applied(rep, "landlock_net");
    else if (X7_SB_NET_ON(&x7_sb.pol))
        x7_sb_gap(rep, X7_WEAKER_NO_LANDLOCK_NET, "landlock_net", "landlock",
                  "the kernel's Landlock has no network rules (ABI < 4)", 0);
}

/*
 * Whether this process is confined: seccomp in filter mode, no_new_privs, no capability in any
 * set. Asked of the kernel with prctl and capget, which the seccomp programs allow. NULL when
 * confined, else what is missing. The launcher checks it before exec, the program at start.
 */
X7_FN const char *x7_sb_confinement_gap(void) {
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2) return "no seccomp filter is in force";
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return "no_new_privs is not set";
    struct { uint32_t version; int pid; } hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct { uint32_t effective, permitted, inheritable; } data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0) return "capget failed";
    if (data[0].effective | data[1].effective | data[0].permitted | data[1].permitted | data[0].inheritable |
        data[1].inheritable)
        return "the process still holds capabilities";
    if (prctl(PR_CAPBSET_READ, 21 /* CAP_SYS_ADMIN */, 0, 0, 0) == 1) return "the bounding set still holds CAP_SYS_ADMIN";
    return NULL;
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

/* ---------------------------------------------------------------- relative paths */

/*
 * A sealed bundle's policy (launch_sealed.h) and a backend-none bundle's embedded one keep
 * relative paths relative; they resolve against the working directory at start, and missing
 * write roots are created (docs/bundling.md).
 */
/* `cwd` joined with the relative normalised `rel`, ".." applied lexically (never above "/"). */
X7_FN char *x7_path_join_lexical(const char *cwd, const char *rel) {
    size_t clen = strlen(cwd), rlen = strlen(rel);
    char *out = (char *)malloc(clen + rlen + 3);
    if (out == NULL) x7_sb_fail("load_policy", "out of memory", NULL);
    memcpy(out, cwd, clen + 1);
    size_t n = clen == 1 ? 0 : clen; /* "/" keeps no trailing component */
    for (const char *c = rel; *c;) {
        size_t k = strcspn(c, "/");
        if (k == 0) {
            /* an empty component ("a//b", a leading or trailing "/"): nothing to add */
        } else if (k == 2 && c[0] == '.' && c[1] == '.') {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
        } else if (!(k == 1 && c[0] == '.')) {
            out[n++] = '/';
            memcpy(out + n, c, k);
            n += k;
        }
        c += k;
        if (*c == '/') c++;
    }
    if (n == 0) out[n++] = '/';
    out[n] = 0;
    return out;
}

X7_FN void x7_pstrs_resolve_relative(x7_pstrs *list, const char *cwd) {
    for (uint32_t i = 0; i < list->n; i++) {
        if (list->v[i].s[0] == '/') continue;
        char *abs = x7_path_join_lexical(cwd, list->v[i].s);
        free(list->v[i].s);
        list->v[i].s = abs;
        list->v[i].n = (uint32_t)strlen(abs);
    }
}


/* Every relative path of `pol` made absolute against `cwd`. */
X7_FN void x7_policy_resolve_relative(x7_policy *pol, const char *cwd) {
    x7_pstrs_resolve_relative(&pol->fs.read_roots, cwd);
    x7_pstrs_resolve_relative(&pol->fs.write_roots, cwd);
    x7_pstrs_resolve_relative(&pol->proc.allow_execs, cwd);
    x7_pstrs_resolve_relative(&pol->proc.allow_exec_prefixes, cwd);
    x7_pstrs_resolve_relative(&pol->proc.allow_cwd_roots, cwd);
    x7_pstrs_resolve_relative(&pol->db.sqlite_paths, cwd);
}

/* mkdir -p of every component of `path` (absolute) below the current root. */
X7_FN int x7_mkdirs(const char *path, mode_t mode) {
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* mkdir -p of every write root that does not exist yet. */
X7_FN void x7_policy_create_write_roots(const x7_policy *pol) {
    for (uint32_t i = 0; pol->fs.enabled && i < pol->fs.write_roots.n; i++)
        if (x7_mkdirs(pol->fs.write_roots.v[i].s, 0777) != 0)
            x7_sb_fail("open_roots", pol->fs.write_roots.v[i].s, strerror(errno));
}

/* ---------------------------------------------------------------- x7_os_startup */

#define X7_SB_NOT_CONFINED                                                                         \
    "this program was built for run-os-sandboxed with backend os and must be started by x07's "   \
    "launcher (`x07 run --profile sandbox`)"

/*
 * The program's start-up: load the policy for the in-process checks and, for backend os, refuse
 * to run unless the launcher already confined this process. Nothing here confines: code linked
 * into the program (a package's C constructor, an interposed libc symbol) runs before it.
 */
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
        const char *gap = x7_sb_confinement_gap();
        if (gap != NULL) x7_sb_fail("verify", X7_SB_NOT_CONFINED, gap);
        return; /* the launcher wrote the start-up line */
    }
#ifndef X07_BUNDLE_NAME
    x7_sandbox_report_line(&rep); /* a bundle's stderr is the program's */
#endif
}
#endif
