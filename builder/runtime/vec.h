/* x07-fragment: requires=core */
/* vec: growable byte vectors. Hot paths are inline; growth is out of line. */

X7_INLINE x7_vec x7_vec_u8_with_capacity(uint32_t n) { return (x7_vec){x7_alloc(n), 0, n}; }
X7_INLINE uint32_t x7_vec_u8_len(x7_vec v) { return v.len; }
X7_INLINE uint32_t x7_vec_u8_cap(x7_vec v) { return v.cap; }

X7_INLINE uint32_t x7_vec_u8_get(x7_vec v, uint32_t i, const char *at) {
    if (X7_UNLIKELY(i >= v.len)) x7_trap("vec_u8.get oob", at);
    return v.ptr[i];
}

X7_INLINE x7_vec x7_vec_u8_set(x7_vec v, uint32_t i, uint32_t x, const char *at) {
    if (X7_UNLIKELY(i >= v.len)) x7_trap("vec_u8.set oob", at);
    v.ptr[i] = (uint8_t)x;
    return v;
}

/* Moves v into a buffer of exactly new_cap bytes (new_cap >= v.len). */
X7_NOINLINE x7_vec x7_vec_realloc(x7_vec v, uint32_t new_cap) {
    v.ptr = x7_realloc(v.ptr, v.len, new_cap);
    v.cap = new_cap;
    return v;
}

/* Grows so that `need` bytes fit: doubles, at least 8, clamped to the i32 range. */
X7_NOINLINE x7_vec x7_vec_grow(x7_vec v, uint64_t need) {
    if (X7_UNLIKELY(need > UINT32_MAX)) x7_trap("vec_u8 length overflow", NULL);
    uint64_t cap = (uint64_t)v.cap * 2;
    if (cap < 8) cap = 8;
    if (cap < need) cap = need;
    if (cap > UINT32_MAX) cap = UINT32_MAX;
    return x7_vec_realloc(v, (uint32_t)cap);
}

X7_INLINE x7_vec x7_vec_u8_push(x7_vec v, uint32_t x) {
    if (X7_UNLIKELY(v.len == v.cap)) v = x7_vec_grow(v, (uint64_t)v.len + 1);
    v.ptr[v.len++] = (uint8_t)x;
    return v;
}

X7_INLINE x7_vec x7_vec_u8_reserve_exact(x7_vec v, uint32_t additional) {
    uint64_t need = (uint64_t)v.len + additional;
    if (X7_UNLIKELY(need > UINT32_MAX)) x7_trap("vec_u8 length overflow", NULL);
    if (need > v.cap) v = x7_vec_realloc(v, (uint32_t)need);
    return v;
}

X7_INLINE x7_vec x7_vec_u8_clear(x7_vec v) {
    v.len = 0;
    return v;
}

X7_INLINE x7_vec x7_vec_u8_extend_zeroes(x7_vec v, uint32_t n) {
    uint64_t need = (uint64_t)v.len + n;
    if (need > v.cap) v = x7_vec_grow(v, need);
    memset(v.ptr + v.len, 0, n);
    v.len += n;
    return v;
}

/* src may point into v itself: it is re-derived after growth. */
X7_FN x7_vec x7_vec_append(x7_vec v, const uint8_t *src, uint32_t n) {
    uint64_t need = (uint64_t)v.len + n;
    if (need > v.cap) {
        uintptr_t s = (uintptr_t)src, b = (uintptr_t)v.ptr;
        if (n != 0 && s >= b && s < b + v.cap) {
            uintptr_t rel = s - b;
            v = x7_vec_grow(v, need);
            src = v.ptr + rel;
        } else {
            v = x7_vec_grow(v, need);
        }
    }
    x7_memmove(v.ptr + v.len, src, n);
    v.len += n;
    return v;
}

X7_INLINE x7_vec x7_vec_u8_extend_bytes(x7_vec v, x7_view b) {
    if (X7_LIKELY((uint64_t)v.len + b.len <= v.cap)) {
        x7_memcpy(v.ptr + v.len, b.ptr, b.len);
        v.len += b.len;
        return v;
    }
    return x7_vec_append(v, b.ptr, b.len);
}

X7_INLINE x7_vec x7_vec_u8_extend_bytes_range(x7_vec v, x7_view b, uint32_t start, uint32_t len,
                                              const char *at) {
    if (X7_UNLIKELY((uint64_t)start + len > b.len)) x7_trap("vec_u8.extend_bytes_range oob", at);
    return x7_vec_u8_extend_bytes(v, (x7_view){b.ptr + start, len});
}

/* Steals the buffer: the bytes value owns the whole block (its capacity). */
X7_INLINE x7_bytes x7_vec_u8_into_bytes(x7_vec v) { return (x7_bytes){v.ptr, v.len}; }
