/* x07-fragment: requires=core */
/*
 * rr: record/replay cassettes (`rr.*`, `std.rr.with_policy_v1`; docs/rr.md). A cassette is a file
 * `.x07_rr/<path>` under the working directory holding frames `u32 len | entry`, each entry a
 * data-model doc `01 | map{err: number, key, kind, op, req, resp: string, latency_ticks?: number}`
 * with keys in byte order. A handle is opened from a config
 * `"X7RC" | u16 1 | u16 0 | u8 mode | u8 match | u16 0 | u64 max_cassette_bytes | u32 max_entries |
 *  u32 max_req_bytes | u32 max_resp_bytes | u32 max_key_bytes | u32 path_len | path`
 * (the compiler builds it from the consumer's arch/rr policy). Replay looks entries up by
 * (kind, op, key), earliest unused first (lookup_v1), or consumes them in order (transcript_v1).
 * Errors are the public codes 2000..2014; a handle that is not open traps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define X7_RR_MODE_OFF 0u
#define X7_RR_MODE_RECORD 1u
#define X7_RR_MODE_REPLAY 2u
#define X7_RR_MODE_RECORD_MISSING 3u
#define X7_RR_MODE_REWRITE 4u
#define X7_RR_MATCH_LOOKUP 0u
#define X7_RR_MATCH_TRANSCRIPT 1u

#define X7_RR_ERR_CFG_INVALID 2000u
#define X7_RR_ERR_CFG_UNSUPPORTED 2001u
#define X7_RR_ERR_OPEN_FAILED 2002u
#define X7_RR_ERR_CASSETTE_BYTES 2003u
#define X7_RR_ERR_ENTRIES 2004u
#define X7_RR_ERR_REQ_BYTES 2005u
#define X7_RR_ERR_RESP_BYTES 2006u
#define X7_RR_ERR_KEY_BYTES 2007u
#define X7_RR_ERR_ENTRY_INVALID 2008u
#define X7_RR_ERR_MISS 2009u
#define X7_RR_ERR_KIND_MISMATCH 2010u
#define X7_RR_ERR_OP_MISMATCH 2011u
#define X7_RR_ERR_NO_REPLAY 2012u
#define X7_RR_ERR_NO_APPEND 2013u
#define X7_RR_ERR_TRUNCATED 2014u

/* Where one entry's fields are inside the cassette blob. */
typedef struct {
    uint32_t kind_off, kind_len, op_off, op_len, key_off, key_len;
    uint32_t payload_off, payload_len;
    uint32_t latency_ticks;
    uint8_t used;
} x7_rr_entry;

typedef struct {
    int alive;
    uint8_t mode, match;
    uint64_t max_cassette_bytes;
    uint32_t max_entries, max_req_bytes, max_resp_bytes, max_key_bytes;
    char *path;            /* ".x07_rr/<path>", NUL-terminated (x7_alloc) */
    x7_bytes blob;         /* the cassette as read at open (replay modes) */
    x7_rr_entry *entries;  /* into blob; appended entries are not replayable (blob unchanged) */
    uint32_t n_entries, cap_entries;
    uint32_t next_transcript;
    uint64_t file_bytes;
    int append_fd;
} x7_rr_handle;

static x7_rr_handle *x7_rr_handles X7_UNUSED;
static uint32_t x7_rr_n_handles X7_UNUSED, x7_rr_cap_handles X7_UNUSED;
/* The handle `std.rr.with_policy_v1` opened around the code now running (0: none). */
static int32_t x7_rr_current X7_UNUSED;

X7_FN uint32_t x7_rr_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* The end of the data-model value at `off`, or 0 when malformed (depth-limited). */
X7_FN uint32_t x7_rr_dm_skip(const uint8_t *p, uint32_t n, uint32_t off, uint32_t depth) {
    if (depth > 64 || off >= n) return 0;
    uint8_t tag = p[off];
    if (tag == 0) return off + 1;
    if (tag == 1) return n - off >= 2 ? off + 2 : 0;
    if (n - off < 5) return 0;
    uint32_t count = x7_rr_u32(p + off + 1), pos = off + 5;
    if (tag == 2 || tag == 3) return count <= n - pos ? pos + count : 0;
    if (tag != 4 && tag != 5) return 0;
    for (uint32_t i = 0; i < count; i++) {
        if (tag == 5) {
            if (n - pos < 4) return 0;
            uint32_t k = x7_rr_u32(p + pos);
            pos += 4;
            if (k > n - pos) return 0;
            pos += k;
        }
        pos = x7_rr_dm_skip(p, n, pos, depth + 1);
        if (pos == 0) return 0;
    }
    return pos;
}

/* The payload range of the string (tag 3) or number (tag 2) at `off`. */
X7_FN int x7_rr_dm_text(const uint8_t *p, uint32_t n, uint32_t off, uint8_t tag, uint32_t *start,
                        uint32_t *len) {
    if (off >= n || p[off] != tag || n - off < 5) return 0;
    uint32_t l = x7_rr_u32(p + off + 1);
    if (l > n - off - 5) return 0;
    *start = off + 5;
    *len = l;
    return 1;
}

/* Parses an entry doc at p[0..n) (offsets recorded relative to `base`); 0 or an error code. */
X7_FN uint32_t x7_rr_parse_entry(const x7_rr_handle *h, const uint8_t *p, uint32_t n, uint32_t base,
                                 x7_rr_entry *e) {
    memset(e, 0, sizeof *e);
    if (n < 6 || p[0] != 1 || p[1] != 5) return X7_RR_ERR_ENTRY_INVALID;
    uint32_t count = x7_rr_u32(p + 2), pos = 6;
    const uint8_t *prev = NULL;
    uint32_t prev_len = 0, seen = 0, s, l;
    for (uint32_t i = 0; i < count; i++) {
        if (n - pos < 4) return X7_RR_ERR_ENTRY_INVALID;
        uint32_t klen = x7_rr_u32(p + pos);
        pos += 4;
        if (klen > n - pos) return X7_RR_ERR_ENTRY_INVALID;
        const uint8_t *k = p + pos;
        if (prev) { /* keys strictly ascending, as the data model writes maps */
            uint32_t m = prev_len < klen ? prev_len : klen;
            int c = memcmp(prev, k, m);
            if (c > 0 || (c == 0 && prev_len >= klen)) return X7_RR_ERR_ENTRY_INVALID;
        }
        prev = k;
        prev_len = klen;
        pos += klen;
        uint32_t v = pos, end = x7_rr_dm_skip(p, n, v, 0);
        if (end == 0) return X7_RR_ERR_ENTRY_INVALID;
#define X7_RR_KEY(lit) (klen == sizeof(lit) - 1 && memcmp(k, lit, klen) == 0)
        if (X7_RR_KEY("kind") || X7_RR_KEY("op") || X7_RR_KEY("key") || X7_RR_KEY("req") ||
            X7_RR_KEY("resp")) {
            if (!x7_rr_dm_text(p, n, v, 3, &s, &l)) return X7_RR_ERR_ENTRY_INVALID;
            if (X7_RR_KEY("kind")) e->kind_off = base + s, e->kind_len = l, seen |= 1;
            if (X7_RR_KEY("op")) e->op_off = base + s, e->op_len = l, seen |= 2;
            if (X7_RR_KEY("key")) {
                if (l > h->max_key_bytes) return X7_RR_ERR_KEY_BYTES;
                e->key_off = base + s, e->key_len = l, seen |= 4;
            }
            if (X7_RR_KEY("req")) {
                if (l > h->max_req_bytes) return X7_RR_ERR_REQ_BYTES;
                seen |= 8;
            }
            if (X7_RR_KEY("resp")) {
                if (l > h->max_resp_bytes) return X7_RR_ERR_RESP_BYTES;
                seen |= 16;
            }
        } else if (X7_RR_KEY("err")) {
            if (!x7_rr_dm_text(p, n, v, 2, &s, &l)) return X7_RR_ERR_ENTRY_INVALID;
            seen |= 32;
        } else if (X7_RR_KEY("latency_ticks")) {
            if (!x7_rr_dm_text(p, n, v, 2, &s, &l) || l == 0) return X7_RR_ERR_ENTRY_INVALID;
            uint32_t acc = 0;
            for (uint32_t j = 0; j < l; j++) {
                uint8_t c = p[s + j];
                if (c < '0' || c > '9' || acc > (UINT32_MAX - (c - '0')) / 10)
                    return X7_RR_ERR_ENTRY_INVALID;
                acc = acc * 10 + (c - '0');
            }
            e->latency_ticks = acc;
        }
#undef X7_RR_KEY
        pos = end;
    }
    if (pos != n || seen != 63) return X7_RR_ERR_ENTRY_INVALID;
    return 0;
}

X7_FN void x7_rr_push_entry(x7_rr_handle *h, const x7_rr_entry *e) {
    if (h->n_entries == h->cap_entries) {
        uint32_t cap = h->cap_entries ? h->cap_entries * 2 : 8;
        h->entries = (x7_rr_entry *)x7_realloc(h->entries ? (uint8_t *)h->entries : x7_empty_buf,
                                               h->cap_entries * (uint32_t)sizeof(x7_rr_entry),
                                               cap * (uint32_t)sizeof(x7_rr_entry));
        h->cap_entries = cap;
    }
    h->entries[h->n_entries++] = *e;
}

/* The whole cassette file: 0, or an error code; *missing is set when it does not exist. */
X7_FN uint32_t x7_rr_load(x7_rr_handle *h, int *missing) {
    *missing = 0;
    int fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *missing = errno == ENOENT;
        return X7_RR_ERR_OPEN_FAILED;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return X7_RR_ERR_OPEN_FAILED;
    }
    if ((uint64_t)st.st_size > h->max_cassette_bytes) {
        close(fd);
        return X7_RR_ERR_CASSETTE_BYTES;
    }
    if ((uint64_t)st.st_size > 0x7fffffffu) {
        close(fd);
        return X7_RR_ERR_OPEN_FAILED;
    }
    uint32_t size = (uint32_t)st.st_size, got = 0;
    uint8_t *buf = size ? x7_alloc(size) : NULL;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (uint32_t)r;
    }
    close(fd);
    if (got != size) {
        if (buf) x7_free(buf);
        return X7_RR_ERR_OPEN_FAILED;
    }
    h->blob = size ? (x7_bytes){buf, size} : X7_EMPTY_BYTES;
    h->file_bytes = size;
    uint32_t pos = 0;
    while (pos != size) {
        if (size - pos < 4) return X7_RR_ERR_TRUNCATED;
        uint32_t len = x7_rr_u32(buf + pos);
        pos += 4;
        if (len > size - pos) return X7_RR_ERR_TRUNCATED;
        if (h->n_entries + 1 > h->max_entries) return X7_RR_ERR_ENTRIES;
        x7_rr_entry e;
        uint32_t err = x7_rr_parse_entry(h, buf + pos, len, pos, &e);
        if (err) return err;
        e.payload_off = pos;
        e.payload_len = len;
        x7_rr_push_entry(h, &e);
        pos += len;
    }
    return 0;
}

X7_FN void x7_rr_release(x7_rr_handle *h) {
    if (h->append_fd >= 0) close(h->append_fd);
    h->append_fd = -1;
    if (h->entries) x7_free((uint8_t *)h->entries);
    if (h->blob.len) x7_free(h->blob.ptr);
    if (h->path) x7_free((uint8_t *)h->path);
    h->entries = NULL;
    h->n_entries = h->cap_entries = 0;
    h->blob = X7_EMPTY_BYTES;
    h->path = NULL;
    h->alive = 0;
}

X7_FN x7_res_i32 x7_rr_open_v1(x7_view cfg) {
    x7_rr_calls[0]++;
    x7_res_i32 bad = {0u, X7_RR_ERR_CFG_INVALID};
    if (cfg.len < 40 || memcmp(cfg.ptr, "X7RC", 4) != 0) return bad;
    if ((cfg.ptr[4] | (cfg.ptr[5] << 8)) != 1) return (x7_res_i32){0u, X7_RR_ERR_CFG_UNSUPPORTED};
    uint8_t mode = cfg.ptr[8], match = cfg.ptr[9];
    if (mode > X7_RR_MODE_REWRITE || match > X7_RR_MATCH_TRANSCRIPT) return bad;
    uint32_t path_len = x7_rr_u32(cfg.ptr + 36);
    if (path_len != cfg.len - 40) return bad;
    x7_view path = {cfg.ptr + 40, path_len};
    /* a relative path that stays beneath .x07_rr/: no leading '/', no '.'/'..' or empty
     * segment, no NUL, no segment starting with ".x07_" */
    if (path.len == 0 || path.ptr[0] == '/') return bad;
    for (uint32_t i = 0, seg = 0; i <= path.len; i++) {
        if (i == path.len || path.ptr[i] == '/') {
            uint32_t n = i - seg;
            const uint8_t *sp = path.ptr + seg;
            if (n == 0 || (n == 1 && sp[0] == '.') || (n == 2 && sp[0] == '.' && sp[1] == '.') ||
                (n >= 5 && memcmp(sp, ".x07_", 5) == 0))
                return bad;
            seg = i + 1;
        } else if (path.ptr[i] == 0 || path.ptr[i] == '\\') {
            return bad;
        }
    }
    if (x7_rr_n_handles == x7_rr_cap_handles) {
        uint32_t cap = x7_rr_cap_handles ? x7_rr_cap_handles * 2 : 4;
        x7_rr_handles = (x7_rr_handle *)x7_realloc(
            x7_rr_handles ? (uint8_t *)x7_rr_handles : x7_empty_buf,
            x7_rr_cap_handles * (uint32_t)sizeof(x7_rr_handle),
            cap * (uint32_t)sizeof(x7_rr_handle));
        x7_rr_cap_handles = cap;
    }
    x7_rr_handle *h = &x7_rr_handles[x7_rr_n_handles];
    memset(h, 0, sizeof *h);
    h->append_fd = -1;
    h->mode = mode;
    h->match = match;
    h->max_cassette_bytes = (uint64_t)x7_rr_u32(cfg.ptr + 12) | ((uint64_t)x7_rr_u32(cfg.ptr + 16) << 32);
    h->max_entries = x7_rr_u32(cfg.ptr + 20);
    h->max_req_bytes = x7_rr_u32(cfg.ptr + 24);
    h->max_resp_bytes = x7_rr_u32(cfg.ptr + 28);
    h->max_key_bytes = x7_rr_u32(cfg.ptr + 32);
    h->path = (char *)x7_alloc(8 + path.len + 1);
    memcpy(h->path, ".x07_rr/", 8);
    memcpy(h->path + 8, path.ptr, path.len);
    h->path[8 + path.len] = 0;
    h->alive = 1;
    if (mode == X7_RR_MODE_REPLAY || mode == X7_RR_MODE_RECORD_MISSING) {
        int missing;
        uint32_t err = x7_rr_load(h, &missing);
        /* record_missing starts from an empty cassette when there is none yet */
        if (err && !(missing && mode == X7_RR_MODE_RECORD_MISSING)) {
            x7_rr_release(h);
            return (x7_res_i32){0u, err};
        }
    }
    x7_rr_n_handles++;
    return (x7_res_i32){1u, x7_rr_n_handles};
}

/* The open handle `id`, or a trap: a handle is the program's own value, a wrong one is a bug. */
X7_FN x7_rr_handle *x7_rr_get(int32_t id, const char *at) {
    if (id <= 0 || (uint32_t)id > x7_rr_n_handles || !x7_rr_handles[id - 1].alive)
        x7_trap("rr invalid handle", at);
    return &x7_rr_handles[id - 1];
}

X7_FN uint32_t x7_rr_close_v1(uint32_t id) {
    x7_rr_calls[1]++;
    int32_t i = (int32_t)id;
    if (i <= 0 || id > x7_rr_n_handles || !x7_rr_handles[i - 1].alive) return 0;
    x7_rr_release(&x7_rr_handles[i - 1]);
    if (x7_rr_current == i) x7_rr_current = 0;
    return 1;
}

X7_FN uint32_t x7_rr_current_v1(void) { return (uint32_t)x7_rr_current; }

X7_FN x7_bytes x7_rr_stats_v1(uint32_t id, const char *at) {
    x7_rr_calls[2]++;
    x7_rr_handle *h = x7_rr_get((int32_t)id, at);
    uint32_t used = 0;
    for (uint32_t i = 0; i < h->n_entries; i++) used += h->entries[i].used;
    char buf[192];
    int n = snprintf(buf, sizeof buf,
                     "{\"v\":1,\"mode\":%u,\"match_mode\":%u,\"cassettes\":1,\"entries\":%u,"
                     "\"used\":%u,\"bytes\":%u}",
                     (unsigned)h->mode, (unsigned)h->match, (unsigned)h->n_entries, (unsigned)used,
                     (unsigned)h->blob.len);
    uint8_t *out = x7_alloc((uint32_t)n);
    memcpy(out, buf, (size_t)n);
    return (x7_bytes){out, (uint32_t)n};
}

X7_FN int x7_rr_field_eq(const x7_rr_handle *h, uint32_t off, uint32_t len, x7_view v) {
    return len == v.len && (len == 0 || memcmp(h->blob.ptr + off, v.ptr, len) == 0);
}

X7_FN x7_res_bytes x7_rr_entry_copy(x7_rr_handle *h, x7_rr_entry *e) {
    uint8_t *p = e->payload_len ? x7_alloc(e->payload_len) : NULL;
    if (p) memcpy(p, h->blob.ptr + e->payload_off, e->payload_len);
    return (x7_res_bytes){1u, 0u, p ? (x7_bytes){p, e->payload_len} : X7_EMPTY_BYTES};
}

X7_FN x7_res_bytes x7_rr_next_v1(uint32_t id, x7_view kind, x7_view op, x7_view key, const char *at) {
    x7_rr_calls[3]++;
    x7_rr_handle *h = x7_rr_get((int32_t)id, at);
    if (h->mode != X7_RR_MODE_REPLAY && h->mode != X7_RR_MODE_RECORD_MISSING)
        return (x7_res_bytes){0u, X7_RR_ERR_NO_REPLAY, X7_EMPTY_BYTES};
    if (key.len > h->max_key_bytes) return (x7_res_bytes){0u, X7_RR_ERR_KEY_BYTES, X7_EMPTY_BYTES};
    if (h->match == X7_RR_MATCH_TRANSCRIPT) {
        if (h->next_transcript >= h->n_entries) {
            x7_rr_calls[4]++;
            return (x7_res_bytes){0u, X7_RR_ERR_MISS, X7_EMPTY_BYTES};
        }
        x7_rr_entry *e = &h->entries[h->next_transcript++];
        uint32_t err = !x7_rr_field_eq(h, e->kind_off, e->kind_len, kind) ? X7_RR_ERR_KIND_MISMATCH
                       : !x7_rr_field_eq(h, e->op_off, e->op_len, op)     ? X7_RR_ERR_OP_MISMATCH
                                                                          : 0;
        if (err) {
            x7_rr_calls[4]++;
            return (x7_res_bytes){0u, err, X7_EMPTY_BYTES};
        }
        return x7_rr_entry_copy(h, e);
    }
    for (uint32_t i = 0; i < h->n_entries; i++) {
        x7_rr_entry *e = &h->entries[i];
        if (e->used || !x7_rr_field_eq(h, e->kind_off, e->kind_len, kind) ||
            !x7_rr_field_eq(h, e->op_off, e->op_len, op) ||
            !x7_rr_field_eq(h, e->key_off, e->key_len, key))
            continue;
        e->used = 1;
        return x7_rr_entry_copy(h, e);
    }
    x7_rr_calls[4]++;
    return (x7_res_bytes){0u, X7_RR_ERR_MISS, X7_EMPTY_BYTES};
}

X7_FN x7_res_i32 x7_rr_append_v1(uint32_t id, x7_view entry, const char *at) {
    x7_rr_calls[5]++;
    x7_rr_handle *h = x7_rr_get((int32_t)id, at);
    if (h->mode != X7_RR_MODE_RECORD && h->mode != X7_RR_MODE_RECORD_MISSING &&
        h->mode != X7_RR_MODE_REWRITE)
        return (x7_res_i32){0u, X7_RR_ERR_NO_APPEND};
    x7_rr_entry e;
    uint32_t err = x7_rr_parse_entry(h, entry.ptr, entry.len, 0, &e);
    if (err) return (x7_res_i32){0u, err};
    if (h->mode == X7_RR_MODE_REWRITE && h->append_fd < 0) {
        h->n_entries = 0; /* rewrite starts the cassette over */
        h->file_bytes = 0;
    }
    if (h->n_entries + 1 > h->max_entries) return (x7_res_i32){0u, X7_RR_ERR_ENTRIES};
    uint64_t grown = h->file_bytes + 4 + entry.len;
    if (grown > h->max_cassette_bytes) return (x7_res_i32){0u, X7_RR_ERR_CASSETTE_BYTES};
    if (h->append_fd < 0) {
        /* recording creates .x07_rr/ and the cassette's directories (the path was checked to
         * stay beneath it at open) */
        for (char *c = h->path; *c; c++) {
            if (*c != '/') continue;
            *c = 0;
            (void)mkdir(h->path, 0755);
            *c = '/';
        }
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY;
        flags |= h->mode == X7_RR_MODE_REWRITE ? O_TRUNC : O_APPEND;
        h->append_fd = open(h->path, flags, 0644);
        if (h->append_fd < 0) return (x7_res_i32){0u, X7_RR_ERR_OPEN_FAILED};
        if (h->mode == X7_RR_MODE_REWRITE) h->mode = X7_RR_MODE_RECORD;
    }
    uint8_t hdr[4] = {(uint8_t)entry.len, (uint8_t)(entry.len >> 8), (uint8_t)(entry.len >> 16),
                      (uint8_t)(entry.len >> 24)};
    /* one frame, one write: a reader never sees a header without its entry */
    uint8_t *frame = x7_alloc(4 + entry.len);
    memcpy(frame, hdr, 4);
    if (entry.len) memcpy(frame + 4, entry.ptr, entry.len);
    uint32_t done = 0, total = 4 + entry.len;
    while (done < total) {
        ssize_t w = write(h->append_fd, frame + done, total - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (uint32_t)w;
    }
    x7_free(frame);
    if (done != total) return (x7_res_i32){0u, X7_RR_ERR_OPEN_FAILED};
    h->file_bytes = grown;
    /* the appended entry is counted but not replayable from this handle (offsets are into the
     * blob read at open), as in the public runtime */
    e.used = 1;
    x7_rr_push_entry(h, &e);
    return (x7_res_i32){1u, 0u};
}

/* The value of map key `name` in an entry doc (string or number range), or a trap. */
X7_FN void x7_rr_entry_field(x7_view entry, const char *name, uint8_t tag, uint32_t *s, uint32_t *l,
                             const char *what, const char *at) {
    const uint8_t *p = entry.ptr;
    uint32_t n = entry.len, nl = (uint32_t)strlen(name);
    if (n < 6 || p[0] != 1 || p[1] != 5) x7_trap(what, at);
    uint32_t count = x7_rr_u32(p + 2), pos = 6;
    for (uint32_t i = 0; i < count; i++) {
        if (n - pos < 4) x7_trap(what, at);
        uint32_t klen = x7_rr_u32(p + pos);
        pos += 4;
        if (klen > n - pos) x7_trap(what, at);
        const uint8_t *k = p + pos;
        pos += klen;
        uint32_t end = x7_rr_dm_skip(p, n, pos, 0);
        if (end == 0) x7_trap(what, at);
        if (klen == nl && memcmp(k, name, nl) == 0) {
            if (!x7_rr_dm_text(p, n, pos, tag, s, l)) x7_trap(what, at);
            return;
        }
        pos = end;
    }
    x7_trap(tag == 3 ? "rr.entry_resp_v1 missing resp" : "rr.entry_err_v1 missing err", at);
}

X7_FN x7_bytes x7_rr_entry_resp_v1(x7_view entry, const char *at) {
    uint32_t s, l;
    x7_rr_entry_field(entry, "resp", 3, &s, &l, "rr.entry_resp_v1 invalid entry", at);
    if (l == 0) return X7_EMPTY_BYTES;
    uint8_t *p = x7_alloc(l);
    memcpy(p, entry.ptr + s, l);
    return (x7_bytes){p, l};
}

X7_FN uint32_t x7_rr_entry_err_v1(x7_view entry, const char *at) {
    uint32_t s, l;
    x7_rr_entry_field(entry, "err", 2, &s, &l, "rr.entry_err_v1 invalid entry", at);
    const uint8_t *p = entry.ptr + s;
    int neg = l > 0 && p[0] == '-';
    uint32_t i = (uint32_t)neg;
    if (i == l) x7_trap("rr.entry_err_v1 invalid err", at);
    int64_t acc = 0;
    for (; i < l; i++) {
        if (p[i] < '0' || p[i] > '9') x7_trap("rr.entry_err_v1 invalid err", at);
        acc = acc * 10 + (p[i] - '0');
        if (acc > 2147483647) x7_trap("rr.entry_err_v1 invalid err", at);
    }
    return (uint32_t)(int32_t)(neg ? -acc : acc);
}

/* The end of a `std.rr.with_policy_v1` scope (normal or by return): close, restore current. */
X7_FN void x7_rr_scope_exit(int32_t handle, int32_t prev) {
    (void)x7_rr_close_v1((uint32_t)handle);
    x7_rr_current = prev;
}
