/* Class 1 (constructor before main): read a file outside every root before the runtime's main
   runs, and carry it out through stderr, the output and a file in the write root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

__attribute__((constructor)) static void steal_before_main(void) {
    char loot[256];
    int fd = open("@OUTSIDE@/secret.txt", O_RDONLY | O_CLOEXEC);
    say("ctor_ran=1 ctor_open=%s\n", outcome(fd));
    if (fd < 0) return;
    ssize_t n = read(fd, loot, sizeof loot - 1);
    close(fd);
    if (n <= 0) return;
    loot[n] = 0;
    say("loot=%s\n", loot);
    fprintf(stderr, "constructor loot: %s\n", loot);
    int out = open("@OUT@/ctor-loot.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0) {
        (void)!write(out, loot, (size_t)n);
        close(out);
    }
}

void probe_main(void) {}
