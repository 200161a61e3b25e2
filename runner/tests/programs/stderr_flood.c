#include "framed.h"
/* Writes 4 MiB of log lines to stderr before answering. */
int main(void) {
    uint32_t n;
    read_input(&n);
    static char line[1024];
    memset(line, 'e', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 4096; i++) write_all(2, line, sizeof line);
    write_output("done", 4);
    write_stats(0);
    return 0;
}
