/* x07-fragment: requires=core,sandbox_policy */
/*
 * sandbox_policy_db: the `db` part of the policy blob (docs/internals/sandbox.md, "PolicyBlob
 * (version 3)") — decoded as strictly as the rest, intersected (the narrower side of each field)
 * and encoded back for children.
 */
#ifdef X07_SANDBOXED
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

/* Whether s is a canonical range "address/prefix" (host bits clear; IPv6 as inet_ntop writes it). */
X7_FN int x7_cidr_parse(const char *s, uint8_t addr[16], int *family, uint32_t *prefix) {
    const char *slash = strchr(s, '/');
    if (slash == NULL || slash == s || (size_t)(slash - s) >= 64) return 0;
    char ip[64];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    const char *d = slash + 1;
    if (*d == 0 || strlen(d) > 3) return 0;
    uint32_t p = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9') return 0;
        p = p * 10 + (uint32_t)(*d - '0');
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, ip, addr) == 1) *family = AF_INET;
    else if (inet_pton(AF_INET6, ip, addr) == 1) *family = AF_INET6;
    else return 0;
    if (p > (*family == AF_INET ? 32u : 128u)) return 0;
    *prefix = p;
    return 1;
}

/* Whether addr (family, 4 or 16 bytes) lies in the range. */
X7_FN int x7_cidr_contains(const char *cidr, int family, const uint8_t *addr) {
    uint8_t net[16];
    int fam;
    uint32_t prefix;
    if (!x7_cidr_parse(cidr, net, &fam, &prefix) || fam != family) return 0;
    for (uint32_t bit = 0; bit < prefix; bit++) {
        uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
        if ((net[bit / 8] & mask) != (addr[bit / 8] & mask)) return 0;
    }
    return 1;
}

X7_FN int x7_cidr_canonical(const char *s) {
    uint8_t a[16];
    int fam;
    uint32_t prefix;
    if (!x7_cidr_parse(s, a, &fam, &prefix)) return 0;
    uint32_t bits = fam == AF_INET ? 32u : 128u;
    for (uint32_t bit = prefix; bit < bits; bit++)
        if (a[bit / 8] & (0x80u >> (bit % 8))) return 0;
    char back[INET6_ADDRSTRLEN];
    if (inet_ntop(fam, a, back, sizeof back) == NULL) return 0;
    size_t n = strlen(back);
    return strncmp(back, s, n) == 0 && s[n] == '/';
}

X7_FN void x7_pr_db(x7_pr *r, x7_policy *pol) {
    __typeof__(pol->db) *d = &pol->db;
    r->field = "db";
    d->enabled = x7_pr_bool(r, "db.enabled");
    d->sqlite = x7_pr_bool(r, "db.drivers.sqlite");
    d->postgres = x7_pr_bool(r, "db.drivers.postgres");
    d->mysql = x7_pr_bool(r, "db.drivers.mysql");
    d->redis = x7_pr_bool(r, "db.drivers.redis");
    r->field = "db.limits";
    uint32_t *caps[] = {&d->max_live_conns, &d->max_queries, &d->connect_timeout_ms, &d->query_timeout_ms,
                        &d->max_sql_bytes,  &d->max_rows,    &d->max_resp_bytes};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) *caps[i] = x7_pr_u32(r);
    d->readonly_only = x7_pr_bool(r, "db.sqlite.readonly_only");
    d->allow_create = x7_pr_bool(r, "db.sqlite.allow_create");
    d->allow_in_memory = x7_pr_bool(r, "db.sqlite.allow_in_memory");
    d->sqlite_paths = x7_pr_strs(r, "db.sqlite.allow_paths", X7_PSTR_PATH);
    d->allow_dns = x7_pr_strs(r, "db.net.allow_dns", X7_PSTR_HOST);
    d->allow_cidrs = x7_pr_strs(r, "db.net.allow_cidrs", X7_PSTR_ANY);
    for (uint32_t i = 0; r->why == NULL && i < d->allow_cidrs.n; i++)
        if (!x7_cidr_canonical(d->allow_cidrs.v[i].s)) x7_pr_fail(r, "a range is not a canonical address/prefix");
    r->field = "db.net.allow_ports";
    uint32_t n = x7_pr_count(r);
    if (r->why == NULL && n != 0) {
        d->ports = (uint32_t *)calloc(n, sizeof *d->ports);
        if (d->ports == NULL) x7_pr_fail(r, "out of memory");
        for (uint32_t i = 0; i < n && r->why == NULL; i++) {
            uint32_t port = x7_pr_u32(r);
            if (r->why == NULL && (port == 0 || port > 65535)) x7_pr_fail(r, "a port is not in 1..65535");
            d->ports[d->nports++] = port;
        }
    }
    d->require_tls = x7_pr_bool(r, "db.net.require_tls");
    d->require_verify = x7_pr_bool(r, "db.net.require_verify");
}

/* a ∩ b for db: switches ANDed, readonly_only / require_* ORed, limits the minimum, lists
 * (files, names, ranges, ports) kept when both sides list them exactly. */
X7_FN void x7_policy_db_intersect(const x7_policy *a, const x7_policy *b, x7_policy *out) {
    const __typeof__(a->db) *da = &a->db, *db = &b->db;
    __typeof__(out->db) *d = &out->db;
    d->enabled = da->enabled & db->enabled;
    d->sqlite = da->sqlite & db->sqlite;
    d->postgres = da->postgres & db->postgres;
    d->mysql = da->mysql & db->mysql;
    d->redis = da->redis & db->redis;
    d->max_live_conns = x7_min32(da->max_live_conns, db->max_live_conns);
    d->max_queries = x7_min32(da->max_queries, db->max_queries);
    d->connect_timeout_ms = x7_min32(da->connect_timeout_ms, db->connect_timeout_ms);
    d->query_timeout_ms = x7_min32(da->query_timeout_ms, db->query_timeout_ms);
    d->max_sql_bytes = x7_min32(da->max_sql_bytes, db->max_sql_bytes);
    d->max_rows = x7_min32(da->max_rows, db->max_rows);
    d->max_resp_bytes = x7_min32(da->max_resp_bytes, db->max_resp_bytes);
    d->readonly_only = da->readonly_only | db->readonly_only;
    d->allow_create = da->allow_create & db->allow_create;
    d->allow_in_memory = da->allow_in_memory & db->allow_in_memory;
    d->sqlite_paths = x7_pstrs_both(&da->sqlite_paths, &db->sqlite_paths);
    d->allow_dns = x7_pstrs_both(&da->allow_dns, &db->allow_dns);
    d->allow_cidrs = x7_pstrs_both(&da->allow_cidrs, &db->allow_cidrs);
    d->ports = NULL;
    d->nports = 0;
    if (da->nports != 0 && (d->ports = (uint32_t *)calloc(da->nports, sizeof(uint32_t))) != NULL)
        for (uint32_t i = 0; i < da->nports; i++)
            for (uint32_t j = 0; j < db->nports; j++)
                if (da->ports[i] == db->ports[j]) {
                    d->ports[d->nports++] = da->ports[i];
                    break;
                }
    d->require_tls = da->require_tls | db->require_tls;
    d->require_verify = da->require_verify | db->require_verify;
}

X7_FN void x7_pw_db(x7_sbuf *b, const x7_policy *pol) {
    const __typeof__(pol->db) *d = &pol->db;
    const uint32_t *head[] = {&d->enabled,        &d->sqlite,           &d->postgres,       &d->mysql,
                              &d->redis,          &d->max_live_conns,   &d->max_queries,    &d->connect_timeout_ms,
                              &d->query_timeout_ms, &d->max_sql_bytes,  &d->max_rows,       &d->max_resp_bytes,
                              &d->readonly_only,  &d->allow_create,     &d->allow_in_memory};
    x7_pw_u32s(b, head, sizeof head / sizeof head[0]);
    x7_pw_strs(b, &d->sqlite_paths);
    x7_pw_strs(b, &d->allow_dns);
    x7_pw_strs(b, &d->allow_cidrs);
    x7_pw_u32(b, d->nports);
    for (uint32_t i = 0; i < d->nports; i++) x7_pw_u32(b, d->ports[i]);
    x7_pw_u32(b, d->require_tls);
    x7_pw_u32(b, d->require_verify);
}
#endif
