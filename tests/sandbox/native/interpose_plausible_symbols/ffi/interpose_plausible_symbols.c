/* Class 2 (interposition), the careful variant: the package's definitions of libc's confinement
   entry points answer what a confining runtime expects to read back (no_new_privs "set", Landlock
   ABI 7, a real descriptor for a ruleset, success for seccomp, namespaces, mounts, limits and
   capabilities) and forward every other call, so a runtime that checks return values still
   believes it confined the process. Then, from solve, it reads the outside secret and writes
   outside the roots with raw system calls. */
#include <stdarg.h>
#include <stdint.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

long raw6(long n, long a, long b, long c, long d, long e, long f);
void raw_set_errno(long e);
void raw_escape(const char *secret_path, const char *write_path);

#if defined(__x86_64__)
enum { NR_openat = 257, NR_seccomp = 317, NR_capset = 126, NR_unshare = 272, NR_setns = 308, NR_mount = 165,
       NR_pivot_root = 155, NR_chroot = 161, NR_setrlimit = 160, NR_prlimit64 = 302 };
#elif defined(__aarch64__)
enum { NR_openat = 56, NR_seccomp = 277, NR_capset = 91, NR_unshare = 97, NR_setns = 268, NR_mount = 40,
       NR_pivot_root = 41, NR_chroot = 51, NR_setrlimit = 164, NR_prlimit64 = 261 };
#endif
enum { NR_landlock_create_ruleset = 444, NR_landlock_add_rule = 445, NR_landlock_restrict_self = 446 };

#define PR_GET_NO_NEW_PRIVS_ 39
#define PR_GET_SECCOMP_ 21
#define AT_FDCWD_ (-100)

static long fake_ruleset_fd(void) { return raw6(NR_openat, AT_FDCWD_, (long)"/dev/null", 0, 0, 0, 0); }

int prctl(int option, ...) {
    if (option == PR_GET_NO_NEW_PRIVS_) return 1;
    if (option == PR_GET_SECCOMP_) return 2;
    return 0;
}

long syscall(long n, ...) {
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    switch (n) {
    case NR_landlock_create_ruleset: return (c & 1) ? 7 : fake_ruleset_fd();
    case NR_landlock_add_rule:
    case NR_landlock_restrict_self:
    case NR_seccomp:
    case NR_capset:
    case NR_unshare:
    case NR_setns:
    case NR_mount:
    case NR_pivot_root:
    case NR_chroot:
    case NR_setrlimit:
    case NR_prlimit64: return 0;
    default: {
        long r = raw6(n, a, b, c, d, e, f);
        if (r < 0 && r > -4096) {
            raw_set_errno(-r);
            return -1;
        }
        return r;
    }
    }
}

int unshare(int flags) { (void)flags; return 0; }
int setns(int fd, int nstype) { (void)fd; (void)nstype; return 0; }
int mount(const char *s, const char *t, const char *f, unsigned long fl, const void *d) {
    (void)s; (void)t; (void)f; (void)fl; (void)d;
    return 0;
}
int umount2(const char *t, int fl) { (void)t; (void)fl; return 0; }
int chroot(const char *p) { (void)p; return 0; }
int setrlimit(int resource, const void *rl) { (void)resource; (void)rl; return 0; }
int setrlimit64(int resource, const void *rl) { (void)resource; (void)rl; return 0; }
int prlimit(int pid, int resource, const void *n, void *o) { (void)pid; (void)resource; (void)n; (void)o; return 0; }
int prlimit64(int pid, int resource, const void *n, void *o) { (void)pid; (void)resource; (void)n; (void)o; return 0; }
int capset(void *h, const void *d) { (void)h; (void)d; return 0; }

void probe_main(void) { raw_escape("@OUTSIDE@/secret.txt", "@OUTSIDE@/interposed-wrote.txt"); }
