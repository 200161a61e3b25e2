/* x07-fragment: requires=core,sandbox_checks,sandbox_report */
/*
 * sandbox_fs: the run policy inside os_fs's walk (compiled only when the program has os_fs, which
 * then precedes this fragment). A path must lie beneath a root of the policy — component-wise, a
 * relative path taken from the start-up cwd, write roots for writes — and below the root it is
 * opened with openat2 RESOLVE_BENEATH from the root's descriptor (x7_fs_open_at), so neither ".."
 * nor a symlink leaves it. The policy's caps and flags are ceilings over the program's caps.
 */
#if X7_SB_CHECKS && defined(X7_OS_FS)
/*
 * Applies the run policy at the start of a builtin: the filesystem must be enabled and the
 * operation's flag (`need`, when not NULL) set; the program's caps are lowered to the policy's.
 */
X7_FN uint32_t x7_fs_sb_enter(const char *op, x7_view path, x7_fs_caps *c, const char *need, uint32_t flag) {
    const x7_policy *pol = &x7_sb.pol;
    x7_fs_sb_op = op;
    x7_fs_sb_target = path;
    const char *rule = !pol->fs.enabled ? "fs.enabled" : (need != NULL && !flag) ? need : NULL;
    if (rule != NULL) {
        x7_fs_sb_deny(rule);
        return pol->fs.enabled ? X7_FS_POLICY_DENY : X7_FS_DISABLED;
    }
    if (c->max_read > pol->fs.max_read_bytes) {
        c->max_read = pol->fs.max_read_bytes;
        c->sb_capped |= X7_FS_SB_CAPPED_READ;
    }
    if (c->max_write > pol->fs.max_write_bytes) {
        c->max_write = pol->fs.max_write_bytes;
        c->sb_capped |= X7_FS_SB_CAPPED_WRITE;
    }
    if (c->max_entries > pol->fs.max_entries) c->max_entries = pol->fs.max_entries;
    if (c->max_depth > pol->fs.max_depth) c->max_depth = pol->fs.max_depth;
    if (!pol->fs.allow_symlinks && (c->flags & X7_FS_ALLOW_SYMLINKS)) {
        c->flags &= ~X7_FS_ALLOW_SYMLINKS;
        c->sb_capped |= X7_FS_SB_CAPPED_SYMLINKS;
    }
    if (pol->fs.deny_hidden) c->flags &= ~X7_FS_ALLOW_HIDDEN;
    return 0;
}

/* too_large, recorded as a denial when the policy's ceiling (not the program's cap) was hit. */
X7_FN uint32_t x7_fs_sb_too_large(const x7_fs_caps *c, int write) {
    if (c->sb_capped & (write ? X7_FS_SB_CAPPED_WRITE : X7_FS_SB_CAPPED_READ))
        x7_fs_sb_deny(write ? "fs.max_write_bytes" : "fs.max_read_bytes");
    return X7_FS_TOO_LARGE;
}

/* Opens the directory rel below rootfd, making missing directories when make_dirs; 0 or a code. */
X7_FN uint32_t x7_fs_sb_open_parent(int rootfd, char *rel, const x7_fs_caps *c, int make_dirs, int *out) {
    int flags = O_PATH | O_DIRECTORY | x7_fs_nofollow(c);
    int fd = x7_fs_open_at(rootfd, rel, flags, 0, X7_FS_INTENT_WRITE);
    if (fd >= 0) {
        *out = fd;
        return 0;
    }
    if (errno == ENOTDIR || errno == ELOOP) return x7_fs_fail(errno, rootfd, rel, c); /* a symlink on the way */
    if (errno != ENOENT || !make_dirs) return x7_fs_errno_code(errno, c);
    /* one prefix at a time, each opened from the root, each missing one made in its parent */
    int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    if (parent < 0) return x7_fs_errno_code(errno, c);
    for (char *name = rel;;) {
        char *slash = strchr(name, '/');
        if (slash != NULL) *slash = 0;
        int next = x7_fs_open_at(rootfd, rel, flags, 0, X7_FS_INTENT_WRITE);
        uint32_t code = 0;
        if (next < 0 && errno == ENOENT) {
            if (!x7_sb.pol.fs.allow_mkdir) {
                x7_fs_sb_deny("fs.allow_mkdir");
                code = X7_FS_POLICY_DENY;
            } else if (mkdirat(parent, name, 0777) != 0 && errno != EEXIST) {
                code = x7_fs_errno_code(errno, c);
            } else {
                next = x7_fs_open_at(rootfd, rel, flags, 0, X7_FS_INTENT_WRITE);
            }
        }
        if (next < 0 && code == 0) code = x7_fs_errno_code(errno, c);
        if (slash != NULL) *slash = '/';
        x7_fs_close(parent);
        if (code) return code;
        if (slash == NULL) {
            *out = next;
            return 0;
        }
        parent = next;
        name = slash + 1;
    }
}

/*
 * The sandboxed walk: the absolute spelling of the path must lie beneath a root (write roots for
 * writes); below it, hidden components are refused under deny_hidden, and the parent directory is
 * opened from the root's descriptor with openat2 RESOLVE_BENEATH. 0 or a code.
 */
X7_FN uint32_t x7_fs_sb_locate(x7_view path, const x7_fs_caps *c, int intent, int make_dirs,
                               x7_fs_path *p, x7_fs_loc *loc) {
    x7_fs_sb_target = path;
    x7_fs_sb_write = intent == X7_FS_INTENT_WRITE;
    size_t n = 0;
    if (!p->absolute && x7_sb.cwd_len > 1) {
        memcpy(p->abs, x7_sb.cwd, x7_sb.cwd_len);
        n = x7_sb.cwd_len;
    }
    for (uint32_t i = 0; i < p->ncomp; i++) {
        const char *comp = p->buf + p->comp[i];
        size_t len = strlen(comp);
        if (n + 1 + len >= sizeof p->abs) return X7_FS_BAD_PATH;
        p->abs[n++] = '/';
        memcpy(p->abs + n, comp, len);
        n += len;
    }
    if (n == 0) p->abs[n++] = '/';
    p->abs[n] = 0;
    size_t root_len = 0;
    int ri = x7_sb_find_root(p->abs, n, x7_fs_sb_write, &root_len);
    if (ri < 0) {
        x7_fs_sb_deny(x7_fs_sb_roots_rule());
        return X7_FS_POLICY_DENY;
    }
    int rootfd = x7_sb.roots[ri].fd;
    if (rootfd < 0) return X7_FS_NOT_FOUND; /* the root did not exist at start-up */
    char *rel = p->abs + root_len;
    if (*rel == '/') rel++;
    const char *last = rel;
    for (const char *comp = rel; *comp != 0;) {
        if (x7_sb.pol.fs.deny_hidden && comp[0] == '.' && comp[1] != '/' && comp[1] != 0 &&
            !(comp[1] == '.' && (comp[2] == '/' || comp[2] == 0))) {
            x7_fs_sb_deny("fs.deny_hidden");
            return X7_FS_POLICY_DENY;
        }
        last = comp;
        const char *slash = strchr(comp, '/');
        comp = slash != NULL ? slash + 1 : comp + strlen(comp);
    }
    /* a final ".." would make the parent's operations reach above it */
    if (last[0] == '.' && last[1] == '.' && last[2] == 0) return X7_FS_BAD_PATH;
    loc->rootfd = rootfd;
    loc->rel = *rel != 0 ? rel : ".";
    loc->leaf = *rel != 0 ? last : ".";
    int dirfd = -1;
    if (last == rel) {
        dirfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
        if (dirfd < 0) return x7_fs_errno_code(errno, c);
    } else {
        /* the parent's path is copied out, so rel stays whole for opening the target */
        size_t plen = (size_t)(last - 1 - rel);
        memcpy(p->buf, rel, plen);
        p->buf[plen] = 0;
        uint32_t code = x7_fs_sb_open_parent(rootfd, p->buf, c, make_dirs, &dirfd);
        if (code) return code;
    }
    loc->dirfd = dirfd;
    return 0;
}

/* stat of the target, following a final symlink without leaving the root. */
X7_FN int x7_fs_stat_follow(const x7_fs_loc *loc, struct stat *st) {
    int fd = x7_fs_open_at(loc->rootfd, loc->rel, O_PATH, 0, X7_FS_INTENT_READ);
    if (fd < 0) return -1;
    int r = fstat(fd, st);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}
#endif
