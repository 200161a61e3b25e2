/* Class 6 (plain TCP): networking is on and 127.0.0.1:@ALLOWED_PORT@ is allowed. First a TCP
   connection to the allowed port (the control: networking works), then a TCP connection to
   @DENIED_PORT@, a port the policy does not list, with the native socket API (no x07 builtin
   checks it). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static void dial(const char *tag, int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    say("%s_socket=%s\n", tag, outcome(s));
    if (s < 0) return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    say("%s_connect=%s\n", tag, outcome(connect(s, (struct sockaddr *)&a, sizeof a)));
    close(s);
}

void probe_main(void) {
    dial("control_tcp_allowed", @ALLOWED_PORT@);
    dial("tcp_denied", @DENIED_PORT@);
}
