/* Class 7 (listen without bind): listen() on a TCP socket that was never bound makes the kernel
   pick a port (autobind), past any rule that checks bind(). The program records the port in the
   write root and accepts for 6 seconds; to whoever connects it writes a banner naming this run
   (@MARKER@), so the test can tell its own listener from any other. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

void probe_main(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    say("socket=%s\n", outcome(s));
    if (s < 0) return;
    int rc = listen(s, 4);
    say("listen=%s\n", outcome(rc));
    int port = 0;
    if (rc == 0) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        if (getsockname(s, (struct sockaddr *)&a, &len) == 0) port = ntohs(a.sin_port);
    }
    say("port=%d\n", port);
    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", port);
    int fd = open("@OUT@/listen.port", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!write(fd, text, (size_t)n);
        close(fd);
    }
    if (rc != 0) return;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int accepted = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 6) break;
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        accepted++;
        (void)!write(c, "x07-listen-probe @MARKER@\n", sizeof "x07-listen-probe @MARKER@\n" - 1);
        close(c);
        break;
    }
    say("accepted=%d\n", accepted);
}
