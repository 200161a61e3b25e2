/* x07-fragment: requires=core,vec */
/*
 * os_db: what the database drivers (os_db_sqlite, os_db_pg, os_db_mysql, os_db_redis) share —
 * the public wire layouts of the `std.db.*` packages (docs/stdlib/os-db.md):
 *  - caps, 24 bytes: "X7DC" | u32 1 | connect_timeout_ms | query_timeout_ms | max_rows |
 *    max_resp_bytes (0 = no limit of the caller's own);
 *  - responses: "X7DB" | u32 1 | u32 ok | u32 op, then ok: u32 len | payload, err: u32 code |
 *    u32 msg_len | msg;
 *  - data-model values (rows, params): 0 null, 1 bool (1 byte), 2 number (u32 len, ASCII),
 *    3 string (u32 len, bytes), 4 seq (u32 count, values), 5 map (u32 count, sorted
 *    (u32 key_len, key, value)); a doc is 01 value (ok) or 00 … (err).
 * Connections are small integers into a per-driver table; an id is never reused while open.
 */
#define X7_DB_ERR_POLICY_DENIED 53249u
#define X7_DB_ERR_BAD_REQ 53250u
#define X7_DB_ERR_BAD_CONN 53251u
#define X7_DB_ERR_TOO_LARGE 53760u

#define X7_DB_OP_OPEN 1u
#define X7_DB_OP_EXEC 2u
#define X7_DB_OP_QUERY 3u
#define X7_DB_OP_CLOSE 4u

/* The public request layouts are little-endian u32 fields. */
X7_FN int x7_db_u32(x7_view b, uint32_t off, uint32_t *out) {
    if ((uint64_t)off + 4 > b.len) return 0;
    *out = (uint32_t)b.ptr[off] | ((uint32_t)b.ptr[off + 1] << 8) |
           ((uint32_t)b.ptr[off + 2] << 16) | ((uint32_t)b.ptr[off + 3] << 24);
    return 1;
}

/* A length-prefixed field at *off (u32 len | bytes); advances *off past it. */
X7_FN int x7_db_field(x7_view b, uint32_t *off, x7_view *out) {
    uint32_t n;
    if (!x7_db_u32(b, *off, &n)) return 0;
    uint64_t end = (uint64_t)*off + 4 + n;
    if (end > b.len) return 0;
    *out = (x7_view){b.ptr + *off + 4, n};
    *off = (uint32_t)end;
    return 1;
}

/* Caps of one call (docs/stdlib/os-db.md). */
typedef struct {
    uint32_t connect_timeout_ms;
    uint32_t query_timeout_ms;
    uint32_t max_rows;
    uint32_t max_resp_bytes;
} x7_db_caps;

/* 1 when `b` is valid caps (filled into *out), 0 otherwise (X7_DB_ERR_BAD_REQ). */
X7_FN int x7_db_caps_parse(x7_view b, x7_db_caps *out) {
    uint32_t ver;
    if (b.len != 24 || memcmp(b.ptr, "X7DC", 4) != 0) return 0;
    if (!x7_db_u32(b, 4, &ver) || ver != 1) return 0;
    x7_db_u32(b, 8, &out->connect_timeout_ms);
    x7_db_u32(b, 12, &out->query_timeout_ms);
    x7_db_u32(b, 16, &out->max_rows);
    x7_db_u32(b, 20, &out->max_resp_bytes);
    return 1;
}

X7_FN x7_vec x7_db_put_u32(x7_vec v, uint32_t x) {
    uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
    return x7_vec_append(v, b, 4);
}

X7_FN x7_bytes x7_db_vec_bytes(x7_vec v) { return (x7_bytes){v.ptr, v.len}; }

/* "X7DB" | 1 | ok=1 | op | len | payload. */
X7_FN x7_bytes x7_db_ok(uint32_t op, const uint8_t *payload, uint32_t len) {
    x7_vec v = x7_vec_u8_with_capacity(20 + len);
    v = x7_vec_append(v, (const uint8_t *)"X7DB", 4);
    v = x7_db_put_u32(v, 1);
    v = x7_db_put_u32(v, 1);
    v = x7_db_put_u32(v, op);
    v = x7_db_put_u32(v, len);
    v = x7_vec_append(v, payload, len);
    return x7_db_vec_bytes(v);
}

/* "X7DB" | 1 | ok=0 | op | code | msg_len | msg. */
X7_FN x7_bytes x7_db_err(uint32_t op, uint32_t code, const char *msg) {
    uint32_t n = msg ? (uint32_t)strlen(msg) : 0;
    if (n > 4096) n = 4096; /* a driver's message is a hint, not a payload */
    x7_vec v = x7_vec_u8_with_capacity(24 + n);
    v = x7_vec_append(v, (const uint8_t *)"X7DB", 4);
    v = x7_db_put_u32(v, 1);
    v = x7_db_put_u32(v, 0);
    v = x7_db_put_u32(v, op);
    v = x7_db_put_u32(v, code);
    v = x7_db_put_u32(v, n);
    v = x7_vec_append(v, (const uint8_t *)msg, n);
    return x7_db_vec_bytes(v);
}

/* Data-model writers (append one value to v). */
X7_FN x7_vec x7_dm_null(x7_vec v) {
    uint8_t t = 0;
    return x7_vec_append(v, &t, 1);
}
X7_FN x7_vec x7_dm_bool(x7_vec v, int b) {
    uint8_t t[2] = {1, (uint8_t)(b != 0)};
    return x7_vec_append(v, t, 2);
}
X7_FN x7_vec x7_dm_text(x7_vec v, uint8_t tag, const uint8_t *p, uint32_t n) {
    v = x7_vec_append(v, &tag, 1);
    v = x7_db_put_u32(v, n);
    return x7_vec_append(v, p, n);
}
X7_FN x7_vec x7_dm_number(x7_vec v, const char *ascii) {
    return x7_dm_text(v, 2, (const uint8_t *)ascii, (uint32_t)strlen(ascii));
}
X7_FN x7_vec x7_dm_string(x7_vec v, const uint8_t *p, uint32_t n) { return x7_dm_text(v, 3, p, n); }
/* A seq/map header; the caller appends `count` values (map: u32 key_len | key | value each). */
X7_FN x7_vec x7_dm_header(x7_vec v, uint8_t tag, uint32_t count) {
    v = x7_vec_append(v, &tag, 1);
    return x7_db_put_u32(v, count);
}
/* Patches a u32 written earlier at `off` (a count known only at the end). */
X7_FN void x7_db_patch_u32(x7_vec v, uint32_t off, uint32_t x) {
    v.ptr[off] = (uint8_t)x;
    v.ptr[off + 1] = (uint8_t)(x >> 8);
    v.ptr[off + 2] = (uint8_t)(x >> 16);
    v.ptr[off + 3] = (uint8_t)(x >> 24);
}

/* One parameter of a params doc (01 | seq of scalars). */
typedef struct {
    uint8_t tag; /* 0 null, 1 bool, 2 number, 3 string */
    int boolean;
    x7_view text; /* number (ASCII) or string bytes */
} x7_dm_scalar;

/*
 * Parses a params doc: `01 04 u32 count` then `count` scalars. Returns the count and sets *out
 * to an x7_alloc'd array (NULL when count is 0 — x7_free(NULL) is not allowed, so the caller
 * frees only a non-NULL array), or -1 when malformed.
 * An empty doc means no parameters.
 */
X7_FN int64_t x7_dm_params(x7_view doc, x7_dm_scalar **out) {
    *out = NULL;
    if (doc.len == 0) return 0;
    uint32_t count;
    if (doc.len < 6 || doc.ptr[0] != 1 || doc.ptr[1] != 4 || !x7_db_u32(doc, 2, &count)) return -1;
    if (count > (doc.len - 6)) return -1; /* each scalar is at least one byte */
    if ((uint64_t)count * sizeof(x7_dm_scalar) > 0x7fffffffu) return -1; /* no 32-bit wrap */
    if (count == 0) return 0;
    x7_dm_scalar *a = (x7_dm_scalar *)x7_alloc_zeroed(count * (uint32_t)sizeof(x7_dm_scalar));
    uint32_t off = 6;
    for (uint32_t i = 0; i < count; i++) {
        if (off >= doc.len) goto bad;
        uint8_t tag = doc.ptr[off];
        a[i].tag = tag;
        if (tag == 0) {
            off += 1;
        } else if (tag == 1) {
            if (off + 2 > doc.len) goto bad;
            a[i].boolean = doc.ptr[off + 1] != 0;
            off += 2;
        } else if (tag == 2 || tag == 3) {
            off += 1;
            if (!x7_db_field(doc, &off, &a[i].text)) goto bad;
        } else {
            goto bad;
        }
    }
    *out = a;
    return count;
bad:
    x7_free((uint8_t *)a);
    return -1;
}

/* A NUL-terminated copy of a view (x7_alloc'd; the caller x7_frees it), or NULL when it holds a
 * NUL byte (a C API would silently cut it there). */
X7_FN char *x7_db_cstr(x7_view v) {
    if (v.len == UINT32_MAX) return NULL; /* len + 1 would wrap to an empty allocation */
    if (v.len && memchr(v.ptr, 0, v.len)) return NULL;
    char *s = (char *)x7_alloc(v.len + 1);
    if (v.len) memcpy(s, v.ptr, v.len);
    s[v.len] = 0;
    return s;
}

/*
 * Under run-os-sandboxed the policy's db section governs the drivers (sandbox_db.h): the driver's
 * switch first (NULL: allowed, else the refusal's message, which names the policy field).
 */
#if X7_SB_CHECKS
#define X7_DB_GATE(op_name, driver) x7_sb_db_driver(op_name, driver)
#else
#define X7_DB_GATE(op_name, driver) ((const char *)NULL)
#endif

/* A connection table: slot i holds connection id i+1 (0 is never a valid id). */
#define X7_DB_MAX_CONNS 256u
