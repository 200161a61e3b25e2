/* x07-fragment: requires=core,optres */
/*
 * f64: the `math.f64.*_v1` builtins. An f64 is 8 bytes, IEEE 754 binary64 little-endian; every
 * result that is NaN is the canonical NaN 0x7FF8000000000000, so equal programs give equal bytes.
 * Arithmetic, sqrt, floor and ceil are exact IEEE operations; sin, cos, tan, exp, log, pow and
 * atan2 are the C library's libm (glibc: within an ulp, which may differ across C libraries).
 * min/max return the other operand when one is NaN and order -0 below +0. Formatting is the
 * shortest decimal that reads back to the same value, laid out as ECMAScript's Number to string
 * (`1`, `0.5`, `1.5e-7`, `1e+21`, `NaN`, `Infinity`).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

X7_FN double x7_f64_in(x7_view v, const char *at) {
    if (v.len != 8) x7_trap("math.f64: an f64 is 8 bytes (little-endian binary64)", at);
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = (u << 8) | v.ptr[i];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

X7_FN x7_bytes x7_f64_out(double d) {
    uint64_t u;
    if (d != d) u = 0x7FF8000000000000ull;
    else memcpy(&u, &d, 8);
    uint8_t *p = x7_alloc(8);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(u >> (8 * i));
    return (x7_bytes){p, 8};
}

#define X7_F64_UN(name, expr)                                                                   \
    X7_FN x7_bytes x7_math_f64_##name##_v1(x7_view a, const char *at) {                        \
        double x = x7_f64_in(a, at);                                                            \
        return x7_f64_out(expr);                                                                \
    }
#define X7_F64_BIN(name, expr)                                                                  \
    X7_FN x7_bytes x7_math_f64_##name##_v1(x7_view a, x7_view b, const char *at) {             \
        double x = x7_f64_in(a, at), y = x7_f64_in(b, at);                                      \
        return x7_f64_out(expr);                                                                \
    }

X7_F64_UN(abs, fabs(x))
X7_F64_UN(neg, -x)
X7_F64_UN(sqrt, sqrt(x))
X7_F64_UN(floor, floor(x))
X7_F64_UN(ceil, ceil(x))
X7_F64_UN(sin, sin(x))
X7_F64_UN(cos, cos(x))
X7_F64_UN(tan, tan(x))
X7_F64_UN(exp, exp(x))
X7_F64_UN(log, log(x))
X7_F64_BIN(add, x + y)
X7_F64_BIN(sub, x - y)
X7_F64_BIN(mul, x * y)
X7_F64_BIN(div, x / y)
X7_F64_BIN(pow, pow(x, y))
X7_F64_BIN(atan2, atan2(x, y))

/* the smaller/larger, -0 below +0, the other operand when one is NaN */
X7_INLINE int x7_f64_less(double x, double y) {
    return x < y || (x == 0 && y == 0 && signbit(x) && !signbit(y));
}
X7_F64_BIN(min, x != x ? y : y != y ? x : (x7_f64_less(y, x) ? y : x))
X7_F64_BIN(max, x != x ? y : y != y ? x : (x7_f64_less(x, y) ? y : x))

X7_FN x7_bytes x7_math_f64_from_i32_v1(uint32_t x, const char *at) {
    (void)at;
    return x7_f64_out((double)(int32_t)x);
}

X7_FN x7_bytes x7_math_f64_to_bits_u64le_v1(x7_view a, const char *at) {
    (void)x7_f64_in(a, at);
    uint8_t *p = x7_alloc(8);
    memcpy(p, a.ptr, 8);
    return (x7_bytes){p, 8};
}

/* ok: the value truncated toward zero; err 1: NaN, infinite, or outside the i32 range */
X7_FN x7_res_i32 x7_math_f64_to_i32_trunc_v1(x7_view a, const char *at) {
    double x = trunc(x7_f64_in(a, at));
    if (!(x >= -2147483648.0 && x <= 2147483647.0)) return (x7_res_i32){0, 1};
    return (x7_res_i32){1, (uint32_t)(int32_t)x};
}

/*
 * ok: the f64 nearest the decimal text ([+-] digits [. digits] [e [+-] digits], at least one
 * digit; or inf, infinity, nan in any case); err 1: anything else (no spaces, no hex).
 */
X7_FN x7_res_bytes x7_math_f64_parse_v1(x7_view s, const char *at) {
    (void)at;
    char buf[512];
    if (s.len == 0 || s.len >= sizeof buf) return (x7_res_bytes){0, 1, X7_EMPTY_BYTES};
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    const char *p = buf + (buf[0] == '+' || buf[0] == '-');
    const char *names[] = {"inf", "infinity", "nan"};
    int named = 0;
    for (int i = 0; i < 3; i++) named |= strcasecmp(p, names[i]) == 0;
    if (!named) {
        int digits = 0;
        const char *q = p;
        while (*q >= '0' && *q <= '9') q++, digits++;
        if (*q == '.') {
            q++;
            while (*q >= '0' && *q <= '9') q++, digits++;
        }
        if (!digits) return (x7_res_bytes){0, 1, X7_EMPTY_BYTES};
        if (*q == 'e' || *q == 'E') {
            q++;
            if (*q == '+' || *q == '-') q++;
            if (!(*q >= '0' && *q <= '9')) return (x7_res_bytes){0, 1, X7_EMPTY_BYTES};
            while (*q >= '0' && *q <= '9') q++;
        }
        if (*q) return (x7_res_bytes){0, 1, X7_EMPTY_BYTES};
    }
    return (x7_res_bytes){1, 0, x7_f64_out(strtod(buf, NULL))};
}

/* The shortest decimal that reads back as x, laid out as ECMAScript's Number::toString. */
X7_FN x7_bytes x7_math_f64_fmt_shortest_v1(x7_view a, const char *at) {
    double x = x7_f64_in(a, at);
    char out[64];
    if (x != x) return x7_bytes_lit((const uint8_t *)"NaN", 3);
    if (isinf(x)) return x < 0 ? x7_bytes_lit((const uint8_t *)"-Infinity", 9) : x7_bytes_lit((const uint8_t *)"Infinity", 8);
    if (x == 0) return x7_bytes_lit((const uint8_t *)"0", 1);
    char sci[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, x);
        if (strtod(sci, NULL) == x) break;
    }
    /* digits and exponent of d.ddde±XX */
    char digits[20];
    int nd = 0, neg = sci[0] == '-';
    const char *q = sci + neg;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int e = atoi(q + 1) + 1; /* value = 0.digits × 10^e */
    int n = 0;
    if (neg) out[n++] = '-';
    if (nd <= e && e <= 21) {
        for (int i = 0; i < nd; i++) out[n++] = digits[i];
        for (int i = nd; i < e; i++) out[n++] = '0';
    } else if (0 < e && e <= 21) {
        for (int i = 0; i < e; i++) out[n++] = digits[i];
        out[n++] = '.';
        for (int i = e; i < nd; i++) out[n++] = digits[i];
    } else if (-6 < e && e <= 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -e; i++) out[n++] = '0';
        for (int i = 0; i < nd; i++) out[n++] = digits[i];
    } else {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            for (int i = 1; i < nd; i++) out[n++] = digits[i];
        }
        n += snprintf(out + n, sizeof out - (size_t)n, "e%c%d", e - 1 < 0 ? '-' : '+', abs(e - 1));
    }
    return x7_bytes_lit((const uint8_t *)out, (uint32_t)n);
}
