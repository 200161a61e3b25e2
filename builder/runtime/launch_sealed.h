/* x07-fragment: requires=core,sandbox_policy,sandbox_restrict,launch_ns,launch_narrow */
/*
 * launch_sealed: a sealed bundle (docs/bundling.md, "Sealed bundles"). The bundle is this
 * launcher's own file with the payload (the program built for run-os-sandboxed), the effective
 * policy (a PolicyBlob and its canonical JSON) and a 64-byte trailer appended. The launcher reads
 * them from /proc/self/exe, never from anything the person running it names: no flag, variable,
 * neighbouring file or argv[0] changes the policy. Relative roots resolve against the working
 * directory at start; missing write roots are created. The payload runs from a sealed memfd.
 * X07_BUNDLE_POLICY=FILE narrows the sealed policy (launch_narrow.h).
 *
 * Trailer (little-endian): "X07SEAL1", then u64 payload_off, payload_len, blob_off, blob_len,
 * json_off, json_len, flags (bit 0: the policy's relative paths are relative to the start cwd).
 */
#ifdef X07_SANDBOXED
#include <sys/sendfile.h>
#include <sys/stat.h>

#define X7_SEAL_MAGIC "X07SEAL1"
#define X7_SEAL_TRAILER 64u
#define X7_SEAL_RELATIVE_ROOTS 1u
#define X7_SEAL_MAX_POLICY (16u << 20)

typedef struct {
    uint64_t payload_off, payload_len, blob_off, blob_len, json_off, json_len, flags;
} x7_seal;

X7_FN uint64_t x7_seal_u64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* Whether [off, off+len) lies inside the first `size` bytes. */
X7_FN int x7_seal_within(uint64_t off, uint64_t len, uint64_t size) {
    return off <= size && len <= size - off;
}

/*
 * 1 when this launcher's file carries a sealed bundle (its trailer read into *s), 0 for the plain
 * launcher. A trailer that is there but inconsistent ends the process.
 */
X7_FN int x7_seal_find(x7_seal *s) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    uint8_t t[X7_SEAL_TRAILER];
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 0;
    }
    /* a provenance note (spec/src/bundle/provenance.rs) follows the sealed section: skip it */
    uint64_t end = (uint64_t)st.st_size;
    uint8_t p[24];
    if (end >= sizeof p && pread(fd, p, sizeof p, (off_t)(end - sizeof p)) == (ssize_t)sizeof p &&
        memcmp(p, "X07PROV1", 8) == 0) {
        uint64_t off = x7_seal_u64(p + 8), len = x7_seal_u64(p + 16);
        if (off > end - sizeof p || len != end - sizeof p - off) {
            close(fd);
            x7_sb_fail("load_policy", "the bundle's provenance note is damaged", NULL);
        }
        end = off;
    }
    int found = end >= X7_SEAL_TRAILER && pread(fd, t, sizeof t, (off_t)(end - X7_SEAL_TRAILER)) == (ssize_t)sizeof t &&
                memcmp(t, X7_SEAL_MAGIC, 8) == 0;
    close(fd);
    if (!found) return 0;
    s->payload_off = x7_seal_u64(t + 8);
    s->payload_len = x7_seal_u64(t + 16);
    s->blob_off = x7_seal_u64(t + 24);
    s->blob_len = x7_seal_u64(t + 32);
    s->json_off = x7_seal_u64(t + 40);
    s->json_len = x7_seal_u64(t + 48);
    s->flags = x7_seal_u64(t + 56);
    uint64_t body = end - X7_SEAL_TRAILER;
    if (!x7_seal_within(s->payload_off, s->payload_len, body) || !x7_seal_within(s->blob_off, s->blob_len, body) ||
        !x7_seal_within(s->json_off, s->json_len, body) || s->payload_len == 0 || s->blob_len > X7_SEAL_MAX_POLICY ||
        (s->flags & ~(uint64_t)X7_SEAL_RELATIVE_ROOTS) != 0)
        x7_sb_fail("load_policy", "the bundle's sealed section is damaged", NULL);
    return 1;
}

/* Reads [off, off+len) of the bundle file into a new buffer. */
X7_FN uint8_t *x7_seal_read(int fd, uint64_t off, uint64_t len) {
    uint8_t *p = (uint8_t *)malloc(len ? len : 1);
    if (p == NULL) x7_sb_fail("load_policy", "out of memory", NULL);
    for (uint64_t got = 0; got < len;) {
        ssize_t r = pread(fd, p + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) x7_sb_fail_errno("load_policy", "cannot read the bundle's sealed policy", r < 0 ? errno : EIO);
        got += (uint64_t)r;
    }
    return p;
}

/* The payload copied into a sealed memfd kept far above fd 3 (which the policy handover takes). */
X7_FN int x7_seal_payload(int exe, const x7_seal *s) {
    int fd = (int)syscall(SYS_memfd_create, "x07-payload", 1u /* MFD_CLOEXEC */ | 2u /* MFD_ALLOW_SEALING */);
    if (fd < 0) x7_sb_fail_errno("exec", "memfd_create for the payload", errno);
    off_t off = (off_t)s->payload_off;
    for (uint64_t left = s->payload_len; left > 0;) {
        ssize_t w = sendfile(fd, exe, &off, left > (1u << 30) ? (1u << 30) : (size_t)left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) x7_sb_fail_errno("exec", "cannot copy the payload", w < 0 ? errno : EIO);
        left -= (uint64_t)w;
    }
    if (fcntl(fd, 1033 /* F_ADD_SEALS */, 1 | 2 | 4 | 8) != 0) x7_sb_fail_errno("exec", "sealing the payload", errno);
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 64);
    if (high < 0) x7_sb_fail_errno("exec", "moving the payload descriptor", errno);
    close(fd);
    return high;
}

/*
 * Loads the sealed policy into x7_sb.pol, resolves its relative paths against the working
 * directory, creates missing write roots, and returns the payload's memfd. Called after the
 * inherited descriptors are closed and before the environment is cleared.
 */
X7_FN int x7_seal_load(const x7_seal *s) {
    const char *narrow = getenv("X07_BUNDLE_POLICY");
    int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0) x7_sb_fail_errno("load_policy", "cannot open the bundle (/proc/self/exe)", errno);
    uint8_t *blob = x7_seal_read(exe, s->blob_off, s->blob_len);
    x7_pstr_relative_ok = (s->flags & X7_SEAL_RELATIVE_ROOTS) != 0;
    x7_sb_decode_or_fail(blob, (size_t)s->blob_len, &x7_sb.pol, "sealed in the bundle");
    x7_pstr_relative_ok = 0;
    free(blob);
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL) x7_sb_fail_errno("open_roots", "cannot determine the current directory", errno);
    x7_policy_resolve_relative(&x7_sb.pol, cwd);
    if (narrow != NULL && narrow[0] != 0) x7_narrow_apply(narrow, cwd); /* launch_narrow.h */
    free(cwd);
    x7_policy_create_write_roots(&x7_sb.pol);
    int payload = x7_seal_payload(exe, s);
    close(exe);
    return payload;
}
#endif
