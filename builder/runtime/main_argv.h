/* x07-fragment: requires=core */
/*
 * main_argv: the entry point of bundles (docs/bundling.md). The command-line arguments become
 * argv_v1 input (token 0 is the bundle's name, baked in as X07_BUNDLE_NAME, never the real
 * argv[0]); the program's output bytes go raw to stdout; the exit status is the program's exit
 * code. Nothing else is printed: no stats line. A trap prints one line and exits with
 * X07_TRAP_EXIT_CODE (70, EX_SOFTWARE), as does output over the bundle's cap. A sandboxed payload
 * is only ever started by its sealed launcher, which puts --x07-policy-fd=3 first; a backend-none
 * bundle carries its policy inside (X07_EMBEDDED_POLICY) and reads no argument of its own.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#ifndef X07_BUNDLE_NAME
#error "main_argv needs X07_BUNDLE_NAME"
#endif

X7_COLD void x7_bundle_fail(const char *what, const char *detail, int code) {
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, X07_BUNDLE_NAME ": ");
    x7_msg_str(&m, what);
    if (detail != NULL) x7_msg_str(&m, detail);
    m.buf[m.len++] = '\n';
    (void)x7_write_fd(2, m.buf, m.len);
    _exit(code);
}

int main(int argc, char **argv) {
    int first = 1;
#if defined(X07_SANDBOXED) && !defined(X07_EMBEDDED_POLICY)
    if (argc < 2 || strncmp(argv[1], "--x07-policy-fd=", 16) != 0)
        x7_bundle_fail("this is a sealed bundle's payload; run the bundle itself", NULL, 3);
    x7_sb_policy_arg(argv[1]);
    first = 2;
#endif
#if defined(X07_BUNDLE_CPU_SECONDS) && !defined(X07_SANDBOXED)
    struct rlimit cpu = {X07_BUNDLE_CPU_SECONDS, X07_BUNDLE_CPU_SECONDS};
    (void)setrlimit(RLIMIT_CPU, &cpu);
#endif
    signal(SIGPIPE, SIG_IGN);
    if (x7_heap_init(X07_MEM_CAP) != 0) x7_bundle_fail("cannot map the memory arena", NULL, X07_TRAP_EXIT_CODE);
    x7_fuel = x7_fuel_init = X07_FUEL_INIT;
    x7_os_startup();

    /* argv_v1: u32le count, then per token u32le length and the bytes */
    static const char name[] = X07_BUNDLE_NAME;
    uint64_t total = 4 + 4 + (sizeof name - 1);
    for (int i = first; i < argc; i++) total += 4 + (uint64_t)strlen(argv[i]);
    if (total > 0xffffffffull) x7_bundle_fail("the arguments are longer than 4 GiB in argv_v1", NULL, 2);
    uint8_t *in = (uint8_t *)malloc((size_t)total); /* outside the arena: never freed, never charged */
    if (in == NULL) x7_bundle_fail("out of memory for the arguments", NULL, X07_TRAP_EXIT_CODE);
    uint8_t *p = in;
    uint32_t count = (uint32_t)(argc - first + 1);
    memcpy(p, &count, 4); /* little-endian hosts only (x86_64, aarch64) */
    p += 4;
    uint32_t n = (uint32_t)(sizeof name - 1);
    memcpy(p, &n, 4);
    memcpy(p + 4, name, n);
    p += 4 + n;
    for (int i = first; i < argc; i++) {
        n = (uint32_t)strlen(argv[i]);
        memcpy(p, &n, 4);
        memcpy(p + 4, argv[i], n);
        p += 4 + n;
    }
    x7_input = (x7_view){in, (uint32_t)total};
    memset(&x7_mem, 0, sizeof x7_mem);

    x7_bytes out = x7_solve();
#ifdef X07_MAX_OUTPUT_BYTES
    if ((uint64_t)out.len > (uint64_t)X07_MAX_OUTPUT_BYTES)
        x7_bundle_fail("the output is larger than the bundle's max_output_bytes", NULL, X07_TRAP_EXIT_CODE);
#endif
    if (x7_write_fd(1, out.ptr, out.len) != 0) x7_bundle_fail("stdout: write failed", NULL, X07_TRAP_EXIT_CODE);
#ifdef X07_SANDBOXED
    x7_sandbox_at_exit();
#endif
    return (int)(x7_exit_code & 255u);
}
