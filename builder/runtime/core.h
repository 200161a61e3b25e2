/* x07-fragment: requires= */
/*
 * core: value types, traps, fuel, the arena allocator, run counters, the stats line and the
 * builtins every program may use. Always the first fragment of a translation unit, so it owns the
 * feature-test macro and the includes the other fragments rely on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>

#ifndef X07_FUEL_INIT
#define X07_FUEL_INIT 50000000ULL
#endif
#ifndef X07_MEM_CAP
#define X07_MEM_CAP (64ULL * 1024ULL * 1024ULL)
#endif

#define X7_UNUSED __attribute__((unused))
#define X7_LIKELY(x) __builtin_expect(!!(x), 1)
#define X7_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Out-of-line helpers: `unused` keeps -Wall quiet when a program does not call them. */
#define X7_FN static X7_UNUSED
#define X7_INLINE static inline
#define X7_COLD static X7_UNUSED __attribute__((noreturn, cold, noinline))
#define X7_NOINLINE static X7_UNUSED __attribute__((noinline))

typedef struct { uint8_t *ptr; uint32_t len; } x7_bytes;
typedef struct { const uint8_t *ptr; uint32_t len; } x7_view;
typedef struct { uint8_t *ptr; uint32_t len; uint32_t cap; } x7_vec;
typedef struct { uint32_t tag; uint32_t val; } x7_opt_i32;
typedef struct { uint32_t tag; x7_bytes val; } x7_opt_bytes;
typedef struct { uint32_t tag; x7_view val; } x7_opt_view;
typedef struct { uint32_t tag; uint32_t val; } x7_res_i32;
typedef struct { uint32_t tag; uint32_t err; x7_bytes val; } x7_res_bytes;
typedef struct { uint32_t tag; uint32_t err; x7_view val; } x7_res_view;
/* An `iface` value: a reader's data word and its vtable id (io.h). */
typedef struct { uint32_t data; uint32_t vtable; } x7_iface;

/* The shared buffer of every empty value; never freed and never written (length 0). */
static uint8_t x7_empty_buf[1] X7_UNUSED;
#define X7_EMPTY_BYTES ((x7_bytes){x7_empty_buf, 0})
#define X7_EMPTY_VEC ((x7_vec){x7_empty_buf, 0, 0})
#define X7_EMPTY_VIEW ((x7_view){x7_empty_buf, 0})

static x7_view x7_input X7_UNUSED = {x7_empty_buf, 0};
static uint64_t x7_fuel X7_UNUSED = X07_FUEL_INIT;
static uint64_t x7_fuel_init X7_UNUSED = X07_FUEL_INIT;
/* How many budget scopes with a fuel limit are open: fuel running out is then the scope's. */
static uint32_t x7_budget_fuel_depth X7_UNUSED;
static uint32_t x7_exit_code X7_UNUSED;

/* Counters reported on the stats line; the OS fragments bump them. */
static uint64_t x7_fs_read_file_calls X7_UNUSED;
static uint64_t x7_fs_list_dir_calls X7_UNUSED;
/* rr.*: open, close, stats, next, next misses, append */
static uint64_t x7_rr_calls[6] X7_UNUSED;

/* Defined by the emitted program. */
static x7_bytes x7_solve(void);

/* ---------------------------------------------------------------- sandbox hooks */

/*
 * World run-os-sandboxed (docs/internals/sandbox.md). The emitter defines X07_SANDBOXED and adds
 * every `sandbox_*` fragment; those come after the OS fragments in the translation unit, so the
 * policy types, the run state and the few functions the OS builtins call are declared here.
 * X7_SB_CHECKS guards the in-process checks, which the test-only switch compiles out.
 */
#if defined(X07_SANDBOXED) && !defined(X07_TEST_DISABLE_IN_PROCESS_CHECKS)
#define X7_SB_CHECKS 1
#else
#define X7_SB_CHECKS 0
#endif

#ifdef X07_SANDBOXED
#include <sys/types.h>

/* At most this many seccomp programs per policy, each at most BPF_MAXINSNS instructions. */
#define X7_SB_MAX_FILTERS 8u
#define X7_SB_MAX_FILTER_INSNS 4096u

/* A string from a policy: a NUL-terminated copy and its length. */
typedef struct { char *s; uint32_t n; } x7_pstr;
typedef struct { x7_pstr *v; uint32_t n; } x7_pstrs;
typedef struct { x7_pstr host; uint32_t *ports; uint32_t nports; } x7_phost;

/* A decoded PolicyBlobV1; field order and meaning as in the blob. */
typedef struct {
    uint32_t backend, accept_weaker;
    uint8_t digest[32];
    uint32_t cpu_ms, wall_ms;
    uint64_t mem_bytes;
    uint32_t fds, procs, core_dumps;
    struct {
        uint32_t enabled, deny_hidden, allow_symlinks, allow_mkdir, allow_remove, allow_rename,
            allow_walk, allow_glob, max_read_bytes, max_write_bytes, max_entries, max_depth;
        x7_pstrs read_roots, write_roots;
    } fs;
    struct {
        uint32_t enabled, allow_dns, allow_tcp, allow_udp;
        x7_phost *hosts;
        uint32_t nhosts;
    } net;
    struct {
        uint32_t enabled;
        x7_pstrs allow_keys, deny_keys;
    } env;
    struct {
        uint32_t enabled, allow_monotonic, allow_wall_clock, allow_sleep, max_sleep_ms,
            allow_local_tzid;
    } time;
    struct {
        uint32_t enabled, allow_spawn, allow_exec, allow_exit, max_live, max_spawns,
            max_runtime_ms;
        x7_pstrs allow_execs, allow_exec_prefixes, allow_args_regex_lite, allow_env_keys;
        uint32_t max_exe_bytes, max_args, max_arg_bytes, max_env, max_env_key_bytes,
            max_env_val_bytes, max_stdout_bytes, max_stderr_bytes, max_total_bytes,
            max_stdin_bytes, kill_on_drop, kill_tree, allow_cwd;
        x7_pstrs allow_cwd_roots;
    } proc;
    /* db: drivers, limits (never 0 = "default": the encoder resolved them), SQLite files, network */
    struct {
        uint32_t enabled, sqlite, postgres, mysql, redis;
        uint32_t max_live_conns, max_queries, connect_timeout_ms, query_timeout_ms, max_sql_bytes,
            max_rows, max_resp_bytes;
        uint32_t readonly_only, allow_create, allow_in_memory;
        x7_pstrs sqlite_paths, allow_dns, allow_cidrs;
        uint32_t *ports;
        uint32_t nports, require_tls, require_verify;
    } db;
    /* seccomp programs (struct sock_filter arrays) the launcher installs in this order */
    struct {
        uint32_t n;
        struct { uint8_t *insns; uint32_t count; } v[X7_SB_MAX_FILTERS];
    } filters;
} x7_policy;

/* Whether the network drivers are on: the kernel layer then opens the db.net ports (and the
 * name-service files) even with net.enabled false. */
#define X7_SB_DB_NET_ON(pol) ((pol)->db.enabled && ((pol)->db.postgres || (pol)->db.mysql || (pol)->db.redis))
/* Whether anything may use the network: general networking or a network database driver. */
#define X7_SB_NET_ON(pol) ((pol)->net.enabled || X7_SB_DB_NET_ON(pol))

#define X7_SB_BACKEND_NONE 0u
#define X7_SB_BACKEND_OS 1u

/* An fs root opened at start-up; fd < 0 when it did not exist (unreachable). */
typedef struct { const char *path; uint32_t len; int fd; int write; } x7_sb_root;

#define X7_SB_MAX_CHILDREN 64

/* Everything the sandbox knows during a run. */
typedef struct {
    x7_policy pol;
    int handed_fd;           /* --x07-policy-fd=N, or -1 */
    const char *handed_path; /* --x07-policy-file=PATH, or NULL */
    uint32_t handed_count;   /* how many policy arguments were given (more than one: refused) */
    char *cwd;               /* absolute, from getcwd at start-up */
    uint32_t cwd_len;
    char *search_path;       /* PATH at start-up, for resolving argv[0] of children */
    x7_sb_root *roots;
    uint32_t nroots;
    int child_blob_fd;       /* sealed memfd with the effective policy, handed to children as fd 3 */
    uint32_t spawns;         /* children started so far */
    uint32_t denials, dropped;
    int at_exit_done;
    const char *launch_program; /* in the launcher: the program it execs (Landlock grants it) */
    const char *launch_payload; /* in a sealed launcher: /proc/self/fd/N of the payload (its interpreter is granted) */
    pid_t children[X7_SB_MAX_CHILDREN]; /* process groups of children, for the wall-clock kill */
} x7_sb_state;

static x7_sb_state x7_sb X7_UNUSED = {.handed_fd = -1, .child_blob_fd = -1};

/* Defined in the sandbox_* fragments. */
static void x7_sandbox_start(void);
static void x7_sandbox_at_exit(void);
static void x7_sb_deny(const char *op, const uint8_t *target, size_t n, const char *rule);
static int x7_sb_beneath(const char *root, size_t rlen, const char *path, size_t plen);
static int x7_sb_has(const x7_pstrs *list, const uint8_t *s, size_t n);
static int x7_sb_find_root(const char *abs, size_t len, int write, size_t *root_len);
static int x7_sb_args_match(const x7_pstrs *patterns, const char *arg);
static int x7_sb_net_allowed(const char *host, uint32_t port);
static void x7_sb_track_child(pid_t pgid);
/* os.db checks (sandbox_db.h): NULL when allowed, else the refusal's message (the denial is
 * recorded). `driver` is sqlite, postgres, mysql or redis. */
static const char *x7_sb_db_driver(const char *op, const char *driver);
static const char *x7_sb_db_sqlite_open(const char *op, const uint8_t *path, uint32_t n, uint32_t flags);
static const char *x7_sb_db_net(const char *op, const char *host, uint32_t port, char *addr_out, size_t addr_cap);
static uint32_t x7_sb_db_limit(uint32_t which, uint32_t dflt);
static const char *x7_sb_db_refuse(const char *op, const char *target, const char *rule, const char *why);
static uint32_t x7_sb_proc_admit(const char *op, char *const *argv, char *const *envp, const char *cwd,
                                 size_t stdin_len, uint32_t live, uint32_t *max_out, uint32_t *max_err,
                                 uint32_t *timeout, int *exe_fd, int *cwd_fd);
static int x7_sb_proc_exec(pid_t *pid, char *const *argv, char *const *envp, int in0, int out1,
                           int err1, int exe_fd, int cwd_fd);
#endif

/* ---------------------------------------------------------------- messages and traps */

/* Parses a whole decimal u64; 0 or -1. */
X7_FN int x7_parse_u64(const char *s, uint64_t *out) {
    uint64_t x = 0;
    if (*s == 0) return -1;
    for (; *s; s++) {
        uint32_t d = (uint32_t)(uint8_t)*s - '0';
        if (d > 9 || x > (UINT64_MAX - d) / 10) return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* A fixed stack buffer for one diagnostic line: traps must not allocate. */
typedef struct { char buf[1024]; size_t len; } x7_msg;

X7_INLINE void x7_msg_raw(x7_msg *m, const char *s, size_t n) {
    size_t room = sizeof m->buf - 1 - m->len; /* one byte stays free for the newline */
    if (n > room) n = room;
    memcpy(m->buf + m->len, s, n);
    m->len += n;
}

X7_INLINE void x7_msg_str(x7_msg *m, const char *s) { x7_msg_raw(m, s, strlen(s)); }

/* Appends program data, escaping control bytes so a trap stays one line. */
X7_FN void x7_msg_data(x7_msg *m, const uint8_t *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 0x20 && c != 0x7f && c != '\\') {
            char ch = (char)c;
            x7_msg_raw(m, &ch, 1);
        } else {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            x7_msg_raw(m, esc, 4);
        }
    }
}

X7_FN void x7_msg_u64(x7_msg *m, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do { tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
    x7_msg_raw(m, tmp + sizeof tmp - n, n);
}

/* Writes all of p to fd, retrying on EINTR and short writes; 0 or -1. */
X7_FN int x7_write_fd(int fd, const void *p, size_t n) {
    const uint8_t *c = (const uint8_t *)p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes "msg[ ptr=at]\n" to stderr in one write, then dies with SIGILL (a bundle: exits 70). */
X7_COLD void x7_trap(const char *msg, const char *at) {
#ifdef X07_SANDBOXED
    x7_sandbox_at_exit(); /* the dropped-denials line comes before the trap line */
#endif
    x7_msg m;
    m.len = 0;
#ifdef X07_BUNDLE_NAME
    x7_msg_str(&m, X07_BUNDLE_NAME ": trap: ");
#endif
    x7_msg_str(&m, msg);
    if (at != NULL) {
        x7_msg_str(&m, " ptr=");
        x7_msg_str(&m, at);
    }
    m.buf[m.len++] = '\n';
    (void)x7_write_fd(2, m.buf, m.len);
#ifdef X07_TRAP_EXIT_CODE
    _exit(X07_TRAP_EXIT_CODE); /* a bundle: one documented exit code, no core dump */
#else
    __builtin_trap();
#endif
}

/* Charges one unit of fuel (per user-function call and per loop iteration). */
#define X7_FUEL(at)                                                                        \
    do {                                                                                   \
        if (X7_UNLIKELY(x7_fuel == 0))                                                     \
            x7_trap(x7_budget_fuel_depth ? "X07T_BUDGET_EXCEEDED_FUEL" : "fuel exhausted", (at)); \
        x7_fuel--;                                                                         \
    } while (0)

/* ---------------------------------------------------------------- the arena allocator */

/*
 * A binary buddy allocator over one mmap'd arena. Every block (free or used) starts with this
 * 16-byte header; blocks are 2^order bytes, order 5 (32 bytes) .. X7_BLK_MAX_ORDER, aligned to
 * their size relative to the arena base. Free lists are doubly linked through the headers (links
 * are 1 + offset/32, 0 = none), so the allocator never writes into a free block's payload.
 * For a used block `req` is the requested size and `next` the dirty prefix it was taken with;
 * for a free block `req` is its dirty prefix: payload bytes at or after it are known to be zero
 * (fresh pages stay zero; a freed block is dirty up to the larger of its requested size and the
 * prefix it was taken with), so x7_alloc_zeroed clears only what was used before.
 */
typedef struct { uint32_t req; uint32_t info; uint32_t next; uint32_t prev; } x7_blk;

#define X7_BLK_MIN_ORDER 5u
#define X7_BLK_MAX_ORDER 36u
#define X7_BLK_ORDER_MASK 0xffu
#define X7_BLK_FREE 0x100u
#define X7_BLK_MAGIC 0x7a070000u
#define X7_BLK_MAGIC_MASK 0xffff0000u
/* The largest arena the 32-bit block links can address (64 GiB). */
#define X7_ARENA_MAX (1ULL << X7_BLK_MAX_ORDER)

typedef struct {
    uint64_t alloc_calls, realloc_calls, free_calls, bytes_alloc_total, bytes_freed_total;
    uint64_t live_bytes, peak_live_bytes, live_allocs, peak_live_allocs, memcpy_bytes;
} x7_mem_stats_t;

static x7_mem_stats_t x7_mem X7_UNUSED;
/* Live and peak requested bytes including the input; never reset (reported as heap_used). */
static uint64_t x7_heap_live X7_UNUSED;
static uint64_t x7_heap_peak X7_UNUSED;
static uint8_t *x7_heap_base X7_UNUSED;
static uint64_t x7_heap_size X7_UNUSED;
static uint64_t x7_heap_cap X7_UNUSED = X07_MEM_CAP;
static uint32_t x7_free_head[X7_BLK_MAX_ORDER + 1] X7_UNUSED;

X7_INLINE x7_blk *x7_blk_at(uint64_t off) { return (x7_blk *)(void *)(x7_heap_base + off); }
X7_INLINE uint32_t x7_blk_link(uint64_t off) { return (uint32_t)(off >> 5) + 1u; }
X7_INLINE uint64_t x7_blk_unlink(uint32_t link) { return (uint64_t)(link - 1u) << 5; }
/* Dirty prefixes saturate: UINT32_MAX means "treat the whole payload as dirty". */
X7_INLINE uint32_t x7_dirty_sat(uint64_t d) { return d >= UINT32_MAX ? UINT32_MAX : (uint32_t)d; }

X7_FN void x7_blk_push(uint32_t order, uint64_t off, uint32_t dirty) {
    x7_blk *b = x7_blk_at(off);
    uint32_t head = x7_free_head[order];
    b->req = dirty;
    b->info = X7_BLK_MAGIC | X7_BLK_FREE | order;
    b->prev = 0;
    b->next = head;
    if (head != 0) x7_blk_at(x7_blk_unlink(head))->prev = x7_blk_link(off);
    x7_free_head[order] = x7_blk_link(off);
}

X7_FN void x7_blk_remove(uint32_t order, x7_blk *b) {
    if (b->prev != 0) x7_blk_at(x7_blk_unlink(b->prev))->next = b->next;
    else x7_free_head[order] = b->next;
    if (b->next != 0) x7_blk_at(x7_blk_unlink(b->next))->prev = b->prev;
    b->next = b->prev = 0;
}

/* Maps the arena and splits it into maximal aligned power-of-two blocks; 0 or -1. */
X7_FN int x7_heap_init(uint64_t cap) {
    x7_heap_cap = cap;
    uint64_t size = cap & ~(uint64_t)31;
    if (size > X7_ARENA_MAX) return -1;
    if (size == 0) return 0;
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return -1;
    x7_heap_base = (uint8_t *)p;
    x7_heap_size = size;
    uint64_t off = 0;
    while (size - off >= 32) {
        uint32_t order = 63u - (uint32_t)__builtin_clzll(size - off);
        x7_blk_push(order, off, 0);
        off += 1ULL << order;
    }
    return 0;
}

X7_COLD void x7_alloc_fail(void) {
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "allocator.alloc failed: memory limit of ");
    x7_msg_u64(&m, x7_heap_cap);
    x7_msg_str(&m, " bytes exceeded");
    m.buf[m.len] = 0;
    x7_trap(m.buf, NULL);
}

/* Takes a block for n > 0 bytes (no counters); *dirty gets the payload's dirty prefix. */
X7_FN uint8_t *x7_blk_take(uint32_t n, uint32_t *dirty) {
    uint64_t need = (uint64_t)n + sizeof(x7_blk);
    uint32_t order = need <= 32 ? X7_BLK_MIN_ORDER : 64u - (uint32_t)__builtin_clzll(need - 1);
    uint32_t k = order;
    while (k <= X7_BLK_MAX_ORDER && x7_free_head[k] == 0) k++;
    if (X7_UNLIKELY(k > X7_BLK_MAX_ORDER)) x7_alloc_fail();
    uint64_t off = x7_blk_unlink(x7_free_head[k]);
    x7_blk *b = x7_blk_at(off);
    x7_blk_remove(k, b);
    uint64_t d = b->req == UINT32_MAX ? UINT64_MAX : b->req;
    while (k > order) {
        k--;
        uint64_t half = 1ULL << k;
        /* the upper half's payload starts `half` bytes into this block's payload */
        x7_blk_push(k, off + half, d > half ? x7_dirty_sat(d == UINT64_MAX ? d : d - half) : 0);
        if (d > half - sizeof(x7_blk)) d = half - sizeof(x7_blk);
    }
    b->req = n;
    b->info = X7_BLK_MAGIC | order;
    /* a used block keeps its old dirty prefix in `next`: bytes past n may still be dirty */
    b->next = x7_dirty_sat(d);
    b->prev = 0;
    *dirty = x7_dirty_sat(d);
    return (uint8_t *)(b + 1);
}

X7_COLD void x7_free_invalid(void) { x7_trap("allocator.free invalid pointer", NULL); }

/* Returns a used block to the free lists, merging with free buddies; gives its requested size. */
X7_FN uint32_t x7_blk_give(uint8_t *p) {
    x7_blk *b = (x7_blk *)(void *)p - 1;
    uint64_t off = (uint64_t)((uint8_t *)b - x7_heap_base);
    if (X7_UNLIKELY((uint8_t *)b < x7_heap_base || off >= x7_heap_size || (off & 31) != 0 ||
                    (b->info & (X7_BLK_MAGIC_MASK | X7_BLK_FREE)) != X7_BLK_MAGIC))
        x7_free_invalid();
    uint32_t req = b->req;
    uint32_t k = b->info & X7_BLK_ORDER_MASK;
    /* the program may have written its whole requested size */
    uint64_t d = b->next == UINT32_MAX ? UINT64_MAX : (b->next > req ? b->next : req);
    while (k < X7_BLK_MAX_ORDER) {
        uint64_t size = 1ULL << k;
        uint64_t boff = off ^ size;
        if (boff + size > x7_heap_size) break;
        x7_blk *bb = x7_blk_at(boff);
        if (bb->info != (X7_BLK_MAGIC | X7_BLK_FREE | k)) break;
        x7_blk_remove(k, bb);
        uint64_t bd = bb->req == UINT32_MAX ? UINT64_MAX : bb->req;
        uint64_t lower_d = boff < off ? bd : d;
        uint64_t upper_d = boff < off ? d : bd;
        /* the upper header becomes payload of the merged block: clear it */
        memset(x7_blk_at(boff < off ? off : boff), 0, sizeof(x7_blk));
        if (upper_d == 0) d = lower_d;
        else d = upper_d == UINT64_MAX ? UINT64_MAX : size + upper_d;
        if (boff < off) off = boff;
        k++;
    }
    x7_blk_push(k, off, x7_dirty_sat(d));
    return req;
}

X7_INLINE void x7_mem_on_alloc(uint64_t n) {
    x7_mem.live_bytes += n;
    if (x7_mem.live_bytes > x7_mem.peak_live_bytes) x7_mem.peak_live_bytes = x7_mem.live_bytes;
    x7_heap_live += n;
    if (x7_heap_live > x7_heap_peak) x7_heap_peak = x7_heap_live;
}

X7_INLINE void x7_mem_on_free(uint64_t n) {
    x7_mem.live_bytes -= n;
    x7_heap_live -= n;
}

/* n bytes of uninitialised memory; n == 0 gives the shared empty buffer (not counted). */
X7_FN uint8_t *x7_alloc(uint32_t n) {
    if (n == 0) return x7_empty_buf;
    uint32_t dirty;
    uint8_t *p = x7_blk_take(n, &dirty);
    x7_mem.alloc_calls++;
    x7_mem.bytes_alloc_total += n;
    x7_mem.live_allocs++;
    if (x7_mem.live_allocs > x7_mem.peak_live_allocs) x7_mem.peak_live_allocs = x7_mem.live_allocs;
    x7_mem_on_alloc(n);
    return p;
}

/* n zero bytes; only blocks that were used before are cleared. */
X7_FN uint8_t *x7_alloc_zeroed(uint32_t n) {
    if (n == 0) return x7_empty_buf;
    uint32_t dirty;
    uint8_t *p = x7_blk_take(n, &dirty);
    if (dirty != 0) memset(p, 0, dirty < n ? dirty : n);
    x7_mem.alloc_calls++;
    x7_mem.bytes_alloc_total += n;
    x7_mem.live_allocs++;
    if (x7_mem.live_allocs > x7_mem.peak_live_allocs) x7_mem.peak_live_allocs = x7_mem.live_allocs;
    x7_mem_on_alloc(n);
    return p;
}

/* Frees a block from x7_alloc*; the empty buffer is ignored. */
X7_FN void x7_free(uint8_t *p) {
    if (p == x7_empty_buf) return;
    uint32_t n = x7_blk_give(p);
    x7_mem.free_calls++;
    x7_mem.bytes_freed_total += n;
    x7_mem.live_allocs--;
    x7_mem_on_free(n);
}

X7_INLINE void *x7_memcpy(void *dst, const void *src, size_t n) {
    x7_mem.memcpy_bytes += n;
    return memcpy(dst, src, n);
}

X7_INLINE void *x7_memmove(void *dst, const void *src, size_t n) {
    x7_mem.memcpy_bytes += n;
    return memmove(dst, src, n);
}

/*
 * Allocates new_len bytes, copies the first min(old_len, new_len) bytes of p and frees p.
 * Counted as one realloc call (not as alloc/free calls); the byte totals move as usual.
 */
X7_FN uint8_t *x7_realloc(uint8_t *p, uint32_t old_len, uint32_t new_len) {
    uint8_t *q = x7_empty_buf;
    if (new_len != 0) {
        uint32_t dirty;
        q = x7_blk_take(new_len, &dirty);
        x7_mem.bytes_alloc_total += new_len;
        x7_mem_on_alloc(new_len);
        x7_mem.live_allocs++;
        if (x7_mem.live_allocs > x7_mem.peak_live_allocs)
            x7_mem.peak_live_allocs = x7_mem.live_allocs;
        x7_memcpy(q, p, old_len < new_len ? old_len : new_len);
    }
    if (p != x7_empty_buf) {
        uint32_t n = x7_blk_give(p);
        x7_mem.bytes_freed_total += n;
        x7_mem.live_allocs--;
        x7_mem_on_free(n);
    }
    x7_mem.realloc_calls++;
    return q;
}

/* Drop glue: frees what a value owns. */
X7_INLINE void x7_bytes_drop(x7_bytes b) {
    if (b.ptr != x7_empty_buf) x7_free(b.ptr);
}
X7_INLINE void x7_vec_drop(x7_vec v) {
    if (v.ptr != x7_empty_buf) x7_free(v.ptr);
}
X7_INLINE void x7_opt_bytes_drop(x7_opt_bytes o) {
    if (o.tag) x7_bytes_drop(o.val);
}
X7_INLINE void x7_res_bytes_drop(x7_res_bytes r) {
    if (r.tag) x7_bytes_drop(r.val);
}

/* ---------------------------------------------------------------- start-up and the stats line */

/*
 * Start-up hook, run by main after the arena is mapped and before the input is read: a sandboxed
 * build loads and applies its run policy here (docs/internals/sandbox.md); otherwise empty.
 */
X7_FN void x7_os_startup(void) {
#ifdef X07_SANDBOXED
    x7_sandbox_start();
#endif
}

X7_FN void x7_json_field(x7_msg *m, const char *name, uint64_t v) {
    x7_msg_str(m, name);
    x7_msg_u64(m, v);
}

/* Writes the one-line JSON run report to stderr. */
X7_FN void x7_stats_write(void) {
#ifdef X07_SANDBOXED
    x7_sandbox_at_exit(); /* the stats line stays the last line */
#endif
    x7_msg m;
    m.len = 0;
    x7_json_field(&m, "{\"fuel_used\":", x7_fuel_init - x7_fuel);
    x7_json_field(&m, ",\"heap_used\":", x7_heap_peak);
    x7_json_field(&m, ",\"fs_read_file_calls\":", x7_fs_read_file_calls);
    x7_json_field(&m, ",\"fs_list_dir_calls\":", x7_fs_list_dir_calls);
    x7_json_field(&m, ",\"rr_open_calls\":", x7_rr_calls[0]);
    x7_json_field(&m, ",\"rr_close_calls\":", x7_rr_calls[1]);
    x7_json_field(&m, ",\"rr_stats_calls\":", x7_rr_calls[2]);
    x7_json_field(&m, ",\"rr_next_calls\":", x7_rr_calls[3]);
    x7_json_field(&m, ",\"rr_next_miss_calls\":", x7_rr_calls[4]);
    x7_json_field(&m, ",\"rr_append_calls\":", x7_rr_calls[5]);
    x7_msg_str(&m, ",\"kv_get_calls\":0,\"kv_set_calls\":0,\"sched_stats\":{\"tasks_spawned\":0,"
                   "\"spawn_calls\":0,\"join_calls\":0,\"yield_calls\":0,\"sleep_calls\":0,"
                   "\"chan_send_calls\":0,\"chan_recv_calls\":0,\"ctx_switches\":0,"
                   "\"wake_events\":0,\"blocked_waits\":0,\"virtual_time_end\":0,"
                   "\"sched_trace_hash\":\"0x0000000000000000\"}");
    x7_json_field(&m, ",\"mem_stats\":{\"alloc_calls\":", x7_mem.alloc_calls);
    x7_json_field(&m, ",\"realloc_calls\":", x7_mem.realloc_calls);
    x7_json_field(&m, ",\"free_calls\":", x7_mem.free_calls);
    x7_json_field(&m, ",\"bytes_alloc_total\":", x7_mem.bytes_alloc_total);
    x7_json_field(&m, ",\"bytes_freed_total\":", x7_mem.bytes_freed_total);
    x7_json_field(&m, ",\"live_bytes\":", x7_mem.live_bytes);
    x7_json_field(&m, ",\"peak_live_bytes\":", x7_mem.peak_live_bytes);
    x7_json_field(&m, ",\"live_allocs\":", x7_mem.live_allocs);
    x7_json_field(&m, ",\"peak_live_allocs\":", x7_mem.peak_live_allocs);
    x7_json_field(&m, ",\"memcpy_bytes\":", x7_mem.memcpy_bytes);
    x7_msg_str(&m, "}}");
    m.buf[m.len++] = '\n';
    (void)x7_write_fd(2, m.buf, m.len);
}

/* ---------------------------------------------------------------- builtins of core */

X7_INLINE uint32_t x7_i32_lit(uint32_t x) { return x; }
X7_INLINE uint32_t x7_prng_lcg_next_u32(uint32_t s) { return s * 1103515245u + 12345u; }
X7_INLINE uint32_t x7_process_set_exit_code_v1(uint32_t code) {
    x7_exit_code = code;
    return 0;
}

/* Borrowing an owned value as a view (the emitter's auto-borrow). */
X7_INLINE x7_view x7_view_of_bytes(x7_bytes b) { return (x7_view){b.ptr, b.len}; }
X7_INLINE x7_view x7_view_of_vec(x7_vec v) { return (x7_view){v.ptr, v.len}; }

X7_INLINE x7_bytes x7_bytes_empty(void) { return X7_EMPTY_BYTES; }
X7_INLINE uint32_t x7_bytes_len(x7_view v) { return v.len; }
X7_INLINE uint32_t x7_view_len(x7_view v) { return v.len; }

X7_INLINE uint32_t x7_view_get_u8(x7_view v, uint32_t i, const char *at) {
    if (X7_UNLIKELY(i >= v.len)) x7_trap("view.get_u8 oob", at);
    return v.ptr[i];
}

X7_INLINE uint32_t x7_bytes_get_u8(x7_view v, uint32_t i, const char *at) {
    if (X7_UNLIKELY(i >= v.len)) x7_trap("bytes.get_u8 oob", at);
    return v.ptr[i];
}

X7_INLINE x7_view x7_view_slice(x7_view v, uint32_t start, uint32_t len, const char *at) {
    if (X7_UNLIKELY((uint64_t)start + len > v.len)) x7_trap("view.slice oob", at);
    return (x7_view){v.ptr + start, len};
}

X7_INLINE x7_bytes x7_view_to_bytes(x7_view v) {
    uint8_t *p = x7_alloc(v.len);
    x7_memcpy(p, v.ptr, v.len);
    return (x7_bytes){p, v.len};
}

X7_INLINE x7_view x7_bytes_view(x7_bytes b) { return (x7_view){b.ptr, b.len}; }
/* std.brand.*: brands are not checked at run time, so these are the identity and bytes.view. */
X7_INLINE x7_bytes x7_std_brand_erase_bytes_v1(x7_bytes b) { return b; }
X7_INLINE x7_view x7_std_brand_erase_view_v1(x7_view v) { return v; }
X7_INLINE x7_view x7_std_brand_view_v1(x7_bytes b) { return x7_bytes_view(b); }

X7_INLINE x7_view x7_bytes_subview(x7_bytes b, uint32_t start, uint32_t len, const char *at) {
    if (X7_UNLIKELY((uint64_t)start + len > b.len)) x7_trap("bytes.subview oob", at);
    return (x7_view){b.ptr + start, len};
}

X7_INLINE x7_view x7_vec_u8_as_view(x7_vec v) { return (x7_view){v.ptr, v.len}; }

X7_INLINE x7_bytes x7_bytes_lit(const uint8_t *p, uint32_t n) {
    uint8_t *q = x7_alloc(n);
    x7_memcpy(q, p, n);
    return (x7_bytes){q, n};
}

X7_INLINE x7_view x7_view_lit(const uint8_t *p, uint32_t n) { return (x7_view){p, n}; }
X7_INLINE x7_view x7_bytes_view_lit(const uint8_t *p, uint32_t n) { return (x7_view){p, n}; }
