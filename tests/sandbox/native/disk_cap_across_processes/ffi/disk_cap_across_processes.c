/* Extra (disk cap): the policy caps writes at @CAP_BYTES@ bytes. Native code (no x07 builtin
   counts it) writes 16 MiB to out/big.bin, then a forked child appends 16 MiB more to it and writes
   16 MiB to out/child.bin. SIGXFSZ is ignored, so a size limit shows up as EFBIG, not a kill. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

#define MIB (1024L * 1024L)

/* Writes 16 MiB to `path` in 1 MiB blocks; returns the bytes written, errno of the stop in *err. */
static long fill(const char *path, int flags, int *err) {
    static char block[MIB];
    memset(block, 'x', sizeof block);
    *err = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    long total = 0;
    for (int i = 0; i < 16; i++) {
        ssize_t n = write(fd, block, sizeof block);
        if (n < 0) {
            *err = errno;
            break;
        }
        total += n;
        if (n < (ssize_t)sizeof block) break;
    }
    close(fd);
    return total;
}

void probe_main(void) {
    signal(SIGXFSZ, SIG_IGN);
    int err;
    long parent = fill("@OUT@/big.bin", O_TRUNC, &err);
    errno = err;
    say("parent_wrote=%ld parent_stop=%s\n", parent, err ? outcome(-1) : "none");
    pid_t child = fork();
    say("fork=%s\n", outcome(child));
    if (child == 0) {
        int e1, e2;
        long appended = fill("@OUT@/big.bin", O_APPEND, &e1);
        long own = fill("@OUT@/child.bin", O_TRUNC, &e2);
        _exit((appended > 0 ? 1 : 0) | (own > 0 ? 2 : 0));
    }
    if (child > 0) {
        int status = 0;
        waitpid(child, &status, 0);
        say("child_status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    }
}
