#include "framed.h"
/* The runtime's trap path: message line on stderr, then __builtin_trap (SIGILL on x86-64). */
int main(void) {
    uint32_t n;
    read_input(&n);
    fputs("{\"note\":\"json lines are not trap text\"}\n", stderr);
    fputs("fuel exhausted ptr=/solve/1\n", stderr);
    fflush(stderr);
    __builtin_trap();
}
