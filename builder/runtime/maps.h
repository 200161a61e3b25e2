/* x07-fragment: requires=core */
/*
 * maps: u32 hash tables behind i32 handles (`map_u32.*`, `set_u32.*`; a set is a map whose
 * values are 1, so `map_u32.len` works on both). Open addressing with linear probing, hash
 * k * 2654435769, a power-of-two capacity fixed at creation (a full table traps rather than
 * growing); the key 0xFFFFFFFF marks empty slots and is refused. Dumps list slot order.
 * Handles are 1-based and live until the program exits (their slots are arena memory).
 */

#define X7_MAPS_MAX 4096u
#define X7_MAP_EMPTY 0xFFFFFFFFu

typedef struct { uint32_t *keys, *vals, cap, len; } x7_map_u32;

static x7_map_u32 x7_maps[X7_MAPS_MAX + 1] X7_UNUSED;
static uint32_t x7_maps_n X7_UNUSED;

X7_FN uint32_t x7_map_u32_new(uint32_t cap, const char *at) {
    if (cap == 0 || (cap & (cap - 1)) != 0 || cap > (1u << 26)) x7_trap("map_u32.new: capacity must be a power of two (at most 2^26)", at);
    if (x7_maps_n == X7_MAPS_MAX) x7_trap("map_u32.new: too many maps", at);
    x7_map_u32 *m = &x7_maps[++x7_maps_n];
    m->keys = (uint32_t *)(void *)x7_alloc(cap * 4u);
    m->vals = (uint32_t *)(void *)x7_alloc_zeroed(cap * 4u);
    memset(m->keys, 0xff, (size_t)cap * 4u);
    m->cap = cap;
    m->len = 0;
    return x7_maps_n;
}

X7_FN x7_map_u32 *x7_map_get(uint32_t h, const char *at) {
    if (h == 0 || h > x7_maps_n) x7_trap("map_u32: not a map handle", at);
    return &x7_maps[h];
}

/* The slot of k, or of the empty slot where it would go (UINT32_MAX when full without it). */
X7_FN uint32_t x7_map_slot(const x7_map_u32 *m, uint32_t k, const char *at) {
    if (k == X7_MAP_EMPTY) x7_trap("map_u32: the key 0xFFFFFFFF is reserved", at);
    uint32_t mask = m->cap - 1, i = (k * 2654435769u) & mask;
    for (uint32_t n = 0; n < m->cap; n++, i = (i + 1) & mask)
        if (m->keys[i] == k || m->keys[i] == X7_MAP_EMPTY) return i;
    return UINT32_MAX;
}

X7_FN uint32_t x7_map_u32_set(uint32_t h, uint32_t k, uint32_t v, const char *at) {
    x7_map_u32 *m = x7_map_get(h, at);
    uint32_t i = x7_map_slot(m, k, at);
    if (i == UINT32_MAX) x7_trap("map_u32 full", at);
    uint32_t added = m->keys[i] == X7_MAP_EMPTY;
    m->keys[i] = k;
    m->vals[i] = v;
    m->len += added;
    return added;
}

X7_FN uint32_t x7_map_u32_get(uint32_t h, uint32_t k, uint32_t dflt, const char *at) {
    x7_map_u32 *m = x7_map_get(h, at);
    uint32_t i = x7_map_slot(m, k, at);
    return i != UINT32_MAX && m->keys[i] == k ? m->vals[i] : dflt;
}

X7_FN uint32_t x7_map_u32_contains(uint32_t h, uint32_t k, const char *at) {
    x7_map_u32 *m = x7_map_get(h, at);
    uint32_t i = x7_map_slot(m, k, at);
    return i != UINT32_MAX && m->keys[i] == k;
}

X7_FN uint32_t x7_map_u32_len(uint32_t h, const char *at) { return x7_map_get(h, at)->len; }

/* (u32 key, u32 value) pairs little-endian, in slot order. */
X7_FN x7_bytes x7_map_u32_dump_kv_u32le_u32le(uint32_t h, const char *at) {
    x7_map_u32 *m = x7_map_get(h, at);
    if (m->len == 0) return X7_EMPTY_BYTES;
    uint8_t *p = x7_alloc(m->len * 8u), *q = p;
    for (uint32_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == X7_MAP_EMPTY) continue;
        for (int b = 0; b < 4; b++) q[b] = (uint8_t)(m->keys[i] >> (8 * b));
        for (int b = 0; b < 4; b++) q[4 + b] = (uint8_t)(m->vals[i] >> (8 * b));
        q += 8;
    }
    return (x7_bytes){p, m->len * 8u};
}

X7_INLINE uint32_t x7_set_u32_new(uint32_t cap, const char *at) { return x7_map_u32_new(cap, at); }
X7_INLINE uint32_t x7_set_u32_add(uint32_t h, uint32_t k, const char *at) { return x7_map_u32_set(h, k, 1, at); }
X7_INLINE uint32_t x7_set_u32_contains(uint32_t h, uint32_t k, const char *at) { return x7_map_u32_contains(h, k, at); }

/* The keys, u32 little-endian, in slot order. */
X7_FN x7_bytes x7_set_u32_dump_u32le(uint32_t h, const char *at) {
    x7_map_u32 *m = x7_map_get(h, at);
    if (m->len == 0) return X7_EMPTY_BYTES;
    uint8_t *p = x7_alloc(m->len * 4u), *q = p;
    for (uint32_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == X7_MAP_EMPTY) continue;
        for (int b = 0; b < 4; b++) q[b] = (uint8_t)(m->keys[i] >> (8 * b));
        q += 4;
    }
    return (x7_bytes){p, m->len * 4u};
}
