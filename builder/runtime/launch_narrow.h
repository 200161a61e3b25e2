/* x07-fragment: requires=core,sandbox_policy,sandbox_restrict */
/*
 * launch_narrow: X07_BUNDLE_POLICY=FILE narrows a sealed bundle's policy (docs/bundling.md). FILE
 * is a run-os policy document (x07.run-os-policy@0.1.0); every field it gives replaces the sealed
 * value in a copy of the sealed policy, fields it leaves out keep the sealed value, and the result
 * is intersected with the sealed policy, so the person running the bundle can only ever narrow
 * it. Relative paths resolve against the working directory at start, like the sealed ones.
 * Anything unknown, malformed or not narrowable (net.deny_hosts; db fields other than db.enabled and
 * db.drivers) refuses the start (exit 2), naming the field.
 */
#ifdef X07_SANDBOXED
#include <stddef.h>

#define X7_NARROW_MAX_BYTES (1u << 20)
#define X7_NARROW_MAX_DEPTH 16

/* ---------------------------------------------------------------- a small JSON reader */

enum { X7J_NULL, X7J_FALSE, X7J_TRUE, X7J_NUM, X7J_STR, X7J_ARR, X7J_OBJ };

typedef struct x7_jv {
    int t;
    uint64_t num;       /* X7J_NUM: a non-negative integer */
    char *s;            /* X7J_STR: NUL-terminated, UTF-8 */
    uint32_t slen;
    struct x7_jv *items; /* X7J_ARR, X7J_OBJ: values */
    char **keys;        /* X7J_OBJ: keys */
    uint32_t n;
} x7_jv;

typedef struct {
    const char *p, *end;
    const char *why;
} x7_jr;

X7_COLD void x7_narrow_fail(const char *what, const char *detail) {
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "x07: X07_BUNDLE_POLICY: ");
    x7_msg_str(&m, what);
    if (detail != NULL) {
        x7_msg_str(&m, ": ");
        x7_msg_data(&m, (const uint8_t *)detail, strlen(detail) > 200 ? 200 : strlen(detail));
    }
    x7_msg_str(&m, " (the sealed policy can only be narrowed; see docs/bundling.md)");
    m.buf[m.len++] = '\n';
    (void)x7_write_fd(2, m.buf, m.len);
    _exit(2);
}

X7_FN void x7_jr_ws(x7_jr *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

X7_FN void *x7_jr_alloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (p == NULL) x7_narrow_fail("out of memory", NULL);
    return p;
}

X7_FN int x7_jr_hex4(x7_jr *r, uint32_t *out) {
    if (r->end - r->p < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    r->p += 4;
    *out = v;
    return 0;
}

/* A string after its opening quote; escapes decoded, UTF-8 checked. */
X7_FN char *x7_jr_string(x7_jr *r, uint32_t *len) {
    char *out = (char *)x7_jr_alloc((size_t)(r->end - r->p) + 1);
    uint32_t n = 0;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        if (c < 0x20) {
            r->why = "a control character in a string";
            return NULL;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        if (r->p >= r->end) break;
        char e = *r->p++;
        uint32_t cp;
        switch (e) {
        case '"': out[n++] = '"'; continue;
        case '\\': out[n++] = '\\'; continue;
        case '/': out[n++] = '/'; continue;
        case 'b': out[n++] = '\b'; continue;
        case 'f': out[n++] = '\f'; continue;
        case 'n': out[n++] = '\n'; continue;
        case 'r': out[n++] = '\r'; continue;
        case 't': out[n++] = '\t'; continue;
        case 'u':
            if (x7_jr_hex4(r, &cp) != 0) {
                r->why = "a bad \\u escape";
                return NULL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || (r->p += 2, x7_jr_hex4(r, &lo)) != 0 ||
                    lo < 0xdc00 || lo > 0xdfff) {
                    r->why = "an unpaired surrogate";
                    return NULL;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                r->why = "an unpaired surrogate";
                return NULL;
            }
            if (cp == 0) {
                r->why = "a NUL character in a string";
                return NULL;
            }
            if (cp < 0x80) out[n++] = (char)cp;
            else if (cp < 0x800) out[n++] = (char)(0xc0 | cp >> 6), out[n++] = (char)(0x80 | (cp & 0x3f));
            else if (cp < 0x10000)
                out[n++] = (char)(0xe0 | cp >> 12), out[n++] = (char)(0x80 | (cp >> 6 & 0x3f)), out[n++] = (char)(0x80 | (cp & 0x3f));
            else
                out[n++] = (char)(0xf0 | cp >> 18), out[n++] = (char)(0x80 | (cp >> 12 & 0x3f)),
                out[n++] = (char)(0x80 | (cp >> 6 & 0x3f)), out[n++] = (char)(0x80 | (cp & 0x3f));
            continue;
        default: r->why = "an unknown escape in a string"; return NULL;
        }
    }
    if (r->p >= r->end) {
        r->why = "an unterminated string";
        return NULL;
    }
    r->p++;
    for (uint32_t i = 0; i < n;) {
        size_t l = x7_utf8_seq((const uint8_t *)out + i, n - i);
        if (l == 0) {
            r->why = "a string is not UTF-8";
            return NULL;
        }
        i += (uint32_t)l;
    }
    out[n] = 0;
    *len = n;
    return out;
}

X7_FN int x7_jr_value(x7_jr *r, x7_jv *v, int depth);

X7_FN int x7_jr_list(x7_jr *r, x7_jv *v, int depth, int object) {
    uint32_t cap = 8;
    v->items = (x7_jv *)x7_jr_alloc(cap * sizeof *v->items);
    if (object) v->keys = (char **)x7_jr_alloc(cap * sizeof *v->keys);
    x7_jr_ws(r);
    if (r->p < r->end && *r->p == (object ? '}' : ']')) {
        r->p++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap *= 2;
            x7_jv *items = (x7_jv *)realloc(v->items, cap * sizeof *items);
            char **keys = object ? (char **)realloc(v->keys, cap * sizeof *keys) : NULL;
            if (items == NULL || (object && keys == NULL)) x7_narrow_fail("out of memory", NULL);
            v->items = items;
            if (object) v->keys = keys;
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        if (object) {
            x7_jr_ws(r);
            uint32_t klen;
            if (r->p >= r->end || *r->p++ != '"' || (v->keys[v->n] = x7_jr_string(r, &klen)) == NULL) {
                if (r->why == NULL) r->why = "an object key is not a string";
                return -1;
            }
            for (uint32_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], v->keys[v->n]) == 0) {
                    r->why = "a key appears twice in an object";
                    return -1;
                }
            x7_jr_ws(r);
            if (r->p >= r->end || *r->p++ != ':') {
                r->why = "expected ':'";
                return -1;
            }
        }
        if (x7_jr_value(r, &v->items[v->n], depth + 1) != 0) return -1;
        v->n++;
        x7_jr_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == (object ? '}' : ']')) {
            r->p++;
            return 0;
        }
        r->why = object ? "expected ',' or '}'" : "expected ',' or ']'";
        return -1;
    }
}

X7_FN int x7_jr_value(x7_jr *r, x7_jv *v, int depth) {
    if (depth > X7_NARROW_MAX_DEPTH) {
        r->why = "nested too deeply";
        return -1;
    }
    x7_jr_ws(r);
    if (r->p >= r->end) {
        r->why = "unexpected end of the document";
        return -1;
    }
    char c = *r->p;
    static const char *const words[] = {"null", "false", "true"};
    for (int w = 0; w < 3; w++) {
        size_t l = strlen(words[w]);
        if ((size_t)(r->end - r->p) >= l && memcmp(r->p, words[w], l) == 0) {
            r->p += l;
            v->t = w; /* X7J_NULL, X7J_FALSE, X7J_TRUE */
            return 0;
        }
    }
    if (c == '"') {
        r->p++;
        v->t = X7J_STR;
        v->s = x7_jr_string(r, &v->slen);
        return v->s == NULL ? -1 : 0;
    }
    if (c == '[' || c == '{') {
        r->p++;
        v->t = c == '[' ? X7J_ARR : X7J_OBJ;
        return x7_jr_list(r, v, depth, c == '{');
    }
    if (c >= '0' && c <= '9') {
        uint64_t n = 0;
        if (c == '0' && r->end - r->p > 1 && r->p[1] >= '0' && r->p[1] <= '9') {
            r->why = "a number with a leading zero";
            return -1;
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            uint64_t d = (uint64_t)(*r->p++ - '0');
            if (n > (UINT64_MAX - d) / 10) {
                r->why = "a number is too large";
                return -1;
            }
            n = n * 10 + d;
        }
        if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) {
            r->why = "numbers in a policy are whole numbers";
            return -1;
        }
        v->t = X7J_NUM;
        v->num = n;
        return 0;
    }
    r->why = c == '-' ? "numbers in a policy are not negative" : "unexpected character";
    return -1;
}

/* ---------------------------------------------------------------- policy fields */

enum { X7N_BOOL, X7N_U32, X7N_U64, X7N_PATHS, X7N_KEYS, X7N_STRS, X7N_HOSTS, X7N_TEXT, X7N_SKIP, X7N_NO, X7N_DB_DRIVERS,
       X7N_DB_NO };

typedef struct {
    const char *section; /* NULL: top level */
    const char *name;
    int kind;
    size_t off; /* into x7_policy */
} x7_nfield;

#define X7N(sec, name, kind, member) {sec, name, kind, offsetof(x7_policy, member)}
static const x7_nfield x7_narrow_fields[] = {
    {NULL, "schema_version", X7N_TEXT, 0}, {NULL, "policy_id", X7N_TEXT, 0}, {NULL, "notes", X7N_TEXT, 0},
    X7N("limits", "cpu_ms", X7N_U32, cpu_ms), X7N("limits", "wall_ms", X7N_U32, wall_ms),
    X7N("limits", "mem_bytes", X7N_U64, mem_bytes), X7N("limits", "fds", X7N_U32, fds),
    X7N("limits", "procs", X7N_U32, procs), X7N("limits", "core_dumps", X7N_BOOL, core_dumps),
    X7N("fs", "enabled", X7N_BOOL, fs.enabled), X7N("fs", "deny_hidden", X7N_BOOL, fs.deny_hidden),
    X7N("fs", "allow_symlinks", X7N_BOOL, fs.allow_symlinks), X7N("fs", "allow_mkdir", X7N_BOOL, fs.allow_mkdir),
    X7N("fs", "allow_remove", X7N_BOOL, fs.allow_remove), X7N("fs", "allow_rename", X7N_BOOL, fs.allow_rename),
    X7N("fs", "allow_walk", X7N_BOOL, fs.allow_walk), X7N("fs", "allow_glob", X7N_BOOL, fs.allow_glob),
    X7N("fs", "max_read_bytes", X7N_U32, fs.max_read_bytes), X7N("fs", "max_write_bytes", X7N_U32, fs.max_write_bytes),
    X7N("fs", "max_entries", X7N_U32, fs.max_entries), X7N("fs", "max_depth", X7N_U32, fs.max_depth),
    X7N("fs", "read_roots", X7N_PATHS, fs.read_roots), X7N("fs", "write_roots", X7N_PATHS, fs.write_roots),
    X7N("net", "enabled", X7N_BOOL, net.enabled), X7N("net", "allow_dns", X7N_BOOL, net.allow_dns),
    X7N("net", "allow_tcp", X7N_BOOL, net.allow_tcp), X7N("net", "allow_udp", X7N_BOOL, net.allow_udp),
    X7N("net", "allow_hosts", X7N_HOSTS, net), {"net", "deny_hosts", X7N_NO, 0},
    X7N("env", "enabled", X7N_BOOL, env.enabled), X7N("env", "allow_keys", X7N_KEYS, env.allow_keys),
    X7N("env", "deny_keys", X7N_KEYS, env.deny_keys),
    X7N("time", "enabled", X7N_BOOL, time.enabled), X7N("time", "allow_monotonic", X7N_BOOL, time.allow_monotonic),
    X7N("time", "allow_wall_clock", X7N_BOOL, time.allow_wall_clock),
    X7N("time", "allow_sleep", X7N_BOOL, time.allow_sleep), X7N("time", "max_sleep_ms", X7N_U32, time.max_sleep_ms),
    X7N("time", "allow_local_tzid", X7N_BOOL, time.allow_local_tzid),
    X7N("process", "enabled", X7N_BOOL, proc.enabled), X7N("process", "allow_spawn", X7N_BOOL, proc.allow_spawn),
    X7N("process", "allow_exec", X7N_BOOL, proc.allow_exec), X7N("process", "allow_exit", X7N_BOOL, proc.allow_exit),
    X7N("process", "max_live", X7N_U32, proc.max_live), X7N("process", "max_spawns", X7N_U32, proc.max_spawns),
    X7N("process", "max_runtime_ms", X7N_U32, proc.max_runtime_ms),
    X7N("process", "allow_execs", X7N_PATHS, proc.allow_execs),
    X7N("process", "allow_exec_prefixes", X7N_PATHS, proc.allow_exec_prefixes),
    X7N("process", "allow_args_regex_lite", X7N_STRS, proc.allow_args_regex_lite),
    X7N("process", "allow_env_keys", X7N_KEYS, proc.allow_env_keys),
    X7N("process", "max_exe_bytes", X7N_U32, proc.max_exe_bytes), X7N("process", "max_args", X7N_U32, proc.max_args),
    X7N("process", "max_arg_bytes", X7N_U32, proc.max_arg_bytes), X7N("process", "max_env", X7N_U32, proc.max_env),
    X7N("process", "max_env_key_bytes", X7N_U32, proc.max_env_key_bytes),
    X7N("process", "max_env_val_bytes", X7N_U32, proc.max_env_val_bytes),
    X7N("process", "max_stdout_bytes", X7N_U32, proc.max_stdout_bytes),
    X7N("process", "max_stderr_bytes", X7N_U32, proc.max_stderr_bytes),
    X7N("process", "max_total_bytes", X7N_U32, proc.max_total_bytes),
    X7N("process", "max_stdin_bytes", X7N_U32, proc.max_stdin_bytes),
    X7N("process", "kill_on_drop", X7N_BOOL, proc.kill_on_drop), X7N("process", "kill_tree", X7N_BOOL, proc.kill_tree),
    X7N("process", "allow_cwd", X7N_BOOL, proc.allow_cwd), X7N("process", "allow_cwd_roots", X7N_PATHS, proc.allow_cwd_roots),
    /* db: the switches narrow (ANDed with the seal); limits and allowlists are refused by name */
    X7N("db", "enabled", X7N_BOOL, db.enabled), {"db", "drivers", X7N_DB_DRIVERS, 0},
    {"db", "max_live_conns", X7N_DB_NO, 0}, {"db", "max_queries", X7N_DB_NO, 0},
    {"db", "connect_timeout_ms", X7N_DB_NO, 0}, {"db", "query_timeout_ms", X7N_DB_NO, 0},
    {"db", "max_sql_bytes", X7N_DB_NO, 0}, {"db", "max_rows", X7N_DB_NO, 0}, {"db", "max_resp_bytes", X7N_DB_NO, 0},
    {"db", "sqlite", X7N_DB_NO, 0}, {"db", "net", X7N_DB_NO, 0},
    /* compile-time or not enforced by the launcher: accepted, checked for shape, no effect */
    {"language", "allow_ffi", X7N_SKIP, 0}, {"language", "allow_unsafe", X7N_SKIP, 0},
    {"threads", "enabled", X7N_SKIP, 0}, {"threads", "max_workers", X7N_SKIP, 0},
    {"threads", "max_blocking", X7N_SKIP, 0}, {"threads", "max_queue", X7N_SKIP, 0},
};
#undef X7N

/* The field name as "section.name" for messages. */
X7_FN const char *x7_narrow_where(const char *sec, const char *name) {
    static char buf[96];
    snprintf(buf, sizeof buf, "%s%s%s", sec ? sec : "", sec ? "." : "", name);
    return buf;
}

/* The working directory at start, which relative paths of FILE resolve against. */
static const char *x7_narrow_cwd X7_UNUSED;

X7_FN x7_pstrs x7_narrow_strs(const x7_jv *v, const char *where, int kind) {
    if (v->t != X7J_ARR) x7_narrow_fail("expected a list of strings at", where);
    x7_pstrs out = {(x7_pstr *)x7_jr_alloc((v->n ? v->n : 1) * sizeof(x7_pstr)), 0};
    for (uint32_t i = 0; i < v->n; i++) {
        const x7_jv *s = &v->items[i];
        if (s->t != X7J_STR) x7_narrow_fail("expected a list of strings at", where);
        char *text = s->s;
        uint32_t len = s->slen;
        if (kind == X7N_PATHS) {
            /* normalised lexically against the start directory: "." and ".." applied */
            text = x7_path_join_lexical(text[0] == '/' ? "/" : x7_narrow_cwd, text);
            len = (uint32_t)strlen(text);
        } else if (!x7_pstr_valid(text, len, kind == X7N_KEYS ? X7_PSTR_KEY : X7_PSTR_ANY)) {
            x7_narrow_fail("an empty key or a key with '=' at", where);
        }
        out.v[out.n++] = (x7_pstr){text, len};
    }
    return out;
}

X7_FN void x7_narrow_hosts(const x7_jv *v, x7_policy *pol) {
    if (v->t != X7J_ARR) x7_narrow_fail("expected a list at", "net.allow_hosts");
    pol->net.hosts = (x7_phost *)x7_jr_alloc((v->n ? v->n : 1) * sizeof(x7_phost));
    pol->net.nhosts = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        const x7_jv *h = &v->items[i];
        const x7_jv *host = NULL, *ports = NULL;
        for (uint32_t k = 0; h->t == X7J_OBJ && k < h->n; k++) {
            if (strcmp(h->keys[k], "host") == 0) host = &h->items[k];
            else if (strcmp(h->keys[k], "ports") == 0) ports = &h->items[k];
            else x7_narrow_fail("unknown field in net.allow_hosts[]", h->keys[k]);
        }
        if (host == NULL || host->t != X7J_STR || ports == NULL || ports->t != X7J_ARR)
            x7_narrow_fail("each net.allow_hosts entry is {\"host\": TEXT, \"ports\": [PORT...]}", NULL);
        for (uint32_t c = 0; c < host->slen; c++)
            if (host->s[c] >= 'A' && host->s[c] <= 'Z') host->s[c] = (char)(host->s[c] - 'A' + 'a');
        if (!x7_pstr_valid(host->s, host->slen, X7_PSTR_HOST)) x7_narrow_fail("a bad host in net.allow_hosts", host->s);
        x7_phost *out = &pol->net.hosts[pol->net.nhosts++];
        out->host = (x7_pstr){host->s, host->slen};
        out->ports = (uint32_t *)x7_jr_alloc((ports->n ? ports->n : 1) * sizeof(uint32_t));
        out->nports = 0;
        for (uint32_t k = 0; k < ports->n; k++) {
            if (ports->items[k].t != X7J_NUM || ports->items[k].num < 1 || ports->items[k].num > 65535)
                x7_narrow_fail("a port in net.allow_hosts is not 1..65535 for", host->s);
            out->ports[out->nports++] = (uint32_t)ports->items[k].num;
        }
    }
}

/* db.drivers: {"sqlite"|"postgres"|"mysql"|"redis": BOOL}; a driver left out keeps the seal's. */
X7_FN void x7_narrow_db_drivers(const x7_jv *v, x7_policy *pol) {
    if (v->t != X7J_OBJ) x7_narrow_fail("expected an object at", "db.drivers");
    static const char *const names[] = {"sqlite", "postgres", "mysql", "redis"};
    uint32_t *flags[] = {&pol->db.sqlite, &pol->db.postgres, &pol->db.mysql, &pol->db.redis};
    for (uint32_t k = 0; k < v->n; k++) {
        size_t i = 0;
        while (i < 4 && strcmp(v->keys[k], names[i]) != 0) i++;
        if (i == 4) x7_narrow_fail("unknown field", x7_narrow_where("db.drivers", v->keys[k]));
        const x7_jv *b = &v->items[k];
        if (b->t != X7J_TRUE && b->t != X7J_FALSE)
            x7_narrow_fail("expected true or false at", x7_narrow_where("db.drivers", v->keys[k]));
        *flags[i] = b->t == X7J_TRUE;
    }
}

X7_FN void x7_narrow_field(const x7_nfield *f, const x7_jv *v, x7_policy *pol) {
    const char *where = x7_narrow_where(f->section, f->name);
    uint8_t *at = (uint8_t *)pol + f->off;
    switch (f->kind) {
    case X7N_BOOL:
        if (v->t != X7J_TRUE && v->t != X7J_FALSE) x7_narrow_fail("expected true or false at", where);
        *(uint32_t *)at = v->t == X7J_TRUE;
        return;
    case X7N_U32:
        if (v->t != X7J_NUM || v->num > UINT32_MAX) x7_narrow_fail("expected a whole number up to 4294967295 at", where);
        *(uint32_t *)at = (uint32_t)v->num;
        return;
    case X7N_U64:
        if (v->t != X7J_NUM) x7_narrow_fail("expected a whole number at", where);
        *(uint64_t *)at = v->num;
        return;
    case X7N_PATHS:
    case X7N_KEYS:
    case X7N_STRS: *(x7_pstrs *)at = x7_narrow_strs(v, where, f->kind); return;
    case X7N_HOSTS: x7_narrow_hosts(v, pol); return;
    case X7N_TEXT:
        if (v->t != X7J_STR) x7_narrow_fail("expected a string at", where);
        if (strcmp(f->name, "schema_version") == 0 && strcmp(v->s, "x07.run-os-policy@0.1.0") != 0)
            x7_narrow_fail("schema_version must be x07.run-os-policy@0.1.0, not", v->s);
        return;
    case X7N_SKIP: return;
    case X7N_DB_DRIVERS: x7_narrow_db_drivers(v, pol); return;
    case X7N_DB_NO:
        x7_narrow_fail("cannot narrow this db field (only db.enabled and db.drivers narrow a sealed bundle; seal a "
                       "narrower db section with x07 bundle instead)",
                       where);
    default:
        x7_narrow_fail("cannot narrow with this field (list the allowed hosts in net.allow_hosts instead)", where);
    }
}

X7_FN const x7_nfield *x7_narrow_lookup(const char *sec, const char *name) {
    for (size_t i = 0; i < sizeof x7_narrow_fields / sizeof x7_narrow_fields[0]; i++) {
        const x7_nfield *f = &x7_narrow_fields[i];
        if (((f->section == NULL) == (sec == NULL)) && (sec == NULL || strcmp(f->section, sec) == 0) &&
            strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

/* Whether `name` is a section of the policy. */
X7_FN int x7_narrow_is_section(const char *name) {
    for (size_t i = 0; i < sizeof x7_narrow_fields / sizeof x7_narrow_fields[0]; i++)
        if (x7_narrow_fields[i].section != NULL && strcmp(x7_narrow_fields[i].section, name) == 0) return 1;
    return 0;
}

/*
 * x7_sb.pol ∩ (x7_sb.pol with FILE's fields). Called by a sealed launcher after its policy's
 * relative paths are resolved against `cwd`, before write roots are created and the environment
 * is cleared.
 */
X7_FN void x7_narrow_apply(const char *file, const char *cwd) {
    x7_narrow_cwd = cwd;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) x7_narrow_fail("cannot open the file", strerror(errno));
    char *text = (char *)x7_jr_alloc(X7_NARROW_MAX_BYTES + 1);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, text + len, X7_NARROW_MAX_BYTES + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) x7_narrow_fail("cannot read the file", strerror(errno));
        if (r == 0) break;
        len += (size_t)r;
        if (len > X7_NARROW_MAX_BYTES) x7_narrow_fail("the file is larger than 1 MiB", NULL);
    }
    close(fd);
    x7_jr r = {text, text + len, NULL};
    x7_jv doc;
    memset(&doc, 0, sizeof doc);
    if (x7_jr_value(&r, &doc, 0) != 0) x7_narrow_fail("not valid JSON", r.why);
    x7_jr_ws(&r);
    if (r.p != r.end) x7_narrow_fail("not valid JSON", "text after the document");
    if (doc.t != X7J_OBJ) x7_narrow_fail("the document must be a JSON object (a run-os policy)", NULL);

    x7_policy narrow = x7_sb.pol;
    narrow.filters.n = 0; /* the sealed side keeps its seccomp programs */
    for (uint32_t i = 0; i < doc.n; i++) {
        const x7_nfield *top = x7_narrow_lookup(NULL, doc.keys[i]);
        if (top != NULL) {
            x7_narrow_field(top, &doc.items[i], &narrow);
            continue;
        }
        if (!x7_narrow_is_section(doc.keys[i])) x7_narrow_fail("unknown field", doc.keys[i]);
        const x7_jv *sec = &doc.items[i];
        if (sec->t != X7J_OBJ) x7_narrow_fail("expected an object at", doc.keys[i]);
        for (uint32_t k = 0; k < sec->n; k++) {
            const x7_nfield *f = x7_narrow_lookup(doc.keys[i], sec->keys[k]);
            if (f == NULL) x7_narrow_fail("unknown field", x7_narrow_where(doc.keys[i], sec->keys[k]));
            x7_narrow_field(f, &sec->items[k], &narrow);
        }
    }
    x7_policy both;
    x7_policy_intersect(&x7_sb.pol, &narrow, &both);
    x7_sb.pol = both;
}
#endif
