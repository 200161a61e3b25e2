/* x07-fragment: requires=core,bytes */
/*
 * os_fs: filesystem builtins with FsCapsV1 semantics (docs/stdlib/os-formats.md).
 *
 * Every path is resolved component by component with openat(2) from a directory fd: hidden
 * components and symbolic links are checked on the way, and every name the runtime opens goes
 * through x7_fs_open_at, so a run policy (allowed roots, openat2 RESOLVE_BENEATH) has exactly one
 * place to act. Leaf operations (mkdirat, unlinkat, renameat, fstatat) run relative to the parent
 * directory fd that the walk produced.
 *
 * Sandboxed (X7_SB_CHECKS): a path must lie beneath a root of the run policy (component-wise,
 * relative paths taken from the start-up cwd); the rest is opened with openat2 RESOLVE_BENEATH
 * from the root's descriptor, so neither ".." nor a symlink leaves the root; the policy's caps and
 * flags are ceilings over the program's caps; every refusal is recorded as a denial.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

/* Lets sandbox_fs know the filesystem builtins are part of this program. */
#define X7_OS_FS 1

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif

#define X7_FS_BAD_PATH 60001u
#define X7_FS_BAD_CAPS 60002u
#define X7_FS_POLICY_DENY 60003u
#define X7_FS_DISABLED 60004u
#define X7_FS_UNSUPPORTED 60005u
#define X7_FS_TOO_LARGE 60006u
#define X7_FS_TOO_MANY_ENTRIES 60007u
#define X7_FS_DEPTH_EXCEEDED 60008u
#define X7_FS_SYMLINK_DENIED 60009u
#define X7_FS_NOT_FOUND 60010u
#define X7_FS_ALREADY_EXISTS 60011u
#define X7_FS_PERMISSION 60012u
#define X7_FS_IS_DIR 60013u
#define X7_FS_NOT_DIR 60014u
#define X7_FS_IO 60015u
#define X7_FS_BAD_HANDLE 60016u

#define X7_FS_ALLOW_HIDDEN 1u
#define X7_FS_ALLOW_SYMLINKS 2u
#define X7_FS_CREATE_PARENTS 4u
#define X7_FS_OVERWRITE 8u
#define X7_FS_ATOMIC_WRITE 16u

/* What a path is resolved for; the policy layer will grant read and write roots separately. */
#define X7_FS_INTENT_READ 1
#define X7_FS_INTENT_WRITE 2

#define X7_FS_PATH_MAX 4096u
/* Recursion bound of remove_dir_all whatever max_depth says (keeps the C stack small). */
#define X7_FS_TREE_DEPTH_LIMIT 256u

typedef struct {
    uint32_t max_read, max_write, max_entries, max_depth, flags;
    uint32_t path_flags; /* the program's own flags: they decide the hidden check of the path */
    uint32_t sb_capped;  /* sandboxed: which ceilings the policy lowered (X7_FS_SB_CAPPED_*) */
} x7_fs_caps;

#define X7_FS_SB_CAPPED_READ 1u
#define X7_FS_SB_CAPPED_WRITE 2u
#define X7_FS_SB_CAPPED_SYMLINKS 4u

/* A parsed path: its components, NUL-terminated, inside buf. */
typedef struct {
    char buf[X7_FS_PATH_MAX + 1];
    uint16_t comp[X7_FS_PATH_MAX / 2 + 1];
    uint32_t ncomp;
    int absolute;
#if X7_SB_CHECKS
    char abs[2 * X7_FS_PATH_MAX + 2]; /* cwd + path, the spelling matched against the roots */
#endif
} x7_fs_path;

/*
 * A resolved path: an open parent directory and the last component. Opening the target itself
 * goes through (rootfd, rel): the same as (dirfd, leaf) unsandboxed; sandboxed, the root's
 * descriptor (not owned) and the path below it, so RESOLVE_BENEATH is measured from the root.
 */
typedef struct {
    int dirfd;
    const char *leaf;
    int rootfd;
    const char *rel;
} x7_fs_loc;

#if X7_SB_CHECKS
/* The builtin being served, its path and intent: what a denial names. */
static const char *x7_fs_sb_op X7_UNUSED = "os.fs";
static x7_view x7_fs_sb_target X7_UNUSED;
static int x7_fs_sb_write X7_UNUSED;
/* Set when openat2 refused a path for leaving its root (EXDEV from a rename means cross-device). */
static int x7_fs_sb_escaped X7_UNUSED;

X7_FN void x7_fs_sb_deny(const char *rule) {
    x7_sb_deny(x7_fs_sb_op, x7_fs_sb_target.ptr, x7_fs_sb_target.len, rule);
}

X7_FN const char *x7_fs_sb_roots_rule(void) {
    return x7_fs_sb_write ? "fs.write_roots" : "fs.read_roots";
}
#endif

X7_INLINE uint32_t x7_fs_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

X7_INLINE void x7_fs_put_le32(uint8_t *p, uint32_t x) {
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
    p[2] = (uint8_t)(x >> 16);
    p[3] = (uint8_t)(x >> 24);
}

X7_FN uint32_t x7_fs_caps_parse(x7_view v, x7_fs_caps *c) {
    if (v.len < 24 || x7_fs_le32(v.ptr) != 1) return X7_FS_BAD_CAPS;
    c->max_read = x7_fs_le32(v.ptr + 4);
    c->max_write = x7_fs_le32(v.ptr + 8);
    c->max_entries = x7_fs_le32(v.ptr + 12);
    c->max_depth = x7_fs_le32(v.ptr + 16);
    c->flags = x7_fs_le32(v.ptr + 20);
    c->path_flags = c->flags;
    c->sb_capped = 0;
    return 0;
}

/* The caps of the builtins that take none (read_file, write_file): no limits, follow links. */
X7_INLINE x7_fs_caps x7_fs_caps_unlimited(void) {
    uint32_t flags = X7_FS_ALLOW_HIDDEN | X7_FS_ALLOW_SYMLINKS | X7_FS_OVERWRITE;
    return (x7_fs_caps){UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, flags, flags, 0};
}

X7_INLINE int x7_fs_nofollow(const x7_fs_caps *c) {
    return (c->flags & X7_FS_ALLOW_SYMLINKS) ? 0 : O_NOFOLLOW;
}

X7_INLINE void x7_fs_close(int fd) {
    if (fd >= 0) (void)close(fd);
}

#if X7_SB_CHECKS
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
struct x7_open_how {
    uint64_t flags, mode, resolve;
};
#define X7_RESOLVE_NO_MAGICLINKS 0x02u
#define X7_RESOLVE_NO_SYMLINKS 0x04u
#define X7_RESOLVE_BENEATH 0x08u
#endif

/*
 * The one function through which the runtime opens a name in the filesystem. Sandboxed it is
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (and RESOLVE_NO_SYMLINKS for O_NOFOLLOW):
 * name cannot leave dirfd, whatever ".." or symlinks it holds (EXDEV).
 */
X7_FN int x7_fs_open_at(int dirfd, const char *name, int oflags, unsigned mode, int intent) {
    (void)intent;
    int fd;
#if X7_SB_CHECKS
    struct x7_open_how how = {(uint64_t)(unsigned)(oflags | O_CLOEXEC), (oflags & O_CREAT) ? mode : 0,
                              X7_RESOLVE_BENEATH | X7_RESOLVE_NO_MAGICLINKS |
                                  ((oflags & O_NOFOLLOW) ? X7_RESOLVE_NO_SYMLINKS : 0)};
    int tries = 0;
    do fd = (int)syscall(__NR_openat2, dirfd, name, &how, sizeof how);
    while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 16)));
    if (fd < 0 && errno == EXDEV) x7_fs_sb_escaped = 1;
#else
    do fd = openat(dirfd, name, oflags | O_CLOEXEC, (mode_t)mode);
    while (fd < 0 && errno == EINTR);
#endif
    return fd;
}

X7_FN int x7_fs_is_symlink(int dirfd, const char *name) {
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

X7_FN uint32_t x7_fs_errno_code(int e, const x7_fs_caps *c) {
#if X7_SB_CHECKS
    if (e == EXDEV && x7_fs_sb_escaped) { /* openat2 RESOLVE_BENEATH: the path would leave its root */
        x7_fs_sb_escaped = 0;
        x7_fs_sb_deny(x7_fs_sb_roots_rule());
        return X7_FS_POLICY_DENY;
    }
    if (e == ELOOP && (c->sb_capped & X7_FS_SB_CAPPED_SYMLINKS)) x7_fs_sb_deny("fs.allow_symlinks");
#endif
    switch (e) {
    case ENOENT: return X7_FS_NOT_FOUND;
    case EEXIST:
    case ENOTEMPTY: return X7_FS_ALREADY_EXISTS;
    case EACCES:
    case EPERM:
    case EROFS: return X7_FS_PERMISSION;
    case EISDIR: return X7_FS_IS_DIR;
    case ENOTDIR: return X7_FS_NOT_DIR;
    case ELOOP: return (c->flags & X7_FS_ALLOW_SYMLINKS) ? X7_FS_IO : X7_FS_SYMLINK_DENIED;
    case ENAMETOOLONG: return X7_FS_BAD_PATH;
    case EFBIG: return X7_FS_TOO_LARGE;
    case ENOSYS:
    case EOPNOTSUPP: return X7_FS_UNSUPPORTED;
    default: return X7_FS_IO;
    }
}

/* The code for a failed operation on dirfd/name: a refused symlink is reported as such. */
X7_FN uint32_t x7_fs_fail(int e, int dirfd, const char *name, const x7_fs_caps *c) {
    if ((e == ENOTDIR || e == ELOOP) && !(c->flags & X7_FS_ALLOW_SYMLINKS) &&
        x7_fs_is_symlink(dirfd, name)) {
#if X7_SB_CHECKS
        if (c->sb_capped & X7_FS_SB_CAPPED_SYMLINKS) x7_fs_sb_deny("fs.allow_symlinks");
#endif
        return X7_FS_SYMLINK_DENIED;
    }
    return x7_fs_errno_code(e, c);
}

X7_INLINE int x7_fs_is_dot(const char *name) {
    return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
}

/* Splits path into components ("." and empty ones dropped) and applies the hidden rule. */
X7_FN uint32_t x7_fs_path_parse(x7_view path, const x7_fs_caps *c, x7_fs_path *p) {
    if (path.len == 0 || path.len > X7_FS_PATH_MAX || memchr(path.ptr, 0, path.len) != NULL)
        return X7_FS_BAD_PATH;
    memcpy(p->buf, path.ptr, path.len);
    p->buf[path.len] = 0;
    p->absolute = p->buf[0] == '/';
    p->ncomp = 0;
    uint32_t i = 0;
    while (i < path.len) {
        while (i < path.len && p->buf[i] == '/') p->buf[i++] = 0;
        if (i == path.len) break;
        uint32_t start = i;
        while (i < path.len && p->buf[i] != '/') i++;
        if (i < path.len) p->buf[i++] = 0;
        const char *name = p->buf + start;
        if (name[0] == '.' && name[1] == 0) continue;
        if (!(c->path_flags & X7_FS_ALLOW_HIDDEN) && name[0] == '.' && !x7_fs_is_dot(name))
            return X7_FS_POLICY_DENY;
        p->comp[p->ncomp++] = (uint16_t)start;
    }
    return 0;
}

/* Opens directory component name below dirfd, creating it when asked; -1 with *code set. */
X7_FN int x7_fs_step(int dirfd, const char *name, const x7_fs_caps *c, int make_dirs, int intent,
                     uint32_t *code) {
    for (int attempt = 0;; attempt++) {
        int fd = x7_fs_open_at(dirfd, name, O_PATH | O_DIRECTORY | x7_fs_nofollow(c), 0, intent);
        if (fd >= 0) return fd;
        int e = errno;
        if (e == ENOENT && make_dirs && attempt == 0) {
            if (mkdirat(dirfd, name, 0777) == 0 || errno == EEXIST) continue;
            e = errno;
        }
        *code = x7_fs_fail(e, dirfd, name, c);
        return -1;
    }
}

#if X7_SB_CHECKS
/* The policy side of the walk, in sandbox_fs (after this fragment in the translation unit). */
static uint32_t x7_fs_sb_enter(const char *op, x7_view path, x7_fs_caps *c, const char *need, uint32_t flag);
static uint32_t x7_fs_sb_too_large(const x7_fs_caps *c, int write);
static uint32_t x7_fs_sb_locate(x7_view path, const x7_fs_caps *c, int intent, int make_dirs,
                                x7_fs_path *p, x7_fs_loc *loc);
static int x7_fs_stat_follow(const x7_fs_loc *loc, struct stat *st);
#define X7_FS_ENTER(code, op, path, c, need, flag)                                                \
    do {                                                                                           \
        if (!(code)) (code) = x7_fs_sb_enter((op), (path), (c), (need), (flag));                   \
    } while (0)
#define X7_FS_TOO_LARGE_FOR(c, write) x7_fs_sb_too_large((c), (write))
#else
#define X7_FS_ENTER(code, op, path, c, need, flag) ((void)0)
#define X7_FS_TOO_LARGE_FOR(c, write) X7_FS_TOO_LARGE

X7_FN int x7_fs_stat_follow(const x7_fs_loc *loc, struct stat *st) {
    return fstatat(loc->dirfd, loc->leaf, st, 0);
}
#endif

/* Resolves path to its parent directory fd and leaf ("." for "/" or "."); 0 or a code. */
X7_FN uint32_t x7_fs_locate(x7_view path, const x7_fs_caps *c, int intent, int make_dirs,
                            x7_fs_path *p, x7_fs_loc *loc) {
    uint32_t code = x7_fs_path_parse(path, c, p);
    if (code) return code;
#if X7_SB_CHECKS
    return x7_fs_sb_locate(path, c, intent, make_dirs, p, loc);
#endif
    int fd = x7_fs_open_at(AT_FDCWD, p->absolute ? "/" : ".", O_PATH | O_DIRECTORY, 0, intent);
    if (fd < 0) return x7_fs_errno_code(errno, c);
    for (uint32_t i = 0; i + 1 < p->ncomp; i++) {
        int next = x7_fs_step(fd, p->buf + p->comp[i], c, make_dirs, intent, &code);
        x7_fs_close(fd);
        if (next < 0) return code;
        fd = next;
    }
    loc->dirfd = loc->rootfd = fd;
    loc->leaf = loc->rel = p->ncomp ? p->buf + p->comp[p->ncomp - 1] : ".";
    return 0;
}

X7_FN int x7_fs_write_all_fd(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n > 0x40000000u ? 0x40000000u : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---------------------------------------------------------------- reading */

/* Opens path for reading as a regular file; *fd and *size on success. */
X7_FN uint32_t x7_fs_open_read(x7_view path, const x7_fs_caps *c, int *fd, uint64_t *size) {
    x7_fs_path p;
    x7_fs_loc loc;
    uint32_t code = x7_fs_locate(path, c, X7_FS_INTENT_READ, 0, &p, &loc);
    if (code) return code;
    int f = x7_fs_open_at(loc.rootfd, loc.rel, O_RDONLY | x7_fs_nofollow(c), 0, X7_FS_INTENT_READ);
    if (f < 0) code = x7_fs_fail(errno, loc.dirfd, loc.leaf, c);
    x7_fs_close(loc.dirfd);
    if (code) return code;
    struct stat st;
    if (fstat(f, &st) != 0) code = x7_fs_errno_code(errno, c);
    else if (S_ISDIR(st.st_mode)) code = X7_FS_IS_DIR;
    if (code) {
        x7_fs_close(f);
        return code;
    }
    *fd = f;
    *size = S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

/*
 * Reads a whole file into one arena block. A regular file whose size does not change costs exactly
 * one allocation; anything else is gathered in libc scratch memory first.
 */
X7_FN uint32_t x7_fs_read_capped(x7_view path, const x7_fs_caps *c, x7_bytes *out) {
    int fd;
    uint64_t size;
    uint32_t code = x7_fs_open_read(path, c, &fd, &size);
    if (code) return code;
    if (size > c->max_read) {
        x7_fs_close(fd);
        return X7_FS_TOO_LARGE_FOR(c, 0);
    }
    uint8_t chunk[65536];
    uint8_t *buf = x7_alloc((uint32_t)size);
    size_t got = 0;
    ssize_t r = 0;
    while (got < size) {
        r = read(fd, buf + got, (size_t)size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (r >= 0 && got == size) {
        do r = read(fd, chunk, sizeof chunk);
        while (r < 0 && errno == EINTR);
    }
    if (r < 0) {
        code = x7_fs_errno_code(errno, c);
        x7_fs_close(fd);
        x7_free(buf);
        return code;
    }
    if (r == 0) {
        x7_fs_close(fd);
        if (got < size) buf = x7_realloc(buf, (uint32_t)got, (uint32_t)got);
        *out = (x7_bytes){buf, (uint32_t)got};
        return 0;
    }
    /* the file is longer than it said (or not regular): gather the rest in scratch memory */
    uint8_t *scratch = NULL;
    size_t len = 0, cap = 0;
    int failed = 0;
    for (;;) {
        if (len + got + (size_t)r > c->max_read) {
            code = X7_FS_TOO_LARGE_FOR(c, 0);
            break;
        }
        if (len + (size_t)r > cap) {
            size_t ncap = cap ? cap * 2 : sizeof chunk * 2;
            while (ncap < len + (size_t)r) ncap *= 2;
            uint8_t *n = (uint8_t *)realloc(scratch, ncap);
            if (n == NULL) {
                code = X7_FS_IO;
                break;
            }
            scratch = n;
            cap = ncap;
        }
        memcpy(scratch + len, chunk, (size_t)r);
        len += (size_t)r;
        do r = read(fd, chunk, sizeof chunk);
        while (r < 0 && errno == EINTR);
        if (r < 0) failed = errno;
        if (r <= 0) break;
    }
    x7_fs_close(fd);
    if (!code && failed) code = x7_fs_errno_code(failed, c);
    if (code) {
        free(scratch);
        x7_free(buf);
        return code;
    }
    uint8_t *all = x7_alloc((uint32_t)(got + len));
    x7_memcpy(all, buf, got);
    x7_memcpy(all + got, scratch, len);
    free(scratch);
    x7_free(buf);
    *out = (x7_bytes){all, (uint32_t)(got + len)};
    return 0;
}

X7_COLD void x7_fs_read_file_trap(x7_view path, uint32_t code, const char *at) {
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "os.fs.read_file failed path=");
    x7_msg_data(&m, path.ptr, path.len > 512 ? 512 : path.len);
    x7_msg_str(&m, " code=");
    x7_msg_u64(&m, code);
    m.buf[m.len] = 0;
    x7_trap(m.buf, at);
}

X7_FN x7_bytes x7_os_fs_read_file(x7_view path, const char *at) {
    x7_fs_caps c = x7_fs_caps_unlimited();
    x7_bytes out;
    x7_fs_read_file_calls++;
    uint32_t code = 0;
    X7_FS_ENTER(code, "os.fs.read_file", path, &c, NULL, 1);
    if (!code) code = x7_fs_read_capped(path, &c, &out);
    if (X7_UNLIKELY(code != 0)) x7_fs_read_file_trap(path, code, at);
    return out;
}

X7_FN x7_res_bytes x7_os_fs_read_all_v1(x7_view path, x7_view caps) {
    x7_fs_caps c;
    x7_bytes out;
    x7_fs_read_file_calls++;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.read_all_v1", path, &c, NULL, 1);
    if (!code) code = x7_fs_read_capped(path, &c, &out);
    if (code) return (x7_res_bytes){0, code, X7_EMPTY_BYTES};
    return (x7_res_bytes){1, 0, out};
}

/* ---------------------------------------------------------------- writing */

/* An open destination: the file itself, or a temporary beside it for atomic writes. */
typedef struct {
    x7_fs_path path;
    x7_fs_loc loc;
    int fd;
    int atomic;
    int overwrite;
    char tmp[64];
} x7_fs_writer;

static uint32_t x7_fs_tmp_counter X7_UNUSED;

X7_FN uint32_t x7_fs_writer_open(x7_view path, const x7_fs_caps *c, int append, x7_fs_writer *w) {
    w->fd = -1;
    w->atomic = !append && (c->flags & X7_FS_ATOMIC_WRITE) != 0;
    w->overwrite = (c->flags & X7_FS_OVERWRITE) != 0;
    uint32_t code = x7_fs_locate(path, c, X7_FS_INTENT_WRITE, (c->flags & X7_FS_CREATE_PARENTS) != 0,
                                 &w->path, &w->loc);
    if (code) return code;
    int dfd = w->loc.dirfd;
    const char *leaf = w->loc.leaf;
    int nofollow = x7_fs_nofollow(c);
    if (x7_fs_is_dot(leaf)) code = X7_FS_BAD_PATH;
    else if (nofollow && x7_fs_is_symlink(dfd, leaf)) code = x7_fs_fail(ELOOP, dfd, leaf, c);
    if (code) {
        x7_fs_close(dfd);
        return code;
    }
    int fd;
    if (append) {
        fd = x7_fs_open_at(w->loc.rootfd, w->loc.rel, O_WRONLY | O_APPEND | O_CREAT | nofollow, 0666,
                           X7_FS_INTENT_WRITE);
    } else if (!w->atomic) {
        fd = x7_fs_open_at(w->loc.rootfd, w->loc.rel,
                           O_WRONLY | O_CREAT | (w->overwrite ? O_TRUNC : O_EXCL) | nofollow, 0666,
                           X7_FS_INTENT_WRITE);
    } else {
        struct stat st;
        if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(st.st_mode)) code = X7_FS_IS_DIR;
            else if (!w->overwrite) code = X7_FS_ALREADY_EXISTS;
        }
        if (code) {
            x7_fs_close(dfd);
            return code;
        }
        x7_msg m; /* ".x07tmp-<pid>-<n>": unique within the directory for this process */
        m.len = 0;
        x7_msg_str(&m, ".x07tmp-");
        x7_msg_u64(&m, (uint64_t)getpid());
        x7_msg_str(&m, "-");
        x7_msg_u64(&m, ++x7_fs_tmp_counter);
        memcpy(w->tmp, m.buf, m.len);
        w->tmp[m.len] = 0;
        fd = x7_fs_open_at(dfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0666,
                           X7_FS_INTENT_WRITE);
    }
    if (fd < 0) {
        code = x7_fs_fail(errno, dfd, leaf, c);
        x7_fs_close(dfd);
        return code;
    }
    w->fd = fd;
    return 0;
}

X7_FN void x7_fs_writer_abort(x7_fs_writer *w) {
    x7_fs_close(w->fd);
    if (w->atomic) (void)unlinkat(w->loc.dirfd, w->tmp, 0);
    x7_fs_close(w->loc.dirfd);
}

X7_FN uint32_t x7_fs_writer_put(x7_fs_writer *w, const uint8_t *p, size_t n, const x7_fs_caps *c) {
    if (x7_fs_write_all_fd(w->fd, p, n) != 0) {
        uint32_t code = x7_fs_errno_code(errno, c);
        x7_fs_writer_abort(w);
        return code;
    }
    return 0;
}

/* Finishes the write: an atomic write is synced and renamed (or linked, without overwrite). */
X7_FN uint32_t x7_fs_writer_commit(x7_fs_writer *w, const x7_fs_caps *c) {
    uint32_t code = 0;
    if (w->atomic && fsync(w->fd) != 0) code = x7_fs_errno_code(errno, c);
    if (close(w->fd) != 0 && !code && errno != EINTR) code = x7_fs_errno_code(errno, c);
    w->fd = -1;
    if (w->atomic && !code) {
        int dfd = w->loc.dirfd;
        int r = w->overwrite ? renameat(dfd, w->tmp, dfd, w->loc.leaf)
                             : linkat(dfd, w->tmp, dfd, w->loc.leaf, 0);
        if (r != 0) code = x7_fs_errno_code(errno, c);
        if (r != 0 || !w->overwrite) (void)unlinkat(dfd, w->tmp, 0);
    } else if (w->atomic) {
        (void)unlinkat(w->loc.dirfd, w->tmp, 0);
    }
    x7_fs_close(w->loc.dirfd);
    return code;
}

X7_FN uint32_t x7_fs_write(x7_view path, x7_view data, const x7_fs_caps *c, int append) {
    if (data.len > c->max_write) return X7_FS_TOO_LARGE_FOR(c, 1);
    x7_fs_writer w;
    uint32_t code = x7_fs_writer_open(path, c, append, &w);
    if (code) return code;
    code = x7_fs_writer_put(&w, data.ptr, data.len, c); /* aborts the writer on failure */
    return code ? code : x7_fs_writer_commit(&w, c);
}

X7_FN uint32_t x7_os_fs_write_file(x7_view path, x7_view data) {
    x7_fs_caps c = x7_fs_caps_unlimited();
    uint32_t code = 0;
    X7_FS_ENTER(code, "os.fs.write_file", path, &c, NULL, 1);
    return code ? code : x7_fs_write(path, data, &c, 0);
}

X7_FN x7_res_i32 x7_fs_write_v1(x7_view path, x7_view data, x7_view caps, int append) {
    x7_fs_caps c;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, append ? "os.fs.append_all_v1" : "os.fs.write_all_v1", path, &c, NULL, 1);
    if (!code) code = x7_fs_write(path, data, &c, append);
    return code ? (x7_res_i32){0, code} : (x7_res_i32){1, data.len};
}

X7_FN x7_res_i32 x7_os_fs_write_all_v1(x7_view path, x7_view data, x7_view caps) {
    return x7_fs_write_v1(path, data, caps, 0);
}

X7_FN x7_res_i32 x7_os_fs_append_all_v1(x7_view path, x7_view data, x7_view caps) {
    return x7_fs_write_v1(path, data, caps, 1);
}

X7_FN x7_res_i32 x7_os_fs_copy_file_v1(x7_view src, x7_view dst, x7_view caps_read,
                                       x7_view caps_write) {
    x7_fs_caps cr, cw;
    uint32_t code = x7_fs_caps_parse(caps_read, &cr);
    if (!code) code = x7_fs_caps_parse(caps_write, &cw);
    X7_FS_ENTER(code, "os.fs.copy_file_v1", src, &cr, NULL, 1);
    if (code) return (x7_res_i32){0, code};
    int fd;
    uint64_t size;
    code = x7_fs_open_read(src, &cr, &fd, &size);
    if (code) return (x7_res_i32){0, code};
    X7_FS_ENTER(code, "os.fs.copy_file_v1", dst, &cw, NULL, 1);
    if (!code && size > cr.max_read) code = X7_FS_TOO_LARGE_FOR(&cr, 0);
    if (!code && size > cw.max_write) code = X7_FS_TOO_LARGE_FOR(&cw, 1);
    if (code) {
        x7_fs_close(fd);
        return (x7_res_i32){0, code};
    }
    x7_fs_writer w;
    code = x7_fs_writer_open(dst, &cw, 0, &w);
    if (code) {
        x7_fs_close(fd);
        return (x7_res_i32){0, code};
    }
    uint8_t chunk[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) code = x7_fs_errno_code(errno, &cr);
        else if (total + (uint64_t)r > cr.max_read || total + (uint64_t)r > cw.max_write)
            code = X7_FS_TOO_LARGE;
        if (code) {
            x7_fs_writer_abort(&w);
            break;
        }
        if (r == 0) {
            code = x7_fs_writer_commit(&w, &cw);
            break;
        }
        code = x7_fs_writer_put(&w, chunk, (size_t)r, &cw);
        if (code) break;
        total += (uint64_t)r;
    }
    x7_fs_close(fd);
    return code ? (x7_res_i32){0, code} : (x7_res_i32){1, (uint32_t)total};
}

/* ---------------------------------------------------------------- directories and metadata */

X7_FN x7_res_i32 x7_os_fs_mkdirs_v1(x7_view path, x7_view caps) {
    x7_fs_caps c;
    x7_fs_path p;
    x7_fs_loc loc;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.mkdirs_v1", path, &c, "fs.allow_mkdir", x7_sb.pol.fs.allow_mkdir);
    if (!code) code = x7_fs_locate(path, &c, X7_FS_INTENT_WRITE, 1, &p, &loc);
    if (code) return (x7_res_i32){0, code};
    if (mkdirat(loc.dirfd, loc.leaf, 0777) != 0) {
        int e = errno;
        struct stat st;
        if (e != EEXIST) code = x7_fs_errno_code(e, &c);
        else if (x7_fs_nofollow(&c) && x7_fs_is_symlink(loc.dirfd, loc.leaf))
            code = X7_FS_SYMLINK_DENIED;
        else if (x7_fs_stat_follow(&loc, &st) != 0 || !S_ISDIR(st.st_mode))
            code = X7_FS_ALREADY_EXISTS;
    }
    x7_fs_close(loc.dirfd);
    return code ? (x7_res_i32){0, code} : (x7_res_i32){1, 0};
}

X7_FN x7_res_i32 x7_os_fs_remove_file_v1(x7_view path, x7_view caps) {
    x7_fs_caps c;
    x7_fs_path p;
    x7_fs_loc loc;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.remove_file_v1", path, &c, "fs.allow_remove", x7_sb.pol.fs.allow_remove);
    if (!code) code = x7_fs_locate(path, &c, X7_FS_INTENT_WRITE, 0, &p, &loc);
    if (code) return (x7_res_i32){0, code};
    struct stat st;
    if (x7_fs_is_dot(loc.leaf)) code = X7_FS_BAD_PATH;
    else if (fstatat(loc.dirfd, loc.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        code = x7_fs_errno_code(errno, &c);
    else if (S_ISLNK(st.st_mode) && x7_fs_nofollow(&c)) code = X7_FS_SYMLINK_DENIED;
    else if (S_ISDIR(st.st_mode)) code = X7_FS_IS_DIR;
    else if (unlinkat(loc.dirfd, loc.leaf, 0) != 0) code = x7_fs_errno_code(errno, &c);
    x7_fs_close(loc.dirfd);
    return code ? (x7_res_i32){0, code} : (x7_res_i32){1, 0};
}

X7_INLINE int x7_fs_entry_is_dir(int dirfd, const struct dirent *e) {
#ifdef DT_DIR
    if (e->d_type != DT_UNKNOWN) return e->d_type == DT_DIR;
#endif
    struct stat st;
    return fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Opens directory name below dirfd for reading its entries (never following a link). */
X7_FN DIR *x7_fs_open_dir(int dirfd, const char *name, int nofollow, int intent, int *err) {
    int fd = x7_fs_open_at(dirfd, name, O_RDONLY | O_DIRECTORY | nofollow, 0, intent);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        *err = errno;
        x7_fs_close(fd);
    }
    return d;
}

/* First pass of remove_dir_all: checks entry count, depth and hidden names before deleting. */
X7_FN uint32_t x7_fs_tree_scan(int parent, const char *name, uint32_t depth, const x7_fs_caps *c,
                               uint64_t *count) {
    int err = 0;
    DIR *d = x7_fs_open_dir(parent, name, O_NOFOLLOW, X7_FS_INTENT_WRITE, &err);
    if (d == NULL) return x7_fs_errno_code(err, c);
    uint32_t code = 0;
    int here = dirfd(d);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0) code = x7_fs_errno_code(errno, c);
            break;
        }
        if (x7_fs_is_dot(e->d_name)) continue;
        if (++*count > c->max_entries) code = X7_FS_TOO_MANY_ENTRIES;
        else if (depth > c->max_depth || depth > X7_FS_TREE_DEPTH_LIMIT) code = X7_FS_DEPTH_EXCEEDED;
        else if (e->d_name[0] == '.' && !(c->flags & X7_FS_ALLOW_HIDDEN)) code = X7_FS_POLICY_DENY;
        else if (x7_fs_entry_is_dir(here, e))
            code = x7_fs_tree_scan(here, e->d_name, depth + 1, c, count);
        if (code) break;
    }
    closedir(d);
    return code;
}

/* Second pass: deletes everything below name (links are removed, never followed). */
X7_FN uint32_t x7_fs_tree_remove(int parent, const char *name, const x7_fs_caps *c) {
    int err = 0;
    DIR *d = x7_fs_open_dir(parent, name, O_NOFOLLOW, X7_FS_INTENT_WRITE, &err);
    if (d == NULL) return x7_fs_errno_code(err, c);
    uint32_t code = 0;
    int here = dirfd(d);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0) code = x7_fs_errno_code(errno, c);
            break;
        }
        if (x7_fs_is_dot(e->d_name)) continue;
        int is_dir = x7_fs_entry_is_dir(here, e);
        if (is_dir) code = x7_fs_tree_remove(here, e->d_name, c);
        if (!code && unlinkat(here, e->d_name, is_dir ? AT_REMOVEDIR : 0) != 0)
            code = x7_fs_errno_code(errno, c);
        if (code) break;
    }
    closedir(d);
    return code;
}

X7_FN x7_res_i32 x7_os_fs_remove_dir_all_v1(x7_view path, x7_view caps) {
    x7_fs_caps c;
    x7_fs_path p;
    x7_fs_loc loc;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.remove_dir_all_v1", path, &c, "fs.allow_remove", x7_sb.pol.fs.allow_remove);
    if (!code) code = x7_fs_locate(path, &c, X7_FS_INTENT_WRITE, 0, &p, &loc);
    if (code) return (x7_res_i32){0, code};
    struct stat st;
    uint64_t count = 0;
    if (x7_fs_is_dot(loc.leaf)) code = X7_FS_BAD_PATH;
    else if (fstatat(loc.dirfd, loc.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        code = x7_fs_errno_code(errno, &c);
    else if (S_ISLNK(st.st_mode) && x7_fs_nofollow(&c)) code = X7_FS_SYMLINK_DENIED;
    else if (S_ISLNK(st.st_mode)) code = unlinkat(loc.dirfd, loc.leaf, 0) ? x7_fs_errno_code(errno, &c) : 0;
    else if (!S_ISDIR(st.st_mode)) code = X7_FS_NOT_DIR;
    else if ((code = x7_fs_tree_scan(loc.dirfd, loc.leaf, 1, &c, &count)) == 0 &&
             (code = x7_fs_tree_remove(loc.dirfd, loc.leaf, &c)) == 0 &&
             unlinkat(loc.dirfd, loc.leaf, AT_REMOVEDIR) != 0)
        code = x7_fs_errno_code(errno, &c);
    x7_fs_close(loc.dirfd);
    return code ? (x7_res_i32){0, code} : (x7_res_i32){1, 0};
}

X7_FN x7_res_i32 x7_os_fs_rename_v1(x7_view src, x7_view dst, x7_view caps) {
    x7_fs_caps c;
    x7_fs_path sp, dp;
    x7_fs_loc sl, dl;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.rename_v1", src, &c, "fs.allow_rename", x7_sb.pol.fs.allow_rename);
    if (!code) code = x7_fs_locate(src, &c, X7_FS_INTENT_WRITE, 0, &sp, &sl);
    if (code) return (x7_res_i32){0, code};
    code = x7_fs_locate(dst, &c, X7_FS_INTENT_WRITE, (c.flags & X7_FS_CREATE_PARENTS) != 0, &dp, &dl);
    if (code) {
        x7_fs_close(sl.dirfd);
        return (x7_res_i32){0, code};
    }
    struct stat st;
    int nofollow = x7_fs_nofollow(&c);
    if (x7_fs_is_dot(sl.leaf) || x7_fs_is_dot(dl.leaf)) code = X7_FS_BAD_PATH;
    else if (fstatat(sl.dirfd, sl.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        code = x7_fs_errno_code(errno, &c);
    else if (nofollow && (S_ISLNK(st.st_mode) || x7_fs_is_symlink(dl.dirfd, dl.leaf)))
        code = X7_FS_SYMLINK_DENIED;
    else if (c.flags & X7_FS_OVERWRITE) {
        if (renameat(sl.dirfd, sl.leaf, dl.dirfd, dl.leaf) != 0) code = x7_fs_errno_code(errno, &c);
    } else {
        int r = -1;
        errno = EINVAL;
#ifdef RENAME_NOREPLACE
        r = renameat2(sl.dirfd, sl.leaf, dl.dirfd, dl.leaf, RENAME_NOREPLACE);
#endif
        if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
            /* no atomic no-replace rename here: check, then rename */
            if (fstatat(dl.dirfd, dl.leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) errno = EEXIST;
            else r = renameat(sl.dirfd, sl.leaf, dl.dirfd, dl.leaf);
        }
        if (r != 0) code = x7_fs_errno_code(errno, &c);
    }
    x7_fs_close(sl.dirfd);
    x7_fs_close(dl.dirfd);
    return code ? (x7_res_i32){0, code} : (x7_res_i32){1, 0};
}

X7_INLINE uint32_t x7_fs_sat32(int64_t v) {
    return v < 0 ? 0 : (uint64_t)v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* StatV1; with allow_symlinks the link is followed and kind 3 means a dangling link. */
X7_FN x7_res_bytes x7_os_fs_stat_v1(x7_view path, x7_view caps) {
    x7_fs_caps c;
    x7_fs_path p;
    x7_fs_loc loc;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.stat_v1", path, &c, NULL, 1);
    if (!code) code = x7_fs_locate(path, &c, X7_FS_INTENT_READ, 0, &p, &loc);
    if (code) return (x7_res_bytes){0, code, X7_EMPTY_BYTES};
    struct stat st;
    int follow = (c.flags & X7_FS_ALLOW_SYMLINKS) != 0;
    if ((follow ? x7_fs_stat_follow(&loc, &st) : fstatat(loc.dirfd, loc.leaf, &st, AT_SYMLINK_NOFOLLOW)) != 0) {
        int e = errno;
        if (!(follow && e == ENOENT && fstatat(loc.dirfd, loc.leaf, &st, AT_SYMLINK_NOFOLLOW) == 0))
            code = x7_fs_errno_code(e, &c);
    } else if (!follow && S_ISLNK(st.st_mode)) {
        code = X7_FS_SYMLINK_DENIED;
    }
    x7_fs_close(loc.dirfd);
    if (code) return (x7_res_bytes){0, code, X7_EMPTY_BYTES};
    uint32_t kind = S_ISREG(st.st_mode) ? 1u : S_ISDIR(st.st_mode) ? 2u : S_ISLNK(st.st_mode) ? 3u : 4u;
    uint8_t *b = x7_alloc(16);
    x7_fs_put_le32(b, 1);
    x7_fs_put_le32(b + 4, kind);
    x7_fs_put_le32(b + 8, x7_fs_sat32((int64_t)st.st_size));
    x7_fs_put_le32(b + 12, x7_fs_sat32((int64_t)st.st_mtime));
    return (x7_res_bytes){1, 0, (x7_bytes){b, 16}};
}

X7_FN void x7_fs_sift_down(const char *names, uint32_t *idx, size_t r, size_t end) {
    for (;;) {
        size_t ch = 2 * r + 1;
        if (ch >= end) return;
        if (ch + 1 < end && strcmp(names + idx[ch], names + idx[ch + 1]) < 0) ch++;
        if (strcmp(names + idx[r], names + idx[ch]) >= 0) return;
        uint32_t t = idx[r];
        idx[r] = idx[ch];
        idx[ch] = t;
        r = ch;
    }
}

/* Heap sort of name offsets (strcmp is bytewise); in place, so it needs no memory. */
X7_FN void x7_fs_sort_names(const char *names, uint32_t *idx, size_t n) {
    for (size_t i = n / 2; i-- > 0;) x7_fs_sift_down(names, idx, i, n);
    for (size_t end = n; end > 1;) {
        end--;
        uint32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        x7_fs_sift_down(names, idx, 0, end);
    }
}

X7_FN x7_res_bytes x7_os_fs_list_dir_sorted_text_v1(x7_view path, x7_view caps) {
    x7_fs_caps c;
    x7_fs_path p;
    x7_fs_loc loc;
    x7_fs_list_dir_calls++;
    uint32_t code = x7_fs_caps_parse(caps, &c);
    X7_FS_ENTER(code, "os.fs.list_dir_sorted_text_v1", path, &c, "fs.allow_walk", x7_sb.pol.fs.allow_walk);
    if (!code) code = x7_fs_locate(path, &c, X7_FS_INTENT_READ, 0, &p, &loc);
    if (code) return (x7_res_bytes){0, code, X7_EMPTY_BYTES};
    int err = 0;
    DIR *d = x7_fs_open_dir(loc.rootfd, loc.rel, x7_fs_nofollow(&c), X7_FS_INTENT_READ, &err);
    if (d == NULL) code = x7_fs_fail(err, loc.dirfd, loc.leaf, &c);
    x7_fs_close(loc.dirfd);
    if (code) return (x7_res_bytes){0, code, X7_EMPTY_BYTES};
    /* names (NUL-terminated) and their offsets gather in libc scratch memory */
    char *names = NULL;
    uint32_t *idx = NULL;
    size_t nlen = 0, ncap = 0, count = 0, icap = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0) code = x7_fs_errno_code(errno, &c);
            break;
        }
        const char *name = e->d_name;
        if (x7_fs_is_dot(name) || (name[0] == '.' && !(c.flags & X7_FS_ALLOW_HIDDEN))) continue;
        if (count + 1 > c.max_entries) {
            code = X7_FS_TOO_MANY_ENTRIES;
            break;
        }
        size_t len = strlen(name) + 1;
        if (nlen + len > UINT32_MAX) {
            code = X7_FS_TOO_LARGE;
            break;
        }
        if (nlen + len > ncap) {
            size_t nc = ncap ? ncap * 2 : 4096;
            while (nc < nlen + len) nc *= 2;
            char *nn = (char *)realloc(names, nc);
            if (nn == NULL) {
                code = X7_FS_IO;
                break;
            }
            names = nn;
            ncap = nc;
        }
        if (count == icap) {
            size_t ic = icap ? icap * 2 : 256;
            uint32_t *ni = (uint32_t *)realloc(idx, ic * sizeof *idx);
            if (ni == NULL) {
                code = X7_FS_IO;
                break;
            }
            idx = ni;
            icap = ic;
        }
        memcpy(names + nlen, name, len);
        idx[count++] = (uint32_t)nlen;
        nlen += len;
    }
    closedir(d);
    x7_bytes out = X7_EMPTY_BYTES;
    if (!code) {
        x7_fs_sort_names(names, idx, count);
        /* every name keeps its length: the NUL becomes the newline */
        out.len = (uint32_t)nlen;
        out.ptr = x7_alloc(out.len);
        size_t o = 0;
        for (size_t i = 0; i < count; i++) {
            const char *nm = names + idx[i];
            size_t len = strlen(nm);
            x7_memcpy(out.ptr + o, nm, len);
            out.ptr[o + len] = '\n';
            o += len + 1;
        }
    }
    free(names);
    free(idx);
    if (code) return (x7_res_bytes){0, code, X7_EMPTY_BYTES};
    return (x7_res_bytes){1, 0, out};
}
