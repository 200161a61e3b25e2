/* Extra (mount listing): listmount(2) and statmount(2) (system calls 458 and 457 on x86_64 and
   aarch64) name mounts without any path lookup, past any path-based rule. Report every mount id
   and mount point the program can list. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

#define NR_statmount 457
#define NR_listmount 458
#define LSMT_ROOT 0xffffffffffffffffULL
#define STATMOUNT_MNT_POINT 0x10ULL

struct mnt_id_req_v0 {
    uint32_t size, spare;
    uint64_t mnt_id, param;
};

struct statmount_head {
    uint32_t size, mnt_opts;
    uint64_t mask;
    uint32_t sb_dev_major, sb_dev_minor;
    uint64_t sb_magic;
    uint32_t sb_flags, fs_type;
    uint64_t mnt_id, mnt_parent_id;
    uint32_t mnt_id_old, mnt_parent_id_old;
    uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
    uint32_t mnt_root, mnt_point;
    uint64_t spare2[50];
    char str[];
};

void probe_main(void) {
    static uint64_t ids[1024];
    struct mnt_id_req_v0 req = {.size = sizeof req, .mnt_id = LSMT_ROOT};
    long n = syscall(NR_listmount, &req, ids, 1024, 0);
    say("listmount=%s count=%ld\n", outcome(n), n);
    static union {
        struct statmount_head sm;
        char bytes[1 << 16];
    } buf;
    for (long i = 0; i < n; i++) {
        say("mount_id=%llu\n", (unsigned long long)ids[i]);
        struct mnt_id_req_v0 one = {.size = sizeof one, .mnt_id = ids[i], .param = STATMOUNT_MNT_POINT};
        memset(&buf, 0, sizeof buf);
        if (syscall(NR_statmount, &one, &buf, sizeof buf, 0) == 0 && (buf.sm.mask & STATMOUNT_MNT_POINT))
            say("mount_point=%s\n", buf.sm.str + buf.sm.mnt_point);
    }
}
