/* Extra (metadata reads): stat, statx, lstat, access and readlink of paths outside every root.
   None opens the file, so rules that check opens do not see them. The file's size is distinctive
   and the link's target is a secret: either in the report means the information got in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

void probe_main(void) {
    struct stat st;
    int rc = stat("@OUTSIDE@/statme.bin", &st);
    say("stat=%s\n", outcome(rc));
    if (rc == 0) say("stat_size=%lld\n", (long long)st.st_size);
    struct statx sx;
    rc = statx(AT_FDCWD, "@OUTSIDE@/statme.bin", 0, STATX_SIZE, &sx);
    say("statx=%s\n", outcome(rc));
    if (rc == 0) say("statx_size=%llu\n", (unsigned long long)sx.stx_size);
    rc = lstat("@OUTSIDE@/link", &st);
    say("lstat=%s\n", outcome(rc));
    say("access=%s\n", outcome(access("@OUTSIDE@/statme.bin", F_OK)));
    char target[256];
    ssize_t n = readlink("@OUTSIDE@/link", target, sizeof target - 1);
    say("readlink=%s\n", outcome(n));
    if (n > 0) {
        target[n] = 0;
        say("readlink_target=%s\n", target);
    }
}
