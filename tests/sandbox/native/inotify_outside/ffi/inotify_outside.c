/* Class 5 (inotify): watch a directory outside every root, tell the test it may start (a file in
   the write root), and report every name created there within 8 seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void probe_main(void) {
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    say("inotify_init=%s\n", outcome(in));
    int wd = in < 0 ? -1 : inotify_add_watch(in, "@OUTSIDE@/watched", IN_CREATE | IN_OPEN | IN_MODIFY);
    if (in >= 0) say("watch=%s\n", outcome(wd));
    int ready = open("@OUT@/inotify.ready", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ready >= 0) close(ready);
    if (wd < 0) return;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    long deadline = now_ms() + 8000;
    int done = 0;
    while (!done && now_ms() < deadline) {
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        ssize_t n = read(in, buf, sizeof buf);
        for (char *at = buf; n > 0 && at < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)at;
            if (ev->len > 0) {
                say("event=%s\n", ev->name);
                if (strcmp(ev->name, "last") == 0) done = 1;
            }
            at += sizeof *ev + ev->len;
        }
    }
}
