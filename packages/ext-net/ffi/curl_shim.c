/*
 * ext-net: HTTP(S) over libcurl for std.net.http, called through x07's FFI.
 *
 *   uint8_t *x07_ext_net_http_request_v1(method, url, url_len, body, body_len, caps, caps_len)
 *   void     x07_ext_net_http_free_v1(buf)
 *
 * The request returns a malloc'd buffer: u32_le len, then the response doc of
 * docs/packages/ext-net.md (ok: 1, 2, status, headers, body; error: 0, code, 0), or NULL when
 * even that buffer cannot be allocated. Before anything is sent the run policy is asked through the
 * runtime's C API (builder/runtime/net_api.h): the URL's host and port, then every address the host
 * resolves to. The addresses are handed to curl with CURLOPT_RESOLVE and curl's own resolver is
 * refused, so what was checked is what is connected to. Sandboxed builds never follow redirects and
 * ignore proxy settings.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

/*
 * The runtime's network-policy API (builder/runtime/net_api.h). The runtime defines it whenever the
 * program calls C; a program that only imports these modules (and so never calls in here) carries
 * no such runtime, hence the weak references: it still links, and a call without them fails closed.
 */
__attribute__((weak)) int x07_rt_net_sandboxed(void);
__attribute__((weak)) int x07_rt_net_check(const char *host, unsigned host_len, unsigned port);
__attribute__((weak)) int x07_rt_net_check_resolved(const char *host, unsigned host_len, const char *addr,
                                                    unsigned addr_len, unsigned port);

uint8_t *x07_ext_net_http_request_v1(uint32_t method, const uint8_t *url, uint32_t url_len, const uint8_t *body,
                                     uint32_t body_len, const uint8_t *caps, uint32_t caps_len);
void x07_ext_net_http_free_v1(const uint8_t *buf);

/* Net error codes (std.net.err). */
enum {
    NET_POLICY_DENIED = 1,
    NET_INVALID_REQ = 2,
    NET_TIMEOUT = 3,
    NET_TOO_LARGE = 4,
    NET_DNS = 5,
    NET_CONNECT = 6,
    NET_TLS = 7,
    NET_INTERNAL = 8,
};

enum { METHOD_GET = 1, METHOD_POST = 2 };

/* HttpCapsV1: seven u32_le (std.net.http.spec.caps_v1). */
typedef struct {
    uint32_t version, follow_location, timeout_s, max_redirects, max_header_bytes, max_headers, max_body_bytes;
} http_caps;

#define CAPS_BYTES 28u
#define MAX_URL_BYTES 65536u

/* A growable byte buffer; `failed` sticks once an allocation failed. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buf;

static void buf_reserve(buf *b, size_t more) {
    if (b->failed || b->cap - b->len >= more) return;
    size_t want = b->cap ? b->cap : 256;
    while (want - b->len < more) {
        if (want > SIZE_MAX / 2) {
            b->failed = 1;
            return;
        }
        want *= 2;
    }
    uint8_t *p = realloc(b->p, want);
    if (p == NULL) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = want;
}

static void buf_put(buf *b, const void *src, size_t n) {
    buf_reserve(b, n);
    if (b->failed || n == 0) return;
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_u8(buf *b, uint8_t v) { buf_put(b, &v, 1); }

static void buf_u32(buf *b, uint32_t v) {
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_put(b, le, 4);
}

static void set_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The returned buffer for an error: u32 len = 9, then 0, code, 0. */
static uint8_t *err_result(uint32_t code) {
    uint8_t *out = malloc(4 + 9);
    if (out == NULL) return NULL;
    set_u32(out, 9);
    out[4] = 0;
    set_u32(out + 5, code);
    set_u32(out + 9, 0);
    return out;
}

/* ------------------------------------------------------------------ one transfer */

/* What the curl callbacks fill in. Headers are kept encoded as the doc wants them. */
typedef struct {
    const http_caps *caps;
    int sandboxed;
    int host_numeric;
    buf headers;             /* (u32 len, name, u32 len, value)* of the latest response */
    uint32_t header_count;   /* entries in headers */
    size_t header_bytes;     /* bytes of the latest response's header block */
    size_t last_value_at;    /* offset of the last value's length field, for folded lines */
    buf body;
    int too_large;           /* a cap of caps was exceeded (the callbacks stopped the transfer) */
} transfer;

static int is_ws(uint8_t c) { return c == ' ' || c == '\t'; }

/* One header line as curl delivers it (with its line end). */
static size_t on_header(char *data, size_t size, size_t nitems, void *userdata) {
    transfer *t = userdata;
    size_t n = size * nitems;
    const uint8_t *line = (const uint8_t *)data;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* a new response (interim, redirect or final): only the last one's headers are kept */
        t->headers.len = 0;
        t->header_count = 0;
        t->header_bytes = 0;
        t->last_value_at = SIZE_MAX;
    }
    t->header_bytes += n;
    if (t->header_bytes > t->caps->max_header_bytes) {
        t->too_large = 1;
        return 0;
    }
    size_t end = n;
    while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r')) end--;
    if (end == 0 || (n >= 5 && memcmp(line, "HTTP/", 5) == 0)) return n;
    if (is_ws(line[0])) {
        /* an obsolete folded continuation: joined to the previous value with one space */
        size_t start = 0;
        while (start < end && is_ws(line[start])) start++;
        if (t->last_value_at == SIZE_MAX || start == end) return n;
        buf_u8(&t->headers, ' ');
        buf_put(&t->headers, line + start, end - start);
        if (!t->headers.failed) {
            uint8_t *field = t->headers.p + t->last_value_at;
            set_u32(field, get_u32(field) + 1 + (uint32_t)(end - start));
        }
        return n;
    }
    const uint8_t *colon = memchr(line, ':', end);
    if (colon == NULL) return n; /* not a header field; ignored */
    if (t->header_count + 1 > t->caps->max_headers) {
        t->too_large = 1;
        return 0;
    }
    size_t name_len = (size_t)(colon - line);
    size_t vs = name_len + 1, ve = end;
    while (vs < ve && is_ws(line[vs])) vs++;
    while (ve > vs && is_ws(line[ve - 1])) ve--;
    buf_u32(&t->headers, (uint32_t)name_len);
    buf_put(&t->headers, line, name_len);
    t->last_value_at = t->headers.len;
    buf_u32(&t->headers, (uint32_t)(ve - vs));
    buf_put(&t->headers, line + vs, ve - vs);
    t->header_count++;
    return t->headers.failed ? 0 : n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
    transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->body.len + n > t->caps->max_body_bytes) {
        t->too_large = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    buf_put(&t->body, data, n);
    return t->body.failed ? CURL_WRITEFUNC_ERROR : n;
}

/* curl is about to resolve a name itself. Sandboxed, only IP literals may get here: a name was
   pinned with CURLOPT_RESOLVE, so a lookup would mean a name nobody checked. */
static int on_resolver_start(void *resolver_state, void *reserved, void *userdata) {
    (void)resolver_state;
    (void)reserved;
    const transfer *t = userdata;
    return t->sandboxed && !t->host_numeric;
}

/* A curl failure as a net error code. */
static uint32_t map_curl_error(CURLcode rc, CURL *h) {
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return NET_INVALID_REQ;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return NET_DNS;
    case CURLE_OPERATION_TIMEDOUT:
        return NET_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_TOO_MANY_REDIRECTS:
        return NET_TOO_LARGE;
    case CURLE_COULDNT_CONNECT: {
        /* the kernel layer (Landlock, seccomp) refuses with EACCES / EPERM */
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        return os_errno == EACCES || os_errno == EPERM ? NET_POLICY_DENIED : NET_CONNECT;
    }
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return NET_TLS;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return NET_CONNECT;
    default:
        return NET_INTERNAL;
    }
}

/* ------------------------------------------------------------------ the request */

/* The URL's parts the policy is asked about. */
typedef struct {
    CURLU *url;
    char *host; /* as curl parsed it; "[v6]" for an IPv6 literal */
    char name[256]; /* host without brackets and without one trailing dot */
    unsigned port;
    int numeric;
} target;

static void target_free(target *tg) {
    if (tg->host != NULL) curl_free(tg->host);
    if (tg->url != NULL) curl_url_cleanup(tg->url);
}

/* Parses an http(s) URL; 0 or a net error code. */
static uint32_t target_parse(target *tg, const uint8_t *url, uint32_t url_len) {
    if (url_len == 0 || url_len > MAX_URL_BYTES || memchr(url, 0, url_len) != NULL) return NET_INVALID_REQ;
    char *text = malloc((size_t)url_len + 1);
    if (text == NULL) return NET_INTERNAL;
    memcpy(text, url, url_len);
    text[url_len] = 0;
    tg->url = curl_url();
    if (tg->url == NULL) {
        free(text);
        return NET_INTERNAL;
    }
    CURLUcode uc = curl_url_set(tg->url, CURLUPART_URL, text, 0);
    free(text);
    if (uc == CURLUE_OUT_OF_MEMORY) return NET_INTERNAL;
    if (uc != CURLUE_OK) return NET_INVALID_REQ;
    char *scheme = NULL, *port = NULL, *zone = NULL;
    uint32_t code = 0;
    if (curl_url_get(tg->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
        curl_url_get(tg->url, CURLUPART_HOST, &tg->host, 0) != CURLUE_OK ||
        curl_url_get(tg->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(tg->url, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK)
        code = NET_INVALID_REQ;
    if (code == 0) {
        char *end = NULL;
        unsigned long p = strtoul(port, &end, 10);
        size_t n = strlen(tg->host);
        const char *h = tg->host;
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
            h++;
            n -= 2;
        } else if (n >= 2 && h[n - 1] == '.') {
            n--;
        }
        if (*end != 0 || p == 0 || p > 65535 || n == 0 || n >= sizeof tg->name) {
            code = NET_INVALID_REQ;
        } else {
            tg->port = (unsigned)p;
            for (size_t i = 0; i < n; i++) tg->name[i] = (char)tolower((unsigned char)h[i]);
            tg->name[n] = 0;
            unsigned char a[16];
            tg->numeric = inet_pton(AF_INET, tg->name, a) == 1 || inet_pton(AF_INET6, tg->name, a) == 1;
        }
    }
    curl_free(scheme);
    curl_free(port);
    curl_free(zone);
    return code;
}

/*
 * Resolves a name, asks the policy about every address, and pins the allowed ones for curl
 * ("host:port:addr,[v6addr],..." in *pins). 0 or a net error code (1 when the policy refused
 * every address).
 */
static uint32_t target_resolve(const target *tg, struct curl_slist **pins) {
    char service[8];
    snprintf(service, sizeof service, "%u", tg->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(tg->name, service, &hints, &res);
    if (g != 0) return g == EAI_MEMORY ? NET_INTERNAL : NET_DNS;
    buf addrs = {0};
    uint32_t code = 0;
    int refused = 0;
    for (const struct addrinfo *ai = res; ai != NULL && code == 0; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *raw = ai->ai_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
                          : ai->ai_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                                                      : NULL;
        if (raw == NULL || inet_ntop(ai->ai_family, raw, text, sizeof text) == NULL) continue;
        int c = x07_rt_net_check_resolved(tg->name, (unsigned)strlen(tg->name), text, (unsigned)strlen(text), tg->port);
        if (c == NET_POLICY_DENIED) {
            /* an address the policy does not list is left out (and recorded by the runtime) */
            refused = 1;
            continue;
        }
        if (c != 0) {
            code = (uint32_t)c;
            break;
        }
        if (addrs.len > 0) buf_u8(&addrs, ',');
        if (ai->ai_family == AF_INET6) buf_u8(&addrs, '[');
        buf_put(&addrs, text, strlen(text));
        if (ai->ai_family == AF_INET6) buf_u8(&addrs, ']');
    }
    freeaddrinfo(res);
    if (code == 0 && addrs.len == 0) code = refused ? NET_POLICY_DENIED : NET_DNS;
    buf_u8(&addrs, 0);
    if (code == 0 && addrs.failed) code = NET_INTERNAL;
    /* curl's cache key is the host as the URL spells it; pin the dot-less spelling as well */
    size_t host_len = strlen(tg->host);
    int dotted = host_len >= 2 && tg->host[host_len - 1] == '.';
    for (int i = 0; code == 0 && i <= dotted; i++) {
        size_t n = host_len - (size_t)i;
        size_t need = n + 16 + addrs.len;
        char *entry = malloc(need);
        if (entry == NULL) {
            code = NET_INTERNAL;
            break;
        }
        snprintf(entry, need, "%.*s:%u:%s", (int)n, tg->host, tg->port, (const char *)addrs.p);
        struct curl_slist *next = curl_slist_append(*pins, entry);
        free(entry);
        if (next == NULL) code = NET_INTERNAL;
        else *pins = next;
    }
    free(addrs.p);
    return code;
}

static uint32_t parse_caps(const uint8_t *p, uint32_t n, http_caps *c) {
    if (p == NULL || n < CAPS_BYTES) return NET_INVALID_REQ;
    uint32_t *fields[] = {&c->version,     &c->follow_location, &c->timeout_s,     &c->max_redirects,
                          &c->max_header_bytes, &c->max_headers, &c->max_body_bytes};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) *fields[i] = get_u32(p + 4 * i);
    if (c->version != 1 || c->timeout_s == 0) return NET_INVALID_REQ;
    return 0;
}

/* The ok result: u32 len, then 1, 2, status, header_count, headers, body_len, body. */
static uint8_t *ok_result(const transfer *t, uint32_t status) {
    size_t doc_len = 2 + 4 + 4 + t->headers.len + 4 + t->body.len;
    if (doc_len > UINT32_MAX - 4) return err_result(NET_TOO_LARGE);
    buf out = {0};
    buf_reserve(&out, 4 + doc_len);
    buf_u32(&out, (uint32_t)doc_len);
    buf_u8(&out, 1);
    buf_u8(&out, 2);
    buf_u32(&out, status);
    buf_u32(&out, t->header_count);
    buf_put(&out, t->headers.p, t->headers.len);
    buf_u32(&out, (uint32_t)t->body.len);
    buf_put(&out, t->body.p, t->body.len);
    if (out.failed) {
        free(out.p);
        return err_result(NET_INTERNAL);
    }
    return out.p;
}

static uint32_t configure(CURL *h, const target *tg, transfer *t, uint32_t method, const uint8_t *body,
                          uint32_t body_len, struct curl_slist *pins, struct curl_slist *req_headers) {
    const http_caps *c = t->caps;
    int follow = c->follow_location != 0 && !t->sandboxed;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                            \
    do {                                                         \
        if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); \
    } while (0)
    SET(CURLOPT_CURLU, tg->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, (long)c->max_redirects);
    SET(CURLOPT_TIMEOUT, (long)c->timeout_s);
    SET(CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
    if (c->max_body_bytes > 0) SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body_bytes);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_RESOLVER_START_FUNCTION, on_resolver_start);
    SET(CURLOPT_RESOLVER_START_DATA, t);
    SET(CURLOPT_USERAGENT, "x07-ext-net/0.1.0");
    if (pins != NULL) SET(CURLOPT_RESOLVE, pins);
    /* a proxy would be a connection nobody checked */
    if (t->sandboxed) SET(CURLOPT_PROXY, "");
    if (method == METHOD_POST) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SET(CURLOPT_POSTFIELDS, body_len > 0 ? (const char *)body : "");
        SET(CURLOPT_HTTPHEADER, req_headers);
    }
#undef SET
    return rc == CURLE_OK ? 0 : rc == CURLE_OUT_OF_MEMORY ? NET_INTERNAL : NET_INVALID_REQ;
}

uint8_t *x07_ext_net_http_request_v1(uint32_t method, const uint8_t *url, uint32_t url_len, const uint8_t *body,
                                     uint32_t body_len, const uint8_t *caps, uint32_t caps_len) {
    static int curl_ready;
    http_caps c;
    uint32_t code = parse_caps(caps, caps_len, &c);
    if (code == 0 && method != METHOD_GET && method != METHOD_POST) code = NET_INVALID_REQ;
    if (code == 0 && (x07_rt_net_sandboxed == NULL || x07_rt_net_check == NULL || x07_rt_net_check_resolved == NULL))
        code = NET_INTERNAL;
    if (code != 0) return err_result(code);
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return err_result(NET_INTERNAL);
        curl_ready = 1;
    }
    target tg;
    memset(&tg, 0, sizeof tg);
    transfer t;
    memset(&t, 0, sizeof t);
    t.caps = &c;
    t.sandboxed = x07_rt_net_sandboxed();
    t.last_value_at = SIZE_MAX;
    struct curl_slist *pins = NULL, *req_headers = NULL;
    CURL *h = NULL;
    code = target_parse(&tg, url, url_len);
    if (code == 0) code = (uint32_t)x07_rt_net_check(tg.name, (unsigned)strlen(tg.name), tg.port);
    t.host_numeric = tg.numeric;
    if (code == 0 && !tg.numeric) code = target_resolve(&tg, &pins);
    if (code == 0 && method == METHOD_POST) {
        /* raw bytes, and no `Expect: 100-continue` round trip */
        struct curl_slist *a = curl_slist_append(NULL, "Content-Type: application/octet-stream");
        struct curl_slist *b = a != NULL ? curl_slist_append(a, "Expect:") : NULL;
        if (b == NULL) {
            curl_slist_free_all(a);
            code = NET_INTERNAL;
        }
        req_headers = b;
    }
    if (code == 0 && (h = curl_easy_init()) == NULL) code = NET_INTERNAL;
    if (code == 0) code = configure(h, &tg, &t, method, body, body_len, pins, req_headers);
    uint8_t *out = NULL;
    if (code == 0) {
        CURLcode rc = curl_easy_perform(h);
        if (t.too_large) {
            code = NET_TOO_LARGE;
        } else if (t.headers.failed || t.body.failed) {
            code = NET_INTERNAL;
        } else if (rc != CURLE_OK) {
            code = map_curl_error(rc, h);
        } else {
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            out = ok_result(&t, (uint32_t)status);
        }
    }
    if (code != 0) out = err_result(code);
    if (h != NULL) curl_easy_cleanup(h);
    curl_slist_free_all(pins);
    curl_slist_free_all(req_headers);
    target_free(&tg);
    free(t.headers.p);
    free(t.body.p);
    return out;
}

void x07_ext_net_http_free_v1(const uint8_t *buf_ptr) { free((void *)(uintptr_t)buf_ptr); }
