/* Class 8 (SysV IPC): find the test's shared memory segment by its key (@SHM_KEY@), read it and
   overwrite it. Only the segment with that exact key is touched. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *outcome(long rc);

void probe_main(void) {
    int id = shmget((key_t)@SHM_KEY@, 0, 0);
    say("shmget=%s\n", outcome(id));
    if (id < 0) return;
    char *p = shmat(id, NULL, 0);
    say("shmat=%s\n", outcome(p == (void *)-1 ? -1 : 0));
    if (p == (void *)-1) return;
    say("shm_content=%.200s\n", p);
    memcpy(p, "OVERWRITTEN-BY-THE-SANDBOXED-PROGRAM", 37);
    say("overwrote=1\n");
    shmdt(p);
}
