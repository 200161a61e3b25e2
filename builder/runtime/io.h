/* x07-fragment: requires=core */
/*
 * io: readers behind `iface` values ({data, vtable}). Vtable 1 reads an in-memory copy of some
 * bytes (io.open_read_bytes, fs.open_read); vtables 2..64 are registered by native code through
 * x07_rt_register_io_reader_vtable_v1 (a read and a drop function). Buffered readers
 * (bufread.*) are i32 handles over a reader with a buffer of fixed capacity: `fill` returns a
 * view of what is buffered (reading more only when it is empty), `consume` drops bytes from its
 * front. A reader's memory is given back when it reaches its end; buffered readers live until
 * the program exits.
 */

#define X7_IO_MEM_VTABLE 1u
#define X7_IO_VTABLES_MAX 64u
#define X7_IO_READERS_MAX 4096u
#define X7_BUFREAD_MAX 1024u

typedef struct {
    uint32_t (*read)(uint32_t data, uint8_t *dst, uint32_t cap);
    void (*drop)(uint32_t data);
} x7_io_vtable;

static x7_io_vtable x7_io_vtables[X7_IO_VTABLES_MAX + 1] X7_UNUSED;
static uint32_t x7_io_vtables_next X7_UNUSED = 2;

typedef struct { x7_bytes b; uint32_t pos, used; } x7_io_mem;
static x7_io_mem x7_io_mems[X7_IO_READERS_MAX] X7_UNUSED;
static uint32_t x7_io_mems_n X7_UNUSED;

typedef struct { x7_iface src; uint8_t *buf; uint32_t cap, start, end, eof; } x7_bufread;
static x7_bufread x7_bufreads[X7_BUFREAD_MAX] X7_UNUSED;
static uint32_t x7_bufreads_n X7_UNUSED;

/* The id of a reader vtable (the same pair gets the same id), or 0 when the table is full. */
uint32_t x07_rt_register_io_reader_vtable_v1(uint32_t (*read)(uint32_t, uint8_t *, uint32_t),
                                              void (*drop)(uint32_t)) {
    for (uint32_t i = 2; i < x7_io_vtables_next; i++)
        if (x7_io_vtables[i].read == read && x7_io_vtables[i].drop == drop) return i;
    if (read == NULL || x7_io_vtables_next > X7_IO_VTABLES_MAX) return 0;
    x7_io_vtables[x7_io_vtables_next] = (x7_io_vtable){read, drop};
    return x7_io_vtables_next++;
}

X7_INLINE x7_iface x7_iface_make_v1(uint32_t data, uint32_t vtable) { return (x7_iface){data, vtable}; }

/* A reader over its own copy of `v` (which the caller keeps). */
X7_FN x7_iface x7_io_open_read_bytes(x7_view v, const char *at) {
    if (x7_io_mems_n == X7_IO_READERS_MAX) x7_trap("io.open_read_bytes: too many readers", at);
    uint8_t *p = v.len ? x7_alloc(v.len) : x7_empty_buf;
    if (v.len) x7_memcpy(p, v.ptr, v.len);
    x7_io_mems[x7_io_mems_n] = (x7_io_mem){(x7_bytes){p, v.len}, 0, 1};
    return (x7_iface){x7_io_mems_n++, X7_IO_MEM_VTABLE};
}

/* Up to `cap` bytes of the reader into `dst`; 0 at its end. */
X7_FN uint32_t x7_io_read_into(x7_iface r, uint8_t *dst, uint32_t cap, const char *at) {
    if (r.vtable == X7_IO_MEM_VTABLE) {
        if (r.data >= x7_io_mems_n) x7_trap("io.read: not a reader", at);
        x7_io_mem *m = &x7_io_mems[r.data];
        uint32_t n = m->b.len - m->pos;
        if (n > cap) n = cap;
        if (n) x7_memcpy(dst, m->b.ptr + m->pos, n);
        m->pos += n;
        if (m->pos == m->b.len && m->used) {
            x7_free(m->b.ptr); /* at its end: the copy is no longer needed */
            m->b = X7_EMPTY_BYTES;
            m->pos = 0;
            m->used = 0;
        }
        return n;
    }
    if (r.vtable < 2 || r.vtable >= x7_io_vtables_next) x7_trap("io.read: not a reader", at);
    uint32_t n = x7_io_vtables[r.vtable].read(r.data, dst, cap);
    return n > cap ? cap : n;
}

/* At most `max` bytes (fewer near the end); empty at the end. */
X7_FN x7_bytes x7_io_read(x7_iface r, uint32_t max, const char *at) {
    if ((int32_t)max <= 0) return X7_EMPTY_BYTES;
    uint8_t *p = x7_alloc(max);
    uint32_t n = x7_io_read_into(r, p, max, at);
    if (n == 0) {
        x7_free(p);
        return X7_EMPTY_BYTES;
    }
    if (n < max) {
        uint8_t *q = x7_alloc(n);
        x7_memcpy(q, p, n);
        x7_free(p);
        p = q;
    }
    return (x7_bytes){p, n};
}

/* A buffered reader of capacity `cap` (at least 1) over `r`. */
X7_FN uint32_t x7_bufread_new(x7_iface r, uint32_t cap, const char *at) {
    if (x7_bufreads_n == X7_BUFREAD_MAX) x7_trap("bufread.new: too many buffered readers", at);
    if ((int32_t)cap <= 0) cap = 1;
    x7_bufreads[x7_bufreads_n] = (x7_bufread){r, x7_alloc(cap), cap, 0, 0, 0};
    return x7_bufreads_n++;
}

X7_FN x7_bufread *x7_bufread_get(uint32_t h, const char *at) {
    if (h >= x7_bufreads_n) x7_trap("bufread: not a buffered reader", at);
    return &x7_bufreads[h];
}

/* What is buffered; reads more only when nothing is (empty at the end). */
X7_FN x7_view x7_bufread_fill(uint32_t h, const char *at) {
    x7_bufread *b = x7_bufread_get(h, at);
    if (b->start == b->end && !b->eof) {
        b->start = b->end = 0;
        b->end = x7_io_read_into(b->src, b->buf, b->cap, at);
        if (b->end == 0) b->eof = 1;
    }
    return (x7_view){b->buf + b->start, b->end - b->start};
}

/* Drops `n` buffered bytes (at most what is buffered); the number dropped. */
X7_FN uint32_t x7_bufread_consume(uint32_t h, uint32_t n, const char *at) {
    x7_bufread *b = x7_bufread_get(h, at);
    uint32_t have = b->end - b->start;
    if ((int32_t)n < 0) n = 0;
    if (n > have) n = have;
    b->start += n;
    return n;
}
