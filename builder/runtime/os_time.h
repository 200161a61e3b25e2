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
