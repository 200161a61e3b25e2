#include "framed.h"
/* Burns CPU forever: only RLIMIT_CPU stops it. */
int main(void) {
    uint32_t n;
    read_input(&n);
    volatile unsigned long x = 0;
    for (;;) x++;
}
