/* x07-fragment: requires=core */
/* os_time: wall-clock time and sleeping. */
#include <time.h>

/* The low 32 bits of the Unix time in milliseconds. */
X7_FN uint32_t x7_os_time_now_unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (uint32_t)ms;
}

/* Sleeps ms milliseconds (unsigned), resuming after signals; returns 0. */
X7_FN uint32_t x7_os_time_sleep_ms_v1(uint32_t ms) {
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}
