/*
 * A hostile program for the sandbox tests. The first input byte picks an attack; then come
 * length-prefixed fields (u32_le length, bytes). Lower-case attacks go through the x07 builtins
 * (the in-process checks answer first, unless compiled out); upper-case ones call libc directly,
 * as a program that escaped the language would, so only the kernel layer can stop them.
 * The output is one line of text describing what happened.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static x7_view field(uint32_t index) {
    uint32_t off = 1;
    for (uint32_t i = 0;; i++) {
        uint32_t n = x7_codec_read_u32_le(x7_input, off, "/field");
        if (i == index) return x7_view_slice(x7_input, off + 4, n, "/field");
        off += 4 + n;
    }
}

/* field i as a C string (static buffers, one per index). */
static const char *cfield(uint32_t i) {
    static char bufs[4][8192];
    x7_view v = field(i);
    if (v.len >= sizeof bufs[0]) v.len = sizeof bufs[0] - 1;
    memcpy(bufs[i & 3], v.ptr, v.len);
    bufs[i & 3][v.len] = 0;
    return bufs[i & 3];
}

static uint32_t ufield(uint32_t i) { return (uint32_t)strtoul(cfield(i), NULL, 10); }

static x7_bytes text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static x7_bytes text(const char *fmt, ...) {
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    return x7_bytes_lit((const uint8_t *)buf, (uint32_t)n);
}

/* FsCapsV1 with the defaults and the given flags. */
static x7_view caps(uint32_t flags) {
    static uint8_t c[24];
    uint32_t v[6] = {1, 16u << 20, 16u << 20, 10000, 64, flags};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) c[4 * i + j] = (uint8_t)(v[i] >> (8 * j));
    return (x7_view){c, 24};
}

static x7_bytes res_bytes(x7_res_bytes r) {
    if (!r.tag) return text("err:%u", r.err);
    x7_bytes out = text("ok:%.*s", (int)r.val.len, (const char *)r.val.ptr);
    x7_bytes_drop(r.val);
    return out;
}

static x7_bytes res_i32(x7_res_i32 r) { return r.tag ? text("ok:%u", r.val) : text("err:%u", r.val); }

/* Reads a whole file with libc; "ok:<content>" or "errno:<n>". */
static x7_bytes raw_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text("errno:%d", errno);
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    return n < 0 ? text("errno:%d", e) : text("ok:%.*s", (int)n, buf);
}

static x7_bytes raw_write(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return text("errno:%d", errno);
    ssize_t n = write(fd, "pwned", 5);
    close(fd);
    return text("wrote:%zd", n);
}

/* Writes n bytes with libc, one write(2) at a time until one fails: "wrote:<total> errno:<n>". */
static x7_bytes raw_write_n(const char *path, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return text("errno:%d", errno);
    static char buf[1 << 16];
    memset(buf, 'x', sizeof buf);
    size_t total = 0;
    int e = 0;
    while (total < n) {
        size_t chunk = n - total < sizeof buf ? n - total : sizeof buf;
        ssize_t w = write(fd, buf, chunk);
        if (w <= 0) {
            e = w < 0 ? errno : 0;
            break;
        }
        total += (size_t)w;
    }
    close(fd);
    return text("wrote:%zu errno:%d", total, e);
}

/* Child output made printable: NUL and other control bytes (but newlines) as '.'. */
static const char *printable(const uint8_t *p, uint32_t n, char *buf, size_t cap) {
    size_t i = 0;
    for (; i < n && i + 1 < cap; i++) buf[i] = p[i] < 0x20 && p[i] != '\n' ? '.' : (char)p[i];
    buf[i] = 0;
    return buf;
}

/* A ProcRespV1 (or its error form) as text. */
static x7_bytes proc_resp(x7_bytes r) {
    static char o[4096], e[4096];
    x7_bytes out;
    if (r.len == 5 && r.ptr[0] == 0) out = text("err:%u", x7_fs_le32(r.ptr + 1));
    else if (r.len >= 18) {
        uint32_t code = x7_fs_le32(r.ptr + 2), olen = x7_fs_le32(r.ptr + 10);
        uint32_t elen = x7_fs_le32(r.ptr + 14 + olen);
        out = text("exit:%u out:%s err:%s", code, printable(r.ptr + 14, olen, o, sizeof o),
                   printable(r.ptr + 18 + olen, elen, e, sizeof e));
    } else out = text("bad response");
    x7_bytes_drop(r);
    return out;
}

static x7_view proc_caps(void) {
    static uint8_t c[16];
    uint32_t v[4] = {1, 1u << 20, 1u << 20, 10000};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) c[4 * i + j] = (uint8_t)(v[i] >> (8 * j));
    return (x7_view){c, 16};
}

/* Forks until the kernel says no; reports how many children it got, then reaps them. */
static x7_bytes fork_bomb(void) {
    pid_t kids[4096];
    int n = 0, e = 0;
    while (n < 4096) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0) {
            e = errno;
            break;
        }
        kids[n++] = p;
    }
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
    return text("forks:%d errno:%d", n, e);
}

static x7_bytes fd_exhaust(void) {
    int n = 0;
    while (n < 100000 && open("/dev/null", O_RDONLY) >= 0) n++;
    return text("opened:%d errno:%d", n, errno);
}

static x7_bytes raw_connect(const char *ip, uint32_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return text("socket errno:%d", errno);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    return r == 0 ? text("connected") : text("errno:%d", e);
}

/* System calls the seccomp filter refuses, each with the errno it got. */
static x7_bytes seccomp_probes(void) {
    int r1 = unshare(CLONE_NEWUSER), e1 = errno;
    int r2 = mount("none", "/tmp", "tmpfs", 0, NULL), e2 = errno;
    int r3 = (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL), e3 = errno;
    int r4 = socket(AF_UNIX, SOCK_STREAM, 0), e4 = errno;
    int r5 = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), e5 = errno;
    int r6 = mknod("/dev/x07null", S_IFCHR | 0600, makedev(1, 3)), e6 = errno;
    return text("unshare:%d/%d mount:%d/%d ptrace:%d/%d unix:%d/%d raw:%d/%d mknod:%d/%d", r1, e1, r2,
                e2, r3, e3, r4, e4, r5, e5, r6, e6);
}

static x7_bytes wrong_arch(void) {
#if defined(__x86_64__)
    long ret;
    /* getpid through the i386 entry point: a different seccomp architecture */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    return text("i386 getpid returned %ld", ret);
#else
    return text("not x86_64");
#endif
}

static x7_bytes x7_solve(void) {
    X7_FUEL("/solve");
    switch (x7_view_get_u8(x7_input, 0, "/solve/0")) {
    case 'r': return res_bytes(x7_os_fs_read_all_v1(field(0), caps(ufield(1))));
    case 'f': return x7_os_fs_read_file(field(0), "/read_file");
    case 'w': return res_i32(x7_os_fs_write_all_v1(field(0), field(1), caps(28)));
    case 'm': return res_i32(x7_os_fs_mkdirs_v1(field(0), caps(0)));
    case 'l': return res_bytes(x7_os_fs_list_dir_sorted_text_v1(field(0), caps(ufield(1))));
    case 'R': return raw_read(cfield(0));
    case 'W': return raw_write(cfield(0));
    case 'Z': return raw_write_n(cfield(0), ufield(1));
    case 'Y': return mkdir(cfield(0), 0755) == 0 ? text("made") : text("errno:%d", errno);
    case 'V': { /* how the mount holding a path is mounted, as the kernel tells this process */
        struct statvfs sv;
        if (statvfs(cfield(0), &sv) != 0) return text("errno:%d", errno);
        return text("%s", (sv.f_flag & ST_RDONLY) ? "ro" : "rw");
    }
    case 'e': return x7_os_env_get(field(0));
    case 'E': {
        const char *v = getenv(cfield(0));
        return text("%s", v != NULL ? v : "(unset)");
    }
    case 'p': return proc_resp(x7_os_process_run_capture_v1(field(0), proc_caps()));
    case 'n': { /* the same request n times; each answer's exit or error */
        x7_vec out = X7_EMPTY_VEC;
        for (uint32_t i = 0, n = ufield(1); i < n; i++) {
            x7_bytes r = proc_resp(x7_os_process_run_capture_v1(field(0), proc_caps()));
            out = x7_vec_u8_extend_bytes(out, x7_bytes_view(r));
            out = x7_vec_u8_push(out, '|');
            x7_bytes_drop(r);
        }
        return x7_vec_u8_into_bytes(out);
    }
    case 'F': return fork_bomb();
    case 'B': { /* processes left behind, asleep, holding a lock on <path>, when the program ends */
        unsigned n = ufield(1), left = 0;
        int fd = open(cfield(0), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || flock(fd, LOCK_SH) != 0) return text("lock errno:%d", errno);
        for (unsigned i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) {
                for (;;) pause();
            }
            left += p > 0;
        }
        return text("left:%u", left);
    }
    case 'M': {
        size_t n = (size_t)ufield(0) << 20;
        /* volatile: every page is really touched (a memset before free may be optimised away) */
        volatile char *p = (volatile char *)malloc(n);
        if (p == NULL) return text("malloc %u MiB: null", ufield(0));
        for (size_t i = 0; i < n; i += 4096) p[i] = 1;
        free((void *)p);
        return text("malloc %u MiB: ok", ufield(0));
    }
    case 'C': { /* burn CPU until something stops us */
        volatile uint64_t x = 0;
        for (;;) x++;
    }
    case 'D': return fd_exhaust();
    case 'c': return res_i32(x7_os_net_tcp_connect_v1(field(0), ufield(1)));
    case 'K': return raw_connect(cfield(0), ufield(1));
    case 's': return text("ret:%u", x7_os_time_sleep_ms_v1(ufield(0)));
    case 'S': {
        struct timespec ts = {(time_t)ufield(0), 0};
        nanosleep(&ts, NULL);
        return text("slept");
    }
    case 't': return text("now:%u", x7_os_time_now_unix_ms() != 0);
    case 'x': return text("exit returned %u", x7_os_process_exit(7));
    case 'X': return seccomp_probes();
    case 'A': return wrong_arch();
    case 'L': { /* the limits as the kernel reports them, and where this process stands */
        struct rlimit c, a, f, p, s;
        getrlimit(RLIMIT_CPU, &c);
        getrlimit(RLIMIT_AS, &a);
        getrlimit(RLIMIT_NOFILE, &f);
        getrlimit(RLIMIT_NPROC, &p);
        getrlimit(RLIMIT_FSIZE, &s);
        return text("cpu:%llu as:%llu nofile:%llu nproc:%llu fsize:%llu pid:%d ppid:%d",
                    (unsigned long long)c.rlim_cur, (unsigned long long)a.rlim_cur,
                    (unsigned long long)f.rlim_cur, (unsigned long long)p.rlim_cur,
                    (unsigned long long)s.rlim_cur, (int)getpid(), (int)getppid());
    }
    case 'N': { /* which network namespace this is */
        char link[64] = {0};
        ssize_t n = readlink("/proc/self/ns/net", link, sizeof link - 1);
        return text("%s", n > 0 ? link : "?");
    }
    case 'I': return text("fd %u: %s", ufield(0), fcntl((int)ufield(0), F_GETFD) >= 0 ? "open" : "closed");
    case '0': return text("hello");
    default: return x7_bytes_empty();
    }
}
