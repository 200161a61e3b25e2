/*
 * x07's guest agent: /init of the guest image (docs/vm.md). Built by x07 as a static executable
 * (musl when installed, else static glibc) and placed in the initramfs with the kernel modules
 * the guest needs.
 *
 * This first version brings the guest up and reports on the console: it mounts /proc, /sys and
 * /dev, loads the modules listed in /x07/modules.list in order (virtio, virtio-mmio, the console,
 * 9p), prints `x07-guest: ready <kernel release>` and powers the machine off. Running jobs (the
 * request share, the status channel, the sealed payload) comes next.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* One line on the console (the kernel's /dev/console: the serial port qemu records). */
static void say(const char *a, const char *b) {
    char line[512];
    int n = snprintf(line, sizeof line, "x07-guest: %s%s\n", a, b ? b : "");
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n);
        close(fd);
    }
}

static void power_off(void) {
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause();
}

static void fail(const char *what, const char *detail) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
    say("failed: ", msg);
    if (detail) say("  at ", detail);
    power_off();
}

/* Loads every module of the list (one path per line), in order. */
static void load_modules(const char *list) {
    FILE *f = fopen(list, "re");
    if (f == NULL) fail("open the module list", list);
    char path[512];
    while (fgets(path, sizeof path, f) != NULL) {
        path[strcspn(path, "\n")] = 0;
        if (path[0] == 0) continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("open a module", path);
        if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) fail("load a module", path);
        close(fd);
    }
    fclose(f);
}

int main(void) {
    (void)mkdir("/proc", 0555);
    (void)mkdir("/sys", 0555);
    (void)mkdir("/dev", 0755);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("mount /proc", NULL);
    if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("mount /sys", NULL);
    if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL) != 0 && errno != EBUSY) fail("mount /dev", NULL);
    load_modules("/x07/modules.list");
    struct utsname u;
    uname(&u);
    say("ready ", u.release);
    power_off();
    return 0;
}
