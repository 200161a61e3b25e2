/* x07-fragment: requires=core,sandbox_policy,sandbox_restrict */
/*
 * launch_ns: the fresh root of a confined run (docs/internals/sandbox.md, "The new root"). Runs
 * in the launcher's child, which is pid 1 of new user, mount, pid, ipc and uts namespaces and
 * holds every capability of its own user namespace (none in the host's). Like bubblewrap: a
 * tmpfs becomes the root, the policy's roots and the few system paths the program needs are
 * bind-mounted at their host absolute paths (read-only unless they are write roots), a minimal
 * /dev and a private /proc are added, and the host's tree is detached. Nothing in this file runs
 * program or package code; every step fails closed through x7_sb_fail.
 */
#ifdef X07_SANDBOXED
#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

/* Where the tmpfs is built (hidden once pivot_root detaches it) and where the host tree goes. */
#define X7_NS_BASE "/tmp"
/* The root's tmpfs: nothing on it is a device or runs (the mounts on top carry their own flags). */
#define X7_NS_ROOT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define X7_NS_OLD "/oldroot"
#define X7_NS_MAX_BINDS 512u

/* One bind mount of the new root: `src` canonical in the host tree, `dst` where it appears. */
typedef struct {
    char *src;
    char *dst;
    int writable;
    int device; /* a device node: read-only mount but devices stay usable */
} x7_ns_bind;

typedef struct {
    x7_ns_bind v[X7_NS_MAX_BINDS];
    uint32_t n;
} x7_ns_plan;

/* Whether the first component of `path` is a symbolic link in "/" (merged /usr: /bin, /lib...). */
X7_FN int x7_ns_top_is_link(const char *path) {
    char top[NAME_MAX + 2];
    size_t n = strcspn(path + 1, "/");
    if (n == 0 || n > NAME_MAX) return 0;
    top[0] = '/';
    memcpy(top + 1, path + 1, n);
    top[n + 1] = 0;
    struct stat st;
    return lstat(top, &st) == 0 && S_ISLNK(st.st_mode);
}

/*
 * Adds `dst` (shown at that path) backed by the canonical host path of `dst`; missing: skipped.
 * A path under a top-level link (/bin/sh with /bin -> usr/bin) is shown at its canonical path:
 * the link itself is recreated in the new root (x7_ns_top_links).
 */
X7_FN int x7_ns_plan_add(x7_ns_plan *plan, const char *dst, int writable) {
    char real[PATH_MAX];
    if (realpath(dst, real) == NULL) return -1;
    if (x7_ns_top_is_link(dst)) dst = real;
    /* the new root is made of the roots: the host's whole tree cannot be one of them */
    if (strcmp(real, "/") == 0)
        x7_sb_fail("new_root", "a root at / is not supported: the new root is built from the policy's roots; name the directories the program needs", dst);
    for (uint32_t i = 0; i < plan->n; i++) {
        if (strcmp(plan->v[i].dst, dst) == 0) {
            plan->v[i].writable |= writable; /* the same root read and written: writable */
            return 0;
        }
    }
    if (plan->n == X7_NS_MAX_BINDS) x7_sb_fail("new_root", "more than 512 paths to mount", NULL);
    x7_ns_bind *b = &plan->v[plan->n++];
    b->src = strdup(real);
    b->dst = strdup(dst);
    b->writable = writable;
    b->device = 0;
    if (b->src == NULL || b->dst == NULL) x7_sb_fail("new_root", "out of memory", NULL);
    return 0;
}

X7_FN int x7_ns_bind_order(const void *a, const void *b) {
    return strcmp(((const x7_ns_bind *)a)->dst, ((const x7_ns_bind *)b)->dst);
}

/*
 * The SQLite files of db.sqlite.allow_paths: read-only files with readonly_only; otherwise the
 * directory holding each file, writable (SQLite makes its journal next to the database, and a
 * created database needs its directory). Missing paths are skipped (nothing to open there).
 */
X7_FN void x7_ns_plan_db(x7_ns_plan *plan, const x7_policy *pol) {
    if (!pol->db.enabled || !pol->db.sqlite) return;
    for (uint32_t i = 0; i < pol->db.sqlite_paths.n; i++) {
        const x7_pstr *p = &pol->db.sqlite_paths.v[i];
        if (pol->db.readonly_only) {
            (void)x7_ns_plan_add(plan, p->s, 0);
            continue;
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", p->s);
        char *slash = strrchr(dir, '/');
        if (slash == NULL) continue;
        if (slash == dir) slash[1] = 0;
        else *slash = 0;
        (void)x7_ns_plan_add(plan, dir, 1);
    }
}

/*
 * What the program sees: the policy's roots, the program itself, the libraries every dynamically
 * linked program needs, the allowed executables, and with networking the name-service files.
 * Computed before any mount changes, while realpath still sees the host.
 */
X7_FN void x7_ns_plan_paths(x7_ns_plan *plan, const x7_policy *pol, const char *program) {
    for (int w = 0; w < 2 && pol->fs.enabled; w++) {
        const x7_pstrs *roots = w ? &pol->fs.write_roots : &pol->fs.read_roots;
        for (uint32_t i = 0; i < roots->n; i++) (void)x7_ns_plan_add(plan, roots->v[i].s, w);
    }
    /* a sealed bundle's payload runs from a memfd: no path to show */
    if (program != NULL && x7_ns_plan_add(plan, program, 0) != 0)
        x7_sb_fail_errno("new_root", "cannot resolve the program's path", errno);
    /* the dynamic loader reads ld.so.cache; ld.so.conf is ldconfig's, never read at run time */
    static const char *const libs[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/lib32", "/usr/lib32",
                                       "/etc/ld.so.cache"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) (void)x7_ns_plan_add(plan, libs[i], 0);
    x7_ns_plan_db(plan, pol);
    if (X7_SB_NET_ON(pol)) {
        static const char *const net[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf",
                                          "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/ssl",
                                          "/usr/share/ca-certificates", "/etc/ca-certificates"};
        for (size_t i = 0; i < sizeof net / sizeof net[0]; i++) (void)x7_ns_plan_add(plan, net[i], 0);
    }
    if (pol->time.enabled && pol->time.allow_local_tzid) {
        (void)x7_ns_plan_add(plan, "/etc/localtime", 0);
        (void)x7_ns_plan_add(plan, "/etc/timezone", 0);
        (void)x7_ns_plan_add(plan, "/usr/share/zoneinfo", 0);
    }
    if (pol->proc.enabled && pol->proc.allow_spawn && pol->proc.allow_exec) {
        for (uint32_t i = 0; i < pol->proc.allow_execs.n; i++) (void)x7_ns_plan_add(plan, pol->proc.allow_execs.v[i].s, 0);
        for (uint32_t i = 0; i < pol->proc.allow_exec_prefixes.n; i++)
            (void)x7_ns_plan_add(plan, pol->proc.allow_exec_prefixes.v[i].s, 0);
    }
    /* parents before what is mounted beneath them: "/a" sorts before "/a/b" */
    qsort(plan->v, plan->n, sizeof plan->v[0], x7_ns_bind_order);
}

/* An empty file (or directory) to mount over, with its parents. */
X7_FN int x7_ns_mount_point(const char *dst, int is_dir) {
    struct stat st;
    if (lstat(dst, &st) == 0) return 0; /* already there (inside a path mounted before): never opened */
    if (is_dir) return x7_mkdirs(dst, 0755);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dst);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = 0;
        if (x7_mkdirs(parent, 0755) != 0) return -1;
    }
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno != EEXIST) return -1;
    if (fd >= 0) close(fd);
    return 0;
}

/*
 * The flags a remount must keep: a mount that came from the host's namespace has its nosuid,
 * nodev, noexec and atime flags locked, and a remount that drops one fails with EPERM.
 */
X7_FN unsigned long x7_ns_locked_flags(const char *path) {
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(path, &sv) != 0) return 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442 /* the same number on every architecture */
#endif
#define X7_MOUNT_ATTR_RDONLY 0x1u
#define X7_MOUNT_ATTR_NOSUID 0x2u
#define X7_MOUNT_ATTR_NODEV 0x4u
#define X7_AT_RECURSIVE 0x8000

/* struct mount_attr of linux/mount.h (spelt out: glibc's sys/mount.h and musl's differ). */
typedef struct {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
} x7_mount_attr;

/*
 * read-only (unless writable), nosuid, nodev (unless a device) on <dst> and every mount beneath
 * it: a read root with a writable mount inside stays read-only all the way down. 0, or -1 with
 * errno (ENOSYS before Linux 5.12).
 */
X7_FN int x7_ns_setattr(const x7_ns_bind *b) {
    x7_mount_attr a;
    memset(&a, 0, sizeof a);
    a.attr_set = X7_MOUNT_ATTR_NOSUID | (b->writable ? 0 : X7_MOUNT_ATTR_RDONLY) | (b->device ? 0 : X7_MOUNT_ATTR_NODEV);
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, b->dst, X7_AT_RECURSIVE, &a, sizeof a);
}

/* Bind-mounts /oldroot<src> on <dst>, then makes it (recursively) read-only unless writable; nosuid always. */
X7_FN void x7_ns_bind_one(const x7_ns_bind *b) {
    char src[PATH_MAX + sizeof X7_NS_OLD];
    snprintf(src, sizeof src, X7_NS_OLD "%s", b->src);
    struct stat st;
    if (lstat(src, &st) != 0) x7_sb_fail("new_root", "a path to mount disappeared", b->src);
    if (x7_ns_mount_point(b->dst, S_ISDIR(st.st_mode)) != 0) x7_sb_fail_errno("new_root", "cannot make a mount point", errno);
    if (mount(src, b->dst, NULL, MS_BIND | MS_REC, NULL) != 0) x7_sb_fail("new_root", "bind mount failed", b->dst);
    if (x7_ns_setattr(b) == 0) return;
    if (errno != ENOSYS) x7_sb_fail("new_root", "read-only remount failed", b->dst);
    /* before 5.12: the top mount only */
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | x7_ns_locked_flags(b->dst);
    if (!b->writable) flags |= MS_RDONLY;
    if (!b->device) flags |= MS_NODEV;
    if (mount(NULL, b->dst, NULL, flags, NULL) != 0) x7_sb_fail("new_root", "read-only remount failed", b->dst);
}

/* The host's top-level symbolic links (/bin -> usr/bin, /lib64 -> usr/lib64...), recreated as they are. */
X7_FN void x7_ns_top_links(void) {
    DIR *d = opendir(X7_NS_OLD);
    if (d == NULL) x7_sb_fail_errno("new_root", "cannot list /", errno);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char src[NAME_MAX + sizeof X7_NS_OLD + 2], target[PATH_MAX], dst[NAME_MAX + 2];
        if (e->d_type != DT_LNK) continue;
        snprintf(src, sizeof src, X7_NS_OLD "/%s", e->d_name);
        ssize_t n = readlink(src, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        snprintf(dst, sizeof dst, "/%s", e->d_name);
        if (symlink(target, dst) != 0 && errno != EEXIST) x7_sb_fail_errno("new_root", "cannot link at /", errno);
    }
    closedir(d);
}

/*
 * Links next to an allowed executable that name it (/usr/bin/sh -> dash): the policy holds
 * canonical paths, but programs start `sh`. Only links that resolve to the executable itself.
 */
X7_FN void x7_ns_exec_aliases(const char *exe) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", exe);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) return;
    *slash = 0;
    const char *base = slash + 1 - dir + exe;
    char host_dir[PATH_MAX + sizeof X7_NS_OLD];
    snprintf(host_dir, sizeof host_dir, X7_NS_OLD "%s", dir);
    DIR *d = opendir(host_dir);
    if (d == NULL) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char link[PATH_MAX + NAME_MAX + sizeof X7_NS_OLD + 2], target[PATH_MAX], dst[PATH_MAX + NAME_MAX + 2];
        if (e->d_type != DT_LNK) continue;
        snprintf(link, sizeof link, "%s/%s", host_dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (strcmp(target, base) != 0 && strcmp(target, exe) != 0) continue;
        snprintf(dst, sizeof dst, "%s/%s", dir, e->d_name);
        (void)symlink(target, dst); /* best effort: the canonical path works regardless */
    }
    closedir(d);
}

/*
 * /dev: the harmless character devices and the usual links. A directory of the root's tmpfs
 * (read-only with it), or, when a root brought the host's /dev here (a root at /dev), a tmpfs of
 * its own over it (`covered`, sealed later): a mount and a superblock more, so only then.
 */
X7_FN void x7_ns_dev(int covered) {
    if (x7_mkdirs("/dev", 0755) != 0) x7_sb_fail_errno("new_root", "cannot make /dev", errno);
    if (covered && mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
        x7_sb_fail_errno("new_root", "cannot mount /dev", errno);
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom"};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/dev/%s", devs[i]);
        x7_ns_bind b = {path, path, 0, 1}; /* the host's node at the same path */
        x7_ns_bind_one(&b);
    }
    static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
                                           {"/proc/self/fd/0", "/dev/stdin"},
                                           {"/proc/self/fd/1", "/dev/stdout"},
                                           {"/proc/self/fd/2", "/dev/stderr"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) != 0) x7_sb_fail_errno("new_root", "cannot link in /dev", errno);
}

/* Whether <dst> lies strictly beneath /dev. */
X7_FN int x7_ns_beneath_dev(const char *dst) { return strncmp(dst, "/dev/", 5) == 0 && dst[5] != 0; }

/* /dev read-only, once the roots beneath it (/dev/shm/…) have their mount points in it. */
X7_FN void x7_ns_dev_seal(void) {
    if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) != 0)
        x7_sb_fail_errno("new_root", "cannot make /dev read-only", errno);
}

/* /proc of the new pid namespace, with the kernel's knobs read-only. */
X7_FN void x7_ns_proc(void) {
    if (x7_mkdirs("/proc", 0555) != 0 || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        x7_sb_fail_errno("new_root", "cannot mount a private /proc", errno);
    static const char *const covered[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"};
    for (size_t i = 0; i < sizeof covered / sizeof covered[0]; i++) {
        struct stat st;
        if (stat(covered[i], &st) != 0) continue;
        if (mount(covered[i], covered[i], NULL, MS_BIND | MS_REC, NULL) != 0 ||
            mount(NULL, covered[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            x7_sb_fail("new_root", "cannot make a /proc entry read-only", covered[i]);
    }
}

/*
 * Builds the new root and enters it: private propagation, tmpfs, pivot_root, binds, /dev, /proc.
 * The host's tree stays reachable at X7_NS_OLD until x7_ns_leave_host_tree.
 */
X7_FN void x7_ns_build_new_root(const x7_ns_plan *plan, const x7_policy *pol) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        x7_sb_fail_errno("new_root", "cannot make mounts private", errno);
    if (mount("tmpfs", X7_NS_BASE, "tmpfs", X7_NS_ROOT_FLAGS, "mode=0755,size=1m") != 0)
        x7_sb_fail_errno("new_root", "cannot mount a tmpfs for the new root", errno);
    if (mkdir(X7_NS_BASE X7_NS_OLD, 0700) != 0) x7_sb_fail_errno("new_root", "mkdir " X7_NS_OLD, errno);
    if (syscall(SYS_pivot_root, X7_NS_BASE, X7_NS_BASE X7_NS_OLD) != 0) x7_sb_fail_errno("new_root", "pivot_root", errno);
    if (chdir("/") != 0) x7_sb_fail_errno("new_root", "chdir /", errno);
    x7_ns_top_links();
    /* the private /dev covers what the roots bring at /dev, and roots beneath it (/dev/shm/…) are
       mounted on top of it, not hidden by it */
    for (uint32_t i = 0; i < plan->n; i++)
        if (!x7_ns_beneath_dev(plan->v[i].dst)) x7_ns_bind_one(&plan->v[i]);
    int dev_covered = 0;
    for (uint32_t i = 0; i < plan->n; i++)
        if (strcmp(plan->v[i].dst, "/dev") == 0) dev_covered = 1;
    x7_ns_dev(dev_covered);
    for (uint32_t i = 0; i < plan->n; i++)
        if (x7_ns_beneath_dev(plan->v[i].dst)) x7_ns_bind_one(&plan->v[i]);
    if (pol->proc.enabled && pol->proc.allow_spawn && pol->proc.allow_exec)
        for (uint32_t i = 0; i < pol->proc.allow_execs.n; i++) x7_ns_exec_aliases(pol->proc.allow_execs.v[i].s);
    if (dev_covered) x7_ns_dev_seal();
    x7_ns_proc();
}

/*
 * The host's tree detached, the working directory kept (made empty in the tmpfs when no root
 * holds it), the root read-only.
 */
X7_FN void x7_ns_leave_host_tree(const char *cwd) {
    if (umount2(X7_NS_OLD, MNT_DETACH) != 0) x7_sb_fail_errno("new_root", "cannot detach the host's tree", errno);
    (void)rmdir(X7_NS_OLD);
    if (chdir(cwd) != 0 && (x7_mkdirs(cwd, 0755) != 0 || chdir(cwd) != 0))
        x7_sb_fail_errno("new_root", "cannot keep the working directory", errno);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | X7_NS_ROOT_FLAGS, NULL) != 0)
        x7_sb_fail_errno("new_root", "cannot make the new root read-only", errno);
}
#endif
