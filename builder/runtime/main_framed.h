/* x07-fragment: requires=core */
/*
 * main_framed: the entry point of `x07 run` / `x07 build` binaries. Framed stdin (u32_le length,
 * then the bytes) becomes `input`; solve's result is written framed to stdout; the stats line
 * goes to stderr; the exit status is the program's exit code. A sandboxed build also takes its
 * run policy from the command line (--x07-policy-fd=N or --x07-policy-file=PATH); anything wrong
 * with those is a sandbox failure (status 3), other argument errors are status 2.
 */
#include <signal.h>

X7_COLD void x7_main_fail(const char *what, const char *detail) {
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "x07: ");
    x7_msg_str(&m, what);
    if (detail != NULL) x7_msg_data(&m, (const uint8_t *)detail, strlen(detail));
    m.buf[m.len++] = '\n';
    (void)x7_write_fd(2, m.buf, m.len);
    _exit(2);
}

/* Reads until n bytes or end of input; the count read, or -1 on error. */
X7_FN int64_t x7_read_full(int fd, uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

#define X7_POLICY_FLAG_PREFIX "--x07-policy-"

/* A --x07-policy-* argument: recorded for the sandbox, or refused by a build without one. */
X7_FN void x7_main_policy_arg(const char *a) {
#ifdef X07_SANDBOXED
    x7_sb_policy_arg(a);
#else
    x7_main_fail("this program was not built for run-os-sandboxed and takes no policy: ", a);
#endif
}

int main(int argc, char **argv) {
    static const char fuel_flag[] = "--solve-fuel=";
    static const char mem_flag[] = "--max-memory-bytes=";
    uint64_t fuel = X07_FUEL_INIT, mem = X07_MEM_CAP;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, X7_POLICY_FLAG_PREFIX, sizeof X7_POLICY_FLAG_PREFIX - 1) == 0) {
            x7_main_policy_arg(a);
        } else if (strncmp(a, fuel_flag, sizeof fuel_flag - 1) == 0) {
            if (x7_parse_u64(a + sizeof fuel_flag - 1, &fuel) != 0)
                x7_main_fail("--solve-fuel needs a decimal number: ", a);
        } else if (strncmp(a, mem_flag, sizeof mem_flag - 1) == 0) {
            if (x7_parse_u64(a + sizeof mem_flag - 1, &mem) != 0 || mem > X7_ARENA_MAX)
                x7_main_fail("--max-memory-bytes needs a decimal number up to 68719476736: ", a);
        } else {
            x7_main_fail("unknown argument (expected --solve-fuel=N or --max-memory-bytes=N): ",
                         a);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (x7_heap_init(mem) != 0) x7_main_fail("cannot map the memory arena", NULL);
    x7_fuel = x7_fuel_init = fuel;
    x7_os_startup();

    uint8_t hdr[4];
    if (x7_read_full(0, hdr, 4) != 4) x7_main_fail("stdin: short read of the input frame length", NULL);
    uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                   (uint32_t)hdr[3] << 24;
    uint8_t *in = x7_alloc(len);
    if (x7_read_full(0, in, len) != (int64_t)len) x7_main_fail("stdin: short read of the input frame", NULL);
    x7_input = (x7_view){in, len};
    /* mem_stats describe solve alone; heap_used keeps counting the input */
    memset(&x7_mem, 0, sizeof x7_mem);

    x7_bytes out = x7_solve();
    uint8_t ohdr[4] = {(uint8_t)out.len, (uint8_t)(out.len >> 8), (uint8_t)(out.len >> 16),
                       (uint8_t)(out.len >> 24)};
    if (x7_write_fd(1, ohdr, 4) != 0 || x7_write_fd(1, out.ptr, out.len) != 0)
        x7_main_fail("stdout: write failed", NULL);
    x7_bytes_drop(out);
    x7_stats_write();
    return (int)(x7_exit_code & 255u);
}
