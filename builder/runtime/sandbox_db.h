/* x07-fragment: requires=core,sandbox_policy_db,sandbox_checks,sandbox_report,sandbox_restrict */
/*
 * sandbox_db: the in-process checks of the os.db.* drivers under run-os-sandboxed
 * (docs/stdlib/os-db.md, "Sandboxed world"): the policy's db switches, limits, SQLite files and
 * network destinations. Each refusal is recorded as a denial and answered with a message that
 * names the policy field. The kernel layer (launch_ns, sandbox_landlock) is the boundary; these
 * checks give the precise answers.
 */
#ifdef X07_SANDBOXED
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <netdb.h>
#include <sys/stat.h>

static char x7_sb_db_text[640];

/* Records the denial and returns "<op>: denied by the run policy: <why>". */
X7_FN const char *x7_sb_db_refuse(const char *op, const char *target, const char *rule, const char *why) {
    x7_sb_deny(op, (const uint8_t *)target, strlen(target), rule);
    snprintf(x7_sb_db_text, sizeof x7_sb_db_text, "%s: denied by the run policy: %s", op, why);
    return x7_sb_db_text;
}

X7_FN const char *x7_sb_db_driver(const char *op, const char *driver) {
    const __typeof__(x7_sb.pol.db) *d = &x7_sb.pol.db;
    if (!d->enabled) return x7_sb_db_refuse(op, driver, "db.enabled", "db.enabled is false");
    uint32_t on = strcmp(driver, "sqlite") == 0     ? d->sqlite
                  : strcmp(driver, "postgres") == 0 ? d->postgres
                  : strcmp(driver, "mysql") == 0    ? d->mysql
                                                    : d->redis;
    if (on) return NULL;
    char rule[40], why[64];
    snprintf(rule, sizeof rule, "db.drivers.%s", driver);
    snprintf(why, sizeof why, "%s is false", rule);
    return x7_sb_db_refuse(op, driver, rule, why);
}

/* The limit in force: the policy's (already resolved: never 0 for "default"); live connections
 * at most the driver's table (`dflt`). which: 0 live conns, 1 queries, 2 connect timeout,
 * 3 query timeout, 4 SQL bytes, 5 rows, 6 response bytes. */
X7_FN uint32_t x7_sb_db_limit(uint32_t which, uint32_t dflt) {
    const __typeof__(x7_sb.pol.db) *d = &x7_sb.pol.db;
    const uint32_t v[7] = {d->max_live_conns, d->max_queries,   d->connect_timeout_ms, d->query_timeout_ms,
                           d->max_sql_bytes,  d->max_rows,      d->max_resp_bytes};
    if (which == 0) return v[0] < dflt ? v[0] : dflt;
    return which < 7 ? v[which] : dflt;
}

/* flags: 1 read-only, 2 create. */
X7_FN const char *x7_sb_db_sqlite_open(const char *op, const uint8_t *path, uint32_t n, uint32_t flags) {
    const __typeof__(x7_sb.pol.db) *d = &x7_sb.pol.db;
    char *p = (char *)malloc((size_t)n + 1);
    if (p == NULL) return x7_sb_db_refuse(op, "", "db.sqlite.allow_paths", "out of memory");
    memcpy(p, path, n);
    p[n] = 0;
    const char *out = NULL;
    char why[600];
    if ((flags & 2u) && !d->allow_create) {
        out = x7_sb_db_refuse(op, p, "db.sqlite.allow_create", "db.sqlite.allow_create is false");
    } else if (d->readonly_only && !(flags & 1u)) {
        out = x7_sb_db_refuse(op, p, "db.sqlite.readonly_only",
                              "db.sqlite.readonly_only is true; open with the read-only flag");
    } else if (strcmp(p, ":memory:") == 0) {
        if (!d->allow_in_memory)
            out = x7_sb_db_refuse(op, p, "db.sqlite.allow_in_memory", "db.sqlite.allow_in_memory is false");
    } else if (n == 0) { /* SQLite's private temporary database, on disk somewhere */
        out = x7_sb_db_refuse(op, p, "db.sqlite.allow_paths", "an empty path is not in db.sqlite.allow_paths");
    } else {
        char *abs = x7_path_join_lexical(p[0] == '/' ? "/" : x7_sb.cwd, p);
        struct stat st;
        if (!x7_sb_has(&d->sqlite_paths, (const uint8_t *)abs, strlen(abs))) {
            snprintf(why, sizeof why, "%.500s is not in db.sqlite.allow_paths", abs);
            out = x7_sb_db_refuse(op, abs, "db.sqlite.allow_paths", why);
        } else if (lstat(abs, &st) == 0 && S_ISLNK(st.st_mode)) {
            snprintf(why, sizeof why, "%.500s is a symbolic link (db.sqlite.allow_paths names files)", abs);
            out = x7_sb_db_refuse(op, abs, "db.sqlite.allow_paths", why);
        }
        free(abs);
    }
    free(p);
    return out;
}

/* Whether the address is listed in db.net.allow_cidrs. */
X7_FN int x7_sb_db_cidr_ok(int family, const void *addr) {
    const x7_pstrs *c = &x7_sb.pol.db.allow_cidrs;
    for (uint32_t i = 0; i < c->n; i++)
        if (x7_cidr_contains(c->v[i].s, family, (const uint8_t *)addr)) return 1;
    return 0;
}

/*
 * host:port of a network driver. An address must lie in db.net.allow_cidrs; a name must be in
 * db.net.allow_dns, is resolved here and, when allow_cidrs is not empty, every address it gives
 * must lie there too. The port must be in db.net.allow_ports. On success addr_out holds the
 * address to connect to (the checked one, so no second lookup can lead elsewhere).
 */
X7_FN const char *x7_sb_db_net(const char *op, const char *host, uint32_t port, char *addr_out, size_t addr_cap) {
    const __typeof__(x7_sb.pol.db) *d = &x7_sb.pol.db;
    char why[400], target[300];
    snprintf(target, sizeof target, "%.255s:%u", host, port);
    if (host[0] == 0 || host[0] == '/')
        return x7_sb_db_refuse(op, target, "db.net.allow_dns",
                               "unix sockets and the default host are not allowed under run-os-sandboxed (db.net lists TCP destinations)");
    int port_ok = 0;
    for (uint32_t i = 0; i < d->nports; i++) port_ok |= d->ports[i] == port;
    if (!port_ok) {
        snprintf(why, sizeof why, "port %u is not in db.net.allow_ports", port);
        return x7_sb_db_refuse(op, target, "db.net.allow_ports", why);
    }
    char low[256];
    size_t n = strlen(host);
    if (n > 255) return x7_sb_db_refuse(op, target, "db.net.allow_dns", "the host is longer than 255 bytes");
    for (size_t i = 0; i <= n; i++) low[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
    uint8_t a[16];
    int fam = inet_pton(AF_INET, low, a) == 1 ? AF_INET : inet_pton(AF_INET6, low, a) == 1 ? AF_INET6 : 0;
    if (fam != 0) {
        if (!x7_sb_db_cidr_ok(fam, a)) {
            snprintf(why, sizeof why, "address %s is not in db.net.allow_cidrs", low);
            return x7_sb_db_refuse(op, target, "db.net.allow_cidrs", why);
        }
        snprintf(addr_out, addr_cap, "%s", low);
        return NULL;
    }
    if (!x7_sb_has(&d->allow_dns, (const uint8_t *)low, n)) {
        snprintf(why, sizeof why, "host %s is not in db.net.allow_dns", low);
        return x7_sb_db_refuse(op, target, "db.net.allow_dns", why);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(low, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(why, sizeof why, "host %s (in db.net.allow_dns) does not resolve: %s", low, gai_strerror(rc));
        return x7_sb_db_refuse(op, target, "db.net.allow_dns", why);
    }
    const char *out = NULL;
    addr_out[0] = 0;
    for (struct addrinfo *ai = res; ai != NULL && out == NULL; ai = ai->ai_next) {
        const void *ip = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                                  : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(ai->ai_family, ip, text, sizeof text) == NULL) continue;
        if (d->allow_cidrs.n != 0 && !x7_sb_db_cidr_ok(ai->ai_family, ip)) {
            snprintf(why, sizeof why, "address %s of %s is not in db.net.allow_cidrs", text, low);
            out = x7_sb_db_refuse(op, target, "db.net.allow_cidrs", why);
        } else if (addr_out[0] == 0) {
            snprintf(addr_out, addr_cap, "%s", text);
        }
    }
    freeaddrinfo(res);
    return out;
}
#endif
