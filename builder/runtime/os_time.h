/* x07-fragment: requires=core */
/* os_time: wall-clock time and sleeping. */
#include <time.h>

/* The low 32 bits of the Unix time in milliseconds. */
X7_FN uint32_t x7_os_time_now_unix_ms(void) {
#if X7_SB_CHECKS
    if (!x7_sb.pol.time.enabled || !x7_sb.pol.time.allow_wall_clock) {
        x7_sb_deny("os.time.now_unix_ms", NULL, 0,
                   x7_sb.pol.time.enabled ? "time.allow_wall_clock" : "time.enabled");
        x7_trap("os.time.now_unix_ms not allowed by the run policy", NULL);
    }
#endif
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (uint32_t)ms;
}

/*
 * Sleeps ms milliseconds, resuming after signals: 1 when it slept; 0 (without sleeping) for a
 * negative ms or when the run policy denies it — the public toolchain's convention.
 */
X7_FN uint32_t x7_os_time_sleep_ms_v1(uint32_t ms) {
    if ((int32_t)ms < 0) return 0;
#if X7_SB_CHECKS
    const char *rule = !x7_sb.pol.time.enabled       ? "time.enabled"
                       : !x7_sb.pol.time.allow_sleep ? "time.allow_sleep"
                       : ms > x7_sb.pol.time.max_sleep_ms ? "time.max_sleep_ms"
                                                          : NULL;
    if (rule != NULL) {
        char target[16];
        x7_msg m;
        m.len = 0;
        x7_msg_u64(&m, ms);
        memcpy(target, m.buf, m.len);
        x7_sb_deny("os.time.sleep_ms_v1", (const uint8_t *)target, m.len, rule);
        return 0;
    }
#endif
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 1;
}

/* 00 | u32 code | u32 0 */
X7_FN x7_bytes x7_os_time_err_doc(uint32_t code, uint32_t len) {
    uint8_t *p = x7_alloc(len);
    memset(p, 0, len);
    for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)(code >> (8 * i));
    return (x7_bytes){p, len};
}

/*
 * The wall clock as a duration since the Unix epoch: ok `01 01 | u32 secs_lo | u32 secs_hi |
 * u32 nanos` (14 bytes, seconds signed 64-bit); err `00 | u32 code | u32 0` (300 denied by the run
 * policy, 301 the clock failed).
 */
X7_FN x7_bytes x7_os_time_now_instant_v1(void) {
#if X7_SB_CHECKS
    if (!x7_sb.pol.time.enabled || !x7_sb.pol.time.allow_wall_clock) {
        x7_sb_deny("os.time.now_instant_v1", NULL, 0,
                   x7_sb.pol.time.enabled ? "time.allow_wall_clock" : "time.enabled");
        return x7_os_time_err_doc(300, 9);
    }
#endif
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return x7_os_time_err_doc(301, 9);
    uint64_t s = (uint64_t)(int64_t)ts.tv_sec;
    uint32_t f[3] = {(uint32_t)s, (uint32_t)(s >> 32), (uint32_t)ts.tv_nsec};
    uint8_t *p = x7_alloc(14);
    p[0] = 1;
    p[1] = 1;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++) p[2 + 4 * k + i] = (uint8_t)(f[k] >> (8 * i));
    return (x7_bytes){p, 14};
}

/*
 * The local time zone id: ok `01 01 | u32 len | tzid` — version 1 never reveals it (len 0), so a
 * program cannot fingerprint the host; err `00 | u32 1` when the run policy denies it.
 */
X7_FN x7_bytes x7_os_time_local_tzid_v1(void) {
#if X7_SB_CHECKS
    if (!x7_sb.pol.time.enabled || !x7_sb.pol.time.allow_local_tzid) {
        x7_sb_deny("os.time.local_tzid_v1", NULL, 0,
                   x7_sb.pol.time.enabled ? "time.allow_local_tzid" : "time.enabled");
        return x7_os_time_err_doc(1, 5);
    }
#endif
    uint8_t *p = x7_alloc(6);
    memset(p, 0, 6);
    p[0] = 1;
    p[1] = 1;
    return (x7_bytes){p, 6};
}
