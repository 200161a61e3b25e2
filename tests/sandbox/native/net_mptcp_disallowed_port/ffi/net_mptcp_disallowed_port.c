/* Class 6 (MPTCP): networking is on and 127.0.0.1:@ALLOWED_PORT@ is allowed. First a plain TCP
   connection to the allowed port (the control: networking works), then an MPTCP connection
   (IPPROTO_MPTCP, which falls back to TCP against a plain listener) to @DENIED_PORT@, a port the
   policy does not list. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static void dial(const char *tag, int proto, int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
    say("%s_socket=%s\n", tag, outcome(s));
    if (s < 0) return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    say("%s_connect=%s\n", tag, outcome(connect(s, (struct sockaddr *)&a, sizeof a)));
    close(s);
}

void probe_main(void) {
    dial("control_tcp_allowed", IPPROTO_TCP, @ALLOWED_PORT@);
    dial("mptcp_denied", IPPROTO_MPTCP, @DENIED_PORT@);
}
