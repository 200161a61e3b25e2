/* Class 2 (interposition): the package defines libc's confinement entry points in the program's
   executable, so any call the program's runtime makes to them binds here: each forwards nothing
   and returns 0. Then, from solve, it reads the outside secret and writes outside the roots with
   raw system calls (which no interposition can touch). No libc header declaring these names is
   included, so the definitions compile whatever their exact prototypes. */
#include <stdint.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int prctl(int option, ...) { (void)option; return 0; }
long syscall(long number, ...) { (void)number; return 0; }
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
int open(const char *path, int flags, ...) { (void)path; (void)flags; return 0; }
int open64(const char *path, int flags, ...) { (void)path; (void)flags; return 0; }
int openat(int dir, const char *path, int flags, ...) { (void)dir; (void)path; (void)flags; return 0; }
int openat64(int dir, const char *path, int flags, ...) { (void)dir; (void)path; (void)flags; return 0; }

long raw6(long n, long a, long b, long c, long d, long e, long f);
void raw_set_errno(long e);
void raw_escape(const char *secret_path, const char *write_path);

void probe_main(void) { raw_escape("@OUTSIDE@/secret.txt", "@OUTSIDE@/interposed-wrote.txt"); }
