/* Class 4 (metadata): change the metadata of a file outside every root and of a file in a read
   root (not a write root): mode, owner (to the same uid/gid, which only touches ctime), times,
   a user xattr and the inode flags (FS_NODUMP_FL). None of these writes file contents. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static void tamper(const char *tag, const char *path) {
    struct stat st;
    int have = stat(path, &st);
    say("%s_stat=%s\n", tag, outcome(have));
    uid_t uid = have == 0 ? st.st_uid : getuid();
    gid_t gid = have == 0 ? st.st_gid : getgid();
    say("%s_chmod=%s\n", tag, outcome(chmod(path, 0600)));
    say("%s_chown=%s\n", tag, outcome(chown(path, uid, gid)));
    struct timeval tv[2] = {{978307200, 0}, {978307200, 0}}; /* 2001-01-01 */
    say("%s_utimes=%s\n", tag, outcome(utimes(path, tv)));
    say("%s_setxattr=%s\n", tag, outcome(setxattr(path, "user.x07probe", "1", 1, 0)));
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    say("%s_open=%s\n", tag, outcome(fd));
    if (fd >= 0) {
        int flags = 0; /* the kernel reads and writes an int */
        int got = ioctl(fd, FS_IOC_GETFLAGS, &flags);
        say("%s_getflags=%s\n", tag, outcome(got));
        flags |= FS_NODUMP_FL;
        say("%s_setflags=%s\n", tag, outcome(ioctl(fd, FS_IOC_SETFLAGS, &flags)));
        close(fd);
    }
}

void probe_main(void) {
    tamper("outside", "@OUTSIDE@/meta.txt");
    tamper("read_root", "@PROJECT@/data/meta.txt");
}
