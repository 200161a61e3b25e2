/* x07-fragment: requires=core */
/*
 * sandbox_policy: PolicyBlob version 3 (docs/internals/sandbox.md) — a strict decoder (anything that
 * does not parse exactly is refused), the intersection of two policies (whoever starts a binary
 * can only narrow what is embedded in it) and an encoder for the blob handed to children.
 * Policy strings are NUL-terminated copies in libc memory; they live as long as the process.
 */
#ifdef X07_SANDBOXED
#include <stdlib.h>

/* A cursor over a blob; `why` and `field` say what went wrong, `pos` where. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *field;
    const char *why;       /* the first problem; NULL while all is well */
    const char *why_field; /* the field being read when it was found */
    size_t why_pos;        /* and where */
} x7_pr;

/* The `db` part (sandbox_policy_db.h). */
typedef struct x7_sbuf_s x7_sbuf;
static void x7_pr_db(x7_pr *r, x7_policy *pol);
static void x7_policy_db_intersect(const x7_policy *a, const x7_policy *b, x7_policy *out);
static void x7_pw_db(x7_sbuf *b, const x7_policy *pol);

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not valid UTF-8. */
X7_FN size_t x7_utf8_seq(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* What a string of a policy must look like. */
#define X7_PSTR_ANY 0
#define X7_PSTR_PATH 1 /* absolute, normalised, no trailing slash */
#define X7_PSTR_HOST 2 /* non-empty, lowercase, no spaces or ';' */
#define X7_PSTR_KEY 3  /* non-empty, no '=' */

X7_FN void x7_pr_fail(x7_pr *r, const char *why) {
    if (r->why != NULL) return;
    r->why = why;
    r->why_field = r->field;
    r->why_pos = r->pos;
}

X7_FN uint32_t x7_pr_u32(x7_pr *r) {
    if (r->why != NULL) return 0;
    if (r->len - r->pos < 4) {
        x7_pr_fail(r, "the blob ends early");
        return 0;
    }
    const uint8_t *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

X7_FN uint64_t x7_pr_u64(x7_pr *r) {
    uint64_t lo = x7_pr_u32(r);
    return lo | (uint64_t)x7_pr_u32(r) << 32;
}

X7_FN uint32_t x7_pr_bool(x7_pr *r, const char *field) {
    uint32_t v = x7_pr_u32(r);
    if (v > 1 && r->why == NULL) {
        r->field = field;
        x7_pr_fail(r, "a boolean is neither 0 nor 1");
    }
    return v;
}

/* Whether s is an absolute path without empty, "." or ".." components or a trailing slash. */
X7_FN int x7_path_is_normal(const char *s, uint32_t n) {
    if (n == 0 || s[0] != '/') return 0;
    if (n == 1) return 1;
    if (s[n - 1] == '/') return 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && s[j] != '/') j++;
        uint32_t clen = j - i - 1;
        const char *c = s + i + 1;
        if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        i = j;
    }
    return 1;
}

/*
 * Whether s is a normalised relative path: ".", or components without empty or "." ones where
 * ".." only leads, no trailing slash. Only a sealed bundle's own policy may hold these (its roots
 * resolve against the working directory at start, docs/bundling.md); the launcher makes them
 * absolute before anything reads them.
 */
X7_FN int x7_path_is_relative_normal(const char *s, uint32_t n) {
    if (n == 0 || s[0] == '/' || s[n - 1] == '/') return 0;
    if (n == 1 && s[0] == '.') return 1;
    int leading = 1;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && s[j] != '/') j++;
        uint32_t clen = j - i;
        const char *c = s + i;
        int dotdot = clen == 2 && c[0] == '.' && c[1] == '.';
        if (clen == 0 || (clen == 1 && c[0] == '.') || (dotdot && !leading)) return 0;
        if (!dotdot) leading = 0;
        i = j + 1;
    }
    return 1;
}

/* Set only by a sealed launcher while it decodes its own policy. */
static int x7_pstr_relative_ok X7_UNUSED;

X7_FN int x7_pstr_valid(const char *s, uint32_t n, int kind) {
    switch (kind) {
    case X7_PSTR_PATH: return x7_path_is_normal(s, n) || (x7_pstr_relative_ok && x7_path_is_relative_normal(s, n));
    case X7_PSTR_HOST:
        if (n == 0 || n > 255) return 0;
        for (uint32_t i = 0; i < n; i++)
            if ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ' ' || s[i] == ';' || s[i] == '\t' ||
                s[i] == '\n' || s[i] == '\r' || s[i] == '\f')
                return 0;
        return 1;
    case X7_PSTR_KEY: return n > 0 && memchr(s, '=', n) == NULL;
    default: return 1;
    }
}

X7_FN x7_pstr x7_pr_str(x7_pr *r, int kind) {
    x7_pstr out = {NULL, 0};
    uint32_t n = x7_pr_u32(r);
    if (r->why != NULL) return out;
    if (r->len - r->pos < n) {
        x7_pr_fail(r, "a string runs past the end of the blob");
        return out;
    }
    const char *s = (const char *)(r->p + r->pos);
    if (memchr(s, 0, n) != NULL) {
        x7_pr_fail(r, "a string contains a NUL byte");
        return out;
    }
    for (uint32_t i = 0; i < n;) {
        size_t len = x7_utf8_seq((const uint8_t *)s + i, n - i);
        if (len == 0) {
            x7_pr_fail(r, "a string is not UTF-8");
            return out;
        }
        i += (uint32_t)len;
    }
    if (!x7_pstr_valid(s, n, kind)) {
        x7_pr_fail(r, kind == X7_PSTR_PATH   ? "a path is not absolute and normalised"
                      : kind == X7_PSTR_HOST ? "a host is empty, too long, not lowercase or has spaces"
                                             : "a key is empty or contains '='");
        return out;
    }
    out.s = (char *)malloc((size_t)n + 1);
    if (out.s == NULL) {
        x7_pr_fail(r, "out of memory");
        return out;
    }
    memcpy(out.s, s, n);
    out.s[n] = 0;
    out.n = n;
    r->pos += n;
    return out;
}

/* A list count that cannot be larger than what is left (every item takes at least 4 bytes). */
X7_FN uint32_t x7_pr_count(x7_pr *r) {
    uint32_t n = x7_pr_u32(r);
    if (r->why == NULL && n > (r->len - r->pos) / 4) {
        x7_pr_fail(r, "a list count runs past the end of the blob");
        return 0;
    }
    return n;
}

X7_FN x7_pstrs x7_pr_strs(x7_pr *r, const char *field, int kind) {
    x7_pstrs out = {NULL, 0};
    if (r->why != NULL) return out;
    r->field = field;
    uint32_t n = x7_pr_count(r);
    if (r->why != NULL || n == 0) return out;
    out.v = (x7_pstr *)calloc(n, sizeof *out.v);
    if (out.v == NULL) {
        x7_pr_fail(r, "out of memory");
        return out;
    }
    for (uint32_t i = 0; i < n && r->why == NULL; i++) out.v[out.n++] = x7_pr_str(r, kind);
    return out;
}

X7_FN void x7_pr_hosts(x7_pr *r, x7_policy *pol) {
    r->field = "net.hosts";
    uint32_t n = x7_pr_count(r);
    if (r->why != NULL || n == 0) return;
    pol->net.hosts = (x7_phost *)calloc(n, sizeof *pol->net.hosts);
    if (pol->net.hosts == NULL) {
        x7_pr_fail(r, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < n && r->why == NULL; i++) {
        x7_phost *h = &pol->net.hosts[pol->net.nhosts++];
        h->host = x7_pr_str(r, X7_PSTR_HOST);
        uint32_t np = x7_pr_count(r);
        if (r->why != NULL) return;
        if (np == 0) {
            x7_pr_fail(r, "a host has no ports");
            return;
        }
        h->ports = (uint32_t *)calloc(np, sizeof *h->ports);
        if (h->ports == NULL) {
            x7_pr_fail(r, "out of memory");
            return;
        }
        for (uint32_t j = 0; j < np && r->why == NULL; j++) {
            uint32_t port = x7_pr_u32(r);
            if (r->why == NULL && (port == 0 || port > 65535)) x7_pr_fail(r, "a port is not in 1..65535");
            h->ports[h->nports++] = port;
        }
    }
}

/* `seccomp`: a list of programs, each a u32 instruction count and 8 bytes per instruction. */
X7_FN void x7_pr_filters(x7_pr *r, x7_policy *pol) {
    r->field = "seccomp";
    uint32_t n = x7_pr_u32(r);
        /* at most half the room per blob, so an intersection of two always keeps every program */
    if (r->why == NULL && n > X7_SB_MAX_FILTERS / 2) x7_pr_fail(r, "more than 4 seccomp programs");
    for (uint32_t i = 0; i < n && r->why == NULL; i++) {
        uint32_t count = x7_pr_u32(r);
        if (r->why != NULL) return;
        if (count == 0 || count > X7_SB_MAX_FILTER_INSNS) {
            x7_pr_fail(r, "a seccomp program needs 1 to 4096 instructions");
            return;
        }
        if (r->len - r->pos < (size_t)count * 8u) {
            x7_pr_fail(r, "the blob ends early");
            return;
        }
        uint8_t *insns = (uint8_t *)malloc((size_t)count * 8u);
        if (insns == NULL) {
            x7_pr_fail(r, "out of memory");
            return;
        }
        memcpy(insns, r->p + r->pos, (size_t)count * 8u);
        r->pos += (size_t)count * 8u;
        pol->filters.v[pol->filters.n].insns = insns;
        pol->filters.v[pol->filters.n].count = count;
        pol->filters.n++;
    }
}

/*
 * Decodes a whole PolicyBlobV1 into pol (zeroed first). 0, or -1 with r->why / r->why_field /
 * r->why_pos describing the first problem.
 */
X7_FN int x7_policy_decode(const uint8_t *p, size_t len, x7_policy *pol, x7_pr *r) {
    *r = (x7_pr){p, len, 0, "header", NULL, NULL, 0};
    memset(pol, 0, sizeof *pol);
    if (len < 4 || memcmp(p, "X7P1", 4) != 0) {
        x7_pr_fail(r, "bad magic (expected X7P1)");
        return -1;
    }
    r->pos = 4;
    if (x7_pr_u32(r) != 3) x7_pr_fail(r, "unknown version (expected 3)");
    r->field = "backend";
    pol->backend = x7_pr_u32(r);
    if (pol->backend > X7_SB_BACKEND_OS) x7_pr_fail(r, "unknown backend (expected 0 or 1)");
    r->field = "accept_weaker";
    pol->accept_weaker = x7_pr_u32(r);
    if (pol->accept_weaker & ~15u) x7_pr_fail(r, "unknown bits");
    r->field = "digest";
    if (r->why == NULL && r->len - r->pos < 32) x7_pr_fail(r, "the blob ends early");
    if (r->why != NULL) return -1;
    memcpy(pol->digest, p + r->pos, 32);
    r->pos += 32;

    r->field = "limits";
    pol->cpu_ms = x7_pr_u32(r);
    pol->wall_ms = x7_pr_u32(r);
    pol->mem_bytes = x7_pr_u64(r);
    pol->fds = x7_pr_u32(r);
    pol->procs = x7_pr_u32(r);
    pol->core_dumps = x7_pr_bool(r, "limits.core_dumps");

    r->field = "fs";
    pol->fs.enabled = x7_pr_bool(r, "fs.enabled");
    pol->fs.deny_hidden = x7_pr_bool(r, "fs.deny_hidden");
    pol->fs.allow_symlinks = x7_pr_bool(r, "fs.allow_symlinks");
    pol->fs.allow_mkdir = x7_pr_bool(r, "fs.allow_mkdir");
    pol->fs.allow_remove = x7_pr_bool(r, "fs.allow_remove");
    pol->fs.allow_rename = x7_pr_bool(r, "fs.allow_rename");
    pol->fs.allow_walk = x7_pr_bool(r, "fs.allow_walk");
    pol->fs.allow_glob = x7_pr_bool(r, "fs.allow_glob");
    pol->fs.max_read_bytes = x7_pr_u32(r);
    pol->fs.max_write_bytes = x7_pr_u32(r);
    pol->fs.max_entries = x7_pr_u32(r);
    pol->fs.max_depth = x7_pr_u32(r);
    pol->fs.read_roots = x7_pr_strs(r, "fs.read_roots", X7_PSTR_PATH);
    pol->fs.write_roots = x7_pr_strs(r, "fs.write_roots", X7_PSTR_PATH);

    r->field = "net";
    pol->net.enabled = x7_pr_bool(r, "net.enabled");
    pol->net.allow_dns = x7_pr_bool(r, "net.allow_dns");
    pol->net.allow_tcp = x7_pr_bool(r, "net.allow_tcp");
    pol->net.allow_udp = x7_pr_bool(r, "net.allow_udp");
    x7_pr_hosts(r, pol);

    r->field = "env";
    pol->env.enabled = x7_pr_bool(r, "env.enabled");
    pol->env.allow_keys = x7_pr_strs(r, "env.allow_keys", X7_PSTR_KEY);
    pol->env.deny_keys = x7_pr_strs(r, "env.deny_keys", X7_PSTR_KEY);

    r->field = "time";
    pol->time.enabled = x7_pr_bool(r, "time.enabled");
    pol->time.allow_monotonic = x7_pr_bool(r, "time.allow_monotonic");
    pol->time.allow_wall_clock = x7_pr_bool(r, "time.allow_wall_clock");
    pol->time.allow_sleep = x7_pr_bool(r, "time.allow_sleep");
    pol->time.max_sleep_ms = x7_pr_u32(r);
    pol->time.allow_local_tzid = x7_pr_bool(r, "time.allow_local_tzid");

    r->field = "process";
    pol->proc.enabled = x7_pr_bool(r, "process.enabled");
    pol->proc.allow_spawn = x7_pr_bool(r, "process.allow_spawn");
    pol->proc.allow_exec = x7_pr_bool(r, "process.allow_exec");
    pol->proc.allow_exit = x7_pr_bool(r, "process.allow_exit");
    r->field = "process";
    pol->proc.max_live = x7_pr_u32(r);
    pol->proc.max_spawns = x7_pr_u32(r);
    pol->proc.max_runtime_ms = x7_pr_u32(r);
    pol->proc.allow_execs = x7_pr_strs(r, "process.allow_execs", X7_PSTR_PATH);
    pol->proc.allow_exec_prefixes = x7_pr_strs(r, "process.allow_exec_prefixes", X7_PSTR_PATH);
    pol->proc.allow_args_regex_lite = x7_pr_strs(r, "process.allow_args_regex_lite", X7_PSTR_ANY);
    pol->proc.allow_env_keys = x7_pr_strs(r, "process.allow_env_keys", X7_PSTR_KEY);
    r->field = "process";
    uint32_t *caps[] = {&pol->proc.max_exe_bytes,     &pol->proc.max_args,
                        &pol->proc.max_arg_bytes,     &pol->proc.max_env,
                        &pol->proc.max_env_key_bytes, &pol->proc.max_env_val_bytes,
                        &pol->proc.max_stdout_bytes,  &pol->proc.max_stderr_bytes,
                        &pol->proc.max_total_bytes,   &pol->proc.max_stdin_bytes};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) *caps[i] = x7_pr_u32(r);
    pol->proc.kill_on_drop = x7_pr_bool(r, "process.kill_on_drop");
    pol->proc.kill_tree = x7_pr_bool(r, "process.kill_tree");
    pol->proc.allow_cwd = x7_pr_bool(r, "process.allow_cwd");
    pol->proc.allow_cwd_roots = x7_pr_strs(r, "process.allow_cwd_roots", X7_PSTR_PATH);
    x7_pr_db(r, pol);
    x7_pr_filters(r, pol);

    if (r->why != NULL) return -1;
    r->field = "end";
    if (r->len - r->pos < 4 || memcmp(p + r->pos, "X7PE", 4) != 0) {
        x7_pr_fail(r, "missing end marker X7PE");
        return -1;
    }
    r->pos += 4;
    if (r->pos != r->len) {
        x7_pr_fail(r, "trailing bytes after the end marker");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- intersection */

X7_INLINE uint32_t x7_min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

X7_FN int x7_pstr_eq(const x7_pstr *a, const x7_pstr *b) {
    return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
}

X7_FN int x7_pstrs_contains(const x7_pstrs *l, const x7_pstr *s) {
    for (uint32_t i = 0; i < l->n; i++)
        if (x7_pstr_eq(&l->v[i], s)) return 1;
    return 0;
}

/* Whether s lies at or beneath one of the roots (component-wise). */
X7_FN int x7_pstrs_covers(const x7_pstrs *roots, const x7_pstr *s) {
    for (uint32_t i = 0; i < roots->n; i++)
        if (x7_sb_beneath(roots->v[i].s, roots->v[i].n, s->s, s->n)) return 1;
    return 0;
}

/* Appends s unless already present; the list was allocated with room for it. */
X7_FN void x7_pstrs_add(x7_pstrs *l, const x7_pstr *s) {
    if (!x7_pstrs_contains(l, s)) l->v[l->n++] = *s;
}

X7_FN x7_pstrs x7_pstrs_alloc(uint32_t cap) {
    x7_pstrs l = {NULL, 0};
    if (cap != 0 && (l.v = (x7_pstr *)calloc(cap, sizeof *l.v)) == NULL) {
        (void)x7_write_fd(2, "x07: sandbox: cannot apply load_policy: out of memory\n", 54);
        _exit(3);
    }
    return l;
}

/* Strings present in both lists. */
X7_FN x7_pstrs x7_pstrs_both(const x7_pstrs *a, const x7_pstrs *b) {
    x7_pstrs out = x7_pstrs_alloc(a->n);
    for (uint32_t i = 0; i < a->n; i++)
        if (x7_pstrs_contains(b, &a->v[i])) x7_pstrs_add(&out, &a->v[i]);
    return out;
}

/* Strings present in either list. */
X7_FN x7_pstrs x7_pstrs_either(const x7_pstrs *a, const x7_pstrs *b) {
    x7_pstrs out = x7_pstrs_alloc(a->n + b->n);
    for (uint32_t i = 0; i < a->n; i++) x7_pstrs_add(&out, &a->v[i]);
    for (uint32_t i = 0; i < b->n; i++) x7_pstrs_add(&out, &b->v[i]);
    return out;
}

/* Roots of each list kept only where they lie beneath a root of the other. */
X7_FN x7_pstrs x7_roots_both(const x7_pstrs *a, const x7_pstrs *b) {
    x7_pstrs out = x7_pstrs_alloc(a->n + b->n);
    for (uint32_t i = 0; i < a->n; i++)
        if (x7_pstrs_covers(b, &a->v[i])) x7_pstrs_add(&out, &a->v[i]);
    for (uint32_t i = 0; i < b->n; i++)
        if (x7_pstrs_covers(a, &b->v[i])) x7_pstrs_add(&out, &b->v[i]);
    return out;
}

X7_FN void x7_hosts_both(const x7_policy *a, const x7_policy *b, x7_policy *out) {
    out->net.hosts = NULL;
    out->net.nhosts = 0;
    if (a->net.nhosts == 0) return;
    out->net.hosts = (x7_phost *)calloc(a->net.nhosts, sizeof *out->net.hosts);
    if (out->net.hosts == NULL) return; /* no hosts: narrower, never wider */
    for (uint32_t i = 0; i < a->net.nhosts; i++) {
        const x7_phost *ha = &a->net.hosts[i];
        for (uint32_t j = 0; j < b->net.nhosts; j++) {
            const x7_phost *hb = &b->net.hosts[j];
            if (!x7_pstr_eq(&ha->host, &hb->host)) continue;
            x7_phost h = {ha->host, (uint32_t *)calloc(ha->nports, sizeof(uint32_t)), 0};
            if (h.ports == NULL) break;
            for (uint32_t k = 0; k < ha->nports; k++)
                for (uint32_t m = 0; m < hb->nports; m++)
                    if (ha->ports[k] == hb->ports[m]) {
                        h.ports[h.nports++] = ha->ports[k];
                        break;
                    }
            if (h.nports != 0) out->net.hosts[out->net.nhosts++] = h;
            else free(h.ports);
            break;
        }
    }
}

/*
 * out = a ∩ b: allow flags ANDed (deny_hidden, kill_on_drop and kill_tree ORed, since setting
 * them narrows), caps and limits the minimum, the backend the stronger one, accept_weaker ANDed,
 * string sets intersected (deny_keys united), roots kept only beneath a root of the other side,
 * exact executables kept when the other side allows them exactly or beneath a prefix. Strings are
 * shared with a and b. The digest is b's (the handed-over policy).
 */
X7_FN void x7_policy_intersect(const x7_policy *a, const x7_policy *b, x7_policy *out) {
    memset(out, 0, sizeof *out);
    out->backend = a->backend > b->backend ? a->backend : b->backend;
    out->accept_weaker = a->accept_weaker & b->accept_weaker;
    memcpy(out->digest, b->digest, 32);
    out->cpu_ms = x7_min32(a->cpu_ms, b->cpu_ms);
    out->wall_ms = x7_min32(a->wall_ms, b->wall_ms);
    out->mem_bytes = a->mem_bytes < b->mem_bytes ? a->mem_bytes : b->mem_bytes;
    out->fds = x7_min32(a->fds, b->fds);
    out->procs = x7_min32(a->procs, b->procs);
    out->core_dumps = a->core_dumps & b->core_dumps;

    out->fs.enabled = a->fs.enabled & b->fs.enabled;
    out->fs.deny_hidden = a->fs.deny_hidden | b->fs.deny_hidden;
    out->fs.allow_symlinks = a->fs.allow_symlinks & b->fs.allow_symlinks;
    out->fs.allow_mkdir = a->fs.allow_mkdir & b->fs.allow_mkdir;
    out->fs.allow_remove = a->fs.allow_remove & b->fs.allow_remove;
    out->fs.allow_rename = a->fs.allow_rename & b->fs.allow_rename;
    out->fs.allow_walk = a->fs.allow_walk & b->fs.allow_walk;
    out->fs.allow_glob = a->fs.allow_glob & b->fs.allow_glob;
    out->fs.max_read_bytes = x7_min32(a->fs.max_read_bytes, b->fs.max_read_bytes);
    out->fs.max_write_bytes = x7_min32(a->fs.max_write_bytes, b->fs.max_write_bytes);
    out->fs.max_entries = x7_min32(a->fs.max_entries, b->fs.max_entries);
    out->fs.max_depth = x7_min32(a->fs.max_depth, b->fs.max_depth);
    out->fs.read_roots = x7_roots_both(&a->fs.read_roots, &b->fs.read_roots);
    out->fs.write_roots = x7_roots_both(&a->fs.write_roots, &b->fs.write_roots);

    out->net.enabled = a->net.enabled & b->net.enabled;
    out->net.allow_dns = a->net.allow_dns & b->net.allow_dns;
    out->net.allow_tcp = a->net.allow_tcp & b->net.allow_tcp;
    out->net.allow_udp = a->net.allow_udp & b->net.allow_udp;
    x7_hosts_both(a, b, out);

    out->env.enabled = a->env.enabled & b->env.enabled;
    out->env.allow_keys = x7_pstrs_both(&a->env.allow_keys, &b->env.allow_keys);
    out->env.deny_keys = x7_pstrs_either(&a->env.deny_keys, &b->env.deny_keys);

    out->time.enabled = a->time.enabled & b->time.enabled;
    out->time.allow_monotonic = a->time.allow_monotonic & b->time.allow_monotonic;
    out->time.allow_wall_clock = a->time.allow_wall_clock & b->time.allow_wall_clock;
    out->time.allow_sleep = a->time.allow_sleep & b->time.allow_sleep;
    out->time.max_sleep_ms = x7_min32(a->time.max_sleep_ms, b->time.max_sleep_ms);
    out->time.allow_local_tzid = a->time.allow_local_tzid & b->time.allow_local_tzid;

    const __typeof__(a->proc) *pa = &a->proc, *pb = &b->proc;
    __typeof__(out->proc) *po = &out->proc;
    po->enabled = pa->enabled & pb->enabled;
    po->allow_spawn = pa->allow_spawn & pb->allow_spawn;
    po->allow_exec = pa->allow_exec & pb->allow_exec;
    po->allow_exit = pa->allow_exit & pb->allow_exit;
    po->max_live = x7_min32(pa->max_live, pb->max_live);
    po->max_spawns = x7_min32(pa->max_spawns, pb->max_spawns);
    po->max_runtime_ms = x7_min32(pa->max_runtime_ms, pb->max_runtime_ms);
    po->allow_execs = x7_pstrs_alloc(pa->allow_execs.n + pb->allow_execs.n);
    for (uint32_t i = 0; i < pa->allow_execs.n; i++) {
        const x7_pstr *e = &pa->allow_execs.v[i];
        if (x7_pstrs_contains(&pb->allow_execs, e) || x7_pstrs_covers(&pb->allow_exec_prefixes, e))
            x7_pstrs_add(&po->allow_execs, e);
    }
    for (uint32_t i = 0; i < pb->allow_execs.n; i++) {
        const x7_pstr *e = &pb->allow_execs.v[i];
        if (x7_pstrs_covers(&pa->allow_exec_prefixes, e)) x7_pstrs_add(&po->allow_execs, e);
    }
    po->allow_exec_prefixes = x7_roots_both(&pa->allow_exec_prefixes, &pb->allow_exec_prefixes);
    po->allow_env_keys = x7_pstrs_both(&pa->allow_env_keys, &pb->allow_env_keys);
    po->max_args = x7_min32(pa->max_args, pb->max_args);
    /* an empty pattern list leaves arguments free, so it cannot be intersected as a set */
    if (pa->allow_args_regex_lite.n == 0) po->allow_args_regex_lite = pb->allow_args_regex_lite;
    else if (pb->allow_args_regex_lite.n == 0) po->allow_args_regex_lite = pa->allow_args_regex_lite;
    else {
        po->allow_args_regex_lite =
            x7_pstrs_both(&pa->allow_args_regex_lite, &pb->allow_args_regex_lite);
        if (po->allow_args_regex_lite.n == 0) po->max_args = x7_min32(po->max_args, 1); /* argv[0] only */
    }
    po->max_exe_bytes = x7_min32(pa->max_exe_bytes, pb->max_exe_bytes);
    po->max_arg_bytes = x7_min32(pa->max_arg_bytes, pb->max_arg_bytes);
    po->max_env = x7_min32(pa->max_env, pb->max_env);
    po->max_env_key_bytes = x7_min32(pa->max_env_key_bytes, pb->max_env_key_bytes);
    po->max_env_val_bytes = x7_min32(pa->max_env_val_bytes, pb->max_env_val_bytes);
    po->max_stdout_bytes = x7_min32(pa->max_stdout_bytes, pb->max_stdout_bytes);
    po->max_stderr_bytes = x7_min32(pa->max_stderr_bytes, pb->max_stderr_bytes);
    po->max_total_bytes = x7_min32(pa->max_total_bytes, pb->max_total_bytes);
    po->max_stdin_bytes = x7_min32(pa->max_stdin_bytes, pb->max_stdin_bytes);
    po->kill_on_drop = pa->kill_on_drop | pb->kill_on_drop;
    po->kill_tree = pa->kill_tree | pb->kill_tree;
    po->allow_cwd = pa->allow_cwd & pb->allow_cwd;
    po->allow_cwd_roots = x7_roots_both(&pa->allow_cwd_roots, &pb->allow_cwd_roots);
    x7_policy_db_intersect(a, b, out);
    /* both sides' seccomp programs: the kernel applies every installed filter, the strictest wins */
    for (uint32_t i = 0; i < a->filters.n && out->filters.n < X7_SB_MAX_FILTERS; i++)
        out->filters.v[out->filters.n++] = a->filters.v[i];
    for (uint32_t i = 0; i < b->filters.n && out->filters.n < X7_SB_MAX_FILTERS; i++)
        out->filters.v[out->filters.n++] = b->filters.v[i];
}

/* ---------------------------------------------------------------- encoding */

/* A growable libc byte buffer; `failed` once an allocation failed. */
struct x7_sbuf_s {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

X7_FN void x7_sbuf_put(x7_sbuf *b, const void *d, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 512;
        while (nc < b->len + n) nc *= 2;
        uint8_t *q = (uint8_t *)realloc(b->p, nc);
        if (q == NULL) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

X7_FN void x7_sbuf_str(x7_sbuf *b, const char *s) { x7_sbuf_put(b, s, strlen(s)); }

X7_FN void x7_pw_u32(x7_sbuf *b, uint32_t x) {
    uint8_t le[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
    x7_sbuf_put(b, le, 4);
}

X7_FN void x7_pw_str(x7_sbuf *b, const x7_pstr *s) {
    x7_pw_u32(b, s->n);
    x7_sbuf_put(b, s->s, s->n);
}

X7_FN void x7_pw_strs(x7_sbuf *b, const x7_pstrs *l) {
    x7_pw_u32(b, l->n);
    for (uint32_t i = 0; i < l->n; i++) x7_pw_str(b, &l->v[i]);
}

X7_FN void x7_pw_u32s(x7_sbuf *b, const uint32_t *const *v, size_t n) {
    for (size_t i = 0; i < n; i++) x7_pw_u32(b, *v[i]);
}

/* PolicyBlobV1 bytes of pol (the inverse of x7_policy_decode). */
X7_FN void x7_policy_encode(const x7_policy *pol, x7_sbuf *b) {
    x7_sbuf_put(b, "X7P1", 4);
    x7_pw_u32(b, 3);
    x7_pw_u32(b, pol->backend);
    x7_pw_u32(b, pol->accept_weaker);
    x7_sbuf_put(b, pol->digest, 32);
    x7_pw_u32(b, pol->cpu_ms);
    x7_pw_u32(b, pol->wall_ms);
    x7_pw_u32(b, (uint32_t)pol->mem_bytes);
    x7_pw_u32(b, (uint32_t)(pol->mem_bytes >> 32));
    const uint32_t *lim[] = {&pol->fds, &pol->procs, &pol->core_dumps};
    x7_pw_u32s(b, lim, 3);
    const uint32_t *fs[] = {&pol->fs.enabled,        &pol->fs.deny_hidden,   &pol->fs.allow_symlinks,
                            &pol->fs.allow_mkdir,    &pol->fs.allow_remove,  &pol->fs.allow_rename,
                            &pol->fs.allow_walk,     &pol->fs.allow_glob,    &pol->fs.max_read_bytes,
                            &pol->fs.max_write_bytes, &pol->fs.max_entries,  &pol->fs.max_depth};
    x7_pw_u32s(b, fs, 12);
    x7_pw_strs(b, &pol->fs.read_roots);
    x7_pw_strs(b, &pol->fs.write_roots);
    const uint32_t *net[] = {&pol->net.enabled, &pol->net.allow_dns, &pol->net.allow_tcp,
                             &pol->net.allow_udp};
    x7_pw_u32s(b, net, 4);
    x7_pw_u32(b, pol->net.nhosts);
    for (uint32_t i = 0; i < pol->net.nhosts; i++) {
        x7_pw_str(b, &pol->net.hosts[i].host);
        x7_pw_u32(b, pol->net.hosts[i].nports);
        for (uint32_t j = 0; j < pol->net.hosts[i].nports; j++) x7_pw_u32(b, pol->net.hosts[i].ports[j]);
    }
    x7_pw_u32(b, pol->env.enabled);
    x7_pw_strs(b, &pol->env.allow_keys);
    x7_pw_strs(b, &pol->env.deny_keys);
    const uint32_t *tm[] = {&pol->time.enabled,     &pol->time.allow_monotonic,
                            &pol->time.allow_wall_clock, &pol->time.allow_sleep,
                            &pol->time.max_sleep_ms, &pol->time.allow_local_tzid};
    x7_pw_u32s(b, tm, 6);
    const __typeof__(pol->proc) *p = &pol->proc;
    const uint32_t *pr[] = {&p->enabled,   &p->allow_spawn, &p->allow_exec,    &p->allow_exit,
                            &p->max_live,  &p->max_spawns,  &p->max_runtime_ms};
    x7_pw_u32s(b, pr, 7);
    x7_pw_strs(b, &p->allow_execs);
    x7_pw_strs(b, &p->allow_exec_prefixes);
    x7_pw_strs(b, &p->allow_args_regex_lite);
    x7_pw_strs(b, &p->allow_env_keys);
    const uint32_t *pc[] = {&p->max_exe_bytes,     &p->max_args,          &p->max_arg_bytes,
                            &p->max_env,           &p->max_env_key_bytes, &p->max_env_val_bytes,
                            &p->max_stdout_bytes,  &p->max_stderr_bytes,  &p->max_total_bytes,
                            &p->max_stdin_bytes,   &p->kill_on_drop,      &p->kill_tree,
                            &p->allow_cwd};
    x7_pw_u32s(b, pc, 13);
    x7_pw_strs(b, &p->allow_cwd_roots);
    x7_pw_db(b, pol);
    x7_pw_u32(b, pol->filters.n);
    for (uint32_t i = 0; i < pol->filters.n; i++) {
        x7_pw_u32(b, pol->filters.v[i].count);
        x7_sbuf_put(b, pol->filters.v[i].insns, (size_t)pol->filters.v[i].count * 8u);
    }
    x7_sbuf_put(b, "X7PE", 4);
}
#endif
