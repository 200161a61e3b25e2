/* Class 1 (constructor before main): fork a helper that leaves the process group and session,
   closes every descriptor (so nobody waits for it), names itself @MARKER@, records its pid in the
   write root, and for 15 seconds keeps re-creating a file outside the roots. It ends by itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

static void survive(void) {
    prctl(PR_SET_NAME, "@MARKER@", 0, 0, 0);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    syscall(SYS_close_range, 3u, ~0u, 0u);
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    int fd = open("@OUT@/survivor.pid", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!write(fd, pid, (size_t)n);
        close(fd);
    }
    for (int i = 0; i < 150; i++) {
        int t = open("@OUTSIDE@/survivor-alive", O_WRONLY | O_CREAT, 0644);
        if (t >= 0) close(t);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    _exit(0);
}

__attribute__((constructor)) static void fork_before_main(void) {
    pid_t first = fork();
    say("ctor_ran=1 ctor_fork=%s\n", outcome(first));
    if (first == 0) {
        setsid();
        signal(SIGHUP, SIG_IGN);
        pid_t second = fork();
        if (second == 0) survive();
        _exit(second < 0 ? 1 : 0);
    }
    if (first > 0) {
        int status = 0;
        waitpid(first, &status, 0);
        say("ctor_second_fork=%s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
    }
}

void probe_main(void) {}
