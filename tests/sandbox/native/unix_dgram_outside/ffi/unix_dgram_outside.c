/* Class 9 (unix datagrams): send a datagram to the test's named socket outside every root
   (@OUTSIDE@/dgram.sock) and to its abstract socket (@ABSTRACT@), each from a socketpair's end
   (sendto with an address) and from a plain AF_UNIX datagram socket. Each payload names its way. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static socklen_t named(struct sockaddr_un *a) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, "@OUTSIDE@/dgram.sock", sizeof a->sun_path - 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static socklen_t abstract(struct sockaddr_un *a) {
    static const char name[] = "@ABSTRACT@";
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, sizeof name - 1); /* sun_path[0] = 0: the abstract namespace */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + sizeof name - 1);
}

static void send_from(const char *way, int s, int to_abstract) {
    struct sockaddr_un a;
    socklen_t len = to_abstract ? abstract(&a) : named(&a);
    long rc = sendto(s, way, strlen(way), MSG_DONTWAIT, (struct sockaddr *)&a, len);
    say("%s=%s\n", way, outcome(rc));
}

void probe_main(void) {
    int pair[2];
    int rc = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair);
    say("socketpair=%s\n", outcome(rc));
    if (rc == 0) {
        send_from("socketpair_to_named", pair[0], 0);
        send_from("socketpair_to_abstract", pair[1], 1);
        close(pair[0]);
        close(pair[1]);
    }
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    say("socket=%s\n", outcome(s));
    if (s >= 0) {
        send_from("socket_to_named", s, 0);
        send_from("socket_to_abstract", s, 1);
        close(s);
    }
}
