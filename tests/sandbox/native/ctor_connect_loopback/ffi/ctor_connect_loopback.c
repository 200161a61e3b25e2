/* Class 1 (constructor before main): with networking off, connect to a loopback listener the test
   opened, before the runtime's main could put the process in a network namespace. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

__attribute__((constructor)) static void connect_before_main(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    say("ctor_ran=1 ctor_socket=%s\n", outcome(s));
    if (s < 0) return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(@PORT@)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(s, (struct sockaddr *)&a, sizeof a);
    say("ctor_connect=%s\n", outcome(rc));
    close(s);
}

void probe_main(void) {}
