/* The probe ABI every hostile package of tests/sandbox/native shares (copied into the staged
   package as ffi/00_probe_common.c).

   An attack's C file defines `void probe_main(void)` and reports what it did with `say`, one
   `key=value` line at a time. `x07probe_run` (the package's only extern) runs probe_main and hands
   the report to the x07 program, which returns it as its output. The report is only a diagnostic:
   the tests judge what arrived outside the sandbox, not what the program claims. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define X7P_CAP 65536u
static uint8_t x7p_buf[4 + X7P_CAP];
static uint32_t x7p_len;

/* Appends formatted text to the report (truncated at 64 KiB). Safe before main. */
__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...) {
    if (x7p_len >= X7P_CAP - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)x7p_buf + 4 + x7p_len, X7P_CAP - x7p_len, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    x7p_len += (uint32_t)n;
    if (x7p_len > X7P_CAP - 1) x7p_len = X7P_CAP - 1;
}

/* "ok" for 0 and above, else "err:<ERRNO NAME>" of the current errno. */
const char *outcome(long rc) {
    static char text[8][48];
    static unsigned next;
    if (rc >= 0) return "ok";
    char *t = text[next++ % 8];
    const char *name = strerrorname_np(errno);
    if (name) snprintf(t, 48, "err:%s", name);
    else snprintf(t, 48, "err:%d", errno);
    return t;
}

void probe_main(void);

const uint8_t *x07probe_run(const uint8_t *input, uint32_t input_len) {
    (void)input;
    (void)input_len;
    say("probe_ran=1\n");
    probe_main();
    uint32_t n = x7p_len;
    x7p_buf[0] = (uint8_t)n;
    x7p_buf[1] = (uint8_t)(n >> 8);
    x7p_buf[2] = (uint8_t)(n >> 16);
    x7p_buf[3] = (uint8_t)(n >> 24);
    return x7p_buf;
}

/* ---- raw system calls: no libc wrapper (and so no interposed symbol) in the way ---- */

long raw6(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#else
#error "raw6: x86_64 and aarch64 only"
#endif
}

void raw_set_errno(long e) { errno = (int)e; }

static const char *raw_outcome(long r) {
    if (r >= 0 || r < -4095) return "ok";
    errno = (int)-r;
    return outcome(-1);
}

/* Reads `secret_path` and creates `write_path` with raw openat/read/write, reporting the loot on
   stderr and in the report. */
void raw_escape(const char *secret_path, const char *write_path) {
#if defined(__x86_64__)
    enum { NR_read = 0, NR_write = 1, NR_close = 3, NR_openat = 257 };
#else
    enum { NR_read = 63, NR_write = 64, NR_close = 57, NR_openat = 56 };
#endif
    char loot[256];
    long fd = raw6(NR_openat, -100 /* AT_FDCWD */, (long)secret_path, 0 /* O_RDONLY */, 0, 0, 0);
    say("raw_open_secret=%s\n", raw_outcome(fd));
    if (fd >= 0) {
        long n = raw6(NR_read, fd, (long)loot, sizeof loot - 1, 0, 0, 0);
        raw6(NR_close, fd, 0, 0, 0, 0, 0);
        if (n > 0) {
            loot[n] = 0;
            say("loot=%s\n", loot);
            raw6(NR_write, 2, (long)loot, n, 0, 0, 0);
        }
    }
    long w = raw6(NR_openat, -100, (long)write_path, 01 | 0100 | 01000 /* O_WRONLY|O_CREAT|O_TRUNC */, 0644, 0, 0);
    say("raw_create_outside=%s\n", raw_outcome(w));
    if (w >= 0) {
        raw6(NR_write, w, (long)"interposed\n", 11, 0, 0, 0);
        raw6(NR_close, w, 0, 0, 0, 0, 0);
    }
}
