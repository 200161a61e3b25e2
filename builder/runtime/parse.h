/* x07-fragment: requires=core */
/* parse: decimal parsing of unsigned 32-bit numbers. */

X7_FN uint32_t x7_parse_u32_dec(x7_view v, const char *at) {
    if (X7_UNLIKELY(v.len == 0)) x7_trap("parse.u32_dec empty", at);
    uint64_t x = 0;
    for (uint32_t i = 0; i < v.len; i++) {
        uint32_t d = (uint32_t)v.ptr[i] - '0';
        if (X7_UNLIKELY(d > 9)) x7_trap("parse.u32_dec non-digit", at);
        x = x * 10 + d;
        if (X7_UNLIKELY(x > UINT32_MAX)) x7_trap("parse.u32_dec overflow", at);
    }
    return (uint32_t)x;
}

/* Digits from off up to the first non-digit; off must be inside the view. */
X7_FN uint32_t x7_parse_u32_dec_at(x7_view v, uint32_t off, const char *at) {
    if (X7_UNLIKELY(off >= v.len)) x7_trap("parse.u32_dec_at oob", at);
    uint64_t x = 0;
    uint32_t i = off;
    for (; i < v.len; i++) {
        uint32_t d = (uint32_t)v.ptr[i] - '0';
        if (d > 9) break;
        x = x * 10 + d;
        if (X7_UNLIKELY(x > UINT32_MAX)) x7_trap("parse.u32_dec_at overflow", at);
    }
    if (X7_UNLIKELY(i == off)) x7_trap("parse.u32_dec_at empty", at);
    return (uint32_t)x;
}
