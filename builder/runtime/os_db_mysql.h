/* x07-fragment: requires=core,vec,os_db,os_db_util */
/* x07-fragment-libs: mariadb */
/*
 * os_db_mysql: `os.db.mysql.open_v1 / query_v1 / exec_v1 / close_v1` over libmariadb (MariaDB
 * Connector/C), answering the requests of the public `std.db.mysql` package the way its native
 * driver does (docs/stdlib/os-db.md):
 *  - open  "X7MO" | 1 | flags (0) | host | u32 port (1..65535) | user | pass | db  (u32 len | bytes
 *    each) → ok payload u32 conn id;
 *  - query "X7MQ" / exec "X7ME" | 1 | conn | flags (0) | sql | params doc → ok payload a doc:
 *    query `{cols: [names], rows: [[values]]}`, exec `{last_insert_id, rows_affected}`;
 *  - close "X7MC" | 1 | conn (exactly 12 bytes) → ok, empty payload.
 * Parameters go through a prepared statement (COM_STMT_PREPARE + bound values), never into the
 * SQL text. Every network step runs on libmariadb's non-blocking API and is polled against one
 * deadline per call, so connect and query timeouts hold to the millisecond, as the public
 * driver's do; a query that runs out of time cuts its connection, which then leaves the table.
 * Outside the sandbox the public driver's permissive limits apply (X7_MY_* below).
 */
#include <limits.h>
#include <mariadb/errmsg.h>
#include <mariadb/mysql.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define X7_MY_ERR_CONNECT 53536u
#define X7_MY_ERR_QUERY 53537u
#define X7_MY_ERR_EXEC 53538u

/* Limits: os_db_util's X7_DBU_MAX_* (the public driver's X07_OS_DB_* defaults). */

/* Slot i holds connection id i (0 is never an id); the lowest free slot is taken, as in the public
 * table, so ids come back after a close. */
static MYSQL *x7_my_conns[X7_DBU_MAX_LIVE_CONNS + 1] X7_UNUSED;
/* query_v1 and exec_v1 calls so far (the public driver counts both, valid or not). */
static uint32_t x7_my_queries X7_UNUSED;

/* ------------------------------------------------------------------ scratch output (libc memory) */

/* The doc is built in libc memory and copied into the arena once: the program's heap then holds
 * only the response, as with the public driver. */
typedef struct {
    uint8_t *p;
    uint32_t len, cap, limit;
    int over; /* the doc passed `limit`: the rest is dropped, the answer is too_large */
} x7_my_out;

X7_FN void x7_my_put(x7_my_out *o, const void *src, uint32_t n) {
    if (o->over) return;
    if ((uint64_t)o->len + n > o->limit) {
        o->over = 1;
        return;
    }
    if (o->len + n > o->cap) {
        uint32_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
        uint8_t *p = (uint8_t *)realloc(o->p, cap);
        if (!p) x7_trap("os.db.mysql: out of memory", NULL);
        o->p = p, o->cap = cap;
    }
    memcpy(o->p + o->len, src, n);
    o->len += n;
}
X7_FN void x7_my_u32(x7_my_out *o, uint32_t x) {
    uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
    x7_my_put(o, b, 4);
}
/* A data-model value with a length: 2 number (ASCII) or 3 string. */
X7_FN void x7_my_text(x7_my_out *o, uint8_t tag, const void *p, uint32_t n) {
    x7_my_put(o, &tag, 1);
    x7_my_u32(o, n);
    x7_my_put(o, p, n);
}
X7_FN void x7_my_header(x7_my_out *o, uint8_t tag, uint32_t count) {
    x7_my_put(o, &tag, 1);
    x7_my_u32(o, count);
}
X7_FN void x7_my_key(x7_my_out *o, const char *k) {
    x7_my_u32(o, (uint32_t)strlen(k));
    x7_my_put(o, k, (uint32_t)strlen(k));
}

/* ------------------------------------------------------------------ numbers as the public driver writes them */

/* A params-doc number as the public driver binds it: with '.', 'e' or 'E' a double (Rust's f64
 * grammar), otherwise an i64 ([+-]digits). 0 when the text is neither (bad request). */
X7_FN int x7_my_number_c(const char *buf, uint32_t len, int *is_double, long long *i, double *d);
X7_FN int x7_my_number(x7_view t, int *is_double, long long *i, double *d) {
    if (t.len == 0 || t.len == UINT32_MAX) return 0;
    char *buf = (char *)malloc((size_t)t.len + 1);
    if (!buf) x7_trap("os.db.mysql: out of memory", NULL);
    memcpy(buf, t.ptr, t.len);
    buf[t.len] = 0;
    int ok = x7_my_number_c(buf, t.len, is_double, i, d);
    free(buf);
    return ok;
}
X7_FN int x7_my_number_c(const char *buf, uint32_t len, int *is_double, long long *i, double *d) {
    x7_view t = {(const uint8_t *)buf, len};
    *is_double = memchr(buf, '.', t.len) || memchr(buf, 'e', t.len) || memchr(buf, 'E', t.len);
    uint32_t p = (buf[0] == '+' || buf[0] == '-') ? 1 : 0, digits = 0;
    if (!*is_double) {
        for (uint32_t k = p; k < t.len; k++, digits++)
            if (buf[k] < '0' || buf[k] > '9') return 0;
        if (digits == 0) return 0;
        errno = 0;
        *i = strtoll(buf, NULL, 10);
        return errno == 0;
    }
    while (p < t.len && buf[p] >= '0' && buf[p] <= '9') p++, digits++;
    if (p < t.len && buf[p] == '.') {
        p++;
        while (p < t.len && buf[p] >= '0' && buf[p] <= '9') p++, digits++;
    }
    if (digits == 0) return 0;
    if (p < t.len && (buf[p] == 'e' || buf[p] == 'E')) {
        p++;
        if (p < t.len && (buf[p] == '+' || buf[p] == '-')) p++;
        uint32_t ed = 0;
        while (p < t.len && buf[p] >= '0' && buf[p] <= '9') p++, ed++;
        if (ed == 0) return 0;
    }
    if (p != t.len) return 0;
    *d = strtod(buf, NULL); /* out of range: ±inf or 0, as Rust's parse gives */
    return 1;
}

/* ------------------------------------------------------------------ non-blocking libmariadb */

/* Waits for what a suspended libmariadb call asked for (MYSQL_WAIT_* in `status`); the events to
 * hand back to its _cont function, or -1 once `deadline` has passed. */
X7_FN int x7_my_wait(MYSQL *m, int status, int64_t deadline) {
    for (;;) {
        int64_t left = deadline - x7_dbu_now_ms();
        if (left <= 0) return -1;
        int tmo = left > INT_MAX ? INT_MAX : (int)left, lib_tmo = 0;
        if (status & MYSQL_WAIT_TIMEOUT) {
            unsigned t = mysql_get_timeout_value_ms(m);
            if ((int64_t)t <= (int64_t)tmo) tmo = (int)t, lib_tmo = 1;
        }
        struct pollfd p = {(int)mysql_get_socket(m), 0, 0};
        if (status & MYSQL_WAIT_READ) p.events |= POLLIN;
        if (status & MYSQL_WAIT_WRITE) p.events |= POLLOUT;
        if (status & MYSQL_WAIT_EXCEPT) p.events |= POLLPRI;
        int r = poll(&p, p.fd >= 0 ? 1 : 0, tmo);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE); /* let the call fail */
        if (r == 0) {
            if (lib_tmo) return MYSQL_WAIT_TIMEOUT;
            continue;
        }
        int ev = 0;
        if (p.revents & (POLLIN | POLLERR | POLLHUP)) ev |= status & MYSQL_WAIT_READ;
        if (p.revents & (POLLOUT | POLLERR | POLLHUP)) ev |= status & MYSQL_WAIT_WRITE;
        if (p.revents & POLLPRI) ev |= MYSQL_WAIT_EXCEPT;
        return ev ? ev : status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
    }
}

/*
 * Drives one non-blocking call to its end: START is the _start call, CONT the _cont call written
 * with `x7_ev` as its status argument. At the deadline the socket is shut down, so the suspended
 * call fails at once and finishes; *TIMED_OUT is then 1 and the connection is unusable.
 */
#define X7_MY_DRIVE(M, DEADLINE, TIMED_OUT, START, CONT)                                     \
    do {                                                                                     \
        int x7_st = (START);                                                                 \
        while (x7_st) {                                                                      \
            int x7_ev = x7_my_wait((M), x7_st, (DEADLINE));                                  \
            if (x7_ev < 0) {                                                                 \
                if (!*(TIMED_OUT)) {                                                         \
                    int x7_fd = (int)mysql_get_socket(M);                                    \
                    if (x7_fd >= 0) shutdown(x7_fd, SHUT_RDWR);                              \
                }                                                                            \
                *(TIMED_OUT) = 1;                                                            \
                x7_ev = x7_st & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);                        \
                if (!x7_ev) x7_ev = MYSQL_WAIT_TIMEOUT;                                      \
            }                                                                                \
            x7_st = (CONT);                                                                  \
        }                                                                                    \
    } while (0)

/* The public driver's error text: server errors as mysql_async prints them, a refused or failed
 * connect as its I/O error, anything else the client library's own words. */
X7_FN void x7_my_errmsg(char *out, size_t cap, unsigned no, const char *state, const char *msg) {
    if (no < 2000 || (no >= 3000 && no < 5000)) {
        snprintf(out, cap, "Server error: `ERROR %u (%s): %s'", no, state, msg);
        return;
    }
    const char *lp = strrchr(msg, '(');
    int os = lp ? atoi(lp + 1) : 0;
    if ((no == CR_CONNECTION_ERROR || no == CR_CONN_HOST_ERROR) && os > 0)
        snprintf(out, cap, "Input/output error: Input/output error: %s (os error %d)", strerror(os), os);
    else
        snprintf(out, cap, "%s", msg);
}

/* x7_free of arena scratch that may be NULL (x7_db_cstr, x7_dm_params). */
X7_FN void x7_my_free(void *p) {
    if (p) x7_free((uint8_t *)p);
}

X7_FN void x7_my_drop(MYSQL *m) {
    if (m) mysql_close(m); /* COM_QUIT; on a cut socket the write just fails */
}

/* ------------------------------------------------------------------ open / close */

X7_FN x7_bytes x7_os_db_mysql_open_v1(x7_view req, x7_view caps_v) {
    const uint32_t op = X7_DB_OP_OPEN;
    const char *gate = X7_DB_GATE("os.db.mysql", "mysql");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    x7_db_caps caps;
    if (!x7_db_caps_parse(caps_v, &caps)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, flags, port, off = 12;
    x7_view host, user, pass, db;
    if (req.len < 24 || memcmp(req.ptr, "X7MO", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1 ||
        !x7_db_u32(req, 8, &flags) || !x7_db_field(req, &off, &host) || !x7_db_u32(req, off, &port) ||
        port == 0 || port > 65535)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    off += 4;
    if (!x7_db_field(req, &off, &user) || !x7_db_field(req, &off, &pass) ||
        !x7_db_field(req, &off, &db) || off != req.len || flags != 0 || !x7_dbu_utf8(host) ||
        !x7_dbu_utf8(user) || !x7_dbu_utf8(pass) || !x7_dbu_utf8(db))
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);

    int64_t deadline = x7_dbu_now_ms() + x7_dbu_effective(X7_DBU_LIM_CONNECT_TIMEOUT_MS, caps.connect_timeout_ms);
    char *h = x7_db_cstr(host), *u = x7_db_cstr(user), *pw = x7_db_cstr(pass), *d = x7_db_cstr(db);
    x7_bytes out;
    MYSQL *m = NULL;
    if (!h) { /* a host name with a NUL never reaches the resolver (Rust's std refuses it so) */
        out = x7_db_err(op, X7_MY_ERR_CONNECT,
                        "Input/output error: Input/output error: file name contained an unexpected NUL byte");
        goto done;
    }
    const char *connect_to = h;
    uint32_t connect_code = X7_MY_ERR_CONNECT;
#if X7_SB_CHECKS
    /* the run policy: db.net's names, ranges and ports; the checked address is the one used */
    char sb_addr[64] = "";
    const char *why = x7_sb_db_net("os.db.mysql.open_v1", h, port, sb_addr, sizeof sb_addr);
    if (why != NULL) {
        out = x7_db_err(op, X7_DB_ERR_POLICY_DENIED, why);
        goto done;
    }
    connect_to = sb_addr;
    if (x7_sb.pol.db.require_tls) connect_code = 53539u; /* upstream's TLS connect code */
#endif
    if (!u || !pw || !d) { /* C strings end at NUL: such a name cannot reach the server whole */
        out = x7_db_err(op, X7_MY_ERR_CONNECT, "a user, password or database name contains a NUL byte");
        goto done;
    }
    if (!u[0]) {
        /* libmariadb would log in as the OS user (getlogin / "root"); the public driver sends an
         * empty name, which a server refuses unless it has an anonymous account */
        out = x7_db_err(op, X7_MY_ERR_CONNECT, "an empty user name is not supported (libmariadb would send the OS login name)");
        goto done;
    }
    m = mysql_init(NULL);
    if (!m) {
        out = x7_db_err(op, X7_MY_ERR_CONNECT, "out of memory");
        goto done;
    }
    /* TCP even for "localhost" (libmariadb would take the unix socket), no LOAD DATA LOCAL, utf8mb4
     * text: how mysql_async connects. */
    unsigned int proto = MYSQL_PROTOCOL_TCP, no = 0;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_OPT_NONBLOCK, 0);
#if X7_SB_CHECKS
    if (x7_sb.pol.db.require_tls) { /* db.net.require_tls: TLS or no connection at all */
        my_bool yes = 1, verify = x7_sb.pol.db.require_verify ? 1 : 0;
        mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &yes);
        mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        if (verify) mysql_options(m, MYSQL_OPT_SSL_CA, "/etc/ssl/certs/ca-certificates.crt");
    }
#endif
    /* pw is never NULL: libmariadb would take a NULL password from $MYSQL_PWD */
    MYSQL *ret = NULL;
    int timed_out = 0;
    X7_MY_DRIVE(m, deadline, &timed_out,
                mysql_real_connect_start(&ret, m, connect_to, u, pw, d[0] ? d : NULL, port, NULL, 0),
                mysql_real_connect_cont(&ret, m, x7_ev));
    if (timed_out || !ret) {
        char msg[1024];
        if (timed_out)
            snprintf(msg, sizeof msg, "timeout");
        else
            x7_my_errmsg(msg, sizeof msg, mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
        x7_my_drop(m);
        out = x7_db_err(op, connect_code, msg);
        goto done;
    }
    uint32_t id = 0;
    for (uint32_t i = 1; i <= X7_DBU_LIM_LIVE_CONNS && !id; i++)
        if (!x7_my_conns[i]) id = i;
    if (!id) { /* the public driver connects first and then finds the table full */
        x7_my_drop(m);
        out = x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
        goto done;
    }
    x7_my_conns[id] = m;
    uint8_t pl[4] = {(uint8_t)id, 0, 0, 0};
    out = x7_db_ok(op, pl, 4);
done:
    x7_my_free(h), x7_my_free(u), x7_my_free(pw), x7_my_free(d);
    return out;
}

X7_FN x7_bytes x7_os_db_mysql_close_v1(x7_view req, x7_view caps) {
    (void)caps; /* close takes no caps in the public driver */
    const uint32_t op = X7_DB_OP_CLOSE;
    const char *gate = X7_DB_GATE("os.db.mysql", "mysql");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    uint32_t ver, id;
    if (req.len != 12 || memcmp(req.ptr, "X7MC", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &id);
    if (id == 0 || id > X7_DBU_MAX_LIVE_CONNS || !x7_my_conns[id]) return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    x7_my_drop(x7_my_conns[id]);
    x7_my_conns[id] = NULL;
    return x7_db_ok(op, (const uint8_t *)"", 0);
}

/* ------------------------------------------------------------------ query / exec */

/* How a result column is fetched and written (the public driver's value kinds). */
enum { X7_MY_INT, X7_MY_F32, X7_MY_F64, X7_MY_DATE, X7_MY_TIME, X7_MY_NULL, X7_MY_BYTES };

typedef union {
    long long i;
    float f;
    double d;
    MYSQL_TIME t;
} x7_my_cell;

X7_FN int x7_my_kind(enum enum_field_types t) {
    switch (t) {
    case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_INT24: case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
        return X7_MY_INT;
    case MYSQL_TYPE_FLOAT: return X7_MY_F32;
    case MYSQL_TYPE_DOUBLE: return X7_MY_F64;
    case MYSQL_TYPE_DATE: case MYSQL_TYPE_DATETIME: case MYSQL_TYPE_TIMESTAMP: case MYSQL_TYPE_NEWDATE:
        return X7_MY_DATE;
    case MYSQL_TYPE_TIME: return X7_MY_TIME;
    case MYSQL_TYPE_NULL: return X7_MY_NULL;
    default: return X7_MY_BYTES; /* strings, blobs, decimals, bit, enum, set, json, geometry */
    }
}

/* One non-NULL cell. Dates and times are written the way mysql_common's `Value::as_sql` prints
 * them (quotes included), which is what the public driver puts in the string. */
X7_FN int x7_my_cell_put(x7_my_out *o, MYSQL_STMT *st, int kind, const MYSQL_FIELD *f, x7_my_cell *c,
                         unsigned long len, unsigned col) {
    char t[64];
    int n;
    if (o->over) return 0; /* the answer is too_large already: nothing more is kept */
    switch (kind) {
    case X7_MY_INT:
        n = (f->flags & UNSIGNED_FLAG) ? snprintf(t, sizeof t, "%llu", (unsigned long long)c->i)
                                       : snprintf(t, sizeof t, "%lld", c->i);
        x7_my_text(o, 2, t, (uint32_t)n);
        return 0;
    case X7_MY_F32:
    case X7_MY_F64:
        n = x7_dbu_fmt_float(t, kind == X7_MY_F32 ? (double)c->f : c->d, kind == X7_MY_F32);
        x7_my_text(o, 2, t, (uint32_t)n);
        return 0;
    case X7_MY_DATE: {
        MYSQL_TIME *m = &c->t;
        if (!m->hour && !m->minute && !m->second && !m->second_part)
            n = snprintf(t, sizeof t, "'%04u-%02u-%02u'", m->year, m->month, m->day);
        else if (!m->second_part)
            n = snprintf(t, sizeof t, "'%04u-%02u-%02u %02u:%02u:%02u'", m->year, m->month, m->day,
                         m->hour, m->minute, m->second);
        else
            n = snprintf(t, sizeof t, "'%04u-%02u-%02u %02u:%02u:%02u.%06lu'", m->year, m->month,
                         m->day, m->hour, m->minute, m->second, m->second_part);
        x7_my_text(o, 3, t, (uint32_t)n);
        return 0;
    }
    case X7_MY_TIME: {
        MYSQL_TIME *m = &c->t;
        unsigned long hours = m->day * 24ul + m->hour;
        if (m->second_part)
            n = snprintf(t, sizeof t, "'%s%03lu:%02u:%02u.%06lu'", m->neg ? "-" : "", hours, m->minute,
                         m->second, m->second_part);
        else
            n = snprintf(t, sizeof t, "'%s%03lu:%02u:%02u'", m->neg ? "-" : "", hours, m->minute, m->second);
        x7_my_text(o, 3, t, (uint32_t)n);
        return 0;
    }
    case X7_MY_NULL:
        x7_my_put(o, "", 1); /* tag 0 */
        return 0;
    default: {
        /* bound with an empty buffer: the bytes are fetched now that their length is known */
        uint8_t *buf = (uint8_t *)malloc(len ? len : 1);
        if (!buf) x7_trap("os.db.mysql: out of memory", NULL);
        MYSQL_BIND b;
        memset(&b, 0, sizeof b);
        unsigned long got = 0;
        b.buffer_type = MYSQL_TYPE_BLOB;
        b.buffer = buf;
        b.buffer_length = len;
        b.length = &got;
        int bad = len && mysql_stmt_fetch_column(st, &b, col, 0);
        if (!bad) x7_my_text(o, 3, buf, (uint32_t)len);
        free(buf);
        return bad;
    }
    }
}

/* The shared body of query_v1 (is_query) and exec_v1. */
X7_FN x7_bytes x7_my_sql(x7_view req, x7_view caps_v, int is_query) {
    const uint32_t op = is_query ? X7_DB_OP_QUERY : X7_DB_OP_EXEC;
    const uint32_t fail = is_query ? X7_MY_ERR_QUERY : X7_MY_ERR_EXEC;
    const char *gate = X7_DB_GATE("os.db.mysql", "mysql");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    if (x7_my_queries >= X7_DBU_LIM_QUERIES) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, X7_DBU_LIMIT_MSG("db.max_queries"));
    x7_my_queries++;
    x7_db_caps caps;
    if (!x7_db_caps_parse(caps_v, &caps)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, id, flags, off = 16;
    x7_view sql, params;
    if (req.len < 24 || memcmp(req.ptr, is_query ? "X7MQ" : "X7ME", 4) != 0 || !x7_db_u32(req, 4, &ver) ||
        ver != 1 || !x7_db_u32(req, 8, &id) || !x7_db_u32(req, 12, &flags) || flags != 0 ||
        !x7_db_field(req, &off, &sql) || !x7_db_field(req, &off, &params) || off != req.len)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    if (sql.len > X7_DBU_LIM_SQL_BYTES) return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    MYSQL *m = id >= 1 && id <= X7_DBU_MAX_LIVE_CONNS ? x7_my_conns[id] : NULL;
    if (!m) return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    if (!x7_dbu_utf8(sql)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_dm_scalar *ps = NULL;
    uint32_t count;
    /* x7_dm_params sizes its array in 32 bits: a count that would wrap is refused first */
    if (x7_db_u32(params, 2, &count) && count > UINT32_MAX / sizeof(x7_dm_scalar))
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    int64_t np = x7_dm_params(params, &ps);
    if (np < 0) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);

    /* Bound values: numbers as the public driver reads them (i64 or double), bools as 0/1. */
    MYSQL_BIND *pb = np ? (MYSQL_BIND *)calloc((size_t)np, sizeof(MYSQL_BIND)) : NULL;
    x7_my_cell *pv = np ? (x7_my_cell *)calloc((size_t)np, sizeof(x7_my_cell)) : NULL;
    unsigned long *plen = np ? (unsigned long *)calloc((size_t)np, sizeof(unsigned long)) : NULL;
    if (np && (!pb || !pv || !plen)) x7_trap("os.db.mysql: out of memory", NULL);
    for (int64_t i = 0; i < np; i++) {
        x7_dm_scalar *s = &ps[i];
        int is_double = 0;
        if (s->tag == 0) {
            pb[i].buffer_type = MYSQL_TYPE_NULL;
        } else if (s->tag == 1) {
            pv[i].i = s->boolean ? 1 : 0;
            pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
            pb[i].buffer = &pv[i].i;
        } else if (s->tag == 2) {
            if (!x7_my_number(s->text, &is_double, &pv[i].i, &pv[i].d)) {
                free(pb), free(pv), free(plen), x7_my_free(ps);
                return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
            }
            pb[i].buffer_type = is_double ? MYSQL_TYPE_DOUBLE : MYSQL_TYPE_LONGLONG;
            pb[i].buffer = is_double ? (void *)&pv[i].d : (void *)&pv[i].i;
        } else {
            plen[i] = s->text.len;
            pb[i].buffer_type = MYSQL_TYPE_VAR_STRING;
            pb[i].buffer = (void *)s->text.ptr;
            pb[i].buffer_length = s->text.len;
            pb[i].length = &plen[i];
        }
    }

    int64_t deadline = x7_dbu_now_ms() + x7_dbu_effective(X7_DBU_LIM_QUERY_TIMEOUT_MS, caps.query_timeout_ms);
    uint32_t max_rows = x7_dbu_effective(X7_DBU_LIM_ROWS, caps.max_rows);
    x7_my_out o = {NULL, 0, 0, x7_dbu_effective(X7_DBU_LIM_RESP_BYTES, caps.max_resp_bytes), 0};
    char msg[1024];
    uint32_t code = 0; /* an error to answer with (msg) */
    int timed_out = 0, rc = 0;
    MYSQL_RES *meta = NULL;
    MYSQL_BIND *rb = NULL;
    x7_my_cell *rv = NULL;
    unsigned long *rlen = NULL;
    my_bool *rnull = NULL, *rerr = NULL;
    int *kinds = NULL;
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st) x7_trap("os.db.mysql: out of memory", NULL);
#define X7_MY_STMT_FAILED()                                                                  \
    do {                                                                                     \
        code = fail;                                                                         \
        if (timed_out)                                                                       \
            snprintf(msg, sizeof msg, "timeout");                                            \
        else                                                                                 \
            x7_my_errmsg(msg, sizeof msg, mysql_stmt_errno(st), mysql_stmt_sqlstate(st),     \
                         mysql_stmt_error(st));                                              \
        goto finish;                                                                         \
    } while (0)
    X7_MY_DRIVE(m, deadline, &timed_out, mysql_stmt_prepare_start(&rc, st, (const char *)sql.ptr, sql.len),
                mysql_stmt_prepare_cont(&rc, st, x7_ev));
    if (rc || timed_out) X7_MY_STMT_FAILED();
    if (mysql_stmt_param_count(st) != (unsigned long)np) {
        code = fail;
        snprintf(msg, sizeof msg, "Driver error: `Statement takes %lu parameters but %lld was supplied.'",
                 mysql_stmt_param_count(st), (long long)np);
        goto finish;
    }
    if (np && mysql_stmt_bind_param(st, pb)) X7_MY_STMT_FAILED();
    X7_MY_DRIVE(m, deadline, &timed_out, mysql_stmt_execute_start(&rc, st),
                mysql_stmt_execute_cont(&rc, st, x7_ev));
    if (rc || timed_out) X7_MY_STMT_FAILED();

    unsigned ncols = mysql_stmt_field_count(st);
    MYSQL_FIELD *fields = NULL;
    if (ncols) {
        meta = mysql_stmt_result_metadata(st);
        fields = meta ? mysql_fetch_fields(meta) : NULL;
        rb = (MYSQL_BIND *)calloc(ncols, sizeof(MYSQL_BIND));
        rv = (x7_my_cell *)calloc(ncols, sizeof(x7_my_cell));
        rlen = (unsigned long *)calloc(ncols, sizeof(unsigned long));
        rnull = (my_bool *)calloc(ncols, sizeof(my_bool));
        rerr = (my_bool *)calloc(ncols, sizeof(my_bool));
        kinds = (int *)calloc(ncols, sizeof(int));
        if (!fields || !rb || !rv || !rlen || !rnull || !rerr || !kinds)
            x7_trap("os.db.mysql: out of memory", NULL);
        for (unsigned i = 0; i < ncols; i++) {
            int k = kinds[i] = x7_my_kind(fields[i].type);
            MYSQL_BIND *b = &rb[i];
            b->is_null = &rnull[i];
            b->error = &rerr[i];
            b->length = &rlen[i];
            if (k == X7_MY_INT) {
                b->buffer_type = MYSQL_TYPE_LONGLONG;
                b->is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
            } else if (k == X7_MY_F32) {
                b->buffer_type = MYSQL_TYPE_FLOAT;
            } else if (k == X7_MY_F64) {
                b->buffer_type = MYSQL_TYPE_DOUBLE;
            } else if (k == X7_MY_DATE || k == X7_MY_TIME) {
                b->buffer_type = fields[i].type == MYSQL_TYPE_NEWDATE ? MYSQL_TYPE_DATE : fields[i].type;
            } else if (k == X7_MY_NULL) {
                b->buffer_type = MYSQL_TYPE_NULL;
            } else {
                b->buffer_type = MYSQL_TYPE_BLOB; /* length only; fetch_column takes the bytes */
            }
            b->buffer = &rv[i];
            b->buffer_length = k == X7_MY_BYTES ? 0 : sizeof(x7_my_cell);
        }
        if (mysql_stmt_bind_result(st, rb)) X7_MY_STMT_FAILED();
    }

    if (is_query) {
        /* 01 {cols: [..], rows: [..]} — map keys sorted, the row count patched at the end */
        x7_my_put(&o, "\x01", 1);
        x7_my_header(&o, 5, 2);
        x7_my_key(&o, "cols");
        x7_my_header(&o, 4, ncols);
        for (unsigned i = 0; i < ncols; i++) x7_my_text(&o, 3, fields[i].name, fields[i].name_length);
        x7_my_key(&o, "rows");
        x7_my_header(&o, 4, 0);
    }
    uint32_t rows_at = o.len - 4, rows = 0;
    int too_many = 0;
    /* Every row is read, also past max_rows and past the size limit: the public driver reports a
     * failure of the stream before those limits, and the connection stays in step. */
    while (ncols) {
        X7_MY_DRIVE(m, deadline, &timed_out, mysql_stmt_fetch_start(&rc, st),
                    mysql_stmt_fetch_cont(&rc, st, x7_ev));
        if (timed_out || rc == 1) X7_MY_STMT_FAILED();
        if (rc == MYSQL_NO_DATA) break;
        if (!is_query) continue;
        if (rows >= max_rows) {
            too_many = 1;
            continue;
        }
        x7_my_header(&o, 4, ncols);
        for (unsigned i = 0; i < ncols; i++) {
            if (rnull[i])
                x7_my_put(&o, "", 1);
            else if (x7_my_cell_put(&o, st, kinds[i], &fields[i], &rv[i], rlen[i], i))
                X7_MY_STMT_FAILED();
        }
        rows++;
    }
    if (is_query) {
        if (too_many || o.over) {
            code = X7_DB_ERR_TOO_LARGE;
            msg[0] = 0;
            goto finish;
        }
        x7_db_patch_u32((x7_vec){o.p, o.len, o.cap}, rows_at, rows);
    } else {
        char a[32], li[32];
        /* a statement with a result set changes nothing: its affected count is reported as 0 */
        unsigned long long aff = ncols ? 0 : (unsigned long long)mysql_stmt_affected_rows(st);
        int an = snprintf(a, sizeof a, "%llu", aff);
        int ln = snprintf(li, sizeof li, "%llu", (unsigned long long)mysql_stmt_insert_id(st));
        x7_my_put(&o, "\x01", 1);
        x7_my_header(&o, 5, 2);
        x7_my_key(&o, "last_insert_id");
        x7_my_text(&o, 2, li, (uint32_t)ln);
        x7_my_key(&o, "rows_affected");
        x7_my_text(&o, 2, a, (uint32_t)an);
        if (o.over) {
            code = X7_DB_ERR_TOO_LARGE;
            msg[0] = 0;
        }
    }
#undef X7_MY_STMT_FAILED
finish:;
    x7_bytes out = code ? x7_db_err(op, code, msg[0] ? msg : NULL) : x7_db_ok(op, o.p, o.len);
    if (meta) mysql_free_result(meta);
    mysql_stmt_close(st);
    if (timed_out) { /* the public driver drops a connection whose call ran out of time */
        x7_my_drop(m);
        x7_my_conns[id] = NULL;
    }
    free(o.p), free(pb), free(pv), free(plen), free(rb), free(rv), free(rlen), free(rnull), free(rerr),
        free(kinds);
    x7_my_free(ps);
    return out;
}

X7_FN x7_bytes x7_os_db_mysql_query_v1(x7_view req, x7_view caps) { return x7_my_sql(req, caps, 1); }
X7_FN x7_bytes x7_os_db_mysql_exec_v1(x7_view req, x7_view caps) { return x7_my_sql(req, caps, 0); }
