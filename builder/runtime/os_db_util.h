/* x07-fragment: requires=core,vec,os_db */
/*
 * os_db_util: what the sqlite and pg drivers share beyond os_db — the limits of the public
 * drivers' permissive (run-os) policy, UTF-8 validation, and numbers written the way the public
 * drivers write them (Rust's itoa for integers, ryu for floats), so a rows doc is the same bytes.
 */
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

/*
 * A float as ryu's Buffer::format writes it: NaN, inf, -inf; 0.0 / -0.0; otherwise the shortest
 * digits that read back as the same value (found with printf's correct rounding, trying 1, 2, ...
 * significant digits), laid out as 1234.0, 12.34, 0.001234 or 1.234e30 by where the decimal point
 * falls — within 16 digits (f32: 13) left of it and 5 (f32: 6) zeros right of it, else exponent.
 * out must hold 40 bytes; returns the length.
 */
X7_FN int x7_dbu_fmt_float(char *out, double x, int is_f32) {
    if (x != x) return (int)(memcpy(out, "NaN", 3), 3);
    if (x > 1.7976931348623157e308) return (int)(memcpy(out, "inf", 3), 3);
    if (x < -1.7976931348623157e308) return (int)(memcpy(out, "-inf", 4), 4);
    int n = 0;
    if (__builtin_signbit(x)) out[n++] = '-';
    if (x == 0) {
        memcpy(out + n, "0.0", 3);
        return n + 3;
    }
    char sci[48];
    int max_prec = is_f32 ? 9 : 17;
    for (int prec = 1; prec <= max_prec; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, x);
        if (is_f32 ? strtof(sci, NULL) == (float)x : strtod(sci, NULL) == x) break;
    }
    char digits[20];
    int nd = 0;
    const char *q = sci + (sci[0] == '-');
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int kk = atoi(q + 1) + 1; /* value = 0.digits × 10^kk */
    int k = kk - nd;          /* value = digits × 10^k */
    int wide = is_f32 ? 13 : 16, small = is_f32 ? -6 : -5;
    if (0 <= k && kk <= wide) {
        memcpy(out + n, digits, (size_t)nd);
        n += nd;
        for (int i = nd; i < kk; i++) out[n++] = '0';
        out[n++] = '.';
        out[n++] = '0';
    } else if (0 < kk && kk <= wide) {
        memcpy(out + n, digits, (size_t)kk);
        n += kk;
        out[n++] = '.';
        memcpy(out + n, digits + kk, (size_t)(nd - kk));
        n += nd - kk;
    } else if (small < kk && kk <= 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -kk; i++) out[n++] = '0';
        memcpy(out + n, digits, (size_t)nd);
        n += nd;
    } else {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, (size_t)(nd - 1));
            n += nd - 1;
        }
        n += snprintf(out + n, 12, "e%d", kk - 1);
    }
    return n;
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
