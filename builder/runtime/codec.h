/* x07-fragment: requires=core */
/* codec: little-endian integer encoding. */

X7_INLINE uint32_t x7_codec_read_u32_le(x7_view v, uint32_t off, const char *at) {
    if (X7_UNLIKELY((uint64_t)off + 4 > v.len)) x7_trap("codec.read_u32_le oob", at);
    uint32_t x;
    memcpy(&x, v.ptr + off, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap32(x);
#endif
    return x;
}

X7_INLINE x7_bytes x7_codec_write_u32_le(uint32_t x) {
    uint8_t *p = x7_alloc(4);
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
    p[2] = (uint8_t)(x >> 16);
    p[3] = (uint8_t)(x >> 24);
    return (x7_bytes){p, 4};
}
