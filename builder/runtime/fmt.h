/* x07-fragment: requires=core */
/* fmt: decimal formatting of i32 values. */

X7_FN x7_bytes x7_fmt_dec(uint32_t mag, int neg) {
    uint8_t tmp[11];
    uint32_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (uint8_t)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    if (neg) tmp[sizeof tmp - 1 - n++] = '-';
    uint8_t *p = x7_alloc(n);
    x7_memcpy(p, tmp + sizeof tmp - n, n);
    return (x7_bytes){p, n};
}

X7_INLINE x7_bytes x7_fmt_u32_to_dec(uint32_t x) { return x7_fmt_dec(x, 0); }

X7_INLINE x7_bytes x7_fmt_s32_to_dec(uint32_t x) {
    return (x & 0x80000000u) ? x7_fmt_dec(0u - x, 1) : x7_fmt_dec(x, 0);
}
