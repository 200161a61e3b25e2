/* x07-fragment: requires=core,sandbox_report */
/*
 * sandbox_landlock: step 8, the Landlock domain (raw syscalls; the constants are defined here
 * because distribution headers lag behind the kernel). Filesystem: the policy's roots, a few
 * device and configuration files, libraries readable, and execute only for allowed executables
 * and their ELF interpreters. Network (ABI >= 4): TCP connect only to allowed ports, bind never.
 * Scopes (ABI >= 6): no abstract unix sockets or signals leaving the domain.
 */
#ifdef X07_SANDBOXED
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

#define X7_LL_EXECUTE (1ULL << 0)
#define X7_LL_WRITE_FILE (1ULL << 1)
#define X7_LL_READ_FILE (1ULL << 2)
#define X7_LL_READ_DIR (1ULL << 3)
#define X7_LL_REMOVE_DIR (1ULL << 4)
#define X7_LL_REMOVE_FILE (1ULL << 5)
#define X7_LL_MAKE_DIR (1ULL << 7)
#define X7_LL_MAKE_REG (1ULL << 8)
#define X7_LL_REFER (1ULL << 13)
#define X7_LL_TRUNCATE (1ULL << 14)
#define X7_LL_IOCTL_DEV (1ULL << 15)
/* Rights that make sense on a file (the kernel refuses directory rights on one). */
#define X7_LL_FILE_RIGHTS (X7_LL_EXECUTE | X7_LL_WRITE_FILE | X7_LL_READ_FILE | X7_LL_TRUNCATE | X7_LL_IOCTL_DEV)
#define X7_LL_NET_BIND_TCP (1ULL << 0)
#define X7_LL_NET_CONNECT_TCP (1ULL << 1)
#define X7_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define X7_LL_SCOPE_SIGNAL (1ULL << 1)
#define X7_LL_RULE_PATH_BENEATH 1
#define X7_LL_RULE_NET_PORT 2

/* Limits of the deny_hidden expansion of one read root. */
#define X7_LL_HIDDEN_MAX_RULES 4096u
#define X7_LL_HIDDEN_MAX_SCAN 8192u /* about 0.6 us each: a 5 ms ceiling on start-up */
#define X7_LL_HIDDEN_MAX_DEPTH 32u

struct x7_ll_ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct x7_ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));
struct x7_ll_net_port {
    uint64_t allowed_access, port;
};

/* One Landlock ruleset under construction. */
typedef struct {
    int fd;
    int abi;
    uint64_t handled_fs;
    const char *err; /* first failure */
    int err_no;
    uint32_t rules;
} x7_ll;

/* What step 8 tells the report. */
typedef struct {
    int fs_applied, net_applied;
    const char *hidden_in_process_only[256];
    uint32_t nhidden;
} x7_ll_result;

X7_FN int x7_ll_abi(void) {
    long v = syscall(__NR_landlock_create_ruleset, NULL, 0, 1u /* LANDLOCK_CREATE_RULESET_VERSION */);
    return v < 0 ? 0 : (int)v;
}

/* Adds a path rule on an open descriptor; directory rights are dropped for non-directories. */
X7_FN void x7_ll_add_fd(x7_ll *ll, int fd, uint64_t access, int is_dir) {
    if (ll->err != NULL) return;
    access &= ll->handled_fs;
    if (!is_dir) access &= X7_LL_FILE_RIGHTS;
    if (access == 0) return;
    struct x7_ll_path_beneath pb = {access, fd};
    if (syscall(__NR_landlock_add_rule, ll->fd, X7_LL_RULE_PATH_BENEATH, &pb, 0) != 0) {
        ll->err = "landlock_add_rule (path)";
        ll->err_no = errno;
        return;
    }
    ll->rules++;
}

/* A rule on a named file or directory; a name that does not exist here is skipped. */
X7_FN void x7_ll_add_path(x7_ll *ll, const char *path, uint64_t access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0) x7_ll_add_fd(ll, fd, access, S_ISDIR(st.st_mode));
    close(fd);
}

X7_FN void x7_ll_add_port(x7_ll *ll, uint64_t port) {
    if (ll->err != NULL) return;
    struct x7_ll_net_port np = {X7_LL_NET_CONNECT_TCP, port};
    if (syscall(__NR_landlock_add_rule, ll->fd, X7_LL_RULE_NET_PORT, &np, 0) != 0) {
        ll->err = "landlock_add_rule (port)";
        ll->err_no = errno;
    }
}

/* ---------------------------------------------------------------- deny_hidden expansion */

typedef struct {
    x7_ll *ll;
    uint64_t dir_access;
    uint32_t scanned, start_rules;
} x7_ll_scan;

typedef struct {
    char *name;
    int is_dir, is_link, clean;
} x7_ll_entry;

X7_FN void x7_ll_entries_free(x7_ll_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) free(e[i].name);
    free(e);
}

/*
 * Grants the visible parts of the directory fd (owned, O_RDONLY). 1: nothing hidden anywhere
 * below, nothing added (the caller grants the directory whole); 0: rules were added for the
 * visible entries that are clean and the directory itself got READ_DIR; -1: over budget.
 */
X7_FN int x7_ll_visible(x7_ll_scan *sc, int fd, uint32_t depth) {
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    x7_ll_entry *ents = NULL;
    size_t n = 0, cap = 0;
    int hidden = 0, result = 1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *nm = e->d_name;
        if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
        if (++sc->scanned > X7_LL_HIDDEN_MAX_SCAN) {
            result = -1;
            break;
        }
        if (nm[0] == '.') {
            hidden = 1;
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            x7_ll_entry *q = (x7_ll_entry *)realloc(ents, nc * sizeof *ents);
            if (q == NULL) {
                result = -1;
                break;
            }
            ents = q;
            cap = nc;
        }
        struct stat st;
        int type = e->d_type;
        if (type == DT_UNKNOWN && fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) == 0)
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
        ents[n] = (x7_ll_entry){strdup(nm), type == DT_DIR, type == DT_LNK, 1};
        if (ents[n].name == NULL) {
            result = -1;
            break;
        }
        n++;
    }
    for (size_t i = 0; i < n && result >= 0; i++) {
        if (!ents[i].is_dir) continue;
        if (depth >= X7_LL_HIDDEN_MAX_DEPTH) {
            result = -1;
            break;
        }
        int cfd = openat(dirfd(d), ents[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = cfd < 0 ? 1 : x7_ll_visible(sc, cfd, depth + 1);
        if (r < 0) result = -1;
        ents[i].clean = r == 1;
    }
    if (result >= 0) {
        int dirty = hidden;
        for (size_t i = 0; i < n; i++) dirty |= !ents[i].clean;
        if (dirty) {
            result = 0;
            x7_ll_add_fd(sc->ll, dirfd(d), X7_LL_READ_DIR, 1);
            /* symlinks get no rule: what they point to is granted (or not) on its own */
            for (size_t i = 0; i < n; i++) {
                if (!ents[i].clean || ents[i].is_link) continue;
                if (sc->ll->rules - sc->start_rules >= X7_LL_HIDDEN_MAX_RULES) {
                    result = -1;
                    break;
                }
                int efd = openat(dirfd(d), ents[i].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (efd < 0) continue;
                x7_ll_add_fd(sc->ll, efd, ents[i].is_dir ? sc->dir_access : X7_LL_READ_FILE,
                             ents[i].is_dir);
                close(efd);
            }
        }
    }
    x7_ll_entries_free(ents, n);
    closedir(d);
    return result;
}

/* ---------------------------------------------------------------- ELF interpreters */

/* Reads the PT_INTERP path of a 64-bit little-endian ELF file into out; 0 or -1. */
X7_FN int x7_elf_interp(const char *path, char *out, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    uint8_t eh[64];
    int ok = -1;
    if (pread(fd, eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh, "\177ELF", 4) == 0 &&
        eh[4] == 2 /* 64-bit */ && eh[5] == 1 /* little-endian */) {
        uint64_t phoff;
        uint16_t phentsize, phnum;
        memcpy(&phoff, eh + 32, 8);
        memcpy(&phentsize, eh + 54, 2);
        memcpy(&phnum, eh + 56, 2);
        for (uint16_t i = 0; i < phnum && i < 128 && phentsize >= 56; i++) {
            uint8_t ph[56];
            if (pread(fd, ph, sizeof ph, (off_t)(phoff + (uint64_t)i * phentsize)) != (ssize_t)sizeof ph)
                break;
            uint32_t type;
            uint64_t off, size;
            memcpy(&type, ph, 4);
            memcpy(&off, ph + 8, 8);
            memcpy(&size, ph + 32, 8);
            if (type != 3 /* PT_INTERP */) continue;
            if (size == 0 || size >= cap || pread(fd, out, (size_t)size, (off_t)off) != (ssize_t)size)
                break;
            out[size] = 0;
            ok = out[0] == '/' && strlen(out) == size - 1 ? 0 : -1;
            break;
        }
    }
    close(fd);
    return ok;
}

X7_FN void x7_ll_add_interp_of(x7_ll *ll, const char *exe) {
    char interp[512];
    if (x7_elf_interp(exe, interp, sizeof interp) == 0)
        x7_ll_add_path(ll, interp, X7_LL_EXECUTE | X7_LL_READ_FILE);
}

/* ---------------------------------------------------------------- the domain */

X7_FN void x7_ll_add_roots(x7_ll *ll, const x7_policy *pol, x7_ll_result *res) {
    uint64_t write_access = X7_LL_READ_FILE | X7_LL_READ_DIR | X7_LL_WRITE_FILE | X7_LL_MAKE_REG |
                            X7_LL_TRUNCATE | X7_LL_REMOVE_FILE;
    if (pol->fs.allow_mkdir) write_access |= X7_LL_MAKE_DIR;
    if (pol->fs.allow_remove) write_access |= X7_LL_REMOVE_DIR;
    if (pol->fs.allow_rename) write_access |= X7_LL_REFER;
    for (uint32_t i = 0; i < x7_sb.nroots && ll->err == NULL; i++) {
        const x7_sb_root *r = &x7_sb.roots[i];
        if (r->fd < 0) continue;
        if (r->write) {
            x7_ll_add_fd(ll, r->fd, write_access, 1);
            if (pol->fs.deny_hidden && res->nhidden < 256) res->hidden_in_process_only[res->nhidden++] = r->path;
            continue;
        }
        uint64_t read_access = X7_LL_READ_FILE | X7_LL_READ_DIR;
        int clean = 1;
        if (pol->fs.deny_hidden) {
            x7_ll_scan sc = {ll, read_access, 0, ll->rules};
            int dfd = openat(r->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            clean = dfd < 0 ? -1 : x7_ll_visible(&sc, dfd, 0);
            if (clean < 0 && res->nhidden < 256) res->hidden_in_process_only[res->nhidden++] = r->path;
        }
        if (clean != 0) x7_ll_add_fd(ll, r->fd, read_access, 1);
    }
}

/* Everything except the roots: devices, libraries, name service files, executables. */
X7_FN void x7_ll_add_system(x7_ll *ll, const x7_policy *pol) {
    x7_ll_add_path(ll, "/dev/null", X7_LL_READ_FILE | X7_LL_WRITE_FILE | X7_LL_TRUNCATE);
    x7_ll_add_path(ll, "/dev/urandom", X7_LL_READ_FILE);
    x7_ll_add_path(ll, "/dev/random", X7_LL_READ_FILE);
    x7_ll_add_path(ll, "/dev/zero", X7_LL_READ_FILE);
    x7_ll_add_path(ll, "/dev/full", X7_LL_READ_FILE | X7_LL_WRITE_FILE);
    static const char *const libs[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) x7_ll_add_path(ll, libs[i], X7_LL_READ_FILE);
    if (X7_SB_NET_ON(pol)) {
        static const char *const net[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
                                          "/etc/host.conf", "/etc/gai.conf", "/etc/ssl/certs"};
        for (size_t i = 0; i < sizeof net / sizeof net[0]; i++)
            x7_ll_add_path(ll, net[i], X7_LL_READ_FILE | X7_LL_READ_DIR);
    }
    /* the launcher's rules must let it exec the program and the program's ELF interpreter */
    if (x7_sb.launch_program != NULL) {
        x7_ll_add_path(ll, x7_sb.launch_program, X7_LL_EXECUTE | X7_LL_READ_FILE);
        x7_ll_add_interp_of(ll, x7_sb.launch_program);
    }
    if (x7_sb.launch_payload != NULL) x7_ll_add_interp_of(ll, x7_sb.launch_payload);
    if (pol->proc.enabled && pol->proc.allow_spawn && pol->proc.allow_exec) {
        x7_ll_add_interp_of(ll, "/proc/self/exe");
        for (uint32_t i = 0; i < pol->proc.allow_execs.n; i++) {
            x7_ll_add_path(ll, pol->proc.allow_execs.v[i].s, X7_LL_EXECUTE | X7_LL_READ_FILE);
            x7_ll_add_interp_of(ll, pol->proc.allow_execs.v[i].s);
        }
        for (uint32_t i = 0; i < pol->proc.allow_exec_prefixes.n; i++)
            x7_ll_add_path(ll, pol->proc.allow_exec_prefixes.v[i].s,
                           X7_LL_EXECUTE | X7_LL_READ_FILE | X7_LL_READ_DIR);
    }
}

/*
 * db.sqlite.allow_paths: read file with readonly_only; otherwise the directory holding each file
 * (read, write, make and remove files, truncate; SQLite's journal lives beside the database).
 */
X7_FN void x7_ll_add_db(x7_ll *ll, const x7_policy *pol) {
    if (!pol->db.enabled || !pol->db.sqlite) return;
    uint64_t rw = X7_LL_READ_FILE | X7_LL_READ_DIR | X7_LL_WRITE_FILE | X7_LL_MAKE_REG | X7_LL_TRUNCATE |
                  X7_LL_REMOVE_FILE;
    for (uint32_t i = 0; i < pol->db.sqlite_paths.n; i++) {
        const char *p = pol->db.sqlite_paths.v[i].s;
        if (pol->db.readonly_only) {
            x7_ll_add_path(ll, p, X7_LL_READ_FILE);
            continue;
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", p);
        char *slash = strrchr(dir, '/');
        if (slash == NULL) continue;
        if (slash == dir) slash[1] = 0;
        else *slash = 0;
        x7_ll_add_path(ll, dir, rw);
    }
}

/* TCP connect: net.allow_hosts' ports (with allow_tcp), db.net.allow_ports (with a network
 * driver on), port 53 for DNS. */
X7_FN void x7_ll_add_net(x7_ll *ll, const x7_policy *pol) {
    if (X7_SB_DB_NET_ON(pol)) {
        for (uint32_t i = 0; i < pol->db.nports; i++) x7_ll_add_port(ll, pol->db.ports[i]);
        if (pol->db.allow_dns.n != 0) x7_ll_add_port(ll, 53);
    }
    if (!pol->net.enabled || !pol->net.allow_tcp) return;
    for (uint32_t i = 0; i < pol->net.nhosts; i++)
        for (uint32_t j = 0; j < pol->net.hosts[i].nports; j++) x7_ll_add_port(ll, pol->net.hosts[i].ports[j]);
    if (pol->net.allow_dns) x7_ll_add_port(ll, 53); /* DNS falls back to TCP for long answers */
}

/*
 * Builds and enters the domain. 0 on success; -1 with *why when Landlock is missing
 * (res->fs_applied = 0) or a rule could not be added.
 */
X7_FN int x7_landlock_apply(const x7_policy *pol, int want_net, x7_ll_result *res, const char **why,
                            int *err_no) {
    x7_ll ll = {-1, x7_ll_abi(), 0, NULL, 0, 0};
    if (ll.abi < 1) {
        *why = "the kernel has no Landlock";
        *err_no = 0;
        return -1;
    }
    ll.handled_fs = (1ULL << 13) - 1; /* ABI 1: execute .. make_sym */
    if (ll.abi >= 2) ll.handled_fs |= X7_LL_REFER;
    if (ll.abi >= 3) ll.handled_fs |= X7_LL_TRUNCATE;
    if (ll.abi >= 5) ll.handled_fs |= X7_LL_IOCTL_DEV;
    struct x7_ll_ruleset_attr attr = {ll.handled_fs, 0, 0};
    size_t attr_size = 8;
    if (ll.abi >= 4 && want_net) {
        attr.handled_access_net = X7_LL_NET_BIND_TCP | X7_LL_NET_CONNECT_TCP;
        attr_size = 16;
    }
    if (ll.abi >= 6) {
        attr.scoped = X7_LL_SCOPE_ABSTRACT_UNIX | X7_LL_SCOPE_SIGNAL;
        attr_size = 24;
    }
    ll.fd = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
    if (ll.fd < 0) {
        *why = "landlock_create_ruleset";
        *err_no = errno;
        return -1;
    }
    if (pol->fs.enabled) x7_ll_add_roots(&ll, pol, res);
    x7_ll_add_system(&ll, pol);
    x7_ll_add_db(&ll, pol);
    if (attr.handled_access_net) x7_ll_add_net(&ll, pol);
    if (ll.err == NULL) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            ll.err = "prctl(PR_SET_NO_NEW_PRIVS)";
            ll.err_no = errno;
        } else if (syscall(__NR_landlock_restrict_self, ll.fd, 0) != 0) {
            ll.err = "landlock_restrict_self";
            ll.err_no = errno;
        }
    }
    close(ll.fd);
    if (ll.err != NULL) {
        *why = ll.err;
        *err_no = ll.err_no;
        return -1;
    }
    res->fs_applied = 1;
    res->net_applied = attr.handled_access_net != 0;
    return 0;
}
#endif
