/*
 * x07's guest agent: /init of the guest image (docs/vm.md). Built by x07 as a static executable
 * (musl when installed, else static glibc) and placed in the initramfs with the kernel modules
 * the guest needs.
 *
 * Stage 1 (on the initramfs) loads the modules listed in /x07/modules.list in order (virtio,
 * virtio-mmio, the console, 9p) and moves to a tmpfs root; stage 2 mounts /proc, /sys and /dev
 * and prints `x07-guest: ready <kernel release>` on the console.
 * With `x07.job=1` on the kernel command line it then runs one job: the host's job directory is
 * the 9p share `x07in` (read-only) and the results directory the share `x07out`; it runs
 * the NUL-separated arguments of `/x07/in/argv` (argv[0] the program, by default
 * `/x07/in/payload`; the NUL-separated `KEY=VALUE`s of `/x07/in/env` as its environment) with
 * `/x07/in/stdin` as stdin, in the directory
 * named by `/x07/in/cwd`, after mounting the shares `/x07/in/shares` lists at their host paths;
 * stdout and stderr go to `/x07/out/stdout` and `/x07/out/stderr`, and it reports how the job
 * ended as one line on the virtio-serial port named `x07.status` — a channel the payload cannot
 * write, so a status line is never the payload's output. Then it powers the machine off.
 * When the host writes `/x07/in/net`, the job's network path (egress.c, compiled before this
 * file) is set up first.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <signal.h>
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

/* The virtio-serial port called `want`, opened with `flags`, or -1 (found by name under
 * /sys/class/virtio-ports). */
static int open_port(const char *want, int flags) {
    DIR *d = opendir("/sys/class/virtio-ports");
    if (d == NULL) return -1;
    struct dirent *e;
    int fd = -1;
    while (fd < 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[300], name[64] = {0};
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        int nf = open(path, O_RDONLY | O_CLOEXEC);
        if (nf < 0) continue;
        ssize_t n = read(nf, name, sizeof name - 1);
        close(nf);
        name[strcspn(name, "\n")] = 0;
        if (n > 0 && strcmp(name, want) == 0) {
            snprintf(path, sizeof path, "/dev/%s", e->d_name);
            fd = open(path, flags | O_CLOEXEC);
        }
    }
    closedir(d);
    return fd;
}

/* One status line `{"x07_status":...}` on the status port, then power off. */
static void report(const char *kind, long value, const char *detail) {
    char line[600];
    int n = snprintf(line, sizeof line, "{\"x07_status\":\"%s\",\"value\":%ld,\"detail\":\"%s\"}\n", kind, value,
                     detail ? detail : "");
    int fd = open_port("x07.status", O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n);
        fsync(fd);
        close(fd);
    } else {
        say("no status port: ", line);
    }
    power_off();
}

static void fail(const char *what, const char *detail) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s%s%s", what, strerror(errno), detail ? " at " : "", detail ? detail : "");
    say("failed: ", msg);
    report("agent_error", errno, msg);
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

/* Whether `word` is on the kernel command line. */
static int on_cmdline(const char *word) {
    char buf[4096] = {0};
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    for (char *t = strtok(buf, " \n"); t != NULL; t = strtok(NULL, " \n"))
        if (strcmp(t, word) == 0) return 1;
    return 0;
}

static void mount_share(const char *tag, const char *dir, unsigned long flags) {
    (void)mkdir(dir, 0755);
    if (mount(tag, dir, "9p", flags, "trans=virtio,version=9p2000.L,msize=262144") != 0) fail("mount a share", tag);
}

/* mkdir -p of an absolute path. */
static void mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        (void)mkdir(tmp, 0755);
        *p = '/';
    }
    (void)mkdir(tmp, 0755);
}

/* Copies a file (the agent itself, a library of the program's closure) to `to`, mode 0755. */
static void copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in < 0 || out < 0) fail("copy a file", to);
    static char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) fail("copy a file", to);
    close(in);
    close(out);
}

/*
 * The program's closure (its ELF interpreter, libraries, CA certificates): /x07/in/rootfiles
 * lists `INDEX PATH` per line, and /x07/in/root/INDEX is copied to PATH, the path it has on the
 * host, so the loader finds it where the program names it.
 */
static void place_root_files(void) {
    FILE *f = fopen("/x07/in/rootfiles", "re");
    if (f == NULL) return;
    char line[4200];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = 0;
        char *index = strtok(line, " ");
        char *path = strtok(NULL, "");
        if (index == NULL || path == NULL || path[0] != '/') continue;
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        if (slash != NULL && slash != parent) {
            *slash = 0;
            mkdirs(parent);
        }
        char from[64];
        snprintf(from, sizeof from, "/x07/in/root/%s", index);
        copy_file(from, path);
    }
    fclose(f);
}

/* The shares of /x07/in/shares, one per line: `TAG ro|rw PATH`, mounted at PATH (the host path). */
static void mount_roots(void) {
    FILE *f = fopen("/x07/in/shares", "re");
    if (f == NULL) return;
    char line[4200];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = 0;
        char *tag = strtok(line, " ");
        char *mode = strtok(NULL, " ");
        char *path = strtok(NULL, "");
        if (tag == NULL || mode == NULL || path == NULL) continue;
        mkdirs(path);
        unsigned long flags = MS_NOSUID | MS_NODEV | (strcmp(mode, "ro") == 0 ? MS_RDONLY : 0);
        mount_share(tag, path, flags);
    }
    fclose(f);
}

/* Reads a whole small file of /x07/in into buf (NUL-terminated); its length, or -1. */
static ssize_t read_in(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0) buf[n] = 0;
    return n;
}

/* Runs the job of /x07/in and reports how it ended. */
static void run_job(void) {
    (void)mkdir("/x07/in", 0755);
    mount_share("x07in", "/x07/in", MS_RDONLY | MS_NOSUID | MS_NODEV);
    mount_share("x07out", "/x07/out", MS_NOSUID | MS_NODEV);
    /* the launcher inside the guest makes the run's cgroups here */
    (void)mkdir("/sys/fs/cgroup", 0755);
    (void)mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    place_root_files();
    mount_roots();
    const char *what = NULL;
    if (eg_setup("/x07/in/net", &what) != 0) fail("set up the network path", what);
    pid_t relay = -1;
    if (access("/x07/in/net", F_OK) == 0) {
        int port = open_port("x07.net", O_RDWR);
        if (port < 0) fail("open the network port", "x07.net");
        relay = eg_start(port);
        if (relay < 0) fail("start the network relay", NULL);
    }
    static char args[1 << 20];
    ssize_t n = read_in("/x07/in/argv", args, sizeof args);
    if (n < 0) fail("read the job's arguments", "/x07/in/argv");
    char *argv[4096];
    int argc = 0;
    for (ssize_t i = 0; i < n && argc < 4095;) {
        argv[argc++] = args + i;
        i += (ssize_t)strlen(args + i) + 1;
    }
    argv[argc] = NULL;
    if (argc == 0) {
        argv[0] = "/x07/in/payload";
        argv[1] = NULL;
    }
    static char cwd[4096];
    if (read_in("/x07/in/cwd", cwd, sizeof cwd) <= 0) snprintf(cwd, sizeof cwd, "/x07/out");
    pid_t pid = fork();
    if (pid < 0) fail("fork", NULL);
    if (pid == 0) {
        int out = open("/x07/out/stdout", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = open("/x07/out/stderr", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int in = open("/x07/in/stdin", O_RDONLY | O_CLOEXEC);
        if (in < 0) in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || err < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
        mkdirs(cwd); /* a start directory outside every share exists, empty, in the guest */
        if (chdir(cwd) != 0) _exit(126);
        /* the environment the host allows (the launcher clears it to the policy's keys again) */
        static char envbuf[1 << 16];
        char *envp[256];
        int envc = 0;
        ssize_t en = read_in("/x07/in/env", envbuf, sizeof envbuf);
        for (ssize_t i = 0; i < en && envc < 255;) {
            envp[envc++] = envbuf + i;
            i += (ssize_t)strlen(envbuf + i) + 1;
        }
        envp[envc] = NULL;
        execve(argv[0], argv, envp);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (relay > 0) (void)kill(relay, SIGKILL);
    sync();
    if (WIFEXITED(st)) report("exit", WEXITSTATUS(st), NULL);
    report("signal", WIFSIGNALED(st) ? WTERMSIG(st) : 0, NULL);
}

/*
 * Stage 1, on the initramfs (rootfs): load the modules, then move to a tmpfs root and run
 * again as stage 2. rootfs cannot be pivot_root'ed away, which the launcher inside the guest
 * does to build each run's fresh root; a tmpfs root can.
 */
static void stage1(void) {
    /* From here on only emergency messages reach the console: the kernel's own lines (a
     * clocksource note at any moment) would otherwise land in the middle of ours, which the host
     * reads from the same serial port. They stay in the kernel's buffer. */
    (void)klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1);
    (void)mkdir("/dev", 0755);
    (void)mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
    load_modules("/x07/modules.list");
    (void)mkdir("/newroot", 0755);
    if (mount("tmpfs", "/newroot", "tmpfs", 0, "mode=0755") != 0) fail("mount the tmpfs root", NULL);
    static const char *const dirs[] = {"/newroot/dev", "/newroot/proc", "/newroot/sys", "/newroot/tmp", "/newroot/x07"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) (void)mkdir(dirs[i], 0755);
    copy_file("/init", "/newroot/init");
    if (chdir("/newroot") != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0)
        fail("switch to the tmpfs root", NULL);
    char *argv[] = {"/init", "stage2", NULL};
    char *envp[] = {NULL};
    execve("/init", argv, envp);
    fail("run stage 2", NULL);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "stage2") != 0) stage1();
    (void)mkdir("/proc", 0555);
    (void)mkdir("/sys", 0555);
    (void)mkdir("/dev", 0755);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("mount /proc", NULL);
    if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("mount /sys", NULL);
    if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL) != 0 && errno != EBUSY) fail("mount /dev", NULL);
    struct utsname u;
    uname(&u);
    say("ready ", u.release);
    if (on_cmdline("x07.job=1")) run_job();
    power_off();
    return 0;
}
