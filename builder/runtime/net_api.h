/* x07-fragment: requires=core,os_net */
/*
 * net_api: the network-policy C API for native package code (the C sources under a package's
 * ffi/ folder), e.g. the curl shim of ext-net. Native code cannot see the runtime's static
 * functions, so these three are the program's only global symbols besides `main`; the `ffi`
 * fragment requires this one, so every program that calls C gets them. A shim declares the
 * prototypes itself:
 *
 *   int x07_rt_net_sandboxed(void);
 *   int x07_rt_net_check(const char *host, unsigned host_len, unsigned port);
 *   int x07_rt_net_check_resolved(const char *host, unsigned host_len,
 *                                 const char *addr, unsigned addr_len, unsigned port);
 *
 * The checks answer 0 (go ahead) or a net error code of docs/stdlib/os-formats.md: 1 policy_denied
 * (the denial is recorded like any other), 2 invalid_req. In run-os they only validate.
 */
#include <arpa/inet.h>

int x07_rt_net_sandboxed(void);
int x07_rt_net_check(const char *host, unsigned host_len, unsigned port);
int x07_rt_net_check_resolved(const char *host, unsigned host_len, const char *addr, unsigned addr_len,
                              unsigned port);

/* The policy op named in denial records made through this API. */
#define X7_NET_API_OP "std.net.http"

/* 1 when this program was built for run-os-sandboxed (native code then refuses redirects). */
int x07_rt_net_sandboxed(void) {
#ifdef X07_SANDBOXED
    return 1;
#else
    return 0;
#endif
}

/* host (not NUL-terminated, "[v6]" accepted) as a lowercase C string, and whether it is an IP. */
X7_FN int x7_net_api_host(const char *p, unsigned n, char out[256], int *numeric) {
    if (p == NULL || !x7_net_host_cstr((x7_view){(const uint8_t *)p, n}, out)) return 0;
    unsigned char a[16];
    *numeric = inet_pton(AF_INET, out, a) == 1 || inet_pton(AF_INET6, out, a) == 1;
    return 1;
}

/*
 * May native code connect to (host, port)? Sandboxed: the same rules and denial record as
 * os.net.tcp_connect_v1 (net.enabled, net.allow_tcp, net.allow_dns for a name, net.allow_hosts).
 */
int x07_rt_net_check(const char *host, unsigned host_len, unsigned port) {
    char h[256];
    int numeric = 0;
    if (!x7_net_api_host(host, host_len, h, &numeric) || port == 0 || port > 65535) return (int)X7_NET_INVALID_REQ;
#if X7_SB_CHECKS
    return (int)x7_net_policy(X7_NET_API_OP, h, numeric, port);
#else
    (void)numeric;
    return 0;
#endif
}

#if X7_SB_CHECKS
/* Whether net.allow_hosts names any host by IP address. */
X7_FN int x7_net_api_policy_lists_ips(void) {
    unsigned char a[16];
    for (uint32_t i = 0; i < x7_sb.pol.net.nhosts; i++) {
        const char *s = x7_sb.pol.net.hosts[i].host.s;
        if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1) return 1;
    }
    return 0;
}
#endif

/*
 * host (already passed x07_rt_net_check) resolved to addr (an IP literal): may native code connect
 * to it? Sandboxed, when net.allow_hosts names IP addresses, an address a name resolves to must be
 * listed with the port too, so a name cannot lead past the addresses the policy author pinned; the
 * denial's target is `host:port=addr`. Otherwise the name's check stands.
 */
int x07_rt_net_check_resolved(const char *host, unsigned host_len, const char *addr, unsigned addr_len,
                              unsigned port) {
    char h[256], a[256];
    int host_numeric = 0, addr_numeric = 0;
    if (!x7_net_api_host(host, host_len, h, &host_numeric) || !x7_net_api_host(addr, addr_len, a, &addr_numeric) ||
        !addr_numeric || port == 0 || port > 65535)
        return (int)X7_NET_INVALID_REQ;
#if X7_SB_CHECKS
    if (host_numeric || !x7_net_api_policy_lists_ips() || x7_sb_net_allowed(a, port)) return 0;
    char target[600];
    int n = snprintf(target, sizeof target, "%s:%u=%s", h, port, a);
    x7_sb_deny(X7_NET_API_OP, (const uint8_t *)target, n > 0 ? (size_t)n : 0, "net.allow_hosts");
    return (int)X7_NET_POLICY_DENIED;
#else
    (void)host_numeric;
    return 0;
#endif
}
