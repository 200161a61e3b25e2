/* x07-fragment: requires=core */
/*
 * os_net: os.net.tcp_connect_v1(host, port) — resolves host (IP literals without DNS), connects
 * over TCP within X7_NET_CONNECT_TIMEOUT_MS, writes nothing and closes: ok(0), or err(code) with
 * the net codes of docs/stdlib/os-formats.md. In the sandboxed world the run policy decides first.
 */
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#define X7_NET_POLICY_DENIED 1u
#define X7_NET_INVALID_REQ 2u
#define X7_NET_TIMEOUT 3u
#define X7_NET_DNS 5u
#define X7_NET_CONNECT 6u
#define X7_NET_INTERNAL 8u

#define X7_NET_CONNECT_TIMEOUT_MS 5000

X7_FN int64_t x7_net_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One non-blocking connect, waited for until deadline; 0 or an errno (ETIMEDOUT at the deadline). */
X7_FN int x7_net_connect_one(const struct addrinfo *ai, int64_t deadline) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        while (err == EINPROGRESS || err == EINTR) {
            int64_t left = deadline - x7_net_now_ms();
            if (left <= 0) {
                err = ETIMEDOUT;
                break;
            }
            struct pollfd pf = {fd, POLLOUT, 0};
            int r = poll(&pf, 1, (int)left);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                err = r == 0 ? ETIMEDOUT : errno;
                break;
            }
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            break;
        }
    }
    close(fd);
    return err;
}

/*
 * host as a NUL-terminated lowercase C string in out ("[v6]" loses its brackets); 0 when it is
 * empty, longer than 255 bytes or holds a NUL. Shared with net_api (native code's policy check).
 */
X7_FN int x7_net_host_cstr(x7_view h, char out[256]) {
    if (h.len >= 2 && h.ptr[0] == '[' && h.ptr[h.len - 1] == ']') h = (x7_view){h.ptr + 1, h.len - 2};
    if (h.len == 0 || h.len >= 256 || memchr(h.ptr, 0, h.len) != NULL) return 0;
    for (uint32_t i = 0; i < h.len; i++) {
        uint8_t c = h.ptr[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[h.len] = 0;
    return 1;
}

#if X7_SB_CHECKS
/* The run policy for op: networking and TCP on, DNS for names, (host, port) listed. 0 or a code. */
X7_FN uint32_t x7_net_policy(const char *op, const char *host, int numeric, uint32_t port) {
    const char *rule = !x7_sb.pol.net.enabled        ? "net.enabled"
                       : !x7_sb.pol.net.allow_tcp    ? "net.allow_tcp"
                       : !numeric && !x7_sb.pol.net.allow_dns ? "net.allow_dns"
                       : !x7_sb_net_allowed(host, port) ? "net.allow_hosts"
                                                        : NULL;
    if (rule == NULL) return 0;
    char target[300];
    int n = snprintf(target, sizeof target, "%s:%u", host, (unsigned)port);
    x7_sb_deny(op, (const uint8_t *)target, n > 0 ? (size_t)n : 0, rule);
    return X7_NET_POLICY_DENIED;
}
#endif

X7_FN x7_res_i32 x7_os_net_tcp_connect_v1(x7_view host_v, uint32_t port) {
    char host[256];
    /* "[::1]" is accepted for an IPv6 literal */
    if (!x7_net_host_cstr(host_v, host) || port == 0 || port > 65535) return (x7_res_i32){0, X7_NET_INVALID_REQ};
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    int numeric = getaddrinfo(host, service, &hints, &res) == 0;
#if X7_SB_CHECKS
    uint32_t denied = x7_net_policy("os.net.tcp_connect_v1", host, numeric, port);
    if (denied) {
        if (res != NULL) freeaddrinfo(res);
        return (x7_res_i32){0, denied};
    }
#endif
    if (!numeric) {
        hints.ai_flags = AI_NUMERICSERV;
        int g = getaddrinfo(host, service, &hints, &res);
        if (g != 0) return (x7_res_i32){0, g == EAI_MEMORY || g == EAI_SYSTEM ? X7_NET_INTERNAL : X7_NET_DNS};
    }
    int64_t deadline = x7_net_now_ms() + X7_NET_CONNECT_TIMEOUT_MS;
    int err = ECONNREFUSED;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        err = x7_net_connect_one(ai, deadline);
        if (err == 0 || err == ETIMEDOUT) break;
    }
    freeaddrinfo(res);
    if (err == 0) return (x7_res_i32){1, 0};
    if (err == ETIMEDOUT) return (x7_res_i32){0, X7_NET_TIMEOUT};
    /* the kernel layer (Landlock, seccomp) refuses with EACCES / EPERM */
    if (err == EACCES || err == EPERM) return (x7_res_i32){0, X7_NET_POLICY_DENIED};
    if (err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS) return (x7_res_i32){0, X7_NET_INTERNAL};
    return (x7_res_i32){0, X7_NET_CONNECT};
}
