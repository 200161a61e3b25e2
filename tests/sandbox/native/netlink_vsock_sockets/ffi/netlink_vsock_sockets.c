/* Extra (socket families): with networking on, open netlink sockets (route, raw and datagram
   flavours) and AF_VSOCK sockets (stream and datagram). If a netlink route socket opens, dump the
   links it can see (names of the network interfaces of whatever namespace it is in). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static void dump_links(int s) {
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {.h = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
             .i = {.ifi_family = AF_UNSPEC}};
    if (send(s, &req, sizeof req, 0) < 0) return;
    static char buf[1 << 16];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) return;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return;
            if (h->nlmsg_type != RTM_NEWLINK) continue;
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME) say("netlink_link=%s\n", (char *)RTA_DATA(a));
        }
    }
}

static void try_socket(const char *tag, int family, int type, int proto, int dump) {
    int s = socket(family, type | SOCK_CLOEXEC, proto);
    say("%s=%s\n", tag, outcome(s));
    if (s >= 0) {
        if (dump) dump_links(s);
        close(s);
    }
}

void probe_main(void) {
    try_socket("netlink_route_raw", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, 1);
    try_socket("netlink_route_dgram", AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE, 1);
    try_socket("netlink_audit", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT, 0);
    try_socket("netlink_kobject_uevent", AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT, 0);
    try_socket("vsock_stream", AF_VSOCK, SOCK_STREAM, 0, 0);
    try_socket("vsock_dgram", AF_VSOCK, SOCK_DGRAM, 0, 0);
}
