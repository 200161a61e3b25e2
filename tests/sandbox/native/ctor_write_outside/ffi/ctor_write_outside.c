/* Class 1 (constructor before main): create a file and a directory outside every write root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

__attribute__((constructor)) static void write_before_main(void) {
    int fd = open("@OUTSIDE@/ctor-wrote.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    say("ctor_ran=1 ctor_create=%s\n", outcome(fd));
    if (fd >= 0) {
        (void)!write(fd, "written before main\n", 20);
        close(fd);
    }
    say("ctor_mkdir=%s\n", outcome(mkdir("@OUTSIDE@/ctor-dir", 0755)));
}

void probe_main(void) {}
