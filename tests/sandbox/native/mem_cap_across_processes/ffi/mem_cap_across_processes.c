/* Extra (memory cap): the policy caps memory at @CAP_MIB@ MiB. Three forked children each map and
   touch up to @CHILD_MIB@ MiB in 8 MiB pieces (so a per-process address-space limit does not stop a
   child at once), report how much they hold, and keep holding it until the parent lets them go.
   The parent waits until each child has reported or died, then counts the memory of the children
   still alive: what the run held at the same time. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

#define CHILDREN 3
#define PIECE_MIB 8

static void hold(int report, int go) {
    long held = 0;
    while (held + PIECE_MIB <= @CHILD_MIB@) {
        char *p = mmap(NULL, PIECE_MIB << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) break;
        for (long i = 0; i < (PIECE_MIB << 20); i += 4096) p[i] = 1;
        held += PIECE_MIB;
    }
    int mib = (int)held;
    (void)!write(report, &mib, sizeof mib);
    alarm(20); /* never outlive a stuck parent by long */
    char c;
    (void)!read(go, &c, 1);
    _exit(0);
}

void probe_main(void) {
    pid_t pids[CHILDREN];
    int held[CHILDREN];
    int reports[CHILDREN];
    int go[2];
    if (pipe(go) != 0) {
        say("pipe=%s\n", outcome(-1));
        return;
    }
    for (int i = 0; i < CHILDREN; i++) {
        int r[2];
        held[i] = -1;
        pids[i] = -1;
        reports[i] = -1;
        if (pipe(r) != 0) continue;
        pids[i] = fork();
        if (pids[i] == 0) {
            close(r[0]);
            close(go[1]);
            hold(r[1], go[0]);
        }
        close(r[1]);
        reports[i] = r[0];
        say("fork%d=%s\n", i, outcome(pids[i]));
    }
    /* Each child reports once (4 bytes) or dies (end of file); give them 20 seconds in all. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < CHILDREN; i++) {
        if (reports[i] < 0) continue;
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec > 20) break;
            struct pollfd p = {.fd = reports[i], .events = POLLIN};
            if (poll(&p, 1, 100) <= 0) continue;
            int mib;
            if (read(reports[i], &mib, sizeof mib) == (ssize_t)sizeof mib) held[i] = mib;
            break;
        }
    }
    struct timespec settle = {0, 300 * 1000 * 1000};
    nanosleep(&settle, NULL);
    int together = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int alive = pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == 0;
        say("child%d_held_mib=%d child%d_alive=%d\n", i, held[i], i, alive);
        if (alive && held[i] > 0) together += held[i];
    }
    say("held_together_mib=%d\n", together);
    close(go[1]);
    for (int i = 0; i < CHILDREN; i++)
        if (pids[i] > 0) waitpid(pids[i], NULL, 0);
    say("mem_probe_done=1\n");
}
