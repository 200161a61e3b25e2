#include "framed.h"
/* Leaves a child that holds stdout and stderr open for a minute; output = the child's pid. */
int main(void) {
    uint32_t n;
    read_input(&n);
    pid_t pid = fork();
    if (pid == 0) {
        sleep(60);
        _exit(0);
    }
    char out[32];
    int len = snprintf(out, sizeof out, "%d", (int)pid);
    write_output(out, (uint32_t)len);
    write_stats(0);
    return 0;
}
