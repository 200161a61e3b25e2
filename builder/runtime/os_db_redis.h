/* x07-fragment: requires=core,vec,os_db,os_db_util */
/* x07-fragment-libs: hiredis */
/*
 * os_db_redis: `os.db.redis.open_v1 / cmd_v1 / close_v1`, answering the requests of the public
 * `std.db.redis` package the way its native driver does (docs/stdlib/os-db.md):
 *  - open "X7RO" | 1 | flags (0) | kind (1 tcp: host | u32 port; 2 unix: path) | user | pass |
 *    u32 db → ok payload u32 conn id;
 *  - cmd  "X7RQ" | 1 | flags | conn | u32 len | argv ("X7RV" | 1 | count | (u32 len | arg)*)
 *    → ok payload a doc holding the reply as a data-model value;
 *  - close "X7RX" | 1 | flags | conn (exactly 16 bytes) → ok, empty payload.
 * hiredis opens the connection (TCP or unix socket, within the connect timeout) and encodes every
 * command from its argv array (redisFormatCommandArgv), so no argument is ever parsed as command
 * text. The public driver speaks RESP3 (HELLO 3) and its replies are encoded from RESP3 types
 * (maps, sets, doubles, booleans, verbatim strings), which hiredis 0.14 — the Debian 12 library —
 * cannot parse; replies are therefore read by the RESP3 reader below, a transcription of the
 * public one (same depth limit, same handling of attributes, pushes and errors). Reads and writes
 * poll against one deadline per call; a command that runs out of time drops its connection.
 * Outside the sandbox the public driver's permissive limits apply (X7_RD_* below).
 */
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#define X7_RD_ERR_CONNECT 53552u
#define X7_RD_ERR_CMD 53553u
#define X7_RD_ERR_PROTOCOL 53554u
#define X7_RD_ERR_SERVER 53556u

/* Limits: os_db_util's X7_DBU_MAX_* (the public driver's X07_OS_DB_* defaults). */
/* Nesting the public reader accepts: the top value is read at depth 64, depth 0 is an error. */
#define X7_RD_DEPTH 64u
/* A reply line (simple string, number, length) longer than this is a protocol error. */
#define X7_RD_MAX_LINE (X7_DBU_MAX_RESP_BYTES + 64u)

typedef struct {
    int live;
    int fd;
    /* Bytes read and not consumed yet, kept between calls like the public driver's BufStream. */
    uint8_t *buf;
    uint32_t pos, len, cap;
} x7_rd_conn;

/* Slot i holds connection id i; the lowest free slot is taken, so ids come back after a close. */
static x7_rd_conn x7_rd_conns[X7_DBU_MAX_LIVE_CONNS + 1] X7_UNUSED;
/* cmd_v1 calls so far (the public driver counts every one, valid or not). */
static uint32_t x7_rd_queries X7_UNUSED;

/* The error answer with a message of explicit length (a server's error may hold any byte). */
X7_FN x7_bytes x7_rd_err(uint32_t op, uint32_t code, const uint8_t *msg, uint32_t n) {
    if (n > 4096) n = 4096; /* as x7_db_err */
    x7_vec v = x7_vec_u8_with_capacity(24 + n);
    v = x7_vec_append(v, (const uint8_t *)"X7DB", 4);
    v = x7_db_put_u32(v, 1);
    v = x7_db_put_u32(v, 0);
    v = x7_db_put_u32(v, op);
    v = x7_db_put_u32(v, code);
    v = x7_db_put_u32(v, n);
    v = x7_vec_append(v, n ? msg : (const uint8_t *)"", n);
    return x7_db_vec_bytes(v);
}

/* ------------------------------------------------------------------ one exchange */

typedef struct {
    x7_rd_conn *c;
    int64_t deadline;
    uint32_t timeout_code; /* the code of running out of time: connect (open) or cmd */
    int timed_out;
    uint32_t fail; /* a failed read or write: code and message; the exchange stops there */
    char msg[192];
    uint32_t conv; /* the first value the data model cannot hold (protocol / bad request) */
    /* the reply as a doc, in libc memory; past `limit` the bytes are dropped (too_large) */
    uint8_t *out;
    uint32_t len, cap, limit;
    int over;
    /* the message of an error reply at the top */
    uint8_t emsg[4096];
    uint32_t emsg_len;
} x7_rd_x;

X7_FN void x7_rd_put(x7_rd_x *x, const void *src, uint32_t n) {
    if (x->over || n == 0) return;
    if ((uint64_t)x->len + n > x->limit) {
        x->over = 1;
        return;
    }
    if (x->len + n > x->cap) {
        uint32_t cap = x->cap ? x->cap : 256;
        while (cap < x->len + n) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
        uint8_t *p = (uint8_t *)realloc(x->out, cap);
        if (!p) x7_trap("os.db.redis: out of memory", NULL);
        x->out = p, x->cap = cap;
    }
    memcpy(x->out + x->len, src, n);
    x->len += n;
}
X7_FN void x7_rd_u32(x7_rd_x *x, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    x7_rd_put(x, b, 4);
}
X7_FN void x7_rd_tag(x7_rd_x *x, uint8_t tag) { x7_rd_put(x, &tag, 1); }

/* An I/O failure worded like the public driver's (Rust's io::Error). */
X7_FN void x7_rd_os_fail(x7_rd_x *x, uint32_t code, int e) {
    x->fail = code;
    snprintf(x->msg, sizeof x->msg, "%s (os error %d)", strerror(e), e);
}
X7_FN void x7_rd_fail(x7_rd_x *x, uint32_t code, const char *msg) {
    x->fail = code;
    snprintf(x->msg, sizeof x->msg, "%s", msg);
}

/* Waits until fd is ready for `events` or the deadline passes (then records the timeout). */
X7_FN int x7_rd_poll(x7_rd_x *x, short events) {
    for (;;) {
        int64_t left = x->deadline - x7_dbu_now_ms();
        if (left <= 0) {
            x->timed_out = 1;
            x7_rd_fail(x, x->timeout_code, "timeout");
            return 0;
        }
        struct pollfd p = {x->c->fd, events, 0};
        int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) {
            x7_rd_os_fail(x, x->timeout_code, errno);
            return 0;
        }
    }
}

/* Reads more bytes into the connection's buffer: 1, 0 at end of stream, -1 on failure. */
X7_FN int x7_rd_fill(x7_rd_x *x) {
    x7_rd_conn *c = x->c;
    if (c->pos == c->len) c->pos = c->len = 0;
    if (c->cap - c->len < 4096 && c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos, c->pos = 0;
    }
    if (c->cap - c->len < 4096) {
        uint32_t cap = c->cap ? c->cap * 2 : 8192;
        uint8_t *p = (uint8_t *)realloc(c->buf, cap);
        if (!p) x7_trap("os.db.redis: out of memory", NULL);
        c->buf = p, c->cap = cap;
    }
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r > 0) {
            c->len += (uint32_t)r;
            return 1;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            x7_rd_os_fail(x, X7_RD_ERR_PROTOCOL, errno);
            return -1;
        }
        if (!x7_rd_poll(x, POLLIN)) return -1;
    }
}

/* n bytes (read_exact): to the doc when `emit`, into the error message when `to_msg`. */
X7_FN int x7_rd_exact(x7_rd_x *x, uint64_t n, int emit, int to_msg) {
    while (n > 0) {
        x7_rd_conn *c = x->c;
        if (c->pos == c->len) {
            int r = x7_rd_fill(x);
            if (r == 0) x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "failed to fill whole buffer");
            if (r <= 0) return 0;
        }
        uint32_t take = c->len - c->pos;
        if (take > n) take = (uint32_t)n;
        if (emit) x7_rd_put(x, c->buf + c->pos, take);
        if (to_msg) {
            uint32_t room = (uint32_t)sizeof x->emsg - x->emsg_len, k = take < room ? take : room;
            memcpy(x->emsg + x->emsg_len, c->buf + c->pos, k);
            x->emsg_len += k;
        }
        c->pos += take;
        n -= take;
    }
    return 1;
}

/* One line without its CRLF (read_until '\n', then the CRLF check); *line points into the
 * buffer until the next read. A line cut by the end of the stream fails the CRLF check. */
X7_FN int x7_rd_line(x7_rd_x *x, const uint8_t **line, uint32_t *n) {
    x7_rd_conn *c = x->c;
    uint32_t scanned = 0;
    for (;;) {
        uint8_t *nl = (uint8_t *)memchr(c->buf + c->pos + scanned, '\n', c->len - c->pos - scanned);
        if (nl) {
            uint32_t full = (uint32_t)(nl - (c->buf + c->pos)) + 1;
            const uint8_t *l = c->buf + c->pos;
            c->pos += full;
            if (full < 2 || l[full - 2] != '\r') break;
            *line = l;
            *n = full - 2;
            return 1;
        }
        scanned = c->len - c->pos;
        if (scanned > X7_RD_MAX_LINE) break;
        int r = x7_rd_fill(x);
        if (r < 0) return 0;
        if (r == 0) {
            c->pos = c->len;
            break;
        }
    }
    x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
    return 0;
}

/* A length or count line as Rust's i64 parse reads it: [+-]digits, no overflow. */
X7_FN int x7_rd_i64(x7_rd_x *x, int64_t *out) {
    const uint8_t *l;
    uint32_t n, i = 0;
    if (!x7_rd_line(x, &l, &n)) return 0;
    int neg = 0;
    if (n > 0 && (l[0] == '+' || l[0] == '-')) neg = l[0] == '-', i = 1;
    if (i == n) goto bad;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (l[i] < '0' || l[i] > '9') goto bad;
        uint64_t d = l[i] - '0';
        if (v > (lim - d) / 10) goto bad;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
bad:
    x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
    return 0;
}

/* How a value is read: written to the doc, written as a map key (u32 len | bytes), or skipped
 * (attributes, a reply nobody converts). */
enum { X7_RD_EMIT, X7_RD_KEY, X7_RD_SKIP };
enum { X7_RD_K_NULL, X7_RD_K_SCALAR, X7_RD_K_AGG, X7_RD_K_ERR };

X7_FN void x7_rd_conv(x7_rd_x *x, uint32_t code) {
    if (!x->conv) x->conv = code;
}

/* Sorting of set elements and map entries inside the doc: [off, off+len) is the element, the
 * bytes compared are [koff, koff+klen) (the whole element, or a map key). */
typedef struct {
    uint32_t off, len, koff, klen;
} x7_rd_seg;
static const uint8_t *x7_rd_sort_base X7_UNUSED;
X7_FN int x7_rd_seg_cmp(const void *a, const void *b) {
    const x7_rd_seg *s = (const x7_rd_seg *)a, *t = (const x7_rd_seg *)b;
    uint32_t n = s->klen < t->klen ? s->klen : t->klen;
    int r = memcmp(x7_rd_sort_base + s->koff, x7_rd_sort_base + t->koff, n);
    if (r) return r;
    return s->klen < t->klen ? -1 : s->klen > t->klen;
}

/* Element i starts at starts[i] and ends where the next starts (the last one at `end`). Sorts
 * them bytewise (by key for a map); a map with two equal keys is a bad request, as in the
 * public data model. */
X7_FN void x7_rd_sort(x7_rd_x *x, const uint32_t *starts, uint32_t k, uint32_t end, int is_map) {
    /* too large, or already an answer of its own: nothing to sort (a map key the model refused
     * was not written, so the entries could not even be told apart) */
    if (x->over || x->conv || k < 2) return;
    x7_rd_seg *s = (x7_rd_seg *)malloc(k * sizeof *s);
    uint8_t *tmp = (uint8_t *)malloc(end - starts[0]);
    if (!s || !tmp) x7_trap("os.db.redis: out of memory", NULL);
    for (uint32_t i = 0; i < k; i++) {
        s[i].off = starts[i];
        s[i].len = (i + 1 < k ? starts[i + 1] : end) - starts[i];
        if (is_map) {
            const uint8_t *p = x->out + starts[i];
            s[i].koff = starts[i] + 4;
            s[i].klen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        } else {
            s[i].koff = s[i].off, s[i].klen = s[i].len;
        }
    }
    x7_rd_sort_base = x->out;
    qsort(s, k, sizeof *s, x7_rd_seg_cmp);
    uint32_t w = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (is_map && i > 0 && x7_rd_seg_cmp(&s[i - 1], &s[i]) == 0) x7_rd_conv(x, X7_DB_ERR_BAD_REQ);
        memcpy(tmp + w, x->out + s[i].off, s[i].len);
        w += s[i].len;
    }
    memcpy(x->out + starts[0], tmp, w);
    free(s), free(tmp);
}

/*
 * Reads one RESP3 value the way the public reader does and converts it the way the public
 * driver does (`resp_to_dm_value`): + and $ and = strings (a verbatim string keeps its "txt:"),
 * : , ( numbers as sent, _ and negative lengths null, # bool, * sequence, ~ set (elements sorted),
 * % map (keys must be strings, numbers or bools), | attribute (skipped; the value after it
 * counts), - and ! errors (only at the top a reply; inside a value, like > and anything else,
 * data the model cannot hold). Returns the kind, or -1 once a read failed (x->fail).
 */
X7_FN int x7_rd_value(x7_rd_x *x, uint32_t depth, int mode, int top) {
    if (depth == 0) {
        x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
        return -1;
    }
    uint8_t pre;
    const uint8_t *l;
    uint32_t n;
    int64_t cnt;
    {
        x7_rd_conn *c = x->c;
        if (c->pos == c->len) {
            int r = x7_rd_fill(x);
            if (r == 0) x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "failed to fill whole buffer");
            if (r <= 0) return -1;
        }
        pre = c->buf[c->pos++];
    }
    switch (pre) {
    case '+': case ':': case ',': case '(': case '#': case '_':
        if (!x7_rd_line(x, &l, &n)) return -1;
        if (pre == '#') {
            if (n == 0 || (l[0] != 't' && l[0] != 'f')) {
                x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
                return -1;
            }
            if (mode == X7_RD_EMIT) {
                uint8_t b[2] = {1, l[0] == 't'};
                x7_rd_put(x, b, 2);
            } else if (mode == X7_RD_KEY) {
                x7_rd_u32(x, l[0] == 't' ? 4 : 5);
                x7_rd_put(x, l[0] == 't' ? "true" : "false", l[0] == 't' ? 4 : 5);
            }
            return X7_RD_K_SCALAR;
        }
        if (pre == '_') {
            if (mode == X7_RD_EMIT) x7_rd_tag(x, 0);
            if (mode == X7_RD_KEY) x7_rd_conv(x, X7_RD_ERR_PROTOCOL);
            return X7_RD_K_NULL;
        }
        if (mode == X7_RD_EMIT) x7_rd_tag(x, pre == '+' ? 3 : 2);
        if (mode != X7_RD_SKIP) {
            x7_rd_u32(x, n);
            x7_rd_put(x, l, n);
        }
        return X7_RD_K_SCALAR;
    case '-':
        if (!x7_rd_line(x, &l, &n)) return -1;
        if (top) {
            x->emsg_len = n < sizeof x->emsg ? n : (uint32_t)sizeof x->emsg;
            memcpy(x->emsg, l, x->emsg_len);
        } else if (mode != X7_RD_SKIP) {
            x7_rd_conv(x, X7_RD_ERR_PROTOCOL);
        }
        return X7_RD_K_ERR;
    case '$': case '=': case '!':
        if (!x7_rd_i64(x, &cnt)) return -1;
        if (cnt < 0) {
            if (pre == '!') {
                x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
                return -1;
            }
            if (mode == X7_RD_EMIT) x7_rd_tag(x, 0);
            if (mode == X7_RD_KEY) x7_rd_conv(x, X7_RD_ERR_PROTOCOL);
            return X7_RD_K_NULL;
        }
        if (pre == '!') {
            if (!top && mode != X7_RD_SKIP) x7_rd_conv(x, X7_RD_ERR_PROTOCOL);
            if (top) x->emsg_len = 0;
            if (!x7_rd_exact(x, (uint64_t)cnt, 0, top)) return -1;
        } else {
            if (mode == X7_RD_EMIT) x7_rd_tag(x, 3);
            if (mode != X7_RD_SKIP) x7_rd_u32(x, (uint32_t)cnt);
            if (!x7_rd_exact(x, (uint64_t)cnt, mode != X7_RD_SKIP, 0)) return -1;
        }
        {
            x7_rd_conn *c = x->c;
            uint8_t crlf[2];
            for (int i = 0; i < 2; i++) {
                if (c->pos == c->len) {
                    int r = x7_rd_fill(x);
                    if (r == 0) x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "failed to fill whole buffer");
                    if (r <= 0) return -1;
                }
                crlf[i] = c->buf[c->pos++];
            }
            if (crlf[0] != '\r' || crlf[1] != '\n') {
                x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
                return -1;
            }
        }
        return pre == '!' ? X7_RD_K_ERR : X7_RD_K_SCALAR;
    case '*': case '~': case '%': case '|': {
        if (!x7_rd_i64(x, &cnt)) return -1;
        if (cnt < 0) {
            if (mode == X7_RD_EMIT) x7_rd_tag(x, 0);
            if (mode == X7_RD_KEY) x7_rd_conv(x, X7_RD_ERR_PROTOCOL);
            return X7_RD_K_NULL;
        }
        if (pre == '|') { /* entries read and dropped; the value after them is the value */
            for (int64_t i = 0; i < cnt; i++)
                if (x7_rd_value(x, depth - 1, X7_RD_SKIP, 0) < 0 || x7_rd_value(x, depth - 1, X7_RD_SKIP, 0) < 0)
                    return -1;
            return x7_rd_value(x, depth - 1, mode, top);
        }
        int is_map = pre == '%', sorted = pre != '*';
        int child = mode == X7_RD_EMIT ? X7_RD_EMIT : X7_RD_SKIP;
        if (mode == X7_RD_KEY) x7_rd_conv(x, X7_RD_ERR_PROTOCOL);
        if (mode == X7_RD_EMIT) {
            x7_rd_tag(x, is_map ? 5 : 4);
            x7_rd_u32(x, (uint32_t)cnt);
        }
        uint32_t *starts = NULL, k = 0, kcap = 0;
        for (int64_t i = 0; i < cnt; i++) {
            if (sorted && child == X7_RD_EMIT && !x->over) {
                if (k == kcap) {
                    kcap = kcap ? kcap * 2 : 16;
                    starts = (uint32_t *)realloc(starts, kcap * sizeof *starts);
                    if (!starts) x7_trap("os.db.redis: out of memory", NULL);
                }
                starts[k++] = x->len;
            }
            if (is_map && x7_rd_value(x, depth - 1, child == X7_RD_EMIT ? X7_RD_KEY : X7_RD_SKIP, 0) < 0) {
                free(starts);
                return -1;
            }
            if (x7_rd_value(x, depth - 1, child, 0) < 0) {
                free(starts);
                return -1;
            }
        }
        if (sorted && child == X7_RD_EMIT && k == (uint64_t)cnt) x7_rd_sort(x, starts, k, x->len, is_map);
        free(starts);
        return X7_RD_K_AGG;
    }
    default: /* push (>) and unknown types: the public reader stops here */
        x7_rd_fail(x, X7_RD_ERR_PROTOCOL, "");
        return -1;
    }
}

/* Writes one command, encoded by hiredis from its argv array. */
X7_FN int x7_rd_send(x7_rd_x *x, int argc, const char **argv, const size_t *lens) {
    char *cmd = NULL;
    long long n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0 || !cmd) x7_trap("os.db.redis: out of memory", NULL);
    long long done = 0;
    while (done < n) {
        ssize_t w = write(x->c->fd, cmd + done, (size_t)(n - done));
        if (w > 0) {
            done += w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!x7_rd_poll(x, POLLOUT)) break;
            continue;
        }
        if (w == 0)
            x7_rd_fail(x, X7_RD_ERR_CMD, "failed to write whole buffer");
        else
            x7_rd_os_fail(x, X7_RD_ERR_CMD, errno);
        break;
    }
    redisFreeCommand(cmd);
    return done == n;
}

X7_FN void x7_rd_close(x7_rd_conn *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* One exchange of the connection handshake (AUTH, HELLO, SELECT): 1, or 0 with *err set (a
 * failed read or write, or the server's error reply). */
X7_FN int x7_rd_handshake(x7_rd_x *x, int argc, const char **argv, const size_t *lens, x7_bytes *err) {
    int kind = -1;
    if (x7_rd_send(x, argc, argv, lens)) kind = x7_rd_value(x, X7_RD_DEPTH, X7_RD_SKIP, 1);
    if (kind == -1)
        *err = x7_db_err(X7_DB_OP_OPEN, x->fail, x->msg);
    else if (kind == X7_RD_K_ERR)
        *err = x7_rd_err(X7_DB_OP_OPEN, X7_RD_ERR_SERVER, x->emsg, x->emsg_len);
    return kind != -1 && kind != X7_RD_K_ERR;
}

/* ------------------------------------------------------------------ the builtins */

X7_FN x7_bytes x7_os_db_redis_open_v1(x7_view req, x7_view caps_v) {
    const uint32_t op = X7_DB_OP_OPEN;
    const char *gate = X7_DB_GATE("os.db.redis", "redis");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    x7_db_caps caps;
    if (!x7_db_caps_parse(caps_v, &caps)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, flags, kind, port = 0, db, off = 16;
    x7_view addr, user, pass;
    if (req.len < 20 || memcmp(req.ptr, "X7RO", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1 ||
        !x7_db_u32(req, 8, &flags) || !x7_db_u32(req, 12, &kind) || (kind != 1 && kind != 2) ||
        !x7_db_field(req, &off, &addr))
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    if (kind == 1) {
        if (!x7_db_u32(req, off, &port) || port == 0 || port > 65535)
            return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
        off += 4;
    }
    if (!x7_db_field(req, &off, &user) || !x7_db_field(req, &off, &pass) || !x7_db_u32(req, off, &db) ||
        (uint64_t)off + 4 != req.len || flags != 0 || !x7_dbu_utf8(addr) ||
        (kind == 2 && addr.len && memchr(addr.ptr, 0, addr.len)))
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);

    int64_t deadline = x7_dbu_now_ms() + x7_dbu_effective(X7_DBU_LIM_CONNECT_TIMEOUT_MS, caps.connect_timeout_ms);
    char *a = x7_db_cstr(addr);
    if (!a) /* a host name with a NUL never reaches the resolver (Rust's std refuses it so) */
        return x7_db_err(op, X7_RD_ERR_CONNECT, "file name contained an unexpected NUL byte");
#if X7_SB_CHECKS
    /* the run policy: TCP to db.net's names, ranges and ports only (a unix socket is refused),
     * to the checked address; TLS, which hiredis 0.14 cannot do, refused rather than skipped */
    char sb_addr[64] = "";
    const char *why = kind == 2 ? x7_sb_db_net("os.db.redis.open_v1", "/", 0, sb_addr, sizeof sb_addr)
                                : x7_sb_db_net("os.db.redis.open_v1", a, port, sb_addr, sizeof sb_addr);
    if (why == NULL && x7_sb.pol.db.require_tls) {
        char target[300];
        snprintf(target, sizeof target, "%.255s:%u", a, port);
        why = x7_sb_db_refuse("os.db.redis.open_v1", target, "db.net.require_tls",
                              "db.net.require_tls is true, and this redis driver cannot use TLS (hiredis 0.14 "
                              "has none); set db.net.require_tls to false to allow plaintext");
    }
    if (why != NULL) {
        x7_free((uint8_t *)a);
        return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, why);
    }
    x7_free((uint8_t *)a);
    a = x7_db_cstr((x7_view){(const uint8_t *)sb_addr, (uint32_t)strlen(sb_addr)});
#endif
    int64_t left = deadline - x7_dbu_now_ms();
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
    redisContext *rc = kind == 1 ? redisConnectWithTimeout(a, (int)port, tv) : redisConnectUnixWithTimeout(a, tv);
    x7_free((uint8_t *)a);
    if (!rc) x7_trap("os.db.redis: out of memory", NULL);
    if (rc->err) {
        /* worded like the public driver's Rust I/O errors where hiredis kept the errno's text */
        char msg[256];
        int e = 0;
        for (int i = 1; i < 134 && !e; i++)
            if (strcmp(strerror(i), rc->errstr) == 0) e = i;
        if (x7_dbu_now_ms() >= deadline || e == ETIMEDOUT)
            snprintf(msg, sizeof msg, "timeout");
        else if (e)
            snprintf(msg, sizeof msg, "%s (os error %d)", rc->errstr, e);
        else if (rc->err == REDIS_ERR_OTHER && kind == 1)
            snprintf(msg, sizeof msg, "failed to lookup address information: %s", rc->errstr);
        else
            snprintf(msg, sizeof msg, "%s", rc->errstr);
        redisFree(rc);
        return x7_db_err(op, X7_RD_ERR_CONNECT, msg);
    }
    x7_rd_conn conn = {1, redisFreeKeepFd(rc), NULL, 0, 0, 0};
    fcntl(conn.fd, F_SETFL, fcntl(conn.fd, F_GETFL) | O_NONBLOCK);
    fcntl(conn.fd, F_SETFD, FD_CLOEXEC);
    x7_rd_x *x = (x7_rd_x *)calloc(1, sizeof *x);
    if (!x) x7_trap("os.db.redis: out of memory", NULL);
    x->c = &conn, x->deadline = deadline, x->timeout_code = X7_RD_ERR_CONNECT, x->limit = UINT32_MAX;
    x7_bytes out;
    int ok = 1;
    /*
     * AUTH goes before HELLO 3. The public driver sends HELLO first, which a server with a
     * password refuses (NOAUTH) whatever the credentials; in every other case both orders give
     * the same answers.
     */
    if (user.len || pass.len) {
        const char *av[3] = {"AUTH", (const char *)user.ptr, (const char *)pass.ptr};
        size_t al[3] = {4, user.len, pass.len};
        if (!user.len) av[1] = (const char *)pass.ptr, al[1] = pass.len;
        ok = x7_rd_handshake(x, user.len ? 3 : 2, av, al, &out);
    }
    if (ok) {
        const char *av[2] = {"HELLO", "3"};
        size_t al[2] = {5, 1};
        ok = x7_rd_handshake(x, 2, av, al, &out);
    }
    if (ok && db != 0) {
        char num[16];
        int n = snprintf(num, sizeof num, "%u", db);
        const char *av[2] = {"SELECT", num};
        size_t al[2] = {6, (size_t)n};
        ok = x7_rd_handshake(x, 2, av, al, &out);
    }
    uint32_t id = 0;
    for (uint32_t i = 1; ok && i <= X7_DBU_LIM_LIVE_CONNS && !id; i++)
        if (!x7_rd_conns[i].live) id = i;
    if (ok && !id) { /* the public driver connects first and then finds the table full */
        out = x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
        ok = 0;
    }
    if (ok) {
        x7_rd_conns[id] = conn;
        uint8_t pl[4] = {(uint8_t)id, 0, 0, 0};
        out = x7_db_ok(op, pl, 4);
    } else {
        x7_rd_close(&conn);
    }
    free(x->out);
    free(x);
    return out;
}

X7_FN x7_bytes x7_os_db_redis_cmd_v1(x7_view req, x7_view caps_v) {
    const uint32_t op = X7_DB_OP_QUERY;
    const char *gate = X7_DB_GATE("os.db.redis", "redis");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    if (x7_rd_queries >= X7_DBU_LIM_QUERIES) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, X7_DBU_LIMIT_MSG("db.max_queries"));
    x7_rd_queries++;
    x7_db_caps caps;
    if (!x7_db_caps_parse(caps_v, &caps)) return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    uint32_t ver, id, alen, count;
    if (req.len < 20 || memcmp(req.ptr, "X7RQ", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1 ||
        !x7_db_u32(req, 12, &id) || !x7_db_u32(req, 16, &alen) || (uint64_t)alen + 20 != req.len)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    if (alen > X7_DBU_LIM_SQL_BYTES) return x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    x7_view argv = {req.ptr + 20, alen};
    if (alen < 12 || memcmp(argv.ptr, "X7RV", 4) != 0 || !x7_db_u32(argv, 4, &ver) || ver != 1 ||
        !x7_db_u32(argv, 8, &count) || count > (alen - 12) / 4)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    const char **av = (const char **)malloc((count ? count : 1) * sizeof *av);
    size_t *al = (size_t *)malloc((count ? count : 1) * sizeof *al);
    if (!av || !al) x7_trap("os.db.redis: out of memory", NULL);
    uint32_t off = 12;
    for (uint32_t i = 0; i < count; i++) {
        x7_view f;
        if (!x7_db_field(argv, &off, &f)) {
            free(av), free(al);
            return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
        }
        av[i] = (const char *)f.ptr, al[i] = f.len;
    }
    x7_rd_conn *c = id >= 1 && id <= X7_DBU_MAX_LIVE_CONNS && x7_rd_conns[id].live ? &x7_rd_conns[id] : NULL;
    if (off != alen || !c) {
        free(av), free(al);
        return x7_db_err(op, off != alen ? X7_DB_ERR_BAD_REQ : X7_DB_ERR_BAD_CONN, NULL);
    }
    x7_rd_x *x = (x7_rd_x *)calloc(1, sizeof *x);
    if (!x) x7_trap("os.db.redis: out of memory", NULL);
    x->c = c, x->timeout_code = X7_RD_ERR_CMD;
    x->deadline = x7_dbu_now_ms() + x7_dbu_effective(X7_DBU_LIM_QUERY_TIMEOUT_MS, caps.query_timeout_ms);
    x->limit = x7_dbu_effective(X7_DBU_LIM_RESP_BYTES, caps.max_resp_bytes);
    x7_bytes out;
    int kind = -1;
    x7_rd_tag(x, 1); /* doc ok */
    if (x7_rd_send(x, (int)count, av, al)) kind = x7_rd_value(x, X7_RD_DEPTH, X7_RD_EMIT, 1);
    if (kind == -1)
        out = x7_db_err(op, x->fail, x->msg);
    else if (kind == X7_RD_K_ERR)
        out = x7_rd_err(op, X7_RD_ERR_SERVER, x->emsg, x->emsg_len);
    else if (x->conv)
        out = x7_db_err(op, x->conv, NULL);
    else if (x->over)
        out = x7_db_err(op, X7_DB_ERR_TOO_LARGE, NULL);
    else
        out = x7_db_ok(op, x->out, x->len);
    /* a command that ran out of time leaves the stream mid-reply: the public driver drops it */
    if (x->timed_out) x7_rd_close(c);
    free(x->out), free(x), free(av), free(al);
    return out;
}

X7_FN x7_bytes x7_os_db_redis_close_v1(x7_view req, x7_view caps) {
    (void)caps; /* close takes no caps in the public driver */
    const uint32_t op = X7_DB_OP_CLOSE;
    const char *gate = X7_DB_GATE("os.db.redis", "redis");
    if (gate != NULL) return x7_db_err(op, X7_DB_ERR_POLICY_DENIED, gate);
    uint32_t ver, id;
    if (req.len != 16 || memcmp(req.ptr, "X7RX", 4) != 0 || !x7_db_u32(req, 4, &ver) || ver != 1)
        return x7_db_err(op, X7_DB_ERR_BAD_REQ, NULL);
    x7_db_u32(req, 12, &id);
    if (id == 0 || id > X7_DBU_MAX_LIVE_CONNS || !x7_rd_conns[id].live) return x7_db_err(op, X7_DB_ERR_BAD_CONN, NULL);
    x7_rd_close(&x7_rd_conns[id]);
    return x7_db_ok(op, (const uint8_t *)"", 0);
}
