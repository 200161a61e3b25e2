/* x07-fragment: requires=core,vec,os_db */
/*
 * os_db_util: what the database drivers share beyond os_db — the limits of the public
 * drivers' permissive (run-os) policy, UTF-8 validation, and numbers written the way the public
 * drivers write them (Rust's itoa for integers, ryu for floats), so a rows doc is the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * The public drivers read their policy from X07_OS_DB_* variables that only its sandboxed runner
 * sets; under run-os each is at its default, and those defaults are these limits. A caps field
 * of 0 means "the policy's limit", otherwise the smaller of the two applies.
 */
#define X7_DBU_MAX_LIVE_CONNS 8u
#define X7_DBU_MAX_QUERIES 1000u
#define X7_DBU_MAX_CONNECT_TIMEOUT_MS 30000u
#define X7_DBU_MAX_QUERY_TIMEOUT_MS 60000u
#define X7_DBU_MAX_ROWS 10000u
#define X7_DBU_MAX_RESP_BYTES (32u * 1024u * 1024u)
#define X7_DBU_MAX_SQL_BYTES (1024u * 1024u)

/* The limits in force: under run-os-sandboxed the policy's db limits (sandbox_db.h; live
 * connections at most the table's 8), otherwise the defaults above. */
#if X7_SB_CHECKS
#define X7_DBU_LIM(which, dflt) x7_sb_db_limit(which, dflt)
#define X7_DBU_LIMIT_MSG(field) ("denied by the run policy: " field " reached")
#else
#define X7_DBU_LIM(which, dflt) (dflt)
#define X7_DBU_LIMIT_MSG(field) ((const char *)NULL) /* upstream: an empty message */
#endif
#define X7_DBU_LIM_LIVE_CONNS X7_DBU_LIM(0, X7_DBU_MAX_LIVE_CONNS)
#define X7_DBU_LIM_QUERIES X7_DBU_LIM(1, X7_DBU_MAX_QUERIES)
#define X7_DBU_LIM_CONNECT_TIMEOUT_MS X7_DBU_LIM(2, X7_DBU_MAX_CONNECT_TIMEOUT_MS)
#define X7_DBU_LIM_QUERY_TIMEOUT_MS X7_DBU_LIM(3, X7_DBU_MAX_QUERY_TIMEOUT_MS)
#define X7_DBU_LIM_SQL_BYTES X7_DBU_LIM(4, X7_DBU_MAX_SQL_BYTES)
#define X7_DBU_LIM_ROWS X7_DBU_LIM(5, X7_DBU_MAX_ROWS)
#define X7_DBU_LIM_RESP_BYTES X7_DBU_LIM(6, X7_DBU_MAX_RESP_BYTES)

X7_FN uint32_t x7_dbu_effective(uint32_t policy_max, uint32_t caps_max) {
    if (caps_max == 0) return policy_max;
    if (policy_max == 0) return caps_max;
    return caps_max < policy_max ? caps_max : policy_max;
}

X7_FN int64_t x7_dbu_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as Rust's from_utf8. */
X7_FN int x7_dbu_utf8(x7_view v) {
    uint32_t i = 0;
    while (i < v.len) {
        uint8_t c = v.ptr[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t n, cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (v.len - i <= n) return 0;
        for (uint32_t k = 1; k <= n; k++) {
            uint8_t d = v.ptr[i + k];
            if ((d & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* A signed 64-bit integer in decimal (itoa's output); returns the length written to out[24]. */
X7_FN int x7_dbu_fmt_i64(char *out, int64_t v) { return snprintf(out, 24, "%lld", (long long)v); }

/* The shortest digits that read back as x (> 0, finite), chosen like ryu: the correctly rounded
 * p-digit value or, at a power of two where the lower half-gap is narrower, its neighbour on the
 * wide side. Digits go to dig (no dot); returns their count and sets *kk (10^(kk-1) <= x < 10^kk). */
X7_FN int x7_dbu_shortest(double x, int is_f32, char *dig, int *kk) {
    char buf[48];
    int maxp = is_f32 ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        char d[24] = {0};
        int n = 0;
        const char *s = buf;
        for (; *s && *s != 'e'; s++)
            if (*s >= '0' && *s <= '9') d[n++] = *s;
        int e = atoi(s + 1);
        for (int attempt = 0; attempt < 2; attempt++) {
            char t[48];
            int m = 0;
            t[m++] = d[0];
            t[m++] = '.';
            for (int i = 1; i < n; i++) t[m++] = d[i];
            snprintf(t + m, sizeof t - (size_t)m, "e%d", e);
            double back = is_f32 ? (double)strtof(t, NULL) : strtod(t, NULL);
            if (back == x) {
                while (n > 1 && d[n - 1] == '0') n--;
                memcpy(dig, d, (size_t)n);
                *kk = e + 1;
                return n;
            }
            if (attempt == 1) break;
            if (back < x) { /* one unit up in the last digit */
                int i = n - 1;
                while (i >= 0 && d[i] == '9') d[i--] = '0';
                if (i < 0) {
                    d[0] = '1';
                    e++;
                } else {
                    d[i]++;
                }
            } else { /* one unit down */
                int i = n - 1;
                while (i > 0 && d[i] == '0') d[i--] = '9';
                d[i]--; /* d[0] is never '0' here */
                if (d[0] == '0') { /* 1000 → 0999: the p-digit value just below is 9999 × 10^(e-1) */
                    for (int k = 0; k < n; k++) d[k] = '9';
                    e--;
                }
            }
        }
    }
    /* not reached for finite values: 17 (9) digits always read back */
    dig[0] = '0';
    *kk = 1;
    return 1;
}

/* Rust's `ryu::Buffer::format` for f64 (is_f32 = 0) and f32: "1.0", "0.001", "1e-7", "1.5e20";
 * NaN, inf, -inf, 0.0 / -0.0. out must hold 40 bytes; returns the length (out is NUL-terminated). */
X7_FN int x7_dbu_fmt_float(char *out, double x, int is_f32) {
    if (isnan(x)) return sprintf(out, "NaN");
    if (isinf(x)) return sprintf(out, x < 0 ? "-inf" : "inf");
    int o = 0;
    if (signbit(x)) out[o++] = '-', x = -x;
    if (x == 0) return o + sprintf(out + o, "0.0");
    char d[24];
    int kk, len = x7_dbu_shortest(x, is_f32, d, &kk);
    int k = kk - len, big = is_f32 ? 13 : 16, small = is_f32 ? -6 : -5;
    if (k >= 0 && kk <= big) {
        memcpy(out + o, d, (size_t)len), o += len;
        for (int i = len; i < kk; i++) out[o++] = '0';
        out[o++] = '.', out[o++] = '0';
    } else if (kk > 0 && kk <= big) {
        memcpy(out + o, d, (size_t)kk), o += kk;
        out[o++] = '.';
        memcpy(out + o, d + kk, (size_t)(len - kk)), o += len - kk;
    } else if (kk > small && kk <= 0) {
        out[o++] = '0', out[o++] = '.';
        for (int i = 0; i < -kk; i++) out[o++] = '0';
        memcpy(out + o, d, (size_t)len), o += len;
    } else {
        out[o++] = d[0];
        if (len > 1) {
            out[o++] = '.';
            memcpy(out + o, d + 1, (size_t)(len - 1)), o += len - 1;
        }
        o += sprintf(out + o, "e%d", kk - 1);
    }
    out[o] = 0;
    return o;
}

/*
 * An ok response built in place, so a large rows doc is not copied: "X7DB" | 1 | 1 | op | len,
 * then the doc; x7_dbu_resp_finish patches len. The doc starts at byte 20.
 */
#define X7_DBU_DOC_AT 20u
X7_FN x7_vec x7_dbu_resp_begin(uint32_t op) {
    x7_vec v = x7_vec_u8_with_capacity(256);
    v = x7_vec_append(v, (const uint8_t *)"X7DB", 4);
    v = x7_db_put_u32(v, 1);
    v = x7_db_put_u32(v, 1);
    v = x7_db_put_u32(v, op);
    return x7_db_put_u32(v, 0);
}
X7_FN x7_bytes x7_dbu_resp_finish(x7_vec v) {
    x7_db_patch_u32(v, 16, v.len - X7_DBU_DOC_AT);
    return x7_db_vec_bytes(v);
}

/* A map key (u32 len | key) inside a map value. */
X7_FN x7_vec x7_dbu_key(x7_vec v, const char *key) {
    uint32_t n = (uint32_t)strlen(key);
    v = x7_db_put_u32(v, n);
    return x7_vec_append(v, (const uint8_t *)key, n);
}

/*
 * The start of a rows doc: 01, map of 2 {"cols": seq of ncols strings (filled by the caller),
 * ...}. x7_dbu_rows_begin writes up to the cols seq header; after the names the caller calls
 * x7_dbu_rows_mid, which writes "rows" and a seq header whose count (at *count_at) is patched.
 */
X7_FN x7_vec x7_dbu_rows_begin(x7_vec v, uint32_t ncols) {
    uint8_t ok = 1;
    v = x7_vec_append(v, &ok, 1);
    v = x7_dm_header(v, 5, 2);
    v = x7_dbu_key(v, "cols");
    return x7_dm_header(v, 4, ncols);
}
X7_FN x7_vec x7_dbu_rows_mid(x7_vec v, uint32_t *count_at) {
    v = x7_dbu_key(v, "rows");
    *count_at = v.len + 1;
    return x7_dm_header(v, 4, 0);
}

/* The exec doc: 01, map {"last_insert_id": number, "rows_affected": number} (keys sorted). */
X7_FN x7_vec x7_dbu_exec_doc(x7_vec v, const char *last_insert_id, const char *rows_affected) {
    uint8_t ok = 1;
    v = x7_vec_append(v, &ok, 1);
    v = x7_dm_header(v, 5, 2);
    v = x7_dbu_key(v, "last_insert_id");
    v = x7_dm_number(v, last_insert_id);
    v = x7_dbu_key(v, "rows_affected");
    return x7_dm_number(v, rows_affected);
}
