/* x07-fragment: requires=core */
/*
 * sandbox_checks: the policy questions the OS builtins ask (declared in core, because the OS
 * fragments come first in the translation unit): is a path beneath a root, which root, is a key
 * listed, do arguments match the regex-lite patterns, is (host, port) allowed.
 */
#ifdef X07_SANDBOXED
#include <arpa/inet.h>

/* Whether path lies at or beneath root, comparing whole components ("/a" covers "/a/b", not "/ab"). */
X7_FN int x7_sb_beneath(const char *root, size_t rlen, const char *path, size_t plen) {
    if (rlen == 1 && root[0] == '/') return plen > 0 && path[0] == '/';
    if (plen < rlen || memcmp(root, path, rlen) != 0) return 0;
    return plen == rlen || path[rlen] == '/';
}

X7_FN int x7_sb_has(const x7_pstrs *list, const uint8_t *s, size_t n) {
    for (uint32_t i = 0; i < list->n; i++)
        if (list->v[i].n == n && memcmp(list->v[i].s, s, n) == 0) return 1;
    return 0;
}

/*
 * The most specific root holding abs (an absolute path): write roots only for writes, any root for
 * reads (write roots are readable, as the kernel layer grants). Its index, or -1.
 */
X7_FN int x7_sb_find_root(const char *abs, size_t len, int write, size_t *root_len) {
    int best = -1;
    for (uint32_t i = 0; i < x7_sb.nroots; i++) {
        const x7_sb_root *r = &x7_sb.roots[i];
        if (write && !r->write) continue;
        if (!x7_sb_beneath(r->path, r->len, abs, len)) continue;
        if (best < 0 || r->len > x7_sb.roots[best].len ||
            (r->len == x7_sb.roots[best].len && r->fd >= 0 && x7_sb.roots[best].fd < 0))
            best = (int)i;
    }
    if (best >= 0) *root_len = x7_sb.roots[best].len;
    return best;
}

/* Regex-lite: literals, '.', '\x' and a postfix '*'; the pattern must match all of s. */
X7_FN int x7_rl_match(const char *p, const char *pe, const char *s) {
    if (p == pe) return *s == 0;
    int any = 0;
    char lit = *p;
    const char *next = p + 1;
    if (*p == '\\' && p + 1 < pe) {
        lit = p[1];
        next = p + 2;
    } else if (*p == '.') {
        any = 1;
    }
    if (next < pe && *next == '*') {
        next++;
        for (const char *t = s;; t++) {
            if (x7_rl_match(next, pe, t)) return 1;
            if (*t == 0 || !(any || *t == lit)) return 0;
        }
    }
    if (*s == 0 || !(any || *s == lit)) return 0;
    return x7_rl_match(next, pe, s + 1);
}

/* Whether arg matches one of the patterns (an empty list leaves arguments free). */
X7_FN int x7_sb_args_match(const x7_pstrs *patterns, const char *arg) {
    if (patterns->n == 0) return 1;
    for (uint32_t i = 0; i < patterns->n; i++)
        if (x7_rl_match(patterns->v[i].s, patterns->v[i].s + patterns->v[i].n, arg)) return 1;
    return 0;
}

/* Two host spellings name the same thing: equal text, or equal IP addresses. */
X7_FN int x7_sb_same_host(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return 1;
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1) return memcmp(x, y, 4) == 0;
    if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1) return memcmp(x, y, 16) == 0;
    return 0;
}

/* Whether net.allow_hosts lists host (lowercase) with port. */
X7_FN int x7_sb_net_allowed(const char *host, uint32_t port) {
    for (uint32_t i = 0; i < x7_sb.pol.net.nhosts; i++) {
        const x7_phost *h = &x7_sb.pol.net.hosts[i];
        if (!x7_sb_same_host(h->host.s, host)) continue;
        for (uint32_t j = 0; j < h->nports; j++)
            if (h->ports[j] == port) return 1;
    }
    return 0;
}

/* Remembers a child's process group for the wall-clock kill (the oldest is forgotten first). */
X7_FN void x7_sb_track_child(pid_t pgid) {
    static uint32_t next;
    x7_sb.children[next++ % X7_SB_MAX_CHILDREN] = pgid;
}
#endif
