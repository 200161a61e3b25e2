/* Class 10 (same-uid process manipulation): change the attributes of a process outside the
   sandbox (@TARGET_PID@, a `sleep 300` the test started): nice value, RLIMIT_NOFILE, CPU affinity,
   scheduling policy, I/O priority; and probe it with kill(pid, 0) (signal 0 only: nothing is
   sent). Every change is harmless to a sleeping process. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13

void probe_main(void) {
    pid_t pid = @TARGET_PID@;
    say("kill0=%s\n", outcome(kill(pid, 0)));
    say("setpriority=%s\n", outcome(setpriority(PRIO_PROCESS, (id_t)pid, 19)));
    struct rlimit rl = {64, 64};
    say("prlimit=%s\n", outcome(prlimit(pid, RLIMIT_NOFILE, &rl, NULL)));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(@ONE_CPU@, &set);
    say("setaffinity=%s\n", outcome(sched_setaffinity(pid, sizeof set, &set)));
    struct sched_param sp = {0};
    say("setscheduler=%s\n", outcome(sched_setscheduler(pid, SCHED_BATCH, &sp)));
    say("ioprio_set=%s\n",
        outcome(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, pid, IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT)));
}
