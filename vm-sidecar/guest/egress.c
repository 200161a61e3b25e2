/*
 * The guest half of x07's network path (docs/vm.md, "The network path"). The guest has no
 * network device: its only way out is this relay, which carries TCP streams over the
 * virtio-serial port named `x07.net` to x07's egress proxy on the host, and the proxy alone
 * decides where a stream may go.
 *
 * The host writes /x07/in/net, one directive per line:
 *   hosts ADDR NAME   a line of /etc/hosts: an allowed name and an address the host resolved
 *   local ADDR        ADDR is made local to the guest (a local route on lo), so a connection to
 *                     it lands on the relay's listeners
 *   listen PORT       the relay listens on PORT (IPv4 and IPv6, every local address)
 * A program connects to ADDR:PORT as it would outside; the relay accepts, reads the address the
 * program dialed (getsockname), and asks the host to open that address and port. Every stream is
 * flow-controlled: each side sends at most EG_WINDOW bytes the other has not acknowledged.
 *
 * Frames on the port, both ways: u32 stream id, u8 kind, u32 payload length (little endian), then
 * the payload. OPEN carries u8 family (4 or 6), the address and u16 port; OPENED u8 0 (open) or
 * the refusal reason; CREDIT a u32 count of bytes written out.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The few rtnetlink definitions the local routes need (linux/netlink.h, linux/rtnetlink.h): the
 * agent builds against musl, which carries no kernel headers.
 */
#define EG_NETLINK_ROUTE 0
#define EG_RTM_NEWROUTE 24
#define EG_NLMSG_ERROR 2
#define EG_NLM_F_REQUEST 0x1
#define EG_NLM_F_ACK 0x4
#define EG_NLM_F_REPLACE 0x100
#define EG_NLM_F_CREATE 0x400
#define EG_RT_TABLE_LOCAL 255
#define EG_RTPROT_BOOT 3
#define EG_RT_SCOPE_HOST 254
#define EG_RTN_LOCAL 2
#define EG_RTA_DST 1
#define EG_RTA_OIF 4
typedef struct {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
} eg_nlmsghdr;
typedef struct {
    unsigned char family, dst_len, src_len, tos, table, protocol, scope, type;
    uint32_t flags;
} eg_rtmsg;
typedef struct {
    uint16_t len, type;
} eg_rtattr;

#define EG_MAX_CONNS 256
#define EG_MAX_LISTEN 256
#define EG_WINDOW (256u * 1024u)
#define EG_CHUNK (32u * 1024u)
#define EG_MAX_FRAME (64u * 1024u)

enum { EG_OPEN = 1, EG_DATA = 2, EG_EOF = 3, EG_CLOSE = 4, EG_CREDIT = 5, EG_OPENED = 16 };

typedef struct {
    int fd;            /* the program's connection; -1: slot free */
    uint32_t id;       /* the stream id on the port */
    int open;          /* the host opened the destination */
    uint32_t credit;   /* bytes the host still accepts */
    unsigned char *out; /* host bytes waiting for the program */
    uint32_t out_len;
    int read_eof;      /* the program stopped writing (EOF sent) */
    int host_eof;      /* the host side stopped writing */
} eg_conn;

static eg_conn eg_conns[EG_MAX_CONNS];
static int eg_listeners[EG_MAX_LISTEN];
static int eg_nlisteners;
static int eg_port = -1;

static void eg_write_all(const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = write(eg_port, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(0); /* the host went away: the job is over */
        b += w;
        n -= (size_t)w;
    }
}

static void eg_put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t eg_get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void eg_frame(uint32_t id, int kind, const void *payload, uint32_t len) {
    unsigned char h[9];
    eg_put32(h, id);
    h[4] = (unsigned char)kind;
    eg_put32(h + 5, len);
    eg_write_all(h, sizeof h);
    if (len > 0) eg_write_all(payload, len);
}

static void eg_free(eg_conn *c, int reset) {
    if (reset) {
        struct linger l = {1, 0}; /* a refused or broken stream ends with a reset, not a clean EOF */
        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static eg_conn *eg_find(uint32_t id) {
    for (int i = 0; i < EG_MAX_CONNS; i++)
        if (eg_conns[i].fd >= 0 && eg_conns[i].id == id) return &eg_conns[i];
    return NULL;
}

/* A frame from the host. */
static void eg_from_host(uint32_t id, int kind, const unsigned char *p, uint32_t len) {
    eg_conn *c = eg_find(id);
    if (c == NULL) return; /* the program closed it meanwhile */
    switch (kind) {
    case EG_OPENED:
        if (len == 1 && p[0] == 0) c->open = 1;
        else eg_free(c, 1);
        break;
    case EG_DATA:
        if (c->out_len + len > EG_WINDOW) { /* the host broke the window: drop the stream */
            eg_frame(id, EG_CLOSE, NULL, 0);
            eg_free(c, 1);
            break;
        }
        memcpy(c->out + c->out_len, p, len);
        c->out_len += len;
        break;
    case EG_EOF:
        c->host_eof = 1;
        if (c->out_len == 0) (void)shutdown(c->fd, SHUT_WR);
        break;
    case EG_CLOSE:
        eg_free(c, 1);
        break;
    case EG_CREDIT:
        if (len == 4) c->credit += eg_get32(p);
        break;
    default:
        break;
    }
}

/* A new connection from the program: ask the host to open where it dialed. */
static void eg_accept(int lfd) {
    static uint32_t next_id = 1;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    eg_conn *c = NULL;
    for (int i = 0; i < EG_MAX_CONNS && c == NULL; i++)
        if (eg_conns[i].fd < 0) c = &eg_conns[i];
    unsigned char open[19];
    uint32_t n = 0;
    if (c != NULL && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            open[0] = 4;
            memcpy(open + 1, &a->sin_addr, 4);
            memcpy(open + 5, &a->sin_port, 2); /* network order */
            n = 7;
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            open[0] = 6;
            memcpy(open + 1, &a->sin6_addr, 16);
            memcpy(open + 17, &a->sin6_port, 2);
            n = 19;
        }
    }
    unsigned char *out = n > 0 ? malloc(EG_WINDOW) : NULL;
    if (out == NULL) {
        struct linger l = {1, 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(fd);
        return;
    }
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->id = next_id++;
    c->credit = EG_WINDOW;
    c->out = out;
    eg_frame(c->id, EG_OPEN, open, n);
}

/* The program's side of a stream is readable: forward what the window allows. */
static void eg_pump_in(eg_conn *c) {
    static unsigned char buf[EG_CHUNK];
    uint32_t want = c->credit < EG_CHUNK ? c->credit : EG_CHUNK;
    ssize_t n = read(c->fd, buf, want);
    if (n > 0) {
        c->credit -= (uint32_t)n;
        eg_frame(c->id, EG_DATA, buf, (uint32_t)n);
    } else if (n == 0) {
        c->read_eof = 1;
        eg_frame(c->id, EG_EOF, NULL, 0);
    } else if (errno != EAGAIN && errno != EINTR) {
        eg_frame(c->id, EG_CLOSE, NULL, 0);
        eg_free(c, 1);
    }
}

/* The program's side is writable: hand it the host's bytes and give the host credit back. */
static void eg_pump_out(eg_conn *c) {
    ssize_t n = write(c->fd, c->out, c->out_len);
    if (n > 0) {
        memmove(c->out, c->out + n, c->out_len - (uint32_t)n);
        c->out_len -= (uint32_t)n;
        unsigned char credit[4];
        eg_put32(credit, (uint32_t)n);
        eg_frame(c->id, EG_CREDIT, credit, 4);
        if (c->out_len == 0 && c->host_eof) (void)shutdown(c->fd, SHUT_WR);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        eg_frame(c->id, EG_CLOSE, NULL, 0);
        eg_free(c, 1);
    }
}

/* Reads what the port has and handles every whole frame. */
static void eg_port_read(void) {
    static unsigned char rx[2 * EG_MAX_FRAME + 9];
    static size_t have;
    ssize_t n = read(eg_port, rx + have, sizeof rx - have);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) _exit(0);
    if (n < 0) return;
    have += (size_t)n;
    size_t at = 0;
    while (have - at >= 9) {
        uint32_t len = eg_get32(rx + at + 5);
        if (len > EG_MAX_FRAME) _exit(3); /* not our host */
        if (have - at < 9 + (size_t)len) break;
        eg_from_host(eg_get32(rx + at), rx[at + 4], rx + at + 9, len);
        at += 9 + len;
    }
    memmove(rx, rx + at, have - at);
    have -= at;
}

/* The relay's loop; never returns. */
static void eg_relay(void) {
    static struct pollfd fds[1 + EG_MAX_LISTEN + EG_MAX_CONNS];
    static eg_conn *owner[1 + EG_MAX_LISTEN + EG_MAX_CONNS];
    for (;;) {
        nfds_t n = 0;
        fds[n++] = (struct pollfd){eg_port, POLLIN, 0};
        for (int i = 0; i < eg_nlisteners; i++) {
            owner[n] = NULL;
            fds[n++] = (struct pollfd){eg_listeners[i], POLLIN, 0};
        }
        for (int i = 0; i < EG_MAX_CONNS; i++) {
            eg_conn *c = &eg_conns[i];
            if (c->fd < 0) continue;
            if (c->read_eof && c->host_eof && c->out_len == 0) {
                eg_frame(c->id, EG_CLOSE, NULL, 0);
                eg_free(c, 0);
                continue;
            }
            short ev = (c->open && !c->read_eof && c->credit > 0 ? POLLIN : 0) | (c->out_len > 0 ? POLLOUT : 0);
            owner[n] = c;
            fds[n++] = (struct pollfd){c->fd, ev, 0};
        }
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(3);
        }
        if (fds[0].revents) eg_port_read();
        for (nfds_t k = 1; k < n; k++) {
            if (fds[k].revents == 0) continue;
            if (k <= (nfds_t)eg_nlisteners) {
                eg_accept(fds[k].fd);
                continue;
            }
            eg_conn *c = owner[k];
            if (c->fd != fds[k].fd) continue; /* freed by a host frame above */
            if (fds[k].revents & POLLOUT) eg_pump_out(c);
            if (c->fd == fds[k].fd && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && c->open && !c->read_eof &&
                c->credit > 0)
                eg_pump_in(c);
        }
    }
}

/* Brings lo up (the kernel gives it 127.0.0.1 and ::1). */
static int eg_lo_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return r;
}

/* Appends one route attribute to msg (at *len); the attribute's data is `n` bytes of `data`. */
static void eg_rta(unsigned char *msg, uint32_t *len, uint16_t type, const void *data, uint16_t n) {
    eg_rtattr a = {(uint16_t)(sizeof a + n), type};
    memcpy(msg + *len, &a, sizeof a);
    memcpy(msg + *len + sizeof a, data, n);
    *len += (uint32_t)((sizeof a + n + 3u) & ~3u);
}

/* A local route for one address on lo (`ip route add local ADDR dev lo`); 0, or -1. */
static int eg_local_route(const char *text) {
    unsigned char addr[16];
    int family = inet_pton(AF_INET, text, addr) == 1 ? AF_INET : inet_pton(AF_INET6, text, addr) == 1 ? AF_INET6 : 0;
    if (family == 0) return -1;
    uint16_t alen = family == AF_INET ? 4 : 16;
    unsigned char msg[128] __attribute__((aligned(4)));
    memset(msg, 0, sizeof msg);
    eg_nlmsghdr nh = {0, EG_RTM_NEWROUTE, EG_NLM_F_REQUEST | EG_NLM_F_CREATE | EG_NLM_F_REPLACE | EG_NLM_F_ACK, 1, 0};
    eg_rtmsg rt = {(unsigned char)family, (unsigned char)(alen * 8), 0, 0, EG_RT_TABLE_LOCAL, EG_RTPROT_BOOT,
                   EG_RT_SCOPE_HOST, EG_RTN_LOCAL, 0};
    uint32_t len = sizeof nh;
    memcpy(msg + len, &rt, sizeof rt);
    len += sizeof rt;
    eg_rta(msg, &len, EG_RTA_DST, addr, alen);
    int lo = (int)if_nametoindex("lo");
    eg_rta(msg, &len, EG_RTA_OIF, &lo, sizeof lo);
    nh.len = len;
    memcpy(msg, &nh, sizeof nh);
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, EG_NETLINK_ROUTE);
    if (s < 0) return -1;
    int r = -1;
    if (send(s, msg, len, 0) == (ssize_t)len) {
        unsigned char ack[512] __attribute__((aligned(4)));
        ssize_t n = recv(s, ack, sizeof ack, 0);
        eg_nlmsghdr h;
        int err;
        if (n >= (ssize_t)(sizeof h + sizeof err)) {
            memcpy(&h, ack, sizeof h);
            memcpy(&err, ack + sizeof h, sizeof err);
            if (h.type == EG_NLMSG_ERROR) r = err == 0 || err == -EEXIST ? 0 : -1;
        }
    }
    close(s);
    return r;
}

/* Listens on every local address at port (IPv4, and IPv6 when the guest has it). */
static int eg_listen(unsigned port) {
    int ok = 0;
    for (int v6 = 0; v6 <= 1 && eg_nlisteners < EG_MAX_LISTEN; v6++) {
        int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) continue;
        int one = 1;
        (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int bound;
        if (v6) {
            (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
            struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
            bound = bind(s, (struct sockaddr *)&a, sizeof a);
        } else {
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = {htonl(INADDR_ANY)}};
            bound = bind(s, (struct sockaddr *)&a, sizeof a);
        }
        if (bound != 0 || listen(s, 128) != 0) {
            close(s);
            continue;
        }
        eg_listeners[eg_nlisteners++] = s;
        ok = 1;
    }
    return ok ? 0 : -1;
}

/* Appends text to a file of the guest's root. */
static int eg_append(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * Sets up the guest's side from the host's directives: lo, local routes, /etc/hosts, the
 * listeners. 0, or -1 with *what naming the step that failed.
 */
static int eg_setup(const char *config, const char **what) {
    FILE *f = fopen(config, "re");
    if (f == NULL) return 0; /* no network for this job */
    *what = "bring lo up";
    if (eg_lo_up() != 0) return -1;
    (void)mkdir("/etc", 0755);
    *what = "write /etc/nsswitch.conf";
    if (eg_append("/etc/nsswitch.conf", "hosts: files\n") != 0) return -1;
    int localhost = 0;
    char line[600];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = 0;
        char *verb = strtok(line, " ");
        char *arg = strtok(NULL, " ");
        char *name = strtok(NULL, " ");
        if (verb == NULL || arg == NULL) continue;
        if (strcmp(verb, "hosts") == 0 && name != NULL) {
            char entry[600];
            snprintf(entry, sizeof entry, "%s %s\n", arg, name);
            *what = "write /etc/hosts";
            if (eg_append("/etc/hosts", entry) != 0) return -1;
            if (strcmp(name, "localhost") == 0) localhost = 1;
        } else if (strcmp(verb, "local") == 0) {
            *what = "add a local route";
            if (eg_local_route(arg) != 0) return -1;
        } else if (strcmp(verb, "listen") == 0) {
            *what = "listen on an allowed port";
            if (eg_listen((unsigned)strtoul(arg, NULL, 10)) != 0) return -1;
        }
    }
    fclose(f);
    *what = "write /etc/hosts";
    if (!localhost && eg_append("/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n") != 0) return -1;
    return 0;
}

/* Starts the relay on the port named `x07.net` (opened with open_port); its pid, or -1. */
static pid_t eg_start(int port_fd) {
    for (int i = 0; i < EG_MAX_CONNS; i++) eg_conns[i].fd = -1;
    pid_t pid = fork();
    if (pid != 0) {
        for (int i = 0; i < eg_nlisteners; i++) close(eg_listeners[i]);
        close(port_fd);
        return pid;
    }
    eg_port = port_fd;
    signal(SIGPIPE, SIG_IGN);
    eg_relay();
    _exit(0);
}
