/* x07-fragment: requires=core */
/* bytes: owned byte strings — allocation, in-place update, copies, comparison. */

X7_INLINE x7_bytes x7_bytes_alloc(uint32_t n) { return (x7_bytes){x7_alloc_zeroed(n), n}; }

X7_INLINE x7_bytes x7_bytes1(uint32_t x) {
    uint8_t *p = x7_alloc(1);
    p[0] = (uint8_t)x;
    return (x7_bytes){p, 1};
}

X7_INLINE x7_bytes x7_bytes_set_u8(x7_bytes b, uint32_t i, uint32_t v, const char *at) {
    if (X7_UNLIKELY(i >= b.len)) x7_trap("bytes.set_u8 oob", at);
    b.ptr[i] = (uint8_t)v;
    return b;
}

X7_INLINE x7_bytes x7_bytes_slice(x7_view v, uint32_t start, uint32_t len, const char *at) {
    if (X7_UNLIKELY((uint64_t)start + len > v.len)) x7_trap("bytes.slice oob", at);
    uint8_t *p = x7_alloc(len);
    x7_memcpy(p, v.ptr + start, len);
    return (x7_bytes){p, len};
}

/* Consumes both; an empty side is returned without copying. */
X7_FN x7_bytes x7_bytes_concat(x7_bytes a, x7_bytes b, const char *at) {
    if (X7_UNLIKELY((uint64_t)a.len + b.len > UINT32_MAX)) x7_trap("bytes.concat overflow", at);
    if (b.len == 0) {
        x7_bytes_drop(b);
        return a;
    }
    if (a.len == 0) {
        x7_bytes_drop(a);
        return b;
    }
    uint32_t n = a.len + b.len;
    uint8_t *p = x7_alloc(n);
    x7_memcpy(p, a.ptr, a.len);
    x7_memcpy(p + a.len, b.ptr, b.len);
    x7_bytes_drop(a);
    x7_bytes_drop(b);
    return (x7_bytes){p, n};
}

X7_INLINE uint32_t x7_view_eq(x7_view a, x7_view b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
X7_INLINE uint32_t x7_bytes_eq(x7_view a, x7_view b) { return x7_view_eq(a, b); }

/* memcmp of the common prefix, then the shorter range is smaller: 0xFFFFFFFF, 0 or 1. */
X7_INLINE uint32_t x7_cmp_ranges(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen) {
    uint32_t n = alen < blen ? alen : blen;
    int c = n == 0 ? 0 : memcmp(a, b, n);
    if (c == 0) c = alen < blen ? -1 : alen > blen ? 1 : 0;
    return c < 0 ? UINT32_MAX : c > 0 ? 1u : 0u;
}

X7_INLINE uint32_t x7_bytes_cmp_range(x7_view a, uint32_t aoff, uint32_t alen, x7_view b,
                                      uint32_t boff, uint32_t blen, const char *at) {
    if (X7_UNLIKELY((uint64_t)aoff + alen > a.len || (uint64_t)boff + blen > b.len))
        x7_trap("bytes.cmp_range oob", at);
    return x7_cmp_ranges(a.ptr + aoff, alen, b.ptr + boff, blen);
}

X7_INLINE uint32_t x7_view_cmp_range(x7_view a, uint32_t aoff, uint32_t alen, x7_view b,
                                     uint32_t boff, uint32_t blen, const char *at) {
    if (X7_UNLIKELY((uint64_t)aoff + alen > a.len || (uint64_t)boff + blen > b.len))
        x7_trap("view.cmp_range oob", at);
    return x7_cmp_ranges(a.ptr + aoff, alen, b.ptr + boff, blen);
}

/* Copies src into the start of dst (src may alias dst); returns dst. */
X7_INLINE x7_bytes x7_bytes_copy(x7_view src, x7_bytes dst, const char *at) {
    if (X7_UNLIKELY(src.len > dst.len)) x7_trap("bytes.copy dst too short", at);
    x7_memmove(dst.ptr, src.ptr, src.len);
    return dst;
}
