/* x07-fragment: requires=core */
/*
 * fixture_fs: `fs.read` of the worlds with a filesystem (solve-fs, solve-full, run-os). Paths are
 * relative to the working directory — the fixture's `root/` when `x07 test` runs a solve-fs test
 * — and may not climb out of it: absolute paths and `..` segments are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether `path` stays beneath the working directory: relative, no `..` segment, no NUL. */
X7_FN int x7_fixture_path_ok(x7_view path) {
    if (path.len == 0 || path.ptr[0] == '/') return 0;
    uint32_t seg = 0;
    for (uint32_t i = 0; i <= path.len; i++) {
        if (i == path.len || path.ptr[i] == '/') {
            if (i - seg == 2 && path.ptr[seg] == '.' && path.ptr[seg + 1] == '.') return 0;
            seg = i + 1;
        } else if (path.ptr[i] == 0) {
            return 0;
        }
    }
    return 1;
}

/* The whole file at `path`; traps `fs.read unsafe path` or `fs.read open failed`. */
X7_FN x7_bytes x7_fs_read(x7_view path, const char *at) {
    if (!x7_fixture_path_ok(path)) x7_trap("fs.read unsafe path", at);
    char name[4096];
    if (path.len >= sizeof name) x7_trap("fs.read unsafe path", at);
    memcpy(name, path.ptr, path.len);
    name[path.len] = 0;
    int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 0x7fffffff) {
        if (fd >= 0) close(fd);
        x7_trap("fs.read open failed", at);
    }
    uint32_t size = (uint32_t)st.st_size;
    if (size == 0) {
        close(fd);
        return X7_EMPTY_BYTES;
    }
    uint8_t *buf = x7_alloc(size);
    uint32_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (uint32_t)r;
    }
    close(fd);
    if (got != size) {
        x7_free(buf);
        x7_trap("fs.read open failed", at);
    }
    return (x7_bytes){buf, size};
}
