/* x07-fragment: requires=core,vec,os_db,os_db_util */
/* x07-fragment-libs: pq */
/*
 * os_db_pg: `os.db.pg.{open,query,exec,close}_v1(req, caps)` over libpq, answering the requests
 * `std.db.pg` (ext-db-postgres) builds as the public native driver (tokio-postgres) does under
 * its permissive run-os policy (docs/stdlib/os-db.md):
 *  - open  "X7PO" | 1 | flags (0) | host | u32 port | user | pass | db (each u32 len | bytes)
 *    → ok(u32 conn);
 *  - query "X7PQ" / exec "X7PE" | 1 | conn | flags (0) | u32 sql_len | sql | u32 params_len |
 *    params doc → ok(rows doc {cols, rows}) / ok({last_insert_id: 0, rows_affected});
 *  - close "X7PC" | 1 | conn → ok(empty).
 * Errors: 53249 policy (the sandboxed world, or after 1000 queries), 53250 bad request,
 * 53251 bad conn, 53760 too large, 53523 connecting (upstream's TLS-capable connector reports
 * every connect failure, a wrong password included, with this code), 53521 query, 53522 exec;
 * the messages are tokio-postgres's ("db error: ERROR: ...", "timeout", ...).
 * Upstream binds every parameter as text, in the binary format, into the statement the server
 * prepared, so only text-like parameter types accept them; results come back in the binary
 * format and only bool, int2/4/8, float4/8, bytea and the text types have a value (anything
 * else is null). This driver does the same with PQprepare-style messages and PQsendQueryPrepared:
 * parameters never become SQL text.
 */
#if __has_include(<postgresql/libpq-fe.h>)
#include <postgresql/libpq-fe.h>
#else
#include <libpq-fe.h> /* a missing header names libpq-fe.h, which builder/src/cc/packages.rs maps */
#endif
#include <poll.h>

#define X7_PG_ERR_QUERY 53521u
#define X7_PG_ERR_EXEC 53522u
#define X7_PG_ERR_TLS 53523u
#define X7_PG_MSG_MAX 4096

typedef struct {
    PGconn *conn;
    int lookup_ready; /* the named type-name statement is prepared on this connection */
} x7_pg_slot;

/* Connection id i is slot i (0 is never valid); the lowest free slot is used, as upstream. */
static x7_pg_slot x7_pg_conns[X7_DBU_MAX_LIVE_CONNS + 1] X7_UNUSED;
/* query + exec calls so far: the permissive policy allows 1000 per process. */
static uint64_t x7_pg_queries X7_UNUSED;

/* A message under construction (x7_db_err keeps at most 4096 bytes of it anyway). */
typedef struct {
    char s[X7_PG_MSG_MAX + 1];
    size_t n;
} x7_pg_msg;

X7_FN void x7_pg_put(x7_pg_msg *m, const char *s, size_t n) {
    if (n > X7_PG_MSG_MAX - m->n) n = X7_PG_MSG_MAX - m->n;
    memcpy(m->s + m->n, s, n);
    m->n += n;
    m->s[m->n] = 0;
}
X7_FN void x7_pg_puts(x7_pg_msg *m, const char *s) { x7_pg_put(m, s, strlen(s)); }
/* s without trailing newlines and spaces (libpq ends its messages with "\n"). */
X7_FN void x7_pg_put_trimmed(x7_pg_msg *m, const char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) n--;
    x7_pg_put(m, s, n);
}

/* Waits until fd is ready for `events` or the deadline passes (0). A closed socket is "ready":
 * libpq then reports the failure itself. */
X7_FN int x7_pg_wait(int fd, short events, int64_t deadline) {
    if (fd < 0) return 1;
    for (;;) {
        int64_t left = deadline - x7_dbu_now_ms();
        if (left <= 0) return 0;
        struct pollfd pf = {fd, events, 0};
        int r = poll(&pf, 1, left > 0x7FFFFFFF ? 0x7FFFFFFF : (int)left);
        if (r < 0 && errno == EINTR) continue;
        return r != 0;
    }
}

/* The next result of the command in flight (NULL at its end); *timed_out when nothing came in
 * time. */
X7_FN PGresult *x7_pg_next(PGconn *c, int64_t deadline, int *timed_out) {
    while (PQisBusy(c)) {
        if (!x7_pg_wait(PQsocket(c), POLLIN, deadline)) {
            *timed_out = 1;
            return NULL;
        }
        if (!PQconsumeInput(c)) break; /* PQgetResult now returns the error */
    }
    PGresult *r = PQgetResult(c);
    if (r && PQresultStatus(r) == PGRES_COPY_IN) {
        PQputCopyEnd(c, "COPY FROM STDIN is not supported by os.db.pg");
    } else if (r && PQresultStatus(r) == PGRES_COPY_OUT) {
        char *buf;
        int n;
        while ((n = PQgetCopyData(c, &buf, 1)) != -1) {
            if (n > 0) {
                PQfreemem(buf);
            } else if (n == 0) {
                if (!x7_pg_wait(PQsocket(c), POLLIN, deadline)) {
                    *timed_out = 1;
                    PQclear(r);
                    return NULL;
                }
                if (!PQconsumeInput(c)) break;
            } else {
                break;
            }
        }
    }
    return r;
}

/* An error result as tokio-postgres words it: "db error: SEVERITY: message" plus DETAIL and HINT
 * lines for the server's errors; libpq's own text for client-side ones. */
X7_FN void x7_pg_result_msg(x7_pg_msg *m, PGconn *c, const PGresult *r) {
    const char *sev = r ? PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
    const char *prim = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!sev && r) sev = PQresultErrorField(r, PG_DIAG_SEVERITY);
    if (sev && prim) {
        const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
        x7_pg_puts(m, "db error: ");
        x7_pg_puts(m, sev);
        x7_pg_puts(m, ": ");
        x7_pg_puts(m, prim);
        if (detail) x7_pg_puts(m, "\nDETAIL: "), x7_pg_puts(m, detail);
        if (hint) x7_pg_puts(m, "\nHINT: "), x7_pg_puts(m, hint);
    } else if (PQstatus(c) == CONNECTION_BAD) {
        x7_pg_puts(m, "connection closed");
    } else {
        x7_pg_put_trimmed(m, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    }
}

/* A failed connection's message: the server's "FATAL:  …" as "db error: FATAL: …", otherwise
 * "error connecting to server: " and libpq's text. */
X7_FN void x7_pg_connect_msg(x7_pg_msg *m, PGconn *c) {
    const char *t = c ? PQerrorMessage(c) : "out of memory";
    const char *sev = NULL;
    static const char *const sevs[] = {"FATAL:  ", "PANIC:  ", "ERROR:  "};
    for (int i = 0; i < 3 && !sev; i++) sev = strstr(t, sevs[i]);
    if (!sev) {
        x7_pg_puts(m, "error connecting to server: ");
        x7_pg_put_trimmed(m, t);
        return;
    }
    x7_pg_puts(m, "db error: ");
    /* libpq separates each label from its text with two spaces; tokio-postgres with one */
    for (const char *p = sev; *p;) {
        const char *colon = strstr(p, ":  ");
        const char *nl = strchr(p, '\n');
        if (colon && (!nl || colon < nl)) {
            x7_pg_put(m, p, (size_t)(colon - p) + 2);
            p = colon + 3;
            continue;
        }
        const char *end = nl ? nl : p + strlen(p);
        size_t n = (size_t)(end - p);
        if (!nl || !end[1]) {
            x7_pg_put(m, p, n); /* the last line, without its newline */
            break;
        }
        x7_pg_put(m, p, n + 1);
        p = end + 1;
    }
}

X7_FN void x7_pg_ignore_notice(void *arg, const char *message) { (void)arg, (void)message; }

/* One connection attempt polled to completion or the deadline (*timed_out). */
X7_FN PGconn *x7_pg_try_connect(const char *const *keys, const char *const *vals,
                                int64_t deadline, int *timed_out) {
    PGconn *c = PQconnectStartParams(keys, vals, 0);
    if (!c) return NULL;
    /* libpq prints server notices on stderr by default; upstream only logs them */
    PQsetNoticeProcessor(c, x7_pg_ignore_notice, NULL);
    if (PQstatus(c) == CONNECTION_BAD) return c;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (!x7_pg_wait(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
            *timed_out = 1;
            return c;
        }
        st = PQconnectPoll(c);
    }
    return c;
}

/* The system CA bundle: upstream verifies a TLS server against the public web roots. */
X7_FN const char *x7_pg_ca_bundle(void) {
    static const char *const paths[] = {"/etc/ssl/certs/ca-certificates.crt",
                                        "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};
    for (int i = 0; i < 3; i++)
        if (access(paths[i], R_OK) == 0) return paths[i];
    return paths[0];
}

/* An open field: u32 len | bytes at *off. */
X7_FN int x7_pg_field(x7_view req, uint32_t *off, x7_view *out) { return x7_db_field(req, off, out); }

X7_FN x7_bytes x7_os_db_pg_open_v1(x7_view req, x7_view caps) {
    const uint32_t op = X7_DB_OP_OPEN;
    const char *gate = X7_DB_GATE("os.db.pg", "postgres");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    x7_db_caps c;
    if (!x7_db_caps_parse(caps, &c)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, flags, port, off = 12;
    x7_view host, user, pass, db;
    if (req.len < 24 || memcmp(req.ptr, "X7PO", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &flags);
    if (!x7_pg_field(req, &off, &host) || !x7_db_u32(req, off, &port) || port == 0 || port > 65535)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    off += 4;
    if (!x7_pg_field(req, &off, &user) || !x7_pg_field(req, &off, &pass) ||
        !x7_pg_field(req, &off, &db) || off != req.len || flags != 0 || !x7_dbu_utf8(host) ||
        !x7_dbu_utf8(user) || !x7_dbu_utf8(pass) || !x7_dbu_utf8(db))
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
#if X7_SB_CHECKS
    /* the run policy: db.net's names, ranges and ports; the checked address is the one used */
    char sb_addr[64] = "";
    char *sb_host = x7_db_cstr(host);
    const char *why = sb_host ? x7_sb_db_net("os.db.pg.open_v1", sb_host, port, sb_addr, sizeof sb_addr) : NULL;
    if (sb_host) x7_free((uint8_t *)sb_host);
    if (why != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, why);
#endif
    if (host.len == 0) /* what tokio-postgres says for an empty host (libpq would pick a socket) */
        return x7_db_err(op, X7_PG_ERR_TLS,
                         "error connecting to server: failed to lookup address information: "
                         "Name or service not known");
    char *h = x7_db_cstr(host), *u = x7_db_cstr(user), *p = x7_db_cstr(pass), *d = x7_db_cstr(db);
    char port_s[8];
    snprintf(port_s, sizeof port_s, "%u", port);
    PGconn *conn = NULL;
    int timed_out = 0;
    x7_pg_msg msg = {{0}, 0};
    if (h && u && p && d) {
        /* upstream: TLS when the server offers it, with the certificate verified; plaintext when
         * it does not. libpq has no such mode, so: verify-full first, and plaintext only when the
         * server answered that it has no TLS. Empty fields are left to libpq's defaults. */
        const char *keys[12], *vals[12];
        int n = 0;
        keys[n] = "host", vals[n++] = h;
        keys[n] = "port", vals[n++] = port_s;
        if (u[0]) keys[n] = "user", vals[n++] = u;
        if (p[0]) keys[n] = "password", vals[n++] = p;
        if (d[0]) keys[n] = "dbname", vals[n++] = d;
        keys[n] = "client_encoding", vals[n++] = "UTF8";
        keys[n] = "gssencmode", vals[n++] = "disable";
#if X7_SB_CHECKS
        /* run-os-sandboxed: db.net.require_tls / require_verify decide, with no plaintext
         * fallback; the address is the one the policy check resolved */
        const int fallback = 0;
        if (sb_addr[0]) keys[n] = "hostaddr", vals[n++] = sb_addr;
        const char *mode = !x7_sb.pol.db.require_tls        ? "disable"
                           : x7_sb.pol.db.require_verify ? "verify-full"
                                                         : "require";
#else
        const int fallback = 1;
        const char *mode = "verify-full";
#endif
        /* with a root certificate file libpq's "require" would verify the chain too */
        if (strcmp(mode, "verify-full") == 0) keys[n] = "sslrootcert", vals[n++] = x7_pg_ca_bundle();
        int mode_at = n;
        keys[n] = "sslmode", vals[n++] = mode;
        keys[n] = NULL, vals[n] = NULL;
        int64_t deadline =
            x7_dbu_now_ms() + x7_dbu_effective(X7_DBU_LIM_CONNECT_TIMEOUT_MS, c.connect_timeout_ms);
        conn = x7_pg_try_connect(keys, vals, deadline, &timed_out);
        if (fallback && conn && !timed_out && PQstatus(conn) != CONNECTION_OK &&
            strstr(PQerrorMessage(conn), "server does not support SSL")) {
            PQfinish(conn);
            vals[mode_at] = "disable";
            conn = x7_pg_try_connect(keys, vals, deadline, &timed_out);
        }
        if (timed_out) x7_pg_puts(&msg, "error connecting to server: connection timed out");
        else if (!conn || PQstatus(conn) != CONNECTION_OK) x7_pg_connect_msg(&msg, conn);
    }
    int bad_field = !(h && u && p && d);
    char *fields[4] = {h, u, p, d};
    for (int i = 0; i < 4; i++)
        if (fields[i]) x7_free((uint8_t *)fields[i]);
    if (bad_field) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL); /* a NUL byte: libpq cannot take it */
    if (msg.n) {
        if (conn) PQfinish(conn);
        return x7_db_err(op, X7_PG_ERR_TLS, msg.s);
    }
    uint32_t id = 0;
    for (uint32_t i = X7_DBU_LIM_LIVE_CONNS; i >= 1; i--)
        if (!x7_pg_conns[i].conn) id = i;
    if (id == 0) { /* upstream connects first, then finds the table full */
        PQfinish(conn);
        return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    }
    x7_pg_conns[id] = (x7_pg_slot){conn, 0};
    uint8_t pl[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
    return x7_db_ok(op, pl, 4);
}

X7_FN x7_bytes x7_os_db_pg_close_v1(x7_view req, x7_view caps) {
    const uint32_t op = X7_DB_OP_CLOSE;
    (void)caps; /* upstream ignores them here */
    const char *gate = X7_DB_GATE("os.db.pg", "postgres");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    uint32_t ver, id;
    if (req.len != 12 || memcmp(req.ptr, "X7PC", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &id);
    if (id < 1 || id > X7_DBU_MAX_LIVE_CONNS || !x7_pg_conns[id].conn)
        return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    PQfinish(x7_pg_conns[id].conn);
    x7_pg_conns[id] = (x7_pg_slot){NULL, 0};
    return x7_db_ok(op, (const uint8_t *)"", 0);
}

/* After a timeout upstream drops the connection: cancel what runs, close, free the id. */
X7_FN void x7_pg_evict(uint32_t id) {
    PGconn *c = x7_pg_conns[id].conn;
    PGcancel *k = PQgetCancel(c);
    if (k) {
        char buf[256];
        PQcancel(k, buf, sizeof buf);
        PQfreeCancel(k);
    }
    PQfinish(c);
    x7_pg_conns[id] = (x7_pg_slot){NULL, 0};
}

#define X7_PG_OID_BOOL 16u
#define X7_PG_OID_BYTEA 17u
#define X7_PG_OID_NAME 19u
#define X7_PG_OID_INT8 20u
#define X7_PG_OID_INT2 21u
#define X7_PG_OID_INT4 23u
#define X7_PG_OID_TEXT 25u
#define X7_PG_OID_FLOAT4 700u
#define X7_PG_OID_FLOAT8 701u
#define X7_PG_OID_UNKNOWN 705u
#define X7_PG_OID_BPCHAR 1042u
#define X7_PG_OID_VARCHAR 1043u
/* Type OIDs below this are the server's own; above it, extension types such as citext. */
#define X7_PG_FIRST_NORMAL_OID 16384u

X7_FN int x7_pg_builtin_text(Oid t) {
    return t == X7_PG_OID_TEXT || t == X7_PG_OID_VARCHAR || t == X7_PG_OID_BPCHAR ||
           t == X7_PG_OID_NAME || t == X7_PG_OID_UNKNOWN;
}

/*
 * A type's name as tokio-postgres prints it ("int4", "myschema.mytype"), from pg_type through a
 * named statement prepared once per connection (the unnamed one holds the caller's statement).
 * 1, or 0 (timeout: *timed_out; other failures leave out empty).
 */
X7_FN int x7_pg_type_name(x7_pg_slot *s, Oid oid, char out[160], int64_t deadline, int *timed_out) {
    PGconn *c = s->conn;
    PGresult *r;
    out[0] = 0;
    if (!s->lookup_ready) {
        if (!PQsendPrepare(c, "x07_type_name",
                           "SELECT n.nspname, t.typname FROM pg_catalog.pg_type t JOIN "
                           "pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1",
                           1, NULL))
            return 1;
        int ok = 0;
        while ((r = x7_pg_next(c, deadline, timed_out))) {
            ok |= PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
        }
        if (*timed_out) return 0;
        if (!ok) return 1;
        s->lookup_ready = 1;
    }
    char oid_s[16];
    snprintf(oid_s, sizeof oid_s, "%u", (unsigned)oid);
    const char *vals[1] = {oid_s};
    if (!PQsendQueryPrepared(c, "x07_type_name", 1, vals, NULL, NULL, 0)) return 1;
    while ((r = x7_pg_next(c, deadline, timed_out))) {
        if (PQresultStatus(r) == PGRES_FATAL_ERROR) s->lookup_ready = 0; /* e.g. DISCARD ALL */
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            const char *ns = PQgetvalue(r, 0, 0), *name = PQgetvalue(r, 0, 1);
            if (strcmp(ns, "public") != 0 && strcmp(ns, "pg_catalog") != 0)
                snprintf(out, 160, "%.70s.%.70s", ns, name);
            else
                snprintf(out, 160, "%.150s", name);
        }
        PQclear(r);
    }
    return !*timed_out;
}

/* What upstream's String conversions accept: 0 no, 1 text as is, 2 ltree-family (a version byte
 * 1 in front of the text in the binary format). */
X7_FN int x7_pg_text_kind(Oid t, const char *name) {
    if (x7_pg_builtin_text(t)) return 1;
    if (t < X7_PG_FIRST_NORMAL_OID) return 0;
    if (strcmp(name, "citext") == 0) return 1;
    if (!strcmp(name, "ltree") || !strcmp(name, "lquery") || !strcmp(name, "ltxtquery")) return 2;
    return 0;
}

X7_FN uint64_t x7_pg_be(const uint8_t *p, int n) {
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x = (x << 8) | p[i];
    return x;
}

/* One binary-format cell as upstream's rows doc holds it (kind: x7_pg_text_kind of the column,
 * for the text types). Values of other types, and ones that do not decode, are null. */
X7_FN x7_vec x7_pg_cell(x7_vec v, Oid t, int kind, const uint8_t *p, int len) {
    char num[48];
    int n = -1;
    if (t == X7_PG_OID_BOOL && len == 1) {
        n = snprintf(num, sizeof num, "%d", p[0] != 0); /* upstream writes a bool as number 1/0 */
    } else if (t == X7_PG_OID_INT2 && len == 2) {
        n = x7_dbu_fmt_i64(num, (int16_t)x7_pg_be(p, 2));
    } else if (t == X7_PG_OID_INT4 && len == 4) {
        n = x7_dbu_fmt_i64(num, (int32_t)x7_pg_be(p, 4));
    } else if (t == X7_PG_OID_INT8 && len == 8) {
        n = x7_dbu_fmt_i64(num, (int64_t)x7_pg_be(p, 8));
    } else if (t == X7_PG_OID_FLOAT4 && len == 4) {
        uint32_t bits = (uint32_t)x7_pg_be(p, 4);
        float f;
        memcpy(&f, &bits, 4);
        n = x7_dbu_fmt_float(num, f, 1);
    } else if (t == X7_PG_OID_FLOAT8 && len == 8) {
        uint64_t bits = x7_pg_be(p, 8);
        double d;
        memcpy(&d, &bits, 8);
        n = x7_dbu_fmt_float(num, d, 0);
    } else if (t == X7_PG_OID_BYTEA) {
        return x7_dm_string(v, p, (uint32_t)len);
    } else if (kind == 2 && len >= 1 && p[0] == 1 && x7_dbu_utf8((x7_view){p + 1, (uint32_t)len - 1})) {
        return x7_dm_string(v, p + 1, (uint32_t)len - 1);
    } else if (kind == 1 && x7_dbu_utf8((x7_view){p, (uint32_t)len})) {
        return x7_dm_string(v, p, (uint32_t)len);
    }
    return n < 0 ? x7_dm_null(v) : x7_dm_text(v, 2, (const uint8_t *)num, (uint32_t)n);
}

/* What a query / exec holds while it runs (freed by x7_pg_run_end). */
typedef struct {
    int n;              /* parameters */
    const char **vals;  /* NULL for a null parameter */
    int *lens, *fmts;
    uint8_t **owned;    /* copies made for ltree-family parameters */
    Oid *col_types;
    int *col_kinds;
} x7_pg_call;

X7_FN void x7_pg_call_free(x7_pg_call *k) {
    if (k->owned)
        for (int i = 0; i < k->n; i++) free(k->owned[i]);
    free(k->owned), free(k->vals), free(k->lens), free(k->fmts), free(k->col_types), free(k->col_kinds);
}

/* Prepares `sql` as the unnamed statement and describes it; the description, or NULL with the
 * error in *m (or *timed_out). */
X7_FN PGresult *x7_pg_prepare(PGconn *c, const char *sql, int64_t deadline, int *timed_out,
                              x7_pg_msg *m) {
    PGresult *r, *err = NULL, *desc = NULL;
    if (!PQsendPrepare(c, "", sql, 0, NULL)) {
        x7_pg_result_msg(m, c, NULL);
        return NULL;
    }
    while ((r = x7_pg_next(c, deadline, timed_out))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !err) err = r;
        else PQclear(r);
    }
    if (*timed_out || err) {
        if (err) x7_pg_result_msg(m, c, err), PQclear(err);
        return NULL;
    }
    if (!PQsendDescribePrepared(c, "")) {
        x7_pg_result_msg(m, c, NULL);
        return NULL;
    }
    while ((r = x7_pg_next(c, deadline, timed_out))) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK && !desc) desc = r;
        else if (!err && PQresultStatus(r) != PGRES_COMMAND_OK) err = r;
        else PQclear(r);
    }
    if (*timed_out || err || !desc) {
        if (err) x7_pg_result_msg(m, c, err), PQclear(err);
        else if (!*timed_out) x7_pg_result_msg(m, c, NULL);
        if (desc) PQclear(desc);
        return NULL;
    }
    return desc;
}

/* The last word of a command tag ("INSERT 0 3" → 3) as u64, 0 when it is not a number. */
X7_FN uint64_t x7_pg_tag_rows(const char *tag) {
    const char *w = strrchr(tag, ' ');
    w = w ? w + 1 : tag;
    if (*w == '+') w++;
    if (!*w) return 0;
    uint64_t x = 0;
    for (; *w; w++) {
        if (*w < '0' || *w > '9' || x > (UINT64_MAX - (uint64_t)(*w - '0')) / 10) return 0;
        x = x * 10 + (uint64_t)(*w - '0');
    }
    return x;
}

/* query_v1 (is_query) and exec_v1: the same request layout and checks, in upstream's order. */
X7_FN x7_bytes x7_pg_run(x7_view req, x7_view caps, int is_query) {
    const uint32_t op = is_query ? X7_DB_OP_QUERY : X7_DB_OP_EXEC;
    const uint32_t code = is_query ? X7_PG_ERR_QUERY : X7_PG_ERR_EXEC;
    const char *gate = X7_DB_GATE("os.db.pg", "postgres");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    if (x7_pg_queries++ >= X7_DBU_LIM_QUERIES) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, X7_DBU_LIMIT_MSG("db.max_queries"));
    x7_db_caps caps_v;
    if (!x7_db_caps_parse(caps, &caps_v)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, id, flags, off = 16;
    x7_view sql, params;
    if (req.len < 24 || memcmp(req.ptr, is_query ? "X7PQ" : "X7PE", 4) != 0 ||
        !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &id);
    x7_db_u32(req, 12, &flags);
    if (flags != 0 || !x7_db_field(req, &off, &sql) || !x7_db_field(req, &off, &params) ||
        off != req.len)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    if (sql.len > X7_DBU_LIM_SQL_BYTES) return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    if (id < 1 || id > X7_DBU_MAX_LIVE_CONNS || !x7_pg_conns[id].conn)
        return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    if (!x7_dbu_utf8(sql)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_dm_scalar *ps = NULL;
    int64_t np = params.len ? x7_dm_params(params, &ps) : 0;
    for (int64_t i = 0; i < np; i++)
        if (ps[i].tag >= 2 && !x7_dbu_utf8(ps[i].text)) np = -1;
    if (np < 0) {
        if (ps) x7_free((uint8_t *)ps);
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    }
    x7_pg_slot *s = &x7_pg_conns[id];
    PGconn *c = s->conn;
    uint32_t max_rows = x7_dbu_effective(X7_DBU_LIM_ROWS, caps_v.max_rows);
    uint32_t max_resp = x7_dbu_effective(X7_DBU_LIM_RESP_BYTES, caps_v.max_resp_bytes);
    int64_t timeout = x7_dbu_effective(X7_DBU_LIM_QUERY_TIMEOUT_MS, caps_v.query_timeout_ms);
    int64_t deadline = x7_dbu_now_ms() + timeout;
    int timed_out = 0, too_many = 0, too_big = 0, failed = 0;
    x7_pg_msg m = {{0}, 0};
    x7_pg_call k = {(int)np, NULL, NULL, NULL, NULL, NULL, NULL};
    x7_vec v = X7_EMPTY_VEC;
    PGresult *desc = NULL, *r;
    char *csql = x7_db_cstr(sql);
    if (!csql) { /* the Parse message carries the SQL as a C string */
        x7_pg_puts(&m, "error encoding message to server: string contains embedded null");
        goto done;
    }
    desc = x7_pg_prepare(c, csql, deadline, &timed_out, &m);
    x7_free((uint8_t *)csql);
    if (!desc) goto done;
    if (PQnparams(desc) != k.n) {
        snprintf(m.s, sizeof m.s, "expected %d parameters but got %d", PQnparams(desc), k.n);
        m.n = strlen(m.s);
        goto done;
    }
    k.vals = calloc((size_t)k.n + 1, sizeof *k.vals);
    k.lens = calloc((size_t)k.n + 1, sizeof *k.lens);
    k.fmts = calloc((size_t)k.n + 1, sizeof *k.fmts);
    k.owned = calloc((size_t)k.n + 1, sizeof *k.owned);
    int ncols = PQnfields(desc);
    k.col_types = calloc((size_t)ncols + 1, sizeof *k.col_types);
    k.col_kinds = calloc((size_t)ncols + 1, sizeof *k.col_kinds);
    if (!k.vals || !k.lens || !k.fmts || !k.owned || !k.col_types || !k.col_kinds) {
        x7_pg_puts(&m, "out of memory");
        goto done;
    }
    for (int i = 0; i < k.n; i++) {
        Oid t = PQparamtype(desc, i);
        char name[160] = "";
        if (t >= X7_PG_FIRST_NORMAL_OID && !x7_pg_type_name(s, t, name, deadline, &timed_out)) goto done;
        int kind = x7_pg_text_kind(t, name);
        if (!kind) {
            if (!name[0] && !x7_pg_type_name(s, t, name, deadline, &timed_out)) goto done;
            if (!name[0]) snprintf(name, sizeof name, "%u", (unsigned)t);
            snprintf(m.s, sizeof m.s,
                     "error serializing parameter %d: cannot convert between the Rust type "
                     "`core::option::Option<alloc::string::String>` and the Postgres type `%s`",
                     i, name);
            m.n = strlen(m.s);
            goto done;
        }
        const x7_dm_scalar *p = &ps[i];
        x7_view text = p->tag == 1 ? (p->boolean ? (x7_view){(const uint8_t *)"true", 4}
                                                 : (x7_view){(const uint8_t *)"false", 5})
                                   : p->text;
        k.fmts[i] = 1; /* binary: for text types the bytes themselves */
        if (p->tag == 0) continue;
        if (kind == 2) {
            k.owned[i] = malloc((size_t)text.len + 1);
            if (!k.owned[i]) {
                x7_pg_puts(&m, "out of memory");
                goto done;
            }
            k.owned[i][0] = 1;
            memcpy(k.owned[i] + 1, text.ptr, text.len);
            k.vals[i] = (const char *)k.owned[i], k.lens[i] = (int)text.len + 1;
        } else {
            k.vals[i] = text.len ? (const char *)text.ptr : "", k.lens[i] = (int)text.len;
        }
    }
    for (int i = 0; i < ncols; i++) {
        char name[160] = "";
        k.col_types[i] = PQftype(desc, i);
        if (k.col_types[i] >= X7_PG_FIRST_NORMAL_OID &&
            !x7_pg_type_name(s, k.col_types[i], name, deadline, &timed_out))
            goto done;
        k.col_kinds[i] = x7_pg_text_kind(k.col_types[i], name);
    }
    if (!PQsendQueryPrepared(c, "", k.n, k.vals, k.lens, k.fmts, 1)) {
        x7_pg_result_msg(&m, c, NULL);
        goto done;
    }
    PQsetSingleRowMode(c); /* rows one at a time: memory stays bounded past max_rows */
    v = x7_dbu_resp_begin(op);
    uint32_t rows = 0, count_at = 0;
    uint64_t affected = 0;
    if (is_query) {
        v = x7_dbu_rows_begin(v, (uint32_t)ncols);
        for (int i = 0; i < ncols; i++) {
            const char *name = PQfname(desc, i);
            v = x7_dm_string(v, (const uint8_t *)name, (uint32_t)strlen(name));
        }
        v = x7_dbu_rows_mid(v, &count_at);
    }
    /* upstream waits at most the query timeout for each row, not for the whole result */
    while ((r = x7_pg_next(c, x7_dbu_now_ms() + timeout, &timed_out))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && is_query && !failed) {
            if (max_rows != 0 && rows >= max_rows) {
                too_many = 1;
            } else if (!too_big) {
                v = x7_dm_header(v, 4, (uint32_t)ncols);
                for (int i = 0; i < ncols; i++)
                    v = PQgetisnull(r, 0, i)
                            ? x7_dm_null(v)
                            : x7_pg_cell(v, k.col_types[i], k.col_kinds[i],
                                         (const uint8_t *)PQgetvalue(r, 0, i), PQgetlength(r, 0, i));
                rows++;
                /* over max_resp_bytes the answer is "too large" whatever follows: stop growing */
                if (v.len - X7_DBU_DOC_AT > max_resp) too_big = 1;
            }
        } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            affected = x7_pg_tag_rows(PQcmdStatus(r));
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
            if (!failed) x7_pg_puts(&m, "unexpected message from server");
            failed = 1;
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_EMPTY_QUERY && !failed) {
            x7_pg_result_msg(&m, c, r);
            failed = 1;
        }
        PQclear(r);
    }
    if (timed_out || failed) goto done;
    if (is_query) {
        x7_db_patch_u32(v, count_at, rows);
    } else {
        char n_s[24];
        snprintf(n_s, sizeof n_s, "%llu", (unsigned long long)affected);
        v = x7_dbu_exec_doc(v, "0", n_s);
    }
done:
    if (desc) PQclear(desc);
    x7_pg_call_free(&k);
    if (ps) x7_free((uint8_t *)ps);
    if (timed_out) {
        x7_vec_drop(v);
        x7_pg_evict(id);
        return x7_db_err(op, code, "timeout");
    }
    if (failed || m.n || v.len == 0) {
        x7_vec_drop(v);
        return x7_db_err(op, code, m.s);
    }
    if (too_many || too_big || v.len - X7_DBU_DOC_AT > max_resp) {
        x7_vec_drop(v);
        return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    }
    return x7_dbu_resp_finish(v);
}

X7_FN x7_bytes x7_os_db_pg_query_v1(x7_view req, x7_view caps) { return x7_pg_run(req, caps, 1); }
X7_FN x7_bytes x7_os_db_pg_exec_v1(x7_view req, x7_view caps) { return x7_pg_run(req, caps, 0); }
