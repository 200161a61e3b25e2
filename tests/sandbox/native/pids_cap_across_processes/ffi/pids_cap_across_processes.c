/* Extra (process cap): the policy caps processes at @PROCS@. The program forks children that wait
   until fork fails, says how many it made and the errno, then kills and reaps them. The cap is the
   run's pids cgroup (v1 on this host, v2 in the vm backend's guest), which counts every process
   of the run whatever code made it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define MAX_KIDS 256

void probe_main(void) {
    pid_t kids[MAX_KIDS];
    int n = 0, e = 0;
    while (n < MAX_KIDS) {
        pid_t p = fork();
        if (p == 0) {
            alarm(20); /* never outlive a stuck parent by long */
            pause();
            _exit(0);
        }
        if (p < 0) {
            e = errno;
            break;
        }
        kids[n++] = p;
    }
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
    say("forks=%d\n", n);
    say("fork_errno=%d\n", e);
    say("pids_probe_done=1\n");
}
