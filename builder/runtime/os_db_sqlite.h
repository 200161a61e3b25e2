/* x07-fragment: requires=core,vec,os_db,os_db_util */
/* x07-fragment-libs: sqlite3 */
/*
 * os_db_sqlite: `os.db.sqlite.{open,query,exec,close}_v1(req, caps)` over libsqlite3, answering
 * the requests `std.db.sqlite` (ext-db-sqlite) builds, byte for byte as the public native driver
 * does under its permissive run-os policy (docs/stdlib/os-db.md):
 *  - open  "X7SO" | 1 | flags (1 read-only, 2 create) | u32 path_len | path → ok(u32 conn);
 *  - query "X7SQ" / exec "X7SE" | 1 | conn | flags | u32 sql_len | sql | u32 params_len |
 *    params doc → ok(rows doc {cols, rows}) / ok({last_insert_id, rows_affected});
 *  - close "X7SC" | 1 | conn → ok(empty).
 * Errors: 53249 policy (the sandboxed world, or after 1000 queries), 53250 bad request,
 * 53251 bad conn, 53760 too large (rows, response, SQL, live connections), 53504 open,
 * 53505 prepare (with SQLite's message), 53506 step.
 * Parameters are bound with sqlite3_bind_*: the SQL text is never built from them.
 */
#include <sqlite3.h>

#define X7_SQLITE_ERR_OPEN 53504u
#define X7_SQLITE_ERR_PREP 53505u
#define X7_SQLITE_ERR_STEP 53506u
#define X7_SQLITE_OPEN_READONLY 1u
#define X7_SQLITE_OPEN_CREATE 2u

/* Connection id i is slot i (0 is never valid); the lowest free slot is used, as upstream. */
static sqlite3 *x7_sqlite_conns[X7_DBU_MAX_LIVE_CONNS + 1] X7_UNUSED;
/* query + exec calls so far: the permissive policy allows 1000 per process. */
static uint64_t x7_sqlite_queries X7_UNUSED;

X7_FN sqlite3 *x7_sqlite_conn(uint32_t id) {
    return id >= 1 && id <= X7_DBU_MAX_LIVE_CONNS ? x7_sqlite_conns[id] : NULL;
}

X7_FN void x7_sqlite_busy_timeout(sqlite3 *db, uint32_t ms) {
    if (ms != 0) sqlite3_busy_timeout(db, ms > 0x7FFFFFFFu ? 0x7FFFFFFF : (int)ms);
}

/* Number parameters: with '.', 'e' or 'E' a decimal float (Rust's f64 grammar: [+-] then digits
 * with at most one '.', at least one digit, then optionally e[+-]digits), otherwise [+-]digits
 * that fit in i64. 1 and the value, or 0 (bad request). */
X7_FN int x7_sqlite_number(x7_view t, int *is_float, int64_t *iv, double *dv) {
    if (t.len == 0) return 0;
    int has_float = 0;
    for (uint32_t i = 0; i < t.len; i++)
        if (t.ptr[i] == '.' || t.ptr[i] == 'e' || t.ptr[i] == 'E') has_float = 1;
    uint32_t i = 0;
    if (t.ptr[0] == '+' || t.ptr[0] == '-') i = 1;
    if (!has_float) {
        if (i == t.len) return 0;
        uint64_t mag = 0, lim = t.ptr[0] == '-' ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
        for (; i < t.len; i++) {
            uint8_t c = t.ptr[i];
            if (c < '0' || c > '9') return 0;
            if (mag > (lim - (uint64_t)(c - '0')) / 10) return 0;
            mag = mag * 10 + (uint64_t)(c - '0');
        }
        *is_float = 0;
        *iv = t.ptr[0] == '-' ? (int64_t)(0 - mag) : (int64_t)mag;
        return 1;
    }
    uint32_t int_digits = 0, frac_digits = 0;
    for (; i < t.len && t.ptr[i] >= '0' && t.ptr[i] <= '9'; i++) int_digits++;
    if (i < t.len && t.ptr[i] == '.')
        for (i++; i < t.len && t.ptr[i] >= '0' && t.ptr[i] <= '9'; i++) frac_digits++;
    if (int_digits + frac_digits == 0) return 0;
    if (i < t.len && (t.ptr[i] == 'e' || t.ptr[i] == 'E')) {
        i++;
        if (i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '-')) i++;
        uint32_t exp_digits = 0;
        for (; i < t.len && t.ptr[i] >= '0' && t.ptr[i] <= '9'; i++) exp_digits++;
        if (exp_digits == 0) return 0;
    }
    if (i != t.len) return 0;
    char *s = (char *)malloc((size_t)t.len + 1);
    if (!s) return 0;
    memcpy(s, t.ptr, t.len);
    s[t.len] = 0;
    *dv = strtod(s, NULL); /* correctly rounded, as Rust's parse; overflow gives ±inf there too */
    free(s);
    *is_float = 1;
    return 1;
}

/* Binds a params doc (empty: none). 0 or X7_DB_ERR_BAD_REQ (malformed doc, bad number, a
 * parameter SQLite refuses, e.g. more values than placeholders). */
X7_FN uint32_t x7_sqlite_bind(sqlite3_stmt *st, x7_view doc) {
    x7_dm_scalar *ps;
    int64_t n = x7_dm_params(doc, &ps);
    if (n < 0) return X7_DB_ERR_BAD_REQ;
    uint32_t err = 0;
    for (int64_t k = 0; k < n && !err; k++) {
        int i = (int)k + 1, rc;
        x7_dm_scalar *p = &ps[k];
        if (p->tag == 0) {
            rc = sqlite3_bind_null(st, i);
        } else if (p->tag == 1) {
            rc = sqlite3_bind_int(st, i, p->boolean ? 1 : 0);
        } else if (p->tag == 2) {
            int is_float;
            int64_t iv = 0;
            double dv = 0;
            if (!x7_sqlite_number(p->text, &is_float, &iv, &dv)) {
                err = X7_DB_ERR_BAD_REQ;
                break;
            }
            rc = is_float ? sqlite3_bind_double(st, i, dv) : sqlite3_bind_int64(st, i, iv);
        } else {
            rc = sqlite3_bind_text(st, i, (const char *)p->text.ptr, (int)p->text.len,
                                   SQLITE_TRANSIENT);
        }
        if (rc != SQLITE_OK) err = X7_DB_ERR_BAD_REQ;
    }
    if (ps) x7_free((uint8_t *)ps);
    return err;
}

X7_FN x7_bytes x7_os_db_sqlite_open_v1(x7_view req, x7_view caps) {
    const uint32_t op = X7_DB_OP_OPEN;
    const char *gate = X7_DB_GATE("os.db.sqlite", "sqlite");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    x7_db_caps c;
    if (!x7_db_caps_parse(caps, &c)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, flags, path_len;
    if (req.len < 16 || memcmp(req.ptr, "X7SO", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &flags);
    x7_db_u32(req, 12, &path_len);
    if ((uint64_t)req.len != 16 + (uint64_t)path_len) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    if (flags & ~(X7_SQLITE_OPEN_READONLY | X7_SQLITE_OPEN_CREATE))
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    /* run-os allows create, read-write, ":memory:" and every path; run-os-sandboxed: below */
    x7_view path = {req.ptr + 16, path_len};
    if (!x7_dbu_utf8(path)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    char *cpath = x7_db_cstr(path);
    if (!cpath) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
#if X7_SB_CHECKS
    /* the run policy: create, read-only, in-memory, and the file itself (sandbox_db.h) */
    const char *why = x7_sb_db_sqlite_open("os.db.sqlite.open_v1", path.ptr, path.len, flags);
    if (why != NULL) {
        x7_free((uint8_t *)cpath);
        return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, why);
    }
#endif
    int oflags = (flags & X7_SQLITE_OPEN_READONLY) ? SQLITE_OPEN_READONLY
                 : (flags & X7_SQLITE_OPEN_CREATE) ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                   : SQLITE_OPEN_READWRITE;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(cpath, &db, oflags, NULL);
    x7_free((uint8_t *)cpath);
    if (rc != SQLITE_OK || db == NULL) {
        x7_bytes out = x7_db_err(op, X7_SQLITE_ERR_OPEN, db ? sqlite3_errmsg(db) : "");
        if (db) sqlite3_close(db);
        return out;
    }
    x7_sqlite_busy_timeout(db, x7_dbu_effective(X7_DBU_LIM_CONNECT_TIMEOUT_MS, c.connect_timeout_ms));
    uint32_t id = 0;
    for (uint32_t i = X7_DBU_LIM_LIVE_CONNS; i >= 1; i--)
        if (!x7_sqlite_conns[i]) id = i;
    if (id == 0) { /* upstream connects first, then finds the table full */
        sqlite3_close(db);
        return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    }
    x7_sqlite_conns[id] = db;
    uint8_t pl[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
    return x7_db_ok(op, pl, 4);
}

X7_FN x7_bytes x7_os_db_sqlite_close_v1(x7_view req, x7_view caps) {
    const uint32_t op = X7_DB_OP_CLOSE;
    (void)caps; /* upstream ignores them here */
    const char *gate = X7_DB_GATE("os.db.sqlite", "sqlite");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    uint32_t ver, id;
    if (req.len != 12 || memcmp(req.ptr, "X7SC", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &id);
    sqlite3 *db = x7_sqlite_conn(id);
    if (!db || sqlite3_close(db) != SQLITE_OK) return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    x7_sqlite_conns[id] = NULL;
    return x7_db_ok(op, (const uint8_t *)"", 0);
}

/* One row's cells appended to v: integers in decimal, floats as ryu, text and blobs as strings. */
X7_FN x7_vec x7_sqlite_row(x7_vec v, sqlite3_stmt *st, int ncols) {
    v = x7_dm_header(v, 4, (uint32_t)ncols);
    for (int i = 0; i < ncols; i++) {
        char num[48];
        int t = sqlite3_column_type(st, i);
        if (t == SQLITE_INTEGER) {
            x7_dbu_fmt_i64(num, (int64_t)sqlite3_column_int64(st, i));
            v = x7_dm_number(v, num);
        } else if (t == SQLITE_FLOAT) {
            int n = x7_dbu_fmt_float(num, sqlite3_column_double(st, i), 0);
            v = x7_dm_text(v, 2, (const uint8_t *)num, (uint32_t)n);
        } else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
            const uint8_t *p = t == SQLITE_TEXT ? sqlite3_column_text(st, i)
                                                : (const uint8_t *)sqlite3_column_blob(st, i);
            int n = sqlite3_column_bytes(st, i);
            v = x7_dm_string(v, p, p && n > 0 ? (uint32_t)n : 0);
        } else {
            v = x7_dm_null(v);
        }
    }
    return v;
}

/* query_v1 (is_query) and exec_v1: the same request layout and checks, in upstream's order. */
X7_FN x7_bytes x7_sqlite_run(x7_view req, x7_view caps, int is_query) {
    const uint32_t op = is_query ? X7_DB_OP_QUERY : X7_DB_OP_EXEC;
    const char *gate = X7_DB_GATE("os.db.sqlite", "sqlite");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    if (x7_sqlite_queries++ >= X7_DBU_LIM_QUERIES) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, X7_DBU_LIMIT_MSG("db.max_queries"));
    x7_db_caps c;
    if (!x7_db_caps_parse(caps, &c)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, id, flags, sql_len, params_len;
    if (req.len < 24 || memcmp(req.ptr, is_query ? "X7SQ" : "X7SE", 4) != 0 ||
        !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 8, &id);
    x7_db_u32(req, 12, &flags); /* no flags are defined; upstream ignores the field */
    x7_db_u32(req, 16, &sql_len);
    if ((uint64_t)req.len < 24 + (uint64_t)sql_len) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 20 + sql_len, &params_len);
    if ((uint64_t)req.len != 24 + (uint64_t)sql_len + params_len)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_view sql = {req.ptr + 20, sql_len};
    x7_view params = {req.ptr + 24 + sql_len, params_len};
    if (sql_len > X7_DBU_LIM_SQL_BYTES) return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    sqlite3 *db = x7_sqlite_conn(id);
    if (!db) return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    x7_sqlite_busy_timeout(db, x7_dbu_effective(X7_DBU_LIM_QUERY_TIMEOUT_MS, c.query_timeout_ms));
    char *csql = x7_db_cstr(sql);
    if (!csql) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    sqlite3_stmt *st = NULL;
    /* only the first statement runs; the rest of the text is ignored, as upstream */
    int rc = sqlite3_prepare_v2(db, csql, -1, &st, NULL);
    x7_free((uint8_t *)csql);
    if (rc != SQLITE_OK || st == NULL) {
        x7_bytes out = x7_db_err(op, X7_SQLITE_ERR_PREP, sqlite3_errmsg(db));
        if (st) sqlite3_finalize(st);
        return out;
    }
    if (params.len && x7_sqlite_bind(st, params) != 0) {
        sqlite3_finalize(st);
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    }
    x7_vec v = x7_dbu_resp_begin(op);
    uint32_t err = 0;
    if (is_query) {
        uint32_t max_rows = x7_dbu_effective(X7_DBU_LIM_ROWS, c.max_rows), rows = 0, count_at;
        int ncols = sqlite3_column_count(st);
        v = x7_dbu_rows_begin(v, (uint32_t)ncols);
        for (int i = 0; i < ncols; i++) {
            const char *name = sqlite3_column_name(st, i);
            v = x7_dm_string(v, (const uint8_t *)(name ? name : ""), name ? (uint32_t)strlen(name) : 0);
        }
        v = x7_dbu_rows_mid(v, &count_at);
        for (;;) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) {
                err = X7_SQLITE_ERR_STEP;
                break;
            }
            if (max_rows != 0 && rows >= max_rows) {
                err = X7_DB_ERR_TOO_LARGE;
                break;
            }
            v = x7_sqlite_row(v, st, ncols);
            rows++;
        }
        x7_db_patch_u32(v, count_at, rows);
        sqlite3_finalize(st);
    } else {
        do rc = sqlite3_step(st);
        while (rc == SQLITE_ROW);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            err = X7_SQLITE_ERR_STEP;
        } else {
            char last[24], changes[24];
            x7_dbu_fmt_i64(last, (int64_t)sqlite3_last_insert_rowid(db));
            x7_dbu_fmt_i64(changes, (int64_t)sqlite3_changes(db));
            v = x7_dbu_exec_doc(v, last, changes);
        }
    }
    if (!err && v.len - X7_DBU_DOC_AT > x7_dbu_effective(X7_DBU_LIM_RESP_BYTES, c.max_resp_bytes))
        err = X7_DB_ERR_TOO_LARGE;
    if (err) {
        x7_vec_drop(v);
        return x7_db_err(op, err, NULL);
    }
    return x7_dbu_resp_finish(v);
}

X7_FN x7_bytes x7_os_db_sqlite_query_v1(x7_view req, x7_view caps) { return x7_sqlite_run(req, caps, 1); }
X7_FN x7_bytes x7_os_db_sqlite_exec_v1(x7_view req, x7_view caps) { return x7_sqlite_run(req, caps, 0); }
