/* The vm backend's network path (vm only): 127.0.0.1:@ALLOWED_PORT@ is allowed, so the guest's
   relay listens on that port on every local address. First the control (the allowed address,
   through the host proxy), then the relay asked for other destinations on the same port — the
   host's [::1], another loopback address — and a port the policy does not list, all with the
   native socket API (no x07 builtin checks them). Only the host proxy stands in the way. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

/* Connects to addr:port and sends a line; the outcome of connect, then of reading the answer. */
static void dial(const char *tag, int family, const char *addr, int port) {
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    say("%s_socket=%s\n", tag, outcome(s));
    if (s < 0) return;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    }
    say("%s_connect=%s\n", tag, outcome(connect(s, (struct sockaddr *)&ss, len)));
    static const char line[] = "x07-relay-probe\n";
    say("%s_send=%s\n", tag, outcome(send(s, line, sizeof line - 1, MSG_NOSIGNAL)));
    char buf[16];
    say("%s_recv=%s\n", tag, outcome(recv(s, buf, sizeof buf, 0)));
    close(s);
}

void probe_main(void) {
    dial("control_allowed", AF_INET, "127.0.0.1", @ALLOWED_PORT@);
    dial("v6_loopback_same_port", AF_INET6, "::1", @ALLOWED_PORT@);
    dial("other_loopback_same_port", AF_INET, "127.0.0.2", @ALLOWED_PORT@);
    dial("denied_port", AF_INET, "127.0.0.1", @DENIED_PORT@);
}
