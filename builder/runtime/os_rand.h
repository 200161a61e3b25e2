/* x07-fragment: requires=core */
/*
 * os_rand: the kernel's random bytes (`os.rand.bytes_v1`, `os.rand.u64_v1`; OS worlds). Caps are
 * 12 bytes `u32 1 | u32 max_per_call (0 = 65536) | u32 flags (0)`; errors 60204 bad caps,
 * 60205 a count that is negative or over max_per_call, 60215 the kernel refused (getrandom).
 * Randomness reveals nothing about the host, so the run policy does not gate it.
 */
#include <sys/random.h>

#define X7_RAND_BAD_CAPS 60204u
#define X7_RAND_BAD_ARG 60205u
#define X7_RAND_IO 60215u

/* max_per_call of valid caps, or 0 when they are not valid. */
X7_FN uint32_t x7_rand_caps_max(x7_view caps) {
    if (caps.len != 12) return 0;
    uint32_t f[3];
    for (int k = 0; k < 3; k++) {
        f[k] = 0;
        for (int i = 3; i >= 0; i--) f[k] = (f[k] << 8) | caps.ptr[4 * k + i];
    }
    if (f[0] != 1 || f[2] != 0) return 0;
    return f[1] ? f[1] : 65536u;
}

X7_FN int x7_rand_fill(uint8_t *p, uint32_t n) {
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (uint32_t)r;
    }
    return 0;
}

X7_FN x7_res_bytes x7_os_rand_bytes_v1(uint32_t n, x7_view caps) {
    uint32_t max = x7_rand_caps_max(caps);
    if (max == 0) return (x7_res_bytes){0, X7_RAND_BAD_CAPS, X7_EMPTY_BYTES};
    if ((int32_t)n < 0 || n > max) return (x7_res_bytes){0, X7_RAND_BAD_ARG, X7_EMPTY_BYTES};
    if (n == 0) return (x7_res_bytes){1, 0, X7_EMPTY_BYTES};
    uint8_t *p = x7_alloc(n);
    if (x7_rand_fill(p, n) != 0) {
        x7_free(p);
        return (x7_res_bytes){0, X7_RAND_IO, X7_EMPTY_BYTES};
    }
    return (x7_res_bytes){1, 0, (x7_bytes){p, n}};
}

X7_FN x7_res_bytes x7_os_rand_u64_v1(x7_view caps) { return x7_os_rand_bytes_v1(8, caps); }
